"""gsm doctor: reports problems, fails (exit 8) only for real ones, changes nothing."""

import http.server
import os
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsm_cli.store import Store
from tests.conftest import GsmRunner


def checks_by_name(result) -> dict[str, dict]:
    return {c["name"]: c for c in result.json()}


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def cloud_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_a_healthy_setup_passes(gsm: GsmRunner, cloud_url: str) -> None:
    gsm("config", "set", "cloud.api_url", cloud_url)
    result = gsm("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    checks = checks_by_name(result)
    assert checks["store"]["status"] == "ok"
    assert checks["store integrity"]["status"] == "ok"
    assert checks["store schema"]["status"] == "ok"
    assert checks["cloud"]["status"] == "ok"
    assert all(checks[f"{n} folder"]["status"] == "ok" for n in ("data", "config", "log", "backup"))


def test_an_unreachable_cloud_is_reported_not_failed(gsm: GsmRunner) -> None:
    gsm("config", "set", "cloud.api_url", closed_port_url())
    result = gsm("doctor", "--json")
    assert result.exit_code == 0
    cloud = checks_by_name(result)["cloud"]
    assert cloud["status"] == "warn" and "unreachable" in cloud["detail"]


def test_no_cloud_configured_is_information(gsm: GsmRunner) -> None:
    result = gsm("doctor", "--json")
    assert checks_by_name(result)["cloud"]["status"] == "info"


def test_steamcmd_found_on_path(gsm: GsmRunner, tmp_path: Path, monkeypatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    steamcmd = bin_dir / "steamcmd"
    steamcmd.write_text("#!/bin/sh\nexit 0\n")
    steamcmd.chmod(steamcmd.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    check = checks_by_name(gsm("doctor", "--json"))["steamcmd"]
    assert (check["status"], check["detail"]) == ("ok", str(steamcmd))


def test_steamcmd_missing_is_a_warning_with_a_hint(gsm: GsmRunner, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "")
    result = gsm("doctor", "--json")
    assert result.exit_code == 0
    check = checks_by_name(result)["steamcmd"]
    assert check["status"] == "warn" and "steamcmd" in check["hint"]


def test_a_corrupt_store_fails_and_stays_untouched(gsm: GsmRunner, gsm_home: Path) -> None:
    gsm_home.mkdir()
    (gsm_home / "gsm.db").write_bytes(b"\x00garbage" * 512)
    result = gsm("doctor", "--json")
    assert result.exit_code == 8
    assert checks_by_name(result)["store"]["status"] == "fail"
    assert result.error()["code"] == "doctor_failed"
    assert (gsm_home / "gsm.db").read_bytes() == b"\x00garbage" * 512


def test_a_damaged_page_fails_the_integrity_check(gsm: GsmRunner, gsm_home: Path) -> None:
    path = gsm_home / "gsm.db"
    with Store.open(path) as store, store.write() as session:
        from gsm_cli.store.models import UserSetting

        session.add_all(UserSetting(key=f"k{i}", value="v" * 500) for i in range(400))
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        root = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_user_settings_1'"
        ).fetchone()[0]
    page_size = 4096
    with path.open("r+b") as fh:  # scribble over the index's root page
        fh.seek((root - 1) * page_size + 8)
        fh.write(b"\x07" * 64)
    result = gsm("doctor", "--json")
    assert result.exit_code == 8
    assert checks_by_name(result)["store integrity"]["status"] == "fail"


def test_an_older_schema_is_a_warning_and_is_not_upgraded(gsm: GsmRunner, gsm_home: Path) -> None:
    from gsm_cli.store import migrate
    from gsm_cli.store.database import make_engine

    gsm_home.mkdir()
    engine = make_engine(gsm_home / "gsm.db")
    migrate.upgrade(engine, target="0001_seed")
    engine.dispose()
    result = gsm("doctor", "--json")
    assert result.exit_code == 0
    assert checks_by_name(result)["store schema"]["status"] == "warn"
    assert Store(gsm_home / "gsm.db", make_engine(gsm_home / "gsm.db")).schema_version() == (
        "0001_seed"
    )


def test_a_folder_that_cannot_be_created_fails(gsm: GsmRunner, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("GSM_HOME", str(blocker / "home"))
    result = gsm("doctor", "--json")
    assert result.exit_code == 8
    assert checks_by_name(result)["data folder"]["status"] == "fail"


def test_doctor_does_not_create_the_store(gsm: GsmRunner, gsm_home: Path) -> None:
    result = gsm("doctor")
    assert result.exit_code == 0
    assert "not created yet" in result.stdout
    assert not (gsm_home / "gsm.db").exists()
