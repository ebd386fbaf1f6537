"""The plugin marketplace: listings, published versions, downloads, verification, ratings, and
the plugins installed on a user's game servers.

Every change of a plugin's catalog entry (create, edit, new version, verification, rating)
writes a change-feed row in the same transaction, so clients can keep an offline copy of the
catalog through pull. Download counts are not catalog changes.

A plugin's name is the name its packages carry, unique in the marketplace whatever its case, so
``gsm plugin info NAME`` finds one listing. The seed has no unique index on plugins.name (and
databases made before may hold two listings of one name), so the check runs under an advisory
lock keyed by the lower-case name, as the revenue rules do.

A priced plugin's package goes only to its developer and to the users who bought it (a
``plugin_sale`` transaction): ``check_download``.
"""

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    cast,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from gsm_cloud.db.models import (
    GameServer,
    Plugin,
    PluginInstallation,
    PluginRating,
    PluginVersion,
    User,
)
from gsm_cloud.services import changes, money, revenue
from gsm_cloud.services.storage import PackageUpload, package_key

PUBLISHER_ROLES = ("Developer", "Admin")
NO_VERSION = "0.0.0"
SORTS = ("downloads", "rating", "newest")

# --- versions -------------------------------------------------------------------------------

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$")


def version_key(version: str) -> tuple[Any, ...]:
    """Semantic-versioning precedence: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta < 1.0.0."""
    match = _SEMVER.match(version)
    if match is None:  # not ours; sorts below every valid version
        return (-1,)
    major, minor, patch, pre = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), 0, ids)


def download_path(plugin_id: uuid.UUID, version: str) -> str:
    """The download URL of a version, relative to the API's base URL."""
    return f"/v1/plugins/{plugin_id}/download?version={version}"


# --- listings -------------------------------------------------------------------------------


def get(session: Session, plugin_id: uuid.UUID) -> Plugin:
    plugin = session.get(Plugin, plugin_id)
    if plugin is None:
        raise NotFound("no such plugin", code="plugin_not_found")
    return plugin


