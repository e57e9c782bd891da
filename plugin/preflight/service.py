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
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from plugin.cohorts.limits import limits_from_server
from plugin.errors import ValidationFailed
from plugin.i18n import Message, Phrase, messages_of
from plugin.launch_files import load_launch_facts
from plugin.mattermost import (
    Forbidden,
    MattermostClient,
    MattermostError,
    MattermostUnavailable,
    Unauthorized,
)
from plugin.settings import DeploySettings, RuntimeSettings, runtime_settings_from_config
from plugin.typography import number

# The table's words live in ``messages.yaml``: a check's name, finding and action are Phrases,
# English to code, logs and tests (``report.check("Team size")``), worded for the reader on screen.
CATALOGUE = Path(__file__).with_name("messages.yaml")
said = messages_of(CATALOGUE)


def phrase(key: str, /, **values: Any) -> Phrase:
    return Phrase(said(key, **values))


@dataclass(frozen=True)
class _Count:
    """A number, written as its reader writes it (``1 500`` / ``1,500``, ``2,7`` / ``2.7``)."""

    value: float

    def localized(self, language: str) -> str:
        return number(self.value, language)


def _count(value: float | None) -> Phrase | None:
    return None if value is None else Phrase(_Count(value))


Status = Literal["ok", "warn", "block"]

# Mattermost's e-mail invitation limiter: 20 per hour per sender, burst 20 (app/email).
MATTERMOST_INVITES_PER_HOUR = 20


@dataclass(frozen=True)
class Check:
    """One line of the preflight table; ``name``, ``found`` and ``action`` are ``Phrase``s
    (or plain text a capability's check wrote), worded with ``plugin.errors.localize``."""

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


def blocker_line(check: Check) -> Phrase:
    """``Team size: raise …``: a blocking check and what to change, in any language."""
    return phrase("blocker_line", name=check.name, action=check.action)


# --------------------------------------------------------------------------- checks


def _named(check: PreflightCheck) -> str:
    """A check's name for its line: the catalogue's (``name.team_size`` for
    ``check_team_size``), else its function's name for a capability's own check."""
    key = "name." + check.__name__.removeprefix("check_")
    try:
        return phrase(key)
    except KeyError:
        return check.__name__.removeprefix("check_").replace("_", " ").capitalize()


def _line(check: PreflightCheck, status: Status, found: str, action: str) -> Check:
    return Check(_named(check), status, found, action)


def check_connection(ctx: PreflightContext) -> Check:
    ctx.client.ping()
    me = ctx.me
    version = ctx.client_config.get("Version") or "?"
    enterprise = ctx.client_config.get("BuildEnterpriseReady") == "true"
    found = phrase(
        "connection.found_enterprise" if enterprise else "connection.found",
        version=version,
        username=me.get("username"),
    )
    return _line(check_connection, "ok", found, phrase("connection.do"))


def check_licence(ctx: PreflightContext) -> Check:
    if ctx.licensed:
        sku = ctx.client.get_license().get("SkuShortName")
        found = phrase("licence.found", sku=sku) if sku else phrase("licence.found_no_sku")
        return _line(check_licence, "ok", found, phrase("licence.do"))
    return _line(check_licence, "ok", phrase("licence.none"), phrase("licence.none.do"))


def check_permissions(ctx: PreflightContext) -> Check:
    account = {
        "kind": said("account.bot" if ctx.me.get("is_bot") else "account.user"),
        "roles": str(ctx.me.get("roles", "")),
    }
    if ctx.config is None:
        return _line(
            check_permissions,
            "block",
            phrase("permissions.unreadable", **account),
            phrase("permissions.unreadable.do"),
        )
    if not ctx.is_system_admin:
        return _line(
            check_permissions,
            "warn",
            phrase("permissions.no_patch", **account),
            phrase("permissions.no_patch.do"),
        )
    return _line(
        check_permissions, "ok", phrase("permissions.ok", **account), phrase("none_needed")
    )


def check_bot_account(ctx: PreflightContext) -> Check:
    username = ctx.settings.bot_username
    bot = ctx.client.find_bot(username)
    status: Status
    if bot is not None and not bot.get("delete_at"):
        state, status = "bot.exists", "ok"
    elif bot is not None:
        state, status = "bot.disabled", "block"
    elif ctx.setting("ServiceSettings", "EnableBotAccountCreation", False):
        state, status = "bot.missing", "warn"
    else:
        state, status = "bot.no_creation", "block"
    return _line(
        check_bot_account,
        status,
        phrase(state, username=username),
        phrase(state + ".do"),
    )


