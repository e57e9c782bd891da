from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from plugin.app import build_context, follow_plugin_settings
from plugin.errors import ConfigurationError
from plugin.sandbox import Sandbox
from plugin.settings import (
    EXAMPLE_LAUNCH_DATE,
    RuntimeSettings,
    RuntimeSettingsStore,
    load_deploy_settings,
    load_manifest,
    runtime_settings_from_config,
    schema_key_to_field,
)


def test_deploy_defaults_need_no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("ENVOL_DATABASE_URL", "ENVOL_BROKER_URL"):
        monkeypatch.delenv(key, raising=False)
    settings = load_deploy_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.broker_url.startswith("sqla+sqlite://")


def test_bad_deploy_settings_list_every_bad_key_without_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENVOL_DATABASE_URL", "mysql://db")
    monkeypatch.setenv("ENVOL_BROKER_URL", "kafka://x")
    monkeypatch.setenv("ENVOL_MATTERMOST_URL", "chat.example.com")
    monkeypatch.setenv("ENVOL_SECRET_KEY", "short-s3cret")
    with pytest.raises(ConfigurationError) as caught:
        load_deploy_settings()
    message = str(caught.value)
    for key in (
        "ENVOL_DATABASE_URL",
        "ENVOL_BROKER_URL",
        "ENVOL_MATTERMOST_URL",
        "ENVOL_SECRET_KEY",
    ):
        assert key in message
    assert "short-s3cret" not in message
    assert "mysql://db" not in message  # URLs may carry passwords


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVOL_PUBLIC_URL", raising=False)
    (tmp_path / ".env").write_text("ENVOL_PUBLIC_URL=https://envol.example.com/\n")
    assert load_deploy_settings().public_url == "https://envol.example.com"


def test_settings_schema_and_model_are_in_step() -> None:
    schema_fields = {
        schema_key_to_field(s["key"]) for s in load_manifest()["settings_schema"]["settings"]
    }
    assert schema_fields == set(RuntimeSettings.model_fields)


def test_runtime_settings_defaults_come_from_the_manifest() -> None:
    settings = runtime_settings_from_config({})
    defaults = {s["key"]: s["default"] for s in load_manifest()["settings_schema"]["settings"]}
    assert settings.bot_username == defaults["BotUsername"]
    # No company's own fact has a demo default: left empty, they stand for the example ones.
    assert defaults["CompanyName"] == defaults["LaunchDate"] == ""
    assert settings.launch_date == EXAMPLE_LAUNCH_DATE
    assert settings.example_facts == ("CompanyName", "LaunchDate")
    assert settings.reminder_delays_days == (3, 7)


def test_stored_keys_are_matched_lowercased_like_the_server_does() -> None:
    settings = runtime_settings_from_config(
        {"pilotpercent": 12.5, "ReminderDelaysDays": "2, 5", "animatorsgroup": "@alice\nbob"}
    )
    assert settings.pilot_percent == 12.5
    assert settings.reminder_delays_days == (2, 5)
    assert settings.animators_group == ("alice", "bob")


def test_launch_team_holds_usernames_and_channels() -> None:
    settings = runtime_settings_from_config({"launchteam": "@Claire\n~Comite-Pilotage, dan"})
    assert settings.launch_team == ("claire", "~comite-pilotage", "dan")
    assert settings.launch_team_usernames == ("claire", "dan")
    assert settings.launch_team_channels == ("comite-pilotage",)
    assert runtime_settings_from_config({}).launch_team == ()
    with pytest.raises(ConfigurationError, match="LAUNCH_TEAM"):
        runtime_settings_from_config({"LaunchTeam": "claire dupont@example"})


def test_bad_runtime_settings_name_the_field() -> None:
    with pytest.raises(ConfigurationError, match="REMINDER_DELAYS_DAYS"):
        runtime_settings_from_config({"reminderdelaysdays": "7,3"})


def test_store_swaps_atomically_and_keeps_the_last_good_snapshot() -> None:
    store = RuntimeSettingsStore()
    before = store.current
    assert store.refresh(lambda: {"pilotpercent": 20}) is True
    assert store.current.pilot_percent == 20 and before.pilot_percent == 10
    with pytest.raises(ConfigurationError):
        store.refresh(lambda: {"launchdate": "next spring"})
    assert store.current.pilot_percent == 20
    assert store.refresh(lambda: {"pilotpercent": 20}) is False


def test_snapshot_is_frozen() -> None:
    settings = runtime_settings_from_config({})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type is internal
        settings.pilot_percent = 50  # type: ignore[misc]


def test_long_running_processes_follow_the_system_console_page(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What an admin saves on the plugin's settings page reaches a running worker, and a bad
    value there keeps the last good settings instead of stopping the launch."""
    context = build_context(
        load_deploy_settings(
            database_url=f"sqlite:///{tmp_path / 'envol.db'}",
            mattermost_url=sandbox.url,
            mattermost_token=sandbox.admin_token,
            secret_key="test-secret-key-0123456789",
        )
    )
    follow_plugin_settings(context, max_age=0.0)
    assert context.runtime.current.team_name == "entreprise"  # never saved: plugin.json's

    def save(values: dict[str, object]) -> None:
        # Mattermost stores the keys lowercased, as the System Console saves them.
        sandbox.patch_config({"PluginSettings": {"Plugins": {"fr.envol.launch": values}}})

    save({"teamname": "acme", "launchdate": "2027-04-01"})
    assert context.runtime.current.team_name == "acme"
    assert context.runtime.current.launch_date == dt.date(2027, 4, 1)
    save({"teamname": "acme", "launchdate": "next spring"})
    assert context.runtime.current.launch_date == dt.date(2027, 4, 1)
    assert "kept the last good plugin settings" in caplog.text
    context.dispose()
