"""Slash commands, their response URLs, interactive message actions and dialogs.

When a simulated user runs a command, clicks a button or submits a dialog, the sandbox calls
the integration over real HTTP with Mattermost's payload, then applies the reply. These
handlers run without the state lock while they wait on the integration (the integration may
call back into the sandbox), and take it around the state they read or change.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from plugin.jsontypes import JSON
from plugin.sandbox.core import AppError, invalid_body_param, not_found, now_ms
from plugin.sandbox.routing import Call, Result, route, status_ok
from plugin.sandbox.state import OpenedDialog, Trigger

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


def _integration_timeout(call: Call) -> float:
    """``ServiceSettings.OutgoingIntegrationRequestsTimeout`` in seconds (default 30)."""
    with call.state.lock:
        value = call.state.setting("ServiceSettings", "OutgoingIntegrationRequestsTimeout")
    return 30.0 if value is None else float(value)


def _issue_trigger(call: Call, user_id: str, channel_id: str, team_id: str) -> str:
    trigger_id = call.state.ids.new_id() + call.state.ids.new_id()
    call.state.triggers[trigger_id] = Trigger(user_id, channel_id, team_id, time.monotonic())
    return trigger_id


def _call_integration(call: Call, method: str, url: str, **kwargs: Any) -> requests.Response:
    if url.startswith("/plugins/"):
        raise AppError(
            501,
            "api.sandbox.plugin_integration.app_error",
            "The sandbox runs no plugins: integration URLs must be http(s).",
        )
    try:
        return requests.request(method, url, timeout=max(_integration_timeout(call), 0.1), **kwargs)
    except requests.RequestException as error:
        raise AppError(
            500,
            "api.command.execute_command.failed.app_error",
            f"Command with a trigger failed: {type(error).__name__}",
            str(error),
        ) from None


def _reply_json(response: requests.Response) -> JSON:
    if not response.content:
        return {}
    if "json" not in response.headers.get("Content-Type", ""):
        return {"text": response.text}
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else {}


def apply_command_response(
    call: Call, reply: JSON, *, user_id: str, channel_id: str, command: JSON, root_id: str = ""
) -> None:
    """Turn a command response (immediate or through response_url) into posts. Lock held."""
    for response in [reply, *(reply.get("extra_responses") or [])]:
        text = str(response.get("text") or "")
        attachments = response.get("attachments")
        if not text and not attachments:
            continue
        props: JSON = dict(response.get("props") or {})
        if attachments:
            props["attachments"] = attachments
        props["from_webhook"] = "true"
        target = str(response.get("channel_id") or channel_id)
        if response.get("response_type") == "in_channel":
            if command.get("username") and call.state.setting(
                "ServiceSettings", "EnablePostUsernameOverride"
            ):
                props["override_username"] = command["username"]
            call.state.create_post(
                user_id=user_id, channel_id=target, message=text, props=props, root_id=root_id
            )
        else:
            call.sandbox.send_ephemeral(
                user_id=user_id, channel_id=target, message=text, props=props, sender_id=""
            )


@route("POST", "/api/v4/commands/execute", locked=False)
def execute_command(call: Call) -> Result:
    state = call.state
    with state.lock:
        _check_commands_enabled(call)
        body = call.json_object()
        line = body.get("command")
        if (
            not isinstance(line, str)
            or not line.startswith("/")
            or not isinstance(body.get("channel_id"), str)
        ):
            raise invalid_body_param("command")
        channel = call.require_channel_member(body["channel_id"], "use_slash_commands")
        team_id = channel["team_id"] or str(body.get("team_id", ""))
        trigger, _, text = line[1:].partition(" ")
        command = next(
            (
                c
                for c in state.commands.values()
                if c["team_id"] == team_id and c["trigger"] == trigger and not c["delete_at"]
            ),
            None,
        )
        if command is None:
            raise AppError(
                404,
                "api.command.execute_command.not_found.app_error",
                f"Command with a trigger of '/{trigger}' not found. To send a "
                'message beginning with "/", try adding an empty space at the '
                "beginning of the message.",
            )
        user = state.user(call.user_id)
        team = state.teams.get(team_id, {})
        hook_id = state.ids.new_id()
        root_id = str(body.get("root_id", ""))
        state.command_hooks[hook_id] = {
            "id": hook_id,
            "command_id": command["id"],
            "user_id": user["id"],
            "channel_id": channel["id"],
            "root_id": root_id,
            "create_at": now_ms(),
            "uses": 0,
        }
        form = {
            "token": command["token"],
            "team_id": team_id,
            "team_domain": team.get("name", ""),
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "user_id": user["id"],
            "user_name": user["username"],
            "command": f"/{trigger}",
            "text": text.strip(),
            "response_url": f"{call.sandbox.url}/hooks/commands/{hook_id}",
            "trigger_id": _issue_trigger(call, user["id"], channel["id"], team_id),
        }
        command = dict(command)
    headers = {"Authorization": f"Token {command['token']}", "Accept": "application/json"}
    if command["method"] == "G":
        response = _call_integration(call, "GET", command["url"], params=form, headers=headers)
    else:
        response = _call_integration(call, "POST", command["url"], data=form, headers=headers)
    if response.status_code != 200:
        raise AppError(
            500,
            "api.command.execute_command.failed_resp.app_error",
            f"Command with a trigger of '/{trigger}' returned response {response.status_code}.",
        )
    reply = _reply_json(response)
    with state.lock:
        apply_command_response(
            call,
            reply,
            user_id=call.user_id,
            channel_id=channel["id"],
            command=command,
            root_id=root_id,
        )
    reply.setdefault("trigger_id", form["trigger_id"])
    return 200, reply


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


@route("POST", "/api/v4/posts/<post_id>/actions/<alnum:action_id>", locked=False)
def do_post_action(call: Call) -> Result:
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
        if action.get("type") == "select" and isinstance(body, dict):
            context["selected_option"] = body.get("selected_option", "")
        payload = {
            "user_id": user["id"],
            "user_name": user["username"],
            "channel_id": channel["id"],
            "channel_name": channel["name"],
            "team_id": channel["team_id"],
            "team_domain": team.get("name", ""),
            "post_id": post["id"],
            "trigger_id": _issue_trigger(call, user["id"], channel["id"], channel["team_id"]),
            "type": action.get("type", "button"),
            "data_source": action.get("data_source", ""),
            "context": context,
        }
        url = action["integration"]["url"]
    response = _call_integration(
        call, "POST", url, json=payload, headers={"Accept": "application/json"}
    )
    if response.status_code != 200:
        raise AppError(
            400,
            "api.post.do_action.action_integration.app_error",
            "Action integration error.",
            f"status={response.status_code}",
        )
    reply = _reply_json(response)
    with state.lock:
        update = reply.get("update")
        if isinstance(update, dict):
            target = state.posts.get(post["id"])
            if target is not None:
                for key in ("message", "props", "file_ids"):
                    if key in update:
                        target[key] = copy.deepcopy(update[key])
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
                sender_id=post["user_id"],
            )
    answer: JSON = {"status": "OK"}
    if reply.get("goto_location"):
        answer["goto_location"] = reply["goto_location"]
    return 200, answer


# ---------------------------------------------------------------------------------- dialogs


@route("POST", "/api/v4/actions/dialogs/open")
def open_dialog(call: Call) -> Result:
    body = call.json_object()
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
            f"Trigger ID for interactive dialog is expired. Maximum TTL is {lifetime:g} seconds.",
        )
    dialog = body.get("dialog")
    url = body.get("url")
    if not isinstance(dialog, dict) or not isinstance(url, str) or not url:
        raise invalid_body_param("dialog")
    if not isinstance(dialog.get("title"), str) or not dialog["title"]:
        raise AppError(400, "model.dialog.is_valid.title.app_error", "Invalid dialog title.")
    call.state.opened_dialogs.append(
        OpenedDialog(
            user_id=trigger.user_id,
            url=url,
            dialog=copy.deepcopy(dialog),
            trigger_id=str(body["trigger_id"]),
            channel_id=trigger.channel_id,
            team_id=trigger.team_id,
        )
    )
    return status_ok()


@route("POST", "/api/v4/actions/dialogs/submit", locked=False)
def submit_dialog(call: Call) -> Result:
    state = call.state
    with state.lock:
        body = call.json_object()
        url = body.get("url")
        if not isinstance(url, str) or not url:
            raise invalid_body_param("url")
        channel_id = str(body.get("channel_id", ""))
        call.require_channel_read(channel_id)
        team_id = str(body.get("team_id", ""))
        if team_id:
            call.require_team_member(team_id)
        payload = {
            "type": "dialog_submission",
            "callback_id": body.get("callback_id", ""),
            "state": body.get("state", ""),
            "user_id": call.user_id,  # the server overwrites whatever the client sent
            "channel_id": channel_id,
            "team_id": team_id,
            "submission": body.get("submission") or {},
            "cancelled": bool(body.get("cancelled", False)),
        }
    response = _call_integration(
        call, "POST", url, json=payload, headers={"Accept": "application/json"}
    )
    if response.status_code != 200:
        raise AppError(
            400,
            "api.integration_action.submit_dialog.response_status",
            "Dialog submission failed.",
            f"status={response.status_code}",
        )
    reply = _reply_json(response)
    answer = {k: reply[k] for k in ("error", "errors") if reply.get(k)}
    return 200, answer
