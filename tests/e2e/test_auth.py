"""gsm auth against a real gsm-cloud: log in (password on a terminal, or a token for CI),
status, logout; the token file is owner-only and the token is never printed."""

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
    assert out.exit_code == 0 and out.json()["revoked_on_cloud"] is True
    assert not creds.exists()
    refused = httpx.get(
        f"{live_cloud.url}/v1/me", headers={"Authorization": f"Bearer {account.token}"}
    )
    assert refused.status_code == 401
    after = gsm("auth", "status")
    assert after.exit_code == 6 and "run gsm auth login" in after.stderr


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
