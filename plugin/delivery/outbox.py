"""The outbox: nothing is sent twice, whatever crashes, redeliveries or duplicate beats happen.

Protocol for every send (e-mail, Mattermost invitation, DM), keyed by a natural idempotency key:

1. ``begin`` in its own transaction, committed *before* the send: inserts the key in state
   ``sending`` (the unique key makes two concurrent inserts impossible). If the key exists:
   ``sent``/``uncertain`` → skip (already done); ``failed`` → skip; ``retry`` → send again;
   ``sending`` under another owner for less than ``in_flight`` → ``BUSY`` (that worker may be
   sending right now: leave it alone); ``sending`` for longer → ``INTERRUPTED`` (the attempt
   died between step 1 and step 3).
2. The send.
3. ``finish`` (``sent``, with the Message-ID or post id) or ``fail`` in a new transaction.

``in_flight`` is the caller's lease, which is longer than any single send can take (the
adapter's retry budget and timeout are bounded by it, see ``plugin.delivery.leases``):
a send that began longer ago than that has ended, one way or the other.

What an interrupted attempt means depends on whether the receiver can be asked:

* **Direct messages** (welcome, profile nudges, managers' digest, launch survey:
  ``plugin.delivery.posts.send_dm_once``): the post carries the key as a marker in its props;
  the caller looks for it with ``MattermostClient.find_post_by_marker`` and re-sends only if it
  is absent. Guarantee: **exactly once**.
* **Envol's e-mails (SMTP)**: the Message-ID is derived from the key, and committed to the
  acceptance journal (``plugin.delivery.journal``) the moment the relay answers 250. An interrupted
  e-mail whose Message-ID is in the journal is finished without sending; otherwise it is sent
  again, with the same Message-ID. Guarantee: **at least once, the same policy as the launch
  campaign**. The window left runs from the end of the message data, through the relay's
  handling of it (it may answer 250 to a connection the dead worker no longer holds: the
  classic SMTP duplicate, RFC 1047), to the journal's commit: a few milliseconds per message
  here, longer with a slow relay. A copy then carries the first one's Message-ID, which mail
  stores collapse. A lost invitation costs more than that rare copy.
* **Mattermost's invitation e-mails**: Mattermost cannot be asked whether it sent one and has no
  Message-ID to collapse copies. The attempt becomes ``uncertain`` and is **never re-sent
  automatically** (at most once); ``envol invitations status`` counts them, and the person
  still gets the next reminder.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, make_transient_to_detached

from plugin import clock
from plugin.db import insert_unless_present
from plugin.delivery.models import OutboundChannel, OutboundMessage, OutboundState

# Statements on the table itself (Core, not the ORM's bulk paths): no object is synchronised.
_TABLE = cast(Table, OutboundMessage.__table__)

# The columns ``begin`` writes to a new row (the database gives the id; not finished yet), in
# the INSERT below and in the ORM object that stands for the row.
_NEW_ROW_COLUMNS = (
    "key",
    "kind",
    "channel",
    "person_id",
    "invitation_id",
    "state",
    "attempts",
    "owner",
    "reference",
    "channel_ref",
    "error",
    "started_at",
)


# The new row's id, or no row when the key exists.
_INSERT_IF_ABSENT = insert_unless_present(_TABLE, _NEW_ROW_COLUMNS, "key", returning="id").columns(
    _TABLE.c.id
)

_EMAIL = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+")


def scrub(text: str) -> str:
    """Error texts from servers may quote the address (Mattermost: "invalid: a@b.c"): mask it,
    since reasons end up in the outbox and the audit trail, which must not hold e-mail addresses."""
    return _EMAIL.sub("***", text or "")[:2000]


class Begin(enum.Enum):
    PROCEED = "proceed"  # send now
    DONE = "done"  # already sent (or uncertain): do not send
    FAILED = "failed"  # failed permanently before: do not send
    INTERRUPTED = "interrupted"  # a previous attempt died mid-send: resolve, then decide
    BUSY = "busy"  # another worker began it moments ago and may be sending: leave it alone


@dataclass(frozen=True)
class BeginResult:
    outcome: Begin
    message: OutboundMessage


def begin(
    session: Session,
    key: str,
    *,
    kind: str,
    channel: OutboundChannel,
    owner: str,
    person_id: int | None = None,
    invitation_id: int | None = None,
    reference: str = "",
    channel_ref: str = "",
    in_flight: dt.timedelta,
) -> BeginResult:
    """Step 1, in the caller's transaction; the caller commits before sending."""
    now = clock.now()
    values = {
        "key": key,
        "kind": kind,
        "channel": channel,
        "person_id": person_id,
        "invitation_id": invitation_id,
        "state": OutboundState.SENDING,
        "attempts": 1,
        "owner": owner,
        "reference": reference,
        "channel_ref": channel_ref,
        "error": "",
        "started_at": now,
    }
    while True:
        # A fresh key is the common case: one statement inserts it, where a read, a SAVEPOINT,
        # the INSERT and its RELEASE made four. The unique key still decides between two
        # workers: the loser's INSERT does nothing (on PostgreSQL, once the winner committed)
        # and the loser reads the winner's row below.
        new_id = session.scalar(_INSERT_IF_ABSENT, values)
        if new_id is not None:
            return BeginResult(Begin.PROCEED, _persistent(session, new_id, values))
        existing = session.scalar(select(OutboundMessage).where(OutboundMessage.key == key))
        if existing is not None:
            break
        # The row in the way was deleted since (its person forgotten): insert again.
    outcome = _outcome_of(existing, owner, now - in_flight)
    if outcome is Begin.PROCEED:  # a retry after a temporary failure
        existing.state = OutboundState.SENDING
        existing.attempts += 1
        existing.owner = owner
        existing.started_at = now
        existing.reference = reference or existing.reference
        existing.channel_ref = channel_ref or existing.channel_ref
    return BeginResult(outcome, existing)


