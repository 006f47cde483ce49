"""The `lifeos` CLI, run in-process through its real entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from apps.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_entity_lifecycle(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "entity",
        "create",
        "character",
        "--json",
        "--data",
        '{"name": "Aria", "tags": ["hero"], "data": {"age": "29"}}',
    )
    assert code == 0
    aria = json.loads(out)
    code, out, _ = run(
        capsys,
        "entity",
        "update",
        "character",
        aria["id"],
        "--json",
        "--expected-revision",
        "1",
        "--data",
        '{"data": {"age": "30"}}',
    )
    assert code == 0 and json.loads(out)["data"]["age"] == "30"
    code, out, _ = run(
        capsys,
        "entity",
        "list",
        "character",
        "--q",
        "aria",
        "--tag",
        "hero",
        "--where",
        "age=30",
        "--json",
    )
    assert json.loads(out)["total"] == 1
    assert run(capsys, "entity", "delete", "character", aria["id"])[0] == 0
    assert run(capsys, "entity", "restore", "character", aria["id"])[0] == 0
    code, out, _ = run(capsys, "entity", "history", "character", aria["id"], "--json")
    assert [h["op"] for h in json.loads(out)] == ["restore", "delete", "update", "create"]
    assert run(capsys, "entity", "revert", "character", aria["id"], "1")[0] == 0
    code, out, _ = run(capsys, "entity", "get", "character", aria["id"])
    assert code == 0 and "Aria" in out
    assert run(capsys, "entity", "purge", "character", aria["id"], "--yes")[0] == 0


def test_text_in_brackets_is_printed_as_it_is(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Names, answers and quotes are text, not Rich markup: "[see p. 5]" is not dropped as an
    unknown style, and "[/b]" does not fail the command after its work is done."""
    name = "Sir Robin [see p. 5] the [/b] brave"
    _, out, _ = run(
        capsys,
        "entity",
        "create",
        "character",
        "--json",
        "--data",
        json.dumps({"name": name, "data": {"description": "[red]not red[/red]"}}),
    )
    robin = json.loads(out)["id"]
    code, out, err = run(capsys, "entity", "get", "character", robin)
    assert code == 0, err
    assert name in out and "[red]not red[/red]" in out
    code, out, _ = run(capsys, "entity", "list", "character")
    assert code == 0 and "[see p. 5]" in out


def test_links_and_tables(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "entity", "create", "outfit", "--json", "--data", '{"name": "Gear"}')
    outfit = json.loads(out)["id"]
    _, out, _ = run(
        capsys, "entity", "create", "clothing_item", "--json", "--data", '{"name": "Cloak"}'
    )
    cloak = json.loads(out)["id"]
    assert run(capsys, "entity", "link", "outfit", outfit, "contains", cloak)[0] == 0
    code, out, _ = run(capsys, "entity", "links", "clothing_item", cloak)
    assert code == 0 and "Gear" in out
    code, out, _ = run(capsys, "entity", "list", "outfit")
    assert code == 0 and outfit in out and "1 of 1" in out
    code, out, _ = run(capsys, "entity", "kinds")
    assert code == 0 and "board_game" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["entity", "list", "spaceship"], "unknown entity kind 'spaceship'"),
        (["entity", "list", "outfit", "--limit", "500"], "less than or equal to 200"),
        (["entity", "list", "outfit", "--sort", "size"], "unknown sort field"),
        (["entity", "list", "outfit", "--where", "nope"], "FIELD=VALUE"),
        (["entity", "get", "outfit", "missing"], "not found"),
        (["entity", "create", "outfit", "--data", "{oops"], "not valid JSON"),
        (
            ["entity", "create", "outfit", "--data", '{"name": "x", "data": {"colour": 1}}'],
            "data.colour: Extra inputs are not permitted",
        ),
        (["entity", "create", "outfit", "--data", "@/no/such/file.json"], "no such file"),
        (["import", "/no/such/export.json"], "no such file"),
        (["backup", "restore-db", "/no/such/backup", "--yes"], "no such file"),
    ],
)
def test_errors_print_one_line(
    db_url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert code == 1
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert "Traceback" not in out + err


def test_a_library_not_migrated_yet_says_what_to_run(
    lifeos_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "rulebook", "list")
    assert code == 1 and "lifeos db upgrade" in err and "Traceback" not in out + err
    assert run(capsys, "db", "upgrade")[0] == 0
    assert run(capsys, "rulebook", "list", "--json") == (0, "[]\n", "")


def test_json_errors_are_machine_readable(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "entity", "get", "outfit", "missing", "--json")
    assert code == 1 and json.loads(out)["error"]["code"] == "not_found"


def test_demo_export_import_backup_restore(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "demo")[0] == 0
    assert "already loaded" in run(capsys, "demo")[1]
    export = tmp_path / "lib.json"
    assert run(capsys, "export", str(export))[0] == 0
    code, _, err = run(capsys, "import", str(export))
    assert code == 1 and "already exist" in err
    assert "48 skipped" in run(capsys, "import", str(export), "--on-conflict", "skip")[1]
    backup = tmp_path / "lib.backup"
    assert run(capsys, "backup", "db", str(backup))[0] == 0
    assert run(capsys, "backup", "restore-db", str(backup), "--yes")[0] == 0
    _, out, _ = run(capsys, "entity", "list", "board_game", "--json")
    assert json.loads(out)["total"] == 3


def test_db_commands(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from lifeos.db.migrate import head_revision

    code, out, _ = run(capsys, "db", "current")
    assert code == 0 and out.startswith(f"{head_revision()} (latest: {head_revision()})")
    assert run(capsys, "db", "upgrade")[0] == 0


def test_console_script_exits_nonzero(db_url: str) -> None:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "lifeos"), "entity", "get", "outfit", "nope"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and proc.stderr.strip() == "error: outfit nope not found"
