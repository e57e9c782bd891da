"""The communication plan: ``seed_content/campaign/plan.yaml`` and its templates, typed.

The files are read by ``plugin.launch_files``, like the seed content and the FAQ: pydantic
models (``PlanFile`` and the models it holds) check each value, then ``read_plan`` checks what
ties values together (unique step keys, known senders, one template per language…). Every
problem is collected with its file, line and field, so ``envol campaign validate`` can list
them all at once. The rules that need the roster or the launch date are in ``validation.py``.
See ``seed_content/campaign/README.md`` for the format.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    model_validator,
)

from plugin.db import PROJECT_ROOT
from plugin.i18n import Message, Phrase, messages_of
from plugin.launch_files import (
    FileModel,
    LaunchFacts,
    LaunchFolder,
    LineMap,
    Location,
    Problem,
    Refused,
    Severity,
    errors_of,
    facts_file_for,
    raise_for_errors,
    read_launch_facts,
    relative_name,
    sort_problems,
)

Language = Literal["fr", "en"]
DEFAULT_PLAN_DIR = PROJECT_ROOT / "seed_content" / "campaign"
PLAN_FILE = "plan.yaml"
DOCS = "seed_content/campaign/README.md"
LANGUAGES: tuple[Language, ...] = ("fr", "en")
MANAGER_SENDER = "manager"  # built in: each manager writes to their own team
AUDIENCES = "everyone, managers, wave:NAME, department:NAME, not-joined …"

said = messages_of(Path(__file__).with_name("messages.yaml"))


def phrase(key: str, /, **values: Any) -> Phrase:
    """A plan problem's message or hint: English text, worded in the reader's language."""
    return Phrase(said(key, **values))


def step_label(key: str) -> Message:
    """``step 'teaser-2'`` / ``étape « teaser-2 »``: how problems name a step."""
    return said("plan.step", key=key)


_KEY = re.compile(r"^[a-z0-9][a-z0-9\-]{0,58}$")
# J-45 (French "jour J"), D-45 (English "D-day"), J0, J+7, D+7; spaces tolerated.
_RELATIVE = re.compile(r"^\s*([JD])\s*(?:([+-]?)\s*(\d{1,3}))?\s*$", re.IGNORECASE)
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class Channel(enum.StrEnum):
    EMAIL = "email"
    DM = "dm"
    POST = "post"


class StepKind(enum.StrEnum):
    TEASER = "teaser"
    ANNOUNCEMENT = "announcement"
    MANAGER = "manager"
    EVENT = "event"
    REMINDER = "reminder"
    LAUNCH = "launch"
    FOLLOW_UP = "follow-up"
    OTHER = "other"


@dataclass(frozen=True)
class PlanDate:
    """A day relative to launch day (``offset_days``) or an absolute date."""

    offset_days: int | None = None
    absolute: dt.date | None = None

    def resolve(self, launch: dt.date) -> dt.date:
        if self.absolute is not None:
            return self.absolute
        return launch + dt.timedelta(days=self.offset_days or 0)

    def label(self, language: str = "fr") -> str:
        if self.absolute is not None:
            return self.absolute.isoformat()
        letter = "J" if language == "fr" else "D"
        days = self.offset_days or 0
        return f"{letter}{days:+d}" if days else f"{letter}0"


def parse_plan_date(value: Any) -> PlanDate | None:
    """``J-45``, ``D-30``, ``J0``, ``J+7``, ``2027-01-15`` (string or YAML date)."""
    if isinstance(value, dt.datetime):
        return PlanDate(absolute=value.date())
    if isinstance(value, dt.date):
        return PlanDate(absolute=value)
    if not isinstance(value, str):
        return None
    match = _RELATIVE.match(value)
    if match:
        sign, days = match.group(2), match.group(3)
        if days is not None and not sign and int(days) != 0:
            return None  # "J7" is ambiguous: J+7 or J-7? The sign must be written.
        offset = 0 if days is None else int(days) * (-1 if sign == "-" else 1)
        return PlanDate(offset_days=offset)
    try:
        return PlanDate(absolute=dt.date.fromisoformat(value.strip()))
    except ValueError:
        return None


def parse_time(value: Any) -> dt.time | None:
    """``09:30`` (YAML 1.1 reads an unquoted 09:30 as the sexagesimal number 570)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return dt.time(value // 60, value % 60) if 0 <= value < 24 * 60 else None
    match = _TIME.match(str(value).strip())
    return dt.time(int(match.group(1)), int(match.group(2))) if match else None


# --------------------------------------------------------------------------- value types


def _plan_date(value: Any) -> PlanDate:
    parsed = parse_plan_date(value)
    if parsed is None:
        raise Refused(said("plan.not_a_day", value=repr(value)))
    return parsed


def _time(value: Any) -> dt.time:
    parsed = parse_time(value)
    if parsed is None:
        raise Refused(said("plan.not_a_time", value=repr(value)))
    return parsed


def _timezone(value: Any) -> ZoneInfo:
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(said("plan.unknown_zone", value=repr(value))) from None


def _key(value: str) -> str:
    if not _KEY.match(value):
        raise Refused(said("plan.not_a_key", value=repr(value)))
    return value


def _email(value: str) -> str:
    if "@" not in value:
        raise Refused(said("plan.not_an_email", value=repr(value)))
    return value


Day = Annotated[PlanDate, PlainValidator(_plan_date)]
Time = Annotated[dt.time, PlainValidator(_time)]
TimeZone = Annotated[ZoneInfo, PlainValidator(_timezone)]
Key = Annotated[str, AfterValidator(_key)]
Email = Annotated[str, AfterValidator(_email)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class Localised(_Strict):
    """A text with one value per language (or one value for all)."""

    fr: str = ""
    en: str = ""

    @model_validator(mode="before")
    @classmethod
    def _one_for_all(cls, value: Any) -> Any:
        return {"fr": value, "en": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _not_empty(self) -> Localised:
        if not (self.fr.strip() or self.en.strip()):
            raise Refused(said("plan.no_text"))
        return self

    def get(self, language: str) -> str:
        return (self.en if language == "en" else self.fr) or self.fr or self.en


class Sender(_Strict):
    """Who a message is from (``senders:``): the From: name and address, and the template's
    ``sender.*``."""

    name: Localised
    email: Email
    title: Localised | None = None
    reply_to: Email | None = None


class AnnouncementOverride(_Strict):
    """Why the announcement may come less than 30 days before launch (audited when sent)."""

    reason: str

    @model_validator(mode="after")
    def _a_real_reason(self) -> AnnouncementOverride:
        if len(self.reason.strip()) < 10:
            raise Refused(said("plan.no_reason"))
        return self


class Unsubscribe(_Strict):
    mailto: str = Field(min_length=3)


class EventSpec(_Strict):
    # What people call it, e.g. {fr: séance photo, en: photo session}: the calendar's title.
    name: Localised | None = None
    date: Day
    start: Time
    end: Time
    place: Localised

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> EventSpec:
        if self.end <= self.start:
            raise Refused(
                said(
                    "plan.event_ends_first",
                    end=f"{self.end:%H:%M}",
                    start=f"{self.start:%H:%M}",
                )
            )
        return self


class StepSpec(_Strict):
    """One step of ``steps:`` as written."""

    key: Key
    kind: StepKind = StepKind.OTHER
    when: Day
    time: Time | None = None
    audience: str = ""
    channel: Channel = Channel.EMAIL
    sender: str = ""
    mandatory: StrictBool = True
    template: str | None = None
    post_to: str | None = None
    event: EventSpec | None = None


class PlanFile(FileModel):
    """``plan.yaml`` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    campaign: Key
    # The launch's facts (launch.yaml) hold the time zone and the senders who sign for the
    # launch; written here as well, they must agree with it.
    timezone: TimeZone | None = None
    languages: tuple[Language, ...] = Field(default=LANGUAGES, min_length=1)
    default_time: Time = dt.time(9, 30)
    senders: dict[str, Sender] = Field(default_factory=dict)
    manager_messages_from: Email | None = None
    unsubscribe: Unsubscribe | None = None
    variables: dict[str, Localised] = Field(default_factory=dict)
    announcement_override: AnnouncementOverride | None = None
    steps: list[StepSpec] = Field(min_length=1)


class TemplateFrontMatter(FileModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    subject: str = Field(min_length=1)


# --------------------------------------------------------------------------- the typed plan


@dataclass(frozen=True)
class EventDetails:
    date: PlanDate
    start: str
    end: str
    place: Localised
    name: Localised | None = None


@dataclass(frozen=True)
class Template:
    language: str
    file: str  # as the admin sees it: relative to the plan's folder
    path: Path
    subject: str
    subject_line: int
    body: str
    body_first_line: int  # line of the body's first line in the file, for error messages


@dataclass(frozen=True)
class Step:
    key: str
    kind: StepKind
    when: PlanDate
    time: dt.time
    audience: str
    channel: Channel
    sender: str
    mandatory: bool
    template_name: str
    post_channel: str | None
    event: EventDetails | None
    lines: LineMap = field(compare=False, repr=False)
    path: Location = field(compare=False)  # ("steps", index) in plan.yaml
    templates: dict[str, Template] = field(default_factory=dict, compare=False)

    @property
    def line(self) -> int | None:
        return self.lines.line_of(self.path)

    def line_of(self, key: str) -> int | None:
        return self.lines.line_of((*self.path, key))

    def problem(
        self,
        key: str | None,
        message: str,
        hint: str = "",
        *,
        severity: Severity = "error",
    ) -> Problem:
        """A problem at the step's ``key`` (at the step itself when None)."""
        path = self.path if key is None else (*self.path, key)
        return self.lines.problem(path, message, hint, severity=severity)

    def due_at(self, launch: dt.date, timezone: ZoneInfo) -> dt.datetime:
        local = dt.datetime.combine(self.when.resolve(launch), self.time, tzinfo=timezone)
        return local.astimezone(dt.UTC)


@dataclass
class CampaignPlan:
    name: str
    directory: Path
    timezone: ZoneInfo
    languages: tuple[str, ...]
    senders: dict[str, Sender]
    steps: list[Step]
    variables: dict[str, Localised]
    unsubscribe_mailto: str | None
    manager_messages_from: str | None
    announcement_override: AnnouncementOverride | None
    lines: LineMap = field(repr=False)
    facts: LaunchFacts | None = field(default=None, repr=False, compare=False)

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def delivery_key(self, step: Step) -> str:
        """The campaign-wide name of a step: the first half of every idempotency key."""
        return f"{self.name}/{step.key}"


# --------------------------------------------------------------------------- the loader


def _name_step(data: Any, location: Location) -> Message | None:
    """``step 'teaser-2'`` for an error inside the third step (by its key when it has one)."""
    if len(location) != 2 or location[0] != "steps" or not isinstance(location[1], int):
        return None
    raw = data.get("steps") if isinstance(data, dict) else None
    item = raw[location[1]] if isinstance(raw, list) and location[1] < len(raw) else None
    key = item.get("key") if isinstance(item, dict) else None
    if isinstance(key, str) and key:
        return step_label(key)
    return said("plan.step_number", n=location[1] + 1)


def _step(spec: PlanFile, index: int, raw: StepSpec) -> Step:
    event = None
    if raw.event is not None:
        event = EventDetails(
            date=raw.event.date,
            start=raw.event.start.strftime("%H:%M"),
            end=raw.event.end.strftime("%H:%M"),
            place=raw.event.place,
            name=raw.event.name,
        )
    return Step(
        key=raw.key,
        kind=raw.kind,
        when=raw.when,
        time=raw.time or spec.default_time,
        audience=raw.audience or "everyone",
        channel=raw.channel,
        sender=raw.sender,
        mandatory=raw.mandatory,
        template_name=raw.template or raw.key,
        post_channel=raw.post_to or None,
        event=event,
        lines=spec.lines,
        path=("steps", index),
    )


UNSUBSCRIBE_SUBJECT = "Ne%20plus%20recevoir%20les%20messages%20du%20lancement"
# The senders the launch's facts define, by the key steps use in ``sender:``.
FACT_SENDERS = {"ceo": "ceo", "comms-lead": "comms_lead", "launch-team": "launch_team"}


def fact_senders(facts: LaunchFacts) -> dict[str, Sender]:
    """``ceo``, ``comms-lead`` and ``launch-team``, from launch.yaml."""
    return {
        "ceo": Sender(
            name=Localised(fr=facts.ceo.name, en=facts.ceo.name),
            email=facts.ceo.email,
            title=Localised(fr=facts.ceo.title.fr, en=facts.ceo.title.en),
        ),
        "comms-lead": Sender(
            name=Localised(fr=facts.comms_lead.name, en=facts.comms_lead.name),
            email=facts.comms_lead.email,
            title=Localised(fr=facts.comms_lead.title.fr, en=facts.comms_lead.title.en),
        ),
        "launch-team": Sender(
            name=Localised(fr=facts.launch_team.name.fr, en=facts.launch_team.name.en),
            email=facts.launch_team.email,
        ),
    }


def _disagreement(
    spec: PlanFile, path: Location, here: str, there: str, where: str, fix: Message
) -> Problem:
    return spec.lines.problem(
        path,
        phrase(
            "plan.disagrees",
            field=field_label(path),
            here=repr(here),
            there=repr(there),
            where=where,
        ),
        phrase("plan.disagrees.do", fix=fix, file=where.rsplit(":", 1)[0]),
    )


def _where(facts: LaunchFacts, facts_name: str, *path: str) -> str:
    """``../launch.yaml:17``: the facts file as seen from the plan's folder, and the line."""
    line = facts.lines.line_of(path)
    return f"{facts_name}:{line}" if line else facts_name


def field_label(path: Location) -> str:
    return ".".join(str(part) for part in path)


def _senders_with_facts(
    spec: PlanFile, facts: LaunchFacts, facts_name: str
) -> tuple[dict[str, Sender], list[Problem]]:
    """The plan's senders with the facts' own; a sender written in both must agree."""
    senders = fact_senders(facts)
    problems = []
    for key, sender in spec.senders.items():
        fact = FACT_SENDERS.get(key)
        if fact is None:
            senders[key] = sender
            continue
        known = senders[key]
        compared = [
            ("name", sender.name.fr, known.name.fr, "name"),
            ("name", sender.name.en, known.name.en, "name"),
            ("email", sender.email, known.email, "email"),
        ]
        if sender.title is not None and known.title is not None:
            compared += [
                ("title", sender.title.fr, known.title.fr, "title"),
                ("title", sender.title.en, known.title.en, "title"),
            ]
        for attribute, here, there, fact_key in compared:
            if here.strip().casefold() != there.strip().casefold():
                problems.append(
                    _disagreement(
                        spec,
                        ("senders", key, attribute),
                        here,
                        there,
                        _where(facts, facts_name, fact, fact_key),
                        said("plan.fix.sender", key=key),
                    )
                )
                break
        if sender.reply_to is not None:
            senders[key] = known.model_copy(update={"reply_to": sender.reply_to})
    return senders, problems


def _timezone_with_facts(
    spec: PlanFile, facts: LaunchFacts, facts_name: str
) -> tuple[ZoneInfo, list[Problem]]:
    if spec.timezone is None or spec.timezone.key == facts.timezone:
        return facts.zone, []
    problem = _disagreement(
        spec,
        ("timezone",),
        spec.timezone.key,
        facts.timezone,
        _where(facts, facts_name, "timezone"),
        said("plan.fix.timezone"),
    )
    return facts.zone, [problem]


def _variables_against_facts(spec: PlanFile, facts: LaunchFacts, facts_name: str) -> list[Problem]:
    """``variables.platform_name`` is an older way to name the platform: it must agree."""
    written = spec.variables.get("platform_name")
    if written is None:
        return []
    for language in LANGUAGES:
        if written.get(language) != facts.platform.pick(language):
            return [
                _disagreement(
                    spec,
                    ("variables", "platform_name"),
                    written.get(language),
                    facts.platform.pick(language),
                    _where(facts, facts_name, "platform"),
                    said("plan.fix.platform", name="{{ platform }}"),
                )
            ]
    return []


def _check_senders(spec: PlanFile) -> list[Problem]:
    if MANAGER_SENDER not in spec.senders:
        return []
    return [
        spec.lines.problem(
            ("senders", MANAGER_SENDER),
            phrase("plan.manager_built_in", key=MANAGER_SENDER),
            phrase("plan.manager_built_in.do"),
        )
    ]


def _check_step(spec: PlanFile, raw: StepSpec, step: Step) -> list[Problem]:
    """What ties a step's values together, and to the plan's senders."""
    problems = []
    named = step_label(step.key)
    if step.channel == Channel.POST and not step.post_channel:
        problems.append(step.problem("channel", phrase("plan.post_needs_channel", step=named)))
    if step.channel != Channel.POST and not raw.audience:
        problems.append(
            step.problem(
                "key",
                phrase("plan.no_audience", step=named),
                phrase("plan.no_audience.do", audiences=AUDIENCES),
            )
        )
    senders = ", ".join([*spec.senders, MANAGER_SENDER])
    if not step.sender:
        return [*problems, step.problem(None, phrase("plan.no_sender", step=named), senders)]
    if step.sender != MANAGER_SENDER and step.sender not in spec.senders:
        message = phrase("plan.unknown_sender", step=named, sender=step.sender)
        hint = phrase("plan.unknown_sender.do", senders=senders)
        return [*problems, step.problem("sender", message, hint)]
    if step.sender == MANAGER_SENDER and step.channel != Channel.EMAIL:
        message = phrase("plan.manager_by_email", step=named)
        hint = phrase("plan.manager_by_email.do")
        return [*problems, step.problem("channel", message, hint)]
    if step.channel == Channel.EMAIL and not step.mandatory and spec.unsubscribe is None:
        problems.append(
            step.problem(
                "mandatory",
                phrase("plan.optional_needs_unsubscribe", step=named),
                phrase("plan.optional_needs_unsubscribe.do"),
            )
        )
    return problems


def _read_templates(
    folder: LaunchFolder, spec: PlanFile, step: Step, problems: list[Problem]
) -> None:
    """One template per language, into ``step.templates``."""
    for language in spec.languages:
        path = folder.root / "templates" / f"{step.template_name}.{language}.md"
        if not path.is_file():
            problems.append(
                step.problem(
                    "template",
                    phrase(
                        "plan.template_missing",
                        step=step_label(step.key),
                        file=path.name,
                        languages=", ".join(spec.languages),
                    ),
                    phrase("plan.template_missing.do", file=path.name),
                )
            )
            continue
        read = folder.read_front_matter(
            path, TemplateFrontMatter, problems, layout=phrase("plan.template_layout")
        )
        if read is None or read.front is None:
            continue
        if not read.body.strip():
            problems.append(
                Problem(
                    read.file,
                    read.body_line,
                    phrase("plan.template_empty"),
                    phrase("plan.template_empty.do"),
                )
            )
            continue
        step.templates[language] = Template(
            language=language,
            file=read.file,
            path=path,
            subject=read.front.subject.strip(),
            subject_line=read.front.lines.line_of(("subject",)) or 2,
            body=read.body,
            body_first_line=read.body_line,
        )


def _facts_name(facts_path: Path, directory: Path) -> str:
    if facts_path.resolve().parent == directory.resolve().parent:
        return f"../{facts_path.name}"
    return relative_name(facts_path, directory)


def read_plan(directory: Path | None = None) -> tuple[CampaignPlan | None, list[Problem]]:
    """Read ``plan.yaml`` and its templates: ``(plan, problems)``; the plan is None when any
    problem is an error."""
    directory = Path(directory or DEFAULT_PLAN_DIR)
    folder = LaunchFolder(directory, DOCS)
    problems: list[Problem] = []
    spec = folder.read_model(directory / PLAN_FILE, PlanFile, problems, name_item=_name_step)
    if spec is None:
        return None, sort_problems(problems)
    facts_path = facts_file_for(directory)
    facts = read_launch_facts(facts_path, problems)
    if facts is None:
        return None, sort_problems(problems)
    facts_name = _facts_name(facts_path, directory)
    senders, more = _senders_with_facts(spec, facts, facts_name)
    problems += more
    timezone, more = _timezone_with_facts(spec, facts, facts_name)
    problems += more
    problems += _variables_against_facts(spec, facts, facts_name)
    spec = spec.model_copy(update={"senders": senders})
    problems += _check_senders(spec)
    if spec.unsubscribe is None:
        unsubscribe = Unsubscribe(mailto=f"{facts.launch_team.email}?subject={UNSUBSCRIBE_SUBJECT}")
        spec = spec.model_copy(update={"unsubscribe": unsubscribe})
    steps: list[Step] = []
    for index, raw in enumerate(spec.steps):
        step = _step(spec, index, raw)
        if any(step.key == other.key for other in steps):
            message = phrase("plan.key_twice", key=step.key)
            problems.append(step.problem("key", message, phrase("plan.key_twice.do")))
            continue
        problems += _check_step(spec, raw, step)
        _read_templates(folder, spec, step, problems)
        steps.append(step)
    if errors_of(problems):
        return None, sort_problems(problems)
    plan = CampaignPlan(
        name=spec.campaign,
        directory=directory,
        timezone=timezone,
        languages=spec.languages,
        senders=spec.senders,
        steps=steps,
        variables=spec.variables,
        unsubscribe_mailto=spec.unsubscribe.mailto if spec.unsubscribe else None,
        manager_messages_from=spec.manager_messages_from or facts.launch_team.email,
        announcement_override=spec.announcement_override,
        lines=spec.lines,
        facts=facts,
    )
    return plan, sort_problems(problems)


def load_plan(directory: Path | None = None) -> CampaignPlan:
    """The plan, or ``ValidationFailed`` listing every problem found while reading it."""
    plan, problems = read_plan(directory)
    what = said("plan.in", directory=str(directory or DEFAULT_PLAN_DIR))
    raise_for_errors(problems, what, "envol campaign validate")
    assert plan is not None  # no error: read_plan returned the plan
    return plan
