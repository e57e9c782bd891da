"""Taking the daily snapshot, and reading the measures back for gates and reports.

    snapshot = take_snapshot(session, mm, runtime)      # once a day; again the same day replaces it
    latest = latest_snapshot(session)
    groups = group_rows(session, latest, "cohort")

The caller owns the transaction: the snapshot, its rows and the channel cursors are stored
together or not at all.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveHandoff
from plugin.invitations.models import Invitation, InvitationState
from plugin.jsontypes import JSON
from plugin.mattermost import MattermostClient
from plugin.metrics.collect import (
    TeamReading,
    TeamUser,
    is_person_post,
    minimum_requests,
    public_channels,
    read_last_activity,
    read_posts_since,
    read_team,
)
from plugin.metrics.measures import (
    FOUR_WEEKS,
    SURVEY_QUESTIONS,
    WEEK,
    GroupMeasure,
    PersonMeasure,
)
from plugin.metrics.models import (
    ChannelCursor,
    GroupSnapshot,
    MetricsSnapshot,
    ObservedPost,
    PersonSnapshot,
    SpaceSnapshot,
)
from plugin.people.models import Person, PersonStatus
from plugin.settings import RuntimeSettings
from plugin.support.models import SupportTicket, TicketStatus
from plugin.surveys.models import SurveyResponse

Progress = Callable[[str], None]

NO_VALUE_LABEL = "(none)"
_IN_CHUNK = 500  # ids per IN (...) clause: well under every backend's parameter limit


def _chunks(items: Sequence[str], size: int = _IN_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


# --------------------------------------------------------------------------- collection


def _store_posts(session: Session, posts: Iterable[JSON], bot_ids: set[str]) -> int:
    """Remember new posts by id; forget those deleted since. Returns how many were new."""
    fresh: dict[str, JSON] = {}
    deleted: list[str] = []
    for post in posts:
        if post.get("delete_at"):
            deleted.append(post["id"])
        elif is_person_post(post, bot_ids):
            fresh[post["id"]] = post
    for chunk in _chunks(deleted):
        session.execute(delete(ObservedPost).where(ObservedPost.post_id.in_(chunk)))
    known: set[str] = set()
    for chunk in _chunks(list(fresh)):
        known |= set(
            session.scalars(select(ObservedPost.post_id).where(ObservedPost.post_id.in_(chunk)))
        )
    rows = [
        {
            "post_id": post_id,
            "channel_id": post["channel_id"],
            "user_id": post["user_id"],
            "is_reply": bool(post.get("root_id")),
            "created_at": _from_ms(int(post["create_at"])),
        }
        for post_id, post in fresh.items()
        if post_id not in known
    ]
    if rows:
        session.execute(insert(ObservedPost), rows)
    return len(rows)


# Invitation states that mean an invitation really went out (planned ones have not).
_INVITED_STATES = (
    InvitationState.SENT,
    InvitationState.REMINDED,
    InvitationState.JOINED,
    InvitationState.ACTIVATED,
    InvitationState.EXPIRED,
)


def _invited_among(session: Session, person_ids: Sequence[int]) -> set[int]:
    """Those of ``person_ids`` an invitation was sent to, for any wave (joined people are
    added by the caller)."""
    return {
        person_id
        for person_id in session.scalars(
            select(Invitation.person_id)
            .where(
                or_(Invitation.state.in_(_INVITED_STATES), Invitation.sent_at.is_not(None)),
                Invitation.person_id.in_(person_ids),
            )
            .distinct()
        )
        if person_id is not None
    }


@dataclass(frozen=True)
class _PostCounts:
    posts_7d: int = 0
    replies_7d: int = 0
    posts_28d: int = 0
    replies_28d: int = 0


def _post_counts_by_user(session: Session, now: dt.datetime) -> dict[str, _PostCounts]:
    week_ago = now - WEEK
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    rows = session.execute(
        select(ObservedPost.user_id, ObservedPost.is_reply, ObservedPost.created_at).where(
            ObservedPost.created_at > now - FOUR_WEEKS, ObservedPost.created_at <= now
        )
    )
    for user_id, is_reply, created_at in rows:
        tally = counts[user_id]
        tally[3 if is_reply else 2] += 1
        if created_at > week_ago:
            tally[1 if is_reply else 0] += 1
    return {user_id: _PostCounts(*tally) for user_id, tally in counts.items()}


# People per chunk of the streaming pass: read, measured, stored and folded into the groups
# together, so memory does not grow with the roster (bench/bench_metrics_snapshot.py).
SNAPSHOT_CHUNK = 2_000

_PERSON_COLUMNS = (
    Person.id,
    Person.email,
    Person.mattermost_user_id,
    Person.department,
    Person.site,
    Person.manager_id,
)


def _in_cohorts(test: bool) -> Any:
    kind = Cohort.kind == CohortKind.TEST if test else Cohort.kind != CohortKind.TEST
    return (
        select(CohortMember.person_id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.person_id == Person.id, kind)
        .exists()
    )


# The demo's own checks and rehearsals (people whose every cohort is a test cohort) never count
# among real figures.
_NOT_TEST_ONLY = ~_in_cohorts(test=True) | _in_cohorts(test=False)


def _people_chunks(session: Session) -> Iterator[Sequence[Row[Any]]]:
    """Active people by id, ``SNAPSHOT_CHUNK`` at a time (keyset pages: nothing held open)."""
    last = 0
    while True:
        chunk = session.execute(
            select(*_PERSON_COLUMNS)
            .where(Person.status == PersonStatus.ACTIVE, Person.id > last, _NOT_TEST_ONLY)
            .order_by(Person.id)
            .limit(SNAPSHOT_CHUNK)
        ).all()
        if not chunk:
            return
        yield chunk
        last = chunk[-1].id


def _match_users(session: Session, team: TeamReading) -> dict[int, TeamUser]:
    """Person id → their Mattermost user: by the stored user id, else by e-mail."""
    by_email = team.users_by_email()
    user_of: dict[int, TeamUser] = {}
    for chunk in _people_chunks(session):
        for person in chunk:
            user = team.users.get(person.mattermost_user_id or "") or by_email.get(person.email)
            if user is not None:
                user_of[person.id] = user
    return user_of


def _read_posts(
    session: Session,
    mm: MattermostClient,
    team: TeamReading,
    extra_channel_ids: Iterable[str],
    now: dt.datetime,
) -> tuple[dict[str, str], int, int]:
    """Read the watched channels' new posts and move their cursors.

    Returns (channel id → name, public channels, new posts stored)."""
    public = public_channels(mm, team.team["id"])
    channels = dict(public)
    cursor_rows = {row.channel_id: row for row in session.scalars(select(ChannelCursor))}
    for channel_id in extra_channel_ids:
        channels.setdefault(
            channel_id, cursor_rows[channel_id].channel_name if channel_id in cursor_rows else ""
        )
    reading = read_posts_since(
        mm,
        channels,
        {cid: row.read_until_ms for cid, row in cursor_rows.items()},
        first_read_since=now - FOUR_WEEKS,
    )
    bot_ids = {uid for uid, user in team.users.items() if user.is_bot}
    new_posts = _store_posts(session, reading.posts, bot_ids)
    for channel_id, read_until in reading.cursors.items():
        row = cursor_rows.get(channel_id)
        if row is None:
            row = ChannelCursor(channel_id=channel_id)
            session.add(row)
        row.read_until_ms = read_until
        row.channel_name = channels.get(channel_id) or row.channel_name or channel_id
    session.flush()
    return channels, len(public), new_posts


def take_snapshot(
    session: Session,
    mm: MattermostClient,
    runtime: RuntimeSettings,
    *,
    extra_channel_ids: Iterable[str] = (),
    progress: Progress | None = None,
) -> MetricsSnapshot:
    """Gather today's measures from Mattermost and the database, and store them.

    ``extra_channel_ids`` are watched besides the team's public channels (the seeded private
    spaces). Taking the snapshot again the same day replaces that day's rows.
    """
    say = progress or (lambda _message: None)
    now = clock.now()
    requests_before = mm.request_count
    say(f"team members of {runtime.team_name}")
    team = read_team(mm, runtime.team_name)
    user_of = _match_users(session, team)
    say(f"last activity of {len(user_of)} people")
    activity = read_last_activity(mm, [user.id for user in user_of.values()])
    channels, public, new_posts = _read_posts(session, mm, team, extra_channel_ids, now)
    team.users.clear()  # the matched users are in ``user_of``; the others are not needed now

    say("measures per person and per group")
    snapshot = _fresh_snapshot(session, now.date())
    snapshot.taken_at = now
    snapshot.channels = len(channels)
    snapshot.posts_fetched = new_posts
    user_to_person = {user.id: pid for pid, user in user_of.items()}
    folder = _GroupFolder(session, user_to_person)
    measuring = _Measuring(user_of, activity, _post_counts_by_user(session, now), now)
    snapshot.people = 0
    for chunk in _people_chunks(session):
        ids = [person.id for person in chunk]
        invited = _invited_among(session, ids)
        measures = [measuring.measure(person, person.id in invited) for person in chunk]
        session.execute(
            insert(PersonSnapshot),
            [{"snapshot_id": snapshot.id, **m.as_row()} for m in measures],
        )
        folder.add(session, measures)
        snapshot.people += len(measures)
    session.execute(
        insert(GroupSnapshot),
        [{"snapshot_id": snapshot.id, "day": snapshot.day, **g.as_row()} for g in folder.groups()],
    )
    _store_spaces(session, snapshot, channels, now)
    snapshot.requests = mm.request_count - requests_before
    snapshot.minimum_requests = minimum_requests(
        members=team.members,
        status_ids=len(user_of),
        public_channels=public,
        watched=len(channels),
    )
    session.flush()
    return snapshot


@dataclass
class _Measuring:
    """One person's measures from what the snapshot read (users, activity, posts)."""

    user_of: dict[int, TeamUser]
    activity: dict[str, int]
    post_counts: dict[str, _PostCounts]
    now: dt.datetime

    def measure(self, person: Row[Any], invited: bool) -> PersonMeasure:
        measure = PersonMeasure(
            person_id=person.id,
            department=person.department,
            site=person.site,
            manager_id=person.manager_id,
        )
        user = self.user_of.get(person.id)
        if user is not None:
            counts = self.post_counts.get(user.id, _PostCounts())
            last_ms = self.activity.get(user.id, 0)
            measure.joined = True
            measure.profile_complete = user.profile_complete
            measure.last_activity_at = _from_ms(last_ms) if last_ms else None
            measure.posts_7d, measure.replies_7d = counts.posts_7d, counts.replies_7d
            measure.posts_28d, measure.replies_28d = counts.posts_28d, counts.replies_28d
            measure.contributed_7d = counts.posts_7d + counts.replies_7d > 0
            measure.contributed_28d = counts.posts_28d + counts.replies_28d > 0
            recently_seen = measure.last_activity_at is not None and (
                measure.last_activity_at > self.now - WEEK
            )
            measure.active_7d = recently_seen or measure.contributed_7d
        measure.invited = invited or measure.joined
        return measure


