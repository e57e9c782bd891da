"""Polls: one changeable vote per person, the tally redrawn in the post."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from plugin.surveys import service
from tests.support.world import SupportWorld


def test_votes_are_one_per_person_and_changeable(db_session: Session) -> None:
    poll = service.ensure_poll(db_session, "lunch", "Which day?", ["Thu", "Fri"], language="en")
    service.record_vote(db_session, poll, "a" * 26, 0)
    service.record_vote(db_session, poll, "b" * 26, 0)
    service.record_vote(db_session, poll, "a" * 26, 1)
    assert service.tally(db_session, poll.id) == {0: 1, 1: 1}
    with pytest.raises(service.PollError):
        service.record_vote(db_session, poll, "a" * 26, 2)


def test_ensure_poll_keeps_an_existing_poll(db_session: Session) -> None:
    first = service.ensure_poll(db_session, "lunch", "Which day?", ["Thu", "Fri"])
    again = service.ensure_poll(db_session, "lunch", "Another question?", ["A", "B", "C"])
    assert again.id == first.id and again.options == ["Thu", "Fri"]


@pytest.mark.parametrize(
    ("key", "question", "options"),
    [
        ("Bad Key", "Which day?", ["a", "b"]),
        ("ok", "?", ["a", "b"]),
        ("ok", "Which day?", ["only one"]),
        ("ok", "Which day?", ["same", "same"]),
    ],
)
def test_invalid_polls_are_refused(key: str, question: str, options: list[str]) -> None:
    with pytest.raises(service.PollError):
        service.validate_poll(key, question, options)


def test_clicks_update_the_post_with_the_tally(support_world: SupportWorld) -> None:
    world = support_world
    from plugin.security.service import Signer
    from tests.support.world import SECRET

    with world.context.sessions.begin() as session:
        poll = service.ensure_poll(
            session, "lunch", "Which day for lunch?", ["Thursday", "Friday"], language="en"
        )
        post_id = service.post_poll(
            session, world.client, Signer(SECRET), world.app_url, poll, world.town_square_id
        )
    world.alice.click(post_id, world.alice.find_action(post_id, "Friday"))
    world.carol.click(post_id, world.carol.find_action(post_id, "Friday"))
    world.carol.click(post_id, world.carol.find_action(post_id, "Thursday"))  # changes her mind
    post = next(p for p in world.sandbox.posts_in(world.town_square_id) if p["id"] == post_id)
    text = post["props"]["attachments"][0]["text"]
    assert "Thursday: `█████░░░░░` 1 (50 %)" in text and "Friday: `█████░░░░░` 1 (50 %)" in text
    assert post["props"]["envol_marker"] == "poll-lunch"  # the redraw keeps the marker
    assert "Vote recorded: Thursday" in world.ephemeral_texts(world.carol)[-1]
