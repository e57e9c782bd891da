"""``/console/support``: the requests waiting for an answer, their age, who answers, and a link
to each thread in Mattermost."""

from __future__ import annotations

from typing import Any

from plugin import clock
from plugin.errors import EnvolError
from plugin.support.models import TicketStatus
from plugin.support.service import list_tickets
from webhooks.console import blueprint
from webhooks.console.auth import found, signed_in
from webhooks.console.pages import render_page

OPEN = (TicketStatus.OPEN, TicketStatus.TAKEN, TicketStatus.ANSWERED)


def _username(user_id: str | None) -> str:
    if not user_id:
        return ""
    user = found().users.get(user_id)
    return str((user or {}).get("username") or "")


@blueprint.get("/support")
@signed_in
def support() -> Any:
    where = found()
    runtime = where.runtime
    now = clock.now()
    base = f"{where.context.settings.mattermost_url}/{runtime.team_name}/pl/"
    with where.context.sessions() as session:
        tickets = list_tickets(session, status=[s for s in OPEN], limit=300)
        rows = []
        for ticket in sorted(tickets, key=lambda ticket: ticket.created_at):
            try:
                assignee = _username(ticket.assignee_user_id)
            except EnvolError:
                assignee = ""
            rows.append(
                {
                    "ticket": ticket,
                    "age_hours": int((now - ticket.created_at).total_seconds() // 3600),
                    "assignee": assignee,
                    "link": base + ticket.root_post_id if ticket.root_post_id else "",
                    "late": (now - ticket.created_at).total_seconds()
                    > runtime.support_reminder_hours * 3600
                    and ticket.answered_at is None,
                }
            )
    return render_page("console/support.html", rows=rows, reminder=runtime.support_reminder_hours)