def _fresh_snapshot(session: Session, day: dt.date) -> MetricsSnapshot:
    """Today's snapshot row, emptied of its rows when the snapshot is taken again."""
    snapshot = session.scalar(select(MetricsSnapshot).where(MetricsSnapshot.day == day))
    if snapshot is None:
        snapshot = MetricsSnapshot(day=day)
        session.add(snapshot)
        session.flush()
        return snapshot
    for model in (PersonSnapshot, GroupSnapshot, SpaceSnapshot):
        session.execute(delete(model).where(model.snapshot_id == snapshot.id))
    return snapshot


def _store_spaces(
    session: Session, snapshot: MetricsSnapshot, channels: dict[str, str], now: dt.datetime
) -> None:
    week_ago = now - WEEK
    tallies: dict[str, list[int]] = {cid: [0, 0, 0, 0] for cid in channels}
    contributors: dict[str, set[str]] = defaultdict(set)
    rows = session.execute(
        select(
            ObservedPost.channel_id,
            ObservedPost.user_id,
            ObservedPost.is_reply,
            ObservedPost.created_at,
        ).where(ObservedPost.created_at > now - FOUR_WEEKS, ObservedPost.created_at <= now)
    )
    for channel_id, user_id, is_reply, created_at in rows:
        if channel_id not in tallies:
            continue
        tally = tallies[channel_id]
        tally[3 if is_reply else 2] += 1
        if created_at > week_ago:
            tally[1 if is_reply else 0] += 1
            contributors[channel_id].add(user_id)
    if tallies:
        session.execute(
            insert(SpaceSnapshot),
            [
                {
                    "snapshot_id": snapshot.id,
                    "channel_id": cid,
                    "channel_name": channels[cid] or cid,
                    "posts_7d": t[0],
                    "replies_7d": t[1],
                    "posts_28d": t[2],
                    "replies_28d": t[3],
                    "contributors_7d": len(contributors[cid]),
                }
                for cid, t in tallies.items()
            ],
        )


