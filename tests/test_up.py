"""`lifeos up`, the README's run command, as a user starts it: the API with the studio, the
Dagster UI and the daemon come up on a new library, Dagster's chatter goes to log files rather
than the terminal, and stopping it stops everything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.services import answers, free_port, stop, wait_until

ROOT = Path(__file__).resolve().parents[1]


PANTRY = """
import dagster as dg

from lifeos.hookspecs import hookimpl


@dg.asset
def pantry_inventory() -> int:
    return 3


@hookimpl
def register_definitions(register):
    register(dg.Definitions(assets=[pantry_inventory]))
"""


def _dagster_assets(port: int) -> set[str]:
    query = {"query": "{ assetNodes { assetKey { path } } }"}
    nodes = httpx.post(f"http://127.0.0.1:{port}/graphql", json=query, timeout=30).json()
    return {"/".join(n["assetKey"]["path"]) for n in nodes["data"]["assetNodes"]}


@pytest.mark.slow
def test_up_starts_every_service_and_stops_them_all(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # A folder plugin with a Dagster asset: it shows in the Dagster UI while it is loaded.
    (home / "plugins" / "pantry").mkdir(parents=True)
    (home / "plugins" / "pantry" / "plugin.toml").write_text('name = "pantry"\nversion = "1.0"\n')
    (home / "plugins" / "pantry" / "__init__.py").write_text(PANTRY)
    api, dagster = free_port(), free_port()
    env = {
        **os.environ,
        "LIFEOS_HOME": str(home),
        "LIFEOS_API_PORT": str(api),
        "LIFEOS_DAGSTER_PORT": str(dagster),
        "LIFEOS_PRELOAD_MODELS": "[]",
        "LIFEOS_LOAD_PLUGINS": "1",  # the pantry plugin above
    }
    env.pop("LIFEOS_DATABASE_URL", None)  # the embedded default: SQLite in LIFEOS_HOME
    terminal = tmp_path / "terminal.txt"
    # --no-demo: the demo's rulebooks would start ingestion runs that outlive the test.
    with terminal.open("wb") as out:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "lifeos"), "up", "--no-demo"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "Press Ctrl-C to stop." in terminal.read_text(errors="replace"),
            proc,
            terminal,
            what="lifeos up",
        )
        assert answers(f"http://127.0.0.1:{api}/studio/")
        assert answers(f"http://127.0.0.1:{dagster}/server_info")
        daemon_log = home / "logs" / "dagster-daemon.log"
        wait_until(
            lambda: "SensorDaemon" in daemon_log.read_text(errors="replace"),
            proc,
            terminal,
            what="the Dagster daemon's sensors",
            timeout=60,
        )
        base = os.getpriority(os.PRIO_PROCESS, 0)
        services = _children(proc.pid)
        daemon = next(pid for pid, cmd in services.items() if "dagster-daemon" in cmd)
        api_pid = next(pid for pid, cmd in services.items() if "uvicorn" in cmd)
        assert os.getpriority(os.PRIO_PROCESS, daemon) == base + 10  # background_nice
        assert all(
            os.getpriority(os.PRIO_PROCESS, pid) == base + 10 for pid in _children(daemon)
        )  # its code server, which launches the runs
        assert os.getpriority(os.PRIO_PROCESS, api_pid) == base
        # Litestream replicates the SQLite library into the backup target (restore --at).
        assert any("litestream" in cmd and "replicate" in cmd for cmd in services.values())
        wait_until(
            lambda: any((home / "backups" / "litestream").rglob("*.ltx")),
            proc,
            terminal,
            what="the library's Litestream replica",
            timeout=60,
        )
        printed = terminal.read_text(errors="replace")
        assert f"Dagster UI http://127.0.0.1:{dagster}" in printed
        assert f"logs       {home / 'logs'}" in printed
        assert "SensorDaemon" not in printed  # the daemon's ticks are in its log file only
        # Turned off through the API, the plugin's asset leaves the Dagster UI (the code
        # location is reloaded); turned on, it comes back.
        assert "pantry_inventory" in _dagster_assets(dagster)
        plugins = f"http://127.0.0.1:{api}/api/v1/plugins/pantry"
        assert httpx.post(f"{plugins}/disable", timeout=30).json()["status"] == "disabled"
        wait_until(
            lambda: "pantry_inventory" not in _dagster_assets(dagster),
            proc,
            terminal,
            what="the Dagster code location without the plugin",
            timeout=90,
        )
        assert httpx.post(f"{plugins}/enable", timeout=30).json()["status"] == "loaded"
        wait_until(
            lambda: "pantry_inventory" in _dagster_assets(dagster),
            proc,
            terminal,
            what="the Dagster code location with the plugin",
            timeout=90,
        )
        # What a process manager sends: it reaches `lifeos up` alone, which stops the rest.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not answers(f"http://127.0.0.1:{dagster}/server_info")
        assert not answers(f"http://127.0.0.1:{api}/readyz")
    finally:
        stop(proc)


def _children(pid: int) -> dict[int, str]:
    """The processes `pid` started, with their command lines (Linux's /proc)."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out[int(stat.parent.name)] = (
                    (stat.parent / "cmdline").read_text().replace("\0", " ")
                )
        except (OSError, IndexError, ValueError):
            continue  # it ended meanwhile
    return out


