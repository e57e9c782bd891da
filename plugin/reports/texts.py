"""The reports' message catalogue, in French (default) and English."""

from __future__ import annotations

from typing import Literal

Lang = Literal["fr", "en"]

TEXTS: dict[str, dict[str, str]] = {
    "title": {"fr": "Adoption du réseau — {company}", "en": "Network adoption — {company}"},
    "snapshot_of": {"fr": "Instantané du {day}", "en": "Snapshot of {day}"},
    "chart_funnel": {"fr": "Entonnoir par cohorte", "en": "Funnel per cohort"},
    "chart_weekly": {
        "fr": "Actifs sur 7 jours (% des inscrits), dans le temps",
        "en": "Weekly active (% of joined), over time",
    },
    "chart_profiles": {
        "fr": "Profils complets par service (% des inscrits)",
        "en": "Complete profiles by department (% of joined)",
    },
    "chart_survey": {
        "fr": "Questionnaire de lancement (moyenne sur 5)",
        "en": "Launch survey (mean out of 5)",
    },
    "percent_of_cohort": {"fr": "% de la cohorte", "en": "% of the cohort"},
    "percent_of_joined": {"fr": "% des inscrits", "en": "% of joined"},
    "score": {"fr": "score (1 à 5)", "en": "score (1 to 5)"},
    "everyone": {"fr": "Tout le monde", "en": "Everyone"},
    "no_data": {"fr": "Pas encore de données", "en": "No data yet"},
    "things_to_act_on": {"fr": "Trois choses à faire", "en": "Three things to act on"},
    "nothing_to_act_on": {
        "fr": "Rien d'urgent cette semaine : tous les seuils sont tenus.",
        "en": "Nothing urgent this week: every threshold holds.",
    },
    "weekly_title": {
        "fr": "**Rapport d'adoption — semaine {week}** (instantané du {day})",
        "en": "**Adoption report — week {week}** (snapshot of {day})",
    },
    "weekly_summary": {
        "fr": "Inscrits : {joined}/{invited} invités ({activation}) · actifs 7 j : {active} · "
        "profils complets : {profiles} · contributeurs 7 j : {contributors}",
        "en": "Joined: {joined}/{invited} invited ({activation}) · active 7 days: {active} · "
        "complete profiles: {profiles} · contributors 7 days: {contributors}",
    },
    "weekly_footer": {
        "fr": "Le rapport complet : `envol report --html rapport.html`.",
        "en": "The full report: `envol report --html report.html`.",
    },
    "table_funnel": {"fr": "Entonnoir", "en": "Funnel"},
    "table_spaces": {"fr": "Publications par espace", "en": "Posts per space"},
    "table_support": {"fr": "Support", "en": "Support"},
    "group": {"fr": "Groupe", "en": "Group"},
    "population": {"fr": "personnes", "en": "people"},
    "space": {"fr": "Espace", "en": "Space"},
    "posts_7d": {"fr": "messages (7 j)", "en": "posts (7 days)"},
    "replies_7d": {"fr": "réponses (7 j)", "en": "replies (7 days)"},
    "posts_28d": {"fr": "messages (28 j)", "en": "posts (28 days)"},
    "contributors_7d": {"fr": "contributeurs (7 j)", "en": "contributors (7 days)"},
    "tickets_opened": {"fr": "demandes ouvertes", "en": "requests opened"},
    "tickets_resolved": {"fr": "demandes résolues", "en": "requests resolved"},
    "survey_responses": {"fr": "réponses au questionnaire", "en": "survey answers"},
    "dimension_all": {"fr": "Ensemble", "en": "Overall"},
    "dimension_cohort": {"fr": "Par cohorte", "en": "Per cohort"},
    "dimension_wave": {"fr": "Par vague", "en": "Per wave"},
    "dimension_department": {"fr": "Par service", "en": "Per department"},
    "dimension_site": {"fr": "Par site", "en": "Per site"},
    "dimension_manager": {"fr": "Par manager (équipe directe)", "en": "Per manager (direct team)"},
    "former_manager": {"fr": "(manager effacé)", "en": "(forgotten manager)"},
    # Things to act on: {name} is a group's name, {value} a formatted measure.
    "act_profiles": {
        "fr": "{name} a {value} de profils complets : demandez à ses managers de rappeler "
        "photo et fonction à leur équipe.",
        "en": "{name} has {value} profiles complete: ask its managers to remind their team to "
        "add a picture and a job title.",
    },
    "act_activation": {
        "fr": "{name} : seulement {value} des invités ont rejoint — relancez les invitations "
        "et vérifiez les adresses.",
        "en": "{name}: only {value} of the invited people joined — send the reminders and check "
        "the addresses.",
    },
    "act_weekly_active": {
        "fr": "{name} : {value} d'actifs cette semaine — proposez un rendez-vous d'animation "
        "ou un contenu utile à leur métier.",
        "en": "{name}: {value} active this week — plan an animation session or content useful "
        "to their work.",
    },
    "act_manager_team": {
        "fr": "L'équipe de {name} : {value} d'actifs cette semaine — un mot du manager aidera.",
        "en": "{name}'s team: {value} active this week — a word from the manager will help.",
    },
    "act_support": {
        "fr": "{value} demandes de support attendent une réponse : répondez-y dans l'espace "
        "d'aide.",
        "en": "{value} support requests await an answer: answer them in the support space.",
    },
    "act_survey": {
        "fr": "« {name} » obtient {value}/5 au questionnaire : réexpliquez-le lors de la "
        "prochaine réunion d'équipe.",
        "en": '"{name}" scores {value}/5 in the survey: explain it again at the next team meeting.',
    },
    "act_quiet_space": {
        "fr": "L'espace {name} n'a eu aucun message cette semaine : demandez à son animateur "
        "de publier.",
        "en": "The space {name} had no post this week: ask its animator to post.",
    },
}


def t(key: str, lang: Lang, **values: object) -> str:
    """The text for ``key`` in ``lang`` with ``values`` filled in."""
    return TEXTS[key][lang].format(**values)


def pct(value: float | None) -> str:
    """A rate for people: ``42 %`` (French spacing in both languages keeps tables aligned)."""
    return "—" if value is None else f"{value:.0f} %"
