"""The dispatcher: claim due invitations, send what is due, record the outcome.

One cycle (``dispatch_invitations``) leases up to ``batch_size`` due rows, then:

* **planned** rows: people already on Mattermost (known id, or found by e-mail) are added to the
  team in batches and become ``joined`` (the arrival step adds channels and welcomes them);
  the others are invited by the configured strategy.
* **sent / reminded** rows that are due: first look for the person (users by e-mail: "stop at the
  first sign of the person"); if absent, send the next reminder (strategy 2 re-issues the
  Mattermost invitation, whose token lasts 48 hours), or mark the invitation expired when no
  reminder is left.

Every send goes through the outbox (``plugin/delivery/outbox.py``) with a natural key:
``invite:<invitation>:<n>`` for Envol's e-mails (n = 0 for the invitation, then the reminder
number) and ``mminvite:<invitation>:<n>`` for Mattermost's. Temporary failures are retried with
``BACKOFF`` (``MAX_ATTEMPTS``), permanent ones fail the invitation with the reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from plugin import clock
from plugin.cohorts.models import Cohort, CohortKind, Wave
from plugin.db import transaction
from plugin.delivery import outbox
from plugin.delivery.backoff import Backoff
from plugin.delivery.journal import was_accepted
from plugin.delivery.leases import still_mine, still_mine_among
from plugin.delivery.models import OutboundChannel
from plugin.delivery.outbox import scrub
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.failure_reasons import (
    GAVE_UP,
    MATTERMOST_DID_NOT_ADD,
    NOT_ADDED_TO_TEAM,
    REMOVED_FROM_ROSTER,
)
from plugin.invitations.lifecycle import first_send, transition
from plugin.invitations.models import (
    AWAITING_STATES,
    Invitation,
    InvitationState,
    InvitationStrategy,
)
from plugin.invitations.strategies import (
    ENVOL_EMAIL_GRACE,
    MATTERMOST_INVITE_BATCH,
    MATTERMOST_INVITE_LIFETIME,
    SSO_PROBE_INTERVAL,
    Recipient,
    empty_invite_budget,
    invitation_email,
    mattermost_invite_message,
    next_invite_token_at,
    strategy_for_newcomers,
    take_invite_budget,
)
from plugin.mail import MailSendError
from plugin.mail.message import deterministic_message_id
from plugin.mattermost import Invalid, InviteResult, MattermostError, Retryable
from plugin.people.models import Person

log = logging.getLogger("envol.invitations")

MAX_ATTEMPTS = 8
# Before the next try of a failed step: 15 s, 30 s, 1 min, 2 min … at most 30 minutes (the adapter
# already retried within its own budget: this is the slower, second net). Arrivals use it too.
BACKOFF = Backoff(first=dt.timedelta(seconds=15), ceiling=dt.timedelta(minutes=30))
# Above this many unknown addresses in one cycle, listing the whole directory (200 users a
# request) is cheaper than one ``GET /users/email/{email}`` per person.
DIRECTORY_LISTING_THRESHOLD = 200


@dataclass
class DispatchReport:
    claimed: int = 0
    added_existing: int = 0
    emailed: int = 0
    mattermost_invited: int = 0
    awaiting_sso: int = 0
    reminded: int = 0
    joined_on_probe: int = 0
    expired: int = 0
    failed: int = 0
    deferred: int = 0
    uncertain: int = 0
    errors: list[str] = field(default_factory=list)

    def merge(self, other: DispatchReport) -> None:
        for name, value in vars(other).items():
            if isinstance(value, int):
                setattr(self, name, getattr(self, name) + value)
        self.errors += other.errors


@dataclass
class _Row:
    invitation_id: int
    state: InvitationState
    strategy: InvitationStrategy | None
    reminders_sent: int
    recipient: Recipient | None
    mattermost_user_id: str | None


# --------------------------------------------------------------------------- the cycle


def dispatch_invitations(env: CycleEnvironment) -> DispatchReport:
    """One dispatcher cycle; safe to run in several workers at once."""
    report = DispatchReport()
    with env.leased(Invitation, where=Invitation.state.in_(AWAITING_STATES)) as ids:
        report.claimed = len(ids)
        if not ids:
            return report
        rows = _load(env, ids)
        for row in rows:
            if row.recipient is None:  # the person was forgotten since planning
                _fail(env, row, REMOVED_FROM_ROSTER, report)
        rows = [r for r in rows if r.recipient is not None]
        _dispatch_planned(env, [r for r in rows if r.state == InvitationState.PLANNED], report)
        _dispatch_awaiting(env, [r for r in rows if r.state != InvitationState.PLANNED], report)
    return report


def _load(env: CycleEnvironment, ids: Sequence[int]) -> list[_Row]:
    manager = aliased(Person)
    with env.sessions() as session:
        result = session.execute(
            select(
                Invitation, Person, manager.first_name, manager.last_name, Wave.name, Cohort.kind
            )
            .outerjoin(Person, Person.id == Invitation.person_id)
            .outerjoin(manager, manager.id == Person.manager_id)
            .join(Wave, Wave.id == Invitation.wave_id)
            .join(Cohort, Cohort.id == Wave.cohort_id)
            .where(Invitation.id.in_(ids))
            .order_by(Invitation.id)
        ).all()
        rows = []
        for invitation, person, m_first, m_last, wave_name, cohort_kind in result:
            recipient = None
            if person is not None:
                recipient = Recipient(
                    person_id=person.id,
                    email=person.email,
                    first_name=person.first_name,
                    last_name=person.last_name,
                    language=person.language.value,
                    manager_name=f"{m_first or ''} {m_last or ''}".strip(),
                    cohort_kind=CohortKind(cohort_kind),
                    wave_name=wave_name,
                )
            rows.append(
                _Row(
                    invitation_id=invitation.id,
                    state=invitation.state,
                    strategy=invitation.strategy,
                    reminders_sent=invitation.reminders_sent,
                    recipient=recipient,
                    mattermost_user_id=(person.mattermost_user_id if person else None)
                    or invitation.mattermost_user_id,
                )
            )
        return rows


# --------------------------------------------------------------------------- planned rows


def find_users_by_email(env: CycleEnvironment, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Mattermost accounts for these addresses (lowercased), the cheaper way for the count."""
    wanted = {e.lower() for e in emails}
    if not wanted:
        return {}
    if len(wanted) >= DIRECTORY_LISTING_THRESHOLD:
        users = env.mm.iter_users()
    else:
        users = iter(env.mm.get_users_by_emails(sorted(wanted)))
    found = {}
    for user in users:
        email = str(user.get("email", "")).lower()
        if email in wanted and not user.get("delete_at") and not user.get("is_bot"):
            found[email] = user
    return found


