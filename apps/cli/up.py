"""`lifeos up`: migrate, load the demo, start the API, the Dagster UI and the daemon."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.text import Text

from apps.cli.common import console, settings
from lifeos.dagster_home import write_dagster_yaml
from lifeos.db import migrate
from lifeos.db.engine import session_scope
from lifeos.demo import load_demo, queue_demo_rulebooks
from lifeos.errors import ServiceUnavailable
from lifeos.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def service_env(s: Settings, *, reload_plugins: bool = False) -> dict[str, str]:
    """The services' environment: this one, with the library's places and no telemetry."""
    env = dict(os.environ)
    env.update(
        {
            # the environment's executables first (dagster-celery starts `celery` by name)
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
            "DAGSTER_HOME": str(s.dagster_home),
            "LIFEOS_HOME": str(s.home.resolve()),
            "HF_HUB_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "DO_NOT_TRACK": "1",
        }
    )
    if s.database_url_override:
        env["LIFEOS_DATABASE_URL"] = s.database_url_override
    if reload_plugins:  # the API's plugin watcher reloads a folder plugin as its files change
        env["LIFEOS_RELOAD_PLUGINS"] = "1"
    if not s.studio and s.api_workers > 1:
        # several API processes: /metrics adds up all of theirs (prometheus-client's
        # multiprocess mode), from a folder emptied at each start
        folder = s.home.resolve() / "metrics"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return env


def _commands(s: Settings, workers: int = 0) -> dict[str, list[str]]:
    bin_dir = Path(sys.executable).parent
    workspace = str(ROOT / "workspace.yaml")
    return {
        # The studio (Gradio) keeps its queue and sessions in one process: with the studio on,
        # the API runs as one process with `api_threads` threads.
        "api": [
            sys.executable,
            "-m",
            "uvicorn",
            "apps.api.app:create_app",
            "--factory",
            "--host",
            s.api_host,
            "--port",
            str(s.api_port),
            "--workers",
            str(1 if s.studio else s.api_workers),
            "--no-access-log",
        ],
        "dagster-webserver": [
            str(bin_dir / "dagster-webserver"),
            "-w",
            workspace,
            "-h",
            s.dagster_host,
            "-p",
            str(s.dagster_port),
        ],
        "dagster-daemon": [str(bin_dir / "dagster-daemon"), "run", "-w", workspace],
        **_replication(s),
        **_workers(workers),
    }


def _replication(s: Settings) -> dict[str, list[str]]:
    """Litestream beside a SQLite library (`LIFEOS_BACKUP_REPLICATE`): every transaction in
    the backup target within a second, for `lifeos backup restore --at`."""
    if not (s.is_sqlite and s.backup_replicate):
        return {}
    from lifeos.backup import replica

    return {"litestream": replica.replicate_command(s)}


def _workers(count: int) -> dict[str, list[str]]:
    """Celery worker processes (`--workers N`): the steps of the daemon's runs."""
    from pipelines.executors import worker_command

    return {f"worker-{i + 1}": worker_command(f"worker-{i + 1}") for i in range(count)}


# Services whose output goes to LIFEOS_HOME/logs/NAME.log rather than the terminal: the daemon
# writes a line per sensor evaluation every few seconds and the runs it launches write every
# event (the Dagster UI shows both); the terminal keeps the API's log. A log past
# LOG_KEEP_BYTES is moved to NAME.log.1 (replacing the one before) when the service starts.
LOGGED_TO_FILE = ("dagster-webserver", "dagster-daemon", "litestream")
LOG_KEEP_BYTES = 10 * 2**20
# Background work: the daemon, and the runs it launches (its children inherit the niceness),
# run at `background_nice`, so an ingestion or a batch of images takes what CPU the studio
# leaves rather than half of it. On 2 cores a question asked while a rulebook was ingested
# took ~2x as long at an equal share (docs/benchmarks.md, Rulebooks).
IN_BACKGROUND = ("dagster-daemon",)


def _logged_to_file(name: str) -> bool:
    return name in LOGGED_TO_FILE or name.startswith("worker-")


