"""The one loader of launch files: seed content, FAQ and campaign plan report problems alike."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from pydantic import ConfigDict, Field

from plugin.campaigns.plan import DEFAULT_PLAN_DIR, read_plan
from plugin.launch_files import (
    FileModel,
    LaunchFolder,
    Problem,
    field_name,
    load_yaml,
    read_launch_facts,
    split_front_matter,
)
from plugin.seeding.loader import default_content_dir, load_content
from plugin.support.faq import read_faq

# file:line: severity: message[ — hint] [field]
ONE_FORM = re.compile(r"^[\w./-]+:\d+: (error|warning): .+?( — .+?)? \[[\w.\[\]-]+\]$")


class _Sample(FileModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    items: list[int] = Field(default_factory=list)


def test_a_problem_reads_file_line_severity_message_hint_and_field() -> None:
    problem = Problem("spaces.yaml", 12, "unknown key 'privat'", "check its spelling", "a[2].b")
    assert str(problem) == (
        "spaces.yaml:12: error: unknown key 'privat' — check its spelling [a[2].b]"
    )
    assert str(Problem("faq", None, "folder not found")) == "faq: error: folder not found"
    assert field_name(("channels", 2, "purpose", "fr")) == "channels[2].purpose.fr"


def test_values_keep_the_line_of_their_key(tmp_path: Path) -> None:
    data, lines, problems = load_yaml("name: x\nitems:\n  - 1\n  - 2\n", "f.yaml")
    assert problems == [] and data == {"name": "x", "items": [1, 2]}
    assert lines.line_of(("items",)) == 2
    assert lines.line_of(("items", 1)) == 4
    assert lines.line_of(("items", 1, "unknown")) == 4  # the closest known parent


def test_a_key_written_twice_is_an_error_at_the_second_one() -> None:
    _, _, problems = load_yaml("name: a\nitems: []\nname: b\n", "f.yaml")
    assert [str(p) for p in problems] == [
        "f.yaml:3: error: key 'name' appears twice — keep only one of them [name]"
    ]


def test_pydantic_errors_become_problems_at_their_lines(tmp_path: Path) -> None:
    (tmp_path / "f.yaml").write_text("name: x\nitems:\n  - 1\n  - two\ncolour: blue\n")
    problems: list[Problem] = []
    folder = LaunchFolder(tmp_path, "README.md")
    assert folder.read_model(tmp_path / "f.yaml", _Sample, problems) is None
    assert [(p.line, p.field, p.message.split(":")[0]) for p in problems] == [
        (4, "items[1]", "this item"),
        (5, "colour", "unknown key 'colour'"),
    ]
    assert "see README.md" in problems[1].hint


def test_a_missing_or_empty_file(tmp_path: Path) -> None:
    problems: list[Problem] = []
    folder = LaunchFolder(tmp_path, "README.md")
    assert folder.read_model(tmp_path / "absent.yaml", _Sample, problems) is None
    assert folder.read_model(tmp_path / "absent.yaml", _Sample, [], required=False) is None
    (tmp_path / "empty.yaml").write_text("")
    assert folder.read_model(tmp_path / "empty.yaml", _Sample, problems) is None
    assert [(p.file, p.message) for p in problems] == [
        ("absent.yaml", "file is missing"),
        ("empty.yaml", "'name' is missing"),
    ]


def test_front_matter_lines_count_from_the_file_start(tmp_path: Path) -> None:
    assert split_front_matter("---\nname: x\n---\nbody\n") == ("name: x", "body", 4)
    assert split_front_matter("no front matter") is None
    (tmp_path / "a.md").write_text("---\nname: x\nitems: [1, z]\n---\nthe body\n")
    problems: list[Problem] = []
    read = LaunchFolder(tmp_path, "README.md").read_front_matter(
        tmp_path / "a.md", _Sample, problems, layout="---, keys, ---"
    )
    assert read is not None and read.front is None and read.body == "the body"
    assert [(p.file, p.line, p.field) for p in problems] == [("a.md", 3, "items[1]")]


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "seed_content"
    shutil.copytree(default_content_dir(), target)
    return target


def test_seed_faq_and_campaign_problems_share_one_form(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    spaces = root / "spaces.yaml"
    spaces.write_text(spaces.read_text().replace("    private: true\n", "    privat: true\n", 1))
    faq = root / "faq" / "fr" / "mention.md"
    faq.write_text(faq.read_text().replace("slug: mention", "slug: Mention!"))
    plan = root / "campaign" / "plan.yaml"
    plan.write_text(plan.read_text().replace("    when: J-40\n", "    when: next week\n"))

    _, seed_problems = load_content(root)
    _, faq_problems = read_faq(root / "faq")
    _, plan_problems = read_plan(root / "campaign")

    found = [str(p) for p in (*seed_problems, *faq_problems, *plan_problems)]
    for text in found:
        assert ONE_FORM.match(text), text
    seed, faq_error, faq_warning, plan_error = found
    assert seed.startswith("spaces.yaml:") and seed.endswith(".privat]")
    assert faq_error.startswith("fr/mention.md:2: error: slug:") and faq_error.endswith("[slug]")
    # Errors first: the English entry, left alone in its language, is only a warning.
    assert faq_warning.startswith("en/mention.md:2: warning: 'mention' has no fr version")
    assert plan_error.startswith("plan.yaml:") and plan_error.endswith("[steps[1].when]")


def test_the_shipped_launch_files_have_no_problem() -> None:
    assert load_content(default_content_dir())[1] == []
    assert read_faq()[1] == []
    assert read_plan(DEFAULT_PLAN_DIR)[1] == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("languages: [fr, en]", "timezone: Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ('default_time: "09:30"', 'default_time: "9h30"', "'9h30' is not a time"),
        ("languages: [fr, en]", "manager_messages_from: lancement", "not an e-mail address"),
        ("campaign: lancement", "campaign: Lancement 2027", "'Lancement 2027' is not a key"),
    ],
)
def test_plan_values_are_checked_with_their_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    target = tmp_path / "campaign"
    shutil.copytree(DEFAULT_PLAN_DIR, target)
    plan_file = target / "plan.yaml"
    text = plan_file.read_text()
    assert old in text
    plan_file.write_text(text.replace(old, new, 1))
    plan, problems = read_plan(target)
    assert plan is None
    (problem,) = problems
    assert message in problem.message
    line = next(i for i, row in enumerate(plan_file.read_text().splitlines(), 1) if new in row)
    assert problem.line == line


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("timezone: Europe/Paris", "timezone: Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        (
            "  email: lancement@exemple.fr",
            "  email: lancement",
            "'lancement' is not an e-mail address",
        ),
        ("platform: Passerelle", "platfrom: Passerelle", "unknown key 'platfrom'"),
    ],
)
def test_launch_facts_are_checked_with_their_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    facts_file = tmp_path / "launch.yaml"
    text = (default_content_dir() / "launch.yaml").read_text()
    assert old in text
    facts_file.write_text(text.replace(old, new, 1))
    problems: list[Problem] = []
    assert read_launch_facts(facts_file, problems) is None
    problem = next(p for p in problems if message in p.message)
    line = next(i for i, row in enumerate(facts_file.read_text().splitlines(), 1) if new in row)
    assert (problem.file, problem.line) == ("launch.yaml", line)


def test_a_faq_entry_in_one_language_only_is_a_warning(tmp_path: Path) -> None:
    for language in ("fr", "en"):
        (tmp_path / language).mkdir()
    (tmp_path / "fr" / "seul.md").write_text("---\nslug: seul\nquestion: Une question ?\n---\nR\n")
    (tmp_path / "en" / "other.md").write_text("---\nslug: wrong\nquestion: A question?\n---\nA\n")
    entries, problems = read_faq(tmp_path)
    assert [e.slug for e in entries] == ["seul"]
    assert [(p.file, p.severity, p.message.split(" ")[0]) for p in problems] == [
        ("en/other.md", "error", "slug"),
        ("fr/seul.md", "warning", "'seul'"),
    ]
    assert "rename the file wrong.md" in problems[0].hint


def test_an_impossible_date_in_the_plan_is_a_problem_at_its_line(tmp_path: Path) -> None:
    target = tmp_path / "campaign"
    shutil.copytree(DEFAULT_PLAN_DIR, target)
    plan_file = target / "plan.yaml"
    text = plan_file.read_text()
    plan_file.write_text(text.replace("    when: J-40\n", "    when: 2027-02-30\n", 1))
    line = next(
        i for i, row in enumerate(plan_file.read_text().splitlines(), 1) if "2027-02-30" in row
    )

    plan, problems = read_plan(target)

    assert plan is None
    assert [str(problem) for problem in problems] == [
        f"plan.yaml:{line}: error: '2027-02-30' is not a real date (day is out of range for "
        "month) — write a date that exists, as YYYY-MM-DD (e.g. 2027-02-28) [steps[1].when]"
    ]


def test_the_launch_facts_load_for_any_capability() -> None:
    from plugin.launch_files import load_launch_facts

    facts = load_launch_facts()
    assert facts.platform.pick("fr") == "Passerelle"
    assert facts.variables("en")["ceo"] == {
        "name": "Isabelle Moreau",
        "title": "Chief Executive Officer",
        "email": "isabelle.moreau@exemple.fr",
    }
    assert facts.where("ceo", "name").startswith("launch.yaml:")
