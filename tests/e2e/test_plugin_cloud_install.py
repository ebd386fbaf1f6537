"""Installs from a real gsm-cloud: NAME[@VERSION] with dependencies fetched from the cloud, the
sync operation of a marketplace plugin, update within the dependents' ranges, an update whose
second download fails its digest (rolled back as a whole), and apply of a lock whose package
the cloud no longer serves as locked."""

import hashlib
import json
import sqlite3
import uuid
from pathlib import Path

import httpx
import pytest

from tests.cli.test_plugin_install import tree
from tests.conftest import GsmRunner
from tests.e2e.conftest import LiveCloud, unique
from tests.packages import package_bytes


def publish(api: httpx.Client, name: str, versions: dict[str, bytes]) -> str:
    body = {"name": name, "category": "utility", "supported_games": ["minecraft"]}
    made = api.post("/v1/plugins", json=body)
    assert made.status_code == 201, made.text
    plugin_id = made.json()["id"]
    for content in versions.values():
        sent = api.post(
            f"/v1/plugins/{plugin_id}/versions",
            files={"file": ("p.zip", content, "application/zip")},
        )
        assert sent.status_code == 201, sent.text
    return plugin_id


@pytest.fixture
def operator(
    gsm: GsmRunner, live_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:
    """A logged-in operator (GSM_API_URL + GSM_TOKEN) with a stopped Minecraft server."""
    monkeypatch.setenv("GSM_API_URL", live_cloud.url)
    monkeypatch.setenv("GSM_TOKEN", live_cloud.account().token)
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    return tmp_path / "mc"


def db(home: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(home / "gsm.db") as conn:
        return conn.execute(sql).fetchall()


def test_install_from_the_cloud_with_dependencies_then_update_and_its_rollback(
    gsm: GsmRunner,
    gsm_home: Path,
    live_cloud: LiveCloud,
    api: httpx.Client,
    operator: Path,
) -> None:
    lib, addon = unique("Lib"), unique("Addon")
    lib_v = {
        v: package_bytes(lib, v, files={f"{lib}.jar": f"lib {v}".encode()})
        for v in ("1.0.0", "1.1.0", "2.0.0")
    }
    addon_v = {
        "1.0.0": package_bytes(addon, "1.0.0", deps={lib: "^1.0.0"},
                               files={f"{addon}.jar": b"a1", "Addon/config.yml": b"c"}),
    }  # fmt: skip
    lib_id = publish(api, lib, lib_v)
    addon_id = publish(api, addon, addon_v)

    done = gsm("plugin", "install", f"{addon.lower()}@1.0.0", "--server", "mc", "--json")
    assert done.exit_code == 0, done.stderr
    installed = [(i["name"], i["version"], i["source"]) for i in done.json()["installed"]]
    # The newest Lib that ^1.0.0 allows, before the plugin that needs it.
    assert installed == [(lib, "1.1.0", "cloud"), (addon, "1.0.0", "cloud")]
    plugins = operator / "plugins"
    assert (plugins / f"{lib}.jar").read_bytes() == b"lib 1.1.0"
    assert (plugins / "Addon" / "config.yml").read_bytes() == b"c"
    rows = db(gsm_home, "SELECT name, plugin_id, package_sha256, source FROM local_plugins")
    assert sorted(rows) == sorted(
        [
            (lib, lib_id, hashlib.sha256(lib_v["1.1.0"]).hexdigest(), "cloud"),
            (addon, addon_id, hashlib.sha256(addon_v["1.0.0"]).hexdigest(), "cloud"),
        ]
    )
    ops = db(
        gsm_home,
        "SELECT operation_type, data_payload FROM pending_sync_operations "
        "WHERE entity_type = 'plugin_installation'",
    )
    assert sorted((op, json.loads(p)["plugin_id"]) for op, p in ops) == sorted(
        [("create", lib_id), ("create", addon_id)]
    )
    pushed = gsm("sync", "push", "--json")
    assert pushed.exit_code == 0, pushed.stderr
    assert db(gsm_home, "SELECT count(*) FROM pending_sync_operations WHERE state = 'queued'") == [
        (0,)
    ]

    # New versions: Addon 1.1.0 needs Lib ^1.1.0; Lib 2.0.0 is outside that range.
    addon_11 = package_bytes(addon, "1.1.0", deps={lib: "^1.1.0"},
                             files={f"{addon}.jar": b"a2"})  # fmt: skip
    sent = api.post(
        f"/v1/plugins/{addon_id}/versions",
        files={"file": ("p.zip", addon_11, "application/zip")},
    )
    assert sent.status_code == 201, sent.text
    before = tree(operator)
    # The cloud's copy of Addon 1.1.0 is damaged: same size, other bytes.
    assert live_cloud.storage is not None
    stored = next(
        p
        for p in (live_cloud.storage / uuid.UUID(addon_id).hex).glob("*.pkg")
        if p.read_bytes() == addon_11
    )
    damaged = bytearray(addon_11)
    damaged[-40] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    failed = gsm("plugin", "update", "--all", "--server", "mc", "--json")
    assert failed.exit_code == 8, failed.stderr
    assert failed.error()["code"] == "digest_mismatch"
    assert tree(operator) == before
    assert db(gsm_home, "SELECT name, version FROM local_plugins ORDER BY name") == sorted(
        [(lib, "1.1.0"), (addon, "1.0.0")]
    )
    assert db(gsm_home, "SELECT count(*) FROM plugin_journal") == [(0,)]

    stored.write_bytes(addon_11)
    updated = gsm("plugin", "update", "--all", "--server", "mc", "--json")
    assert updated.exit_code == 0, updated.stderr
    versions = {u["name"]: u["to"] for u in updated.json()["updated"]}
    assert versions == {addon: "1.1.0"}  # Lib 2.0.0 is not allowed by ^1.1.0
    assert {s["name"] for s in updated.json()["skipped"]} == {lib}
    assert (plugins / f"{addon}.jar").read_bytes() == b"a2"
    assert not (plugins / "Addon").exists()  # 1.1.0 ships no config: its folder went
    assert gsm("plugin", "verify", "--server", "mc").exit_code == 0
    last = db(gsm_home, "SELECT operation_type, entity_type FROM pending_sync_operations")[-1]
    assert last == ("update", "plugin_installation")


def test_apply_from_the_cloud_refuses_a_package_that_is_not_the_locked_one(
    gsm: GsmRunner, gsm_home: Path, live_cloud: LiveCloud, api: httpx.Client, operator: Path
) -> None:
    name = unique("Locked")
    publish(api, name, {"1.0.0": package_bytes(name, "1.0.0")})
    assert gsm("plugin", "install", name, "--server", "mc").exit_code == 0
    lock_file = operator.parent / "gsm-plugins.lock"
    assert gsm("plugin", "lock", "--server", "mc", "-o", str(lock_file)).exit_code == 0
    other = operator.parent / "mc2"
    made = gsm("server", "create", "mc2", "--game", "minecraft", "--port", "25601",
               "--path", str(other))  # fmt: skip
    assert made.exit_code == 0, made.stderr
    ok = gsm("plugin", "apply", str(lock_file), "--server", "mc2", "--json")
    assert ok.exit_code == 0, ok.stderr
    assert gsm("plugin", "verify", "--server", "mc2", "--lock", str(lock_file)).exit_code == 0
    # A lock naming other bytes for that version: refused before anything is installed.
    forged = lock_file.read_text().replace(
        hashlib.sha256(package_bytes(name, "1.0.0")).hexdigest(), "ab" * 32
    )
    lock_file.write_text(forged)
    third = operator.parent / "mc3"
    assert gsm("server", "create", "mc3", "--game", "minecraft", "--port", "25602",
               "--path", str(third)).exit_code == 0  # fmt: skip
    refused = gsm("plugin", "apply", str(lock_file), "--server", "mc3", "--json")
    assert refused.exit_code == 8, refused.stderr
    assert refused.error()["code"] == "digest_mismatch"
    assert not (third / "plugins").exists()
