"""The seed content takes the launch's facts from ``launch.yaml`` and never contradicts it."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from plugin.app import EnvolContext
from plugin.cli import root
from plugin.seeding.desired import load_desired, validate_content
from plugin.seeding.loader import load_content
from plugin.settings import RuntimeSettings, runtime_settings_from_config
from tests.seeding.conftest import edit

CLAIRE_BY_HAND = """  - key: claire
    username: claire.martin
    name: Claire Martin
    role:
      fr: présidente-directrice générale
      en: Chief Executive Officer
"""


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def test_the_committee_takes_a_signer_s_name_and_title_from_launch_yaml(
    content_dir: Path,
) -> None:
    edit(content_dir / "launch.yaml", "name: Claire Martin", "name: Claire Martin-Roy")
    content, problems = load_content(content_dir)
    assert problems == [] and content is not None
    claire = content.member("claire")
    assert claire is not None and claire.name == "Claire Martin-Roy"
    assert claire.role is not None
    assert claire.role.fr == "responsable de la communication interne"


def test_a_signer_written_again_in_committee_yaml_is_an_error_naming_both_files(
    content_dir: Path, runtime: RuntimeSettings
) -> None:
    committee = content_dir / "committee.yaml"
    text = committee.read_text(encoding="utf-8")
    start = text.index("  - key: claire")
    end = text.index("  - key: amina")
    committee.write_text(text[:start] + CLAIRE_BY_HAND + text[end:], encoding="utf-8")
    _, problems = validate_content(content_dir, runtime)
    [problem] = problems
    assert (problem.file, problem.line) == ("committee.yaml", _line_of(committee, "Claire Martin"))
    facts_line = _line_of(content_dir / "launch.yaml", "comms_lead:")
    assert problem.message == (
        f"Claire Martin is also the communication lead in launch.yaml (line {facts_line})"
    )
    assert "fact: comms_lead" in problem.hint


def test_fact_and_a_name_together_are_refused(content_dir: Path) -> None:
    edit(
        content_dir / "committee.yaml", "    fact: comms_lead", "    fact: comms_lead\n    name: C"
    )
    _, problems = load_content(content_dir)
    assert any("remove name: and role:" in p.message for p in problems)


def test_a_text_that_spells_out_a_fact_is_an_error_with_the_name_to_write(
    content_dir: Path, runtime: RuntimeSettings
) -> None:
    post = content_dir / "posts" / "welcome" / "start-here.md"
    edit(post, "2. Join the spaces of your job", "2. Join the spaces of Exemple SA")
    edit(post, "Bienvenue sur **{{ platform }}**", "Bienvenue sur **Passerelle**")
    problems = sorted(validate_content(content_dir, runtime)[1], key=lambda p: p.line or 0)
    assert [(p.file, p.line) for p in problems] == [
        ("posts/welcome/start-here.md", _line_of(post, "**Passerelle**")),
        ("posts/welcome/start-here.md", _line_of(post, "spaces of Exemple SA")),
    ]
    assert "{{ platform }}" in problems[0].hint and "{{ company }}" in problems[1].hint


def test_the_platform_and_company_reach_branding_and_posts_with_french_elision(
    content_dir: Path,
) -> None:
    edit(content_dir / "launch.yaml", "platform: Passerelle", "platform: Orbite")
    runtime = runtime_settings_from_config({"CompanyName": "Aéro Services"})
    state, problems = load_desired(content_dir, runtime, language="fr")
    assert problems == [] and state is not None and state.branding is not None
    assert state.branding.site_name == "Orbite"
    assert state.branding.brand_text.startswith("**Orbite, le réseau social d'Aéro Services.**")
    training = state.by_key()[("post", "managers-training")].fields["message"]
    assert "*Pourquoi ce réseau* (15 min)\u00a0: les objectifs d'Aéro Services," in training
    start_here = state.by_key()[("post", "start-here")].fields["message"]
    assert "Bienvenue sur **Orbite**, le réseau social interne d'Aéro Services." in start_here


def test_seed_validate_fails_when_two_files_disagree(
    envol_context: EnvolContext, content_dir: Path
) -> None:
    committee = content_dir / "committee.yaml"
    text = committee.read_text(encoding="utf-8")
    start, end = text.index("  - key: claire"), text.index("  - key: amina")
    committee.write_text(text[:start] + CLAIRE_BY_HAND + text[end:], encoding="utf-8")
    result = CliRunner(env={"ENVOL_LANG": "en"}).invoke(
        root, ["seed", "validate", "--content", str(content_dir)]
    )
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "committee.yaml:" in output and "launch.yaml (line" in output
