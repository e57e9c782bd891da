"""The launch console's eraser for ``people forget`` (see ``plugin/erasure.py``).

A console user's decisions name them as ``@username`` (``plugin.console.signin.actor_of``): the
usernames their sessions were opened with are the aliases ``erase_everywhere`` anonymises in
every ``ACTOR`` column; then their sessions are deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from plugin.console.models import ConsoleSession
from plugin.console.signin import actor_of
from plugin.erasure import ForgetSubject, affected_rows, erases, finds_aliases


@finds_aliases
def console_usernames(session: Session, subject: ForgetSubject) -> set[str]:
    if not subject.mattermost_user_id:
        return set()
    usernames = session.scalars(
        select(ConsoleSession.username)
        .where(ConsoleSession.user_id == subject.mattermost_user_id)
        .distinct()
    )
    return {actor_of(username) for username in usernames if username}


@erases("console_session")
def erase_console_sessions(session: Session, subject: ForgetSubject) -> dict[str, int]:
    if not subject.mattermost_user_id:
        return {}
    return {
        "console sessions deleted": affected_rows(
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.user_id == subject.mattermost_user_id)
            )
        )
    }
