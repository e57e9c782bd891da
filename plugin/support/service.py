"""Support requests: FAQ suggestions first, then a ticket in the support (or ideas) channel.

The life of a request:

1. ``submit_request`` stores it with the closest FAQ answers. With suggestions, the requester
   gets them in a DM (task ``support.offer_suggestions``); without, it is posted at once.
2. ``close_self_served`` ("this answered my question") or ``request_posting`` (post anyway).
3. ``post_ticket`` posts it in the channel with the animators' buttons; ``take``, ``answer``,
   ``resolve`` and ``make_faq_entry`` follow; the requester is told by ``notify_requester``.
4. ``remind_animators`` (beat) nudges the thread of requests nobody answered in time;
   ``count_idea_votes`` (beat) counts the people who reacted to each idea.

Functions that talk to Mattermost take a ``MattermostClient`` and the session factory: they open
their own short transactions and make no call while one is open (see "Mattermost work" below);
everything else takes the caller's session.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session, sessionmaker

from plugin import clock
from plugin.audit.service import record
from plugin.db import transaction
from plugin.delivery.leases import (
    LeaseColumns,
    claim_due,
    lease_duration,
    release,
    worker_identity,
)
from plugin.delivery.posts import direct_message_once, post_once
from plugin.errors import EnvolError
from plugin.mattermost import MARKER_PROP, MattermostClient
from plugin.people.models import Person
from plugin.queue import enqueue_after_commit
from plugin.security.service import Signer
from plugin.settings import RuntimeSettings
from plugin.support import faq
from plugin.support.messages import said, t
from plugin.support.models import SupportFaqEntry, SupportTicket, TicketCategory, TicketStatus
from plugin.text import inert_markdown, strip_accents

log = logging.getLogger(__name__)

# Buttons in the channels stay usable this long; every redraw signs them afresh.
TICKET_BUTTON_LIFETIME = dt.timedelta(days=60)
SUGGESTION_BUTTON_LIFETIME = dt.timedelta(days=7)
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 3000
CLOSED = (TicketStatus.SELF_SERVED, TicketStatus.RESOLVED)


class TicketNotFound(EnvolError):
    """No such support request."""


class NotAllowed(EnvolError):
    """The person may not do this to the request."""


class TicketBusy(EnvolError):
    """Another worker holds the request (its lease): try again once it is done or expired."""


@dataclass(frozen=True)
class SubmitOutcome:
    ticket: SupportTicket
    suggestions: list[faq.FaqSuggestion]


# --------------------------------------------------------------------------- FAQ


def faq_entries(session: Session) -> list[faq.FaqEntry]:
    """The seed FAQ plus the entries animators made from tickets."""
    entries = list(faq.seed_faq())
    for row in session.scalars(select(SupportFaqEntry).order_by(SupportFaqEntry.id)):
        entries.append(
            faq.FaqEntry(
                slug=row.slug,
                language="en" if row.language == "en" else "fr",
                question=row.question,
                answer=row.answer,
                keywords=tuple(row.keywords or ()),
                source=f"ticket:{row.source_ticket_id}",
            )
        )
    return entries


def entry_by_slug(session: Session, slug: str, language: str) -> faq.FaqEntry | None:
    for entry in faq_entries(session):
        if entry.slug == slug and entry.language == language:
            return entry
    return None


# --------------------------------------------------------------------------- requests


def _person_id(session: Session, user_id: str) -> int | None:
    return session.scalar(select(Person.id).where(Person.mattermost_user_id == user_id))


def submit_request(
    session: Session,
    *,
    user_id: str,
    category: TicketCategory,
    description: str,
    language: str,
) -> SubmitOutcome:
    """Store a request and choose what happens next (suggestions DM, or straight to the channel).

    Ideas skip the FAQ: they are proposals, not questions.
    """
    description = description.strip()
    if not MIN_DESCRIPTION <= len(description) <= MAX_DESCRIPTION:
        raise EnvolError(
            said("error.description_length", minimum=MIN_DESCRIPTION, maximum=MAX_DESCRIPTION)
        )
    lang: faq.Language = "en" if language == "en" else "fr"
    suggestions: list[faq.FaqSuggestion] = []
    if category != TicketCategory.IDEA:
        suggestions = faq.suggest(description, lang, faq_entries(session))
    ticket = SupportTicket(
        requester_user_id=user_id,
        person_id=_person_id(session, user_id),
        category=category,
        description=description,
        language=lang,
        status=TicketStatus.SUGGESTED,
        suggested_slugs=[s.entry.slug for s in suggestions],
        created_at=clock.now(),
    )
    session.add(ticket)
    session.flush()
    record(
        session,
        actor=user_id,
        action="support.submitted",
        subject_type="support_ticket",
        subject_id=ticket.id,
        details={"category": category.value, "suggestions": ticket.suggested_slugs},
    )
    if suggestions:
        enqueue_after_commit(session, "support.offer_suggestions", ticket.id)
    else:
        request_posting(session, ticket)
    return SubmitOutcome(ticket, suggestions)


def get_ticket(session: Session, ticket_id: int, *, for_update: bool = False) -> SupportTicket:
    query = select(SupportTicket).where(SupportTicket.id == ticket_id)
    if for_update:
        query = query.with_for_update()
    ticket = session.scalar(query)
    if ticket is None:
        raise TicketNotFound(f"support request {ticket_id} does not exist")
    return ticket


def close_self_served(session: Session, ticket: SupportTicket, user_id: str, slug: str) -> None:
    """ "This answered my question": closed without reaching the animators."""
    if ticket.requester_user_id != user_id:
        raise NotAllowed("only the requester can close their request")
    if ticket.status != TicketStatus.SUGGESTED:
        return  # already decided (e.g. a double click): nothing to do
    ticket.status = TicketStatus.SELF_SERVED
    ticket.faq_slug = slug
    ticket.resolved_at = clock.now()
    ticket.resolved_by = user_id
    record(
        session,
        actor=user_id,
        action="support.self_served",
        subject_type="support_ticket",
        subject_id=ticket.id,
        details={"faq": slug},
    )


def request_posting(session: Session, ticket: SupportTicket) -> None:
    """Send the request to the animators' channel (once, whatever the number of clicks)."""
    if ticket.post_requested_at is not None or ticket.status in CLOSED:
        return
    ticket.status = TicketStatus.OPEN
    ticket.post_requested_at = clock.now()
    enqueue_after_commit(session, "support.post_ticket", ticket.id)


