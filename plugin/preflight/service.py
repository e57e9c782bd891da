"""Preflight: what this Mattermost server allows, and what Envol will do about it.

Each check is a plain function ``(PreflightContext) -> Check``, listed in ``CHECKS``;
a capability adds its own by appending to that list (``register_check``). A check never
raises for a Mattermost error: the runner turns it into a ``block`` line that says so.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal
from urllib.parse import urlsplit

from plugin.cohorts.limits import limits_from_server
from plugin.errors import ValidationFailed
from plugin.launch_files import load_launch_facts
from plugin.mattermost import (
    Forbidden,
    MattermostClient,
    MattermostError,
    MattermostUnavailable,
    Unauthorized,
)
from plugin.settings import DeploySettings, RuntimeSettings, runtime_settings_from_config

Status = Literal["ok", "warn", "block"]

# Mattermost's e-mail invitation limiter: 20 per hour per sender, burst 20 (app/email).
MATTERMOST_INVITES_PER_HOUR = 20


@dataclass(frozen=True)
class Check:
    """One line of the preflight table."""

    name: str
    status: Status
    found: str
    action: str


@dataclass
class PreflightContext:
    """What the checks read; server answers are fetched once and shared."""

    client: MattermostClient
    deploy: DeploySettings
    runtime: RuntimeSettings | None = None
    cohort_sizes: tuple[int, ...] = ()
    wave_size: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def config(self) -> dict[str, Any] | None:
        """The server config, or None when this token may not read it."""
        try:
            return self.client.get_config()
        except Forbidden:
            return None

    @cached_property
    def client_config(self) -> dict[str, Any]:
        return self.client.get_client_config()

    @cached_property
    def me(self) -> dict[str, Any]:
        return self.client.get_me()

    @cached_property
    def licensed(self) -> bool:
        return self.client.is_licensed()

    @cached_property
    def settings(self) -> RuntimeSettings:
        """The runtime settings: given, else read from the server's plugin config."""
        if self.runtime is not None:
            return self.runtime
        stored: dict[str, Any] = {}
        if self.config is not None:
            plugins = (self.config.get("PluginSettings") or {}).get("Plugins") or {}
            stored = dict(plugins.get(self.deploy.effective_plugin_id) or {})
        return runtime_settings_from_config(stored)

    def setting(self, section: str, key: str, default: Any = None) -> Any:
        """A server config value, or ``default`` when the config is unreadable or lacks it."""
        if self.config is None:
            return default
        return (self.config.get(section) or {}).get(key, default)

    @property
    def is_system_admin(self) -> bool:
        return "system_admin" in str(self.me.get("roles", "")).split()


PreflightCheck = Callable[[PreflightContext], Check]


@dataclass(frozen=True)
class PreflightReport:
    checks: tuple[Check, ...]

    @property
    def blocked(self) -> bool:
        return any(check.status == "block" for check in self.checks)

    @property
    def blockers(self) -> list[Check]:
        return [check for check in self.checks if check.status == "block"]

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)


# --------------------------------------------------------------------------- checks


def check_connection(ctx: PreflightContext) -> Check:
    ctx.client.ping()
    me = ctx.me
    version = ctx.client_config.get("Version") or "?"
    edition = "Enterprise build" if ctx.client_config.get("BuildEnterpriseReady") == "true" else ""
    found = f"Mattermost {version} {edition}".strip() + f", signed in as @{me.get('username')}"
    return Check("Server", "ok", found, "Envol talks to this server with this token")


def check_licence(ctx: PreflightContext) -> Check:
    if ctx.licensed:
        sku = ctx.client.get_license().get("SkuShortName") or "licensed"
        return Check("Edition", "ok", f"licensed ({sku})", "licensed features are used")
    return Check(
        "Edition",
        "ok",
        "no licence (Team Edition or unlicensed Enterprise)",
        "Envol uses only what every edition allows; see bookmarks below",
    )


