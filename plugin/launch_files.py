"""Reading the launch's files: YAML checked by pydantic, every problem with its file and line.

The seed content (``branding.yaml``, ``spaces.yaml``, ``committee.yaml``, ``posts/``), the FAQ
(``faq/<language>/*.md``) and the communication plan (``campaign/plan.yaml`` and its templates)
are all read here, the same way:

* the YAML is composed into PyYAML's node tree first, so every value's path, e.g.
  ``("channels", 2, "purpose", "fr")``, maps to the line it is written on (``LineMap``);
  a key written twice is an error (YAML would silently keep the last one);
* a pydantic model validates the data; each of its errors becomes a ``Problem`` at the line
  of the offending value;
* a Markdown file starts with YAML front matter between two ``---`` lines, then its body.

Every problem has one form: file, line, field, what is wrong and what to do. Reading never
stops at the first problem: an admin fixing content wants the whole list at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from plugin.errors import ValidationFailed, localize
from plugin.i18n import Message, Phrase, load_catalogue, messages_of

CATALOGUE = Path(__file__).with_name("messages.yaml")
said = messages_of(CATALOGUE)


def phrase(key: str, /, **values: Any) -> Phrase:
    """A problem's message or hint from the catalogue: English text to code and logs, worded in
    the reader's language by ``Problem.localized``."""
    return Phrase(said(key, **values))


class Refused(ValueError):
    """A validator's refusal worded from a catalogue: pydantic keeps the exception in the
    error's context, so the problem is worded in the reader's language too."""

    def __init__(self, message: Message) -> None:
        super().__init__(str(message))
        self.said = message


Location = tuple[str | int, ...]
Severity = Literal["error", "warning"]


def field_name(path: Sequence[str | int]) -> str:
    """``("steps", 3, "when")`` as an admin reads it: ``steps[3].when``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in a launch file: where (file, line, field), what, and what to do.

    ``file`` is relative to the folder the admin gave (``seed_content/``, the plan's folder…);
    ``field`` is the path of the value inside the file, e.g. ``channels[2].purpose.fr``.
    ``message`` and ``hint`` are English text, or ``Phrase``s that ``localized`` words in the
    reader's language (``str()`` is the English line, for logs).
    """

    file: str
    line: int | None
    message: str
    hint: str = ""
    field: str = ""
    severity: Severity = "error"

    def localized(self, language: str) -> str:
        """``file:line: severity: message — hint [field]`` in ``language``."""
        return said(
            "problem",
            where=f"{self.file}:{self.line}" if self.line else self.file,
            severity=localize(said(f"severity.{self.severity}"), language),
            message=localize(self.message, language),
            hint=localize(self.hint, language),
            field=self.field,
        ).localized(language)

    def __str__(self) -> str:
        return self.localized("en")


