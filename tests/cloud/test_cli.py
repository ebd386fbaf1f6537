"""The gsm-cloud program: migrate, users, tokens, and clean one-line errors with exit codes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gsm_cloud.db.engine import head_revision
from tests.conftest import free_port

EXE = Path(sys.executable).parent / "gsm-cloud"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    base = {k: v for k, v in os.environ.items() if not k.startswith("GSM_CLOUD_")}
    base["GSM_CLOUD_HOME"] = str(tmp_path)

    def call(
        *args: str, env: dict[str, str] | None = None, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(EXE), *args], env={**base, **(env or {})}, input=stdin,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    return call


def test_migrate_users_and_tokens(run) -> None:  # type: ignore[no-untyped-def]
    assert run("users", "create", "--email", "a@b.io", "--name", "A").returncode == 5  # no schema
    migrated = run("migrate")
    assert migrated.returncode == 0 and f"-> {head_revision()}" in migrated.stderr
    assert run("migrate").returncode == 0  # again: nothing to do
    created = run("users", "create", "--email", "a@b.io", "--name", "A", "--password-stdin",
                  stdin="pw\n")  # fmt: skip
    assert created.returncode == 0 and len(created.stdout.strip()) == 36
    assert run("users", "create", "--email", "A@b.io", "--name", "A").returncode == 5
    token = run("tokens", "create", "--user", "a@b.io", "--name", "ci")
    assert token.returncode == 0 and token.stdout.startswith("gsmc_")
    assert run("tokens", "create", "--user", "nobody@b.io", "--name", "ci").returncode == 3


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["users", "create", "--email", "not-an-email", "--name", "x"], {}, 4, "not an email"),
        (["users", "create", "--email", "a@b.io", "--name", "x" * 101], {}, 4, "--name"),
        (["migrate"], {"GSM_CLOUD_SESSION_DAYS": "soon"}, 4, "GSM_CLOUD_SESSION_DAYS"),
        (["migrate"], {"GSM_CLOUD_DATABASE_URL": "postgresql://u@127.0.0.1:{port}/x"}, 7,
         "cannot reach the database"),
    ],
)  # fmt: skip
def test_errors_are_one_line_with_their_exit_code(run, args, env, code, message) -> None:  # type: ignore[no-untyped-def]
    env = {k: v.format(port=free_port()) for k, v in env.items()}
    run("migrate")
    result = run(*args, env=env)
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert "Traceback" not in result.stderr
