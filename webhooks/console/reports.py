"""``/console/reports``: the adoption report — the very HTML and charts of ``envol report
--html`` (``render_html``) — and its CSV files (``export_csv``) as one zip."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Any, cast

from flask import make_response, send_file

from plugin import clock
from plugin.errors import EnvolError
from plugin.reports.csv_export import export_csv
from plugin.reports.data import load_report_data
from plugin.reports.html import render_html
from webhooks.console import blueprint
from webhooks.console.auth import found, security_headers, signed_in, t
from webhooks.console.pages import render_page


@blueprint.get("/reports")
@signed_in
def reports() -> Any:
    error = ""
    with found().context.sessions() as session:
        try:
            load_report_data(
                session, company=found().runtime.company_name, lang=cast(Any, t("lang"))
            )
        except EnvolError as missing:
            error = str(missing)
    return render_page("console/reports.html", missing=error)


@blueprint.get("/reports/report.html")
@signed_in
def report_html() -> Any:
    runtime = found().runtime
    with found().context.sessions() as session:
        try:
            data = load_report_data(
                session,
                company=runtime.company_name,
                lang=cast(Any, t("lang")),
                manager_figures=runtime.report_manager_figures,
            )
        except EnvolError as missing:
            return render_page("console/reports.html", 404, missing=str(missing))
        page = render_html(data, runtime)
    response = make_response(page)
    # The report is self-contained: inline styles and SVG, nothing loaded.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    )
    return security_headers(response)


@blueprint.get("/reports/csv.zip")
@signed_in
def report_csv() -> Any:
    buffer = io.BytesIO()
    with found().context.sessions() as session, tempfile.TemporaryDirectory() as folder:
        try:
            written = export_csv(
                session, Path(folder), manager_figures=found().runtime.report_manager_figures
            )
        except EnvolError as missing:
            return render_page("console/reports.html", 404, missing=str(missing))
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in written:
                archive.write(Path(folder) / name, arcname=name)
    buffer.seek(0)
    day = clock.now().date().isoformat()
    response = send_file(
        buffer,
        mimetype="application/zip",
        as_attachment=True,
        download_name=f"envol-adoption-{day}.zip",
    )
    return security_headers(response)