# --------------------------------------------------------------------------- aggregation


def _tickets_by_person(session: Session, user_to_person: dict[str, int]) -> dict[int, list[int]]:
    tickets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for person_id, requester, status in session.execute(
        select(SupportTicket.person_id, SupportTicket.requester_user_id, SupportTicket.status)
    ):
        owner = person_id if person_id is not None else user_to_person.get(requester)
        if owner is None:
            continue
        tickets[owner][0] += 1
        if status in (TicketStatus.RESOLVED, TicketStatus.SELF_SERVED):
            tickets[owner][1] += 1
    return tickets


def _survey_answers(
    session: Session, user_to_person: dict[str, int]
) -> list[tuple[int, int | None, dt.datetime, dict[str, int]]]:
    """(person id, wave id, submitted at, answers) for every response of a roster person."""
    answers = []
    for response in session.scalars(select(SurveyResponse).order_by(SurveyResponse.submitted_at)):
        person_id = response.person_id
        if person_id is None:
            person_id = user_to_person.get(response.user_id)
        if person_id is None:
            continue
        values = {q: int(getattr(response, q)) for q, _, _ in SURVEY_QUESTIONS}
        answers.append((person_id, response.wave_id, response.submitted_at, values))
    return answers


class _GroupFolder:
    """Folds people into their groups chunk by chunk: all, department, site, manager, cohort,
    wave. Holds one total per group and the survey answers (one per respondent), never the
    list of each group's members."""

    def __init__(self, session: Session, user_to_person: dict[str, int]) -> None:
        self._groups: dict[tuple[str, str], GroupMeasure] = {}
        self.cohorts = {
            c.id: c.name
            for c in session.scalars(select(Cohort).where(Cohort.kind != CohortKind.TEST))
        }
        self.waves_of_cohort: dict[int, list[Wave]] = defaultdict(list)
        waves = [
            wave
            for wave in session.scalars(select(Wave).order_by(Wave.position, Wave.id))
            if wave.cohort_id in self.cohorts
        ]
        for wave in waves:
            self.waves_of_cohort[wave.cohort_id].append(wave)
        self.wave_by_id = {wave.id: wave for wave in waves}
        self.tickets = _tickets_by_person(session, user_to_person)
        # Survey: for a wave, the answers given for that wave; elsewhere each person's latest.
        self.latest: dict[int, dict[str, int]] = {}
        self.by_wave: dict[int, dict[int, dict[str, int]]] = defaultdict(dict)
        for person_id, wave_id, _submitted, values in _survey_answers(session, user_to_person):
            self.latest[person_id] = values
            if wave_id is not None:
                self.by_wave[wave_id][person_id] = values
        self._group("all", "all", "all")
        for cohort_id, name in self.cohorts.items():
            self._group("cohort", str(cohort_id), name)
        for wave in waves:
            self._group("wave", str(wave.id), wave.name)

    def _group(self, dimension: str, key: str, label: str) -> GroupMeasure:
        found = self._groups.get((dimension, key))
        if found is None:
            found = self._groups[(dimension, key)] = GroupMeasure(dimension, key, label)
        return found

    def _cohorts_of(self, session: Session, person_ids: list[int]) -> dict[int, list[int]]:
        cohorts_of: dict[int, list[int]] = defaultdict(list)
        for cohort_id, person_id in session.execute(
            select(CohortMember.cohort_id, CohortMember.person_id)
            .where(
                CohortMember.person_id.in_(person_ids),
                CohortMember.cohort_id.in_(list(self.cohorts)),
            )
            .distinct()
        ):
            cohorts_of[person_id].append(cohort_id)
        return cohorts_of

    def _handed_in(self, session: Session, person_ids: list[int]) -> dict[int, int]:
        """Person id → the wave they were handed over (invited) in."""
        return dict(
            session.execute(
                select(WaveHandoff.person_id, WaveHandoff.wave_id).where(
                    WaveHandoff.person_id.in_(person_ids)
                )
            )
            .tuples()
            .all()
        )

    def add(self, session: Session, measures: list[PersonMeasure]) -> None:
        ids = [m.person_id for m in measures]
        cohorts_of = self._cohorts_of(session, ids)
        handed_in = self._handed_in(session, ids)
        for person in measures:
            keys = [
                ("all", "all", "all"),
                ("department", person.department, person.department or NO_VALUE_LABEL),
                ("site", person.site, person.site or NO_VALUE_LABEL),
            ]
            if person.manager_id is not None:
                keys.append(("manager", str(person.manager_id), ""))
            # A person's wave is the one they were handed over (invited) in, as `waves list`
            # and `invitations status` count them: a manager in the pilot's cohort, invited
            # with wave 0, is not the pilot's. Only people never handed over count in every
            # wave of their cohorts.
            handed = self.wave_by_id.get(handed_in.get(person.person_id, -1))
            waves: list[Wave] = [handed] if handed is not None else []
            for cohort_id in sorted(cohorts_of.get(person.person_id, [])):
                keys.append(("cohort", str(cohort_id), self.cohorts[cohort_id]))
                if handed is None:
                    waves += self.waves_of_cohort.get(cohort_id, [])
            keys += [("wave", str(w.id), w.name) for w in waves]
            tickets = self.tickets.get(person.person_id, [0, 0])
            for dimension, key, label in keys:
                group = self._group(dimension, key, label)
                group.add_person(person, (tickets[0], tickets[1]))
                source = self.by_wave.get(int(key), {}) if dimension == "wave" else self.latest
                answers = source.get(person.person_id)
                if answers is not None:
                    group.survey.add(answers)

    def groups(self) -> list[GroupMeasure]:
        return list(self._groups.values())