def _dispatch_planned(env: CycleEnvironment, rows: list[_Row], report: DispatchReport) -> None:
    if not rows:
        return
    unknown = [r for r in rows if not r.mattermost_user_id]
    try:
        found = find_users_by_email(env, [r.recipient.email for r in unknown if r.recipient])
    except Retryable as error:
        _defer(env, rows, str(error), report)
        return
    existing: list[tuple[_Row, str]] = []
    newcomers: list[_Row] = []
    for row in rows:
        assert row.recipient is not None
        user_id = row.mattermost_user_id or found.get(row.recipient.email.lower(), {}).get("id")
        if user_id:
            existing.append((row, str(user_id)))
        else:
            newcomers.append(row)
    _add_to_team(env, existing, report, reason="already on Mattermost: added to the team")
    strategy = strategy_for_newcomers(env.runtime)
    if strategy == InvitationStrategy.ENVOL_EMAIL:
        _send_envol_emails(env, newcomers, report)
    elif strategy == InvitationStrategy.MATTERMOST_EMAIL:
        _send_mattermost_invites(env, newcomers, report)
    else:
        _await_sso(env, newcomers, report)


def _add_to_team(
    env: CycleEnvironment, pairs: list[tuple[_Row, str]], report: DispatchReport, *, reason: str
) -> None:
    """Add people who have an account to the team (batches of 256) and mark them joined."""
    if not pairs:
        return
    try:
        results = env.mm.add_team_members(env.targets.team_id, [uid for _, uid in pairs])
    except Retryable as error:
        _defer(env, [row for row, _ in pairs], str(error), report)
        return
    except MattermostError as error:
        for row, _ in pairs:
            _fail(env, row, NOT_ADDED_TO_TEAM.format(detail=error.message), report)
        return
    outcome = {r.user_id: r for r in results}
    now = clock.now()
    with transaction(env.sessions) as session:
        held = _load_held(session, env, [row.invitation_id for row, _ in pairs], now)
        # Their people in the session too, for ``_link_person``: one SELECT, not one a row.
        person_ids = [i.person_id for i in held.values() if i.person_id is not None]
        if person_ids:
            session.scalars(select(Person).where(Person.id.in_(person_ids))).all()
        for row, user_id in pairs:
            result = outcome.get(user_id)
            invitation = held.get(row.invitation_id)
            if invitation is None:
                continue  # another worker took the row over
            _link_person(session, invitation, user_id)
            if result is None or not result.added:
                why = (result.error if result else "") or MATTERMOST_DID_NOT_ADD
                invitation.attempts += 1
                invitation.last_error = scrub(why)
                if invitation.attempts >= MAX_ATTEMPTS:
                    transition(session, invitation, InvitationState.FAILED, reason=why)
                    report.failed += 1
                else:
                    invitation.due_at = now + BACKOFF.after(invitation.attempts)
                    report.deferred += 1
                continue
            if invitation.state == InvitationState.PLANNED:
                invitation.strategy = InvitationStrategy.EXISTING_USER
                invitation.sent_at = now
                report.added_existing += 1
            else:
                report.joined_on_probe += 1
            invitation.attempts = 0
            invitation.last_error = ""
            transition(session, invitation, InvitationState.JOINED, reason=reason)
            invitation.due_at = now  # the arrival step (channels, welcome) is due at once


