"""What a person sees when Envol refuses a request, through the sandbox, which shows only what
Mattermost shows: a 200 answer's sentence, or the server's own message for anything else."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from itsdangerous.timed import TimestampSigner

from plugin import i18n
from plugin.demo.person import CallFailed
from plugin.security.service import Signer
from plugin.support import service as support
from plugin.support.models import TicketCategory
from plugin.typography import NNBSP
from tests.support.world import SECRET, SupportWorld
from webhooks.answers import MESSAGES

WEBHOOKS = Path(__file__).resolve().parents[2] / "webhooks"


def _ticket_post(world: SupportWorld, context: Callable[[int], str]) -> str:
    """A post in ~support with one ticket button whose signed context is ``context(ticket)``."""
    with world.context.sessions.begin() as session:
        outcome = support.submit_request(
            session,
            user_id=world.alice.user_id,
            category=TicketCategory.QUESTION,
            description="Le badge du parking de Lyon ne marche plus",
            language="fr",
        )
        ticket_id = outcome.ticket.id
    action = {
        "id": "take",
        "name": "Take",
        "type": "button",
        "integration": {
            "url": f"{world.app_url}/actions/ticket",
            "context": {"signed": context(ticket_id)},
        },
    }
    post = world.client.create_post(
        world.support_channel_id, "Une demande", props={"attachments": [{"actions": [action]}]}
    )
    return str(post["id"])


def test_an_expired_button_tells_the_person_what_to_do(
    support_world: SupportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = support_world

    def signed_90_days_ago(ticket_id: int) -> str:
        with monkeypatch.context() as patched:
            real = TimestampSigner.get_timestamp
            patched.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 90 * 86400)
            return Signer(SECRET).sign("ticket", "*", {"t": ticket_id, "a": "take"})

    post_id = _ticket_post(world, signed_90_days_ago)
    world.bob.click(post_id, "take")
    [said] = world.ephemeral_texts(world.bob)
    assert said.startswith("This button or form has expired. Run the command again")
    assert world.sandbox.errors_shown_to(world.bob.user_id) == []


def test_a_tampered_button_gets_mattermosts_generic_error_and_nothing_from_envol(
    support_world: SupportWorld,
) -> None:
    world = support_world

    def tampered(ticket_id: int) -> str:
        genuine = Signer(SECRET).sign("ticket", "*", {"t": ticket_id, "a": "take"})
        return genuine[:3] + ("A" if genuine[3] != "A" else "B") + genuine[4:]

    post_id = _ticket_post(world, tampered)
    with pytest.raises(CallFailed) as refused:
        world.bob.click(post_id, "take")
    assert refused.value.status_code == 400
    assert world.sandbox.errors_shown_to(world.bob.user_id) == ["Action integration error."]
    assert world.ephemeral_texts(world.bob) == []


def test_a_command_longer_than_a_post_is_refused_in_the_persons_language(
    support_world: SupportWorld,
) -> None:
    world = support_world
    world.alice.run_command(world.town_square_id, "/envol " + "a" * 16384)
    [said] = world.ephemeral_texts(world.alice)
    assert said.startswith(
        f"Votre texte compte 16384 caractères{NNBSP}; Mattermost en accepte 16383"
    )


def test_a_command_with_a_stale_token_gets_the_servers_message(
    support_world: SupportWorld,
) -> None:
    """Someone regenerated the command's token in Mattermost: Envol refuses (401) and the
    person sees only the server's sentence, never Envol's body."""
    world = support_world
    command = next(c for c in world.sandbox.state.commands.values() if c["trigger"] == "envol")
    command["token"] = "x" * 26
    with pytest.raises(CallFailed):
        world.carol.run_command(world.town_square_id, "/envol help")
    assert world.sandbox.errors_shown_to(world.carol.user_id) == [
        "Command with a trigger of 'envol' returned response 401 UNAUTHORIZED."
    ]


def test_every_refusal_key_is_in_the_catalogue_in_both_languages() -> None:
    used = set()
    for path in WEBHOOKS.rglob("*.py"):
        used |= set(re.findall(r'PersonNotice\(\s*"([a-z_.]+)"', path.read_text()))
    used |= {"refused.expired", "refused.already_sent", "refused.failed", "refused.unavailable"}
    catalogue = i18n.load_catalogue(MESSAGES)
    assert used <= catalogue.keys
    assert catalogue.keys <= used  # no dead sentence
