"""The guard rails of a launch: whether a wave may open now, and if not, why and what to do.

``check_wave_can_open`` is the one rule the CLI (``envol waves launch``), the console's waves
page and ``launch_wave`` itself apply. A wave may open only when:

- every wave before it in the launch order has opened (**order**);
- its planned date has come (**date**);
- the campaign's official announcement (the CEO's) has gone out (**announcement**);
- preflight has no blocking problem (**preflight**);
- its gate holds, or was overridden with a reason (``override_gate``) (**gate**).

``force_reason`` (``--force --reason "…"``) lifts the order and date rules only, and is written
in the audit trail by ``launch_wave``. Nothing lifts a missing announcement or a blocking
preflight: inviting people before the company has been told, or onto a server that cannot take
them, is the failure these rules exist to prevent.

This capability cannot read the campaign or run preflight (both are built on top of it): the
caller hands over what they found as ``LaunchFacts`` (``plugin.console.launch.launch_facts``
gathers them for the CLI and the console alike). Without facts, the announcement and preflight
count as not checked, and the wave does not open.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.gates import GateMeasures, GateResult, evaluate_gate, failing_criteria
from plugin.cohorts.models import Wave, WaveStatus
from plugin.errors import EnvolError, localize
from plugin.i18n import load_catalogue, long_date
from plugin.settings import RuntimeSettings

_MESSAGES = Path(__file__).with_name("messages.yaml")


class RefusalCode(enum.StrEnum):
    EARLIER_WAVE_PLANNED = "earlier_wave_planned"
    BEFORE_PLANNED_DATE = "before_planned_date"
    ANNOUNCEMENT_NOT_SENT = "announcement_not_sent"
    NO_ANNOUNCEMENT_STEP = "no_announcement_step"
    PREFLIGHT_BLOCKED = "preflight_blocked"
    PREFLIGHT_NOT_RUN = "preflight_not_run"
    GATE_FAILS = "gate_fails"
    NOT_PLANNED = "not_planned"


# What ``--force --reason`` may lift: the order and the date, nothing else.
FORCEABLE = frozenset({RefusalCode.EARLIER_WAVE_PLANNED, RefusalCode.BEFORE_PLANNED_DATE})


@dataclass(frozen=True)
class LaunchFacts:
    """What the layers above found: the announcement's state and preflight's verdict.

    ``announcement_sent_at`` is when the campaign's announcement step finished going out (None:
    not yet); ``announcement_step`` its key ("" when the plan has no announcement step).
    ``preflight_blockers`` holds one "check: what to change" line per blocking problem;
    ``preflight_ran`` is False when preflight could not be run at all.
    """

    announcement_sent_at: dt.datetime | None = None
    announcement_step: str = ""
    preflight_blockers: tuple[str, ...] = ()
    preflight_ran: bool = False

    @classmethod
    def unknown(cls) -> LaunchFacts:
        """Nothing checked: the announcement and preflight both refuse."""
        return cls()


@dataclass(frozen=True)
class Refusal:
    """One reason a wave may not open, with what to do; ``message(language)`` words it."""

    code: RefusalCode
    wave: str
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def forceable(self) -> bool:
        return self.code in FORCEABLE

    def message(self, language: str = "en") -> str:
        values = dict(self.values)
        if isinstance(values.get("date"), dt.datetime | dt.date):
            day = values["date"]
            values["date"] = long_date(
                day.date() if isinstance(day, dt.datetime) else day, language
            )
        if isinstance(values.get("failing"), tuple):
            values["failing"] = failing_criteria(values["failing"], language)
        if isinstance(values.get("problems"), tuple):  # preflight's lines, maybe Phrases
            values["problems"] = "; ".join(localize(line, language) for line in values["problems"])
        return load_catalogue(_MESSAGES).render(
            f"refusal.{self.code.value}", language, wave=self.wave, **values
        )

    def __str__(self) -> str:
        return self.message("en")


@dataclass(frozen=True)
class OpenCheck:
    """The verdict on opening one wave now: what refuses, what ``force_reason`` lifted."""

    wave: str
    refusals: tuple[Refusal, ...]
    forced: tuple[Refusal, ...]
    gate: GateResult | None
    force_reason: str = ""

    @property
    def may_open(self) -> bool:
        return not self.refusals

    @property
    def forceable(self) -> bool:
        """True when every refusal left is one ``--force --reason`` lifts."""
        return bool(self.refusals) and all(r.forceable for r in self.refusals)

    def messages(self, language: str = "en") -> list[str]:
        return [refusal.message(language) for refusal in self.refusals]


class WaveRefused(EnvolError):
    """A wave may not open: the message sums it up, ``problems`` lists every refusal."""

    def __init__(self, check: OpenCheck, language: str = "en") -> None:
        self.check = check
        self.problems = check.messages(language)
        summary = load_catalogue(_MESSAGES).render(
            "refused", language, wave=check.wave, count=len(check.refusals)
        )
        super().__init__(summary)

    def localized(self, language: str) -> str:
        return load_catalogue(_MESSAGES).render(
            "refused", language, wave=self.check.wave, count=len(self.check.refusals)
        )

    def localized_problems(self, language: str) -> list[str]:
        return self.check.messages(language)


def _order_refusal(session: Session, wave: Wave) -> Refusal | None:
    earlier = session.scalars(
        select(Wave.name)
        .where(Wave.position < wave.position, Wave.status == WaveStatus.PLANNED)
        .order_by(Wave.position)
    ).all()
    if not earlier:
        return None
    return Refusal(
        RefusalCode.EARLIER_WAVE_PLANNED,
        wave.name,
        {"earlier": ", ".join(earlier), "first": earlier[0]},
    )


def _date_refusal(wave: Wave, now: dt.datetime) -> Refusal | None:
    planned = wave.planned_at
    if planned is None:
        return None
    if planned.tzinfo is None:  # SQLite hands datetimes back naive; they are stored in UTC
        planned = planned.replace(tzinfo=dt.UTC)
    if now >= planned:
        return None
    days = (planned.date() - now.date()).days
    return Refusal(RefusalCode.BEFORE_PLANNED_DATE, wave.name, {"date": planned, "days": days})


def _fact_refusals(wave: Wave, facts: LaunchFacts) -> list[Refusal]:
    refusals = []
    if not facts.announcement_step:
        refusals.append(Refusal(RefusalCode.NO_ANNOUNCEMENT_STEP, wave.name))
    elif facts.announcement_sent_at is None:
        refusals.append(
            Refusal(RefusalCode.ANNOUNCEMENT_NOT_SENT, wave.name, {"step": facts.announcement_step})
        )
    if not facts.preflight_ran:
        refusals.append(Refusal(RefusalCode.PREFLIGHT_NOT_RUN, wave.name))
    elif facts.preflight_blockers:
        refusals.append(
            Refusal(
                RefusalCode.PREFLIGHT_BLOCKED,
                wave.name,
                {"problems": tuple(facts.preflight_blockers)},
            )
        )
    return refusals


def _gate_refusal(gate: GateResult) -> Refusal | None:
    if gate.may_open:
        return None
    # The criteria themselves: worded with the refusal, in its reader's language.
    return Refusal(RefusalCode.GATE_FAILS, gate.wave, {"failing": gate.criteria})


def check_wave_can_open(
    session: Session,
    wave: Wave,
    settings: RuntimeSettings,
    facts: LaunchFacts | None,
    *,
    measures: GateMeasures | None = None,
    force_reason: str = "",
    now: dt.datetime | None = None,
) -> OpenCheck:
    """Every reason ``wave`` may not open now (empty when it may), in the order to fix them.

    ``force_reason`` lifts the order and date refusals (listed in ``forced``); it must say why.
    """
    force_reason = force_reason.strip()
    if wave.status != WaveStatus.PLANNED:
        return OpenCheck(wave.name, (Refusal(RefusalCode.NOT_PLANNED, wave.name, {
            "status": wave.status.value}),), (), None, force_reason)  # fmt: skip
    now = now or clock.now()
    found: list[Refusal] = [
        refusal
        for refusal in (_order_refusal(session, wave), _date_refusal(wave, now))
        if refusal is not None
    ]
    found += _fact_refusals(wave, facts or LaunchFacts.unknown())
    gate = evaluate_gate(session, wave, settings, measures)
    gate_refusal = _gate_refusal(gate)
    if gate_refusal is not None:
        found.append(gate_refusal)
    forced = tuple(r for r in found if force_reason and r.forceable)
    left = tuple(r for r in found if r not in forced)
    return OpenCheck(wave.name, left, forced, gate, force_reason)