def check_permissions(ctx: PreflightContext) -> Check:
    roles = str(ctx.me.get("roles", ""))
    kind = "bot" if ctx.me.get("is_bot") else "user"
    readable = ctx.config is not None
    found = f"{kind} with roles '{roles}'; config {'readable' if readable else 'NOT readable'}"
    if not readable:
        return Check(
            "Token permissions",
            "block",
            found,
            "give this account the system_admin role (System Console > User Management > "
            "Users), or use a system admin's personal access token: Envol reads its settings "
            "from the config and changes team size and branding",
        )
    if not ctx.is_system_admin:
        return Check(
            "Token permissions",
            "warn",
            found + "; config patch not allowed",
            "make the account a system admin so Envol can patch the config itself; "
            "otherwise apply the config changes below by hand",
        )
    return Check(
        "Token permissions", "ok", found + "; config read and patch allowed", "none needed"
    )


def check_bot_account(ctx: PreflightContext) -> Check:
    username = ctx.settings.bot_username
    bot = ctx.client.find_bot(username)
    if bot is not None and not bot.get("delete_at"):
        return Check("Bot account", "ok", f"@{username} exists", "Envol posts as this bot")
    if bot is not None:
        return Check(
            "Bot account",
            "block",
            f"@{username} is disabled",
            "enable it: System Console > Integrations > Bot Accounts",
        )
    if ctx.setting("ServiceSettings", "EnableBotAccountCreation", False):
        return Check(
            "Bot account",
            "warn",
            f"@{username} does not exist yet",
            "create it (Integrations > Bot Accounts) or let Envol's setup create it",
        )
    return Check(
        "Bot account",
        "block",
        f"@{username} does not exist and bot creation is off",
        "set ServiceSettings.EnableBotAccountCreation = true, then create the bot",
    )


def check_team_size(ctx: PreflightContext) -> Check:
    limit = ctx.setting("TeamSettings", "MaxUsersPerTeam")
    planned = sum(ctx.cohort_sizes)
    if limit is None:
        return Check(
            "Team size",
            "warn",
            "MaxUsersPerTeam unknown (config unreadable)",
            f"make sure TeamSettings.MaxUsersPerTeam ≥ {planned or 'the number of people'}",
        )
    if not planned:
        return Check(
            "Team size",
            "ok" if limit > 50 else "warn",
            f"MaxUsersPerTeam = {limit}; no cohort sizes given",
            "pass the planned cohort sizes to compare",
        )
    found = f"MaxUsersPerTeam = {limit}; {planned} people planned ({len(ctx.cohort_sizes)} cohorts)"
    if limit < planned:
        target = max(planned, math.ceil(planned * 1.1 / 100) * 100)
        return Check(
            "Team size",
            "block",
            found,
            f"raise TeamSettings.MaxUsersPerTeam to at least {target} (System Console > Site "
            f'Configuration > Users and Teams, or PUT /api/v4/config/patch {{"TeamSettings": '
            f'{{"MaxUsersPerTeam": {target}}}}})',
        )
    return Check("Team size", "ok", found, "every cohort fits")


def check_user_limits(ctx: PreflightContext) -> Check:
    limits = limits_from_server(ctx.client)
    if limits.user_cap is None and limits.soft_user_cap is None:
        return Check("User limits", "ok", "no user cap reported", "none needed")
    active = limits.users_already_on_server
    planned = active + sum(ctx.cohort_sizes)
    hard = limits.user_cap - 1 if limits.user_cap else None  # user_cap: the most accepted
    found = (
        f"{active} active; unlicensed caps {limits.soft_user_cap} soft / "
        f"{hard} hard; {planned} after the launch"
    )
    # The same rule as `waves list`'s warnings (plugin/cohorts/service.py), so both agree.
    problem = limits.user_cap_problem(planned)
    if problem is None:
        return Check("User limits", "ok", found, "none needed")
    level, why = problem
    fix = (
        "get a licence: the server refuses users past the cap"
        if level == "block"
        else "past the soft cap admins see a warning"
    )
    return Check("User limits", level, found, f"{fix} ({why})")


