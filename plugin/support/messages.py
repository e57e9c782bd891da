"""What the support space says to people, in French and English."""

from __future__ import annotations

from typing import Any

CATALOGUE: dict[str, dict[str, str]] = {
    "category.difficulty": {"fr": "Difficulté", "en": "Difficulty"},
    "category.question": {"fr": "Question", "en": "Question"},
    "category.idea": {"fr": "Idée d'amélioration", "en": "Improvement idea"},
    "dialog.title": {"fr": "Demander de l'aide", "en": "Ask for help"},
    "dialog.intro": {
        "fr": "Décrivez votre difficulté, votre question ou votre idée. Nous vous proposerons "
        "d'abord les réponses les plus proches de la FAQ.",
        "en": "Describe your difficulty, question or idea. We will first show you the closest "
        "answers from the FAQ.",
    },
    "dialog.category": {"fr": "Catégorie", "en": "Category"},
    "dialog.description": {"fr": "Description", "en": "Description"},
    "dialog.description.help": {
        "fr": "Ce que vous cherchiez à faire et ce qui s'est passé.",
        "en": "What you were trying to do and what happened.",
    },
    "dialog.submit": {"fr": "Envoyer", "en": "Send"},
    "dialog.error.category": {
        "fr": "Choisissez une catégorie.",
        "en": "Choose a category.",
    },
    "dialog.error.description": {
        "fr": "Décrivez votre demande en au moins 10 caractères.",
        "en": "Describe your request in at least 10 characters.",
    },
    "suggest.intro": {
        "fr": "Avant de transmettre votre demande aux animateurs, ces réponses de la FAQ "
        "peuvent-elles vous aider ?",
        "en": "Before your request goes to the animators, can these FAQ answers help?",
    },
    "suggest.answered": {"fr": "Cela répond à ma question", "en": "This answered my question"},
    "suggest.post": {"fr": "Envoyer ma demande quand même", "en": "Send my request anyway"},
    "suggest.closed": {
        "fr": "Parfait, votre demande est close. N'hésitez pas à revenir avec `/envol support`.",
        "en": "Great, your request is closed. Come back any time with `/envol support`.",
    },
    "suggest.posted": {
        "fr": "Votre demande est transmise aux animateurs ; vous serez prévenu de leur réponse.",
        "en": "Your request went to the animators; you will be told when they answer.",
    },
    "ack.no_suggestion": {
        "fr": "Merci ! Votre demande est transmise aux animateurs ; vous serez prévenu de leur "
        "réponse.",
        "en": "Thank you! Your request went to the animators; you will be told when they answer.",
    },
    "ack.suggestions": {
        "fr": "Merci ! Regardez vos messages directs : des réponses de la FAQ vous y attendent.",
        "en": "Thank you! Check your direct messages: some FAQ answers are waiting for you.",
    },
    "ticket.header": {
        "fr": "**{category} n°{id}** de @{requester}",
        "en": "**{category} #{id}** from @{requester}",
    },
    "ticket.take": {"fr": "Je m'en occupe", "en": "Take it"},
    "ticket.answer": {"fr": "Répondre", "en": "Answer"},
    "ticket.resolve": {"fr": "Résolu", "en": "Resolve"},
    "ticket.faq": {"fr": "Ajouter à la FAQ", "en": "Turn into a FAQ entry"},
    "ticket.status.open": {"fr": "En attente d'un animateur", "en": "Waiting for an animator"},
    "ticket.status.taken": {"fr": "Pris en charge par @{who}", "en": "Taken by @{who}"},
    "ticket.status.answered": {"fr": "Répondu par @{who}", "en": "Answered by @{who}"},
    "ticket.status.resolved": {"fr": "Résolu par @{who}", "en": "Resolved by @{who}"},
    "ticket.votes": {"fr": "{count} vote(s)", "en": "{count} vote(s)"},
    "ticket.idea_hint": {
        "fr": "Votez pour cette idée avec une réaction 👍.",
        "en": "Vote for this idea with a 👍 reaction.",
    },
    "answer.dialog.title": {"fr": "Répondre à la demande", "en": "Answer the request"},
    "answer.dialog.answer": {"fr": "Réponse", "en": "Answer"},
    "faq.dialog.title": {"fr": "Nouvelle entrée de FAQ", "en": "New FAQ entry"},
    "faq.dialog.question": {"fr": "Question", "en": "Question"},
    "faq.dialog.answer": {"fr": "Réponse", "en": "Answer"},
    "faq.added": {
        "fr": "Entrée de FAQ « {question} » ajoutée par @{who}.",
        "en": "FAQ entry “{question}” added by @{who}.",
    },
    "dm.answered": {
        "fr": "Les animateurs ont répondu à votre demande n°{id} :\n\n{answer}",
        "en": "The animators answered your request #{id}:\n\n{answer}",
    },
    "dm.resolved": {
        "fr": "Votre demande n°{id} est résolue. Merci de votre patience !",
        "en": "Your request #{id} is resolved. Thank you for your patience!",
    },
    "reminder": {
        "fr": "{mentions} cette demande attend une réponse depuis {hours} h.",
        "en": "{mentions} this request has been waiting for an answer for {hours} h.",
    },
    "not_animator": {
        "fr": "Seuls les animateurs du support peuvent faire cela.",
        "en": "Only support animators can do that.",
    },
    "already_closed": {
        "fr": "Cette demande est déjà close.",
        "en": "This request is already closed.",
    },
}


def t(key: str, language: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (French when the language is unknown)."""
    texts = CATALOGUE[key]
    template = texts.get(language) or texts["fr"]
    return template.format(**params) if params else template
