"""System routes: ping, licence, limits, config."""

from __future__ import annotations

import copy
from typing import Any

from plugin.sandbox.core import BUILD_NUMBER, SERVER_VERSION, AppError, now_ms
from plugin.sandbox.routing import Call, Result, route


@route("GET", "/api/v4/system/ping", auth=False)
def ping(call: Call) -> Result:
    body: dict[str, Any] = {"status": "OK", "ActiveSearchBackend": "database"}
    if call.flag("get_server_status"):
        body.update({"database_status": "OK", "filestore_status": "OK"})
    return 200, body


@route("GET", "/api/v4/license/client", auth=False)
def client_license(call: Call) -> Result:
    if call.arg("format") != "old":
        raise AppError(
            501,
            "api.license.client.old_format.app_error",
            "New format for the client license is not supported yet. Please "
            "specify format=old in the query string.",
        )
    if not call.state.licensed:
        return 200, {"IsLicensed": "false"}
    body = {"IsLicensed": "true", "SkuShortName": "enterprise", "SkuName": "Enterprise"}
    if call.user_id:
        stamp = str(now_ms())
        body.update(
            {
                "Id": "sandboxlicense0000000000000",
                "IssuedAt": stamp,
                "StartsAt": stamp,
                "ExpiresAt": str(now_ms() + 365 * 86400 * 1000),
                "Users": "10000",
                "Company": "Sandbox",
                "GuestAccounts": "true",
                "ThemeManagement": "true",
                "Announcement": "true",
                "CustomTermsOfService": "true",
            }
        )
    return 200, body


@route("GET", "/api/v4/limits/server")
def server_limits(call: Call) -> Result:
    state = call.state
    if not call.is_admin:
        return 200, {"maxUsersLimit": 0, "maxUsersHardLimit": 0, "activeUserCount": 0}
    active = sum(1 for u in state.users.values() if not u["delete_at"] and not u["is_bot"])
    soft, hard = (0, 0) if state.licensed else state.user_limits
    return 200, {"maxUsersLimit": soft, "maxUsersHardLimit": hard, "activeUserCount": active}


@route("GET", "/api/v4/config")
def get_config(call: Call) -> Result:
    call.require_admin("sysconsole_read_*")
    return 200, copy.deepcopy(call.state.config)


@route("PUT", "/api/v4/config")
def update_config(call: Call) -> Result:
    call.require_admin()
    call.state.replace_config(call.json_object())
    return 200, copy.deepcopy(call.state.config)


@route("PUT", "/api/v4/config/patch")
def patch_config(call: Call) -> Result:
    call.require_admin()
    call.state.patch_config(call.json_object(), from_api=True)
    return 200, copy.deepcopy(call.state.config)


@route("GET", "/api/v4/config/client", auth=False)
def client_config(call: Call) -> Result:
    if call.arg("format") != "old":
        raise AppError(
            501,
            "api.config.client.old_format.app_error",
            "New format for the client configuration is not supported yet. Please "
            "specify format=old in the query string.",
        )
    config = call.state.config
    team, service, files = config["TeamSettings"], config["ServiceSettings"], config["FileSettings"]

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return 200, {
        "Version": SERVER_VERSION,
        "BuildNumber": BUILD_NUMBER,
        "BuildEnterpriseReady": "true",
        "SiteName": team["SiteName"],
        "SiteURL": service["SiteURL"],
        "EnableCustomBrand": text(team["EnableCustomBrand"]),
        "CustomBrandText": team["CustomBrandText"],
        "CustomDescriptionText": team["CustomDescriptionText"],
        "EnableFileAttachments": text(files["EnableFileAttachments"]),
        "MaxFileSize": text(files["MaxFileSize"]),
        "EnableBotAccountCreation": text(service["EnableBotAccountCreation"]),
        "EnableUserAccessTokens": text(service["EnableUserAccessTokens"]),
        "EnableCommands": text(service["EnableCommands"]),
        "EnableEmailInvitations": text(service["EnableEmailInvitations"]),
        "IsLicensed": text(call.state.licensed),
        "PluginsEnabled": text(config["PluginSettings"]["Enable"]),
    }
