"""``envol console link USERNAME`` and ``envol console announce``: the launch console's CLI side."""

from __future__ import annotations

import click

from plugin.cli.base import console, context


@click.group("console")
def console_group() -> None:
    """The launch console (<ENVOL_PUBLIC_URL>/console/): sign-in links, committee posts."""


@console_group.command("link")
@click.argument("username")
@click.option(
    "--minutes",
    type=click.IntRange(1, 24 * 60),
    default=10,
    show_default=True,
    help="How long the link may be used (once).",
)
@click.option("--next", "next_page", default="", help="Console page to open, e.g. /console/waves.")
def link(username: str, minutes: int, next_page: str) -> None:
    """Print a single-use sign-in link for USERNAME (a system admin, the launch team or a
    member of the committee channel), as `/envol console` sends it by DM."""
    from plugin.console.roles import require_role
    from plugin.console.signin import signin_link
    from plugin.mattermost import MattermostClient
    from plugin.security.service import Signer

    ctx = context()
    with MattermostClient.from_settings(ctx.settings) as client:
        user = client.get_user_by_username(username.lstrip("@"))
        role = require_role(client, ctx.runtime.current, user)
    url = signin_link(
        Signer(ctx.settings.secret_key.get_secret_value()),
        ctx.settings.public_url,
        str(user["id"]),
        str(user["username"]),
        minutes=minutes,
        next_page=next_page,
    )
    console.print(f"[dim]@{user['username']} ({role.value}), valid {minutes} min, once:[/]")
    click.echo(url)


@console_group.command("announce")
def announce() -> None:
    """Post in the committee channel what awaits its decision (the beat does it hourly)."""
    from plugin.console.tasks import announce as announce_pending
    from plugin.mattermost import MattermostClient

    ctx = context()
    with MattermostClient.from_settings(ctx.settings) as client:
        posted = announce_pending(ctx, client)
    if not posted:
        console.print("nothing new awaits the committee's decision")
    for marker in posted:
        console.print(f"announced {marker}")


def register(root: click.Group) -> None:
    root.add_command(console_group)
