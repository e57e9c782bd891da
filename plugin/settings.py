"""Settings, in two kinds.

* Deploy settings come from the environment (``ENVOL_*``, or a ``.env`` file). They are fixed
  when the process starts; a bad value stops the start with every problem listed.
* Runtime settings are what admins edit on the plugin's page in the System Console. Their
  defaults are ``plugin.json``'s ``settings_schema``; the values saved in Mattermost's config,
  under ``PluginSettings.Plugins.<plugin id>`` with lowercased keys, are laid over them. The
  result is one frozen snapshot, swapped atomically when the config changes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plugin.errors import ConfigurationError
from plugin.resources import CONTENT_ROOT

log = logging.getLogger(__name__)

PLUGIN_MANIFEST = CONTENT_ROOT / "plugin.json"


# The key anyone can read in this file: fine for a laptop, refused by ``envol serve`` and
# ``envol worker`` (``require_production_secret``).
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me-in-production"
SECRET_KEY_MIN_LENGTH = 32
GENERATE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'

_SECRET_HINT = re.compile(r"TOKEN|SECRET|PASSWORD|SMTP_URL|DATABASE_URL|BROKER_URL")


def _describe_errors(error: ValidationError, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        key = prefix + ".".join(str(part) for part in item["loc"]).upper()
        # Never echo secrets back: a token or password must not land in a log or a terminal.
        shown = "" if _SECRET_HINT.search(key) else f" (got {item.get('input')!r})"
        problems.append(f"{key}: {item['msg']}{shown}")
    return problems


# --------------------------------------------------------------------------- deploy settings


class DeploySettings(BaseSettings):
    """Where Envol runs: database, broker, Mattermost, SMTP. Read once at start."""

    model_config = SettingsConfigDict(
        env_prefix="ENVOL_", env_file=".env", env_file_encoding="utf-8", frozen=True, extra="ignore"
    )

    database_url: str = Field(
        default="sqlite:///envol.db",
        description="SQLAlchemy URL: sqlite:///file.db or postgresql+psycopg://user@host/db",
    )
    broker_url: str = Field(
        default="sqla+sqlite:///envol-broker.db",
        description="Celery broker: sqla+sqlite:///file.db, redis://host:6379/0 or amqp://user:pw@host//",
    )
    mattermost_url: str = Field(
        default="http://127.0.0.1:8065", description="Base URL of the Mattermost server"
    )
    mattermost_token: SecretStr = Field(
        default=SecretStr(""), description="Personal access token of the bot or admin account"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8080", description="URL where Mattermost reaches Envol's webhooks"
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_SECRET_KEY),
        description="Secret for signing buttons, dialogs and forms: at least 32 random characters",
    )
    secret_key_previous: SecretStr = Field(
        default=SecretStr(""),
        description="Former secret keys, comma-separated: still accepted for checking signatures "
        "made before a rotation, never used to sign",
    )
    smtp_url: str = Field(
        default="smtp://127.0.0.1:1025",
        description="smtp://[user:password@]host:port, smtps:// for TLS, ?starttls=1 for STARTTLS",
    )
    mail_from: str = Field(default="Envol <envol@localhost>", description="Sender of e-mails")
    trusted_proxies: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Reverse proxies in front of `envol serve` whose X-Forwarded-For is trusted: "
        "the /join rate limit counts per client address",
    )
    rate_limit_storage: str = Field(
        default="",
        description="Where the /join rate limit is counted, shared by every worker: redis://… "
        "(default: the broker when it is Redis, else memory, per process)",
    )
    plugin_id: str = Field(default="", description="Plugin id; defaults to plugin.json's id")
    example_facts: bool = Field(
        default=False,
        description="The demo and the tests only: preflight accepts the example company name "
        "and launch date (CompanyName and LaunchDate left empty)",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("expected sqlite:///path.db or postgresql+psycopg://user@host/db")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker_url(cls, value: str) -> str:
        if not re.match(r"^(sqla\+sqlite|redis|rediss|amqp|amqps|pyamqp|memory)://", value):
            scheme = value.split("://", 1)[0] if "://" in value else value
            raise ValueError(
                f"{scheme}:// is not a broker Envol runs on (SQS, Kafka and the like are not "
                "supported): use sqla+sqlite:///file.db, redis://host:port/db (with "
                "`pip install 'envol[redis]'`) or amqp://user:password@host//"
            )
        return value

    @field_validator("mattermost_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if not re.match(r"^smtps?://[^/\s]+", value):
            raise ValueError("expected smtp://host:port or smtps://host:port")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @property
    def effective_rate_limit_storage(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        if self.broker_url.startswith(("redis://", "rediss://")):
            return self.broker_url
        return "memory://"

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        if value and not re.match(
            r"^(memory|redis|rediss|redis\+sentinel|redis\+cluster)://", value
        ):
            raise ValueError("expected redis://host:port/db or memory://")
        return value

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """The current key first (the one that signs), then the previous ones (verify only)."""
        previous = self.secret_key_previous.get_secret_value().split(",")
        return (self.secret_key.get_secret_value(), *(k.strip() for k in previous if k.strip()))

    @property
    def effective_plugin_id(self) -> str:
        return self.plugin_id or load_manifest()["id"]


def require_production_secret(settings: DeploySettings) -> None:
    """Refuse to serve or run tasks with a key someone else may know: the development key
    (public, in this file) or one too short to resist guessing. Every signature Envol hands out
    (buttons, dialogs, the /join form, console links) is only as secret as this key."""
    key = settings.secret_key.get_secret_value()
    if key == DEVELOPMENT_SECRET_KEY or len(key) < SECRET_KEY_MIN_LENGTH:
        what = "the built-in development key" if key == DEVELOPMENT_SECRET_KEY else "too short"
        raise ConfigurationError(
            f"ENVOL_SECRET_KEY is {what}: set it to at least {SECRET_KEY_MIN_LENGTH} random "
            f"characters, for example the output of `{GENERATE_SECRET_KEY}`."
        )


def load_deploy_settings(**overrides: Any) -> DeploySettings:
    """Read the deploy settings, or fail with one message listing every bad key."""
    try:
        return DeploySettings(**overrides)
    except ValidationError as error:
        problems = _describe_errors(error, prefix="ENVOL_")
        raise ConfigurationError(
            "invalid settings: " + "; ".join(problems) + ". Fix them in the environment or .env."
        ) from error


# --------------------------------------------------------------------------- runtime settings


@cache
def load_manifest(path: Path = PLUGIN_MANIFEST) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    return manifest


def _comma_separated_days(value: Any) -> tuple[int, ...]:
    if isinstance(value, list | tuple):
        items = [str(v) for v in value]
    else:
        items = [part for part in str(value).replace(";", ",").split(",") if part.strip()]
    days = tuple(int(part.strip()) for part in items)
    if any(day <= 0 for day in days) or list(days) != sorted(set(days)):
        raise ValueError("expected increasing positive whole days, e.g. 3,7")
    return days


# What CompanyName and LaunchDate stand for while an admin has not set them: the demo's
# example company and launch day. Content can be written and checked with them; preflight
# blocks a real launch until they are set (``RuntimeSettings.example_facts``).
EXAMPLE_COMPANY_NAME = "Exemple SA"
EXAMPLE_LAUNCH_DATE = dt.date(2027, 3, 1)  # a Monday
_EXAMPLE_VALUES = {"company_name": EXAMPLE_COMPANY_NAME, "launch_date": EXAMPLE_LAUNCH_DATE}
_SCHEMA_KEYS = {"company_name": "CompanyName", "launch_date": "LaunchDate"}


class RuntimeSettings(BaseModel):
    """The plugin settings page, validated. One field per ``settings_schema`` key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bot_username: str = Field(min_length=1, pattern=r"^[a-z0-9.\-_]+$")
    default_language: Literal["fr", "en"]
    company_name: str = Field(min_length=1)
    launch_date: dt.date
    team_name: str = Field(min_length=1, pattern=r"^[a-z0-9\-_]+$")
    support_channel: str = Field(min_length=1, pattern=r"^[a-z0-9\-_]+$")
    ideas_channel: str = Field(min_length=1, pattern=r"^[a-z0-9\-_]+$")
    committee_channel: str = Field(min_length=1, pattern=r"^[a-z0-9\-_]+$")
    pilot_percent: float = Field(gt=0, le=100)
    pilot_weeks: int = Field(ge=1, le=104)
    gate_activation_rate: float = Field(ge=0, le=100)
    gate_weekly_active_rate: float = Field(ge=0, le=100)
    gate_profile_complete_rate: float = Field(ge=0, le=100)
    gate_survey_score: float = Field(ge=1, le=5)
    invitation_strategy: Literal["envol_email", "mattermost_email", "sso"]
    reminder_delays_days: tuple[int, ...]
    profile_nudge_delays_days: tuple[int, ...]
    survey_delay_days: int = Field(ge=0, le=365)
    support_reminder_hours: int = Field(ge=1, le=24 * 30)
    mobile_app_ios_url: str
    mobile_app_android_url: str
    desktop_app_url: str
    animators_group: tuple[str, ...]
    # Usernames, and ``~channel`` entries meaning every member of that channel (Team Edition
    # has no user groups; a private channel is how a team names one).
    launch_team: tuple[str, ...]
    enable_weekly_report: bool
    # Per-manager figures in reports and CSV (never for fewer than 5 people): off unless enabled.
    report_manager_figures: bool = False

    _days = field_validator("reminder_delays_days", "profile_nudge_delays_days", mode="before")(
        _comma_separated_days
    )

    @field_validator("animators_group", "launch_team", mode="before")
    @classmethod
    def _usernames(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, list | tuple):
            return tuple(str(v).strip().lstrip("@") for v in value if str(v).strip())
        return tuple(
            name.strip().lstrip("@") for name in re.split(r"[\s,]+", str(value)) if name.strip()
        )

    @field_validator("launch_team")
    @classmethod
    def _launch_team(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if not re.fullmatch(r"~?[a-z0-9.\-_]{1,64}", entry.lower()):
                raise ValueError(
                    f"{entry!r} is neither a username nor ~channel-name; one entry per line"
                )
        return tuple(entry.lower() for entry in value)

    @property
    def example_facts(self) -> tuple[str, ...]:
        """The settings (``CompanyName``, ``LaunchDate``) still on the demo's example value."""
        return tuple(
            _SCHEMA_KEYS[name]
            for name, example in _EXAMPLE_VALUES.items()
            if getattr(self, name) == example
        )

    @property
    def launch_team_usernames(self) -> tuple[str, ...]:
        return tuple(entry for entry in self.launch_team if not entry.startswith("~"))

    @property
    def launch_team_channels(self) -> tuple[str, ...]:
        return tuple(entry[1:] for entry in self.launch_team if entry.startswith("~"))

    @field_validator("mobile_app_ios_url", "mobile_app_android_url", "desktop_app_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://\S+$", value):
            raise ValueError("expected an http:// or https:// link")
        return value


def schema_key_to_field(key: str) -> str:
    """``GateWeeklyActiveRate`` → ``gate_weekly_active_rate``."""
    return re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()


def runtime_settings_from_config(
    plugin_config: Mapping[str, Any] | None, manifest: Mapping[str, Any] | None = None
) -> RuntimeSettings:
    """Defaults from the manifest, overlaid with the stored values, exactly as Mattermost does.

    The System Console stores keys lowercased; config written by hand may keep any case, so
    every key is lowercased before matching, like the server's ``LoadPluginConfiguration``.
    """
    manifest = manifest or load_manifest()
    by_lower_key = {
        setting["key"].lower(): schema_key_to_field(setting["key"])
        for setting in manifest["settings_schema"]["settings"]
    }
    values = {
        by_lower_key[setting["key"].lower()]: setting.get("default")
        for setting in manifest["settings_schema"]["settings"]
    }
    unknown = []
    for key, value in (plugin_config or {}).items():
        field = by_lower_key.get(str(key).lower())
        if field is None:
            unknown.append(str(key))
            continue
        values[field] = value
    for field, example in _EXAMPLE_VALUES.items():
        if values.get(field) in (None, ""):
            values[field] = example
    try:
        return RuntimeSettings(**values)
    except ValidationError as error:
        raise ConfigurationError(
            "invalid plugin settings in the System Console: "
            + "; ".join(_describe_errors(error))
            + ". Correct them under Plugins > Envol."
        ) from error


class RuntimeSettingsStore:
    """Holds the current runtime snapshot and swaps it atomically when the config changes.

    Readers call ``current`` and keep the object they get for the whole of their work, so a
    change made in the middle of a wave never mixes old and new values.
    """

    def __init__(self, initial: RuntimeSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._current = initial or runtime_settings_from_config({})
        self._source: Callable[[], Mapping[str, Any] | None] | None = None
        self._max_age = 60.0
        self._read_at = 0.0

    @property
    def current(self) -> RuntimeSettings:
        """The snapshot; re-read first from the followed source when it is ``max_age`` old."""
        if self._source is not None and time.monotonic() - self._read_at >= self._max_age:
            self._reread(self._source)
        return self._current

    def follow(
        self, source: Callable[[], Mapping[str, Any] | None], *, max_age: float = 60.0
    ) -> None:
        """Keep the snapshot in step with ``source`` (the plugin's System Console settings, as
        Mattermost stores them): re-read at most every ``max_age`` seconds, on use."""
        self._source = source
        self._max_age = max_age
        self._read_at = 0.0

    def _reread(self, source: Callable[[], Mapping[str, Any] | None]) -> None:
        with self._lock:
            if time.monotonic() - self._read_at < self._max_age:
                return  # another thread has just read it
            self._read_at = time.monotonic()
        try:
            if self.refresh(source):
                log.info("the plugin settings changed in the System Console: now in use")
        # Anything at all (a typo in the console, Mattermost unreachable): a running launch
        # goes on with the last good settings, and says why.
        except Exception as error:
            log.warning("kept the last good plugin settings: %s", error)

    def refresh(self, read_plugin_config: Callable[[], Mapping[str, Any] | None]) -> bool:
        """Re-read the config; returns True when the snapshot changed. A bad config keeps the
        last good snapshot and raises, so a typo in the console never stops a running launch."""
        candidate = runtime_settings_from_config(read_plugin_config())
        with self._lock:
            changed = candidate != self._current
            self._current = candidate
        return changed
