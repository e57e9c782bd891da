"""Fixtures for seeding tests: a private copy of the default content to break or edit."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.loader import default_content_dir
from plugin.settings import RuntimeSettings, runtime_settings_from_config

PUBLIC_URL = "http://127.0.0.1:8080"


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """The shipped content, copied (without the campaign and FAQ folders, owned elsewhere)."""
    target = tmp_path / "content"
    shutil.copytree(
        default_content_dir(), target, ignore=shutil.ignore_patterns("campaign", "faq", "README.md")
    )
    return target


@pytest.fixture
def runtime() -> RuntimeSettings:
    return runtime_settings_from_config({})


@pytest.fixture
def signer() -> Signer:
    return Signer("test-secret-key-0123456789")


def envol_bot_token(sandbox: Sandbox) -> str:
    """A token of Envol's bot with the system admin role, as the README sets it up."""
    bot = sandbox.create_bot("envol", "Envol")
    sandbox.make_system_admin(bot["user_id"])
    return sandbox.create_token(bot["user_id"])


@pytest.fixture
def admin_client(sandbox: Sandbox) -> Iterator[MattermostClient]:
    """Envol's client: its bot, a system admin (posts never appear as a person's own)."""
    client = MattermostClient(sandbox.url, envol_bot_token(sandbox), retry_budget_seconds=5)
    try:
        yield client
    finally:
        client.close()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
