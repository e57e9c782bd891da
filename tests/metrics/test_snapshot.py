"""The daily snapshot on a simulated launch: the funnel equals what the simulation did."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from plugin.metrics.models import GroupSnapshot, MetricsSnapshot, ObservedPost, PersonSnapshot
from plugin.metrics.service import group_rows, space_rows, take_snapshot
from tests.metrics.scenario import STEPS, expected_for, first_days, ninth_day
from tests.metrics.world import LaunchWorld


def _funnel(row: GroupSnapshot) -> dict[str, int]:
    return {step: getattr(row, step) for step in STEPS}


def _assert_every_group_matches(world: LaunchWorld, snapshot: MetricsSnapshot) -> None:
    rows = {(r.dimension, r.key): r for r in group_rows(world.session, snapshot)}
    for key, cohort in world.cohorts.items():
        ids = [p.id for p in world.members[key]]
        assert _funnel(rows[("cohort", str(cohort.id))]) == expected_for(world, ids), key
        assert rows[("cohort", str(cohort.id))].population == len(ids)
        wave = world.waves[key]
        assert _funnel(rows[("wave", str(wave.id))]) == expected_for(world, ids), wave.name
    everyone = [p.id for p in world.people]
    assert _funnel(rows[("all", "all")]) == expected_for(world, everyone)
    for department in {p.department for p in world.people}:
        ids = [p.id for p in world.people if p.department == department]
        assert _funnel(rows[("department", department)]) == expected_for(world, ids), department
    for site in {p.site for p in world.people}:
        ids = [p.id for p in world.people if p.site == site]
        assert _funnel(rows[("site", site)]) == expected_for(world, ids), site
    for manager in world.people[:3]:
        ids = [p.id for p in world.people if p.manager_id == manager.id]
        assert _funnel(rows[("manager", str(manager.id))]) == expected_for(world, ids)


def test_funnel_per_cohort_equals_the_simulation(world: LaunchWorld) -> None:
    first_days(world)
    world.advance(1 / 24)
    first = take_snapshot(world.session, world.mm, world.settings)
    _assert_every_group_matches(world, first)
    # Nobody is missed or invented: 15 joined of 18 invited, plus one who came on their own.
    overall = group_rows(world.session, first, "all")[0]
    assert (overall.invited, overall.joined) == (19, 15)

    world.advance(9)
    ninth_day(world)
    world.advance(1)
    second = take_snapshot(world.session, world.mm, world.settings)
    assert second.day == first.day + dt.timedelta(days=10)
    _assert_every_group_matches(world, second)
    overall = group_rows(world.session, second, "all")[0]
    # Day 9: people 1, 8 (two replies), 9, 3 and 13 were active; 1 and 8 contributed.
    assert (overall.active_7d, overall.contributed_7d, overall.contributed_28d) == (5, 2, 5)
    assert (overall.posts_7d, overall.replies_7d) == (1, 2)


def test_posts_per_space_leave_bots_out_and_are_not_counted_twice(world: LaunchWorld) -> None:
    first_days(world)
    world.advance(1 / 24)
    take_snapshot(world.session, world.mm, world.settings)
    # The same day again: it replaces the day's rows, and reads no post twice.
    again = take_snapshot(world.session, world.mm, world.settings)
    assert world.session.scalar(select(func.count(MetricsSnapshot.id))) == 1
    assert (
        world.session.scalar(
            select(func.count(PersonSnapshot.id)).where(PersonSnapshot.snapshot_id == again.id)
        )
        == 24
    )
    spaces = {s.channel_id: s for s in space_rows(world.session, again)}
    general = spaces[world.general_id]
    # Three posts by people (two roots, one reply); the bot's message is not one of them.
    assert (general.posts_7d, general.replies_7d, general.contributors_7d) == (2, 1, 3)
    assert world.session.scalar(select(func.count()).select_from(ObservedPost)) == 3


def test_a_snapshot_makes_the_fewest_requests_possible(world: LaunchWorld) -> None:
    first_days(world)
    world.advance(1 / 24)
    world.sandbox.request_log.clear()
    snapshot = take_snapshot(world.session, world.mm, world.settings)
    assert snapshot.requests == snapshot.minimum_requests
    assert len(world.sandbox.request_log.entries()) == snapshot.requests


def test_forgetting_a_person_removes_their_daily_rows_and_posts(world: LaunchWorld) -> None:
    from plugin.erasure import ForgetSubject
    from plugin.metrics.forget import erase_metrics

    first_days(world)
    world.advance(1 / 24)
    take_snapshot(world.session, world.mm, world.settings)
    person = world.people[0]
    counts = erase_metrics(
        world.session, ForgetSubject(person.email, person.id, person.mattermost_user_id)
    )
    assert counts == {"daily adoption rows deleted": 1, "observed posts forgotten": 1}
    assert world.session.scalar(select(func.count()).select_from(ObservedPost)) == 2
