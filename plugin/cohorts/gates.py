"""Wave gates: a wave opens only when the waves before it show real adoption.

Four criteria, thresholds from the plugin settings (``gate_*``): activation rate (joined /
invited, %), weekly active rate (%), profile completeness (%), launch-survey score (1–5). Each
must hold on **every** wave already opened before this one, so one struggling site is not hidden
by an enthusiastic one. A criterion whose threshold is 0 is not required. A measure that does not
exist yet (or a wave before this one that has not opened) fails the gate, saying "not
measured yet" — never a pass: nobody opens a wave on missing evidence
without overriding the gate with a written reason.

The measures come through ``GateMeasures``: the metrics capability implements it
(``plugin.metrics.gates.MetricsGateMeasures``, which the CLI and the demo pass); without it,
``RosterGateMeasures`` measures what the roster knows (activation only), so every other required
criterion reads "not measured yet" and the gate stays closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.cohorts.models import Wave, WaveHandoff, WaveStatus
from plugin.i18n import load_catalogue
from plugin.people.models import Person
from plugin.settings import RuntimeSettings


@dataclass(frozen=True)
class WaveMeasures:
    """What is known about one wave's adoption; ``None`` means not measured yet."""

    activation_rate: float | None = None  # % of the wave's invited people who joined
    weekly_active_rate: float | None = None  # % of the wave's joined people active this week
    profile_complete_rate: float | None = None  # % of the wave's joined people with a full profile
    survey_score: float | None = None  # mean launch-survey score, 1–5


class GateMeasures(Protocol):
    """The metrics capability's side of the gate: one call per opened wave."""

    def measure_wave(self, session: Session, wave_id: int) -> WaveMeasures: ...


class RosterGateMeasures:
    """What can be measured before the metrics capability exists: activation, as the share of
    the people handed to the invitation engine for this wave who are now on Mattermost."""

    def measure_wave(self, session: Session, wave_id: int) -> WaveMeasures:
        invited, joined = session.execute(
            select(
                func.count(WaveHandoff.id),
                func.count(Person.mattermost_user_id),
            )
            .select_from(WaveHandoff)
            .join(Person, Person.id == WaveHandoff.person_id)
            .where(WaveHandoff.wave_id == wave_id)
        ).one()
        activation = 100.0 * joined / invited if invited else None
        return WaveMeasures(activation_rate=activation)


_MESSAGES = Path(__file__).with_name("messages.yaml")


def _say(key: str, language: str, /, **values: object) -> str:
    return load_catalogue(_MESSAGES).render(key, language, **values)


def criterion_label(key: str, language: str) -> str:
    """A gate criterion's name (``activation_rate``) as the reader reads it."""
    return _say(f"criterion.{key}", language)


def failing_criteria(results: Sequence[CriterionResult], language: str) -> str:
    """``activation rate (joined / invited): below the threshold in pilote; …`` in
    ``language``: the required criteria that do not pass."""
    items = [
        _say(
            "gate.failing_item",
            language,
            label=criterion_label(r.criterion.key, language),
            note=r.worded_note(language),
        )
        for r in results
        if r.required and not r.passed
    ]
    # French typography: a narrow no-break space before the semicolon.
    return ("\u202f; " if language == "fr" else "; ").join(items)


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    unit: str
    setting: str


