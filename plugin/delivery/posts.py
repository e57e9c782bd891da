"""Posts and direct messages from the bot, once per key.

Two ways, depending on what the caller holds:

* ``send_dm_once``, for workers that commit their own bookkeeping around the send (the
  welcome ``welcome:<person>``, the profile nudges ``nudge:<person>:<n>``, the managers' digest
  ``digest:<manager>:<week>``, the launch survey ``launch-survey-<wave>-<person>``). The key goes
  to the outbox (``plugin.delivery.outbox``) before the post and into the post's props as its
  marker. If a worker died after the ``sending`` commit, the next attempt looks for a post with
  that marker in the DM channel (``find_post_by_marker``) and only posts when there is none. A
  worker that began the same key less than a lease ago may still be posting: the message is
  then left to it (``BUSY``). Guarantee: **exactly once**.
* ``post_once`` and ``direct_message_once``, for a task that holds its own row under a lease
  and records the post id on it afterwards, in a new transaction (the support space's tickets,
  replies and DMs): look for the marker since the moment the post became due, post only if it
  is absent. A task retried
  after a crash (posted, but died before its commit) finds its post instead of posting again.
  Guarantee: **exactly once**, as long as ``since`` does not move between attempts.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from plugin.db import transaction
from plugin.delivery import outbox
from plugin.delivery.leases import lease_duration, worker_identity
from plugin.delivery.models import OutboundChannel
from plugin.mattermost import MattermostClient, MattermostError, Retryable

# Server and Envol clocks may differ: look this far back for a marker.
MARKER_LOOKBACK = dt.timedelta(minutes=30)
# ``post_once``'s margin: its ``since`` is a moment Envol recorded before the post was made.
POST_ONCE_LOOKBACK = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Courier:
    """What a worker sends with: sessions for the outbox, the adapter (its timeouts bounded by
    the lease: ``client_limits``), and the worker's lease-owner name and lease."""

    sessions: sessionmaker[Session]
    mm: MattermostClient
    owner: str = field(default_factory=worker_identity)
    lease: dt.timedelta = field(default_factory=lease_duration)


class DmOutcome(enum.Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    FAILED = "failed"
    BUSY = "busy"  # another worker holds the row or is sending this message: try later


@dataclass(frozen=True)
class _Begun:
    outcome: outbox.Begin
    channel_id: str
    # Where to look for the marker of an interrupted attempt (a time, or 0: the whole channel).
    since: dt.datetime | int = 0


def send_dm_once(
    courier: Courier,
    key: str,
    *,
    kind: str,
    user_id: str,
    message: str,
    person_id: int | None = None,
    invitation_id: int | None = None,
    props: dict[str, Any] | None = None,
    then: Callable[[Session, DmOutcome], None] | None = None,
    still_held: Callable[[Session], bool] | None = None,
) -> DmOutcome:
    """Post ``message`` to ``user_id`` from the bot unless ``key`` was already posted.

    ``then(session, outcome)`` runs in the transaction that records the outcome, so the caller's
    own bookkeeping (activation, nudge count) commits with it: one commit fewer per message.
    ``still_held(session)``, checked in the transaction that begins the send, says whether the
    caller still holds the lease on the row it works for; if not, nothing is sent (``BUSY``)
    and ``then`` is not called: the row's new holder will do it.
    Raises ``Retryable`` for a failure worth retrying later (the outbox row stays ``sending``
    so the retry checks the marker first); a refusal the server will repeat returns FAILED.
    """
    channel_id = courier.mm.direct_channel_id(user_id)
    with transaction(courier.sessions) as session:
        if still_held is not None and not still_held(session):
            return DmOutcome.BUSY
        begun = _begin(session, courier, key, kind, channel_id, person_id, invitation_id)
        if begun.outcome is outbox.Begin.BUSY:
            return DmOutcome.BUSY
        if begun.outcome in (outbox.Begin.DONE, outbox.Begin.FAILED):
            done = (
                DmOutcome.ALREADY_SENT if begun.outcome is outbox.Begin.DONE else DmOutcome.FAILED
            )
            if then is not None:
                then(session, done)
            return done
    if begun.outcome is outbox.Begin.INTERRUPTED:
        found = courier.mm.find_post_by_marker(channel_id, key, begun.since)
        if found is not None:
            _settle(courier, key, DmOutcome.ALREADY_SENT, str(found["id"]), then)
            return DmOutcome.ALREADY_SENT
    try:
        post = courier.mm.send_direct_message(
            user_id, message, props={"envol_kind": kind, **(props or {})}, marker=key
        )
    except Retryable:
        # It may have landed: the row stays "sending", so the next attempt checks the marker
        # before posting again.
        raise
    except MattermostError as error:
        _settle(courier, key, DmOutcome.FAILED, str(error), then)
        return DmOutcome.FAILED
    _settle(courier, key, DmOutcome.SENT, str(post.get("id", "")), then)
    return DmOutcome.SENT


def _begin(
    session: Session,
    courier: Courier,
    key: str,
    kind: str,
    channel_id: str,
    person_id: int | None,
    invitation_id: int | None,
) -> _Begun:
    """Step 1 of the outbox, in the caller's transaction. An interrupted attempt is taken over
    here, so a third worker now sees it BUSY."""
    begun = outbox.begin(
        session,
        key,
        kind=kind,
        channel=OutboundChannel.DIRECT_MESSAGE,
        owner=courier.owner,
        person_id=person_id,
        invitation_id=invitation_id,
        channel_ref=channel_id,
        in_flight=courier.lease,
    )
    if begun.outcome is not outbox.Begin.INTERRUPTED:
        return _Begun(begun.outcome, channel_id)
    # Where to look: since the attempt that died, or the whole DM channel if several did.
    row = begun.message
    since: dt.datetime | int = row.started_at - MARKER_LOOKBACK if row.attempts <= 1 else 0
    outbox.restart(session, row, courier.owner)
    return _Begun(begun.outcome, channel_id, since)


def _settle(
    courier: Courier,
    key: str,
    outcome: DmOutcome,
    detail: str,
    then: Callable[[Session, DmOutcome], None] | None,
) -> None:
    """Step 3: the outcome (``detail`` is the post id, or the error), with the caller's own."""
    with transaction(courier.sessions) as session:
        if outcome is DmOutcome.FAILED:
            outbox.fail_key(session, key, detail, temporary=False)
        else:
            outbox.finish_key(session, key, detail)
        if then is not None:
            then(session, outcome)


def post_once(
    client: MattermostClient,
    channel_id: str,
    message: str,
    *,
    marker: str,
    since: dt.datetime,
    props: dict[str, Any] | None = None,
    root_id: str = "",
) -> dict[str, Any]:
    """Post unless a post with ``marker`` is already there: a task retried after a crash
    (posted, but died before its commit) finds its post instead of posting again."""
    existing = client.find_post_by_marker(channel_id, marker, since - POST_ONCE_LOOKBACK)
    if existing is not None:
        return existing
    return client.create_post(channel_id, message, props=props, root_id=root_id, marker=marker)


def direct_message_once(
    client: MattermostClient,
    user_id: str,
    message: str,
    *,
    marker: str,
    since: dt.datetime,
    props: dict[str, Any] | None = None,
) -> dict[str, Any]:
    channel_id = client.direct_channel_id(user_id)
    return post_once(client, channel_id, message, marker=marker, since=since, props=props)
