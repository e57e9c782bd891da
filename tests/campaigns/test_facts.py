"""The launch's facts (``launch.yaml``) are the campaign's: the plan may not say otherwise."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from plugin.app import EnvolContext
from plugin.campaigns.plan import load_plan, read_plan
from plugin.campaigns.rendering import PersonView, RenderSettings, build_context, render
from plugin.campaigns.validation import check_plan
from plugin.cli import root
from plugin.launch_files import DEFAULT_CONTENT_DIR
from tests.campaigns.conftest import PLANNING_TIME, Roster, edit, line_of


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """``launch.yaml`` and the plan beside it, as in seed_content/."""
    shutil.copy(DEFAULT_CONTENT_DIR / "launch.yaml", tmp_path / "launch.yaml")
    shutil.copytree(DEFAULT_CONTENT_DIR / "campaign", tmp_path / "campaign")
    return tmp_path


ZOE = PersonView("Zoé", "Lefèvre", "Ventes", "Lyon", "fr", "employee")
SENDER_CEO = (
    "senders:\n  ceo:\n    name: Claire Martin\n    email: claire.martin@exemple.fr\nvariables:\n"
)


def test_the_plan_takes_its_senders_time_zone_and_platform_from_launch_yaml(
    content_copy: Path,
) -> None:
    edit(content_copy / "launch.yaml", "platform: Passerelle", "platform: Orbite")
    edit(content_copy / "launch.yaml", "name: Isabelle Moreau", "name: Jeanne Roy")
    edit(content_copy / "launch.yaml", "timezone: Europe/Paris", "timezone: America/Montreal")
    plan = load_plan(content_copy / "campaign")
    assert plan.senders["ceo"].name.get("fr") == "Jeanne Roy"
    assert plan.senders["launch-team"].email == "lancement@exemple.fr"
    assert plan.timezone.key == "America/Montreal"
    assert plan.facts is not None and plan.facts.platform.fr == "Orbite"


@pytest.mark.parametrize(
    ("old", "new", "needle", "message", "facts_needle"),
    [
        (
            "variables:\n",
            SENDER_CEO,
            "    name: Claire Martin",
            "senders.ceo.name is 'Claire Martin' here but 'Isabelle Moreau' in ../launch.yaml:",
            "name: Isabelle Moreau",
        ),
        (
            "variables:\n",
            "timezone: UTC\nvariables:\n",
            "timezone: UTC",
            "timezone is 'UTC' here but 'Europe/Paris' in ../launch.yaml:",
            "timezone: Europe/Paris",
        ),
        (
            "variables:\n",
            "variables:\n  platform_name: Exemple SA Connect\n",
            "platform_name:",
            "variables.platform_name is 'Exemple SA Connect' here but 'Passerelle' in "
            "../launch.yaml:",
            "platform: Passerelle",
        ),
    ],
)
def test_a_fact_written_differently_in_the_plan_is_an_error_in_both_files(
    content_copy: Path, old: str, new: str, needle: str, message: str, facts_needle: str
) -> None:
    plan_file = content_copy / "campaign" / "plan.yaml"
    edit(plan_file, old, new)
    plan, problems = read_plan(content_copy / "campaign")
    assert plan is None
    [problem] = [p for p in problems if p.severity == "error"]
    facts_line = line_of(content_copy / "launch.yaml", facts_needle)
    assert problem.file == "plan.yaml" and problem.line == line_of(plan_file, needle)
    assert problem.message == f"{message}{facts_line}"
    assert "launch.yaml" in problem.hint


def test_the_same_fact_written_twice_but_equal_is_accepted(content_copy: Path) -> None:
    plan_file = content_copy / "campaign" / "plan.yaml"
    edit(plan_file, "variables:\n", "timezone: Europe/Paris\nvariables:\n")
    assert read_plan(content_copy / "campaign")[0] is not None


def test_validate_fails_when_a_template_spells_out_the_platform(
    db_session: Session, roster: Roster, render_settings: RenderSettings, content_copy: Path
) -> None:
    template = content_copy / "campaign" / "templates" / "reminder.fr.md"
    edit(template, "Plus qu'une semaine avant l'ouverture de {{ platform }}", "Passerelle arrive")
    report = check_plan(
        db_session,
        content_copy / "campaign",
        launch_date=render_settings.launch_date,
        now=PLANNING_TIME,
        settings=render_settings,
        default_from="envol@exemple.fr",
    )
    [problem] = [p for p in report.errors if "written out" in p.message]
    assert problem.file == "templates/reminder.fr.md"
    assert problem.line == line_of(template, "Passerelle arrive")
    assert "{{ platform }}" in problem.hint


def test_campaign_validate_names_both_files_when_they_disagree(
    envol_context: EnvolContext, content_copy: Path
) -> None:
    edit(content_copy / "campaign" / "plan.yaml", "variables:\n", SENDER_CEO)
    result = CliRunner(env={"ENVOL_LANG": "en"}).invoke(
        root, ["campaign", "validate", "--plan", str(content_copy / "campaign")]
    )
    assert result.exit_code == 1
    output = result.output.replace("\n", "")
    assert "plan.yaml:" in output and "but 'Isabelle Moreau' in ../launch.yaml:" in output


def test_french_elides_before_a_substituted_name_and_spaces_before_colons(
    render_settings: RenderSettings, content_copy: Path
) -> None:
    template = content_copy / "campaign" / "templates" / "teaser-1.fr.md"
    edit(
        template,
        "Chez {{ company }}, quelque chose",
        "Les équipes de {{ company }} : quelque chose",
    )
    plan = load_plan(content_copy / "campaign")
    step = plan.step("teaser-1")
    settings = RenderSettings(**{**render_settings.__dict__, "company": "Orbite"})
    context = build_context(
        plan, step, "fr", settings, person=ZOE, manager=None,
        sender_name="X", sender_email="x@exemple.fr", sender_title="",
    )  # fmt: skip
    message = render(step.templates["fr"], context)
    assert "Les équipes d'Orbite\u00a0: quelque chose" in message.markdown
    context["company"] = "Kappa"
    assert "Les équipes de Kappa\u00a0:" in render(step.templates["fr"], context).markdown
