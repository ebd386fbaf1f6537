"""The plugin marketplace: listings, search, versions with their packages, downloads,
verification, ratings, and the change feed of catalog changes."""

import functools
import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, text, update
from sqlalchemy.dialects import postgresql

from gsm_cloud.config import Settings
from gsm_cloud.db.models import Change, Plugin, PluginRating, PluginVersion
from gsm_cloud.services import plugins as plugin_service
from gsm_cloud.services.storage import PackageStore
from tests.cloud.conftest import ON_POSTGRES, Account, MakeUser
from tests.packages import package_bytes, package_of_size

LIMIT = 64 * 1024  # max_upload_bytes in these tests


@pytest.fixture
def cloud_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url, storage_dir=tmp_path / "packages", max_upload_bytes=LIMIT
    )


@pytest.fixture
def make_user(make_user: MakeUser) -> MakeUser:
    """Users with a token and no password: hashing one (argon2) is slow and not needed here."""
    return functools.partial(make_user, password=None)


@pytest.fixture
def developer(make_user: MakeUser) -> Account:
    return make_user("Developer")


def new_plugin(client: TestClient, account: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "Essentials", "category": "admin", "supported_games": ["minecraft"]}
    body.update(fields)
    response = client.post("/v1/plugins", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def publish(
    client: TestClient,
    account: Account | None,
    plugin_id: str,
    version: str,
    content: bytes | None = None,
    **data: str,
) -> Any:
    """Publish a version of the plugin named Essentials (new_plugin's default): a valid
    package of that version unless ``content`` is given."""
    if content is None:
        content = package_bytes("Essentials", version)
    return client.post(
        f"/v1/plugins/{plugin_id}/versions",
        data={"version": version, **data},
        files={"file": ("plugin.zip", content, "application/zip")},
        headers=account.headers if account else {},
    )


def stored_files(settings: Settings) -> list[Path]:
    root = settings.storage_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def plugin_changes(db: Any, plugin_id: str) -> int:
    return db.scalar(
        select(func.count())
        .select_from(Change)
        .where(Change.entity_type == "plugin", Change.entity_id == uuid.UUID(plugin_id))
    )


# --- listings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"), [("Basic", 403), ("Developer", 201), ("Admin", 201), (None, 401)]
)
def test_who_may_list_a_plugin(
    client: TestClient, make_user: MakeUser, role: str | None, expected: int
) -> None:
    headers = make_user(role).headers if role else {}
    response = client.post("/v1/plugins", json={"name": "X", "category": "admin"}, headers=headers)
    assert response.status_code == expected, response.text
    if expected != 201:
        assert response.json()["error"]["code"]


