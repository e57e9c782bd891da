"""Mattermost's rules for an interactive dialog, as ``Dialog.IsValid`` applies them.

Source: ``server/public/model/integration_action.go`` (``Dialog.IsValid``,
``DialogElement.IsValid``, ``checkMaxLength`` and the ``Dialog*MaxLength`` constants). Go's
``len()`` on a string counts **bytes** of UTF-8, so "é" counts 2: every length here is
``len(text.encode())``, never ``len(text)``.

The server only logs "Interactive dialog is invalid" and still pushes the dialog to the web app,
which may then misbehave (``app/integration_action.go`` ``OpenInteractiveDialog``). The sandbox
records the problems instead (``SandboxState.invalid_dialogs``) and the test that opened the
dialog fails (``tests/helpers/sandbox.py``).

The constants, as in ``integration_action.go``:

=================================  =====
``DialogTitleMaxLength``              24
``DialogElementDisplayNameMaxLength`` 24
``DialogElementNameMaxLength``       300
``DialogElementHelpTextMaxLength``   150
``DialogElementTextMaxLength``       150  (a text element's default and placeholder)
``DialogElementTextareaMaxLength``  3000  (a textarea's default and placeholder)
``DialogElementSelectMaxLength``    3000  (a select's default and placeholder)
``DialogElementBoolMaxLength``       150  (a bool's placeholder)
=================================  =====

One rule here is the sandbox's, not ``IsValid``'s: a ``default`` longer than the element's own
``max_length`` (characters) is reported too, because the web app's input (``maxLength``) could
not hold it and the person would submit a cut text without knowing.
"""

from __future__ import annotations

from typing import Any

TITLE_MAX = 24
DISPLAY_NAME_MAX = 24
NAME_MAX = 300
HELP_TEXT_MAX = 150
TEXT_MAX = 150
TEXTAREA_MAX = 3000
SELECT_MAX = 3000
BOOL_MAX = 150
TEXT_SUBTYPES = frozenset({"", "text", "email", "number", "tel", "url", "password"})
SELECT_DATA_SOURCES = frozenset({"", "users", "channels", "dynamic"})
# Element types of current servers; date and datetime are newer than some servers Envol meets,
# which is one more reason Envol uses neither.
ELEMENT_TYPES = frozenset({"text", "textarea", "select", "bool", "radio", "date", "datetime"})


def go_len(text: str) -> int:
    """What Go's ``len()`` answers for this string: its UTF-8 bytes."""
    return len(text.encode("utf-8"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _check_length(problems: list[str], where: str, field: str, value: str, maximum: int) -> None:
    size = go_len(value)
    if size > maximum:
        problems.append(
            f"{where}: {field} cannot be longer than {maximum} bytes, got {size} ({value[:40]!r}…)"
        )


def _option_values(element: dict[str, Any]) -> list[str]:
    options = element.get("options") or []
    return [
        str(option.get("value", "")) for option in options if isinstance(option, dict) and option
    ]


def element_problems(element: dict[str, Any]) -> list[str]:
    """``DialogElement.IsValid``, one sentence per broken rule."""
    name = _text(element.get("name"))
    where = f"element {name!r}"
    problems: list[str] = []
    minimum, maximum = _int(element.get("min_length")), _int(element.get("max_length"))
    if minimum < 0:
        problems.append(f"{where}: min_length cannot be negative, got {minimum}")
    if minimum > maximum:
        # Go's zero value: a min_length with no max_length breaks this rule too.
        problems.append(f"{where}: min_length {minimum} is greater than max_length {maximum}")
    display_name = _text(element.get("display_name"))
    if not display_name:
        problems.append(f"{where}: display_name cannot be empty")
    _check_length(problems, where, "display_name", display_name, DISPLAY_NAME_MAX)
    if not name:
        problems.append(f"{where}: name cannot be empty")
    _check_length(problems, where, "name", name, NAME_MAX)
    _check_length(problems, where, "help_text", _text(element.get("help_text")), HELP_TEXT_MAX)
    kind = _text(element.get("type"))
    default = _text(element.get("default"))
    placeholder = _text(element.get("placeholder"))
    if element.get("multiselect") and kind != "select":
        problems.append(f"{where}: multiselect is only for select elements, not {kind!r}")
    if kind in ("text", "textarea"):
        limit = TEXT_MAX if kind == "text" else TEXTAREA_MAX
        _check_length(problems, where, "default", default, limit)
        _check_length(problems, where, "placeholder", placeholder, limit)
        if _text(element.get("subtype")) not in TEXT_SUBTYPES:
            problems.append(f"{where}: invalid subtype {element.get('subtype')!r}")
        if maximum and len(default) > maximum:
            problems.append(
                f"{where}: default has {len(default)} characters, more than its max_length "
                f"{maximum} (sandbox rule: the web app could not hold it)"
            )
    elif kind == "select":
        _check_length(problems, where, "default", default, SELECT_MAX)
        _check_length(problems, where, "placeholder", placeholder, SELECT_MAX)
        source = _text(element.get("data_source"))
        if source not in SELECT_DATA_SOURCES:
            problems.append(f"{where}: invalid data_source {source!r}")
        elif source == "dynamic":
            if not _text(element.get("data_source_url")):
                problems.append(f"{where}: a dynamic select needs a data_source_url")
            if element.get("options"):
                problems.append(f"{where}: a dynamic select has no static options")
        elif source == "":
            values = _option_values(element)
            chosen = (
                [v for v in default.replace(" ", "").split(",") if v]
                if element.get("multiselect")
                else ([default] if default else [])
            )
            for value in chosen:
                if value not in values:
                    problems.append(f"{where}: default {value!r} is not among the options")
    elif kind == "bool":
        if default not in ("", "true", "false"):
            problems.append(f"{where}: a bool's default is 'true' or 'false', not {default!r}")
        _check_length(problems, where, "placeholder", placeholder, BOOL_MAX)
    elif kind == "radio":
        if default and default not in _option_values(element):
            problems.append(f"{where}: default {default!r} is not among the options")
    elif kind in ("date", "datetime"):
        _check_length(problems, where, "default", default, TEXT_MAX)
        _check_length(problems, where, "placeholder", placeholder, TEXT_MAX)
    else:
        problems.append(f"{where}: invalid element type {kind!r}")
    return problems


def dialog_problems(dialog: dict[str, Any]) -> list[str]:
    """``Dialog.IsValid``: every broken rule of the dialog and its elements (empty if valid)."""
    problems: list[str] = []
    title = _text(dialog.get("title"))
    if not title:
        problems.append("title cannot be empty")
    _check_length(problems, "dialog", "title", title, TITLE_MAX)
    icon_url = _text(dialog.get("icon_url"))
    if icon_url and not icon_url.startswith(("http://", "https://")):
        problems.append(f"invalid icon_url {icon_url!r}")
    seen: set[str] = set()
    for element in dialog.get("elements") or []:
        if not isinstance(element, dict):
            problems.append("an element is not an object")
            continue
        name = _text(element.get("name"))
        if name in seen:
            problems.append(f"duplicate dialog element {name!r}")
        seen.add(name)
        problems.extend(element_problems(element))
    return problems