def test_a_service_log_past_its_limit_is_kept_once_and_started_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.cli import up
    from lifeos.settings import Settings

    monkeypatch.setattr(up, "LOG_KEEP_BYTES", 100)
    s = Settings(home=tmp_path)
    s.logs_dir.mkdir(parents=True)
    log = s.logs_dir / "dagster-daemon.log"
    log.write_text("old line\n" * 20)
    say = [sys.executable, "-c", "print('started')"]
    assert up._start("dagster-daemon", say, s, dict(os.environ)).wait(timeout=30) == 0
    assert (s.logs_dir / "dagster-daemon.log.1").read_text().startswith("old line")
    assert log.read_text() == "started\n"
    assert up._start("dagster-daemon", say, s, dict(os.environ)).wait(timeout=30) == 0
    assert log.read_text() == "started\n" * 2  # under the limit: appended to
    assert up._log_tail(s, "dagster-daemon").endswith("started\nstarted")


def test_the_daemon_and_the_runs_it_starts_yield_the_cpu_to_the_api(tmp_path: Path) -> None:
    """Background work runs at `background_nice`, and what it starts (its runs) inherits
    that; the API and the studio keep the ordinary priority."""
    from apps.cli import up
    from lifeos.settings import Settings

    s = Settings(home=tmp_path, background_nice=7)
    base = os.getpriority(os.PRIO_PROCESS, 0)
    # A process that starts another once it is up, and the priority that one runs at.
    daemon = [
        sys.executable,
        "-c",
        (
            "import os, subprocess, sys, time; time.sleep(0.5); "
            "subprocess.run([sys.executable, '-c', 'import os; "
            "print(os.getpriority(os.PRIO_PROCESS, 0))'])"
        ),
    ]
    started = up._start("dagster-daemon", daemon, s, dict(os.environ))
    assert os.getpriority(os.PRIO_PROCESS, started.pid) == base + 7
    assert started.wait(timeout=30) == 0
    assert (s.logs_dir / "dagster-daemon.log").read_text().split() == [str(base + 7)]
    api = up._start(
        "api", [sys.executable, "-c", "import time; time.sleep(2)"], s, dict(os.environ)
    )
    assert os.getpriority(os.PRIO_PROCESS, api.pid) == base
    assert api.wait(timeout=30) == 0


def test_reload_plugins_reaches_the_services_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lifeos up --reload-plugins`: the services it starts read `reload_plugins` on (the API's
    watcher then reloads a folder plugin as its files change); without the flag, off."""
    from apps.cli.up import service_env
    from lifeos.settings import Settings

    monkeypatch.delenv("LIFEOS_RELOAD_PLUGINS", raising=False)
    for flag, expected in ((True, True), (False, False)):
        env = service_env(Settings(home=tmp_path), reload_plugins=flag)
        with monkeypatch.context() as mp:
            for key, value in env.items():
                if key.startswith("LIFEOS_"):
                    mp.setenv(key, value)
            assert Settings().reload_plugins is expected