def _locked(session: Session, plugin_id: uuid.UUID) -> Plugin:
    """The plugin, its row locked until the transaction ends (SELECT ... FOR NO KEY UPDATE on
    PostgreSQL; SQLite serialises writers anyway and ignores the clause). NO KEY: a foreign-key
    check of another transaction (sync push installing this plugin, which holds the change
    feed's lock) must not wait on us while we wait on the feed: that was a deadlock."""
    plugin = session.scalars(
        select(Plugin)
        .where(Plugin.id == plugin_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).first()
    if plugin is None:
        raise NotFound("no such plugin", code="plugin_not_found")
    return plugin


def _catalog_changed(session: Session, plugin: Plugin) -> None:
    changes.record(
        session,
        entity_type="plugin",
        entity_id=plugin.id,
        operation="upsert",
        audience_user_id=None,
    )


def _own(user: User, plugin: Plugin, action: str) -> None:
    if plugin.developer_id != user.id:
        raise Forbidden(f"only the plugin's developer may {action}", code="not_plugin_developer")


def _serialise_on_name(session: Session, name: str) -> None:
    """Hold a PostgreSQL advisory lock for this name (any case) until the transaction ends, so
    two listings of one name cannot be made at once. (SQLite serialises writers anyway.)"""
    if session.get_bind().dialect.name != "postgresql":
        return
    key = "\x1f".join(("gsm-plugin-name", name.lower()))
    number = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


def _claim_name(session: Session, name: str, plugin_id: uuid.UUID | None) -> None:
    """Refuse a name that another listing has, whatever the case (409 name_taken)."""
    _serialise_on_name(session, name)
    query = select(func.count()).select_from(Plugin).where(func.lower(Plugin.name) == name.lower())
    if plugin_id is not None:
        query = query.where(Plugin.id != plugin_id)
    if session.scalar(query):
        raise Conflict(
            f"another plugin is already named {name!r} (names are unique whatever their case)",
            code="name_taken",
        )


def create(session: Session, user: User, **fields: Any) -> Plugin:
    """A new listing by ``user``; its version is 0.0.0 until the first version is published."""
    if user.role not in PUBLISHER_ROLES:
        raise Forbidden(
            "only users with the Developer or Admin role may list plugins",
            code="developer_role_required",
        )
    _claim_name(session, fields["name"], None)
    plugin = Plugin(
        id=uuid.uuid4(),
        developer_id=user.id,
        version=NO_VERSION,
        downloads=0,
        rating=Decimal("0.00"),
        review_count=0,
        is_verified=False,
        **fields,
    )
    session.add(plugin)
    _catalog_changed(session, plugin)
    session.flush()
    return plugin


def update_listing(session: Session, user: User, plugin_id: uuid.UUID, **fields: Any) -> Plugin:
    plugin = _locked(session, plugin_id)
    _own(user, plugin, "edit it")
    if "price" in fields or "currency" in fields:  # the new pair must fit together
        price = fields.get("price", plugin.price if plugin.price is not None else Decimal(0))
        currency = fields.get("currency", plugin.currency)
        try:
            fields["price"] = money.check_amount(price, currency, allow_zero=True)
        except money.MoneyError as exc:
            raise Invalid(str(exc)) from None
    changed = {name: value for name, value in fields.items() if getattr(plugin, name) != value}
    if "name" in changed:
        _claim_name(session, changed["name"], plugin.id)
    if changed:
        for name, value in changed.items():
            setattr(plugin, name, value)
        _catalog_changed(session, plugin)
        session.flush()
    return plugin


def set_verified(session: Session, user: User, plugin_id: uuid.UUID, verified: bool) -> Plugin:
    if user.role != "Admin":
        raise Forbidden("only an Admin may verify plugins", code="admin_required")
    plugin = _locked(session, plugin_id)
    if bool(plugin.is_verified) != verified:
        plugin.is_verified = verified
        _catalog_changed(session, plugin)
        session.flush()
    return plugin


# --- search ---------------------------------------------------------------------------------


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def supports_game(dialect: str, game: str) -> ColumnElement[bool]:
    """Plugins whose supported_games holds ``game``. On PostgreSQL the array containment
    operator (supported_games @> ARRAY[game]), which the GIN index idx_plugins_supported_games
    serves; on SQLite a look into the JSON array."""
    if dialect == "postgresql":
        games = Plugin.__table__.c.supported_games
        array = cast(postgresql.array([game]), postgresql.ARRAY(Text))
        return games.op("@>", is_comparison=True)(array)
    items = func.json_each(Plugin.supported_games).table_valued("value")
    return exists(select(literal(1)).select_from(items).where(items.c.value == game))


def search_query(
    dialect: str,
    *,
    q: str | None = None,
    name: str | None = None,
    category: str | None = None,
    game: str | None = None,
    verified: bool | None = None,
    developer_id: uuid.UUID | None = None,
    sort: str = "downloads",
) -> tuple[Select[tuple[Plugin]], Select[tuple[int]]]:
    """The page query (without offset and limit) and the count query of a search."""
    where: list[ColumnElement[bool]] = []
    if name:  # exact, any case (served by idx_plugins_name_lower)
        where.append(func.lower(Plugin.name) == name.lower())
    if q:
        pattern = f"%{_escape_like(q)}%"
        where.append(
            or_(
                Plugin.name.ilike(pattern, escape="\\"),
                Plugin.description.ilike(pattern, escape="\\"),
            )
        )
    if category:
        where.append(Plugin.category == category)
    if game:
        where.append(supports_game(dialect, game.lower()))
    if verified is not None:
        where.append(func.coalesce(Plugin.is_verified, false()) == verified)
    if developer_id is not None:
        where.append(Plugin.developer_id == developer_id)
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    order = {
        "downloads": [func.coalesce(Plugin.downloads, 0).desc()],
        "rating": [
            func.coalesce(Plugin.rating, 0).desc(),
            func.coalesce(Plugin.review_count, 0).desc(),
        ],
        "newest": [Plugin.created_at.desc().nulls_last()],
    }[sort]
    page = select(Plugin).where(*where).order_by(*order, Plugin.id)
    count = select(func.count()).select_from(Plugin).where(*where)
    return page, count


def search(
    session: Session, *, offset: int, limit: int, **filters: Any
) -> tuple[list[Plugin], int]:
    dialect = session.get_bind().dialect.name
    page, count = search_query(dialect, **filters)
    items = list(session.scalars(page.offset(offset).limit(limit)))
    return items, int(session.scalar(count) or 0)


# --- versions -------------------------------------------------------------------------------


def _published(session: Session, plugin_id: uuid.UUID) -> list[str]:
    query = select(PluginVersion.version).where(PluginVersion.plugin_id == plugin_id)
    return list(session.scalars(query))


def check_publisher(session: Session, user: User, plugin_id: uuid.UUID) -> None:
    """Refuse early (before an upload is read) a caller who may not publish this plugin."""
    _own(user, get(session, plugin_id), "publish its versions")


def mismatches(plugin: Plugin, manifest: Any, form_version: str | None) -> list[dict[str, Any]]:
    """How a valid package's manifest disagrees with its listing and the form, as problems
    ({rule, path, message}): its name must be the listing's, its version the form's (when the
    form gives one), and each of its games one the listing supports."""
    where = "gsm-plugin.toml"
    problems = []
    if manifest.name != plugin.name:
        problems.append({
            "rule": "name-mismatch",
            "path": where,
            "message": f"the package is {manifest.name!r}, this plugin is {plugin.name!r}",
        })  # fmt: skip
    if form_version is not None and form_version != manifest.version:
        problems.append({
            "rule": "version-mismatch",
            "path": where,
            "message": f"the form says version {form_version}, the package is "
            f"{manifest.version}",
        })  # fmt: skip
    supported = {game.lower() for game in plugin.supported_games or []}
    for game in manifest.games:
        if game.lower() not in supported:
            problems.append({
                "rule": "game-unsupported",
                "path": where,
                "message": f"the package lists the game {game!r}, which the plugin's "
                f"supported_games ({', '.join(sorted(supported)) or 'none'}) does not",
            })  # fmt: skip
    return problems


def publish_version(
    session: Session,
    user: User,
    plugin_id: uuid.UUID,
    *,
    manifest: Any,
    form_version: str | None,
    changelog: str | None,
    upload: PackageUpload,
) -> PluginVersion:
    """Record a finished, valid upload as a new version and move its file into place, then
    commit. ``manifest`` is the package's (plugin_package.Manifest): its version is the
    version's, and it must agree with the listing (``mismatches``: 422 package_mismatch). The
    latest version (by semantic-versioning precedence) becomes plugins.version and
    package_url. Any failure leaves neither the row nor the file."""
    version = manifest.version
    try:
        plugin = _locked(session, plugin_id)
        _own(user, plugin, "publish its versions")
        problems = mismatches(plugin, manifest, form_version)
        if problems:
            raise Invalid(
                f"the package does not match the plugin: {problems[0]['message']}"
                + (f" and {len(problems) - 1} more" if len(problems) > 1 else ""),
                code="package_mismatch",
                problems=problems,
            )
        existing = _published(session, plugin.id)
        if version in existing:
            raise Conflict(f"version {version} is already published", code="version_exists")
        row = PluginVersion(
            id=uuid.uuid4(),
            plugin_id=plugin.id,
            version=version,
            changelog=changelog,
            sha256=upload.sha256,
            size_bytes=upload.size,
            dependencies=dict(manifest.dependencies),
            games=list(manifest.games),
        )
        row.storage_key = package_key(plugin.id, row.id)
        session.add(row)
        latest = max([*existing, version], key=version_key)
        plugin.version = latest
        plugin.package_url = download_path(plugin.id, latest)
        _catalog_changed(session, plugin)
        session.flush()
        upload.place(row.storage_key)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        upload.discard()
        raise Conflict(f"version {version} is already published", code="version_exists") from exc
    except BaseException:
        session.rollback()
        upload.discard()
        raise
    return row


def versions(session: Session, plugin_id: uuid.UUID) -> list[PluginVersion]:
    """Every published version, latest first."""
    get(session, plugin_id)
    rows = session.scalars(select(PluginVersion).where(PluginVersion.plugin_id == plugin_id))
    return sorted(rows, key=lambda row: version_key(row.version), reverse=True)


def version_for_download(
    session: Session, plugin_id: uuid.UUID, version: str | None
) -> PluginVersion:
    """The version to download (the latest when none is named)."""
    get(session, plugin_id)
    if version is None:
        published = _published(session, plugin_id)
        if not published:
            raise NotFound("the plugin has no published version", code="no_published_version")
        version = max(published, key=version_key)
    row = session.scalars(
        select(PluginVersion).where(
            PluginVersion.plugin_id == plugin_id, PluginVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(f"the plugin has no version {version}", code="version_not_found")
    return row


def is_paid(plugin: Plugin) -> bool:
    return (plugin.price or Decimal(0)) > 0


def check_download(session: Session, plugin: Plugin, user: User | None) -> None:
    """A priced plugin's package goes only to its developer and to its buyers: 401 without a
    user, 403 for anyone else, each saying how to buy it. Free plugins are open to everyone."""
    if not is_paid(plugin):
        return
    how = (
        f"buy it (POST /v1/plugins/{plugin.id}/purchase, {plugin.price:.2f} {plugin.currency}), "
        "then download it "
        "with the same account"
    )
    if user is None:
        raise Unauthorized(
            f"{plugin.name} is a paid plugin: log in as a user who bought it; {how}",
            code="purchase_required",
        )
    if plugin.developer_id != user.id and not revenue.has_bought(session, user, plugin):
        raise Forbidden(
            f"{plugin.name} is a paid plugin that you have not bought: {how}",
            code="purchase_required",
        )


def count_download(session: Session, plugin_id: uuid.UUID) -> None:
    """One more download, as a single atomic UPDATE (no read-modify-write race)."""
    session.execute(
        update(Plugin)
        .where(Plugin.id == plugin_id)
        .values(downloads=func.coalesce(Plugin.downloads, 0) + 1)
        .execution_options(synchronize_session=False)
    )


# --- ratings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RatingResult:
    rating: PluginRating
    plugin: Plugin


def _refresh_rating(session: Session, plugin: Plugin) -> None:
    """plugins.rating (average, two decimals) and review_count from the ratings themselves;
    the caller holds the plugin's row lock, so concurrent raters queue up here."""
    session.flush()
    count, total = session.execute(
        select(func.count(), func.coalesce(func.sum(PluginRating.rating), 0)).where(
            PluginRating.plugin_id == plugin.id
        )
    ).one()
    average = Decimal(int(total)) / Decimal(count) if count else Decimal(0)
    plugin.rating = average.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    plugin.review_count = int(count)
    _catalog_changed(session, plugin)
    session.flush()


def rate(
    session: Session, user: User, plugin_id: uuid.UUID, *, rating: int, review: str | None
) -> RatingResult:
    """Rate a plugin 1..5; rating again replaces the caller's earlier rating."""
    plugin = _locked(session, plugin_id)
    if plugin.developer_id == user.id:
        raise Forbidden("a developer cannot rate their own plugin", code="own_plugin")
    row = session.get(PluginRating, (plugin.id, user.id), populate_existing=True)
    if row is None:
        row = PluginRating(plugin_id=plugin.id, user_id=user.id, rating=rating, review=review)
        session.add(row)
    else:
        row.rating = rating
        row.review = review
    _refresh_rating(session, plugin)
    return RatingResult(row, plugin)


def unrate(session: Session, user: User, plugin_id: uuid.UUID) -> Plugin:
    plugin = _locked(session, plugin_id)
    row = session.get(PluginRating, (plugin.id, user.id), populate_existing=True)
    if row is None:
        raise NotFound("you have not rated this plugin", code="rating_not_found")
    session.delete(row)
    _refresh_rating(session, plugin)
    return plugin


def ratings(
    session: Session, plugin_id: uuid.UUID, *, offset: int, limit: int
) -> tuple[list[PluginRating], int]:
    get(session, plugin_id)
    where = PluginRating.plugin_id == plugin_id
    rows = session.scalars(
        select(PluginRating)
        .where(where)
        .order_by(PluginRating.created_at.desc(), PluginRating.user_id)
        .offset(offset)
        .limit(limit)
    )
    total = session.scalar(select(func.count()).select_from(PluginRating).where(where))
    return list(rows), int(total or 0)


# --- installations --------------------------------------------------------------------------


@dataclass(frozen=True)
class Installation:
    row: PluginInstallation
    plugin_name: str | None
    latest_version: str | None


def installations(session: Session, user: User, server_id: uuid.UUID) -> Sequence[Installation]:
    """The plugins installed on one of the caller's game servers (as sync push recorded them)."""
    server = session.get(GameServer, server_id)
    if server is None or server.owner_id != user.id:
        raise NotFound("no such server", code="server_not_found")
    rows = session.execute(
        select(PluginInstallation, Plugin.name, Plugin.version, Plugin.package_url)
        .outerjoin(Plugin, Plugin.id == PluginInstallation.plugin_id)
        .where(PluginInstallation.server_id == server_id)
        .order_by(PluginInstallation.installed_at.nulls_last(), PluginInstallation.id)
    )
    return [
        Installation(row, name, latest if package_url is not None else None)
        for row, name, latest, package_url in rows
    ]