def is_animator(runtime: RuntimeSettings, username: str, roles: str = "") -> bool:
    """Animators are the settings' ``AnimatorsGroup``; system admins may act too."""
    return username.lstrip("@") in runtime.animators_group or "system_admin" in roles.split()


def _require_open(ticket: SupportTicket) -> None:
    if ticket.status in CLOSED:
        raise NotAllowed("this request is already closed")
    if ticket.root_post_id is None:
        raise NotAllowed("this request is not posted yet")


def take(session: Session, ticket: SupportTicket, animator_id: str) -> None:
    _require_open(ticket)
    ticket.assignee_user_id = animator_id
    ticket.taken_at = clock.now()
    if ticket.status == TicketStatus.OPEN:
        ticket.status = TicketStatus.TAKEN
    record(
        session,
        actor=animator_id,
        action="support.taken",
        subject_type="support_ticket",
        subject_id=ticket.id,
    )


def answer(session: Session, ticket: SupportTicket, animator_id: str, text: str) -> None:
    _require_open(ticket)
    text = text.strip()
    if not text:
        raise EnvolError(said("error.empty_answer"))
    ticket.answer = text[:MAX_DESCRIPTION]
    ticket.answered_by = animator_id
    ticket.answered_at = clock.now()
    ticket.assignee_user_id = ticket.assignee_user_id or animator_id
    ticket.status = TicketStatus.ANSWERED
    # The answer is told afresh even if an earlier one was: clear the "told" mark.
    ticket.requester_told_answered_at = None
    record(
        session,
        actor=animator_id,
        action="support.answered",
        subject_type="support_ticket",
        subject_id=ticket.id,
    )
    enqueue_after_commit(session, "support.notify_requester", ticket.id)
    enqueue_after_commit(session, "support.publish_in_thread", ticket.id, "answer")


