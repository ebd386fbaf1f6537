"""The plugin marketplace from gsm's side: search (with the catalog cache when the cloud cannot
be asked), info, the version to install (``find_version``), streamed and checked downloads
(``download``) and publishing (``publish``). docs/plugins.md and docs/cloud.md.

No printing here: each function returns data or raises a GsmError. Every answer of the cloud
goes through ``gsm_cli.cloud.client``, which checks its shape.

- A plugin is found by its name, which is unique in the marketplace whatever its case, or by
  its id. A cloud that still holds two listings of one name (made before names were unique)
  is answered with ``plugin_name_ambiguous`` (exit 5) naming their ids.
- ``find_version``: an exact version, an npm-style range, or the latest release. A pre-release
  never wins over a release unless it is asked for: by its exact version, or by a range that
  names a pre-release of the same MAJOR.MINOR.PATCH (npm's rule, which semantic_version's
  NpmSpec follows).
- ``download`` writes into a temporary file in the folder it is given, hashing while it
  streams, and keeps the file only when its sha256 is both the versions listing's and the
  download's ``X-Checksum-Sha256``; anything else deletes it (exit 8, ``digest_mismatch``).
"""

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import (
    CloudUnreachableError,
    ConflictError,
    GsmError,
    NotAllowedError,
    NotFoundError,
    VerificationError,
)
from gsm_cli.paths import Paths
from gsm_cli.store import Store

if TYPE_CHECKING:
    from gsm_cli.services.plugin_package import Package

Report = Callable[[float, float | None, str | None], None]
SORTS = ("downloads", "rating", "new")  # gsm's words; the cloud says "newest" for "new"
PUBLISHER_ROLES = ("Developer", "Admin")
MAX_LIMIT = 200  # the cloud's largest page


@dataclass(frozen=True)
class RemoteVersion:
    """One published version of a plugin, as the cloud lists it."""

    plugin_id: str
    name: str
    version: str
    sha256: str
    size: int
    price: Decimal
    games: list[str] = field(default_factory=list)
    dependencies: dict[str, str] = field(default_factory=dict)

    @property
    def paid(self) -> bool:
        return self.price > 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin_id": self.plugin_id,
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "price": f"{self.price:.2f}",
            "games": list(self.games),
            "dependencies": dict(self.dependencies),
        }


@dataclass
class SearchResult:
    rows: list[dict[str, Any]]
    source: str  # "cloud" or "cache"
    total: int
    cache_updated_at: str | None = None  # the last pull (ISO 8601 UTC), for the cache
    cache_age_seconds: int | None = None
    reason: str | None = None  # why the cache answered


# --- finding plugins and versions -----------------------------------------------------------


def _price(plugin: Mapping[str, Any]) -> Decimal:
    try:
        return Decimal(str(plugin.get("price") or "0"))
    except InvalidOperation:
        return Decimal(0)


def _is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def find_plugin(client: CloudClient, name: str) -> dict[str, Any]:
    """The catalog entry of the plugin called ``name`` (any case), or of the id ``name``."""
    if _is_id(name):
        return client.get_plugin(name)
    found = [p for p in client.plugins_named(name) if p["name"].lower() == name.lower()]
    if not found:
        raise NotFoundError(
            f"no plugin named {name} in the cloud",
            hint="`gsm plugin search TEXT` lists the plugins whose name or description has it",
            code="plugin_not_found",
        )
    if len(found) > 1:
        ids = ", ".join(f"{p['id']} ({p['name']})" for p in found)
        raise ConflictError(
            f"the cloud has {len(found)} plugins named {name}: {ids}",
            hint="name the one you mean by its id instead of its name",
            code="plugin_name_ambiguous",
        )
    return found[0]


def _prerelease(version: str) -> bool:
    return "-" in version


