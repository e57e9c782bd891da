"""Load a content folder into ``SeedContent``, collecting every problem with its file and line.

Files are read by ``plugin.launch_files`` (the loader of every launch file). Cross-file checks
(unknown channel, unknown author, duplicate slug, missing asset) run after every file has been
read.
"""

from __future__ import annotations

import re
from pathlib import Path

from plugin.i18n import Phrase
from plugin.launch_files import (
    LaunchFacts,
    LaunchFolder,
    LineMap,
    Problem,
    facts_file_for,
    read_launch_facts,
    relative_name,
    sort_problems,
)
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
from plugin.seeding.wording import phrase, said

BRANDING_FILE = "branding.yaml"
SPACES_FILE = "spaces.yaml"
COMMITTEE_FILE = "committee.yaml"
POSTS_DIR = "posts"
ASSETS_DIR = "assets"
DOCS = "seed_content/README.md"

LANGUAGE_MARKER = re.compile(r"^<!--\s*(fr|en)\s*-->\s*$")


def default_content_dir() -> Path:
    from plugin.db import PROJECT_ROOT

    return PROJECT_ROOT / "seed_content"


def split_languages(
    body: str, first_line: int
) -> tuple[dict[str, str], dict[str, int], list[tuple[int, Phrase]]]:
    """Split a body on ``<!-- fr -->`` / ``<!-- en -->`` lines: texts, their first lines and
    problems (without the file, added by the caller)."""
    texts: dict[str, list[str]] = {}
    starts: dict[str, int] = {}
    current: str | None = None
    stray: list[tuple[int, Phrase]] = []
    for offset, line in enumerate(body.splitlines()):
        marker = LANGUAGE_MARKER.match(line.strip())
        if marker:
            current = marker.group(1)
            if current in texts:
                stray.append((first_line + offset, phrase("post.section_twice", language=current)))
            texts[current] = []
            starts[current] = first_line + offset + 1
        elif current is None:
            if line.strip():
                stray.append((first_line + offset, phrase("post.text_before_marker")))
        else:
            texts[current].append(line)
    return {lang: "\n".join(lines).strip() for lang, lines in texts.items()}, starts, stray


def _load_post(folder: LaunchFolder, path: Path, problems: list[Problem]) -> PostSpec | None:
    read = folder.read_front_matter(
        path,
        PostFrontMatter,
        problems,
        layout=phrase("post.layout"),
    )
    if read is None:
        return None
    texts, starts, stray = split_languages(read.body, read.body_line)
    found = len(problems)
    for line, message in stray:
        problems.append(Problem(read.file, line, message, phrase("post.markers.do")))
    for language in ("fr", "en"):
        if not texts.get(language):
            problems.append(
                Problem(
                    read.file,
                    starts.get(language, read.body_line),
                    phrase("post.text_missing", language=language),
                    phrase("post.text_missing.do", language=language),
                )
            )
    if read.front is None or len(problems) > found:
        return None
    return PostSpec(
        file=read.file,
        front=read.front,
        body=Localized(fr=texts["fr"], en=texts["en"]),
        body_lines=starts,
    )


def _check_teams(content: SeedContent, problems: list[Problem]) -> list[str]:
    """Team slugs unique, display names where needed; returns the team slugs."""
    lines = content.spaces.lines
    slugs: list[str] = []
    for index, team in enumerate(content.spaces.teams):
        if team.slug in slugs:
            problems.append(
                lines.problem(
                    ("teams", index, "slug"),
                    phrase("team.slug_twice", slug=team.slug),
                    phrase("team.slug_twice.do"),
                )
            )
        else:
            slugs.append(team.slug)
        if index > 0 and team.display_name is None:
            problems.append(
                lines.problem(
                    ("teams", index),
                    phrase("team.no_display_name", slug=team.slug),
                    phrase("team.no_display_name.do"),
                )
            )
    if content.branding is not None and content.spaces.teams[0].display_name is not None:
        problems.append(
            lines.problem(
                ("teams", 0, "display_name"),
                phrase("team.name_twice"),
                phrase("team.name_twice.do"),
            )
        )
    return slugs


def _check_channels(content: SeedContent, teams: list[str], problems: list[Problem]) -> list[str]:
    """Channel slugs unique, teams known; returns the channel slugs."""
    lines = content.spaces.lines
    first_use: dict[str, int] = {}
    for index, channel in enumerate(content.spaces.channels):
        if channel.slug in first_use:
            problems.append(
                lines.problem(
                    ("channels", index, "slug"),
                    phrase("channel.slug_twice", slug=channel.slug),
                    phrase(
                        "channel.slug_twice.do",
                        line=lines.line_of(("channels", first_use[channel.slug])),
                    ),
                )
            )
        first_use.setdefault(channel.slug, index)
        if channel.team is not None and channel.team not in teams:
            problems.append(
                lines.problem(
                    ("channels", index, "team"),
                    phrase("channel.unknown_team", team=channel.team),
                    phrase("channel.unknown_team.do", teams=", ".join(teams)),
                )
            )
    return list(first_use)


