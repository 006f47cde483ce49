"""`lifeos up`: migrate, load the demo, start the API, the Dagster UI and the daemon."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from lifeos.cli.common import console, settings
from lifeos.dagster_home import write_dagster_yaml
from lifeos.db import migrate
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo
from lifeos.errors import ServiceUnavailable
from lifeos.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def service_env(s: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DAGSTER_HOME": str(s.dagster_home),
        "LIFEOS_HOME": str(s.home.resolve()),
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DO_NOT_TRACK": "1",
    })
    if s.database_url_override:
        env["LIFEOS_DATABASE_URL"] = s.database_url_override
    return env


def _commands(s: Settings) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    workspace = str(ROOT / "workspace.yaml")
    return {
        # The studio (Gradio) keeps its queue and sessions in one process: with the studio on,
        # the API runs as one process with `api_threads` threads.
        "api": [sys.executable, "-m", "uvicorn", "apps.api.app:create_app", "--factory",
                "--host", s.api_host, "--port", str(s.api_port), "--workers",
                str(1 if s.studio else s.api_workers), "--no-access-log"],
        "dagster-webserver": [str(bin_dir / "dagster-webserver"), "-w", workspace,
                              "-h", s.dagster_host, "-p", str(s.dagster_port)],
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
    }


def _wait_ready(url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise ServiceUnavailable(f"{name} exited with code {proc.returncode} while starting")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServiceUnavailable(f"{url} did not answer within {timeout:.0f} s")


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def up(demo: Annotated[bool, typer.Option(help="load the demo library when empty")] = True,
       ready_timeout: float = 120.0) -> int:
    """Start Life-OS Workbench: API + Dagster UI + Dagster daemon, on embedded defaults."""
    s = settings()
    login = None
    if s.studio:
        from apps.studio.app import studio_auth

        login = studio_auth(s)  # refuses to start off loopback without a password
    s.home.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(s.database_url)
    if demo:
        with session_scope(s.database_url) as session:
            load_demo(session)
    write_dagster_yaml(s)
    env = service_env(s)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, cmd in _commands(s).items():
            procs[name] = subprocess.Popen(cmd, env=env, cwd=ROOT)
        api_url = f"http://{s.api_host}:{s.api_port}"
        _wait_ready(f"{api_url}/readyz", procs, ready_timeout)
        _wait_ready(f"{s.dagster_ui_url}/server_info", procs, ready_timeout)
        studio_line = (f"  Studio     {api_url}/studio/"
                       + (f"  (sign in as {login[0]!r} with LIFEOS_STUDIO_PASSWORD)\n"
                          if login else "\n")) if s.studio else ""
        console.print(f"\n[bold green]Life-OS Workbench is up[/bold green]\n"
                      f"{studio_line}"
                      f"  API        {api_url}/docs\n"
                      f"  Dagster UI {s.dagster_ui_url}\n"
                      f"  home       {s.home.resolve()}\n"
                      "Press Ctrl-C to stop.")
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        console.print(f"[red]{', '.join(dead)} stopped; shutting down[/red]")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        _stop(procs)


def register(app: typer.Typer) -> None:
    app.command()(up)
