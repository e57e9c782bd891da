"""Arrivals get the company theme (read once for their batch), unless they chose their own."""

from __future__ import annotations

import json

from plugin.app import EnvolContext
from plugin.branding.models import BrandSetting, ThemeAssignment
from plugin.branding.service import THEME_SETTING, theme_value
from plugin.clock import FrozenClock
from plugin.db import transaction
from plugin.invitations.drain import run_dispatch
from plugin.mattermost import MattermostClient
from plugin.onboarding.arrival import ArrivalReport, process_arrivals
from plugin.sandbox import Sandbox
from tests.invitations.world import build_scene, environment

COMPANY = {"sidebarBg": "#0b3a5b", "buttonBg": "#f5a623"}
OWN = {"type": "Indigo"}


def _theme_of(sandbox: Sandbox, user_id: str) -> object:
    pref = sandbox.state.preferences.get((user_id, "theme", ""))
    return json.loads(pref["value"]) if pref else None


def _invite_and_welcome(sandbox: Sandbox, envol_context: EnvolContext) -> ArrivalReport:
    """Envol's cycle once: the invitations, then the arrivals of those already in the team."""
    env = environment(sandbox, envol_context.sessions)
    try:
        run_dispatch(env)
        return process_arrivals(env)
    finally:
        env.close()


def test_arrivals_get_the_company_theme_once_unless_they_chose_their_own(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=3, existing_every=1, managers=0)
    with transaction(envol_context.sessions) as session:
        session.add(BrandSetting(key=THEME_SETTING, content_hash="h", value=theme_value(COMPANY)))
    picky, *others = scene.existing_user_ids.values()
    client = MattermostClient(sandbox.url, sandbox.admin_token)
    client.set_theme(picky, OWN)
    client.close()
    report = _invite_and_welcome(sandbox, envol_context)
    assert (report.activated, report.themed) == (3, 2)
    assert _theme_of(sandbox, picky) == OWN
    assert all(_theme_of(sandbox, user_id) == COMPANY for user_id in others)
    with envol_context.sessions() as session:
        assert {a.user_id for a in session.query(ThemeAssignment)} == set(others)


def test_without_a_company_theme_arrivals_are_left_as_they_are(
    sandbox: Sandbox, envol_context: EnvolContext, frozen_clock: FrozenClock
) -> None:
    scene = build_scene(sandbox, envol_context.sessions, people=2, existing_every=1, managers=0)
    report = _invite_and_welcome(sandbox, envol_context)
    assert (report.activated, report.themed) == (2, 0)
    assert all(_theme_of(sandbox, u) is None for u in scene.existing_user_ids.values())
