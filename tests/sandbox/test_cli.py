"""``envol sandbox`` serves until interrupted and prints its URL and an admin token."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parents[2]


def test_envol_sandbox_prints_url_and_token_and_serves() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from plugin.cli import main; main()",
            "sandbox",
            "--port",
            "0",
            "--rate-limit",
            "10/100",
            "--seed",
            "3",
        ],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        url_line = process.stdout.readline()
        token_line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", url_line)
        token = re.search(r"admin token: ([a-z0-9]{26})", token_line)
        assert url and token, url_line + token_line
        me = requests.get(
            url.group(0) + "/api/v4/users/me",
            timeout=5,
            headers={"Authorization": f"Bearer {token.group(1)}"},
        )
        assert me.json()["username"] == "sysadmin"
        assert me.headers["X-RateLimit-Limit"] == "101"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stopped after 1 requests" in output


def test_bad_rate_limit_is_one_clear_error() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from plugin.cli import main; main()",
            "sandbox",
            "--rate-limit",
            "fast",
        ],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "PER_SECOND/BURST" in result.stderr
