"""Demo step: four weeks of adoption played by simulated people, a snapshot each week, then the
HTML report (its path is printed) and the weekly post with its PNG chart in Mattermost.

After the launch step (the whole demo, on the sandbox or a staging server) it reports on the
weeks the launch lived; on its own it plays four weeks of a small launch in a sandbox of its own
(the simulation signs people up through the sandbox)."""

from __future__ import annotations

import datetime as dt
import random
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveStatus
from plugin.db import transaction
from plugin.demo.scene import Scene, scene_of
from plugin.demo.simulation import LaunchSimulation
from plugin.invitations.environment import build_environment
from plugin.mattermost import MattermostClient
from plugin.metrics.measures import percent
from plugin.metrics.service import group_rows, take_snapshot
from plugin.onboarding.cycle import run_once
from plugin.people.models import Person, PersonRole
from plugin.reports.data import load_report_data
from plugin.reports.html import write_html
from plugin.reports.texts import pct
from plugin.reports.weekly import claim_week, deliver, iso_week, report_page_url

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun
    from plugin.metrics.models import MetricsSnapshot
    from plugin.sandbox import Sandbox
    from plugin.settings import RuntimeSettings

PEOPLE_PER_WAVE = 40  # simulated people per wave: enough for real charts, quick to play
_DEPARTMENTS = ("Ventes", "Informatique", "RH", "Production", "Finance")
_SITES = ("Paris", "Lyon", "Nantes")


def _small_roster(session: Session) -> list[Wave]:
    """When no earlier step planned waves: 80 people, a pilot wave and a second wave."""
    people = [
        Person(
            email=f"demo{index}@exemple.fr",
            first_name=f"Prénom{index}",
            last_name=f"Nom{index}",
            department=_DEPARTMENTS[index % len(_DEPARTMENTS)],
            site=_SITES[index % len(_SITES)],
            role=PersonRole.MANAGER if index < 5 else PersonRole.EMPLOYEE,
        )
        for index in range(2 * PEOPLE_PER_WAVE)
    ]
    session.add_all(people)
    session.flush()
    waves = []
    for position, (name, group) in enumerate(
        (("Pilote", people[:PEOPLE_PER_WAVE]), ("Vague 1", people[PEOPLE_PER_WAVE:]))
    ):
        cohort = Cohort(name=f"Cohorte {name}", kind=CohortKind.WAVE)
        session.add(cohort)
        session.flush()
        session.add_all(CohortMember(cohort_id=cohort.id, person_id=p.id) for p in group)
        wave = Wave(name=name, cohort_id=cohort.id, position=position, status=WaveStatus.OPEN)
        session.add(wave)
        waves.append(wave)
    session.flush()
    return waves


def _wave_people(session: Session, wave: Wave) -> list[Person]:
    return list(
        session.scalars(
            select(Person)
            .join(CohortMember, CohortMember.person_id == Person.id)
            .where(CohortMember.cohort_id == wave.cohort_id)
            .order_by(Person.id)
            .limit(PEOPLE_PER_WAVE)
        )
    )


def _team_and_channels(scene: Scene, settings: Any) -> tuple[dict[str, Any], str, str]:
    team = scene.team(settings.team_name, settings.company_name)
    scene.raise_team_size(100_000)
    admin = scene.admin_user_id
    scene.join_team(team["id"], admin)
    channel_ids = []
    for name, private in (("lancement", False), (settings.committee_channel, True)):
        channel = scene.channel(team, name, private=private)
        scene.join_channel(channel["id"], admin)
        channel_ids.append(channel["id"])
    return team, channel_ids[0], channel_ids[1]


def _play_week(
    sim: LaunchSimulation,
    people: list[Person],
    week: int,
    general_id: str,
    rng: random.Random,
    roots: list[str],
) -> None:
    """One week of a launch: newcomers, profiles filled in, posts and replies, readers."""
    for person in people:
        entry = sim.journal.get(person.id)
        if entry is None or entry.user_id is None:
            if rng.random() < (0.55 if week == 0 else 0.35):
                try:
                    sim.join(person)
                except RuntimeError:  # already on the server from an earlier step
                    continue
            continue
        if not entry.profile_complete and rng.random() < 0.35:
            sim.complete_profile(person)
        roll = rng.random()
        if roll < 0.15:
            post = sim.post(person, general_id, f"Semaine {week + 1} : une idée à partager")
            roots.append(post["id"])
        elif roll < 0.3 and roots:
            sim.reply(person, rng.choice(roots), "Bonne idée, merci !")
        elif roll < 0.6:
            sim.visit(person)