def _link_person(session: Session, invitation: Invitation, user_id: str) -> None:
    invitation.mattermost_user_id = user_id
    if invitation.person_id is not None:
        person = session.get(Person, invitation.person_id)
        if person is not None and person.mattermost_user_id != user_id:
            person.mattermost_user_id = user_id


# --------------------------------------------------------------------------- strategy 3


def _envol_key(row: _Row, reminder: int) -> str:
    return f"invite:{row.invitation_id}:{reminder}"


def _send_envol_emails(
    env: CycleEnvironment, rows: list[_Row], report: DispatchReport, *, reminder: bool = False
) -> None:
    """One e-mail per row. The outcome of e-mail *i* is committed in the same transaction as
    the ``sending`` mark of e-mail *i + 1* (one commit per e-mail instead of two): a crash
    still leaves at most one e-mail in ``sending``, the one in flight."""
    sent: tuple[_Row, str, str, int] | None = None  # sent, outcome not yet committed
    try:
        for position, row in enumerate(rows):
            number = row.reminders_sent + 1 if reminder else 0
            key = _envol_key(row, number)
            with transaction(env.sessions) as session:
                if sent is not None:
                    _record_sent_in(session, env, *sent, InvitationStrategy.ENVOL_EMAIL, report)
                    sent = None
                outcome = _begin_in(session, env, row, key, "invitation", OutboundChannel.SMTP)
                if outcome is outbox.Begin.INTERRUPTED:
                    outcome = _resume_email(session, env, key)
            if not _ready_to_send(
                env, row, key, outcome, report, number, InvitationStrategy.ENVOL_EMAIL
            ):
                continue
            assert row.recipient is not None
            email = invitation_email(
                row.recipient,
                links=env.targets.links,
                runtime=env.runtime,
                sender=env.sender,
                idempotency_key=key,
                reminder=number,
            )
            try:
                # Journalled at once: a worker killed before the outcome below is recorded
                # leaves the row "sending", and the next attempt finds it in the journal.
                message_id = env.mail.send(email, purpose="invitation")
            except MailSendError as error:
                failure = error.failure
                _record_send_failure(
                    env, row, key, failure.describe(), temporary=failure.temporary, report=report
                )
                if failure.connection_level:
                    # The relay is the problem, not this person: try the rest later.
                    _defer(
                        env, rows[position + 1 :], failure.describe(), report, count_attempt=False
                    )
                    return
                continue
            sent = (row, key, message_id, number)
    finally:
        if sent is not None:
            with transaction(env.sessions) as session:
                _record_sent_in(session, env, *sent, InvitationStrategy.ENVOL_EMAIL, report)


def _resume_email(session: Session, env: CycleEnvironment, key: str) -> outbox.Begin:
    """An e-mail whose sender died mid-send: DONE if the relay had accepted it (the journal
    knows its Message-ID), else taken over to be sent again with the same Message-ID."""
    message = outbox.message_for(session, key)
    message_id = deterministic_message_id(key, env.sender.domain)
    if was_accepted(session, message_id):
        outbox.finish(session, message, message_id)
        return outbox.Begin.DONE
    outbox.restart(session, message, env.owner)
    return outbox.Begin.PROCEED