def errors_of(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Errors first, then by file and line; a problem found twice is listed once."""
    return sorted(
        set(problems), key=lambda p: (p.severity != "error", p.file, p.line or 0, p.message)
    )


def raise_for_errors(problems: Sequence[Problem], what: str | Message, command: str) -> None:
    """``ValidationFailed`` listing every problem when any of them is an error; the problems
    stay ``Problem``s, worded in the reader's language where the refusal is shown."""
    errors = errors_of(problems)
    if errors:
        raise ValidationFailed(
            said("files_have_errors", what=what, n=len(errors), command=command),
            [Phrase(problem) for problem in sort_problems(problems)],
        )


@dataclass(frozen=True)
class TextLocation:
    """Where a text starts: templates add their own line numbers to ``line``."""

    file: str
    line: int | None
    field: str = ""

    def problem(
        self, template_line: int | None, message: str, hint: str = "", *, field: str = ""
    ) -> Problem:
        """A problem ``template_line`` lines into the text (1 for its first line)."""
        line = self.line
        if line is not None and template_line:
            line += template_line - 1
        return Problem(self.file, line, message, hint, field or self.field)


@dataclass
class LineMap:
    """Lines of the values of one YAML document, by path; ``offset`` shifts them all (front
    matter starts after the ``---`` line of a Markdown file)."""

    file: str
    lines: dict[Location, int] = field(default_factory=dict)
    # Paths of block scalars (``|`` or ``>``): their text starts on the next line.
    block_scalars: set[Location] = field(default_factory=set)
    offset: int = 0

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its closest known parent."""
        key = tuple(path)
        while True:
            if key in self.lines:
                return self.lines[key] + self.offset
            if not key:
                return None
            key = key[:-1]

    def text_at(self, path: Sequence[str | int]) -> TextLocation:
        line = self.line_of(path)
        if line is not None and tuple(path) in self.block_scalars:
            line += 1
        return TextLocation(self.file, line, field_name(path))

    def problem(
        self,
        path: Sequence[str | int],
        message: str,
        hint: str = "",
        *,
        severity: Severity = "error",
    ) -> Problem:
        return Problem(self.file, self.line_of(path), message, hint, field_name(path), severity)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


class _ImpossibleValue(Exception):
    """A value YAML recognises by its shape but cannot build, e.g. the date 2027-02-30."""

    def __init__(self, node: yaml.ScalarNode, reason: str) -> None:
        super().__init__(reason)
        self.node = node
        self.reason = reason


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, whose impossible dates say where they are (PyYAML raises a bare
    ``ValueError`` without a line)."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as error:
            raise _ImpossibleValue(node, str(error)) from error


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


def _path_of(node: yaml.Node, target: yaml.Node, path: Location = ()) -> Location | None:
    if node is target:
        return path
    children: list[tuple[str | int, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        children = [(str(key.value), value) for key, value in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = list(enumerate(node.value))
    for step, child in children:
        found = _path_of(child, target, (*path, step))
        if found is not None:
            return found
    return None


def _walk(node: yaml.Node, path: Location, line_map: LineMap) -> None:
    # A mapping's value keeps the line of its key (where the admin wrote the field's name),
    # even when the value starts on the next line.
    line_map.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        line_map.block_scalars.add(path)
    elif isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                # PyYAML keeps the last value silently; a repeated key is nearly always a
                # copy-paste mistake that would hide half of what the admin wrote.
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
            line_map.lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), line_map)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), line_map)


def load_yaml(text: str, file: str, *, offset: int = 0) -> tuple[Any, LineMap, list[Problem]]:
    """Parse one YAML document: ``(data, line map, problems)``. On a syntax error the data is
    ``None`` and the problem says where the parser stopped."""
    line_map = LineMap(file=file, offset=offset)
    node = None
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, line_map, []
            _walk(node, (), line_map)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except _ImpossibleValue as error:
        path = _path_of(node, error.node) if node is not None else None
        problem = Problem(
            file,
            error.node.start_mark.line + 1 + offset,
            phrase("date_impossible", value=error.node.value, reason=error.reason),
            phrase("date_impossible.do"),
            field_name(path) if path else "",
        )
        return None, line_map, [problem]
    except _DuplicateKey as error:
        problem = Problem(
            file,
            error.line + offset,
            phrase("key_twice", key=error.key),
            phrase("key_twice.do"),
            error.key,
        )
        return None, line_map, [problem]
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 + offset if mark else None
        start = error.context_mark
        started = None
        if error.context and start is not None and mark is not None and start.line != mark.line:
            # e.g. an unclosed [ is only noticed lines later: say where it was opened.
            started = start.line + 1 + offset
        # PyYAML's own sentence ("mapping values are not allowed here") has no translation:
        # the French text quotes it after saying, in French, what is wrong.
        invalid = phrase(
            "yaml_invalid",
            what=error.problem or str(error),
            context=error.context,
            started=started,
        )
        problem = Problem(file, line, invalid, phrase("yaml_invalid.do"))
        return None, line_map, [problem]
    except yaml.YAMLError as error:
        invalid = phrase("yaml_invalid", what=str(error), context=None, started=None)
        return None, line_map, [Problem(file, None, invalid, phrase("yaml_unreadable.do"))]
    return data, line_map, []


# Names an item of a list for a message, from the file's data and the item's location,
# e.g. ("steps", 3) -> "step 'announcement'".
ItemNamer = Callable[[Any, Location], str | Message | None]


def pydantic_problems(
    error: ValidationError,
    line_map: LineMap,
    *,
    docs: str,
    prefix: Location = (),
    name_item: ItemNamer | None = None,
    data: Any = None,
) -> list[Problem]:
    """Turn pydantic's errors into problems at the line of each offending value.

    ``docs`` is the README that lists the keys; ``name_item`` may name the list item an error
    is in (from the file's ``data``), so the message says "step 'announcement': …" rather
    than only a line number.
    """
    problems = []
    for item in error.errors():
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and "[" in part))
        path = (*prefix, *loc)
        # The line already says which item; name the field from the last list index on.
        tail = loc
        owner: Location = ()
        for index in range(len(loc) - 1, -1, -1):
            if isinstance(loc[index], int):
                tail, owner = loc[index + 1 :], loc[: index + 1]
                break
        name: str | Message = ".".join(str(part) for part in tail) or said("this_item")
        message, hint = _pydantic_message(item, name, bool(tail), loc, docs)
        label = name_item(data, owner) if name_item is not None and owner else None
        if label:
            message = said("labelled", label=label, message=message)
        problems.append(line_map.problem(path, Phrase(message), Phrase(hint) if hint else ""))
    return problems


def _pydantic_message(
    item: Any, name: str | Message, in_field: bool, loc: Location, docs: str
) -> tuple[Message, Message | None]:
    """One pydantic error as ``(message, hint)``, worded from its ``type`` and ``ctx`` (its
    ``msg`` is pydantic's English); a type not worded in the catalogue (``why.<type>``) gets a
    generic message that still names the field."""
    kind = item["type"]
    context = item.get("ctx") or {}
    if kind == "extra_forbidden":
        return said("field.unknown", key=loc[-1]), said("field.unknown.do", docs=docs)
    if kind == "missing":
        return said("field.missing", name=name), said("field.missing.do")
    why: str | Message
    if kind == "value_error":
        # Our validators' own sentences, without pydantic's "Value error, " in front.
        error = context.get("error")
        why = error.said if isinstance(error, Refused) else str(error)
        if not in_field:
            return said("as_is", text=why) if isinstance(why, str) else why, None
    elif f"why.{kind}" in load_catalogue(CATALOGUE).keys:
        why = said(f"why.{kind}", **context)
    else:
        why = said("why.other", type=kind, detail=item["msg"])
    return said("field.invalid", name=name, why=why), None


def relative_name(path: Path, root: Path) -> str:
    """A file name as the admin sees it, relative to the folder they gave."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class FileModel(BaseModel):
    """A model read from a launch file: it remembers the lines of its values (``lines``)."""

    _lines: LineMap | None = PrivateAttr(default=None)

    @property
    def lines(self) -> LineMap:
        if self._lines is None:
            raise RuntimeError(f"{type(self).__name__} was not read from a file")
        return self._lines

    def with_lines(self, lines: LineMap) -> FileModel:
        self._lines = lines
        return self


M = TypeVar("M", bound=FileModel)


@dataclass(frozen=True)
class LaunchFolder:
    """A folder of launch files: names problems relative to it and points at its README."""

    root: Path
    docs: str  # e.g. "seed_content/README.md": where the format is described

    def name(self, path: Path) -> str:
        return relative_name(path, self.root)

    def read_model(
        self,
        path: Path,
        model: type[M],
        problems: list[Problem],
        *,
        required: bool = True,
        name_item: ItemNamer | None = None,
    ) -> M | None:
        """One YAML file as ``model``, or None with its problems (None, and no problem, when
        an optional file is missing)."""
        name = self.name(path)
        if not path.is_file():
            if required:
                problems.append(
                    Problem(
                        name,
                        None,
                        phrase("file_missing"),
                        phrase("file_missing.do", docs=self.docs),
                    )
                )
            return None
        data, line_map, yaml_problems = load_yaml(path.read_text(encoding="utf-8"), name)
        return self._validate(data, line_map, yaml_problems, model, problems, name_item)

    def read_front_matter(
        self, path: Path, model: type[M], problems: list[Problem], *, layout: str | Phrase
    ) -> FrontMatterFile[M] | None:
        """A Markdown file's front matter as ``model`` and its body. None (with a problem) when
        the file has no front matter; ``front`` is None when the front matter is invalid.
        ``layout`` says what the file should look like, for the problem's hint."""
        name = self.name(path)
        split = split_front_matter(path.read_text(encoding="utf-8"))
        if split is None:
            problems.append(Problem(name, 1, phrase("no_front_matter"), layout))
            return None
        front_text, body, body_line = split
        data, line_map, yaml_problems = load_yaml(front_text, name, offset=1)
        front = self._validate(data, line_map, yaml_problems, model, problems, None, first_line=2)
        return FrontMatterFile(name, front, body, body_line)

    def _validate(
        self,
        data: Any,
        line_map: LineMap,
        yaml_problems: list[Problem],
        model: type[M],
        problems: list[Problem],
        name_item: ItemNamer | None,
        *,
        first_line: int = 1,
    ) -> M | None:
        if yaml_problems:
            problems.extend(yaml_problems)
            return None
        if data is None:
            data = {}  # an empty file: every required key is reported missing
        if not isinstance(data, dict):
            problems.append(
                Problem(
                    line_map.file,
                    first_line,
                    phrase("not_a_mapping"),
                    phrase("not_a_mapping.do", docs=self.docs),
                )
            )
            return None
        try:
            instance = model.model_validate(data)
        except ValidationError as error:
            problems.extend(
                pydantic_problems(error, line_map, docs=self.docs, name_item=name_item, data=data)
            )
            return None
        instance.with_lines(line_map)
        return instance


@dataclass(frozen=True)
class FrontMatterFile(Generic[M]):
    """A Markdown launch file: its front matter (None when invalid) and its body."""

    file: str
    front: M | None
    body: str
    body_line: int  # the line of the body's first line in the file


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """``(front matter, body, line of the body's first line)`` or None without front matter."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            return front, body, index + 2
    return None


# --------------------------------------------------------------------------- the launch's facts

FACTS_FILE = "launch.yaml"
FACTS_DOCS = "seed_content/README.md"
DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent / "seed_content"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(value: str) -> str:
    if not _EMAIL.match(value.strip()):
        raise Refused(said("not_an_email", value=repr(value)))
    return value.strip()


Email = Annotated[str, AfterValidator(_email)]


class FactText(BaseModel):
    """A fact written once for both languages, or once per language (``fr:``, ``en:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fr: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _one_for_both(cls, value: Any) -> Any:
        return {"fr": value, "en": value} if isinstance(value, str) else value

    def pick(self, language: str) -> str:
        return self.en if language == "en" else self.fr


class FactPerson(BaseModel):
    """Someone who signs messages: the CEO, the communication lead."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    title: FactText
    email: Email
    username: str | None = Field(default=None, pattern=r"^[a-z0-9.\-_]+$")

    def view(self, language: str) -> dict[str, str]:
        """What a template sees: ``{{ ceo.name }}``, ``{{ ceo.title }}``, ``{{ ceo.email }}``."""
        return {"name": self.name, "title": self.title.pick(language), "email": self.email}


class FactAddress(BaseModel):
    """A sender address that is no one's own mailbox, e.g. the launch team's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: FactText
    email: Email

    def view(self, language: str) -> dict[str, str]:
        return {"name": self.name.pick(language), "email": self.email}


def _zone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise Refused(said("unknown_zone", value=repr(value))) from None
    return str(value)


# Which fact each template name is, for messages: ``ceo`` -> "the CEO".
FACT_PEOPLE = {"ceo": "the CEO", "comms_lead": "the communication lead"}


class LaunchFacts(FileModel):
    """``launch.yaml``: the launch's facts, each written once and used everywhere by name.

    The company's name and the launch date are plugin settings (``CompanyName``,
    ``LaunchDate``: an admin changes them in the System Console); everything else that more
    than one file would otherwise repeat is here. Texts refer to them as ``{{ platform }}``,
    ``{{ ceo.name }}``, ``{{ comms_lead.title }}``, ``{{ launch_team.email }}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: FactText
    timezone: str = "Europe/Paris"
    ceo: FactPerson
    comms_lead: FactPerson
    launch_team: FactAddress

    _zone = field_validator("timezone")(_zone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def people(self) -> dict[str, FactPerson]:
        return {"ceo": self.ceo, "comms_lead": self.comms_lead}

    def variables(self, language: str) -> dict[str, Any]:
        """The facts as template variables in ``language``."""
        return {
            "platform": self.platform.pick(language),
            "ceo": self.ceo.view(language),
            "comms_lead": self.comms_lead.view(language),
            "launch_team": self.launch_team.view(language),
            "timezone": self.timezone,
        }

    def example_addresses(self) -> list[str]:
        """The facts still on the demo's example domain (``@exemple.fr``)."""
        found = [f"{key}.email" for key, person in self.people().items() if _example(person.email)]
        if _example(self.launch_team.email):
            found.append("launch_team.email")
        return found

    def where(self, *path: str | int) -> str:
        """``launch.yaml:7`` for a value of this file, to tell the admin where to change it."""
        line = self.lines.line_of(path)
        return f"{self.lines.file}:{line}" if line else self.lines.file


EXAMPLE_DOMAIN = "exemple.fr"


def _example(email: str) -> bool:
    return email.lower().endswith("@" + EXAMPLE_DOMAIN)


def facts_file_for(folder: Path) -> Path:
    """The ``launch.yaml`` a folder of launch files uses: its own, its parent's (the campaign
    plan lives in ``seed_content/campaign/``), else the shipped one."""
    for candidate in (folder / FACTS_FILE, folder.parent / FACTS_FILE):
        if candidate.is_file():
            return candidate
    return DEFAULT_CONTENT_DIR / FACTS_FILE


def read_launch_facts(path: Path, problems: list[Problem]) -> LaunchFacts | None:
    """``launch.yaml`` checked; problems are named relative to its folder."""
    folder = LaunchFolder(path.parent, FACTS_DOCS)
    return folder.read_model(path, LaunchFacts, problems)


def load_launch_facts(folder: Path | None = None) -> LaunchFacts:
    """The launch's facts for ``folder`` (the shipped content by default), for any capability
    that writes about the launch (reports, the console); ``ValidationFailed`` if invalid."""
    path = facts_file_for(folder or DEFAULT_CONTENT_DIR)
    problems: list[Problem] = []
    facts = read_launch_facts(path, problems)
    raise_for_errors(problems, said("facts_in", path=str(path)), "envol seed validate")
    assert facts is not None  # no error: read_launch_facts returned them
    return facts


_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")


def literal_fact_problems(
    text: str, where: TextLocation, literals: dict[str, str]
) -> list[Problem]:
    """A fact written out in a text instead of by name (``literals``: value -> variable):
    the day it changes in one place, this text would still say the old one."""
    problems = []
    for value, variable in literals.items():
        if len(value) < 3:
            continue
        pattern = re.compile(rf"(?<![\w@.]){re.escape(value)}(?![\w@])")
        for number, line in enumerate(text.splitlines(), start=1):
            if pattern.search(_JINJA.sub("", line)):
                problems.append(
                    where.problem(
                        number,
                        phrase("written_out", value=value),
                        phrase("written_out.do", name=f"{{{{ {variable} }}}}"),
                    )
                )
                break
    return problems
