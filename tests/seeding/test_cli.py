"""``envol seed …`` and ``envol brand apply`` end to end: CLI → services → sandbox → database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr
from sqlalchemy import select

from plugin.app import EnvolContext
from plugin.cli import root
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.seeding.models import SeededObject
from tests.seeding.conftest import edit, envol_bot_token


@pytest.fixture
def cli_context(envol_context: EnvolContext, sandbox: Sandbox) -> EnvolContext:
    """The test context, pointed at the sandbox with the token of Envol's bot."""
    token = SecretStr(envol_bot_token(sandbox))
    envol_context.settings = envol_context.settings.model_copy(
        update={"mattermost_url": sandbox.url, "mattermost_token": token}
    )
    return envol_context


def _run(*args: str, language: str = "en") -> tuple[int, str]:
    result = CliRunner(env={"ENVOL_LANG": language}).invoke(
        root, list(args), catch_exceptions=False
    )
    # rich wraps at the terminal width: compare words, not line breaks.
    return result.exit_code, " ".join(result.output.split())


def test_validate_plan_apply_plan(
    cli_context: EnvolContext, sandbox: Sandbox, content_dir: Path
) -> None:
    code, out = _run("seed", "validate", "--content", str(content_dir))
    assert code == 0 and "is valid" in out and "8 channels" in out

    code, out = _run("seed", "plan", "--content", str(content_dir))
    assert code == 0
    assert "+ create channel ~bienvenue" in out
    assert "note: Channel bookmarks need a Mattermost licence" in out
    assert sandbox.request_log.writes() == 0

    code, out = _run("seed", "apply", "--content", str(content_dir), "--dry-run")
    assert code == 0 and "dry run: nothing was written" in out
    assert sandbox.request_log.writes() == 0

    code, out = _run("seed", "apply", "--content", str(content_dir))
    assert code == 1 and "no terminal to ask on: run it again with --yes" in out
    assert sandbox.request_log.writes() == 0

    code, out = _run("seed", "apply", "--content", str(content_dir), "--yes")
    assert code == 0 and "done: 39 created" in out

    code, out = _run("seed", "apply", "--content", str(content_dir), "--yes")
    assert code == 0 and "already matches the content" in out

    edit(
        content_dir / "posts" / "support" / "guide-people.md",
        "### 4️⃣ Guide : trouver une",
        "### 4️⃣ Guide : retrouver une",
    )
    code, out = _run("seed", "plan", "--content", str(content_dir))
    assert "~ update post guide-people in ~support" in out
    assert "Plan: 1 to update, 38 unchanged, 3 skipped." in out

    code, out = _run("brand", "apply", "--content", str(content_dir), "--dry-run")
    assert code == 0 and "would set site name and brand text" in out


def test_brand_apply_speaks_the_operators_language(
    cli_context: EnvolContext, sandbox: Sandbox, content_dir: Path
) -> None:
    # Before `envol seed apply` the team does not exist: its step waits, and says why.
    code_fr, french = _run("brand", "apply", "--content", str(content_dir), "--dry-run",
                           language="fr")  # fmt: skip
    code_en, english = _run("brand", "apply", "--content", str(content_dir), "--dry-run")

    assert code_fr == code_en == 0
    assert "~ à mettre à jour : nom du site et texte de marque" in french
    assert "- en attente : équipe — l'équipe « " in french
    assert "» n'existe pas encore ; lancez d'abord `envol seed apply`" in french
    assert french.endswith("simulation : rien n'a été écrit.")
    assert "would set" not in french and "skipped" not in french
    assert "~ would set site name and brand text" in english
    assert "- skipped team — team '" in english and english.endswith("nothing was written.")
    assert sandbox.request_log.writes() == 0


def test_validate_lists_problems_and_fails(cli_context: EnvolContext, content_dir: Path) -> None:
    edit(content_dir / "branding.yaml", 'buttonBg: "#f28c28"', 'buttonBg: "#f28c2"')
    code, out = _run("seed", "validate", "--content", str(content_dir))
    assert code == 1
    assert "branding.yaml:" in out and "'#f28c2' is not a colour" in out


def test_valid_content_is_summed_up_in_the_operators_language(
    cli_context: EnvolContext, content_dir: Path
) -> None:
    code, french = _run("seed", "validate", "--content", str(content_dir), language="fr")
    french = french.replace("\u00a0", " ")

    assert code == 0
    assert "est valide : " in french and "8 canaux" in french
    assert french.endswith("en français et en anglais.") and "is valid" not in french


