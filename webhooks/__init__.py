"""The Flask app Mattermost calls: slash commands, buttons, dialogs, the /join page, /healthz.

Handlers are thin: verify the request, parse it into a typed object, call a service, reply.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from plugin.app import EnvolContext, build_context
from plugin.settings import DeploySettings, require_production_secret
from webhooks.answers import install_app_error_handlers
from webhooks.context import CONTEXT_KEY, MATTERMOST_SESSION_KEY, envol_context

if TYPE_CHECKING:
    import requests

__all__ = ["CONTEXT_KEY", "create_app", "envol_context"]


def create_app(
    settings: DeploySettings | None = None,
    *,
    context: EnvolContext | None = None,
    mattermost_session: requests.Session | None = None,
) -> Flask:
    """Build the app; ``settings=None`` reads them from the environment.
    ``mattermost_session`` carries the integrations' calls to Mattermost (default: the client's
    own connection pool; the sandbox demo's reaches the sandbox in process)."""
    context = context or build_context(settings)
    # Every signature the webhooks check is only as secret as this key: refuse a known one.
    require_production_secret(context.settings)
    app = Flask(__name__)
    app.extensions[CONTEXT_KEY] = context
    app.extensions[MATTERMOST_SESSION_KEY] = mattermost_session
    # Mattermost's payloads are small and shallow: anything bigger or deeper is refused before
    # it is parsed; a database outage or a bug is answered (and logged) the same everywhere.
    install_app_error_handlers(app)
    proxies = context.settings.trusted_proxies
    if proxies:
        # The client's address and scheme as the N trusted reverse proxies forwarded them; a
        # forged X-Forwarded-For from the client itself is ignored (only the last N hops count).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    from webhooks import health

    for blueprint in (health.blueprint,):
        app.register_blueprint(blueprint)
    from webhooks import join as join_page  # the public request-access page

    app.register_blueprint(join_page.blueprint)
    from webhooks import actions, commands, dialogs  # slash commands, buttons, dialogs

    for blueprint in (commands.blueprint, actions.blueprint, dialogs.blueprint):
        app.register_blueprint(blueprint)
    from webhooks import console  # the launch console, for the launch team

    app.register_blueprint(console.blueprint)
    return app
