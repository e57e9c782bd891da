"""A small launch scene for the population model: a team, a few channels, a crafted roster."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from plugin import clock
from plugin.demo.arrivals import ReceivedInvitation, invitation_link
from plugin.demo.fake_roster import DOMAIN, FakeEmployee
from plugin.demo.population import Population
from plugin.demo.world import SandboxWorld
from plugin.sandbox import Sandbox

START = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)  # a Monday
FAST_DEPARTMENTS = ("Marketing", "Recherche & développement")
LAGGING_DEPARTMENTS = ("Ventes", "Production")
FIRST = ("Camille", "Léa", "Hugo", "Jérôme", "Oliver", "Emily", "Zoé", "Théo", "Ruby", "Noah")
LAST = ("Martin", "Lefèvre", "Dubois", "Smith", "Guérin", "Taylor")


def crafted_roster(people: int = 60) -> list[FakeEmployee]:
    """Half the people in fast-adopting departments, half in lagging ones; a manager per
    department, English speakers among them, accents in names."""
    departments = FAST_DEPARTMENTS + LAGGING_DEPARTMENTS
    roster = []
    for index in range(people):
        first, last = FIRST[index % len(FIRST)], LAST[index % len(LAST)]
        department = departments[index % len(departments)]
        roster.append(
            FakeEmployee(
                email=f"person{index:03d}@{DOMAIN}",
                first_name=first,
                last_name=last,
                department=department,
                site="London" if first in ("Oliver", "Emily", "Ruby", "Noah") else "Paris",
                manager_email="",
                role="manager" if index < len(departments) else "employee",
                language="en" if first in ("Oliver", "Emily", "Ruby", "Noah") else "fr",
                volunteer=index % 17 == 5,
            )
        )
    return roster


@dataclass
class Scene:
    sandbox: Sandbox
    team: dict[str, Any]
    roster: list[FakeEmployee]
    clock: clock.FrozenClock

    @property
    def invite_link(self) -> str:
        return f"{self.sandbox.url}/signup_user_complete/?id={self.team['invite_id']}"

    def invitations(self, at: dt.datetime = START) -> list[ReceivedInvitation]:
        return [invitation_link(person.email, self.invite_link, at) for person in self.roster]

    def population(self, seed: int = 11, **options: Any) -> Population:
        return Population(
            SandboxWorld(self.sandbox), self.roster, seed=seed, team_id=self.team["id"], **options
        )

    def live(self, population: Population, days: int) -> None:
        """Invite everyone on the first day, then live ``days`` days, moving the clock."""
        population.receive(self.invitations(), START)
        for offset in range(days):
            moment = START + dt.timedelta(days=offset)
            self.clock.set(moment)
            population.run_day(moment)
        population.close()

    def counts(self) -> dict[str, int]:
        state = self.sandbox.state
        with state.lock:
            return {
                "users": len(state.users),
                "team_members": self.sandbox.state.team_member_count(self.team["id"]),
                "posts": len(state.posts),
                "replies": sum(1 for p in state.posts.values() if p["root_id"]),
                "reactions": len(state.reactions),
                "pictures": len(state.profile_images),
                "positions": sum(1 for u in state.users.values() if u["position"]),
            }


def build_scene(sandbox: Sandbox, frozen: clock.FrozenClock, people: int = 60) -> Scene:
    frozen.set(START)
    sandbox.patch_config({"TeamSettings": {"MaxUsersPerTeam": 10000}})
    team = sandbox.create_team("exemple", "Exemple SA", admin_id=sandbox.admin_user_id)
    for name in ("annonces", "marketing", "entraide"):
        sandbox.create_channel(team["id"], name)
    return Scene(sandbox, team, crafted_roster(people), frozen)


@pytest.fixture
def scene(sandbox: Sandbox, frozen_clock: clock.FrozenClock) -> Iterator[Scene]:
    yield build_scene(sandbox, frozen_clock)
