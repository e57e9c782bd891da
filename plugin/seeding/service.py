"""Seeding's entry points for the CLI, the demo and other capabilities."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.errors import EnvolError, ValidationFailed
from plugin.i18n import Phrase
from plugin.mattermost import MattermostClient
from plugin.seeding.content import Language
from plugin.seeding.desired import DesiredState, load_desired
from plugin.seeding.models import SeededObject
from plugin.seeding.wording import said
from plugin.settings import RuntimeSettings


def require_desired(
    content_dir: Path,
    runtime: RuntimeSettings,
    site_url: str = "",
    language: Language | None = None,
) -> DesiredState:
    """The validated content rendered in the installation's language, or ``ValidationFailed``
    listing every problem (nothing is applied when anything is invalid)."""
    desired, problems = load_desired(content_dir, runtime, site_url, language)
    if desired is None:
        raise ValidationFailed(
            said("content.invalid", folder=str(content_dir), n=len(problems)),
            [Phrase(problem) for problem in problems],
        )
    return desired


def read_secrets(path: Path) -> dict[str, str]:
    """Personal access tokens of launch-committee members, from a YAML file kept out of the
    repository::

        tokens:
          claire.martin: <token>      # a username or a committee.yaml key
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise EnvolError(
            said("secrets.unreadable", path=str(path), reason=error.strerror)
        ) from error
    except yaml.YAMLError as error:
        # PyYAML's own sentence has no translation: it is quoted after the file and line.
        mark = getattr(error, "problem_mark", None)
        detail = getattr(error, "problem", None) or str(error).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise EnvolError(
            said("secrets.invalid_yaml", path=str(path), line=line, detail=detail)
        ) from error
    tokens = (data or {}).get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, dict) or not all(isinstance(v, str) and v for v in tokens.values()):
        raise EnvolError(said("secrets.layout", path=str(path)))
    return {str(key): value for key, value in tokens.items()}


def member_clients(
    desired: DesiredState,
    tokens: Mapping[str, str],
    url: str,
    *,
    factory: Callable[[str, str], MattermostClient] | None = None,
) -> dict[str, MattermostClient]:
    """One client per committee member with a token, checked against the member's username
    (a token of the wrong person would publish under someone else's name)."""
    make = factory or (lambda base, token: MattermostClient(base, token))
    clients: dict[str, MattermostClient] = {}
    for member in desired.members.values():
        token = tokens.get(member.username) or tokens.get(member.key)
        if token is None:
            continue
        client = make(url, token)
        me = client.get_me()
        if me.get("username") != member.username:
            raise EnvolError(
                said("secrets.wrong_person", username=member.username, owner=me.get("username"))
            )
        clients[member.key] = client
    unknown = set(tokens) - {m.username for m in desired.members.values()} - set(desired.members)
    if unknown:
        raise EnvolError(said("secrets.unknown_people", names=", ".join(sorted(unknown))))
    return clients


@dataclass(frozen=True)
class SeededChannel:
    """A seeded channel, for onboarding: who joins it and where it goes in the sidebar."""

    slug: str
    channel_id: str
    team_id: str
    name: str
    category: str
    cohorts: tuple[str, ...]


def seeded_channels(session: Session, desired: DesiredState) -> list[SeededChannel]:
    """The channels of the content that exist in Mattermost, in content order."""
    rows = {
        row.slug: row
        for row in session.scalars(select(SeededObject).where(SeededObject.kind == "channel"))
    }
    channels = []
    for obj in desired.objects:
        row = rows.get(obj.slug)
        if obj.kind != "channel" or row is None:
            continue
        channels.append(
            SeededChannel(
                slug=obj.slug,
                channel_id=row.mattermost_id,
                team_id=row.parent_id,
                name=str(obj.fields["name"]),
                category=str(obj.extra.get("category", "")),
                cohorts=tuple(obj.extra.get("cohorts", ())),
            )
        )
    return channels


def channels_for_cohort(channels: list[SeededChannel], cohort: str) -> list[SeededChannel]:
    """The channels a cohort joins: those marked ``all`` or with this cohort."""
    return [c for c in channels if "all" in c.cohorts or cohort in c.cohorts]
