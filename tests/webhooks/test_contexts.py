"""Signed button contexts and dialog states become typed objects, or a 400 naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from plugin.security.service import RequestRejected, Signer
from webhooks.commands.payloads import PayloadInvalid
from webhooks.contexts import (
    PollButton,
    SuggestionButton,
    SurveyDialogState,
    TicketAnswerState,
    TicketButton,
    verify,
)

SIGNER = Signer("a-secret-key-for-the-tests")
DAY = dt.timedelta(days=1)


def _read(purpose: str, data: dict[str, Any], kind: Any) -> Any:
    return verify(SIGNER, SIGNER.sign(purpose, "*", data), kind, user_id=None, max_age=DAY)


def test_a_ticket_button() -> None:
    button = _read("ticket", {"t": 12, "a": "take"}, TicketButton)
    assert (button.ticket_id, button.action) == (12, "take")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"t": "12", "a": "take"}, "t"),  # a number written as text: not what Envol signs
        ({"t": True, "a": "take"}, "t"),
        ({"t": 12, "a": "delete"}, "a"),
        ({"a": "take"}, "t"),
        ({"t": 12, "a": "take", "x": 1}, "x"),  # unknown keys are refused
    ],
)
def test_a_bad_value_is_a_400_naming_the_field(data: dict[str, Any], field: str) -> None:
    with pytest.raises(PayloadInvalid, match=f"no valid {field}"):
        _read("ticket", data, TicketButton)


def test_the_purpose_is_the_model_s() -> None:
    token = SIGNER.sign("poll", "*", {"t": 12, "a": "take"})
    with pytest.raises(RequestRejected, match="another purpose"):
        verify(SIGNER, token, TicketButton, user_id=None, max_age=DAY)


def test_optional_values_have_their_defaults() -> None:
    assert _read("ticket.requester", {"t": 3, "a": "post"}, SuggestionButton).slug == ""
    poll = _read("poll", {"poll": "lunch", "option": 1}, PollButton)
    assert (poll.question, poll.options, poll.lang) == (None, None, "fr")
    seeded = _read(
        "poll",
        {"poll": "p", "option": 0, "question": "Q?", "options": ["a", "b"], "lang": "en"},
        PollButton,
    )
    assert (seeded.options, seeded.lang) == (("a", "b"), "en")
    state = _read("dialog.survey", {"w": None, "l": "en"}, SurveyDialogState)
    assert (state.wave_id, state.language) == (None, "en")
    assert _read("dialog.ticket_answer", {"t": 5}, TicketAnswerState).ticket_id == 5
