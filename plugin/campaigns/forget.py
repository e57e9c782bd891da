"""This capability's eraser for ``people forget`` (see ``plugin/erasure.py``)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from plugin.campaigns.models import CampaignDelivery, CampaignOptOut
from plugin.erasure import ForgetSubject, affected_rows, erases


@erases("campaign_delivery", "campaign_opt_out")
def erase_campaign_deliveries(session: Session, subject: ForgetSubject) -> dict[str, int]:
    """Deliveries stay, without the person and their last error (a relay's refusal may quote
    the address): a step is still known as sent to that recipient key, so it never goes twice.
    The opt-out is deleted with the person it was about."""
    if subject.person_id is None:
        return {}
    pid = subject.person_id
    return {
        "campaign deliveries anonymised": affected_rows(
            session.execute(
                update(CampaignDelivery)
                .where(CampaignDelivery.person_id == pid)
                .values(person_id=None, error="")
            )
        ),
        "campaign opt-outs deleted": affected_rows(
            session.execute(delete(CampaignOptOut).where(CampaignOptOut.person_id == pid))
        ),
    }
