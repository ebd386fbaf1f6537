"""gsm server create/list/show/update/delete: the records, their validation and the outbox."""

import json
import socket
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import GsmRunner, fake_game_command, free_port


def queued(home: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(home / "gsm.db") as conn:
        rows = conn.execute(
            "SELECT operation_type, entity_type FROM pending_sync_operations ORDER BY id"
        ).fetchall()
    conn.close()
    return rows


def create(gsm: GsmRunner, name: str = "alpha", *extra: str):
    return gsm(
        "server", "create", name, "--game", "custom",
        "--command", fake_game_command(), "--port", str(free_port()), "--json", *extra,
    )  # fmt: skip


def test_create_list_show(gsm: GsmRunner, gsm_home: Path) -> None:
    created = create(gsm)
    assert created.exit_code == 0, created.stderr
    server = created.json()
    assert server["name"] == "alpha" and server["status"] == "stopped"
    assert server["game_type"] == "custom"
    assert len(server["id"]) == 36
    assert Path(server["install_path"]).is_dir()
    assert server["created_at"].endswith("Z")

    listed = gsm("server", "list", "--json").json()
    assert [s["name"] for s in listed] == ["alpha"]
    shown = gsm("server", "show", "ALPHA", "--json").json()  # names match case-insensitively
    assert shown["id"] == server["id"]
    assert queued(gsm_home) == [("create", "game_server")]


def test_catalog_defaults_and_a_taken_default_port(gsm: GsmRunner) -> None:
    first = gsm("server", "create", "vh1", "--game", "valheim", "--json")
    assert first.exit_code == 0, first.stderr
    assert first.json()["port"] == 2456 and first.json()["max_players"] == 10
    second = gsm("server", "create", "vh2", "--game", "valheim")
    assert second.exit_code == 5
    assert "port 2456 is already used by server 'vh1'" in second.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--game", "valheimm"], 4, "invalid value 'valheimm' for --game"),
        (["--game", "custom"], 4, "needs --command"),
        (["--game", "custom", "--command", "x", "--port", "0"], 4, "not between 1 and 65535"),
        (["--game", "custom", "--command", "x", "--port", "70000"], 4, "not between"),
        (["--game", "custom", "--command", "x", "--env", "NOEQUALS"], 4, "invalid --env"),
        (["--game", "custom", "--command", "x", "--max-players", "0"], 4, "--max-players"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    gsm: GsmRunner, gsm_home: Path, args: list[str], code: int, message: str
) -> None:
    result = gsm("server", "create", "beta", *args)
    assert result.exit_code == code, result.stderr
    assert message in result.stderr
    assert gsm("server", "list", "--json").json() == []
    assert not (gsm_home / "servers" / "beta").exists()


def test_unknown_game_suggests_close_names(gsm: GsmRunner) -> None:
    assert "did you mean valheim" in gsm("server", "create", "x", "--game", "valhiem").stderr


@pytest.mark.parametrize("name", ["-bad", "has space", "x" * 65, "semi;colon"])
def test_invalid_names(gsm: GsmRunner, name: str) -> None:
    result = gsm("server", "create", "--game", "custom", "--command", "x", "--", name)
    assert result.exit_code == 4, result.stderr


def test_names_are_unique_regardless_of_case(gsm: GsmRunner) -> None:
    assert create(gsm, "alpha").exit_code == 0
    clash = create(gsm, "Alpha")
    assert clash.exit_code == 5
    assert "already exists" in clash.stderr


def test_a_port_used_by_another_gsm_server_is_refused(gsm: GsmRunner) -> None:
    port = free_port()
    assert create(gsm, "one").exit_code == 0
    gsm("server", "update", "one", "--port", str(port))
    result = gsm(
        "server", "create", "two", "--game", "custom", "--command", "x", "--port", str(port)
    )
    assert result.exit_code == 5 and "already used by server 'one'" in result.stderr


def test_a_port_another_program_listens_on_gives_a_warning(gsm: GsmRunner) -> None:
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = gsm(
            "server", "create", "w", "--game", "custom", "--command", "x", "--port", str(port)
        )
    assert result.exit_code == 0
    assert f"warning: another program is using port {port}" in result.stderr


def test_updating_a_running_server_does_not_take_its_own_game_for_another_program(
    gsm: GsmRunner,
) -> None:
    port = free_port()
    made = gsm(
        "server", "create", "up", "--game", "custom", "--port", str(port),
        "--command", fake_game_command(),
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    started = gsm("server", "start", "up")
    assert started.exit_code == 0, started.stderr
    result = gsm("server", "update", "up", "--autostart")
    assert result.exit_code == 0, result.stderr
    assert "another program" not in result.stderr
    # A port another program really holds is still reported for the running server.
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen()
        other = listener.getsockname()[1]
        moved = gsm("server", "update", "up", "--query-port", str(other))
    assert f"warning: another program is using port {other}" in moved.stderr
    assert gsm("server", "stop", "up").exit_code == 0


def test_update_renames_and_changes_settings(gsm: GsmRunner, gsm_home: Path) -> None:
    create(gsm, "alpha")
    result = gsm(
        "server", "update", "alpha", "--name", "bravo", "--max-players", "32",
        "--arg", "--motd", "--arg", "hi", "--env", "A=1", "--no-restart", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    server = result.json()
    assert server["name"] == "bravo" and server["max_players"] == 32
    assert server["configuration"]["args"] == ["--motd", "hi"]
    assert server["configuration"]["env"] == {"A": "1"}
    assert server["configuration"]["restart"]["enabled"] is False
    assert gsm("server", "show", "alpha").exit_code == 3
    assert queued(gsm_home) == [("create", "game_server"), ("update", "game_server")]


def test_update_of_a_missing_server_is_not_found(gsm: GsmRunner) -> None:
    result = gsm("server", "update", "ghost", "--port", "2000", "--json")
    assert result.exit_code == 3
    assert result.error()["code"] == "server_not_found"


def test_delete_keeps_the_folder_unless_purged(gsm: GsmRunner, gsm_home: Path) -> None:
    folder = Path(create(gsm, "alpha").json()["install_path"])
    (folder / "world.dat").write_text("precious")
    assert gsm("server", "delete", "alpha").exit_code == 0
    assert (folder / "world.dat").read_text() == "precious"
    assert gsm("server", "list", "--json").json() == []
    assert queued(gsm_home)[-1] == ("delete", "game_server")


def test_delete_takes_the_server_s_performance_samples_with_it(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    """performance_history.server_id references the server without ON DELETE: the samples go
    in the same transaction, or the delete would fail on the foreign key."""
    alpha = create(gsm, "alpha").json()["id"]
    beta = create(gsm, "beta").json()["id"]
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.executemany(
            "INSERT INTO performance_history (server_id, cpu_usage, memory_usage) VALUES (?, ?, ?)",
            [(alpha, 12.5, 800.0), (alpha, 13.0, 810.0), (beta, 2.0, 300.0)],
        )
    deleted = gsm("server", "delete", "alpha", "--json")
    assert deleted.exit_code == 0, deleted.stderr
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        left = conn.execute("SELECT server_id FROM performance_history").fetchall()
    assert left == [(beta,)]
    assert [s["name"] for s in gsm("server", "list", "--json").json()] == ["beta"]


def test_purge_needs_confirmation_off_a_terminal(gsm: GsmRunner) -> None:
    folder = Path(create(gsm, "alpha").json()["install_path"])
    refused = gsm("server", "delete", "alpha", "--purge")
    assert refused.exit_code == 2
    assert "--yes" in refused.stderr
    assert folder.is_dir() and gsm("server", "show", "alpha").exit_code == 0

    done = gsm("server", "delete", "alpha", "--purge", "--yes", "--json")
    assert done.exit_code == 0
    result = done.json()
    assert (result["name"], result["purged"], result["existed"]) == ("alpha", True, True)
    assert result["folder"] == str(folder) and result["kept"] == []
    assert not folder.exists()
    assert not list(folder.parent.glob(".alpha.gsm-deleting-*"))


def test_list_formats_and_filters(gsm: GsmRunner) -> None:
    create(gsm, "alpha")
    gsm("server", "create", "vh", "--game", "valheim")
    csv_out = gsm("server", "list", "-o", "csv").stdout.splitlines()
    assert csv_out[0] == ",".join(gsm("server", "list", "--json").json()[0])  # every JSON key
    assert len(csv_out) == 3
    only = gsm("server", "list", "--game", "valheim", "--json").json()
    assert [s["name"] for s in only] == ["vh"]
    table = gsm("server", "list").stdout
    assert table.splitlines()[0].split()[:3] == ["NAME", "GAME", "STATUS"]
    assert json.loads(gsm("server", "list", "--status", "running", "--json").stdout) == []


def test_list_by_an_unknown_game_is_refused(gsm: GsmRunner) -> None:
    result = gsm("server", "list", "--game", "nosuch", "--json")
    assert result.exit_code == 4
    assert result.error()["code"] == "invalid_game"
