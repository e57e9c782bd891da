"""The Envol context an app was built with (``create_app`` stores it; handlers read it)."""

from __future__ import annotations

from flask import Flask

from plugin.app import EnvolContext

CONTEXT_KEY = "envol.context"


def envol_context(app: Flask) -> EnvolContext:
    context: EnvolContext = app.extensions[CONTEXT_KEY]
    return context
