"""``/console/roster``: upload the HR export (CSV or .xlsx), see what is wrong with it line by
line and what it would change, then import it. The upload alone writes nothing.

The uploaded file waits in a private temporary folder (one random folder per upload, never in
memory or in the session) between the preview and the Import button; the button carries its
name and SHA-256, so what is imported is exactly what was previewed. The folder goes once
imported, at once when the file is unreadable, and after 8 hours when abandoned. Behind several
machines, that folder must be shared (or sessions sticky).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import abort, request
from werkzeug.utils import secure_filename

from plugin.console.queries import RosterSummary, roster_summary
from plugin.errors import EnvolError
from plugin.people.models import Language
from plugin.people.preview import preview_roster
from plugin.people.service import import_roster
from webhooks.console import blueprint
from webhooks.console.auth import acting, found, load_user, signed_in, t, transaction_for_console
from webhooks.console.pages import done, refusal, render_page

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # a 200,000-line CSV; the app's default limit is 256 KiB
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
_UPLOAD_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def upload_root() -> Path:
    root = Path(tempfile.gettempdir()) / "envol-console-uploads"
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


# An upload not imported within a console session's life (8 hours) is abandoned: removed.
STALE_UPLOAD_SECONDS = 8 * 3600


def clean_stale_uploads(now: float | None = None) -> int:
    """Remove the upload folders older than ``STALE_UPLOAD_SECONDS``; how many were removed."""
    limit = (time.time() if now is None else now) - STALE_UPLOAD_SECONDS
    removed = 0
    for folder in upload_root().iterdir():
        try:
            stale = folder.is_dir() and folder.stat().st_mtime < limit
        except FileNotFoundError:  # another request removed it meanwhile
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _uploaded(upload_id: str) -> Path:
    if not _UPLOAD_ID.match(upload_id):
        abort(400)
    folder = upload_root() / upload_id
    files = sorted(folder.glob("*")) if folder.is_dir() else []
    if len(files) != 1:
        raise EnvolError(t("refusal.upload_gone"))
    return files[0]


def _summary(session: Any) -> RosterSummary:
    return roster_summary(session)


def _language() -> Language:
    return Language(found().runtime.default_language)


@blueprint.get("/roster")
@signed_in
def roster() -> Any:
    with found().context.sessions() as session:
        return render_page("console/roster.html", summary=_summary(session), preview=None)


@blueprint.post("/roster/preview")
@acting
def roster_preview() -> Any:
    request.max_content_length = MAX_UPLOAD_BYTES
    upload = request.files.get("roster")
    if upload is None or not upload.filename:
        return _with_error(EnvolError(t("refusal.upload_choose")))
    name = secure_filename(upload.filename) or "roster.csv"
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        return _with_error(EnvolError(t("refusal.upload_type", name=name)))
    clean_stale_uploads()
    upload_id = secrets.token_urlsafe(24)
    folder = upload_root() / upload_id
    folder.mkdir(mode=0o700)
    path = folder / name
    upload.save(path)
    with found().context.sessions() as session:
        try:
            preview = preview_roster(session, path, default_language=_language())
        except EnvolError as error:
            shutil.rmtree(folder, ignore_errors=True)
            return _with_error(error, session)
        return render_page(
            "console/roster.html",
            summary=_summary(session),
            preview=preview,
            file_name=name,
            upload_id=upload_id,
            checksum=_sha256(path),
        )


def _with_error(error: EnvolError, session: Any = None) -> Any:
    if session is None:
        with found().context.sessions() as fresh:
            return render_page(
                "console/roster.html", 400, summary=_summary(fresh), preview=None, **refusal(error)
            )
    return render_page(
        "console/roster.html", 400, summary=_summary(session), preview=None, **refusal(error)
    )


@blueprint.post("/roster/import")
@acting
def roster_import() -> Any:
    user = load_user()
    assert user is not None
    try:
        path = _uploaded(request.form.get("upload", ""))
        if _sha256(path) != request.form.get("checksum", ""):
            raise EnvolError(t("refusal.file_changed"))
        with transaction_for_console() as session:
            report = import_roster(session, path, actor=user.actor, default_language=_language())
    except EnvolError as error:
        return _with_error(error)
    shutil.rmtree(path.parent, ignore_errors=True)
    return done("console.roster", "roster_imported", n=report.created + report.updated)
