"""Worker memory with a 100,000-person roster: the peak RSS of a worker process doing its
per-cycle work, when the roster holds 100,000 people against 1,000 (the baseline, same run).

The work is the same in both runs, only the roster around it grows: a wave of 1,000 people
(one in three already on Mattermost) is invited, 40 % of the newcomers sign up, and everyone who
arrived is welcomed. In the big roster, half of the other people were onboarded by earlier
waves (linked to a Mattermost account, invitation activated, profile complete) and half are not
invited yet; the sandbox's team holds only the current wave (a team of 50,000 is more than the
sandbox holds, so the team listing that join detection reads in full is not grown here).

Each run is a fresh process, as a worker is: it imports every task module, then runs the Celery
task functions themselves (``invitations.dispatch``, ``onboarding.cycle``), against the sandbox
and a local SMTP server, on a SQLite file. Memory is read from ``/proc/self/status``; the peak
(VmHWM) is reset before each step (``/proc/self/clear_refs``), so every step has its own peak.
The daily metrics snapshot, which reads the whole roster by design, is measured apart.
"""

from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text, update

from bench import WORKER_CHANNELS, WORKER_TEAM, Figure, worker_team
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveHandoff, WaveStatus
from plugin.db import make_engine, make_session_factory, transaction
from plugin.demo.mail_catcher import MailCatcher
from plugin.demo.sandbox_people import accept_invite
from plugin.invitations.models import Invitation, InvitationState, InvitationStrategy
from plugin.invitations.service import plan_wave_invitations
from plugin.models import metadata
from plugin.onboarding.models import ProfileFollowUp
from plugin.people.models import Language, Person
from plugin.sandbox import Sandbox

NAME = "worker_memory"
PROJECT = Path(__file__).resolve().parent.parent
TEAM, CHANNELS = WORKER_TEAM, WORKER_CHANNELS
ACCEPTING_SHARE = 0.4
ROUND = "READY-FOR-ARRIVALS"
CHILD = "from bench.bench_worker_memory import worker_child; worker_child()"


# --------------------------------------------------------------------------- the scene


def _roster_rows(start: int, stop: int) -> list[dict[str, Any]]:
    return [
        {
            "email": f"person{n}@acme.test",
            "first_name": f"Prénom{n}",
            "last_name": f"Nom{n}",
            "department": f"Département {n % 40}",
            "site": f"Site {n % 12}",
            "language": Language.EN if n % 4 == 0 else Language.FR,
        }
        for n in range(start, stop)
    ]


def _fake_user_id(n: int) -> str:
    return f"earlier{n:019d}"  # 26 characters, like a Mattermost id


def _scene(sandbox: Sandbox, database: Path, roster: int, wave: int) -> dict[str, Any]:
    """The roster, the earlier waves and the current wave's plan; the wave's existing accounts
    on the sandbox. Returns what the parent needs later (who accepts, what to expect)."""
    sandbox.reset()
    team = worker_team(sandbox, max_users=wave + 100)
    engine = make_engine(f"sqlite:///{database}")
    metadata.create_all(engine)
    sessions = make_session_factory(engine)
    earlier = (roster - wave) // 2  # onboarded by earlier waves; the rest is not invited yet
    with transaction(sessions) as session:
        for start in range(0, roster, 20_000):
            session.execute(insert(Person), _roster_rows(start, min(roster, start + 20_000)))
        # One manager per ten people, for the snapshot's manager groups (ids start at 1 in a
        # fresh SQLite file).
        session.execute(
            text("UPDATE person SET manager_id = ((id - 1) / 10) * 10 + 1 WHERE (id - 1) % 10 != 0")
        )
        ids = list(session.scalars(select(Person.id).order_by(Person.id)))
        wave_ids, earlier_ids = ids[:wave], ids[wave : wave + earlier]
        if earlier_ids:
            _earlier_waves(session, earlier_ids)
        cohort = Cohort(name="Vague 1", kind=CohortKind.WAVE)
        session.add(cohort)
        session.flush()
        current = Wave(
            name="vague-1", cohort_id=cohort.id, status=WaveStatus.OPEN, channels=CHANNELS
        )
        session.add(current)
        session.flush()
        session.execute(
            insert(CohortMember),
            [{"cohort_id": cohort.id, "person_id": i, "reason": "wave"} for i in wave_ids],
        )
        session.execute(
            insert(WaveHandoff), [{"wave_id": current.id, "person_id": i} for i in wave_ids]
        )
        plan_wave_invitations(session, current.id)
        emails = dict(
            session.execute(select(Person.id, Person.email).where(Person.id.in_(wave_ids))).all()
        )
    engine.dispose()
    existing = {pid for index, pid in enumerate(wave_ids) if index % 3 == 0}
    for pid in sorted(existing):
        sandbox.create_user(f"user{pid}", email=emails[pid], first_name="Prénom", locale="fr")
    newcomers = [pid for pid in wave_ids if pid not in existing]
    accepting = newcomers[: int(len(newcomers) * ACCEPTING_SHARE)]
    return {
        "invite_id": team["invite_id"],
        "accepting": [emails[pid] for pid in accepting],
        "emails": len(newcomers),
        "welcomes": len(existing) + len(accepting),
    }


