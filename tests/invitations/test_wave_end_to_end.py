"""A wave of 1,500 against the sandbox and a real SMTP server, over two weeks of the clock.

A third of the people already have a Mattermost account (added directly), the others get Envol's
e-mail with the team's invite link. Some accept (the sandbox creates them and they join the
team), some complete their profile, the rest never come. Everyone must end in the right state,
and nobody may get anything twice.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from plugin.app import EnvolContext
from plugin.clock import FrozenClock
from plugin.demo.sandbox_people import accept_invite
from plugin.invitations.models import Invitation, InvitationStrategy
from plugin.onboarding.cycle import run_once
from plugin.onboarding.funnel import funnel
from plugin.onboarding.models import ProfileFollowUp
from plugin.people.models import Person
from plugin.sandbox import Sandbox
from tests.helpers.smtp import SmtpServer
from tests.invitations.world import (
    WAVE_CHANNELS,
    build_scene,
    environment,
    markers,
    recipients,
    runtime,
)


def _states(context: EnvolContext) -> dict[str, int]:
    with context.sessions() as session:
        rows = session.execute(select(Invitation.state, func.count()).group_by(Invitation.state))
        return {state.value: count for state, count in rows}


def test_a_wave_ends_in_the_right_state_with_nothing_sent_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    """The whole scenario on both databases, with the API contract checked on every call."""
    run_wave_scenario(sandbox, envol_context, smtp_server, frozen_clock, size=90)


@pytest.mark.slow
def test_a_wave_of_1500_ends_in_the_right_state_with_nothing_sent_twice(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
) -> None:
    if envol_context.settings.database_url.startswith("sqlite"):
        # The same code paths run on SQLite in the test above; 1,500 people twice would
        # double the suite's longest test for no new coverage.
        pytest.skip("the 1,500-person wave runs on PostgreSQL only")
    sandbox.disable_contract()  # checked on every call by the smaller run above
    run_wave_scenario(sandbox, envol_context, smtp_server, frozen_clock, size=1500)


def run_wave_scenario(
    sandbox: Sandbox,
    envol_context: EnvolContext,
    smtp_server: SmtpServer,
    frozen_clock: FrozenClock,
    *,
    size: int,
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=size, existing_every=3)
    settings = runtime(ProfileNudgeDelaysDays="2,7", ReminderDelaysDays="3,7")
    env = lambda: environment(  # noqa: E731 - a fresh environment per cycle, as a task has
        sandbox, envol_context.sessions, smtp_url=smtp_server.url, settings=settings
    )
    with envol_context.sessions() as session:
        people = {p.id: p for p in session.scalars(select(Person))}
    existing = scene.existing_user_ids
    newcomers = [pid for pid in scene.person_ids if pid not in existing]
    team_id = scene.team["id"]

    # Day 0: existing users are added and welcomed; the others get one e-mail each.
    report = run_once(env())
    assert report.dispatch.added_existing == len(existing)
    assert report.dispatch.emailed == len(newcomers)
    received = recipients(smtp_server.messages)
    assert sorted(received) == sorted(people[pid].email for pid in newcomers)
    assert all(len(subjects) == 1 for subjects in received.values())
    english = next(pid for pid in newcomers if people[pid].language.value == "en")
    assert received[people[english].email][0].startswith(people[english].first_name)
    assert set(existing.values()) <= sandbox.team_member_ids(team_id)
    for name in WAVE_CHANNELS:
        assert set(existing.values()) <= sandbox.channel_member_ids(scene.channels[name])
    some_user = next(iter(existing.values()))
    with sandbox.state.lock:
        categories = sandbox.state.categories[(some_user, team_id)]
    pilot = [c for c in categories if c["display_name"] == "Pilote"]
    assert len(pilot) == 1 and set(pilot[0]["channel_ids"]) == {
        scene.channels[n] for n in WAVE_CHANNELS
    }

    # Day 1: 40 % of the newcomers accept; a quarter of those arrive with a complete profile.
    frozen_clock.advance(dt.timedelta(days=1))
    accepting = newcomers[: int(len(newcomers) * 0.4)]
    complete_on_arrival = set(accepting[: len(accepting) // 4])
    users = {}
    for pid in accepting:
        person = people[pid]
        profile = {"first_name": person.first_name, "last_name": person.last_name}
        if pid in complete_on_arrival:
            profile["position"] = "Ingénieur"
        user = accept_invite(
            sandbox, email=person.email, invite_id=scene.team["invite_id"], **profile
        )
        if pid in complete_on_arrival:
            user.set_profile_picture()
        users[pid] = user
    report = run_once(env())
    assert report.detection.joined == len(accepting)
    assert report.welcomed == len(accepting)
    run_once(env())  # a second cycle finds nothing more to do
    welcomes = markers(sandbox, "welcome:")
    assert len(welcomes) == len(existing) + len(accepting)
    assert set(welcomes.values()) == {1}

    # Day 2 (existing users) and day 3 (the others, who joined on day 1): the first nudge goes to
    # everyone incomplete (existing users have no position); day 3 also brings the reminder.
    start = dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC)
    frozen_clock.set(start + dt.timedelta(days=2))
    run_once(env())
    assert {int(k.split(":")[1]) for k in markers(sandbox, "nudge:")} == set(existing)
    frozen_clock.set(start + dt.timedelta(days=3))
    run_once(env())
    nudged = {int(key.split(":")[1]) for key in markers(sandbox, "nudge:")}
    assert nudged == (set(existing) | set(accepting)) - complete_on_arrival
    # Half of the nudged newcomers complete their profile right away.
    completing = [pid for pid in accepting if pid not in complete_on_arrival][::2]
    for pid in completing:
        users[pid].update_profile(position="Comptable")
        users[pid].set_profile_picture()

    # Days 7 to 15: the second reminder and the second nudge, then expiry.
    for day in (7, 8, 15):
        frozen_clock.set(start + dt.timedelta(days=day))
        run_once(env())

    nudges = markers(sandbox, "nudge:")
    assert set(nudges.values()) == {1}  # each nudge number posted once
    per_person: dict[int, int] = {}
    for key in nudges:
        pid = int(key.split(":")[1])
        per_person[pid] = per_person.get(pid, 0) + 1
    never_completed = (set(existing) | set(accepting)) - complete_on_arrival - set(completing)
    assert {pid for pid, n in per_person.items() if n == 2} == never_completed
    assert all(per_person[pid] == 1 for pid in completing)  # completed: left alone
    assert not complete_on_arrival & set(per_person)

    received = recipients(smtp_server.messages)
    silent = [pid for pid in newcomers if pid not in accepting]
    for pid in silent:  # the invitation, then two reminders, never more
        subjects = received[people[pid].email]
        assert len(subjects) == 3 and sum("Rappel" in s or "Reminder" in s for s in subjects) == 2
    for pid in accepting:  # stopped at the first sign of the person
        assert len(received[people[pid].email]) == 1

    assert _states(envol_context) == {
        "activated": len(existing) + len(accepting),
        "expired": len(silent),
    }
    with envol_context.sessions() as session:
        complete = set(
            session.scalars(
                select(ProfileFollowUp.person_id).where(ProfileFollowUp.complete.is_(True))
            )
        )
        assert complete == complete_on_arrival | set(completing)
        strategies = dict(
            session.execute(
                select(Invitation.strategy, func.count()).group_by(Invitation.strategy)
            ).all()
        )
        assert strategies == {
            InvitationStrategy.EXISTING_USER: len(existing),
            InvitationStrategy.ENVOL_EMAIL: len(newcomers),
        }
        result = funnel(session, settings, "pilote")
    assert (result.planned, result.sent, result.joined, result.activated) == (
        size,
        size,
        len(existing) + len(accepting),
        len(existing) + len(accepting),
    )
    assert result.reminded == len(silent)
    assert result.profile_complete == len(complete)
    assert result.expired == len(silent) and result.failed == 0 and result.uncertain == 0
    with envol_context.sessions() as session:
        linked = session.scalar(
            select(func.count(Person.id)).where(Person.mattermost_user_id.is_not(None))
        )
    assert linked == len(existing) + len(accepting)
    # Managers got their weekly digest once per ISO week, never twice.
    digests = markers(sandbox, "digest:")
    assert digests and set(digests.values()) == {1}