def _simulate_weeks(
    run: DemoRun,
    sandbox: Sandbox,
    session: Session,
    mm: MattermostClient,
    team: dict[str, Any],
    general_id: str,
    rng: random.Random,
) -> MetricsSnapshot:
    """Four weeks of a small launch, for this step run on its own (without the launch step)."""
    settings = run.context.runtime.current
    waves = list(session.scalars(select(Wave).order_by(Wave.position).limit(2)))
    if not waves or not _wave_people(session, waves[0]):
        waves = _small_roster(session)
    sim = LaunchSimulation(sandbox, session, team)
    roots: list[str] = []
    for index, wave in enumerate(waves):
        people = _wave_people(session, wave)
        for person in people:
            sim.invite(person, wave.id)
        for week in range(4 - 2 * index):  # the second wave starts two weeks later
            _play_week(sim, people, week, general_id, rng, roots)
        if index == 0:
            for _ in range(2):
                take_snapshot(session, mm, settings)
                run.clock.advance(dt.timedelta(days=7))
    take_snapshot(session, mm, settings)
    run.clock.advance(dt.timedelta(days=7))
    for person_group in (_wave_people(session, w) for w in waves):
        _play_week(sim, person_group, 3, general_id, rng, roots)
    return take_snapshot(session, mm, settings)


def _report(
    run: DemoRun, session: Session, snapshot: MetricsSnapshot, settings: RuntimeSettings
) -> None:
    run.console.print(
        f"snapshot of {snapshot.day}: {snapshot.requests} requests to Mattermost "
        f"(fewest possible {snapshot.minimum_requests})"
    )
    for row in group_rows(session, snapshot, "wave"):
        run.console.print(
            f"  {row.label}: {row.invited} invited → {row.joined} joined "
            f"({pct(percent(row.joined, row.invited))}) → "
            f"{row.profile_complete} complete profiles → {row.active_7d} active "
            f"→ {row.contributed_7d} contributors this week"
        )
    data = load_report_data(session, company=settings.company_name, lang=settings.default_language)
    page = write_html(data, settings, run.workdir / "rapport-adoption.html")
    run.console.print(f"HTML report: {page.resolve()}")


def step_metrics(run: DemoRun) -> None:
    with scene_of(run) as scene:
        _metrics(run, scene)


def _metrics(run: DemoRun, scene: Scene) -> None:
    from plugin.sandbox import Sandbox

    settings = run.context.runtime.current
    rng = random.Random(run.seed)
    team, general_id, committee_id = _team_and_channels(scene, settings)
    with MattermostClient(scene.url, scene.admin_token) as mm:
        if run.state.get("launch_snapshots"):
            # Today's cycle first, so the invitations know who joined today, as the
            # report will.
            run_once(build_environment(run.context), digests=False)
        with transaction(run.context.sessions) as session:
            if run.state.get("launch_snapshots"):
                # The launch step lived through the weeks and took the snapshots.
                snapshot = take_snapshot(session, mm, settings)
                _report(run, session, snapshot, settings)
            else:
                sandbox = run.state.get("sandbox") or run.state.get("own_sandbox")
                if not isinstance(sandbox, Sandbox):
                    run.console.print(
                        "[yellow]no launch was played: the weeks of adoption are simulated "
                        "in the sandbox only[/]"
                    )
                    return
                snapshot = _simulate_weeks(run, sandbox, session, mm, team, general_id, rng)
                _report(run, session, snapshot, settings)
        report_week = iso_week(clock.now())
        with transaction(run.context.sessions) as session:
            claim_week(session, report_week)
        with transaction(run.context.sessions) as session:
            delivery = deliver(
                session,
                mm,
                settings,
                claim_week(session, report_week, lock=True),
                report_page_url(run.context.settings.public_url),
            )
    posted = scene.post(delivery.post_id)
    (file_id,) = posted["file_ids"]
    chart = run.workdir / f"rapport-{report_week}.png"
    chart.write_bytes(scene.file(file_id))
    run.console.print(
        f"weekly report posted in ~{settings.committee_channel} (post {delivery.post_id}) "
        f"with its chart (a copy: {chart.resolve()}):"
    )
    run.console.print(posted["message"], markup=False)
    run.state["metrics_committee_channel_id"] = committee_id
