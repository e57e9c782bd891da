"""Reading adoption from Mattermost with as few requests as the API allows.

A snapshot needs, for N people on the team and C watched channels:

* the team by name: 1 request;
* the team's members, 200 a page: ceil(N/200) requests (one more when N is a multiple of 200:
  only a short page tells the listing is over);
* the users behind them (names, position, picture), 1000 ids a request: ceil(N/1000);
* the statuses of the roster's people (``last_activity_at``), 1000 ids a request: ceil(N/1000);
* the team's public channels, 200 a page: ceil(C/200);
* each watched channel's posts since the last snapshot: C requests (``since`` answers in one).

``minimum_requests`` is that sum; the benchmark compares the requests made with it.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from plugin.jsontypes import JSON
from plugin.mattermost import PER_PAGE, MattermostClient
from plugin.metrics.measures import profile_is_complete

IDS_PER_REQUEST = 1000  # the adapter's chunk for users/ids and users/status/ids
# Overlap between two reads of a channel: ``since`` compares update times, and a post stamped
# in the same millisecond as the cursor must not be skipped. Re-read posts are ignored by id.
CURSOR_OVERLAP_MS = 1000


def minimum_requests(members: int, status_ids: int, public_channels: int, watched: int) -> int:
    """The fewest requests a snapshot can make (see the module docstring)."""
    return (
        1
        + max(1, math.ceil((members + 1) / PER_PAGE))
        + math.ceil(members / IDS_PER_REQUEST)
        + math.ceil(status_ids / IDS_PER_REQUEST)
        + max(1, math.ceil((public_channels + 1) / PER_PAGE))
        + watched
    )


@dataclass(frozen=True, slots=True)
class TeamUser:
    """What a snapshot needs of a Mattermost user: a tenth of the memory of the user object
    (issue 18: the whole objects of a 100,000-person team were most of the snapshot's memory)."""

    id: str
    email: str  # lower-cased
    is_bot: bool
    profile_complete: bool


def iter_team_users(mm: MattermostClient, team_id: str) -> Iterator[list[TeamUser]]:
    """The team's active members that are active users, reduced to what the snapshot needs,
    one request's worth (``IDS_PER_REQUEST``) at a time as the member pages come: the caller
    stores each batch away, so neither the user objects nor the team's member ids are ever in
    memory together (issue 18)."""

    def read_users(ids: list[str]) -> list[TeamUser]:
        # By id: a member listed twice in one batch is read and kept once.
        users: dict[str, TeamUser] = {}
        for user in mm.get_users_by_ids(ids):
            if not user.get("delete_at"):
                users[user["id"]] = TeamUser(
                    id=user["id"],
                    email=str(user.get("email") or "").lower(),
                    is_bot=bool(user.get("is_bot")),
                    profile_complete=profile_is_complete(user),
                )
        return list(users.values())

    pending: list[str] = []
    for member in mm.iter_team_members(team_id):
        if not member.get("delete_at"):
            pending.append(member["user_id"])
            if len(pending) == IDS_PER_REQUEST:
                yield read_users(pending)
                pending = []
    if pending:
        yield read_users(pending)


def read_last_activity(mm: MattermostClient, user_ids: Iterable[str]) -> dict[str, int]:
    """``last_activity_at`` (ms) by user id; 0 when Mattermost never saw the person. The
    snapshot passes ``IDS_PER_REQUEST`` ids at a time (one request)."""
    ids = list(dict.fromkeys(user_ids))
    activity: dict[str, int] = {}
    # A chunk a request, reduced at once: the status objects of the whole team never pile up.
    for start in range(0, len(ids), IDS_PER_REQUEST):
        for status in mm.get_statuses(ids[start : start + IDS_PER_REQUEST]):
            activity[status["user_id"]] = int(status.get("last_activity_at") or 0)
    return activity


def public_channels(mm: MattermostClient, team_id: str) -> dict[str, str]:
    """Open channels of the team: id → display name."""
    return {
        channel["id"]: channel.get("display_name") or channel.get("name") or channel["id"]
        for channel in mm.list_team_channels(team_id)
        if not channel.get("delete_at")
    }


@dataclass
class ChannelReading:
    """One channel's posts changed since its cursor, and the cursor to store afterwards."""

    channel_id: str
    posts: list[JSON]
    read_until_ms: int


def iter_posts_since(
    mm: MattermostClient,
    channel_ids: Iterable[str],
    cursors: Mapping[str, int],
    first_read_since: dt.datetime,
) -> Iterator[ChannelReading]:
    """One ``since`` request per channel: from its cursor, or ``first_read_since`` at first.
    A channel at a time: the caller stores each before the next is read, so the posts of every
    channel are never in memory together (issue 18)."""
    first_ms = int(first_read_since.timestamp() * 1000)
    for channel_id in channel_ids:
        cursor = cursors.get(channel_id)
        since_ms = max(0, cursor - CURSOR_OVERLAP_MS) if cursor else first_ms
        newest = cursor or first_ms
        posts = []
        for post in mm.iter_channel_posts(channel_id, since=since_ms):
            posts.append(post)
            newest = max(newest, int(post.get("update_at") or 0), int(post.get("create_at") or 0))
        yield ChannelReading(channel_id, posts, newest)


def is_person_post(post: Mapping[str, Any], bot_ids: set[str]) -> bool:
    """A message written by a person: not a system message, a bot's post or a webhook's."""
    props = post.get("props") or {}
    return not (
        post.get("type")
        or post.get("user_id") in bot_ids
        or str(props.get("from_bot", "")).lower() == "true"
        or str(props.get("from_webhook", "")).lower() == "true"
    )