def test_a_new_listing(client: TestClient, developer: Account) -> None:
    created = new_plugin(
        client,
        developer,
        name="Essentials",
        description="Homes, warps and kits",
        price="4.99",
        supported_games=["Minecraft", "minecraft", "valheim"],
        installation_guide="Drop it into plugins/",
    )
    assert created["developer_id"] == str(developer.id)
    assert created["price"] == "4.99"
    assert created["rating"] == "0.00"
    assert created["review_count"] == 0
    assert created["downloads"] == 0
    assert created["version"] == "0.0.0"
    assert created["package_url"] is None
    assert created["is_verified"] is False
    assert created["supported_games"] == ["minecraft", "valheim"]
    assert created["created_at"].endswith("Z")
    shown = client.get(f"/v1/plugins/{created['id']}")
    assert shown.status_code == 200
    assert shown.json() == created
    assert new_plugin(client, developer, name="Priced", price=12)["price"] == "12.00"


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x" * 201, "category": "admin"},
        {"name": "a\x00b", "category": "admin"},
        {"name": "   ", "category": "admin"},
        {"name": "X"},
        {"name": "X", "category": "c" * 51},
        {"name": "X", "category": "admin", "price": "-0.01"},
        {"name": "X", "category": "admin", "price": "100000000.00"},
        {"name": "X", "category": "admin", "price": 10**40},
        {"name": "X", "category": "admin", "price": 1e308},
        {"name": "X", "category": "admin", "price": "1.999"},
        {"name": "X", "category": "admin", "price": "NaN"},
        {"name": "X", "category": "admin", "price": "Infinity"},
        {"name": "X", "category": "admin", "supported_games": [f"g{i}" for i in range(51)]},
        {"name": "X", "category": "admin", "supported_games": ["g" * 51]},
        {"name": "X", "category": "admin", "supported_games": ["has space"]},
        {"name": "X", "category": "admin", "supported_games": "minecraft"},
        {"name": "X", "category": "admin", "description": "d" * 20_001},
        {"name": "X", "category": "admin", "version": "1.0.0"},
        {"name": "X", "category": "admin", "developer_id": str(uuid.uuid4())},
        {"name": "X", "category": "admin", "downloads": 5},
        [],
    ],
)
def test_listing_input_is_validated(client: TestClient, developer: Account, body: Any) -> None:
    response = client.post("/v1/plugins", json=body, headers=developer.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_malformed_json_is_422(client: TestClient, developer: Account) -> None:
    response = client.post(
        "/v1/plugins",
        content=b"{not json",
        headers={**developer.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422


def test_unknown_plugin_is_404_and_bad_id_is_422(client: TestClient) -> None:
    assert client.get(f"/v1/plugins/{uuid.uuid4()}").status_code == 404
    assert client.get("/v1/plugins/not-a-uuid").status_code == 422
    assert client.get(f"/v1/plugins/{uuid.uuid4()}/versions").status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [("developer", 200), ("other_developer", 403), ("admin", 403), ("basic", 403), (None, 401)],
)
def test_who_may_edit_a_listing(
    client: TestClient, make_user: MakeUser, developer: Account, who: str | None, expected: int
) -> None:
    plugin = new_plugin(client, developer)
    callers = {
        "developer": developer,
        "other_developer": make_user("Developer"),
        "admin": make_user("Admin"),
        "basic": make_user("Basic"),
    }
    headers = callers[who].headers if who else {}
    response = client.patch(
        f"/v1/plugins/{plugin['id']}", json={"description": "new"}, headers=headers
    )
    assert response.status_code == expected, response.text


def test_editing_a_listing(client: TestClient, developer: Account, db: Any) -> None:
    plugin = new_plugin(client, developer, description="old", price="1.00")
    url = f"/v1/plugins/{plugin['id']}"
    response = client.patch(
        url,
        json={"description": None, "price": "2.50", "supported_games": ["Rust"]},
        headers=developer.headers,
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["description"] is None
    assert edited["price"] == "2.50"
    assert edited["supported_games"] == ["rust"]
    assert edited["name"] == plugin["name"]
    for body in ({"name": None}, {"price": None}, {"version": "9.9.9"}, {"name": "n" * 201}):
        assert client.patch(url, json=body, headers=developer.headers).status_code == 422
    missing = client.patch(f"/v1/plugins/{uuid.uuid4()}", json={}, headers=developer.headers)
    assert missing.status_code == 404


# --- search ---------------------------------------------------------------------------------


@pytest.fixture
def catalog(client: TestClient, make_user: MakeUser, db: Any) -> dict[str, str]:
    """Five plugins with known downloads, ratings, ages and verification."""
    dev = make_user("Developer")
    specs = {
        "alpha": dict(name="Alpha-Homes", description="Teleport HOMES", category="admin",
                      supported_games=["minecraft"], downloads=50, rating="4.50", reviews=2,
                      verified=True, age=5),
        "beta": dict(name="Beta_Economy", description="Shops and money", category="economy",
                     supported_games=["minecraft", "rust"], downloads=500, rating="3.00",
                     reviews=10, verified=False, age=4),
        "gamma": dict(name="GammaRaids", description=None, category="admin",
                      supported_games=["rust"], downloads=50, rating="4.50", reviews=7,
                      verified=True, age=3),
        "delta": dict(name="Delta", description="keeps your server_alive: 100% uptime",
                      category="utility", supported_games=["valheim"], downloads=0,
                      rating="0.00", reviews=0, verified=False, age=2),
        "eps": dict(name="Epsilon", description="homes for valheim", category="admin",
                    supported_games=[], downloads=5, rating="5.00", reviews=1, verified=False,
                    age=1),
    }  # fmt: skip
    ids = {
        key: new_plugin(
            client,
            dev,
            name=spec["name"],
            description=spec["description"],
            category=spec["category"],
            supported_games=spec["supported_games"],
        )["id"]
        for key, spec in specs.items()
    }
    now = datetime(2026, 1, 1)
    for key, spec in specs.items():
        db.execute(
            update(Plugin)
            .where(Plugin.id == uuid.UUID(ids[key]))
            .values(
                downloads=spec["downloads"],
                rating=Decimal(spec["rating"]),
                review_count=spec["reviews"],
                is_verified=spec["verified"],
                created_at=now - timedelta(days=spec["age"]),
            )
        )
    db.commit()
    return ids


def names(response: Any, ids: dict[str, str]) -> list[str]:
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in ids.items()}
    return [by_id[item["id"]] for item in response.json()["items"]]


def tie(ids: dict[str, str], *keys: str) -> list[str]:
    return sorted(keys, key=lambda k: uuid.UUID(ids[k]))


def test_search_sorts(client: TestClient, catalog: dict[str, str]) -> None:
    by_downloads = names(client.get("/v1/plugins"), catalog)
    assert by_downloads == ["beta", *tie(catalog, "alpha", "gamma"), "eps", "delta"]
    assert names(client.get("/v1/plugins?sort=downloads"), catalog) == by_downloads
    # rating, then review count, then id
    assert names(client.get("/v1/plugins?sort=rating"), catalog) == [
        "eps", "gamma", "alpha", "beta", "delta"
    ]  # fmt: skip
    assert names(client.get("/v1/plugins?sort=newest"), catalog) == [
        "eps", "delta", "gamma", "beta", "alpha"
    ]  # fmt: skip
    assert client.get("/v1/plugins?sort=price").status_code == 422


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=homes", {"alpha", "eps"}),  # name or description, any case
        ("q=HOMES", {"alpha", "eps"}),
        ("q=economy", {"beta"}),
        ("q=100%25", {"delta"}),  # LIKE wildcards are literal
        ("q=%25", {"delta"}),
        ("q=server_alive", {"delta"}),
        ("q=r_alive", {"delta"}),
        ("q=x_y", set()),
        ("category=admin", {"alpha", "gamma", "eps"}),
        ("category=ADMIN", set()),
        ("game=minecraft", {"alpha", "beta"}),
        ("game=Rust", {"beta", "gamma"}),
        ("game=terraria", set()),
        ("verified=true", {"alpha", "gamma"}),
        ("verified=false", {"beta", "delta", "eps"}),
        ("game=rust&verified=true", {"gamma"}),
        ("category=admin&q=homes", {"alpha", "eps"}),
        ("category=admin&game=minecraft&q=homes&verified=true", {"alpha"}),
    ],
)
def test_search_filters(
    client: TestClient, catalog: dict[str, str], query: str, expected: set[str]
) -> None:
    response = client.get(f"/v1/plugins?{query}")
    assert set(names(response, catalog)) == expected
    assert response.json()["total"] == len(expected)


