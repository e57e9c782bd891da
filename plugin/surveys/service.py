"""Polls and the launch-readiness survey.

Polls: a question posted with one button per option; each click records or changes the
person's vote, and the post is redrawn with the tally (the action's ``update``).

The launch survey asks the four questions every member should be able to answer at launch —
why this network, what it brings me, how to use it, what is expected of me — on a 1–5 scale with
an optional comment. It is sent to each wave ``survey_delay_days`` after the wave opens, once per
person (a DM through ``plugin.delivery.posts.send_dm_once``), and anyone can answer (or change
their answers) with ``/envol survey``. Results are given per
cohort; ``survey_score_for_wave`` feeds the wave gates.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from plugin import clock, i18n
from plugin.audit.service import record
from plugin.cohorts.models import Cohort, CohortMember, Wave, WaveStatus
from plugin.db import transaction
from plugin.delivery import outbox
from plugin.delivery.posts import Courier, DmOutcome, send_dm_once
from plugin.errors import EnvolError
from plugin.mattermost import MARKER_PROP, MattermostClient
from plugin.mattermost.dialogs import TEXTAREA_DEFAULT_MAX_BYTES, fit
from plugin.people.models import Person, PersonStatus
from plugin.security.service import Signer
from plugin.settings import RuntimeSettings
from plugin.surveys.models import Poll, PollVote, SurveyDispatch, SurveyResponse

log = logging.getLogger(__name__)

POLL_BUTTON_LIFETIME = dt.timedelta(days=365)
SURVEY_BUTTON_LIFETIME = dt.timedelta(days=60)
SURVEY_DIALOG_LIFETIME = dt.timedelta(minutes=30)
MAX_OPTIONS = 8
MAX_COMMENT = 2000

QUESTIONS: tuple[str, ...] = ("why_network", "what_for_me", "how_to_use", "what_expected")
MESSAGES = Path(__file__).with_name("messages.yaml")
SCALE = range(1, 6)  # survey scores; their labels are scale.1 to scale.5 in messages.yaml


def text(key: str, language: str, **params: Any) -> str:
    """The text for ``key`` in ``language`` (French when the language is unknown)."""
    return i18n.load_catalogue(MESSAGES).render(key, language, **params)


class PollError(EnvolError):
    """A poll definition or vote that cannot be accepted; ``notice`` names the catalogue text
    that tells a voter (``poll.closed`` …), empty for an admin's mistake in a definition."""

    def __init__(self, message: str, notice: str = "") -> None:
        super().__init__(message)
        self.notice = notice


# --------------------------------------------------------------------------- polls


def validate_poll(key: str, question: str, options: Sequence[str]) -> tuple[str, str, list[str]]:
    key, question = key.strip(), question.strip()
    cleaned = [o.strip() for o in options if o.strip()]
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", key) or len(key) > 80:
        raise PollError(f"poll key {key!r}: use lowercase letters, digits and dashes")
    if not 3 <= len(question) <= 500:
        raise PollError("a poll question has 3 to 500 characters")
    if not 2 <= len(cleaned) <= MAX_OPTIONS:
        raise PollError(f"a poll has 2 to {MAX_OPTIONS} options")
    if len(set(cleaned)) != len(cleaned) or any(len(o) > 80 for o in cleaned):
        raise PollError("poll options must be distinct and at most 80 characters")
    return key, question, cleaned


def ensure_poll(
    session: Session,
    key: str,
    question: str,
    options: Sequence[str],
    *,
    language: str = "fr",
    created_by: str = "",
) -> Poll:
    """The poll with this key, created if new. An existing poll keeps its question and options:
    changing them under existing votes would change what people voted for."""
    key, question, cleaned = validate_poll(key, question, options)
    poll = session.scalar(select(Poll).where(Poll.key == key))
    if poll is None:
        poll = Poll(
            key=key,
            question=question,
            options=cleaned,
            language=language,
            created_by=created_by,
            created_at=clock.now(),
        )
        session.add(poll)
        session.flush()
    return poll