def test_validate_lists_the_problems_in_the_operators_language(
    cli_context: EnvolContext, content_dir: Path
) -> None:
    def french_validation() -> str:
        code, out = _run("seed", "validate", "--content", str(content_dir), language="fr")
        assert code == 1
        return out.replace("\u00a0", " ").replace("\u202f", " ")

    edit(content_dir / "branding.yaml", 'buttonBg: "#f28c28"', 'buttonBg: "#f28c2"')
    colour = french_validation()
    edit(content_dir / "spaces.yaml", "slug: ", "slgu: ")  # the first team's slug misspelt
    spaces = french_validation()

    assert "branding.yaml:" in colour and "buttonBg : « #f28c2 » n'est pas une couleur" in colour
    assert "écrivez-la #rrggbb, entre guillemets" in colour
    assert "spaces.yaml:3 : erreur : « slug » manque — ajoutez-le" in spaces
    assert "clé inconnue « slgu »" in spaces
    for out in (colour, spaces):
        assert "problème(s) dans" in out and "rien ne peut être appliqué" in out
        assert "is not" not in out and "unknown" not in out and "error" not in out


def test_apply_with_invalid_content_writes_nothing(
    cli_context: EnvolContext, sandbox: Sandbox, content_dir: Path
) -> None:
    edit(
        content_dir / "posts" / "welcome" / "start-here.md", "{{ launch_date }}", "{{ launch_day }}"
    )
    stderr = {}
    for language in ("en", "fr"):
        result = CliRunner(env={"ENVOL_LANG": language}).invoke(
            root, ["seed", "apply", "--content", str(content_dir)]
        )
        assert result.exit_code == 1
        stderr[language] = " ".join(result.stderr.replace("\u202f", " ").split())
    assert "posts/welcome/start-here.md:" in stderr["en"]
    assert "unknown template variable 'launch_day'" in stderr["en"]
    assert "posts/welcome/start-here.md:" in stderr["fr"]
    assert "variable de modèle inconnue « launch_day »" in stderr["fr"]
    assert "rien n'a été appliqué" in stderr["fr"] and "unknown" not in stderr["fr"]
    assert len(sandbox.request_log) == 0


