"""Slash commands, their response URLs, interactive message actions and dialogs.

When a simulated user runs a command, clicks a button or submits a dialog, the sandbox calls
the integration over real HTTP with Mattermost's payload, then applies the reply. These
handlers run without the state lock while they wait on the integration (the integration may
call back into the sandbox), and take it around the state they read or change.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from plugin.jsontypes import JSON
from plugin.sandbox.core import (
    AppError,
    forbidden,
    invalid_body_param,
    invalid_param,
    is_valid_id,
    not_found,
    now_ms,
)
from plugin.sandbox.dialogs import dialog_problems
from plugin.sandbox.routing import Call, Result, route, status_ok
from plugin.sandbox.state import MAX_POST_LENGTH, OpenedDialog, ShownError, Trigger

log = logging.getLogger(__name__)

TRIGGER_PATTERN = re.compile(r"^[a-z0-9_\-.]+$", re.IGNORECASE)
COMMAND_WEBHOOK_LIFETIME_MS = 30 * 60 * 1000
COMMAND_WEBHOOK_MAX_USES = 5
COMMAND_FIELDS = (
    "trigger",
    "method",
    "url",
    "username",
    "icon_url",
    "auto_complete",
    "auto_complete_desc",
    "auto_complete_hint",
    "display_name",
    "description",
)


def _check_commands_enabled(call: Call) -> None:
    if not call.state.setting("ServiceSettings", "EnableCommands"):
        raise AppError(
            501,
            "api.command.disabled.app_error",
            "Commands have been disabled by the system admin.",
        )


def _validate_command(body: JSON) -> None:
    trigger = body.get("trigger")
    if (
        not isinstance(trigger, str)
        or not trigger
        or trigger.startswith("/")
        or len(trigger) > 128
        or not TRIGGER_PATTERN.match(trigger)
    ):
        raise AppError(400, "model.command.is_valid.trigger.app_error", "Invalid trigger.")
    if body.get("method") not in ("P", "G"):
        raise AppError(400, "model.command.is_valid.method.app_error", "Invalid method.")
    url = body.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise AppError(
            400,
            "model.command.is_valid.url_http.app_error",
            "Invalid URL. Must be a valid URL and start with http:// or https://.",
        )


@route("POST", "/api/v4/commands")
def create_command(call: Call) -> Result:
    _check_commands_enabled(call)
    body = call.json_object()
    team_id = body.get("team_id")
    if not isinstance(team_id, str):
        raise invalid_body_param("team_id")
    call.state.team(team_id)
    call.require_team_admin(team_id, "manage_slash_commands")
    _validate_command(body)
    if any(
        c["team_id"] == team_id and c["trigger"] == body["trigger"] and not c["delete_at"]
        for c in call.state.commands.values()
    ):
        raise AppError(
            400,
            "api.command.duplicate_trigger.app_error",
            "This trigger word is already in use. Please choose another word.",
        )
    stamp = now_ms()
    command: JSON = {
        "id": call.state.ids.new_id(),
        "token": call.state.ids.new_id(),
        "create_at": stamp,
        "update_at": stamp,
        "delete_at": 0,
        "creator_id": call.user_id,
        "team_id": team_id,
        "trigger": "",
        "method": "P",
        "username": "",
        "icon_url": "",
        "auto_complete": False,
        "auto_complete_desc": "",
        "auto_complete_hint": "",
        "display_name": "",
        "description": "",
        "url": "",
    }
    for key in COMMAND_FIELDS:
        if key in body:
            command[key] = body[key]
    call.state.commands[command["id"]] = command
    return 201, command


@route("GET", "/api/v4/commands")
def list_commands(call: Call) -> Result:
    team_id = call.arg("team_id")
    if not team_id:
        raise AppError(
            400, "api.context.invalid_param.app_error", "Invalid or missing team_id parameter."
        )
    call.require_team_member(team_id)
    custom = [
        c for c in call.state.commands.values() if c["team_id"] == team_id and not c["delete_at"]
    ]
    if not call.is_admin and not call.flag("custom_only"):
        custom = [dict(c, token="") for c in custom]
    return 200, custom


@route("GET", "/api/v4/teams/<team_id>/commands/autocomplete_suggestions")
def command_suggestions(call: Call) -> Result:
    """``listCommandAutocompleteSuggestions`` with ``app/auto_complete.go``: for a custom
    command (no sub-commands, no arguments) a suggestion while the trigger is being typed,
    nothing once a space follows it. The sandbox has no built-in commands (/away, /code …)."""
    team_id = call.params["team_id"]
    call.require_team_member(team_id)
    user_input = call.arg("user_input")
    if not user_input:
        raise invalid_param("userInput")
    typed = user_input.removeprefix("/")
    commands = sorted(
        (
            c
            for c in call.state.commands.values()
            if c["team_id"] == team_id and not c["delete_at"] and c["auto_complete"]
        ),
        key=lambda c: c["trigger"].lower(),
    )
    if " " in typed:
        return 200, []
    return 200, [
        {
            "Complete": c["trigger"],
            "Suggestion": c["trigger"],
            "Hint": c["auto_complete_hint"],
            "Description": c["auto_complete_desc"],
            "IconData": "",
        }
        for c in commands
        if c["trigger"].startswith(typed.lower())
    ]


def _own_command(call: Call) -> JSON:
    command = call.state.commands.get(call.params["command_id"])
    if command is None or command["delete_at"]:
        raise not_found("command", "app.command.getcommand.app_error")
    call.require_team_admin(command["team_id"], "manage_slash_commands")
    return command


@route("PUT", "/api/v4/commands/<command_id>")
def update_command(call: Call) -> Result:
    command = _own_command(call)
    body = call.json_object()
    if (
        body.get("id") != command["id"]
        or body.get("team_id", command["team_id"]) != command["team_id"]
    ):
        raise invalid_body_param("command")
    merged = {**command, **{k: body[k] for k in COMMAND_FIELDS if k in body}}
    _validate_command(merged)
    command.update(merged)
    command["update_at"] = now_ms()
    return 200, command


@route("DELETE", "/api/v4/commands/<command_id>")
def delete_command(call: Call) -> Result:
    command = _own_command(call)
    command["delete_at"] = command["update_at"] = now_ms()
    return status_ok()


@route("PUT", "/api/v4/commands/<command_id>/regen_token")
def regenerate_command_token(call: Call) -> Result:
    command = _own_command(call)
    command["token"] = call.state.ids.new_id()
    command["update_at"] = now_ms()
    return 200, {"token": command["token"]}


# ---------------------------------------------------------------------------------- outgoing
#
# What the server does when a person runs a command, clicks a button or submits a dialog:
# app/command.go (ExecuteCommand, tryExecuteCustomCommand, DoCommandRequest, HandleCommandResponse)
# and app/integration_action.go (DoPostActionWithCookie, DoActionRequest, SubmitInteractiveDialog).
# Every call out waits at most ServiceSettings.OutgoingIntegrationRequestsTimeout seconds (30 by
# default). A non-200 answer is never shown: the server drops its body (it lands in the error's
# detailed_error, which the API wipes unless EnableDeveloper) and the person's app shows the
# server's own message, which the sandbox records in ``SandboxState.shown_errors``.


def _integration_timeout(call: Call) -> float:
    """``ServiceSettings.OutgoingIntegrationRequestsTimeout`` in seconds (default 30)."""
    with call.state.lock:
        value = call.state.setting("ServiceSettings", "OutgoingIntegrationRequestsTimeout")
    return 30.0 if value is None else float(value)


def _issue_trigger(call: Call, user_id: str, channel_id: str, team_id: str) -> str:
    trigger_id = call.state.ids.new_id() + call.state.ids.new_id()
    call.state.triggers[trigger_id] = Trigger(user_id, channel_id, team_id, time.monotonic())
    return trigger_id


def _shown(call: Call, user_id: str, source: str, error: AppError) -> AppError:
    """Record what the person's app shows for this failure, and hand the error back."""
    with call.state.lock:
        call.state.shown_errors.append(
            ShownError(user_id, source, error.error_id, error.message, error.status)
        )
    return error