# --------------------------------------------------------------------------- strategy 2


def _mm_key(row: _Row, number: int) -> str:
    return f"mminvite:{row.invitation_id}:{number}"


@dataclass(frozen=True)
class _Invite:
    """One Mattermost invitation e-mail about to be asked for: its row, outbox key and number
    (0 for the invitation, then the reminder's)."""

    row: _Row
    key: str
    number: int


def _send_mattermost_invites(
    env: CycleEnvironment, rows: list[_Row], report: DispatchReport, *, reminder: bool = False
) -> None:
    """Mattermost's invitation e-mails, chunk by chunk as the shared allowance (20 an hour,
    ``take_invite_budget``) permits; what it does not permit yet waits for the next token."""
    sender = str(env.mm.get_me()["id"]) if rows else ""
    remaining = list(rows)
    while remaining:
        now = clock.now()
        with transaction(env.sessions) as session:
            taken = take_invite_budget(
                session, sender, min(MATTERMOST_INVITE_BATCH, len(remaining)), now
            )
        if not taken:
            _defer_until(env, remaining, next_invite_token_at(now), report)
            return
        chunk, remaining = remaining[:taken], remaining[taken:]
        invites = _begin_invites(env, chunk, report, reminder=reminder)
        if invites and not _invite(env, sender, invites, report):
            _defer_until(env, remaining, next_invite_token_at(clock.now()), report)
            return


def _begin_invites(
    env: CycleEnvironment, chunk: list[_Row], report: DispatchReport, *, reminder: bool
) -> list[_Invite]:
    """Step 1 of the outbox for each row; the invitations to ask for now (the others are left
    to their holder or settled from an earlier attempt, see ``_ready_to_send``)."""
    invites = []
    for row in chunk:
        number = row.reminders_sent + 1 if reminder else 0
        key = _mm_key(row, number)
        outcome = _begin(env, row, key, "mattermost_invitation", OutboundChannel.MATTERMOST_INVITE)
        if _ready_to_send(
            env, row, key, outcome, report, number, InvitationStrategy.MATTERMOST_EMAIL
        ):
            invites.append(_Invite(row, key, number))
    return invites


def _invite(
    env: CycleEnvironment, sender: str, invites: list[_Invite], report: DispatchReport
) -> bool:
    """Ask Mattermost for the chunk's invitations in one request and record each outcome.
    False when Mattermost's own rate limit refused it: these rows wait for the next token, and
    so must the rest of the cycle's."""
    by_email = {i.row.recipient.email.lower(): i for i in invites if i.row.recipient}
    first = invites[0].row.recipient
    assert first is not None
    try:
        results = env.mm.invite_by_email(
            env.targets.team_id,
            list(by_email),
            message=mattermost_invite_message(first, env.targets.links, env.runtime),
        )
    except Invalid as error:
        if "rate_limit" in error.error_id:
            _rate_limited(env, sender, invites, error.message, report)
            return False
        for i in invites:
            _record_send_failure(env, i.row, i.key, error.message, temporary=False, report=report)
        return True
    except Retryable as error:
        # It may have reached Mattermost: never re-sent (at most once), counted uncertain.
        for i in invites:
            _settle_previous(
                env,
                i.row,
                i.key,
                outbox.Begin.INTERRUPTED,
                report,
                i.number,
                InvitationStrategy.MATTERMOST_EMAIL,
                why=str(error),
            )
        return True
    except MattermostError as error:
        for i in invites:
            _record_send_failure(env, i.row, i.key, str(error), temporary=False, report=report)
        return True
    _record_invite_results(env, by_email, results, report)
    return True


def _rate_limited(
    env: CycleEnvironment, sender: str, invites: list[_Invite], error: str, report: DispatchReport
) -> None:
    """Mattermost refused for its rate limit: the allowance is spent whatever our bucket said."""
    with transaction(env.sessions) as session:
        empty_invite_budget(session, sender, clock.now())
    for i in invites:
        _record_send_failure(
            env,
            i.row,
            i.key,
            error,
            temporary=True,
            report=report,
            retry_at=next_invite_token_at(clock.now()),
            count_attempt=False,
        )