def check_team_size(ctx: PreflightContext) -> Check:
    limit = ctx.setting("TeamSettings", "MaxUsersPerTeam")
    planned = sum(ctx.cohort_sizes)
    if limit is None:
        return _line(
            check_team_size,
            "warn",
            phrase("team.unknown"),
            phrase("team.unknown.do", planned=_count(planned))
            if planned
            else phrase("team.unknown.do_people"),
        )
    if not planned:
        return _line(
            check_team_size,
            "ok" if limit > 50 else "warn",
            phrase("team.no_sizes", limit=limit),
            phrase("team.no_sizes.do"),
        )
    found = phrase(
        "team.found", limit=limit, planned=_count(planned), cohorts=len(ctx.cohort_sizes)
    )
    if limit < planned:
        target = max(planned, math.ceil(planned * 1.1 / 100) * 100)
        return _line(check_team_size, "block", found, phrase("team.raise.do", target=target))
    return _line(check_team_size, "ok", found, phrase("team.fits.do"))


def check_user_limits(ctx: PreflightContext) -> Check:
    limits = limits_from_server(ctx.client)
    if limits.user_cap is None and limits.soft_user_cap is None:
        return _line(check_user_limits, "ok", phrase("users.no_cap"), phrase("none_needed"))
    active = limits.users_already_on_server
    planned = active + sum(ctx.cohort_sizes)
    hard = limits.user_cap - 1 if limits.user_cap else None  # user_cap: the most accepted
    found = phrase(
        "users.found",
        active=_count(active),
        soft=_count(limits.soft_user_cap),
        hard=_count(hard),
        planned=_count(planned),
    )
    # The same rule as `waves list`'s warnings (plugin/cohorts/service.py), so both agree.
    problem = limits.user_cap_problem(planned)
    if problem is None:
        return _line(check_user_limits, "ok", found, phrase("none_needed"))
    level, why = problem
    return _line(check_user_limits, level, found, phrase(f"users.{level}.do", why=why))


def check_invitations(ctx: PreflightContext) -> Check:
    strategy = ctx.settings.invitation_strategy
    wave = ctx.wave_size or max(ctx.cohort_sizes, default=0)
    if strategy != "mattermost_email":
        return _line(
            check_invitations,
            "ok",
            phrase("invitations.strategy", strategy=strategy),
            phrase(
                "invitations.envol_email.do" if strategy == "envol_email" else "invitations.sso.do"
            ),
        )
    if not ctx.setting("ServiceSettings", "EnableEmailInvitations", True):
        return _line(
            check_invitations, "block", phrase("invitations.off"), phrase("invitations.off.do")
        )
    hours = math.ceil(wave / MATTERMOST_INVITES_PER_HOUR) if wave else 0
    if wave > MATTERMOST_INVITES_PER_HOUR:
        return _line(
            check_invitations,
            "warn",
            phrase(
                "invitations.slow",
                per_hour=MATTERMOST_INVITES_PER_HOUR,
                wave=_count(wave),
                hours=hours,
            ),
            phrase("invitations.slow.do", hours=hours),
        )
    return _line(
        check_invitations,
        "ok",
        phrase("invitations.rate", per_hour=MATTERMOST_INVITES_PER_HOUR),
        phrase("invitations.fits.do"),
    )


def check_rate_limiting(ctx: PreflightContext) -> Check:
    settings = ctx.config.get("RateLimitSettings") if ctx.config else None
    if settings is None:
        return _line(
            check_rate_limiting, "warn", phrase("unknown_unreadable"), phrase("rate.unknown.do")
        )
    if not settings.get("Enable"):
        return _line(check_rate_limiting, "ok", phrase("rate.off"), phrase("rate.off.do"))
    per_sec = settings.get("PerSec", 10)
    burst = settings.get("MaxBurst", 100)
    return _line(
        check_rate_limiting,
        "ok",
        phrase("rate.on", per_sec=per_sec, burst=burst),
        phrase("rate.on.do", pace=_count(per_sec * 0.9)),
    )


