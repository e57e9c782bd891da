"""What Mattermost should show: the content rendered in one language, as ``DesiredObject``s.

Each object carries the fields Envol manages (compared and hashed) and where it was written,
so a plan can say what changes and an error can point at the line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from plugin.i18n import Message
from plugin.launch_files import LineMap, Problem, TextLocation, sort_problems
from plugin.seeding.content import (
    LANGUAGES,
    NAME_PATTERN,
    ChannelSpec,
    CommitteeMember,
    Language,
    Localized,
    PostSpec,
    SeedContent,
    TeamSpec,
)
from plugin.seeding.loader import ASSETS_DIR, SPACES_FILE, load_content
from plugin.seeding.render import Renderer, RenderFailed, fact_literals, template_variables
from plugin.seeding.wording import phrase, said
from plugin.settings import RuntimeSettings

Kind = Literal["team", "channel", "bookmark", "post", "reply"]
# The order objects are applied in: a parent always exists before its children.
KIND_ORDER: tuple[Kind, ...] = ("team", "channel", "bookmark", "post", "reply")

# Mattermost's limits (model/channel.go, model/post.go, docs for the site name).
MAX_CHANNEL_NAME = 64
MAX_DISPLAY_NAME = 64
MAX_PURPOSE = 250
MAX_HEADER = 1024
MAX_MESSAGE = 16383 - 300  # room for the "on behalf of" line added when posting as the bot
MAX_SITE_NAME = 30


def content_hash(fields: Mapping[str, Any]) -> str:
    """A stable hash of JSON-able fields (key order does not matter)."""
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class DesiredObject:
    kind: Kind
    slug: str
    parent: str | None  # slug of the team, channel or root post this object belongs to
    fields: Mapping[str, Any]
    label: str
    file: str
    line: int | None
    # Used by other capabilities (sidebar categories, cohorts), never compared with Mattermost.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.slug)

    @property
    def content_hash(self) -> str:
        return content_hash(self.fields)


@dataclass(frozen=True)
class RenderedBranding:
    site_name: str
    brand_text: str
    logo: Path | None
    team_name: str
    team_display_name: str
    team_description: str
    team_icon: Path | None
    theme: dict[str, str]


@dataclass
class DesiredState:
    language: Language
    content: SeedContent
    objects: list[DesiredObject]
    branding: RenderedBranding | None
    members: dict[str, CommitteeMember]

    def by_key(self) -> dict[tuple[str, str], DesiredObject]:
        return {obj.key: obj for obj in self.objects}

    def asset(self, name: str) -> Path:
        return Path(self.content.root) / ASSETS_DIR / name


class _Builder:
    def __init__(self, content: SeedContent, renderer: Renderer, language: Language) -> None:
        self.content = content
        self.renderer = renderer
        self.language = language
        self.problems: list[Problem] = []

    def text(
        self,
        value: Localized | None,
        lines: LineMap,
        path: tuple[str | int, ...],
        *,
        limit: int | None = None,
        what: str = "text",
    ) -> str:
        if value is None:
            return ""
        try:
            rendered = self.renderer.render(
                value.pick(self.language), lines.text_at((*path, self.language))
            )
        except RenderFailed as failure:
            self.problems.append(failure.problem)
            return ""
        if limit is not None and len(rendered) > limit:
            self.problems.append(
                lines.problem(
                    (*path, self.language),
                    phrase(
                        "text.too_long",
                        what=what,
                        length=len(rendered),
                        language=self.language,
                        limit=limit,
                    ),
                    phrase("text.too_long.do"),
                )
            )
        return rendered

    def body(self, post: PostSpec) -> str:
        where = TextLocation(post.file, post.body_lines.get(self.language))
        try:
            rendered = self.renderer.render(post.body.pick(self.language), where)
        except RenderFailed as failure:
            self.problems.append(failure.problem)
            return ""
        if len(rendered) > MAX_MESSAGE:
            self.problems.append(
                Problem(
                    post.file,
                    where.line,
                    phrase(
                        "body.too_long",
                        language=self.language,
                        length=len(rendered),
                        limit=MAX_MESSAGE,
                    ),
                    phrase("body.too_long.do"),
                )
            )
        return rendered

    def name(self, value: str, lines: LineMap, path: tuple[str | int, ...], what: Message) -> str:
        try:
            rendered = self.renderer.render(value, lines.text_at(path))
        except RenderFailed as failure:
            self.problems.append(failure.problem)
            return ""
        if not NAME_PATTERN.match(rendered) or len(rendered) > MAX_CHANNEL_NAME:
            self.problems.append(
                lines.problem(
                    path,
                    phrase("name.invalid", what=what, name=rendered),
                    phrase("name.invalid.do"),
                )
            )
        return rendered


def build_desired(
    content: SeedContent, runtime: RuntimeSettings, language: Language, site_url: str = ""
) -> tuple[DesiredState, list[Problem]]:
    """Render the content in ``language``; problems name the file and line of each error."""
    renderer = Renderer(
        template_variables(runtime, language, site_url, content.facts),
        fact_literals(runtime, content.facts),
    )
    build = _Builder(content, renderer, language)
    branding = _build_branding(build, content) if content.branding is not None else None
    objects: list[DesiredObject] = []
    team_names: dict[str, str] = {}
    for index, team in enumerate(content.spaces.teams):
        team_object = _team(build, index, team, branding)
        team_names[team.slug] = str(team_object.fields["name"])
        objects.append(team_object)
    channel_names: dict[str, str] = {}
    seen_names: dict[tuple[str, str], int] = {}
    for index, channel in enumerate(content.spaces.channels):
        channel_object = _channel(build, index, channel, team_names, seen_names)
        channel_names[channel.slug] = str(channel_object.fields["name"])
        objects.append(channel_object)
        objects.extend(_bookmarks(build, index, channel, channel_names[channel.slug]))
    for post in _posts_in_order(content):
        objects.append(_post(build, post, channel_names))
        objects.extend(_replies(build, post))
    members = {m.key: m for m in content.committee.members}
    state = DesiredState(
        language=language, content=content, objects=objects, branding=branding, members=members
    )
    return state, build.problems


def _team(
    build: _Builder, index: int, team: TeamSpec, branding: RenderedBranding | None
) -> DesiredObject:
    spaces = build.content.spaces.lines
    path: tuple[str | int, ...] = ("teams", index)
    name = build.name(team.name, spaces, (*path, "name"), said("what.team_name"))
    if index == 0 and branding is not None and team.display_name is None:
        display_name, description = branding.team_display_name, branding.team_description
    else:
        display_name = build.text(
            team.display_name,
            spaces,
            (*path, "display_name"),
            limit=MAX_DISPLAY_NAME,
            what="display_name",
        )
        description = build.text(
            team.description, spaces, (*path, "description"), limit=255, what="description"
        )
    return DesiredObject(
        kind="team",
        slug=team.slug,
        parent=None,
        label=phrase("label.team", name=name),
        file=SPACES_FILE,
        line=spaces.line_of(path),
        fields={
            "name": name,
            "display_name": display_name,
            "description": description,
            "type": "O" if team.open else "I",
        },
    )


def _channel(
    build: _Builder,
    index: int,
    channel: ChannelSpec,
    team_names: Mapping[str, str],
    seen_names: dict[tuple[str, str], int],
) -> DesiredObject:
    """One channel; ``seen_names`` (team, name) catches two channels with one name."""
    content, spaces = build.content, build.content.spaces.lines
    path: tuple[str | int, ...] = ("channels", index)
    known_team = channel.team is None or channel.team in team_names
    channel_team: TeamSpec | None = content.team_of(channel) if known_team else None
    name = build.name(channel.name, spaces, (*path, "name"), said("what.channel_name"))
    if channel_team is not None and name:
        if (channel_team.slug, name) in seen_names:
            build.problems.append(
                spaces.problem(
                    (*path, "name"),
                    phrase("channel.name_twice", name=name, team=channel_team.slug),
                    phrase("channel.name_twice.do"),
                )
            )
        seen_names[(channel_team.slug, name)] = index

    def text(key: str, limit: int) -> str:
        value = getattr(channel, key)
        return build.text(value, spaces, (*path, key), limit=limit, what=key)

    return DesiredObject(
        kind="channel",
        slug=channel.slug,
        parent=channel_team.slug if channel_team else None,
        label=phrase("label.channel", name=name),
        file=SPACES_FILE,
        line=spaces.line_of(path),
        fields={
            "name": name,
            "display_name": text("display_name", MAX_DISPLAY_NAME),
            "type": "P" if channel.private else "O",
            "purpose": text("purpose", MAX_PURPOSE),
            "header": text("header", MAX_HEADER),
        },
        extra={"category": text("category", MAX_DISPLAY_NAME), "cohorts": list(channel.cohorts)},
    )


def _bookmarks(
    build: _Builder, index: int, channel: ChannelSpec, channel_name: str
) -> list[DesiredObject]:
    spaces = build.content.spaces.lines
    objects = []
    for b_index, bookmark in enumerate(channel.bookmarks):
        b_path: tuple[str | int, ...] = ("channels", index, "bookmarks", b_index)
        try:
            url = build.renderer.render(bookmark.url, spaces.text_at((*b_path, "url")))
        except RenderFailed as failure:
            build.problems.append(failure.problem)
            url = ""
        if url and not url.startswith(("http://", "https://")):
            build.problems.append(
                spaces.problem(
                    (*b_path, "url"),
                    phrase("bookmark.not_web", url=url),
                    phrase("bookmark.not_web.do"),
                )
            )
        title = build.text(
            bookmark.title, spaces, (*b_path, "title"), limit=MAX_DISPLAY_NAME, what="title"
        )
        objects.append(
            DesiredObject(
                kind="bookmark",
                slug=f"{channel.slug}--bookmark-{b_index + 1}",
                parent=channel.slug,
                label=phrase("label.bookmark", number=b_index + 1, channel=channel_name),
                file=SPACES_FILE,
                line=spaces.line_of(b_path),
                fields={"display_name": title, "link_url": url, "emoji": bookmark.emoji or ""},
            )
        )
    return objects


def _posts_in_order(content: SeedContent) -> list[PostSpec]:
    """Posts by channel (in the order of spaces.yaml), then by ``order`` and slug."""
    posts = sorted(content.posts, key=lambda p: (p.front.order, p.front.slug))
    channel_order = {c.slug: i for i, c in enumerate(content.spaces.channels)}
    posts.sort(key=lambda p: channel_order.get(p.front.channel, len(channel_order)))
    return posts


def _post(build: _Builder, post: PostSpec, channel_names: Mapping[str, str]) -> DesiredObject:
    lines, front = post.lines, post.front
    assets = Path(build.content.root) / ASSETS_DIR
    files = []
    for name in front.files:
        path = assets / name
        files.append({"name": name, "sha256": file_digest(path) if path.is_file() else ""})
    poll = None
    if front.poll is not None:
        poll = {
            "question": build.text(front.poll.question, lines, ("poll", "question")),
            "options": [
                build.text(option, lines, ("poll", "options", i))
                for i, option in enumerate(front.poll.options)
            ],
        }
    channel_name = channel_names.get(front.channel, front.channel)
    return DesiredObject(
        kind="post",
        slug=front.slug,
        parent=front.channel,
        label=phrase("label.post", slug=front.slug, channel=channel_name),
        file=post.file,
        line=lines.line_of(("slug",)),
        fields={
            "message": build.body(post),
            "author": front.author,
            "pinned": front.pinned,
            "files": files,
            "poll": poll,
        },
    )


def _replies(build: _Builder, post: PostSpec) -> list[DesiredObject]:
    lines, front = post.lines, post.front
    return [
        DesiredObject(
            kind="reply",
            slug=post.reply_slug(index),
            parent=front.slug,
            label=phrase("label.reply", number=index + 1, slug=front.slug),
            file=post.file,
            line=lines.line_of(("replies", index)),
            fields={
                "message": build.text(
                    reply.text,
                    lines,
                    ("replies", index, "text"),
                    limit=MAX_MESSAGE,
                    what="reply",
                ),
                "author": reply.author,
            },
        )
        for index, reply in enumerate(front.replies)
    ]


def _build_branding(build: _Builder, content: SeedContent) -> RenderedBranding:
    branding = content.branding
    assert branding is not None
    lines = branding.lines
    site_name = build.text(
        branding.site_name, lines, ("site_name",), limit=MAX_SITE_NAME, what="site_name"
    )
    assets = Path(content.root) / ASSETS_DIR
    return RenderedBranding(
        site_name=site_name,
        brand_text=build.text(
            branding.brand_text, lines, ("brand_text",), limit=3000, what="brand_text"
        ),
        logo=assets / branding.logo if branding.logo else None,
        team_name=build.name(
            content.spaces.teams[0].name,
            content.spaces.lines,
            ("teams", 0, "name"),
            said("what.team_name"),
        ),
        team_display_name=build.text(
            branding.team.display_name,
            lines,
            ("team", "display_name"),
            limit=MAX_DISPLAY_NAME,
            what="display_name",
        ),
        team_description=build.text(
            branding.team.description, lines, ("team", "description"), limit=255, what="description"
        ),
        team_icon=assets / branding.team.icon if branding.team.icon else None,
        theme=branding.full_theme(),
    )


def validate_content(
    root: Path, runtime: RuntimeSettings, site_url: str = ""
) -> tuple[SeedContent | None, list[Problem]]:
    """Everything ``envol seed validate`` checks: every file, both languages."""
    content, problems = load_content(root)
    if content is None:
        return None, problems
    for language in LANGUAGES:
        _, rendered_problems = build_desired(content, runtime, language, site_url)
        problems = problems + rendered_problems
    return content, sort_problems(problems)


def load_desired(
    root: Path, runtime: RuntimeSettings, site_url: str = "", language: Language | None = None
) -> tuple[DesiredState | None, list[Problem]]:
    """Validate everything, then render in the installation's language (``None`` if invalid)."""
    content, problems = validate_content(root, runtime, site_url)
    if content is None or problems:
        return None, problems
    state, _ = build_desired(content, runtime, language or runtime.default_language, site_url)
    return state, []
