"""``/healthz``: is the database reachable, is the broker reachable."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify
from kombu import Connection

from plugin.db import unreachable
from webhooks.context import envol_context

blueprint = Blueprint("health", __name__)


def _broker_ok(broker_url: str) -> str | None:
    try:
        with Connection(broker_url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as error:
        return type(error).__name__
    return None


@blueprint.get("/healthz")
def healthz() -> Any:
    context = envol_context(current_app)
    checks = {
        "database": unreachable(context.engine),
        "broker": _broker_ok(context.settings.broker_url),
    }
    body = {
        part: ("ok" if problem is None else f"unreachable: {problem}")
        for part, problem in checks.items()
    }
    healthy = all(problem is None for problem in checks.values())
    return jsonify(status="ok" if healthy else "unhealthy", checks=body), (200 if healthy else 503)
