"""Wiring a dispatcher from the process context: settings, SMTP, the Mattermost adapter.

Shared by the Celery task, ``envol campaign send-due`` and the demo, so they send the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from plugin.campaigns.dispatcher import CampaignDispatcher, DispatchPolicy
from plugin.campaigns.plan import CampaignPlan, load_plan
from plugin.campaigns.platform import MattermostPlatformSender, PlatformSender
from plugin.campaigns.service import render_settings
from plugin.mail.config import SmtpConfig
from plugin.mail.message import Address
from plugin.mail.sender import SmtpMailer

if TYPE_CHECKING:
    from plugin.app import EnvolContext


class LazyMattermostSender:
    """Connects to Mattermost on the first platform message, so e-mail-only runs never need it."""

    def __init__(self, factory: Callable[[], PlatformSender]) -> None:
        self._factory = factory
        self._sender: PlatformSender | None = None

    def _get(self) -> PlatformSender:
        if self._sender is None:
            self._sender = self._factory()
        return self._sender

    def send_direct_message(self, user_id: str, message: str, *, marker: str) -> str:
        return self._get().send_direct_message(user_id, message, marker=marker)

    def post_to_channel(self, channel_name: str, message: str, *, marker: str) -> str:
        return self._get().post_to_channel(channel_name, message, marker=marker)

    def find_delivered(
        self, *, user_id: str | None, channel_name: str | None, marker: str, since: dt.datetime
    ) -> str | None:
        return self._get().find_delivered(
            user_id=user_id, channel_name=channel_name, marker=marker, since=since
        )


def build_dispatcher(
    context: EnvolContext,
    *,
    plan: CampaignPlan | None = None,
    launch_date: dt.date | None = None,
    platform: PlatformSender | None = None,
    policy: DispatchPolicy | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> CampaignDispatcher:
    settings = context.settings
    runtime = context.runtime.current
    smtp = SmtpConfig.from_url(settings.smtp_url)
    if platform is None:

        def connect() -> PlatformSender:
            from plugin.mattermost.client import MattermostClient

            return MattermostPlatformSender(
                MattermostClient.from_settings(settings), runtime.team_name
            )

        platform = LazyMattermostSender(connect)
    return CampaignDispatcher(
        context.sessions,
        plan or load_plan(),
        render_settings(context, runtime, launch_date),
        mail_from=Address.parse(settings.mail_from),
        mailer_factory=lambda: SmtpMailer(smtp),
        platform=platform,
        policy=policy,
        on_progress=on_progress,
    )
