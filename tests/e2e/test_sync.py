"""gsm sync against a real gsm-cloud: push, two machines converging, conflicts, a cloud that
fails in every way, and a push killed (SIGKILL) at random moments that still applies every
operation exactly once."""

import contextlib
import http.server
import os
import random
import signal
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer
from tests.conftest import GsmRunner, gsm_executable, wait_for
from tests.e2e.conftest import LiveCloud

pytestmark = pytest.mark.skipif(os.name == "nt", reason="SIGKILL and POSIX shells")


def _login(gsm: GsmRunner, cloud: LiveCloud, token: str, home: Path | None = None) -> None:
    env = {"GSM_HOME": str(home)} if home else None
    result = gsm("auth", "login", "--with-token", "--api-url", cloud.url, input=token, env=env)
    assert result.exit_code == 0, result.stderr


def _create(gsm: GsmRunner, name: str, port: int, home: Path | None = None) -> None:
    env = {"GSM_HOME": str(home)} if home else None
    result = gsm(
        "server", "create", name, "--game", "valheim",
        "--port", str(port), "--query-port", str(port + 1), env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr


def _cloud_servers(cloud: LiveCloud, token: str) -> dict[str, dict]:
    response = httpx.get(
        f"{cloud.url}/v1/servers",
        params={"per_page": 100},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return {s["name"]: s for s in response.json()["items"]}


def _queue(home: Path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(home / "gsm.db")) as conn:
        return conn.execute(
            "SELECT operation_id, state, retry_count FROM pending_sync_operations ORDER BY id"
        ).fetchall()


def test_push_sends_queued_servers_to_the_cloud(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    _login(gsm, live_cloud, account.token)
    for i in range(5):
        _create(gsm, f"push-{i}", 26000 + 10 * i)
    assert gsm("server", "update", "push-0", "--max-players", "42").exit_code == 0
    result = gsm("sync", "push", "--batch-size", "2", "--json")
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert summary["applied"] == 6 and summary["batches"] == 3 and summary["left"] == 0
    assert "6 applied" in result.stderr
    assert _queue(gsm_home) == []
    cloud = _cloud_servers(live_cloud, account.token)
    assert set(cloud) == {f"push-{i}" for i in range(5)}
    assert cloud["push-0"]["max_players"] == 42
    shown = gsm("server", "show", "push-0", "--json").json()
    assert shown["cloud_sync_status"] == "synced"
    status = gsm("sync", "status", "--json").json()
    assert status["queued"] == 0 and status["last_push_at"] is not None
    # Nothing left: a second push sends nothing.
    assert gsm("sync", "push", "--json").json()["sent"] == 0


def test_two_stores_on_one_account_converge(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    home_b = tmp_path / "home-b"
    _login(gsm, live_cloud, account.token)
    _login(gsm, live_cloud, account.token, home_b)
    _create(gsm, "alpha", 27000)
    _create(gsm, "beta", 27010, home_b)
    b = {"GSM_HOME": str(home_b)}
    assert gsm("sync", "push").exit_code == 0
    assert gsm("sync", "push", env=b).exit_code == 0
    pulled_a = gsm("sync", "pull", "--json")
    pulled_b = gsm("sync", "pull", "--json", env=b)
    assert pulled_a.exit_code == 0 and pulled_b.exit_code == 0, pulled_a.stderr + pulled_b.stderr
    assert pulled_a.json()["conflicts"] == [] and pulled_b.json()["conflicts"] == []

    def servers(env: dict | None = None) -> dict[str, dict]:
        listed = gsm("server", "list", "--json", env=env).json()
        return {s["name"]: s for s in listed}

    on_a, on_b = servers(), servers(b)
    assert set(on_a) == set(on_b) == {"alpha", "beta"}
    assert on_a["beta"]["id"] == on_b["beta"]["id"]
    # Each machine's server is remote on the other: listed, with the cloud's port, no folder.
    assert on_a["beta"]["status"] == "remote" and on_a["beta"]["port"] == 27010
    assert on_a["beta"]["remote"] is True and on_a["alpha"]["remote"] is False
    assert on_b["alpha"]["install_path"] is None and on_a["alpha"]["install_path"]

    # A deletion travels too, and takes the server's samples on this machine with it.
    beta_id = on_a["beta"]["id"]
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "INSERT INTO performance_history (server_id, cpu_usage) VALUES (?, 5.0)", (beta_id,)
        )
    assert gsm("server", "delete", "beta", "--yes", env=b).exit_code == 0
    assert gsm("sync", "push", env=b).exit_code == 0
    pulled = gsm("sync", "pull")
    assert pulled.exit_code == 0, pulled.stderr
    assert set(servers()) == {"alpha"}
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        assert conn.execute("SELECT count(*) FROM performance_history").fetchone() == (0,)
    # Pulling again from the stored cursor brings nothing new.
    assert gsm("sync", "pull", "--json").json()["changes"] == 0


def test_only_the_owning_device_changes_a_server(
    gsm: GsmRunner, gsm_home: Path, tmp_path: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    home_b = tmp_path / "home-b"
    b = {"GSM_HOME": str(home_b)}
    _login(gsm, live_cloud, account.token)
    _login(gsm, live_cloud, account.token, home_b)
    _create(gsm, "shared", 28000)
    assert gsm("sync", "push").exit_code == 0
    assert gsm("sync", "pull", env=b).exit_code == 0

    # B cannot change A's server (it used to, and both sides then fought in conflicts).
    refused = gsm("server", "update", "shared", "--max-players", "30", "--json", env=b)
    assert refused.exit_code == 5 and refused.error()["code"] == "remote_server"
    assert gsm("sync", "status", "--json", env=b).json()["queued"] == 0

    # A's changes reach B, without a conflict.
    assert gsm("server", "update", "shared", "--max-players", "20").exit_code == 0
    assert gsm("sync", "push").exit_code == 0
    pulled = gsm("sync", "pull", "--json", env=b)
    assert pulled.exit_code == 0 and pulled.json()["conflicts"] == [], pulled.stderr
    shown = gsm("server", "show", "shared", "--json", env=b).json()
    assert shown["max_players"] == 20 and shown["status"] == "remote"
    assert shown["cloud_sync_status"] == "synced" and shown["install_path"] is None


# -- a cloud that fails ----------------------------------------------------------------------


class _FaultHandler(http.server.BaseHTTPRequestHandler):
    mode = "500"

    def log_message(self, *args: object) -> None:
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.mode == "500":
            body = b'{"error": {"code": "internal", "message": "boom"}}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.mode == "hang":
            self.server.release.wait(10)  # type: ignore[attr-defined]
        else:  # drop: close the connection without an answer
            self.close_connection = True
            self.connection.shutdown(2)

    do_GET = do_POST


@contextlib.contextmanager
def _fault_server(mode: str) -> Iterator[str]:
    handler = type("Handler", (_FaultHandler,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.release = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.release.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("mode", ["500", "hang", "drop"])
def test_a_failing_cloud_keeps_everything_queued(gsm: GsmRunner, gsm_home: Path, mode: str) -> None:
    for i in range(3):
        _create(gsm, f"fault-{i}", 29000 + 10 * i)
    assert gsm("config", "set", "cloud.timeout", "0.5").exit_code == 0
    before = _queue(gsm_home)
    with _fault_server(mode) as url:
        env = {"GSM_API_URL": url, "GSM_TOKEN": "fake"}
        started = time.monotonic()
        result = gsm("sync", "push", "--batch-size", "2", env=env)
        elapsed = time.monotonic() - started
    assert result.exit_code == 7, result.stderr
    assert "3 operation(s) are still queued" in result.stderr
    assert elapsed < 5
    after = _queue(gsm_home)
    assert [row[0] for row in after] == [row[0] for row in before]
    assert all(state == "queued" and retries == 1 for _id, state, retries in after)
    if mode == "500":
        assert "HTTP 500" in result.stderr
    elif mode == "hang":
        assert "did not answer in time" in result.stderr


# -- kill -9 at any moment ------------------------------------------------------------------


def _queue_ops(home: Path, servers: int, updates: int) -> list[str]:
    ids = []
    with Store.open(home / "gsm.db") as store, store.write() as session:
        made = []
        for i in range(servers):
            server = LocalServer(
                id=str(uuid.uuid4()),
                name=f"kill-{i:04d}",
                game_type="valheim",
                status="stopped",
                configuration={"max_players": 10},
                port=30000 + i,
            )
            ids.append(outbox.record(session, server, "create").operation_id)
            made.append(server)
        for i in range(updates):
            server = made[i % len(made)]
            server.configuration = {"max_players": 11 + i}
            ids.append(outbox.record(session, server, "update").operation_id)
    return ids


def test_push_killed_at_random_moments_applies_everything_exactly_once(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    assert gsm("sync", "status").exit_code == 0  # creates the store
    op_ids = _queue_ops(gsm_home, servers=200, updates=100)
    env = {
        **os.environ,
        "GSM_HOME": str(gsm_home),
        "GSM_API_URL": live_cloud.url,
        "GSM_TOKEN": account.token,
    }
    rng = random.Random()
    kills = 0
    for _round in range(5):
        left = len(_queue(gsm_home))
        if left == 0:
            break
        proc = subprocess.Popen(
            [str(gsm_executable()), "sync", "push", "--batch-size", "5"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            # Synchronise on progress (some operations answered and gone), then kill at a
            # random moment after it: mid-request, mid-transaction or between batches.
            wait_for(lambda p=proc, n=left: len(_queue(gsm_home)) < n or p.poll() is not None, 60)
            time.sleep(rng.uniform(0, 0.15))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
        finally:
            proc.wait(timeout=30)
            if proc.stderr:
                proc.stderr.close()
    assert kills >= 1

    final = gsm(
        "sync", "push", "--json", env={"GSM_API_URL": live_cloud.url, "GSM_TOKEN": account.token}
    )
    assert final.exit_code == 0, final.stderr
    assert final.json()["rejected"] == 0 and final.json()["conflict"] == 0
    assert _queue(gsm_home) == []

    engine = create_engine(live_cloud.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, sync_status FROM sync_operations WHERE user_id = :u"),
                {"u": _user_id(conn, account.email)},
            ).all()
            servers = conn.execute(
                text(
                    "SELECT count(*) FROM game_servers WHERE owner_id = :u AND name LIKE 'kill-%'"
                ),
                {"u": _user_id(conn, account.email)},
            ).scalar()
    finally:
        engine.dispose()
    recorded = [str(uuid.UUID(str(row[0]))) for row in rows]
    assert len(recorded) == len(set(recorded))  # the primary key, but say it
    assert sorted(recorded) == sorted(op_ids)  # every operation, exactly once
    assert {row[1] for row in rows} == {"applied"}
    assert servers == 200


def _user_id(conn: object, email: str) -> object:
    return conn.execute(  # type: ignore[attr-defined]
        text("SELECT id FROM users WHERE email = :e"), {"e": email}
    ).scalar()


def test_pull_keeps_the_plugin_catalog_and_memberships_for_offline_use(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    developer, operator = live_cloud.account("Developer"), live_cloud.account()

    def bearer(account) -> dict[str, str]:  # type: ignore[no-untyped-def]
        return {"Authorization": f"Bearer {account.token}"}

    plugin = httpx.post(f"{live_cloud.url}/v1/plugins", headers=bearer(developer),
                        json={"name": "Backups-Plus", "category": "utility"}).json()  # fmt: skip
    community = httpx.post(f"{live_cloud.url}/v1/communities", headers=bearer(developer),
                           json={"name": "Vikings", "is_public": True}).json()  # fmt: skip
    joined = httpx.post(f"{live_cloud.url}/v1/communities/{community['id']}/join",
                        headers=bearer(operator))  # fmt: skip
    assert joined.status_code == 200, joined.text

    _login(gsm, live_cloud, operator.token)
    pulled = gsm("sync", "pull", "--json")
    assert pulled.exit_code == 0, pulled.stderr
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        catalog = dict(conn.execute("SELECT id, name FROM plugin_catalog").fetchall())
        memberships = conn.execute(
            "SELECT community_id, community_name, role FROM community_memberships"
        ).fetchall()
    conn.close()
    assert catalog[plugin["id"]] == "Backups-Plus"
    assert memberships == [(community["id"], "Vikings", "Member")]

    left = httpx.post(f"{live_cloud.url}/v1/communities/{community['id']}/leave",
                      headers=bearer(operator))  # fmt: skip
    assert left.status_code == 200, left.text
    assert gsm("sync", "pull").exit_code == 0
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        assert conn.execute("SELECT count(*) FROM community_memberships").fetchone() == (0,)
    conn.close()
