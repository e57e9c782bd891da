"""Demo step: the support space, a poll and the launch survey, played over real HTTP.

Simulated people use Mattermost (the sandbox, or the staging server of a rehearsal) through its
public API; Mattermost calls Envol's webhooks, served here by werkzeug on a port of their own
(on the stage's public host, so that a staging server reaches them); Envol calls Mattermost
back. Tasks run in-process as they are enqueued.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

from plugin import clock
from plugin.app import EnvolContext, build_context
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveStatus
from plugin.db import transaction
from plugin.delivery.posts import Courier
from plugin.demo.commands import install_demo_commands
from plugin.demo.person import AppUser, CallFailed
from plugin.demo.scene import Scene, scene_of
from plugin.mattermost import MattermostClient
from plugin.people.models import Language, Person
from plugin.security.service import Signer
from plugin.settings import RuntimeSettingsStore, runtime_settings_from_config
from plugin.surveys import service as surveys

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun


@contextmanager
def _tasks_inline() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """No worker in the demo: capture what is enqueued; ``_drain`` runs it here."""
    from plugin import tasks as envol_tasks
    from plugin.support import tasks as _support  # noqa: F401 - registers the tasks
    from plugin.surveys import tasks as _surveys  # noqa: F401

    queue: list[tuple[str, tuple[Any, ...]]] = []
    app = envol_tasks.celery_app
    original = app.send_task

    def record(name: str, args: Any = None, kwargs: Any = None, **_: Any) -> None:
        queue.append((name, tuple(args or ())))

    app.send_task = record
    try:
        yield queue
    finally:
        app.send_task = original


def _drain(queue: list[tuple[str, tuple[Any, ...]]]) -> None:
    from plugin import tasks as envol_tasks

    while queue:
        name, args = queue.pop(0)
        envol_tasks.celery_app.tasks[name](*args)


def _scene(scene: Scene, team_name: str) -> dict[str, Any]:
    envol = scene.user("envol-support", first_name="Envol")
    scene.make_system_admin(envol["id"])
    team = scene.team(team_name)
    scene.raise_team_size(100_000)
    scene.join_team(team["id"], envol["id"])
    channels = {}
    for name in ("support", "idees", "town-square"):
        channel = scene.channel(team, name)
        scene.join_channel(channel["id"], envol["id"])
        channels[name] = channel["id"]
    people = {}
    for username, first, last, locale in (
        ("demo-alice", "Alice", "Martin", "fr"),
        ("demo-bob", "Bob", "Durand", "fr"),
        ("demo-carol", "Carole", "Petit", "fr"),
    ):
        user = scene.user(username, first_name=first, last_name=last, locale=locale)
        scene.join_team(team["id"], user["id"])
        for channel_id in channels.values():
            scene.join_channel(channel_id, user["id"])
        people[username] = user
    return {"envol": envol, "team": team, "channels": channels, "people": people}


def step_support(run: DemoRun) -> None:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class _Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass  # the demo prints what people see, not an access log

    with scene_of(run) as scene:
        runtime = run.context.runtime.current
        cast = _scene(scene, runtime.team_name)
        holder: dict[str, Any] = {}
        stage = run.stage
        server = make_server(
            stage.listen_host if stage is not None else "127.0.0.1", 0,
            lambda e, s: holder["app"](e, s), threaded=True, request_handler=_Quiet,
        )  # fmt: skip
        app_url = (
            stage.public_url_on(server.server_port)
            if stage is not None
            else f"http://127.0.0.1:{server.server_port}"
        )
        settings = run.context.settings.model_copy(
            update={
                "public_url": app_url,
                "mattermost_url": scene.url,
                "mattermost_token": type(run.context.settings.mattermost_token)(
                    scene.token(cast["envol"]["id"])
                ),
            }
        )
        _serve_and_play(run, scene, cast, settings, runtime, server, holder)


def _serve_and_play(
    run: DemoRun,
    scene: Scene,
    cast: dict[str, Any],
    settings: Any,
    runtime: Any,
    server: Any,
    holder: dict[str, Any],
) -> None:
    from webhooks import create_app

    app_url = settings.public_url
    context: EnvolContext = build_context(settings)
    context.runtime = RuntimeSettingsStore(
        runtime.model_copy(
            update={
                "animators_group": ("demo-bob",),
                "support_channel": "support",
                "ideas_channel": "idees",
            }
        )
        if runtime
        else runtime_settings_from_config({})
    )
    from plugin.app import get_context, set_context

    previous = get_context()
    set_context(context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    try:
        with _tasks_inline() as queue:
            holder["app"] = create_app(context=context)
            thread.start()
            _play(run, scene, cast, context, app_url, queue)
    finally:
        server.shutdown()
        set_context(previous)
        context.dispose()


def _play(
    run: DemoRun,
    scene: Scene,
    cast: dict[str, Any],
    context: EnvolContext,
    app_url: str,
    queue: list[tuple[str, tuple[Any, ...]]],
) -> None:
    """The support scene as a story, in the order people live it (a ticket, its answer, a
    poll, the survey). Over 80 lines on purpose: a script read top to bottom, each line one
    thing a person does or sees; split, the story would be cut mid-scene."""
    say = run.console.print
    client = MattermostClient.from_settings(context.settings)
    outcomes = install_demo_commands(
        context.sessions, client, team_id=cast["team"]["id"], url=f"{app_url}/commands"
    )
    say("slash commands: " + ", ".join(f"/{o.trigger} ({o.action})" for o in outcomes))
    people = cast["people"]
    alice, bob, carol = (
        scene.person(people[n]["id"]) for n in ("demo-alice", "demo-bob", "demo-carol")
    )
    town, support = cast["channels"]["town-square"], cast["channels"]["support"]

    # A ticket: dialog, FAQ suggestions, posted anyway, taken, answered, resolved.
    alice.run_command(town, "/envol support")
    alice.submit_dialog(
        {"category": "question", "description": "Je n'arrive pas à changer mes photos de profil"}
    )
    _drain(queue)
    dm_channel = client.get_direct_channel(alice.user_id)["id"]
    offer = alice.channel_posts(dm_channel)[-1]
    say(
        "[bold]Alice[/] asks for help; Envol first suggests: "
        + "; ".join(a["title"] for a in offer["props"]["attachments"] if a.get("title"))
    )
    alice.click(offer["id"], alice.find_action(offer["id"], "Envoyer ma demande quand même"))
    _drain(queue)
    # The ticket: the newest thread in ~support that carries the animators' buttons (the
    # channel also holds the pinned guides and, in the whole demo, other people's tickets).
    root = next(
        p
        for p in reversed(bob.channel_posts(support))
        if not p.get("root_id")
        and any(a.get("actions") for a in p.get("props", {}).get("attachments", []))
    )
    say(f"posted in ~support: {root['message']}", markup=False)
    bob.click(root["id"], bob.find_action(root["id"], "Je m'en occupe"))
    _click_like_a_person(bob, root["id"], "Répondre")
    bob.submit_dialog({"answer": "Profil > Photo de profil > Modifier, puis une image carrée."})
    _drain(queue)
    bob.click(root["id"], bob.find_action(root["id"], "Résolu"))
    _drain(queue)
    for post in alice.channel_posts(dm_channel)[-2:]:
        say(f"  DM to Alice: {post['message'].splitlines()[0]}", markup=False)

    # A poll: posted, voted, a vote changed; the post shows the tally.
    signer = Signer(context.settings.secret_key.get_secret_value())
    with transaction(context.sessions) as session:
        poll = surveys.ensure_poll(
            session,
            "demo-lunch",
            "Quel jour pour le déjeuner d'équipe ?",
            ["Jeudi", "Vendredi"],
            language="fr",
            created_by="demo",
        )
        post_id = surveys.post_poll(session, client, signer, app_url, poll, town)
    for user, option in (
        (alice, "Vendredi"),
        (bob, "Vendredi"),
        (carol, "Jeudi"),
        (carol, "Vendredi"),
    ):
        user.click(post_id, user.find_action(post_id, option))
    tally = carol.get_post(post_id)["props"]["attachments"][0]["text"]
    say("poll “Quel jour pour le déjeuner d'équipe ?” after 4 clicks (Carole changed her mind):")
    say("  " + tally.replace("\n", "\n  "), markup=False)

    # The launch survey: a wave opened 14 days ago gets it; three people answer.
    with transaction(context.sessions) as session:
        cohort = Cohort(name="Démo support", kind=CohortKind.TEST)
        session.add(cohort)
        session.flush()
        for username, user in people.items():
            person = Person(
                email=f"{username}@exemple.fr",
                first_name=user["first_name"],
                last_name=user["last_name"],
                language=Language.FR,
                mattermost_user_id=user["id"],
            )
            session.add(person)
            session.flush()
            session.add(CohortMember(cohort_id=cohort.id, person_id=person.id))
        delay = context.runtime.current.survey_delay_days
        wave = Wave(
            name="Démo support",
            cohort_id=cohort.id,
            status=WaveStatus.OPEN,
            position=99,
            opened_at=clock.now() - dt.timedelta(days=delay),
        )
        session.add(wave)
        session.flush()
        wave_id = wave.id
    courier = Courier(context.sessions, client)
    # In batches of 200, as the beat sends them; at 3,000 people the demo's own waves are due
    # too, and Alice's may be in a later batch: send until nothing is due.
    sent = 0
    while batch := surveys.send_due_surveys(courier, signer, context.runtime.current, app_url):
        sent += batch
    say(f"launch survey sent to {sent} people {delay} days after their wave opened")
    for user, scores in ((alice, "4453"), (bob, "5554"), (carol, "3242")):
        dm = client.get_direct_channel(user.user_id)["id"]
        invitation = user.channel_posts(dm)[-1]
        _click_like_a_person(user, invitation["id"], "Répondre")
        user.submit_dialog(dict(zip(surveys.QUESTIONS, scores, strict=True)))
    with context.sessions() as session:
        for result in surveys.results_per_cohort(session, wave_id):
            if not result.respondents:
                continue
            means = ", ".join(f"{q} {result.means[q]:.2f}" for q in surveys.QUESTIONS)
            say(
                f"  cohort {result.cohort_name}: {result.respondents}/{result.members} answers; "
                f"{means}; score {result.score}/5"
            )
        score = surveys.survey_score_for_wave(session, wave_id)
    say(
        f"  wave score for the gate: {score}/5 "
        f"(GateSurveyScore {context.runtime.current.gate_survey_score})"
    )


def _click_like_a_person(user: AppUser, post_id: str, label: str) -> None:
    """Click a button that opens a form; once more if the form did not open (a dropped request
    under ``--faults``: Envol answers "click again", and a person does)."""
    before = len(user.dialogs)
    with suppress(CallFailed):  # Mattermost's generic error: try once more below
        user.click(post_id, user.find_action(post_id, label))
    if len(user.dialogs) == before:
        user.click(post_id, user.find_action(post_id, label))