def _go_status(response: requests.Response) -> str:
    """Go's ``resp.Status``: "400 Bad Request"."""
    return f"{response.status_code} {response.reason or ''}".strip()


def _post(call: Call, url: str, timeout: float, **kwargs: Any) -> requests.Response:
    if url.startswith(("/plugins/", "plugins/")):
        raise AppError(
            501,
            "api.sandbox.plugin_integration.app_error",
            "The sandbox runs no plugins: integration URLs must be http(s).",
        )
    return call.sandbox.integrations.post(url, timeout=max(timeout, 0.1), **kwargs)


def _command_response(response: requests.Response) -> JSON:
    """``model.CommandResponseFromHTTPBody``: JSON when the Content-Type says so (an error if
    it is not an object), else the body as the text."""
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if media_type != "application/json":
        return {"text": response.text}
    body = json.loads(response.content or b"null")  # ValueError: the caller's "failed"
    if not isinstance(body, dict):
        raise ValueError("a command response is a JSON object")
    return body


def _mentions(call: Call, text: str, team_id: str) -> dict[str, list[str]]:
    """``MentionsToTeamMembers`` and ``MentionsToPublicChannels`` as form fields."""
    state = call.state
    fields: dict[str, list[str]] = {}
    for name in dict.fromkeys(re.findall(r"\B@([a-z0-9][a-z0-9.\-_:]*)", text.lower())):
        user = next((u for u in state.users.values() if u["username"] == name), None)
        if user is not None and state.team_member(team_id, user["id"]):
            fields.setdefault("user_mentions", []).append(name)
            fields.setdefault("user_mentions_ids", []).append(user["id"])
    for name in dict.fromkeys(re.findall(r"\B~([a-z0-9\-_]+)", text.lower())):
        channel = next(
            (
                c
                for c in state.channels.values()
                if c["team_id"] == team_id and c["name"] == name and c["type"] == "O"
            ),
            None,
        )
        if channel is not None:
            fields.setdefault("channel_mentions", []).append(name)
            fields.setdefault("channel_mentions_ids", []).append(channel["id"])
    return fields