def test_search_by_developer(
    client: TestClient, catalog: dict[str, str], developer: Account
) -> None:
    mine = new_plugin(client, developer)
    response = client.get(f"/v1/plugins?developer_id={developer.id}")
    assert [p["id"] for p in response.json()["items"]] == [mine["id"]]


def test_search_pages_are_stable(client: TestClient, catalog: dict[str, str]) -> None:
    everything = names(client.get("/v1/plugins?per_page=200"), catalog)
    paged: list[str] = []
    for page in (1, 2, 3):
        response = client.get(f"/v1/plugins?per_page=2&page={page}")
        body = response.json()
        assert (body["page"], body["per_page"], body["total"]) == (page, 2, 5)
        paged += names(response, catalog)
    assert paged == everything
    assert client.get("/v1/plugins?per_page=2&page=4").json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "x" * 201,
        "q=a%00b",
        "game=" + "g" * 51,
        "game=a%20b",
        "category=" + "c" * 51,
        "verified=maybe",
        "per_page=0",
        "per_page=201",
        "page=0",
        "page=99999999999999999999",
        "developer_id=nope",
    ],
)
def test_search_input_is_validated(client: TestClient, query: str) -> None:
    assert client.get(f"/v1/plugins?{query}").status_code == 422


def test_game_filter_is_array_containment_on_postgresql() -> None:
    page, count = plugin_service.search_query("postgresql", game="Minecraft")
    for query in (page, count):
        sql = str(query.compile(dialect=postgresql.dialect()))
        assert "plugins.supported_games @> CAST(ARRAY[" in sql
        assert "AS TEXT[])" in sql