def _earlier_waves(session: Any, person_ids: list[int]) -> None:
    """People onboarded before this wave: linked, invitation activated, profile complete."""
    cohort = Cohort(name="Vague 0", kind=CohortKind.WAVE)
    session.add(cohort)
    session.flush()
    wave = Wave(name="vague-0", cohort_id=cohort.id, status=WaveStatus.OPEN, channels=CHANNELS)
    session.add(wave)
    session.flush()
    for start in range(0, len(person_ids), 10_000):
        chunk = person_ids[start : start + 10_000]
        session.execute(
            update(Person), [{"id": i, "mattermost_user_id": _fake_user_id(i)} for i in chunk]
        )
        session.execute(
            insert(CohortMember),
            [{"cohort_id": cohort.id, "person_id": i, "reason": "wave"} for i in chunk],
        )
        session.execute(
            insert(Invitation),
            [
                {
                    "person_id": i,
                    "wave_id": wave.id,
                    "state": InvitationState.ACTIVATED,
                    "strategy": InvitationStrategy.ENVOL_EMAIL,
                    "due_at": None,
                    "mattermost_user_id": _fake_user_id(i),
                    "attempts": 0,
                    "reminders_sent": 0,
                    "last_error": "",
                    "failure_reason": "",
                }
                for i in chunk
            ],
        )
        session.execute(
            insert(ProfileFollowUp),
            [
                {
                    "person_id": i,
                    "mattermost_user_id": _fake_user_id(i),
                    "score": 100,
                    "missing": [],
                    "complete": True,
                    "nudges_sent": 0,
                    "due_at": None,
                }
                for i in chunk
            ],
        )


# --------------------------------------------------------------------------- the worker side


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        found = re.search(rf"^{field}:\s+(\d+) kB", status.read(), re.MULTILINE)
    return int(found.group(1)) if found else 0


def _reset_peak() -> bool:
    """Start a new VmHWM from the current RSS (Linux ≥ 4.0); False where not allowed."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def worker_child() -> None:
    """Runs in the subprocess: a worker's imports, then each step under its own peak."""
    import importlib

    from plugin.tasks import TASK_MODULES

    for module in TASK_MODULES:  # what ``envol worker`` imports before its first task
        importlib.import_module(module)
    from plugin.invitations.tasks import dispatch, shared_client
    from plugin.metrics.tasks import take_daily_snapshot
    from plugin.onboarding.tasks import onboarding_cycle

    steps: dict[str, dict[str, float]] = {}
    resettable = True

    def step(name: str, work: Callable[[], Any]) -> None:
        nonlocal resettable
        gc.collect()
        resettable = _reset_peak() and resettable
        start = _status_kib("VmRSS")
        work()
        steps[name] = {"start_kib": start, "peak_kib": _status_kib("VmHWM")}

    gc.collect()
    idle = _status_kib("VmRSS")
    step("dispatch", dispatch)
    print(ROUND, flush=True)
    sys.stdin.readline()  # the parent signs the newcomers up meanwhile
    step("onboarding", onboarding_cycle)
    step("onboarding-idle", onboarding_cycle)  # the steady cycle: nothing left to welcome
    dm_cache = len(getattr(shared_client(), "_dm_channels", {}))  # grows with people DMed
    step("snapshot", take_daily_snapshot)
    result = {
        "idle_kib": idle,
        "steps": steps,
        "resettable": resettable,
        "dm_channel_cache": dm_cache,
    }
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------- one measurement


