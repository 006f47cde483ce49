"""The deployment files, checked where Docker is absent: the compose file parses, every
service's command exists in this environment (an executable of the .venv or an importable
module), every LIFEOS_* variable it sets is a setting, and what the services share is the
same (broker, database, home); the Helm values name the code location that loads."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from lifeos.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def _exists(command: list[str]) -> bool:
    exe = command[0]
    if exe == "python" and command[1] == "-m":
        module = command[2]
        return importlib.util.find_spec(module) is not None
    return (BIN / exe).exists() or shutil.which(exe) is not None


def test_every_service_command_exists_and_sets_real_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = _compose()["services"]
    ours = {n: s for n, s in services.items() if s.get("image", "").startswith("lifeos")}
    assert set(ours) == {"migrate", "admin", "api", "dagster-webserver", "dagster-daemon", "worker"}
    fields = {f"LIFEOS_{name.upper()}" for name in Settings.model_fields}
    fields |= {"LIFEOS_DATABASE_URL"}  # the alias of database_url_override
    for name, service in ours.items():
        assert _exists(service["command"]), (name, service["command"])
        env = service["environment"]
        unknown = {k for k in env if k.startswith("LIFEOS_")} - fields
        assert not unknown, (name, unknown)
        assert env["LIFEOS_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert env["LIFEOS_CELERY_BROKER_URL"] == "redis://redis:6379/0"
        assert "lifeos-home:/data" in service["volumes"]
        with monkeypatch.context() as m:  # read as the service reads them: from its env
            for key, value in env.items():
                m.setenv(key, str(value))
            assert Settings().executor == "celery"
    assert ours["api"]["environment"]["LIFEOS_API_HOST"] == "0.0.0.0"
    assert (DEPLOY / "Dockerfile").is_file() and (DEPLOY / ".env.example").is_file()
    assert "ADMIN_PASSWORD=" in (DEPLOY / ".env.example").read_text()
    assert ours["api"]["depends_on"]["admin"]["condition"] == "service_completed_successfully"


def test_the_cli_commands_the_services_run_are_real() -> None:
    from typer.main import get_command

    from apps.cli import cli

    group = get_command(cli())
    for service in ("migrate", "admin", "worker"):
        command = _compose()["services"][service]["command"]
        assert command[0] == "lifeos"
        sub = group
        for word in command[1:]:
            if word.startswith("-") or not hasattr(sub, "commands"):
                break  # an option, or the command's own arguments
            sub = sub.commands[word]
        assert sub is not None


def test_helm_values_load_the_code_location() -> None:
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    args = deployment["dagsterApiGrpcArgs"]
    module, attribute = args[args.index("-m") + 1], args[args.index("-a") + 1]
    assert importlib.util.find_spec(module) is not None
    assert attribute == "defs"
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    limits = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert {d["key"] for d in limits["tagConcurrencyLimits"]} == {"lifeos/heavy", "lifeos/ingest"}
