"""``/console/campaign``: the communication plan as a month calendar and a list; each step as
its recipients will see it (both languages, the e-mail and the Mattermost post), "send me a
test", approve or hold; the ``.ics`` file (``calendar_ics``, as ``envol campaign ics``)."""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from typing import Any

from babel.dates import format_date
from flask import abort, make_response, request
from markdown_it import MarkdownIt

from plugin import clock
from plugin.campaigns.decisions import approve_step, decisions, hold_step
from plugin.campaigns.ics import calendar_ics
from plugin.campaigns.plan import CampaignPlan, load_plan
from plugin.campaigns.platform import MattermostPlatformSender
from plugin.campaigns.proof import ProofTarget, first_recipients, preview_step, send_proof
from plugin.campaigns.service import calendar, render_settings, status_by_step
from plugin.errors import EnvolError
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer
from webhooks.console import blueprint
from webhooks.console.auth import (
    acting,
    found,
    load_user,
    security_headers,
    signed_in,
    t,
    transaction_for_console,
)
from webhooks.console.pages import done, refusal, render_page

_post_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def _plan() -> CampaignPlan:
    return load_plan()


def _month(value: str | None, default: dt.date) -> dt.date:
    try:
        year, month = (int(part) for part in (value or "").split("-", 1))
        return dt.date(year, month, 1)
    except ValueError:
        return default.replace(day=1)


def _shift(month: dt.date, by: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + by
    return dt.date(index // 12, index % 12 + 1, 1)


@blueprint.get("/campaign")
@signed_in
def campaign(status: int = 200, **extra: Any) -> Any:
    runtime = found().runtime
    language = t("lang")
    try:
        plan = _plan()
    except EnvolError as error:
        return render_page("console/campaign.html", 409, entries=[], weeks=[], **refusal(error))
    with found().context.sessions() as session:
        entries = calendar(session, plan, runtime.launch_date)
        decided = decisions(session, plan)
        counts = {s.step_key: s.counts for s in status_by_step(session, plan)}
    today = clock.now().date()
    upcoming = next((e.local_due.date() for e in entries if e.local_due.date() >= today), None)
    month = _month(request.args.get("month"), upcoming or runtime.launch_date)
    by_day: dict[dt.date, list[Any]] = {}
    for entry in entries:
        by_day.setdefault(entry.local_due.date(), []).append(entry)
    weeks = month_calendar.Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    weekdays = [format_date(day, "EEEE", locale=language) for day in weeks[0]]
    return render_page(
        "console/campaign.html",
        status,
        plan=plan,
        entries=entries,
        decided=decided,
        counts=counts,
        month=month,
        month_name=format_date(month, "LLLL y", locale=language),
        previous_month=_shift(month, -1).strftime("%Y-%m"),
        next_month=_shift(month, 1).strftime("%Y-%m"),
        weeks=weeks,
        weekdays=weekdays,
        by_day=by_day,
        view=request.args.get("view", "month"),
        **extra,
    )


@blueprint.get("/campaign.ics")
@signed_in
def campaign_ics() -> Any:
    runtime = found().runtime
    plan = _plan()
    with found().context.sessions() as session:
        entries = calendar(session, plan, runtime.launch_date)
    response = make_response(calendar_ics(plan, entries, runtime.launch_date))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="envol-{plan.name}-{runtime.launch_date.isoformat()}.ics"'
    )
    return security_headers(response)


def _step_page(key: str, status: int = 200, **extra: Any) -> Any:
    where = found()
    runtime = where.runtime
    plan = _plan()
    if not any(step.key == key for step in plan.steps):
        abort(404)
    step = plan.step(key)
    settings = render_settings(where.context, runtime)
    with where.context.sessions() as session:
        entry = next(e for e in calendar(session, plan, runtime.launch_date) if e.step.key == key)
        renderings = preview_step(session, plan, step, settings, where.context.settings.mail_from)
        sample = first_recipients(session, step)
        decided = decisions(session, plan).get(key)
        counts = {s.step_key: s.counts for s in status_by_step(session, plan)}.get(key, {})
    posts = {r.language: _post_markdown.render(r.platform_post) for r in renderings if not r.error}
    return render_page(
        "console/campaign_step.html",
        status,
        plan=plan,
        step=step,
        entry=entry,
        renderings=renderings,
        posts=posts,
        sample=sample,
        decided=decided,
        counts=counts,
        bot=runtime.bot_username,
        **extra,
    )


@blueprint.get("/campaign/<key>")
@signed_in
def campaign_step(key: str) -> Any:
    return _step_page(key)


@blueprint.get("/campaign/<key>/<language>/email.html")
@signed_in
def campaign_step_email(key: str, language: str) -> Any:
    """The e-mail's HTML part, alone, for the preview frame (its own inline styles)."""
    where = found()
    plan = _plan()
    if not any(step.key == key for step in plan.steps):
        abort(404)
    settings = render_settings(where.context, where.runtime)
    with where.context.sessions() as session:
        renderings = preview_step(
            session, plan, plan.step(key), settings, where.context.settings.mail_from
        )
    rendering = next((r for r in renderings if r.language == language and not r.error), None)
    if rendering is None:
        abort(404)
    response = make_response(rendering.html)
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
        "sandbox"
    )
    return security_headers(response)


@blueprint.post("/campaign/<key>/approve")
@acting
def campaign_approve(key: str) -> Any:
    user = load_user()
    assert user is not None
    try:
        with transaction_for_console() as session:
            approve_step(session, _plan(), key, actor=user.actor, note=request.form.get("note", ""))
    except EnvolError as error:
        return _step_page(key, 409, **refusal(error))
    return done("console.campaign_step", "step_approved", key=key)


@blueprint.post("/campaign/<key>/hold")
@acting
def campaign_hold(key: str) -> Any:
    user = load_user()
    assert user is not None
    try:
        with transaction_for_console() as session:
            hold_step(
                session, _plan(), key, actor=user.actor, reason=request.form.get("reason", "")
            )
    except EnvolError as error:
        return _step_page(key, 409, **refusal(error))
    return done("console.campaign_step", "step_held", key=key)


@blueprint.post("/campaign/<key>/test")
@acting
def campaign_test(key: str) -> Any:
    user = load_user()
    assert user is not None
    where = found()
    language = request.form.get("language", user.language)
    profile = where.users.get(user.user_id, fresh=True) or {}
    target = ProofTarget(
        username=user.username,
        user_id=user.user_id,
        email=str(profile.get("email") or ""),
        display_name=" ".join(
            part for part in (profile.get("first_name"), profile.get("last_name")) if part
        )
        or user.username,
    )
    deploy = where.context.settings
    try:
        with (
            SmtpMailer(SmtpConfig.from_url(deploy.smtp_url)) as mailer,
            transaction_for_console() as session,
        ):
            how = send_proof(
                session,
                _plan(),
                key,
                language=language,
                target=target,
                settings=render_settings(where.context, where.runtime),
                mail_from=Address.parse(deploy.mail_from),
                mailer=mailer,
                platform=MattermostPlatformSender(where.client, where.runtime.team_name),
                actor=user.actor,
            )
    except EnvolError as error:
        return _step_page(key, 409, **refusal(error))
    except Exception as error:  # the relay or Mattermost refused: say so, change nothing else
        return _step_page(key, 502, error=t("campaign.test_failed", reason=type(error).__name__))
    return done("console.campaign_step", "test_sent_" + how, key=key)
