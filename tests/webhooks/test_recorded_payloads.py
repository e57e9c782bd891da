"""One test per recorded payload under ``tests/fixtures/mattermost/{commands,actions,dialogs}``.

Each fixture is what Mattermost sends (form or JSON), with ``{{PLACEHOLDERS}}`` for the ids of
the scene and for the signed ``context``/``state`` (built from the fixture's ``sign`` block:
purpose, user, data, and how to spoil it: another secret, tampered, aged, replayed). It is
posted over HTTP to Envol's app, which runs against the sandbox, and ``expect`` is checked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from itsdangerous.timed import TimestampSigner
from sqlalchemy import select

from plugin.sandbox.state import Trigger
from plugin.security.service import Signer
from plugin.support import service as support
from plugin.support.models import SupportFaqEntry, SupportTicket, TicketCategory
from plugin.surveys import service as surveys
from plugin.surveys.models import Poll, PollVote, SurveyResponse
from tests.support.world import SECRET, SupportWorld

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mattermost"
CASES = sorted(
    path for kind in ("commands", "actions", "dialogs") for path in (FIXTURES / kind).glob("*.json")
)


def _substitute(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    if isinstance(value, str):
        if value.startswith("{{") and value.endswith("}}") and value[2:-2] in names:
            return names[value[2:-2]]  # a whole placeholder keeps its type (ticket ids are ints)
        for key, replacement in names.items():
            value = value.replace("{{" + key + "}}", str(replacement))
    return value


def _sign(spec: dict[str, Any], names: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    secret = "another-secret-key-of-an-attacker" if spec.get("secret") == "forged" else SECRET
    signer = Signer(secret)
    age = int(spec.get("age_seconds", 0))
    with monkeypatch.context() as patched:
        if age:
            real = TimestampSigner.get_timestamp
            patched.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - age)
        token = signer.sign(
            spec["purpose"],
            _substitute(spec["user"], names),
            _substitute(spec.get("data") or {}, names),
            single_use=bool(spec.get("single_use")),
        )
    if spec.get("tamper"):
        # Change one character of the payload: the HMAC no longer matches.
        index = 3
        token = token[:index] + ("A" if token[index] != "A" else "B") + token[index + 1 :]
    return token


def _trigger(world: SupportWorld, user_id: str, age: float = 0.0) -> str:
    trigger_id = world.sandbox.state.ids.new_id() * 2
    with world.sandbox.state.lock:
        world.sandbox.state.triggers[trigger_id] = Trigger(
            user_id, world.town_square_id, world.team_id, time.monotonic() - age
        )
    return trigger_id


def _setup(world: SupportWorld, setup: str) -> dict[str, Any]:
    names: dict[str, Any] = {}
    client = world.client
    signer = Signer(SECRET)
    ctx = world.context
    if setup in ("ticket_posted", "ticket_suggested"):
        text = (
            "Le badge du parking de Lyon ne marche plus"
            if setup == "ticket_posted"
            else "I forgot my password and cannot sign in"
        )
        with ctx.sessions.begin() as session:
            outcome = support.submit_request(
                session,
                user_id=world.alice.user_id,
                category=TicketCategory.QUESTION,
                description=text,
                language="en",
            )
            names["TICKET_ID"] = outcome.ticket.id
        world.tasks.run_all()
        with ctx.sessions() as session:
            ticket = support.get_ticket(session, names["TICKET_ID"])
            names["TICKET_POST"] = ticket.root_post_id or ""
            names["SUGGESTION_POST"] = ticket.suggestion_post_id or ""
    if setup in ("poll_posted", "poll_voted"):
        with ctx.sessions.begin() as session:
            poll = surveys.ensure_poll(
                session,
                "lunch-day",
                "Which day for the team lunch?",
                ["Thursday", "Friday"],
                language="en",
            )
            names["POLL_POST"] = surveys.post_poll(
                session, client, signer, world.app_url, poll, world.town_square_id
            )
            if setup == "poll_voted":
                surveys.record_vote(session, poll, world.carol.user_id, 1)
    if setup == "poll_seeded":
        token = surveys.poll_context(
            signer,
            None,
            0,
            key="seed-coffee",
            question="Coffee or tea?",
            options=["Coffee", "Tea"],
            language="en",
        )
        post = client.create_post(
            world.town_square_id,
            "Seed post body",
            props={
                "attachments": [
                    {
                        "actions": [
                            {
                                "id": "coffee",
                                "name": "Coffee",
                                "type": "button",
                                "integration": {
                                    "url": f"{world.app_url}/actions/poll",
                                    "context": {"signed": token},
                                },
                            }
                        ]
                    }
                ]
            },
            marker="seed-coffee",
        )
        names["SEEDED_POST"] = post["id"]
    names["OTHER_POST"] = client.create_post(world.support_channel_id, "hello")["id"]
    world.tasks.sent.clear()
    return names


@pytest.fixture(params=CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def case(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    yield json.loads(request.param.read_text(encoding="utf-8"))


def test_recorded_payload(
    case: dict[str, Any], support_world: SupportWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = support_world
    users = {"alice": world.alice, "bob": world.bob, "carol": world.carol, "root": world.admin}
    user = users[case["user"]]
    names: dict[str, Any] = {
        "USER": user.user_id,
        "USERNAME": case["user"] if case["user"] != "root" else "root",
        "ALICE": world.alice.user_id,
        "BOB": world.bob.user_id,
        "CAROL": world.carol.user_id,
        "TEAM": world.team_id,
        "TOWN_SQUARE": world.town_square_id,
        "SUPPORT_CHANNEL": world.support_channel_id,
        "SANDBOX": world.sandbox.url,
        # The token of the command the form names: a token opens only its own trigger.
        "TOKEN": world.token(str(case.get("form", {}).get("command", "/envol")).lstrip("/")),
        "FORGED": "f" * 26,
        "TRIGGER": _trigger(world, user.user_id),
        "STALE_TRIGGER": _trigger(world, user.user_id, age=3600),
        "TEXT_16375": "a" * 16375,  # with "support ": 16,383 characters, a post's maximum
        "TEXT_16384": "a" * 16384,
        "TEXT_300000": "a" * 300_000,
    }
    names.update(_setup(world, case.get("setup", "none")))
    if case.get("sign"):
        names["SIGNED"] = _sign(case["sign"], names, monkeypatch)
    dialogs_before = len(world.sandbox.dialogs_for(user.user_id))
    url = f"{world.app_url}{case['path']}"
    headers = _substitute(case.get("headers", {}), names)
    if "form" in case:
        payload = _substitute(case["form"], names)
        send = lambda: requests.post(url, data=payload, headers=headers, timeout=30)  # noqa: E731
    elif "json" in case:
        payload = _substitute(case["json"], names)
        send = lambda: requests.post(url, json=payload, headers=headers, timeout=30)  # noqa: E731
    else:
        send = lambda: requests.post(url, data=case["raw"], timeout=30)  # noqa: E731
    if case.get("sign", {}) and case["sign"].get("replay"):
        assert send().status_code == 200  # the genuine submission
        world.tasks.sent.clear()
    response = send()
    expect = case["expect"]

    assert response.status_code == expect["status"], response.text
    assert response.status_code < 500
    assert response.headers["Content-Type"].startswith("application/json")
    if "body" in expect:
        assert response.json() == expect["body"]
    shown = json.dumps(response.json(), ensure_ascii=False)
    for text in expect.get("contains", []):
        assert text in shown, shown
    for text in expect.get("not_contains", []):
        assert text not in shown
    if "tasks" in expect:
        assert sorted(name for name, _ in world.tasks.sent) == sorted(expect["tasks"])
    elif response.status_code >= 400:
        assert world.tasks.sent == []  # a refused request changes nothing
    if "dialog" in expect:
        opened = world.sandbox.dialogs_for(user.user_id)
        assert len(opened) == dialogs_before + 1
        assert opened[-1].dialog["callback_id"] == expect["dialog"]
        if "dialog_contains" in expect:
            assert expect["dialog_contains"] in json.dumps(opened[-1].dialog, ensure_ascii=False)
    with world.context.sessions() as session:
        if "ticket_status" in expect:
            tickets = list(session.scalars(select(SupportTicket)))
            if expect["ticket_status"] is None:
                assert tickets == []
            else:
                assert [t.status.value for t in tickets] == [expect["ticket_status"]]
        if "votes" in expect:
            poll = session.scalar(select(Poll).where(Poll.key == "lunch-day"))
            assert poll is not None
            votes = {
                v.user_id: v.option_index
                for v in session.scalars(select(PollVote).where(PollVote.poll_id == poll.id))
            }
            assert votes == {users[n].user_id: o for n, o in expect["votes"].items()}
        if "survey_mean" in expect:
            responses = list(session.scalars(select(SurveyResponse)))
            if expect["survey_mean"] is None:
                assert responses == []
            else:
                assert [r.mean for r in responses] == [expect["survey_mean"]]
        if "faq_entry" in expect:
            assert session.scalar(select(SupportFaqEntry.question)) == expect["faq_entry"]
    if expect.get("resubmit_ok"):
        # The refused fields did not spend the state: the corrected form goes through.
        payload["submission"] = {
            "category": "difficulty",
            "description": "Le badge du parking de Lyon ne marche plus",
        }
        assert requests.post(url, json=payload, timeout=30).json() == {}
