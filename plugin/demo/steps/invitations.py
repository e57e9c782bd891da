"""Demo step: after the launch, the invitations and onboarding seen from the outside.

The launch step (``plugin/demo/steps/launch.py``) drives the waves through this capability on the
demo's clock: invitations, reminders, joins, welcomes, nudges and the managers' digests. This
step then counts, from the mail catcher and the sandbox (not from Envol's own tables), what
each person actually received, and shows that nothing went twice. The posts are read through
the demo's ``World``: the sandbox's state, or a real Mattermost's API v4.
"""

from __future__ import annotations

import re
from collections import Counter
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from rich.table import Table
from sqlalchemy import func, select

from plugin.cohorts.models import Wave
from plugin.delivery.models import OutboundMessage, OutboundState
from plugin.demo.world import world_for
from plugin.invitations.models import Invitation
from plugin.mattermost import MattermostClient
from plugin.onboarding.funnel import funnel

if TYPE_CHECKING:
    from plugin.demo.run import DemoRun


def delivered_counts(
    mail_messages: list[Any], posts: list[dict[str, Any]]
) -> dict[str, Counter[str]]:
    """Per key, how many times it really arrived: e-mails by ``X-Envol-Key``, DMs by marker."""
    emails: Counter[str] = Counter(
        str(m["X-Envol-Key"]) for m in mail_messages if m["X-Envol-Key"] is not None
    )
    dms: Counter[str] = Counter(
        str((p.get("props") or {}).get("envol_marker"))
        for p in posts
        if (p.get("props") or {}).get("envol_marker") and not p.get("delete_at")
    )
    return {"emails": emails, "dms": dms}


def step_invitations_outcome(run: DemoRun) -> None:
    mail = run.state.get("mail")
    if mail is None:
        run.console.print("[yellow]this step needs the demo's stage (envol demo)[/]")
        return
    runtime = run.context.runtime.current
    with run.context.sessions() as session:
        waves = list(session.scalars(select(Invitation.wave_id).distinct()))
        names = list(
            session.scalars(select(Wave.name).where(Wave.id.in_(waves)).order_by(Wave.position))
        )
        table = Table(title="envol invitations status, wave by wave")
        for column in (
            "wave",
            "planned",
            "sent",
            "reminded",
            "joined",
            "activated",
            "profile complete",
            "expired",
            "failed",
        ):
            table.add_column(column, justify="left" if column == "wave" else "right")
        for name in names:
            f = funnel(session, runtime, name)
            table.add_row(
                name,
                *(
                    str(n)
                    for n in (
                        f.planned,
                        f.sent,
                        f.reminded,
                        f.joined,
                        f.activated,
                        f.profile_complete,
                        f.expired,
                        f.failed,
                    )
                ),
            )
        uncertain = (
            session.scalar(
                select(func.count(OutboundMessage.id)).where(
                    OutboundMessage.state == OutboundState.UNCERTAIN
                )
            )
            or 0
        )
    run.console.print(table)
    with MattermostClient.from_settings(run.context.settings) as mm:
        team_id = str(mm.get_team_by_name(runtime.team_name)["id"])
    world = world_for(run)
    # A fresh world: every post of Envol's team and of its direct messages (a staging server's
    # other teams are none of the demo's business).
    posts = world.new_posts([team_id])
    world.close()
    counts = delivered_counts(list(mail.messages), posts)
    recipients = Counter(
        parseaddr(str(m["To"]))[1].lower() for m in mail.messages if m["X-Envol-Key"]
    )
    for what, counter in counts.items():
        # "nudge:12:1", "launch-survey-3-41", "support-ticket-7-ack": the kind is what comes
        # before the first id.
        kinds = Counter(re.split(r":|-(?=\d)", key, maxsplit=1)[0] for key in counter)
        twice = sum(1 for n in counter.values() if n > 1)
        run.console.print(
            f"{what} really delivered: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
            + f" — sent twice: [{'red' if twice else 'green'}]{twice}[/]"
        )
    run.console.print(
        f"{len(recipients)} people received Envol's invitation e-mails; Mattermost invitations "
        f"whose answer was lost (uncertain): {uncertain}"
    )
