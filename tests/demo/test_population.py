"""The population model: simulated employees acting through the sandbox, deterministically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from email.message import EmailMessage
from statistics import mean
from typing import Any

import pytest
import requests

from plugin.demo.arrivals import (
    ADDED,
    INVITE_LINK,
    MATTERMOST_EMAIL,
    ReceivedInvitation,
    invitations_from_emails,
)
from plugin.demo.population import username_for
from plugin.demo.profiles import FAST, LAGGING, BehaviourProfile, profile_for
from plugin.demo.simulation_log import SimulationLog
from plugin.mattermost import MARKER_PROP
from plugin.sandbox import Sandbox
from tests.demo.conftest import (
    FAST_DEPARTMENTS,
    LAGGING_DEPARTMENTS,
    START,
    Scene,
    build_scene,
)
from tests.helpers.sandbox import IntegrationReceiver, ReceivedCall

LATER = START + dt.timedelta(days=60)  # past everyone's acceptance delay


def _fast_and_lagging(log: SimulationLog, counts: dict[str, int] | set[str]) -> tuple[float, float]:
    """Per-person average of a count (or share of a set) in fast vs lagging departments."""
    totals = log.per_department(counts)
    sizes = log.department_sizes()
    fast = sum(totals[d] for d in FAST_DEPARTMENTS) / sum(sizes[d] for d in FAST_DEPARTMENTS)
    lagging = sum(totals[d] for d in LAGGING_DEPARTMENTS) / sum(
        sizes[d] for d in LAGGING_DEPARTMENTS
    )
    return fast, lagging


# ----------------------------------------------------------------------------- profiles


def test_department_names_map_to_profiles_whatever_the_spelling() -> None:
    assert profile_for("Recherche & Développement") is FAST
    assert profile_for("  marketing ") is FAST
    assert profile_for("Ventes") is LAGGING
    assert profile_for("Sales") is LAGGING
    assert profile_for("Finance").name == "average"
    assert profile_for("Unknown department").name == "average"
    custom = BehaviourProfile(**{**FAST.__dict__, "name": "custom"})
    assert profile_for("ventes", {"Ventes": custom}) is custom


def test_usernames_are_valid_mattermost_usernames() -> None:
    assert username_for("Élodie.Lefèvre@exemple-sa.example") == "elodie.lefevre"
    assert username_for("42@x.example") == "u42"
    long_name = username_for("marie-christine.de-la-fontaine@x.example")
    assert len(long_name) <= 22 and long_name[0].isalpha()


# ----------------------------------------------------------------------------- arrivals


def test_invitations_are_read_from_envol_emails() -> None:
    invite_id = "abcdefghijkmnopqrstuwxyz12"
    message = EmailMessage()
    message["To"] = "Léa Martin <Lea.Martin@exemple-sa.example>"
    message["Subject"] = "Bienvenue"
    message.set_content(
        f"Bonjour Léa,\nRejoignez-nous : http://127.0.0.1:8065/signup_user_complete/?id={invite_id}\n"
    )
    unrelated = EmailMessage()
    unrelated["To"] = "someone@exemple-sa.example"
    unrelated.set_content("Une lettre d'information sans lien d'invitation.")
    found = invitations_from_emails([message, unrelated], at=START)
    assert found == [
        ReceivedInvitation("lea.martin@exemple-sa.example", INVITE_LINK, invite_id, START)
    ]
    with pytest.raises(ValueError, match="invite id"):
        ReceivedInvitation("x@exemple-sa.example", INVITE_LINK)


def test_accepting_creates_users_with_roster_names_and_locale_in_the_team(scene: Scene) -> None:
    scene.roster = scene.roster[:16]
    population = scene.population()
    population.receive(scene.invitations(), START)
    assert population.accept_invitations(START) == []  # nobody accepts the very same minute
    scene.clock.set(LATER)
    accepted = population.accept_invitations(LATER)
    population.close()

    refusing = [p for p in population.people if not p.traits.accepts]
    assert len(accepted) == len(scene.roster) - len(refusing)
    members = scene.sandbox.team_member_ids(scene.team["id"])
    state = scene.sandbox.state
    for acceptance in accepted:
        employee = next(e for e in scene.roster if e.email == acceptance.email)
        user = state.users[acceptance.user_id]
        assert (user["first_name"], user["last_name"]) == (employee.first_name, employee.last_name)
        assert user["locale"] == employee.language
        assert user["email"] == employee.email
        assert user["username"] == username_for(employee.email)
        assert acceptance.user_id in members
        assert acceptance.via == INVITE_LINK
        # The first visit after signing up: statuses and metrics see the person.
        assert state.last_activity[acceptance.user_id] > 0
    emails = {u["email"] for u in state.users.values()}
    assert not emails & {p.email for p in refusing}
    # Already accepted people do nothing more.
    assert population.accept_invitations(LATER + dt.timedelta(days=1)) == []


def test_mattermost_invitations_and_direct_adds_are_accepted_too(scene: Scene) -> None:
    population = scene.population()
    # Mattermost's invitation lasts 48 hours: someone who answers within two days.
    prompt = [p for p in population.people if p.traits.accepts and p.traits.accept_delay.days < 2]
    by_email, added = prompt[0], prompt[1]
    # Strategy 2: Mattermost's own e-mail invitation, sent by the admin over the API.
    response = requests.post(
        f"{scene.sandbox.url}/api/v4/teams/{scene.team['id']}/invite/email",
        json=[by_email.email],
        headers={"Authorization": f"Bearer {scene.sandbox.admin_token}"},
        timeout=10,
    )
    assert response.status_code == 200
    # Strategy 1: an existing account added to the team directly.
    existing = scene.sandbox.create_user("existing.one", email=added.email)
    scene.sandbox.add_team_member(scene.team["id"], existing["id"])
    scene.clock.set(START + dt.timedelta(hours=1))
    population.accept_invitations(START + dt.timedelta(hours=1))  # both noticed, not yet due
    two_days_later = START + dt.timedelta(hours=47)
    scene.clock.set(two_days_later)
    accepted = {a.email: a for a in population.accept_invitations(two_days_later)}
    population.close()

    assert accepted[by_email.email].via == MATTERMOST_EMAIL
    state = scene.sandbox.state
    user = state.users[accepted[by_email.email].user_id]
    assert user["locale"] == by_email.language
    assert user["id"] in scene.sandbox.team_member_ids(scene.team["id"])
    assert not state.invite_tokens  # the token was used

    assert accepted[added.email].via == ADDED
    assert accepted[added.email].user_id == existing["id"]  # no second account
    assert state.last_activity[existing["id"]] > 0


def test_a_newer_mattermost_invitation_works_when_the_first_expired(scene: Scene) -> None:
    population = scene.population()
    person = next(
        p
        for p in population.people
        if p.traits.accepts and p.traits.accept_delay > dt.timedelta(hours=1)
    )
    headers = {"Authorization": f"Bearer {scene.sandbox.admin_token}"}
    url = f"{scene.sandbox.url}/api/v4/teams/{scene.team['id']}/invite/email"
    assert requests.post(url, json=[person.email], headers=headers, timeout=10).ok
    # Mattermost's token lives 48 hours; the reminder three days later is a new one.
    reminder_at = START + dt.timedelta(days=3)
    scene.clock.set(reminder_at)
    assert requests.post(url, json=[person.email], headers=headers, timeout=10).ok
    scene.clock.set(LATER - dt.timedelta(days=20))  # both expired: the person cannot join yet
    population.receive([], START)
    assert population.accept_invitations(LATER - dt.timedelta(days=20)) == []
    assert population.log.failures == []
    # Another reminder: the newest link works.
    assert requests.post(url, json=[person.email], headers=headers, timeout=10).ok
    accepted = population.accept_invitations(LATER - dt.timedelta(days=20))
    population.close()
    assert [a.email for a in accepted] == [person.email]


# ----------------------------------------------------------------------------- determinism


def test_same_seed_same_log_and_sandbox_counts_different_seed_differs(
    sandbox: Sandbox, frozen_clock: Any
) -> None:
    sandbox.disable_contract()  # three 3-week runs: the contract is checked by the other tests
    runs: list[tuple[SimulationLog, dict[str, int]]] = []
    for seed in (5, 5, 6):
        sandbox.reset()
        scene = build_scene(sandbox, frozen_clock)
        population = scene.population(seed=seed)
        scene.live(population, days=21)
        runs.append((population.log, scene.counts()))
    (first, first_counts), (second, second_counts), (other, _) = runs
    assert first.summary()["posts"] > 10 and first.summary()["replies"] > 0
    assert first == second
    assert first_counts == second_counts
    assert first != other
    # The log is the ground truth: it matches what the sandbox holds.
    summary = first.summary()
    assert first_counts["users"] == 1 + summary["joined"]  # + the system admin
    assert first_counts["posts"] == summary["posts"] + summary["replies"]
    assert first_counts["replies"] == summary["replies"]
    assert first_counts["pictures"] == sum("picture" in c.fields for c in first.profile_changes)
    assert first_counts["positions"] == sum("position" in c.fields for c in first.profile_changes)
    assert first.failures == [] or all(f.action.startswith("support") for f in first.failures)


def test_decisions_do_not_depend_on_the_wall_clock(sandbox: Sandbox, frozen_clock: Any) -> None:
    """The model takes the moment as an argument: the clock only stamps the sandbox's data."""
    sandbox.disable_contract()
    logs = []
    for wall_clock in (START, START + dt.timedelta(days=400, hours=7)):
        sandbox.reset()
        scene = build_scene(sandbox, frozen_clock, people=20)
        frozen_clock.set(wall_clock)
        population = scene.population(seed=3)
        population.receive(scene.invitations(), START)
        for offset in range(10):
            population.run_day(START + dt.timedelta(days=offset))
        population.close()
        logs.append(population.log)
    assert logs[0].summary()["joined"] > 0
    assert logs[0] == logs[1]


