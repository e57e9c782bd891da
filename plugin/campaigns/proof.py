"""A campaign step as its recipients will see it, and a test copy to one person.

``preview_step`` renders a step in every language of the plan for a sample recipient of its
audience (the first by id, so the preview is stable; a fictional colleague when the audience is
empty), through the same rendering the dispatcher sends: the e-mail's subject, text and HTML,
and the Mattermost post. ``send_proof`` sends that rendering to one person only — the signed-in
console user, or whoever ``envol campaign send-test --to`` names — marked as a test, by the
step's own channel (e-mail for e-mail steps, a DM from the bot for DMs and channel posts).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy.orm import Session

from plugin.audit.service import record
from plugin.campaigns.plan import MANAGER_SENDER, CampaignPlan, Channel, Step
from plugin.campaigns.platform import PlatformSender
from plugin.campaigns.rendering import RenderedMessage, RenderSettings, TemplateFailure
from plugin.campaigns.service import Recipient, recipients_for, resolve_sender
from plugin.campaigns.validation import render_step_for
from plugin.errors import EnvolError
from plugin.i18n import messages_of
from plugin.mail.message import Address, OutgoingEmail
from plugin.people.models import Language, Person, PersonRole, PersonStatus

# Refusals are worded in the reader's language (the console's person, the CLI's operator).
said = messages_of(Path(__file__).with_name("messages.yaml"))

TEST_MARK = {"fr": "[TEST]", "en": "[TEST]"}
TEST_NOTE = {
    "fr": "Ceci est un envoi de test demandé depuis la console de lancement ; "
    "les destinataires ne l'ont pas reçu.",
    "en": "This is a test copy asked for in the launch console; "
    "the recipients have not received it.",
}


class Mailer(Protocol):
    def send(self, message: OutgoingEmail) -> str: ...


@dataclass(frozen=True)
class StepRendering:
    """One language of a step, rendered."""

    language: str
    sample: str  # whom it was rendered for: "Hélène Dupré (Ventes, Lyon)", or a channel
    subject: str
    text: str
    html: str
    platform_post: str
    sender: str
    error: str = ""


def sample_recipient(session: Session, step: Step) -> Recipient | None:
    """The first recipient of the step's audience, or a fictional one; ``None`` for a post."""
    if step.channel == Channel.POST:
        return None
    recipients = recipients_for(session, step)
    if recipients:
        return recipients[0]
    manager = Person(
        id=0, email="", first_name="Hugo", last_name="Lambert", department="Ventes",
        site="Paris", role=PersonRole.MANAGER, language=Language.FR, status=PersonStatus.ACTIVE,
    )  # fmt: skip
    person = Person(
        id=0, email="", first_name="Camille", last_name="Durand", department="Ventes",
        site="Lyon", role=PersonRole.EMPLOYEE, language=Language.FR, status=PersonStatus.ACTIVE,
    )  # fmt: skip
    return Recipient(person, manager if step.sender == MANAGER_SENDER else None)


def _describe(recipient: Recipient | None, step: Step) -> str:
    if recipient is None:
        return f"~{step.post_channel}"
    person = recipient.person
    where = ", ".join(part for part in (person.department, person.site) if part)
    return f"{person.display_name} ({where})" if where else person.display_name


def _render(
    plan: CampaignPlan,
    step: Step,
    language: str,
    settings: RenderSettings,
    recipient: Recipient | None,
    default_from: str,
) -> RenderedMessage:
    return render_step_for(plan, step, language, settings, recipient, default_from)


def preview_step(
    session: Session, plan: CampaignPlan, step: Step, settings: RenderSettings, default_from: str
) -> list[StepRendering]:
    """The step in each of its languages, as its sample recipient would receive it."""
    recipient = sample_recipient(session, step)
    renderings = []
    for language in plan.languages:
        if language not in step.templates:
            continue
        sample = _describe(recipient, step)
        try:
            sender = resolve_sender(plan, step, recipient, language, default_from)
            rendered = _render(plan, step, language, settings, recipient, default_from)
        except (TemplateFailure, LookupError) as error:
            renderings.append(StepRendering(language, sample, "", "", "", "", "", str(error)))
            continue
        renderings.append(
            StepRendering(
                language=language,
                sample=sample,
                subject=rendered.subject,
                text=rendered.text,
                html=rendered.html,
                platform_post=rendered.as_platform_post(),
                sender=f"{sender.name} <{sender.from_email}>",
            )
        )
    return renderings


@dataclass(frozen=True)
class ProofTarget:
    """The one person a test copy goes to."""

    username: str
    user_id: str
    email: str
    display_name: str


def send_proof(
    session: Session,
    plan: CampaignPlan,
    step_key: str,
    *,
    language: str,
    target: ProofTarget,
    settings: RenderSettings,
    mail_from: Address,
    mailer: Mailer | None,
    platform: PlatformSender | None,
    actor: str,
) -> str:
    """Send one test copy of a step to ``target`` only; returns how it went (e-mail or DM)."""
    try:
        step = plan.step(step_key)
    except KeyError:
        raise EnvolError(said("step.unknown", step=repr(step_key), known="")) from None
    if language not in step.templates:
        raise EnvolError(said("test.no_version", step=repr(step_key), language=repr(language)))
    recipient = sample_recipient(session, step)
    rendered = _render(plan, step, language, settings, recipient, mail_from.email)
    mark, note = TEST_MARK[language], TEST_NOTE[language]
    if step.channel == Channel.EMAIL:
        if mailer is None:
            raise EnvolError(said("test.no_relay"))
        if not target.email:
            raise EnvolError(said("test.no_email", username=target.username))
        sender = resolve_sender(plan, step, recipient, language, mail_from.email)
        markdown = f"*{note}*\n\n{rendered.markdown}"
        test = RenderedMessage(language, f"{mark} {rendered.subject}", markdown)
        mailer.send(
            OutgoingEmail(
                sender=Address(sender.from_email, sender.name),
                recipient=Address(target.email, target.display_name),
                subject=test.subject,
                text=test.text,
                html=test.html,
                reply_to=Address(sender.reply_to) if sender.reply_to else None,
                language=language,
                envelope_sender=mail_from.email,
            )
        )
        how = "email"
    else:
        if platform is None:
            raise EnvolError(said("test.no_mattermost"))
        message = f"**{mark}** _{note}_\n\n{rendered.as_platform_post()}"
        platform.send_direct_message(
            target.user_id, message, marker=f"campaign-test:{secrets.token_hex(8)}"
        )
        how = "dm"
    record(
        session,
        actor=actor,
        action="campaign.test_sent",
        subject_type="step",
        subject_id=plan.delivery_key(step),
        details={"language": language, "channel": how, "to": f"@{target.username}"},
    )
    return how


def first_recipients(session: Session, step: Step, limit: int = 5) -> list[Person]:
    """A few of the people the step goes to (for the page's "who receives it")."""
    return [r.person for r in recipients_for(session, step)[:limit]]
