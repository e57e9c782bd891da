"""``envol campaign validate``: every reason the plan would fail people, before it runs.

Reading the plan (``plan.read_plan``) already refuses what is wrong in the files themselves:
unknown keys, bad dates and times, a step without audience or sender, an unknown sender, a
manager message not sent by e-mail, an optional e-mail without ``unsubscribe:``, a missing
template. The rules here need the launch date and the roster. Errors block planning and sending:

* the official announcement less than 30 days before launch (unless ``announcement_override``
  gives a reason, which is then recorded in the audit trail when the plan is applied);
* a teaser after the announcement (the teasing builds up to it, never follows it);
* a step in the past at planning time (it would go out late, out of order);
* an event before the message that invites to it;
* an audience unknown or empty;
* a template with an unknown variable, or that fails to render for any recipient, in any of
  the recipients' languages.

Warnings inform: steps and events on weekends or French public holidays.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin.campaigns.models import CampaignStepRun
from plugin.campaigns.plan import (
    MANAGER_SENDER,
    CampaignPlan,
    Channel,
    Step,
    StepKind,
    Template,
    phrase,
    read_plan,
    said,
    step_label,
)
from plugin.campaigns.rendering import (
    HtmlForMany,
    RenderedMessage,
    RenderSettings,
    TemplateFailure,
    build_context,
    render,
    undeclared_names,
)
from plugin.campaigns.service import Recipient, person_view, recipients_for, resolve_sender
from plugin.errors import EnvolError
from plugin.i18n import Phrase
from plugin.launch_files import (
    Problem,
    TextLocation,
    errors_of,
    literal_fact_problems,
    sort_problems,
)

ANNOUNCEMENT_MIN_DAYS = 30


@dataclass
class ValidationReport:
    """What ``validate_plan`` found; ``plan`` is None when the files could not be read."""

    plan: CampaignPlan | None
    launch_date: dt.date
    problems: list[Problem] = field(default_factory=list)
    audience_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return errors_of(self.problems)

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Checking:
    """What every check needs: the plan, the dates, how to render."""

    session: Session
    plan: CampaignPlan
    launch_date: dt.date
    settings: RenderSettings
    default_from: str
    render_for_every_recipient: bool
    # Steps with the same audience and kind of sender share one roster read: the default plan's
    # eleven steps all go to everyone, and reading the roster per step was most of planning.
    audiences: dict[tuple[str, bool], list[Recipient]] = field(default_factory=dict)
    # The same audiences by language, grouped once: a step after another goes to the same
    # people (grouping 10,000 recipients again for each of eleven steps cost more than reading
    # them).
    by_language: dict[tuple[str, bool], dict[str, list[Recipient]]] = field(default_factory=dict)

    def recipients(self, step: Step) -> list[Recipient]:
        key = (step.audience, step.sender == MANAGER_SENDER)
        if key not in self.audiences:
            self.audiences[key] = recipients_for(self.session, step)
        return self.audiences[key]

    def recipients_by_language(self, step: Step) -> dict[str, list[Recipient]]:
        key = (step.audience, step.sender == MANAGER_SENDER)
        if key not in self.by_language:
            groups: dict[str, list[Recipient]] = defaultdict(list)
            for recipient in self.recipients(step):
                groups[recipient.language].append(recipient)
            self.by_language[key] = dict(groups)
        return self.by_language[key]


def check_plan(
    session: Session,
    directory: Path | None,
    *,
    launch_date: dt.date,
    now: dt.datetime,
    settings: RenderSettings,
    default_from: str,
) -> ValidationReport:
    """Read the plan in ``directory`` and check it: ``envol campaign validate``'s service."""
    plan, problems = read_plan(directory)
    if plan is None:
        return ValidationReport(plan=None, launch_date=launch_date, problems=problems)
    report = validate_plan(
        session,
        plan,
        launch_date=launch_date,
        now=now,
        settings=settings,
        default_from=default_from,
    )
    report.problems = sort_problems([*problems, *report.problems])
    return report


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
    """Every rule that needs the launch date and the roster, for a plan read without errors."""
    report = ValidationReport(plan=plan, launch_date=launch_date)
    runs = {run.step_key: run for run in session.scalars(select(CampaignStepRun))}
    # A step already materialised keeps the date it actually became due.
    due: dict[str, dt.datetime] = {}
    for step in plan.steps:
        run = runs.get(plan.delivery_key(step))
        due[step.key] = run.due_at if run is not None else step.due_at(launch_date, plan.timezone)
    report.problems += _check_announcement_and_teasers(plan, due, launch_date)
    checking = _Checking(
        session, plan, launch_date, settings, default_from, render_for_every_recipient
    )
    french_holidays = holidays.country_holidays(
        "FR", years=range(launch_date.year - 1, launch_date.year + 2)
    )
    for step in plan.steps:
        planned = plan.delivery_key(step) in runs
        report.problems += _check_dates(checking, step, due[step.key], planned, now)
        report.problems += _check_days_off(checking, step, due[step.key], french_holidays)
        report.problems += _check_messages(checking, step, report.audience_sizes)
    report.problems += _check_written_out_facts(plan, settings)
    report.problems = sort_problems(report.problems)
    return report