def check_invitations(ctx: PreflightContext) -> Check:
    strategy = ctx.settings.invitation_strategy
    wave = ctx.wave_size or max(ctx.cohort_sizes, default=0)
    if strategy != "mattermost_email":
        return Check(
            "E-mail invitations",
            "ok",
            f"strategy {strategy}",
            "Envol sends its own invitations (no Mattermost e-mail limit)"
            if strategy == "envol_email"
            else "people sign in with SSO; no invitation e-mails",
        )
    if not ctx.setting("ServiceSettings", "EnableEmailInvitations", True):
        return Check(
            "E-mail invitations",
            "block",
            "strategy mattermost_email but EnableEmailInvitations is off",
            "set ServiceSettings.EnableEmailInvitations = true, or choose envol_email",
        )
    hours = math.ceil(wave / MATTERMOST_INVITES_PER_HOUR) if wave else 0
    found = f"Mattermost sends {MATTERMOST_INVITES_PER_HOUR}/hour per sender"
    if wave > MATTERMOST_INVITES_PER_HOUR:
        return Check(
            "E-mail invitations",
            "warn",
            f"{found}: a wave of {wave} takes about {hours} h",
            f"Envol spreads the wave over {hours} h; choose envol_email to send it at once",
        )
    return Check("E-mail invitations", "ok", found, "a wave fits in one hour")


def check_rate_limiting(ctx: PreflightContext) -> Check:
    settings = ctx.config.get("RateLimitSettings") if ctx.config else None
    if settings is None:
        return Check(
            "Rate limiting",
            "warn",
            "unknown (config unreadable)",
            "Envol slows down when the server answers 429",
        )
    if not settings.get("Enable"):
        return Check("Rate limiting", "ok", "off", "Envol does not pace itself")
    per_sec = settings.get("PerSec", 10)
    burst = settings.get("MaxBurst", 100)
    return Check(
        "Rate limiting",
        "ok",
        f"on: {per_sec}/s, burst {burst}",
        f"Envol paces itself at {per_sec * 0.9:g}/s and honours Retry-After",
    )


def check_plugin_uploads(ctx: PreflightContext) -> Check:
    enabled = ctx.setting("PluginSettings", "EnableUploads")
    if enabled is None:
        return Check("Plugin uploads", "warn", "unknown (config unreadable)", "")
    if enabled:
        return Check("Plugin uploads", "ok", "EnableUploads = true", "upload Envol's bundle")
    return Check(
        "Plugin uploads",
        "warn",
        "EnableUploads = false",
        "set PluginSettings.EnableUploads = true in config.json (the API cannot) or install "
        "the bundle with mmctl; until then Envol's settings page is absent and defaults apply",
    )


def check_uploads(ctx: PreflightContext) -> Check:
    allowed = ctx.setting("FileSettings", "EnableFileAttachments", True)
    if allowed:
        return Check("File attachments", "ok", "allowed", "guides are attached to posts")
    return Check(
        "File attachments",
        "warn",
        "FileSettings.EnableFileAttachments = false",
        "turn it on, or guides are posted as links",
    )


def check_branding(ctx: PreflightContext) -> Check:
    enabled = ctx.client_config.get("EnableCustomBrand") == "true"
    found = f"custom brand {'on' if enabled else 'off'} (all editions allow it)"
    if ctx.config is not None and ctx.is_system_admin:
        return Check("Branding", "ok", found, "Envol sets the brand image, texts and site name")
    return Check(
        "Branding",
        "warn",
        found,
        "this token cannot change the config: set the brand in the System Console by hand",
    )


def check_bookmarks(ctx: PreflightContext) -> Check:
    if ctx.licensed:
        return Check("Channel bookmarks", "ok", "available (licensed)", "Envol adds bookmarks")
    return Check(
        "Channel bookmarks",
        "warn",
        "unavailable: channel bookmarks need a licence",
        "key links are pinned in the channel instead",
    )


def _private_host(host: str) -> bool | None:
    """True for loopback/private/link-local IPs and localhost; None when only DNS could say."""
    if host.lower() in {"localhost", "localhost.localdomain"} or host.lower().endswith(
        ".localhost"
    ):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return address.is_private or address.is_loopback or address.is_link_local


