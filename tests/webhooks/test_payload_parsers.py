"""Property tests: whatever arrives, the parsers return a typed object or ``PayloadInvalid``."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plugin.support.dialogs import parse_support_submission
from plugin.surveys.service import parse_survey_submission
from webhooks.commands.payloads import (
    PayloadInvalid,
    parse_action_json,
    parse_command_form,
    parse_dialog_json,
)

ID = "a" * 26
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
FORM_KEYS = [
    "token",
    "team_id",
    "channel_id",
    "user_id",
    "user_name",
    "command",
    "text",
    "trigger_id",
    "response_url",
]


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(FORM_KEYS) | st.text(max_size=8),
        st.text(max_size=60) | st.just(ID),
        max_size=10,
    )
)
def test_command_form_parser_never_crashes(form: dict[str, str]) -> None:
    try:
        parsed = parse_command_form(form)
    except PayloadInvalid:
        return
    assert parsed.command.startswith("/") and len(parsed.user_id) == 26
    assert "token" not in repr(parsed)  # the shared secret never reaches a log through a repr


@given(st.text(max_size=200))
def test_valid_form_keeps_the_text(text: str) -> None:
    form = {"team_id": ID, "channel_id": ID, "user_id": ID, "command": "/envol", "text": text}
    try:
        parsed = parse_command_form(form)
    except PayloadInvalid:
        assert "\x00" in text
        return
    assert parsed.text == text.strip()


@settings(max_examples=300, deadline=None)
@given(
    json_values
    | st.fixed_dictionaries(
        {
            "user_id": st.just(ID) | st.text(max_size=30),
            "post_id": st.just(ID),
            "context": json_values | st.fixed_dictionaries({"signed": json_values}),
        }
    )
)
def test_action_parser_never_crashes(body: Any) -> None:
    try:
        parsed = parse_action_json(body)
    except PayloadInvalid:
        return
    assert isinstance(parsed.signed, str) and parsed.signed


@settings(max_examples=300, deadline=None)
@given(
    json_values
    | st.fixed_dictionaries(
        {
            "callback_id": st.text(max_size=20),
            "state": st.text(max_size=20),
            "user_id": st.just(ID) | st.text(max_size=30),
            "cancelled": json_values,
            "submission": json_values
            | st.dictionaries(
                st.from_regex(r"[a-z_]{1,10}", fullmatch=True), json_values, max_size=5
            ),
        }
    )
)
def test_dialog_parser_never_crashes(body: Any) -> None:
    try:
        parsed = parse_dialog_json(body)
    except PayloadInvalid:
        return
    assert isinstance(parsed.cancelled, bool)
    assert all(not isinstance(v, dict | list) for v in parsed.submission.values())


@given(st.dictionaries(st.sampled_from(["category", "description", "other"]), json_values))
def test_support_form_parser(submission: dict[str, Any]) -> None:
    form, errors = parse_support_submission(submission, "en")
    assert (form is None) == bool(errors)
    if form is not None:
        assert 10 <= len(form.description) <= 3000


@given(
    st.dictionaries(
        st.sampled_from(["why_network", "what_for_me", "how_to_use", "what_expected", "comment"]),
        json_values,
    )
)
def test_survey_form_parser(submission: dict[str, Any]) -> None:
    answers, errors = parse_survey_submission(submission, "fr")
    assert (answers is None) == bool(errors)
    if answers is not None:
        assert all(1 <= v <= 5 for v in answers.scores.values())
