"""Demo step: brand the sandbox and seed the default content, showing the plan before and after.

Runs on the demo's shared sandbox when an earlier step started one (``run.state["sandbox"]``),
otherwise on its own, stopped at the end.
"""

from __future__ import annotations

from collections import Counter

from plugin.branding.models import BrandSetting, ThemeAssignment
from plugin.branding.service import apply_branding
from plugin.branding.views import print_brand_report
from plugin.demo.run import DemoRun
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.engine import apply_plan, make_plan
from plugin.seeding.loader import default_content_dir
from plugin.seeding.models import SeededObject
from plugin.seeding.service import require_desired


def step_seed_and_brand(run: DemoRun) -> None:
    # Until the lead's migration for these tables exists, create them if missing (checkfirst:
    # a no-op once migrated).
    for table in (SeededObject.__table__, ThemeAssignment.__table__, BrandSetting.__table__):
        table.create(run.context.engine, checkfirst=True)  # type: ignore[attr-defined]
    shared = run.state.get("sandbox")
    sandbox = (
        shared if isinstance(shared, Sandbox) else Sandbox.start(contract=False, seed=run.seed)
    )
    settings = run.context.settings
    # Envol posts as its bot or not at all: the preflight step made it and handed its token to
    # the context; a sandbox of this step alone gets one here.
    if shared is sandbox:
        token = settings.mattermost_token.get_secret_value()
    else:
        bot = sandbox.create_bot(run.context.runtime.current.bot_username, "Envol")
        sandbox.make_system_admin(bot["user_id"])
        token = sandbox.create_token(bot["user_id"])
    try:
        desired = require_desired(default_content_dir(), run.context.runtime.current, sandbox.url)
        with (
            MattermostClient(sandbox.url, token) as client,
            run.context.sessions() as session,
        ):
            plan = make_plan(client, session, desired)
            plural = {"reply": "replies"}
            by_kind = Counter(plural.get(c.kind, f"{c.kind}s") for c in plan.to_apply)
            run.console.print(
                f"plan: {plan.summary()} — "
                + ", ".join(f"{count} {kind}" for kind, count in by_kind.items())
            )
            for notice in plan.notices:
                run.console.print(f"[yellow]note:[/] {notice}")
            writes = sandbox.request_log.writes()
            result = apply_plan(
                client,
                session,
                desired,
                plan,
                signer=Signer(settings.secret_key.get_secret_value()),
                public_url=settings.public_url,
            )
            run.console.print(
                f"applied: {result.created} created in "
                f"{sandbox.request_log.writes() - writes} write requests"
            )
            assert desired.branding is not None
            print_brand_report(
                run.console, apply_branding(client, session, desired.branding), language="en"
            )

            support = next(o for o in desired.objects if o.slug == "support")
            pinned = [
                o.fields["message"].splitlines()[0].lstrip("# ")
                for o in desired.objects
                if o.kind == "post" and o.parent == "support" and o.fields["pinned"]
            ]
            run.console.print(f"pinned in ~{support.fields['name']}: " + " · ".join(pinned))

            writes = sandbox.request_log.writes()
            again = make_plan(client, session, desired)
            apply_plan(
                client,
                session,
                desired,
                again,
                signer=Signer(settings.secret_key.get_secret_value()),
                public_url=settings.public_url,
            )
            run.console.print(
                f"plan again: {again.summary()}; re-apply wrote "
                f"{sandbox.request_log.writes() - writes} requests"
            )
    finally:
        if sandbox is not shared:
            sandbox.stop()