def apply_command_response(
    call: Call, reply: JSON, *, user_id: str, channel_id: str, command: JSON, root_id: str = ""
) -> None:
    """``HandleCommandResponse``: each response (and extra response) becomes a post — ephemeral
    unless ``response_type`` is ``in_channel`` — from the person who ran the command. A post the
    server refuses (too long, a channel the person is not in) fails the whole command."""
    state = call.state
    failed = False
    for response in [reply, *(reply.get("extra_responses") or [])]:
        if not isinstance(response, dict):
            continue
        text = str(response.get("text") or "")
        attachments = response.get("attachments")
        if not text and not attachments:
            continue
        props: JSON = dict(response.get("props") or {})
        if attachments:
            props["attachments"] = attachments
        props["from_webhook"] = "true"
        target = str(response.get("channel_id") or channel_id)
        if target != channel_id and state.channel_member(target, user_id) is None:
            failed = True  # api.command.command_post.forbidden.app_error
            continue
        if command.get("username") and state.setting(
            "ServiceSettings", "EnablePostUsernameOverride"
        ):
            props["override_username"] = command["username"]
        kind = response.get("response_type") or "ephemeral"
        try:
            if kind == "in_channel":
                post = state.create_post(
                    user_id=user_id, channel_id=target, message=text, props=props, root_id=root_id
                )
                call.sandbox.publish_posted(post)
            elif kind == "ephemeral" and (text or attachments):
                if len(text) > MAX_POST_LENGTH:
                    raise AppError(400, "model.post.is_valid.msg.app_error", "Invalid message.")
                call.sandbox.send_ephemeral(
                    user_id=user_id, channel_id=target, message=text, props=props,
                    sender_id=user_id, root_id=root_id,
                )  # fmt: skip
        except AppError:
            failed = True
    if failed:
        raise AppError(
            500,
            "api.command.execute_command.create_post_failed.app_error",
            f"Command '{command.get('trigger', '')}' failed to post response. Please contact "
            "your System Administrator.",
        )


