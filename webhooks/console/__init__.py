"""The launch console: ``<ENVOL_PUBLIC_URL>/console/``, server-rendered pages for the launch team.

Every page calls the capability services the CLI calls: a rule (who may launch, what a gate
says, what an import changes) is never written here, and the refusals those services raise are
shown as they are. Signing in goes through Mattermost (``/envol console`` sends a single-use
link); every state change is a POST with a CSRF token, re-checks the role with Mattermost and
is audited under the person's Mattermost username.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint(
    "console",
    __name__,
    url_prefix="/console",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _register_views() -> None:
    # Each module adds its routes to ``blueprint``: the explicit list of the console's pages.
    from webhooks.console import (  # noqa: F401
        actions,
        campaign,
        cohorts,
        invitations,
        overview,
        reports,
        roster,
        signin,
        support,
        waves,
    )


_register_views()
