"""The managers' weekly digest: who in their team has an incomplete profile, who is not there yet.

Managers push their teams (the launch method): once per ISO week, each manager who is on
Mattermost and has at least one report with an incomplete profile gets one DM (key
``digest:<manager>:<year>-W<week>``, so a second run in the same week sends nothing). Scores are
refreshed from Mattermost just before, so nobody is listed who completed their profile today.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, i18n
from plugin.db import in_chunks, transaction
from plugin.delivery.models import OutboundMessage
from plugin.delivery.posts import DmOutcome, send_dm_once
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.models import AWAITING_STATES, Invitation
from plugin.mattermost import MattermostError
from plugin.onboarding.followup import apply_score
from plugin.onboarding.models import ProfileFollowUp
from plugin.onboarding.profile import profile_score
from plugin.onboarding.texts import checklist_labels, render
from plugin.people.models import Person
from plugin.text import inert_markdown


@dataclass
class DigestReport:
    week: str = ""
    managers: int = 0
    sent: int = 0
    already_sent: int = 0
    errors: list[str] = field(default_factory=list)


# A post holds at most 16,383 characters: a manager of a large team sees the first names and a
# count of the others (alphabetical, so the list is stable from week to week).
DIGEST_MAX_NAMES = 40


def iso_week(moment: dt.datetime | None = None) -> str:
    year, week, _ = (moment or clock.now()).isocalendar()
    return f"{year}-W{week:02d}"


def digest_key(manager_id: int, week: str) -> str:
    return f"digest:{manager_id}:{week}"


@dataclass(frozen=True)
class _Report:
    """Someone in a manager's team whose profile was incomplete at the last check."""

    follow_up_id: int
    user_id: str
    name: str


@dataclass(frozen=True)
class _Digest:
    """A digest still to send this week, and what it is about."""

    manager_id: int
    user_id: str  # the manager's Mattermost account
    first_name: str
    language: str  # the roster's, when Mattermost has no locale for the manager
    team: list[_Report]
    not_joined: int  # invited, not on Mattermost yet


def send_manager_digests(env: CycleEnvironment) -> DigestReport:
    """This week's digest to every manager on Mattermost with a report whose profile is
    incomplete: read who is concerned, refresh their scores from Mattermost, then one DM each."""
    week = iso_week(clock.now())
    report = DigestReport(week=week)
    with env.sessions() as session:
        digests = _digests_to_send(session, week, report)
    if not digests:
        return report
    try:
        wanted = [member.user_id for d in digests for member in d.team]
        wanted += [d.user_id for d in digests]
        users = {str(u["id"]): u for u in env.mm.get_users_by_ids(wanted)}
    except MattermostError as error:
        report.errors.append(str(error))
        return report
    incomplete = _refresh_scores(env, digests, users)
    for digest in digests:
        listed = incomplete.get(digest.manager_id)
        if listed:
            _send_digest(env, digest, listed, users.get(digest.user_id, {}), week, report)
    return report