@route("POST", "/api/v4/commands/execute", locked=False)
def execute_command(call: Call) -> Result:
    """``executeCommand`` → ``ExecuteCommand``: the custom command's URL gets the form, the
    ``Authorization: Token`` header and 30 s; its answer becomes posts."""
    state = call.state
    with state.lock:
        body = call.json_object()
        channel, command, trigger, text = _find_command(call, body)
        user = state.user(call.user_id)
        root_id = str(body.get("root_id", ""))
        form = _command_form(call, command, channel, user, trigger, text, root_id)
        command = dict(command)
    reply = _call_command(call, command, form, user["id"])
    with state.lock:
        try:
            apply_command_response(
                call, reply, user_id=user["id"], channel_id=channel["id"], command=command,
                root_id=root_id,
            )  # fmt: skip
        except AppError as error:
            raise _shown(call, user["id"], "command", error) from None
    answer = dict(reply)
    answer["trigger_id"] = form["trigger_id"]
    return 200, answer


def _find_command(
    call: Call, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """(channel, command, trigger, text) of ``body``'s command line, checked as the server does."""
    state = call.state
    line = body.get("command")
    channel_id = body.get("channel_id")
    if (
        not isinstance(line, str)
        or len(line) <= 1
        or not line.startswith("/")
        or not isinstance(channel_id, str)
        or not is_valid_id(channel_id)
    ):
        raise AppError(
            400, "api.command.execute_command.start.app_error", "No command trigger found."
        )
    channel = call.require_channel_member(channel_id, "use_slash_commands")
    team_id = channel["team_id"] or str(body.get("team_id", ""))
    # ExecuteCommand: the trigger ends at the first white space; the text is the rest.
    split = re.search(r"\s", line)
    trigger = (line[: split.start()] if split else line).lower().removeprefix("/")
    text = line[split.end() :] if split else ""
    _check_commands_enabled(call)
    command = next(
        (
            c
            for c in state.commands.values()
            if c["team_id"] == team_id and c["trigger"] == trigger and not c["delete_at"]
        ),
        None,
    )
    if command is None:
        shown = trigger if len(trigger) <= 512 else trigger[:512] + "..."
        raise AppError(
            404,
            "api.command.execute_command.not_found.app_error",
            f"Command with a trigger of '{shown}' not found. To send a message beginning "
            'with "/", try adding an empty space at the beginning of the message.',
        )
    return channel, command, trigger, text


def _command_form(
    call: Call,
    command: dict[str, Any],
    channel: dict[str, Any],
    user: dict[str, Any],
    trigger: str,
    text: str,
    root_id: str,
) -> dict[str, Any]:
    """The form the server sends the command's URL; registers its response URL's hook."""
    state = call.state
    team_id = command["team_id"]
    team = state.teams.get(team_id, {})
    hook_id = state.ids.new_id()
    state.command_hooks[hook_id] = {
        "id": hook_id,
        "command_id": command["id"],
        "user_id": user["id"],
        "channel_id": channel["id"],
        "root_id": root_id,
        "create_at": now_ms(),
        "uses": 0,
    }
    trigger_id = _issue_trigger(call, user["id"], channel["id"], team_id)
    site_url = state.setting("ServiceSettings", "SiteURL")
    if not site_url:
        raise AppError(
            400,
            "api.command.execute_command.site_url_required.app_error",
            "SiteURL must be configured to use slash commands",
        )
    return {
        "token": command["token"],
        "team_id": command["team_id"],
        "team_domain": team.get("name", ""),
        "channel_id": channel["id"],
        "channel_name": channel["name"],
        "user_id": user["id"],
        "user_name": user["username"],
        "command": f"/{trigger}",
        "text": text,
        "trigger_id": trigger_id,
        "root_id": root_id,
        **_mentions(call, text, team_id),
        "response_url": f"{site_url}/hooks/commands/{hook_id}",
    }


def _call_command(
    call: Call, command: dict[str, Any], form: dict[str, Any], user_id: str
) -> dict[str, Any]:
    """The command's answer; a failure is shown to the person as the server shows it."""
    headers = {"Accept": "application/json", "Authorization": f"Token {command['token']}"}
    timeout = _integration_timeout(call)
    failed = AppError(
        500,
        "api.command.execute_command.failed.app_error",
        f"Command with a trigger of '{command['trigger']}' failed.",
    )
    try:
        if command["method"] == "G":
            response = call.sandbox.integrations.get(
                command["url"], params=form, headers=headers, timeout=max(timeout, 0.1)
            )
        else:
            response = _post(call, command["url"], timeout, data=form, headers=headers)
    except requests.RequestException:
        raise _shown(call, user_id, "command", failed) from None
    if response.status_code != 200:
        raise _shown(
            call,
            user_id,
            "command",
            AppError(
                500,
                "api.command.execute_command.failed_resp.app_error",
                f"Command with a trigger of '{command['trigger']}' returned response "
                f"{_go_status(response)}.",
            ),
        )
    try:
        return _command_response(response)
    except ValueError:
        raise _shown(call, user_id, "command", failed) from None


@route("POST", "/hooks/commands/<hook_id>", auth=False)
def command_webhook(call: Call) -> Result:
    state = call.state
    hook = state.command_hooks.get(call.params["hook_id"])
    if hook is None or now_ms() - hook["create_at"] > COMMAND_WEBHOOK_LIFETIME_MS:
        raise AppError(
            400,
            "app.command_webhook.handle_command_webhook.parse",
            "Unable to find the command webhook (unknown or expired).",
        )
    if hook["uses"] >= COMMAND_WEBHOOK_MAX_USES:
        raise AppError(
            400, "app.command_webhook.try_use.invalid", "Invalid webhook: used more than 5 times."
        )
    hook["uses"] += 1
    reply = call.json_object()
    command = state.commands.get(hook["command_id"], {})
    apply_command_response(
        call,
        reply,
        user_id=hook["user_id"],
        channel_id=hook["channel_id"],
        command=command,
        root_id=hook["root_id"],
    )
    return status_ok()


# ---------------------------------------------------------------------------------- actions


def _find_action(post: JSON, action_id: str) -> JSON | None:
    for attachment in post.get("props", {}).get("attachments") or []:
        for action in attachment.get("actions") or []:
            if action.get("id") == action_id:
                return action
    return None


def _action_error(detail: str = "") -> AppError:
    return AppError(
        400, "api.post.do_action.action_integration.app_error", "Action integration error.", detail
    )


def _call_action_url(call: Call, url: str, payload: JSON, user_id: str, source: str) -> JSON:
    """``DoActionRequest``: POST the JSON, 30 s; anything but a 200 is a 400 for the person.
    Returns the decoded answer (empty for an empty body)."""
    try:
        response = _post(
            call,
            url,
            _integration_timeout(call),
            data=json.dumps(payload),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
    except requests.RequestException as error:
        raise _shown(call, user_id, source, _action_error(type(error).__name__)) from None
    if response.status_code != 200:
        raise _shown(call, user_id, source, _action_error(f"status={response.status_code}"))
    if not response.content:
        return {}
    try:
        reply = json.loads(response.content)
    except ValueError:
        if source == "dialog":
            return {}  # SubmitInteractiveDialog: "an empty response is acceptable"
        raise _shown(call, user_id, source, _action_error("not JSON")) from None
    return reply if isinstance(reply, dict) else {}


@route("POST", "/api/v4/posts/<post_id>/actions/<alnum:action_id>", locked=False)
def do_post_action(call: Call) -> Result:
    """``doPostAction`` → ``DoPostActionWithCookie``: the action's URL gets a
    ``PostActionIntegrationRequest``; ``update`` replaces the post (pin and reactions kept),
    ``ephemeral_text`` reaches the person who clicked, under the post's thread."""
    state = call.state
    with state.lock:
        post = state.post(call.params["post_id"])
        channel = call.require_channel_read(post["channel_id"])
        action = _find_action(post, call.params["action_id"])
        if action is None or not (action.get("integration") or {}).get("url"):
            raise AppError(404, "api.post.do_action.action_id.app_error", "Invalid action id.")
        body = call.json() or {}
        user = state.user(call.user_id)
        team = state.teams.get(channel["team_id"], {})
        context = copy.deepcopy(action["integration"].get("context") or {})
        selected = body.get("selected_option", "") if isinstance(body, dict) else ""
        data_source = ""
        if action.get("type") == "select" and selected:
            context["selected_option"] = selected
            data_source = action.get("data_source", "")
        trigger_id = _issue_trigger(call, user["id"], channel["id"], channel["team_id"])
        payload = {
            "user_id": user["id"],
            "user_name": user["username"],
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "team_id": channel["team_id"],
            "team_domain": team.get("name", ""),
            "post_id": post["id"],
            "trigger_id": trigger_id,
            "type": action.get("type", ""),
            "data_source": data_source,
            "context": context,
        }
        url = action["integration"]["url"]
        root_id = post["root_id"] or post["id"]
    reply = _call_action_url(call, url, payload, user["id"], "action")
    with state.lock:
        update = reply.get("update")
        if isinstance(update, dict):
            target = state.posts.get(post["id"])
            if target is not None:
                if "message" in update:
                    target["message"] = str(update["message"] or "")
                if update.get("props") is not None:
                    target["props"] = copy.deepcopy(update["props"])
                if "file_ids" in update:
                    target["file_ids"] = copy.deepcopy(update["file_ids"])
                for attachment in target.get("props", {}).get("attachments") or []:
                    for new_action in attachment.get("actions") or []:
                        new_action.setdefault("id", state.ids.new_id())
                target["update_at"] = now_ms()
        if reply.get("ephemeral_text"):
            call.sandbox.send_ephemeral(
                user_id=user["id"],
                channel_id=channel["id"],
                message=str(reply["ephemeral_text"]),
                props=None,
                sender_id=user["id"],
                root_id=root_id,
            )
    return 200, {"status": "OK", "trigger_id": trigger_id}


# ---------------------------------------------------------------------------------- dialogs


def _invalid_dialog_body(call: Call, body: JSON) -> None:
    """``json.Decode`` into ``OpenDialogRequest``: a field of the wrong JSON type is a 400."""
    dialog = body.get("dialog")
    strings = ("callback_id", "title", "introduction_text", "icon_url", "submit_label", "state")
    element_strings = ("display_name", "name", "type", "subtype", "default", "placeholder",
                       "help_text", "data_source")  # fmt: skip
    wrong = not isinstance(dialog, dict) or any(
        k in dialog and not isinstance(dialog[k], str) for k in strings
    )
    if not wrong:
        assert isinstance(dialog, dict)
        elements = dialog.get("elements", [])
        wrong = elements is not None and not isinstance(elements, list)
        for element in elements or []:
            wrong = wrong or not isinstance(element, dict)
            if isinstance(element, dict):
                wrong = wrong or any(
                    k in element and not isinstance(element[k], str) for k in element_strings
                )
                wrong = wrong or any(
                    k in element and (type(element[k]) is not int)
                    for k in ("min_length", "max_length")
                )
    if wrong:
        raise invalid_param("dialog")


@route("POST", "/api/v4/actions/dialogs/open")
def open_dialog(call: Call) -> Result:
    """``openDialog`` → ``OpenInteractiveDialog``: the trigger id must be the server's and
    younger than OutgoingIntegrationRequestsTimeout seconds. An invalid dialog (``Dialog.IsValid``)
    is only logged by the server and still shown: the sandbox records it (``invalid_dialogs``)."""
    body = call.json_object()
    _invalid_dialog_body(call, body)
    url = body.get("url")
    if not isinstance(url, str) or not url:
        raise invalid_param("url")
    trigger = call.state.triggers.get(str(body.get("trigger_id", "")))
    if trigger is None:
        raise AppError(
            400,
            "interactive_message.decode_trigger_id.signature_decode_failed",
            "Failed to decode the trigger ID for interactive dialog.",
        )
    lifetime = _integration_timeout(call)
    if time.monotonic() - trigger.issued_monotonic > lifetime:
        raise AppError(
            400,
            "interactive_message.decode_trigger_id.expired",
            f"Trigger ID for interactive dialog is expired. Maximum TTL is {lifetime:g}s.",
        )
    dialog = copy.deepcopy(body["dialog"])
    problems = dialog_problems(dialog)
    opened = OpenedDialog(
        user_id=trigger.user_id,
        url=url,
        dialog=dialog,
        trigger_id=str(body["trigger_id"]),
        channel_id=trigger.channel_id,
        team_id=trigger.team_id,
        problems=tuple(problems),
    )
    if problems:
        log.warning("Interactive dialog is invalid: %s", "; ".join(problems))
        call.state.invalid_dialogs.append(opened)
    call.state.opened_dialogs.append(opened)
    # The dialog reaches the person's apps only over the WebSocket, the whole OpenDialogRequest
    # as a JSON string: the app fills in the channel and team it is showing.
    request = {"trigger_id": opened.trigger_id, "url": url, "dialog": dialog}
    call.sandbox.events.publish_to_user(
        trigger.user_id, "open_dialog", {"dialog": json.dumps(request, separators=(",", ":"))}
    )
    return status_ok()


@route("POST", "/api/v4/actions/dialogs/submit", locked=False)
def submit_dialog(call: Call) -> Result:
    """``submitDialog`` → ``SubmitInteractiveDialog``: read access to ``channel_id`` and
    view_team on ``team_id`` (never empty: the web app sends the team on screen), ``user_id``
    set from the session, ``type`` always ``dialog_submission``, ``url`` stripped."""
    state = call.state
    with state.lock:
        body = call.json_object()
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise invalid_param("url")
        channel_id = str(body.get("channel_id", ""))
        call.require_channel_read(channel_id)
        team_id = str(body.get("team_id", ""))
        if not team_id:
            raise forbidden("view_team")  # SessionHasPermissionToTeam("") is false
        call.require_team_member(team_id)
        payload = {
            "type": "dialog_submission",
            "callback_id": body.get("callback_id", ""),
            "state": body.get("state", ""),
            "user_id": call.user_id,
            "channel_id": channel_id,
            "team_id": team_id,
            "submission": body.get("submission") or {},
            "cancelled": bool(body.get("cancelled", False)),
        }
    reply = _call_action_url(call, url, payload, call.user_id, "dialog")
    answer: JSON = {}
    if isinstance(reply.get("error"), str) and reply["error"]:
        answer["error"] = reply["error"]
    if isinstance(reply.get("errors"), dict) and reply["errors"]:
        answer["errors"] = {str(k): str(v) for k, v in reply["errors"].items()}
    return 200, answer
