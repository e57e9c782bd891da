"""The HTML report, rendered by headless Chromium: the page draws, with its four charts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from plugin.reports.charts import CHARTS, PALETTE
from plugin.reports.data import load_report_data
from plugin.reports.html import write_html
from tests.metrics.world import LaunchWorld

pytestmark = pytest.mark.chromium

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("chromium is missing: .ci/run should install Debian's chromium package")
    pytest.skip("chromium is not installed (apt-get install -y chromium)")


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


def test_the_report_renders_in_chromium_with_its_charts(
    reported: LaunchWorld,
    tmp_path: Path,
) -> None:
    browser = _chromium()
    data = load_report_data(reported.session, company="Exemple SA", lang="fr")
    page = write_html(data, reported.settings, tmp_path / "report.html")
    url = page.resolve().as_uri()

    dom = _run(browser, tmp_path / "profile-dom", "--dump-dom", url).stdout
    for chart_id, _ in CHARTS:
        # Chromium parsed each chart into the DOM as an SVG with drawn paths.
        figure = re.search(rf'<figure class="chart" id="chart-{chart_id}".*?</figure>', dom, re.S)
        assert figure is not None, chart_id
        assert "<svg" in figure.group(0) and "<path" in figure.group(0)

    screenshot = tmp_path / "report.png"
    _run(
        browser,
        tmp_path / "profile-shot",
        f"--screenshot={screenshot}",
        "--window-size=1200,2400",
        "--hide-scrollbars",
        url,
    )
    image = Image.open(screenshot).convert("RGB")
    assert image.size == (1200, 2400)
    colours = dict((colour, count) for count, colour in image.getcolors(maxcolors=1 << 22) or [])
    # Not blank: a real page has many colours, and no single one covers almost everything.
    assert len(colours) > 200
    assert max(colours.values()) < 0.9 * image.width * image.height
    # The cohorts' colours are drawn: the funnel's bars, one colour per cohort.
    for hex_colour in PALETTE[:3]:
        assert colours.get(_rgb(hex_colour), 0) > 300, hex_colour
    # The header band is the report's dark blue.
    assert image.getpixel((5, 5)) == _rgb("#0d2b4f")
