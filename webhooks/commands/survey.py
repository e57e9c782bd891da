"""``/envol survey``: the launch survey (four questions), to answer or change one's answers."""

from __future__ import annotations

import logging

from plugin.errors import EnvolError
from plugin.surveys import service
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language
from webhooks.integration import Integration

log = logging.getLogger(__name__)


def open_survey_dialog(
    integration: Integration, user_id: str, trigger_id: str, language: str
) -> bool:
    """Open the four-question dialog, pre-filled with earlier answers; False on failure."""
    if not trigger_id:
        return False
    # One quick read (which wave, earlier answers), then the dialog at once.
    with integration.context.sessions() as session:
        _person_id, wave_id = service.respondent(session, user_id)
        previous = service.existing_response(session, user_id, wave_id)
    dialog = service.survey_dialog(integration.signer, user_id, wave_id, language, previous)
    try:
        integration.client.open_dialog(trigger_id, integration.url("dialogs/survey"), dialog)
    except EnvolError as error:
        log.warning("survey dialog not opened: %s", type(error).__name__)
        return False
    return True


def run(invocation: Invocation) -> Reply:
    request = invocation.request
    if open_survey_dialog(
        invocation.integration, request.user_id, request.trigger_id, invocation.language
    ):
        return Reply()
    return Reply(invocation.say("survey.failed"))


COMMAND = SubCommand(
    name="survey",
    aliases=("questionnaire", "sondage"),
    usage=in_every_language("survey.usage"),
    description=in_every_language("survey.description"),
    hint="",
    handler=run,
)