def _check_written_out_facts(plan: CampaignPlan, settings: RenderSettings) -> list[Problem]:
    """A template that spells out the company, the platform or a signer instead of naming them
    would keep the old value the day it changes in one place."""
    literals = {settings.company: "company"}
    if plan.facts is not None:
        facts = plan.facts
        literals.update({facts.platform.fr: "platform", facts.platform.en: "platform"})
        for key, person in facts.people().items():
            literals[person.name] = f"{key}.name"
    problems = []
    for step in plan.steps:
        for template in step.templates.values():
            for text, line in (
                (template.subject, template.subject_line),
                (template.body, template.body_first_line),
            ):
                where = TextLocation(template.file, line)
                problems += literal_fact_problems(text, where, literals)
    return problems


def _check_announcement_and_teasers(
    plan: CampaignPlan, due: Mapping[str, dt.datetime], launch_date: dt.date
) -> list[Problem]:
    announcements = [s for s in plan.steps if s.kind == StepKind.ANNOUNCEMENT]
    if not announcements:
        return [
            plan.lines.problem(
                ("steps",),
                phrase("check.no_announcement"),
                phrase("check.no_announcement.do", days=ANNOUNCEMENT_MIN_DAYS),
            )
        ]
    problems = []
    first = min(announcements, key=lambda s: due[s.key])
    first_day = due[first.key].astimezone(plan.timezone).date()
    notice = (launch_date - first_day).days
    if notice < ANNOUNCEMENT_MIN_DAYS:
        late = said(
            "check.announcement_late",
            key=first.key,
            day=str(first_day),
            notice=notice,
            launch=str(launch_date),
            days=ANNOUNCEMENT_MIN_DAYS,
        )
        override = plan.announcement_override
        if override is not None:
            problems.append(
                plan.lines.problem(
                    ("announcement_override",),
                    phrase("check.announcement_overridden", late=late, reason=override.reason),
                    phrase("check.announcement_overridden.do"),
                    severity="warning",
                )
            )
        else:
            problems.append(
                first.problem("when", Phrase(late), phrase("check.announcement_late.do"))
            )
    for step in plan.steps:
        if step.kind == StepKind.TEASER and due[step.key] >= due[first.key]:
            problems.append(
                step.problem(
                    "when",
                    phrase(
                        "check.teaser_after",
                        key=step.key,
                        day=f"{due[step.key].astimezone(plan.timezone):%Y-%m-%d}",
                        announced=str(first_day),
                    ),
                    phrase("check.teaser_after.do"),
                )
            )
    return problems


def _check_dates(
    checking: _Checking, step: Step, due: dt.datetime, planned: bool, now: dt.datetime
) -> list[Problem]:
    """A step still to plan must not be in the past; an event not before its invitation."""
    problems = []
    local = due.astimezone(checking.plan.timezone)
    named = step_label(step.key)
    if not planned and due < now:
        problems.append(
            step.problem(
                "when",
                phrase(
                    "check.in_past",
                    step=named,
                    due=f"{local:%Y-%m-%d %H:%M}",
                    when=step.when.label(),
                    launch=str(checking.launch_date),
                ),
                phrase("check.in_past.do"),
            )
        )
    if step.event is not None and step.event.date.resolve(checking.launch_date) < local.date():
        problems.append(
            step.problem(
                "event",
                phrase(
                    "check.event_before",
                    step=named,
                    event=str(step.event.date.resolve(checking.launch_date)),
                    day=str(local.date()),
                ),
                phrase("check.event_before.do"),
            )
        )
    return problems


def _check_days_off(
    checking: _Checking, step: Step, due: dt.datetime, french_holidays: Mapping[dt.date, str]
) -> list[Problem]:
    """Warnings: a message or an event on a weekend or a French public holiday."""
    problems = []
    day = due.astimezone(checking.plan.timezone).date()
    hint = phrase("check.day_off.do")
    named = step_label(step.key)
    if day.weekday() >= 5:
        weekday = said("check.saturday" if day.weekday() == 5 else "check.sunday")
        message = phrase("check.weekend", step=named, weekday=weekday, day=str(day))
        problems.append(step.problem("when", message, hint, severity="warning"))
    if day in french_holidays:
        message = phrase("check.holiday", step=named, day=str(day), holiday=french_holidays[day])
        problems.append(step.problem("when", message, hint, severity="warning"))
    if step.event is not None:
        event_day = step.event.date.resolve(checking.launch_date)
        if event_day in french_holidays or event_day.weekday() >= 5:
            message = phrase("check.event_day_off", step=named, day=str(event_day))
            hint_event = phrase("check.event_day_off.do")
            problems.append(step.problem("event", message, hint_event, severity="warning"))
    return problems


