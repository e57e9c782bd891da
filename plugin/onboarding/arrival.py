"""On arrival: the wave's channels, the cohort's sidebar category, the theme, the welcome DM.

Claims ``joined`` invitations (leased like the dispatcher's rows) and, for the batch:

1. adds everyone to their wave's channels, one request per channel for up to 1,000 people;
2. per person: the cohort's custom sidebar category holding those channels (found by name, so
   a re-run updates it instead of creating a second one); the company theme when they have
   none (``plugin.branding``); the welcome DM in their Mattermost locale, exactly once
   (``send_dm_once``); the profile follow-up row;
3. moves the invitation to ``activated``.

Each step is idempotent, so a crash anywhere only means the next cycle redoes the row.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, i18n
from plugin.branding.service import CompanyTheme, company_theme, theme_new_member
from plugin.cohorts.models import Cohort, Wave
from plugin.db import transaction
from plugin.delivery.leases import still_mine
from plugin.delivery.outbox import scrub
from plugin.delivery.posts import DmOutcome, send_dm_once
from plugin.invitations.dispatcher import BACKOFF
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.lifecycle import activate_held, transition
from plugin.invitations.models import Invitation, InvitationState
from plugin.mattermost import MattermostError, Retryable
from plugin.onboarding.followup import start_follow_up
from plugin.onboarding.profile import CHECKLIST, profile_score
from plugin.onboarding.texts import checklist_labels, profile_how, render
from plugin.people.models import Person

log = logging.getLogger("envol.onboarding")


@dataclass
class ArrivalReport:
    claimed: int = 0
    activated: int = 0
    welcomed: int = 0
    already_welcomed: int = 0
    channel_adds: int = 0
    categories: int = 0
    themed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class _Arrival:
    invitation_id: int
    person_id: int | None
    user_id: str
    first_name: str
    language: str
    channels: list[str]
    category: str


def process_arrivals(env: CycleEnvironment) -> ArrivalReport:
    report = ArrivalReport()
    with env.leased(Invitation, where=Invitation.state == InvitationState.JOINED) as ids:
        report.claimed = len(ids)
        if not ids:
            return report
        try:
            arrivals, theme = _load(env, ids)
            users = {
                str(u["id"]): u for u in env.mm.get_users_by_ids([a.user_id for a in arrivals])
            }
            _add_to_channels(env, arrivals, report)
            for arrival in arrivals:
                try:
                    _settle_one(env, arrival, users.get(arrival.user_id), theme, report)
                except MattermostError as error:
                    _defer(env, arrival, str(error), report)
        except Retryable as error:
            report.errors.append(str(error))
            log.warning("arrivals interrupted, retried next cycle: %s", error)
    return report


def _load(env: CycleEnvironment, ids: Sequence[int]) -> tuple[list[_Arrival], CompanyTheme | None]:
    """The batch's arrivals, and the company theme they get (read once for the batch)."""
    with env.sessions() as session:
        rows = session.execute(
            select(Invitation, Person, Wave.channels, Cohort.name)
            .outerjoin(Person, Person.id == Invitation.person_id)
            .join(Wave, Wave.id == Invitation.wave_id)
            .join(Cohort, Cohort.id == Wave.cohort_id)
            .where(Invitation.id.in_(ids))
            .order_by(Invitation.id)
        ).all()
        arrivals = [
            _Arrival(
                invitation_id=invitation.id,
                person_id=person.id if person else None,
                user_id=str(
                    invitation.mattermost_user_id or (person and person.mattermost_user_id)
                ),
                first_name=person.first_name if person else "",
                language=person.language.value if person else env.runtime.default_language,
                channels=list(channels or []),
                category=cohort_name,
            )
            for invitation, person, channels, cohort_name in rows
        ]
        return arrivals, company_theme(session)


def _add_to_channels(
    env: CycleEnvironment, arrivals: list[_Arrival], report: ArrivalReport
) -> None:
    by_channel: dict[str, list[str]] = {}
    for arrival in arrivals:
        for channel_id in env.targets.channel_ids(arrival.channels):
            by_channel.setdefault(channel_id, []).append(arrival.user_id)
    for channel_id, user_ids in by_channel.items():
        results = env.mm.add_channel_members(channel_id, user_ids)
        report.channel_adds += sum(1 for r in results if r.added)


def ensure_sidebar_category(
    env: CycleEnvironment, user_id: str, display_name: str, channel_ids: Sequence[str]
) -> bool:
    """The user's custom category ``display_name`` holding ``channel_ids``; True if written."""
    team_id = env.targets.team_id
    categories = env.mm.get_sidebar_categories(user_id, team_id).get("categories") or []
    for category in categories:
        if category.get("type") == "custom" and category.get("display_name") == display_name:
            present = list(category.get("channel_ids") or [])
            missing = [c for c in channel_ids if c not in present]
            if not missing:
                return False
            env.mm.update_sidebar_category(
                user_id, team_id, {**category, "channel_ids": present + missing}
            )
            return True
    env.mm.create_sidebar_category(user_id, team_id, display_name, list(channel_ids))
    return True


