"""No Mattermost call while a database transaction is open (it would hold SQLite's write lock,
or PostgreSQL's row locks, for the adapter's whole retry budget): the support tasks and the
ticket buttons ask Mattermost before or after their transactions, never inside one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import event, select
from sqlalchemy.engine import Connection

from plugin.security.service import Signer
from plugin.support import service
from plugin.support.models import SupportTicket, TicketCategory
from plugin.support.tasks import count_idea_votes, notify_requester
from plugin.surveys import service as surveys
from tests.support.world import SECRET, SupportWorld


class TransactionWatch:
    """Counts the engine's open transactions; records every Mattermost call made during one."""

    def __init__(self) -> None:
        self.open: set[int] = set()
        self.calls = 0
        self.inside: list[str] = []
        self._lock = threading.Lock()

    def begin(self, connection: Connection) -> None:
        with self._lock:
            self.open.add(id(connection))

    def end(self, connection: Connection) -> None:
        with self._lock:
            self.open.discard(id(connection))

    def call(self, method: str, path: str) -> None:
        with self._lock:
            self.calls += 1
            if self.open:
                self.inside.append(f"{method.upper()} {path}")


@pytest.fixture
def watch(
    support_world: SupportWorld, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TransactionWatch]:
    found = TransactionWatch()
    engine = support_world.context.engine
    hooks = {"begin": found.begin, "commit": found.end, "rollback": found.end}
    for name, hook in hooks.items():
        event.listen(engine, name, hook)
    api = f"{support_world.sandbox.url}/api/v4/"
    real_send = requests.Session.send

    # Every HTTP request to the server's API, whichever layer sends it (adapter or driver).
    def watched(self: requests.Session, request: Any, **kwargs: Any) -> Any:
        if str(request.url).startswith(api):
            found.call(str(request.method), str(request.url)[len(api) - 1 :].split("?")[0])
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", watched)
    yield found
    for name, hook in hooks.items():
        event.remove(engine, name, hook)


def test_support_tasks_buttons_and_polls_call_mattermost_outside_transactions(
    support_world: SupportWorld, watch: TransactionWatch
) -> None:
    world = support_world
    alice, bob = world.alice, world.bob
    alice.run_command(world.town_square_id, "/aide support")
    alice.submit_dialog(
        {"category": "difficulty", "description": "La cantine du site de Lyon est fermée vendredi"}
    )
    assert world.tasks.run_all() == ["support.post_ticket"]
    root = world.sandbox.posts_in(world.support_channel_id)[-1]["id"]
    bob.click(root, bob.find_action(root, "Je m'en occupe"))  # redraws the post
    bob.click(root, bob.find_action(root, "Répondre"))  # opens a dialog
    assert bob.submit_dialog({"answer": "La cafétéria du bâtiment B reste ouverte."}) == {}
    bob.click(root, bob.find_action(root, "Résolu"))
    world.tasks.run_all()  # notify the requester, publish the answer in the thread
    assert "est résolue" in world.dm_posts(alice.user_id)[-1]["message"]

    with world.context.sessions.begin() as session:
        answered = session.scalars(select(SupportTicket.id)).one()
        service.submit_request(
            session, user_id=alice.user_id, category=TicketCategory.IDEA,
            description="Un covoiturage entre les sites de Lyon", language="fr",
        )  # fmt: skip
    world.tasks.run_all()
    count_idea_votes()
    assert notify_requester(answered) == []  # nothing new to tell
    assert watch.inside == []

    # Poll clicks; the first one reads the post a seeded poll must keep.
    with world.context.sessions.begin() as session:
        poll = surveys.ensure_poll(session, "lunch", "Which day?", ["Thu", "Fri"], language="en")
        post_id = surveys.post_poll(
            session, world.client, Signer(SECRET), world.app_url, poll, world.town_square_id
        )
        poll.post_message = None  # as a poll posted by the seed
    watch.inside.clear()  # the set-up above is not what this test is about
    world.alice.click(post_id, world.alice.find_action(post_id, "Fri"))
    world.carol.click(post_id, world.carol.find_action(post_id, "Thu"))
    assert "Vote recorded: Thu" in world.ephemeral_texts(world.carol)[-1]

    assert watch.calls > 10  # the watch saw the conversation
    assert watch.inside == []