def _record_invite_results(
    env: CycleEnvironment,
    by_email: dict[str, _Invite],
    results: Sequence[InviteResult],
    report: DispatchReport,
) -> None:
    answered = set()
    for result in results:
        invite = by_email.get(result.email.lower())
        if invite is None:
            continue
        answered.add(result.email.lower())
        if result.sent:
            _record_invite_sent(env, invite, report)
        else:
            why = result.error or result.error_id
            _record_send_failure(env, invite.row, invite.key, why, temporary=False, report=report)
    for email, invite in by_email.items():
        if email not in answered:  # answered StatusOK without per-address results
            _record_invite_sent(env, invite, report)


def _record_invite_sent(env: CycleEnvironment, invite: _Invite, report: DispatchReport) -> None:
    strategy = InvitationStrategy.MATTERMOST_EMAIL
    with transaction(env.sessions) as session:
        _record_sent_in(session, env, invite.row, invite.key, "", invite.number, strategy, report)


# --------------------------------------------------------------------------- strategy 4


def _await_sso(env: CycleEnvironment, rows: list[_Row], report: DispatchReport) -> None:
    for session, invitation, now in _held(env, rows):
        invitation.strategy = InvitationStrategy.SSO
        transition(
            session,
            invitation,
            InvitationState.SENT,
            reason="single sign-on: nothing to send; waiting for the person to sign in",
        )
        invitation.due_at = now + SSO_PROBE_INTERVAL
        report.awaiting_sso += 1


# --------------------------------------------------------------------------- reminders


def _dispatch_awaiting(env: CycleEnvironment, rows: list[_Row], report: DispatchReport) -> None:
    if not rows:
        return
    try:
        found = env.mm.get_users_by_emails([r.recipient.email for r in rows if r.recipient])
    except Retryable as error:
        _defer(env, rows, str(error), report, count_attempt=False)
        return
    by_email = {
        str(u.get("email", "")).lower(): str(u["id"]) for u in found if not u.get("delete_at")
    }
    arrived = [
        (r, by_email[r.recipient.email.lower()])
        for r in rows
        if r.recipient and r.recipient.email.lower() in by_email
    ]
    _add_to_team(env, arrived, report, reason="found on Mattermost before a reminder")
    arrived_ids = {r.invitation_id for r, _ in arrived}
    waiting = [r for r in rows if r.invitation_id not in arrived_ids]
    delays = env.runtime.reminder_delays_days
    sso = [r for r in waiting if r.strategy == InvitationStrategy.SSO]
    _reschedule(env, sso, SSO_PROBE_INTERVAL)
    waiting = [r for r in waiting if r.strategy != InvitationStrategy.SSO]
    to_remind = [r for r in waiting if r.reminders_sent < len(delays)]
    to_expire = [r for r in waiting if r.reminders_sent >= len(delays)]
    _expire(env, to_expire, report)
    envol = [r for r in to_remind if r.strategy == InvitationStrategy.ENVOL_EMAIL]
    mattermost = [r for r in to_remind if r.strategy == InvitationStrategy.MATTERMOST_EMAIL]
    _send_envol_emails(env, envol, report, reminder=True)
    _send_mattermost_invites(env, mattermost, report, reminder=True)


def _reschedule(env: CycleEnvironment, rows: list[_Row], delay: dt.timedelta) -> None:
    for _, invitation, now in _held(env, rows):
        invitation.due_at = now + delay


def _expire(env: CycleEnvironment, rows: list[_Row], report: DispatchReport) -> None:
    for session, invitation, _ in _held(env, rows):
        transition(
            session,
            invitation,
            InvitationState.EXPIRED,
            reason=f"no answer after {invitation.reminders_sent} reminder(s)",
        )
        report.expired += 1


def next_due_after_send(invitation: Invitation, delays: Sequence[int]) -> dt.datetime:
    """When to look at an invitation again after its invitation or reminder number
    ``reminders_sent`` went out: the next reminder, or the end of the last one's validity."""
    assert invitation.sent_at is not None
    if invitation.reminders_sent < len(delays):
        return invitation.sent_at + dt.timedelta(days=delays[invitation.reminders_sent])
    last = invitation.reminded_at or invitation.sent_at
    if invitation.strategy == InvitationStrategy.MATTERMOST_EMAIL:
        return (invitation.issued_at or last) + MATTERMOST_INVITE_LIFETIME
    return last + ENVOL_EMAIL_GRACE


