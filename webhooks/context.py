"""The Envol context an app was built with (``create_app`` stores it; handlers read it)."""

from __future__ import annotations

from flask import Flask

from plugin.app import EnvolContext

CONTEXT_KEY = "envol.context"
# The requests.Session for the integrations' Mattermost client (None: the client's own).
MATTERMOST_SESSION_KEY = "envol.mattermost_session"


def envol_context(app: Flask) -> EnvolContext:
    context: EnvolContext = app.extensions[CONTEXT_KEY]
    return context
