"""Registering Envol's slash commands on the team, and the tokens their requests must carry.

Installing is idempotent: a trigger already registered for our URL is kept (its definition
updated when it drifted), a missing one is created, and every token is stored so that
``/commands`` can verify requests without asking Mattermost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.errors import EnvolError
from plugin.mattermost import MattermostClient
from plugin.slash_registration.models import SlashCommandRegistration

DEFAULT_TRIGGERS: tuple[str, ...] = ("envol", "aide")


@dataclass(frozen=True)
class TriggerSpec:
    """How one trigger presents itself in the autocomplete list."""

    trigger: str
    display_name: str
    description: str
    hint: str


def trigger_specs(words: Sequence[str], hint: str) -> list[TriggerSpec]:
    """The specs of ``words`` (default: envol and its French alias aide), checked; ``/envol``
    describes itself in English, its aliases in French."""
    specs = []
    for word in [validate_trigger(w) for w in (words or DEFAULT_TRIGGERS)]:
        description = (
            "Help, support, ideas, profile, survey"
            if word == "envol"
            else "Aide, support, idées, profil, questionnaire"
        )
        specs.append(TriggerSpec(word, "Envol", description, hint))
    return specs


@dataclass(frozen=True)
class InstallOutcome:
    trigger: str
    action: str  # "created", "updated", "unchanged", "would create", "would update"
    command_id: str


def validate_trigger(trigger: str) -> str:
    trigger = trigger.strip().lstrip("/")
    if not trigger or len(trigger) > 128 or any(c.isspace() or c == "/" for c in trigger):
        raise EnvolError(f"slash command trigger {trigger!r}: one word without '/' or spaces")
    return trigger


def _wanted_fields(spec: TriggerSpec, url: str, username: str) -> dict[str, Any]:
    return {
        "url": url,
        "method": "P",
        "display_name": spec.display_name,
        "description": spec.description,
        "auto_complete": True,
        "auto_complete_desc": spec.description,
        "auto_complete_hint": spec.hint,
        "username": username,
    }


def install_commands(
    session: Session,
    client: MattermostClient,
    *,
    team_id: str,
    specs: Sequence[TriggerSpec],
    url: str,
    username: str = "envol",
    dry_run: bool = False,
    actor: str = "cli",
) -> list[InstallOutcome]:
    """Create or update each trigger on the team and store its token."""
    existing = {
        c["trigger"]: c
        for c in client.list_commands(team_id, custom_only=True)
        if not c.get("delete_at")
    }
    outcomes = []
    for spec in specs:
        wanted = _wanted_fields(spec, url, username)
        current = existing.get(spec.trigger)
        if current is None:
            if dry_run:
                outcomes.append(InstallOutcome(spec.trigger, "would create", ""))
                continue
            fields = {k: v for k, v in wanted.items() if k not in ("url", "method")}
            current = client.create_command(team_id, spec.trigger, url, method="P", **fields)
            action = "created"
        else:
            if current.get("url") != url and not _is_ours(session, current):
                raise EnvolError(
                    f"/{spec.trigger} already exists on the team for another integration "
                    f"({current.get('url')}); choose another trigger with --trigger"
                )
            drift = {k: v for k, v in wanted.items() if current.get(k) != v}
            if not drift:
                action = "unchanged"
            elif dry_run:
                outcomes.append(InstallOutcome(spec.trigger, "would update", current["id"]))
                continue
            else:
                current = client.update_command({**current, **wanted})
                action = "updated"
        if not dry_run:
            _store(session, team_id, spec.trigger, current, url)
            record(
                session,
                actor=actor,
                action=f"commands.{action}",
                subject_type="command",
                subject_id=current["id"],
                details={"trigger": spec.trigger},
            )
        outcomes.append(InstallOutcome(spec.trigger, action, current["id"]))
    return outcomes


def _is_ours(session: Session, command: dict[str, Any]) -> bool:
    return (
        session.scalar(
            select(SlashCommandRegistration.id).where(
                SlashCommandRegistration.command_id == command["id"]
            )
        )
        is not None
    )


def _store(session: Session, team_id: str, trigger: str, command: dict[str, Any], url: str) -> None:
    token = command.get("token") or ""
    if not token:
        raise EnvolError(
            f"Mattermost returned no token for /{trigger}; check the bot's permissions"
        )
    row = session.scalar(
        select(SlashCommandRegistration).where(
            SlashCommandRegistration.team_id == team_id, SlashCommandRegistration.trigger == trigger
        )
    )
    if row is None:
        row = SlashCommandRegistration(team_id=team_id, trigger=trigger, created_at=clock.now())
        session.add(row)
    row.command_id = command["id"]
    row.token = token
    row.url = url
    row.updated_at = clock.now()
    session.flush()


def known_tokens(session: Session, trigger: str | None = None) -> list[str]:
    """The tokens a request for ``/trigger`` may carry (each trigger has its own: the ``/aide``
    token does not open ``/envol``); every registered token when ``trigger`` is None."""
    query = select(SlashCommandRegistration.token)
    if trigger is not None:
        # Mattermost stores triggers lowercased and sends back ``"/" + trigger``.
        query = query.where(func.lower(SlashCommandRegistration.trigger) == trigger.lower())
    return list(session.scalars(query))


def registered_triggers(session: Session) -> list[SlashCommandRegistration]:
    return list(
        session.scalars(select(SlashCommandRegistration).order_by(SlashCommandRegistration.trigger))
    )
