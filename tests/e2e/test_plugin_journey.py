"""The whole plugin journey through the installed `gsm` program, as an author and a CI job run
it, against a real gsm-cloud (on PostgreSQL when GSM_TEST_DATABASE_URL is set): init, pack,
validate, publish, search, info, install, verify, a tampered file that verify reports (exit 8,
named in the JUnit file), update, lock, the lock applied to a fresh server, uninstall."""

import hashlib
import json
import os
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tests.e2e.conftest import LiveCloud, unique

Run = Callable[..., subprocess.CompletedProcess[str]]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_author_to_ci_against_a_real_cloud(
    gsm_process: Run, live_cloud: LiveCloud, tmp_path: Path
) -> None:
    name = unique("Homes")
    author = {**os.environ, "GSM_API_URL": live_cloud.url}
    author["GSM_TOKEN"] = live_cloud.account("Developer").token
    operator = {**os.environ, "GSM_API_URL": live_cloud.url}
    operator["GSM_TOKEN"] = live_cloud.account().token

    def gsm(*args: str, env: dict[str, str] = operator) -> subprocess.CompletedProcess[str]:
        return gsm_process(*args, env=env)

    def ok(*args: str, env: dict[str, str] = operator) -> subprocess.CompletedProcess[str]:
        result = gsm(*args, env=env)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        return result

    def data(*args: str, env: dict[str, str] = operator) -> object:
        return json.loads(ok(*args, "--json", env=env).stdout)

    # --- the author: init, pack, validate, publish ------------------------------------------
    source = tmp_path / "source"
    ok("plugin", "init", str(source), "--name", name, "--game", "minecraft",
       "--category", "utility", env=author)  # fmt: skip
    (source / "files" / name).mkdir(parents=True)
    (source / "files" / f"{name}.jar").write_bytes(b"homes 1.0.0 bytecode")
    (source / "files" / name / "config.yml").write_text("max-homes: 3\n")

    def release(version: str) -> Path:
        manifest = source / "gsm-plugin.toml"
        text = manifest.read_text()
        current = tomllib.loads(text)["version"]
        manifest.write_text(text.replace(f'version = "{current}"', f'version = "{version}"'))
        package = tmp_path / f"{name}-{version}.zip"
        packed = data("plugin", "pack", str(source), "-o", str(package), env=author)
        assert packed == {"path": str(package), "sha256": sha256(package),
                          "size": package.stat().st_size, "files": 2}  # fmt: skip
        checked = data("plugin", "validate", str(package), env=author)
        assert checked["valid"] is True and checked["problems"] == []
        published = data("plugin", "publish", str(package), env=author)
        assert published["sha256"] == sha256(package)
        assert published["version"] == version
        return package

    first = release("1.0.0")
    again = tmp_path / "again.zip"  # reproducible: the same folder packs to the same bytes
    ok("plugin", "pack", str(source), "-o", str(again), env=author)
    assert again.read_bytes() == first.read_bytes()

    # --- the operator: search, info, install, verify -----------------------------------------
    found = data("plugin", "search", name)
    assert [row["name"] for row in found] == [name]
    info = data("plugin", "info", name)
    assert [(v["version"], v["sha256"]) for v in info["versions"]] == [("1.0.0", sha256(first))]
    assert info["supported_games"] == ["minecraft"]

    survival = tmp_path / "survival"
    ok("server", "create", "survival", "--game", "minecraft", "--path", str(survival))
    installed = data("plugin", "install", name, "--server", "survival")
    assert installed["installed"][0]["sha256"] == sha256(first)
    plugins = survival / "plugins"
    assert tree(plugins) == {
        f"{name}.jar": b"homes 1.0.0 bytecode",
        f"{name}/config.yml": b"max-homes: 3\n",
    }
    assert data("plugin", "verify", "--server", "survival")["ok"] is True

    # --- drift: a changed file makes verify exit 8 and the JUnit file names it ---------------
    jar = plugins / f"{name}.jar"
    jar.write_bytes(b"patched by hand")
    report = tmp_path / "verify.xml"
    drift = gsm("plugin", "verify", "--server", "survival", "--junit", str(report), "--json")
    assert drift.returncode == 8, drift.stderr
    problems = json.loads(drift.stdout)["servers"][0]["problems"]
    assert [(p["check"], p["path"]) for p in problems] == [("files", f"plugins/{name}.jar")]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failures = [c.find("failure") for c in suite.iter("testcase")]
    assert [f"plugins/{name}.jar" in (f.text or "") for f in failures if f is not None] == [True]
    jar.write_bytes(b"homes 1.0.0 bytecode")
    assert gsm("plugin", "verify", "--all").returncode == 0

    # --- update to a new release, lock, apply the lock to a fresh server ---------------------
    (source / "files" / f"{name}.jar").write_bytes(b"homes 1.1.0 bytecode")
    second = release("1.1.0")
    updated = data("plugin", "update", name, "--server", "survival")
    assert [(u["name"], u["from"], u["to"]) for u in updated["updated"]] == [
        (name, "1.0.0", "1.1.0")
    ]
    assert jar.read_bytes() == b"homes 1.1.0 bytecode"
    lock = tmp_path / "gsm-plugins.lock"
    ok("plugin", "lock", "--server", "survival", "-o", str(lock))
    locked = tomllib.loads(lock.read_text())["plugin"]
    assert [(p["name"], p["version"], p["sha256"]) for p in locked] == [
        (name, "1.1.0", sha256(second))
    ]

    creative = tmp_path / "creative"
    ok("server", "create", "creative", "--game", "minecraft", "--port", "25600",
       "--path", str(creative))  # fmt: skip
    ok("plugin", "apply", str(lock), "--server", "creative")
    assert tree(creative / "plugins") == tree(plugins)
    assert gsm("plugin", "verify", "--server", "creative", "--lock", str(lock)).returncode == 0

    # --- uninstall: exactly its files go ------------------------------------------------------
    (plugins / "notes.txt").write_text("the operator's own file")
    ok("plugin", "uninstall", name, "--server", "survival")
    assert tree(plugins) == {"notes.txt": b"the operator's own file"}
    assert data("plugin", "list", "--server", "survival") == []
    assert gsm("plugin", "verify", "--all").returncode == 0
    stale = gsm("plugin", "verify", "--server", "survival", "--lock", str(lock), "--json")
    assert stale.returncode == 8, stale.stderr
