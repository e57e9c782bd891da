"""The request-access waitlist: people ask to join before their wave; admins decide.

A request is accepted from an address in the roster or at one of the company's domains (the
domains the roster uses, plus any given). The public page answers the same whatever the address,
so it cannot be used to learn who is in the roster. An approved request places the person, with
priority, in the next wave to open.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.audit.service import record
from plugin.cohorts.models import (
    CohortMember,
    WaitlistRequest,
    WaitlistStatus,
    Wave,
    WaveHandoff,
    WaveStatus,
)
from plugin.cohorts.service import next_planned_wave
from plugin.errors import EnvolError
from plugin.people.models import Language, Person, PersonStatus
from plugin.people.roster import is_valid_email, normalise_email
from plugin.queue import enqueue_after_commit

log = logging.getLogger(__name__)

REASON_MAX_LENGTH = 500
CONFIRMATION_TASK = "cohorts.send_waitlist_confirmation"


def is_eligible(session: Session, email: str, extra_domains: Iterable[str] = ()) -> bool:
    """In the roster (and not gone), or at a domain the company uses."""
    person_status = session.scalar(select(Person.status).where(Person.email == email))
    if person_status is not None:
        return person_status == PersonStatus.ACTIVE
    domain = email.rsplit("@", 1)[-1]
    if domain in {d.strip().lower().lstrip("@") for d in extra_domains}:
        return True
    return (
        session.scalar(
            select(Person.id)
            .where(Person.email.endswith("@" + domain), Person.status == PersonStatus.ACTIVE)
            .limit(1)
        )
        is not None
    )


def submit_request(
    session: Session,
    email: str,
    reason: str,
    language: Language,
    *,
    extra_domains: Iterable[str] = (),
) -> WaitlistRequest | None:
    """Store a request and schedule its confirmation e-mail after the commit.

    Returns None when nothing was stored (the address is not eligible). A second request while
    one is pending changes nothing and sends nothing. Callers must answer the same either way.
    """
    address = normalise_email(email)
    if not is_valid_email(address):
        raise EnvolError("invalid e-mail address")
    if not is_eligible(session, address, extra_domains):
        log.info("waitlist request from an ineligible address ignored")
        return None
    pending = session.scalar(
        select(WaitlistRequest).where(
            WaitlistRequest.email == address, WaitlistRequest.status == WaitlistStatus.PENDING
        )
    )
    if pending is not None:
        return pending
    person_id = session.scalar(select(Person.id).where(Person.email == address))
    request = WaitlistRequest(
        email=address,
        person_id=person_id,
        reason=reason.strip()[:REASON_MAX_LENGTH],
        language=language,
        status=WaitlistStatus.PENDING,
        created_at=clock.now(),
    )
    session.add(request)
    session.flush()
    record(
        session,
        actor="join-page",
        action="waitlist.requested",
        subject_type="waitlist_request",
        subject_id=request.id,
        details={"person_id": person_id},
    )
    enqueue_after_commit(session, CONFIRMATION_TASK, request.id)
    return request


def list_requests(
    session: Session, status: WaitlistStatus | None = None
) -> Sequence[WaitlistRequest]:
    query = select(WaitlistRequest).order_by(WaitlistRequest.created_at, WaitlistRequest.id)
    if status is not None:
        query = query.where(WaitlistRequest.status == status)
    return session.scalars(query).all()


def _pending(session: Session, request_id: int) -> WaitlistRequest:
    request = session.get(WaitlistRequest, request_id)
    if request is None:
        raise EnvolError(f"no waitlist request #{request_id}; `envol waitlist list` shows them.")
    if request.status != WaitlistStatus.PENDING:
        raise EnvolError(f"request #{request_id} is already {request.status.value}.")
    return request


def _person_for(session: Session, request: WaitlistRequest) -> Person:
    person = session.scalar(select(Person).where(Person.email == request.email))
    if person is not None:
        if person.status != PersonStatus.ACTIVE:
            raise EnvolError(
                f"request #{request.id}: this person has left the company (roster); reject it."
            )
        return person
    # Someone at a company domain who is not in the roster export yet (a newcomer).
    local = request.email.split("@", 1)[0]
    first, _, last = local.replace("_", ".").partition(".")
    person = Person(
        email=request.email,
        first_name=first.title() or local,
        last_name=last.replace(".", " ").title(),
        language=request.language,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(person)
    session.flush()
    return person


@dataclass(frozen=True)
class Approval:
    request_id: int
    person_id: int
    wave: str | None
    note: str


def approve_request(session: Session, request_id: int, *, actor: str, note: str = "") -> Approval:
    """Approve: the person goes, with priority, into the next wave to open (moved out of a
    later planned wave if the plan had them there). Audited."""
    request = _pending(session, request_id)
    person = _person_for(session, request)
    request.person_id = person.id
    already = session.scalar(select(WaveHandoff.id).where(WaveHandoff.person_id == person.id))
    wave: Wave | None = None
    outcome = ""
    if already is not None:
        outcome = "already handed to the invitation engine with an earlier wave"
    else:
        wave = next_planned_wave(session)
        if wave is None:
            outcome = "no planned wave: add them to an open wave's cohort and launch it again"
        else:
            later = select(Wave.cohort_id).where(
                Wave.status == WaveStatus.PLANNED, Wave.id != wave.id
            )
            session.execute(
                delete(CohortMember).where(
                    CohortMember.person_id == person.id, CohortMember.cohort_id.in_(later)
                )
            )
            member = session.scalar(
                select(CohortMember).where(
                    CohortMember.person_id == person.id, CohortMember.cohort_id == wave.cohort_id
                )
            )
            if member is None:
                session.add(
                    CohortMember(
                        cohort_id=wave.cohort_id,
                        person_id=person.id,
                        added_by=actor,
                        reason="waitlist (priority)",
                        added_at=clock.now(),
                    )
                )
            request.wave_id = wave.id
            outcome = f"placed in wave {wave.name}"
    request.status = WaitlistStatus.APPROVED
    request.decided_at = clock.now()
    request.decided_by = actor
    request.decision_note = note
    record(
        session,
        actor=actor,
        action="waitlist.approved",
        subject_type="waitlist_request",
        subject_id=request.id,
        reason=note,
        details={"person_id": person.id, "wave": wave.name if wave else None},
    )
    session.flush()
    return Approval(request.id, person.id, wave.name if wave else None, outcome)


def reject_request(session: Session, request_id: int, *, actor: str, note: str = "") -> None:
    request = _pending(session, request_id)
    request.status = WaitlistStatus.REJECTED
    request.decided_at = clock.now()
    request.decided_by = actor
    request.decision_note = note
    record(
        session,
        actor=actor,
        action="waitlist.rejected",
        subject_type="waitlist_request",
        subject_id=request.id,
        reason=note,
        details={"person_id": request.person_id},
    )
    session.flush()


# --------------------------------------------------------------------------- confirmation e-mail

CONFIRMATION = {
    Language.FR: (
        "Votre demande d'accès est bien enregistrée",
        "Bonjour,\n\n"
        "Nous avons bien reçu votre demande pour rejoindre le réseau social de {company}.\n"
        "Le comité de lancement l'examine ; si elle est acceptée, vous serez invité(e) en priorité "
        "avec la prochaine vague et vous recevrez un e-mail d'invitation.\n\n"
        "Si vous n'avez pas fait cette demande, ignorez simplement ce message.\n\n"
        "L'équipe de lancement",
    ),
    Language.EN: (
        "Your request to join has been received",
        "Hello,\n\n"
        "We have received your request to join {company}'s social network.\n"
        "The launch committee reviews it; if it is approved, you will be invited first with the "
        "next wave and receive an invitation e-mail.\n\n"
        "If you did not make this request, simply ignore this message.\n\n"
        "The launch team",
    ),
}


def send_waitlist_confirmation(
    session: Session, request_id: int, *, smtp_url: str, mail_from: str, company: str
) -> bool:
    """Send the confirmation of one request, once; returns True when it was sent now.

    Safe to run twice: a request already confirmed is skipped, and the Message-ID is derived
    from the request so that a resend after a crash is recognisable as the same message.
    """
    from plugin.mail import (
        Address,
        OutgoingEmail,
        SmtpConfig,
        SmtpMailer,
        deterministic_message_id,
    )

    request = session.get(WaitlistRequest, request_id)
    if request is None or request.confirmation_sent_at is not None or not request.email:
        return False
    subject, body = CONFIRMATION[request.language]
    sender = Address.parse(mail_from)
    outgoing = OutgoingEmail(
        sender=sender,
        recipient=Address(request.email),
        subject=subject,
        text=body.format(company=company),
        message_id=deterministic_message_id(f"waitlist-confirmation:{request.id}", sender.domain),
        language=request.language.value,
    )
    with SmtpMailer(SmtpConfig.from_url(smtp_url)) as mailer:
        mailer.send(outgoing)
    request.confirmation_sent_at = clock.now()
    session.flush()
    return True
