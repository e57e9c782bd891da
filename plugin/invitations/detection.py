"""Join detection: who arrived since the last look.

The team's member listing (200 a request) is the source of truth: it sees everyone, whatever
way they came in (invitation e-mail, invite link, SSO, an admin adding them by hand), and it
cannot miss anyone while Envol was down. Members Envol has not linked to a person yet are read
with ``POST /users/ids`` (1,000 a request) and matched to the roster by e-mail. The dispatcher
adds a second net before every reminder (users by e-mail: the person may have an account but
not be in the team yet). A websocket listener would only make this faster, not more complete,
so it is left out.

Moving an invitation to ``joined`` is a compare-and-set (``transition_if``): two detections
running at once (a duplicate beat) move and audit it once, and a row a dispatcher holds under
lease is left for the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.db import transaction
from plugin.invitations.environment import CycleEnvironment
from plugin.invitations.lifecycle import transition_if
from plugin.invitations.models import JOINABLE_STATES, Invitation, InvitationState
from plugin.people.models import Person


@dataclass
class DetectionReport:
    team_members: int = 0
    looked_up: int = 0
    joined: int = 0


def detect_arrivals(env: CycleEnvironment) -> DetectionReport:
    report = DetectionReport()
    member_ids = {
        str(m["user_id"])
        for m in env.mm.iter_team_members(env.targets.team_id)
        if not m.get("delete_at")
    }
    report.team_members = len(member_ids)
    with env.sessions() as session:
        waiting = session.execute(
            select(Invitation.id, Person.id, Person.mattermost_user_id, Person.email)
            .join(Person, Person.id == Invitation.person_id)
            .where(Invitation.state.in_(JOINABLE_STATES))
        ).all()
        if not waiting:
            return report
        arrivals: dict[int, tuple[int, str]] = {}
        unlinked: dict[str, list[tuple[int, int]]] = {}
        for invitation_id, person_id, user_id, email in waiting:
            if user_id and user_id in member_ids:
                arrivals[invitation_id] = (person_id, user_id)
            elif not user_id:
                unlinked.setdefault(email.lower(), []).append((invitation_id, person_id))
        # Only the members already known need reading (not the whole roster's accounts), so
        # memory follows the team's size, not the roster's.
        linked = _linked_among(session, member_ids) if unlinked else set()
    unknown = sorted(member_ids - linked)
    if unlinked and unknown:
        report.looked_up = len(unknown)
        for user in env.mm.get_users_by_ids(unknown):
            for invitation_id, person_id in unlinked.get(str(user.get("email", "")).lower(), []):
                arrivals[invitation_id] = (person_id, str(user["id"]))
    if not arrivals:
        return report
    now = clock.now()
    with transaction(env.sessions) as session:
        for invitation_id, (person_id, user_id) in sorted(arrivals.items()):
            moved = transition_if(
                session,
                invitation_id,
                JOINABLE_STATES,
                InvitationState.JOINED,
                values={"mattermost_user_id": user_id, "due_at": now},
                reason="found in the team",
            )
            if not moved:
                continue
            report.joined += 1
            person = session.get(Person, person_id)
            if person is not None and person.mattermost_user_id != user_id:
                person.mattermost_user_id = user_id
    return report


def _linked_among(session: Session, user_ids: set[str], chunk: int = 1000) -> set[str]:
    """Which of ``user_ids`` already belong to a person of the roster."""
    ordered = sorted(user_ids)
    linked: set[str] = set()
    for start in range(0, len(ordered), chunk):
        linked.update(
            user_id
            for user_id in session.scalars(
                select(Person.mattermost_user_id).where(
                    Person.mattermost_user_id.in_(ordered[start : start + chunk])
                )
            )
            if user_id
        )
    return linked
