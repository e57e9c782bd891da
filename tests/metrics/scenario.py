"""The simulated launch the metrics tests replay, and the expected funnel computed from the
simulation's own journal (never from the metrics code)."""

from __future__ import annotations

import datetime as dt

from plugin import clock
from plugin.demo.sandbox_people import as_user
from plugin.demo.simulation import Journal
from tests.metrics.world import LaunchWorld

STEPS = ("invited", "joined", "profile_complete", "active_7d", "contributed_7d", "contributed_28d")


def first_days(world: LaunchWorld) -> None:
    """Day 0: invitations to waves 0 and 1, most people join, a few fill in their profile and
    post; one person of the last wave joins on their own; a bot posts (it must not count)."""
    sim, people = world.simulation, world.people
    for person in world.members["managers"]:
        sim.invite(person, world.waves["managers"].id)
    for person in world.members["pilot"]:
        sim.invite(person, world.waves["pilot"].id)
    for index in (0, 1, 2, 3, 4, 6, 8, 9, 10, 11, 12, 13, 14):
        sim.join(people[index])
    # Found by e-mail only: the roster row has no Mattermost id yet.
    for index in (7, 18):
        sim.join(people[index], link_person=False)
    for index in (0, 1, 2, 6, 8, 10, 12):
        sim.complete_profile(people[index])
    root = sim.post(people[0], world.general_id, "Bienvenue à toutes et à tous !")
    sim.reply(people[6], root["id"], "Merci, ravi d'être là")
    sim.post(people[18], world.general_id, "Je suis venu de moi-même")
    bot = world.sandbox.create_bot("envol-test-bot", "Envol")
    world.sandbox.add_team_member(world.team["id"], bot["user_id"])
    world.sandbox.add_channel_member(world.general_id, bot["user_id"])
    as_user(world.sandbox, bot["user_id"]).post(world.general_id, "Message automatique")


def ninth_day(world: LaunchWorld) -> None:
    """Day 9: a second manager posts, a pilot replies, others only read or fix their profile."""
    sim, people = world.simulation, world.people
    root = sim.post(people[1], world.general_id, "Qui vient à l'atelier jeudi ?")
    sim.reply(people[8], root["id"], "Moi !")
    sim.reply(people[8], root["id"], "Et j'amène un collègue")
    sim.visit(people[9])
    sim.visit(people[3])
    sim.complete_profile(people[13])


def expected_funnel(journals: list[Journal], now: dt.datetime) -> dict[str, int]:
    week, four_weeks = dt.timedelta(days=7), dt.timedelta(days=28)

    def within(moments: list[dt.datetime], span: dt.timedelta) -> bool:
        return any(now - span < moment <= now for moment in moments)

    counts = dict.fromkeys(STEPS, 0)
    for j in journals:
        joined = j.user_id is not None
        posted = [moment for moment, _ in j.posts]
        counts["invited"] += j.invited or joined
        counts["joined"] += joined
        counts["profile_complete"] += joined and j.profile_complete
        counts["active_7d"] += joined and (within(j.seen_at, week) or within(posted, week))
        counts["contributed_7d"] += joined and within(posted, week)
        counts["contributed_28d"] += joined and within(posted, four_weeks)
    return counts


def expected_for(world: LaunchWorld, person_ids: list[int]) -> dict[str, int]:
    from plugin.demo.simulation import Journal as _Journal

    journals = [world.simulation.journal.get(pid) or _Journal(pid) for pid in person_ids]
    return expected_funnel(journals, clock.now())
