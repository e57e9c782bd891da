"""The delivery ledger of a demo run: everything Envol sent, as the receivers recorded it.

It is built from the mail catcher's messages and the sandbox's state, never from Envol's own
tables, so it shows what people really received: a message Envol believes it sent once but
that arrived twice counts twice here. Every entry is a stable key (names, addresses, markers;
never ids, ports or times, which change from one run to the next) with how many times it
arrived and, where the content matters, a digest of that content. Two runs of the same launch
(same seed, same people) must give equal ledgers, whatever faults the sandbox injected into the
second one; ``compare_ledgers`` lists what differs.

Sections whose keys name one delivery (an e-mail, a DM, a pinned post, a sidebar category)
are *unique*: a key counted twice there is a duplicate. Tallies (ephemeral answers, dialogs
opened, Mattermost's own invitation e-mails) may legitimately repeat a key: they are compared,
never reported as duplicates. Answers are in the ledger too: when a fault stops Envol from
opening a form, the person gets Envol's "try again" instead; the comparison shows that extra
answer as a notice (``LedgerDifference.is_notice``), not as a failure.

What it does not see: e-mails sent to another SMTP server than the stage's mail catcher (the
communication plan's step keeps its own), and Envol's database, on purpose.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from plugin.demo.mail_catcher import body_text
from plugin.jsontypes import JSON
from plugin.mattermost import MARKER_PROP

if TYPE_CHECKING:
    from plugin.sandbox import Sandbox
    from plugin.sandbox.state import SandboxState

LEDGER_VERSION = 1

# A Mattermost id (26 lowercase alphanumerics): random, or in creation order when seeded.
_ID = re.compile(r"(?<![A-Za-z0-9])[a-z0-9]{26}(?![A-Za-z0-9])")
# Loopback addresses carry ports chosen at random for each run.
_LOOPBACK = re.compile(r"(https?|smtp)://(127\.0\.0\.1|localhost):\d+")
# Signed tokens (itsdangerous: payload.timestamp.signature) stamp the real time of signing.
_SIGNED = re.compile(r"[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{16,}")
# Props that say how a post was made, not what it says.
_TRANSPORT_PROPS = frozenset({MARKER_PROP, "from_webhook", "override_username", "from_bot"})


@dataclass(frozen=True)
class SectionSpec:
    name: str
    unique: bool  # a key counted twice is a duplicate delivery
    # (one, many) in the one-line summary; sections without one stay out of the line.
    headline: tuple[str, str] | None = None


# In the order of the summary line.
SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("e-mails", unique=True, headline=("e-mail", "e-mails")),
    SectionSpec("dms", unique=True, headline=("DM", "DMs")),
    SectionSpec("posts", unique=True, headline=("post", "posts")),
    # Envol's posts without a marker (answers in threads, command replies): keyed by their text.
    SectionSpec("unmarked posts", unique=False, headline=("other post", "other posts")),
    SectionSpec("team memberships", unique=True, headline=("team membership", "team memberships")),
    SectionSpec(
        "channel memberships", unique=True, headline=("channel membership", "channel memberships")
    ),
    SectionSpec(
        "sidebar categories", unique=True, headline=("sidebar category", "sidebar categories")
    ),
    SectionSpec("pins", unique=True, headline=("pin", "pins")),
    SectionSpec("reactions", unique=True, headline=("reaction", "reactions")),
    SectionSpec("bookmarks", unique=True, headline=("bookmark", "bookmarks")),
    SectionSpec("channels", unique=True, headline=("channel", "channels")),
    SectionSpec("teams", unique=True),
    SectionSpec("commands", unique=True),
    SectionSpec("bots", unique=True),
    SectionSpec("preferences", unique=True),
    SectionSpec("config", unique=True),
    SectionSpec("ephemeral answers", unique=False),
    SectionSpec("dialogs", unique=False),
    SectionSpec("mattermost invitations", unique=False),
    SectionSpec("deleted posts", unique=False),
)
_SPECS = {spec.name: spec for spec in SECTIONS}
# Where a fault may add a delivery without anything being wrong (``LedgerDifference.is_notice``).
_NOTICE_SECTIONS = frozenset({"ephemeral answers"})


@dataclass
class LedgerSection:
    """Per key, how many times it arrived, and the digest of its content when it has one."""

    counts: Counter[str] = field(default_factory=Counter)
    digests: dict[str, str] = field(default_factory=dict)

    def add(self, key: str, content: object = None) -> None:
        self.counts[key] += 1
        if content is not None:
            # Copies of one key may differ (a resend re-rendered): keep every version.
            digest = _digest(content)
            known = self.digests.get(key)
            versions = set(known.split("+")) if known else set()
            versions.add(digest)
            self.digests[key] = "+".join(sorted(versions))


@dataclass
class Ledger:
    """Everything a demo run delivered, section by section (see the module docstring)."""

    sections: dict[str, LedgerSection] = field(
        default_factory=lambda: {spec.name: LedgerSection() for spec in SECTIONS}
    )

    def section(self, name: str) -> LedgerSection:
        return self.sections[name]

    def size(self, name: str) -> int:
        """Deliveries in one section, copies included."""
        return sum(self.sections[name].counts.values())

    def duplicates(self) -> dict[str, dict[str, int]]:
        """Keys of unique sections that arrived more than once: {section: {key: times}}."""
        found: dict[str, dict[str, int]] = {}
        for name, section in self.sections.items():
            spec = _SPECS.get(name)
            if spec is None or not spec.unique:
                continue
            twice = {key: n for key, n in sorted(section.counts.items()) if n > 1}
            if twice:
                found[name] = twice
        return found

    def duplicate_count(self) -> int:
        """Extra copies over every unique section (a key seen three times counts two)."""
        return sum(n - 1 for keys in self.duplicates().values() for n in keys.values())

    def summary(self) -> str:
        """The one line the demo prints at the end."""
        parts = [
            _counted(self.size(spec.name), *spec.headline) for spec in SECTIONS if spec.headline
        ]
        duplicates = _counted(self.duplicate_count(), "duplicate", "duplicates")
        return f"delivered: {', '.join(parts)} — {duplicates}"

    def to_json(self) -> JSON:
        return {
            "version": LEDGER_VERSION,
            "duplicates": self.duplicates(),
            "sections": {
                name: {
                    key: {"count": section.counts[key], "digest": section.digests.get(key, "")}
                    for key in sorted(section.counts)
                }
                for name, section in self.sections.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ledger:
        if data.get("version") != LEDGER_VERSION:
            raise ValueError(f"not a version {LEDGER_VERSION} delivery ledger")
        ledger = cls()
        for name, entries in data["sections"].items():
            section = ledger.sections.setdefault(name, LedgerSection())
            for key, entry in entries.items():
                section.counts[key] = int(entry["count"])
                if entry.get("digest"):
                    section.digests[key] = str(entry["digest"])
        return ledger


def _counted(count: int, one: str, many: str) -> str:
    return f"{count:,} {one if count == 1 else many}"


def write_ledger(ledger: Ledger, path: Path) -> None:
    path.write_text(
        json.dumps(ledger.to_json(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def read_ledger(path: Path) -> Ledger:
    return Ledger.from_json(json.loads(path.read_text(encoding="utf-8")))


# ====================================================================== comparing

DifferenceKind = Literal["missing", "extra", "duplicated", "count", "content"]


@dataclass(frozen=True)
class LedgerDifference:
    """One key on which two ledgers disagree; counts are (expected, actual)."""

    section: str
    key: str
    kind: DifferenceKind
    expected: int
    actual: int

    @property
    def is_notice(self) -> bool:
        """More answers than expected: a fault made Envol tell someone "try again" (a form
        that could not open), and they did. Worth showing, not a loss nor a duplicate."""
        return self.section in _NOTICE_SECTIONS and self.actual > self.expected

    def describe(self) -> str:
        match self.kind:
            case "missing":
                what = f"missing (expected {self.expected}×)"
            case "extra":
                what = f"extra ({self.actual}×, expected none)"
            case "duplicated":
                what = f"duplicated ({self.actual}×, expected {self.expected}×)"
            case "count":
                what = f"{self.actual}× instead of {self.expected}×"
            case _:
                what = "arrived with a different content"
        return f"{self.section}: {self.key} — {what}"


def compare_ledgers(expected: Ledger, actual: Ledger) -> list[LedgerDifference]:
    """Every key whose count or content differs, section by section, keys sorted (notices
    included: filter on ``is_notice`` to keep losses, duplicates and changes only)."""
    differences: list[LedgerDifference] = []
    others = (set(expected.sections) | set(actual.sections)) - set(_SPECS)
    for name in [*_SPECS, *sorted(others)]:
        want = expected.sections.get(name, LedgerSection())
        got = actual.sections.get(name, LedgerSection())
        unique = _SPECS[name].unique if name in _SPECS else False
        for key in sorted(set(want.counts) | set(got.counts)):
            a, b = want.counts.get(key, 0), got.counts.get(key, 0)
            kind: DifferenceKind | None = None
            if a and not b:
                kind = "missing"
            elif b and not a:
                kind = "extra"
            elif a != b:
                kind = "duplicated" if unique and b > a else "count"
            elif want.digests.get(key, "") != got.digests.get(key, ""):
                kind = "content"
            if kind is not None:
                differences.append(LedgerDifference(name, key, kind, a, b))
    return differences


# ====================================================================== building


def build_ledger(
    sandbox: Sandbox | None, mail: Iterable[Message], *, run_urls: Iterable[str] = ()
) -> Ledger:
    """The ledger of what the mail catcher and the sandbox received.

    ``run_urls`` are addresses that change from run to run (the webhooks', the sandbox's):
    they are replaced by placeholders before anything is digested. Without a sandbox (a
    rehearsal on a real server, whose database this process cannot read), the e-mails only.
    """
    urls = [u.rstrip("/") for u in run_urls if u] + ([sandbox.url] if sandbox else [])
    normalise = _Normaliser(tuple(urls))
    ledger = Ledger()
    _add_emails(ledger, mail, normalise)
    if sandbox is not None:
        with sandbox.state.lock:
            _SandboxReader(sandbox.state, ledger, normalise).read_all()
    return ledger


@dataclass(frozen=True)
class _Normaliser:
    urls: tuple[str, ...]

    def __call__(self, text: str) -> str:
        for url in self.urls:
            text = text.replace(url, "<url>")
        text = _LOOPBACK.sub(r"\1://<loopback>", text)
        text = _SIGNED.sub("<signed>", text)
        return _ID.sub("<id>", text)


def _digest(content: object) -> str:
    if not isinstance(content, str):
        content = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]


def _add_emails(ledger: Ledger, mail: Iterable[Message], normalise: _Normaliser) -> None:
    """Keyed by (recipient, idempotency key, subject): ``X-Envol-Key`` when the message has
    one, else its Message-ID when Envol derived it from a key (``<envol.…>``), else nothing
    (then two messages with one subject to one person count as a duplicate)."""
    section = ledger.section("e-mails")
    for message in mail:
        subject = str(message["Subject"] or "")
        key = str(message["X-Envol-Key"] or "")
        if not key:
            message_id = str(message["Message-ID"] or "").strip()
            key = message_id if message_id.startswith("<envol.") else ""
        body = normalise(body_text(message))
        for _, address in getaddresses([str(v) for v in message.get_all("To", [])]):
            recipient = address.lower()
            section.add(f"{recipient} | {key or '-'} | {subject}", {"body": body})


class _SandboxReader:
    """Reads the sandbox's state (lock held by the caller) into the ledger."""

    def __init__(self, state: SandboxState, ledger: Ledger, normalise: _Normaliser) -> None:
        self.state, self.ledger, self.normalise = state, ledger, normalise
        # Envol acts as a bot or a system admin; the simulated people are neither.
        self.envol = {
            uid for uid, u in state.users.items() if u["is_bot"] or "system_admin" in u["roles"]
        }
        self._labels: dict[str, str] = {}

    def read_all(self) -> None:
        self.posts()
        self.memberships()
        self.categories()
        self.structure()
        self.preferences_and_config()
        self.answers()

    # ------------------------------------------------------------------ names

    def username(self, user_id: str) -> str:
        return "@" + str(self.state.users.get(user_id, {}).get("username", "?"))

    def team_name(self, team_id: str) -> str:
        return str(self.state.teams.get(team_id, {}).get("name", "?"))

    def channel_label(self, channel_id: str) -> str:
        """``team/channel``, or ``@a,@b`` (usernames, sorted) for a direct channel."""
        label = self._labels.get(channel_id)
        if label is None:
            channel = self.state.channels.get(channel_id, {})
            if channel.get("type") in ("D", "G"):
                members = sorted(self.username(uid) for uid in str(channel["name"]).split("__"))
                label = ",".join(members)
            else:
                label = f"{self.team_name(channel.get('team_id', ''))}/{channel.get('name', '?')}"
            self._labels[channel_id] = label
        return label

    # ------------------------------------------------------------------ posts

    def is_envol_post(self, post: JSON) -> bool:
        props = post.get("props") or {}
        return post["user_id"] in self.envol or props.get("from_webhook") == "true"

    def post_identity(self, post: JSON) -> str:
        """The marker Envol gave the post, else a digest of what it says."""
        marker = (post.get("props") or {}).get(MARKER_PROP)
        if marker:
            return str(marker)
        author = "envol" if self.is_envol_post(post) else self.username(post["user_id"])
        return f"{author}:{_digest(self.normalise(str(post.get('message', ''))))}"

    def post_content(self, post: JSON) -> JSON:
        props = {k: v for k, v in (post.get("props") or {}).items() if k not in _TRANSPORT_PROPS}
        return {
            "message": self.normalise(str(post.get("message", ""))),
            "props": json.loads(self.normalise(json.dumps(_strip_actions(props), sort_keys=True))),
            "files": sorted(
                str(self.state.files.get(f, {}).get("name", "?")) for f in post.get("file_ids", [])
            ),
        }

    def posts(self) -> None:
        for post in self.state.posts.values():
            if not self.is_envol_post(post):
                continue
            label = self.channel_label(post["channel_id"])
            identity = self.post_identity(post)
            root = self.state.posts.get(post["root_id"]) if post["root_id"] else None
            if root is not None:
                identity = f"{self.post_identity(root)} > {identity}"
            key = f"{label} | {identity}"
            if post["delete_at"]:
                self.ledger.section("deleted posts").add(key)
                continue
            marked = bool((post.get("props") or {}).get(MARKER_PROP))
            channel_type = self.state.channels.get(post["channel_id"], {}).get("type")
            if not marked:
                name = "unmarked posts"
            elif channel_type in ("D", "G"):
                name = "dms"
            else:
                name = "posts"
            self.ledger.section(name).add(key, self.post_content(post))
            if post.get("is_pinned"):
                self.ledger.section("pins").add(key)
        for reaction in self.state.reactions.values():
            if reaction["user_id"] not in self.envol:
                continue
            target = self.state.posts.get(reaction["post_id"])
            if target is None:
                continue
            self.ledger.section("reactions").add(
                f"{self.channel_label(target['channel_id'])} | {self.post_identity(target)} | "
                f"{self.username(reaction['user_id'])} :{reaction['emoji_name']}:"
            )

    # ------------------------------------------------------------------ memberships

    def memberships(self) -> None:
        for (team_id, user_id), member in self.state.team_members.items():
            if not member["delete_at"]:
                self.ledger.section("team memberships").add(
                    f"{self.team_name(team_id)} | {self.username(user_id)}",
                    {"roles": member["roles"]},
                )
        for channel_id, user_id in self.state.channel_members:
            if self.state.channels.get(channel_id, {}).get("type") in ("O", "P"):
                self.ledger.section("channel memberships").add(
                    f"{self.channel_label(channel_id)} | {self.username(user_id)}"
                )

    def categories(self) -> None:
        """Custom sidebar categories (Envol's); the default three are Mattermost's."""
        for (user_id, team_id), categories in self.state.categories.items():
            for category in categories:
                if category["type"] != "custom":
                    continue
                self.ledger.section("sidebar categories").add(
                    f"{self.username(user_id)} | {self.team_name(team_id)} | "
                    f"{category['display_name']}",
                    {
                        "channels": [self.channel_label(c) for c in category["channel_ids"]],
                        "muted": category["muted"],
                        "collapsed": category["collapsed"],
                        "sorting": category["sorting"],
                    },
                )

    # ------------------------------------------------------------------ teams, channels …

    def structure(self) -> None:
        for team in self.state.teams.values():
            icon = self.state.team_icons.get(team["id"])
            self.ledger.section("teams").add(
                str(team["name"]),
                {
                    "display_name": team["display_name"],
                    "description": self.normalise(str(team["description"])),
                    "type": team["type"],
                    "allowed_domains": team["allowed_domains"],
                    "allow_open_invite": team["allow_open_invite"],
                    "deleted": bool(team["delete_at"]),
                    "icon": hashlib.sha256(icon).hexdigest() if icon else "",
                },
            )
        for channel in self.state.channels.values():
            if channel["type"] not in ("O", "P"):
                continue
            self.ledger.section("channels").add(
                self.channel_label(channel["id"]),
                {
                    "type": channel["type"],
                    "display_name": channel["display_name"],
                    "header": self.normalise(str(channel["header"])),
                    "purpose": self.normalise(str(channel["purpose"])),
                    "archived": bool(channel["delete_at"]),
                },
            )
        for bookmark in self.state.bookmarks.values():
            if bookmark.get("delete_at"):
                continue
            self.ledger.section("bookmarks").add(
                f"{self.channel_label(str(bookmark.get('channel_id', '')))} | "
                f"{bookmark.get('display_name', '')}",
                {"link": self.normalise(str(bookmark.get("link_url", "")))},
            )
        for command in self.state.commands.values():
            if command.get("delete_at"):
                continue
            self.ledger.section("commands").add(
                f"{self.team_name(str(command.get('team_id', '')))} | /{command.get('trigger')}",
                {
                    "url": self.normalise(str(command.get("url", ""))),
                    "method": command.get("method"),
                    "auto_complete": command.get("auto_complete"),
                    "auto_complete_desc": command.get("auto_complete_desc"),
                    "auto_complete_hint": command.get("auto_complete_hint"),
                },
            )
        for bot_id, bot in self.state.bots.items():
            self.ledger.section("bots").add(
                self.username(bot_id),
                {"display_name": bot.get("display_name"), "description": bot.get("description")},
            )

    def preferences_and_config(self) -> None:
        from plugin.sandbox.state import default_config

        for (user_id, category, name), preference in self.state.preferences.items():
            self.ledger.section("preferences").add(
                f"{self.username(user_id)} | {category} | {name}",
                self.normalise(str(preference.get("value", ""))),
            )
        defaults = dict(_flatten(default_config()))
        for path, value in _flatten(self.state.config):
            if path.startswith(_STAGE_SETTINGS) or defaults.get(path, _ABSENT) == value:
                continue
            self.ledger.section("config").add(path, self.normalise(json.dumps(value)))
        if self.state.brand_image:
            self.ledger.section("config").add(
                "brand image", hashlib.sha256(self.state.brand_image).hexdigest()
            )

    # ------------------------------------------------------------------ answers to people

    def answers(self) -> None:
        for entry in self.state.ephemeral_posts:
            post = entry["post"]
            self.ledger.section("ephemeral answers").add(
                f"{self.username(entry['user_id'])} | {self.channel_label(post['channel_id'])} | "
                f"{_digest(self.normalise(str(post.get('message', ''))))}"
            )
        for dialog in self.state.opened_dialogs:
            self.ledger.section("dialogs").add(
                f"{self.username(dialog.user_id)} | {dialog.dialog.get('title', '')}",
                json.loads(self.normalise(json.dumps(_strip_actions(dialog.dialog)))),
            )
        for invite in self.state.sent_invites:
            self.ledger.section("mattermost invitations").add(
                f"{self.team_name(str(invite.get('team_id', '')))} | {invite.get('email', '')}"
            )


_ABSENT = object()
# Set by the stage, not by Envol: the sandbox's own address, and the rate limit of --faults.
_STAGE_SETTINGS = ("ServiceSettings.SiteURL", "RateLimitSettings.")


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, path + ".")
        else:
            yield path, value


def _strip_actions(value: Any) -> Any:
    """Without the parts of buttons that change from run to run: their ids and the signed
    context that Envol's webhooks will receive."""
    if isinstance(value, dict):
        return {k: _strip_actions(v) for k, v in value.items() if k not in ("id", "integration")}
    if isinstance(value, list):
        return [_strip_actions(v) for v in value]
    return value
