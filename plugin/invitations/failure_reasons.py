"""Why an invitation failed: stored in English (``Invitation.failure_reason``, ``last_error``:
logs and the audit trail read them), shown to the launch team in their language.

The dispatcher writes its reasons with the forms below; ``worded_failure`` recognises them and
words Envol's part, quoting what Mattermost or the mail relay said as it said it. A reason in no
known form (a server's own sentence, a row written by an older Envol) is shown as it is.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from plugin.i18n import load_catalogue

_CATALOGUE = Path(__file__).with_name("messages.yaml")

REMOVED_FROM_ROSTER = "the person was removed from the roster"
NOT_ADDED_TO_TEAM = "could not add to the team: {detail}"
MATTERMOST_DID_NOT_ADD = "Mattermost did not add the person"
GAVE_UP = "gave up after {attempts} attempts: {detail}"
NO_REASON = "(no reason)"

_FORMS = {
    REMOVED_FROM_ROSTER: "failure.removed_from_roster",
    NOT_ADDED_TO_TEAM: "failure.not_added_to_team",
    MATTERMOST_DID_NOT_ADD: "failure.mattermost_did_not_add",
    GAVE_UP: "failure.gave_up",
    NO_REASON: "failure.no_reason",
}
# ``plugin.mail.errors.MailFailure.describe``: ``temporary 421: <the relay's words>``.
_MAIL_FAILURE = re.compile(
    r"(?P<kind>temporary|permanent)(?: (?P<code>\d{3}))?: (?P<detail>.*)", re.S
)


@cache
def _pattern(form: str) -> re.Pattern[str]:
    """``gave up after {attempts} attempts: {detail}`` as a regular expression."""
    pieces = re.split(r"\{(\w+)\}", form)
    pattern = "".join(
        re.escape(piece) if index % 2 == 0 else rf"(?P<{piece}>\d+)" if piece == "attempts"
        else rf"(?P<{piece}>.*)"
        for index, piece in enumerate(pieces)
    )  # fmt: skip
    return re.compile(pattern, re.S)


def worded_failure(reason: str, language: str) -> str:
    """``reason`` in ``language``: Envol's words translated, the server's quoted as they are."""
    catalogue = load_catalogue(_CATALOGUE)
    for form, key in _FORMS.items():
        match = _pattern(form).fullmatch(reason)
        if match is not None:
            values = match.groupdict()
            if "detail" in values:  # "gave up after 5 attempts: temporary 421: …"
                values["detail"] = worded_failure(values["detail"], language)
            return catalogue.render(key, language, **values)
    mail = _MAIL_FAILURE.fullmatch(reason)
    if mail is not None:
        return catalogue.render(
            f"failure.mail_{mail['kind']}", language, code=mail["code"], detail=mail["detail"]
        )
    return reason
