"""Load a content folder into ``SeedContent``, collecting every problem with its file and line.

Loading never stops at the first problem: an admin fixing content wants the whole list at
once. Cross-file checks (unknown channel, unknown author, duplicate slug, missing asset) run
after every file has been read.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from plugin.seeding.content import (
    Branding,
    Committee,
    Localized,
    PostFrontMatter,
    PostSpec,
    SeedContent,
    Spaces,
    theme_problems,
)
from plugin.seeding.sources import (
    LineMap,
    Problem,
    load_yaml,
    pydantic_problems,
    relative_name,
    sort_problems,
)

BRANDING_FILE = "branding.yaml"
SPACES_FILE = "spaces.yaml"
COMMITTEE_FILE = "committee.yaml"
POSTS_DIR = "posts"
ASSETS_DIR = "assets"

LANGUAGE_MARKER = re.compile(r"^<!--\s*(fr|en)\s*-->\s*$")

M = TypeVar("M", bound=BaseModel)


def default_content_dir() -> Path:
    from plugin.db import PROJECT_ROOT

    return PROJECT_ROOT / "seed_content"


def _model_from_yaml(
    path: Path, root: Path, model: type[M], problems: list[Problem], *, required: bool = True
) -> M | None:
    name = relative_name(path, root)
    if not path.exists():
        if required:
            problems.append(
                Problem(name, None, "file is missing", "create it (see seed_content/README.md)")
            )
        return None
    data, line_map, yaml_problems = load_yaml(path.read_text(encoding="utf-8"), name)
    if yaml_problems:
        problems.extend(yaml_problems)
        return None
    if not isinstance(data, dict):
        problems.append(
            Problem(
                name,
                1,
                "expected a mapping of keys to values",
                "see seed_content/README.md for the format",
            )
        )
        return None
    try:
        instance = model.model_validate(data)
    except ValidationError as error:
        problems.extend(pydantic_problems(error, line_map))
        return None
    instance._lines = line_map  # type: ignore[attr-defined]
    return instance


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """``(front matter, body, line of the body's first line)`` or None without front matter."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            return front, body, index + 2
    return None


def split_languages(body: str, first_line: int) -> tuple[dict[str, str], dict[str, int], list[str]]:
    """Split a body on ``<!-- fr -->`` / ``<!-- en -->`` lines: texts, their first lines and
    problems (without the file, added by the caller)."""
    texts: dict[str, list[str]] = {}
    starts: dict[str, int] = {}
    current: str | None = None
    stray: list[str] = []
    for offset, line in enumerate(body.splitlines()):
        marker = LANGUAGE_MARKER.match(line.strip())
        if marker:
            current = marker.group(1)
            if current in texts:
                stray.append(f"{first_line + offset}:the '{current}' section appears twice")
            texts[current] = []
            starts[current] = first_line + offset + 1
        elif current is None:
            if line.strip():
                stray.append(f"{first_line + offset}:text before the first language marker")
        else:
            texts[current].append(line)
    return {lang: "\n".join(lines).strip() for lang, lines in texts.items()}, starts, stray


def _load_post(path: Path, root: Path, problems: list[Problem]) -> PostSpec | None:
    name = relative_name(path, root)
    split = split_front_matter(path.read_text(encoding="utf-8"))
    if split is None:
        problems.append(
            Problem(
                name,
                1,
                "no YAML front matter",
                "start the file with '---', the post's keys, then '---'",
            )
        )
        return None
    front_text, body, body_line = split
    data, line_map, yaml_problems = load_yaml(front_text, name, offset=1)
    if yaml_problems:
        problems.extend(yaml_problems)
        return None
    if not isinstance(data, dict):
        problems.append(Problem(name, 2, "the front matter must be a mapping of keys to values"))
        return None
    ok = True
    try:
        front = PostFrontMatter.model_validate(data)
    except ValidationError as error:
        problems.extend(pydantic_problems(error, line_map))
        ok = False
    texts, starts, stray = split_languages(body, body_line)
    for item in stray:
        line, _, message = item.partition(":")
        problems.append(
            Problem(
                name,
                int(line),
                message,
                "put each language after a '<!-- fr -->' or '<!-- en -->' line",
            )
        )
        ok = False
    for language in ("fr", "en"):
        if not texts.get(language):
            problems.append(
                Problem(
                    name,
                    starts.get(language, body_line),
                    f"the '{language}' text of the post is missing or empty",
                    f"add a '<!-- {language} -->' line followed by the text",
                )
            )
            ok = False
    if not ok:
        return None
    post = PostSpec(
        file=name, front=front, body=Localized(fr=texts["fr"], en=texts["en"]), body_lines=starts
    )
    post._lines = line_map
    return post


def _lines(model: Any) -> LineMap:
    line_map: LineMap = model._lines
    return line_map


def _cross_check(content: SeedContent, root: Path, problems: list[Problem]) -> None:
    assets = root / ASSETS_DIR
    spaces_lines = _lines(content.spaces)
    team_slugs: dict[str, int] = {}
    for index, team in enumerate(content.spaces.teams):
        if team.slug in team_slugs:
            problems.append(
                spaces_lines.problem(
                    ("teams", index, "slug"),
                    f"duplicate team slug '{team.slug}'",
                    "give every team its own slug",
                )
            )
        team_slugs[team.slug] = index
        if index > 0 and team.display_name is None:
            problems.append(
                spaces_lines.problem(
                    ("teams", index),
                    f"team '{team.slug}' has no display_name",
                    "only the first team takes its name from branding.yaml",
                )
            )
    if content.branding is not None and content.spaces.teams[0].display_name is not None:
        problems.append(
            spaces_lines.problem(
                ("teams", 0, "display_name"),
                "the first team's display name is also set in branding.yaml",
                "keep it in one place: remove it here, branding.yaml's team.display_name applies",
            )
        )
    channel_slugs: dict[str, int] = {}
    for index, channel in enumerate(content.spaces.channels):
        if channel.slug in channel_slugs:
            problems.append(
                spaces_lines.problem(
                    ("channels", index, "slug"),
                    f"duplicate channel slug '{channel.slug}'",
                    "it is already used at line "
                    f"{spaces_lines.line_of(('channels', channel_slugs[channel.slug]))}",
                )
            )
        channel_slugs[channel.slug] = index
        if channel.team is not None and channel.team not in team_slugs:
            problems.append(
                spaces_lines.problem(
                    ("channels", index, "team"),
                    f"unknown team '{channel.team}'",
                    f"use one of: {', '.join(team_slugs)}",
                )
            )
    authors = {"bot"} | {m.key for m in content.committee.members}
    seen_members: set[str] = set()
    for index, member in enumerate(content.committee.members):
        if member.key in seen_members:
            problems.append(
                _lines(content.committee).problem(
                    ("members", index, "key"),
                    f"duplicate member key '{member.key}'",
                    "give every member their own key",
                )
            )
        seen_members.add(member.key)
    post_slugs: dict[str, str] = {}

    def claim(slug: str, where: str, post: PostSpec, path: tuple[str | int, ...]) -> None:
        if slug in post_slugs:
            problems.append(
                _lines(post).problem(
                    path,
                    f"duplicate slug '{slug}'",
                    f"already used in {post_slugs[slug]}; slugs must be unique",
                )
            )
        else:
            post_slugs[slug] = where

    for post in content.posts:
        lines = _lines(post)
        claim(post.front.slug, post.file, post, ("slug",))
        for index in range(len(post.front.replies)):
            claim(post.reply_slug(index), post.file, post, ("replies", index))
        if post.front.channel not in channel_slugs:
            problems.append(
                lines.problem(
                    ("channel",),
                    f"unknown channel '{post.front.channel}'",
                    f"use the slug of a channel of {SPACES_FILE}: " + ", ".join(channel_slugs),
                )
            )
        if post.front.author not in authors:
            problems.append(
                lines.problem(
                    ("author",),
                    f"unknown author '{post.front.author}'",
                    f"use 'bot' or a key of {COMMITTEE_FILE}: " + ", ".join(sorted(authors)),
                )
            )
        for index, reply in enumerate(post.front.replies):
            if reply.author not in authors:
                problems.append(
                    lines.problem(
                        ("replies", index, "author"),
                        f"unknown author '{reply.author}'",
                        f"use 'bot' or a key of {COMMITTEE_FILE}: " + ", ".join(sorted(authors)),
                    )
                )
        for index, file_name in enumerate(post.front.files):
            problems.extend(_check_asset(assets, file_name, lines, ("files", index)))
    if content.branding is not None:
        lines = _lines(content.branding)
        for key, message, hint in theme_problems(content.branding.theme):
            problems.append(lines.problem(("theme", key), message, hint))
        if content.branding.logo:
            problems.extend(_check_asset(assets, content.branding.logo, lines, ("logo",)))
        if content.branding.team.icon:
            problems.extend(
                _check_asset(assets, content.branding.team.icon, lines, ("team", "icon"))
            )


def _check_asset(
    assets: Path, file_name: str, lines: LineMap, path: tuple[str | int, ...]
) -> list[Problem]:
    candidate = (assets / file_name).resolve()
    if assets.resolve() not in candidate.parents:
        return [
            lines.problem(
                path,
                f"'{file_name}' is outside the assets folder",
                f"put the file in {ASSETS_DIR}/ and give its name only",
            )
        ]
    if not candidate.is_file():
        return [
            lines.problem(
                path,
                f"asset '{file_name}' not found",
                f"add it to {ASSETS_DIR}/ or correct the name",
            )
        ]
    return []


def load_content(root: Path) -> tuple[SeedContent | None, list[Problem]]:
    """Read a content folder: ``(content, problems)``; content is None when a file could not
    be read at all."""
    root = root.resolve()
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [
            Problem(
                str(root),
                None,
                "content folder not found",
                "give the path of a folder laid out as seed_content/README.md says",
            )
        ]
    branding = _model_from_yaml(root / BRANDING_FILE, root, Branding, problems)
    spaces = _model_from_yaml(root / SPACES_FILE, root, Spaces, problems)
    committee = _model_from_yaml(root / COMMITTEE_FILE, root, Committee, problems, required=False)
    if committee is None and not (root / COMMITTEE_FILE).exists():
        committee = Committee()
        committee._lines = LineMap(COMMITTEE_FILE)
    posts = []
    for path in sorted((root / POSTS_DIR).rglob("*.md")):
        post = _load_post(path, root, problems)
        if post is not None:
            posts.append(post)
    if spaces is None or committee is None:
        return None, sort_problems(problems)
    content = SeedContent(
        root=str(root), branding=branding, spaces=spaces, committee=committee, posts=tuple(posts)
    )
    _cross_check(content, root, problems)
    return content, sort_problems(problems)