def get_poll(session: Session, key: str) -> Poll | None:
    return session.scalar(select(Poll).where(Poll.key == key))


def poll_context(
    signer: Signer,
    poll: Poll | None,
    option: int,
    *,
    key: str = "",
    question: str = "",
    options: Sequence[str] = (),
    language: str = "fr",
) -> str:
    """The signed context of one poll button (purpose ``poll``).

    Seed content may post a poll before Envol has a row for it: the question and options then
    travel in the signed context, and the first vote creates the row.
    """
    if poll is not None:
        return signer.sign("poll", "*", {"poll": poll.key, "option": option})
    return signer.sign(
        "poll",
        "*",
        {
            "poll": key,
            "option": option,
            "question": question,
            "options": list(options),
            "lang": language,
        },
    )


def tally(session: Session, poll_id: int) -> dict[int, int]:
    rows = session.execute(
        select(PollVote.option_index, func.count())
        .where(PollVote.poll_id == poll_id)
        .group_by(PollVote.option_index)
    )
    return {int(index): int(count) for index, count in rows}


@dataclass(frozen=True)
class PollResults:
    question: str
    votes: list[tuple[str, int]]  # (option, votes), in the poll's order


def poll_results(session: Session, key: str) -> PollResults:
    """The tally of poll ``key``; ``EnvolError`` when there is no such poll."""
    poll = get_poll(session, key)
    if poll is None:
        raise EnvolError(f"no poll {key!r}; `envol survey post` creates one")
    counts = tally(session, poll.id)
    return PollResults(poll.question, [(o, counts.get(i, 0)) for i, o in enumerate(poll.options)])


