"""The two worlds the simulated people observe: the sandbox's state, and any Mattermost's API v4.

``ApiWorld`` is pointed at the sandbox served over HTTP, with the system admin's token: on the
same scene it must see what ``SandboxWorld`` reads in process, and a population driven through
either must live the same launch (the same ``SimulationLog`` for the same seed).
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import requests
from pydantic import SecretStr

from plugin.demo.population import Population
from plugin.demo.simulation_log import SimulationLog
from plugin.demo.world import ApiWorld, SandboxWorld, SignUpFailed, World, world_for
from plugin.sandbox import Sandbox
from tests.demo.conftest import START, Scene, build_scene
from tests.demo.test_population import _bot, _bot_post, opens_dialog
from tests.helpers.sandbox import IntegrationReceiver


def _api_world(sandbox: Sandbox) -> ApiWorld:
    return ApiWorld(sandbox.url, sandbox.admin_token)


def _observe(world: World, team_id: str, user_ids: list[str]) -> dict[str, Any]:
    """Everything the people's model reads of a world, ids mapped to stable names."""
    channels = sorted(world.team_channels([team_id]), key=lambda c: str(c["name"]))
    channel_ids = [str(c["id"]) for c in channels]
    return {
        "teams": world.team_ids(),
        "members": sorted(world.email_of(uid) for uid in world.team_member_ids(team_id)),
        "usernames": sorted(world.username_of(uid) for uid in user_ids),
        "in_team": [world.is_team_member(team_id, uid) for uid in user_ids],
        "channels": [(c["name"], c["type"]) for c in channels],
        "kinds": [world.channel(cid).get("type") for cid in channel_ids],
        "joined": [sorted(world.channels_joined(uid, channel_ids, [team_id])) for uid in user_ids],
        "members_of": [sorted(world.members_among(cid, user_ids)) for cid in channel_ids],
        # Each channel's posts in creation order; between channels, the model orders them.
        "posts": sorted(
            ((p["channel_id"], p["id"], p["message"]) for p in world.new_posts([team_id])),
            key=lambda post: post[0],
        ),
    }


def test_the_api_sees_what_the_sandbox_state_holds(scene: Scene) -> None:
    sandbox, team_id = scene.sandbox, scene.team["id"]
    people = [
        sandbox.create_user(f"member{n}", email=f"member{n}@exemple-sa.example") for n in range(3)
    ]
    user_ids = [str(p["id"]) for p in people]
    for user_id in user_ids[:2]:
        sandbox.add_team_member(team_id, user_id)
    secret = sandbox.create_channel(team_id, "comite", type="P", creator_id=user_ids[0])
    bot, _ = _bot(sandbox, scene.team)
    town_square = sandbox.channel_by_name(team_id, "town-square")
    with sandbox.state.lock:
        dm = sandbox.state.direct_channel(bot["user_id"], user_ids[0])
        for channel_id, text in (
            (town_square["id"], "Bonjour"),
            (secret["id"], "Ordre du jour"),
            (town_square["id"], "Bienvenue"),
            (dm["id"], "Votre avis ?"),
        ):
            sandbox.state.create_post(user_id=user_ids[0], channel_id=channel_id, message=text)
    sandbox_world, api_world = SandboxWorld(sandbox), _api_world(sandbox)

    seen = _observe(api_world, team_id, user_ids)
    assert seen == _observe(sandbox_world, team_id, user_ids)
    assert ("comite", "P") in seen["channels"]  # private channels too
    assert len(seen["posts"]) == 4  # the bot's direct message too
    # Each channel's posts in creation order (the frozen clock gives them one time).
    assert [m for c, _, m in seen["posts"] if c == town_square["id"]] == ["Bonjour", "Bienvenue"]

    # Later looks give only what is new, in both worlds alike.
    with sandbox.state.lock:
        sandbox.state.create_post(user_id=user_ids[1], channel_id=town_square["id"], message="Re")
    assert [p["message"] for p in api_world.new_posts([team_id])] == ["Re"]
    assert [p["message"] for p in sandbox_world.new_posts([team_id])] == ["Re"]
    assert api_world.new_posts([team_id]) == []

    # Accounts by address, active ones only.
    assert api_world.user_id_by_email("member2@exemple-sa.example") == user_ids[2]
    assert api_world.user_id_by_email("nobody@exemple-sa.example") is None
    with sandbox.state.lock:
        sandbox.state.users[user_ids[2]]["delete_at"] = 1
    for world in (api_world, sandbox_world):
        assert world.user_id_by_email("member2@exemple-sa.example") is None
    api_world.close()