def _check_messages(
    checking: _Checking, step: Step, audience_sizes: dict[str, int]
) -> list[Problem]:
    """The step's templates: known names, and a render for each recipient and language."""
    problems, broken = _check_template_names(checking.plan, step)
    if step.channel == Channel.POST:
        audience_sizes[step.key] = 1
        for language, template in step.templates.items():
            if language not in broken:
                problems += _render_problems(checking, step, template, [None])
        return problems
    try:
        recipients = checking.recipients(step)
    except EnvolError as refused:
        # The refusal may itself be a catalogue message: it is worded in the same language.
        why = refused.args[0] if refused.args else str(refused)
        message = phrase("check.audience_refused", step=step_label(step.key), problem=why)
        return [*problems, step.problem("audience", message)]
    audience_sizes[step.key] = len(recipients)
    if not recipients:
        message = phrase(
            "check.audience_empty",
            step=step_label(step.key),
            audience=step.audience,
            managers=step.sender == MANAGER_SENDER,
        )
        return [*problems, step.problem("audience", message, phrase("check.audience_empty.do"))]
    for language, group in sorted(checking.recipients_by_language(step).items()):
        found = step.templates.get(language)
        if found is None:
            problems.append(
                step.problem(
                    None,
                    phrase(
                        "check.language_missing",
                        step=step_label(step.key),
                        n=len(group),
                        language=language,
                        languages=", ".join(checking.plan.languages),
                    ),
                    phrase("check.language_missing.do", language=language),
                )
            )
        elif language not in broken:
            sample = group if checking.render_for_every_recipient else group[:1]
            problems += _render_problems(checking, step, found, sample)
    return problems


def _check_template_names(plan: CampaignPlan, step: Step) -> tuple[list[Problem], set[str]]:
    """Unknown names in the templates, and the languages whose template has one: a template
    already reported is not rendered too (one cause, one message)."""
    problems = []
    broken: set[str] = set()
    for language, template in step.templates.items():
        for line, message, hint in undeclared_names(template, plan):
            problems.append(Problem(template.file, line, message, hint))
            broken.add(language)
    return problems, broken


def _render_problems(
    checking: _Checking, step: Step, template: Template, recipients: Sequence[Recipient | None]
) -> list[Problem]:
    """One problem per distinct failure of ``template`` over ``recipients`` (None: a post)."""
    failures: dict[tuple[str, int, str], list[int | None]] = defaultdict(list)
    for recipient in recipients:
        try:
            _render_for(
                checking.plan,
                step,
                template.language,
                template,
                checking.settings,
                recipient,
                checking.default_from,
            )
        except TemplateFailure as failure:
            person = recipient.person.id if recipient is not None else None
            failures[(failure.file, failure.line, failure.message)].append(person)
    problems = []
    for (file, line, failure_message), people in failures.items():
        # Jinja's own (English) account of the failure is quoted as it is, introduced in the
        # reader's language; a failure Envol words itself (an empty subject) is a ``Phrase``.
        message = (
            failure_message
            if isinstance(failure_message, Phrase)
            else phrase("check.jinja_says", detail=failure_message)
        )
        if people[0] is None:
            text = phrase("check.render_failed", language=template.language, error=message)
        else:
            text = phrase(
                "check.render_failed_for",
                n=len(people),
                language=template.language,
                person=people[0],
                error=message,
            )
        problems.append(Problem(file, line, text, phrase("check.render_failed.do")))
    return problems


def _render_for(
    plan: CampaignPlan,
    step: Step,
    language: str,
    template: Template,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
) -> RenderedMessage:
    return render(template, _context_for(plan, step, language, settings, recipient, default_from))


def _context_for(
    plan: CampaignPlan,
    step: Step,
    language: str,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
) -> dict[str, Any]:
    sender = resolve_sender(plan, step, recipient, language, default_from)
    return build_context(
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


def render_email_for(
    plan: CampaignPlan,
    step: Step,
    language: str,
    settings: RenderSettings,
    recipient: Recipient,
    default_from: str,
    html_for_many: HtmlForMany,
) -> tuple[RenderedMessage, str]:
    """``render_step_for`` and the message's HTML part, the latter through ``html_for_many``
    (markdown-it once per shape of the step's body, not once per recipient)."""
    template = step.templates[language]
    context = _context_for(plan, step, language, settings, recipient, default_from)
    rendered = render(template, context)
    return rendered, html_for_many.html(template, context, rendered)