def _digests_to_send(session: Session, week: str, report: DigestReport) -> list[_Digest]:
    """Managers on Mattermost with an incomplete profile in their team and no digest yet this
    week (those already sent are counted in ``report``)."""
    incomplete = session.execute(
        select(ProfileFollowUp, Person.manager_id, Person.first_name, Person.last_name)
        .join(Person, Person.id == ProfileFollowUp.person_id)
        .where(ProfileFollowUp.complete.is_(False), Person.manager_id.is_not(None))
    ).all()
    if not incomplete:
        return []
    manager_ids = sorted({row[1] for row in incomplete})
    done = set(
        session.scalars(
            select(OutboundMessage.key).where(
                OutboundMessage.key.in_([digest_key(m, week) for m in manager_ids])
            )
        )
    )
    report.already_sent = len([m for m in manager_ids if digest_key(m, week) in done])
    managers = {
        p.id: p
        for p in session.scalars(
            select(Person).where(Person.id.in_(manager_ids), Person.mattermost_user_id.is_not(None))
        )
    }
    not_joined: dict[int, int] = defaultdict(int)
    for (manager_id,) in session.execute(
        select(Person.manager_id)
        .join(Invitation, Invitation.person_id == Person.id)
        .where(Person.manager_id.in_(manager_ids), Invitation.state.in_(AWAITING_STATES))
    ):
        not_joined[manager_id] += 1
    teams: dict[int, list[_Report]] = defaultdict(list)
    for follow_up, manager_id, first, last in incomplete:
        name = f"{first} {last}".strip()
        teams[manager_id].append(_Report(follow_up.id, follow_up.mattermost_user_id, name))
    return [
        _Digest(
            manager_id=m,
            user_id=str(managers[m].mattermost_user_id),
            first_name=managers[m].first_name,
            language=managers[m].language.value,
            team=teams[m],
            not_joined=not_joined.get(m, 0),
        )
        for m in manager_ids
        if m in managers and digest_key(m, week) not in done
    ]


def _refresh_scores(
    env: CycleEnvironment, digests: list[_Digest], users: Mapping[str, Mapping[str, Any]]
) -> dict[int, list[dict[str, Any]]]:
    """Fresh scores first: people who completed their profile since the last check drop out.
    Returns, per manager, who is still incomplete (name, score, missing items)."""
    still_incomplete: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with transaction(env.sessions) as session:
        follow_ups = _follow_ups(session, [m.follow_up_id for d in digests for m in d.team])
        for digest in digests:
            for member in digest.team:
                user = users.get(member.user_id)
                if user is None:
                    continue
                score = profile_score(user)
                apply_score(session, follow_ups[member.follow_up_id], score)
                if not score.complete:
                    still_incomplete[digest.manager_id].append(
                        {
                            "name": inert_markdown(member.name),
                            "score": score.score,
                            "missing": score.missing,
                        }
                    )
    return still_incomplete


def _follow_ups(session: Session, ids: list[int]) -> dict[int, ProfileFollowUp]:
    """The rows by id, a chunk per query: a manager's whole team in one round trip, not one
    ``Session.get`` per member every Monday."""
    rows: dict[int, ProfileFollowUp] = {}
    for chunk in in_chunks(ids):
        rows.update(
            (row.id, row)
            for row in session.scalars(select(ProfileFollowUp).where(ProfileFollowUp.id.in_(chunk)))
        )
    return rows


def _send_digest(
    env: CycleEnvironment,
    digest: _Digest,
    listed: list[dict[str, Any]],
    manager_user: Mapping[str, Any],
    week: str,
    report: DigestReport,
) -> None:
    """One DM, in the manager's language, listing the first ``DIGEST_MAX_NAMES`` by name."""
    report.managers += 1
    language = i18n.pick_language(
        str(manager_user.get("locale") or ""),
        digest.language,
        default=env.runtime.default_language,
    )
    labels = checklist_labels(language)
    text = render(
        "digest",
        language,
        first_name=str(manager_user.get("first_name") or digest.first_name),
        incomplete=[
            {**m, "missing": [labels[item] for item in m["missing"]]}
            for m in sorted(listed, key=lambda m: m["name"])[:DIGEST_MAX_NAMES]
        ],
        others=max(0, len(listed) - DIGEST_MAX_NAMES),
        not_joined=digest.not_joined,
    )
    try:
        outcome = send_dm_once(
            env.courier,
            digest_key(digest.manager_id, week),
            kind="manager_digest",
            user_id=digest.user_id,
            message=text,
            person_id=digest.manager_id,
        )
    except MattermostError as error:
        report.errors.append(str(error))
        return
    if outcome is DmOutcome.SENT:
        report.sent += 1
    elif outcome is DmOutcome.ALREADY_SENT:
        report.already_sent += 1
