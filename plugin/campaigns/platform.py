"""Platform messages (a DM from the bot, a post in a channel), behind a small protocol.

The dispatcher only knows ``PlatformSender``; ``MattermostPlatformSender`` implements it with the
adapter (``plugin.mattermost``). Each message carries a marker derived from its idempotency key,
so a send whose outcome was lost (a crash, an expired lease) is looked up before it is repeated.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from plugin.mattermost.client import MattermostClient


class PlatformFailure(Exception):
    """A platform send failed; ``temporary`` says whether a retry can help."""

    def __init__(self, temporary: bool, reason: str, connection_level: bool = False) -> None:
        super().__init__(f"{'temporary' if temporary else 'permanent'}: {reason}")
        self.temporary = temporary
        self.reason = reason
        self.connection_level = connection_level


class PlatformSender(Protocol):
    def send_direct_message(self, user_id: str, message: str, *, marker: str) -> str:
        """Post ``message`` to the person's DM with the bot; returns the post id."""
        ...

    def post_to_channel(self, channel_name: str, message: str, *, marker: str) -> str:
        """Post ``message`` in the team's channel ``channel_name``; returns the post id."""
        ...

    def find_delivered(
        self, *, user_id: str | None, channel_name: str | None, marker: str, since: dt.datetime
    ) -> str | None:
        """The id of a post carrying ``marker`` created since ``since``, if any."""
        ...


def not_a_bot_reason(me: dict[str, object]) -> str | None:
    """Why Envol must not post with this account (a person's, not a bot), or None."""
    if me.get("is_bot"):
        return None
    return (
        f"Envol's Mattermost token belongs to @{me.get('username', '?')}, a person, not a bot: "
        "its messages would appear as theirs. Create Envol's bot (envol preflight says how) and "
        "set ENVOL_MATTERMOST_TOKEN to the bot's token; nothing is posted until then"
    )


class MattermostPlatformSender:
    """``PlatformSender`` over ``MattermostClient``; failures become ``PlatformFailure``.

    Envol posts as its bot or not at all: with a person's token, every post and DM is refused
    (a connection-level failure: the messages wait, unsent, until the token is a bot's)."""

    def __init__(self, client: MattermostClient, team_name: str) -> None:
        self._client = client
        self._team_name = team_name
        self._team_id: str | None = None
        self._channel_ids: dict[str, str] = {}
        self._checked_bot = False

    def _require_bot(self) -> None:
        if self._checked_bot:
            return
        with _translated():
            reason = not_a_bot_reason(self._client.get_me())
        if reason is not None:
            raise PlatformFailure(True, reason, connection_level=True)
        self._checked_bot = True

    def _channel_id(self, channel_name: str) -> str:
        if channel_name not in self._channel_ids:
            if self._team_id is None:
                self._team_id = self._client.get_team_by_name(self._team_name)["id"]
            channel = self._client.get_channel_by_name(self._team_id, channel_name)
            self._channel_ids[channel_name] = channel["id"]
        return self._channel_ids[channel_name]

    def send_direct_message(self, user_id: str, message: str, *, marker: str) -> str:
        self._require_bot()
        with _translated():
            post = self._client.send_direct_message(user_id, message, marker=marker)
        return str(post["id"])

    def post_to_channel(self, channel_name: str, message: str, *, marker: str) -> str:
        self._require_bot()
        with _translated():
            post = self._client.create_post(self._channel_id(channel_name), message, marker=marker)
        return str(post["id"])

    def find_delivered(
        self, *, user_id: str | None, channel_name: str | None, marker: str, since: dt.datetime
    ) -> str | None:
        with _translated():
            if user_id is not None:
                channel_id = self._client.direct_channel_id(user_id)
            elif channel_name is not None:
                channel_id = self._channel_id(channel_name)
            else:
                return None
            post = self._client.find_post_by_marker(channel_id, marker, since)
        return str(post["id"]) if post else None


@contextmanager
def _translated() -> Iterator[None]:
    """Mattermost errors → ``PlatformFailure`` (temporary unless the request itself is wrong)."""
    from plugin.mattermost.errors import (
        Forbidden,
        Invalid,
        MattermostError,
        NotFound,
        Retryable,
        Unauthorized,
    )

    try:
        yield
    except Retryable as error:
        raise PlatformFailure(True, str(error), connection_level=True) from error
    except Unauthorized as error:
        raise PlatformFailure(
            True,
            "the Mattermost token was refused: check ENVOL_MATTERMOST_TOKEN",
            connection_level=True,
        ) from error
    except (Invalid, Forbidden, NotFound) as error:
        raise PlatformFailure(False, str(error)) from error
    except MattermostError as error:
        raise PlatformFailure(True, str(error)) from error
