"""Direct messages from the bot, exactly once per key.

The key (``welcome:<person>``, ``nudge:<person>:<n>``, ``digest:<manager>:<week>``) goes to the
outbox before the post and into the post's props as its marker. If a worker died after the
``sending`` commit, the next attempt looks for a post with that marker in the DM channel
(``find_post_by_marker``) and only posts when there is none. A worker that began the same key
less than a lease ago may still be posting: the message is then left to it (``BUSY``).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.db import transaction
from plugin.invitations import outbox
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.models import OutboundChannel, OutboundMessage
from plugin.mattermost import MattermostError, Retryable

# Server and Envol clocks may differ: look this far back for a marker.
MARKER_LOOKBACK = dt.timedelta(minutes=30)


class DmOutcome(enum.Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    FAILED = "failed"
    BUSY = "busy"  # another worker holds the row or is sending this message: try later


def send_dm_once(
    env: CycleEnvironment,
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
    channel_id = str(env.mm.get_direct_channel(user_id)["id"])
    with transaction(env.sessions) as session:
        if still_held is not None and not still_held(session):
            return DmOutcome.BUSY
        begun = outbox.begin(
            session,
            key,
            kind=kind,
            channel=OutboundChannel.DIRECT_MESSAGE,
            owner=env.owner,
            person_id=person_id,
            invitation_id=invitation_id,
            channel_ref=channel_id,
            in_flight=env.lease,
        )
        outcome = begun.outcome
        if outcome is outbox.Begin.BUSY:
            return DmOutcome.BUSY
        if outcome is outbox.Begin.DONE or outcome is outbox.Begin.FAILED:
            result = DmOutcome.ALREADY_SENT if outcome is outbox.Begin.DONE else DmOutcome.FAILED
            if then is not None:
                then(session, result)
            return result
        if outcome is outbox.Begin.INTERRUPTED:
            # Take it over in this transaction, so a third worker now sees it BUSY. Where to
            # look: since the attempt that died, or the whole DM channel if several did.
            row = begun.message
            since: dt.datetime | int = row.started_at - MARKER_LOOKBACK if row.attempts <= 1 else 0
            outbox.restart(session, row, env.owner)
    if outcome is outbox.Begin.INTERRUPTED:
        found = env.mm.find_post_by_marker(channel_id, key, since)
        if found is not None:
            with transaction(env.sessions) as session:
                outbox.finish(session, _row(session, key), str(found["id"]))
                if then is not None:
                    then(session, DmOutcome.ALREADY_SENT)
            return DmOutcome.ALREADY_SENT
    try:
        post = env.mm.send_direct_message(
            user_id, message, props={"envol_kind": kind, **(props or {})}, marker=key
        )
    except Retryable:
        # It may have landed: the row stays "sending", so the next attempt checks the marker
        # before posting again.
        raise
    except MattermostError as error:
        with transaction(env.sessions) as session:
            outbox.fail(session, _row(session, key), str(error), temporary=False)
            if then is not None:
                then(session, DmOutcome.FAILED)
        return DmOutcome.FAILED
    with transaction(env.sessions) as session:
        outbox.finish(session, _row(session, key), str(post.get("id", "")))
        if then is not None:
            then(session, DmOutcome.SENT)
    return DmOutcome.SENT


def _row(session: Any, key: str) -> OutboundMessage:
    return session.scalars(select(OutboundMessage).where(OutboundMessage.key == key)).one()


def iso_week(moment: dt.datetime | None = None) -> str:
    year, week, _ = (moment or clock.now()).isocalendar()
    return f"{year}-W{week:02d}"
