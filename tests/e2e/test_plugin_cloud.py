"""The plugin marketplace from gsm against a real gsm-cloud: publish as a Developer (refused as
Basic), search online and from the catalog cache when the cloud is down, info, the version an
install would take, streamed downloads checked by sha256 (a tampered package is refused and
deleted), and paid plugins refused until bought."""

import hashlib
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import ExitCode, GsmError
from gsm_cli.services import plugin_cloud
from tests.conftest import GsmRunner, free_port
from tests.e2e.conftest import CloudAccount, LiveCloud
from tests.packages import package_bytes


def unique(prefix: str) -> str:
    """Plugin names are unique in the marketplace, and the cloud lives as long as the module."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def developer(live_cloud: LiveCloud) -> CloudAccount:
    return live_cloud.account("Developer")


@pytest.fixture
def api(live_cloud: LiveCloud, developer: CloudAccount) -> Iterator[httpx.Client]:
    """The developer's own HTTP client, to set the marketplace up."""
    headers = {"Authorization": f"Bearer {developer.token}"}
    with httpx.Client(base_url=live_cloud.url, headers=headers, timeout=30) as client:
        yield client


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
