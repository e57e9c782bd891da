"""``envol plugin``: the manifest and the bundle for the System Console."""

from __future__ import annotations

from pathlib import Path

import click

from plugin.bundle.manifest import build_bundle, read_manifest
from plugin.cli.base import console, say, shown
from plugin.settings import PLUGIN_MANIFEST


@click.group("plugin")
def plugin_group() -> None:
    """The Mattermost plugin that holds Envol's settings page."""


@plugin_group.command("validate")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=PLUGIN_MANIFEST,
    show_default=True,
)
def validate(manifest: Path) -> None:
    """Check plugin.json against Mattermost's manifest rules."""
    data = read_manifest(manifest)
    valid = say(
        "plugin.valid",
        name=shown(manifest.name),
        id=shown(data["id"]),
        version=shown(data["version"]),
        settings=len(data["settings_schema"]["settings"]),
    )
    console.print(valid)


@plugin_group.command("bundle")
@click.option(
    "--manifest",
    type=click.Path(path_type=Path, exists=True, dir_okay=False),
    default=PLUGIN_MANIFEST,
    show_default=True,
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("dist"),
    show_default=True,
)
def bundle(manifest: Path, out: Path) -> None:
    """Write dist/<id>-<version>.tar.gz to upload in System Console > Plugins."""
    from plugin.cli.base import context

    # The settings page's footer links to this deployment's launch console (ENVOL_PUBLIC_URL).
    target = build_bundle(manifest, out, public_url=context().settings.public_url)
    console.print(say("plugin.wrote", target=shown(target)))


def register(root: click.Group) -> None:
    root.add_command(plugin_group)
