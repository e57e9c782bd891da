"""Support requests beyond the happy path: reminders, idea votes, FAQ entries, permissions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, queue
from plugin import tasks as envol_tasks
from plugin.support import service
from plugin.support.models import SupportTicket, TicketCategory, TicketStatus
from plugin.support.tasks import count_idea_votes, remind_animators
from tests.support.world import SupportWorld


def _posted_ticket(
    world: SupportWorld,
    category: TicketCategory = TicketCategory.DIFFICULTY,
    text: str = "Le badge du parking de Lyon ne marche plus",
) -> int:
    with world.context.sessions.begin() as session:
        ticket_id = service.submit_request(
            session, user_id=world.alice.user_id, category=category, description=text, language="fr"
        ).ticket.id
    world.tasks.run_all()
    return ticket_id


def test_unanswered_requests_remind_the_animators_once_per_delay(
    support_world: SupportWorld,
    frozen_clock: clock.FrozenClock,
) -> None:
    world = support_world
    ticket_id = _posted_ticket(world)
    with world.context.sessions() as session:
        root = service.get_ticket(session, ticket_id).root_post_id
    assert root is not None

    def replies() -> list[str]:
        return [
            p["message"]
            for p in world.sandbox.posts_in(world.support_channel_id)
            if p.get("root_id") == root
        ]

    frozen_clock.advance(dt.timedelta(hours=23))
    assert remind_animators() == 0
    frozen_clock.advance(dt.timedelta(hours=2))
    assert remind_animators() == 1
    assert remind_animators() == 0  # a second beat in the same period sends nothing
    assert len(replies()) == 1 and "@bob" in replies()[0]
    frozen_clock.advance(dt.timedelta(hours=25))
    assert remind_animators() == 1
    assert len(replies()) == 2

    world.bob.click(root, world.bob.find_action(root, "Je m'en occupe"))
    frozen_clock.advance(dt.timedelta(hours=48))
    assert remind_animators() == 0  # taken: the animators know


def test_ideas_go_to_the_ideas_channel_and_count_votes(support_world: SupportWorld) -> None:
    world = support_world
    world.alice.run_command(world.town_square_id, "/envol idée un canal pour le covoiturage")
    assert "idée n°" in world.ephemeral_texts(world.alice)[-1]
    world.tasks.run_all()
    [post] = [p for p in world.sandbox.posts_in(world.ideas_channel_id) if not p.get("root_id")]
    for user in (world.bob, world.carol):
        user.react(post["id"], "+1")
    world.carol.react(post["id"], "heart")  # one person, one vote
    assert count_idea_votes() == 1
    with world.context.sessions() as session:
        idea = session.scalars(select(SupportTicket)).one()
    assert idea.category == TicketCategory.IDEA and idea.vote_count == 2
    assert count_idea_votes() == 0  # unchanged


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("alice", "Décrivez votre demande en 10 à 3000 caractères.", id="fr"),
        pytest.param("carol", "Describe your request in 10 to 3000 characters.", id="en"),
    ],
)
def test_an_idea_too_long_is_refused_in_the_persons_language(
    support_world: SupportWorld, who: str, expected: str
) -> None:
    world = support_world
    person = getattr(world, who)
    person.run_command(world.town_square_id, "/envol idée " + "covoiturage " * 300)
    assert world.ephemeral_texts(person)[-1] == expected
    with world.context.sessions() as session:
        assert session.scalars(select(SupportTicket)).all() == []


def test_turn_a_request_into_a_faq_entry_that_is_then_suggested(
    support_world: SupportWorld,
) -> None:
    world = support_world
    ticket_id = _posted_ticket(world, text="Où puis-je garer mon vélo au siège ?")
    with world.context.sessions() as session:
        root = service.get_ticket(session, ticket_id).root_post_id
    assert root is not None
    world.bob.click(root, world.bob.find_action(root, "Ajouter à la FAQ"))
    assert world.bob.last_dialog.dialog["callback_id"] == "ticket_faq"
    world.bob.submit_dialog(
        {
            "question": "Où garer mon vélo au siège ?",
            "answer": "Au sous-sol, niveau -1, badge d'entrée.",
        }
    )
    world.tasks.run_all()
    assert any(
        "Entrée de FAQ" in p["message"]
        for p in world.sandbox.posts_in(world.support_channel_id)
        if p.get("root_id") == root
    )
    with world.context.sessions.begin() as session:
        outcome = service.submit_request(
            session,
            user_id=world.carol.user_id,
            category=TicketCategory.QUESTION,
            description="garer son vélo au siège",
            language="fr",
        )
        assert outcome.suggestions[0].entry.answer.startswith("Au sous-sol")


def test_only_the_requester_closes_with_a_faq_answer(db_session: Session) -> None:
    ticket = service.submit_request(
        db_session,
        user_id="a" * 26,
        category=TicketCategory.QUESTION,
        description="I forgot my password",
        language="en",
    ).ticket
    assert ticket.status == TicketStatus.SUGGESTED
    with pytest.raises(service.NotAllowed):
        service.close_self_served(db_session, ticket, "b" * 26, "password")
    service.close_self_served(db_session, ticket, "a" * 26, "password")
    assert ticket.status == TicketStatus.SELF_SERVED
    service.request_posting(db_session, ticket)  # too late: closed stays closed
    assert ticket.status == TicketStatus.SELF_SERVED and ticket.post_requested_at is None


def test_closed_requests_refuse_further_changes(db_session: Session) -> None:
    ticket = service.submit_request(
        db_session,
        user_id="a" * 26,
        category=TicketCategory.DIFFICULTY,
        description="Le badge du parking ne marche plus",
        language="fr",
    ).ticket
    ticket.root_post_id = "p" * 26
    service.resolve(db_session, ticket, "b" * 26)
    for change in (
        lambda: service.take(db_session, ticket, "b" * 26),
        lambda: service.answer(db_session, ticket, "b" * 26, "ok"),
    ):
        with pytest.raises(service.NotAllowed):
            change()


def test_a_request_stored_while_the_broker_is_down_is_posted_once_by_the_sweep(
    support_world: SupportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = support_world

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setattr(envol_tasks.celery_app, "send_task", broker_down)
    with world.context.sessions.begin() as session:
        ticket_id = service.submit_request(
            session,
            user_id=world.alice.user_id,
            category=TicketCategory.IDEA,
            description="Un covoiturage entre les sites de Lyon",
            language="fr",
        ).ticket.id
    monkeypatch.setattr(envol_tasks.celery_app, "send_task", world.tasks.send_task)
    assert world.tasks.run_all() == []  # nothing reached the broker
    later = clock.now() + queue.SWEEP_GRACE
    for _ in range(2):  # two beats: the second finds nothing due
        queue.send_overdue(world.context.sessions, now=later)
        world.tasks.run_all()
    assert world.tasks.ran == ["support.post_ticket"]
    posts = world.sandbox.posts_in(world.ideas_channel_id)
    assert len(posts) == 1
    with world.context.sessions() as session:
        assert service.get_ticket(session, ticket_id).root_post_id == posts[0]["id"]