# ----------------------------------------------------------------------------- departments


def test_fast_departments_adopt_and_write_more_than_lagging_ones(
    sandbox: Sandbox, frozen_clock: Any
) -> None:
    sandbox.disable_contract()
    scene = build_scene(sandbox, frozen_clock)
    population = scene.population(seed=21)
    scene.live(population, days=28)
    log = population.log

    fast_joined, lagging_joined = _fast_and_lagging(log, set(log.joined()))
    assert fast_joined > lagging_joined
    early = START + dt.timedelta(days=3)
    fast_early, lagging_early = _fast_and_lagging(log, set(log.joined(until=early)))
    assert fast_early > lagging_early  # and they come sooner
    fast_posts, lagging_posts = _fast_and_lagging(log, log.posts_per_person())
    assert fast_posts > 2 * lagging_posts
    fast_profiles, lagging_profiles = _fast_and_lagging(log, log.completed_profiles())
    assert fast_profiles > lagging_profiles
    last_week = log.active_between(START + dt.timedelta(days=21), START + dt.timedelta(days=28))
    fast_active, lagging_active = _fast_and_lagging(log, last_week)
    assert fast_active > lagging_active
    # Statuses see the active people: their last activity is the log's.
    state = scene.sandbox.state
    for email, at in log.last_activity().items():
        user_id = population.user_id_of(email)
        assert user_id is not None
        assert state.last_activity[user_id] == int(at.timestamp() * 1000)


