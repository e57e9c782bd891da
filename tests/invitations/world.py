"""A launch scene for invitation and onboarding tests: a sandbox team with channels, a roster,
a cohort and its wave handed over, and the environment a dispatcher cycle runs in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveHandoff, WaveStatus
from plugin.db import transaction
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.service import plan_wave_invitations
from plugin.mail import Address, SmtpConfig
from plugin.mattermost import MattermostClient
from plugin.people.models import Language, Person, PersonRole
from plugin.sandbox import Sandbox
from plugin.settings import RuntimeSettings, runtime_settings_from_config

TEAM = "entreprise"
WAVE_CHANNELS = ["annonces", "entraide", "pilote-retours"]


@dataclass
class Scene:
    sandbox: Sandbox
    team: dict[str, Any]
    channels: dict[str, str]
    wave_id: int
    person_ids: list[int]
    existing_user_ids: dict[int, str] = field(default_factory=dict)  # person id -> user id
    manager_ids: list[int] = field(default_factory=list)


def runtime(**overrides: Any) -> RuntimeSettings:
    base: dict[str, Any] = {"TeamName": TEAM, "ReminderDelaysDays": "3,7"}
    base.update(overrides)
    return runtime_settings_from_config(base)


def build_scene(
    sandbox: Sandbox,
    sessions: sessionmaker[Session],
    *,
    people: int,
    existing_every: int | None = 3,
    managers: int = 2,
    kind: CohortKind = CohortKind.PILOT,
) -> Scene:
    """``people`` persons, one in ``existing_every`` (None: nobody) already on Mattermost;
    the first ``managers`` are managers of everyone else, round robin, and are on Mattermost."""
    sandbox.patch_config(
        {
            "TeamSettings": {"MaxUsersPerTeam": 20000},
            "ServiceSettings": {"EnableEmailInvitations": True},
        }
    )
    team = sandbox.create_team(TEAM, "Entreprise", type="I", admin_id=sandbox.admin_user_id)
    sandbox.add_team_member(team["id"], sandbox.admin_user_id)
    channels = {}
    for name in [*WAVE_CHANNELS, "support"]:
        channels[name] = sandbox.create_channel(team["id"], name)["id"]
    scene_people = []
    with transaction(sessions) as session:
        cohort = Cohort(name="Pilote", kind=kind)
        session.add(cohort)
        session.flush()
        wave = Wave(
            name="pilote",
            cohort_id=cohort.id,
            status=WaveStatus.OPEN,
            channels=list(WAVE_CHANNELS),
        )
        session.add(wave)
        session.flush()
        rows = []
        for n in range(people):
            rows.append(
                {
                    "email": f"person{n}@acme.test",
                    "first_name": f"Prénom{n}",
                    "last_name": f"Nom{n}",
                    "language": Language.EN if n % 4 == 0 else Language.FR,
                    "role": PersonRole.MANAGER if n < managers else PersonRole.EMPLOYEE,
                }
            )
        session.execute(insert(Person), rows)
        persons = sorted(session.query(Person).all(), key=lambda p: p.id)
        manager_persons = persons[:managers]
        for index, person in enumerate(persons):
            if index >= managers and manager_persons:
                person.manager_id = manager_persons[index % managers].id
        session.execute(
            insert(CohortMember),
            [{"cohort_id": cohort.id, "person_id": p.id, "reason": "pilot"} for p in persons],
        )
        session.execute(
            insert(WaveHandoff), [{"wave_id": wave.id, "person_id": p.id} for p in persons]
        )
        scene_people = [(p.id, p.email, index) for index, p in enumerate(persons)]
        wave_id = wave.id
    scene = Scene(
        sandbox=sandbox,
        team=team,
        channels=channels,
        wave_id=wave_id,
        person_ids=[pid for pid, _, _ in scene_people],
        manager_ids=[pid for pid, _, index in scene_people if index < managers],
    )
    for pid, email, index in scene_people:
        if index < managers or (existing_every and index % existing_every == 0):
            user = sandbox.create_user(
                email.split("@")[0], email=email, first_name=f"Prénom{index}", locale="fr"
            )
            scene.existing_user_ids[pid] = user["id"]
    with transaction(sessions) as session:
        plan_wave_invitations(session, wave_id)
    return scene


def environment(
    sandbox: Sandbox,
    sessions: sessionmaker[Session],
    *,
    smtp_url: str | None = None,
    settings: RuntimeSettings | None = None,
    lease: dt.timedelta = dt.timedelta(minutes=10),
    retry_budget: float = 60.0,
) -> CycleEnvironment:
    return CycleEnvironment(
        sessions=sessions,
        mm=MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=retry_budget),
        runtime=settings or runtime(),
        sender=Address("envol@acme.test", "Envol"),
        smtp=SmtpConfig.from_url(smtp_url) if smtp_url else None,
        lease=lease,
        owns_client=True,
    )


def markers(sandbox: Sandbox, prefix: str = "") -> dict[str, int]:
    """How many live posts carry each Envol marker (``welcome:12`` …): the DMs really posted."""
    from collections import Counter

    with sandbox.state.lock:
        found: Counter[str] = Counter(
            str((p.get("props") or {}).get("envol_marker"))
            for p in sandbox.state.posts.values()
            if (p.get("props") or {}).get("envol_marker") and not p.get("delete_at")
        )
    return {k: v for k, v in found.items() if k.startswith(prefix)}


def recipients(smtp_messages: list[Any]) -> dict[str, list[str]]:
    """E-mail address -> the subjects received, from the SMTP server's record."""
    from email.utils import parseaddr

    received: dict[str, list[str]] = {}
    for message in smtp_messages:
        address = parseaddr(str(message["To"]))[1].lower()
        received.setdefault(address, []).append(str(message["Subject"]))
    return received
