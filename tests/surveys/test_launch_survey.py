"""The launch survey: sent to each wave after the delay, answered, scored per cohort."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.models import Cohort, CohortMember, Wave, WaveStatus
from plugin.mattermost import MattermostClient
from plugin.people.models import Person
from plugin.surveys import service
from plugin.surveys.models import SurveyDispatch
from plugin.surveys.tasks import send_due_surveys
from tests.support.world import SupportWorld


def _people_and_wave(session: Session, user_ids: list[str], opened_at: dt.datetime) -> Wave:
    cohort = Cohort(name="Pilote")
    session.add(cohort)
    session.flush()
    for index, user_id in enumerate(user_ids):
        person = Person(
            email=f"p{index}@example.com",
            first_name=f"P{index}",
            last_name="X",
            mattermost_user_id=user_id,
        )
        session.add(person)
        session.flush()
        session.add(CohortMember(cohort_id=cohort.id, person_id=person.id))
    wave = Wave(name="pilot", cohort_id=cohort.id, status=WaveStatus.OPEN, opened_at=opened_at)
    session.add(wave)
    session.flush()
    return wave


def _answers(*scores: int) -> service.SurveyAnswers:
    return service.SurveyAnswers(dict(zip(service.QUESTIONS, scores, strict=True)))


def test_score_and_results_per_cohort(db_session: Session) -> None:
    wave = _people_and_wave(db_session, ["a" * 26, "b" * 26, "c" * 26], clock.now())
    assert service.survey_score_for_wave(db_session, wave.id) is None
    for user_id, scores in (("a" * 26, (5, 4, 3, 2)), ("b" * 26, (3, 3, 3, 3))):
        person_id, wave_id = service.respondent(db_session, user_id)
        assert wave_id == wave.id
        service.record_response(
            db_session, user_id, _answers(*scores), wave_id=wave_id, person_id=person_id
        )
    assert service.survey_score_for_wave(db_session, wave.id) == 3.25
    # Answering again replaces the answers: one set per person and wave.
    person_id, _ = service.respondent(db_session, "b" * 26)
    service.record_response(
        db_session, "b" * 26, _answers(5, 5, 5, 5), wave_id=wave.id, person_id=person_id
    )
    assert service.survey_score_for_wave(db_session, wave.id) == 4.25
    [result] = service.results_per_cohort(db_session, wave.id)
    assert (result.cohort_name, result.members, result.respondents) == ("Pilote", 3, 2)
    assert result.means["why_network"] == 5.0 and result.score == 4.25
    assert result.response_rate == 66.7


def test_survey_is_sent_once_after_the_delay_and_answered(
    support_world: SupportWorld,
    frozen_clock: clock.FrozenClock,
) -> None:
    world = support_world
    with world.context.sessions.begin() as session:
        wave = _people_and_wave(session, [world.alice.user_id, world.carol.user_id], clock.now())
        wave_id = wave.id
    assert send_due_surveys() == 0  # SurveyDelayDays (14) has not passed
    frozen_clock.advance(dt.timedelta(days=14))
    assert send_due_surveys() == 2
    assert send_due_surveys() == 0  # nobody gets it twice
    with world.context.sessions() as session:
        assert len(session.scalars(select(SurveyDispatch)).all()) == 2

    dm = world.dm_posts(world.alice.user_id)[-1]
    world.alice.click(dm["id"], world.alice.find_action(dm["id"], "Répondre"))
    dialog = world.alice.last_dialog.dialog
    assert dialog["callback_id"] == "launch_survey"
    assert [e["name"] for e in dialog["elements"]] == [*service.QUESTIONS, "comment"]
    assert (
        world.alice.submit_dialog(
            {
                "why_network": "4",
                "what_for_me": "4",
                "how_to_use": "5",
                "what_expected": "3",
                "comment": "",
            }
        )
        == {}
    )
    # Resubmitting the same (spent) form is refused, in words the dialog shows her.
    replayed = world.alice.submit_dialog(
        {"why_network": "1", "what_for_me": "1", "how_to_use": "1", "what_expected": "1"}
    )
    assert "déjà été envoyé" in replayed["error"]
    # /envol survey reopens it with her answers, and she can change them.
    world.alice.run_command(world.town_square_id, "/envol survey")
    reopened = world.alice.last_dialog.dialog
    assert reopened["elements"][0]["default"] == "4"
    world.alice.submit_dialog(
        {"why_network": "5", "what_for_me": "5", "how_to_use": "5", "what_expected": "5"}
    )
    with world.context.sessions() as session:
        assert service.survey_score_for_wave(session, wave_id) == 5.0


class Killed(BaseException):
    """The worker dies (SIGKILL): nothing after this point runs, no handler catches it."""


def test_a_worker_killed_mid_run_sends_nobody_the_survey_twice(
    support_world: SupportWorld,
    frozen_clock: clock.FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Killed after Alice's survey was posted, before Carol's: the next beat (an hour later)
    sends Carol hers and does not post Alice's again."""
    world = support_world
    people = [world.alice.user_id, world.carol.user_id]
    with world.context.sessions.begin() as session:
        _people_and_wave(session, people, clock.now())
    frozen_clock.advance(dt.timedelta(days=14))
    opened = MattermostClient.get_direct_channel
    calls = []

    def dies_before_the_second_dm(self: MattermostClient, user_id: str) -> dict[str, object]:
        calls.append(user_id)
        if len(calls) == 2:
            raise Killed
        return opened(self, user_id)

    with monkeypatch.context() as patch:
        patch.setattr(MattermostClient, "get_direct_channel", dies_before_the_second_dm)
        with pytest.raises(Killed):
            send_due_surveys()
    assert sum(len(world.dm_posts(u)) for u in people) == 1
    frozen_clock.advance(dt.timedelta(hours=1))  # the beat's period
    send_due_surveys()
    frozen_clock.advance(dt.timedelta(hours=1))
    assert send_due_surveys() == 0
    for user_id in people:
        surveys = [p for p in world.dm_posts(user_id) if p["props"].get("attachments")]
        assert len(surveys) == 1, f"{user_id} got {len(surveys)} launch surveys"
