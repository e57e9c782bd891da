"""The Mattermost plugin manifest: its rules, and the bundle an admin uploads."""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

from plugin.errors import ValidationFailed

# The types the System Console knows how to render for plugin settings.
SETTING_TYPES = {
    "bool",
    "dropdown",
    "generated",
    "radio",
    "text",
    "longtext",
    "number",
    "username",
    "custom",
}
_PLUGIN_ID = re.compile(r"^[a-zA-Z0-9-_\.]+$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")

# Without a server or webapp part Mattermost installs a plugin but cannot activate it ("must at
# least have a web app or server component"). This is the smallest webapp that activates.
WEBAPP_BUNDLE = """\
(function () {
  // Envol runs as a companion service; this bundle only lets Mattermost activate the plugin
  // so that its settings page behaves normally in the System Console.
  class EnvolPlugin { initialize() {} uninitialize() {} }
  window.registerPlugin(%(id)s, new EnvolPlugin());
})();
"""


def manifest_problems(manifest: dict[str, Any]) -> list[str]:
    """Every way ``manifest`` breaks Mattermost's manifest rules (empty when valid)."""
    problems = []
    plugin_id = manifest.get("id", "")
    if (
        not isinstance(plugin_id, str)
        or not (3 <= len(plugin_id) <= 190)
        or not _PLUGIN_ID.match(plugin_id)
    ):
        problems.append("id: 3 to 190 characters of letters, digits, '-', '_' or '.'")
    if not manifest.get("name"):
        problems.append("name: required")
    for key in ("version", "min_server_version"):
        if not _SEMVER.match(str(manifest.get(key, ""))):
            problems.append(f"{key}: a semantic version such as 1.2.3")
    webapp = manifest.get("webapp") or {}
    if not manifest.get("server") and not webapp.get("bundle_path"):
        problems.append("webapp.bundle_path: needed, or Mattermost cannot activate the plugin")
    schema = manifest.get("settings_schema")
    if not isinstance(schema, dict):
        problems.append("settings_schema: required (it is the admin settings page)")
        return problems
    keys: set[str] = set()
    for index, setting in enumerate(schema.get("settings", [])):
        where = f"settings_schema.settings[{index}]"
        key = setting.get("key", "")
        if not key:
            problems.append(f"{where}.key: required")
        elif key.lower() in keys:
            problems.append(f"{where}.key: {key!r} repeats (keys are stored lowercased)")
        keys.add(str(key).lower())
        if setting.get("type") not in SETTING_TYPES:
            problems.append(f"{where}.type: one of {', '.join(sorted(SETTING_TYPES))}")
        for required in ("display_name", "help_text"):
            if not setting.get(required):
                problems.append(f"{where}.{required}: required")
        if "default" not in setting and setting.get("type") != "generated":
            problems.append(f"{where}.default: required")
        if setting.get("type") in {"dropdown", "radio"}:
            values = [o.get("value") for o in setting.get("options") or []]
            if not values:
                problems.append(f"{where}.options: a {setting['type']} needs options")
            elif setting.get("default") not in values:
                problems.append(f"{where}.default: must be one of the options {values}")
    return problems


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            f"{path}:{error.lineno}: not valid JSON ({error.msg}); fix the manifest"
        ) from error
    problems = manifest_problems(manifest)
    if problems:
        raise ValidationFailed(f"{path} is not a valid Mattermost manifest", problems)
    return manifest


CONSOLE_PLACEHOLDER = "<ENVOL_PUBLIC_URL>/console/"


def with_console_link(manifest: dict[str, Any], public_url: str) -> dict[str, Any]:
    """The manifest whose settings page footer links to this deployment's launch console.

    ``plugin.json`` names the URL generically; the System Console renders the footer as
    Markdown, so the bundle carries a real link to ``<public_url>/console/``.
    """
    url = public_url.rstrip("/") + "/console/"
    schema = dict(manifest["settings_schema"])
    schema["footer"] = str(schema.get("footer", "")).replace(CONSOLE_PLACEHOLDER, f"[{url}]({url})")
    return {**manifest, "settings_schema": schema}


def build_bundle(manifest_path: Path, out_dir: Path, *, public_url: str | None = None) -> Path:
    """Write ``<id>-<version>.tar.gz`` with the manifest and the webapp bundle; return its path.

    With ``public_url`` the settings page's footer links to the launch console there.
    """
    manifest = read_manifest(manifest_path)
    if public_url:
        manifest = with_console_link(manifest, public_url)
    plugin_id, version = manifest["id"], manifest["version"]
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{plugin_id}-{version}.tar.gz"
    files = {
        "plugin.json": json.dumps(manifest, indent=2, ensure_ascii=False).encode(),
        manifest["webapp"]["bundle_path"]: (WEBAPP_BUNDLE % {"id": json.dumps(plugin_id)}).encode(),
    }
    with tarfile.open(target, "w:gz") as archive:
        for name, content in files.items():
            # Mattermost expects everything under one top-level folder named after the plugin.
            info = tarfile.TarInfo(f"{plugin_id}/{name}")
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0  # reproducible archives
            archive.addfile(info, io.BytesIO(content))
    return target