def poll_props(
    poll: Poll, signer: Signer, public_url: str, counts: Mapping[int, int]
) -> dict[str, Any]:
    total = sum(counts.values())
    url = f"{public_url.rstrip('/')}/actions/poll"
    lines = []
    for index, option in enumerate(poll.options):
        count = counts.get(index, 0)
        share = round(100 * count / total) if total else 0
        bar = "█" * (share // 10) + "░" * (10 - share // 10)
        lines.append(f"{option}: `{bar}` {count} ({share} %)")
    actions = [
        {
            "id": f"option{index}",
            "name": option,
            "type": "button",
            "integration": {"url": url, "context": {"signed": poll_context(signer, poll, index)}},
        }
        for index, option in enumerate(poll.options)
    ]
    return {
        "attachments": [
            {
                "title": poll.question,
                "text": "\n".join(lines),
                "footer": text("poll.votes", poll.language, count=total),
                "actions": [] if poll.closed_at else actions,
            }
        ]
    }


def record_vote(session: Session, poll: Poll, user_id: str, option: int) -> PollVote:
    """Record or change ``user_id``'s vote: one vote per person and poll."""
    if poll.closed_at is not None:
        raise PollError("this poll is closed", notice="poll.closed")
    if not 0 <= option < len(poll.options):
        raise PollError("no such option in this poll", notice="poll.no_option")
    vote = session.scalar(
        select(PollVote)
        .where(PollVote.poll_id == poll.id, PollVote.user_id == user_id)
        .with_for_update()
    )
    if vote is None:
        vote = PollVote(poll_id=poll.id, user_id=user_id, option_index=option, voted_at=clock.now())
        try:
            with session.begin_nested():
                session.add(vote)
        except IntegrityError:
            # Two clicks raced: the other insert won; change that vote instead.
            vote = session.scalars(
                select(PollVote).where(PollVote.poll_id == poll.id, PollVote.user_id == user_id)
            ).one()
    vote.option_index = option
    vote.voted_at = clock.now()
    return vote


def rendered_poll_post(
    session: Session, poll: Poll, signer: Signer, public_url: str
) -> dict[str, Any]:
    """The whole post for an action's ``update``: its text and props kept, the tally redrawn."""
    props = {
        **(poll.post_extra_props or {}),
        **poll_props(poll, signer, public_url, tally(session, poll.id)),
    }
    return {"message": poll.post_message or "", "props": props}


def remember_post(poll: Poll, post: Mapping[str, Any] | None) -> None:
    """Keep what a redraw must not lose from a post made by someone else (seed content)."""
    post = post or {}
    poll.post_message = str(post.get("message") or "")
    poll.post_extra_props = {
        k: v for k, v in (post.get("props") or {}).items() if k != "attachments"
    }


def post_poll(
    session: Session,
    client: MattermostClient,
    signer: Signer,
    public_url: str,
    poll: Poll,
    channel_id: str,
) -> str:
    """Post the poll in a channel (once per poll); returns the post id."""
    if poll.post_id:
        return poll.post_id
    post = client.create_post(
        channel_id,
        "",
        props=poll_props(poll, signer, public_url, tally(session, poll.id)),
        marker=f"poll-{poll.key}",
    )
    poll.post_message = ""
    poll.post_extra_props = {MARKER_PROP: f"poll-{poll.key}"}
    poll.channel_id = channel_id
    poll.post_id = post["id"]
    poll.posted_at = clock.now()
    record(
        session,
        actor=poll.created_by or "envol",
        action="poll.posted",
        subject_type="poll",
        subject_id=poll.id,
    )
    return poll.post_id


def post_poll_in_channel(
    session: Session,
    client: MattermostClient,
    signer: Signer,
    public_url: str,
    *,
    team_name: str,
    channel_name: str,
    key: str,
    question: str,
    options: Sequence[str],
    language: str,
    created_by: str,
) -> str:
    """Create poll ``key`` (or find it) and post it in ``~channel_name`` of the team, once;
    returns the post id."""
    team = client.get_team_by_name(team_name)
    channel_id = client.get_channel_by_name(team["id"], channel_name)["id"]
    poll = ensure_poll(session, key, question, options, language=language, created_by=created_by)
    return post_poll(session, client, signer, public_url, poll, channel_id)


# --------------------------------------------------------------------------- launch survey


@dataclass(frozen=True)
class SurveyAnswers:
    scores: Mapping[str, int]
    comment: str = ""

    def __post_init__(self) -> None:
        if set(self.scores) != set(QUESTIONS):
            raise EnvolError("the survey needs a score for each of the four questions")
        if any(not isinstance(v, int) or not 1 <= v <= 5 for v in self.scores.values()):
            raise EnvolError("survey scores go from 1 to 5")
        if len(self.comment) > MAX_COMMENT:
            raise EnvolError(f"a comment has at most {MAX_COMMENT} characters")


def wave_of_person(session: Session, person_id: int) -> int | None:
    """The most recently opened wave whose cohort holds the person."""
    return session.scalar(
        select(Wave.id)
        .join(CohortMember, CohortMember.cohort_id == Wave.cohort_id)
        .where(CohortMember.person_id == person_id, Wave.opened_at.is_not(None))
        .order_by(Wave.opened_at.desc(), Wave.id.desc())
        .limit(1)
    )


def respondent(session: Session, user_id: str) -> tuple[int | None, int | None]:
    """(person id, wave id) of a Mattermost user, each None when unknown."""
    person_id = session.scalar(select(Person.id).where(Person.mattermost_user_id == user_id))
    return person_id, (wave_of_person(session, person_id) if person_id else None)


def existing_response(session: Session, user_id: str, wave_id: int | None) -> SurveyResponse | None:
    return session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.user_id == user_id, SurveyResponse.wave_key == (wave_id or 0)
        )
    )