def resolve(session: Session, ticket: SupportTicket, animator_id: str) -> None:
    _require_open(ticket)
    ticket.status = TicketStatus.RESOLVED
    ticket.resolved_by = animator_id
    ticket.resolved_at = clock.now()
    record(
        session,
        actor=animator_id,
        action="support.resolved",
        subject_type="support_ticket",
        subject_id=ticket.id,
    )
    enqueue_after_commit(session, "support.notify_requester", ticket.id)


def _slugify(text: str) -> str:
    plain = strip_accents(text).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60].strip("-")
    return slug or "entry"


def make_faq_entry(
    session: Session, ticket: SupportTicket, animator_id: str, question: str, answer_text: str
) -> SupportFaqEntry:
    """A FAQ entry from a request; it is suggested to the next people who ask the same."""
    question, answer_text = question.strip(), answer_text.strip()
    if len(question) < 5 or not answer_text:
        raise EnvolError(said("error.faq_entry_incomplete", minimum=5))
    base = f"ticket-{ticket.id}-{_slugify(question)}"[:80]
    slug, n = base, 1
    while session.scalar(
        select(SupportFaqEntry.id).where(
            SupportFaqEntry.slug == slug, SupportFaqEntry.language == ticket.language
        )
    ):
        n += 1
        slug = f"{base[:76]}-{n}"
    entry = SupportFaqEntry(
        slug=slug,
        language=ticket.language,
        question=question[:300],
        answer=answer_text[:MAX_DESCRIPTION],
        keywords=[],
        source_ticket_id=ticket.id,
        created_by=animator_id,
        created_at=clock.now(),
    )
    session.add(entry)
    ticket.faq_slug = slug
    record(
        session,
        actor=animator_id,
        action="support.faq_added",
        subject_type="support_ticket",
        subject_id=ticket.id,
        details={"slug": slug},
    )
    return entry


def list_tickets(
    session: Session, *, status: Sequence[TicketStatus] = (), limit: int = 100
) -> list[SupportTicket]:
    query = select(SupportTicket).order_by(SupportTicket.id.desc()).limit(limit)
    if status:
        query = query.where(SupportTicket.status.in_(list(status)))
    return list(session.scalars(query))


# --------------------------------------------------------------------------- rendering


def action_url(public_url: str, family: str) -> str:
    return f"{public_url.rstrip('/')}/actions/{family}"


def _button(name: str, url: str, signed: str, style: str = "default") -> dict[str, Any]:
    action_id = re.sub(r"[^a-zA-Z0-9]", "", name)[:20] or "action"
    return {
        "id": action_id,
        "name": name,
        "type": "button",
        "style": style,
        "integration": {"url": url, "context": {"signed": signed}},
    }


