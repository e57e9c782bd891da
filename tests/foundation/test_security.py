from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy.orm import Session

from plugin.app import set_context
from plugin.cli import root
from plugin.errors import ConfigurationError
from plugin.security.service import RequestRejected, Signer, command_token_matches
from plugin.settings import DEVELOPMENT_SECRET_KEY, load_deploy_settings
from webhooks import create_app

HOUR = dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("form", "header", "ok"),
    [
        ("tok-1", None, True),
        (None, "Token tok-1", True),
        ("tok-1", "Token tok-1", True),
        ("tok-2", "Token tok-2", True),
        ("tok-1", "Token tok-2", False),  # both places must agree
        ("nope", None, False),
        (None, "Bearer tok-1", False),
        (None, None, False),
        ("", "Token ", False),
    ],
)
def test_command_tokens(form: str | None, header: str | None, ok: bool) -> None:
    assert command_token_matches(["tok-1", "tok-2"], form, header) is ok


def test_no_known_tokens_accepts_nothing() -> None:
    assert command_token_matches([], "anything", None) is False
    assert command_token_matches([""], "", None) is False


def test_signed_context_round_trips_for_its_purpose_and_user() -> None:
    signer = Signer("a-secret-of-enough-length")
    token = signer.sign("ticket.take", "user-1", {"ticket": 42})
    assert signer.verify(token, purpose="ticket.take", user_id="user-1", max_age=HOUR) == {
        "ticket": 42
    }
    assert signer.verify(token, purpose="ticket.take", user_id=None, max_age=HOUR) == {"ticket": 42}


@pytest.mark.parametrize("attack", ["tampered", "other_purpose", "other_user", "other_key"])
def test_forged_contexts_are_rejected(attack: str) -> None:
    signer = Signer("a-secret-of-enough-length")
    token = signer.sign("ticket.take", "user-1", {"ticket": 42})
    kwargs = {"purpose": "ticket.take", "user_id": "user-1", "max_age": HOUR}
    if attack == "tampered":
        token = token[:-3] + ("abc" if token[-3:] != "abc" else "xyz")
    elif attack == "other_purpose":
        kwargs["purpose"] = "ticket.resolve"
    elif attack == "other_user":
        kwargs["user_id"] = "user-2"
    else:
        token = Signer("another-secret-of-length").sign("ticket.take", "user-1", {"ticket": 42})
    with pytest.raises(RequestRejected):
        signer.verify(token, **kwargs)  # type: ignore[arg-type]


def test_expired_context_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    signer = Signer("a-secret-of-enough-length")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 7200)
    token = signer.sign("survey", "user-1")
    monkeypatch.setattr(time, "time", real_time)
    with pytest.raises(RequestRejected, match="expired"):
        signer.verify(token, purpose="survey", user_id="user-1", max_age=HOUR)


def test_single_use_state_cannot_be_replayed(db_session: Session) -> None:
    signer = Signer("a-secret-of-enough-length")
    state = signer.sign("dialog.support", "user-1", {"channel": "c"}, single_use=True)
    assert signer.verify(
        state, purpose="dialog.support", user_id="user-1", max_age=HOUR, session=db_session
    ) == {"channel": "c"}
    with pytest.raises(RequestRejected) as caught:
        signer.verify(
            state, purpose="dialog.support", user_id="user-1", max_age=HOUR, session=db_session
        )
    assert caught.value.status == 409


@given(st.text(max_size=300))
def test_garbage_is_rejected_never_crashes(garbage: str) -> None:
    with pytest.raises(RequestRejected):
        Signer("a-secret-of-enough-length").verify(garbage, purpose="p", user_id="u", max_age=HOUR)


# --------------------------------------------------------------------------- secret key

STRONG_KEY = "k" * 20 + "-strong-enough-key-0123"


@pytest.mark.parametrize("command", ["serve", "worker"])
@pytest.mark.parametrize("key", [None, "dev-only-secret-change-me-in-production", "x" * 31])
def test_long_running_processes_refuse_a_known_or_short_secret_key(
    command: str, key: str | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    set_context(None)
    monkeypatch.chdir(tmp_path)  # no .env from the working directory
    monkeypatch.setenv("ENVOL_DATABASE_URL", f"sqlite:///{tmp_path / 'envol.db'}")
    if key is None:
        monkeypatch.delenv("ENVOL_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("ENVOL_SECRET_KEY", key)
    try:
        result = CliRunner().invoke(root, [command])
    finally:
        set_context(None)
    assert result.exit_code == 1
    assert "ENVOL_SECRET_KEY" in result.output
    assert "secrets.token_urlsafe(48)" in result.output
    assert "Traceback" not in result.output
    if key:
        assert key not in result.output  # a secret is never echoed


def test_the_app_factory_refuses_the_development_key(tmp_path: Path) -> None:
    settings = load_deploy_settings(database_url=f"sqlite:///{tmp_path / 'envol.db'}")
    assert settings.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY
    with pytest.raises(ConfigurationError, match="development key"):
        create_app(settings)
    create_app(settings.model_copy(update={"secret_key": SecretStr(STRONG_KEY)}))


def test_rotation_verifies_with_previous_keys_and_signs_with_the_current_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, older = "old-" + STRONG_KEY, "older-" + STRONG_KEY
    monkeypatch.setenv("ENVOL_SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("ENVOL_SECRET_KEY_PREVIOUS", f"{old}, {older}")
    settings = load_deploy_settings()
    assert settings.secret_keys == (STRONG_KEY, old, older)
    rotated = Signer(settings.secret_keys)
    for key in (old, older):
        handed_out = Signer(key).sign("ticket", "user-1", {"t": 1})
        assert rotated.verify(handed_out, purpose="ticket", user_id="user-1", max_age=HOUR)
    fresh = rotated.sign("ticket", "user-1", {"t": 2})
    assert Signer(STRONG_KEY).verify(fresh, purpose="ticket", user_id="user-1", max_age=HOUR)
    with pytest.raises(RequestRejected):
        Signer(old).verify(fresh, purpose="ticket", user_id="user-1", max_age=HOUR)
