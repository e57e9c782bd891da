"""Rendering a step's template for one recipient: Jinja2 (StrictUndefined) over Markdown.

The Markdown is the platform message as is; for e-mail it becomes the text part (links spelled
out) and, through markdown-it-py, the HTML part. Raw HTML in templates is disabled: a name with
``<`` in the roster must not inject markup into thousands of e-mails.

Templates see a fixed set of variables (``TEMPLATE_VARIABLES``); the validator rejects any other
name or attribute with its line, before anything is sent.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import meta, nodes
from markdown_it import MarkdownIt

from plugin.campaigns.plan import CampaignPlan, Step, Template, phrase
from plugin.i18n import long_date, weekday_name
from plugin.typography import elides_before, finish, mark_values

_PERSON_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "department",
    "site",
    "language",
    "role",
)
# name -> allowed attributes (None: a plain value, no attributes)
TEMPLATE_VARIABLES: dict[str, tuple[str, ...] | None] = {
    "person": _PERSON_FIELDS,
    "manager": _PERSON_FIELDS,
    "sender": ("name", "email", "title"),
    "company": None,
    "launch": ("date", "iso", "weekday", "days_left"),
    "links": ("platform", "team", "ios", "android", "desktop", "support_channel"),
    "event": ("date", "start", "end", "place"),
    "campaign": None,  # the plan's variables: checked against the plan, not here
    "language": None,
    # The launch's facts (launch.yaml), the same names as in the seed content.
    "platform": None,
    "ceo": ("name", "title", "email"),
    "comms_lead": ("name", "title", "email"),
    "launch_team": ("name", "email"),
}


@dataclass(frozen=True)
class PersonView:
    """What a template may know about a person (never the e-mail address)."""

    first_name: str
    last_name: str
    department: str
    site: str
    language: str
    role: str

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @classmethod
    def of(cls, person: Any) -> PersonView:
        return cls(
            first_name=person.first_name,
            last_name=person.last_name,
            department=person.department or "",
            site=person.site or "",
            language=str(getattr(person.language, "value", person.language)),
            role=str(getattr(person.role, "value", person.role)),
        )


@dataclass(frozen=True)
class RenderSettings:
    """What the templates need from the runtime and deploy settings."""

    company: str
    launch_date: dt.date
    platform_url: str
    team_name: str
    ios_url: str
    android_url: str
    desktop_url: str
    support_channel: str


@dataclass(frozen=True)
class RenderedMessage:
    language: str
    subject: str
    markdown: str

    @property
    def text(self) -> str:
        return markdown_to_text(self.markdown)

    @property
    def html(self) -> str:
        return markdown_to_html(self.markdown, title=self.subject, language=self.language)

    def as_platform_post(self) -> str:
        return f"#### {self.subject}\n\n{self.markdown.strip()}"


class TemplateFailure(Exception):
    """A template failed to render; ``line`` is in ``file`` (relative to the plan's folder)."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


# --------------------------------------------------------------------------- Jinja


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # Markdown, not HTML: markdown-it escapes when making the HTML part
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=mark_values,  # French elision before substituted values (plugin.typography)
    )


def _compile(template: Template, source: str, *, first_line: int) -> jinja2.Template:
    # Padding with newlines keeps Jinja's line numbers equal to the file's.
    padded = "\n" * (first_line - 1) + source
    try:
        compiled = _environment().from_string(padded)
    except jinja2.TemplateSyntaxError as error:
        raise TemplateFailure(
            template.file, error.lineno, phrase("check.template_syntax", error=error.message)
        ) from None
    # Jinja keeps a template's globals as a ChainMap over the environment's and copies them
    # into every render's context (twice): with a ChainMap that was half the cost of rendering
    # a short subject, paid for every recipient. A plain dict holds the same names (this
    # module's environment and its globals never change once made).
    compiled.globals = dict(compiled.globals)
    return compiled


@cache
def _compiled(template: Template) -> tuple[jinja2.Template, jinja2.Template]:
    return (
        _compile(template, template.subject, first_line=template.subject_line),
        _compile(template, template.body, first_line=template.body_first_line),
    )