@pytest.mark.skipif(not ON_POSTGRES, reason="the GIN index exists on PostgreSQL only")
def test_game_filter_is_served_by_the_gin_index(catalog: dict[str, str], db: Any) -> None:
    page, _ = plugin_service.search_query("postgresql", game="rust")
    compiled = page.limit(50).compile(
        dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    db.execute(text("SET LOCAL enable_seqscan = off"))  # five rows: make the planner show it
    plan = "\n".join(row[0] for row in db.execute(text(f"EXPLAIN {compiled}")))
    db.rollback()
    assert "idx_plugins_supported_games" in plan, plan
    found = db.scalars(page).all()
    assert {str(p.id) for p in found} == {catalog["beta"], catalog["gamma"]}


# --- versions and downloads -----------------------------------------------------------------


def test_publish_and_download_round_trip(
    client: TestClient, developer: Account, db: Any, cloud_settings: Settings
) -> None:
    plugin = new_plugin(client, developer)
    package = package_bytes("Essentials", "1.0.0", files={"big.bin": bytes(range(256)) * 100})
    response = publish(client, developer, plugin["id"], "1.0.0", package, changelog="First")
    assert response.status_code == 201, response.text
    published = response.json()
    digest = hashlib.sha256(package).hexdigest()
    assert published["sha256"] == digest
    assert published["size_bytes"] == len(package)
    assert published["version"] == "1.0.0"
    assert published["changelog"] == "First"
    assert published["download_url"] == f"/v1/plugins/{plugin['id']}/download?version=1.0.0"

    shown = client.get(f"/v1/plugins/{plugin['id']}").json()
    assert shown["version"] == "1.0.0"
    assert shown["package_url"] == published["download_url"]

    row = db.scalars(select(PluginVersion)).one()
    assert (row.sha256, row.size_bytes) == (digest, len(package))
    assert stored_files(cloud_settings) == [PackageStore(cloud_settings.storage_dir).path(
        row.storage_key
    )]  # fmt: skip
    assert row.storage_key == f"{uuid.UUID(plugin['id']).hex}/{row.id.hex}.pkg"

    for expected_downloads in (1, 2):
        download = client.get(f"/v1/plugins/{plugin['id']}/download")  # no login needed
        assert download.status_code == 200
        assert download.content == package
        assert hashlib.sha256(download.content).hexdigest() == download.headers["x-checksum-sha256"]
        assert download.headers["x-checksum-sha256"] == digest
        assert download.headers["content-length"] == str(len(package))
        assert download.headers["content-type"] == "application/octet-stream"
        assert download.headers["x-plugin-version"] == "1.0.0"
        assert "attachment" in download.headers["content-disposition"]
        assert client.get(f"/v1/plugins/{plugin['id']}").json()["downloads"] == expected_downloads


def test_latest_version_follows_semver_precedence(client: TestClient, developer: Account) -> None:
    plugin = new_plugin(client, developer)
    url = f"/v1/plugins/{plugin['id']}"
    contents = {}
    for version in ("1.0.0", "2.0.0-beta.2", "2.0.0-beta.10", "1.10.0", "1.9.3"):
        contents[version] = package_bytes(
            "Essentials", version, files={"v.txt": version.encode() * 10}
        )
        assert (
            publish(client, developer, plugin["id"], version, contents[version]).status_code == 201
        )
    shown = client.get(url).json()
    assert shown["version"] == "2.0.0-beta.10"
    assert shown["package_url"] == f"{url}/download?version=2.0.0-beta.10"
    final = package_bytes("Essentials", "2.0.0", files={"final.txt": b"final"})
    assert publish(client, developer, plugin["id"], "2.0.0", final).status_code == 201
    assert client.get(url).json()["version"] == "2.0.0"
    # a later backport does not move "latest"
    assert publish(client, developer, plugin["id"], "1.10.1").status_code == 201
    assert client.get(url).json()["version"] == "2.0.0"
    listed = [v["version"] for v in client.get(f"{url}/versions").json()]
    assert listed == [
        "2.0.0", "2.0.0-beta.10", "2.0.0-beta.2", "1.10.1", "1.10.0", "1.9.3", "1.0.0"
    ]  # fmt: skip
    assert client.get(f"{url}/download").content == final
    older = client.get(f"{url}/download?version=1.9.3")
    assert older.content == contents["1.9.3"]
    assert older.headers["x-checksum-sha256"] == hashlib.sha256(contents["1.9.3"]).hexdigest()
    assert client.get(url).json()["downloads"] == 2


def test_download_errors(client: TestClient, developer: Account) -> None:
    plugin = new_plugin(client, developer)
    url = f"/v1/plugins/{plugin['id']}/download"
    assert client.get(url).json()["error"]["code"] == "no_published_version"
    assert publish(client, developer, plugin["id"], "1.0.0").status_code == 201
    missing = client.get(f"{url}?version=1.0.1")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "version_not_found")
    assert client.get(f"{url}?version=../../etc").status_code == 422
    assert client.get(f"{url}?version=" + "1" * 21).status_code == 422
    assert client.get(f"/v1/plugins/{uuid.uuid4()}/download").status_code == 404
    assert client.get(f"/v1/plugins/{plugin['id']}").json()["downloads"] == 0