def _measure(
    sandbox: Sandbox, mail: MailCatcher, workdir: Path, roster: int, wave: int
) -> dict[str, Any]:
    database = workdir / f"roster-{roster}.db"
    scene = _scene(sandbox, database, roster, wave)
    mail.messages.clear()
    env = {
        **os.environ,
        "ENVOL_DATABASE_URL": f"sqlite:///{database}",
        "ENVOL_BROKER_URL": f"sqla+sqlite:///{workdir / 'broker.db'}",
        "ENVOL_MATTERMOST_URL": sandbox.url,
        "ENVOL_MATTERMOST_TOKEN": sandbox.admin_token,
        "ENVOL_SMTP_URL": mail.url,
        "ENVOL_MAIL_FROM": "Envol <envol@acme.test>",
        "ENVOL_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
    }
    env.pop("ENVOL_CLOCK_FILE", None)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD],
        cwd=PROJECT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    result: dict[str, Any] | None = None
    try:
        for line in child.stdout:
            if line.startswith(ROUND):
                for email in scene["accepting"]:
                    accept_invite(sandbox, email=email, invite_id=scene["invite_id"])
                child.stdin.write("go\n")
                child.stdin.flush()
            elif line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
        child.wait(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if child.returncode != 0 or result is None:
        raise RuntimeError(f"the worker process failed (exit {child.returncode})")
    welcomes = _welcome_posts(sandbox)
    if len(mail.messages) != scene["emails"] or welcomes != scene["welcomes"]:
        raise RuntimeError(
            f"roster {roster:,}: expected {scene['emails']} e-mails and {scene['welcomes']} "
            f"welcomes, got {len(mail.messages)} and {welcomes}"
        )
    return result


def _welcome_posts(sandbox: Sandbox) -> int:
    with sandbox.state.lock:
        return sum(
            1
            for post in sandbox.state.posts.values()
            if str((post.get("props") or {}).get("envol_marker", "")).startswith("welcome:")
        )


def _mib(kib: float) -> float:
    return kib / 1024


def _growth(result: dict[str, Any], *names: str) -> float:
    """The highest peak of these steps above the idle worker, in MiB."""
    return _mib(max(result["steps"][n]["peak_kib"] for n in names) - result["idle_kib"])


def run(quick: bool) -> list[Figure]:
    big, small = (10_000, 1_000) if quick else (100_000, 1_000)
    wave = 300 if quick else 1_000
    sandbox = Sandbox.start(contract=False)
    mail = MailCatcher.start()
    try:
        with tempfile.TemporaryDirectory(prefix="envol-bench-memory-") as tmp:
            workdir = Path(tmp)
            base = _measure(sandbox, mail, workdir, small, wave)
            grown = _measure(sandbox, mail, workdir, big, wave)
    finally:
        mail.stop()
        sandbox.stop()
    if not (base["resettable"] and grown["resettable"]):
        print("  (peak RSS could not be reset per step: each step's peak includes the ones before)")
    per_cycle = ("dispatch", "onboarding", "onboarding-idle")
    base_what = f"same, roster of {small:,}"
    figures = [
        Figure(NAME, f"worker peak RSS, dispatch + onboarding of a {wave:,}-person wave, roster "
               f"of {big:,}", _mib(max(grown["steps"][n]["peak_kib"] for n in per_cycle)),
               _mib(max(base["steps"][n]["peak_kib"] for n in per_cycle)), base_what, "MiB"),
        Figure(NAME, f"RSS above the idle worker ({_mib(grown['idle_kib']):.0f} MiB): dispatch, "
               f"roster of {big:,}", _growth(grown, "dispatch"), _growth(base, "dispatch"),
               base_what, "MiB"),
        Figure(NAME, f"RSS above the idle worker: onboarding (join detection, arrivals, "
               f"follow-ups), roster of {big:,}", _growth(grown, "onboarding"),
               _growth(base, "onboarding"), base_what, "MiB"),
        Figure(NAME, f"RSS above the idle worker: an onboarding cycle with nothing to do (join "
               f"detection only), roster of {big:,}", _growth(grown, "onboarding-idle"),
               _growth(base, "onboarding-idle"), base_what, "MiB"),
        Figure(NAME, f"RSS above the idle worker: daily metrics snapshot (reads the whole roster), "
               f"roster of {big:,}", _growth(grown, "snapshot"), _growth(base, "snapshot"),
               base_what, "MiB"),
    ]  # fmt: skip
    print(
        f"  DM channel ids cached by the worker's shared client after the wave: "
        f"{grown['dm_channel_cache']:,} (roster {big:,}), {base['dm_channel_cache']:,} "
        f"(roster {small:,})"
    )
    return figures
