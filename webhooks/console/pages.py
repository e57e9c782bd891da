"""Rendering a console page: the layout's context, notices after a change, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Response, make_response, redirect, render_template, request, url_for

from plugin import clock
from plugin.errors import EnvolError, localize
from webhooks.console import blueprint
from webhooks.console.auth import current_language, load_user, security_headers, t

NAV = (
    ("console.overview", "nav.overview"),
    ("console.roster", "nav.roster"),
    ("console.cohorts", "nav.cohorts"),
    ("console.waves", "nav.waves"),
    ("console.campaign", "nav.campaign"),
    ("console.invitations", "nav.invitations"),
    ("console.support", "nav.support"),
    ("console.reports", "nav.reports"),
)


def days_label(day: dt.date, launch: dt.date, language: str) -> str:
    """``J-12`` / ``D-12``, ``J0``, ``J+3``: a day counted from launch day."""
    letter = "J" if language == "fr" else "D"
    days = (day - launch).days
    return f"{letter}{days:+d}" if days else f"{letter}0"


@blueprint.app_template_filter("console_date")
def console_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


@blueprint.context_processor
def layout_context() -> dict[str, Any]:
    user = load_user()
    return {
        "t": t,
        "user": user,
        "lang": current_language(),
        "nav": NAV,
        "today": clock.now().date(),
    }


def render_page(template: str, status: int = 200, **values: Any) -> Response:
    notice = request.args.get("done", "")
    values.setdefault("notice", notice if notice.replace("_", "").isalnum() else "")
    values.setdefault("notice_count", request.args.get("n", ""))
    values.setdefault("error", "")
    values.setdefault("problems", [])
    return security_headers(make_response(render_template(template, **values), status))


def done(endpoint: str, notice: str, **values: Any) -> Response:
    """After a change: back to the page, which says what was done (Post/Redirect/Get)."""
    return make_response(redirect(url_for(endpoint, done=notice, **values)))


def refusal(error: EnvolError) -> dict[str, Any]:
    """What the page shows when a service refused: its own words, every problem listed, in the
    signed-in person's language (``EnvolError.localized``)."""
    language = current_language()
    return {"error": error.localized(language), "problems": error.localized_problems(language)}


@blueprint.app_template_global("localized")
def localized(text: object) -> str:
    """A service's text (a roster problem, a refusal) in the signed-in person's language."""
    return localize(text, current_language())


__all__ = ["days_label", "done", "refusal", "render_page"]
