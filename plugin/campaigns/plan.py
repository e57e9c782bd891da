"""The communication plan: ``seed_content/campaign/plan.yaml`` and its templates, typed.

Loading never stops at the first mistake: every problem found is collected with its file and
line, so ``envol campaign validate`` can list them all at once. See
``seed_content/campaign/README.md`` for the format.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from plugin.campaigns.yaml_marks import MarkedDict, load_marked_yaml
from plugin.db import PROJECT_ROOT
from plugin.errors import ValidationFailed

DEFAULT_PLAN_DIR = PROJECT_ROOT / "seed_content" / "campaign"
LANGUAGES = ("fr", "en")
MANAGER_SENDER = "manager"  # built in: each manager writes to their own team

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
class Problem:
    """One finding of the loader or the validator; ``error`` blocks, a warning informs."""

    severity: str  # "error" | "warning"
    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


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


@dataclass(frozen=True)
class Localised:
    """A text with one value per language (or one value for all)."""

    values: dict[str, str]

    def get(self, language: str) -> str:
        return (
            self.values.get(language) or self.values.get("fr") or next(iter(self.values.values()))
        )


@dataclass(frozen=True)
class Sender:
    key: str
    name: Localised
    email: str
    title: Localised | None = None
    reply_to: str | None = None
    line: int = 0


@dataclass(frozen=True)
class EventDetails:
    date: PlanDate
    start: str
    end: str
    place: Localised


@dataclass(frozen=True)
class Template:
    language: str
    path: Path
    subject: str
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
    line: int
    key_lines: dict[str, int] = field(default_factory=dict, compare=False)
    templates: dict[str, Template] = field(default_factory=dict, compare=False)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def due_at(self, launch: dt.date, timezone: ZoneInfo) -> dt.datetime:
        local = dt.datetime.combine(self.when.resolve(launch), self.time, tzinfo=timezone)
        return local.astimezone(dt.UTC)


@dataclass(frozen=True)
class AnnouncementOverride:
    reason: str
    line: int


@dataclass
class CampaignPlan:
    name: str
    directory: Path
    plan_file: Path
    timezone: ZoneInfo
    languages: tuple[str, ...]
    senders: dict[str, Sender]
    steps: list[Step]
    variables: dict[str, Localised]
    unsubscribe_mailto: str | None
    manager_messages_from: str | None
    announcement_override: AnnouncementOverride | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def step(self, key: str) -> Step:
        for step in self.steps:
            if step.key == key:
                return step
        raise KeyError(key)

    def delivery_key(self, step: Step) -> str:
        """The campaign-wide name of a step: the first half of every idempotency key."""
        return f"{self.name}/{step.key}"


# --------------------------------------------------------------------------- parsing helpers


class _Collector:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def error(self, line: int, message: str, path: Path | None = None) -> None:
        self.problems.append(Problem("error", path or self.path, line, message))


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


def _parse_time(value: Any) -> dt.time | None:
    if isinstance(value, int):  # YAML 1.1 reads 09:30 as a sexagesimal int: 570
        return dt.time(value // 60, value % 60) if 0 <= value < 24 * 60 else None
    match = _TIME.match(str(value).strip())
    return dt.time(int(match.group(1)), int(match.group(2))) if match else None


def _localised(value: Any, collect: _Collector, line: int, what: str) -> Localised | None:
    if isinstance(value, str) and value.strip():
        return Localised({"fr": value, "en": value})
    if isinstance(value, dict) and value:
        unknown = sorted(set(value) - set(LANGUAGES))
        if unknown:
            collect.error(line, f"{what}: unknown language(s) {', '.join(unknown)}; use fr, en")
        texts = {lang: str(text) for lang, text in value.items() if lang in LANGUAGES and text}
        if texts:
            return Localised(texts)
    collect.error(line, f"{what} must be a text, or one text per language (fr:, en:)")
    return None


def _split_front_matter(text: str) -> tuple[dict[str, Any] | None, str, int]:
    """``(front matter, body, line number of the body's first line)``."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None, text, 1
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            import yaml

            try:
                meta = yaml.safe_load("".join(lines[1:index])) or {}
            except yaml.YAMLError:
                meta = None
            return (
                (meta if isinstance(meta, dict) else None),
                "".join(lines[index + 1 :]),
                index + 2,
            )
    return None, text, 1


def _load_template(path: Path, language: str, collect: _Collector) -> Template | None:
    text = path.read_text(encoding="utf-8")
    meta, body, first_line = _split_front_matter(text)
    if meta is None:
        collect.error(1, "a template starts with front matter: ---, subject: ..., ---", path)
        return None
    subject = meta.get("subject")
    if not isinstance(subject, str) or not subject.strip():
        collect.error(2, "the front matter needs a subject: line (the e-mail subject)", path)
        return None
    if not body.strip():
        collect.error(first_line, "the template has no body", path)
        return None
    return Template(
        language=language, path=path, subject=subject.strip(), body=body, body_first_line=first_line
    )


# --------------------------------------------------------------------------- the loader


def load_plan(directory: Path | None = None) -> CampaignPlan:
    """Read ``plan.yaml`` and its templates. Problems are collected in ``plan.problems``; only an
    unreadable file raises ``ValidationFailed``."""
    directory = Path(directory or DEFAULT_PLAN_DIR)
    plan_file = directory / "plan.yaml"
    if not plan_file.is_file():
        raise ValidationFailed(
            f"{plan_file}: no plan file; create it (see seed_content/campaign/README.md)."
        )
    collect = _Collector(plan_file)
    data = load_marked_yaml(plan_file.read_text(encoding="utf-8"), plan_file)
    if not isinstance(data, MarkedDict):
        raise ValidationFailed(f"{plan_file}:1: the plan must be a mapping (campaign:, steps: …).")

    known_top = {
        "campaign",
        "timezone",
        "languages",
        "default_time",
        "senders",
        "variables",
        "unsubscribe",
        "manager_messages_from",
        "announcement_override",
        "steps",
    }
    for key in sorted(set(data) - known_top):
        collect.error(
            data.line_of(key), f"unknown key {key!r}; known: {', '.join(sorted(known_top))}"
        )

    name = str(data.get("campaign") or "")
    if not _KEY.match(name):
        collect.error(
            data.line_of("campaign"),
            "campaign: needs a short name in lowercase letters, "
            "digits and dashes (it prefixes every message's idempotency key)",
        )
        name = name or "campaign"

    try:
        timezone = ZoneInfo(str(data.get("timezone", "Europe/Paris")))
    except (ZoneInfoNotFoundError, ValueError):
        collect.error(
            data.line_of("timezone"),
            f"unknown time zone {data.get('timezone')!r}, e.g. Europe/Paris",
        )
        timezone = ZoneInfo("Europe/Paris")

    languages_raw = data.get("languages", list(LANGUAGES))
    languages = (
        tuple(str(lang) for lang in languages_raw) if isinstance(languages_raw, list) else ()
    )
    if not languages or set(languages) - set(LANGUAGES):
        collect.error(data.line_of("languages"), "languages: a list among fr, en")
        languages = LANGUAGES

    default_time = _parse_time(data.get("default_time", "09:30"))
    if default_time is None:
        collect.error(data.line_of("default_time"), "default_time: HH:MM, e.g. 09:30")
        default_time = dt.time(9, 30)

    senders = _parse_senders(data.get("senders"), data.line_of("senders"), collect)
    variables: dict[str, Localised] = {}
    raw_variables = data.get("variables") or {}
    if not isinstance(raw_variables, dict):
        collect.error(data.line_of("variables"), "variables: a mapping of name: text")
        raw_variables = {}
    for key, value in raw_variables.items():
        line = raw_variables.line_of(key) if isinstance(raw_variables, MarkedDict) else 0
        text = _localised(value, collect, line, f"variable {key!r}")
        if text is not None:
            variables[str(key)] = text

    unsubscribe = data.get("unsubscribe") or {}
    unsubscribe_mailto = unsubscribe.get("mailto") if isinstance(unsubscribe, dict) else None
    override = None
    raw_override = data.get("announcement_override")
    if raw_override is not None:
        reason = raw_override.get("reason") if isinstance(raw_override, dict) else None
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            collect.error(
                data.line_of("announcement_override"),
                "announcement_override needs a "
                "reason: (a sentence saying why less than 30 days' notice is acceptable)",
            )
        else:
            override = AnnouncementOverride(reason.strip(), data.line_of("announcement_override"))

    steps: list[Step] = []
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        collect.error(data.line_of("steps"), "steps: a list of steps (key:, when:, audience: …)")
        raw_steps = []
    seen: set[str] = set()
    for raw in raw_steps:
        step = _parse_step(raw, default_time, collect, data.line_of("steps"))
        if step is None:
            continue
        if step.key in seen:
            collect.error(step.line, f"step key {step.key!r} is used twice; keys must be unique")
            continue
        seen.add(step.key)
        for language in languages:
            path = directory / "templates" / f"{step.template_name}.{language}.md"
            if not path.is_file():
                collect.error(
                    step.line_of("template") if "template" in step.key_lines else step.line,
                    f"step {step.key!r}: missing template {path.name} "
                    f"(one per language: {', '.join(languages)})",
                )
                continue
            template = _load_template(path, language, collect)
            if template is not None:
                step.templates[language] = template
        steps.append(step)

    return CampaignPlan(
        name=name,
        directory=directory,
        plan_file=plan_file,
        timezone=timezone,
        languages=languages,
        senders=senders,
        steps=steps,
        variables=variables,
        unsubscribe_mailto=str(unsubscribe_mailto) if unsubscribe_mailto else None,
        manager_messages_from=(
            str(data["manager_messages_from"]) if data.get("manager_messages_from") else None
        ),
        announcement_override=override,
        problems=collect.problems,
    )


def _parse_senders(raw: Any, line: int, collect: _Collector) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if not isinstance(raw, MarkedDict):
        collect.error(line, "senders: a mapping of sender keys (ceo:, launch-team: …)")
        return senders
    for key, value in raw.items():
        key_line = raw.line_of(key)
        if key == MANAGER_SENDER:
            collect.error(
                key_line,
                "'manager' is built in (each person's own manager); choose another sender key",
            )
            continue
        if not isinstance(value, MarkedDict):
            collect.error(key_line, f"sender {key!r}: name:, email: (and optionally title:)")
            continue
        name = _localised(value.get("name"), collect, value.line_of("name"), f"sender {key!r} name")
        email = str(value.get("email") or "")
        if "@" not in email:
            collect.error(value.line_of("email"), f"sender {key!r} needs an email: address")
            continue
        title = None
        if value.get("title") is not None:
            title = _localised(value["title"], collect, value.line_of("title"), "title")
        if name is None:
            continue
        reply_to = str(value["reply_to"]) if value.get("reply_to") else None
        senders[str(key)] = Sender(
            key=str(key), name=name, email=email, title=title, reply_to=reply_to, line=key_line
        )
    return senders


_STEP_KEYS = {
    "key",
    "kind",
    "when",
    "time",
    "audience",
    "channel",
    "sender",
    "mandatory",
    "template",
    "post_to",
    "event",
}


def _parse_step(raw: Any, default_time: dt.time, collect: _Collector, line: int) -> Step | None:
    if not isinstance(raw, MarkedDict):
        collect.error(line, "each step is a mapping (key:, when:, audience:, channel: …)")
        return None
    at = raw.line_of
    ok = True
    for unknown in sorted(set(raw) - _STEP_KEYS):
        collect.error(
            at(unknown), f"unknown step key {unknown!r}; known: {', '.join(sorted(_STEP_KEYS))}"
        )
    key = str(raw.get("key") or "")
    if not _KEY.match(key):
        collect.error(
            at("key"),
            "key: a short name in lowercase letters, digits and dashes, "
            "e.g. teaser-1; it must never change once messages went out",
        )
        return None
    try:
        kind = StepKind(str(raw.get("kind", "other")))
    except ValueError:
        collect.error(at("kind"), f"step {key!r}: kind is one of {', '.join(StepKind)}")
        kind, ok = StepKind.OTHER, False
    when = parse_plan_date(raw.get("when"))
    if when is None:
        collect.error(
            at("when"), f"step {key!r}: when: J-30 (or D-30), J0, J+7 or a date YYYY-MM-DD"
        )
        ok = False
    time = _parse_time(raw.get("time")) if raw.get("time") is not None else default_time
    if time is None:
        collect.error(at("time"), f"step {key!r}: time: HH:MM, e.g. 09:30")
        ok = False
    audience = str(raw.get("audience") or "")
    try:
        channel = Channel(str(raw.get("channel", "email")))
    except ValueError:
        collect.error(at("channel"), f"step {key!r}: channel is one of email, dm, post")
        channel, ok = Channel.EMAIL, False
    post_channel = str(raw["post_to"]) if raw.get("post_to") else None
    if channel == Channel.POST and not post_channel:
        collect.error(at("channel"), f"step {key!r}: a post needs post_to: <channel name>")
        ok = False
    if channel != Channel.POST and not audience:
        collect.error(
            at("key"),
            f"step {key!r}: audience: is missing (everyone, managers, "
            "wave:NAME, department:NAME, not-joined …)",
        )
        ok = False
    sender = str(raw.get("sender") or "")
    mandatory = raw.get("mandatory", True)
    if not isinstance(mandatory, bool):
        collect.error(at("mandatory"), f"step {key!r}: mandatory: true or false")
        ok = False
    event = None
    if raw.get("event") is not None:
        event = _parse_event(raw["event"], key, at("event"), collect)
        ok = ok and event is not None
    if not ok or when is None or time is None:
        return None
    return Step(
        key=key,
        kind=kind,
        when=when,
        time=time,
        audience=audience or "everyone",
        channel=channel,
        sender=sender,
        mandatory=bool(mandatory),
        template_name=str(raw.get("template") or key),
        post_channel=post_channel,
        event=event,
        line=raw.line,
        key_lines=dict(raw.key_lines),
    )


def _parse_event(raw: Any, key: str, line: int, collect: _Collector) -> EventDetails | None:
    if not isinstance(raw, MarkedDict):
        collect.error(line, f"step {key!r}: event: date:, start:, end:, place:")
        return None
    date = parse_plan_date(raw.get("date"))
    start, end = _parse_time(raw.get("start")), _parse_time(raw.get("end"))
    place = _localised(raw.get("place"), collect, raw.line_of("place"), "event place")
    if date is None or start is None or end is None or place is None or end <= start:
        collect.error(
            line,
            f"step {key!r}: event needs date: (J-14 or YYYY-MM-DD), start: and "
            "end: (HH:MM, end after start) and place:",
        )
        return None
    return EventDetails(
        date=date, start=start.strftime("%H:%M"), end=end.strftime("%H:%M"), place=place
    )
