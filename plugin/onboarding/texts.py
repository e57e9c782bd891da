"""Rendering the bot's messages from ``messages.yaml`` in the reader's language."""

from __future__ import annotations

from pathlib import Path

from plugin import i18n
from plugin.invitations.environment import CycleEnvironment
from plugin.onboarding.profile import CHECKLIST

MESSAGES = Path(__file__).with_name("messages.yaml")


def render(key: str, language: str, **values: object) -> str:
    return i18n.load_catalogue(MESSAGES).render(key, language, **values)


def checklist_labels(language: str) -> dict[str, str]:
    return {item: render(f"item_{item}", language) for item, _ in CHECKLIST}


def profile_how(env: CycleEnvironment, language: str) -> str:
    # Mattermost has no URL that opens the Profile dialog: link the network and say the two
    # clicks that open it.
    return render("profile_how", language, profile_url=env.targets.links.team_url)
