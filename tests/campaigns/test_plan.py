from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from plugin.campaigns.plan import (
    Channel,
    PlanDate,
    StepKind,
    load_plan,
    parse_plan_date,
    read_plan,
)
from plugin.errors import ValidationFailed
from tests.campaigns.conftest import edit, line_of


def test_the_default_plan_loads_without_problems() -> None:
    plan, problems = read_plan()
    assert problems == [] and plan is not None
    kinds = [step.kind for step in plan.steps]
    assert kinds.count(StepKind.TEASER) == 3
    assert kinds.count(StepKind.ANNOUNCEMENT) == 1
    assert {
        StepKind.MANAGER,
        StepKind.EVENT,
        StepKind.REMINDER,
        StepKind.LAUNCH,
        StepKind.FOLLOW_UP,
    } <= set(kinds)
    assert all(set(step.templates) == {"fr", "en"} for step in plan.steps)
    announcement = plan.step("announcement")
    assert announcement.sender == "ceo" and announcement.mandatory
    assert plan.step("follow-up").channel == Channel.DM


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("J-45", PlanDate(offset_days=-45)),
        ("D-30", PlanDate(offset_days=-30)),
        ("j - 7", PlanDate(offset_days=-7)),
        ("J0", PlanDate(offset_days=0)),
        ("D", PlanDate(offset_days=0)),
        ("J+7", PlanDate(offset_days=7)),
        ("2027-01-15", PlanDate(absolute=dt.date(2027, 1, 15))),
        (dt.date(2027, 1, 15), PlanDate(absolute=dt.date(2027, 1, 15))),
        ("J7", None),
        ("X-3", None),
        ("2027-13-01", None),
        (45, None),
    ],
)
def test_dates_relative_to_launch_or_absolute(text: object, expected: PlanDate | None) -> None:
    assert parse_plan_date(text) == expected


def test_relative_dates_resolve_against_the_launch_day() -> None:
    assert PlanDate(offset_days=-30).resolve(dt.date(2027, 3, 1)) == dt.date(2027, 1, 30)
    assert PlanDate(offset_days=7).label("en") == "D+7"
    assert PlanDate(offset_days=-45).label("fr") == "J-45"


def test_every_structural_problem_is_reported_with_its_line(plan_copy: Path) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    when: J-40\n", "    when: next week\n")
    edit(
        plan_file, "    channel: email\n    sender: ceo\n", "    channel: pigeon\n    sender: ceo\n"
    )
    edit(plan_file, "  - key: reminder\n", "  - key: reminder\n    colour: blue\n")
    plan, errors = read_plan(plan_copy)
    assert plan is None
    found = {(p.line, p.message.split(":")[0]) for p in errors}
    assert (line_of(plan_file, "when: next week"), "step 'teaser-2'") in found
    assert (line_of(plan_file, "channel: pigeon"), "step 'announcement'") in found
    assert any(
        p.line == line_of(plan_file, "colour: blue") and "colour" in p.message for p in errors
    )
    assert all(p.file == "plan.yaml" for p in errors)


def test_a_missing_template_is_named(plan_copy: Path) -> None:
    (plan_copy / "templates" / "reminder.en.md").unlink()
    _, errors = read_plan(plan_copy)
    assert [p.message for p in errors] == [
        "step 'reminder': missing template reminder.en.md (one per language: fr, en)"
    ]


def test_yaml_syntax_errors_and_duplicate_keys_name_the_line(plan_copy: Path) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, 'default_time: "09:30"\n', 'default_time: "09:30"\ndefault_time: "10:00"\n')
    with pytest.raises(ValidationFailed) as raised:
        load_plan(plan_copy)
    line = line_of(plan_file, 'default_time: "10:00"')
    assert raised.value.problems[0].startswith(f"plan.yaml:{line}:")


def test_an_override_needs_a_real_reason(plan_copy: Path) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "variables:\n", "announcement_override:\n  reason: ok\nvariables:\n")
    _, errors = read_plan(plan_copy)
    assert [p.line for p in errors] == [line_of(plan_file, "announcement_override:")]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    channel: dm\n",
            "    channel: post\n",
            "channel: post",
            "step 'follow-up': a post needs post_to",
        ),
        (
            "    channel: email\n    sender: manager\n",
            "    channel: dm\n    sender: manager\n",
            "channel: dm",
            "step 'manager-message': manager messages go by e-mail",
        ),
        (
            "  - key: teaser-2\n",
            "  - key: teaser-1\n",
            "key: teaser-1",  # the second one: after the first one's when
            "step key 'teaser-1' is used twice",
        ),
        (
            "variables:\n",
            "senders:\n  manager:\n    name: M\n    email: m@exemple.fr\nvariables:\n",
            "  manager:",
            "'manager' is built in",
        ),
        ("    audience: everyone\n", "", "key: teaser-1", "step 'teaser-1': audience: is missing"),
    ],
)
def test_rules_between_values_name_the_step_and_line(
    plan_copy: Path, old: str, new: str, needle: str, message: str
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, old, new)
    after = "when: J-45" if "used twice" in message else None
    expected_line = line_of(plan_file, needle, after=after)
    plan, errors = read_plan(plan_copy)
    assert plan is None
    assert [p.line for p in errors if p.message.startswith(message)] == [expected_line]


def test_optional_emails_unsubscribe_to_the_launch_team_unless_the_plan_says(
    plan_copy: Path,
) -> None:
    plan = load_plan(plan_copy)
    assert plan.unsubscribe_mailto is not None
    assert plan.unsubscribe_mailto.startswith("lancement@exemple.fr?subject=")
    assert plan.manager_messages_from == "lancement@exemple.fr"  # launch.yaml's launch_team
    edit(
        plan_copy / "plan.yaml",
        "variables:\n",
        "unsubscribe:\n  mailto: non@exemple.fr\nvariables:\n",
    )
    assert load_plan(plan_copy).unsubscribe_mailto == "non@exemple.fr"
