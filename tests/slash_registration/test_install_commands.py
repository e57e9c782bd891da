"""``envol commands install``: idempotent, tokens stored, foreign triggers left alone."""

from __future__ import annotations

import pytest

from plugin.errors import EnvolError
from plugin.slash_registration.service import (
    TriggerSpec,
    install_commands,
    known_tokens,
    registered_triggers,
    trigger_specs,
    validate_trigger,
)
from tests.support.world import SupportWorld

SPECS = [
    TriggerSpec("envol", "Envol", "Help", "[help|support]"),
    TriggerSpec("aide", "Envol", "Aide", "[help|support]"),
]


def test_install_twice_changes_nothing_the_second_time(support_world: SupportWorld) -> None:
    world = support_world  # the fixture installed /envol and /aide once already
    url = f"{world.app_url}/commands"
    with world.context.sessions.begin() as session:
        first = install_commands(session, world.client, team_id=world.team_id, specs=SPECS, url=url)
    assert [o.action for o in first] == ["updated", "updated"]  # new hints
    with world.context.sessions.begin() as session:
        again = install_commands(session, world.client, team_id=world.team_id, specs=SPECS, url=url)
        assert [o.action for o in again] == ["unchanged", "unchanged"]
        assert len(registered_triggers(session)) == 2
        tokens = known_tokens(session)
    commands = world.client.list_commands(world.team_id)
    assert sorted(c["trigger"] for c in commands) == ["aide", "envol"]
    assert sorted(tokens) == sorted(c["token"] for c in commands)
    assert all(c["auto_complete_hint"] == "[help|support]" for c in commands)


def test_dry_run_changes_nothing(support_world: SupportWorld) -> None:
    world = support_world
    spec = [TriggerSpec("lancement", "Envol", "Launch", "")]
    with world.context.sessions.begin() as session:
        outcome = install_commands(
            session,
            world.client,
            team_id=world.team_id,
            specs=spec,
            url=f"{world.app_url}/commands",
            dry_run=True,
        )
    assert [o.action for o in outcome] == ["would create"]
    assert "lancement" not in {c["trigger"] for c in world.client.list_commands(world.team_id)}


def test_a_trigger_of_another_integration_is_not_taken_over(support_world: SupportWorld) -> None:
    world = support_world
    world.client.create_command(world.team_id, "weather", "http://127.0.0.1:9/weather")
    with world.context.sessions.begin() as session, pytest.raises(EnvolError, match="another"):
        install_commands(
            session,
            world.client,
            team_id=world.team_id,
            specs=[TriggerSpec("weather", "Envol", "", "")],
            url=f"{world.app_url}/commands",
        )


@pytest.mark.parametrize("word", ["", "two words", "a/b", "x" * 200])
def test_bad_triggers_are_refused(word: str) -> None:
    with pytest.raises(EnvolError):
        validate_trigger(word)


def test_trigger_specs_default_to_envol_and_its_french_alias() -> None:
    envol, aide = trigger_specs((), "[help]")
    assert (envol.trigger, envol.description) == ("envol", "Help, support, ideas, profile, survey")
    assert (aide.trigger, aide.hint) == ("aide", "[help]") and "questionnaire" in aide.description
    assert [s.trigger for s in trigger_specs(("/launch",), "")] == ["launch"]
    with pytest.raises(EnvolError):
        trigger_specs(("two words",), "")
