"""The seed content format, as pydantic models: ``branding.yaml``, ``spaces.yaml``,
``committee.yaml`` and ``posts/**/*.md`` (YAML front matter + Markdown body per language).

These models hold the content as written (templates not yet rendered). ``loader.py`` builds
them with line numbers; ``render.py`` turns them into what Mattermost should show.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from plugin.launch_files import FileModel, LaunchFacts, LineMap, Refused
from plugin.seeding.wording import phrase, said

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")

SLUG_PATTERN = r"^[a-z0-9][a-z0-9\-]*$"
# Channel and team names may be templates ("{{ support_channel }}"), checked after rendering.
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9\-_]*$")
HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

# Mattermost's theme keys (webapp ``Theme`` type); every colour is a hex colour.
THEME_COLOUR_KEYS = (
    "sidebarBg",
    "sidebarText",
    "sidebarUnreadText",
    "sidebarTextHoverBg",
    "sidebarTextActiveBorder",
    "sidebarTextActiveColor",
    "sidebarHeaderBg",
    "sidebarHeaderTextColor",
    "sidebarTeamBarBg",
    "onlineIndicator",
    "awayIndicator",
    "dndIndicator",
    "mentionBg",
    "mentionBj",
    "mentionColor",
    "centerChannelBg",
    "centerChannelColor",
    "newMessageSeparator",
    "linkColor",
    "buttonBg",
    "buttonColor",
    "errorTextColor",
    "mentionHighlightBg",
    "mentionHighlightLink",
)
CODE_THEMES = ("github", "monokai", "solarized-dark", "solarized-light")

# Mattermost's "Denim" theme: the keys a company does not set keep these values, so the theme
# preference Envol writes is always complete.
DENIM_THEME: dict[str, str] = {
    "type": "Denim",
    "sidebarBg": "#1e325c",
    "sidebarText": "#ffffff",
    "sidebarUnreadText": "#ffffff",
    "sidebarTextHoverBg": "#28427b",
    "sidebarTextActiveBorder": "#5d89ea",
    "sidebarTextActiveColor": "#ffffff",
    "sidebarHeaderBg": "#192a4d",
    "sidebarHeaderTextColor": "#ffffff",
    "sidebarTeamBarBg": "#14213e",
    "onlineIndicator": "#3db887",
    "awayIndicator": "#ffbc1f",
    "dndIndicator": "#d24b4e",
    "mentionBg": "#ffffff",
    "mentionBj": "#ffffff",
    "mentionColor": "#1e325c",
    "centerChannelBg": "#ffffff",
    "centerChannelColor": "#3f4350",
    "newMessageSeparator": "#cc8f00",
    "linkColor": "#386fe5",
    "buttonBg": "#1c58d9",
    "buttonColor": "#ffffff",
    "errorTextColor": "#d24b4e",
    "mentionHighlightBg": "#ffd470",
    "mentionHighlightLink": "#1b1d22",
    "codeTheme": "github",
}

COHORT_KEYWORDS = ("all", "pilot", "managers_champions", "managers", "champions", "committee")
COHORT_NAMED = ("department", "site", "wave", "cohort")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _StrictFile(FileModel):
    """A whole file (or front matter): remembers the line of each of its values."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """A text in both languages; prose must always be given in French and English."""

    fr: str
    en: str

    @model_validator(mode="before")
    @classmethod
    def _both_languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise Refused(said("text.both_languages"))
        return value

    def pick(self, language: Language) -> str:
        return self.fr if language == "fr" else self.en


class Name(Localized):
    """A short name: one string for both languages, or ``fr``/``en`` when they differ."""

    @model_validator(mode="before")
    @classmethod
    def _both_languages(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"fr": value, "en": value}
        return value


# --------------------------------------------------------------------------- branding.yaml


class TeamBranding(_Strict):
    display_name: Name
    description: Localized
    icon: str | None = None


class Branding(_StrictFile):
    site_name: Name
    brand_text: Localized
    logo: str | None = None
    team: TeamBranding
    # Values checked by ``theme_problems`` (one problem per line), hence ``Any`` here.
    theme: dict[str, Any]

    def full_theme(self) -> dict[str, str]:
        """The company theme completed with Denim's values, keys in a stable order."""
        theme = {**DENIM_THEME, "type": "custom", **{k: str(v) for k, v in self.theme.items()}}
        return dict(sorted(theme.items()))


