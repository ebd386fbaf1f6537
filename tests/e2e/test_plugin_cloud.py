"""The plugin marketplace from gsm against a real gsm-cloud: publish as a Developer (refused as
Basic), search online and from the catalog cache when the cloud is down, info, the version an
install would take, streamed downloads checked by sha256 (a tampered package is refused and
deleted), and paid plugins refused until bought."""

import hashlib
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import ExitCode, GsmError
from gsm_cli.services import plugin_cloud
from gsm_cloud.db.engine import make_engine
from gsm_cloud.db.models import Plugin
from tests.conftest import GsmRunner, free_port
from tests.e2e.conftest import CloudAccount, LiveCloud, unique
from tests.packages import manifest_text, package_bytes


@pytest.fixture(scope="module")
def live_cloud(paying_cloud: LiveCloud) -> LiveCloud:
    """Buying a paid plugin needs a payment provider: here the development one, which confirms
    a purchase at once (a cloud without any answers purchases with 503)."""
    return paying_cloud


def listing(
    api: httpx.Client, name: str, *, price: str = "0", games: tuple = ("minecraft",)
) -> str:
    body = {"name": name, "category": "utility", "price": price, "supported_games": list(games)}
    response = api.post("/v1/plugins", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def upload(api: httpx.Client, plugin_id: str, content: bytes) -> dict[str, Any]:
    response = api.post(
        f"/v1/plugins/{plugin_id}/versions", files={"file": ("p.zip", content, "application/zip")}
    )
    assert response.status_code == 201, response.text
    return response.json()


def failure(call: Any) -> GsmError:
    with pytest.raises(GsmError) as caught:
        call()
    return caught.value


# --- the version to install, and its download -----------------------------------------------


def test_find_version_takes_releases_unless_a_prerelease_is_asked_for(
    live_cloud: LiveCloud, api: httpx.Client
) -> None:
    name = unique("Vault")
    pid = listing(api, name, games=("minecraft", "custom"))
    for version in ("1.0.0", "1.1.0", "2.0.0-beta.1", "1.0.1"):
        deps = {"Core": "^2.0.0"} if version == "1.1.0" else None
        upload(api, pid, package_bytes(name, version, deps=deps, games=["minecraft", "custom"]))
    with CloudClient(live_cloud.url) as client:
        latest = plugin_cloud.find_version(client, name, None)
        assert (latest.version, latest.plugin_id, latest.name) == ("1.1.0", pid, name)
        assert latest.dependencies == {"Core": "^2.0.0"}
        assert latest.games == ["minecraft", "custom"]
        assert latest.price == Decimal("0.00") and not latest.paid
        assert (
            latest.sha256
            == hashlib.sha256(
                package_bytes(name, "1.1.0", deps={"Core": "^2.0.0"}, games=["minecraft", "custom"])
            ).hexdigest()
        )
        # Any case finds it; so does its id.
        assert plugin_cloud.find_version(client, name.upper(), "^1.0").version == "1.1.0"
        assert plugin_cloud.find_version(client, pid, "~1.0.0").version == "1.0.1"
        assert plugin_cloud.find_version(client, name, "*").version == "1.1.0"
        assert plugin_cloud.find_version(client, name, "2.0.0-beta.1").version == "2.0.0-beta.1"
        assert plugin_cloud.find_version(client, name, ">=2.0.0-beta.0").version == "2.0.0-beta.1"
        # A range that names no pre-release does not take one: nothing matches >=1.5.0.
        missing = failure(lambda: plugin_cloud.find_version(client, name, ">=1.5.0"))
    assert (missing.exit_code, missing.code) == (ExitCode.NOT_FOUND, "version_not_found")


def test_find_version_errors(live_cloud: LiveCloud, api: httpx.Client) -> None:
    name, beta_only, empty = unique("Chat"), unique("Beta"), unique("Empty")
    upload(api, listing(api, name), package_bytes(name, "1.0.0"))
    upload(api, listing(api, beta_only), package_bytes(beta_only, "0.1.0-alpha"))
    listing(api, empty)
    with CloudClient(live_cloud.url) as client:
        cases = {
            "unknown": failure(lambda: plugin_cloud.find_version(client, unique("Nope"), None)),
            "exact": failure(lambda: plugin_cloud.find_version(client, name, "1.0.1")),
            "range": failure(lambda: plugin_cloud.find_version(client, name, "^2")),
            "bad range": failure(lambda: plugin_cloud.find_version(client, name, "one")),
            "beta only": failure(lambda: plugin_cloud.find_version(client, beta_only, None)),
            "empty": failure(lambda: plugin_cloud.find_version(client, empty, None)),
        }
        asked = plugin_cloud.find_version(client, beta_only, "0.1.0-alpha")
    assert asked.version == "0.1.0-alpha"
    assert {key: (e.exit_code, e.code) for key, e in cases.items()} == {
        "unknown": (ExitCode.NOT_FOUND, "plugin_not_found"),
        "exact": (ExitCode.NOT_FOUND, "version_not_found"),
        "range": (ExitCode.NOT_FOUND, "version_not_found"),
        "bad range": (ExitCode.INVALID_INPUT, "invalid_range"),
        "beta only": (ExitCode.NOT_FOUND, "version_not_found"),
        "empty": (ExitCode.NOT_FOUND, "no_published_version"),
    }
    assert "1.0.0" in (cases["exact"].hint or "")
    assert f"{beta_only}@0.1.0-alpha" in (cases["beta only"].hint or "")


def test_download_streams_checks_and_keeps_the_package(
    live_cloud: LiveCloud, api: httpx.Client, tmp_path: Path
) -> None:
    name = unique("Big")
    content = package_bytes(name, "1.0.0", files={"blob.bin": uuid.uuid4().bytes * 200_000})
    pid = listing(api, name)
    upload(api, pid, content)
    seen: list[tuple[float, float | None]] = []
    with CloudClient(live_cloud.url) as client:
        remote = plugin_cloud.find_version(client, name, None)
        path = plugin_cloud.download(client, remote, tmp_path, lambda d, t, _l: seen.append((d, t)))
    assert path.parent == tmp_path and path.suffix == ".zip"
    assert path.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
    assert seen[-1] == (len(content), len(content)) and len(seen) > 1  # streamed in chunks


def test_a_tampered_package_is_refused_and_deleted(
    live_cloud: LiveCloud, api: httpx.Client, tmp_path: Path
) -> None:
    name = unique("Tampered")
    content = package_bytes(name, "1.0.0")
    pid = listing(api, name)
    upload(api, pid, content)
    assert live_cloud.storage is not None
    (stored,) = (live_cloud.storage / uuid.UUID(pid).hex).glob("*.pkg")
    evil = bytearray(content)
    evil[-30] ^= 0xFF  # same size, one byte changed: the cloud still lists the old sha256
    stored.write_bytes(bytes(evil))
    with CloudClient(live_cloud.url) as client:
        remote = plugin_cloud.find_version(client, name, None)
        refused = failure(lambda: plugin_cloud.download(client, remote, tmp_path))
        # The listing and the download's header disagree: refused as well.
        stored.write_bytes(content)
        wrong = plugin_cloud.RemoteVersion(**{**remote.__dict__, "sha256": "0" * 64})
        disagree = failure(lambda: plugin_cloud.download(client, wrong, tmp_path))
        kept = plugin_cloud.download(client, remote, tmp_path)
    assert (refused.exit_code, refused.code) == (ExitCode.VERIFICATION_FAILED, "digest_mismatch")
    assert "deleted" in refused.message
    assert (disagree.exit_code, disagree.code) == (ExitCode.VERIFICATION_FAILED, "digest_mismatch")
    assert list(tmp_path.iterdir()) == [kept]


def test_a_paid_plugin_downloads_only_after_a_purchase(
    live_cloud: LiveCloud, api: httpx.Client, tmp_path: Path
) -> None:
    name = unique("Premium")
    pid = listing(api, name, price="4.99")
    upload(api, pid, package_bytes(name, "1.0.0"))
    buyer = live_cloud.account()
    with CloudClient(live_cloud.url) as anonymous:
        remote = plugin_cloud.find_version(anonymous, name, None)
        assert remote.paid and remote.price == Decimal("4.99")
        logged_out = failure(lambda: plugin_cloud.download(anonymous, remote, tmp_path))
    with CloudClient(live_cloud.url, buyer.token) as client:
        not_bought = failure(lambda: plugin_cloud.download(client, remote, tmp_path))
        bought = httpx.post(
            f"{live_cloud.url}/v1/plugins/{pid}/purchase",
            headers={"Authorization": f"Bearer {buyer.token}"},
        )
        assert bought.status_code == 201, bought.text
        path = plugin_cloud.download(client, remote, tmp_path)
    for refused in (logged_out, not_bought):
        assert (refused.exit_code, refused.code) == (ExitCode.NOT_ALLOWED, "purchase_required")
        assert "buy it" in (refused.hint or "")
    assert "purchase" in not_bought.message
    assert list(tmp_path.iterdir()) == [path]


def test_an_upload_streams_from_the_file_and_reports_its_progress(
    live_cloud: LiveCloud, api: httpx.Client, developer: CloudAccount, tmp_path: Path
) -> None:
    name = unique("Upload")
    pid = listing(api, name)
    package = tmp_path / "big.zip"
    package.write_bytes(package_bytes(name, "1.0.0", files={"b.bin": uuid.uuid4().bytes * 200_000}))
    size = package.stat().st_size
    seen: list[tuple[float, float | None]] = []
    with CloudClient(live_cloud.url, developer.token) as client:
        answer = client.publish_version(
            pid, package, version="1.0.0", report=lambda d, t, _l: seen.append((d, t))
        )
    assert answer["sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()
    assert answer["size_bytes"] == size
    assert len(seen) >= 3 and seen[-1] == (size, size)  # a chunk (1 MiB) at a time
    assert [d for d, _t in seen] == sorted(d for d, _t in seen)


def test_an_unreachable_cloud_is_exit_7_and_leaves_no_file(tmp_path: Path) -> None:
    remote = plugin_cloud.RemoteVersion(
        plugin_id=str(uuid.uuid4()), name="X", version="1.0.0", sha256="0" * 64, size=10,
        price=Decimal(0),
    )  # fmt: skip
    with CloudClient(f"http://127.0.0.1:{free_port()}") as client:
        refused = failure(lambda: plugin_cloud.download(client, remote, tmp_path))
    assert refused.exit_code == ExitCode.CLOUD_UNREACHABLE
    assert list(tmp_path.iterdir()) == []


# --- the commands -----------------------------------------------------------------------------


def login(gsm: GsmRunner, cloud: LiveCloud, account: CloudAccount) -> None:
    result = gsm("auth", "login", "--with-token", "--api-url", cloud.url, input=account.token)
    assert result.exit_code == 0, result.stderr


def pack(gsm: GsmRunner, where: Path, name: str, version: str, **manifest: Any) -> Path:
    """A package built the way an author does: gsm plugin init, a file, gsm plugin pack."""
    folder = where / f"{name}-{version}"
    made = gsm("plugin", "init", str(folder), "--name", name, "--game", "minecraft")
    assert made.exit_code == 0, made.stderr
    (folder / "gsm-plugin.toml").write_text(
        manifest_text(name, version, **manifest), encoding="utf-8"
    )
    (folder / "files" / f"{name}.jar").write_bytes(f"{name} {version}".encode())
    out = where / f"{name}-{version}.zip"
    packed = gsm("plugin", "pack", str(folder), "-o", str(out))
    assert packed.exit_code == 0, packed.stderr
    return out


def cloud_versions(cloud: LiveCloud, name: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{cloud.url}/v1/plugins", params={"name": name}).json()["items"]
    if not found:
        return []
    return httpx.get(f"{cloud.url}/v1/plugins/{found[0]['id']}/versions").json()


def test_publish_as_a_developer_refused_as_basic(
    gsm: GsmRunner, live_cloud: LiveCloud, developer: CloudAccount, tmp_path: Path
) -> None:
    name = unique("Homes")
    first = pack(gsm, tmp_path, name, "1.0.0")

    logged_out = gsm("plugin", "publish", str(first), "--json")
    assert (logged_out.exit_code, logged_out.error()["code"]) == (6, "not_logged_in")

    login(gsm, live_cloud, live_cloud.account("Basic"))
    basic = gsm("plugin", "publish", str(first))
    assert basic.exit_code == 6, basic.stderr
    assert "needs the Developer role" in basic.stderr
    assert cloud_versions(live_cloud, name) == []

    login(gsm, live_cloud, developer)
    published = gsm("plugin", "publish", str(first), "--changelog", "First", "--json")
    assert published.exit_code == 0, published.stderr
    result = published.json()
    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert result["sha256"] == digest and result["version"] == "1.0.0"
    assert result["name"] == name and result["created_listing"] is True
    assert result["size"] == first.stat().st_size
    (listed,) = cloud_versions(live_cloud, name)
    assert (listed["version"], listed["sha256"], listed["changelog"]) == ("1.0.0", digest, "First")
    assert (listed["games"], listed["dependencies"]) == (["minecraft"], {})

    table = gsm("plugin", "publish", str(first))  # the same version again
    assert table.exit_code == 5 and "already published" in table.stderr
    assert "raise the version" in table.stderr

    second = pack(
        gsm, tmp_path, name, "1.1.0", games=["minecraft", "valheim"], deps={"Vault": "^1"}
    )
    shown = gsm("plugin", "publish", str(second))
    assert shown.exit_code == 0, shown.stderr
    digest = hashlib.sha256(second.read_bytes()).hexdigest()
    assert digest in shown.stdout  # the table shows the version's sha256
    assert "added valheim to its supported games" in shown.stderr
    newest = cloud_versions(live_cloud, name)[0]
    assert (newest["version"], newest["games"], newest["dependencies"]) == (
        "1.1.0", ["minecraft", "valheim"], {"Vault": "^1"},
    )  # fmt: skip

    # Another developer cannot take the name, whatever its case.
    login(gsm, live_cloud, live_cloud.account("Developer"))
    other = pack(gsm, tmp_path / "other", name.lower(), "9.0.0")
    taken = gsm("plugin", "publish", str(other), "--json")
    assert (taken.exit_code, taken.error()["code"]) == (5, "name_taken")
    assert [v["version"] for v in cloud_versions(live_cloud, name)] == ["1.1.0", "1.0.0"]


def test_an_invalid_package_is_refused_here_and_by_the_cloud(
    gsm: GsmRunner, live_cloud: LiveCloud, developer: CloudAccount, tmp_path: Path
) -> None:
    name = unique("Broken")
    bad = tmp_path / "bad.zip"
    bad.write_bytes(package_bytes(name, "1.0.0", files={"../escape.sh": b"x", "ok.jar": b"y"}))
    here = gsm("plugin", "publish", str(bad), "--json")  # not even logged in: checked first
    assert here.exit_code == 8, here.stderr
    assert here.error()["code"] == "package_invalid"
    assert "path-traversal" in {p["rule"] for p in here.error()["problems"]}
    # The cloud refuses it with the same rules, whoever sends it.
    with httpx.Client(base_url=live_cloud.url) as raw:
        headers = {"Authorization": f"Bearer {developer.token}"}
        pid = raw.post(
            "/v1/plugins",
            json={"name": name, "category": "other", "supported_games": ["minecraft"]},
            headers=headers,
        ).json()["id"]
    with CloudClient(live_cloud.url, developer.token) as client:
        refused = failure(lambda: client.publish_version(pid, bad, version="1.0.0"))
    assert (refused.exit_code, refused.code) == (ExitCode.VERIFICATION_FAILED, "package_invalid")
    assert "path-traversal" in {p.rule for p in refused.problems}  # type: ignore[attr-defined]
    assert cloud_versions(live_cloud, name) == []


def test_search_online_then_from_the_cache(
    gsm: GsmRunner, live_cloud: LiveCloud, api: httpx.Client, gsm_home: Path, tmp_path: Path
) -> None:
    word = uuid.uuid4().hex[:10]
    names = {key: unique(f"{key}{word}") for key in ("homes", "shop", "raids")}
    for key, games, category in (
        ("homes", ["minecraft"], "utility"),
        ("shop", ["minecraft", "rust"], "economy"),
        ("raids", ["rust"], "gameplay"),
    ):
        pid = listing(api, names[key], games=tuple(games))
        api.patch(f"/v1/plugins/{pid}", json={"category": category})
        upload(api, pid, package_bytes(names[key], "1.0.0", games=games))
    for _ in range(3):  # downloads: shop 3, homes 1, raids 0
        httpx.get(f"{live_cloud.url}/v1/plugins/{listing_id(live_cloud, names['shop'])}/download")
    httpx.get(f"{live_cloud.url}/v1/plugins/{listing_id(live_cloud, names['homes'])}/download")
    # Listed a day apart (the API lists them within a second): homes, shop, then raids.
    engine = make_engine(live_cloud.database_url)
    with engine.begin() as conn:
        for days, key in enumerate(("raids", "shop", "homes")):
            conn.execute(
                update(Plugin)
                .where(Plugin.name == names[key])
                .values(created_at=datetime(2026, 6, 1) - timedelta(days=days))
            )
    engine.dispose()
    login(gsm, live_cloud, live_cloud.account())

    def found(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], str]:
        result = gsm("plugin", "search", word, *args, "--json", env=env)
        assert result.exit_code == 0, result.stderr
        by_name = {v: k for k, v in names.items()}
        return [by_name[row["name"]] for row in result.json()], result.stderr

    online, note = found()
    assert online == ["shop", "homes", "raids"] and "cache" not in note
    assert found("--game", "rust")[0] == ["shop", "raids"]
    assert found("--category", "economy")[0] == ["shop"]
    assert found("--sort", "new")[0] == ["raids", "shop", "homes"]
    assert found("--limit", "1")[0] == ["shop"]
    assert found("--verified")[0] == []

    pulled = gsm("sync", "pull")
    assert pulled.exit_code == 0, pulled.stderr
    down = {"GSM_API_URL": f"http://127.0.0.1:{free_port()}"}
    cached, note = found(env=down)
    assert cached == online
    assert "from the catalog cache" in note and "cannot reach the cloud" in note
    assert "old" in note and "gsm sync pull" in note
    assert found("--game", "rust", env=down)[0] == ["shop", "raids"]
    assert found("--category", "economy", env=down)[0] == ["shop"]
    assert found("--sort", "new", env=down)[0] == ["raids", "shop", "homes"]
    assert found("--verified", env=down)[0] == []
    table = gsm("plugin", "search", word, env=down)
    assert table.exit_code == 0 and names["shop"] in table.stdout

    assert gsm("auth", "logout").exit_code == 0
    logged_out, note = found()
    assert logged_out == online and "not logged in" in note

    # A machine that never pulled has no cache: the cloud's error stands.
    fresh = gsm("plugin", "search", word, env={**down, "GSM_HOME": str(tmp_path / "fresh")})
    assert fresh.exit_code == 6, fresh.stderr
    assert "gsm sync pull" in fresh.stderr


def listing_id(cloud: LiveCloud, name: str) -> str:
    return httpx.get(f"{cloud.url}/v1/plugins", params={"name": name}).json()["items"][0]["id"]


def test_info_shows_versions_sha256s_games_dependencies_and_price(
    gsm: GsmRunner, live_cloud: LiveCloud, api: httpx.Client
) -> None:
    name = unique("Economy")
    pid = listing(api, name, price="2.50", games=("minecraft", "custom"))
    first = upload(api, pid, package_bytes(name, "1.0.0"))
    beta = upload(
        api, pid, package_bytes(name, "2.0.0-rc.1", games=["custom"], deps={"Vault": ">=1.7"})
    )
    login(gsm, live_cloud, live_cloud.account())
    shown = gsm("plugin", "info", name.lower(), "--json")
    assert shown.exit_code == 0, shown.stderr
    data = shown.json()
    assert (data["id"], data["name"], data["price"], data["paid"]) == (pid, name, "2.50", True)
    assert (data["latest"], data["latest_release"]) == ("2.0.0-rc.1", "1.0.0")
    assert data["supported_games"] == ["minecraft", "custom"]
    assert [
        (v["version"], v["sha256"], v["games"], v["dependencies"], v["prerelease"])
        for v in data["versions"]
    ] == [
        ("2.0.0-rc.1", beta["sha256"], ["custom"], {"Vault": ">=1.7"}, True),
        ("1.0.0", first["sha256"], ["minecraft"], {}, False),
    ]
    table = gsm("plugin", "info", name)
    assert table.exit_code == 0
    assert first["sha256"] in table.stdout and beta["sha256"] in table.stdout
    assert "costs 2.50" in table.stderr
    assert gsm("plugin", "info", pid, "--json").json()["name"] == name
    missing = gsm("plugin", "info", unique("Nope"), "--json")
    assert (missing.exit_code, missing.error()["code"]) == (3, "plugin_not_found")


def test_a_paid_plugin_installs_only_after_a_purchase(
    gsm: GsmRunner, live_cloud: LiveCloud, api: httpx.Client, tmp_path: Path
) -> None:
    name = unique("Paid")
    pid = listing(api, name, price="4.99")
    upload(api, pid, package_bytes(name, "1.0.0"))
    buyer = live_cloud.account()
    login(gsm, live_cloud, buyer)
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr
    refused = gsm("plugin", "install", name, "--server", "mc", "--json")
    assert refused.exit_code == 6, refused.stderr
    assert refused.error()["code"] == "purchase_required"
    assert "buy it" in refused.error()["hint"]
    assert not (tmp_path / "mc" / "plugins").exists() or not any(
        (tmp_path / "mc" / "plugins").iterdir()
    )
    bought = httpx.post(
        f"{live_cloud.url}/v1/plugins/{pid}/purchase",
        headers={"Authorization": f"Bearer {buyer.token}"},
    )
    assert bought.status_code == 201, bought.text
    installed = gsm("plugin", "install", name, "--server", "mc")
    assert installed.exit_code == 0, installed.stderr
    assert (tmp_path / "mc" / "plugins" / f"{name}.jar").read_bytes() == f"{name} 1.0.0".encode()


@pytest.mark.parametrize(
    "args",
    [
        ("search", "--sort", "newest"),
        ("search", "--limit", "0"),
        ("search", "--limit", "201"),
        ("search", "--category", "tools"),
        ("search", "--game", "nope"),
    ],
)
def test_search_options_are_checked_before_anything(gsm: GsmRunner, args: tuple[str, ...]) -> None:
    result = gsm("plugin", *args, "--json")
    assert result.exit_code == 4, result.stderr
    assert result.error()["code"] in ("invalid_input", "invalid_game")


def test_logged_out_free_plugins_install_from_the_cloud_s_url_paid_ones_do_not(
    gsm: GsmRunner, live_cloud: LiveCloud, api: httpx.Client, tmp_path: Path
) -> None:
    free, paid = unique("Free"), unique("Priced")
    upload(api, listing(api, free), package_bytes(free, "1.0.0"))
    upload(api, listing(api, paid, price="1.00"), package_bytes(paid, "1.0.0"))
    made = gsm("server", "create", "mc", "--game", "minecraft", "--path", str(tmp_path / "mc"))
    assert made.exit_code == 0, made.stderr

    unknown = gsm("plugin", "install", free, "--server", "mc", "--json")
    assert (unknown.exit_code, unknown.error()["code"]) == (6, "not_logged_in")
    assert "cloud.api_url" in unknown.error()["hint"]

    assert gsm("config", "set", "cloud.api_url", live_cloud.url).exit_code == 0
    installed = gsm("plugin", "install", free, "--server", "mc")
    assert installed.exit_code == 0, installed.stderr
    assert (tmp_path / "mc" / "plugins" / f"{free}.jar").read_bytes() == f"{free} 1.0.0".encode()
    shown = gsm("plugin", "info", free, "--json")
    assert shown.exit_code == 0, shown.stderr
    assert shown.json()["versions"][0]["version"] == "1.0.0"

    refused = gsm("plugin", "install", paid, "--server", "mc", "--json")
    assert (refused.exit_code, refused.error()["code"]) == (6, "purchase_required")
    assert not (tmp_path / "mc" / "plugins" / f"{paid}.jar").exists()
