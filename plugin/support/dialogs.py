"""The interactive dialogs of the support space, and the typed forms their submissions become.

Every dialog's ``state`` is signed for one purpose and one user, expires, and is single-use
(spent when the submission is accepted), because it travels through the user's client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin.mattermost.dialogs import TEXTAREA_DEFAULT_MAX_BYTES, fit
from plugin.security.service import Signer
from plugin.support.messages import t
from plugin.support.models import TicketCategory
from plugin.support.service import MAX_DESCRIPTION, MIN_DESCRIPTION
from plugin.text import inert_markdown

DIALOG_LIFETIME = dt.timedelta(minutes=30)
FAQ_QUESTION_MAX = 300
SUPPORT_CALLBACK = "support_request"
ANSWER_CALLBACK = "ticket_answer"
FAQ_CALLBACK = "ticket_faq"


def support_dialog(
    signer: Signer,
    user_id: str,
    language: str,
    *,
    category: TicketCategory | None = None,
    description: str = "",
) -> dict[str, Any]:
    options = [
        {"text": t(f"category.{c.value}", language), "value": c.value} for c in TicketCategory
    ]
    category_element: dict[str, Any] = {
        "display_name": t("dialog.category", language),
        "name": "category",
        "type": "select",
        "options": options,
    }
    if category is not None:
        category_element["default"] = category.value
    return {
        "callback_id": SUPPORT_CALLBACK,
        "title": t("dialog.title", language),
        "introduction_text": t("dialog.intro", language),
        "elements": [
            category_element,
            {
                "display_name": t("dialog.description", language),
                "name": "description",
                "type": "textarea",
                "min_length": MIN_DESCRIPTION,
                "max_length": MAX_DESCRIPTION,
                "help_text": t("dialog.description.help", language),
                "default": fit(description, TEXTAREA_DEFAULT_MAX_BYTES, max_chars=MAX_DESCRIPTION),
            },
        ],
        "submit_label": t("dialog.submit", language),
        "notify_on_cancel": False,
        "state": signer.sign("dialog.support", user_id, {"l": language}, single_use=True),
    }


def answer_dialog(
    signer: Signer, user_id: str, language: str, ticket_id: int, description: str
) -> dict[str, Any]:
    return {
        "callback_id": ANSWER_CALLBACK,
        "title": t("answer.dialog.title", language),
        "introduction_text": inert_markdown(description[:1500]),
        "elements": [
            {
                "display_name": t("answer.dialog.answer", language),
                "name": "answer",
                "type": "textarea",
                "max_length": MAX_DESCRIPTION,
            }
        ],
        "submit_label": t("dialog.submit", language),
        "state": signer.sign("dialog.ticket_answer", user_id, {"t": ticket_id}, single_use=True),
    }


def faq_dialog(
    signer: Signer, user_id: str, language: str, ticket_id: int, question: str, answer: str
) -> dict[str, Any]:
    return {
        "callback_id": FAQ_CALLBACK,
        "title": t("faq.dialog.title", language),
        "elements": [
            {
                # A textarea: a text element's default holds 150 bytes, a question up to 300
                # characters would be cut.
                "display_name": t("faq.dialog.question", language),
                "name": "question",
                "type": "textarea",
                "max_length": FAQ_QUESTION_MAX,
                "default": fit(question, TEXTAREA_DEFAULT_MAX_BYTES, max_chars=FAQ_QUESTION_MAX),
            },
            {
                "display_name": t("faq.dialog.answer", language),
                "name": "answer",
                "type": "textarea",
                "max_length": MAX_DESCRIPTION,
                "default": fit(answer, TEXTAREA_DEFAULT_MAX_BYTES, max_chars=MAX_DESCRIPTION),
            },
        ],
        "submit_label": t("dialog.submit", language),
        "state": signer.sign("dialog.ticket_faq", user_id, {"t": ticket_id}, single_use=True),
    }


@dataclass(frozen=True)
class SupportForm:
    category: TicketCategory
    description: str


def parse_support_submission(
    submission: Mapping[str, Any], language: str
) -> tuple[SupportForm | None, dict[str, str]]:
    """The typed form, or the per-field errors shown in the dialog (which stays open)."""
    errors: dict[str, str] = {}
    raw_category = submission.get("category")
    category = None
    if isinstance(raw_category, str) and raw_category in {c.value for c in TicketCategory}:
        category = TicketCategory(raw_category)
    else:
        errors["category"] = t("dialog.error.category", language)
    raw_description = submission.get("description")
    description = raw_description.strip() if isinstance(raw_description, str) else ""
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        errors["description"] = t("dialog.error.description", language)
    if errors or category is None:
        return None, errors
    return SupportForm(category, description), {}


def text_field(
    submission: Mapping[str, Any], name: str, *, minimum: int = 1, maximum: int = MAX_DESCRIPTION
) -> str | None:
    value = submission.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if minimum <= len(value) <= maximum else None
