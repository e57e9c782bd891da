"""The Celery plumbing of the campaign: registered, scheduled, and runnable as a function."""

from __future__ import annotations

import datetime as dt

import pytest

from plugin import clock
from plugin.app import EnvolContext
from plugin.db import transaction
from plugin.tasks import BEAT_SCHEDULE, TASK_MODULES, celery_app
from tests.campaigns.conftest import add_roster
from tests.helpers.smtp import SmtpServer


def test_the_dispatcher_is_registered_and_on_the_beat() -> None:
    from plugin.campaigns.tasks import DISPATCH_TASK

    assert "plugin.campaigns.tasks" in TASK_MODULES
    assert DISPATCH_TASK in celery_app.tasks
    assert BEAT_SCHEDULE["campaigns-dispatch"]["task"] == DISPATCH_TASK


def test_the_task_reads_the_settings_and_sends_what_is_due(
    envol_context: EnvolContext, smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin.campaigns.tasks import dispatch_campaign

    monkeypatch.setattr(
        envol_context,
        "settings",
        envol_context.settings.model_copy(update={"smtp_url": smtp_server.url}),
    )
    with transaction(envol_context.sessions) as session:
        add_roster(session)
    clock.set_source(clock.FrozenClock(dt.datetime(2027, 1, 15, 10, 0, tzinfo=dt.UTC)))
    try:
        first = dispatch_campaign()
        again = dispatch_campaign()
    finally:
        clock.reset()
    assert first["sent"] == 5 and first["materialised"] == {"teaser-1": 5}
    assert again["sent"] == 0 and len(smtp_server.messages) == 5
