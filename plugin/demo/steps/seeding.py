"""Demo step: brand the server and seed the default content, showing the plan before and after.

Runs on the demo's scene (the sandbox, or the staging server of ``envol demo --mattermost-url``),
otherwise on a sandbox of its own, stopped at the end. Only the sandbox tells how many of the
requests were writes; on a real server the step counts every request Envol sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from plugin.branding.models import BrandSetting, ThemeAssignment
from plugin.branding.service import apply_branding
from plugin.branding.views import print_brand_report
from plugin.demo.run import DemoRun
from plugin.demo.scene import Scene, scene_of
from plugin.mattermost import MattermostClient
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.engine import apply_plan, make_plan
from plugin.seeding.loader import default_content_dir
from plugin.seeding.models import SeededObject
from plugin.seeding.service import require_desired


def _counter(run: DemoRun, client: MattermostClient) -> tuple[str, Callable[[], int]]:
    """What the step counts: the sandbox's writes, or on a real server every request sent."""
    sandbox = run.state.get("sandbox") or run.state.get("own_sandbox")
    if isinstance(sandbox, Sandbox):
        return "write requests", sandbox.request_log.writes
    return "requests", lambda: client.request_count


def step_seed_and_brand(run: DemoRun) -> None:
    # Until the lead's migration for these tables exists, create them if missing (checkfirst:
    # a no-op once migrated).
    for table in (SeededObject.__table__, ThemeAssignment.__table__, BrandSetting.__table__):
        table.create(run.context.engine, checkfirst=True)  # type: ignore[attr-defined]
    with scene_of(run) as scene:
        _seed_and_brand(run, scene)


def _seed_and_brand(run: DemoRun, scene: Scene) -> None:
    settings = run.context.settings
    # Envol posts as its bot or not at all: the preflight step made it and handed its token to
    # the context; a scene of this step alone gets one here.
    if run.state.get("scene") is scene:
        token = settings.mattermost_token.get_secret_value()
    else:
        scene.configure(
            {"ServiceSettings": {"EnableBotAccountCreation": True, "EnableUserAccessTokens": True}}
        )
        bot = scene.bot(run.context.runtime.current.bot_username, "Envol")
        scene.make_system_admin(bot["user_id"])
        token = scene.token(bot["user_id"])
    desired = require_desired(default_content_dir(), run.context.runtime.current, scene.url)
    team_name = run.context.runtime.current.team_name
    team_existed = scene.has_team(team_name)
    with (
        MattermostClient(scene.url, token) as client,
        run.context.sessions() as session,
    ):
        counted, count = _counter(run, client)
        plan = make_plan(client, session, desired)
        plural = {"reply": "replies"}
        by_kind = Counter(plural.get(c.kind, f"{c.kind}s") for c in plan.to_apply)
        run.console.print(
            f"plan: {plan.summary()} — "
            + ", ".join(f"{count} {kind}" for kind, count in by_kind.items())
        )
        for notice in plan.notices:
            run.console.print(f"[yellow]note:[/] {notice}")
        before = count()
        result = apply_plan(
            client,
            session,
            desired,
            plan,
            signer=Signer(settings.secret_key.get_secret_value()),
            public_url=settings.public_url,
        )
        run.console.print(f"applied: {result.created} created in {count() - before} {counted}")
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

        before = count()
        again = make_plan(client, session, desired)
        apply_plan(
            client,
            session,
            desired,
            again,
            signer=Signer(settings.secret_key.get_secret_value()),
            public_url=settings.public_url,
        )
        if not team_existed and scene.has_team(team_name):
            scene.created_team(team_name)  # the seeding made it: --clean archives it
        verb = "wrote" if counted.startswith("write") else "sent"
        run.console.print(
            f"plan again: {again.summary()}; re-apply {verb} {count() - before} {counted}"
        )