def _template_line(traceback: TracebackType | None) -> int:
    line = 0
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == "<template>":
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def undeclared_names(template: Template, plan: CampaignPlan) -> list[tuple[int, str, str]]:
    """Names and attributes the template uses that no recipient will ever have:
    ``(line, message, hint)``."""
    problems: list[tuple[int, str, str]] = []
    for source, first_line in (
        (template.subject, template.subject_line),
        (template.body, template.body_first_line),
    ):
        try:
            tree = _environment().parse("\n" * (first_line - 1) + source)
            # Compiles the tree: an unknown filter or test (``{{ x | nofilter }}``) is only
            # found here, as a ``TemplateAssertionError`` (a kind of syntax error).
            declared = meta.find_undeclared_variables(tree)
        except jinja2.TemplateSyntaxError as error:
            problems.append(
                (
                    error.lineno,
                    phrase("check.template_syntax", error=error.message),
                    phrase("check.template_syntax.do", braces="{{ }}", blocks="{% %}"),
                )
            )
            continue
        unknown = declared - set(TEMPLATE_VARIABLES)
        for name_node in tree.find_all(nodes.Name):
            if name_node.ctx == "load" and name_node.name in unknown:
                problems.append(
                    (
                        name_node.lineno,
                        phrase("check.unknown_variable", name=name_node.name),
                        phrase(
                            "check.unknown_variable.do", names=", ".join(sorted(TEMPLATE_VARIABLES))
                        ),
                    )
                )
                unknown.discard(name_node.name)
        for attribute in tree.find_all(nodes.Getattr):
            if not isinstance(attribute.node, nodes.Name):
                continue
            owner = attribute.node.name
            if owner == "campaign":
                allowed: tuple[str, ...] | None = tuple(campaign_variables(plan, "fr"))
            else:
                allowed = TEMPLATE_VARIABLES.get(owner, ())
            if allowed is None or owner not in TEMPLATE_VARIABLES:
                continue
            if attribute.attr not in allowed:
                problems.append(
                    (
                        attribute.lineno,
                        phrase("check.unknown_attribute", owner=owner, attr=attribute.attr),
                        phrase("check.unknown_attribute.do", owner=owner, names=", ".join(allowed)),
                    )
                )
    return sorted(problems)


def build_context(
    plan: CampaignPlan,
    step: Step,
    language: str,
    settings: RenderSettings,
    *,
    person: PersonView | None,
    manager: PersonView | None,
    sender_name: str,
    sender_email: str,
    sender_title: str,
) -> dict[str, Any]:
    launch = settings.launch_date
    step_day = step.when.resolve(launch)
    team_url = f"{settings.platform_url.rstrip('/')}/{settings.team_name}"
    event = None
    if step.event is not None:
        event = {
            "date": long_date(step.event.date.resolve(launch), language, weekday=True),
            "start": step.event.start,
            "end": step.event.end,
            "place": step.event.place.get(language),
        }
    return {
        "person": person,
        "manager": manager,
        "sender": {"name": sender_name, "email": sender_email, "title": sender_title},
        "company": settings.company,
        "launch": {
            "date": long_date(launch, language, weekday=True),
            "iso": launch.isoformat(),
            "weekday": weekday_name(launch, language),
            "days_left": (launch - step_day).days,
        },
        "links": {
            "platform": settings.platform_url,
            "team": team_url,
            "ios": settings.ios_url,
            "android": settings.android_url,
            "desktop": settings.desktop_url,
            "support_channel": f"{team_url}/channels/{settings.support_channel}",
        },
        "event": event,
        "campaign": campaign_variables(plan, language),
        "language": language,
        **(plan.facts.variables(language) if plan.facts is not None else {}),
    }


def campaign_variables(plan: CampaignPlan, language: str) -> dict[str, str]:
    """``{{ campaign.* }}``: the plan's own variables; ``platform_name`` stays for older
    templates and is the launch's facts' platform."""
    variables = {key: text.get(language) for key, text in plan.variables.items()}
    if plan.facts is not None:
        variables.setdefault("platform_name", plan.facts.platform.pick(language))
    return variables


# A step's subject is most often the same for every recipient of a language, and its typography
# (``finish``, a function of the text alone) cost 10 µs an e-mail: done once per distinct subject
# that names no one (a subject with a person's name is not kept: the erasure of a person must not
# leave their name in a cache).
@lru_cache(maxsize=256)
def _finished_impersonal_subject(subject: str, language: str) -> str:
    return finish(subject, language).strip()


@cache
def _subject_names_no_one(template: Template) -> bool:
    try:
        tree = _environment().parse(template.subject)
    except jinja2.TemplateSyntaxError:
        return False  # rendering reports it
    return not any(name.name in _PER_RECIPIENT for name in tree.find_all(nodes.Name))