def survey_dialog(
    signer: Signer,
    user_id: str,
    wave_id: int | None,
    language: str,
    previous: SurveyResponse | None = None,
) -> dict[str, Any]:
    """The dialog of the four questions; its ``state`` is signed, user-bound and single-use."""
    options = [{"text": f"{n} — {text(f'scale.{n}', language)}", "value": str(n)} for n in SCALE]
    elements: list[dict[str, Any]] = []
    for name in QUESTIONS:
        element: dict[str, Any] = {
            # Mattermost's labels hold 24 bytes: a short label, the sentence as the help text.
            "display_name": text(f"question.{name}.label", language),
            "name": name,
            "type": "select",
            "help_text": text(f"question.{name}", language),
            "options": options,
        }
        if previous is not None:
            element["default"] = str(getattr(previous, name))
        elements.append(element)
    elements.append(
        {
            "display_name": text("survey.comment", language),
            "name": "comment",
            "type": "textarea",
            "optional": True,
            "help_text": text("survey.comment.help", language),
            "max_length": MAX_COMMENT,
            "default": fit(previous.comment, TEXTAREA_DEFAULT_MAX_BYTES) if previous else "",
        }
    )
    return {
        "callback_id": "launch_survey",
        "title": text("survey.title", language),
        "introduction_text": text("survey.intro", language),
        "elements": elements,
        "submit_label": text("survey.submit", language),
        "notify_on_cancel": False,
        "state": signer.sign(
            "dialog.survey", user_id, {"w": wave_id, "l": language}, single_use=True
        ),
    }


def parse_survey_submission(
    submission: Mapping[str, Any], language: str
) -> tuple[SurveyAnswers | None, dict[str, str]]:
    """Typed answers, or the per-field errors to show in the still-open dialog."""
    errors: dict[str, str] = {}
    scores: dict[str, int] = {}
    for name in QUESTIONS:
        raw = submission.get(name)
        value = str(raw).strip() if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        if value not in {"1", "2", "3", "4", "5"}:
            errors[name] = text("survey.required", language)
        else:
            scores[name] = int(value)
    comment_raw = submission.get("comment")
    comment = comment_raw.strip() if isinstance(comment_raw, str) else ""
    if len(comment) > MAX_COMMENT:
        errors["comment"] = f"≤ {MAX_COMMENT}"
    if errors:
        return None, errors
    return SurveyAnswers(scores, comment), {}


def record_response(
    session: Session,
    user_id: str,
    answers: SurveyAnswers,
    *,
    wave_id: int | None = None,
    person_id: int | None = None,
) -> SurveyResponse:
    """Store (or replace) a person's answers for their wave."""
    response = existing_response(session, user_id, wave_id)
    if response is None:
        response = SurveyResponse(
            user_id=user_id,
            wave_id=wave_id,
            wave_key=wave_id or 0,
            person_id=person_id,
            comment="",
            **answers.scores,
        )
        session.add(response)
    for name, value in answers.scores.items():
        setattr(response, name, value)
    response.comment = answers.comment
    response.person_id = person_id if person_id is not None else response.person_id
    response.submitted_at = clock.now()
    session.flush()
    record(
        session,
        actor=user_id,
        action="survey.answered",
        subject_type="wave",
        subject_id=wave_id or "",
        details={"response": response.id},
    )
    return response


@dataclass(frozen=True)
class SurveyScore:
    """How many answer sets, and their score: the mean of the four questions (1–5)."""

    responses: int
    score: float | None  # None without any answer


def survey_score(session: Session, *, wave_id: int | None = None) -> SurveyScore:
    """The score of every answer, or of the answers given for ``wave_id``: the one formula
    behind the wave gates, ``/envol status`` and ``/envol wave``."""
    answer_sum = sum(
        (getattr(SurveyResponse, name) for name in QUESTIONS[1:]),
        start=getattr(SurveyResponse, QUESTIONS[0]),
    )
    query = select(func.count(SurveyResponse.id), func.avg(answer_sum))
    if wave_id is not None:
        query = query.where(SurveyResponse.wave_id == wave_id)
    count, mean_sum = session.execute(query).one()
    if not count:
        return SurveyScore(0, None)
    return SurveyScore(int(count), round(float(mean_sum) / len(QUESTIONS), 2))