def _settle_one(
    env: CycleEnvironment,
    arrival: _Arrival,
    user: Mapping[str, Any] | None,
    theme: CompanyTheme | None,
    report: ArrivalReport,
) -> None:
    if user is None:
        _defer(env, arrival, "the Mattermost account was not found", report)
        return
    channel_ids = env.targets.channel_ids(arrival.channels)
    if channel_ids and ensure_sidebar_category(env, arrival.user_id, arrival.category, channel_ids):
        report.categories += 1
    if theme is not None:  # none before ``envol brand apply``: no transaction at all
        # One unit of work (on SQLite, the write lock first): it reads, then records the theme.
        with transaction(env.sessions) as session:
            if theme_new_member(env.mm, session, arrival.user_id, theme):
                report.themed += 1
    language = i18n.pick_language(
        str(user.get("locale") or ""), arrival.language, default=env.runtime.default_language
    )
    score = profile_score(user)

    def activate(session: Session, outcome: DmOutcome | None = None) -> None:
        if outcome is DmOutcome.SENT:
            report.welcomed += 1
        elif outcome is DmOutcome.ALREADY_SENT:
            report.already_welcomed += 1
        now = clock.now()
        activated = activate_held(
            session,
            arrival.invitation_id,
            env.owner,
            now + env.lease,
            reason="channels, sidebar category, theme and welcome done",
            details={"profile_score": score.score},
        )
        if activated is None:
            if still_mine(session, Invitation, arrival.invitation_id, env.owner, now, env.lease):
                # Held but no longer joined: ``transition`` refuses the move (a bug).
                transition(
                    session,
                    session.get_one(Invitation, arrival.invitation_id),
                    InvitationState.ACTIVATED,
                )
            return  # another worker took the row over: it activates it
        if arrival.person_id is not None:
            start_follow_up(
                session, arrival.person_id, arrival.user_id, activated.joined_at, score, env.runtime
            )
        report.activated += 1

    if arrival.person_id is None:  # forgotten since: nobody to welcome
        with transaction(env.sessions) as session:
            activate(session)
        return
    outcome = send_dm_once(
        env.courier,
        f"welcome:{arrival.person_id}",
        kind="welcome",
        user_id=arrival.user_id,
        message=welcome_text(env, user, arrival, language, channel_ids),
        person_id=arrival.person_id,
        invitation_id=arrival.invitation_id,
        then=activate,
        still_held=lambda session: still_mine(
            session, Invitation, arrival.invitation_id, env.owner, clock.now(), env.lease
        ),
    )
    if outcome is DmOutcome.BUSY:
        _come_back_later(env, arrival)


def welcome_text(
    env: CycleEnvironment,
    user: Mapping[str, Any],
    arrival: _Arrival,
    language: str,
    channel_ids: Sequence[str],
) -> str:
    score = profile_score(user)
    labels = checklist_labels(language)
    checklist = [
        {"label": labels[item], "done": item not in score.missing}
        for item, weight in CHECKLIST
        if weight > 0
    ]
    links = env.targets.links
    return render(
        "welcome",
        language,
        first_name=str(user.get("first_name") or arrival.first_name or user.get("username", "")),
        company=env.runtime.company_name,
        channels=arrival.channels if channel_ids else [],
        support_channel=env.runtime.support_channel,
        ios_url=links.ios_url,
        android_url=links.android_url,
        desktop_url=links.desktop_url,
        team_url=links.team_url,
        score=score.score,
        checklist=checklist,
        profile_how=profile_how(env, language),
    )


def _come_back_later(env: CycleEnvironment, arrival: _Arrival) -> None:
    """Another worker is posting this welcome: look again once its send is surely over."""
    now = clock.now()
    with transaction(env.sessions) as session:
        if still_mine(session, Invitation, arrival.invitation_id, env.owner, now, env.lease):
            session.get_one(Invitation, arrival.invitation_id).due_at = now + env.lease


def _defer(env: CycleEnvironment, arrival: _Arrival, error: str, report: ArrivalReport) -> None:
    now = clock.now()
    with transaction(env.sessions) as session:
        if not still_mine(session, Invitation, arrival.invitation_id, env.owner, now, env.lease):
            return
        invitation = session.get_one(Invitation, arrival.invitation_id)
        invitation.attempts += 1
        invitation.last_error = scrub(error)
        invitation.due_at = now + BACKOFF.after(invitation.attempts)
    report.deferred += 1
    report.errors.append(error)
