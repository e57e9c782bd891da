"""Profile follow-up: nudge people at ``profile_nudge_delays_days`` after they joined, until
their profile is complete, then leave them alone.

Each due row is re-read from Mattermost (``POST /users/ids``, 1,000 a request) before anything
is sent: someone who completed their profile in the meantime gets nothing. After the last
nudge the profile is still checked daily for ``FOLLOW_UP_AFTER_LAST_NUDGE`` (for the funnel and
the managers' digest), without any more messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, insert, select, update
from sqlalchemy.orm import Session

from plugin import clock, i18n
from plugin.audit.service import record
from plugin.db import transaction
from plugin.delivery.leases import still_mine, still_mine_among, update_held
from plugin.delivery.posts import DmOutcome, send_dm_once
from plugin.invitations.environment import CycleEnvironment
from plugin.mattermost import MattermostError
from plugin.onboarding.models import ProfileFollowUp
from plugin.onboarding.profile import ProfileScore, profile_score
from plugin.onboarding.texts import checklist_labels, profile_how, render
from plugin.people.models import Person
from plugin.settings import RuntimeSettings

RECHECK_INTERVAL = dt.timedelta(days=1)
FOLLOW_UP_AFTER_LAST_NUDGE = dt.timedelta(days=14)


_FOLLOW_UPS = cast(Table, ProfileFollowUp.__table__)
_FOLLOW_UP_OF_PERSON = select(_FOLLOW_UPS.c.id).where(
    _FOLLOW_UPS.c.person_id == bindparam("person_id")
)
_NEW_FOLLOW_UP = insert(_FOLLOW_UPS)


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def start_follow_up(
    session: Session,
    person_id: int,
    user_id: str,
    joined_at: dt.datetime | None,
    score: ProfileScore,
    runtime: RuntimeSettings,
) -> None:
    """Create (once per person) the follow-up row of someone who just arrived."""
    # Core statements: one person at a time as they arrive, and no object of the session
    # stands for the row (an ORM add and flush cost more than the INSERT).
    if session.scalar(_FOLLOW_UP_OF_PERSON, {"person_id": person_id}) is not None:
        return
    now = clock.now()
    joined_at = joined_at or now
    delays = runtime.profile_nudge_delays_days
    session.execute(
        _NEW_FOLLOW_UP,
        {
            "person_id": person_id,
            "mattermost_user_id": user_id,
            "joined_at": joined_at,
            "score": score.score,
            "missing": list(score.missing),
            "complete": score.complete,
            "completed_at": now if score.complete else None,
            "checked_at": now,
            "nudges_sent": 0,
            "due_at": None if score.complete or not delays else joined_at + _days(delays[0]),
        },
    )


@dataclass
class FollowUpReport:
    checked: int = 0
    completed: int = 0
    nudged: int = 0
    left_alone: int = 0
    errors: list[str] = field(default_factory=list)


def apply_score(session: Any, row: ProfileFollowUp, score: ProfileScore) -> bool:
    """Store a fresh score; True when the profile just became complete (audited)."""
    row.score = score.score
    row.missing = list(score.missing)
    row.checked_at = clock.now()
    if score.complete and not row.complete:
        row.complete = True
        row.completed_at = clock.now()
        row.due_at = None
        record(
            session,
            actor="envol",
            action="profile.completed",
            subject_type="person",
            subject_id=row.person_id,
            details={"nudges_sent": row.nudges_sent},
        )
        return True
    return False


def follow_up_profiles(env: CycleEnvironment) -> FollowUpReport:
    report = FollowUpReport()
    with env.leased(ProfileFollowUp, where=ProfileFollowUp.complete.is_(False)) as ids:
        if ids:
            _follow_up_batch(env, ids, report)
    return report


@dataclass(frozen=True)
class _Nudge:
    """A nudge the check decided to send, with what its message needs."""

    follow_up_id: int
    person_id: int
    joined_at: dt.datetime
    number: int
    user: Mapping[str, Any]
    first_name: str
    language: str
    score: ProfileScore


def _follow_up_batch(env: CycleEnvironment, ids: list[int], report: FollowUpReport) -> None:
    try:
        with env.sessions() as session:
            rows = session.execute(
                select(ProfileFollowUp, Person.first_name, Person.language)
                .join(Person, Person.id == ProfileFollowUp.person_id)
                .where(ProfileFollowUp.id.in_(ids))
            ).all()
            work = [(r.id, r.mattermost_user_id, first, lang.value) for r, first, lang in rows]
        users = {str(u["id"]): u for u in env.mm.get_users_by_ids([w[1] for w in work])}
        for nudge in _check_batch(env, work, users, report):
            try:
                _send_nudge(env, nudge, report)
            except MattermostError as error:
                report.errors.append(str(error))
                with transaction(env.sessions) as session:
                    retry_at = clock.now() + dt.timedelta(minutes=10)
                    update_held(
                        session,
                        ProfileFollowUp,
                        [nudge.follow_up_id],
                        env.owner,
                        {"due_at": retry_at},
                    )
    except MattermostError as error:
        report.errors.append(str(error))


def _check_batch(
    env: CycleEnvironment,
    work: list[tuple[int, str, str, str]],
    users: Mapping[str, Mapping[str, Any]],
    report: FollowUpReport,
) -> list[_Nudge]:
    """Score every row of the batch against the fresh profiles in one transaction, and say
    which nudges are due. Most checks send nothing (a profile completed, a nudge not due
    yet, a daily recheck after the last one): a transaction each cost more than the check."""
    now = clock.now()
    delays = env.runtime.profile_nudge_delays_days
    nudges: list[_Nudge] = []
    with transaction(env.sessions) as session:
        held = still_mine_among(
            session, ProfileFollowUp, [w[0] for w in work], env.owner, now, env.lease
        )
        rows = {
            row.id: row
            for row in session.scalars(select(ProfileFollowUp).where(ProfileFollowUp.id.in_(held)))
        }
        for follow_up_id, user_id, first_name, language in work:
            report.checked += 1
            row = rows.get(follow_up_id)
            if row is None:
                continue  # another worker took the row over: it checks it
            user = users.get(user_id)
            if user is None or user.get("delete_at"):
                row.due_at = None  # the account is gone: nothing to follow
                report.left_alone += 1
                continue
            score = profile_score(user)
            if apply_score(session, row, score):
                report.completed += 1
                continue
            if row.nudges_sent >= len(delays):
                last = row.joined_at + _days(delays[-1]) if delays else row.joined_at
                if now >= last + FOLLOW_UP_AFTER_LAST_NUDGE:
                    row.due_at = None
                    report.left_alone += 1
                else:
                    row.due_at = now + RECHECK_INTERVAL
                continue
            nudge_due = row.joined_at + _days(delays[row.nudges_sent])
            if now < nudge_due:
                row.due_at = nudge_due
                continue
            locale = i18n.pick_language(
                str(user.get("locale") or ""), language, default=env.runtime.default_language
            )
            nudges.append(
                _Nudge(
                    follow_up_id=follow_up_id,
                    person_id=row.person_id,
                    joined_at=row.joined_at,
                    number=row.nudges_sent + 1,
                    user=user,
                    first_name=first_name,
                    language=locale,
                    score=score,
                )
            )
    return nudges


# The count of a nudge just posted, on the row this worker still holds (its lease extended),
# unless the row already counts it. One statement instead of a lease check, a load and a flush.
_COUNT_NUDGE: Update = (
    update(_FOLLOW_UPS)
    .where(
        _FOLLOW_UPS.c.id == bindparam("follow_up_id"),
        _FOLLOW_UPS.c.lease_owner == bindparam("owner"),
        _FOLLOW_UPS.c.nudges_sent < bindparam("number"),
    )
    .values(
        nudges_sent=bindparam("number"),
        due_at=bindparam("next_due"),
        lease_expires_at=bindparam("lease_until"),
    )
)


def _next_due_after_nudge(
    joined_at: dt.datetime, nudges_sent: int, delays: Sequence[int], now: dt.datetime
) -> dt.datetime:
    """The next nudge's moment, or after the last one the daily re-check."""
    if nudges_sent < len(delays):
        return joined_at + _days(delays[nudges_sent])
    return now + RECHECK_INTERVAL


