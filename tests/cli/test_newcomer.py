"""The README's marked blocks and .ci/newcomer's check of skipped tests.

.ci/newcomer itself (run by .ci/run) sets up a fresh virtualenv and takes the README's tour;
these tests keep its parts honest in the ordinary suite, in well under a second.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NEWCOMER = ROOT / ".ci" / "newcomer"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")


def block(name: str) -> str:
    match = re.search(rf"<!-- newcomer:{name} -->\n```sh\n(.*?)\n```", README.read_text(), re.S)
    assert match, f"README.md has no block after <!-- newcomer:{name} -->"
    return match.group(1)


def test_the_readme_has_two_set_up_commands_and_ci_runs_the_second() -> None:
    setup, test = block("setup"), block("test")
    assert setup.count("\n") == 0 and test.count("\n") == 0
    assert 'pip install -e ".[cloud,test]"' in setup
    assert test in (ROOT / ".ci" / "run").read_text()


def test_the_readme_fits_on_one_screen() -> None:
    assert len(README.read_text().splitlines()) <= 60


def test_the_tour_covers_a_newcomer_s_first_steps_one_command_a_line() -> None:
    tour = block("tour")
    for step in ("server create", "server start", "server backup", "plugin install", "metrics"):
        assert f"gsm {step}" in tour
    assert "schedule add" in tour and "schedule run" in tour
    assert "&&" not in tour and "||" not in tour  # bash -e would not stop at such a failure


def skips_check(tmp_path: Path, log: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "pytest.log"
    path.write_text(log)
    return subprocess.run(
        ["bash", str(NEWCOMER), "--skips-only", str(path)], capture_output=True, text=True
    )


SUMMARY = "========== 10 passed, 2 skipped in 3.00s ==========\n"


def test_skips_ci_cannot_remove_pass(tmp_path: Path) -> None:
    log = (
        "SKIPPED [1] tests/cli/test_store_access.py:12: root may write any file\n"
        "SKIPPED [1] tests/cli/test_x.py:5: POSIX signals used\n" + SUMMARY
    )
    result = skips_check(tmp_path, log)
    assert result.returncode == 0, result.stderr
    assert "root may write any file" in result.stdout


def test_a_skip_ci_could_remove_fails(tmp_path: Path) -> None:
    log = (
        "SKIPPED [1] tests/cli/test_store_access.py:12: root may write any file\n"
        "SKIPPED [3] tests/cli/test_completions.py:40: fish is not installed\n" + SUMMARY
    )
    result = skips_check(tmp_path, log)
    assert result.returncode == 1
    assert "tests/cli/test_completions.py:40: fish is not installed" in result.stderr
    assert "root may write" not in result.stderr


def test_a_log_without_a_pytest_summary_fails(tmp_path: Path) -> None:
    result = skips_check(tmp_path, "ImportError while loading conftest\n")
    assert result.returncode == 1
    assert "no pytest summary" in result.stderr
