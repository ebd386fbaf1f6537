"""docs/getting-started.md works as written: its runnable blocks, run in order by bash.

A block is runnable when the line before its ```sh fence is `<!-- runnable -->` (or
`<!-- runnable needs=PROGRAM -->`: it needs PROGRAM on PATH). All of them run as one bash
script (`set -e`, so any failing command fails the test), in a fresh GSM_HOME and HOME, with
the installed gsm first on PATH. The only change made to the text: the demo server's port
becomes a free one.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port

GUIDE = Path(__file__).parents[2] / "docs" / "getting-started.md"
DEMO_PORT = "8765"
BLOCK = re.compile(
    r"^<!-- runnable(?: needs=(?P<needs>[\w.-]+))? -->\n```sh\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


def runnable_blocks(text: str) -> list[tuple[str | None, str]]:
    return [(m["needs"], m["body"]) for m in BLOCK.finditer(text)]


def test_the_guide_has_runnable_blocks_for_every_step() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    blocks = runnable_blocks(text)
    assert len(blocks) >= 8
    # Every marker is followed by a block the pattern found (a typo would drop it silently).
    assert len(re.findall(r"^<!-- runnable", text, re.MULTILINE)) == len(blocks)
    script = "\n".join(body for _, body in blocks)
    for command in (
        "gsm server create",
        "gsm server start",
        "gsm server backup",
        "gsm plugin install",
        "gsm schedule add",
        "gsm alert add",
    ):
        assert command in script, command


@pytest.mark.skipif(os.name == "nt", reason="the guide's runnable blocks are sh")
def test_the_guide_runs_as_written(gsm_home: Path, tmp_path: Path) -> None:
    blocks = runnable_blocks(GUIDE.read_text(encoding="utf-8"))
    missing = sorted({needs for needs, _ in blocks if needs and shutil.which(needs) is None})
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (.ci/run installs it)")
    port = str(free_port())
    script = "set -e\n" + "\n".join(body.replace(DEMO_PORT, port) for _, body in blocks)
    work = tmp_path / "work"
    work.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GSM_", "RESTIC_")) and k != "CI"
    }
    env.update(
        GSM_HOME=str(gsm_home),
        HOME=str(home),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    done = subprocess.run(
        ["bash", "-c", script],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    # The tour really happened: the plugin was packed here, the server is gone at the end.
    assert (work / "hello-motd-0.1.0.zip").is_file()
    assert not (gsm_home / "servers" / "hello").exists()
