"""``envol console link USERNAME`` and ``envol console announce``: the launch console's CLI side."""

from __future__ import annotations

import click

from plugin.cli.base import console, context, say, shown


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
    from plugin.console.signin import link_for_username
    from plugin.mattermost import MattermostClient

    ctx = context()
    with MattermostClient.from_settings(ctx.settings) as client:
        url, role = link_for_username(
            client,
            ctx.runtime.current,
            ctx.settings,
            username,
            minutes=minutes,
            next_page=next_page,
        )
    console.print(
        say("console.link_for", username=shown(username.lstrip("@")), role=role.value,
            minutes=minutes)
    )  # fmt: skip
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
        console.print(shown(say("console.nothing_to_announce")))
    for marker in posted:
        console.print(shown(say("console.announced", marker=marker)))


def register(root: click.Group) -> None:
    root.add_command(console_group)
