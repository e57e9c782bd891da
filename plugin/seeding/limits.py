"""What the server accepts as a file, checked while planning, so that an apply never stops
half-way on a 413 with half the posts published.

* ``FileSettings.MaxFileSize``: the public client config (``GET /config/client?format=old``,
  readable by any account) gives it as ``MaxFileSize``; the full config (``GET /config``, an
  admin's) is read when the client config lacks it. Above it the server answers 413
  (``api.file.upload_file.too_large_detailed.app_error``), as the sandbox does.
* ``FileSettings.MaxImageResolution``: width × height of an image; the server refuses larger
  images. Only the full config gives it; when the token may not read it, the server's default
  (33,177,600 pixels, i.e. 7680 × 4320) is assumed.

Each problem names the file, the line of the post that attaches it, the size and the limit,
and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from plugin.i18n import Phrase
from plugin.mattermost import MattermostClient, MattermostError
from plugin.seeding.desired import DesiredState
from plugin.seeding.plan import Change
from plugin.seeding.wording import phrase, said
from plugin.typography import number

DEFAULT_MAX_IMAGE_RESOLUTION = 33_177_600  # the server's default: 7680 × 4320 pixels
_UPLOADING_ACTIONS = {"create", "repair"}  # an update keeps the files already attached


@dataclass(frozen=True)
class FileLimits:
    max_file_size: int | None  # bytes; None when the server does not say
    max_image_resolution: int  # pixels


def _positive(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def read_file_limits(client: MattermostClient) -> FileLimits:
    """The server's limits on uploaded files, from the client config (and the full config when
    this token may read it)."""
    size = _positive(client.get_client_config().get("MaxFileSize"))
    resolution = None
    try:
        files = client.get_config().get("FileSettings") or {}
    except MattermostError:  # not an admin's token: the client config is what we know
        files = {}
    size = size or _positive(files.get("MaxFileSize"))
    resolution = _positive(files.get("MaxImageResolution"))
    return FileLimits(size, resolution or DEFAULT_MAX_IMAGE_RESOLUTION)


@dataclass(frozen=True)
class _Size:
    """A file size, its number written as the reader's language writes numbers."""

    size: int

    def localized(self, language: str) -> str:
        if self.size >= 102_400:
            megabytes = round(self.size / (1024 * 1024), 1)
            return said("size.megabytes", n=number(megabytes, language)).localized(language)
        return said("size.bytes", n=number(self.size, language)).localized(language)


@dataclass(frozen=True)
class _Count:
    value: int

    def localized(self, language: str) -> str:
        return number(self.value, language)


def _image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) read from the image's header (nothing decoded); None when not an image."""
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError):
        return None


def file_problems(
    changes: Iterable[Change], desired: DesiredState, limits: FileLimits
) -> list[str]:
    """Every file the plan would upload that the server would refuse, each in one sentence."""
    problems: list[str] = []
    for change in changes:
        obj = change.desired
        if obj is None or change.action not in _UPLOADING_ACTIONS:
            continue
        where = f"{obj.file}:{obj.line}" if obj.line else obj.file
        for item in obj.fields.get("files") or []:
            name = str(item["name"])
            path = desired.asset(name)
            if not path.is_file():
                continue  # reported by the content's validation
            size = path.stat().st_size
            if limits.max_file_size is not None and size > limits.max_file_size:
                problems.append(
                    phrase(
                        "file.too_big",
                        where=where,
                        name=name,
                        size=Phrase(_Size(size)),
                        limit=Phrase(_Size(limits.max_file_size)),
                    )
                )
            dimensions = _image_size(path)
            if dimensions is not None:
                width, height = dimensions
                if width * height > limits.max_image_resolution:
                    problems.append(
                        phrase(
                            "file.too_many_pixels",
                            where=where,
                            name=name,
                            width=width,
                            height=height,
                            limit=Phrase(_Count(limits.max_image_resolution)),
                        )
                    )
    return problems
