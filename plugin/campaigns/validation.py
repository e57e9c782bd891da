"""``envol campaign validate``: every reason the plan would fail people, before it runs.

Errors block planning and sending:
* the official announcement less than 30 days before launch (unless ``announcement_override``
  gives a reason, which is then recorded in the audit trail when the plan is applied);
* a teaser after the announcement (the teasing builds up to it, never follows it);
* a step in the past at planning time (it would go out late, out of order);
* an audience unknown or empty; a sender missing or unknown;
* a template with an unknown variable, or that fails to render for any recipient, in any of
  the recipients' languages.

Warnings inform: steps on weekends or French public holidays, people reached in no language.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.campaigns.models import CampaignStepRun
from plugin.campaigns.plan import (
    MANAGER_SENDER,
    CampaignPlan,
    Channel,
    Problem,
    Step,
    StepKind,
    Template,
)
from plugin.campaigns.rendering import (
    RenderedMessage,
    RenderSettings,
    TemplateFailure,
    build_context,
    render,
    undeclared_names,
)
from plugin.campaigns.service import Recipient, person_view, recipients_for, resolve_sender
from plugin.errors import EnvolError

ANNOUNCEMENT_MIN_DAYS = 30

# error(line, message, path=None) / warning(...): how the checks report a problem.
Report = Callable[..., None]


@dataclass
class ValidationReport:
    plan: CampaignPlan
    launch_date: dt.date
    problems: list[Problem] = field(default_factory=list)
    audience_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_plan(
    session: Session,
    plan: CampaignPlan,
    *,
    launch_date: dt.date,
    now: dt.datetime,
    settings: RenderSettings,
    default_from: str,
    render_for_every_recipient: bool = True,
) -> ValidationReport:
    report = ValidationReport(plan=plan, launch_date=launch_date, problems=list(plan.problems))
    where = plan.plan_file

    def error(line: int, message: str, path: Path | None = None) -> None:
        report.problems.append(Problem("error", path or where, line, message))

    def warning(line: int, message: str, path: Path | None = None) -> None:
        report.problems.append(Problem("warning", path or where, line, message))

    runs = {run.step_key: run for run in session.scalars(select(CampaignStepRun))}
    # A step already materialised keeps the date it actually became due.
    due: dict[str, dt.datetime] = {}
    for step in plan.steps:
        run = runs.get(plan.delivery_key(step))
        due[step.key] = run.due_at if run is not None else step.due_at(launch_date, plan.timezone)

    _check_announcement_and_teasers(plan, due, launch_date, error, warning)
    french_holidays = holidays.country_holidays(
        "FR", years=range(launch_date.year - 1, launch_date.year + 2)
    )
    for step in plan.steps:
        local = due[step.key].astimezone(plan.timezone)
        if plan.delivery_key(step) not in runs and due[step.key] < now:
            error(
                step.line_of("when"),
                f"step {step.key!r} is in the past: it was due "
                f"{local:%Y-%m-%d %H:%M} ({step.when.label()} for a launch on {launch_date}); "
                "move it or the launch date",
            )
        day = local.date()
        if day.weekday() >= 5:
            warning(
                step.line_of("when"),
                f"step {step.key!r} falls on a "
                f"{'Saturday' if day.weekday() == 5 else 'Sunday'} ({day})",
            )
        if day in french_holidays:
            warning(
                step.line_of("when"),
                f"step {step.key!r} falls on a French public holiday "
                f"({day}: {french_holidays.get(day)})",
            )
        if step.event is not None:
            event_day = step.event.date.resolve(launch_date)
            if event_day in french_holidays or event_day.weekday() >= 5:
                warning(
                    step.line_of("event"),
                    f"step {step.key!r}: the event on {event_day} is "
                    "on a weekend or a public holiday",
                )
            if event_day < day:
                error(
                    step.line_of("event"),
                    f"step {step.key!r} invites to an event on "
                    f"{event_day} that is before the invitation ({day})",
                )
        _check_step(
            session,
            plan,
            step,
            report,
            settings,
            default_from,
            error,
            warning,
            render_for_every_recipient,
        )
    report.problems.sort(key=lambda p: (p.severity != "error", str(p.file), p.line))
    return report


def _check_announcement_and_teasers(
    plan: CampaignPlan,
    due: dict[str, dt.datetime],
    launch_date: dt.date,
    error: Report,
    warning: Report,
) -> None:
    announcements = [s for s in plan.steps if s.kind == StepKind.ANNOUNCEMENT]
    if not announcements:
        error(
            1,
            "the plan has no official announcement (a step with kind: announcement, from "
            "the CEO, at least 30 days before launch)",
        )
        return
    first = min(announcements, key=lambda s: due[s.key])
    first_day = due[first.key].astimezone(plan.timezone).date()
    notice = (launch_date - first_day).days
    if notice < ANNOUNCEMENT_MIN_DAYS:
        message = (
            f"the official announcement ({first.key!r}, {first_day}) is only {notice} days "
            f"before launch ({launch_date}); people must be told at least "
            f"{ANNOUNCEMENT_MIN_DAYS} days ahead"
        )
        if plan.announcement_override is not None:
            warning(
                plan.announcement_override.line,
                message + f" — overridden: {plan.announcement_override.reason}",
            )
        else:
            error(
                first.line_of("when"),
                message + "; move it earlier, or add "
                "announcement_override: {reason: ...} to the plan",
            )
    for step in plan.steps:
        if step.kind == StepKind.TEASER and due[step.key] >= due[first.key]:
            error(
                step.line_of("when"),
                f"teaser {step.key!r} "
                f"({due[step.key].astimezone(plan.timezone):%Y-%m-%d}) comes after the "
                f"announcement ({first_day}); teasers build up to it and must come before",
            )


def _check_step(
    session: Session,
    plan: CampaignPlan,
    step: Step,
    report: ValidationReport,
    settings: RenderSettings,
    default_from: str,
    error: Report,
    warning: Report,
    render_for_every_recipient: bool,
) -> None:
    if not step.sender:
        error(
            step.line,
            f"step {step.key!r}: sender: is missing (one of "
            f"{', '.join([*plan.senders, MANAGER_SENDER])})",
        )
        return
    if step.sender != MANAGER_SENDER and step.sender not in plan.senders:
        error(
            step.line_of("sender"),
            f"step {step.key!r}: unknown sender {step.sender!r}; "
            f"senders: {', '.join([*plan.senders, MANAGER_SENDER])}",
        )
        return
    if step.sender == MANAGER_SENDER and step.channel != Channel.EMAIL:
        error(
            step.line_of("channel"),
            f"step {step.key!r}: manager messages go by e-mail (Envol "
            "cannot post in Mattermost as each manager)",
        )
        return
    if step.channel == Channel.EMAIL and not step.mandatory and not plan.unsubscribe_mailto:
        error(
            step.line_of("mandatory"),
            f"step {step.key!r} is optional: the plan needs "
            "unsubscribe: {mailto: ...} for its List-Unsubscribe header",
        )
    # A template already reported (syntax, unknown names) is not rendered too: one cause, one
    # message.
    broken: set[str] = set()
    for language, template in step.templates.items():
        for line, message in undeclared_names(template, plan):
            error(line, message, template.path)
            broken.add(language)
    if len(step.templates) != len(plan.languages):
        return  # the loader reported the missing template
    if step.channel == Channel.POST:
        for language, template in step.templates.items():
            if language not in broken:
                _render_one(plan, step, language, template, settings, None, default_from, error)
        report.audience_sizes[step.key] = 1
        return
    try:
        recipients = recipients_for(session, step)
    except EnvolError as problem:
        error(step.line_of("audience"), f"step {step.key!r}: {problem}")
        return
    report.audience_sizes[step.key] = len(recipients)
    if not recipients:
        who = " who have a manager" if step.sender == MANAGER_SENDER else ""
        error(
            step.line_of("audience"),
            f"step {step.key!r}: the audience {step.audience!r} is "
            f"empty{who}: nobody would receive it",
        )
        return
    by_language: dict[str, list[Recipient]] = defaultdict(list)
    for recipient in recipients:
        by_language[recipient.language].append(recipient)
    for language, group in sorted(by_language.items()):
        found = step.templates.get(language)
        if found is None:
            error(
                step.line,
                f"step {step.key!r}: {len(group)} recipient(s) read {language!r} "
                f"but the plan's languages are {', '.join(plan.languages)}",
            )
            continue
        if language in broken:
            continue
        template = found
        sample = group if render_for_every_recipient else group[:1]
        failures: dict[tuple[Path, int, str], list[int]] = defaultdict(list)
        for recipient in sample:
            try:
                _render_for(plan, step, language, template, settings, recipient, default_from)
            except TemplateFailure as failure:
                failures[(failure.path, failure.line, failure.message)].append(recipient.person.id)
        for (path, line, message), person_ids in failures.items():
            error(
                line,
                f"fails to render for {len(person_ids)} recipient(s) in {language!r} "
                f"(e.g. person {person_ids[0]}): {message}",
                path,
            )


def _render_for(
    plan: CampaignPlan,
    step: Step,
    language: str,
    template: Template,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
) -> RenderedMessage:
    sender = resolve_sender(plan, step, recipient, language, default_from)
    context = build_context(
        plan,
        step,
        language,
        settings,
        person=person_view(recipient.person) if recipient else None,
        manager=person_view(recipient.manager) if recipient else None,
        sender_name=sender.name,
        sender_email=sender.email,
        sender_title=sender.title,
    )
    return render(template, context)


def _render_one(
    plan: CampaignPlan,
    step: Step,
    language: str,
    template: Template,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
    error: Report,
) -> None:
    try:
        _render_for(plan, step, language, template, settings, recipient, default_from)
    except TemplateFailure as failure:
        error(failure.line, f"fails to render in {language!r}: {failure.message}", failure.path)


def render_step_for(
    plan: CampaignPlan,
    step: Step,
    language: str,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
) -> RenderedMessage:
    """Render a step for one recipient (or a channel post when ``recipient`` is None)."""
    return _render_for(
        plan, step, language, step.templates[language], settings, recipient, default_from
    )
