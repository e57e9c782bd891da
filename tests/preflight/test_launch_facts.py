"""Preflight blocks a real launch on the demo's example company name and launch date."""

from __future__ import annotations

from typing import Any, cast

import pytest

from plugin.mattermost import MattermostClient
from plugin.preflight import CHECKS, PreflightContext
from plugin.preflight.service import check_launch_facts
from plugin.settings import load_deploy_settings, runtime_settings_from_config


def _context(plugin_config: dict[str, Any], **deploy: Any) -> PreflightContext:
    # The check reads settings only: no server is needed.
    return PreflightContext(
        client=cast(MattermostClient, None),
        deploy=load_deploy_settings(**deploy),
        runtime=runtime_settings_from_config(plugin_config),
    )


def test_unset_company_and_launch_date_block_and_say_where_to_set_them() -> None:
    check = check_launch_facts(_context({}))
    assert check.status == "block"
    assert "CompanyName and LaunchDate not set" in check.found
    assert "'Exemple SA'" in check.found and "2027-03-01" in check.found
    assert "System Console > Plugins > Envol" in check.action
    assert check_launch_facts in CHECKS


def test_one_fact_still_on_its_example_value_blocks() -> None:
    check = check_launch_facts(_context({"CompanyName": "Acme"}))
    assert check.status == "block" and check.found.startswith("LaunchDate not set")


def test_the_company_s_own_facts_pass_with_a_word_on_launch_yaml_s_example_addresses() -> None:
    check = check_launch_facts(_context({"companyname": "Acme", "launchdate": "2027-05-03"}))
    # The shipped launch.yaml still signs with @exemple.fr: a warning, never a block.
    assert check.status == "warn"
    assert check.found.startswith("company 'Acme', launch on 2027-05-03; seed_content/launch.yaml")
    assert "ceo.email, comms_lead.email, launch_team.email" in check.found


def test_launch_yaml_with_the_company_s_addresses_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin.launch_files import load_launch_facts
    from plugin.preflight import service

    facts = load_launch_facts()
    own = facts.model_copy(
        update={
            "ceo": facts.ceo.model_copy(update={"email": "ceo@acme.com"}),
            "comms_lead": facts.comms_lead.model_copy(update={"email": "comms@acme.com"}),
            "launch_team": facts.launch_team.model_copy(update={"email": "launch@acme.com"}),
        }
    )
    monkeypatch.setattr(service, "load_launch_facts", lambda: own)
    check = check_launch_facts(_context({"companyname": "Acme", "launchdate": "2027-05-03"}))
    assert check.status == "ok"
    assert check.found == "company 'Acme', launch on 2027-05-03"


def test_the_demo_and_tests_use_the_example_facts_knowingly() -> None:
    check = check_launch_facts(_context({}, example_facts=True))
    assert check.status == "ok" and "ENVOL_EXAMPLE_FACTS" in check.found
