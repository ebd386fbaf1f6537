"""gsm auth against a real gsm-cloud: log in (password on a terminal, or a token for CI),
status, logout; the token file is owner-only and the token is never printed."""

import json
import os
import select
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import GsmRunner, free_port, wait_for
from tests.e2e.conftest import LiveCloud

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX terminal and modes")


def test_login_with_token_status_and_logout(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    logged = gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", "--json",
                 input=account.token + "\n")  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    assert logged.json()["email"] == account.email
    creds = gsm_home / "config" / "credentials.json"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    assert account.token not in logged.stdout + logged.stderr

    status = gsm("auth", "status", "--json")
    assert status.exit_code == 0, status.stderr
    info = status.json()
    assert (info["email"], info["api_url"], info["token_valid"]) == (
        account.email, live_cloud.url, True,
    )  # fmt: skip
    assert account.token not in status.stdout + status.stderr

    out = gsm("auth", "logout", "--json")
    assert out.exit_code == 0, out.stderr
    assert (out.json()["logged_out"], out.json()["revoked_on_cloud"]) == (True, False)
    assert not creds.exists()
    after = gsm("auth", "status")
    assert after.exit_code == 6 and "run gsm auth login" in after.stderr
    # Forgotten here only: the token itself still works (elsewhere, or in CI).
    still = httpx.get(
        f"{live_cloud.url}/v1/me", headers={"Authorization": f"Bearer {account.token}"}
    )
    assert still.status_code == 200


def test_logout_on_one_machine_does_not_break_another(
    gsm: GsmRunner, tmp_path: Path, live_cloud: LiveCloud
) -> None:
    """One personal access token on two machines (two stores, two device ids): a plain logout
    on one leaves the other logged in; --revoke on the other ends it everywhere and names the
    first machine."""
    account = live_cloud.account()
    laptop = {"GSM_HOME": str(tmp_path / "laptop")}
    server = {"GSM_HOME": str(tmp_path / "server")}
    for name, machine in (("laptop", laptop), ("game-box", server)):
        assert gsm("config", "set", "device.name", name, env=machine).exit_code == 0
        login = gsm("auth", "login", "--api-url", live_cloud.url, "--with-token",
                    input=account.token, env=machine)  # fmt: skip
        assert login.exit_code == 0, login.stderr
    out = gsm("auth", "logout", env=laptop)
    assert out.exit_code == 0 and "still works" in out.stderr
    assert gsm("auth", "status", "--json", env=server).json()["email"] == account.email

    revoked = gsm("auth", "logout", "--revoke", "--json", env=server)
    assert revoked.exit_code == 0, revoked.stderr
    result = revoked.json()
    assert (result["logged_out"], result["revoked_on_cloud"]) == (True, True)
    assert [d["device_name"] for d in result["other_devices"]] == ["laptop"]
    refused = httpx.get(
        f"{live_cloud.url}/v1/me", headers={"Authorization": f"Bearer {account.token}"}
    )
    assert refused.status_code == 401
    relogin = gsm("auth", "login", "--api-url", live_cloud.url, "--with-token",
               input=live_cloud.account().token, env=laptop)  # fmt: skip
    assert relogin.exit_code == 0
    again = gsm("auth", "logout", "--revoke", env=laptop)
    assert again.exit_code == 0 and "revoked on the cloud" in again.stderr


