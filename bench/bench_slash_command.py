"""The slash command endpoint under load, next to a bare Flask endpoint, in the same run.

Both apps run under gunicorn (2 sync workers, a subprocess each, loopback only). The load is a
closed loop: ``CLIENTS`` threads each send the next request as soon as the previous answer
arrives, 10,000 requests an endpoint (2,000 with --quick), so the throughput is what the
server reached, not an offered rate, and the p99 comes from thousands of samples.

Envol's side is ``POST /commands`` with ``/envol help``: token check against the stored tokens,
form parsing, the user's language (Mattermost, the sandbox here, cached per worker), the
registry, the reply. The baseline is a Flask view that parses the same form and returns JSON.
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from bench import Figure

NAME = "slash_command"
TOKEN = "benchtoken0123456789abcdefg"


def bare_app() -> Any:
    """The baseline: the smallest Flask view doing the same kind of job."""
    from flask import Flask, jsonify, request

    app = Flask("bare")

    @app.post("/commands")
    def command() -> Any:
        form = request.form
        return jsonify({"response_type": "ephemeral", "text": f"hello {form.get('user_name')}"})

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gunicorn(app_spec: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        app_spec,
    ]
    return subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"gunicorn exited: {error[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not listen on {port} within {timeout:g}s")


def _warm_up(url: str, form: dict[str, str], headers: dict[str, str]) -> None:
    """Concurrent bursts until every worker answers fast: each worker imports lazily and
    fills its caches on its first requests, which must not count as the steady state."""
    deadline = time.monotonic() + 60

    def timed(_: int) -> float:
        begin = time.perf_counter()
        requests.post(url, data=form, headers=headers, timeout=30)
        return time.perf_counter() - begin

    with ThreadPoolExecutor(max_workers=8) as pool:
        while time.monotonic() < deadline:
            if max(pool.map(timed, range(32))) < 0.2:
                return


CLIENTS = 4


def _load(url: str, form: dict[str, str], total: int) -> dict[str, float]:
    """Closed-loop load: ``CLIENTS`` threads, ``total`` requests; latencies in ms."""
    headers = {"Authorization": f"Token {form['token']}"}
    _warm_up(url, form, headers)
    share = [total // CLIENTS + (1 if i < total % CLIENTS else 0) for i in range(CLIENTS)]

    def client(count: int) -> tuple[list[float], int]:
        latencies: list[float] = []
        failures = 0
        with requests.Session() as session:
            for _ in range(count):
                begin = time.perf_counter()
                try:
                    ok = session.post(url, data=form, headers=headers, timeout=10).ok
                except requests.RequestException:
                    ok = False
                if ok:
                    latencies.append((time.perf_counter() - begin) * 1000)
                else:
                    failures += 1
        return latencies, failures

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        results = list(pool.map(client, share))
    wall = time.perf_counter() - start
    latencies = sorted(x for found, _ in results for x in found)
    return {
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        if latencies
        else float("nan"),
        "throughput": len(latencies) / wall,
        "failures": float(sum(failures for _, failures in results)),
        "samples": float(len(latencies)),
    }


def run(quick: bool) -> list[Figure]:
    """Both servers under the same closed loop, one after the other, in one function on
    purpose (long): the setup, the two measured runs and the teardown read as one
    experiment; split, none would."""
    from plugin.db import make_engine, make_session_factory
    from plugin.models import metadata
    from plugin.sandbox import Sandbox
    from plugin.slash_registration.models import SlashCommandRegistration

    total = 2_000 if quick else 10_000
    sandbox = Sandbox.start(port=0, contract=False)
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as workdir:
        try:
            envol = sandbox.create_user("envol")
            sandbox.make_system_admin(envol["id"])
            team = sandbox.create_team("entreprise", admin_id=envol["id"])
            user = sandbox.create_user("bench", locale="en")
            sandbox.add_team_member(team["id"], user["id"])
            database_url = f"sqlite:///{Path(workdir) / 'envol.db'}"
            engine = make_engine(database_url)
            metadata.create_all(engine)
            with make_session_factory(engine).begin() as session:
                session.add(
                    SlashCommandRegistration(
                        team_id=team["id"],
                        trigger="envol",
                        command_id="c" * 26,
                        token=TOKEN,
                        url="http://127.0.0.1/commands",
                    )
                )
            engine.dispose()
            envol_port, bare_port = _free_port(), _free_port()
            env = {
                "ENVOL_DATABASE_URL": database_url,
                "ENVOL_BROKER_URL": f"sqla+sqlite:///{Path(workdir) / 'broker.db'}",
                "ENVOL_MATTERMOST_URL": sandbox.url,
                "ENVOL_MATTERMOST_TOKEN": sandbox.create_token(envol["id"]),
                "ENVOL_PUBLIC_URL": f"http://127.0.0.1:{envol_port}",
                "ENVOL_SECRET_KEY": "bench-secret-key-0123456789-abcdefghijklmnop",
            }
            processes.append(_gunicorn("webhooks:create_app()", envol_port, env))
            processes.append(_gunicorn("bench.bench_slash_command:bare_app()", bare_port, {}))
            _wait_ready(envol_port, processes[0])
            _wait_ready(bare_port, processes[1])
            form = {
                "token": TOKEN,
                "team_id": team["id"],
                "team_domain": "entreprise",
                "channel_id": "c" * 26,
                "channel_name": "town-square",
                "user_id": user["id"],
                "user_name": "bench",
                "command": "/envol",
                "text": "help",
                "trigger_id": "",
                "response_url": "",
            }
            bare = _load(f"http://127.0.0.1:{bare_port}/commands", form, total)
            envol = _load(f"http://127.0.0.1:{envol_port}/commands", form, total)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            sandbox.stop()
    offered = (
        f"{envol['samples']:,.0f} requests, {CLIENTS} clients, closed loop, gunicorn 2 workers"
    )
    if envol["failures"]:
        print(f"slash command: {envol['failures']:g} failed requests")
    return [
        Figure(
            NAME,
            f"/envol help p50 ({offered})",
            envol["p50"],
            bare["p50"],
            "bare Flask endpoint p50",
            "ms",
        ),
        Figure(
            NAME,
            f"/envol help p99 ({offered})",
            envol["p99"],
            bare["p99"],
            "bare Flask endpoint p99",
            "ms",
            goal_max=2,
        ),
        Figure(
            NAME,
            f"/envol help throughput reached ({envol['failures']:g} failed)",
            envol["throughput"],
            bare["throughput"],
            "bare Flask endpoint throughput",
            "req/s",
        ),
    ]


if __name__ == "__main__":
    for figure in run(quick="--quick" in sys.argv):
        print(
            f"{figure.what}: {figure.measured:.2f} {figure.unit} vs {figure.baseline:.2f} "
            f"({figure.baseline_what}); ratio {figure.ratio:.2f}"
        )