def ticket_props(
    ticket: SupportTicket, signer: Signer, public_url: str, usernames: dict[str, str]
) -> dict[str, Any]:
    """The ticket post's attachment: description, status and the animators' buttons."""
    lang = ticket.language
    url = action_url(public_url, "ticket")

    def signed(action: str) -> str:
        return signer.sign("ticket", "*", {"t": ticket.id, "a": action})

    who = usernames.get(
        ticket.resolved_by or ticket.answered_by or ticket.assignee_user_id or "", "?"
    )
    status_text = {
        TicketStatus.OPEN: t("ticket.status.open", lang),
        TicketStatus.TAKEN: t("ticket.status.taken", lang, who=who),
        TicketStatus.ANSWERED: t("ticket.status.answered", lang, who=who),
        TicketStatus.RESOLVED: t("ticket.status.resolved", lang, who=who),
    }.get(ticket.status, ticket.status.value)
    fields = [
        {"short": True, "title": "Statut" if lang == "fr" else "Status", "value": status_text}
    ]
    if ticket.category == TicketCategory.IDEA:
        fields.append(
            {
                "short": True,
                "title": "Votes",
                "value": t("ticket.votes", lang, count=ticket.vote_count),
            }
        )
    actions: list[dict[str, Any]] = []
    if ticket.status not in CLOSED:
        actions = [
            _button(t("ticket.take", lang), url, signed("take")),
            _button(t("ticket.answer", lang), url, signed("answer"), "primary"),
            _button(t("ticket.resolve", lang), url, signed("resolve"), "good"),
        ]
    if ticket.faq_slug is None and ticket.category != TicketCategory.IDEA:
        actions.append(_button(t("ticket.faq", lang), url, signed("faq")))
    # Typed by people: posted by Envol's bot, so no @mention and no disguised link.
    text = inert_markdown(ticket.description)
    if ticket.answer:
        text += f"\n\n> {inert_markdown(ticket.answer)}"
    attachment = {
        "fallback": t(
            "ticket.header",
            lang,
            category=t(f"category.{ticket.category.value}", lang),
            id=ticket.id,
            requester=usernames.get(ticket.requester_user_id, "?"),
        ),
        "color": "#2e7d32" if ticket.status == TicketStatus.RESOLVED else "#1565c0",
        "text": text,
        "fields": fields,
        "actions": actions,
    }
    if ticket.category == TicketCategory.IDEA:
        attachment["footer"] = t("ticket.idea_hint", lang)
    return {"attachments": [attachment]}


def ticket_message(ticket: SupportTicket, requester_username: str) -> str:
    lang = ticket.language
    return t(
        "ticket.header",
        lang,
        category=t(f"category.{ticket.category.value}", lang),
        id=ticket.id,
        requester=requester_username,
    )


def suggestion_props(
    session: Session, ticket: SupportTicket, signer: Signer, public_url: str
) -> dict[str, Any]:
    lang = ticket.language
    url = action_url(public_url, "suggestion")
    attachments: list[dict[str, Any]] = []
    for slug in ticket.suggested_slugs:
        entry = entry_by_slug(session, slug, lang)
        if entry is None:
            continue
        attachments.append(
            {
                "title": entry.question,
                "text": entry.answer,
                "actions": [
                    _button(
                        t("suggest.answered", lang),
                        url,
                        signer.sign(
                            "ticket.requester",
                            ticket.requester_user_id,
                            {"t": ticket.id, "a": "answered", "s": slug},
                        ),
                        "good",
                    )
                ],
            }
        )
    attachments.append(
        {
            "text": "",
            "actions": [
                _button(
                    t("suggest.post", lang),
                    url,
                    signer.sign(
                        "ticket.requester", ticket.requester_user_id, {"t": ticket.id, "a": "post"}
                    ),
                )
            ],
        }
    )
    return {"attachments": attachments}


# --------------------------------------------------------------------------- Mattermost work


@dataclass(frozen=True)
class SupportPlaces:
    """Where support lives on the server (looked up each time: a task is not a hot path, and
    channels can be renamed or recreated between two tasks)."""

    team_id: str
    support_channel_id: str
    ideas_channel_id: str


def support_places(client: MattermostClient, runtime: RuntimeSettings) -> SupportPlaces:
    team = client.get_team_by_name(runtime.team_name)
    support = client.get_channel_by_name(team["id"], runtime.support_channel)
    ideas = client.get_channel_by_name(team["id"], runtime.ideas_channel)
    return SupportPlaces(team["id"], support["id"], ideas["id"])


def _usernames(client: MattermostClient, user_ids: Sequence[str | None]) -> dict[str, str]:
    wanted = sorted({u for u in user_ids if u})
    if not wanted:
        return {}
    return {user["id"]: user.get("username", "?") for user in client.get_users_by_ids(wanted)}


def _ticket_usernames(client: MattermostClient, ticket: SupportTicket) -> dict[str, str]:
    return _usernames(
        client,
        [ticket.requester_user_id, ticket.assignee_user_id, ticket.answered_by, ticket.resolved_by],
    )


