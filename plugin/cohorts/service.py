"""Cohorts and waves: the plan, manual edits, the server's limits, gate overrides and launches.

The plan is, in launch order: the managers-and-champions wave (they are trained first and
animate the rest), the pilot, then the rest of the company in general waves. ``launch_wave`` is
the one place where a wave's people are handed to the invitation engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.cohorts.approval import withdraw_approval_after_change
from plugin.cohorts.gates import GateMeasures, GateResult
from plugin.cohorts.guards import LaunchFacts, OpenCheck, WaveRefused, check_wave_can_open
from plugin.cohorts.models import (
    Cohort,
    CohortKind,
    CohortMember,
    WaitlistRequest,
    Wave,
    WaveHandoff,
    WaveStatus,
)
from plugin.cohorts.pilot import Candidate, PilotSelection, select_pilot
from plugin.cohorts.stored_text import (
    REASON_DRAWN,
    REASON_MANUAL,
    REASON_MUST_INCLUDE,
    REASON_PLAN,
    stored_description,
)
from plugin.errors import EnvolError
from plugin.i18n import Message, messages_of
from plugin.people.models import Person, PersonRole, PersonStatus
from plugin.people.roster import normalise_email
from plugin.settings import RuntimeSettings

# Refusals are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))

MANAGERS_CHAMPIONS = "managers-champions"
PILOT = "pilote"
GENERAL_WAVE_PREFIX = "vague-"
# The managers-and-champions space (a channel seeded from seed_content) that wave 0 joins.
MANAGERS_CHAMPIONS_CHANNEL = "managers-champions"
_PLANNED_KINDS = (CohortKind.PILOT, CohortKind.MANAGERS_CHAMPIONS, CohortKind.WAVE)
_GENERAL_WAVE_SPACING = dt.timedelta(weeks=2)


@dataclass
class WavePlan:
    name: str
    kind: CohortKind
    position: int
    planned_at: dt.datetime
    channels: list[str]
    person_ids: list[int]
    description: str


@dataclass
class CohortPlan:
    pilot: PilotSelection
    waves: list[WavePlan]
    warnings: list[Message] = field(default_factory=list)
    applied: bool = False


@dataclass(frozen=True)
class ServerLimits:
    """Numbers read from the server (``TeamSettings.MaxUsersPerTeam``, ``/limits/server``).

    ``None`` means unknown or unlimited. Active users already on the server count towards the cap.
    """

    max_users_per_team: int | None = None
    user_cap: int | None = None
    users_already_on_server: int = 0
    soft_user_cap: int | None = None

    def user_cap_problem(self, users: int) -> tuple[Literal["block", "warn"], Message] | None:
        """The one rule for the user cap, for ``waves list`` and preflight alike: ``("block",
        why)`` past the most users the server accepts, ``("warn", why)`` past the soft cap
        (admins see a banner), else None."""
        if self.user_cap and users > self.user_cap:
            return ("block", said("warning.user_cap_block", users=users, cap=self.user_cap))
        if self.soft_user_cap and users > self.soft_user_cap:
            return ("warn", said("warning.user_cap_soft", users=users, cap=self.soft_user_cap))
        return None


def _launch_start(settings: RuntimeSettings) -> dt.datetime:
    return dt.datetime.combine(settings.launch_date, dt.time(9, 0), tzinfo=dt.UTC)


def _candidates(session: Session) -> list[Candidate]:
    rows = session.execute(
        select(
            Person.id, Person.email, Person.department, Person.site, Person.role, Person.volunteer
        ).where(Person.status == PersonStatus.ACTIVE)
    )
    return [Candidate(*row) for row in rows]


def build_plan(
    session: Session, settings: RuntimeSettings, *, percent: float, seed: int, general_waves: int
) -> CohortPlan:
    """The plan for the current roster, not yet written."""
    if general_waves < 1:
        raise EnvolError(said("plan.no_general_wave"))
    candidates = _candidates(session)
    if not candidates:
        raise EnvolError(said("plan.roster_empty"))
    pilot = select_pilot(candidates, percent, seed)
    start = _launch_start(settings)
    core = [c for c in candidates if c.role in (PersonRole.MANAGER, PersonRole.CHAMPION,
                                                 PersonRole.COMMITTEE)]  # fmt: skip
    common = [settings.support_channel, settings.ideas_channel]
    waves = [
        WavePlan(
            MANAGERS_CHAMPIONS,
            CohortKind.MANAGERS_CHAMPIONS,
            0,
            start - dt.timedelta(weeks=2),
            [MANAGERS_CHAMPIONS_CHANNEL, *common],
            sorted(c.id for c in core),
            stored_description("plan.what.managers_champions"),
        ),
        WavePlan(
            PILOT,
            CohortKind.PILOT,
            1,
            start,
            common,
            pilot.selected_ids,
            stored_description("plan.what.pilot", percent=percent, seed=seed),
        ),
    ]
    taken = set(pilot.selected_ids) | {c.id for c in core}
    # Teams join together: the rest is ordered by department, site and manager before cutting.
    rest = sorted(
        (c for c in candidates if c.id not in taken), key=lambda c: (c.department, c.site, c.email)
    )
    size = -(-len(rest) // general_waves) if rest else 0
    general_start = start + dt.timedelta(weeks=settings.pilot_weeks)
    for number in range(general_waves):
        members = rest[number * size : (number + 1) * size]
        if not members and number:
            break
        waves.append(
            WavePlan(
                f"{GENERAL_WAVE_PREFIX}{number + 1}",
                CohortKind.WAVE,
                number + 2,
                general_start + number * _GENERAL_WAVE_SPACING,
                common,
                sorted(c.id for c in members),
                stored_description("plan.what.wave", number=number + 1, total=general_waves),
            )
        )
    return CohortPlan(pilot=pilot, waves=waves, warnings=list(pilot.warnings))


def apply_plan(session: Session, plan: CohortPlan, *, actor: str, replace: bool = False) -> None:
    """Write the plan's cohorts and waves. An existing plan is replaced only with ``replace``
    and only while none of its waves has opened."""
    existing = session.scalars(select(Wave)).all()
    if existing and not replace:
        raise EnvolError(said("plan.already_planned"))
    if any(w.status != WaveStatus.PLANNED for w in existing):
        raise EnvolError(said("plan.wave_opened"))
    if existing:
        # Waitlist placements point to waves about to be replaced: they will be placed again.
        session.execute(
            update(WaitlistRequest)
            .where(WaitlistRequest.wave_id.in_([w.id for w in existing]))
            .values(wave_id=None)
        )
        session.execute(delete(Wave))
        planned = select(Cohort.id).where(Cohort.kind.in_(_PLANNED_KINDS))
        session.execute(delete(CohortMember).where(CohortMember.cohort_id.in_(planned)))
        session.execute(delete(Cohort).where(Cohort.kind.in_(_PLANNED_KINDS)))
    now = clock.now()
    reasons = {
        person_id: why
        for stratum in plan.pilot.strata
        for person_id, why in zip(
            stratum.selected_ids,
            [
                *[REASON_MUST_INCLUDE] * sum(stratum.included.values()),
                *[REASON_DRAWN] * stratum.drawn,
            ],
            strict=True,
        )
    }
    for wave_plan in plan.waves:
        cohort = Cohort(name=wave_plan.name, kind=wave_plan.kind, description=wave_plan.description)
        session.add(cohort)
        session.flush()
        rows = [
            {
                "cohort_id": cohort.id,
                "person_id": person_id,
                "added_by": actor,
                "reason": reasons[person_id] if wave_plan.kind == CohortKind.PILOT else REASON_PLAN,
                "added_at": now,
            }
            for person_id in wave_plan.person_ids
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(CohortMember), rows[start : start + 5000])
        session.add(
            Wave(
                name=wave_plan.name,
                cohort_id=cohort.id,
                position=wave_plan.position,
                planned_at=wave_plan.planned_at,
                channels=wave_plan.channels,
            )
        )
    record(
        session,
        actor=actor,
        action="cohorts.planned",
        subject_type="plan",
        details={
            "percent": plan.pilot.percent,
            "seed": plan.pilot.seed,
            "population": plan.pilot.population,
            "pilot": len(plan.pilot.selected_ids),
            "waves": {w.name: len(w.person_ids) for w in plan.waves},
            "replaced": bool(existing),
        },
    )
    session.flush()
    plan.applied = True


# --------------------------------------------------------------------------- cohorts


def cohort_by_name(session: Session, name: str) -> Cohort:
    cohort = session.scalar(select(Cohort).where(Cohort.name == name))
    if cohort is None:
        raise EnvolError(said("cohort.unknown", name=repr(name)))
    return cohort


def cohort_sizes(session: Session) -> list[tuple[Cohort, int]]:
    counts = dict(
        session.execute(
            select(CohortMember.cohort_id, func.count()).group_by(CohortMember.cohort_id)
        )
        .tuples()
        .all()
    )
    cohorts = session.scalars(select(Cohort).order_by(Cohort.id)).all()
    return [(cohort, counts.get(cohort.id, 0)) for cohort in cohorts]


@dataclass(frozen=True)
class CohortMembers:
    cohort: Cohort
    members: list[tuple[Person, str]]  # (person, why they are in it), by department and site


def cohort_members(session: Session, name: str, limit: int) -> CohortMembers:
    """Cohort ``name`` and its first ``limit`` members, ordered by department, site, name."""
    cohort = cohort_by_name(session, name)
    rows = session.execute(
        select(Person, CohortMember.reason)
        .join(CohortMember, CohortMember.person_id == Person.id)
        .where(CohortMember.cohort_id == cohort.id)
        .order_by(Person.department, Person.site, Person.last_name)
        .limit(limit)
    ).tuples()
    return CohortMembers(cohort, list(rows))


def _person_by_email(session: Session, email: str) -> Person:
    person = session.scalar(select(Person).where(Person.email == normalise_email(email)))
    if person is None:
        raise EnvolError(said("person.not_in_roster", email=email))
    return person


def add_to_cohort(
    session: Session, cohort_name: str, email: str, *, actor: str, reason: str = ""
) -> bool:
    """Add one person (audited); False when they were already in the cohort."""
    cohort = cohort_by_name(session, cohort_name)
    person = _person_by_email(session, email)
    if person.status != PersonStatus.ACTIVE:
        raise EnvolError(said("person.left", email=email))
    exists = session.scalar(
        select(CohortMember.id).where(
            CohortMember.cohort_id == cohort.id, CohortMember.person_id == person.id
        )
    )
    if exists:
        return False
    session.add(
        CohortMember(
            cohort_id=cohort.id,
            person_id=person.id,
            added_by=actor,
            reason=(reason or REASON_MANUAL)[:200],
            added_at=clock.now(),
        )
    )
    withdraw_approval_after_change(session, cohort, actor=actor)
    record(
        session,
        actor=actor,
        action="cohort.member_added",
        subject_type="cohort",
        subject_id=cohort.id,
        reason=reason,
        details={"person_id": person.id, "cohort": cohort.name},
    )
    session.flush()
    return True


def remove_from_cohort(
    session: Session, cohort_name: str, email: str, *, actor: str, reason: str = ""
) -> bool:
    """Remove one person (audited); False when they were not in the cohort."""
    cohort = cohort_by_name(session, cohort_name)
    person = _person_by_email(session, email)
    removed = session.execute(
        delete(CohortMember).where(
            CohortMember.cohort_id == cohort.id, CohortMember.person_id == person.id
        )
    )
    if not getattr(removed, "rowcount", 0):
        return False
    withdraw_approval_after_change(session, cohort, actor=actor)
    record(
        session,
        actor=actor,
        action="cohort.member_removed",
        subject_type="cohort",
        subject_id=cohort.id,
        reason=reason,
        details={"person_id": person.id, "cohort": cohort.name},
    )
    return True


# --------------------------------------------------------------------------- waves


@dataclass(frozen=True)
class WaveSummary:
    wave: Wave
    members: int
    handed_off: int
    joined: int
    team_size_after: int
    warnings: tuple[Message, ...]


def wave_by_name(session: Session, name: str) -> Wave:
    wave = session.scalar(select(Wave).where(Wave.name == name))
    if wave is None:
        raise EnvolError(said("wave.unknown", name=repr(name)))
    return wave


def list_waves(session: Session, limits: ServerLimits | None = None) -> list[WaveSummary]:
    """Every wave in launch order, with its size and the people on the team once it opened,
    warning when a wave would take the team past ``MaxUsersPerTeam`` or the user cap."""
    limits = limits or ServerLimits()
    waves = session.scalars(select(Wave).order_by(Wave.position, Wave.id)).all()
    active_members = (
        select(CohortMember.cohort_id, CohortMember.person_id)
        .join(Person, Person.id == CohortMember.person_id)
        .where(Person.status == PersonStatus.ACTIVE)
    )
    members_by_cohort: dict[int, set[int]] = {}
    for cohort_id, person_id in session.execute(active_members):
        members_by_cohort.setdefault(cohort_id, set()).add(person_id)
    handoffs = dict(
        session.execute(select(WaveHandoff.wave_id, func.count()).group_by(WaveHandoff.wave_id))
        .tuples()
        .all()
    )
    joined = dict(
        session.execute(
            select(WaveHandoff.wave_id, func.count(Person.mattermost_user_id))
            .join(Person, Person.id == WaveHandoff.person_id)
            .group_by(WaveHandoff.wave_id)
        )
        .tuples()
        .all()
    )
    on_team: set[int] = set()
    summaries = []
    for wave in waves:
        members = members_by_cohort.get(wave.cohort_id, set())
        on_team |= members
        warnings: list[Message] = []
        if limits.max_users_per_team and len(on_team) > limits.max_users_per_team:
            warnings.append(
                said("warning.team_over", members=len(on_team), limit=limits.max_users_per_team)
            )
        problem = limits.user_cap_problem(len(on_team) + limits.users_already_on_server)
        if problem is not None:
            warnings.append(problem[1])
        summaries.append(
            WaveSummary(
                wave=wave,
                members=len(members),
                handed_off=handoffs.get(wave.id, 0),
                joined=joined.get(wave.id, 0),
                team_size_after=len(on_team),
                warnings=tuple(warnings),
            )
        )
    return summaries


def override_gate(session: Session, name: str, *, reason: str, actor: str) -> Wave:
    """Let a wave open although its gate fails. Refused without a reason; audited with it."""
    if not reason or not reason.strip():
        raise EnvolError(said("override.no_reason"))
    wave = wave_by_name(session, name)
    if wave.status != WaveStatus.PLANNED:
        raise EnvolError(said("override.not_planned", name=repr(name), status=wave.status.value))
    wave.gate_overridden_reason = reason.strip()
    wave.gate_overridden_by = actor
    record(
        session,
        actor=actor,
        action="wave.gate_overridden",
        subject_type="wave",
        subject_id=wave.id,
        reason=reason.strip(),
        details={"wave": wave.name},
    )
    session.flush()
    return wave


@dataclass
class LaunchResult:
    wave: str
    gate: GateResult | None
    opened_now: bool
    person_ids: list[int]
    dry_run: bool
    already_in_earlier_wave: int = 0
    check: OpenCheck | None = None  # the guard rails' verdict when the wave was planned

    @property
    def changed(self) -> bool:
        return self.opened_now or bool(self.person_ids)


def _people_to_hand_over(session: Session, wave: Wave) -> tuple[list[int], int]:
    """Active members of the wave's cohort never handed over in any wave (a manager in the
    pilot was already invited with wave 0), and how many were skipped for that reason."""
    members = select(CohortMember.person_id).where(CohortMember.cohort_id == wave.cohort_id)
    active = select(Person.id).where(Person.id.in_(members), Person.status == PersonStatus.ACTIVE)
    handed = set(
        session.scalars(select(WaveHandoff.person_id).where(WaveHandoff.person_id.in_(active)))
    )
    candidates = sorted(session.scalars(active))
    already_here = set(
        session.scalars(select(WaveHandoff.person_id).where(WaveHandoff.wave_id == wave.id))
    )
    fresh = [pid for pid in candidates if pid not in handed]
    return fresh, len(handed - already_here)


class InvitationPlanner(Protocol):
    """The invitation engine's side of the hand-off: plan the invitations of the people handed
    over for a wave, in the caller's transaction (``plugin.invitations.service``'s
    ``plan_wave_invitations``; the invitations build on this capability, not the reverse)."""

    def __call__(self, session: Session, wave_id: int) -> int: ...


def hand_over_to_invitations(
    session: Session, wave: Wave, person_ids: Sequence[int], plan_invitations: InvitationPlanner
) -> None:
    """THE hand-off: record that these people are the invitation engine's for this wave.

    The rows are the idempotency key of a launch (unique per wave and person). The invitation
    engine schedules its invitations from them in this same transaction.
    """
    now = clock.now()
    rows = [{"wave_id": wave.id, "person_id": pid, "handed_at": now} for pid in person_ids]
    for start in range(0, len(rows), 5000):
        session.execute(insert(WaveHandoff), rows[start : start + 5000])
    plan_invitations(session, wave.id)


def launch_wave(
    session: Session,
    name: str,
    settings: RuntimeSettings,
    *,
    actor: str,
    plan_invitations: InvitationPlanner,
    dry_run: bool = False,
    measures: GateMeasures | None = None,
    facts: LaunchFacts | None = None,
    force_reason: str = "",
    language: str = "en",
) -> LaunchResult:
    """Open a wave and hand its people to the invitation engine; returns the people handed now.

    Idempotent: a second launch finds the wave open and everyone handed over, and changes
    nothing. People added to an open wave later (waitlist approvals) are handed over by the
    next launch. A planned wave opens only when ``check_wave_can_open`` finds nothing against
    it (order, date, announcement, preflight from ``facts``, the gate on ``measures``);
    otherwise ``WaveRefused`` lists every reason in ``language``. ``force_reason`` lifts the
    order and date rules only and goes in the audit trail.
    """
    wave = wave_by_name(session, name)
    if wave.status == WaveStatus.CLOSED:
        raise EnvolError(said("wave.closed", name=repr(name)))
    gate = None
    check = None
    if wave.status == WaveStatus.PLANNED:
        check = check_wave_can_open(
            session, wave, settings, facts, measures=measures, force_reason=force_reason
        )
        gate = check.gate
        if not check.may_open:
            raise WaveRefused(check, language)
    person_ids, skipped = _people_to_hand_over(session, wave)
    result = LaunchResult(
        wave=name,
        gate=gate,
        opened_now=wave.status == WaveStatus.PLANNED,
        person_ids=person_ids,
        dry_run=dry_run,
        already_in_earlier_wave=skipped,
        check=check,
    )
    if dry_run or not result.changed:
        return result
    details: dict[str, Any] = {"wave": wave.name, "handed_over": len(person_ids)}
    if result.opened_now:
        wave.status = WaveStatus.OPEN
        wave.opened_at = clock.now()
        details["gate_passed"] = bool(gate and gate.passed)
        details["gate_overridden"] = bool(gate and not gate.passed)
        if check is not None and check.forced:
            details["forced"] = [refusal.code.value for refusal in check.forced]
            record(
                session,
                actor=actor,
                action="wave.forced",
                subject_type="wave",
                subject_id=wave.id,
                reason=check.force_reason,
                details={"wave": wave.name, "rules": details["forced"]},
            )
    hand_over_to_invitations(session, wave, person_ids, plan_invitations)
    record(
        session,
        actor=actor,
        action="wave.launched" if result.opened_now else "wave.topped_up",
        subject_type="wave",
        subject_id=wave.id,
        reason=wave.gate_overridden_reason or "",
        details=details,
    )
    session.flush()
    return result


def next_planned_wave(session: Session) -> Wave | None:
    """The next wave to open (the waitlist's priority placement)."""
    return session.scalar(
        select(Wave).where(Wave.status == WaveStatus.PLANNED).order_by(Wave.position).limit(1)
    )