def test_duplicate_version_is_409_and_keeps_the_first(
    client: TestClient, developer: Account, cloud_settings: Settings
) -> None:
    plugin = new_plugin(client, developer)
    first = package_bytes("Essentials", "1.0.0", files={"a.txt": b"first"})
    second = package_bytes("Essentials", "1.0.0", files={"a.txt": b"second"})
    assert publish(client, developer, plugin["id"], "1.0.0", first).status_code == 201
    again = publish(client, developer, plugin["id"], "1.0.0", second)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "version_exists"
    assert len(stored_files(cloud_settings)) == 1
    assert client.get(f"/v1/plugins/{plugin['id']}/download").content == first


def test_upload_size_limit(
    client: TestClient, developer: Account, db: Any, cloud_settings: Settings
) -> None:
    plugin = new_plugin(client, developer)
    too_big = publish(client, developer, plugin["id"], "1.0.1", b"x" * (LIMIT + 1))
    assert too_big.status_code == 413, too_big.text
    assert too_big.json()["error"]["code"] == "too_large"
    assert stored_files(cloud_settings) == []
    assert db.scalar(select(func.count()).select_from(PluginVersion)) == 0
    assert client.get(f"/v1/plugins/{plugin['id']}").json()["version"] == "0.0.0"

    exactly = publish(client, developer, plugin["id"], "1.0.0", package_of_size(LIMIT))
    assert exactly.status_code == 201, exactly.text
    assert exactly.json()["size_bytes"] == LIMIT