def survey_score_for_wave(session: Session, wave_id: int) -> float | None:
    """The mean of every answer (the four questions, 1–5) given for the wave; None without any.

    This is the figure the wave gate compares with ``GateSurveyScore``.
    """
    return survey_score(session, wave_id=wave_id).score


@dataclass(frozen=True)
class CohortSurveyResult:
    cohort_id: int
    cohort_name: str
    members: int
    respondents: int
    means: Mapping[str, float]

    @property
    def score(self) -> float | None:
        return round(sum(self.means.values()) / len(self.means), 2) if self.means else None

    @property
    def response_rate(self) -> float:
        return round(100 * self.respondents / self.members, 1) if self.members else 0.0


@dataclass(frozen=True)
class SurveyResults:
    cohorts: list[CohortSurveyResult]
    wave_score: float | None  # the gate's figure, when the results are of one wave


def survey_results(session: Session, wave_name: str | None = None) -> SurveyResults:
    """Results per cohort, of every answer or of those given for wave ``wave_name``
    (``EnvolError`` when there is no such wave)."""
    if not wave_name:
        return SurveyResults(results_per_cohort(session), None)
    wave_id = session.scalar(select(Wave.id).where(Wave.name == wave_name))
    if wave_id is None:
        raise EnvolError(f"no wave named {wave_name!r}; `envol waves list` shows them")
    return SurveyResults(
        results_per_cohort(session, wave_id), survey_score(session, wave_id=wave_id).score
    )


def results_per_cohort(session: Session, wave_id: int | None = None) -> list[CohortSurveyResult]:
    """Per cohort: members, respondents and the mean of each question (one latest answer set
    per person; a person in two cohorts counts in both)."""
    members: dict[int, int] = {
        cohort_id: count
        for cohort_id, count in session.execute(
            select(CohortMember.cohort_id, func.count(CohortMember.id)).group_by(
                CohortMember.cohort_id
            )
        ).tuples()
    }
    columns = [getattr(SurveyResponse, name) for name in QUESTIONS]
    query = (
        select(
            Cohort.id,
            Cohort.name,
            func.count(func.distinct(SurveyResponse.user_id)),
            *[func.avg(column) for column in columns],
        )
        .join(CohortMember, CohortMember.cohort_id == Cohort.id)
        .join(SurveyResponse, SurveyResponse.person_id == CohortMember.person_id)
        .group_by(Cohort.id, Cohort.name)
        .order_by(Cohort.id)
    )
    if wave_id is not None:
        query = query.where(SurveyResponse.wave_id == wave_id)
    results = []
    answered = set()
    for cohort_id, name, respondents, *means in session.execute(query):
        answered.add(cohort_id)
        results.append(
            CohortSurveyResult(
                cohort_id=cohort_id,
                cohort_name=name,
                members=int(members.get(cohort_id, 0)),
                respondents=int(respondents),
                means={q: round(float(m), 2) for q, m in zip(QUESTIONS, means, strict=True)},
            )
        )
    for cohort_id, name in session.execute(select(Cohort.id, Cohort.name).order_by(Cohort.id)):
        if cohort_id not in answered:
            results.append(
                CohortSurveyResult(cohort_id, name, int(members.get(cohort_id, 0)), 0, {})
            )
    results.sort(key=lambda r: r.cohort_id)
    return results


# --------------------------------------------------------------------------- sending the survey


def waves_due_for_survey(
    session: Session, runtime: RuntimeSettings, now: dt.datetime | None = None
) -> list[Wave]:
    now = now or clock.now()
    cutoff = now - dt.timedelta(days=runtime.survey_delay_days)
    return list(
        session.scalars(
            select(Wave)
            .where(
                Wave.status == WaveStatus.OPEN,
                Wave.opened_at.is_not(None),
                Wave.opened_at <= cutoff,
            )
            .order_by(Wave.position, Wave.id)
        )
    )