def test_people_sign_up_and_sign_in_through_the_api(scene: Scene) -> None:
    sandbox, team_id = scene.sandbox, scene.team["id"]
    world = _api_world(sandbox)
    user_id = world.sign_up(
        email="lea.martin@exemple-sa.example",
        username="lea.martin",
        profile={"first_name": "Léa", "locale": "fr"},
        invite_id=scene.team["invite_id"],
    )
    assert world.is_team_member(team_id, user_id)
    signed_in = requests.get(
        f"{sandbox.url}/api/v4/users/me",
        headers={"Authorization": f"Bearer {world.token_for(user_id)}"},
        timeout=10,
    )
    assert signed_in.json()["id"] == user_id
    # An account the demo did not create gets a personal access token, where the server allows.
    added = sandbox.create_user("added.one", email="added.one@exemple-sa.example")
    try:
        world.token_for(added["id"])
    except RuntimeError as refused:
        assert "501" in str(refused) and "access_token.disabled" in str(refused)
    else:
        raise AssertionError("a token was made with personal access tokens disabled")
    sandbox.patch_config({"ServiceSettings": {"EnableUserAccessTokens": True}})
    token = world.token_for(added["id"])
    assert (
        requests.get(
            f"{sandbox.url}/api/v4/users/me",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["id"]
        == added["id"]
    )
    try:
        world.sign_up(email="x@exemple-sa.example", username="x.y", profile={}, invite_id="z" * 26)
    except SignUpFailed as refused:
        assert str(refused).startswith("sign-up failed: 400 ")
    else:
        raise AssertionError("a wrong invite id was accepted")
    # Mattermost's own e-mail invitations stay on the server.
    assert world.email_invitations(0) == [] and world.invitation_tokens("x@y.example") == []
    world.close()


def test_the_demo_observes_its_sandbox_in_process_and_a_real_server_through_the_api(
    sandbox: Sandbox,
) -> None:
    settings = SimpleNamespace(
        mattermost_url="https://staging.example/", mattermost_token=SecretStr("admin-token")
    )
    context = SimpleNamespace(settings=settings)
    run: Any = SimpleNamespace(state={"sandbox": sandbox}, context=context)
    assert isinstance(world_for(run), SandboxWorld)
    run.state.clear()  # a rehearsal: the stage started no sandbox
    rehearsal = world_for(run)
    assert isinstance(rehearsal, ApiWorld)
    assert rehearsal.url == "https://staging.example"
    assert rehearsal.http.headers["Authorization"] == "Bearer admin-token"


# ----------------------------------------------------------------------------- a whole run


def _live_a_launch(
    sandbox: Sandbox, scene: Scene, receiver: IntegrationReceiver, world: World
) -> tuple[SimulationLog, dict[str, int]]:
    """Thirty people, two weeks; on day 4 the bot posts a poll in town-square and a survey
    button to everyone who joined, whose dialog they fill in."""
    dialog = {
        "callback_id": "launch_survey",
        "title": "Enquête",
        "elements": [
            {
                "name": "useful",
                "display_name": "Utile ?",
                "type": "select",
                "options": [{"text": str(n), "value": str(n)} for n in range(1, 6)],
            },
            {"name": "comment", "display_name": "Avis", "type": "textarea", "optional": True},
        ],
    }
    bot, bot_token = _bot(sandbox, scene.team)

    receiver.reply = opens_dialog(
        sandbox, bot_token, on="/survey", trigger_id=lambda call: call.json["trigger_id"],
        url=f"{receiver.url}/dialog", dialog=dialog,
    )  # fmt: skip
    population = Population(world, scene.roster, seed=13, team_id=scene.team["id"])
    population.receive(scene.invitations(), START)
    town_square = sandbox.channel_by_name(scene.team["id"], "town-square")
    sandbox.add_channel_member(town_square["id"], bot["user_id"])
    for offset in range(14):
        moment = START + dt.timedelta(days=offset)
        scene.clock.set(moment)
        if offset == 4:
            labels = [str(n) for n in range(1, 6)]
            url = f"{receiver.url}/poll"
            _bot_post(sandbox, bot["user_id"], town_square["id"], labels, url, "mood")
            for person in population.joined(moment):
                with sandbox.state.lock:
                    dm = sandbox.state.direct_channel(bot["user_id"], person.user_id or "")
                url = f"{receiver.url}/survey"
                _bot_post(sandbox, bot["user_id"], dm["id"], ["Répondre"], url, "survey")
        population.run_day(moment)
    population.close()
    world.close()
    return population.log, scene.counts()


def test_a_population_lives_the_same_launch_through_either_world(
    sandbox: Sandbox, frozen_clock: Any, integration_receiver: IntegrationReceiver
) -> None:
    sandbox.disable_contract()  # two runs: the contract is checked by the test above
    runs = []
    for make_world in (SandboxWorld, _api_world):
        sandbox.reset()
        integration_receiver.calls.clear()
        scene = build_scene(sandbox, frozen_clock, people=30)
        runs.append(_live_a_launch(sandbox, scene, integration_receiver, make_world(sandbox)))
    (in_process, in_process_counts), (through_api, through_api_counts) = runs
    summary = in_process.summary()
    assert summary["joined"] > 15 and summary["posts"] > 5 and summary["replies"] > 0
    assert summary["survey_answers"] > 5 and summary["reactions"] > 0
    assert any(a.submission for a in in_process.survey_answers)  # dialogs were filled in
    assert through_api == in_process
    assert through_api_counts == in_process_counts
