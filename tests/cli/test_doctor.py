"""gsm doctor: reports problems, fails (exit 8) only for real ones, changes nothing."""

import http.server
import json
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


GOOD_TOKEN = "gsmc_good"
ME = {"id": "6559187f-0000-0000-0000-000000000001", "email": "ana@example.com", "role": "Basic"}


class Health(http.server.BaseHTTPRequestHandler):
    """A tiny gsm-cloud: /healthz, and /v1/me for the token GOOD_TOKEN."""

    def do_GET(self) -> None:
        if self.path == "/healthz":
            status, body = 200, {"status": "ok", "version": "0.1.0"}
        elif self.path == "/v1/me" and self.headers.get("Authorization") == f"Bearer {GOOD_TOKEN}":
            status, body = 200, ME
        elif self.path == "/v1/me":
            status, body = 401, {"error": {"code": "invalid_token", "message": "no"}}
        else:
            status, body = 404, {"error": {"code": "not_found", "message": "no"}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

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
    checks = checks_by_name(result)
    assert checks["cloud"]["status"] == "info"
    assert (checks["login"]["status"], checks["login"]["detail"]) == ("info", "not logged in")


def test_doctor_sees_a_login_made_with_api_url(gsm: GsmRunner, cloud_url: str) -> None:
    """The login names the cloud (no cloud.api_url set): doctor uses it, as gsm auth does."""
    logged = gsm("auth", "login", "--api-url", cloud_url, "--with-token", input=GOOD_TOKEN)
    assert logged.exit_code == 0, logged.stderr
    result = gsm("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    checks = checks_by_name(result)
    assert (checks["cloud"]["status"], checks["cloud"]["detail"]) == (
        "ok", f"{cloud_url} answers (gsm-cloud 0.1.0)",
    )  # fmt: skip
    assert checks["login"]["status"] == "ok"
    assert checks["login"]["detail"] == "logged in as ana@example.com (token from the stored login)"


def test_doctor_sees_gsm_token(gsm: GsmRunner, cloud_url: str) -> None:
    result = gsm("doctor", "--json", env={"GSM_TOKEN": GOOD_TOKEN, "GSM_API_URL": cloud_url})
    login = checks_by_name(result)["login"]
    assert (login["status"], login["detail"]) == (
        "ok", "logged in as ana@example.com (token from GSM_TOKEN)",
    )  # fmt: skip


def test_doctor_warns_of_a_refused_token(gsm: GsmRunner, cloud_url: str) -> None:
    result = gsm("doctor", "--json", env={"GSM_TOKEN": "gsmc_revoked", "GSM_API_URL": cloud_url})
    assert result.exit_code == 0  # a warning, not a failure: gsm works offline
    login = checks_by_name(result)["login"]
    assert login["status"] == "warn" and "refused the credentials" in login["detail"]
    assert login["hint"] == "run gsm auth login"


def test_doctor_reports_a_login_it_cannot_check(gsm: GsmRunner) -> None:
    env = {"GSM_TOKEN": GOOD_TOKEN, "GSM_API_URL": closed_port_url()}
    checks = checks_by_name(gsm("doctor", "--json", env=env))
    assert checks["cloud"]["status"] == "warn"
    assert checks["login"]["status"] == "info"
    assert "not checked" in checks["login"]["detail"]


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
    assert check["detail"].count("Steam game files") == 1  # said once, not twice


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