def claim_survey_dispatches(session: Session, wave: Wave) -> int:
    """One dispatch row per member on Mattermost (the idempotency key); returns how many new."""
    already = select(SurveyDispatch.person_id).where(SurveyDispatch.wave_id == wave.id)
    people = session.scalars(
        select(Person.id)
        .join(CohortMember, CohortMember.person_id == Person.id)
        .where(
            CohortMember.cohort_id == wave.cohort_id,
            Person.mattermost_user_id.is_not(None),
            Person.status == PersonStatus.ACTIVE,
            Person.id.not_in(already),
        )
        .order_by(Person.id)
    ).all()
    for person_id in people:
        session.add(SurveyDispatch(wave_id=wave.id, person_id=person_id, claimed_at=clock.now()))
    session.flush()
    return len(people)


def survey_button_props(
    signer: Signer, public_url: str, user_id: str, wave_id: int | None, language: str
) -> dict[str, Any]:
    return {
        "attachments": [
            {
                "title": text("survey.title", language),
                "text": text("survey.invite", language),
                "actions": [
                    {
                        "id": "answersurvey",
                        "name": text("survey.answer", language),
                        "type": "button",
                        "style": "primary",
                        "integration": {
                            "url": f"{public_url.rstrip('/')}/actions/survey",
                            "context": {"signed": signer.sign("survey", user_id, {"w": wave_id})},
                        },
                    }
                ],
            }
        ]
    }


def send_due_surveys(
    courier: Courier,
    signer: Signer,
    runtime: RuntimeSettings,
    public_url: str,
    *,
    limit: int = 200,
) -> int:
    """Send the launch survey to the members of every due wave, each once (``send_dm_once``, key
    ``launch-survey-<wave>-<person>``); returns how many went out or were found already sent."""
    _claim_due_dispatches(courier.sessions, runtime)
    with courier.sessions() as session:
        due = session.execute(
            select(SurveyDispatch.id, SurveyDispatch.wave_id, Person)
            .join(Person, Person.id == SurveyDispatch.person_id)
            .where(SurveyDispatch.sent_at.is_(None))
            .order_by(SurveyDispatch.id)
            .limit(limit)
        ).all()
    sent = 0
    for dispatch_id, wave_id, person in due:
        if person.mattermost_user_id and _send_survey(
            courier, signer, public_url, dispatch_id, wave_id, person
        ):
            sent += 1
    return sent


def _claim_due_dispatches(sessions: sessionmaker[Session], runtime: RuntimeSettings) -> None:
    """The dispatch rows of every due wave, committed before anything is sent."""
    try:
        with transaction(sessions) as session:
            for wave in waves_due_for_survey(session, runtime):
                claim_survey_dispatches(session, wave)
    except IntegrityError:
        pass  # another worker made the same rows at the same moment: they are there


def _send_survey(
    courier: Courier,
    signer: Signer,
    public_url: str,
    dispatch_id: int,
    wave_id: int,
    person: Person,
) -> bool:
    """One person's survey; True when it went out now or had gone out before."""
    user_id = str(person.mattermost_user_id)
    language = person.language.value
    key = f"launch-survey-{wave_id}-{person.id}"  # also the marker the demo ledger counts

    def record(session: Session, outcome: DmOutcome) -> None:
        dispatch = session.get_one(SurveyDispatch, dispatch_id)
        message = outbox.message_for(session, key)
        if outcome is DmOutcome.FAILED:
            dispatch.error = message.error[:300]
        else:
            dispatch.sent_at = clock.now()
            dispatch.post_id = message.reference or None

    try:
        outcome = send_dm_once(
            courier,
            key,
            kind="launch_survey",
            user_id=user_id,
            message=text("survey.invite", language),
            props=survey_button_props(signer, public_url, user_id, wave_id, language),
            person_id=person.id,
            then=record,
        )
    except EnvolError as error:
        with transaction(courier.sessions) as session:
            session.get_one(SurveyDispatch, dispatch_id).error = str(error)[:300]
        log.warning("launch survey for person %s not sent: %s", person.id, type(error).__name__)
        return False
    return outcome in (DmOutcome.SENT, DmOutcome.ALREADY_SENT)