# Every function below talks to Mattermost **outside** any database transaction (a transaction
# open across a call would hold SQLite's write lock, or a PostgreSQL row lock, for the adapter's
# whole retry budget): a short transaction claims the ticket under a lease and reads what the
# call needs, the call runs with no transaction open, and a second short transaction records
# the outcome on the ticket, if this worker still holds it. The markers of ``post_once`` make a
# retry after a crash find the post instead of posting again.

TICKET_LEASE = LeaseColumns(due="created_at", owner="lease_owner", expires="lease_expires_at")


@dataclass(frozen=True)
class _Held:
    """A ticket this worker holds: a detached copy to read, and the owner name to write with."""

    ticket: SupportTicket
    owner: str


@contextlib.contextmanager
def _holding(sessions: sessionmaker[Session], ticket_id: int) -> Iterator[_Held]:
    """Claim ``ticket_id``, yield it with no transaction open, and give it back however the
    work ends. ``TicketBusy`` while another worker holds it (the task retries later: a worker
    that died holding it leaves it when its lease ends)."""
    owner = worker_identity()
    with transaction(sessions) as session:
        get_ticket(session, ticket_id)  # TicketNotFound, before any claim
        claimed = claim_due(
            session,
            SupportTicket,
            owner=owner,
            now=clock.now(),
            limit=1,
            where=SupportTicket.id == ticket_id,
            lease=lease_duration(),
            columns=TICKET_LEASE,
        )
        ticket = None
        if claimed:
            ticket = session.scalar(
                select(SupportTicket)
                .where(SupportTicket.id == ticket_id)
                .execution_options(populate_existing=True)
            )
    if ticket is None:
        raise TicketBusy(f"support request {ticket_id} is being worked on by another worker")
    try:
        yield _Held(ticket, owner)
    finally:
        with transaction(sessions) as session:
            release(session, SupportTicket, [ticket_id], owner, TICKET_LEASE)


def _session_of(row: SupportTicket) -> Session:
    session = object_session(row)
    assert session is not None
    return session


@contextlib.contextmanager
def _record(sessions: sessionmaker[Session], held: _Held) -> Iterator[SupportTicket | None]:
    """The ticket, in a new transaction, if this worker still holds it (else None: another
    worker took it over after the lease ran out, and records its own outcome)."""
    with transaction(sessions) as session:
        yield session.scalar(
            select(SupportTicket).where(
                SupportTicket.id == held.ticket.id, SupportTicket.lease_owner == held.owner
            )
        )


def offer_suggestions(
    sessions: sessionmaker[Session],
    client: MattermostClient,
    signer: Signer,
    public_url: str,
    ticket_id: int,
) -> bool:
    """DM the requester the FAQ answers; False when there was nothing (left) to send."""
    with _holding(sessions, ticket_id) as held:
        ticket = held.ticket
        if ticket.status != TicketStatus.SUGGESTED or ticket.suggestion_post_id is not None:
            return False
        with sessions() as session:
            props = suggestion_props(session, ticket, signer, public_url)
        post = direct_message_once(
            client,
            ticket.requester_user_id,
            t("suggest.intro", ticket.language),
            props=props,
            marker=f"support-ticket-{ticket.id}-suggestions",
            since=ticket.created_at,
        )
        with _record(sessions, held) as row:
            if row is None:
                return False
            row.suggestion_post_id = post["id"]
        return True


def post_ticket(
    sessions: sessionmaker[Session],
    client: MattermostClient,
    signer: Signer,
    runtime: RuntimeSettings,
    public_url: str,
    ticket_id: int,
) -> bool:
    """Post the request as a thread root in the support (or ideas) channel, once."""
    with _holding(sessions, ticket_id) as held:
        ticket = held.ticket
        if ticket.post_requested_at is None or ticket.root_post_id is not None:
            return False
        places = support_places(client, runtime)
        channel_id = (
            places.ideas_channel_id
            if ticket.category == TicketCategory.IDEA
            else places.support_channel_id
        )
        names = _ticket_usernames(client, ticket)
        post = post_once(
            client,
            channel_id,
            ticket_message(ticket, names.get(ticket.requester_user_id, "?")),
            props=ticket_props(ticket, signer, public_url, names),
            marker=f"support-ticket-{ticket.id}",
            since=ticket.post_requested_at,
        )
        if ticket.suggestion_post_id is None:
            # Without suggestions the requester has heard nothing since the dialog closed.
            direct_message_once(
                client,
                ticket.requester_user_id,
                t("ack.no_suggestion", ticket.language),
                marker=f"support-ticket-{ticket.id}-ack",
                since=ticket.created_at,
            )
        with _record(sessions, held) as row:
            if row is None:
                return False
            row.channel_id = channel_id
            row.root_post_id = post["id"]
            row.posted_at = clock.now()
            record(
                _session_of(row),
                actor="worker",
                action="support.posted",
                subject_type="support_ticket",
                subject_id=row.id,
            )
        return True