# --------------------------------------------------------------------------- reading back


def latest_snapshot(session: Session) -> MetricsSnapshot | None:
    return session.scalar(select(MetricsSnapshot).order_by(MetricsSnapshot.day.desc()).limit(1))


def group_rows(
    session: Session, snapshot: MetricsSnapshot, dimension: str | None = None
) -> list[GroupSnapshot]:
    query = select(GroupSnapshot).where(GroupSnapshot.snapshot_id == snapshot.id)
    if dimension is not None:
        query = query.where(GroupSnapshot.dimension == dimension)
    return list(session.scalars(query.order_by(GroupSnapshot.dimension, GroupSnapshot.label)))


def group_history(
    session: Session, dimension: str, key: str | None = None, since: dt.date | None = None
) -> list[GroupSnapshot]:
    """A group's (or every group's of a dimension) rows over time, oldest first."""
    query = select(GroupSnapshot).where(GroupSnapshot.dimension == dimension)
    if key is not None:
        query = query.where(GroupSnapshot.key == key)
    if since is not None:
        query = query.where(GroupSnapshot.day >= since)
    return list(session.scalars(query.order_by(GroupSnapshot.day, GroupSnapshot.key)))


def person_rows(session: Session, snapshot: MetricsSnapshot) -> list[PersonSnapshot]:
    return list(
        session.scalars(
            select(PersonSnapshot)
            .where(PersonSnapshot.snapshot_id == snapshot.id)
            .order_by(PersonSnapshot.person_id)
        )
    )


def space_rows(session: Session, snapshot: MetricsSnapshot) -> list[SpaceSnapshot]:
    return list(
        session.scalars(
            select(SpaceSnapshot)
            .where(SpaceSnapshot.snapshot_id == snapshot.id)
            .order_by(SpaceSnapshot.posts_7d.desc(), SpaceSnapshot.channel_name)
        )
    )


def manager_names(session: Session, manager_ids: Iterable[int]) -> dict[int, str]:
    """Current names of managers (a forgotten one is simply absent)."""
    ids = sorted(set(manager_ids))
    names: dict[int, str] = {}
    for chunk in _chunks([str(i) for i in ids]):
        for person in session.scalars(select(Person).where(Person.id.in_([int(i) for i in chunk]))):
            names[person.id] = person.display_name
    return names


def snapshot_count(session: Session) -> int:
    return int(session.scalar(select(func.count(MetricsSnapshot.id))) or 0)
