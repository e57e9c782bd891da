"""What Envol signed into a button's ``context`` or a dialog's ``state``, typed.

The signature proves Envol made the token, for one purpose and (where it matters) one user;
these models say what it must hold. A handler gets one of them, never the raw dict: a value
of the wrong type or an unknown key (a token from another version, or a bug) becomes
``PayloadInvalid`` (HTTP 400) naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError
from sqlalchemy.orm import Session

from plugin.security.service import Signer
from webhooks.commands.payloads import PayloadInvalid


class SignedContext(BaseModel):
    """The data of one kind of signed token; ``purpose`` is what it was signed for."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    purpose: ClassVar[str]


class TicketButton(SignedContext):
    """An animator's button under a support request: take, answer, resolve, make a FAQ."""

    purpose: ClassVar[str] = "ticket"
    ticket_id: StrictInt = Field(alias="t")
    action: Literal["take", "answer", "resolve", "faq"] = Field(alias="a")


class SuggestionButton(SignedContext):
    """The requester's answer to the FAQ suggestions: answered (by entry ``slug``), or post."""

    purpose: ClassVar[str] = "ticket.requester"
    ticket_id: StrictInt = Field(alias="t")
    action: Literal["answered", "post"] = Field(alias="a")
    slug: str = Field(default="", alias="s")


class PollButton(SignedContext):
    """One option of a poll. A poll posted by the seed content before Envol had a row for it
    carries its question, options and language: the first vote creates it."""

    purpose: ClassVar[str] = "poll"
    poll: str = Field(min_length=1)
    option: StrictInt
    question: str | None = None
    options: tuple[str, ...] | None = None
    lang: Literal["fr", "en"] = "fr"


class SurveyButton(SignedContext):
    """The button that opens the launch survey, sent for one wave."""

    purpose: ClassVar[str] = "survey"
    wave_id: StrictInt | None = Field(default=None, alias="w")


class SupportDialogState(SignedContext):
    purpose: ClassVar[str] = "dialog.support"
    language: Literal["fr", "en"] = Field(default="fr", alias="l")


class SurveyDialogState(SignedContext):
    purpose: ClassVar[str] = "dialog.survey"
    language: Literal["fr", "en"] = Field(default="fr", alias="l")
    wave_id: StrictInt | None = Field(default=None, alias="w")


class TicketAnswerState(SignedContext):
    purpose: ClassVar[str] = "dialog.ticket_answer"
    ticket_id: StrictInt = Field(alias="t")


class TicketFaqState(TicketAnswerState):
    purpose: ClassVar[str] = "dialog.ticket_faq"


C = TypeVar("C", bound=SignedContext)


def verify(
    signer: Signer,
    token: str,
    kind: type[C],
    *,
    user_id: str | None,
    max_age: dt.timedelta,
    session: Session | None = None,
) -> C:
    """Check the token's signature, purpose, user and age (``RequestRejected`` otherwise; a
    single-use token is spent in ``session``), then read its data as ``kind``."""
    data = signer.verify(
        token, purpose=kind.purpose, user_id=user_id, max_age=max_age, session=session
    )
    try:
        return kind.model_validate(data)
    except ValidationError as error:
        names = sorted({str(item["loc"][0]) for item in error.errors() if item["loc"]})
        raise PayloadInvalid(
            f"the signed context has no valid {', '.join(names) or 'data'}"
        ) from None