def test_revoke_when_the_cloud_cannot_be_asked_keeps_the_login(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", input=account.token)
    creds = gsm_home / "config" / "credentials.json"
    stored = json.loads(creds.read_text())
    creds.write_text(json.dumps({**stored, "api_url": f"http://127.0.0.1:{free_port()}"}))
    failed = gsm("auth", "logout", "--revoke", "--json")
    assert failed.exit_code == 7
    assert "without --revoke" in failed.error()["hint"]
    assert creds.exists()  # nothing changed: run it again later, or without --revoke
    assert gsm("auth", "logout").exit_code == 0 and not creds.exists()


def test_revoking_a_token_the_cloud_already_refuses_just_forgets_it(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    account = live_cloud.account()
    gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", input=account.token)
    httpx.delete(
        f"{live_cloud.url}/v1/auth/token", headers={"Authorization": f"Bearer {account.token}"}
    )
    out = gsm("auth", "logout", "--revoke", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["revoked_on_cloud"] is False
    assert "no longer accepts the token" in out.json()["reason"]
    assert not (gsm_home / "config" / "credentials.json").exists()


def test_doctor_sees_the_login(gsm: GsmRunner, live_cloud: LiveCloud) -> None:
    account = live_cloud.account()
    gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", input=account.token)
    checks = {c["name"]: c for c in gsm("doctor", "--json").json()}
    assert checks["cloud"]["status"] == "ok"
    assert (checks["login"]["status"], checks["login"]["detail"]) == (
        "ok", f"logged in as {account.email} (token from the stored login)",
    )  # fmt: skip


def test_a_bad_token_is_refused_and_nothing_stored(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud
) -> None:
    result = gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", input="gsmc_nope\n")
    assert result.exit_code == 6
    assert "run gsm auth login" in result.stderr
    assert not (gsm_home / "config" / "credentials.json").exists()


def test_environment_token_wins(gsm: GsmRunner, live_cloud: LiveCloud) -> None:
    account = live_cloud.account()
    env = {"GSM_TOKEN": account.token, "GSM_API_URL": live_cloud.url}
    info = gsm("auth", "status", "--json", env=env).json()
    assert info["email"] == account.email and info["token_source"] == "env"


def test_unreachable_cloud_exits_7(gsm: GsmRunner) -> None:
    env = {"GSM_TOKEN": "gsmc_x", "GSM_API_URL": f"http://127.0.0.1:{free_port()}"}
    result = gsm("auth", "status", "--json", env=env)
    assert result.exit_code == 7
    assert result.error()["code"] == "cloud_unreachable"


def test_password_login_needs_a_terminal(gsm: GsmRunner, live_cloud: LiveCloud) -> None:
    result = gsm("auth", "login", "--api-url", live_cloud.url)
    assert result.exit_code == 2 and "--with-token" in result.stderr


def read_until(fd: int, marker: bytes, timeout: float = 20) -> bytes:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            pytest.fail(f"no {marker!r} on the terminal; saw {seen[-500:]!r}")
        seen += os.read(fd, 4096)
    return seen


def test_password_login_on_a_terminal(gsm_home: Path, live_cloud: LiveCloud) -> None:
    account = live_cloud.account(password="s3cret pass")
    controller, terminal = os.openpty()
    exe = Path(sys.executable).parent / "gsm"
    proc = subprocess.Popen(
        [str(exe), "auth", "login", "--api-url", live_cloud.url],
        stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True,
    )  # fmt: skip
    os.close(terminal)
    try:
        read_until(controller, b"Email")
        os.write(controller, account.email.encode() + b"\n")
        read_until(controller, b"Password")
        # getpass turns echo off (and flushes pending input) after the prompt: type after that.
        wait_for(lambda: not termios.tcgetattr(controller)[3] & termios.ECHO, timeout=20)
        os.write(controller, b"s3cret pass\n")
        screen = read_until(controller, b"logged in")
        assert proc.wait(timeout=20) == 0
        assert b"s3cret pass" not in screen  # the password is not echoed
    finally:
        os.close(controller)
        if proc.poll() is None:
            proc.kill()
    creds = (gsm_home / "config" / "credentials.json").read_text()
    assert account.email in creds and "s3cret" not in creds


def test_a_new_login_reuses_the_last_cloud(gsm: GsmRunner, live_cloud: LiveCloud) -> None:
    first, second = live_cloud.account(), live_cloud.account()
    gsm("auth", "login", "--api-url", live_cloud.url, "--with-token", input=first.token)
    again = gsm("auth", "login", "--with-token", "--json", input=second.token)
    assert again.exit_code == 0, again.stderr
    assert again.json()["email"] == second.email
