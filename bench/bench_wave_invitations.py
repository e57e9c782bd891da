"""A 10,000-person wave: HTTP requests against the lower bound and a naive loop; invitation time
by Envol's e-mail (measured) against Mattermost's e-mail invitation (its 20-an-hour limit).

1. Requests: everyone already has an account; Envol adds them to the team and 5 channels and
   welcomes each with a DM. Counted from the sandbox's request log, restricted to those verbs
   (finding the accounts, team, channels, DM channel, post, reading the profiles). The lower
   bound is what the API allows at best: 200 users a listing page, 256 a team batch, 1,000 a
   channel batch and a ``users/ids`` read, then one DM channel and one post a person. The naive
   loop is one lookup, one team add, five channel adds, one DM channel and one post a person.
   Sidebar categories (two requests a person, no batch form exists) are reported apart.
2. Time: 10,000 newcomers invited by strategy 3 (Envol's SMTP, measured against a local SMTP
   server, with the database writes of the outbox) vs strategy 2 (20 an hour, computed).
3. The pacer: the same wave with the sandbox's rate limit on (10 req/s, burst 100, as
   Mattermost's ``RateLimitSettings``) and the client pacing itself from the server's config.
   Wall time against requests ÷ 10 s (a computed bound from the requests counted), and how many
   the server refused (429). The wave makes far more requests than the burst, so the pacer
   does the work. ``--quick`` uses a smaller wave, still several times the burst.

The lower bound, the naive loop's count and strategy 2's time are computed bounds (formulas);
the requests, times and 429s are measured.
"""

from __future__ import annotations

import math
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from bench import Figure
from plugin.cohorts.models import Cohort, CohortKind, Wave, WaveHandoff, WaveStatus
from plugin.db import make_engine, make_session_factory, transaction
from plugin.demo.mail_catcher import MailCatcher
from plugin.invitations.dispatcher import dispatch_invitations
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.service import plan_wave_invitations
from plugin.invitations.strategies import MATTERMOST_INVITES_PER_HOUR
from plugin.mail import Address, SmtpConfig
from plugin.mattermost import MattermostClient
from plugin.mattermost.pacing import forget_pacers
from plugin.models import metadata
from plugin.onboarding.arrival import process_arrivals
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from plugin.settings import runtime_settings_from_config

NAME = "wave_invitations"
CHANNELS = [f"vague-{n}" for n in range(5)]
SCOPE = {  # the routes of "team + 5 channels + welcome DM", and what it takes to get there
    "/api/v4/users",
    "/api/v4/users/email/{email}",
    "/api/v4/users/ids",
    "/api/v4/teams/{team_id}/members/batch",
    "/api/v4/channels/{channel_id}/members",
    "/api/v4/channels/direct",
    "/api/v4/posts",
}
CATEGORY_ROUTES = {
    "/api/v4/users/{user_id}/teams/{team_id}/channels/categories",
}


def _scene(sandbox: Sandbox, workdir: Path, people: int, existing: bool) -> CycleEnvironment:
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": people + 100}, "ServiceSettings": {}})
    team = sandbox.create_team("entreprise", "Entreprise", type="I")
    for name in [*CHANNELS, "support"]:
        sandbox.create_channel(team["id"], name)
    engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        cohort = Cohort(name="Vague", kind=CohortKind.WAVE)
        session.add(cohort)
        session.flush()
        wave = Wave(name="vague", cohort_id=cohort.id, status=WaveStatus.OPEN, channels=CHANNELS)
        session.add(wave)
        session.flush()
        session.execute(
            insert(Person),
            [
                {"email": f"p{n}@acme.test", "first_name": f"P{n}", "last_name": "Bench"}
                for n in range(people)
            ],
        )
        ids = list(session.scalars(select(Person.id)))
        session.execute(insert(WaveHandoff), [{"wave_id": wave.id, "person_id": i} for i in ids])
        plan_wave_invitations(session, wave.id)
    if existing:
        for n in range(people):
            sandbox.create_user(f"person{n}", email=f"p{n}@acme.test", first_name=f"P{n}")
    return CycleEnvironment(
        sessions=sessions,
        mm=MattermostClient(sandbox.url, sandbox.admin_token),
        runtime=runtime_settings_from_config({"TeamName": "entreprise"}),
        sender=Address("envol@acme.test", "Envol"),
        batch_size=2000,
        owns_client=True,
    )


def _drain(step: object) -> None:
    while step().claimed:  # type: ignore[operator]
        pass


