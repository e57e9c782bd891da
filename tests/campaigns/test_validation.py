"""``envol campaign validate``'s rules, each failing as described on a bad plan."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy.orm import Session

from plugin.campaigns.rendering import RenderSettings
from plugin.campaigns.validation import ValidationReport, check_plan
from tests.campaigns.conftest import LAUNCH, PLANNING_TIME, Roster, edit, line_of


def _validate(
    session: Session,
    settings: RenderSettings,
    plan_dir: Path | None = None,
    *,
    launch: dt.date = LAUNCH,
    now: dt.datetime = PLANNING_TIME,
) -> ValidationReport:
    from dataclasses import replace

    return check_plan(
        session,
        plan_dir,
        launch_date=launch,
        now=now,
        settings=replace(settings, launch_date=launch),
        default_from="envol@exemple.fr",
    )


def test_the_default_plan_is_valid_for_the_default_launch(
    db_session: Session, roster: Roster, render_settings: RenderSettings
) -> None:
    report = _validate(db_session, render_settings)
    assert report.problems == []
    assert report.audience_sizes["announcement"] == 5
    assert report.audience_sizes["manager-message"] == 4  # everyone who has a manager


def test_announcement_less_than_30_days_before_launch_is_an_error(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    when: J-32\n", "    when: J-20\n")
    report = _validate(db_session, render_settings, plan_copy)
    assert [(e.file, e.line) for e in report.errors] == [("plan.yaml", line_of(plan_file, "J-20"))]
    assert "only 20 days before launch" in report.errors[0].message


def test_the_30_day_rule_can_be_overridden_only_with_a_reason(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    when: J-32\n", "    when: J-21\n")
    edit(
        plan_file,
        "variables:\n",
        "announcement_override:\n  reason: The board moved the "
        "launch; the CEO announced it at the all-hands meeting already.\nvariables:\n",
    )
    report = _validate(db_session, render_settings, plan_copy)
    assert report.errors == []
    overridden = [w for w in report.warnings if "overridden" in w.message]
    assert overridden[0].line == line_of(plan_file, "announcement_override:")
    assert "all-hands" in overridden[0].message


def test_a_teaser_after_the_announcement_is_an_error(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    when: J-35\n", "    when: J-31\n")
    report = _validate(db_session, render_settings, plan_copy)
    assert [(e.line, e.message.split(" (")[0]) for e in report.errors] == [
        (line_of(plan_file, "J-31"), "teaser 'teaser-3'")
    ]
    assert "comes after the announcement" in report.errors[0].message


def test_a_step_in_the_past_at_planning_time_is_an_error(
    db_session: Session, roster: Roster, render_settings: RenderSettings
) -> None:
    late = dt.datetime(2027, 1, 21, 9, 0, tzinfo=dt.UTC)  # after teaser-1 (J-45) and teaser-2
    report = _validate(db_session, render_settings, now=late)
    past = [e for e in report.errors if "is in the past" in e.message]
    assert [e.message.split(" ")[1] for e in past] == ["'teaser-1'", "'teaser-2'"]


def test_unknown_and_empty_audiences_are_errors(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    audience: everyone\n", "    audience: wave:Vague 9\n")
    edit(plan_file, "    audience: everyone\n", "    audience: department:Astronautes\n")
    edit(plan_file, "    audience: everyone\n", "    audience: the-usual-suspects\n")
    report = _validate(db_session, render_settings, plan_copy)
    by_line = {e.line: e.message for e in report.errors}
    assert "no wave named 'Vague 9'" in by_line[line_of(plan_file, "wave:Vague 9")]
    assert "is empty" in by_line[line_of(plan_file, "department:Astronautes")]
    assert "unknown audience" in by_line[line_of(plan_file, "the-usual-suspects")]
    assert len(report.errors) == 3


def test_unknown_variables_are_reported_in_the_template_with_their_line(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    template = plan_copy / "templates" / "teaser-2.en.md"
    edit(template, "Hello {{ person.first_name }},", "Hello {{ person.nickname }}, {{ weather }}")
    edit(
        plan_copy / "templates" / "teaser-1.fr.md",
        "{{ campaign.slogan }}**",
        "{{ campaign.motto }}**",
    )
    report = _validate(db_session, render_settings, plan_copy)
    messages = {(Path(e.file).name, e.line, e.message.split(";")[0]) for e in report.errors}
    line = line_of(template, "nickname")
    assert ("teaser-2.en.md", line, "unknown variable 'weather'") in messages
    assert ("teaser-2.en.md", line, "unknown variable person.nickname") in messages
    teaser_1 = plan_copy / "templates" / "teaser-1.fr.md"
    assert (
        "teaser-1.fr.md",
        line_of(teaser_1, "motto"),
        "unknown variable campaign.motto",
    ) in messages


def test_a_template_that_fails_for_some_recipients_is_an_error(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    # The CEO has no manager: {{ manager.first_name }} cannot render for her, in French only.
    template = plan_copy / "templates" / "reminder.fr.md"
    edit(
        template,
        "Bonjour {{ person.first_name }},",
        "Bonjour {{ person.first_name }} (équipe de {{ manager.first_name }}),",
    )
    report = _validate(db_session, render_settings, plan_copy)
    assert len(report.errors) == 1
    error = report.errors[0]
    assert (error.file, error.line) == ("templates/reminder.fr.md", line_of(template, "équipe de"))
    assert error.message.startswith(
        f"fails to render for 1 recipient(s) in 'fr' (e.g. person {roster.ceo.id})"
    )


def test_template_syntax_errors_have_their_line(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    template = plan_copy / "templates" / "launch-day.en.md"
    edit(
        template,
        "See you on {{ platform }}!",
        "See you on {{ platform !",
    )
    report = _validate(db_session, render_settings, plan_copy)
    assert [(e.file, e.line) for e in report.errors] == [
        ("templates/launch-day.en.md", line_of(template, "See you on"))
    ]
    assert "template syntax" in report.errors[0].message


def test_a_missing_or_unknown_sender_is_an_error(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    sender: ceo\n", "")
    edit(plan_file, "    sender: launch-team\n", "    sender: marketing\n")
    report = _validate(db_session, render_settings, plan_copy)
    messages = sorted(e.message.split(";")[0].split(" (")[0] for e in report.errors)
    assert messages == [
        "step 'announcement': sender: is missing",
        "step 'teaser-1': unknown sender 'marketing'",
    ]


def test_weekends_and_french_public_holidays_are_warnings(
    db_session: Session, roster: Roster, render_settings: RenderSettings
) -> None:
    # Launch on Wednesday 21 July 2027: J-7 is Bastille Day, J-32 a Saturday.
    report = _validate(
        db_session,
        render_settings,
        launch=dt.date(2027, 7, 21),
        now=dt.datetime(2027, 5, 1, tzinfo=dt.UTC),
    )
    assert report.errors == []
    texts = [w.message for w in report.warnings]
    assert "step 'announcement' falls on a Saturday (2027-06-19)" in texts
    assert "step 'reminder' falls on a French public holiday (2027-07-14: National Day)" in texts
    assert "step 'teaser-1' falls on a Sunday (2027-06-06)" in texts
