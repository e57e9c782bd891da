"""``/envol profile``: your profile checklist and score, read from Mattermost."""

from __future__ import annotations

from plugin.onboarding.profile import CHECKLIST, profile_score
from plugin.onboarding.texts import checklist_labels
from webhooks.commands.base import Invocation, Reply, SubCommand, in_every_language


def run(invocation: Invocation) -> Reply:
    user = invocation.integration.users.get(invocation.request.user_id, fresh=True)
    if user is None:
        return Reply(invocation.say("profile.unavailable"))
    # The same score, items and labels as the onboarding messages that ask for them.
    score = profile_score(user)
    labels = checklist_labels(invocation.language)
    lines = [invocation.say("profile.title", score=score.score)]
    for name, weight in CHECKLIST:
        if weight > 0:
            done = name not in score.missing
            lines.append(
                f"- {':white_check_mark:' if done else ':white_large_square:'} {labels[name]}"
            )
    lines.append(
        invocation.say("profile.done") if score.complete else invocation.say("profile.todo")
    )
    return Reply("\n".join(lines))


COMMAND = SubCommand(
    name="profile",
    aliases=("profil",),
    usage=in_every_language("profile.usage"),
    description=in_every_language("profile.description"),
    hint="",
    handler=run,
)