def _count_nudge(
    session: Session, env: CycleEnvironment, nudge: _Nudge, delays: Sequence[int]
) -> None:
    """Count the nudge on its row if this worker still holds it. A row another worker took
    over is left to it: that worker finds the nudge already posted and counts it then."""
    now = clock.now()
    counted: Any = session.execute(
        _COUNT_NUDGE,
        {
            "follow_up_id": nudge.follow_up_id,
            "owner": env.owner,
            "number": nudge.number,
            "next_due": _next_due_after_nudge(nudge.joined_at, nudge.number, delays, now),
            "lease_until": now + env.lease,
        },
    )
    if counted.rowcount:
        return
    if not still_mine(session, ProfileFollowUp, nudge.follow_up_id, env.owner, now, env.lease):
        return
    # Still held, and the row already counts this nudge or a later one: only the schedule.
    row = session.get_one(ProfileFollowUp, nudge.follow_up_id)
    row.due_at = _next_due_after_nudge(row.joined_at, row.nudges_sent, delays, now)


def _send_nudge(env: CycleEnvironment, nudge: _Nudge, report: FollowUpReport) -> None:
    delays = env.runtime.profile_nudge_delays_days

    def count_nudge(session: Session, outcome: DmOutcome) -> None:
        if outcome is DmOutcome.SENT:
            # The nudge went out, whoever holds the row now: audited here, once (a new holder
            # finds it ALREADY_SENT and does not audit it again).
            report.nudged += 1
            record(
                session,
                actor="envol",
                action="profile.nudged",
                subject_type="person",
                subject_id=nudge.person_id,
                details={"nudge": nudge.number, "score": nudge.score.score},
            )
        _count_nudge(session, env, nudge, delays)

    outcome = send_dm_once(
        env.courier,
        f"nudge:{nudge.person_id}:{nudge.number}",
        kind="profile_nudge",
        user_id=str(nudge.user["id"]),
        message=nudge_text(env, nudge.user, nudge.first_name, nudge.score, nudge.language),
        person_id=nudge.person_id,
        then=count_nudge,
        still_held=lambda session: still_mine(
            session, ProfileFollowUp, nudge.follow_up_id, env.owner, clock.now(), env.lease
        ),
    )
    if outcome is DmOutcome.BUSY:  # another worker is posting it: look again once it is over
        with transaction(env.sessions) as session:
            now = clock.now()
            # Renews the lease as ``still_mine`` does, with the new schedule, in one statement.
            update_held(
                session,
                ProfileFollowUp,
                [nudge.follow_up_id],
                env.owner,
                {"due_at": now + env.lease, "lease_expires_at": now + env.lease},
            )


def nudge_text(
    env: CycleEnvironment,
    user: Mapping[str, Any],
    first_name: str,
    score: ProfileScore,
    language: str,
) -> str:
    labels = checklist_labels(language)
    return render(
        "nudge",
        language,
        first_name=str(user.get("first_name") or first_name),
        score=score.score,
        missing=[labels[item] for item in score.missing],
        profile_how=profile_how(env, language),
    )