def theme_problems(theme: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(key, message, hint)`` for every bad entry of a theme: unknown keys, bad colours.

    Checked by the loader rather than by pydantic so that each problem gets its own line.
    """
    problems: list[tuple[str, str, str]] = []
    for key, value in theme.items():
        if key == "codeTheme":
            if value not in CODE_THEMES:
                problems.append(
                    (
                        key,
                        phrase("theme.code", value=value),
                        phrase("theme.code.do", themes=", ".join(CODE_THEMES)),
                    )
                )
        elif key == "type":
            continue
        elif key not in THEME_COLOUR_KEYS:
            problems.append(
                (
                    key,
                    phrase("theme.unknown_key", key=key),
                    phrase("theme.unknown_key.do"),
                )
            )
        elif value is None:
            problems.append(
                (
                    key,
                    phrase("theme.no_colour", key=key),
                    phrase("theme.no_colour.do"),
                )
            )
        elif not isinstance(value, str) or not HEX_COLOUR.match(value):
            problems.append(
                (
                    key,
                    phrase("theme.not_a_colour", key=key, value=value),
                    phrase("theme.not_a_colour.do"),
                )
            )
    return problems


# --------------------------------------------------------------------------- spaces.yaml


class TeamSpec(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN)
    name: str
    # Omitted for the branded team: branding.yaml's team display name and description apply.
    display_name: Name | None = None
    description: Localized | None = None
    open: bool = False


class BookmarkSpec(_Strict):
    title: Name
    url: str
    emoji: str | None = Field(default=None, pattern=r"^[a-z0-9_+\-]+$")


class ChannelSpec(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN)
    team: str | None = None
    name: str
    display_name: Name
    private: bool = False
    purpose: Localized | None = None
    header: Localized | None = None
    category: Name | None = None
    cohorts: tuple[str, ...] = ("all",)
    bookmarks: tuple[BookmarkSpec, ...] = ()

    @field_validator("cohorts")
    @classmethod
    def _cohorts(cls, cohorts: tuple[str, ...]) -> tuple[str, ...]:
        for cohort in cohorts:
            kind, _, value = cohort.partition(":")
            if kind in COHORT_KEYWORDS and not value:
                continue
            if kind in COHORT_NAMED and value.strip():
                continue
            raise Refused(
                said(
                    "cohort.unknown",
                    cohort=cohort,
                    keywords=", ".join(COHORT_KEYWORDS),
                    named=", ".join(k + ":NAME" for k in COHORT_NAMED),
                )
            )
        return cohorts


class Spaces(_StrictFile):
    teams: tuple[TeamSpec, ...] = Field(min_length=1)
    channels: tuple[ChannelSpec, ...] = ()


# --------------------------------------------------------------------------- committee.yaml


class CommitteeMember(_Strict):
    """A member of the launch committee. One who is also in the launch's facts (the CEO, the
    communication lead) is written ``fact: comms_lead``: their name and title come from
    ``launch.yaml``, so the two files can never disagree."""

    key: str = Field(pattern=SLUG_PATTERN)
    username: str = Field(pattern=r"^[a-z0-9.\-_]+$")
    fact: Literal["ceo", "comms_lead"] | None = None
    name: str = Field(default="", min_length=0)
    role: Localized | None = None

    @model_validator(mode="after")
    def _named_once(self) -> CommitteeMember:
        if self.fact is not None and (self.name or self.role is not None):
            raise Refused(said("member.fact_and_name", fact=self.fact))
        if self.fact is None and (not self.name or self.role is None):
            raise Refused(said("member.no_name"))
        return self


class Committee(_StrictFile):
    members: tuple[CommitteeMember, ...] = ()


# --------------------------------------------------------------------------- posts/**.md


class PollSpec(_Strict):
    question: Localized
    options: tuple[Localized, ...] = Field(min_length=2, max_length=8)


class ReplySpec(_Strict):
    slug: str | None = Field(default=None, pattern=SLUG_PATTERN)
    author: str = "bot"
    text: Localized


class PostFrontMatter(_StrictFile):
    slug: str = Field(pattern=SLUG_PATTERN)
    channel: str
    author: str = "bot"
    pinned: bool = False
    order: int = 100
    files: tuple[str, ...] = Field(default=(), max_length=5)
    poll: PollSpec | None = None
    replies: tuple[ReplySpec, ...] = ()


class PostSpec(_Strict):
    """One post file: its front matter, its body per language and where each part starts."""

    file: str
    front: PostFrontMatter
    body: Localized
    body_lines: dict[str, int]

    @property
    def lines(self) -> LineMap:
        """Lines of the front matter's values."""
        return self.front.lines

    def reply_slug(self, index: int) -> str:
        reply = self.front.replies[index]
        return reply.slug or f"{self.front.slug}--reply-{index + 1}"


class SeedContent(BaseModel):
    """Everything in a content folder, parsed (not yet rendered)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    root: str
    branding: Branding | None
    spaces: Spaces
    committee: Committee
    posts: tuple[PostSpec, ...]
    facts: LaunchFacts | None = None

    def channel(self, slug: str) -> ChannelSpec | None:
        return next((c for c in self.spaces.channels if c.slug == slug), None)

    def team_of(self, channel: ChannelSpec) -> TeamSpec:
        if channel.team is None:
            return self.spaces.teams[0]
        return next(t for t in self.spaces.teams if t.slug == channel.team)

    def member(self, key: str) -> CommitteeMember | None:
        return next((m for m in self.committee.members if m.key == key), None)
