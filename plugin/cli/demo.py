"""``envol demo``: the whole launch on the sandbox, on the embedded defaults; with
``--mattermost-url``, a rehearsal of it on a real (staging) Mattermost, and ``--clean`` to
remove what rehearsals created there."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from plugin.cli.base import console, require_demo_extra, shown

if TYPE_CHECKING:
    from plugin.demo.runner import StagedOutcome

SHOWN_DIFFERENCES = 40
SHOWN_DUPLICATES = 10
DEMO_PEOPLE = 1500
# A rehearsal's people sign up, post and read on a shared staging server, in real requests: a
# modest crowd shows every step without loading it (or its user cap) much.
REHEARSAL_PEOPLE = 50


@click.command("demo")
@click.option(
    "--people",
    type=click.IntRange(20, 100_000),
    help=f"Simulated employees (default {DEMO_PEOPLE:,} on the sandbox, {REHEARSAL_PEOPLE} in "
    "a rehearsal).",
)
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--faults", is_flag=True, help="Inject 5xx, 429s, latency and dropped connections.")
@click.option(
    "--compare",
    is_flag=True,
    help="Run two launches side by side with the same seed and people, one fault-free, the "
    "other with --faults (without it, fault-free too: a check that the demo is deterministic), "
    "and print what the second delivered differently (missing, extra, duplicated keys of the "
    'delivery ledger); exit 1 if anything differs (an extra "try again" answer is only a '
    "notice). Runs go to WORKDIR/fault-free and "
    "WORKDIR/second, transcripts to WORKDIR/*.txt.",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path(".demo"),
    show_default=True,
    help="Where the demo keeps its database, broker and outputs (reset at each run, except a "
    "rehearsal's record of what it created, rehearsal.json, which --clean reads).",
)
@click.option(
    "--serve",
    is_flag=True,
    help="At the end, keep the sandbox, the webhooks and the launch console running until "
    "Ctrl-C, to open the console with the sign-in link the demo prints (make demo does).",
)
@click.option(
    "--contract",
    is_flag=True,
    help="Check every request to the sandbox and every answer against Mattermost's OpenAPI "
    "spec (ENVOL_MM_OPENAPI), the known gaps of plugin/sandbox/contract.py aside; exit 1 on "
    "any other violation. Slower.",
)
@click.option(
    "--mattermost-url",
    metavar="URL",
    help="Rehearse the launch on this Mattermost (a staging server) instead of the sandbox: "
    "the simulated employees act through its API v4. See the README, “Rehearse on a staging "
    "Mattermost”.",
)
@click.option(
    "--token",
    envvar="ENVOL_MATTERMOST_TOKEN",
    show_envvar=True,
    metavar="TOKEN",
    help="With --mattermost-url: a system admin's personal access token.",
)
@click.option(
    "--public-url",
    metavar="URL",
    help="With --mattermost-url: where that server reaches the demo's webhooks, e.g. "
    "http://10.0.0.5:8099 (the demo listens on that port; the support scene also on a "
    "second, free port of the same host). Default: a loopback port, for a server on this "
    "machine.",
)
@click.option(
    "--clean",
    is_flag=True,
    help="With --mattermost-url: remove what the rehearsals recorded in WORKDIR created there "
    "(users deactivated, bots disabled, channels and teams archived, settings put back).",
)
def demo(
    people: int | None, seed: int, faults: bool, compare: bool, workdir: Path, serve: bool,
    contract: bool, mattermost_url: str | None, token: str | None, public_url: str | None,
    clean: bool,
) -> None:  # fmt: skip
    """Walk a whole launch on the local Mattermost sandbox, or rehearse it on a staging one.

    With --mattermost-url and --token the launch plays on that server through its API v4;
    --clean then removes what the rehearsals created there.

    At the end, the delivery ledger (every e-mail, DM, post, membership, sidebar category and
    pin Envol delivered, as the mail catcher and the sandbox recorded them) is written to
    WORKDIR/ledger.json and summed up in one line, duplicates included. A rehearsal's ledger
    holds the e-mails only.
    """
    require_demo_extra("demo")
    _check_rehearsal_options(
        mattermost_url, token, public_url, clean, faults=faults, contract=contract,
        compare=compare,
    )  # fmt: skip
    if clean:
        _clean(str(mattermost_url), str(token), workdir)
        return
    # The simulation is loaded only here: a production install has no demo extra.
    from plugin.demo.runner import compare_runs, run_staged_demo

    if people is None:
        people = REHEARSAL_PEOPLE if mattermost_url else DEMO_PEOPLE
    if not compare:
        outcome = run_staged_demo(
            workdir, people=people, seed=seed, faults=faults, console=console, serve=serve,
            contract=contract, mattermost_url=mattermost_url, token=token,
            public_url=public_url,
        )  # fmt: skip
        _print_single(outcome, workdir, rehearsal=mattermost_url is not None)
        return
    second = "with faults" if faults else "fault-free again"
    console.print(
        f"two launches for {people:,} people, seed {seed}, side by side: "
        f"fault-free and {shown(second)} "
        f"(transcripts in {shown(workdir)}/fault-free.txt and {shown(workdir)}/second.txt) …"
    )
    compared = compare_runs(workdir, people=people, seed=seed, faults=faults)
    _print_outcome("fault-free", compared.fault_free)
    _print_outcome(second, compared.second)
    notices = [d for d in compared.differences if d.is_notice]
    differences = [d for d in compared.differences if not d.is_notice]
    for notice in notices[:SHOWN_DIFFERENCES]:
        console.print(f"  notice: {notice.describe()} (Envol's “try again”)", markup=False)
    if not differences:
        console.print("[bold green]same deliveries[/]: nothing lost, nothing twice")
        return
    console.print(f"[bold red]{len(differences):,} difference(s)[/] in what was delivered:")
    for difference in differences[:SHOWN_DIFFERENCES]:
        console.print(f"  {difference.describe()}", markup=False)
    if len(differences) > SHOWN_DIFFERENCES:
        console.print(f"  … and {len(differences) - SHOWN_DIFFERENCES:,} more")
    sys.exit(1)


def _print_single(outcome: StagedOutcome, workdir: Path, *, rehearsal: bool) -> None:
    """One run's end: where its outputs are, the ledger's line, the contract's verdict."""
    console.print(
        f"\n[bold green]demo finished in {outcome.elapsed:.1f}s[/]; outputs in {shown(workdir)}/"
    )
    if rehearsal:
        twice = outcome.ledger.duplicate_count()
        console.print(
            f"delivered: {outcome.ledger.size('e-mails'):,} e-mails, "
            f"[{'red' if twice else 'green'}]{twice} sent twice[/] (the ledger holds the "
            "e-mails only: a real server's records are not read back); ledger in "
            f"{shown(outcome.workdir / 'ledger.json')}"
        )
        return
    _print_outcome("", outcome)
    if outcome.contract_violations:
        console.print(
            f"[bold red]{len(outcome.contract_violations)} Mattermost API contract "
            "violation(s)[/] (see plugin/sandbox/contract.py for the known gaps):"
        )
        for violation in outcome.contract_violations[:SHOWN_DIFFERENCES]:
            console.print(f"  {violation}", markup=False)
        sys.exit(1)
    if outcome.contract_violations is not None:
        console.print("[green]every request and answer within Mattermost's API spec[/]")


