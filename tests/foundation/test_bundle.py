from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from plugin.bundle.manifest import build_bundle, manifest_problems, read_manifest
from plugin.errors import ValidationFailed
from plugin.settings import PLUGIN_MANIFEST


def test_shipped_manifest_follows_mattermost_rules() -> None:
    manifest = json.loads(PLUGIN_MANIFEST.read_text())
    assert manifest_problems(manifest) == []
    for setting in manifest["settings_schema"]["settings"]:
        assert {"key", "display_name", "type", "help_text", "default"} <= set(setting)


def test_bundle_holds_the_manifest_and_a_webapp_that_registers(tmp_path: Path) -> None:
    target = build_bundle(PLUGIN_MANIFEST, tmp_path)
    manifest = json.loads(PLUGIN_MANIFEST.read_text())
    assert target.name == f"{manifest['id']}-{manifest['version']}.tar.gz"
    with tarfile.open(target) as archive:
        names = archive.getnames()
        assert f"{manifest['id']}/plugin.json" in names
        bundle_path = f"{manifest['id']}/{manifest['webapp']['bundle_path']}"
        script = archive.extractfile(bundle_path).read().decode()  # type: ignore[union-attr]
        packed = json.loads(archive.extractfile(f"{manifest['id']}/plugin.json").read())  # type: ignore[union-attr]
    assert f'registerPlugin("{manifest["id"]}"' in script
    assert packed == manifest


def test_the_bundled_settings_page_links_to_the_launch_console(tmp_path: Path) -> None:
    target = build_bundle(PLUGIN_MANIFEST, tmp_path, public_url="https://envol.example.com/")
    manifest = json.loads(PLUGIN_MANIFEST.read_text())
    with tarfile.open(target) as archive:
        packed = json.loads(archive.extractfile(f"{manifest['id']}/plugin.json").read())  # type: ignore[union-attr]
    footer = packed["settings_schema"]["footer"]
    assert "<ENVOL_PUBLIC_URL>" in manifest["settings_schema"]["footer"]
    assert "[https://envol.example.com/console/](https://envol.example.com/console/)" in footer
    assert "/envol console" in footer
    assert manifest_problems(packed) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"id": "x"}, "id:"),
        ({"id": "bad id!"}, "id:"),
        ({"version": "1.0"}, "version:"),
        ({"webapp": {}}, "webapp.bundle_path"),
    ],
)
def test_invalid_manifests_are_explained(tmp_path: Path, change: dict, expected: str) -> None:  # type: ignore[type-arg]
    manifest = {**json.loads(PLUGIN_MANIFEST.read_text()), **change}
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValidationFailed) as caught:
        read_manifest(path)
    assert any(problem.startswith(expected) for problem in caught.value.problems)


def test_setting_types_defaults_and_repeated_keys_are_checked() -> None:
    manifest = json.loads(PLUGIN_MANIFEST.read_text())
    settings = manifest["settings_schema"]["settings"]
    settings.append({**settings[0], "key": settings[0]["key"].upper()})
    settings.append(
        {"key": "Odd", "display_name": "Odd", "type": "colour", "help_text": "h", "default": "x"}
    )
    settings.append(
        {
            "key": "Pick",
            "display_name": "Pick",
            "type": "dropdown",
            "help_text": "h",
            "default": "c",
            "options": [{"display_name": "A", "value": "a"}],
        }
    )
    problems = " | ".join(manifest_problems(manifest))
    assert "repeats" in problems
    assert "type: one of" in problems
    assert "must be one of the options" in problems


def test_broken_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "plugin.json"
    path.write_text('{\n  "id": "a.b.c",\n  oops\n}')
    with pytest.raises(ValidationFailed, match=r"plugin.json:3"):
        read_manifest(path)
