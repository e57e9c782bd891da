"""The System Console page: grouped under headings, help in both languages, no demo facts."""

from __future__ import annotations

from typing import Any

from plugin.settings import load_manifest

GROUPS = ("Launch", "Waves and gates", "Invitations", "Support", "Reports")


def _settings() -> list[dict[str, Any]]:
    return list(load_manifest()["settings_schema"]["settings"])


def test_settings_come_grouped_in_the_page_s_order() -> None:
    groups = [setting["display_name"].split(" · ", 1)[0] for setting in _settings()]
    assert set(groups) == set(GROUPS)
    # Each heading once, in order: a group is never split by another one.
    assert list(dict.fromkeys(groups)) == list(GROUPS)
    assert [setting["key"] for setting in _settings()][:2] == ["CompanyName", "LaunchDate"]


def test_every_help_text_is_short_and_in_french_then_english() -> None:
    for setting in _settings():
        text = setting["help_text"]
        assert text.startswith("FR\u00a0: ") and " EN: " in text, setting["key"]
        french, english = text.removeprefix("FR\u00a0: ").split(" EN: ")
        assert french and english, setting["key"]
        assert len(french) <= 180 and len(english) <= 180, setting["key"]
        # French typography: no ordinary space before : ; ? !
        assert not any(f" {mark}" in french for mark in ":;?!"), setting["key"]


def test_no_demo_value_is_the_default_of_a_company_s_own_fact() -> None:
    defaults = {setting["key"]: setting["default"] for setting in _settings()}
    assert defaults["CompanyName"] == ""
    assert defaults["LaunchDate"] == ""


def test_headings_are_display_name_prefixes_while_the_server_may_predate_sections() -> None:
    """``settings_schema.sections`` came with Mattermost 10 (mattermost/mattermost#27654); a
    9.x server ignores it and would show none of the settings inside. Until
    ``min_server_version`` reaches 10, headings are the ``Group · `` prefixes above."""
    manifest = load_manifest()
    major = int(manifest["min_server_version"].split(".")[0])
    assert major >= 10 or "sections" not in manifest["settings_schema"]
