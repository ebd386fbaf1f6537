"""docs/powershell.md shows gsm's real JSON: each example's keys are those gsm prints now."""

import json
import re
from pathlib import Path
from typing import Any

from tests.conftest import GsmRunner

GUIDE = Path(__file__).parents[2] / "docs" / "powershell.md"
JSON_BLOCK = re.compile(r"^```json\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def examples() -> list[Any]:
    text = GUIDE.read_text(encoding="utf-8")
    return [json.loads(m["body"]) for m in JSON_BLOCK.finditer(text)]


def example_with(key: str) -> Any:
    found = [e for e in examples() if key in (e[0] if isinstance(e, list) else e)]
    assert len(found) == 1, key
    return found[0]


def test_the_examples_have_the_keys_gsm_prints(gsm: GsmRunner) -> None:
    created = gsm(
        "server", "create", "a", "--game", "custom", "--port", "21111", "--command", "x", "--json"
    )
    assert created.exit_code == 0, created.stderr

    listed = gsm("server", "list", "--json").json()
    assert set(example_with("install_path")[0]) == set(listed[0])

    status = gsm("server", "status", "a", "--json").json()
    assert set(example_with("supervisor_pid")) == set(status)

    backup = gsm("server", "backup", "a", "--json")
    assert backup.exit_code == 0, backup.stderr
    assert set(example_with("server_name")) == set(backup.json())

    missing = gsm("server", "start", "nope", "--json")
    assert missing.exit_code == 3
    shown = example_with("error")
    assert shown["error"]["code"] == missing.error()["code"] == "server_not_found"
    assert set(shown["error"]) == set(missing.error())

    stopped = gsm("server", "stop", "a", "--json")
    assert stopped.exit_code == 5
    assert stopped.error()["code"] == "not_running"
    assert '"code": "not_running"' in GUIDE.read_text(encoding="utf-8")


def test_json_output_is_ascii(gsm: GsmRunner) -> None:
    """The guide's encoding note: non-ASCII text is escaped in JSON."""
    gsm("server", "create", "a", "--game", "custom", "--port", "21112", "--command", "echo héllo")
    out = gsm("server", "list", "--json").stdout
    assert out.isascii()
    assert "h\\u00e9llo" in out
