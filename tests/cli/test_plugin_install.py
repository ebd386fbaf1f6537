"""Installed plugins with packages built here: FILE installs with dependencies, cycles,
ranges, games, user files, enable/disable, uninstall, pin, update and its rollback, lock,
apply and verify (JSON and JUnit), and what the store records with each change."""

import hashlib
import json
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from gsm_cli.services import plugin_package
from tests.conftest import GsmRunner


def package(
    where: Path,
    name: str,
    version: str = "1.0.0",
    *,
    games: tuple[str, ...] = ("minecraft",),
    deps: dict[str, str] | None = None,
    files: dict[str, bytes] | None = None,
) -> Path:
    """A valid package zip built with gsm's own packer."""
    src = where / f"src-{name}-{version}"
    (src / "files").mkdir(parents=True)
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": f"{name} for tests",
        "category": "other",
        "games": list(games),
    }
    if deps:
        manifest["dependencies"] = deps
    (src / plugin_package.MANIFEST).write_text(tomli_w.dumps(manifest))
    for rel, data in (files or {f"{name}.jar": f"{name} {version}".encode()}).items():
        target = src / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    out = where / "packages" / f"{name}-{version}.zip"
    out.parent.mkdir(exist_ok=True)
    return plugin_package.pack(src, out).path


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``: files with their bytes, folders as None."""
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(folder.rglob("*"))
    }


def rows(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def server(gsm: GsmRunner, tmp_path: Path) -> Path:
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    return tmp_path / "mc"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def nothing_left_behind(home: Path) -> None:
    assert rows(home, "SELECT * FROM plugin_journal") == []
    work = home / "plugin-work"
    assert not work.exists() or list(work.iterdir()) == []


# --- install -----------------------------------------------------------------------------


def test_install_puts_dependencies_first_and_records_every_file(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    alpha = package(
        tmp_path, "alpha", deps={"beta": "^2.0.0"},
        files={"alpha.jar": b"A", "Alpha/config.yml": b"x: 1\n"},
    )  # fmt: skip
    beta = package(tmp_path, "beta", "2.1.0")
    done = gsm("plugin", "install", str(alpha), str(beta), "--server", "mc", "--json")
    assert done.exit_code == 0, done.stderr
    installed = done.json()["installed"]
    assert [(i["name"], i["version"]) for i in installed] == [("beta", "2.1.0"), ("alpha", "1.0.0")]
    assert installed[1]["sha256"] == sha(alpha.read_bytes())
    assert tree(server / "plugins") == {
        "Alpha": None,
        "Alpha/config.yml": b"x: 1\n",
        "alpha.jar": b"A",
        "beta.jar": b"beta 2.1.0",
    }
    recorded = rows(
        gsm_home,
        "SELECT p.name, f.path, f.kind, f.sha256, f.size_bytes FROM local_plugin_files f "
        "JOIN local_plugins p ON p.id = f.installation_id ORDER BY p.name, f.path",
    )
    assert recorded == [
        ("alpha", "plugins/Alpha", "dir", None, None),
        ("alpha", "plugins/Alpha/config.yml", "file", sha(b"x: 1\n"), 5),
        ("alpha", "plugins/alpha.jar", "file", sha(b"A"), 1),
        ("beta", "plugins", "dir", None, None),
        ("beta", "plugins/beta.jar", "file", sha(b"beta 2.1.0"), 10),
    ]
    plugins = rows(gsm_home, "SELECT name, version, source, package_sha256 FROM local_plugins")
    assert sorted(plugins) == [
        ("alpha", "1.0.0", "file", sha(alpha.read_bytes())),
        ("beta", "2.1.0", "file", sha(beta.read_bytes())),
    ]
    nothing_left_behind(gsm_home)
    listed = gsm("plugin", "list", "--server", "mc", "--json").json()
    assert [(p["name"], p["is_enabled"], p["files"]) for p in listed] == [
        ("alpha", True, 2),
        ("beta", True, 1),
    ]
    assert listed[0]["dependencies"] == {"beta": "^2.0.0"}


def test_a_marketplace_plugin_is_queued_for_sync_with_its_row(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    """A package whose name the cached catalog knows gets the cloud's plugin id, and its row
    and its sync operation are written together; a plugin the cloud does not know is local."""
    gsm("config", "list")  # creates the store
    catalog_id = "6f1c2a9e-5c1b-4d43-9d0e-3c3b9f0c1a11"
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "INSERT INTO plugin_catalog (id, name, version) VALUES (?, 'beta', '2.1.0')",
            (catalog_id,),
        )
    before = rows(gsm_home, "SELECT count(*) FROM pending_sync_operations")[0][0]
    done = gsm(
        "plugin", "install", str(package(tmp_path, "beta", "2.1.0")),
        str(package(tmp_path, "solo")), "--server", "mc",
    )  # fmt: skip
    assert done.exit_code == 0, done.stderr
    (row_id, plugin_id) = rows(
        gsm_home, "SELECT id, plugin_id FROM local_plugins WHERE name='beta'"
    )[0]
    assert plugin_id == catalog_id
    ops = rows(
        gsm_home,
        "SELECT operation_type, entity_type, entity_id, data_payload FROM pending_sync_operations "
        f"ORDER BY id LIMIT -1 OFFSET {before}",
    )
    assert [(o[0], o[1], o[2]) for o in ops] == [("create", "plugin_installation", row_id)]
    payload = json.loads(ops[0][3])
    assert payload["plugin_id"] == catalog_id and payload["version"] == "2.1.0"
    assert "package_sha256" not in payload  # a fact of this machine's files
    # Uninstalling queues the delete.
    assert gsm("plugin", "uninstall", "beta", "--server", "mc").exit_code == 0
    last = rows(gsm_home, "SELECT operation_type, entity_id FROM pending_sync_operations")[-1]
    assert last == ("delete", row_id)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        ("missing", "dependency_missing"),
        ("cycle", "dependency_cycle"),
        ("range", "dependency_unsatisfiable"),
        ("game", "incompatible_game"),
    ],
)
def test_dependency_and_game_problems_exit_5_and_install_nothing(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path, make: str, code: str
) -> None:
    if make == "missing":
        given = [package(tmp_path, "alpha", deps={"beta": "^1.0.0"})]
    elif make == "cycle":
        given = [
            package(tmp_path, "alpha", deps={"beta": "*"}),
            package(tmp_path, "beta", deps={"gamma": "*"}),
            package(tmp_path, "gamma", deps={"alpha": "^1.0.0"}),
        ]
    elif make == "range":
        given = [
            package(tmp_path, "alpha", deps={"beta": "^2.0.0"}),
            package(tmp_path, "beta", "1.4.0"),
        ]
    else:
        given = [package(tmp_path, "alpha", games=("valheim", "rust"))]
    before = tree(server)
    done = gsm("plugin", "install", *map(str, given), "--server", "mc", "--json")
    assert done.exit_code == 5, done.stderr
    assert done.error()["code"] == code
    if make == "cycle":
        assert "alpha -> beta -> gamma -> alpha" in done.error()["message"]
    assert tree(server) == before
    assert rows(gsm_home, "SELECT * FROM local_plugins") == []
    nothing_left_behind(gsm_home)


def test_an_installed_dependency_must_be_in_range(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    assert gsm("plugin", "install", str(package(tmp_path, "beta", "1.0.0")), "--server", "mc")
    done = gsm(
        "plugin", "install", str(package(tmp_path, "alpha", deps={"beta": ">=2.0.0"})),
        "--server", "mc", "--json",
    )  # fmt: skip
    assert done.exit_code == 5
    assert done.error()["code"] == "dependency_unsatisfiable"
    assert "beta 1.0.0 is installed" in done.error()["message"]
    # Met by what is installed: no package needed.
    ok = gsm(
        "plugin", "install", str(package(tmp_path, "delta", deps={"beta": "~1.0"})),
        "--server", "mc",
    )  # fmt: skip
    assert ok.exit_code == 0, ok.stderr


def test_custom_servers_take_plugins_made_for_custom(gsm: GsmRunner, tmp_path: Path) -> None:
    made = gsm(
        "server", "create", "box", "--game", "custom", "--command", "run-it",
        "--path", str(tmp_path / "box"), "--plugin-dir", "addons",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    refused = gsm(
        "plugin", "install", str(package(tmp_path, "mc-only")), "--server", "box", "--json"
    )
    assert refused.exit_code == 5 and refused.error()["code"] == "incompatible_game"
    ok = gsm(
        "plugin", "install", str(package(tmp_path, "any", games=("custom",))), "--server", "box"
    )
    assert ok.exit_code == 0, ok.stderr
    assert (tmp_path / "box" / "addons" / "any.jar").read_bytes() == b"any 1.0.0"


def test_a_file_gsm_did_not_install_is_never_overwritten(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    (server / "plugins").mkdir()
    (server / "plugins" / "alpha.jar").write_bytes(b"my own build")
    pkg = package(tmp_path, "alpha", files={"alpha.jar": b"packaged", "extra.txt": b"e"})
    refused = gsm("plugin", "install", str(pkg), "--server", "mc", "--json")
    assert refused.exit_code == 5
    assert refused.error()["code"] == "file_exists"
    assert "plugins/alpha.jar" in refused.error()["message"]
    assert tree(server) == {"plugins": None, "plugins/alpha.jar": b"my own build"}
    nothing_left_behind(gsm_home)

    forced = gsm("plugin", "install", str(pkg), "--server", "mc", "--force", "--json")
    assert forced.exit_code == 0, forced.stderr
    kept = forced.json()["kept"]
    assert len(kept) == 1 and kept[0]["path"] == "plugins/alpha.jar"
    assert (server / "plugins" / "alpha.jar").read_bytes() == b"packaged"
    assert (server / kept[0]["kept_at"]).read_bytes() == b"my own build"
    assert kept[0]["kept_at"].startswith(".gsm-replaced/")


def test_a_file_of_another_plugin_is_a_conflict(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    first = package(tmp_path, "alpha", files={"shared.jar": b"a"})
    assert gsm("plugin", "install", str(first), "--server", "mc").exit_code == 0
    other = package(tmp_path, "beta", files={"shared.jar": b"b"})
    done = gsm("plugin", "install", str(other), "--server", "mc", "--force", "--json")
    assert done.exit_code == 5
    assert done.error()["code"] == "file_conflict"
    assert (server / "plugins" / "shared.jar").read_bytes() == b"a"


def test_install_of_what_is_installed(gsm: GsmRunner, server: Path, tmp_path: Path) -> None:
    pkg = package(tmp_path, "alpha")
    assert gsm("plugin", "install", str(pkg), "--server", "mc").exit_code == 0
    again = gsm("plugin", "install", str(pkg), "--server", "mc", "--json")
    assert again.exit_code == 0
    assert again.json()["already_installed"] == [{"name": "alpha", "version": "1.0.0"}]
    newer = gsm(
        "plugin", "install", str(package(tmp_path, "alpha", "2.0.0")), "--server", "mc", "--json"
    )
    assert newer.exit_code == 5 and newer.error()["code"] == "already_installed"


def test_remote_and_running_servers_are_refused(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    import os

    pkg = package(tmp_path, "alpha")
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        import psutil

        me = psutil.Process(os.getpid())
        conn.execute(
            "UPDATE local_servers SET status = 'running', process_id = ?, process_create_time = ?",
            (me.pid, me.create_time()),
        )
    running = gsm("plugin", "install", str(pkg), "--server", "mc", "--json")
    assert running.exit_code == 5 and running.error()["code"] == "server_running"
    with sqlite3.connect(gsm_home / "gsm.db") as conn:
        conn.execute(
            "UPDATE local_servers SET status = 'remote', process_id = NULL, device_id = 'other'"
        )
    remote = gsm("plugin", "install", str(pkg), "--server", "mc", "--json")
    assert remote.exit_code == 5 and remote.error()["code"] == "remote_server"
    assert not (server / "plugins").exists()


# --- enable, disable, uninstall, pin -----------------------------------------------------


def test_disable_moves_files_aside_and_enable_brings_them_back(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    pkg = package(tmp_path, "alpha", files={"alpha.jar": b"A", "Alpha/lang/en.yml": b"hi"})
    assert gsm("plugin", "install", str(pkg), "--server", "mc").exit_code == 0
    installed = tree(server)
    off = gsm("plugin", "disable", "alpha", "--server", "mc")
    assert off.exit_code == 0, off.stderr
    assert not (server / "plugins" / "alpha.jar").exists()
    aside = server / ".gsm-disabled" / "alpha" / "plugins"
    assert (aside / "alpha.jar").read_bytes() == b"A"
    assert (aside / "Alpha" / "lang" / "en.yml").read_bytes() == b"hi"
    assert rows(gsm_home, "SELECT is_enabled FROM local_plugins") == [(0,)]
    assert gsm("plugin", "verify", "--server", "mc").exit_code == 0
    on = gsm("plugin", "enable", "alpha", "--server", "mc")
    assert on.exit_code == 0, on.stderr
    assert tree(server) == installed  # .gsm-disabled is gone again
    assert rows(gsm_home, "SELECT is_enabled FROM local_plugins") == [(1,)]


def test_disable_and_uninstall_respect_dependents(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    beta = package(tmp_path, "beta")
    alpha = package(tmp_path, "alpha", deps={"beta": "^1.0.0"})
    assert gsm("plugin", "install", str(alpha), str(beta), "--server", "mc").exit_code == 0
    for verb in ("disable", "uninstall"):
        done = gsm("plugin", verb, "beta", "--server", "mc", "--json")
        assert done.exit_code == 5 and done.error()["code"] == "plugin_required"
        assert "alpha" in done.error()["message"]
    assert (server / "plugins" / "beta.jar").exists()
    assert gsm("plugin", "disable", "alpha", "--server", "mc").exit_code == 0
    assert gsm("plugin", "disable", "beta", "--server", "mc").exit_code == 0
    needs = gsm("plugin", "enable", "alpha", "--server", "mc", "--json")
    assert needs.exit_code == 5 and needs.error()["code"] == "plugin_required"


def test_uninstall_removes_its_files_and_folders_but_keeps_changed_files(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    (server / "world").mkdir()
    (server / "world" / "level.dat").write_bytes(b"world")
    before = tree(server)
    pkg = package(
        tmp_path, "alpha",
        files={"alpha.jar": b"A", "Alpha/config.yml": b"a: 1\n", "Alpha/data/x.bin": b"x"},
    )  # fmt: skip
    assert gsm("plugin", "install", str(pkg), "--server", "mc").exit_code == 0
    (server / "plugins" / "Alpha" / "config.yml").write_bytes(b"a: 2\n")  # the user's edit
    (server / "plugins" / "notes.txt").write_bytes(b"mine")  # not the plugin's
    done = gsm("plugin", "uninstall", "alpha", "--server", "mc", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["kept"] == ["plugins/Alpha/config.yml"]
    assert tree(server) == before | {
        "plugins": None,
        "plugins/Alpha": None,
        "plugins/Alpha/config.yml": b"a: 2\n",
        "plugins/notes.txt": b"mine",
    }
    assert rows(gsm_home, "SELECT count(*) FROM local_plugin_files") == [(0,)]
    nothing_left_behind(gsm_home)
    # --force also removes a changed file; the folders the plugin made go when empty.
    (server / "plugins" / "notes.txt").unlink()
    assert gsm("plugin", "install", str(pkg), "--server", "mc", "--force").exit_code == 0
    (server / "plugins" / "alpha.jar").write_bytes(b"patched")
    forced = gsm("plugin", "uninstall", "alpha", "--server", "mc", "--force", "--json")
    assert forced.exit_code == 0 and forced.json()["kept"] == []
    assert not (server / "plugins" / "alpha.jar").exists()
    assert not (server / "plugins" / "Alpha" / "data").exists()


def test_pin_and_unpin(gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path) -> None:
    assert gsm("plugin", "install", str(package(tmp_path, "alpha")), "--server", "mc")
    pinned = gsm("plugin", "pin", "alpha", "--server", "mc", "--json")
    assert pinned.exit_code == 0 and pinned.json()["pinned"] is True
    assert rows(gsm_home, "SELECT pinned FROM local_plugins") == [(1,)]
    folder = tmp_path / "newer"
    folder.mkdir()
    package(folder, "alpha", "1.1.0")
    refused = gsm(
        "plugin", "update", "alpha", "--server", "mc", "--from", str(folder / "packages"),
        "--json",
    )  # fmt: skip
    assert refused.exit_code == 5 and refused.error()["code"] == "plugin_pinned"
    skipped = gsm(
        "plugin", "update", "--all", "--server", "mc", "--from", str(folder / "packages"),
        "--json",
    )  # fmt: skip
    assert skipped.exit_code == 0
    assert skipped.json()["skipped"] == [{"name": "alpha", "reason": "pinned"}]
    assert gsm("plugin", "unpin", "alpha", "--server", "mc").exit_code == 0
    assert rows(gsm_home, "SELECT pinned FROM local_plugins") == [(0,)]
    missing = gsm("plugin", "pin", "nope", "--server", "mc", "--json")
    assert missing.exit_code == 3 and missing.error()["code"] == "plugin_not_installed"


# --- update ------------------------------------------------------------------------------


def corrupt(zip_path: Path, member: str) -> None:
    """Flip bytes inside one member's stored data: its central directory still reads well,
    extraction fails its CRC."""
    with zipfile.ZipFile(zip_path) as archive:
        info = archive.getinfo(member)
    data = bytearray(zip_path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for offset in range(start, start + info.compress_size):
        data[offset] ^= 0x55
    zip_path.write_bytes(bytes(data))


def test_update_within_constraints_and_its_rollback_as_a_whole(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    old = tmp_path / "old"
    new = tmp_path / "new"
    old.mkdir(), new.mkdir()
    beta = package(old, "beta", "1.0.0", files={"beta.jar": b"b1", "Beta/old.yml": b"o"})
    alpha = package(old, "alpha", "1.0.0", deps={"beta": "^1.0.0"})
    assert gsm("plugin", "install", str(alpha), str(beta), "--server", "mc").exit_code == 0
    before = tree(server)
    db_before = rows(gsm_home, "SELECT * FROM local_plugins ORDER BY name")
    files_before = rows(gsm_home, "SELECT * FROM local_plugin_files ORDER BY id")
    package(new, "alpha", "1.2.0", deps={"beta": "^1.1.0"})
    package(new, "beta", "1.5.0", files={"beta.jar": b"b15", "Beta/new.yml": b"n"})
    package(new, "beta", "2.0.0")  # outside alpha's range: not taken
    bad = new / "packages" / "beta-1.5.0.zip"
    corrupt(bad, "files/beta.jar")
    failed = gsm(
        "plugin", "update", "--all", "--server", "mc", "--from", str(new / "packages"), "--json"
    )
    assert failed.exit_code == 8, failed.stderr
    assert failed.error()["code"] == "package_invalid"
    assert tree(server) == before
    assert rows(gsm_home, "SELECT * FROM local_plugins ORDER BY name") == db_before
    assert rows(gsm_home, "SELECT * FROM local_plugin_files ORDER BY id") == files_before
    nothing_left_behind(gsm_home)

    package(tmp_path / "fixed", "beta", "1.5.0", files={"beta.jar": b"b15", "Beta/new.yml": b"n"})
    (tmp_path / "fixed" / "packages" / "beta-1.5.0.zip").replace(bad)
    done = gsm(
        "plugin", "update", "--all", "--server", "mc", "--from", str(new / "packages"), "--json"
    )
    assert done.exit_code == 0, done.stderr
    updated = {u["name"]: (u["from"], u["to"]) for u in done.json()["updated"]}
    assert updated == {"alpha": ("1.0.0", "1.2.0"), "beta": ("1.0.0", "1.5.0")}
    assert (server / "plugins" / "beta.jar").read_bytes() == b"b15"
    assert (server / "plugins" / "Beta" / "new.yml").read_bytes() == b"n"
    assert not (server / "plugins" / "Beta" / "old.yml").exists()
    assert gsm("plugin", "verify", "--server", "mc").exit_code == 0
    nothing_left_behind(gsm_home)


def test_update_refuses_to_replace_files_changed_here(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    assert gsm("plugin", "install", str(package(tmp_path, "alpha")), "--server", "mc")
    (server / "plugins" / "alpha.jar").write_bytes(b"hot-fixed")
    newer = tmp_path / "newer"
    newer.mkdir()
    package(newer, "alpha", "1.0.1")
    refused = gsm(
        "plugin", "update", "alpha", "--server", "mc", "--from", str(newer / "packages"),
        "--json",
    )  # fmt: skip
    assert refused.exit_code == 5 and refused.error()["code"] == "files_changed"
    assert (server / "plugins" / "alpha.jar").read_bytes() == b"hot-fixed"
    forced = gsm(
        "plugin", "update", "alpha", "--server", "mc", "--from", str(newer / "packages"),
        "--force", "--json",
    )  # fmt: skip
    assert forced.exit_code == 0, forced.stderr
    kept = forced.json()["kept"][0]
    assert (server / kept["kept_at"]).read_bytes() == b"hot-fixed"
    assert (server / "plugins" / "alpha.jar").read_bytes() == b"alpha 1.0.1"


# --- lock, apply, verify -----------------------------------------------------------------


def test_lock_apply_to_another_server_and_verify_with_a_tampered_file(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    beta = package(tmp_path, "beta", "2.0.0")
    alpha = package(
        tmp_path, "alpha", deps={"beta": "^2"}, files={"alpha.jar": b"A", "Alpha/c.yml": b"c"}
    )
    gamma = package(tmp_path, "gamma")
    assert gsm("plugin", "install", str(alpha), str(beta), str(gamma), "--server", "mc")
    assert gsm("plugin", "disable", "gamma", "--server", "mc").exit_code == 0
    lock_file = tmp_path / "gsm-plugins.lock"
    locked = gsm("plugin", "lock", "--server", "mc", "-o", str(lock_file))
    assert locked.exit_code == 0, locked.stderr
    import tomllib

    data = tomllib.loads(lock_file.read_text())
    assert data["format"] == 1 and data["game"] == "minecraft"
    by_name = {p["name"]: p for p in data["plugin"]}
    assert by_name["alpha"]["sha256"] == sha(alpha.read_bytes())
    assert by_name["gamma"]["enabled"] is False
    assert by_name["alpha"]["file"] == [
        {"path": "Alpha/c.yml", "sha256": sha(b"c")},
        {"path": "alpha.jar", "sha256": sha(b"A")},
    ]

    # Another minecraft server, with its own plugin folder and a plugin the lock drops.
    other = tmp_path / "other"
    made = gsm(
        "server", "create", "mc2", "--game", "minecraft", "--port", "25600",
        "--path", str(other), "--plugin-dir", "paper/plugins",
    )  # fmt: skip
    assert made.exit_code == 0, made.stderr
    assert gsm("plugin", "install", str(package(tmp_path, "delta")), "--server", "mc2")
    plan = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc2", "--from", str(tmp_path / "packages"),
        "--dry-run", "--json",
    )  # fmt: skip
    assert plan.exit_code == 0, plan.stderr
    assert sorted((s["action"], s["name"]) for s in plan.json()["plan"]) == [
        ("install", "alpha"), ("install", "beta"), ("install", "gamma"), ("remove", "delta"),
    ]  # fmt: skip
    assert (other / "paper" / "plugins" / "delta.jar").exists()  # a dry run changes nothing
    applied = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc2", "--from", str(tmp_path / "packages")
    )
    assert applied.exit_code == 0, applied.stderr
    assert (other / "paper" / "plugins" / "alpha.jar").read_bytes() == b"A"
    assert not (other / "paper" / "plugins" / "delta.jar").exists()
    assert (other / ".gsm-disabled" / "gamma" / "paper" / "plugins" / "gamma.jar").exists()
    clean = gsm("plugin", "verify", "--server", "mc2", "--lock", str(lock_file), "--json")
    assert clean.exit_code == 0, clean.stdout
    assert clean.json()["ok"] is True
    again = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc2", "--from", str(tmp_path / "packages"),
        "--json",
    )  # fmt: skip
    assert again.exit_code == 0 and again.json()["plan"] == []

    # Tamper: verify exits 8, names the file in JSON and in the JUnit report.
    (other / "paper" / "plugins" / "Alpha" / "c.yml").write_bytes(b"tampered")
    report = tmp_path / "junit.xml"
    drift = gsm(
        "plugin", "verify", "--server", "mc2", "--lock", str(lock_file), "--json",
        "--junit", str(report),
    )  # fmt: skip
    assert drift.exit_code == 8
    assert drift.error()["code"] == "verification_failed"
    problems = drift.json()["servers"][0]["problems"]
    assert [(p["plugin"], p["check"], p["path"]) for p in problems] == [
        ("alpha", "files", "paper/plugins/Alpha/c.yml")
    ]
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    failing = [case for case in suite.iter("testcase") if case.find("failure") is not None]
    assert [case.get("name") for case in failing] == ["alpha 1.0.0"]
    assert "paper/plugins/Alpha/c.yml" in (failing[0].find("failure").text or "")
    # The same drift in a table, on stdout, and exit 8.
    table = gsm("plugin", "verify", "--server", "mc2")
    assert table.exit_code == 8 and "paper/plugins/Alpha/c.yml" in table.stdout
    # apply repairs it only with --force (the changed file is kept aside).
    refused = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc2", "--from", str(tmp_path / "packages"),
        "--json",
    )  # fmt: skip
    assert refused.exit_code == 5 and refused.error()["code"] == "files_changed"
    repaired = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc2", "--from", str(tmp_path / "packages"),
        "--force",
    )  # fmt: skip
    assert repaired.exit_code == 0, repaired.stderr
    assert gsm("plugin", "verify", "--server", "mc2", "--lock", str(lock_file)).exit_code == 0
    nothing_left_behind(gsm_home)


def test_apply_refuses_a_package_whose_digest_differs_from_the_lock(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    pkg = package(tmp_path, "alpha")
    assert gsm("plugin", "install", str(pkg), "--server", "mc").exit_code == 0
    lock_file = tmp_path / "l.lock"
    assert gsm("plugin", "lock", "--server", "mc", "-o", str(lock_file)).exit_code == 0
    assert gsm("plugin", "uninstall", "alpha", "--server", "mc").exit_code == 0
    # Same name and version, other bytes: a different package.
    (tmp_path / "packages" / "alpha-1.0.0.zip").unlink()
    package(tmp_path / "evil", "alpha", files={"alpha.jar": b"evil"}).replace(pkg)
    done = gsm(
        "plugin", "apply", str(lock_file), "--server", "mc", "--from", str(tmp_path / "packages"),
        "--json",
    )  # fmt: skip
    assert done.exit_code == 3 and done.error()["code"] == "package_not_found"
    assert "sha256" in done.error()["message"]
    assert not (server / "plugins" / "alpha.jar").exists()
    nothing_left_behind(gsm_home)


def test_verify_finds_missing_files_wrong_state_and_the_lock_set(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    assert gsm("plugin", "install", str(package(tmp_path, "alpha")), "--server", "mc")
    assert gsm("plugin", "install", str(package(tmp_path, "beta")), "--server", "mc")
    lock_file = tmp_path / "l.lock"
    assert gsm("plugin", "lock", "--server", "mc", "-o", str(lock_file)).exit_code == 0
    assert gsm("plugin", "uninstall", "beta", "--server", "mc").exit_code == 0
    assert gsm("plugin", "install", str(package(tmp_path, "gamma")), "--server", "mc")
    (server / "plugins" / "gamma.jar").unlink()
    aside = server / ".gsm-disabled" / "alpha" / "plugins"
    aside.mkdir(parents=True)
    (server / "plugins" / "alpha.jar").replace(aside / "alpha.jar")  # disabled by hand
    done = gsm("plugin", "verify", "--all", "--lock", str(lock_file), "--json")
    assert done.exit_code == 8
    found = {(p["plugin"], p["check"]) for p in done.json()["servers"][0]["problems"]}
    assert found == {
        ("alpha", "state"),
        ("gamma", "files"),
        ("gamma", "lock"),  # installed, not locked
        ("beta", "lock"),  # locked, not installed
    }


def test_verify_and_list_need_a_server_or_all(gsm: GsmRunner, server: Path) -> None:
    assert gsm("plugin", "verify", "--json").exit_code == 4
    assert gsm("plugin", "verify", "--all").exit_code == 0
    missing = gsm("plugin", "list", "--server", "nope", "--json")
    assert missing.exit_code == 3 and missing.error()["code"] == "server_not_found"


def test_a_lock_file_that_is_not_one(gsm: GsmRunner, server: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.lock"
    bad.write_text('format = 1\ngame = "minecraft"\n[[plugin]]\nname = "x"\nversion = "1"\n')
    done = gsm("plugin", "apply", str(bad), "--server", "mc", "--from", str(tmp_path), "--json")
    assert done.exit_code == 4 and done.error()["code"] == "lock_invalid"
    other_game = tmp_path / "valheim.lock"
    other_game.write_text('format = 1\ngame = "valheim"\n')
    done = gsm("plugin", "apply", str(other_game), "--server", "mc", "--dry-run", "--json")
    assert done.exit_code == 5 and done.error()["code"] == "incompatible_game"


def test_verify_does_not_vouch_for_a_plugin_only_sync_knows_of(
    gsm: GsmRunner, gsm_home: Path, server: Path
) -> None:
    server_id = rows(gsm_home, "SELECT id FROM local_servers")[0][0]
    with sqlite3.connect(gsm_home / "gsm.db") as conn:  # as a pull would write it
        conn.execute(
            "INSERT INTO local_plugins (id, server_id, plugin_id, name, version) "
            "VALUES ('p1', ?, '6f1c2a9e-5c1b-4d43-9d0e-3c3b9f0c1a11', 'pulled', '1.0.0')",
            (server_id,),
        )
    done = gsm("plugin", "verify", "--server", "mc", "--json")
    assert done.exit_code == 8
    [problem] = done.json()["servers"][0]["problems"]
    assert problem["plugin"] == "pulled" and "not installed by gsm" in problem["message"]


def test_a_lock_file_is_the_same_bytes_every_time(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    pkgs = [package(tmp_path, n, files={f"{n}/b.txt": b"b", f"{n}/a.txt": b"a"}) for n in "zyx"]
    assert gsm("plugin", "install", *map(str, pkgs), "--server", "mc").exit_code == 0
    first = gsm("plugin", "lock", "--server", "mc", "-o", "-")
    second = gsm("plugin", "lock", "--server", "mc", "-o", "-")
    assert first.exit_code == 0 and first.stdout == second.stdout
    names = [line for line in first.stdout.splitlines() if line.startswith("name = ")]
    assert names == ['name = "x"', 'name = "y"', 'name = "z"']


def test_verify_junit_path_is_checked_before_any_work(
    gsm: GsmRunner, server: Path, tmp_path: Path
) -> None:
    done = gsm(
        "plugin", "verify", "--server", "mc", "--junit", str(tmp_path / "no" / "r.xml"), "--json"
    )
    assert done.exit_code == 4 and done.error()["code"] == "report_unwritable"


def test_uninstall_of_a_disabled_plugin_removes_its_files_from_aside(
    gsm: GsmRunner, gsm_home: Path, server: Path, tmp_path: Path
) -> None:
    before = tree(server)
    pkg = package(tmp_path, "alpha", files={"alpha.jar": b"A", "Alpha/deep/x.yml": b"x"})
    assert gsm("plugin", "install", str(pkg), "--server", "mc").exit_code == 0
    assert gsm("plugin", "disable", "alpha", "--server", "mc").exit_code == 0
    done = gsm("plugin", "uninstall", "alpha", "--server", "mc", "--json")
    assert done.exit_code == 0, done.stderr
    assert done.json()["removed"] == 2
    assert tree(server) == before  # .gsm-disabled/ and the plugin's folders are gone too
    nothing_left_behind(gsm_home)
