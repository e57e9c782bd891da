"""The support space end to end, over real HTTP: sandbox ⇄ Envol's webhooks ⇄ sandbox."""

from __future__ import annotations

from sqlalchemy import select

from plugin.support.models import SupportTicket, TicketStatus
from tests.support.world import SupportWorld


def _ticket(world: SupportWorld) -> SupportTicket:
    with world.context.sessions() as session:
        return session.scalars(select(SupportTicket)).one()


def test_request_with_faq_suggestions_then_posted_answered_and_resolved(
    support_world: SupportWorld,
) -> None:
    world = support_world
    alice, bob = world.alice, world.bob

    # 1. Alice types /envol support: the dialog opens, in French (her locale).
    alice.run_command(world.town_square_id, "/envol support")
    dialog = alice.last_dialog
    assert dialog.dialog["title"] == "Demander de l'aide"
    assert dialog.url == f"{world.app_url}/dialogs/support"

    # 2. She submits it; the FAQ has close answers, so they come first, in a DM.
    answer = alice.submit_dialog(
        {"category": "question", "description": "Je n'arrive pas à changer mes photos de profil"}
    )
    assert answer == {}
    assert world.tasks.run_all() == ["support.offer_suggestions"]
    suggestions = world.dm_posts(alice.user_id)[-1]
    titles = [a.get("title") for a in suggestions["props"]["attachments"]]
    assert "Comment changer ma photo de profil ?" in titles
    assert _ticket(world).status == TicketStatus.SUGGESTED

    # 3. Not enough for her: she sends it anyway; it is posted in ~support with the buttons.
    alice.click(
        suggestions["id"], alice.find_action(suggestions["id"], "Envoyer ma demande quand même")
    )
    assert "Envoyer ma demande quand même" not in str(world.dm_posts(alice.user_id)[-1])
    assert world.tasks.run_all() == ["support.post_ticket"]
    ticket = _ticket(world)
    assert ticket.status == TicketStatus.OPEN and ticket.root_post_id
    root = next(
        p
        for p in world.sandbox.posts_in(world.support_channel_id)
        if p["id"] == ticket.root_post_id
    )
    assert "@alice" in root["message"]
    assert "photos de profil" in root["props"]["attachments"][0]["text"]

    # 4. Bob, an animator, takes it: the post shows who, through the action's update.
    bob.click(root["id"], bob.find_action(root["id"], "Je m'en occupe"))
    ticket = _ticket(world)
    assert ticket.status == TicketStatus.TAKEN and ticket.assignee_user_id == bob.user_id
    taken = next(
        p for p in world.sandbox.posts_in(world.support_channel_id) if p["id"] == root["id"]
    )
    assert "@bob" in str(taken["props"]["attachments"][0]["fields"])

    # 5. He answers through the answer dialog; Alice gets the answer by DM.
    bob.click(root["id"], bob.find_action(root["id"], "Répondre"))
    assert bob.last_dialog.dialog["callback_id"] == "ticket_answer"
    assert bob.submit_dialog({"answer": "Profil > Photo de profil > Modifier."}) == {}
    world.tasks.run_all()
    assert _ticket(world).status == TicketStatus.ANSWERED
    assert "Profil > Photo de profil > Modifier." in world.dm_posts(alice.user_id)[-1]["message"]

    # 6. He resolves it; Alice is told, once, even if the notification task runs again.
    bob.click(root["id"], bob.find_action(root["id"], "Résolu"))
    world.tasks.run_all()
    ticket = _ticket(world)
    assert ticket.status == TicketStatus.RESOLVED and ticket.resolved_by == bob.user_id
    dms = world.dm_posts(alice.user_id)
    assert "est résolue" in dms[-1]["message"]
    from plugin.support.tasks import notify_requester

    notify_requester(ticket.id)
    assert len(world.dm_posts(alice.user_id)) == len(dms)


def test_this_answered_my_question_closes_the_request(support_world: SupportWorld) -> None:
    world = support_world
    carol = world.carol
    carol.run_command(world.town_square_id, "/envol support")
    assert carol.last_dialog.dialog["title"] == "Ask for help"  # her locale is English
    carol.submit_dialog({"category": "question", "description": "I forgot my password, help"})
    world.tasks.run_all()
    dm = world.dm_posts(carol.user_id)[-1]
    carol.click(dm["id"], carol.find_action(dm["id"], "This answered my question"))
    ticket = _ticket(world)
    assert ticket.status == TicketStatus.SELF_SERVED and ticket.faq_slug == "password"
    assert world.tasks.run_all() == []  # nothing reaches the animators
    assert world.sandbox.posts_in(world.support_channel_id) == []


def test_a_request_without_close_answer_goes_straight_to_the_animators(
    support_world: SupportWorld,
) -> None:
    world = support_world
    world.alice.run_command(world.town_square_id, "/aide support")
    world.alice.submit_dialog(
        {"category": "difficulty", "description": "La cantine du site de Lyon est fermée vendredi"}
    )
    assert world.tasks.run_all() == ["support.post_ticket"]
    assert len(world.sandbox.posts_in(world.support_channel_id)) == 1
    # She is told it went to the animators.
    assert "transmise aux animateurs" in world.dm_posts(world.alice.user_id)[-1]["message"]
