"""Demo step: the whole launch, on the simulated clock.

Every wave opens on its planned day, in order, through its gate: managers and champions two
weeks before launch day (the CEO's announcement went out before), the pilot on launch day, then
each general wave until the whole roster is invited. Meanwhile the simulated employees
(``plugin.demo.population``) accept, fill in their profiles, post, answer surveys and ask for
help while Envol's dispatcher invites, reminds, welcomes and nudges, the campaign sends what is
due, and the metrics take a snapshot every week. At the end, the roster's coverage: who was
invited once, and why anyone was not.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.campaigns.plan import read_plan
from plugin.cohorts.guards import RefusalCode, WaveRefused
from plugin.cohorts.models import Wave, WaveStatus
from plugin.cohorts.service import (
    MANAGERS_CHAMPIONS,
    PILOT,
    LaunchResult,
    launch_wave,
    override_gate,
)
from plugin.cohorts.views import gate_table
from plugin.console.launch import launch_facts
from plugin.db import transaction
from plugin.delivery.posts import Courier
from plugin.demo.arrivals import invitations_from_emails
from plugin.demo.commands import install_demo_commands
from plugin.demo.coverage import roster_coverage
from plugin.demo.population import Population
from plugin.demo.world import World, world_for
from plugin.invitations.environment import build_environment
from plugin.invitations.service import plan_wave_invitations
from plugin.mattermost import MattermostClient
from plugin.metrics.gates import MetricsGateMeasures, explain_gate
from plugin.metrics.service import take_snapshot
from plugin.onboarding.cycle import run_once
from plugin.onboarding.funnel import funnel
from plugin.people.models import Person, PersonStatus
from plugin.preflight import PreflightContext, run_preflight
from plugin.security.service import Signer
from plugin.surveys.service import send_due_surveys

if TYPE_CHECKING:
    from plugin.demo.mail_catcher import MailCatcher
    from plugin.demo.run import DemoRun

LAST_WAVE_DAYS = 14  # the last wave's first two weeks: invited, reminded, most have joined


class _Launch:
    """The day-by-day loop: Envol's cycle, then the people's day, then the weekly snapshot."""

    def __init__(self, run: DemoRun, world: World, mail: MailCatcher) -> None:
        self.run, self.world, self.mail = run, world, mail
        self.context = run.context
        self.runtime = run.context.runtime.current
        # Envol's cycle, in this process, reaches the sandbox without a socket (the demo's one
        # core spent most of a request's CPU on HTTP); a real server, over the network.
        self.mm = MattermostClient.from_settings(
            self.context.settings, session=world.envol_session()
        )
        self.team = self.mm.get_team_by_name(self.runtime.team_name)
        with self.context.sessions() as session:
            people = list(
                session.scalars(select(Person).where(Person.status == PersonStatus.ACTIVE))
            )
        self.settle = run.stage.settle if run.stage is not None else None
        self.population = Population(
            world, people, seed=run.seed, team_id=self.team["id"],
            support_channel=self.runtime.support_channel, settle=self.settle,
        )  # fmt: skip
        self.mails_read = len(mail.messages)
        self.snapshots = 0
        self.totals: dict[str, int] = {"invited": 0, "reminded": 0, "welcomed": 0, "nudged": 0}
        self.opened: list[tuple[str, dt.datetime, int]] = []

    def live_until(self, moment: dt.datetime) -> None:
        """Whole days up to ``moment``, then the clock stops on it."""
        days = (moment - clock.now()) // dt.timedelta(days=1)
        self.live(max(0, days))
        if clock.now() < moment:
            self.run.clock.set(moment)

    def live(self, days: int) -> None:
        campaign = self.run.state.get("campaign")
        for _ in range(days):
            moment = self.run.clock.advance(dt.timedelta(days=1))
            if campaign is not None:
                campaign.dispatch()
            report = run_once(
                build_environment(self.context, mm=self.mm), digests=moment.weekday() == 0
            )
            self.totals["welcomed"] += report.welcomed
            self.totals["nudged"] += report.nudged
            sent = report.dispatch
            self.totals["invited"] += sent.emailed + sent.mattermost_invited + sent.added_existing
            self.totals["reminded"] += sent.reminded
            send_due_surveys(
                Courier(self.context.sessions, self.mm),
                Signer(self.context.settings.secret_key.get_secret_value()),
                self.runtime, self.context.settings.public_url,
            )  # fmt: skip
            new_mail = self.mail.messages[self.mails_read :]
            self.mails_read += len(new_mail)
            self.population.run_day(moment, invitations_from_emails(new_mail, at=moment))
            if self.settle is not None:
                self.settle()  # whatever the day's people asked of the worker, done today
            if moment.weekday() == 0:
                with transaction(self.context.sessions) as session:
                    take_snapshot(session, self.mm, self.runtime)
                self.snapshots += 1

    def open_wave(self, name: str, reason: str) -> None:
        """Open a wave through its gate; when it fails, the committee overrides it, with a
        reason recorded in the audit trail (as an admin would with --override --reason)."""
        say = self.run.console.print
        with transaction(self.context.sessions) as session:
            wave = session.scalars(select(Wave).where(Wave.name == name)).one()
            explanation = explain_gate(session, wave, self.runtime)
        say(gate_table(explanation.result, explanation.trends, language="en"))
        with transaction(self.context.sessions) as session:
            try:
                result = self._launch(session, name)
            except WaveRefused as refused:
                if {r.code for r in refused.check.refusals} != {RefusalCode.GATE_FAILS}:
                    raise  # only the gate may be overridden; the other rules must hold
                say(f"[yellow]the gate holds the wave back:[/] {refused}")
                override_gate(session, name, reason=reason, actor="comité de lancement")
                result = self._launch(session, name)
                say(f"overridden by the launch committee: “{reason}” (in the audit trail)")
        say(f"wave [bold]{name}[/] opened on {clock.now():%d %B %Y}: "
            f"{len(result.person_ids)} people handed to the invitation engine")  # fmt: skip
        self.opened.append((name, clock.now(), len(result.person_ids)))

    def _launch(self, session: Session, name: str) -> LaunchResult:
        # What ``envol waves launch`` checks: the announcement sent, preflight clean.
        report = run_preflight(
            PreflightContext(client=self.mm, deploy=self.context.settings, runtime=self.runtime)
        )
        return launch_wave(
            session,
            name,
            self.runtime,
            actor="demo",
            plan_invitations=plan_wave_invitations,
            measures=MetricsGateMeasures(),
            facts=launch_facts(session, read_plan()[0], report),
        )

    def funnel_table(self) -> Table:
        table = Table(title=f"envol invitations status — {clock.now():%d %B %Y}")
        for column in ("wave", "invited", "joined", "activated", "profile complete", "failed"):
            table.add_column(column, justify="left" if column == "wave" else "right")
        with self.context.sessions() as session:
            waves = session.scalars(
                select(Wave).where(Wave.status == WaveStatus.OPEN).order_by(Wave.position)
            ).all()
            for wave in waves:
                f = funnel(session, self.runtime, wave.name)
                table.add_row(wave.name, *(str(n) for n in _funnel_numbers(f)))
        return table


def _funnel_numbers(f: Any) -> tuple[int, ...]:
    return (f.sent, f.joined, f.activated, f.profile_complete, f.failed)


WAVE_REASONS = {
    MANAGERS_CHAMPIONS: "managers and champions are trained first, two weeks before launch day",
    PILOT: "the pilot opens on launch day; managers and champions are ready",
}
GENERAL_REASON = "the launch committee opens the wave on its planned day"


def _planned_waves(run: DemoRun) -> list[tuple[str, dt.datetime]]:
    with run.context.sessions() as session:
        waves = session.scalars(
            select(Wave).where(Wave.status == WaveStatus.PLANNED).order_by(Wave.position)
        ).all()
        return [(w.name, w.planned_at or clock.now()) for w in waves]


def step_launch(run: DemoRun) -> None:
    from plugin.demo.mail_catcher import MailCatcher

    mail = run.state.get("mail")
    if not isinstance(mail, MailCatcher):
        run.console.print("[yellow]the launch step needs the demo's stage (envol demo)[/]")
        return
    say = run.console.print
    # The sandbox's state when the demo runs its own, else the Mattermost it targets (API v4).
    launch = _Launch(run, world_for(run), mail)
    install_demo_commands(
        run.context.sessions, launch.mm, team_id=launch.team["id"],
        url=f"{run.context.settings.public_url}/commands",
    )  # fmt: skip
    say(f"/envol and /aide installed on ~{launch.runtime.team_name}; "
        f"invitation strategy: {launch.runtime.invitation_strategy}")  # fmt: skip

    for name, planned_at in _planned_waves(run):
        launch.live_until(planned_at)
        launch.open_wave(name, WAVE_REASONS.get(name, GENERAL_REASON))
        launch.live(1)  # the day's invitations go out
        say(launch.funnel_table())
    launch.live(LAST_WAVE_DAYS)
    say(launch.funnel_table())
    campaign = run.state.get("campaign")
    if campaign is not None:
        campaign.print_status(run.console)
        campaign.close()
    log = launch.population.log.summary()
    say("what the simulated employees did: " + ", ".join(f"{k} {v}" for k, v in log.items()))
    say(f"Envol sent {launch.totals['invited']} invitations and {launch.totals['reminded']} "
        f"reminders, welcomed {launch.totals['welcomed']} "
        f"people, nudged {launch.totals['nudged']} incomplete profiles; "
        f"{launch.snapshots} weekly snapshots")  # fmt: skip
    coverage = roster_coverage(run)
    say(coverage.table())
    for reason, who in coverage.excluded.items():
        shown = ", ".join(who[:5]) + ("…" if len(who) > 5 else "")
        say(f"  not invited — {reason}: {len(who)} ({shown})", markup=False)
    run.state["coverage"] = coverage
    run.state["waves_opened"] = launch.opened
    run.state["launch_snapshots"] = launch.snapshots
    launch.population.close()
    launch.world.close()
    launch.mm.close()