def choose_version(name: str, versions: list[str], spec: str | None) -> str:
    """The version ``spec`` picks out of ``versions`` (NotFoundError when none)."""
    from gsm_cli.services import plugin_package

    valid = [v for v in versions if plugin_package.is_version(v)]
    if spec is not None and plugin_package.is_version(spec):
        if spec in valid:
            return spec
        raise NotFoundError(
            f"plugin {name} has no version {spec}",
            hint=_available(valid),
            code="version_not_found",
        )
    if spec is None:
        best = plugin_package.latest_allowed(None, [v for v in valid if not _prerelease(v)])
        if best is not None:
            return best
        if valid:
            raise NotFoundError(
                f"plugin {name} has only pre-releases ({', '.join(valid[:5])}), and a "
                "pre-release is installed only when asked for",
                hint=f"name one: {name}@{valid[0]}",
                code="version_not_found",
            )
        raise NotFoundError(
            f"plugin {name} has no published version yet", code="no_published_version"
        )
    best = plugin_package.latest_allowed(plugin_package.parse_range(spec), valid)
    if best is None:
        raise NotFoundError(
            f"no version of plugin {name} matches {spec}",
            hint=_available(valid),
            code="version_not_found",
        )
    return best


def _available(versions: list[str]) -> str:
    if not versions:
        return "it has no published version yet"
    shown = ", ".join(versions[:10]) + (" ..." if len(versions) > 10 else "")
    return f"its versions: {shown}"


def find_version(client: CloudClient, name: str, spec: str | None) -> RemoteVersion:
    """The version of plugin ``name`` to install: ``spec`` is an exact version ("1.2.0",
    "2.0.0-rc.1"), an npm-style range ("^1.2", ">=1.0.0 <2.0.0"), or None for the latest
    release. NotFoundError (exit 3) when the plugin or such a version does not exist;
    InvalidInputError (exit 4, ``invalid_range``) for a spec that is neither."""
    plugin = find_plugin(client, name)
    versions = client.plugin_versions(plugin["id"])
    chosen = choose_version(plugin["name"], [v["version"] for v in versions], spec)
    row = next(v for v in versions if v["version"] == chosen)
    games = row["games"] if row["games"] is not None else plugin["supported_games"]
    return RemoteVersion(
        plugin_id=plugin["id"],
        name=plugin["name"],
        version=chosen,
        sha256=row["sha256"],
        size=row["size_bytes"],
        price=_price(plugin),
        games=[str(game).lower() for game in games],
        dependencies=dict(row["dependencies"] or {}),
    )


# --- downloads ------------------------------------------------------------------------------


def buy_hint(name: str) -> str:
    return (
        f"buy it (`gsm plugin buy {name}`) with the account gsm is logged in as, then try "
        "again; its developer can download it too"
    )


def _file_stem(remote: RemoteVersion) -> str:
    from gsm_cli.services import plugin_package

    name = remote.name if re.match(plugin_package.NAME_PATTERN, remote.name) else "plugin"
    return f"{name}-{remote.version}-"


def download(
    client: CloudClient, remote: RemoteVersion, dest_dir: Path, report: Report | None = None
) -> Path:
    """Stream the package of ``remote`` into a new file in ``dest_dir`` and return its path
    (``NAME-VERSION-*.zip``).

    The sha256 is computed while the bytes arrive and must equal both ``remote.sha256`` (the
    versions listing's) and the answer's ``X-Checksum-Sha256``, and the size the listing's;
    otherwise the file is deleted and VerificationError (exit 8, ``digest_mismatch``) raised.
    Any other failure (the cloud, the disk, an interruption) deletes it too. A paid plugin
    needs a logged-in buyer or its developer (exit 6 with how to buy)."""
    temp, handle = _fetch(client, remote, Path(dest_dir), report)
    handle.close()
    final = temp.with_suffix(".zip")
    try:
        os.replace(temp, final)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return final