def _persistent(session: Session, row_id: int, values: Mapping[str, Any]) -> OutboundMessage:
    """The ORM object of the row just inserted, as ``session.add`` and a flush would have left
    it (persistent, every column loaded, changes flushed as an UPDATE), without reading it."""
    message = OutboundMessage(id=row_id, finished_at=None, **values)
    make_transient_to_detached(message)
    session.add(message)
    return message


def _outcome_of(message: OutboundMessage, owner: str, in_flight_since: dt.datetime) -> Begin:
    if message.state in (OutboundState.SENT, OutboundState.UNCERTAIN):
        return Begin.DONE
    if message.state == OutboundState.FAILED:
        return Begin.FAILED
    if message.state == OutboundState.SENDING:
        if message.owner != owner and message.started_at > in_flight_since:
            return Begin.BUSY
        return Begin.INTERRUPTED
    return Begin.PROCEED


def message_for(session: Session, key: str) -> OutboundMessage:
    """The outbox row of ``key`` (it exists: ``begin`` made it)."""
    return session.scalars(select(OutboundMessage).where(OutboundMessage.key == key)).one()


def restart(session: Session, message: OutboundMessage, owner: str) -> None:
    """After an interrupted DM was checked and not found: send it again under this owner."""
    message.state = OutboundState.SENDING
    message.attempts += 1
    message.owner = owner
    message.started_at = clock.now()


def finish(session: Session, message: OutboundMessage, reference: str = "") -> None:
    _apply(message, _finished(reference))


def mark_uncertain(session: Session, message: OutboundMessage, why: str) -> None:
    message.state = OutboundState.UNCERTAIN
    message.finished_at = clock.now()
    message.error = scrub(why)


def fail(session: Session, message: OutboundMessage, error: str, *, temporary: bool) -> None:
    _apply(message, _failed(error, temporary))


# Step 3 for a row this session has not loaded (the step-1 transaction that made it is over):
# one UPDATE by key, where reading the row first and flushing its changes made two statements.
_SETTLE = update(_TABLE).where(_TABLE.c.key == bindparam("settled_key"))


def finish_key(session: Session, key: str, reference: str = "") -> None:
    """``finish`` the row of ``key`` without loading it."""
    _settle_key(session, key, _finished(reference))


def fail_key(session: Session, key: str, error: str, *, temporary: bool) -> None:
    """``fail`` the row of ``key`` without loading it."""
    _settle_key(session, key, _failed(error, temporary))


def _finished(reference: str) -> dict[str, Any]:
    values: dict[str, Any] = {"state": OutboundState.SENT, "finished_at": clock.now(), "error": ""}
    if reference:
        values["reference"] = reference
    return values


def _failed(error: str, temporary: bool) -> dict[str, Any]:
    state = OutboundState.RETRY if temporary else OutboundState.FAILED
    return {"state": state, "finished_at": clock.now(), "error": scrub(error)}


def _apply(message: OutboundMessage, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(message, name, value)


def _settle_key(session: Session, key: str, values: Mapping[str, Any]) -> None:
    # The SET clause is the values' columns (an UPDATE executed with parameters sets those).
    result: Any = session.execute(_SETTLE, {"settled_key": key, **values})
    if result.rowcount != 1:
        # As ``message_for`` did: the row is gone (its person was forgotten meanwhile), and the
        # caller's own bookkeeping in this transaction must not commit as if it were recorded.
        raise NoResultFound(f"no outbox row for {key!r}")
