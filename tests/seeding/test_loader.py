"""Validation of seed content: every problem named with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.launch_files import Problem
from plugin.seeding.desired import build_desired, load_desired, validate_content
from plugin.seeding.loader import default_content_dir, load_content
from plugin.settings import RuntimeSettings, runtime_settings_from_config
from tests.seeding.conftest import edit


def _problems(content_dir: Path, runtime: RuntimeSettings) -> list[Problem]:
    _, problems = validate_content(content_dir, runtime)
    return problems


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def test_the_shipped_content_is_valid_in_both_languages(runtime: RuntimeSettings) -> None:
    content, problems = validate_content(default_content_dir(), runtime)
    assert problems == []
    assert content is not None
    for language in ("fr", "en"):
        state, problems = build_desired(content, runtime, language)
        assert problems == []
        kinds = {obj.kind for obj in state.objects}
        assert kinds == {"team", "channel", "bookmark", "post", "reply"}


def test_shipped_content_follows_the_runtime_settings() -> None:
    runtime = runtime_settings_from_config(
        {
            "SupportChannel": "aide",
            "IdeasChannel": "boite-a-idees",
            "CompanyName": "Acme",
            "TeamName": "acme",
        }
    )
    state, problems = load_desired(default_content_dir(), runtime)
    assert problems == [] and state is not None
    channels = {o.slug: o.fields["name"] for o in state.objects if o.kind == "channel"}
    assert channels["support"] == "aide"
    assert channels["ideas"] == "boite-a-idees"
    assert channels["committee"] == "comite-lancement"
    start_here = state.by_key()[("post", "start-here")]
    assert "~aide" in start_here.fields["message"]
    assert "~boite-a-idees" in start_here.fields["message"]
    assert state.branding is not None and state.branding.site_name == "Passerelle"
    assert state.branding.brand_text.startswith("**Passerelle, le réseau social d'Acme.**")
    assert state.by_key()[("team", "company")].fields["name"] == "acme"


def test_language_setting_picks_the_texts(runtime: RuntimeSettings) -> None:
    english = runtime.model_copy(update={"default_language": "en"})
    fr_state, _ = load_desired(default_content_dir(), runtime)
    en_state, _ = load_desired(default_content_dir(), english)
    assert fr_state is not None and en_state is not None
    assert (
        fr_state.by_key()[("post", "start-here")]
        .fields["message"]
        .startswith("### 👋 Commencez ici")
    )
    assert (
        en_state.by_key()[("post", "start-here")].fields["message"].startswith("### 👋 Start here")
    )
    assert en_state.by_key()[("channel", "welcome")].fields["display_name"] == "Welcome"


def test_bad_yaml_names_file_and_line(content_dir: Path, runtime: RuntimeSettings) -> None:
    post = content_dir / "posts" / "support" / "guide-people.md"
    edit(post, "pinned: true", "pinned: [true")
    problems = _problems(content_dir, runtime)
    assert len(problems) == 1
    assert problems[0].file == "posts/support/guide-people.md"
    opened_at = _line_of(post, "pinned: [true")
    assert problems[0].line == opened_at + 1  # where the parser noticed it
    assert "invalid YAML" in problems[0].message
    assert f"started at line {opened_at}" in problems[0].message


def test_unknown_channel(content_dir: Path, runtime: RuntimeSettings) -> None:
    post = content_dir / "posts" / "support" / "guide-apps.md"
    edit(post, "channel: support", "channel: suport")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == (
        "posts/support/guide-apps.md",
        _line_of(post, "channel: suport"),
    )
    assert "unknown channel 'suport'" in problem.message
    assert "support" in problem.hint and "welcome" in problem.hint


def test_unknown_template_variable_points_at_its_line(
    content_dir: Path, runtime: RuntimeSettings
) -> None:
    post = content_dir / "posts" / "welcome" / "start-here.md"
    edit(post, "2. Join the spaces of your job", "2. Join {{ compnay_name }}'s spaces")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == (
        "posts/welcome/start-here.md",
        _line_of(post, "compnay_name"),
    )
    assert "unknown template variable 'compnay_name'" in problem.message
    assert "company_name" in problem.hint


def test_unknown_variable_in_a_yaml_block_scalar(
    content_dir: Path, runtime: RuntimeSettings
) -> None:
    branding = content_dir / "branding.yaml"
    edit(branding, "and reach the right person quickly.", "and reach {{ nobody }} quickly.")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == ("branding.yaml", _line_of(branding, "{{ nobody }}"))


def test_missing_asset(content_dir: Path, runtime: RuntimeSettings) -> None:
    (content_dir / "assets" / "guide-animation.pdf").unlink()
    (problem,) = _problems(content_dir, runtime)
    post = content_dir / "posts" / "managers-champions" / "animation-guide.md"
    assert (problem.file, problem.line) == (
        "posts/managers-champions/animation-guide.md",
        _line_of(post, "files:"),
    )
    assert "asset 'guide-animation.pdf' not found" in problem.message


def test_asset_outside_the_assets_folder(content_dir: Path, runtime: RuntimeSettings) -> None:
    edit(content_dir / "branding.yaml", "logo: logo.png", "logo: ../spaces.yaml")
    (problem,) = _problems(content_dir, runtime)
    assert "outside the assets folder" in problem.message


def test_bad_colour(content_dir: Path, runtime: RuntimeSettings) -> None:
    branding = content_dir / "branding.yaml"
    edit(branding, 'buttonBg: "#f28c28"', 'buttonBg: "orange"')
    edit(branding, 'linkColor: "#1b6fa8"', "linkColor: #1b6fa8")  # unquoted: a YAML comment
    problems = _problems(content_dir, runtime)
    assert [(p.file, p.line) for p in problems] == [
        ("branding.yaml", _line_of(branding, "linkColor")),
        ("branding.yaml", _line_of(branding, "buttonBg")),
    ]
    assert "'orange' is not a colour" in problems[1].message
    assert "#rrggbb" in problems[1].hint


def test_unknown_theme_key(content_dir: Path, runtime: RuntimeSettings) -> None:
    edit(content_dir / "branding.yaml", "  buttonBg:", "  buttonBackground:")
    (problem,) = _problems(content_dir, runtime)
    assert "'buttonBackground' is not a Mattermost theme key" in problem.message


def test_duplicate_slug(content_dir: Path, runtime: RuntimeSettings) -> None:
    post = content_dir / "posts" / "support" / "guide-apps.md"
    edit(post, "slug: guide-apps", "slug: guide-people")
    (problem,) = _problems(content_dir, runtime)
    # Files are read in name order: the second one to claim the slug is reported.
    assert (problem.file, problem.line) == ("posts/support/guide-people.md", 2)
    assert "duplicate slug 'guide-people'" in problem.message
    assert "posts/support/guide-apps.md" in problem.hint


def test_duplicate_yaml_key(content_dir: Path, runtime: RuntimeSettings) -> None:
    spaces = content_dir / "spaces.yaml"
    edit(spaces, "    name: bienvenue\n", "    name: bienvenue\n    name: accueil\n")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == ("spaces.yaml", _line_of(spaces, "name: accueil"))
    assert "appears twice" in problem.message


def test_unknown_key_and_missing_translation(content_dir: Path, runtime: RuntimeSettings) -> None:
    spaces = content_dir / "spaces.yaml"
    edit(spaces, "    private: true\n", "    privat: true\n")
    edit(
        spaces,
        "    display_name: {fr: Actualités, en: Company news}",
        "    display_name: {fr: Actualités}",
    )
    problems = _problems(content_dir, runtime)
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (_line_of(spaces, "privat: true"), "unknown"),
        (_line_of(spaces, "display_name: {fr: Actualités}"), "'display_name.en'"),
    ]


def test_prose_must_be_bilingual(content_dir: Path, runtime: RuntimeSettings) -> None:
    spaces = content_dir / "spaces.yaml"
    text = spaces.read_text(encoding="utf-8")
    spaces.write_text(
        text.replace(
            "    purpose:\n"
            "      fr: Les nouvelles de l'entreprise, commentées par ceux qui les vivent.\n"
            "      en: Company news, discussed by the people who live it.\n",
            "    purpose: Les nouvelles de l'entreprise\n",
        ),
        encoding="utf-8",
    )
    (problem,) = _problems(content_dir, runtime)
    assert "French and English" in problem.message


def test_post_without_english_text(content_dir: Path, runtime: RuntimeSettings) -> None:
    post = content_dir / "posts" / "ideas" / "how-ideas-work.md"
    text = post.read_text(encoding="utf-8")
    post.write_text(text[: text.index("<!-- en -->")], encoding="utf-8")
    (problem,) = _problems(content_dir, runtime)
    assert problem.file == "posts/ideas/how-ideas-work.md"
    assert "'en' text of the post is missing" in problem.message


def test_unknown_author(content_dir: Path, runtime: RuntimeSettings) -> None:
    post = content_dir / "posts" / "business" / "know-how-tip.md"
    edit(post, "  - author: amina", "  - author: amine")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == (
        "posts/business/know-how-tip.md",
        _line_of(post, "author: amine"),
    )
    assert "unknown author 'amine'" in problem.message
    assert "claire" in problem.hint


def test_bad_cohort(content_dir: Path, runtime: RuntimeSettings) -> None:
    spaces = content_dir / "spaces.yaml"
    edit(spaces, "cohorts: [managers_champions, committee]", "cohorts: [managers_champions, chefs]")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == ("spaces.yaml", _line_of(spaces, "chefs"))
    assert "unknown cohort 'chefs'" in problem.message


def test_rendered_channel_name_must_be_valid(content_dir: Path, runtime: RuntimeSettings) -> None:
    spaces = content_dir / "spaces.yaml"
    edit(spaces, "name: actualites", "name: Actualités")
    (problem,) = _problems(content_dir, runtime)
    assert (problem.file, problem.line) == ("spaces.yaml", _line_of(spaces, "name: Actualités"))


def test_every_problem_is_reported_at_once(content_dir: Path, runtime: RuntimeSettings) -> None:
    edit(content_dir / "posts" / "support" / "guide-apps.md", "channel: support", "channel: x")
    edit(content_dir / "branding.yaml", 'buttonBg: "#f28c28"', 'buttonBg: "#zz"')
    (content_dir / "assets" / "photo-lancement.png").unlink()
    files = {p.file for p in _problems(content_dir, runtime)}
    assert files == {
        "posts/support/guide-apps.md",
        "branding.yaml",
        "posts/business/news-launch-day.md",
    }
    state, problems = load_desired(content_dir, runtime)
    assert state is None and len(problems) == 3


@pytest.mark.parametrize("front", ["no front matter", "---\nslug: x\n"])
def test_post_without_front_matter(content_dir: Path, runtime: RuntimeSettings, front: str) -> None:
    (content_dir / "posts" / "broken.md").write_text(front + "\nbody\n", encoding="utf-8")
    _, problems = load_content(content_dir)
    assert [(p.file, p.line) for p in problems] == [("posts/broken.md", 1)]