def _check_rehearsal_options(
    mattermost_url: str | None, token: str | None, public_url: str | None, clean: bool, *,
    faults: bool, contract: bool, compare: bool,
) -> None:  # fmt: skip
    """The options of a rehearsal go together, and those that act inside the sandbox do not."""
    if mattermost_url is None:
        # --token alone is ignored: ENVOL_MATTERMOST_TOKEN may well be set for other commands.
        for given, option in ((public_url, "--public-url"), (clean, "--clean")):
            if given:
                raise click.UsageError(f"{option} goes with --mattermost-url")
    else:
        sandbox_only = [o for o, on in (("--faults", faults), ("--contract", contract),
                                         ("--compare", compare)) if on]  # fmt: skip
        if sandbox_only:
            raise click.UsageError(
                f"{', '.join(sandbox_only)}: only on the sandbox (they act inside it); a "
                "rehearsal on a real Mattermost runs without them"
            )
        if not token:
            raise click.UsageError(
                "--mattermost-url needs --token (or ENVOL_MATTERMOST_TOKEN): a system admin's "
                "personal access token"
            )


def _clean(mattermost_url: str, token: str, workdir: Path) -> None:
    from plugin.demo.clean import clean_rehearsal

    console.print(f"removing what the rehearsals recorded in {shown(workdir)} created on "
                  f"{shown(mattermost_url)} …")  # fmt: skip
    report = clean_rehearsal(mattermost_url, token, workdir, say=console.print)
    for line in report.lines():
        console.print(f"  {line}", markup=False)


def _print_outcome(label: str, outcome: StagedOutcome) -> None:
    prefix = f"{label}: " if label else ""
    colour = "red" if outcome.ledger.duplicate_count() else "green"
    console.print(f"{prefix}[{colour}]{shown(outcome.ledger.summary())}[/]")
    for section, keys in outcome.ledger.duplicates().items():
        for key, times in list(keys.items())[:SHOWN_DUPLICATES]:
            console.print(f"  duplicated in {section}: {key} ({times}×)", markup=False)
    injected = ", ".join(f"{n:,} {kind}" for kind, n in outcome.injected.items()) or "nothing"
    console.print(
        f"{prefix}{outcome.envol_requests:,} requests from Envol to the sandbox, injected: "
        f"{shown(injected)}; ledger in {shown(outcome.workdir / 'ledger.json')}"
    )


def register(root: click.Group) -> None:
    root.add_command(demo)
