"""What one dispatcher cycle works with: sessions, the adapter, the settings snapshot, the mailer,
and the Mattermost objects it resolves once per cycle (team, links, wave channels)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session, sessionmaker

from plugin.delivery.journal import JournalledMailer
from plugin.delivery.leases import (
    client_limits,
    lease_duration,
    leased_batch,
    smtp_within,
    worker_identity,
)
from plugin.delivery.posts import Courier
from plugin.invitations.strategies import Links
from plugin.mail import Address, SmtpConfig, SmtpMailer
from plugin.mattermost import MattermostClient, NotFound
from plugin.settings import RuntimeSettings


@dataclass
class CycleEnvironment:
    sessions: sessionmaker[Session]
    mm: MattermostClient
    runtime: RuntimeSettings
    sender: Address
    smtp: SmtpConfig | None = None
    owner: str = field(default_factory=worker_identity)
    lease: dt.timedelta = field(default_factory=lease_duration)
    batch_size: int = 500
    mailer_factory: Callable[[SmtpConfig], SmtpMailer] = SmtpMailer
    # Close the adapter with the environment (False for a process-wide shared client).
    owns_client: bool = False
    _mail: JournalledMailer | None = None
    _targets: TeamTargets | None = None

    @property
    def mail(self) -> JournalledMailer:
        """The SMTP connection, journalling what the relay accepts (``plugin.delivery.journal``)."""
        if self._mail is None:
            self._mail = JournalledMailer(self.sessions.kw["bind"], self._open_mailer)
        return self._mail

    def _open_mailer(self) -> SmtpMailer:
        if self.smtp is None:
            raise RuntimeError("no SMTP configuration: set ENVOL_SMTP_URL")
        return self.mailer_factory(self.smtp)

    def leased(self, model: Any, where: ColumnElement[bool]) -> AbstractContextManager[list[int]]:
        """Up to ``batch_size`` due rows of ``model`` leased to this cycle for the block
        (``plugin.delivery.leases.leased_batch``)."""
        return leased_batch(
            self.sessions, model, owner=self.owner, lease=self.lease, limit=self.batch_size,
            where=where,
        )  # fmt: skip

    @property
    def courier(self) -> Courier:
        """What ``plugin.delivery.posts.send_dm_once`` sends with."""
        return Courier(self.sessions, self.mm, self.owner, self.lease)

    @property
    def targets(self) -> TeamTargets:
        if self._targets is None:
            self._targets = TeamTargets.resolve(self.mm, self.runtime)
        return self._targets

    def close(self) -> None:
        if self._mail is not None:
            self._mail.close()
            self._mail = None
        if self.owns_client:
            self.mm.close()


@dataclass
class TeamTargets:
    """The team people are invited to, and the links texts point at."""

    mm: MattermostClient
    team: dict[str, Any]
    links: Links
    _channels: dict[str, str | None] = field(default_factory=dict)

    @property
    def team_id(self) -> str:
        return str(self.team["id"])

    @classmethod
    def resolve(cls, mm: MattermostClient, runtime: RuntimeSettings) -> TeamTargets:
        team = mm.get_team_by_name(runtime.team_name)
        site_url = str(mm.get_client_config().get("SiteURL") or mm.url).rstrip("/")
        team_url = f"{site_url}/{team['name']}"
        links = Links(
            site_url=site_url,
            team_url=team_url,
            invite_link=f"{site_url}/signup_user_complete/?id={team.get('invite_id', '')}",
            support_url=f"{team_url}/channels/{runtime.support_channel}",
            ios_url=runtime.mobile_app_ios_url,
            android_url=runtime.mobile_app_android_url,
            desktop_url=runtime.desktop_app_url,
        )
        return cls(mm=mm, team=team, links=links)

    def channel_id(self, name: str) -> str | None:
        """The id of the team's channel called ``name``; None if it does not exist (logged by
        the caller once per cycle: a wave naming a channel nobody created)."""
        if name not in self._channels:
            try:
                self._channels[name] = str(self.mm.get_channel_by_name(self.team_id, name)["id"])
            except NotFound:
                self._channels[name] = None
        return self._channels[name]

    def channel_ids(self, names: list[str]) -> list[str]:
        return [cid for cid in (self.channel_id(n) for n in names) if cid]


def build_environment(context: Any, *, mm: MattermostClient | None = None) -> CycleEnvironment:
    """The environment of a task or CLI run, from the process's ``EnvolContext``."""
    settings = context.settings
    lease = lease_duration()
    return CycleEnvironment(
        sessions=context.sessions,
        mm=mm or MattermostClient.from_settings(settings, **client_limits(lease)),
        owns_client=mm is None,
        runtime=context.runtime.current,
        sender=Address.parse(settings.mail_from),
        smtp=smtp_within(SmtpConfig.from_url(settings.smtp_url), lease),
        lease=lease,
    )
