"""Telling the launch committee when something awaits its decision.

Two kinds, each posted once in the committee channel with a button that opens the right console
page: the gate of the next wave, when its date is less than a week away; and each campaign
step due within a week that nobody has approved or held. A post's marker makes a retried post
find the first one, and the audit trail records each announcement so it is made only once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock, i18n
from plugin.audit.models import AuditEvent
from plugin.audit.service import record
from plugin.campaigns.decisions import decisions
from plugin.campaigns.models import CampaignStepRun
from plugin.campaigns.plan import CampaignPlan
from plugin.campaigns.service import recipients_for
from plugin.cohorts.gates import criterion_label, evaluate_gate
from plugin.cohorts.models import Wave, WaveStatus
from plugin.mattermost import MattermostClient
from plugin.metrics.gates import MetricsGateMeasures
from plugin.reports.weekly import committee_channel_id
from plugin.security.service import Signer
from plugin.settings import RuntimeSettings

MESSAGES = Path(__file__).with_name("messages.yaml")
HORIZON = dt.timedelta(days=7)
OPEN_PURPOSE = "console-open"
OPEN_BUTTON_LIFETIME = dt.timedelta(days=60)
ANNOUNCED = "console.decision_announced"


def t(key: str, language: str, **values: Any) -> str:
    return i18n.load_catalogue(MESSAGES).render(key, language, **values)


@dataclass(frozen=True)
class PendingDecision:
    kind: str  # "gate" or "step"
    key: str  # the wave's name or the step's key
    page: str  # console path the button opens
    message: str

    @property
    def marker(self) -> str:
        return f"decision:{self.kind}:{self.key}"[:80]  # audit subject ids hold 80 characters


def pending_decisions(
    session: Session,
    settings: RuntimeSettings,
    plan: CampaignPlan | None,
    *,
    now: dt.datetime | None = None,
) -> list[PendingDecision]:
    """What awaits the committee now (whether announced already or not)."""
    now = now or clock.now()
    language = settings.default_language
    pending = []
    wave = session.scalar(
        select(Wave).where(Wave.status == WaveStatus.PLANNED).order_by(Wave.position).limit(1)
    )
    if wave is not None and wave.planned_at is not None and wave.planned_at <= now + HORIZON:
        gate = evaluate_gate(session, wave, settings, MetricsGateMeasures())
        failing = ", ".join(
            criterion_label(r.criterion.key, language) for r in gate.criteria if not r.passed
        )
        verdict = (
            t("decision.gate_passes", language)
            if gate.passed
            else t("decision.gate_fails", language, failing=failing)
        )
        pending.append(
            PendingDecision(
                "gate",
                wave.name,
                f"/console/waves#wave-{wave.name}",
                t(
                    "decision.gate",
                    language,
                    wave=wave.name,
                    date=i18n.long_date(wave.planned_at.date(), language),
                    verdict=verdict,
                ),
            )
        )
    if plan is not None:
        decided = decisions(session, plan)
        gone = set(session.scalars(select(CampaignStepRun.step_key)))
        for step in plan.steps:
            due = step.due_at(settings.launch_date, plan.timezone)
            if step.key in decided or plan.delivery_key(step) in gone:
                continue
            if not now <= due <= now + HORIZON:
                continue
            try:
                people = len(recipients_for(session, step)) if step.audience else 0
            except Exception:  # an unknown audience: the campaign's validation says why
                people = 0
            pending.append(
                PendingDecision(
                    "step",
                    step.key,
                    f"/console/campaign/{step.key}",
                    t(
                        "decision.step",
                        language,
                        step=step.key,
                        date=i18n.long_date(due.astimezone(plan.timezone).date(), language),
                        audience=step.audience or f"~{step.post_channel}",
                        people=people,
                    ),
                )
            )
    return pending


def _announced(session: Session, marker: str) -> bool:
    return (
        session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == ANNOUNCED, AuditEvent.subject_id == marker
            )
        )
        is not None
    )


def decision_post_props(
    decision: PendingDecision, *, signer: Signer, public_url: str, language: str
) -> dict[str, Any]:
    """The post's button: Mattermost calls ``/console/actions/open`` with the signed page."""
    return {
        "attachments": [
            {
                "fallback": decision.message,
                "color": "#0d2b4f",
                "actions": [
                    {
                        "id": "openconsole",
                        "name": t("decision.button", language),
                        "type": "button",
                        "style": "primary",
                        "integration": {
                            "url": f"{public_url.rstrip('/')}/console/actions/open",
                            "context": {
                                "signed": signer.sign(OPEN_PURPOSE, "", {"page": decision.page})
                            },
                        },
                    }
                ],
            }
        ]
    }


def announce_decisions(
    session: Session,
    client: MattermostClient,
    settings: RuntimeSettings,
    plan: CampaignPlan | None,
    *,
    signer: Signer,
    public_url: str,
) -> list[PendingDecision]:
    """Post what awaits a decision and was not announced yet; returns what was posted."""
    fresh = [
        d for d in pending_decisions(session, settings, plan) if not _announced(session, d.marker)
    ]
    if not fresh:
        return []
    channel_id = committee_channel_id(client, settings)
    for decision in fresh:
        client.create_post(
            channel_id,
            decision.message,
            props=decision_post_props(
                decision, signer=signer, public_url=public_url, language=settings.default_language
            ),
            marker=decision.marker,
        )
        record(
            session,
            actor="envol",
            action=ANNOUNCED,
            subject_type=decision.kind,
            subject_id=decision.marker,
            details={"page": decision.page},
        )
        session.flush()
    return fresh