def download_package(
    client: CloudClient,
    remote: RemoteVersion,
    dest_dir: Path,
    known_games: Collection[str],
    report: Report | None = None,
) -> "Package":
    """``download``, then the package validated from the very file its bytes were written to
    and hashed as they arrived, held open (neither read nor hashed a second time). The file
    keeps its ``.part`` name: it lives only as long as the caller's work folder."""
    from gsm_cli.services import plugin_package

    temp, handle = _fetch(client, remote, Path(dest_dir), report)
    try:
        return plugin_package.package_from(
            handle, temp, sha256=remote.sha256.lower(), size=remote.size, known_games=known_games
        )
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _fetch(
    client: CloudClient, remote: RemoteVersion, dest_dir: Path, report: Report | None
) -> tuple[Path, IO[bytes]]:
    """The checked download of ``download`` into a ``.part`` file, returned open for reading
    (positioned at its end). Not fsynced: the package is a work file, and what reaches the
    server is extracted from it and checked again by ``gsm plugin verify``."""
    if remote.paid and not client.authenticated:
        raise NotAllowedError(
            f"{remote.name} is a paid plugin ({remote.price:.2f}): log in as a user who "
            "bought it to download it",
            hint=f"run gsm auth login, then {buy_hint(remote.name)}",
            code="purchase_required",
        )
    fd, name = tempfile.mkstemp(dir=dest_dir, prefix=_file_stem(remote), suffix=".part")
    temp = Path(name)
    digest = hashlib.sha256()
    received = 0
    label = f"{remote.name} {remote.version}"
    handle = os.fdopen(fd, "w+b")
    try:

        def sink(chunk: bytes) -> None:
            nonlocal received
            received += len(chunk)
            if received > remote.size:
                raise _mismatch(
                    remote, f"the cloud sent more than the {remote.size} bytes it lists"
                )
            handle.write(chunk)
            digest.update(chunk)
            if report is not None:
                report(received, remote.size, label)

        try:
            headers = client.download(remote.plugin_id, remote.version, sink)
        except NotAllowedError as exc:
            if exc.code == "purchase_required" and client.authenticated:  # name the command
                exc.hint = buy_hint(remote.name)
            raise
        handle.flush()
        got = digest.hexdigest()
        sent = headers.get("x-checksum-sha256", "").lower()
        if received != remote.size:
            raise _mismatch(remote, f"{received} bytes arrived, the cloud lists {remote.size}")
        if got != remote.sha256.lower():
            raise _mismatch(remote, f"its sha256 is {got}, the cloud lists {remote.sha256}")
        if sent != got:
            raise _mismatch(
                remote,
                f"its sha256 is {got}, the download's X-Checksum-Sha256 says {sent or 'nothing'}",
            )
        return temp, handle
    except BaseException:
        handle.close()
        temp.unlink(missing_ok=True)
        raise


def _mismatch(remote: RemoteVersion, detail: str) -> VerificationError:
    return VerificationError(
        f"the download of {remote.name} {remote.version} is not the published package: "
        f"{detail}; it was deleted",
        hint="try again; if it persists, the cloud's copy or something between you and it "
        "changes the bytes: tell the cloud's admin",
        code="digest_mismatch",
    )


# --- search and info ------------------------------------------------------------------------


def _client(store: Store, paths: Paths, env: Mapping[str, str]) -> CloudClient:
    from gsm_cli.cloud import session

    return session.connect(store, paths, env)


def _cloud_search(
    client: CloudClient,
    *,
    text: str | None,
    game: str | None,
    category: str | None,
    verified: bool | None,
    sort: str,
    limit: int,
) -> SearchResult:
    params: dict[str, Any] = {
        "sort": "newest" if sort == "new" else sort,
        "per_page": limit,
    }
    for key, value in (("q", text), ("game", game), ("category", category)):
        if value:
            params[key] = value
    if verified is not None:
        params["verified"] = "true" if verified else "false"
    page = client.search_plugins(params)
    return SearchResult(rows=page["items"][:limit], source="cloud", total=page["total"])


def _matches(
    entry: Mapping[str, Any],
    text: str | None,
    game: str | None,
    category: str | None,
    verified: bool | None,
) -> bool:
    if text:
        needle = text.lower()
        hay = f"{entry.get('name') or ''}\n{entry.get('description') or ''}".lower()
        if needle not in hay:
            return False
    if game and game.lower() not in [str(g).lower() for g in entry.get("supported_games") or []]:
        return False
    if category and entry.get("category") != category:
        return False
    return verified is None or bool(entry.get("is_verified")) == verified


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _sorted(entries: list[dict[str, Any]], sort: str) -> list[dict[str, Any]]:
    """In the cloud's order: most downloads, best rating (then most reviews) or newest first
    (entries without a time last), ties by id."""
    by_id = sorted(entries, key=lambda e: e["id"])
    if sort == "rating":
        key: Callable[[dict[str, Any]], Any] = lambda e: (  # noqa: E731
            _number(e.get("rating")),
            _number(e.get("review_count")),
        )
    elif sort == "new":  # ISO 8601 times sort as text; "" (no time) comes last
        key = lambda e: str(e.get("created_at") or "")  # noqa: E731
    else:
        key = lambda e: _number(e.get("downloads"))  # noqa: E731
    return sorted(by_id, key=key, reverse=True)  # stable: ties keep the id order


