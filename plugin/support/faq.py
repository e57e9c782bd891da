"""The support FAQ: entries from ``seed_content/faq/`` (and ones animators add), and matching.

A request is compared with every entry in the requester's language. Both sides are normalised
the same way (case, accents, punctuation, stop words, plurals and common suffixes through a
Snowball stemmer) so that "photos de profil" finds "Comment changer ma photo de profil ?", then
scored with rapidfuzz at the token level, which forgives typos such as "proffil".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal

import snowballstemmer
from pydantic import ConfigDict, Field
from rapidfuzz import fuzz, process

from plugin.i18n import Phrase
from plugin.launch_files import (
    FileModel,
    LaunchFolder,
    Problem,
    raise_for_errors,
    sort_problems,
)
from plugin.resources import CONTENT_ROOT
from plugin.support.messages import said
from plugin.text import strip_accents

Language = Literal["fr", "en"]
LANGUAGES: tuple[Language, ...] = ("fr", "en")
FAQ_DIR = CONTENT_ROOT / "seed_content" / "faq"
FAQ_DOCS = "seed_content/faq/README.md"

# Words that carry no meaning for matching a question; kept short on purpose (stemmed below).
_STOP_WORDS: dict[str, frozenset[str]] = {
    "fr": frozenset(
        """
        a ai as au aux avec avoir bonjour c ce ces cet cette comment d dans de des du elle en es
        est est-ce et etre être fait faire il j je l la le les leur m ma mais me merci mes mon n
        ne nous on ou où par pas peut peux plait pour puis-je qu que quel quelle qui s sa se ses
        si sommes son sont suis sur svp t ta te tes ton tu un une veux voudrais vos votre vous y
        """.split()  # noqa: SIM905 - a word list reads better as text
    ),
    "en": frozenset(
        """
        a an and are as at be by can could do does for from have hello hi how i if in is it its
        me my of on or our please so thank thanks that the this to was we what when where which
        who why will with would you your
        """.split()  # noqa: SIM905 - a word list reads better as text
    ),
}
_STEMMER_NAMES = {"fr": "french", "en": "english"}
_WORD = re.compile(r"[a-z0-9]+")
# A token must look this much like another (0–100) to count as the same word with a typo.
_TOKEN_SIMILARITY = 84
DEFAULT_MIN_SCORE = 55.0


@cache
def _stemmer(language: Language) -> Any:
    return snowballstemmer.stemmer(_STEMMER_NAMES[language])


def normalise(text: str, language: Language) -> tuple[str, ...]:
    """The meaningful word stems of ``text``: lowercase, no accents, no stop words, no plurals."""
    lowered = unicodedata.normalize("NFKC", text).casefold()
    # Elisions ("l'image", "d'un") must split before accents go, so the apostrophe kinds match.
    lowered = re.sub(r"[’'`´]", " ", lowered)
    words = re.findall(r"\w+", lowered)
    stop = _STOP_WORDS[language]
    stemmer = _stemmer(language)
    stems = []
    for word in words:
        plain = strip_accents(word)
        if word in stop or plain in stop or len(plain) < 2 or not _WORD.fullmatch(plain):
            continue
        # Stem the accented word (Snowball's French rules know accents), then drop them; the
        # stemmer leaves some plurals ("photos", "canaux"), so a last plural mark goes too.
        stem = strip_accents(stemmer.stemWord(word))
        stems.append(_strip_plural(stem))
    return tuple(stems)


def _strip_plural(stem: str) -> str:
    if len(stem) > 4 and stem.endswith("aux"):
        return stem[:-3] + "al"
    if len(stem) > 3 and stem[-1] in "sx" and stem[-2] not in "sux":
        return stem[:-1]
    return stem


# --------------------------------------------------------------------------- entries


class _FrontMatter(FileModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=80)
    question: str = Field(min_length=5, max_length=300)
    keywords: list[str] = Field(default_factory=list, max_length=40)


@dataclass(frozen=True)
class FaqEntry:
    slug: str
    language: Language
    question: str
    answer: str
    keywords: tuple[str, ...] = ()
    source: str = ""

    def search_text(self) -> str:
        return " ".join((self.question, *self.keywords))


def _read_entry(
    folder: LaunchFolder, path: Path, language: Language, problems: list[Problem]
) -> FaqEntry | None:
    read = folder.read_front_matter(
        path,
        _FrontMatter,
        problems,
        layout=Phrase(said("faq.layout")),
    )
    if read is None:
        return None
    answer = read.body.strip()
    if not answer:
        problems.append(
            Problem(
                read.file,
                read.body_line,
                Phrase(said("faq.answer_empty")),
                Phrase(said("faq.answer_empty.do")),
            )
        )
    meta = read.front
    if meta is None or not answer:
        return None
    if path.stem != meta.slug:
        problems.append(
            meta.lines.problem(
                ("slug",),
                Phrase(said("faq.slug_mismatch", slug=meta.slug, file=path.name)),
                Phrase(said("faq.slug_mismatch.do", slug=meta.slug)),
            )
        )
        return None
    return FaqEntry(
        slug=meta.slug,
        language=language,
        question=meta.question.strip(),
        answer=answer,
        keywords=tuple(k.strip() for k in meta.keywords if k.strip()),
        source=str(path),
    )


def _one_language_only(entries: list[FaqEntry], folder: LaunchFolder) -> list[Problem]:
    """A warning per entry missing in the other language (it still answers in its own)."""
    slugs = {lang: {e.slug for e in entries if e.language == lang} for lang in LANGUAGES}
    problems = []
    for entry in entries:
        for other in LANGUAGES:
            if entry.slug not in slugs[other]:
                problems.append(
                    Problem(
                        folder.name(Path(entry.source)),
                        2,
                        Phrase(said("faq.one_language", slug=entry.slug, other=other)),
                        Phrase(said("faq.one_language.do", slug=entry.slug, other=other)),
                        "slug",
                        "warning",
                    )
                )
    return problems


def read_faq(directory: Path = FAQ_DIR) -> tuple[list[FaqEntry], list[Problem]]:
    """Every valid entry of ``directory/<language>/*.md`` and every problem found."""
    folder = LaunchFolder(directory, FAQ_DOCS)
    entries: list[FaqEntry] = []
    problems: list[Problem] = []
    for language in LANGUAGES:
        for path in sorted((directory / language).glob("*.md")):
            entry = _read_entry(folder, path, language, problems)
            if entry is not None:
                entries.append(entry)
    problems += _one_language_only(entries, folder)
    return entries, sort_problems(problems)


def load_faq(directory: Path = FAQ_DIR) -> list[FaqEntry]:
    """Every entry, or ``ValidationFailed`` listing every error (an entry missing in one
    language is only a warning: it still answers in the other)."""
    entries, problems = read_faq(directory)
    what = said("faq.in", directory=str(directory))
    raise_for_errors(problems, what, "envol support faq-check")
    return entries


@cache
def seed_faq() -> tuple[FaqEntry, ...]:
    return tuple(load_faq())


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class FaqSuggestion:
    entry: FaqEntry
    score: float


def _overlap_score(query: Sequence[str], target: Sequence[str]) -> float:
    """Share of the query's stems found in the target, a typo allowed per word (0–100)."""
    if not query or not target:
        return 0.0
    found = 0.0
    for token in set(query):
        best = process.extractOne(token, target, scorer=fuzz.ratio)
        if best and best[1] >= _TOKEN_SIMILARITY:
            found += best[1] / 100
    return 100.0 * found / len(set(query))


@lru_cache(maxsize=1024)
def _entry_stems(entry: FaqEntry) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(question and keywords, answer) normalised: an entry is scored against every request in
    its language, and stemming its answer again each time cost more than the scoring."""
    return normalise(entry.search_text(), entry.language), normalise(entry.answer, entry.language)


def score_entry(query: Sequence[str], entry: FaqEntry) -> float:
    """How well the request's stems match the entry (0–100).

    The question and keywords weigh most; the answer helps a little, so a long description
    that mentions the right words still finds the entry without the answer's prose dominating.
    """
    question, answer = _entry_stems(entry)
    # The share of the *entry's* words present too: a one-word query matching one keyword of a
    # long entry should not beat a query matching most of a short question.
    coverage = _overlap_score(question, query)
    overlap = _overlap_score(query, question)
    by_answer = _overlap_score(query, answer)
    set_ratio = fuzz.token_set_ratio(" ".join(query), " ".join(question))
    return max(
        0.45 * overlap + 0.35 * coverage + 0.20 * set_ratio,
        0.5 * overlap + 0.3 * by_answer + 0.2 * coverage,
    )


def suggest(
    text: str,
    language: Language,
    entries: Iterable[FaqEntry],
    *,
    limit: int = 3,
    min_score: float = DEFAULT_MIN_SCORE,
) -> list[FaqSuggestion]:
    """The ``limit`` entries closest to ``text`` in ``language``, best first, from ``min_score``."""
    query = normalise(text, language)
    if not query:
        return []
    scored = [
        FaqSuggestion(entry, round(score_entry(query, entry), 1))
        for entry in entries
        if entry.language == language
    ]
    scored = [s for s in scored if s.score >= min_score]
    scored.sort(key=lambda s: (-s.score, s.entry.slug))
    return scored[:limit]
