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

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from plugin import clock
from plugin.cohorts.models import Cohort, CohortKind, CohortMember, Wave, WaveHandoff
from plugin.db import in_chunks
from plugin.invitations.models import Invitation, InvitationState
from plugin.jsontypes import JSON
from plugin.mattermost import MattermostClient
from plugin.metrics.collect import (
    IDS_PER_REQUEST,
    is_person_post,
    iter_posts_since,
    iter_team_users,
    minimum_requests,
    public_channels,
    read_last_activity,
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
    for chunk in in_chunks(deleted):
        session.execute(delete(ObservedPost).where(ObservedPost.post_id.in_(chunk)))
    known: set[str] = set()
    for chunk in in_chunks(list(fresh)):
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


def _post_counts_of(
    session: Session, user_ids: Iterable[str], now: dt.datetime
) -> dict[str, _PostCounts]:
    """Posts and replies of ``user_ids`` (one chunk of people's users) over 7 and 28 days."""
    week_ago = now - WEEK
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for ids in in_chunks(sorted(user_ids)):
        rows = session.execute(
            select(ObservedPost.user_id, ObservedPost.is_reply, ObservedPost.created_at).where(
                ObservedPost.user_id.in_(ids),
                ObservedPost.created_at > now - FOUR_WEEKS,
                ObservedPost.created_at <= now,
            )
        )
        for user_id, is_reply, created_at in rows:
            tally = counts[user_id]
            tally[3 if is_reply else 2] += 1
            if created_at > week_ago:
                tally[1 if is_reply else 0] += 1
    return {user_id: _PostCounts(*tally) for user_id, tally in counts.items()}


# People per chunk of the streaming pass: read, measured, stored and folded into the groups
# together, so memory does not grow with the roster (bench/bench_metrics_snapshot.py). A chunk
# of 2,000 held some 2 MiB more at its peak than one of 1,000 (rows, measures, insert dicts).
SNAPSHOT_CHUNK = 1_000

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


# --------------------------------------------------------------------------- scratch tables

# What the snapshot learns per person lives in the database while it runs, not in Python: the
# team's users and who matched whom would otherwise cost some 480 bytes a person for the whole
# snapshot (65 MiB at 100,000 people; issue 18). TEMPORARY tables: private to the snapshot's
# connection, never migrated, gone with the transaction's connection on PostgreSQL and dropped
# at the end on both backends.
_SCRATCH = MetaData()

# The team's active users, as read from Mattermost a request at a time.
_team_user = Table(
    "metrics_scratch_team_user",
    _SCRATCH,
    Column("user_id", String(26), primary_key=True),
    Column("email", String, nullable=False),  # lower-cased
    Column("is_bot", Boolean, nullable=False),
    Column("profile_complete", Boolean, nullable=False),
    # ``last_activity_at`` (ms) from the statuses; 0 until read, or when never seen.
    Column("last_activity_ms", BigInteger, nullable=False, default=0),
    Index("metrics_scratch_team_user_email", "email"),
    prefixes=["TEMPORARY"],
)

# Roster person → their Mattermost user (two people may match one user: by id and by e-mail).
_matched = Table(
    "metrics_scratch_matched",
    _SCRATCH,
    Column("person_id", Integer, primary_key=True),
    Column("user_id", String(26), nullable=False),
    Index("metrics_scratch_matched_user_id", "user_id"),
    prefixes=["TEMPORARY"],
)


def _drop_scratch(session: Session) -> None:
    # IF EXISTS: a snapshot that failed on SQLite may leave them on its pooled connection.
    for table in reversed(_SCRATCH.sorted_tables):
        session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def _create_scratch(session: Session) -> None:
    _drop_scratch(session)
    _SCRATCH.create_all(session.connection(), checkfirst=False)


def _store_team_users(session: Session, mm: MattermostClient, team_id: str) -> int:
    """Read the team's active users into ``_team_user``; returns how many there are."""
    for users in iter_team_users(mm, team_id):
        ids = [user.id for user in users]
        # A member listed on two pages (the team grew while it was paged) is kept once, as
        # last read.
        for chunk in in_chunks(ids):
            session.execute(delete(_team_user).where(_team_user.c.user_id.in_(chunk)))
        session.execute(
            insert(_team_user),
            [
                {
                    "user_id": user.id,
                    "email": user.email,
                    "is_bot": user.is_bot,
                    "profile_complete": user.profile_complete,
                    "last_activity_ms": 0,
                }
                for user in users
            ],
        )
        del users  # not held through the next request
    return int(session.scalar(select(func.count()).select_from(_team_user)) or 0)


def _team_user_ids_by(session: Session, column: Any, values: Iterable[str]) -> dict[str, str]:
    """``column``'s value → user id, for the team users whose ``column`` is among ``values``."""
    found: dict[str, str] = {}
    for chunk in in_chunks(sorted(set(values))):
        rows = session.execute(select(column, _team_user.c.user_id).where(column.in_(chunk)))
        found.update(rows.tuples().all())
    return found


def _match_people(session: Session) -> int:
    """Match every roster person to their Mattermost user, a chunk of people at a time: by the
    stored user id, else by e-mail. Returns how many matched."""
    matched = 0
    for chunk in _people_chunks(session):
        by_id = _team_user_ids_by(
            session,
            _team_user.c.user_id,
            (p.mattermost_user_id for p in chunk if p.mattermost_user_id),
        )
        by_email = _team_user_ids_by(
            session, _team_user.c.email, (p.email for p in chunk if p.email)
        )
        rows = []
        for person in chunk:
            user_id = by_id.get(person.mattermost_user_id or "") or by_email.get(person.email)
            if user_id is not None:
                rows.append({"person_id": person.id, "user_id": user_id})
        if rows:
            session.execute(insert(_matched), rows)
            matched += len(rows)
    return matched


def _store_last_activity(session: Session, mm: MattermostClient) -> None:
    """The matched users' last activity, one status request per ``IDS_PER_REQUEST`` users
    (keyset pages over the matched user ids: each asked once)."""
    last = ""
    while True:
        ids = list(
            session.scalars(
                select(_matched.c.user_id)
                .where(_matched.c.user_id > last)
                .distinct()
                .order_by(_matched.c.user_id)
                .limit(IDS_PER_REQUEST)
            )
        )
        if not ids:
            return
        activity = read_last_activity(mm, ids)
        if activity:
            session.execute(
                update(_team_user)
                .where(_team_user.c.user_id == bindparam("seen_user_id"))
                .values(last_activity_ms=bindparam("seen_ms")),
                [{"seen_user_id": uid, "seen_ms": ms} for uid, ms in activity.items()],
            )
        last = ids[-1]


def _bot_ids(session: Session) -> set[str]:
    return set(session.scalars(select(_team_user.c.user_id).where(_team_user.c.is_bot)))


def _person_of_user(user_id: Any) -> ColumnElement[Any]:
    """The roster person matched to ``user_id`` (the highest id, should two have matched it)."""
    return (
        select(func.max(_matched.c.person_id))
        .where(_matched.c.user_id == user_id)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class _MatchedUser:
    user_id: str
    profile_complete: bool
    last_activity_ms: int


def _matched_users(session: Session, first: int, last: int) -> dict[int, _MatchedUser]:
    """Person id → their user, for the matched people with ids in [first, last]."""
    rows = session.execute(
        select(
            _matched.c.person_id,
            _team_user.c.user_id,
            _team_user.c.profile_complete,
            _team_user.c.last_activity_ms,
        )
        .join(_team_user, _team_user.c.user_id == _matched.c.user_id)
        .where(_matched.c.person_id.between(first, last))
    )
    return {
        person_id: _MatchedUser(user_id, bool(complete), int(last_ms or 0))
        for person_id, user_id, complete, last_ms in rows
    }


def _read_posts(
    session: Session,
    mm: MattermostClient,
    team_id: str,
    extra_channel_ids: Iterable[str],
    now: dt.datetime,
) -> tuple[dict[str, str], int, int]:
    """Read the watched channels' new posts and move their cursors.

    Returns (channel id → name, public channels, new posts stored)."""
    public = public_channels(mm, team_id)
    channels = dict(public)
    cursor_rows = {row.channel_id: row for row in session.scalars(select(ChannelCursor))}
    for channel_id in extra_channel_ids:
        channels.setdefault(
            channel_id, cursor_rows[channel_id].channel_name if channel_id in cursor_rows else ""
        )
    bot_ids = _bot_ids(session)
    new_posts = 0
    for reading in iter_posts_since(
        mm,
        channels,
        {cid: row.read_until_ms for cid, row in cursor_rows.items()},
        first_read_since=now - FOUR_WEEKS,
    ):
        new_posts += _store_posts(session, reading.posts, bot_ids)
        row = cursor_rows.get(reading.channel_id)
        if row is None:
            row = cursor_rows[reading.channel_id] = ChannelCursor(channel_id=reading.channel_id)
            session.add(row)
        row.read_until_ms = reading.read_until_ms
        row.channel_name = channels.get(reading.channel_id) or row.channel_name or row.channel_id
        # Let this channel's posts go before the next channel is read (the loop variable would
        # hold them through the next request: 1.9 MiB for 833 posts in the benchmark).
        del reading
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

    It streams: the team's users go to scratch tables as their pages come, and people are
    matched, measured, stored and folded into their groups ``SNAPSHOT_CHUNK`` at a time, so its
    memory does not grow with the roster (bench/bench_metrics_snapshot.py).
    """
    say = progress or (lambda _message: None)
    now = clock.now()
    requests_before = mm.request_count
    _create_scratch(session)
    say(f"team members of {runtime.team_name}")
    team = mm.get_team_by_name(runtime.team_name)
    members = _store_team_users(session, mm, team["id"])
    matched = _match_people(session)
    say(f"last activity of {matched} people")
    _store_last_activity(session, mm)
    channels, public, new_posts = _read_posts(session, mm, team["id"], extra_channel_ids, now)

    say("measures per person and per group")
    snapshot = _fresh_snapshot(session, now.date())
    snapshot.taken_at = now
    snapshot.channels = len(channels)
    snapshot.posts_fetched = new_posts
    folder = _GroupFolder(session)
    snapshot.people = 0
    for chunk in _people_chunks(session):
        ids = [person.id for person in chunk]
        users = _matched_users(session, ids[0], ids[-1])
        post_counts = _post_counts_of(session, (u.user_id for u in users.values()), now)
        invited = _invited_among(session, ids)
        measures = [
            _measure(person, users.get(person.id), post_counts, person.id in invited, now)
            for person in chunk
        ]
        session.execute(
            insert(PersonSnapshot),
            [{"snapshot_id": snapshot.id, **m.as_row()} for m in measures],
        )
        folder.add(session, measures)
        snapshot.people += len(measures)
    # A chunk of rows at a time: there is a group for every manager.
    groups = folder.groups()
    for start in range(0, len(groups), SNAPSHOT_CHUNK):
        session.execute(
            insert(GroupSnapshot),
            [
                {"snapshot_id": snapshot.id, "day": snapshot.day, **group.as_row()}
                for group in groups[start : start + SNAPSHOT_CHUNK]
            ],
        )
    _store_spaces(session, snapshot, channels, now)
    snapshot.requests = mm.request_count - requests_before
    snapshot.minimum_requests = minimum_requests(
        members=members,
        status_ids=matched,
        public_channels=public,
        watched=len(channels),
    )
    _drop_scratch(session)
    session.flush()
    return snapshot


def _measure(
    person: Row[Any],
    user: _MatchedUser | None,
    post_counts: dict[str, _PostCounts],
    invited: bool,
    now: dt.datetime,
) -> PersonMeasure:
    """One person's measures from what the snapshot read (their user, activity, posts)."""
    measure = PersonMeasure(
        person_id=person.id,
        department=person.department,
        site=person.site,
        manager_id=person.manager_id,
    )
    if user is not None:
        counts = post_counts.get(user.user_id, _PostCounts())
        last_ms = user.last_activity_ms
        measure.joined = True
        measure.profile_complete = user.profile_complete
        measure.last_activity_at = _from_ms(last_ms) if last_ms else None
        measure.posts_7d, measure.replies_7d = counts.posts_7d, counts.replies_7d
        measure.posts_28d, measure.replies_28d = counts.posts_28d, counts.replies_28d
        measure.contributed_7d = counts.posts_7d + counts.replies_7d > 0
        measure.contributed_28d = counts.posts_28d + counts.replies_28d > 0
        recently_seen = measure.last_activity_at is not None and (
            measure.last_activity_at > now - WEEK
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


def _tickets_by_person(session: Session, first: int, last: int) -> dict[int, list[int]]:
    """[opened, resolved] tickets of the people with ids in [first, last]: a ticket without a
    person is its requester's, by the user matched to them."""
    owner = func.coalesce(SupportTicket.person_id, _person_of_user(SupportTicket.requester_user_id))
    tickets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for person_id, status in session.execute(
        select(owner, SupportTicket.status).where(owner.between(first, last))
    ):
        tickets[person_id][0] += 1
        if status in (TicketStatus.RESOLVED, TicketStatus.SELF_SERVED):
            tickets[person_id][1] += 1
    return tickets


def _survey_answers(
    session: Session, first: int, last: int
) -> list[tuple[int, int | None, dict[str, int]]]:
    """(person id, wave id, answers) of the people with ids in [first, last], oldest first: a
    response without a person is its user's, by the person matched to them."""
    owner = func.coalesce(SurveyResponse.person_id, _person_of_user(SurveyResponse.user_id))
    questions = [q for q, _, _ in SURVEY_QUESTIONS]
    answers = []
    for person_id, wave_id, *values in session.execute(
        select(owner, SurveyResponse.wave_id, *(getattr(SurveyResponse, q) for q in questions))
        .where(owner.between(first, last))
        .order_by(SurveyResponse.submitted_at)
    ):
        answers.append((person_id, wave_id, dict(zip(questions, map(int, values), strict=True))))
    return answers


class _GroupFolder:
    """Folds people into their groups chunk by chunk: all, department, site, manager, cohort,
    wave. Holds one total per group, never the list of each group's members; tickets and
    survey answers are read for each chunk's people."""

    def __init__(self, session: Session) -> None:
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
        tickets_of = _tickets_by_person(session, ids[0], ids[-1])
        # Survey: for a wave, the answers given for that wave; elsewhere each person's latest.
        latest: dict[int, dict[str, int]] = {}
        by_wave: dict[int, dict[int, dict[str, int]]] = defaultdict(dict)
        for person_id, wave_id, values in _survey_answers(session, ids[0], ids[-1]):
            latest[person_id] = values
            if wave_id is not None:
                by_wave[wave_id][person_id] = values
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
            tickets = tickets_of.get(person.person_id, [0, 0])
            for dimension, key, label in keys:
                group = self._group(dimension, key, label)
                group.add_person(person, (tickets[0], tickets[1]))
                source = by_wave.get(int(key), {}) if dimension == "wave" else latest
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
    for chunk in in_chunks(ids):
        for person in session.scalars(select(Person).where(Person.id.in_(chunk))):
            names[person.id] = person.display_name
    return names


def snapshot_count(session: Session) -> int:
    return int(session.scalar(select(func.count(MetricsSnapshot.id))) or 0)
