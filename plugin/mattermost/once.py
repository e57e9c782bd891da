"""Posts that go out once: a task retried after a crash (it posted, then died before its
commit) finds its post by its marker instead of posting again."""

from __future__ import annotations

import datetime as dt
from typing import Any

from plugin.mattermost.client import MattermostClient


def post_once(
    client: MattermostClient,
    channel_id: str,
    message: str,
    *,
    marker: str,
    since: dt.datetime,
    props: dict[str, Any] | None = None,
    root_id: str = "",
) -> dict[str, Any]:
    """Post unless a post with ``marker`` is already in the channel since ``since``."""
    existing = client.find_post_by_marker(channel_id, marker, since - dt.timedelta(minutes=1))
    if existing is not None:
        return existing
    return client.create_post(channel_id, message, props=props, root_id=root_id, marker=marker)


def direct_message_once(
    client: MattermostClient,
    user_id: str,
    message: str,
    *,
    marker: str,
    since: dt.datetime,
    props: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``post_once`` in the direct channel between Envol's account and ``user_id``."""
    channel_id = client.get_direct_channel(user_id)["id"]
    return post_once(client, channel_id, message, marker=marker, since=since, props=props)