def test_export_mattermost_import(
    cli_context: EnvolContext, content_dir: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out" / "import.jsonl"
    code, _ = _run(
        "seed",
        "export",
        "--content",
        str(content_dir),
        "--format",
        "mattermost-import",
        "--output",
        str(output),
    )
    assert code == 0
    lines = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert lines[0] == {"type": "version", "version": 1}
    kinds = [line["type"] for line in lines]
    assert kinds == ["version", "team"] + ["channel"] * 8 + ["post"] * 19
    assert lines[1]["team"]["name"] == "entreprise" and lines[1]["team"]["type"] == "I"
    posts = {line["post"]["props"]["envol_slug"]: line["post"] for line in lines[10:]}
    charter = posts["usage-charter"]
    assert charter["user"] == "claire.martin" and charter["is_pinned"] is True
    assert charter["attachments"] == [{"path": "data/charte-utilisation.pdf"}]
    assert (output.parent / "data" / "charte-utilisation.pdf").is_file()
    assert [r["user"] for r in posts["customer-projects-lessons"]["replies"]] == [
        "lucas.petit",
        "amina.diallo",
        "claire.martin",
    ]
    assert posts["start-here"]["user"] == "envol"
    stamps = [line["post"]["create_at"] for line in lines[10:]]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    # Deterministic: a second export gives the same post times (the importer's identity).
    _run(
        "seed",
        "export",
        "--content",
        str(content_dir),
        "--format",
        "mattermost-import",
        "--output",
        str(output),
    )
    again = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [line["post"]["create_at"] for line in again[10:]] == stamps


def _delete_seeded_post(cli_context: EnvolContext, sandbox: Sandbox, slug: str) -> None:
    with cli_context.sessions() as session:
        post_id = session.scalars(
            select(SeededObject.mattermost_id).where(
                SeededObject.kind == "post", SeededObject.slug == slug
            )
        ).one()
    token = cli_context.settings.mattermost_token.get_secret_value()
    with MattermostClient(sandbox.url, token, retry_budget_seconds=5) as client:
        client.delete_post(post_id)


def test_plan_and_apply_speak_the_operators_language(
    cli_context: EnvolContext, sandbox: Sandbox, content_dir: Path
) -> None:
    code, french = _run("seed", "plan", "--content", str(content_dir), language="fr")
    assert code == 0
    assert "+ créer canal ~bienvenue" in french
    assert "+ créer message start-here dans ~bienvenue" in french
    assert "remarque : les signets de canal demandent une licence Mattermost" in french
    assert "Plan : 39 à créer, 3 ignoré(s)." in french
    for english in ("create", "note:", "Channel bookmarks", "Plan:"):
        assert english not in french

    code, french = _run("seed", "apply", "--content", str(content_dir), "--yes", language="fr")
    assert code == 0 and "terminé : 39 créé(s)" in french

    _delete_seeded_post(cli_context, sandbox, "guide-apps")
    code, french = _run("seed", "plan", "--content", str(content_dir), language="fr")
    code_en, english = _run("seed", "plan", "--content", str(content_dir), language="en")
    assert code == code_en == 0
    assert (
        "! dérive message guide-apps dans ~support — supprimé dans Mattermost depuis la "
        "dernière application ; relancez avec --repair pour le rétablir"
    ) in french
    assert "1 modifié(s) dans Mattermost" in french and "drifted" not in french
    assert (
        "! drifted post guide-apps in ~support — deleted in Mattermost since the last apply; "
        "run with --repair to restore it"
    ) in english
    assert "1 drifted" in english

    code, french = _run("seed", "plan", "--content", str(content_dir), "--repair", language="fr")
    assert code == 0 and "↺ réparer message guide-apps dans ~support" in french
    assert "Plan : 1 à réparer, 38 inchangé(s), 3 ignoré(s)." in french


def test_a_template_error_quotes_jinja_inside_a_sentence_of_the_operators_language(
    cli_context: EnvolContext, content_dir: Path
) -> None:
    post = content_dir / "posts" / "welcome" / "start-here.md"
    edit(post, "{{ launch_date }}", "{{ launch_date }")
    outputs = {}
    for language in ("fr", "en"):
        result = CliRunner().invoke(
            root, ["--lang", language, "seed", "validate", "--content", str(content_dir)]
        )
        assert result.exit_code == 1
        outputs[language] = " ".join(result.output.split())
    french, english = outputs["fr"], outputs["en"]

    assert "posts/welcome/start-here.md:" in french
    assert (
        " : erreur : ce texte ne se lit pas comme un modèle ; Jinja, qui le lit, signale : "
        "« unexpected '}' » — vérifiez les {{ … }} et {% … %} autour de cette ligne"
    ) in french
    assert "template error" not in french
    assert ": error: template error: unexpected '}' — check the {{ … }} and {% … %}" in english


def test_an_unknown_filter_is_a_problem_at_its_line_not_a_crash(
    cli_context: EnvolContext, content_dir: Path
) -> None:
    post = content_dir / "posts" / "welcome" / "start-here.md"
    edit(post, "{{ launch_date }}", "{{ launch_date | poli }}")
    line = next(
        number
        for number, text in enumerate(post.read_text(encoding="utf-8").splitlines(), start=1)
        if "| poli" in text
    )
    code, french = _run("seed", "validate", "--content", str(content_dir), language="fr")

    assert code == 1
    assert (
        f"posts/welcome/start-here.md:{line} : erreur : ce texte ne se lit pas comme un modèle ; "
        "Jinja, qui le lit, signale : « No filter named 'poli'. »"
    ) in french


def test_a_broken_secrets_file_is_named_with_its_line_in_the_operators_language(
    cli_context: EnvolContext, sandbox: Sandbox, content_dir: Path, tmp_path: Path
) -> None:
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text("tokens:\n  claire.martin: abc\n  lucas.petit: [oops\n", encoding="utf-8")
    outputs = {}
    for language in ("fr", "en"):
        result = CliRunner().invoke(
            root,
            ["--lang", language, "seed", "apply", "--content", str(content_dir), "--yes",
             "--secrets", str(secrets)],
        )  # fmt: skip
        assert result.exit_code == 1
        outputs[language] = " ".join(result.stderr.split())

    assert (
        f"Erreur : {secrets}, ligne 4 : ce n'est pas du YAML valide ; le lecteur YAML signale : "
        "« expected ',' or ']', but got '<stream end>' ». Attendu : 'tokens:' puis des lignes "
        "'utilisateur: jeton'"
    ) in outputs["fr"]
    assert f"Error: {secrets}, line 4 is not valid YAML (expected ',' or ']'" in outputs["en"]
    assert sandbox.request_log.writes() == 0