def render(template: Template, context: dict[str, Any]) -> RenderedMessage:
    """Render subject and body; any failure becomes ``TemplateFailure`` with the line."""
    subject_template, body_template = _compiled(template)
    try:
        subject = " ".join(subject_template.render(context).split())
        body = body_template.render(context).strip("\n") + "\n"
    except jinja2.UndefinedError as error:
        raise TemplateFailure(
            template.file, _template_line(error.__traceback__), str(error)
        ) from None
    except (TypeError, ValueError, AttributeError) as error:
        raise TemplateFailure(
            template.file, _template_line(error.__traceback__), str(error)
        ) from None
    if _subject_names_no_one(template):
        subject = _finished_impersonal_subject(subject, template.language)
    else:
        subject = finish(subject, template.language).strip()
    body = finish(body, template.language)
    if not subject:
        raise TemplateFailure(template.file, template.subject_line, phrase("check.subject_empty"))
    return RenderedMessage(language=template.language, subject=subject, markdown=body)


# --------------------------------------------------------------------------- Markdown


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        "table"
    )


_LINK = re.compile(r"\[([^\]]+)\]\((\S+?)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def markdown_to_text(markdown: str) -> str:
    """The plain-text part: Markdown is readable as is; links are spelled out for text readers."""

    def link(match: re.Match[str]) -> str:
        label, url = match.group(1), match.group(2)
        return url if label == url else f"{label} ({url})"

    # Each pattern needs its sign (``](``, ``**``, ``__``): a body without it is left as it is,
    # without scanning it (most bodies have no link).
    if "](" in markdown:
        markdown = _LINK.sub(link, markdown)
    if "**" in markdown or "__" in markdown:
        markdown = _EMPHASIS.sub(r"\2", markdown)
    return markdown


def markdown_to_html(markdown: str, *, title: str, language: str) -> str:
    return _html_page(_markdown().render(markdown), title=title, language=language)


def _html_page(body: str, *, title: str, language: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n"
        '<body style="font-family: -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif;'
        " font-size: 15px; line-height: 1.5; color: #1f2329; max-width: 640px; margin: 0 auto;"
        ' padding: 16px;">\n'
        f"{body}</body>\n</html>\n"
    )


# --------------------------------------------------------------------------- HTML for many

# The template variables that change with the recipient (``build_context``).
_PER_RECIPIENT = ("person", "manager", "sender")
# A value that Markdown and French typography treat as an ordinary word wherever a template puts
# it: it starts with a letter, ends with a letter or a digit, and holds only letters, digits,
# single spaces, hyphens and apostrophes — no Markdown or HTML sign, nothing ``finish`` changes
# inside it, and nothing markdown-it escapes (so it reads the same in the HTML part).
_PLAIN_VALUE = re.compile(r"[^\W\d_](?:(?:[^\W_]|[-'’]| (?! ))*[^\W_])?")
# Markdown where a value's spaces or case would change the structure (a code fence's info
# string, a link reference's label): such a body is rendered for every recipient.
_STRUCTURAL = re.compile(r"```|~~~|\]:")
_FIRST_PLACEHOLDER = 0xE000  # Unicode private use: never in a template nor in a name


@cache
def _per_recipient_fields(template: Template) -> tuple[tuple[str, str], ...] | None:
    """The ``(variable, attribute)`` pairs of per-recipient values the template writes, or
    None when it uses a per-recipient variable other than through one of its attributes."""
    fields: set[tuple[str, str]] = set()
    for source in (template.subject, template.body):
        try:
            tree = _environment().parse(source)
        except jinja2.TemplateSyntaxError:
            return None  # rendering reports it
        owners = set()
        for attribute in tree.find_all(nodes.Getattr):
            if isinstance(attribute.node, nodes.Name) and attribute.node.name in _PER_RECIPIENT:
                fields.add((attribute.node.name, attribute.attr))
                owners.add(id(attribute.node))
        for name in tree.find_all(nodes.Name):
            if name.name in _PER_RECIPIENT and id(name) not in owners:
                return None  # ``{% if manager %}``, ``person[…]``: no placeholder stands in
    return tuple(sorted(fields))


@dataclass(frozen=True)
class _Skeleton:
    """A body rendered once with placeholders: its Markdown and HTML, or no HTML when the
    placeholders did not come through markdown-it intact (a link target, a code fence)."""

    placeholders: tuple[str, ...]
    markdown: str
    html: str | None


class HtmlForMany:
    """The HTML part of one plan's e-mails, for many recipients (``markdown_to_html``).

    markdown-it costs more than the rest of an e-mail (rendering, MIME, SMTP) together, yet a
    step's body differs between two recipients only by their names. The template is rendered
    once more with a placeholder for each per-recipient value that is a plain word
    (``_PLAIN_VALUE``) — one that starts with a vowel when the value does, so French elision
    comes out the same — and that body goes through markdown-it once per shape. A recipient's
    HTML is then the skeleton's with the values put back, **only if** putting them back into the
    skeleton's Markdown gives exactly the recipient's Markdown: a template that tests, filters
    or compares a value, or anything else the placeholders changed, falls back to markdown-it
    for that recipient. The result is always ``markdown_to_html`` of the recipient's body.

    Meant for one plan and one set of render settings (any other context is checked, and costs
    a skeleton). At most ``MAX_SHAPES`` skeletons are kept: values that are not plain words
    (``R&D``) are part of a shape, and a template writing one that differs for everyone must
    not keep a skeleton per recipient; past the limit, new shapes go through markdown-it.
    """

    MAX_SHAPES = 256

    def __init__(self) -> None:
        self._skeletons: dict[tuple[Any, ...], _Skeleton | None] = {}
        self.markdown_renders = 0  # bodies that went through markdown-it (tests, profiling)

    def html(self, template: Template, context: dict[str, Any], rendered: RenderedMessage) -> str:
        """``rendered.html``, where ``rendered`` is ``render(template, context)``."""
        html = self._from_skeleton(template, context, rendered)
        if html is None:
            self.markdown_renders += 1
            return rendered.html
        return html

    def _from_skeleton(
        self, template: Template, context: dict[str, Any], rendered: RenderedMessage
    ) -> str | None:
        fields = _per_recipient_fields(template)
        if fields is None:
            return None
        values: list[tuple[str, str, str]] = []  # (variable, attribute, plain value)
        shape: list[Any] = [template]
        for owner, attribute in fields:
            value = _value_of(context.get(owner), attribute)
            if isinstance(value, str) and _PLAIN_VALUE.fullmatch(value):
                values.append((owner, attribute, value))
                shape.append(elides_before(value))
            else:  # kept as it is: part of the skeleton, so of its key
                shape.append(("as is", owner, attribute, value))
        key = tuple(shape)
        if key not in self._skeletons:
            if len(self._skeletons) >= self.MAX_SHAPES:
                return None
            self._skeletons[key] = self._skeleton(template, context, values)
        skeleton = self._skeletons[key]
        if skeleton is None or skeleton.html is None:
            return None
        markdown, html = skeleton.markdown, skeleton.html
        for placeholder, (_, _, value) in zip(skeleton.placeholders, values, strict=True):
            markdown = markdown.replace(placeholder, value)
            html = html.replace(placeholder, value)
        if markdown != rendered.markdown:
            return None
        return _html_page(html, title=rendered.subject, language=rendered.language)

    def _skeleton(
        self, template: Template, context: dict[str, Any], values: list[tuple[str, str, str]]
    ) -> _Skeleton | None:
        placeholders = tuple(
            # A placeholder is a word: a letter (a vowel when the value starts with one), a
            # private-use character naming it, a letter; ``finish`` sees what it sees in a name.
            ("a" if elides_before(value) else "b") + chr(_FIRST_PLACEHOLDER + index) + "x"
            for index, (_, _, value) in enumerate(values)
        )
        replaced: dict[str, dict[str, str]] = {}
        for placeholder, (owner, attribute, _) in zip(placeholders, values, strict=True):
            replaced.setdefault(owner, {})[attribute] = placeholder
        standing_in = {
            owner: _Attributes(context.get(owner), attributes)
            for owner, attributes in replaced.items()
        }
        try:
            rendered = render(template, {**context, **standing_in})
        except TemplateFailure:
            return None
        if _STRUCTURAL.search(rendered.markdown):
            return _Skeleton(placeholders, rendered.markdown, None)
        self.markdown_renders += 1
        body = _markdown().render(rendered.markdown)
        intact = all(body.count(p) == rendered.markdown.count(p) for p in placeholders)
        return _Skeleton(placeholders, rendered.markdown, body if intact else None)


class _Attributes:
    """A per-recipient variable (a ``PersonView``, the sender's dict) with some attributes
    replaced by placeholders."""

    def __init__(self, original: Any, replaced: dict[str, str]) -> None:
        self._original = original
        self._replaced = replaced

    def __getattr__(self, name: str) -> Any:
        if name in self._replaced:
            return self._replaced[name]
        if isinstance(self._original, dict):
            try:
                return self._original[name]
            except KeyError:
                raise AttributeError(name) from None
        return getattr(self._original, name)


def _value_of(owner: Any, attribute: str) -> Any:
    if isinstance(owner, dict):
        return owner.get(attribute)
    return getattr(owner, attribute, None)
