"""The managers' weekly digest: who in their team has an incomplete profile, who is not there yet.

Managers push their teams (the launch method): once per ISO week, each manager who is on
Mattermost and has at least one report with an incomplete profile gets one DM (key
``digest:<manager>:<year>-W<week>``, so a second run in the same week sends nothing). Scores are
refreshed from Mattermost just before, so nobody is listed who completed their profile today.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from plugin import clock, i18n
from plugin.db import transaction
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


def send_manager_digests(env: CycleEnvironment) -> DigestReport:
    week = iso_week(clock.now())
    report = DigestReport(week=week)
    with env.sessions() as session:
        incomplete = session.execute(
            select(ProfileFollowUp, Person.manager_id, Person.first_name, Person.last_name)
            .join(Person, Person.id == ProfileFollowUp.person_id)
            .where(ProfileFollowUp.complete.is_(False), Person.manager_id.is_not(None))
        ).all()
        if not incomplete:
            return report
        manager_ids = sorted({row[1] for row in incomplete})
        done = set(
            session.scalars(
                select(OutboundMessage.key).where(
                    OutboundMessage.key.in_([digest_key(m, week) for m in manager_ids])
                )
            )
        )
        managers = {
            p.id: p
            for p in session.scalars(
                select(Person).where(
                    Person.id.in_(manager_ids), Person.mattermost_user_id.is_not(None)
                )
            )
        }
        not_joined: dict[int, int] = defaultdict(int)
        for (manager_id,) in session.execute(
            select(Person.manager_id)
            .join(Invitation, Invitation.person_id == Person.id)
            .where(Person.manager_id.in_(manager_ids), Invitation.state.in_(AWAITING_STATES))
        ):
            not_joined[manager_id] += 1
        pending = [m for m in manager_ids if m in managers and digest_key(m, week) not in done]
        report.already_sent = len([m for m in manager_ids if digest_key(m, week) in done])
        teams: dict[int, list[tuple[int, str, str]]] = defaultdict(list)
        for follow_up, manager_id, first, last in incomplete:
            if manager_id in pending:
                teams[manager_id].append(
                    (follow_up.id, follow_up.mattermost_user_id, f"{first} {last}".strip())
                )
        manager_users = {m: managers[m].mattermost_user_id for m in pending}
        manager_first = {m: managers[m].first_name for m in pending}
        manager_lang = {m: managers[m].language.value for m in pending}
    if not pending:
        return report
    try:
        wanted = [uid for members in teams.values() for _, uid, _ in members]
        wanted += [uid for uid in manager_users.values() if uid]
        users = {str(u["id"]): u for u in env.mm.get_users_by_ids(wanted)}
    except MattermostError as error:
        report.errors.append(str(error))
        return report
    # Fresh scores first: people who completed their profile since the last check drop out.
    still_incomplete: dict[int, list[dict[str, Any]]] = defaultdict(list)
    with transaction(env.sessions) as session:
        for manager_id, members in teams.items():
            for follow_up_id, user_id, name in members:
                user = users.get(user_id)
                if user is None:
                    continue
                score = profile_score(user)
                apply_score(session, session.get_one(ProfileFollowUp, follow_up_id), score)
                if not score.complete:
                    still_incomplete[manager_id].append(
                        {"name": name, "score": score.score, "missing": score.missing}
                    )
    for manager_id in pending:
        listed = still_incomplete.get(manager_id) or []
        if not listed:
            continue
        report.managers += 1
        manager_user = users.get(str(manager_users[manager_id]), {})
        language = i18n.pick_language(
            str(manager_user.get("locale") or ""),
            manager_lang[manager_id],
            default=env.runtime.default_language,
        )
        labels = checklist_labels(language)
        text = render(
            "digest",
            language,
            first_name=str(manager_user.get("first_name") or manager_first[manager_id]),
            incomplete=[
                {**m, "missing": [labels[item] for item in m["missing"]]}
                for m in sorted(listed, key=lambda m: m["name"])[:DIGEST_MAX_NAMES]
            ],
            others=max(0, len(listed) - DIGEST_MAX_NAMES),
            not_joined=not_joined.get(manager_id, 0),
        )
        try:
            outcome = send_dm_once(
                env.courier,
                digest_key(manager_id, week),
                kind="manager_digest",
                user_id=str(manager_users[manager_id]),
                message=text,
                person_id=manager_id,
            )
        except MattermostError as error:
            report.errors.append(str(error))
            continue
        if outcome is DmOutcome.SENT:
            report.sent += 1
        elif outcome is DmOutcome.ALREADY_SENT:
            report.already_sent += 1
    return report
