"""A broken plan's problems are in the reader's language, each with its file and line:
``envol campaign validate`` in the operator's (``ENVOL_LANG``, ``--lang``), the refusal to load
it in whoever reads it; pydantic's own English never reaches a French reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session

from plugin import clock
from plugin.app import EnvolContext
from plugin.campaigns.plan import load_plan, read_plan
from plugin.campaigns.rendering import RenderSettings
from plugin.campaigns.validation import check_plan
from plugin.cli import root
from plugin.db import transaction
from plugin.errors import ValidationFailed
from plugin.launch_files import load_yaml, pydantic_problems
from tests.campaigns.conftest import (
    LAUNCH,
    PLANNING_TIME,
    Roster,
    add_roster,
    break_plan,
    edit,
    line_of,
    plain,
)


def test_each_problem_of_a_broken_plan_is_worded_in_french_and_english(plan_copy: Path) -> None:
    lines = break_plan(plan_copy)
    plan, problems = read_plan(plan_copy)
    assert plan is None
    french = [plain(problem.localized("fr")) for problem in problems]
    english = [problem.localized("en") for problem in problems]

    assert french == [
        f"plan.yaml:{lines['langue']} : erreur : clé inconnue « langue » — vérifiez son "
        "orthographe, ou retirez-la (les clés sont décrites dans "
        "seed_content/campaign/README.md) [langue]",
        f"plan.yaml:{lines['mandatory']} : erreur : étape « teaser-1 » : mandatory : true ou "
        "false est attendu [steps[0].mandatory]",
        f"plan.yaml:{lines['when']} : erreur : étape « teaser-2 » : when : 'J40' n'est pas un "
        "jour : écrivez J-30 (ou D-30), J0, J+7 ou AAAA-MM-JJ [steps[1].when]",
    ]
    assert english == [
        f"plan.yaml:{lines['langue']}: error: unknown key 'langue' — check its spelling, or "
        "remove it (see seed_content/campaign/README.md for the keys) [langue]",
        f"plan.yaml:{lines['mandatory']}: error: step 'teaser-1': mandatory: true or false is "
        "expected [steps[0].mandatory]",
        f"plan.yaml:{lines['when']}: error: step 'teaser-2': when: 'J40' is not a day: write "
        "J-30 (or D-30), J0, J+7 or YYYY-MM-DD [steps[1].when]",
    ]
    assert english == [str(problem) for problem in problems]  # logs keep English


def test_the_refusal_to_load_a_broken_plan_is_worded_for_its_reader(plan_copy: Path) -> None:
    lines = break_plan(plan_copy)
    with pytest.raises(ValidationFailed) as raised:
        load_plan(plan_copy)
    refusal = raised.value

    assert plain(refusal.localized("fr")).startswith(
        f"le plan de campagne dans {plan_copy} : 3 erreurs à corriger, puis lancez "
        "`envol campaign validate`."
    )
    assert refusal.localized("en").startswith(f"the campaign plan in {plan_copy} has 3 error(s)")
    french = " ".join(plain(problem) for problem in refusal.localized_problems("fr"))
    assert f"plan.yaml:{lines['when']} : erreur : étape « teaser-2 »" in french
    assert "is not" not in french and "error" not in french
    # What code and tests read as text stays English.
    assert str(refusal.problems[0]).startswith(f"plan.yaml:{lines['langue']}: error: unknown key")


def _validate(plan_dir: Path, *, env: str | None, option: str | None = None) -> tuple[int, str]:
    args = ["--lang", option] if option else []
    runner = CliRunner(env={"ENVOL_LANG": env} if env else {})
    result = runner.invoke(root, [*args, "campaign", "validate", "--plan", str(plan_dir)])
    return result.exit_code, plain(result.output)


def test_campaign_validate_lists_the_problems_in_the_operators_language(
    envol_context: EnvolContext, plan_copy: Path
) -> None:
    lines = break_plan(plan_copy)
    clock.set_source(clock.FrozenClock(PLANNING_TIME))
    try:
        french_code, french = _validate(plan_copy, env="fr")
        english_code, english = _validate(plan_copy, env="en")
        option_code, chosen = _validate(plan_copy, env="fr", option="en")
    finally:
        clock.reset()

    assert french_code == english_code == option_code == 1
    assert f"plan.yaml:{lines['when']} : erreur : étape « teaser-2 » : when : 'J40'" in french
    assert f"plan.yaml:{lines['mandatory']} : erreur :" in french
    assert "true ou false est attendu" in french
    assert "le plan n'est pas valide (erreurs dans les fichiers" in french
    assert "Input should" not in french and "is not a day" not in french

    assert f"plan.yaml:{lines['when']}: error: step 'teaser-2': when: 'J40' is not a day" in english
    assert "the plan is not valid (errors in the files" in english
    assert f"plan.yaml:{lines['langue']}: error: unknown key 'langue'" in chosen


@pytest.mark.parametrize(
    ("yaml_text", "line", "french", "english"),
    [
        ("name: [a]\nsize: 3\n", 1, "name : un texte est attendu", "name: a text is expected"),
        ("name: a\nsize: beaucoup\n", 2, "size : un nombre entier est attendu",
         "size: a whole number is expected"),
        ("size: 3\n", 1, "« name » manque — ajoutez-le", "'name' is missing — add it"),
        ("name: abcdefghijk\nsize: 3\n", 1, "name : 10 caractères au plus",
         "name: at most 10 characters"),
        ("name: a\nsize: 3\nkind: grand\n", 3, "kind : valeur attendue : 'small' ou 'big'",
         "kind: expected 'small' or 'big'"),
        # Not worded by Envol: a generic sentence that still names the field, at its line.
        ("name: a\nsize: 3\nratio: [1]\n", 3, "ratio : cette valeur n'est pas acceptée",
         "ratio: Decimal input should be"),
    ],
)  # fmt: skip
def test_pydantic_errors_are_worded_from_their_type_and_context(
    yaml_text: str, line: int, french: str, english: str
) -> None:
    import decimal
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class Shape(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str = Field(max_length=10)
        size: int
        kind: Literal["small", "big"] = "small"
        ratio: decimal.Decimal = decimal.Decimal(1)

    data, line_map, _ = load_yaml(yaml_text, "shape.yaml")
    with pytest.raises(ValidationError) as raised:
        Shape.model_validate(data)
    (problem,) = pydantic_problems(raised.value, line_map, docs="README.md")

    assert problem.line == line
    assert french in plain(problem.localized("fr"))
    assert english in problem.localized("en")
    assert problem.localized("fr").startswith(f"shape.yaml:{problem.line}\u00a0: erreur")


def test_rules_that_need_the_roster_and_the_templates_speak_french_too(
    db_session: Session, roster: Roster, render_settings: RenderSettings, plan_copy: Path
) -> None:
    template = plan_copy / "templates" / "teaser-2.en.md"
    edit(template, "Hello {{ person.first_name }},", "Hello {{ weather }},")
    edit(plan_copy / "plan.yaml", "    when: J-32\n", "    when: J-25\n")
    report = check_plan(
        db_session,
        plan_copy,
        launch_date=LAUNCH,
        now=PLANNING_TIME,
        settings=render_settings,
        default_from="envol@exemple.fr",
    )
    french = [plain(problem.localized("fr")) for problem in report.errors]

    weather = line_of(template, "weather")
    assert any(
        text.startswith(
            f"templates/teaser-2.en.md:{weather} : erreur : variable inconnue « weather »"
        )
        and "variables connues : " in text
        for text in french
    ), french
    announcement = line_of(plan_copy / "plan.yaml", "J-25")
    assert any(
        text.startswith(
            f"plan.yaml:{announcement} : erreur : l'annonce officielle (« announcement », "
            "2027-02-04) ne vient que 25 jours avant le lancement (2027-03-01) ; chacun doit être "
            "prévenu au moins 30 jours à l'avance — avancez-la"
        )
        for text in french
    ), french
    assert not any("unknown" in text or "official" in text for text in french)


def test_jinja_and_yaml_words_are_quoted_in_a_sentence_of_the_operators_language(
    envol_context: EnvolContext, plan_copy: Path
) -> None:
    """What Jinja or PyYAML says has no translation: it is quoted, after the file, the line
    and what is wrong said in the reader's language, and before what to do."""
    with transaction(envol_context.sessions) as session:
        add_roster(session)  # recipients, so that the templates are rendered
    teaser_1 = plan_copy / "templates" / "teaser-1.fr.md"
    teaser_2 = plan_copy / "templates" / "teaser-2.fr.md"
    edit(teaser_1, "Bonjour {{ person.first_name }},", "Bonjour {{ person.first_name | poli }},")
    edit(teaser_2, "Bonjour {{ person.first_name }},", "Bonjour {{ person.first_name + 1 }},")
    clock.set_source(clock.FrozenClock(PLANNING_TIME))
    try:
        code_fr, french = _validate(plan_copy, env="fr")
        code_en, english = _validate(plan_copy, env="en")
    finally:
        clock.reset()

    line_1, line_2 = line_of(teaser_1, "| poli"), line_of(teaser_2, "+ 1")
    assert code_fr == code_en == 1
    assert (
        f"templates/teaser-1.fr.md:{line_1} : erreur : la syntaxe du modèle est incorrecte ; "
        "Jinja, qui le lit, signale : « No filter named 'poli'. » — vérifiez les {{ }} et les "
        "{% %}"
    ) in french
    assert f"templates/teaser-2.fr.md:{line_2} : erreur : le modèle ne se génère pas" in french
    assert "; Jinja signale : « can only concatenate str" in french
    assert "corrigez le modèle autour de cette ligne" in french
    assert "template syntax" not in french and "fails to render" not in french
    assert f"templates/teaser-1.fr.md:{line_1}: error: template syntax: No filter named" in english
    assert f"templates/teaser-2.fr.md:{line_2}: error: fails to render" in english


def test_a_yaml_syntax_error_is_framed_in_the_operators_language(
    envol_context: EnvolContext, plan_copy: Path
) -> None:
    plan_file = plan_copy / "plan.yaml"
    edit(plan_file, "    when: J-40\n", "    when: [J-40\n")  # a list never closed
    code_fr, french = _validate(plan_copy, env="fr")
    code_en, english = _validate(plan_copy, env="en")

    opened = line_of(plan_file, "[J-40")
    assert code_fr == code_en == 1
    assert (
        f"plan.yaml:{opened + 1} : erreur : YAML incorrect ; le lecteur YAML signale : "
        f"« expected ',' or ']', but got ':' » (ce qui l'a ouvert est à la ligne {opened}) — "
        "vérifiez l'indentation, les deux-points et les guillemets autour de cette ligne"
    ) in french
    assert (
        f"plan.yaml:{opened + 1}: error: invalid YAML: expected ',' or ']', but got ':' "
        f"(while parsing a flow sequence started at line {opened}) — check the indentation"
    ) in english