def _committee_with_facts(
    committee: Committee, facts: LaunchFacts, facts_name: str, problems: list[Problem]
) -> Committee:
    """Members written ``fact: ceo`` take their name and title from the launch's facts; a
    member who is one of those people under their own name is an error (two places would say
    who they are, and would one day disagree)."""
    members = []
    people = facts.people()
    for index, member in enumerate(committee.members):
        if member.fact is not None:
            person = people[member.fact]
            role = Localized(fr=person.title.fr, en=person.title.en)
            member = member.model_copy(update={"name": person.name, "role": role})
        else:
            for fact, person in people.items():
                same_name = member.name.casefold() == person.name.casefold()
                same_account = person.username is not None and member.username == person.username
                if same_name or same_account:
                    problems.append(
                        committee.lines.problem(
                            ("members", index, "name" if same_name else "username"),
                            phrase(
                                "member.is_a_fact",
                                name=member.name,
                                who=said(f"fact.{fact}"),
                                file=facts_name,
                                line=facts.lines.line_of((fact,)),
                            ),
                            phrase("member.is_a_fact.do", fact=fact),
                        )
                    )
        members.append(member)
    resolved = committee.model_copy(update={"members": tuple(members)})
    resolved.with_lines(committee.lines)
    return resolved


def _check_committee(content: SeedContent, problems: list[Problem]) -> set[str]:
    """Member keys unique; returns who may author a post (the bot and the members)."""
    seen: set[str] = set()
    for index, member in enumerate(content.committee.members):
        if member.key in seen:
            problems.append(
                content.committee.lines.problem(
                    ("members", index, "key"),
                    phrase("member.key_twice", key=member.key),
                    phrase("member.key_twice.do"),
                )
            )
        seen.add(member.key)
    return {"bot"} | seen


def _check_posts(
    content: SeedContent,
    channels: list[str],
    authors: set[str],
    assets: Path,
    problems: list[Problem],
) -> None:
    """Slugs unique across posts and replies; channels, authors and files known."""
    post_slugs: dict[str, str] = {}
    known_authors = phrase(
        "post.unknown_author.do", file=COMMITTEE_FILE, authors=", ".join(sorted(authors))
    )

    def claim(slug: str, post: PostSpec, path: tuple[str | int, ...]) -> None:
        if slug in post_slugs:
            problems.append(
                post.lines.problem(
                    path,
                    phrase("post.slug_twice", slug=slug),
                    phrase("post.slug_twice.do", file=post_slugs[slug]),
                )
            )
        else:
            post_slugs[slug] = post.file

    for post in content.posts:
        lines = post.lines
        claim(post.front.slug, post, ("slug",))
        for index in range(len(post.front.replies)):
            claim(post.reply_slug(index), post, ("replies", index))
        if post.front.channel not in channels:
            problems.append(
                lines.problem(
                    ("channel",),
                    phrase("post.unknown_channel", channel=post.front.channel),
                    phrase(
                        "post.unknown_channel.do", file=SPACES_FILE, channels=", ".join(channels)
                    ),
                )
            )
        authored = [(("author",), post.front.author)] + [
            (("replies", index, "author"), reply.author)
            for index, reply in enumerate(post.front.replies)
        ]
        for path, author in authored:
            if author not in authors:
                message = phrase("post.unknown_author", author=author)
                problems.append(lines.problem(path, message, known_authors))
        for index, file_name in enumerate(post.front.files):
            problems.extend(_check_asset(assets, file_name, lines, ("files", index)))


def _check_branding(branding: Branding, assets: Path, problems: list[Problem]) -> None:
    lines = branding.lines
    for key, message, hint in theme_problems(branding.theme):
        problems.append(lines.problem(("theme", key), message, hint))
    if branding.logo:
        problems.extend(_check_asset(assets, branding.logo, lines, ("logo",)))
    if branding.team.icon:
        problems.extend(_check_asset(assets, branding.team.icon, lines, ("team", "icon")))


def _cross_check(content: SeedContent, root: Path, problems: list[Problem]) -> None:
    assets = root / ASSETS_DIR
    teams = _check_teams(content, problems)
    channels = _check_channels(content, teams, problems)
    authors = _check_committee(content, problems)
    _check_posts(content, channels, authors, assets, problems)
    if content.branding is not None:
        _check_branding(content.branding, assets, problems)


def _check_asset(
    assets: Path, file_name: str, lines: LineMap, path: tuple[str | int, ...]
) -> list[Problem]:
    candidate = (assets / file_name).resolve()
    if assets.resolve() not in candidate.parents:
        return [
            lines.problem(
                path,
                phrase("asset.outside", file=file_name),
                phrase("asset.outside.do", folder=ASSETS_DIR),
            )
        ]
    if not candidate.is_file():
        return [
            lines.problem(
                path,
                phrase("asset.missing", file=file_name),
                phrase("asset.missing.do", folder=ASSETS_DIR),
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
                phrase("folder.missing"),
                phrase("folder.missing.do", docs=DOCS),
            )
        ]
    folder = LaunchFolder(root, DOCS)
    branding = folder.read_model(root / BRANDING_FILE, Branding, problems)
    spaces = folder.read_model(root / SPACES_FILE, Spaces, problems)
    committee = folder.read_model(root / COMMITTEE_FILE, Committee, problems, required=False)
    if committee is None and not (root / COMMITTEE_FILE).exists():
        committee = Committee()
        committee.with_lines(LineMap(COMMITTEE_FILE))
    posts = []
    for path in sorted((root / POSTS_DIR).rglob("*.md")):
        post = _load_post(folder, path, problems)
        if post is not None:
            posts.append(post)
    facts_path = facts_file_for(root)
    facts = read_launch_facts(facts_path, problems)
    if spaces is None or committee is None or facts is None:
        return None, sort_problems(problems)
    committee = _committee_with_facts(committee, facts, relative_name(facts_path, root), problems)
    content = SeedContent(
        root=str(root),
        branding=branding,
        spaces=spaces,
        committee=committee,
        posts=tuple(posts),
        facts=facts,
    )
    _cross_check(content, root, problems)
    return content, sort_problems(problems)