def render_ticket_post(
    client: MattermostClient, signer: Signer, public_url: str, ticket: SupportTicket
) -> dict[str, Any]:
    """The post as it should look now: for an action's ``update`` or a patch."""
    names = _ticket_usernames(client, ticket)
    props = ticket_props(ticket, signer, public_url, names)
    # The marker must survive redraws: it is how a retried post finds the first one.
    props[MARKER_PROP] = f"support-ticket-{ticket.id}"
    return {
        "message": ticket_message(ticket, names.get(ticket.requester_user_id, "?")),
        "props": props,
    }


def publish_in_thread(
    sessions: sessionmaker[Session], client: MattermostClient, ticket_id: int, what: str
) -> bool:
    """Reply in the ticket's thread with its answer (``what="answer"``) or its new FAQ entry.

    A reply, not an edit of the root post: the thread then reads as the conversation it was,
    and the root's status is redrawn by the next button click (an action ``update``). Nothing
    is recorded: the marker is the record, so no lease is needed.
    """
    entry: SupportFaqEntry | None = None
    with sessions() as session:
        ticket = get_ticket(session, ticket_id)
        if what == "faq" and ticket.faq_slug:
            entry = session.scalar(
                select(SupportFaqEntry).where(
                    SupportFaqEntry.slug == ticket.faq_slug,
                    SupportFaqEntry.language == ticket.language,
                )
            )
    if ticket.root_post_id is None or ticket.channel_id is None:
        return False
    if what == "answer" and ticket.answered_at is not None:
        message, since = inert_markdown(ticket.answer), ticket.answered_at
        marker = f"support-ticket-{ticket.id}-answer-{int(since.timestamp())}"
    elif what == "faq" and entry is not None:
        names = _usernames(client, [entry.created_by])
        message = t(
            "faq.added",
            ticket.language,
            question=inert_markdown(entry.question),
            who=names.get(entry.created_by, "?"),
        )
        since, marker = entry.created_at, f"support-ticket-{ticket.id}-faq"
    else:
        return False
    post_once(
        client, ticket.channel_id, message, marker=marker, since=since, root_id=ticket.root_post_id
    )
    return True


def notify_requester(
    sessions: sessionmaker[Session], client: MattermostClient, ticket_id: int
) -> list[str]:
    """DM the requester what changed since they were last told; returns what was sent."""
    with _holding(sessions, ticket_id) as held:
        ticket = held.ticket
        sent: list[str] = []
        if ticket.answered_at is not None and ticket.requester_told_answered_at is None:
            direct_message_once(
                client,
                ticket.requester_user_id,
                t("dm.answered", ticket.language, id=ticket.id, answer=ticket.answer),
                marker=f"support-ticket-{ticket.id}-answered-{int(ticket.answered_at.timestamp())}",
                since=ticket.answered_at,
            )
            sent.append("answered")
        if ticket.status == TicketStatus.RESOLVED and ticket.requester_told_resolved_at is None:
            assert ticket.resolved_at is not None
            direct_message_once(
                client,
                ticket.requester_user_id,
                t("dm.resolved", ticket.language, id=ticket.id),
                marker=f"support-ticket-{ticket.id}-resolved",
                since=ticket.resolved_at,
            )
            sent.append("resolved")
        if not sent:
            return sent
        with _record(sessions, held) as row:
            if row is None:
                return []
            now = clock.now()
            # Told about the answer that was sent: a newer one (answered meanwhile) is told by
            # the task its own ``answer`` enqueued.
            if "answered" in sent and row.answered_at == ticket.answered_at:
                row.requester_told_answered_at = now
            if "resolved" in sent:
                row.requester_told_resolved_at = now
        return sent