def measure_requests(people: int) -> list[Figure]:
    # Licensed: an unlicensed server refuses accounts past its user limit (5,000), and a
    # company that invites 10,000 people runs a licensed one.
    sandbox = Sandbox.start(contract=False, licensed=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = _scene(sandbox, Path(tmp), people, existing=True)
            sandbox.request_log.clear()
            _drain(lambda: dispatch_invitations(env))
            _drain(lambda: process_arrivals(env))
            env.close()
            env.sessions.kw["bind"].dispose()
        log = list(sandbox.request_log)
    finally:
        sandbox.stop()
    in_scope = sum(1 for e in log if e.route in SCOPE)
    categories = sum(1 for e in log if e.route in CATEGORY_ROUTES)
    lower_bound = (
        math.ceil(people / 200)  # list the directory to find the accounts
        + math.ceil(people / 256)  # team batches
        + len(CHANNELS) * math.ceil(people / 1000)  # channel batches
        + math.ceil(people / 1000)  # read the profiles (locale, checklist)
        + 2 * people  # one DM channel and one post a person
    )
    naive = people * (1 + 1 + len(CHANNELS) + 2)
    what = f"requests, {people:,} people: team + {len(CHANNELS)} channels + welcome DM"
    return [
        Figure(NAME, what, in_scope, lower_bound, "API lower bound", "requests", computed=True),
        Figure(NAME, what, in_scope, naive, "naive per-person loop", "requests", computed=True),
        Figure(
            NAME,
            f"sidebar categories, {people:,} people",
            categories,
            2 * people,
            "one read + one write a person",
            "requests",
            computed=True,
        ),
    ]


def measure_email_time(people: int) -> list[Figure]:
    sandbox = Sandbox.start(contract=False)
    mail = MailCatcher.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = _scene(sandbox, Path(tmp), people, existing=False)
            env.smtp = SmtpConfig.from_url(mail.url)
            started = time.perf_counter()
            _drain(lambda: dispatch_invitations(env))
            elapsed = time.perf_counter() - started
            env.close()
            env.sessions.kw["bind"].dispose()
        if len(mail.messages) != people:
            raise RuntimeError(f"expected {people} e-mails, the server got {len(mail.messages)}")
    finally:
        mail.stop()
        sandbox.stop()
    strategy_2 = people / MATTERMOST_INVITES_PER_HOUR * 3600
    return [
        Figure(
            NAME,
            f"time to invite {people:,} people, Envol's e-mail (strategy 3)",
            elapsed,
            strategy_2,
            "Mattermost's e-mail invitation at 20/hour (strategy 2)",
            "s",
            computed=True,
        ),
    ]


RATE, BURST = 10.0, 100


def measure_paced(people: int) -> list[Figure]:
    """The wave under the server's rate limit, the client pacing itself from the config."""
    forget_pacers()
    sandbox = Sandbox.start(contract=False, licensed=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = _scene(sandbox, Path(tmp), people, existing=True)
            sandbox.set_rate_limit(RATE, burst=BURST)
            env.mm.configure_pacing_from_server()
            sandbox.request_log.clear()
            started = time.perf_counter()
            _drain(lambda: dispatch_invitations(env))
            _drain(lambda: process_arrivals(env))
            elapsed = time.perf_counter() - started
            env.close()
            env.sessions.kw["bind"].dispose()
        log = list(sandbox.request_log)
    finally:
        sandbox.stop()
        forget_pacers()
    refused = sum(1 for entry in log if entry.status == 429)
    requests = len(log)
    if requests <= BURST:
        raise RuntimeError(f"{requests} requests fit in the burst of {BURST}: the pacer was idle")
    return [
        Figure(
            NAME,
            f"wall time, {people:,}-person wave under {RATE:g} req/s (burst {BURST}): "
            f"{requests:,} requests, {refused} refused (429)",
            elapsed,
            requests / RATE,
            f"requests ÷ {RATE:g} per s",
            "s",
            computed=True,
            goal_max=1.15,
        ),
        Figure(
            NAME,
            f"requests refused (429), {people:,}-person wave under {RATE:g} req/s",
            refused,
            0,
            f"of {requests:,} requests",
            "requests",
            count=True,
            count_name="refused",
        ),
    ]


def run(quick: bool) -> list[Figure]:
    people = 1000 if quick else 10_000
    # Quick: ~60 people make ~250 requests, 2.5 times the burst (about 25 s at 10 req/s).
    paced = 60 if quick else 10_000
    return measure_requests(people) + measure_email_time(people) + measure_paced(paced)