def cache_search(
    store: Store,
    *,
    text: str | None,
    game: str | None,
    category: str | None,
    verified: bool | None,
    sort: str,
    limit: int,
) -> SearchResult | None:
    """The same search over the catalog cache that `gsm sync pull` keeps; None when gsm has
    never pulled (there is no cache to answer from)."""
    from sqlalchemy import select

    from gsm_cli.store.models import CatalogPlugin, SyncState
    from gsm_cli.timeutil import iso_utc

    with store.read() as session:
        state = session.get(SyncState, 1)
        pulled_at = state.last_pull_at if state else None
        entries = []
        for row in session.scalars(select(CatalogPlugin)):
            data = dict(row.data) if isinstance(row.data, dict) else {}
            data.setdefault("id", row.id)
            data.setdefault("name", row.name)
            data.setdefault("description", row.description)
            data.setdefault("category", row.category)
            data.setdefault("version", row.version)
            data["id"] = str(data["id"])
            entries.append(data)
    if pulled_at is None and not entries:
        return None
    found = _sorted([e for e in entries if _matches(e, text, game, category, verified)], sort)
    updated = iso_utc(pulled_at)
    age = None
    if updated:
        when = datetime.fromisoformat(updated.replace("Z", "+00:00"))
        age = max(0, int((datetime.now(UTC) - when).total_seconds()))
    return SearchResult(
        rows=found[:limit],
        source="cache",
        total=len(found),
        cache_updated_at=updated,
        cache_age_seconds=age,
    )


