"""Seeding the default content into the sandbox: requests against the minimum.

Measured in the same run, on a fresh sandbox and a fresh SQLite database:

* write requests of a first apply of ``seed_content/`` vs the minimum: one create per object
  (team, channels, posts, replies), one pin per pinned post, one upload per attached file;
* all requests of that first apply (plan reads included) vs the same minimum;
* write requests of a second apply with nothing changed (must be 0) vs the first apply's;
* requests of that no-op re-apply (reads only) vs the number of seeded objects (one read each
  is what checking for drift needs).

``quick`` changes nothing: the content is small; it is there for the runner's contract.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench import Figure
from plugin.db import make_engine, make_session_factory
from plugin.mattermost import MattermostClient
from plugin.models import metadata
from plugin.sandbox import Sandbox
from plugin.security.service import Signer
from plugin.seeding.engine import apply_plan, make_plan
from plugin.seeding.loader import default_content_dir
from plugin.seeding.service import require_desired
from plugin.settings import runtime_settings_from_config

NAME = "seed"


def run(quick: bool) -> list[Figure]:
    sandbox = Sandbox.start(contract=False, seed=5)
    with tempfile.TemporaryDirectory() as workdir:
        engine = make_engine(f"sqlite:///{Path(workdir) / 'bench.db'}")
        metadata.create_all(engine)
        sessions = make_session_factory(engine)
        # Envol posts as its bot or not at all (seeding refuses a person's token).
        bot = sandbox.create_bot("envol", "Envol")
        sandbox.make_system_admin(bot["user_id"])
        try:
            with (
                MattermostClient(sandbox.url, sandbox.create_token(bot["user_id"])) as client,
                sessions() as session,
            ):
                desired = require_desired(
                    default_content_dir(), runtime_settings_from_config({}), sandbox.url
                )
                signer = Signer("bench-secret-0123456789")

                def apply() -> tuple[int, int, int]:
                    requests, writes = len(sandbox.request_log), sandbox.request_log.writes()
                    plan = make_plan(client, session, desired)
                    result = apply_plan(
                        client,
                        session,
                        desired,
                        plan,
                        signer=signer,
                        public_url="http://127.0.0.1:8080",
                    )
                    return (
                        len(sandbox.request_log) - requests,
                        sandbox.request_log.writes() - writes,
                        result.created,
                    )

                first_requests, first_writes, created = apply()
                pins = sum(1 for o in desired.objects if o.kind == "post" and o.fields["pinned"])
                files = sum(len(o.fields.get("files") or []) for o in desired.objects)
                minimum = created + pins + files
                again_requests, again_writes, _ = apply()
        finally:
            engine.dispose()
            sandbox.stop()
    return [
        Figure(
            NAME,
            "writes, first apply of the default content",
            first_writes,
            minimum,
            f"minimum: {created} objects + {pins} pins + {files} files",
            "requests",
        ),
        Figure(
            NAME,
            "requests, first apply (reads included)",
            first_requests,
            minimum,
            "minimum writes",
            "requests",
        ),
        Figure(
            NAME,
            "writes, no-op re-apply",
            again_writes,
            first_writes,
            "writes of the first apply",
            "requests",
        ),
        Figure(
            NAME,
            "requests, no-op re-apply (drift check)",
            again_requests,
            created,
            "one read per seeded object",
            "requests",
        ),
    ]