# --------------------------------------------------------------------------- recording


def _begin(
    env: CycleEnvironment, row: _Row, key: str, kind: str, channel: OutboundChannel
) -> outbox.Begin | None:
    """Step 1 of the outbox protocol, committed; None when this worker lost the lease."""
    with transaction(env.sessions) as session:
        return _begin_in(session, env, row, key, kind, channel)


def _begin_in(
    session: Session,
    env: CycleEnvironment,
    row: _Row,
    key: str,
    kind: str,
    channel: OutboundChannel,
) -> outbox.Begin | None:
    if not still_mine(session, Invitation, row.invitation_id, env.owner, clock.now(), env.lease):
        return None
    result = outbox.begin(
        session,
        key,
        kind=kind,
        channel=channel,
        owner=env.owner,
        person_id=row.recipient.person_id if row.recipient else None,
        invitation_id=row.invitation_id,
        in_flight=env.lease,
    )
    return result.outcome


def _apply_sent(
    session: Session,
    invitation: Invitation,
    number: int,
    strategy: InvitationStrategy,
    delays: Sequence[int],
    *,
    reason: str = "",
) -> None:
    now = clock.now()
    invitation.strategy = invitation.strategy or strategy
    if strategy == InvitationStrategy.MATTERMOST_EMAIL:
        invitation.issued_at = now
    invitation.attempts = 0
    invitation.last_error = ""
    if number == 0:
        if invitation.state == InvitationState.PLANNED:
            transition(session, invitation, InvitationState.SENT, reason=reason)
    elif invitation.state in (InvitationState.SENT, InvitationState.REMINDED):
        invitation.reminders_sent = max(invitation.reminders_sent, number)
        transition(
            session,
            invitation,
            InvitationState.REMINDED,
            reason=reason,
            details={"reminder": number},
        )
    if invitation.state in (InvitationState.SENT, InvitationState.REMINDED):
        invitation.due_at = next_due_after_send(invitation, delays)


def _record_sent_in(
    session: Session,
    env: CycleEnvironment,
    row: _Row,
    key: str,
    reference: str,
    number: int,
    strategy: InvitationStrategy,
    report: DispatchReport,
) -> None:
    outbox.finish_key(session, key, reference)
    delays = env.runtime.reminder_delays_days
    now = clock.now()
    # The common case, an invitation e-mail to someone never sent one, in one statement; any
    # other (a reminder, Mattermost's e-mail, no reminder scheduled, a row not as expected)
    # goes through the loaded row and ``_apply_sent``.
    if not (
        number == 0
        and strategy == InvitationStrategy.ENVOL_EMAIL
        and delays
        and first_send(
            session, row.invitation_id, strategy, now + dt.timedelta(days=delays[0]), now=now
        )
    ):
        invitation = session.get_one(Invitation, row.invitation_id)
        _apply_sent(session, invitation, number, strategy, delays)
    _count_sent(report, number, strategy)


def _count_sent(report: DispatchReport, number: int, strategy: InvitationStrategy) -> None:
    if number:
        report.reminded += 1
    elif strategy == InvitationStrategy.MATTERMOST_EMAIL:
        report.mattermost_invited += 1
    else:
        report.emailed += 1


def _ready_to_send(
    env: CycleEnvironment,
    row: _Row,
    key: str,
    outcome: outbox.Begin | None,
    report: DispatchReport,
    number: int,
    strategy: InvitationStrategy,
) -> bool:
    """True when this worker sends now. Otherwise the row is dealt with here: left to its new
    holder (None: lease lost), to the worker sending it (BUSY: looked at again after a lease),
    or settled from what an earlier attempt left (DONE, FAILED, INTERRUPTED)."""
    if outcome is outbox.Begin.PROCEED:
        return True
    if outcome is outbox.Begin.BUSY:
        _defer_until(env, [row], clock.now() + env.lease, report)
    elif outcome is not None:
        _settle_previous(env, row, key, outcome, report, number, strategy)
    return False