def test_oversized_body_is_refused_before_and_while_reading(
    client: TestClient, developer: Account, cloud_settings: Settings
) -> None:
    plugin = new_plugin(client, developer)
    url = f"/v1/plugins/{plugin['id']}/versions"
    headers = {**developer.headers, "Content-Type": "multipart/form-data; boundary=b0undary"}
    declared = client.post(url, content=b"x" * (LIMIT + 2 * 1024 * 1024), headers=headers)
    assert declared.status_code == 413

    def chunked() -> Any:  # no Content-Length: refused as the body streams in
        yield b'--b0undary\r\nContent-Disposition: form-data; name="version"\r\n\r\n1.0.0\r\n'
        yield b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="p"\r\n\r\n'
        for _ in range(LIMIT // 1024 + 10):
            yield b"y" * 1024
        yield b"\r\n--b0undary--\r\n"

    streamed = client.post(url, content=chunked(), headers=headers)
    assert streamed.status_code == 413
    assert stored_files(cloud_settings) == []


def multipart(*parts: tuple[str, bytes, str | None], boundary: str = "XyZ") -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename:
            disposition += f'; filename="{filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


VERSION = ("version", b"1.0.0", None)
FILE = ("file", b"data", "p.zip")


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("multipart/form-data; boundary=XyZ", multipart(VERSION, ("file", b"", "p.zip")), 422),
        ("multipart/form-data; boundary=XyZ", multipart(VERSION), 422),
        ("multipart/form-data; boundary=XyZ", multipart(FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(("version", b"1.0", None), FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(("version", b"v1.0.0", None), FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(("version", b"1" * 21, None), FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(("version", b"1.0.0\0", None), FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(("version", b"\xff\xfe", None), FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(VERSION, FILE, ("extra", b"1", None)), 422),
        ("multipart/form-data; boundary=XyZ", multipart(VERSION, FILE, FILE), 422),
        ("multipart/form-data; boundary=XyZ", multipart(VERSION, VERSION, FILE), 422),
        (
            "multipart/form-data; boundary=XyZ",
            multipart(VERSION, FILE, ("changelog", b"c" * 20_001, None)),
            422,
        ),
        ("multipart/form-data; boundary=XyZ", multipart(VERSION, FILE)[:-12], 422),  # truncated
        ("multipart/form-data; boundary=XyZ", b"garbage", 422),
        ("multipart/form-data; boundary=XyZ", b"", 422),
        ("multipart/form-data", multipart(VERSION, FILE), 422),
        ('multipart/form-data; boundary="a b\x7f"', multipart(VERSION, FILE), 422),
        ("application/json", b'{"version": "1.0.0"}', 415),
        ("application/octet-stream", b"data", 415),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    client: TestClient,
    developer: Account,
    cloud_settings: Settings,
    content_type: str,
    body: bytes,
    status: int,
) -> None:
    plugin = new_plugin(client, developer)
    response = client.post(
        f"/v1/plugins/{plugin['id']}/versions",
        content=body,
        headers={**developer.headers, "Content-Type": content_type},
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"]
    assert stored_files(cloud_settings) == []
    assert client.get(f"/v1/plugins/{plugin['id']}/versions").json() == []


def test_a_well_formed_hand_made_body_is_accepted(client: TestClient, developer: Account) -> None:
    plugin = new_plugin(client, developer)
    package = package_bytes("Essentials", "1.0.0")
    response = client.post(
        f"/v1/plugins/{plugin['id']}/versions",
        content=multipart(
            ("file", package, None), ("changelog", "Fixes ✓".encode(), None), VERSION
        ),
        headers={**developer.headers, "Content-Type": "multipart/form-data; boundary=XyZ"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["changelog"] == "Fixes ✓"
    assert response.json()["sha256"] == hashlib.sha256(package).hexdigest()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("developer", 201), ("other_developer", 403), ("admin", 403), ("basic", 403), (None, 401)],
)
def test_who_may_publish_a_version(
    client: TestClient,
    make_user: MakeUser,
    developer: Account,
    cloud_settings: Settings,
    who: str | None,
    expected: int,
) -> None:
    plugin = new_plugin(client, developer)
    callers = {
        "developer": developer,
        "other_developer": make_user("Developer"),
        "admin": make_user("Admin"),
        "basic": make_user("Basic"),
    }
    response = publish(client, callers[who] if who else None, plugin["id"], "1.0.0")
    assert response.status_code == expected, response.text
    assert len(stored_files(cloud_settings)) == (1 if expected == 201 else 0)


def test_publishing_to_an_unknown_plugin_is_404(client: TestClient, developer: Account) -> None:
    assert publish(client, developer, str(uuid.uuid4()), "1.0.0").status_code == 404


def test_storage_keys_stay_inside_the_storage_folder(tmp_path: Path) -> None:
    store = PackageStore(tmp_path)
    good = f"{uuid.uuid4().hex}/{uuid.uuid4().hex}.pkg"
    assert store.path(good).is_relative_to(tmp_path.resolve())
    for bad in ("../x.pkg", f"{uuid.uuid4().hex}/../../x.pkg", "/etc/passwd", "a/b.pkg", ""):
        with pytest.raises(ValueError):
            store.path(bad)


def test_version_precedence() -> None:
    ordered = [
        "0.0.1", "1.0.0-0", "1.0.0-1", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1",
        "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",
        "1.0.0", "1.2.0", "1.10.0", "10.0.0",
    ]  # fmt: skip
    assert sorted(reversed(ordered), key=plugin_service.version_key) == ordered


# --- verification ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"), [("Admin", 200), ("Developer", 403), ("Basic", 403), (None, 401)]
)
def test_only_an_admin_verifies(
    client: TestClient, make_user: MakeUser, role: str | None, expected: int
) -> None:
    owner = make_user("Developer")
    plugin = new_plugin(client, owner)
    caller = owner if role == "Developer" else make_user(role) if role else None
    response = client.post(
        f"/v1/plugins/{plugin['id']}/verify", headers=caller.headers if caller else {}
    )
    assert response.status_code == expected, response.text
    verified = client.get(f"/v1/plugins/{plugin['id']}").json()["is_verified"]
    assert verified is (expected == 200)


def test_verify_and_unverify(client: TestClient, make_user: MakeUser, developer: Account) -> None:
    admin = make_user("Admin")
    plugin = new_plugin(client, developer)
    url = f"/v1/plugins/{plugin['id']}/verify"
    assert client.post(url, json={"verified": True}, headers=admin.headers).json()["is_verified"]
    assert client.get("/v1/plugins?verified=true").json()["total"] == 1
    undone = client.post(url, json={"verified": False}, headers=admin.headers)
    assert undone.json()["is_verified"] is False
    assert client.post(url, json={"verified": "x"}, headers=admin.headers).status_code == 422
    assert client.post(url, json={"other": 1}, headers=admin.headers).status_code == 422
    unknown = client.post(f"/v1/plugins/{uuid.uuid4()}/verify", headers=admin.headers)
    assert unknown.status_code == 404


# --- ratings --------------------------------------------------------------------------------


def rate(client: TestClient, account: Account, plugin_id: str, rating: Any, **body: Any) -> Any:
    return client.put(
        f"/v1/plugins/{plugin_id}/rating", json={"rating": rating, **body}, headers=account.headers
    )


def test_ratings_keep_the_average_and_count(
    client: TestClient, make_user: MakeUser, developer: Account, db: Any
) -> None:
    plugin = new_plugin(client, developer)
    pid = plugin["id"]
    a, b, c = (make_user() for _ in range(3))
    first = rate(client, a, pid, 5, review="Great")
    assert first.status_code == 200, first.text
    assert first.json()["plugin_rating"] == "5.00"
    assert first.json()["review_count"] == 1
    assert first.json()["rating"]["review"] == "Great"
    assert rate(client, b, pid, 4).json()["plugin_rating"] == "4.50"
    third = rate(client, c, pid, 4).json()
    assert (third["plugin_rating"], third["review_count"]) == ("4.33", 3)
    # rating again replaces
    again = rate(client, a, pid, 1, review="Broke my server").json()
    assert (again["plugin_rating"], again["review_count"]) == ("3.00", 3)
    shown = client.get(f"/v1/plugins/{pid}").json()
    assert (shown["rating"], shown["review_count"]) == ("3.00", 3)
    assert db.scalar(select(func.count()).select_from(PluginRating)) == 3

    reviews = client.get(f"/v1/plugins/{pid}/ratings").json()
    assert reviews["total"] == 3
    assert {r["user_id"]: r["rating"] for r in reviews["items"]} == {
        str(a.id): 1, str(b.id): 4, str(c.id): 4
    }  # fmt: skip

    url = f"/v1/plugins/{pid}/rating"
    assert client.delete(url, headers=a.headers).status_code == 204
    shown = client.get(f"/v1/plugins/{pid}").json()
    assert (shown["rating"], shown["review_count"]) == ("4.00", 2)
    gone = client.delete(url, headers=a.headers)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "rating_not_found")
    for user in (b, c):
        assert client.delete(url, headers=user.headers).status_code == 204
    shown = client.get(f"/v1/plugins/{pid}").json()
    assert (shown["rating"], shown["review_count"]) == ("0.00", 0)


def test_rating_rules(client: TestClient, make_user: MakeUser, developer: Account) -> None:
    plugin = new_plugin(client, developer)
    pid = plugin["id"]
    own = rate(client, developer, pid, 5)
    assert (own.status_code, own.json()["error"]["code"]) == (403, "own_plugin")
    user = make_user()
    for bad in (0, 6, -1, 2.5, "five", None, 10**30):
        assert rate(client, user, pid, bad).status_code == 422, bad
    assert rate(client, user, pid, 3, review="r" * 20_001).status_code == 422
    assert rate(client, user, pid, 3, review="a\x00").status_code == 422
    assert rate(client, user, pid, 3, extra=1).status_code == 422
    assert rate(client, user, str(uuid.uuid4()), 3).status_code == 404
    anonymous = client.put(f"/v1/plugins/{pid}/rating", json={"rating": 3})
    assert anonymous.status_code == 401
    assert client.get(f"/v1/plugins/{pid}").json()["review_count"] == 0


@pytest.mark.skipif(not ON_POSTGRES, reason="row locking is a PostgreSQL matter")
def test_concurrent_ratings_stay_true(
    client: TestClient, make_user: MakeUser, developer: Account, db: Any
) -> None:
    plugin = new_plugin(client, developer)
    pid = plugin["id"]
    raters = [(make_user(), 1 + i % 5) for i in range(16)]
    barrier = threading.Barrier(len(raters))

    def go(rater: tuple[Account, int]) -> int:
        account, stars = rater
        barrier.wait()
        first = rate(client, account, pid, 6 - stars).status_code
        second = rate(client, account, pid, stars).status_code  # re-rating replaces
        return first * 1000 + second

    with ThreadPoolExecutor(len(raters)) as pool:
        assert set(pool.map(go, raters)) == {200 * 1000 + 200}
    total = sum(stars for _, stars in raters)
    expected = (Decimal(total) / len(raters)).quantize(Decimal("0.01"))
    shown = client.get(f"/v1/plugins/{pid}").json()
    assert (shown["rating"], shown["review_count"]) == (f"{expected}", len(raters))


@pytest.mark.skipif(not ON_POSTGRES, reason="SQLite has no row locks")
def test_rating_locks_the_plugin_row(
    client: TestClient, app: Any, make_user: MakeUser, developer: Account
) -> None:
    plugin = new_plugin(client, developer)
    rater = make_user()
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", seen)
    try:
        assert rate(client, rater, plugin["id"], 4).status_code == 200
    finally:
        event.remove(app.state.engine, "before_cursor_execute", seen)
    assert any("FROM plugins" in s and "FOR NO KEY UPDATE" in s for s in statements), statements


# --- the change feed ------------------------------------------------------------------------


def test_catalog_changes_reach_the_change_feed(
    client: TestClient, make_user: MakeUser, developer: Account, db: Any
) -> None:
    plugin = new_plugin(client, developer)
    pid = plugin["id"]
    assert plugin_changes(db, pid) == 1  # created
    client.patch(f"/v1/plugins/{pid}", json={"description": "d"}, headers=developer.headers)
    assert plugin_changes(db, pid) == 2
    client.patch(f"/v1/plugins/{pid}", json={"description": "d"}, headers=developer.headers)
    assert plugin_changes(db, pid) == 2  # nothing changed
    assert publish(client, developer, pid, "1.0.0").status_code == 201
    assert plugin_changes(db, pid) == 3
    client.post(f"/v1/plugins/{pid}/verify", headers=make_user("Admin").headers)
    assert plugin_changes(db, pid) == 4
    rater = make_user()
    rate(client, rater, pid, 4)
    assert plugin_changes(db, pid) == 5
    client.delete(f"/v1/plugins/{pid}/rating", headers=rater.headers)
    assert plugin_changes(db, pid) == 6
    assert client.get(f"/v1/plugins/{pid}/download").status_code == 200  # not a catalog change
    assert plugin_changes(db, pid) == 6
    # refused changes write nothing
    publish(client, developer, pid, "1.0.0")
    rate(client, developer, pid, 5)
    client.patch(f"/v1/plugins/{pid}", json={"name": None}, headers=developer.headers)
    assert plugin_changes(db, pid) == 6
    rows = db.scalars(select(Change).where(Change.entity_id == uuid.UUID(pid))).all()
    assert {(r.operation, r.audience_user_id) for r in rows} == {("upsert", None)}
    assert [r.seq for r in rows] == sorted(r.seq for r in rows)
