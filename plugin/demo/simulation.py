"""A launch played by simulated people, for the demo and the metrics tests.

Every action is real HTTP to Mattermost — the sandbox or a real server, through a ``World``
(sign-up through the team's invite link, profile and picture changes, posts and replies). The
simulation keeps its own journal of what each person did and when, so a test can compute the
expected funnel without any of the metrics code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import clock
from plugin.demo.person import AppUser
from plugin.demo.world import SandboxWorld, World, app_user
from plugin.invitations.models import Invitation, InvitationState
from plugin.jsontypes import JSON
from plugin.people.models import Person
from plugin.sandbox import Sandbox


@dataclass
class Journal:
    """What one simulated person did: the ground truth the metrics must find."""

    person_id: int
    invited: bool = False
    user_id: str | None = None
    profile_complete: bool = False
    # Every moment the person touched Mattermost (any HTTP call as themselves).
    seen_at: list[dt.datetime] = field(default_factory=list)
    # (moment, is_reply) of every post the person wrote.
    posts: list[tuple[dt.datetime, bool]] = field(default_factory=list)


class LaunchSimulation:
    """Drive simulated people; ``journal`` maps person ids to what they did."""

    def __init__(self, world: World | Sandbox, session: Session, team: JSON) -> None:
        """``world``: where the people act; a ``Sandbox`` stands for its ``SandboxWorld``."""
        self.world = SandboxWorld(world) if isinstance(world, Sandbox) else world
        self.session = session
        self.team = team
        self.journal: dict[int, Journal] = {}
        self._users: dict[int, AppUser] = {}

    def _entry(self, person_id: int) -> Journal:
        return self.journal.setdefault(person_id, Journal(person_id))

    def _seen(self, person_id: int) -> None:
        self._entry(person_id).seen_at.append(clock.now())

    def invite(self, person: Person, wave_id: int) -> None:
        """An invitation was sent (as the invitation engine would record it)."""
        existing = self.session.scalar(
            select(Invitation).where(
                Invitation.person_id == person.id, Invitation.wave_id == wave_id
            )
        )
        if existing is None:
            self.session.add(
                Invitation(
                    person_id=person.id,
                    wave_id=wave_id,
                    state=InvitationState.SENT,
                    sent_at=clock.now(),
                )
            )
            self.session.flush()
        self._entry(person.id).invited = True

    def join(self, person: Person, *, link_person: bool = True) -> AppUser:
        """The person signs up through the team's invite link and lands on the team.

        With ``link_person`` the roster row gets the Mattermost id (as join detection does);
        without it, the metrics must find the person by e-mail.
        """
        user_id = self.world.sign_up(
            email=person.email,
            username=f"person-{person.id}",  # ASCII only, like Mattermost requires
            profile={"first_name": person.first_name, "last_name": person.last_name},
            invite_id=self.team["invite_id"],
        )
        user = app_user(self.world, user_id)
        if link_person:
            person.mattermost_user_id = user.user_id
            self.session.flush()
        # The web app signs the newcomer in and loads their profile: Mattermost sees them.
        user.update_profile(first_name=person.first_name)
        self._users[person.id] = user
        entry = self._entry(person.id)
        entry.user_id = user.user_id
        self._seen(person.id)
        return user

    def user(self, person: Person) -> AppUser:
        return self._users[person.id]

    def complete_profile(self, person: Person, position: str = "Chargé de mission") -> None:
        user = self._users[person.id]
        user.update_profile(position=position)
        user.set_profile_picture()
        self._entry(person.id).profile_complete = True
        self._seen(person.id)

    def post(self, person: Person, channel_id: str, message: str) -> JSON:
        user = self._users[person.id]
        if not user.is_member_of(channel_id):
            user.join_channel(channel_id)
        created = user.post(channel_id, message)
        self._entry(person.id).posts.append((clock.now(), False))
        self._seen(person.id)
        return created

    def reply(self, person: Person, root_id: str, message: str) -> JSON:
        user = self._users[person.id]
        channel_id = user.channel_of_post(root_id)
        if not user.is_member_of(channel_id):
            user.join_channel(channel_id)
        created = user.reply(root_id, message)
        self._entry(person.id).posts.append((clock.now(), True))
        self._seen(person.id)
        return created

    def visit(self, person: Person) -> None:
        """The person opens Mattermost and reads (one authenticated call, no post)."""
        self._users[person.id].update_profile(nickname="")
        self._seen(person.id)
