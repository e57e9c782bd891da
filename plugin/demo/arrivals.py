"""How an invitation reaches a simulated person, whatever strategy Envol used.

* Envol's own e-mail carries the team's invite link (``…/signup_user_complete/?id=<invite_id>``):
  the model is handed the (address, link) pairs, e.g. read from the SMTP test server's messages
  with ``invitations_from_emails`` or from Envol's invitations table;
* Mattermost's e-mail invitation leaves a token in the sandbox (``state.sent_invites``): the
  model reads them itself, through its ``World`` (only the sandbox shows them: a real server
  keeps its tokens, so a rehearsal invites with Envol's e-mail);
* an existing account added to the team directly is already a member: the model reads team
  memberships itself, and "joining" means the person's first visit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from plugin.demo.mail_catcher import body_text

INVITE_LINK = "invite_link"
MATTERMOST_EMAIL = "mattermost_email"
ADDED = "added"
KINDS = (INVITE_LINK, MATTERMOST_EMAIL, ADDED)

# Mattermost's team invite link; the id is a 26-character Mattermost id.
INVITE_LINK_PATTERN = re.compile(r"signup_user_complete/?\?id=([a-z0-9]{26})")


@dataclass(frozen=True)
class ReceivedInvitation:
    """One invitation a person received. ``invite_id`` is the team's, for ``invite_link``."""

    email: str
    kind: str = INVITE_LINK
    invite_id: str = ""
    received_at: dt.datetime | None = None  # None: when the model is handed it

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown invitation kind {self.kind!r}; expected one of {KINDS}")
        if self.kind == INVITE_LINK and not self.invite_id:
            raise ValueError(f"the invitation to {self.email} has no team invite id")
        object.__setattr__(self, "email", self.email.strip().lower())


def invite_id_from_link(link_or_id: str) -> str:
    """The team's invite id from an invite link, or the id itself."""
    found = INVITE_LINK_PATTERN.search(link_or_id)
    if found:
        return found.group(1)
    candidate = link_or_id.strip()
    if re.fullmatch(r"[a-z0-9]{26}", candidate):
        return candidate
    raise ValueError(f"no Mattermost team invite link or id in {link_or_id[:80]!r}")


def invitation_link(
    email: str, link_or_id: str, at: dt.datetime | None = None
) -> ReceivedInvitation:
    return ReceivedInvitation(email, INVITE_LINK, invite_id_from_link(link_or_id), at)


def invitations_from_emails(
    messages: Iterable[Message], at: dt.datetime | None = None
) -> list[ReceivedInvitation]:
    """Envol's invitation e-mails (e.g. ``smtp_server.messages``) as received invitations:
    one per recipient of each message that carries a team invite link; others are ignored."""
    found: list[ReceivedInvitation] = []
    for message in messages:
        match = INVITE_LINK_PATTERN.search(body_text(message))
        if match is None:
            continue
        for _, address in getaddresses(message.get_all("To", [])):
            if address:
                found.append(ReceivedInvitation(address, INVITE_LINK, match.group(1), at))
    return found