def _settle_previous(
    env: CycleEnvironment,
    row: _Row,
    key: str,
    outcome: outbox.Begin,
    report: DispatchReport,
    number: int,
    strategy: InvitationStrategy,
    *,
    why: str = "",
) -> None:
    """The key was already used: finish what a crashed or concurrent attempt left behind."""
    with transaction(env.sessions) as session:
        message = outbox.message_for(session, key)
        invitation = session.get_one(Invitation, row.invitation_id)
        if outcome is outbox.Begin.FAILED:
            if invitation.state in AWAITING_STATES:
                transition(session, invitation, InvitationState.FAILED, reason=message.error)
                report.failed += 1
            return
        if outcome is outbox.Begin.INTERRUPTED:
            outbox.mark_uncertain(
                session,
                message,
                why or "the worker stopped during the send: it may or may not have been delivered",
            )
            report.uncertain += 1
        _apply_sent(
            session,
            invitation,
            number,
            strategy,
            env.runtime.reminder_delays_days,
            reason="recovered after an interrupted send" if why == "" else why,
        )


def _record_send_failure(
    env: CycleEnvironment,
    row: _Row,
    key: str,
    error: str,
    *,
    temporary: bool,
    report: DispatchReport,
    retry_at: dt.datetime | None = None,
    count_attempt: bool = True,
) -> None:
    with transaction(env.sessions) as session:
        outbox.fail_key(session, key, error, temporary=temporary)
        invitation = session.get_one(Invitation, row.invitation_id)
        _after_failure(session, invitation, error, temporary, report, retry_at, count_attempt)


def _after_failure(
    session: Session,
    invitation: Invitation,
    error: str,
    temporary: bool,
    report: DispatchReport,
    retry_at: dt.datetime | None = None,
    count_attempt: bool = True,
) -> None:
    invitation.last_error = scrub(error)
    if count_attempt:
        invitation.attempts += 1
    if temporary and invitation.attempts < MAX_ATTEMPTS:
        invitation.due_at = retry_at or clock.now() + BACKOFF.after(invitation.attempts)
        report.deferred += 1
        return
    reason = GAVE_UP.format(attempts=invitation.attempts, detail=error) if temporary else error
    if invitation.state in AWAITING_STATES:
        transition(session, invitation, InvitationState.FAILED, reason=reason)
        report.failed += 1
        report.errors.append(reason)


def _fail(env: CycleEnvironment, row: _Row, reason: str, report: DispatchReport) -> None:
    with transaction(env.sessions) as session:
        if not still_mine(
            session, Invitation, row.invitation_id, env.owner, clock.now(), env.lease
        ):
            return
        invitation = session.get_one(Invitation, row.invitation_id)
        if invitation.state in AWAITING_STATES:
            transition(session, invitation, InvitationState.FAILED, reason=reason)
            report.failed += 1


def _defer(
    env: CycleEnvironment,
    rows: Sequence[_Row],
    error: str,
    report: DispatchReport,
    *,
    count_attempt: bool = True,
) -> None:
    """A temporary failure before anything was sent: try these rows again later."""
    for session, invitation, _ in _held(env, rows):
        _after_failure(session, invitation, error, True, report, count_attempt=count_attempt)
    if rows:
        log.warning("deferred %d invitation(s): %s", len(rows), error)


def _defer_until(
    env: CycleEnvironment, rows: Sequence[_Row], moment: dt.datetime, report: DispatchReport
) -> None:
    for _, invitation, _ in _held(env, rows):
        invitation.due_at = moment
        report.deferred += 1


def _held(
    env: CycleEnvironment, rows: Sequence[_Row]
) -> Iterator[tuple[Session, Invitation, dt.datetime]]:
    """The rows' invitations this worker still holds (the lease renewed), one transaction for
    all of them, committed when the loop ends; rows taken over by another worker are skipped."""
    if not rows:
        return
    now = clock.now()
    with transaction(env.sessions) as session:
        held = _load_held(session, env, [row.invitation_id for row in rows], now)
        for row in rows:
            invitation = held.get(row.invitation_id)
            if invitation is not None:
                yield session, invitation, now


def _load_held(
    session: Session, env: CycleEnvironment, invitation_ids: Sequence[int], now: dt.datetime
) -> dict[int, Invitation]:
    """The invitations of ``invitation_ids`` this worker still holds, their lease renewed: two
    statements for the lot, not a lease check and a load per row."""
    held = still_mine_among(session, Invitation, invitation_ids, env.owner, now, env.lease)
    if not held:
        return {}
    return {
        invitation.id: invitation
        for invitation in session.scalars(select(Invitation).where(Invitation.id.in_(held)))
    }
