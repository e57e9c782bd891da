"""``envol sandbox``: run the local Mattermost stand-in until Ctrl-C."""

from __future__ import annotations

import logging

import click

from plugin.cli.base import console, require_demo_extra, shown
from plugin.errors import EnvolError


def _parse_rate(value: str | None) -> tuple[float, int] | None:
    if not value:
        return None
    per_sec, _, burst = value.partition("/")
    try:
        return float(per_sec), int(burst or 100)
    except ValueError:
        raise EnvolError(f"--rate-limit {value!r}: write PER_SECOND/BURST, e.g. 10/100") from None


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8065, show_default=True, type=int)
@click.option(
    "--rate-limit",
    "rate",
    metavar="PER_SEC/BURST",
    help="Emulate Mattermost's rate limiting, e.g. 10/100.",
)
@click.option("--licensed", is_flag=True, help="Behave as a licensed server (bookmarks…).")
@click.option(
    "--faults",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Fraction of API calls answered with a 5xx (not applied).",
)
@click.option("--seed", type=int, default=None, help="Seed for ids and faults (reproducible).")
@click.option(
    "--contract/--no-contract",
    default=False,
    show_default=True,
    help="Validate every exchange against the OpenAPI spec and log violations.",
)
def sandbox_command(
    host: str,
    port: int,
    rate: str | None,
    licensed: bool,
    faults: float,
    seed: int | None,
    contract: bool,
) -> None:
    """Serve a local Mattermost stand-in (API v4 subset) until Ctrl-C."""
    require_demo_extra("sandbox")
    from plugin.sandbox import Sandbox

    limit = _parse_rate(rate)
    if contract:
        logging.getLogger("plugin.sandbox").setLevel(logging.WARNING)
    sandbox = Sandbox(seed=seed, contract=contract, licensed=licensed)
    if limit is not None:
        sandbox.set_rate_limit(*limit)
    if faults:
        sandbox.set_faults(error_rate=faults, seed=seed or 0)
    try:
        sandbox.bind(host, port)
    except OSError as error:
        raise EnvolError(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another --port"
        ) from None
    try:
        console.print(f"Mattermost sandbox on [bold]{shown(sandbox.url)}[/]")
        console.print(f"admin token: [bold]{shown(sandbox.admin_token)}[/]  (user sysadmin)")
        console.print(
            f"edition: {shown('licensed' if licensed else 'Team Edition (unlicensed)')}; "
            f"rate limit: {shown(rate or 'off')}; faults: {faults:g}; contract: "
            f"{shown(sandbox.contract_status)}",
            style="dim",
        )
        console.print("Ctrl-C to stop", style="dim")
        sandbox.serve_forever()  # werkzeug returns on Ctrl-C
    except KeyboardInterrupt:
        pass
    console.print(f"stopped after {len(sandbox.request_log)} requests")
    if sandbox.violations:
        console.print(sandbox.violation_report(), style="yellow")


def register(root: click.Group) -> None:
    root.add_command(sandbox_command)