def check_plugin_uploads(ctx: PreflightContext) -> Check:
    enabled = ctx.setting("PluginSettings", "EnableUploads")
    if enabled is None:
        return _line(check_plugin_uploads, "warn", phrase("unknown_unreadable"), "")
    if enabled:
        return _line(
            check_plugin_uploads, "ok", "EnableUploads = true", phrase("plugin_uploads.on.do")
        )
    return _line(
        check_plugin_uploads, "warn", "EnableUploads = false", phrase("plugin_uploads.off.do")
    )


def check_uploads(ctx: PreflightContext) -> Check:
    allowed = ctx.setting("FileSettings", "EnableFileAttachments", True)
    if allowed:
        return _line(
            check_uploads, "ok", phrase("attachments.allowed"), phrase("attachments.allowed.do")
        )
    return _line(
        check_uploads,
        "warn",
        "FileSettings.EnableFileAttachments = false",
        phrase("attachments.off.do"),
    )


def check_branding(ctx: PreflightContext) -> Check:
    enabled = ctx.client_config.get("EnableCustomBrand") == "true"
    found = phrase("branding.on" if enabled else "branding.off")
    if ctx.config is not None and ctx.is_system_admin:
        return _line(check_branding, "ok", found, phrase("branding.ok.do"))
    return _line(check_branding, "warn", found, phrase("branding.by_hand.do"))


def check_bookmarks(ctx: PreflightContext) -> Check:
    status: Status = "ok" if ctx.licensed else "warn"
    state = "available" if ctx.licensed else "unavailable"
    return _line(
        check_bookmarks,
        status,
        phrase(f"bookmarks.{state}"),
        phrase(f"bookmarks.{state}.do"),
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
    url = ctx.deploy.public_url
    host = urlsplit(url).hostname or ""
    private = _private_host(host)
    if private is None:
        return _line(check_public_url, "ok", phrase("url.name", url=url), phrase("url.name.do"))
    if not private:
        return _line(check_public_url, "ok", url, phrase("url.public.do"))
    allowed = str(ctx.setting("ServiceSettings", "AllowedUntrustedInternalConnections", "") or "")
    if _host_allowed(host, allowed):
        return _line(
            check_public_url,
            "ok",
            phrase("url.private_allowed", url=url, allowed=allowed),
            phrase("url.private_allowed.do"),
        )
    if ctx.config is None:
        return _line(
            check_public_url,
            "warn",
            phrase("url.private", url=url),
            phrase("url.private_unknown.do", host=host),
        )
    return _line(
        check_public_url,
        "block",
        phrase("url.private_unlisted", url=url),
        phrase("url.private_unlisted.do", host=host),
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
    found = said(
        "facts.found",
        company=repr(settings.company_name),
        date=settings.launch_date.isoformat(),
    )
    unset = settings.example_facts
    if not unset:
        return _check_launch_yaml(found)
    if ctx.deploy.example_facts:
        return _line(
            check_launch_facts,
            "ok",
            phrase("facts.example_allowed", found=found),
            phrase("facts.example_allowed.do"),
        )
    return _line(
        check_launch_facts,
        "block",
        phrase("facts.unset", unset=list(unset), found=found),
        phrase("facts.unset.do", unset=list(unset)),
    )


def _check_launch_yaml(found: Message) -> Check:
    """The shipped launch.yaml still signs with the demo's addresses: a warning only (the
    content may live in another folder, given to ``envol seed`` with --content)."""
    try:
        facts = load_launch_facts()
    except ValidationFailed as error:
        return _line(
            check_launch_facts,
            "warn",
            phrase("facts.launch_yaml_invalid", found=found, error=Phrase(error)),
            phrase("facts.launch_yaml_invalid.do"),
        )
    example = facts.example_addresses()
    if not example:
        return _line(check_launch_facts, "ok", Phrase(found), phrase("none_needed"))
    return _line(
        check_launch_facts,
        "warn",
        phrase("facts.example_addresses", found=found, fields=", ".join(example)),
        phrase("facts.example_addresses.do"),
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


def run_preflight(
    ctx: PreflightContext, checks: Sequence[PreflightCheck] | None = None
) -> PreflightReport:
    """Run every check; a failed connection or token stops the rest (they would all fail)."""
    results: list[Check] = []
    for check in CHECKS if checks is None else checks:
        try:
            results.append(check(ctx))
        except (MattermostUnavailable, Unauthorized) as error:
            results.append(_line(check, "block", Phrase(error), phrase("unreachable.do")))
            break
        except MattermostError as error:
            results.append(_line(check, "block", Phrase(error), phrase("server_error.do")))
    return PreflightReport(tuple(results))
