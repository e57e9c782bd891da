"""Preflight blocks a real launch on the demo's example company name and launch date."""

from __future__ import annotations

from typing import Any, cast

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


def test_the_company_s_own_facts_pass() -> None:
    check = check_launch_facts(_context({"companyname": "Acme", "launchdate": "2027-05-03"}))
    assert check.status == "ok"
    assert check.found == "company 'Acme', launch on 2027-05-03"


def test_the_demo_and_tests_use_the_example_facts_knowingly() -> None:
    check = check_launch_facts(_context({}, example_facts=True))
    assert check.status == "ok" and "ENVOL_EXAMPLE_FACTS" in check.found
