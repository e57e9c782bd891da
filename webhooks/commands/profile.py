"""``/envol profile``: your profile checklist and score, read from Mattermost."""

from __future__ import annotations

from typing import Any

from webhooks.commands.registry import Invocation, Reply, SubCommand

CHECKS: tuple[tuple[str, dict[str, str]], ...] = (
    ("first_name", {"fr": "Prénom", "en": "First name"}),
    ("last_name", {"fr": "Nom", "en": "Last name"}),
    ("position", {"fr": "Poste", "en": "Position"}),
    ("picture", {"fr": "Photo de profil", "en": "Profile picture"}),
    ("nickname", {"fr": "Surnom", "en": "Nickname"}),
)
TEXTS = {
    "title": {"fr": "**Votre profil : {score} %**", "en": "**Your profile: {score}%**"},
    "done": {
        "fr": "Bravo, votre profil est complet : vos collègues vous trouvent facilement.",
        "en": "Well done, your profile is complete: colleagues find you easily.",
    },
    "todo": {
        "fr": "Complétez-le dans **Profil** (votre photo en haut à droite).",
        "en": "Complete it under **Profile** (your picture at the top right).",
    },
    "unavailable": {
        "fr": "Votre profil n'a pas pu être lu pour l'instant ; réessayez dans un moment.",
        "en": "Your profile could not be read right now; try again in a moment.",
    },
}


def profile_checklist(user: dict[str, Any]) -> list[tuple[str, bool]]:
    """Each item of a complete profile and whether it is filled in."""

    def filled(name: str) -> bool:
        if name == "picture":
            return bool(user.get("last_picture_update"))
        return bool(str(user.get(name) or "").strip())

    return [(name, filled(name)) for name, _ in CHECKS]


def profile_score(user: dict[str, Any]) -> int:
    checklist = profile_checklist(user)
    return round(100 * sum(done for _, done in checklist) / len(checklist))


def run(invocation: Invocation) -> Reply:
    user = invocation.integration.users.get(invocation.request.user_id, fresh=True)
    if user is None:
        return Reply(invocation.say(TEXTS["unavailable"]))
    labels = dict(CHECKS)
    lines = [invocation.say(TEXTS["title"], score=profile_score(user))]
    checklist = profile_checklist(user)
    for name, done in checklist:
        lines.append(
            f"- {':white_check_mark:' if done else ':white_large_square:'} "
            f"{invocation.say(labels[name])}"
        )
    lines.append(invocation.say(TEXTS["done"] if all(d for _, d in checklist) else TEXTS["todo"]))
    return Reply("\n".join(lines))


COMMAND = SubCommand(
    name="profile",
    aliases=("profil",),
    usage={"fr": "profile", "en": "profile"},
    description={
        "fr": "ce qu'il reste à remplir dans votre profil, et votre score",
        "en": "what is left to fill in on your profile, and your score",
    },
    hint="",
    handler=run,
)