CRITERIA = (
    Criterion("activation_rate", "activation rate (joined / invited)", "%", "gate_activation_rate"),
    Criterion("weekly_active_rate", "weekly active rate", "%", "gate_weekly_active_rate"),
    Criterion("profile_complete_rate", "profile completeness", "%", "gate_profile_complete_rate"),
    Criterion("survey_score", "launch-survey score", "/5", "gate_survey_score"),
)


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    threshold: float
    measured: float | None
    worst_wave: str
    passed: bool
    # English, for logs and refusals; the CLI words it from ``state`` and the waves named here
    # (``plugin/cohorts/views.py``), in the operator's language.
    note: str
    unmeasured: tuple[str, ...] = ()  # the earlier waves without a measure yet

    @property
    def required(self) -> bool:
        return self.threshold > 0

    def worded_note(self, language: str) -> str:
        """``note`` in ``language``: holds, below the threshold in a wave, not measured yet…"""
        if self.state == "not_measured":
            return _say("gate.note.not_measured", language, waves=", ".join(self.unmeasured))
        if self.state == "fail":
            return _say("gate.note.below", language, wave=self.worst_wave)
        return _say(f"gate.note.{self.state}", language)

    @property
    def state(self) -> str:
        """``pass``, ``fail``, ``not_measured`` (never a pass), ``not_required`` or
        ``first_wave`` (nothing opens before the first wave, so there is nothing to measure)."""
        if not self.required:
            return "not_required"
        if self.measured is None:
            return "first_wave" if self.passed else "not_measured"
        return "pass" if self.passed else "fail"


@dataclass(frozen=True)
class GateResult:
    wave: str
    previous_waves: tuple[str, ...]
    criteria: tuple[CriterionResult, ...]
    overridden_reason: str | None

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.criteria)

    @property
    def may_open(self) -> bool:
        return self.passed or bool(self.overridden_reason)

    @property
    def missing(self) -> list[str]:
        return [r.criterion.label for r in self.criteria if r.required and r.measured is None]


def previous_waves(session: Session, wave: Wave) -> Sequence[Wave]:
    """The waves already opened before ``wave`` in the launch order."""
    return session.scalars(
        select(Wave)
        .where(Wave.position < wave.position, Wave.status != WaveStatus.PLANNED)
        .order_by(Wave.position)
    ).all()


def _earlier_waves(session: Session, wave: Wave) -> Sequence[Wave]:
    """Every wave before ``wave`` in the launch order, opened or not."""
    return session.scalars(
        select(Wave).where(Wave.position < wave.position).order_by(Wave.position)
    ).all()


def evaluate_gate(
    session: Session,
    wave: Wave,
    settings: RuntimeSettings,
    measures: GateMeasures | None = None,
) -> GateResult:
    """Each criterion, its worst value over the previous waves, its threshold, pass or fail.

    ``measures`` defaults to what the roster knows (``RosterGateMeasures``)."""
    measures = measures or RosterGateMeasures()
    earlier = _earlier_waves(session, wave)
    # A wave before this one that has not opened has measured nothing: its criteria read
    # "not measured", never a pass (only the very first wave has nothing before it).
    per_wave = [
        (w.name, measures.measure_wave(session, w.id) if w.status != WaveStatus.PLANNED
         else WaveMeasures())
        for w in earlier
    ]  # fmt: skip
    results = []
    for criterion in CRITERIA:
        threshold = float(getattr(settings, criterion.setting))
        if threshold <= 0:
            results.append(CriterionResult(criterion, threshold, None, "", True, "not required"))
            continue
        if not per_wave:
            results.append(
                CriterionResult(
                    criterion, threshold, None, "", True, "first wave: nothing before it"
                )
            )
            continue
        unmeasured = [name for name, m in per_wave if getattr(m, criterion.key) is None]
        if unmeasured:
            results.append(
                CriterionResult(
                    criterion,
                    threshold,
                    None,
                    unmeasured[0],
                    False,
                    "not measured yet (" + ", ".join(unmeasured) + ")",
                    tuple(unmeasured),
                )
            )
            continue
        worst_name, worst = min(
            ((name, float(getattr(m, criterion.key))) for name, m in per_wave),
            key=lambda item: item[1],
        )
        passed = worst >= threshold
        note = "holds" if passed else f"below the threshold in {worst_name}"
        results.append(CriterionResult(criterion, threshold, worst, worst_name, passed, note))
    return GateResult(
        wave=wave.name,
        previous_waves=tuple(w.name for w in earlier if w.status != WaveStatus.PLANNED),
        criteria=tuple(results),
        overridden_reason=wave.gate_overridden_reason,
    )
