"""``envol brand apply`` against the sandbox: idempotent, never overwrites a personal theme."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from plugin.branding.models import ThemeAssignment
from plugin.branding.service import (
    apply_branding,
    apply_theme_to_new_member,
    decide_theme,
    theme_value,
)
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.seeding.desired import RenderedBranding
from plugin.seeding.loader import default_content_dir
from plugin.seeding.service import require_desired
from plugin.settings import runtime_settings_from_config


@pytest.fixture
def branding(sandbox: Sandbox) -> RenderedBranding:
    desired = require_desired(default_content_dir(), runtime_settings_from_config({}), sandbox.url)
    assert desired.branding is not None
    return desired.branding


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[MattermostClient]:
    with MattermostClient(sandbox.url, sandbox.admin_token, retry_budget_seconds=5) as client:
        yield client


@pytest.fixture
def team(sandbox: Sandbox) -> dict:  # type: ignore[type-arg]
    return sandbox.create_team("entreprise", "Old", type="I", admin_id=sandbox.admin_user_id)


def _theme_of(sandbox: Sandbox, user_id: str) -> dict | None:  # type: ignore[type-arg]
    pref = sandbox.state.preferences.get((user_id, "theme", ""))
    return json.loads(pref["value"]) if pref else None


def test_decide_theme() -> None:
    company, earlier = theme_value({"sidebarBg": "#000000"}), theme_value({"sidebarBg": "#111"})
    assert decide_theme([], None, company) == "set"
    assert decide_theme([{"name": "", "value": company}], None, company) == "unchanged"
    assert decide_theme([{"name": "", "value": earlier}], earlier, company) == "update"
    assert decide_theme([{"name": "", "value": earlier}], None, company) == "personal"
    assert decide_theme([{"name": "team1", "value": company}], company, company) == "personal"


def test_brand_apply_is_idempotent_and_respects_personal_themes(
    sandbox: Sandbox,
    client: MattermostClient,
    db_session: Session,
    team: dict,  # type: ignore[type-arg]
    branding: RenderedBranding,
    tmp_path: Path,
) -> None:
    newcomer = sandbox.create_user("nina")
    stylist = sandbox.create_user("sam")
    for user in (newcomer, stylist):
        sandbox.add_team_member(team["id"], user["id"])
    bot = sandbox.create_bot("envol-bot")
    sandbox.add_team_member(team["id"], bot["user_id"])
    own_theme = {"type": "Onyx", "sidebarBg": "#171717"}
    client.set_theme(stylist["id"], own_theme)

    dry = apply_branding(client, db_session, branding, dry_run=True)
    assert sandbox.request_log.writes() == 1  # only the set-up's theme above
    assert dry.themes == {"set": 2, "update": 0, "unchanged": 0, "personal": 1}  # admin + nina

    report = apply_branding(client, db_session, branding)
    config = sandbox.state.config["TeamSettings"]
    assert config["SiteName"] == "Passerelle" and config["EnableCustomBrand"] is True
    assert config["CustomBrandText"].startswith("**Passerelle, le réseau social d'Exemple SA")
    assert sandbox.state.brand_image is not None
    assert team["id"] in sandbox.state.team_icons
    assert sandbox.state.teams[team["id"]]["display_name"] == "Exemple SA"
    assert report.themes == {"set": 2, "update": 0, "unchanged": 0, "personal": 1}
    assert _theme_of(sandbox, newcomer["id"])["sidebarBg"] == "#0b3a5b"  # type: ignore[index]
    assert _theme_of(sandbox, stylist["id"]) == own_theme
    assert _theme_of(sandbox, bot["user_id"]) is None

    writes = sandbox.request_log.writes()
    again = apply_branding(client, db_session, branding)
    assert sandbox.request_log.writes() == writes  # nothing changed: nothing written
    assert all(step.action == "unchanged" for step in again.steps)

    # Nina later picks her own theme; then the company changes its colours.
    client.set_theme(newcomer["id"], own_theme)
    recoloured = dataclasses.replace(branding, theme={**branding.theme, "sidebarBg": "#222222"})
    report = apply_branding(client, db_session, recoloured)
    assert report.themes == {"set": 0, "update": 1, "unchanged": 0, "personal": 2}
    assert _theme_of(sandbox, sandbox.admin_user_id)["sidebarBg"] == "#222222"  # type: ignore[index]
    assert _theme_of(sandbox, newcomer["id"]) == own_theme
    assert _theme_of(sandbox, stylist["id"]) == own_theme

    # A new logo file is uploaded again; an unchanged one is not.
    logo = tmp_path / "logo.png"
    shutil.copyfile(branding.logo, logo)  # type: ignore[arg-type]
    logo.write_bytes(logo.read_bytes() + b"\x00")
    before = sandbox.request_log.count("POST", "/api/v4/brand/image")
    apply_branding(client, db_session, dataclasses.replace(recoloured, logo=logo))
    assert sandbox.request_log.count("POST", "/api/v4/brand/image") == before + 1


def test_new_members_get_the_theme_unless_they_chose_one(
    sandbox: Sandbox,
    client: MattermostClient,
    db_session: Session,
    team: dict,  # type: ignore[type-arg]
    branding: RenderedBranding,
) -> None:
    joiner = sandbox.create_user("jules")
    assert apply_theme_to_new_member(client, db_session, joiner["id"], team["id"]) is False
    apply_branding(client, db_session, branding)  # the company theme is now known
    sandbox.add_team_member(team["id"], joiner["id"])
    assert apply_theme_to_new_member(client, db_session, joiner["id"], team["id"]) is True
    assert _theme_of(sandbox, joiner["id"])["sidebarBg"] == "#0b3a5b"  # type: ignore[index]
    assert db_session.get(ThemeAssignment, joiner["id"]) is not None
    assert apply_theme_to_new_member(client, db_session, joiner["id"], team["id"]) is False

    picky = sandbox.create_user("paula")
    client.set_theme(picky["id"], {"type": "Indigo"})
    assert apply_theme_to_new_member(client, db_session, picky["id"], team["id"]) is False
    assert _theme_of(sandbox, picky["id"]) == {"type": "Indigo"}


def test_missing_team_is_reported_not_created(
    sandbox: Sandbox, client: MattermostClient, db_session: Session, branding: RenderedBranding
) -> None:
    report = apply_branding(client, db_session, branding)
    (team_step,) = [s for s in report.steps if s.what == "team"]
    assert team_step.action == "skipped" and team_step.detail == branding.team_name
    assert not sandbox.state.teams
