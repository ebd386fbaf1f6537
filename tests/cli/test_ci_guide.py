"""docs/ci.md's two pipelines run as written: their shell steps, in a project folder holding a
plugin (`my-plugin/`) and the lock file of a reference server, with a fresh GSM_HOME each.

The one step left out is `pip install "$GSM_WHEEL"`: the gsm under test is already installed
and first on PATH.
"""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

GUIDE = Path(__file__).parents[2] / "docs" / "ci.md"
YAML_BLOCK = re.compile(r"^```yaml\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)


def pipelines() -> dict[str, Any]:
    found = {}
    for match in YAML_BLOCK.finditer(GUIDE.read_text(encoding="utf-8")):
        doc = yaml.safe_load(match["body"])
        if "jobs" in doc:
            found["github"] = [s["run"] for s in doc["jobs"]["plugins"]["steps"] if "run" in s]
        elif "plugins" in doc:
            found["gitlab"] = doc["plugins"]["script"]
    return found


def clean_env(tmp_path: Path, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSM_")}
    env.update(
        GSM_HOME=str(home),
        CI="true",
        HOME=str(tmp_path),
        PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    )
    return env


def run(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", "set -e\n" + script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A plugin's repository: the plugin's folder and the lock file of a reference server."""
    folder = tmp_path / "project"
    folder.mkdir()
    setup = """
gsm plugin init my-plugin --name my-plugin --game minecraft
mkdir -p my-plugin/files/MyPlugin && echo "greeting: hello" > my-plugin/files/MyPlugin/config.yml
gsm plugin pack my-plugin -o "$REF/my-plugin.zip"
gsm server create survival --game minecraft --path "$REF/survival"
gsm plugin install "$REF/my-plugin.zip" --server survival
gsm plugin lock --server survival -o gsm-plugins.lock
"""
    env = clean_env(tmp_path, tmp_path / "reference-home")
    env["REF"] = str(tmp_path / "reference")
    done = run(setup, folder, env)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.mark.skipif(os.name == "nt", reason="the pipelines' steps are sh")
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_pipeline_runs_as_written(ci: str, project: Path, tmp_path: Path) -> None:
    steps = [s for s in pipelines()[ci] if not s.startswith("pip install")]
    assert len(steps) >= 3
    env = clean_env(tmp_path, project / ".gsm")
    env.update(
        GSM_WHEEL="unused",
        RUNNER_TEMP=str(tmp_path / "runner-temp"),
        CI_PROJECT_DIR=str(project),
    )
    (tmp_path / "runner-temp").mkdir()
    done = run("\n".join(steps), project, env)
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    for report in ("validate.xml", "validate.json", "apply.json", "verify.xml", "verify.json"):
        assert (project / "reports" / report).is_file(), report
    assert '"ok":true' in (project / "reports" / "verify.json").read_text()


@pytest.mark.skipif(os.name == "nt", reason="the pipelines' steps are sh")
def test_the_pipeline_stops_at_verify_when_a_file_drifted(project: Path, tmp_path: Path) -> None:
    steps = [s for s in pipelines()["gitlab"] if not s.startswith("pip install")]
    apply_at = next(i for i, s in enumerate(steps) if s.startswith("gsm plugin apply"))
    env = clean_env(tmp_path, project / ".gsm")
    env["CI_PROJECT_DIR"] = str(project)
    drift = 'echo "greeting: changed" > .servers/ci-test/plugins/MyPlugin/config.yml'
    steps.insert(apply_at + 1, drift)
    done = run("\n".join(steps), project, env)
    assert done.returncode == 8, done.stderr
    junit = (project / "reports" / "verify.xml").read_text(encoding="utf-8")
    assert "[files] plugins/MyPlugin/config.yml changed" in junit
