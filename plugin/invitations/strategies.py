"""The four ways to bring someone in, and what each needs: texts, pacing, expiry.

1. ``existing_user``: already on Mattermost (found by e-mail): added to the team directly, in
   batches of 256; the arrival step adds the wave's channels (batches of 1,000) and welcomes.
2. ``mattermost_email``: ``POST /teams/{id}/invite/email?graceful=true``. Mattermost sends the
   mail and people choose their password, but it allows **20 invitations an hour per sender**:
   Envol keeps that allowance in the database (``InviteBudget``) so every worker shares it,
   and ``estimate_duration`` says how long a wave will take (strategy 3 is recommended beyond a
   working day). Mattermost's invitation token expires after 48 hours, so every reminder is a
   fresh invitation (a re-issue).
3. ``envol_email``: Envol's own e-mail over SMTP with the team's invite link: personal (name,
   manager, why you, what to do), in the person's language, as fast as the relay allows.
4. ``sso``: people sign in with the company account by themselves; Envol only detects them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin import clock, i18n
from plugin.cohorts.models import CohortKind
from plugin.invitations.models import InvitationStrategy, InviteBudget
from plugin.mail import Address, OutgoingEmail, deterministic_message_id
from plugin.settings import RuntimeSettings

MESSAGES = Path(__file__).with_name("messages.yaml")

MATTERMOST_INVITES_PER_HOUR = 20
MATTERMOST_INVITE_BATCH = 20  # Mattermost refuses a request with more addresses than its budget
MATTERMOST_INVITE_LIFETIME = dt.timedelta(hours=48)
# Envol's invite link does not expire; an invitation with no answer this long after its last
# reminder is marked expired (it still turns into "joined" if the person arrives later).
ENVOL_EMAIL_GRACE = dt.timedelta(days=7)
SSO_PROBE_INTERVAL = dt.timedelta(days=1)
# Beyond this, strategy 2 is too slow for a wave and ``status`` recommends strategy 3.
TOO_SLOW = dt.timedelta(hours=8)


def strategy_for_newcomers(runtime: RuntimeSettings) -> InvitationStrategy:
    return InvitationStrategy(runtime.invitation_strategy)


@dataclass(frozen=True)
class DurationEstimate:
    strategy: InvitationStrategy
    people: int
    duration: dt.timedelta

    @property
    def too_slow(self) -> bool:
        return self.strategy == InvitationStrategy.MATTERMOST_EMAIL and self.duration > TOO_SLOW

    def describe(self) -> str:
        hours = self.duration.total_seconds() / 3600
        text = f"{self.people} invitation(s) by {self.strategy.value}: about "
        seconds = self.duration.total_seconds()
        text += f"{hours:.1f} hours" if seconds >= 600 else f"{seconds:.0f} s"
        if self.too_slow:
            text += (
                f" at Mattermost's {MATTERMOST_INVITES_PER_HOUR} an hour; use the "
                "envol_email strategy (Envol's own e-mail with the invite link) for a wave "
                "this size"
            )
        return text


def estimate_duration(
    strategy: InvitationStrategy, people: int, *, smtp_per_second: float = 50.0
) -> DurationEstimate:
    """How long sending ``people`` invitations takes (strategy 2: at the hourly allowance, as
    when a wave is under way and the allowance is spent)."""
    if strategy == InvitationStrategy.MATTERMOST_EMAIL:
        hours = people / MATTERMOST_INVITES_PER_HOUR
        return DurationEstimate(strategy, people, dt.timedelta(hours=hours))
    if strategy == InvitationStrategy.ENVOL_EMAIL:
        return DurationEstimate(strategy, people, dt.timedelta(seconds=people / smtp_per_second))
    return DurationEstimate(strategy, people, dt.timedelta(0))


# --------------------------------------------------------------------------- strategy 2 budget


def take_invite_budget(session: Session, sender: str, wanted: int, now: dt.datetime) -> int:
    """Take up to ``wanted`` invitations from ``sender``'s hourly allowance; returns how many.

    The first statement is a write on the budget row, so concurrent dispatchers queue on it
    (row lock on PostgreSQL, the write lock on SQLite) and never overspend the allowance.
    """
    refill_per_second = MATTERMOST_INVITES_PER_HOUR / 3600.0
    locked = session.execute(
        update(InviteBudget)
        .where(InviteBudget.sender == sender)
        .values(sender=sender)
        .execution_options(synchronize_session=False)
    )
    if not getattr(locked, "rowcount", 0):
        session.add(
            InviteBudget(sender=sender, tokens=float(MATTERMOST_INVITES_PER_HOUR), updated_at=now)
        )
        session.flush()
    budget = session.scalars(
        select(InviteBudget).where(InviteBudget.sender == sender).with_for_update()
    ).one()
    session.refresh(budget)
    elapsed = max(0.0, (now - budget.updated_at).total_seconds())
    tokens = min(float(MATTERMOST_INVITES_PER_HOUR), budget.tokens + elapsed * refill_per_second)
    taken = min(wanted, int(tokens))
    budget.tokens = tokens - taken
    budget.updated_at = now
    return taken


def empty_invite_budget(session: Session, sender: str, now: dt.datetime) -> None:
    """Mattermost said the allowance is spent (another tool invited too): trust it."""
    session.execute(
        update(InviteBudget)
        .where(InviteBudget.sender == sender)
        .values(tokens=0.0, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def next_invite_token_at(now: dt.datetime) -> dt.datetime:
    return now + dt.timedelta(seconds=3600 / MATTERMOST_INVITES_PER_HOUR)


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class Recipient:
    """Who an invitation goes to, as read from the roster at send time."""

    person_id: int
    email: str
    first_name: str
    last_name: str
    language: str
    manager_name: str
    cohort_kind: CohortKind
    wave_name: str

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class Links:
    """Where people go: the server, the team, its invite link, the help space, the apps."""

    site_url: str
    team_url: str
    invite_link: str
    support_url: str
    ios_url: str
    android_url: str
    desktop_url: str


def why_you(recipient: Recipient, language: str) -> str:
    texts = i18n.load_catalogue(MESSAGES)
    key = f"why_{recipient.cohort_kind.value}"
    return texts.render(key, language, wave=recipient.wave_name)


def invitation_email(
    recipient: Recipient,
    *,
    links: Links,
    runtime: RuntimeSettings,
    sender: Address,
    idempotency_key: str,
    reminder: int,
) -> OutgoingEmail:
    """Strategy 3's e-mail (``reminder`` 0 is the invitation itself), in the person's language."""
    language = i18n.pick_language(recipient.language, default=runtime.default_language)
    texts = i18n.load_catalogue(MESSAGES)
    values = {
        "first_name": recipient.first_name or recipient.display_name,
        "company": runtime.company_name,
        "network_url": links.team_url,
        "invite_link": links.invite_link,
        "manager_name": recipient.manager_name,
        "why": why_you(recipient, language),
        "wave": recipient.wave_name,
        "support_url": links.support_url,
        "ios_url": links.ios_url,
        "android_url": links.android_url,
        "desktop_url": links.desktop_url,
        "reminder": reminder,
    }
    return OutgoingEmail(
        sender=sender,
        recipient=Address(recipient.email, recipient.display_name),
        subject=texts.render("invitation_subject", language, **values),
        text=texts.render("invitation_text", language, **values),
        message_id=deterministic_message_id(idempotency_key, sender.domain),
        language=language,
        date=clock.now(),
        extra_headers=(("X-Envol-Key", idempotency_key),),
    )


def mattermost_invite_message(recipient: Recipient, links: Links, runtime: RuntimeSettings) -> str:
    language = i18n.pick_language(recipient.language, default=runtime.default_language)
    return i18n.load_catalogue(MESSAGES).render(
        "mattermost_invite_message",
        language,
        why=why_you(recipient, language),
        support_url=links.support_url,
    )
