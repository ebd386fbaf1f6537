"""Packages the cloud accepts: validated with the package format's own rules on upload, matched
with their listing, their dependencies and games kept per version; names unique in the
marketplace; paid plugins downloaded only by their buyers and their developer."""

import functools
import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from gsm_cloud.config import Settings
from gsm_cloud.db.models import Plugin, PluginVersion
from tests.cloud.conftest import Account, MakeUser
from tests.packages import manifest_text, package_bytes


@pytest.fixture
def make_user(make_user: MakeUser) -> MakeUser:
    return functools.partial(make_user, password=None)  # tokens only: no argon2 cost


@pytest.fixture
def developer(make_user: MakeUser) -> Account:
    return make_user("Developer")


def listing(client: TestClient, who: Account, **fields: Any) -> dict[str, Any]:
    body = {"name": "Essentials", "category": "admin", "supported_games": ["minecraft"]}
    body.update(fields)
    response = client.post("/v1/plugins", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()


def upload(
    client: TestClient, who: Account | None, plugin_id: str, content: bytes, **form: str
) -> Any:
    return client.post(
        f"/v1/plugins/{plugin_id}/versions",
        data=form,
        files={"file": ("p.zip", content, "application/zip")},
        headers=who.headers if who else {},
    )


def stored(settings: Settings) -> list[Path]:
    root = settings.storage_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def hostile_zip() -> bytes:
    """Three problems at once: a path out of the folder, a file outside files/, a bad category."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("gsm-plugin.toml", manifest_text("Essentials", "1.0.0", category="toys"))
        archive.writestr("files/../../evil.sh", b"#!/bin/sh\n")
        archive.writestr("README.md", b"outside files/")
    return out.getvalue()


# --- validation on upload ---------------------------------------------------------------------


def test_an_invalid_package_is_422_with_every_rule_and_leaves_nothing(
    client: TestClient, developer: Account, cloud_settings: Settings, db: Any
) -> None:
    plugin = listing(client, developer)
    response = upload(client, developer, plugin["id"], hostile_zip(), version="1.0.0")
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "package_invalid"
    found = {(p["rule"], p["path"]) for p in error["problems"]}
    assert ("path-traversal", "files/../../evil.sh") in found
    assert ("path-outside-files", "README.md") in found
    assert ("category-unknown", "gsm-plugin.toml") in found
    assert all(set(p) == {"rule", "path", "message"} and p["message"] for p in error["problems"])
    assert "path-traversal" in error["message"] or "category-unknown" in error["message"]
    assert stored(cloud_settings) == []
    assert db.scalar(select(func.count()).select_from(PluginVersion)) == 0
    assert client.get(f"/v1/plugins/{plugin['id']}").json()["version"] == "0.0.0"


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"not a zip at all", "zip-invalid"),
        (package_bytes(manifest='name = "Essentials"\n'), "manifest-key-missing"),
        (package_bytes(version="1.0"), "version-invalid"),
        (package_bytes(games=["no-such-game"]), "game-unknown"),
        (package_bytes(deps={"Essentials": "^1.0.0"}), "dependency-self"),
        (package_bytes(deps={"Vault": "not a range"}), "dependency-range-invalid"),
    ],
)
def test_each_rule_of_the_format_is_the_clouds_rule(
    client: TestClient, developer: Account, cloud_settings: Settings, content: bytes, rule: str
) -> None:
    plugin = listing(client, developer)
    response = upload(client, developer, plugin["id"], content)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "package_invalid"
    assert rule in {p["rule"] for p in error["problems"]}
    assert stored(cloud_settings) == []


@pytest.mark.parametrize(
    ("content", "form", "rules"),
    [
        (package_bytes("Other", "1.0.0"), {}, {"name-mismatch"}),
        (package_bytes("essentials", "1.0.0"), {}, {"name-mismatch"}),  # exactly the name
        (package_bytes("Essentials", "1.0.0"), {"version": "1.0.1"}, {"version-mismatch"}),
        (package_bytes(games=["minecraft", "valheim"]), {}, {"game-unsupported"}),
        (
            package_bytes("Other", "2.0.0", games=["rust"]),
            {"version": "1.0.0"},
            {"name-mismatch", "version-mismatch", "game-unsupported"},
        ),
    ],
)
def test_a_package_must_match_its_listing_and_form(
    client: TestClient,
    developer: Account,
    cloud_settings: Settings,
    content: bytes,
    form: dict[str, str],
    rules: set[str],
) -> None:
    plugin = listing(client, developer)
    response = upload(client, developer, plugin["id"], content, **form)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "package_mismatch"
    assert {p["rule"] for p in error["problems"]} == rules
    assert stored(cloud_settings) == []
    assert client.get(f"/v1/plugins/{plugin['id']}/versions").json() == []


def test_the_version_dependencies_and_games_come_from_the_manifest(
    client: TestClient, developer: Account, db: Any
) -> None:
    plugin = listing(client, developer, supported_games=["minecraft", "custom", "valheim"])
    first = upload(client, developer, plugin["id"], package_bytes(version="1.0.0"))
    assert first.status_code == 201, first.text
    assert first.json()["dependencies"] == {} and first.json()["games"] == ["minecraft"]
    second = package_bytes(
        version="1.1.0-beta.1",
        games=["Minecraft", "custom"],
        deps={"Vault": "^1.7.0", "LuckPerms": ">=5.4.0 <6.0.0"},
    )
    answer = upload(client, developer, plugin["id"], second, version="1.1.0-beta.1")
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"] == "1.1.0-beta.1"
    listed = client.get(f"/v1/plugins/{plugin['id']}/versions").json()
    deps = {"Vault": "^1.7.0", "LuckPerms": ">=5.4.0 <6.0.0"}
    assert [(v["version"], v["games"], v["dependencies"]) for v in listed] == [
        ("1.1.0-beta.1", ["minecraft", "custom"], deps),
        ("1.0.0", ["minecraft"], {}),
    ]
    # A version published before packages were validated says so with nulls.
    db.execute(update(PluginVersion).values(dependencies=None, games=None))
    db.commit()
    old = client.get(f"/v1/plugins/{plugin['id']}/versions").json()
    assert {(v["dependencies"], v["games"]) for v in old} == {(None, None)}


# --- names and categories ---------------------------------------------------------------------


def test_names_are_unique_whatever_their_case(
    client: TestClient, developer: Account, make_user: MakeUser
) -> None:
    first = listing(client, developer, name="Essentials")
    for name in ("Essentials", "ESSENTIALS", "essentials"):
        taken = client.post(
            "/v1/plugins",
            json={"name": name, "category": "admin"},
            headers=make_user("Developer").headers,
        )
        assert taken.status_code == 409, taken.text
        assert taken.json()["error"]["code"] == "name_taken"
    other = listing(client, developer, name="Vault")
    renamed = client.patch(
        f"/v1/plugins/{other['id']}", json={"name": "essentials"}, headers=developer.headers
    )
    assert (renamed.status_code, renamed.json()["error"]["code"]) == (409, "name_taken")
    # Its own name in another case is fine.
    recased = client.patch(
        f"/v1/plugins/{first['id']}", json={"name": "EssentialsX"}, headers=developer.headers
    )
    assert recased.status_code == 200, recased.text
    found = client.get("/v1/plugins", params={"name": "essentialsx"}).json()
    assert [p["id"] for p in found["items"]] == [first["id"]]
    assert client.get("/v1/plugins", params={"name": "Essentials"}).json()["items"] == []
    assert client.get("/v1/plugins", params={"name": "Essen%"}).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Essentials X", "category": "admin"},
        {"name": "Essentials/X", "category": "admin"},
        {"name": "e" * 129, "category": "admin"},
        {"name": "Essentials", "category": "tools"},
        {"name": "Essentials", "category": "Admin"},
    ],
)
def test_names_and_categories_follow_the_package_format(
    client: TestClient, developer: Account, body: dict[str, Any]
) -> None:
    response = client.post("/v1/plugins", json=body, headers=developer.headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_a_listing_made_before_keeps_its_category_until_edited(
    client: TestClient, developer: Account, db: Any
) -> None:
    plugin = listing(client, developer)
    db.execute(
        update(Plugin).where(Plugin.id == uuid.UUID(plugin["id"])).values(category="Admin Tools")
    )
    db.commit()
    url = f"/v1/plugins/{plugin['id']}"
    kept = client.patch(url, json={"description": "better"}, headers=developer.headers)
    assert kept.status_code == 200 and kept.json()["category"] == "Admin Tools"
    assert client.get("/v1/plugins", params={"category": "Admin Tools"}).json()["total"] == 1
    refused = client.patch(url, json={"category": "Tools"}, headers=developer.headers)
    assert refused.status_code == 422
    changed = client.patch(url, json={"category": "utility"}, headers=developer.headers)
    assert changed.json()["category"] == "utility"


# --- paid plugins -----------------------------------------------------------------------------


def test_a_paid_plugin_downloads_only_for_its_buyers_and_its_developer(
    client: TestClient, developer: Account, make_user: MakeUser
) -> None:
    paid = listing(client, developer, name="Premium", price="4.99")
    assert upload(client, developer, paid["id"], package_bytes("Premium")).status_code == 201
    url = f"/v1/plugins/{paid['id']}/download"

    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert anonymous.json()["error"]["code"] == "purchase_required"
    assert f"/v1/plugins/{paid['id']}/purchase" in anonymous.json()["error"]["message"]

    buyer, stranger = make_user(), make_user()
    refused = client.get(url, headers=stranger.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "purchase_required"
    assert "buy it" in refused.json()["error"]["message"]
    assert "4.99" in refused.json()["error"]["message"]
    bad_token = client.get(url, headers={"Authorization": "Bearer gsmc_nope"})
    assert (bad_token.status_code, bad_token.json()["error"]["code"]) == (401, "invalid_token")
    assert client.get(f"/v1/plugins/{paid['id']}").json()["downloads"] == 0  # none counted

    # A purchase by someone else does not count for the buyer.
    assert client.post(f"/v1/plugins/{paid['id']}/purchase", headers=stranger.headers).is_success
    assert client.get(url, headers=buyer.headers).status_code == 403
    bought = client.post(f"/v1/plugins/{paid['id']}/purchase", headers=buyer.headers)
    assert bought.status_code == 201, bought.text
    downloaded = client.get(url, headers=buyer.headers)
    assert downloaded.status_code == 200
    assert downloaded.content == package_bytes("Premium")
    assert client.get(url, headers=developer.headers).status_code == 200
    assert client.get(f"/v1/plugins/{paid['id']}").json()["downloads"] == 2

    # A buyer keeps the plugin when its price changes, and a free plugin is open to everyone.
    client.patch(f"/v1/plugins/{paid['id']}", json={"price": "9.99"}, headers=developer.headers)
    assert client.get(url, headers=buyer.headers).status_code == 200
    client.patch(f"/v1/plugins/{paid['id']}", json={"price": "0"}, headers=developer.headers)
    assert client.get(url).status_code == 200
    assert client.get(url, headers={"Authorization": "Bearer gsmc_nope"}).status_code == 200
