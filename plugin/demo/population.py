"""Simulated employees living through a launch on Mattermost, deterministically for a seed.

People act only as real users would: they sign up from the invitation they received, fill in
their profile, post, reply and react in the channels they belong to, click buttons on surveys
and polls, type ``/envol support`` and submit the dialog that opens. Every action is a real
HTTP call (``AppUser``; the sign-up too), so Envol's webhooks and metrics see them as they
would see people on Mattermost. Reads (which channels a person is in, which posts are new)
go through a ``World`` (``plugin.demo.world``): the sandbox's state, where they cost nothing
and are what the web app would have loaded anyway, or a real Mattermost's API v4.

Usage (the demo moves ``plugin.clock`` to each simulated day; the sandbox stamps posts and
activity with it, while the model decides from the moment it is given)::

    population = Population(SandboxWorld(sandbox), generate_roster(1500, seed), seed=seed,
                            team_id=team_id, support_channel=runtime.support_channel)
    for offset in range(90):
        moment = start + dt.timedelta(days=offset)
        clock_source.set(moment)
        # Envol's own e-mails: hand over the links; Mattermost's e-mail invitations and
        # direct adds are read from the world by the model itself.
        received = invitations_from_emails(new_smtp_messages, at=moment)
        population.run_day(moment, received)   # accept, profiles, network, surveys, support
    population.close()
    population.log.summary()   # {"joined": …, "posts": …, "http_calls": …}

Determinism: decisions come from hashes of (seed, purpose, person, day), never from the wall
clock; the same seed, roster and sequence of calls give the same ``SimulationLog`` and the same
sandbox contents (ids aside, unless the sandbox is seeded too).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

import requests

from plugin import clock, i18n
from plugin.demo import phrasebook
from plugin.demo.arrivals import ADDED, INVITE_LINK, MATTERMOST_EMAIL, ReceivedInvitation
from plugin.demo.person import AppUser, CallFailed
from plugin.demo.profiles import (
    BehaviourProfile,
    PersonTraits,
    department_key,
    draw_traits,
    profile_for,
    rng_for,
    unit,
)
from plugin.demo.simulation_log import (
    Acceptance,
    Failure,
    Member,
    Message,
    ProfileChange,
    Reaction,
    SimulationLog,
    SupportRequest,
    SurveyAnswer,
    Visit,
)
from plugin.demo.world import SignUpFailed, World, app_user
from plugin.jsontypes import JSON
from plugin.mattermost import MARKER_PROP
from plugin.text import strip_accents

T = TypeVar("T")

DEFAULT_HOUR = dt.time(9, 0)
SUPPORT_COMMAND = "/envol support"
NEWCOMER_PERIOD = dt.timedelta(days=14)
WEEKEND_FACTOR = 0.08  # a few people look at Mattermost on Saturday and Sunday
RECENT_POSTS_PER_CHANNEL = 25
MAX_ATTEMPTS = 3
RETRY_AFTER_CAP = 2.0  # seconds; a simulated person does not wait for minutes
# A button or a command that answers an error (Envol's "the form could not open; click again")
# is tried once more, as a person would; never more, so a broken integration stays visible.
TRIES_AGAIN = 1
USERNAME_MAX = 22
# The automatic daily budget of ``use_the_network``: 1,500 people over 90 days then cost at most
# 6,750 calls for their daily life (a few seconds of sandbox time), whatever the rates.
PEOPLE_PER_DAILY_CALL = 20
MIN_AUTO_BUDGET = 50


class RosterEntry(Protocol):
    """What the model needs of a person: ``FakeEmployee`` and ``people.models.Person`` fit."""

    @property
    def email(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...
    @property
    def department(self) -> str: ...


class ActionFailed(Exception):
    """A simulated action failed for good (already written to the log's failures)."""


@dataclass
class SimulatedPerson:
    index: int
    email: str
    first_name: str
    last_name: str
    department: str
    role: str
    language: str
    volunteer: bool
    traits: PersonTraits
    invitations: list[ReceivedInvitation] = field(default_factory=list)
    first_received: dt.datetime | None = None
    user_id: str | None = None
    joined_at: dt.datetime | None = None
    gave_up: bool = False
    # Profile fields still to set, with when they are due.
    pending_profile: dict[str, dt.datetime] = field(default_factory=dict)

    @property
    def profile(self) -> BehaviourProfile:
        return self.traits.profile


@dataclass(frozen=True)
class _PostRef:
    key: str
    post_id: str
    channel_id: str
    user_id: str
    is_root: bool


@dataclass
class _DayPlan:
    person: SimulatedPerson
    posts: int
    replies: int
    reactions: int

    @property
    def calls(self) -> int:
        return max(1, self.posts + self.replies + self.reactions)


def _moment(day: dt.date | dt.datetime | None) -> dt.datetime:
    if day is None:
        return clock.now()
    if isinstance(day, dt.datetime):
        return day if day.tzinfo else day.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(day, DEFAULT_HOUR, tzinfo=dt.UTC)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _ascii_lower(text: str) -> str:
    return strip_accents(text).lower()


def username_for(email: str) -> str:
    """A valid Mattermost username from the address (lowercase ASCII, 3 … 22 characters)."""
    local = re.sub(r"[^a-z0-9.\-_]", "", _ascii_lower(email.split("@", 1)[0]))
    if not local or not local[0].isalpha():
        local = f"u{local}"
    return local[:USERNAME_MAX].rstrip(".-_").ljust(3, "x")


def _ms_to_datetime(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


class Population:
    """The roster's people, acting in a ``World``; ``log`` records what they did."""

    def __init__(
        self,
        world: World,
        roster: Iterable[RosterEntry],
        *,
        seed: int = 7,
        team_id: str | None = None,
        profiles: Mapping[str, BehaviourProfile] | None = None,
        activity_scale: float = 1.0,
        daily_call_budget: int | Literal["auto"] | None = "auto",
        support_command: str = SUPPORT_COMMAND,
        support_channel: str = "",
        quiet_channels: Collection[str] = (),
        settle: Callable[[], object] | None = None,
    ) -> None:
        """``team_id`` limits direct adds and channels to one team (default: every team);
        ``profiles`` overrides department profiles by department name; ``activity_scale``
        scales how often people open Mattermost (and so the HTTP calls);
        ``daily_call_budget`` caps the calls of ``use_the_network`` per day (a sample of the
        day's active people then act; "auto": one call a day per 20 people, at least 50;
        None: no cap); ``support_channel`` is where people type the support
        command (town-square when they are not in it); nobody posts in ``quiet_channels``;
        ``settle`` is called after every action that reaches an integration (a command, a
        click, a dialog): the demo waits there until its worker has done what the action
        asked, so the worker's posts land at the same point in every run.

        Over 80 lines on purpose: one assignment per option and per piece of state, read
        top to bottom; split, the state would be set in several places."""
        if activity_scale < 0:
            raise ValueError("activity_scale must be zero or more")
        self.world = world
        self.seed = seed
        self.team_id = team_id
        self.activity_scale = activity_scale
        self.support_command = (
            support_command if support_command.startswith("/") else (f"/{support_command}")
        )
        self.support_channel = support_channel
        self.quiet_channels = frozenset(quiet_channels)
        self._settle = settle
        self.log = SimulationLog()
        self.people: list[SimulatedPerson] = []
        self._by_email: dict[str, SimulatedPerson] = {}
        self._by_user: dict[str, SimulatedPerson] = {}
        for entry in roster:
            email = entry.email.strip().lower()
            if email in self._by_email:
                continue
            role = str(getattr(entry, "role", "employee") or "employee")
            language = "en" if str(getattr(entry, "language", "fr")) == "en" else "fr"
            volunteer = bool(getattr(entry, "volunteer", False))
            profile = profile_for(entry.department, profiles)
            person = SimulatedPerson(
                index=len(self.people),
                email=email,
                first_name=entry.first_name,
                last_name=entry.last_name,
                department=entry.department,
                role=role,
                language=language,
                volunteer=volunteer,
                traits=draw_traits(seed, email, role, volunteer, profile),
            )
            self.people.append(person)
            self._by_email[email] = person
            self.log.members[email] = Member(
                email, entry.department, role, language, volunteer, profile.name
            )
        self.daily_call_budget: int | None = (
            max(MIN_AUTO_BUDGET, len(self.people) // PEOPLE_PER_DAILY_CALL)
            if daily_call_budget == "auto"
            else daily_call_budget
        )
        self._clients: dict[str, AppUser] = {}
        self._sent_invites_seen = 0
        self._team_sizes: dict[str, int] = {}
        # Posts the model has seen, in creation order, keyed stably.
        self._known_posts: set[str] = set()
        self._channel_labels: dict[str, str] = {}
        self._channel_counts: dict[str, int] = {}
        self._recent: dict[str, deque[_PostRef]] = {}
        self._recent_roots: dict[str, deque[_PostRef]] = {}
        self._interactive: list[_PostRef] = []
        self._decided: set[tuple[str, str]] = set()  # (email, post key): answered or skipped
        self._team_channels: list[tuple[str, str]] | None = None
        # A proxy look-up per request costs time on the loopback; a staging server may need one.
        self._local = urlsplit(world.url).hostname in ("127.0.0.1", "localhost", "::1")
        self._transport = world.people_transport()

    # ================================================================== lookups

    def person(self, email: str) -> SimulatedPerson:
        return self._by_email[email.strip().lower()]

    def user_id_of(self, email: str) -> str | None:
        return self.person(email).user_id

    def joined(self, at: dt.datetime | None = None) -> list[SimulatedPerson]:
        """People on the platform at ``at`` (default: now), in roster order."""
        moment = at or clock.now()
        return [
            p
            for p in self.people
            if p.user_id is not None and p.joined_at is not None and p.joined_at <= moment
        ]

    # ================================================================== invitations

    def receive(
        self, invitations: Iterable[ReceivedInvitation], now: dt.datetime | None = None
    ) -> int:
        """Hand the model invitations people received (Envol's e-mails with the invite link);
        returns how many concern people of the roster. Others are ignored."""
        moment = now or clock.now()
        count = 0
        for invitation in invitations:
            person = self._by_email.get(invitation.email)
            if person is None:
                continue
            received_at = invitation.received_at or moment
            person.invitations.append(invitation)
            person.gave_up = False
            if person.first_received is None or received_at < person.first_received:
                person.first_received = received_at
            count += 1
        return count

    def _teams(self) -> list[str]:
        return [self.team_id] if self.team_id else self.world.team_ids()

    def _collect_from_world(self, now: dt.datetime) -> None:
        """Mattermost's own e-mail invitations and direct adds, as the world shows them."""
        found: list[ReceivedInvitation] = []
        sent_invites = self.world.email_invitations(self._sent_invites_seen)
        self._sent_invites_seen += len(sent_invites)
        for sent in sent_invites:
            if self.team_id is None or sent.team_id == self.team_id:
                found.append(
                    ReceivedInvitation(
                        sent.email, MATTERMOST_EMAIL, received_at=_ms_to_datetime(sent.at_ms)
                    )
                )
        for team_id in self._teams():
            members = self.world.team_member_ids(team_id)
            if self._team_sizes.get(team_id) == len(members):
                continue  # nobody added since the last look
            self._team_sizes[team_id] = len(members)
            for user_id in members:
                if user_id in self._by_user:
                    continue
                person = self._by_email.get(self.world.email_of(user_id))
                if person is not None and not any(i.kind == ADDED for i in person.invitations):
                    found.append(ReceivedInvitation(person.email, ADDED, received_at=now))
        self.receive(found, now)

    def accept_invitations(
        self, now: dt.datetime | None = None, received: Iterable[ReceivedInvitation] = ()
    ) -> list[Acceptance]:
        """People whose invitation has waited their personal delay sign up (or, already
        members, visit for the first time). Some never do. Returns today's acceptances."""
        moment = now or clock.now()
        self.receive(received, moment)
        self._collect_from_world(moment)
        accepted: list[Acceptance] = []
        try:
            for person in self.people:
                if (
                    person.user_id is not None
                    or person.gave_up
                    or person.first_received is None
                    or not person.traits.accepts
                    or person.first_received + person.traits.accept_delay > moment
                ):
                    continue
                acceptance = self._accept(person, moment)
                if acceptance is not None:
                    accepted.append(acceptance)
        finally:
            self._release()
        return accepted

    def _accept(self, person: SimulatedPerson, at: dt.datetime) -> Acceptance | None:
        kinds = {i.kind for i in person.invitations}
        user: AppUser | None = None
        via = ""
        try:
            if ADDED in kinds:
                try:
                    user_id = self._existing_user_id(person.email)
                except LookupError:  # deactivated since it was added
                    person.gave_up = True
                    self._fail(person, at, "log in", "the account is gone")
                    return None
                try:
                    via, user = ADDED, self._log_in(person, user_id)
                except (RuntimeError, requests.RequestException) as error:
                    # A real server that refuses the demo a token for this account.
                    self._fail(person, at, "log in", str(error))
                    return None
            elif INVITE_LINK in kinds:
                link = next(i for i in reversed(person.invitations) if i.kind == INVITE_LINK)
                via, user = INVITE_LINK, self._sign_up(person, at, invite_id=link.invite_id)
            elif MATTERMOST_EMAIL in kinds:
                via, user = MATTERMOST_EMAIL, self._sign_up(person, at)
            if user is None:
                return None
            self._adopt(user)
            # The web app signs the newcomer in and loads their profile: Mattermost sees them.
            self._attempt(person, at, "first visit", self._visit, user)
        except ActionFailed:
            return None
        person.user_id = user.user_id
        person.joined_at = at
        self._by_user[user.user_id] = person
        self._clients[user.user_id] = user
        for name, delay in (
            ("position", person.traits.position_delay),
            ("picture", person.traits.picture_delay),
            ("nickname", person.traits.nickname_delay),
        ):
            if delay is not None:
                person.pending_profile[name] = at + delay
        acceptance = Acceptance(at, person.email, via, user.user_id)
        self.log.acceptances.append(acceptance)
        return acceptance

    def _existing_user_id(self, email: str) -> str:
        user_id = self.world.user_id_by_email(email)
        if user_id is None:
            raise LookupError(f"no account for {email}")
        return user_id

    def _log_in(self, person: SimulatedPerson, user_id: str) -> AppUser:
        return self._adopt(app_user(self.world, user_id))

    def _newest_valid_token(self, email: str) -> str | None:
        """The token of the person's newest unexpired Mattermost invitation (a reminder's link
        is the one that still works)."""
        now_ms = int(clock.now().timestamp() * 1000)
        valid = [t for t, expires_at in self.world.invitation_tokens(email) if expires_at >= now_ms]
        return valid[-1] if valid else None

    def _sign_up(
        self, person: SimulatedPerson, at: dt.datetime, invite_id: str | None = None
    ) -> AppUser | None:
        """Create the account from the invitation, with the roster's names and language."""
        base = username_for(person.email)
        username = base
        profile = {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "locale": person.language,
        }
        for attempt in range(1, MAX_ATTEMPTS + 2):
            self.log.http_calls += 1
            try:
                token = None if invite_id is not None else self._newest_valid_token(person.email)
                if invite_id is None and token is None:
                    return None  # every Mattermost invitation expired: wait for a reminder
                user_id = self.world.sign_up(
                    email=person.email, username=username, profile=profile,
                    invite_id=invite_id, token=token,
                )  # fmt: skip
                return self._log_in(person, user_id)
            except (SignUpFailed, requests.RequestException) as error:
                text = str(error)
                if "username_exists" in text:
                    username = f"{base[: USERNAME_MAX - 2]}{attempt + 1}"
                    continue
                if "email_exists" in text:
                    # An earlier attempt went through but its answer was lost.
                    return self._already_signed_up(person, at)
                transient = isinstance(error, requests.RequestException) or _worth_retrying(text)
                if transient and attempt < MAX_ATTEMPTS:
                    continue
                # A refused link waits for another invitation (``receive`` clears the flag);
                # a server that keeps failing is tried again at the next call.
                person.gave_up = not transient
                self._fail(person, at, "sign-up", text)
                return None
        self._fail(person, at, "sign-up", "no free username")
        person.gave_up = True
        return None

    def _already_signed_up(self, person: SimulatedPerson, at: dt.datetime) -> AppUser | None:
        user_id = self._existing_user_id(person.email)
        if not any(self.world.is_team_member(team, user_id) for team in self._teams()):
            person.gave_up = True
            self._fail(person, at, "sign-up", "account exists but is not in the team")
            return None
        return self._log_in(person, user_id)

    # ================================================================== profiles

    def complete_profiles(self, now: dt.datetime | None = None) -> list[ProfileChange]:
        """People whose profile step is due set their position, nickname or picture."""
        moment = now or clock.now()
        changes: list[ProfileChange] = []
        try:
            for person in self.joined(moment):
                due = sorted(name for name, at in person.pending_profile.items() if at <= moment)
                if not due:
                    continue
                user = self._client(person)
                done: list[str] = []
                fields: JSON = {}
                if "position" in due:
                    fields["position"] = phrasebook.position_for(
                        department_key(person.department), person.role, person.language
                    )
                if "nickname" in due:
                    fields["nickname"] = _nickname(person.first_name)
                try:
                    if fields:
                        self._attempt(person, moment, "profile", user.update_profile, **fields)
                        done += sorted(fields)
                    if "picture" in due:
                        self._attempt(person, moment, "picture", user.set_profile_picture)
                        done.append("picture")
                except ActionFailed:
                    pass
                for name in done:
                    person.pending_profile.pop(name, None)
                if done:
                    change = ProfileChange(moment, person.email, tuple(sorted(done)))
                    self.log.profile_changes.append(change)
                    changes.append(change)
        finally:
            self._release()
        return changes

    # ================================================================== daily life

    def use_the_network(self, day: dt.date | dt.datetime | None = None) -> list[Message]:
        """A day of use: a sample of members open Mattermost; some post in their channels,
        reply to threads, react; the others read (one call, so their last activity moves).
        Returns the day's posts and replies."""
        moment = _moment(day)
        today = moment.date()
        self._scan_posts()
        rng = rng_for(self.seed, "network", today.isoformat())
        plans = self._plan_day(rng, moment)
        written: list[Message] = []
        try:
            for plan in plans:
                written += self._live(plan, rng, moment)
        finally:
            self._release()
        return written

    def _activity_level(self, person: SimulatedPerson, at: dt.datetime) -> float:
        """How active the person is this week relative to their usual self: curiosity in the
        first week, then the department's trend (growth or fading), within bounds."""
        assert person.joined_at is not None
        weeks = max(0.0, (at - person.joined_at).total_seconds() / (7 * 86400))
        level = (1.0 + person.profile.weekly_trend) ** weeks
        if weeks < 1:
            level *= 1.3
        return min(2.0, max(0.3, level))

    def _plan_day(self, rng: random.Random, at: dt.datetime) -> list[_DayPlan]:
        weekend = at.weekday() >= 5
        plans: list[_DayPlan] = []
        for person in self.joined(at):
            profile = person.profile
            level = self._activity_level(person, at)
            chance = person.traits.visit_days_per_week * level / 5.0
            chance = min(0.9, chance) * self.activity_scale * (WEEKEND_FACTOR if weekend else 1.0)
            if rng.random() >= chance:
                continue
            per_visit = 1.0 / max(profile.visit_days_per_week, 0.1)
            plans.append(
                _DayPlan(
                    person,
                    posts=_poisson(rng, profile.posts_per_week * per_visit),
                    replies=_poisson(rng, profile.replies_per_week * per_visit),
                    reactions=_poisson(rng, profile.reactions_per_week * per_visit),
                )
            )
        if (
            self.daily_call_budget is not None
            and sum(p.calls for p in plans) > self.daily_call_budget
        ):
            kept: set[int] = set()
            spent = 0
            for position in rng.sample(range(len(plans)), len(plans)):
                if spent + plans[position].calls <= self.daily_call_budget:
                    kept.add(position)
                    spent += plans[position].calls
            plans = [plan for position, plan in enumerate(plans) if position in kept]
        return plans

    def _live(self, plan: _DayPlan, rng: random.Random, at: dt.datetime) -> list[Message]:
        person = plan.person
        user = self._client(person)
        channels = self._channels_of(person)
        writable = [(name, cid) for name, cid in channels if name not in self.quiet_channels]
        language = person.language
        written: list[Message] = []
        acted = False
        try:
            for _ in range(plan.posts if writable else 0):
                weights = [1 if name in ("town-square", "off-topic") else 2 for name, _ in writable]
                name, channel_id = rng.choices(writable, weights)[0]
                text = rng.choice(phrasebook.texts(phrasebook.POSTS, language))
                post = self._attempt(person, at, "post", user.post, channel_id, text)
                ref = self._register(post)
                message = Message(at, person.email, name, "post", ref.key, "", ref.post_id)
                self.log.messages.append(message)
                written.append(message)
                acted = True
            # Channels in name order, never id order: ids are random unless the sandbox is seeded.
            roots = [r for _, cid in writable for r in self._recent_roots.get(cid, ())]
            for _ in range(plan.replies if roots else 0):
                root = rng.choice(roots)
                text = rng.choice(phrasebook.texts(phrasebook.REPLIES, language))
                post = self._attempt(
                    person, at, "reply", user.post, root.channel_id, text, root_id=root.post_id
                )
                ref = self._register(post)
                message = Message(
                    at, person.email, self._label(root.channel_id), "reply", ref.key, root.key,
                    ref.post_id,
                )  # fmt: skip
                self.log.messages.append(message)
                written.append(message)
                acted = True
            others = [
                r
                for _, cid in channels
                for r in self._recent.get(cid, ())
                if r.user_id != person.user_id
            ]
            for _ in range(plan.reactions if others else 0):
                target = rng.choice(others)
                emoji = rng.choice(phrasebook.EMOJIS)
                self._attempt(person, at, "reaction", user.react, target.post_id, emoji)
                self.log.reactions.append(Reaction(at, person.email, target.key, emoji))
                acted = True
            if not acted:
                self._attempt(person, at, "visit", self._visit, user)
                self.log.visits.append(Visit(at, person.email))
        except ActionFailed:
            pass
        return written

    # ================================================================== surveys and polls

    def answer_surveys_and_polls(self, now: dt.datetime | None = None) -> list[SurveyAnswer]:
        """Members who see a post with buttons (their DM with the bot, their channels) answer
        it once, or decide not to; a dialog that opens is filled in and submitted."""
        moment = now or clock.now()
        self._scan_posts()
        answers: list[SurveyAnswer] = []
        present = {p.user_id: p for p in self.joined(moment) if p.user_id}
        try:
            for ref in list(self._interactive):
                channel = self.world.channel(ref.channel_id)
                if channel.get("type") == "D":
                    ids = str(channel["name"]).split("__")
                    audience = sorted(
                        (present[uid] for uid in ids if uid in present and uid != ref.user_id),
                        key=lambda p: p.index,
                    )
                else:
                    inside = self.world.members_among(ref.channel_id, present)
                    audience = [p for uid, p in present.items() if uid in inside]
                if channel.get("type") == "D" and audience:
                    # A direct message has one reader: once they decided, forget the post.
                    self._interactive.remove(ref)
                for person in audience:
                    if (person.email, ref.key) in self._decided or person.user_id == ref.user_id:
                        continue
                    self._decided.add((person.email, ref.key))
                    rate = min(0.98, person.profile.answer_rate * person.traits.engagement**0.3)
                    if unit(self.seed, "answers", person.email, ref.key) >= rate:
                        continue
                    answer = self._answer(person, ref, moment)
                    if answer is not None:
                        answers.append(answer)
        finally:
            self._release()
        return answers

    def _answer(
        self, person: SimulatedPerson, ref: _PostRef, at: dt.datetime
    ) -> SurveyAnswer | None:
        user = self._client(person)
        try:
            post = user.get_post(ref.post_id)  # the post as the person's screen shows it now
        except CallFailed as failed:
            if failed.status_code in (403, 404):
                return None  # a deleted post
            raise
        actions = [
            dict(action)
            for attachment in (post.get("props", {}).get("attachments") or [])
            for action in (attachment.get("actions") or [])
        ]
        if not actions or post.get("delete_at"):
            return None  # closed poll, or a deleted post
        rng = rng_for(self.seed, "answer", person.email, ref.key)
        score = _score(rng, person.traits.mood)
        action, selected = _choose_action(actions, rng, score)
        screen = user.screen()
        before = len(screen.dialogs)
        label = str(action.get("name", ""))
        error = ""
        submission: tuple[tuple[str, str], ...] = ()
        for _ in range(1 + TRIES_AGAIN):
            told_before = len(screen.ephemeral_messages)
            try:
                self._use_integration(
                    person, at, "click", user.click, ref.post_id, str(action["id"]), selected
                )
            except ActionFailed as failed:
                error = str(failed)
                screen = user.screen()
                continue  # the button answered an error: click it again
            screen = user.screen()  # what the click brought: a dialog, or words
            error = ""
            if len(screen.dialogs) == before and _asked_to_click_again(
                screen.ephemeral_messages[told_before:]
            ):
                error = "the form could not open"
                continue  # Envol said so, in words: a person clicks again
            break
        if not error:
            dialogs = screen.dialogs
            if len(dialogs) > before:
                values = fill_dialog(dialogs[-1].dialog, rng, person.traits.mood, person.language)
                submission = tuple(sorted(values.items()))
                try:
                    reply = self._use_integration(
                        person, at, "dialog", user.submit_dialog, values, dialogs[-1]
                    )
                    error = _dialog_error(reply)
                except ActionFailed as failed:
                    error = str(failed)
        user.close_app()  # done with this post: a crowd of open apps would pin server threads
        numeric = _as_number(selected if selected is not None else label)
        answer = SurveyAnswer(
            at, person.email, ref.key, selected or label, submission,
            int(numeric) if numeric is not None else None, error,
        )  # fmt: skip
        self.log.survey_answers.append(answer)
        return answer

    # ================================================================== support

    def ask_for_support(self, day: dt.date | dt.datetime | None = None) -> list[SupportRequest]:
        """A few people (newcomers more) type the support command and submit the dialog with
        a realistic question in their language."""
        moment = _moment(day)
        self._refresh_channels()
        rng = rng_for(self.seed, "support", moment.date().isoformat())
        weekend = moment.weekday() >= 5
        requests_made: list[SupportRequest] = []
        try:
            for person in self.joined(moment):
                assert person.joined_at is not None
                newcomer = moment - person.joined_at < NEWCOMER_PERIOD
                chance = person.profile.support_per_month / 30.0 * (3.0 if newcomer else 1.0)
                chance *= WEEKEND_FACTOR if weekend else 1.0
                if rng.random() >= chance:
                    continue
                question = rng.choice(phrasebook.SUPPORT_QUESTIONS[person.language])
                request = self.request_support(person.email, question, moment)
                if request is not None:
                    requests_made.append(request)
        finally:
            self._release()
        return requests_made

    def request_support(
        self,
        email: str,
        question: phrasebook.SupportQuestion | None = None,
        now: dt.datetime | None = None,
    ) -> SupportRequest | None:
        """One person runs the support command and submits the dialog (None if they are not
        on the platform or in no channel)."""
        moment = now or clock.now()
        person = self.person(email)
        if person.user_id is None:
            return None
        rng = rng_for(self.seed, "support-question", person.email, moment.isoformat())
        question = question or rng.choice(phrasebook.SUPPORT_QUESTIONS[person.language])
        channels = dict(self._channels_of(person))
        channel = self.support_channel if self.support_channel in channels else "town-square"
        if channel not in channels:
            if not channels:
                return None
            channel = sorted(channels)[0]
        user = self._client(person)
        dialogs = user.dialogs
        before = len(dialogs)
        error = ""
        opened = False
        category = ""
        try:
            for tried in range(1 + TRIES_AGAIN):
                try:
                    self._use_integration(
                        person, moment, "support command", user.run_command, channels[channel],
                        self.support_command,
                    )  # fmt: skip
                except ActionFailed:
                    if tried == TRIES_AGAIN:
                        raise
                    continue  # the command answered an error: type it again
                dialogs = user.dialogs
                if len(dialogs) > before:
                    break  # else Envol said the form could not open: type it again
            if len(dialogs) > before:
                opened = True
                values = fill_dialog(
                    dialogs[-1].dialog, rng, person.traits.mood, person.language,
                    text=question.text, choice=question.category,
                )  # fmt: skip
                category = next((v for v in values.values() if v == question.category), category)
                reply = self._use_integration(
                    person, moment, "support dialog", user.submit_dialog, values, dialogs[-1]
                )
                error = _dialog_error(reply)
            else:
                error = "no dialog opened"
        except ActionFailed as failed:
            error = str(failed)
        user.close_app()
        request = SupportRequest(
            moment, person.email, channel, self.support_command, category, question.text,
            opened, error,
        )  # fmt: skip
        self.log.support_requests.append(request)
        return request

    # ================================================================== a whole day

    def run_day(
        self,
        day: dt.date | dt.datetime | None = None,
        received: Iterable[ReceivedInvitation] = (),
    ) -> dict[str, int]:
        """Every step for one day (at 9:00 UTC for a date); returns what changed in the log."""
        moment = _moment(day)
        before = self.log.summary()
        self.accept_invitations(moment, received)
        self.complete_profiles(moment)
        self.use_the_network(moment)
        self.answer_surveys_and_polls(moment)
        self.ask_for_support(moment)
        after = self.log.summary()
        return {key: after[key] - before[key] for key in after}

    def close(self) -> None:
        self._release()

    # ================================================================== plumbing

    def _client(self, person: SimulatedPerson) -> AppUser:
        assert person.user_id is not None
        client = self._clients.get(person.user_id)
        if client is None:
            client = self._log_in(person, person.user_id)
            self._clients[person.user_id] = client
        return client

    def _adopt(self, client: AppUser) -> AppUser:
        """Route the person's requests through the world's one transport for all people: each
        person's own keep-alive connection would cost a connect per action, and the sandbox
        serves every open connection from a thread (1,500 idle ones would pin 1,500)."""
        client.http.trust_env = not self._local
        client.http.mount(f"{self.world.url}/", self._transport)
        return client

    def _release(self) -> None:
        """Let the sandbox's connection threads go between steps (the people's apps too)."""
        self._transport.close()
        for client in self._clients.values():
            client.close_app()

    def _visit(self, user: AppUser) -> None:
        response = user.http.get(f"{self.world.url}/api/v4/users/me", timeout=30)
        if response.status_code >= 400:
            raise CallFailed(response)

    def _attempt(
        self,
        person: SimulatedPerson,
        at: dt.datetime,
        action: str,
        call: Callable[..., T],
        *args: Any,
        retry_errors: bool = True,
        **kwargs: Any,
    ) -> T:
        """Run one HTTP action like a person would: try again after a 429 (waiting a little)
        and, for plain reads and writes, after a server error or a dropped connection.
        Integration calls (commands, clicks, dialogs) are retried only after a 429, which
        Mattermost answers before doing anything."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self.log.http_calls += 1
            try:
                return call(*args, **kwargs)
            except CallFailed as error:
                status = error.status_code
                last = attempt == MAX_ATTEMPTS
                if status == 429 and not last:
                    wait = error.response.headers.get("Retry-After", "1")
                    time.sleep(min(float(wait) if wait.isdigit() else 1.0, RETRY_AFTER_CAP))
                    continue
                if status >= 500 and retry_errors and not last:
                    continue
                detail = f"{status}: {error.response.text[:200]}"
            except requests.RequestException as error:
                if retry_errors and attempt < MAX_ATTEMPTS:
                    continue
                detail = type(error).__name__
            self._fail(person, at, action, detail)
            raise ActionFailed(f"{action} failed: {detail}")
        raise AssertionError("unreachable")  # pragma: no cover

    def _use_integration(
        self, person: SimulatedPerson, at: dt.datetime, action: str, call: Callable[..., T],
        *args: Any,
    ) -> T:  # fmt: skip
        """A command, a click or a dialog: Mattermost calls Envol, which may hand work to its
        worker; ``settle`` waits for it before the person does anything else."""
        try:
            return self._attempt(person, at, action, call, *args, retry_errors=False)
        finally:
            if self._settle is not None:
                self._settle()

    def _fail(self, person: SimulatedPerson, at: dt.datetime, action: str, detail: str) -> None:
        self.log.failures.append(Failure(at, person.email, action, detail[:300]))

    # ------------------------------------------------------------------ channels and posts

    def _refresh_channels(self) -> None:
        """The teams' open and private channels, by name; read once per step (direct
        channels, one per person and bot, would make a per-person scan quadratic)."""
        teams = self._teams()
        rank = {team_id: index for index, team_id in enumerate(teams)}  # teams by name
        self._team_channels = [
            (str(c["name"]), str(c["id"]))
            # By name, never by id: ids are random unless the sandbox is seeded.
            for c in sorted(
                self.world.team_channels(teams), key=lambda c: (c["name"], rank[c["team_id"]])
            )
        ]

    def _channels_of(self, person: SimulatedPerson) -> list[tuple[str, str]]:
        """(name, id) of the team channels the person is in, by name."""
        if self._team_channels is None:
            self._refresh_channels()
        assert self._team_channels is not None and person.user_id is not None
        inside = self.world.channels_joined(
            person.user_id, (cid for _, cid in self._team_channels), self._teams()
        )
        return [(n, cid) for n, cid in self._team_channels if cid in inside]

    def _label(self, channel_id: str) -> str:
        """A channel's stable name: its name, or ``@a,@b`` (usernames) for a direct one."""
        label = self._channel_labels.get(channel_id)
        if label is None:
            channel = self.world.channel(channel_id)
            if channel.get("type") == "D":
                names = sorted(
                    self.world.username_of(uid) for uid in str(channel["name"]).split("__")
                )
                label = ",".join(f"@{name}" for name in names)
            else:
                label = str(channel.get("name", channel_id))
            self._channel_labels[channel_id] = label
        return label

    def _register(self, post: JSON) -> _PostRef:
        """Give a post its stable key and remember it for replies, reactions and answers."""
        post_id = str(post["id"])
        channel_id = str(post["channel_id"])
        label = self._label(channel_id)
        count = self._channel_counts.get(channel_id, 0) + 1
        self._channel_counts[channel_id] = count
        ref = _PostRef(
            f"{label}#{count}", post_id, channel_id, str(post.get("user_id", "")),
            not post.get("root_id"),
        )  # fmt: skip
        self._known_posts.add(post_id)
        self._recent.setdefault(channel_id, deque(maxlen=RECENT_POSTS_PER_CHANNEL)).append(ref)
        if ref.is_root:
            self._recent_roots.setdefault(
                channel_id, deque(maxlen=RECENT_POSTS_PER_CHANNEL)
            ).append(ref)
        if _asks_everyone(post, self.world.channel(channel_id)):
            self._interactive.append(ref)
        return ref

    def _scan_posts(self) -> None:
        """Register the posts created since the last look, in creation order (and re-read
        the channel list: both change between steps). Posts of the same moment in different
        channels come by channel name: the API gives no order between channels."""
        self._refresh_channels()
        fresh = self.world.new_posts(self._teams())
        fresh.sort(key=lambda post: (int(post["create_at"]), self._label(str(post["channel_id"]))))
        for post in fresh:
            if post["id"] not in self._known_posts:
                self._register(post)


# ====================================================================== choosing answers


def _asks_everyone(post: JSON, channel: JSON) -> bool:
    """A post with buttons meant for its readers: a poll, or anything the bot sends in a DM
    (the launch survey). The animators' buttons on support tickets are not for everyone."""
    props = post.get("props") or {}
    if not any(a.get("actions") for a in props.get("attachments") or []):
        return False
    if channel.get("type") == "D":
        return True
    return "envol_poll" in props or str(props.get(MARKER_PROP, "")).startswith("poll-")


def _score(rng: random.Random, mood: float) -> int:
    return min(5, max(1, round(rng.gauss(mood, 0.6))))


def _as_number(text: str | None) -> float | None:
    if text is None:
        return None
    match = re.match(r"\s*(\d+(?:[.,]\d+)?)", str(text))
    return float(match.group(1).replace(",", ".")) if match else None


def _pick_on_scale(values: list[str], score: int) -> str:
    """The value closest to ``score`` (1 … 5) mapped onto the options' own numeric scale."""
    numbers = [_as_number(v) for v in values]
    known = [n for n in numbers if n is not None]
    low, high = min(known), max(known)
    target = low + (score - 1) / 4 * (high - low)
    best = min((abs(n - target), index) for index, n in enumerate(numbers) if n is not None)
    return values[best[1]]


def _tilted_index(count: int, rng: random.Random, mood: float) -> int:
    """Options that are not numbers are taken as listed from most to least favourable:
    content people lean to the first ones, unhappy people to the last ones."""
    if count == 1:
        return 0
    lean = (mood - 3.0) * 1.2
    weights = [math.exp(-lean * (index / (count - 1) - 0.5)) for index in range(count)]
    return rng.choices(range(count), weights)[0]


def _choose_action(actions: list[JSON], rng: random.Random, score: int) -> tuple[JSON, str | None]:
    """The button to click (and, for a menu, the option to pick)."""
    mood = float(score)
    if len(actions) == 1 and actions[0].get("type") == "select":
        options = [str(o.get("value", "")) for o in actions[0].get("options") or []]
        if not options:
            return actions[0], None
        if all(_as_number(o) is not None for o in options):
            return actions[0], _pick_on_scale(options, score)
        return actions[0], options[_tilted_index(len(options), rng, mood)]
    labels = [str(a.get("name", "")) for a in actions]
    if len(actions) > 1 and all(_as_number(label) is not None for label in labels):
        return actions[labels.index(_pick_on_scale(labels, score))], None
    return actions[_tilted_index(len(actions), rng, mood)], None


def fill_dialog(
    dialog: JSON,
    rng: random.Random,
    mood: float,
    language: str,
    *,
    text: str | None = None,
    choice: str | None = None,
) -> dict[str, str]:
    """Fill a dialog as a person would: numeric scales around their mood, ``choice`` where a
    menu offers it, ``text`` in the first text field; optional comments now and then."""
    values: dict[str, str] = {}
    text_used = False
    for element in dialog.get("elements") or []:
        name = str(element.get("name", ""))
        kind = element.get("type")
        optional = bool(element.get("optional"))
        if kind in ("select", "radio"):
            options = [str(o.get("value", "")) for o in element.get("options") or []]
            if not options:
                continue  # users or channels menus: nobody needs them in the demo
            if choice is not None and choice in options:
                values[name] = choice
            elif all(_as_number(o) is not None for o in options):
                values[name] = _pick_on_scale(options, _score(rng, mood))
            else:
                values[name] = options[_tilted_index(len(options), rng, mood)]
        elif kind == "bool":
            values[name] = "true" if mood >= 3 else "false"
        elif kind in ("text", "textarea"):
            if text is not None and not text_used:
                value, text_used = text, True
            elif optional and rng.random() >= 0.25:
                continue
            else:
                value = rng.choice(phrasebook.texts(phrasebook.SURVEY_COMMENTS, language))
            maximum = int(element.get("max_length") or 0)
            values[name] = value[:maximum] if maximum else value
    return values


# What Envol answers when a button's form could not open (webhooks/messages.yaml): the words a
# person reads before clicking again.
_CLICK_AGAIN = tuple(
    i18n.load_catalogue(Path(__file__).resolve().parents[2] / "webhooks" / "messages.yaml").render(
        "refused.form_failed", language
    )
    for language in i18n.LANGUAGES
)


def _asked_to_click_again(told: list[JSON]) -> bool:
    return any(str(post.get("message", "")) in _CLICK_AGAIN for post in told)


def _dialog_error(reply: object) -> str:
    if not isinstance(reply, dict):
        return ""
    errors = reply.get("errors") or {}
    parts = [str(reply.get("error") or "")] + [f"{k}: {v}" for k, v in sorted(errors.items())]
    return "; ".join(part for part in parts if part)


def _worth_retrying(text: str) -> bool:
    """A sign-up refused by the rate limit or a server error (``SignUpFailed``'s message)."""
    return bool(re.search(r"failed: (429|5\d\d) ", text))


def _nickname(first_name: str) -> str:
    plain = _ascii_lower(first_name)
    return (plain[:3] if len(plain) > 4 else plain).capitalize()
