"""The demo's slash commands (/envol and /aide), installed the way an admin would retry them."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from plugin.db import transaction
from plugin.mattermost import MattermostClient
from plugin.mattermost.errors import MattermostError
from plugin.slash_registration.service import InstallOutcome, TriggerSpec, install_commands

SPECS = [
    TriggerSpec("envol", "Envol", "Aide, support, idées", "[help|support]"),
    TriggerSpec("aide", "Envol", "Aide, support, idées", "[help|support]"),
]
ATTEMPTS = 3


def install_demo_commands(
    sessions: sessionmaker[Session],
    client: MattermostClient,
    *,
    team_id: str,
    url: str,
) -> list[InstallOutcome]:
    """Install /envol and /aide; when Mattermost's answer is lost (a 5xx or a dropped
    connection after the request may have been applied, which ``--faults`` injects), run the
    installation again, as an admin would: it finds the command it created and updates it."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction(sessions) as session:
                return install_commands(session, client, team_id=team_id, specs=SPECS, url=url)
        except MattermostError:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