def tickets_due_for_reminder(
    session: Session, runtime: RuntimeSettings, now: dt.datetime | None = None
) -> list[SupportTicket]:
    """Posted, nobody took or answered them, and the delay passed since posting or last nudge."""
    now = now or clock.now()
    cutoff = now - dt.timedelta(hours=runtime.support_reminder_hours)
    query = (
        select(SupportTicket)
        .where(
            SupportTicket.status == TicketStatus.OPEN,
            SupportTicket.category != TicketCategory.IDEA,
            SupportTicket.root_post_id.is_not(None),
            SupportTicket.posted_at <= cutoff,
            or_(SupportTicket.last_reminded_at.is_(None), SupportTicket.last_reminded_at <= cutoff),
        )
        .order_by(SupportTicket.id)
    )
    return list(session.scalars(query))


def remind_animators(
    sessions: sessionmaker[Session], client: MattermostClient, runtime: RuntimeSettings
) -> int:
    """Reply in each overdue request's thread, mentioning the animators; returns the count.
    A request another worker holds is left to the next beat."""
    with sessions() as session:
        due = [ticket.id for ticket in tickets_due_for_reminder(session, runtime)]
    reminded = 0
    mentions = " ".join(f"@{name}" for name in runtime.animators_group) or "@channel"
    for ticket_id in due:
        try:
            reminded += _remind(sessions, client, runtime, ticket_id, mentions)
        except (TicketBusy, TicketNotFound):
            continue
    return reminded


def _remind(
    sessions: sessionmaker[Session],
    client: MattermostClient,
    runtime: RuntimeSettings,
    ticket_id: int,
    mentions: str,
) -> int:
    with _holding(sessions, ticket_id) as held:
        ticket = held.ticket
        cutoff = clock.now() - dt.timedelta(hours=runtime.support_reminder_hours)
        last = ticket.last_reminded_at or ticket.posted_at
        if ticket.status != TicketStatus.OPEN or last is None or last > cutoff:
            return 0  # taken, answered or reminded since the list was read
        assert ticket.root_post_id is not None and ticket.channel_id is not None
        count = ticket.reminder_count + 1
        post_once(
            client,
            ticket.channel_id,
            t("reminder", ticket.language, mentions=mentions,
              hours=runtime.support_reminder_hours * count),
            root_id=ticket.root_post_id,
            marker=f"support-ticket-{ticket.id}-reminder-{count}",
            since=last,
        )  # fmt: skip
        with _record(sessions, held) as row:
            if row is None:
                return 0
            row.reminder_count = count
            row.last_reminded_at = clock.now()
        return 1


def count_idea_votes(
    sessions: sessionmaker[Session], client: MattermostClient, *, bot_user_id: str = ""
) -> int:
    """Count distinct people reacting to each open idea; returns how many ideas changed."""
    with sessions() as session:
        ideas = [
            (idea.id, idea.root_post_id)
            for idea in session.scalars(
                select(SupportTicket).where(
                    SupportTicket.category == TicketCategory.IDEA,
                    SupportTicket.root_post_id.is_not(None),
                    SupportTicket.status != TicketStatus.RESOLVED,
                )
            )
        ]
    counted: dict[int, int] = {}
    for idea_id, root_post_id in ideas:
        assert root_post_id is not None
        counted[idea_id] = len(
            {
                r["user_id"]
                for r in client.list_reactions(root_post_id)
                if r.get("user_id") and r["user_id"] != bot_user_id
            }
        )
    changed = 0
    with transaction(sessions) as session:
        for idea_id, votes in counted.items():
            idea = session.get(SupportTicket, idea_id)
            if idea is None:
                continue  # forgotten meanwhile
            idea.votes_counted_at = clock.now()
            if votes != idea.vote_count:
                idea.vote_count = votes
                changed += 1
    return changed