def test_a_call_budget_caps_a_days_activity(scene: Scene) -> None:
    population = scene.population(seed=2, daily_call_budget=5, activity_scale=3.0)
    population.receive(scene.invitations(), START)
    scene.clock.set(LATER)
    population.accept_invitations(LATER)
    before = population.log.http_calls
    written = population.use_the_network(LATER)
    population.close()
    assert 0 < population.log.http_calls - before <= 5
    assert len(written) <= 5


# ----------------------------------------------------------------------------- surveys, polls


def opens_dialog(
    sandbox: Sandbox,
    token: str,
    *,
    on: str,
    trigger_id: Callable[[ReceivedCall], str],
    url: str,
    dialog: dict[str, Any],
) -> Callable[[ReceivedCall], tuple[int, Any]]:
    """An integration's reply that opens ``dialog`` when its ``on`` path is called, as Envol's
    webhooks do with the call's trigger id."""

    def reply(call: ReceivedCall) -> tuple[int, Any]:
        if call.path == on:
            opened = requests.post(
                f"{sandbox.url}/api/v4/actions/dialogs/open",
                json={"trigger_id": trigger_id(call), "url": url, "dialog": dialog},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert opened.status_code == 200
        return 200, {}

    return reply


def _bot(sandbox: Sandbox, team: dict[str, Any]) -> tuple[dict[str, Any], str]:
    bot = sandbox.create_bot("envol", "Envol")
    sandbox.add_team_member(team["id"], bot["user_id"])
    return bot, sandbox.create_token(bot["user_id"])


def _bot_post(
    sandbox: Sandbox, bot_id: str, channel_id: str, labels: list[str], url: str, key: str
) -> dict[str, Any]:
    actions = [
        {
            "id": f"{key}{index}",
            "name": label,
            "type": "button",
            "integration": {"url": url, "context": {"poll": key, "option": index}},
        }
        for index, label in enumerate(labels)
    ]
    with sandbox.state.lock:
        return dict(
            sandbox.state.create_post(
                user_id=bot_id,
                channel_id=channel_id,
                message=f"Sondage {key}",
                # Marked like Envol's polls: people answer polls, not any button they see.
                props={
                    "attachments": [{"text": key, "actions": actions}],
                    MARKER_PROP: f"poll-{key}",
                },
            )
        )


def test_survey_and_poll_clicks_reach_the_integration(
    scene: Scene, integration_receiver: IntegrationReceiver
) -> None:
    sandbox, receiver = scene.sandbox, integration_receiver
    population = scene.population(seed=8)
    population.receive(scene.invitations(), START)
    scene.clock.set(LATER)
    population.accept_invitations(LATER)
    joined = population.joined(LATER)
    bot, bot_token = _bot(sandbox, scene.team)
    town_square = sandbox.channel_by_name(scene.team["id"], "town-square")
    sandbox.add_channel_member(town_square["id"], bot["user_id"])

    dialog = {
        "callback_id": "launch_survey",
        "title": "Enquête",
        "elements": [
            {
                "name": name,
                "display_name": name,
                "type": "select",
                "options": [{"text": str(n), "value": str(n)} for n in range(1, 6)],
            }
            for name in ("useful", "easy")
        ]
        + [
            {"name": "comment", "display_name": "Commentaire", "type": "textarea", "optional": True}
        ],
    }

    def reply(call: ReceivedCall) -> tuple[int, Any]:
        if call.path == "/survey":
            # Like Envol's survey button: open the dialog with the trigger id, then answer.
            opened = requests.post(
                f"{sandbox.url}/api/v4/actions/dialogs/open",
                json={
                    "trigger_id": call.json["trigger_id"],
                    "url": f"{receiver.url}/dialog",
                    "dialog": dialog,
                },
                headers={"Authorization": f"Bearer {bot_token}"},
                timeout=10,
            )
            assert opened.status_code == 200
        if call.path == "/poll":
            return 200, {"ephemeral_text": "A voté !"}
        return 200, {}

    receiver.reply = reply
    # A numeric poll in a channel everybody is in, and a survey button in a few DMs.
    _bot_post(
        sandbox,
        bot["user_id"],
        town_square["id"],
        [str(n) for n in range(1, 6)],
        f"{receiver.url}/poll",
        "mood",
    )
    surveyed = joined[:6]
    for person in surveyed:
        with sandbox.state.lock:
            dm = sandbox.state.direct_channel(bot["user_id"], person.user_id or "")
        _bot_post(
            sandbox, bot["user_id"], dm["id"], ["Répondre"], f"{receiver.url}/survey", "survey"
        )

    answers = population.answer_surveys_and_polls(LATER)
    again = population.answer_surveys_and_polls(LATER + dt.timedelta(days=1))
    population.close()
    assert again == []  # nobody answers twice

    clicks = [c for c in receiver.calls if c.path in ("/poll", "/survey")]
    assert len(clicks) == len(answers) > 0
    by_user = {p.user_id: p.email for p in joined}
    for call, answer in zip(clicks, answers, strict=True):
        assert by_user[call.json["user_id"]] == answer.email
        assert answer.error == ""
    poll_answers = [a for a in answers if a.post.startswith("town-square#")]
    poll_clicks = [c for c in clicks if c.path == "/poll"]
    assert [str(c.json["context"]["option"] + 1) for c in poll_clicks] == [
        a.action for a in poll_answers
    ]
    assert [a.score for a in poll_answers] == [int(a.action) for a in poll_answers]
    assert len(poll_answers) < len(joined)  # some people do not answer

    submissions = [c.json for c in receiver.calls if c.path == "/dialog"]
    survey_answers = [a for a in answers if a.submission]
    assert len(submissions) == len(survey_answers) > 0
    for submitted, answer in zip(submissions, survey_answers, strict=True):
        assert submitted["callback_id"] == "launch_survey"
        assert by_user[submitted["user_id"]] == answer.email
        assert submitted["submission"] == dict(answer.submission)
        assert submitted["submission"]["useful"] in {"1", "2", "3", "4", "5"}
    assert {a.email for a in survey_answers} <= {p.email for p in surveyed}

    # Fast-adopting departments are happier on the whole.
    departments = {p.email: p.department for p in population.people}
    fast = [a.score or 0 for a in poll_answers if departments[a.email] in FAST_DEPARTMENTS]
    lagging = [a.score or 0 for a in poll_answers if departments[a.email] in LAGGING_DEPARTMENTS]
    assert fast and lagging and mean(fast) > mean(lagging)


# ----------------------------------------------------------------------------- support


def _support_command(scene: Scene, receiver: IntegrationReceiver) -> None:
    """``/envol``, answered like Envol's support command: a dialog opens at once."""
    sandbox = scene.sandbox
    registered = requests.post(
        f"{sandbox.url}/api/v4/commands",
        json={
            "team_id": scene.team["id"],
            "trigger": "envol",
            "method": "P",
            "url": f"{receiver.url}/command",
        },
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    assert registered.status_code == 201
    bot_token = sandbox.create_token(sandbox.admin_user_id)
    dialog = {
        "callback_id": "support_request",
        "title": "Support",
        "elements": [
            {
                "name": "category",
                "display_name": "Catégorie",
                "type": "select",
                "options": [{"text": v, "value": v} for v in ("difficulty", "question", "idea")],
            },
            {
                "name": "description",
                "display_name": "Description",
                "type": "textarea",
                "min_length": 10,
                "max_length": 3000,
            },
        ],
    }

    receiver.reply = opens_dialog(
        sandbox, bot_token, on="/command", trigger_id=lambda call: call.form["trigger_id"],
        url=f"{receiver.url}/support", dialog=dialog,
    )  # fmt: skip


def test_support_request_runs_the_command_and_submits_the_dialog(
    scene: Scene, integration_receiver: IntegrationReceiver
) -> None:
    _support_command(scene, integration_receiver)
    population = scene.population(seed=4, support_channel="entraide")
    population.receive(scene.invitations(), START)
    scene.clock.set(LATER)
    population.accept_invitations(LATER)
    english = next(p for p in population.joined(LATER) if p.language == "en")
    entraide = scene.sandbox.channel_by_name(scene.team["id"], "entraide")
    scene.sandbox.add_channel_member(entraide["id"], english.user_id or "")

    request = population.request_support(english.email, now=LATER)
    population.close()
    assert request is not None and request.dialog_opened and request.error == ""
    assert request.channel == "entraide"
    command, submission = integration_receiver.calls
    assert command.form["command"] == "/envol" and command.form["text"] == "support"
    assert command.form["channel_id"] == entraide["id"]
    assert command.form["user_id"] == english.user_id
    assert submission.json["callback_id"] == "support_request"
    assert submission.json["user_id"] == english.user_id
    assert submission.json["submission"] == {
        "category": request.category,
        "description": request.description,
    }
    assert request.category in {"difficulty", "question", "idea"}
    from plugin.demo.phrasebook import SUPPORT_QUESTIONS

    assert request.description in {q.text for q in SUPPORT_QUESTIONS["en"]}
    assert population.log.support_requests == [request]


def test_a_few_newcomers_ask_for_support_over_a_fortnight(
    scene: Scene, integration_receiver: IntegrationReceiver
) -> None:
    _support_command(scene, integration_receiver)
    scene.sandbox.disable_contract()
    curious = BehaviourProfile(**{**FAST.__dict__, "name": "curious", "support_per_month": 1.0})
    population = scene.population(seed=9, profiles={"Marketing": curious})
    population.receive(scene.invitations(), START)
    scene.clock.set(LATER)
    population.accept_invitations(LATER)
    requests_made = []
    for offset in range(14):
        moment = LATER + dt.timedelta(days=offset)
        scene.clock.set(moment)
        requests_made += population.ask_for_support(moment)
    population.close()
    assert 0 < len(requests_made) < len(population.joined(LATER))
    assert all(r.dialog_opened and not r.error for r in requests_made)
    departments = {p.email: p.department for p in population.people}
    from_marketing = sum(departments[r.email] == "Marketing" for r in requests_made)
    assert from_marketing > len(requests_made) - from_marketing  # the curious ones ask more
    submissions = [c for c in integration_receiver.calls if c.path == "/support"]
    assert len(submissions) == len(requests_made)


def test_server_faults_aimed_at_envol_leave_people_alone(
    sandbox: Sandbox, frozen_clock: Any
) -> None:
    """Under ``envol demo --faults`` the server's faults hit Envol's connection, not the
    people's own devices: the simulation does exactly the same with and without them."""
    sandbox.disable_contract()
    scene = build_scene(sandbox, frozen_clock, people=30)
    sandbox.set_faults(error_rate=0.2, drop_rate=0.05, seed=4)
    sandbox.set_rate_limit(5, burst=5)
    population = scene.population(seed=12)
    scene.live(population, days=10)
    sandbox.clear_faults()
    sandbox.set_rate_limit(None)
    log = population.log
    assert log.summary()["joined"] > 15
    assert log.failures == []
    assert not [r for r in sandbox.request_log if r.fault]
    # Everyone counted as joined really is in the team.
    members = sandbox.team_member_ids(scene.team["id"])
    assert {a.user_id for a in log.acceptances} <= members


def test_buttons_meant_for_animators_are_left_alone(scene: Scene) -> None:
    sandbox = scene.sandbox
    population = scene.population(seed=8)
    population.receive(scene.invitations(), START)
    scene.clock.set(LATER)
    population.accept_invitations(LATER)
    bot, _ = _bot(sandbox, scene.team)
    town_square = sandbox.channel_by_name(scene.team["id"], "town-square")
    sandbox.add_channel_member(town_square["id"], bot["user_id"])
    with sandbox.state.lock:
        sandbox.state.create_post(
            user_id=bot["user_id"],
            channel_id=town_square["id"],
            message="Ticket #1",
            props={
                "attachments": [
                    {
                        "actions": [
                            {
                                "id": "take",
                                "name": "Je m'en occupe",
                                "type": "button",
                                "integration": {"url": "http://127.0.0.1:9/x", "context": {}},
                            }
                        ]
                    }
                ]
            },
        )
    assert population.answer_surveys_and_polls(LATER) == []
    population.close()
