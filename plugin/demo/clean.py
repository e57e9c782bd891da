"""``envol demo --mattermost-url … --clean``: remove what rehearsals left on a staging server.

What goes, from the scene's record (``WORKDIR/rehearsal.json``, kept across rehearsals):

* every user the scene created, and every member of the teams it created whose e-mail is in the
  fictional company's reserved domain (the simulated employees, who signed up themselves): each
  is deactivated (``DELETE /users/{id}``), which revokes their sessions and tokens;
* the bots it created: disabled with their tokens;
* the channels it created, then the teams it created: archived, content kept (Mattermost's
  archive, reversible in the System Console; a permanent deletion needs
  ``ServiceSettings.EnableAPITeamDeletion`` and is left to the admin);
* the server settings it changed: put back to their previous values.

Nothing is erased: deactivated accounts and archived teams stay in the database, out of sight,
as after any departure. Whatever the scene found already there (not created) is left alone, and
so is the token's own account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from plugin.demo.fake_roster import DOMAIN
from plugin.demo.scene import SCENE_RECORD_FILE, SceneRecord
from plugin.mattermost import MattermostClient, NotFound
from plugin.settings import runtime_settings_from_config


@dataclass
class CleanReport:
    deactivated: list[str] = field(default_factory=list)  # usernames
    bots_disabled: list[str] = field(default_factory=list)
    channels_archived: list[str] = field(default_factory=list)
    teams_archived: list[str] = field(default_factory=list)
    settings_restored: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            f"{len(names)} {what}: {', '.join(sorted(names)) or '-'}"
            for what, names in (
                ("user(s) deactivated", self.deactivated),
                ("bot(s) disabled", self.bots_disabled),
                ("channel(s) archived", self.channels_archived),
                ("team(s) archived", self.teams_archived),
                ("setting(s) restored", self.settings_restored),
            )
        ]


def clean_rehearsal(
    url: str, token: str, workdir: Path, *, say: Callable[[str], None] = print
) -> CleanReport:
    """Remove what the rehearsals recorded in ``workdir`` created on ``url``; the record is
    emptied of what was removed."""
    path = workdir / SCENE_RECORD_FILE
    record = SceneRecord.read(path)
    report = CleanReport()
    if record.server and record.server != url.rstrip("/"):
        say(f"the record in {path} is of {record.server}, not {url}: nothing removed")
        return report
    with MattermostClient(url, token) as client:
        me = str(client.get_me()["id"])
        # The launch's team too when the rehearsal found it there rather than created it: its
        # simulated people are the rehearsal's all the same.
        launch_team = runtime_settings_from_config({}).team_name
        team_ids = set(record.teams.values())
        with suppress(NotFound):
            team_ids.add(str(client.get_team_by_name(launch_team)["id"]))
        people = _simulated_people(client, sorted(team_ids))
        for username, user_id in sorted({**people, **record.users}.items()):
            if user_id != me:
                client.deactivate_user(user_id)
                report.deactivated.append(username)
        for username, bot_id in sorted(record.bots.items()):
            try:
                client.disable_bot(bot_id)
            except NotFound:
                continue  # removed by hand already
            report.bots_disabled.append(username)
        for name, channel_id in sorted(record.channels.items()):
            if name.split("/", 1)[0] in record.teams:
                continue  # archived with its team
            try:
                client.delete_channel(channel_id)
            except NotFound:
                continue
            report.channels_archived.append(name)
        for name, team_id in sorted(record.teams.items()):
            client.archive_team(team_id)
            report.teams_archived.append(name)
        restore: dict[str, dict[str, object]] = {}
        for key, before in sorted(record.settings.items()):
            if before is None:
                continue  # the setting did not exist on this server: nothing to put back
            section, name = key.split(".", 1)
            restore.setdefault(section, {})[name] = before
            report.settings_restored.append(f"{key} = {before!r}")
        if restore:
            client.patch_config(restore)
    SceneRecord(server=record.server).write(path)
    return report


def _simulated_people(client: MattermostClient, team_ids: Iterable[str]) -> dict[str, str]:
    """The members of these teams whose e-mail is in the fictional company's domain."""
    found: dict[str, str] = {}
    for team_id in team_ids:
        member_ids = [str(m["user_id"]) for m in client.iter_team_members(team_id)]
        for user in client.get_users_by_ids(member_ids):
            if str(user.get("email", "")).lower().endswith("@" + DOMAIN):
                found[str(user["username"])] = str(user["id"])
    return found