def search(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    *,
    text: str | None = None,
    game: str | None = None,
    category: str | None = None,
    verified: bool | None = None,
    sort: str = "downloads",
    limit: int = 50,
) -> SearchResult:
    """Search the marketplace: the cloud's catalog, or, when gsm is logged out or the cloud
    cannot be reached, the catalog cache of the last `gsm sync pull` (``source`` "cache", with
    its age and the reason). Without a cache the cloud's error stands."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    limit = max(1, min(limit, MAX_LIMIT))
    query = dict(text=text, game=game, category=category, verified=verified, sort=sort)
    failure: GsmError
    try:
        with _client(store, paths, env) as client:
            return _cloud_search(client, limit=limit, **query)  # type: ignore[arg-type]
    except NotAllowedError as exc:
        from gsm_cli.cloud.client import CloudTokenRefusedError

        if isinstance(exc, CloudTokenRefusedError):
            raise
        failure, reason = exc, "not logged in"
    except CloudUnreachableError as exc:
        failure, reason = exc, exc.message
    cached = cache_search(store, limit=limit, **query)  # type: ignore[arg-type]
    if cached is None:
        failure.hint = (
            f"{failure.hint + '; ' if failure.hint else ''}`gsm sync pull` keeps a copy of the "
            "catalog for searching offline"
        )
        raise failure
    cached.reason = reason
    return cached


def info(store: Store, paths: Paths, env: Mapping[str, str], name: str) -> dict[str, Any]:
    """One plugin from the cloud: its catalog entry and every published version with its
    sha256, size, games and dependencies (latest first). Logged out, asks the cloud
    anonymously when its URL is known."""
    from gsm_cli.cloud import session

    with session.connect_or_anonymous(store, paths, env) as client:
        plugin = find_plugin(client, name)
        versions = client.plugin_versions(plugin["id"])
    price = _price(plugin)
    release = choose_latest_release([v["version"] for v in versions])
    return {
        "id": plugin["id"],
        "name": plugin["name"],
        "description": plugin.get("description"),
        "category": plugin["category"],
        "latest": plugin["version"] if versions else None,
        "latest_release": release,
        "price": f"{price:.2f}",
        "paid": price > 0,
        "supported_games": list(plugin["supported_games"]),
        "is_verified": plugin["is_verified"],
        "downloads": plugin.get("downloads"),
        "rating": plugin.get("rating"),
        "review_count": plugin.get("review_count"),
        "developer_id": plugin.get("developer_id"),
        "created_at": plugin.get("created_at"),
        "versions": [
            {
                "version": v["version"],
                "prerelease": _prerelease(v["version"]),
                "sha256": v["sha256"],
                "size": v["size_bytes"],
                "games": v["games"],
                "dependencies": v["dependencies"],
                "changelog": v.get("changelog"),
                "published_at": v.get("created_at"),
            }
            for v in versions
        ],
    }


def choose_latest_release(versions: list[str]) -> str | None:
    from gsm_cli.services import plugin_package

    return plugin_package.latest_allowed(None, [v for v in versions if not _prerelease(v)])


# --- publishing -----------------------------------------------------------------------------


def publish(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    file: Path,
    report: Report | None = None,
    *,
    changelog: str | None = None,
) -> dict[str, Any]:
    """Publish a package: validate it here first (exit 8 with every problem), then, logged in
    with the Developer (or Admin) role (exit 6 otherwise), find the caller's plugin of the
    manifest's name or list it from the manifest, add the manifest's games to the listing's
    supported games when some are missing, and upload the package streamed from the file.
    Returns {name, version, sha256, size, plugin_id, created_listing, games_added}."""
    from gsm_cli.services import games, plugin_package

    with plugin_package.open_package(file, known_games=list(games.catalog())) as package:
        manifest = package.manifest
        sha256 = package.sha256
    with _client(store, paths, env) as client:
        me = client.me()
        role = me.get("role")
        if role not in PUBLISHER_ROLES:
            raise NotAllowedError(
                f"publishing plugins needs the Developer role; {me['email']} has the role "
                f"{role or 'unknown'}",
                hint="ask the cloud's admin for the Developer role, or log in with a "
                "developer's account (gsm auth login)",
                code="developer_role_required",
            )
        plugin, created = _listing_for(client, manifest, me["id"])
        added = [g for g in manifest.games if g.lower() not in _lower(plugin["supported_games"])]
        if added:
            plugin = client.update_plugin(
                plugin["id"], {"supported_games": [*plugin["supported_games"], *added]}
            )
        try:
            answer = client.publish_version(
                plugin["id"],
                Path(file),
                version=manifest.version,
                changelog=changelog,
                report=report,
            )
        except ConflictError as exc:
            if exc.code == "version_exists":
                exc.hint = (
                    "a version is published once: raise the version in gsm-plugin.toml, then "
                    "pack and publish again"
                )
            raise
    if answer["sha256"] != sha256:
        raise VerificationError(
            f"the cloud stored {manifest.name} {manifest.version} with the sha256 "
            f"{answer['sha256']}, but the package checked here has {sha256}: {file} changed "
            "while it was uploaded",
            hint="check the version in the cloud (gsm plugin info) before using it",
            code="digest_mismatch",
        )
    return {
        "name": plugin["name"],
        "version": answer["version"],
        "sha256": answer["sha256"],
        "size": answer["size_bytes"],
        "plugin_id": plugin["id"],
        "created_listing": created,
        "games_added": added,
    }


def _lower(values: list[str]) -> set[str]:
    return {str(v).lower() for v in values}


def _listing_for(client: CloudClient, manifest: Any, my_id: str) -> tuple[dict[str, Any], bool]:
    """The caller's plugin of the manifest's name, made from the manifest when there is none."""
    from gsm_cli.services import plugin_package

    found = client.plugins_named(manifest.name)
    mine = [p for p in found if p.get("developer_id") == my_id]
    if not found:
        created = client.create_plugin(
            {
                "name": manifest.name,
                "category": manifest.category,
                "description": manifest.description,
                "supported_games": list(manifest.games),
            }
        )
        return created, True
    if not mine:
        raise ConflictError(
            f"the name {manifest.name} belongs to another developer's plugin",
            hint="plugin names are unique in the marketplace whatever their case: rename "
            "yours (name in gsm-plugin.toml)",
            code="name_taken",
        )
    if len(mine) > 1:
        ids = ", ".join(p["id"] for p in mine)
        raise ConflictError(
            f"you have {len(mine)} plugins named {manifest.name} in the cloud: {ids}",
            hint="rename all but one of them in the cloud (PATCH /v1/plugins/{id})",
            code="plugin_name_ambiguous",
        )
    plugin = mine[0]
    if plugin["name"] != manifest.name:
        problem = plugin_package.Problem(
            "name-mismatch",
            plugin_package.MANIFEST,
            f"the package is {manifest.name!r}, your plugin in the cloud is {plugin['name']!r}",
        )
        error = plugin_package.PackageInvalid(
            f"{manifest.name} is called {plugin['name']} in the cloud: a package's name must "
            "be its plugin's, letter for letter",
            [problem],
            hint=f"set name = {plugin['name']!r} in gsm-plugin.toml and pack again",
        )
        error.code = "package_mismatch"
        raise error
    return plugin, False
