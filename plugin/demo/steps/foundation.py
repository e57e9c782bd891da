"""Demo steps: the database and the stage, then the plugin bundle an admin uploads."""

from __future__ import annotations

from plugin import clock, db
from plugin.bundle.manifest import build_bundle
from plugin.demo.run import DemoRun
from plugin.models import metadata
from plugin.settings import PLUGIN_MANIFEST


def step_foundation(run: DemoRun) -> None:
    url = run.context.settings.database_url
    db.upgrade(url)
    drift = db.schema_drift(url, metadata)
    run.console.print(f"database: {url} ({drift or 'in step with the models'})")
    if run.stage is not None:
        stage = run.stage
        server = "Mattermost (a rehearsal)" if stage.rehearsal else "Mattermost sandbox"
        run.console.print(
            f"{server}: {stage.mattermost_url} · webhooks: {stage.webhooks_url} · "
            f"mail catcher: {stage.mail.url} · a worker on {run.context.settings.broker_url}"
        )
        run.console.print(f"simulated clock: {clock.now():%A %d %B %Y %H:%M} UTC")
        if stage.rehearsal:
            run.console.print(
                "the server stamps posts and joins with its own (real) time; Envol's clock "
                "runs the weeks of the launch in minutes (see the README, “Rehearse on a "
                "staging Mattermost”)"
            )


def step_plugin_bundle(run: DemoRun) -> None:
    target = build_bundle(PLUGIN_MANIFEST, run.workdir / "dist")
    run.console.print(f"plugin bundle for the System Console: {target}")