def _start(name: str, cmd: list[str], s: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if not _logged_to_file(name):
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    else:
        s.logs_dir.mkdir(parents=True, exist_ok=True)
        path = s.logs_dir / f"{name}.log"
        if path.is_file() and path.stat().st_size > LOG_KEEP_BYTES:
            path.replace(path.with_suffix(".log.1"))
        with path.open("ab") as log:  # the child keeps its own handle
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if (
        (name in IN_BACKGROUND or name.startswith("worker-"))
        and s.background_nice
        and hasattr(os, "setpriority")
    ):
        # Set as it starts: the interpreter takes a second to import before it starts any
        # process of its own, and those inherit it.
        os.setpriority(os.PRIO_PROCESS, proc.pid, s.background_nice)
    return proc


def _log_tail(s: Settings, name: str, lines: int = 15) -> str:
    """The end of a service's log file, for the message when it stops ('' when it has none)."""
    path = s.logs_dir / f"{name}.log"
    if not _logged_to_file(name) or not path.is_file():
        return ""
    tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    return f"{path}, last lines:\n" + "\n".join(tail)


def _wait_ready(
    url: str, procs: dict[str, subprocess.Popen[bytes]], timeout: float, s: Settings
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                where = f"; its log: {s.logs_dir / name}.log" if _logged_to_file(name) else ""
                raise ServiceUnavailable(
                    f"{name} exited with code {proc.returncode} while starting{where}"
                )
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServiceUnavailable(f"{url} did not answer within {timeout:.0f} s")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


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


def up(
    demo: Annotated[bool, typer.Option(help="load the demo library when empty")] = True,
    reload_plugins: Annotated[
        bool,
        typer.Option(
            "--reload-plugins",
            help="development: reload a plugin in the plugin folder when one of its files "
            "changes (LIFEOS_RELOAD_PLUGINS=1)",
        ),
    ] = False,
    ready_timeout: float = 120.0,
    workers: Annotated[
        int,
        typer.Option(
            min=0,
            max=64,
            help="Celery worker processes for the daemon's runs (over Redis: "
            "LIFEOS_CELERY_BROKER_URL); 0: each run executes its steps itself",
        ),
    ] = 0,
) -> int:
    """Start Life-OS Workbench: API + Dagster UI + Dagster daemon, on embedded defaults."""
    s = settings()
    if workers:
        s = s.model_copy(update={"executor": "celery"})
    s.home.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(s.database_url)
    from apps.api.security import check_can_serve

    check_can_serve(s)  # off loopback: refuses to start without an admin account
    queued: list[Path] = []
    if demo:
        with session_scope(s.database_url) as session:
            loaded = load_demo(session)["entities"]
        # A new library also gets its games' rulebooks, ingested by the daemon as it starts.
        queued = queue_demo_rulebooks(s.inbox_dir) if loaded else []
    write_dagster_yaml(s)
    from pipelines.runs import fail_orphaned_runs

    orphans = fail_orphaned_runs(s)  # left "started" by a stop that killed their process
    env = service_env(s, reload_plugins=reload_plugins)
    if s.executor == "celery":
        from pipelines.executors import worker_env

        env = worker_env(s, env)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    # `kill`, a closed terminal or a process manager stops the services as Ctrl-C does, rather
    # than leaving them running without us.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        for name, cmd in _commands(s, workers).items():
            procs[name] = _start(name, cmd, s, env)
        api_url = f"http://{s.api_host}:{s.api_port}"
        _wait_ready(f"{api_url}/health/ready", procs, ready_timeout, s)
        _wait_ready(f"{s.dagster_ui_url}/server_info", procs, ready_timeout, s)
        sign_in = "  (sign in with an account: `lifeos users`)" if s.sign_in_required else ""
        lines = [
            f"  Studio     {api_url}/studio/{sign_in}" if s.studio else "",
            f"  API        {api_url}/docs",
            f"  Dagster UI {s.dagster_ui_url}",
            f"  home       {s.home.resolve()}",
            f"  logs       {s.logs_dir} (Dagster's)",
            f"  workers    {workers} Celery workers on {s.celery_broker_url}" if workers else "",
            f"  rulebooks  {len(queued)} demo rulebooks are being ingested (Dagster UI, Runs)"
            if queued
            else "",
            f"  runs       {len(orphans)} left unfinished when Workbench last stopped: "
            "marked failed (`lifeos rulebook reindex` retries a rulebook)"
            if orphans
            else "",
            "Press Ctrl-C to stop.",
        ]
        console.print(
            Text.assemble(
                "\n",
                ("Life-OS Workbench is up", "bold green"),
                "\n",
                "\n".join(line for line in lines if line),
            ),
            soft_wrap=True,
        )  # no URL or path cut in two
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        dead = [n for n, p in procs.items() if p.poll() is not None]
        for name in dead:
            if tail := _log_tail(s, name):
                console.print(tail, highlight=False)
        console.print(f"{', '.join(dead)} stopped; shutting down", style="red")
        return 1
    except KeyboardInterrupt:
        console.print("stopping…")
        return 0
    finally:
        _stop(procs)


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(workers)


def workers(
    count: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="steps at once, each")] = 1,
) -> int:
    """Celery workers for the daemon's runs, on this machine (another machine too: the same
    LIFEOS_DATABASE_URL, LIFEOS_CELERY_BROKER_URL and storage)."""
    from pipelines.executors import worker_command, worker_env

    s = settings()
    env = worker_env(s, service_env(s))
    procs = {
        f"worker-{i + 1}": _start(
            f"worker-{i + 1}", worker_command(f"worker-{i + 1}", concurrency=concurrency), s, env
        )
        for i in range(count)
    }
    console.print(f"{count} Celery workers on {s.celery_broker_url}; logs in {s.logs_dir}")
    try:
        while all(p.poll() is None for p in procs.values()):
            time.sleep(1)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        _stop(procs)