def check_public_url(ctx: PreflightContext) -> Check:
    host = urlsplit(ctx.deploy.public_url).hostname or ""
    private = _private_host(host)
    if private is None:
        return Check(
            "Envol's public URL",
            "ok",
            f"{ctx.deploy.public_url} (a name; if it resolves to a private address, list it "
            "in AllowedUntrustedInternalConnections)",
            "Mattermost calls Envol's slash commands and buttons there",
        )
    if not private:
        return Check("Envol's public URL", "ok", ctx.deploy.public_url, "reachable as public")
    allowed = str(ctx.setting("ServiceSettings", "AllowedUntrustedInternalConnections", "") or "")
    listed = _host_allowed(host, allowed)
    found = f"{ctx.deploy.public_url} is a private address"
    if listed:
        return Check(
            "Envol's public URL", "ok", found + f"; allowed ({allowed})", "Mattermost may call it"
        )
    if ctx.config is None:
        return Check(
            "Envol's public URL",
            "warn",
            found,
            f"make sure ServiceSettings.AllowedUntrustedInternalConnections lists {host}",
        )
    return Check(
        "Envol's public URL",
        "block",
        found + " not listed in AllowedUntrustedInternalConnections",
        f"add {host} to ServiceSettings.AllowedUntrustedInternalConnections (Environment > "
        "Developer), or Mattermost refuses to call Envol's commands, buttons and dialogs",
    )


def _host_allowed(host: str, allowed: str) -> bool:
    for entry in re.split(r"[\s,]+", allowed.strip()):
        if not entry:
            continue
        if entry.lower() == host.lower():
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def check_launch_facts(ctx: PreflightContext) -> Check:
    """The company's name and the launch date must be the company's own: left empty, Envol
    would announce the demo's example company on a date nobody chose."""
    settings = ctx.settings
    found = f"company {settings.company_name!r}, launch on {settings.launch_date.isoformat()}"
    unset = settings.example_facts
    if not unset:
        return _check_launch_yaml(found)
    if ctx.deploy.example_facts:
        return Check(
            "Launch facts",
            "ok",
            found + " (the demo's example values, allowed by ENVOL_EXAMPLE_FACTS)",
            "set CompanyName and LaunchDate before a real launch",
        )
    return Check(
        "Launch facts",
        "block",
        f"{' and '.join(unset)} not set: Envol would use the demo's {found}",
        f"set {' and '.join(unset)} in System Console > Plugins > Envol (Launch), "
        "and the other facts in seed_content/launch.yaml",
    )


def _check_launch_yaml(found: str) -> Check:
    """The shipped launch.yaml still signs with the demo's addresses: a warning only (the
    content may live in another folder, given to ``envol seed`` with --content)."""
    try:
        facts = load_launch_facts()
    except ValidationFailed as error:
        return Check("Launch facts", "warn", found + f"; {error}", "run envol seed validate")
    example = facts.example_addresses()
    if not example:
        return Check("Launch facts", "ok", found, "none needed")
    return Check(
        "Launch facts",
        "warn",
        found + f"; seed_content/launch.yaml still has the demo's {', '.join(example)}",
        "write your own signers and addresses in seed_content/launch.yaml",
    )


CHECKS: list[PreflightCheck] = [
    check_connection,
    check_licence,
    check_permissions,
    check_bot_account,
    check_team_size,
    check_user_limits,
    check_invitations,
    check_rate_limiting,
    check_plugin_uploads,
    check_uploads,
    check_branding,
    check_bookmarks,
    check_public_url,
    check_launch_facts,
]


def register_check(check: PreflightCheck) -> PreflightCheck:
    """Add a capability's check to preflight (usable as a decorator)."""
    if check not in CHECKS:
        CHECKS.append(check)
    return check


def _title(check: PreflightCheck) -> str:
    return check.__name__.removeprefix("check_").replace("_", " ").capitalize()


def run_preflight(
    ctx: PreflightContext, checks: Sequence[PreflightCheck] | None = None
) -> PreflightReport:
    """Run every check; a failed connection or token stops the rest (they would all fail)."""
    results: list[Check] = []
    for check in CHECKS if checks is None else checks:
        try:
            results.append(check(ctx))
        except (MattermostUnavailable, Unauthorized) as error:
            results.append(
                Check(
                    _title(check),
                    "block",
                    str(error),
                    "check ENVOL_MATTERMOST_URL and ENVOL_MATTERMOST_TOKEN, and that the server "
                    "is up",
                )
            )
            break
        except MattermostError as error:
            results.append(Check(_title(check), "block", str(error), "see the server's message"))
    return PreflightReport(tuple(results))
