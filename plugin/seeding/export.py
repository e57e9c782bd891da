"""``envol seed export --format mattermost-import``: the content as a bulk-import JSONL file.

For admins who prefer ``mmctl import``: the same teams, channels, posts, replies, pins and
files, one JSON object per line (``version`` first, then teams, channels and posts). Post
times are fixed (derived from the launch date), so importing the file twice updates the same
posts instead of duplicating them: Mattermost's importer identifies a post by its channel,
author and creation time.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from plugin.security.service import Signer
from plugin.seeding.desired import DesiredObject, DesiredState
from plugin.seeding.engine import post_props

DATA_DIR = "data"


def bulk_import_lines(
    desired: DesiredState,
    *,
    bot_username: str,
    launch_date: dt.date,
    signer: Signer,
    public_url: str,
) -> list[dict[str, Any]]:
    """The JSONL lines, in the order Mattermost's importer requires."""
    teams = {o.slug: o for o in desired.objects if o.kind == "team"}
    channels = {o.slug: o for o in desired.objects if o.kind == "channel"}
    lines: list[dict[str, Any]] = [{"type": "version", "version": 1}]
    lines += [{"type": "team", "team": _team(team)} for team in teams.values()]
    lines += [
        {"type": "channel", "channel": _channel(channel, teams[str(channel.parent)])}
        for channel in channels.values()
    ]
    posts = _PostWriter(desired, bot_username, launch_date, signer, public_url)
    for obj in desired.objects:
        if obj.kind == "post":
            channel = channels[str(obj.parent)]
            post = posts.post(obj, channel, teams[str(channel.parent)])
            lines.append({"type": "post", "post": post})
    return lines


def _team(team: DesiredObject) -> dict[str, Any]:
    return {
        "name": team.fields["name"],
        "display_name": team.fields["display_name"],
        "type": team.fields["type"],
        "description": team.fields["description"],
        "allow_open_invite": team.fields["type"] == "O",
    }


def _channel(channel: DesiredObject, team: DesiredObject) -> dict[str, Any]:
    return {
        "team": team.fields["name"],
        "name": channel.fields["name"],
        "display_name": channel.fields["display_name"],
        "type": channel.fields["type"],
        "purpose": channel.fields["purpose"],
        "header": channel.fields["header"],
    }


class _PostWriter:
    """Posts and their replies, each a minute (a reply a second) after the one before, from
    a month before the launch: the seeded content is there before anyone arrives."""

    def __init__(
        self,
        desired: DesiredState,
        bot_username: str,
        launch_date: dt.date,
        signer: Signer,
        public_url: str,
    ) -> None:
        self.desired = desired
        self.bot_username = bot_username
        self.signer = signer
        self.public_url = public_url
        base = dt.datetime.combine(launch_date - dt.timedelta(days=30), dt.time(9, 0), dt.UTC)
        self.moment = int(base.timestamp() * 1000)
        self.replies: dict[str, list[DesiredObject]] = {}
        for obj in desired.objects:
            if obj.kind == "reply":
                self.replies.setdefault(str(obj.parent), []).append(obj)

    def username(self, author: str) -> str:
        member = self.desired.members.get(author)
        return member.username if member is not None else self.bot_username

    def post(
        self, obj: DesiredObject, channel: DesiredObject, team: DesiredObject
    ) -> dict[str, Any]:
        self.moment += 60_000
        post: dict[str, Any] = {
            "team": team.fields["name"],
            "channel": channel.fields["name"],
            "user": self.username(str(obj.fields["author"])),
            "message": obj.fields["message"],
            "props": post_props(obj, self.signer, self.public_url, self.desired.language),
            "create_at": self.moment,
            "is_pinned": bool(obj.fields["pinned"]),
        }
        if obj.fields.get("files"):
            post["attachments"] = [
                {"path": f"{DATA_DIR}/{item['name']}"} for item in obj.fields["files"]
            ]
        thread = []
        for reply in self.replies.get(obj.slug, []):
            self.moment += 1_000
            thread.append(
                {
                    "user": self.username(str(reply.fields["author"])),
                    "message": reply.fields["message"],
                    "create_at": self.moment,
                }
            )
        if thread:
            post["replies"] = thread
        return post


def write_bulk_import(desired: DesiredState, output: Path, **options: Any) -> tuple[int, int]:
    """Write the JSONL file and copy attached files to ``data/`` beside it.

    Returns ``(lines, files)``. Zip the file with its ``data/`` folder for ``mmctl import
    upload``.
    """
    lines = bulk_import_lines(desired, **options)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as handle:
        for line in lines:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    copied = 0
    for obj in desired.objects:
        for item in obj.fields.get("files") or []:
            target = output.parent / DATA_DIR / item["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(desired.asset(item["name"]), target)
            copied += 1
    return len(lines), copied
