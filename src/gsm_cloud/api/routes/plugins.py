"""The plugin marketplace: /v1/plugins."""

import re
import uuid
from decimal import Decimal
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse
from pydantic import ValidationError
from starlette.requests import ClientDisconnect

from gsm_cli.services import plugin_package
from gsm_cloud.api.bodies import OWN, TEXT, ApiRoute, body_limit
from gsm_cloud.api.deps import BearerDep, CurrentUser, PagingDep, SessionDep, SettingsDep, user_of
from gsm_cloud.api.errors import ApiError, Invalid, TooLarge, responses
from gsm_cloud.api.schemas.common import Page, Text
from gsm_cloud.api.schemas.plugins import (
    GAME_PATTERN,
    MAX_CHANGELOG,
    NAME_PATTERN,
    PUBLISH_REQUEST_BODY,
    VERSION_PATTERN,
    PluginCreate,
    PluginOut,
    PluginSort,
    PluginUpdate,
    PluginVersionOut,
    RatingIn,
    RatingOut,
    RatingResult,
    VerifyRequest,
    VersionForm,
)
from gsm_cloud.db.models import PluginVersion
from gsm_cloud.services import plugins
from gsm_cloud.services.storage import PackageStore, PackageUpload

try:
    from python_multipart import MultipartParser
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import parse_options_header
except ModuleNotFoundError:  # pragma: no cover - python-multipart < 0.0.13
    from multipart import MultipartParser  # type: ignore[no-redef]
    from multipart.exceptions import FormParserError  # type: ignore[no-redef]
    from multipart.multipart import parse_options_header  # type: ignore[no-redef]

router = APIRouter(prefix="/v1/plugins", tags=["plugins"], route_class=ApiRoute)


def _out(plugin: Any) -> PluginOut:
    return PluginOut.model_validate(plugin)


def _version_out(row: PluginVersion) -> PluginVersionOut:
    return PluginVersionOut(
        id=row.id,
        plugin_id=row.plugin_id,
        version=row.version,
        changelog=row.changelog,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        created_at=row.created_at,
        download_url=plugins.download_path(row.plugin_id, row.version),
        dependencies=row.dependencies,
        games=row.games,
    )


@router.post(
    "",
    response_model=PluginOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 409, 422),
)
@body_limit(TEXT)
def create_plugin(body: PluginCreate, user: CurrentUser, session: SessionDep) -> PluginOut:
    """List a new plugin (Developer or Admin role). The caller becomes its developer; its
    version is "0.0.0" until the first version is published. The name is the name its
    packages carry, unique whatever its case (409 name_taken). The price ("4.99", default
    free) is in its currency (ISO 4217, default USD) and has no more decimals than it allows."""
    plugin = plugins.create(session, user, **body.model_dump())
    session.commit()
    return _out(plugin)


@router.get("", response_model=Page[PluginOut], responses=responses(422))
def search_plugins(
    session: SessionDep,
    paging: PagingDep,
    q: Annotated[
        Text(max_length=200) | None,
        Query(description="Words in the name or description (case-insensitive)"),
    ] = None,
    name: Annotated[
        str | None,
        Query(
            max_length=128,
            pattern=NAME_PATTERN,
            description="Exactly this name, whatever its case (at most one plugin has it)",
        ),
    ] = None,
    category: Annotated[Text(max_length=50) | None, Query(max_length=50)] = None,
    game: Annotated[
        str | None,
        Query(max_length=50, pattern=GAME_PATTERN, description="A game id in supported_games"),
    ] = None,
    verified: Annotated[bool | None, Query()] = None,
    developer_id: Annotated[uuid.UUID | None, Query()] = None,
    sort: Annotated[PluginSort, Query(description="downloads, rating or newest")] = (
        PluginSort.downloads
    ),
) -> Page[PluginOut]:
    """Search the catalog (no login needed). Ties are broken by id, so pages are stable."""
    items, total = plugins.search(
        session,
        offset=paging.offset,
        limit=paging.per_page,
        q=q,
        name=name,
        category=category,
        game=game,
        verified=verified,
        developer_id=developer_id,
        sort=sort.value,
    )
    return Page[PluginOut](
        items=[_out(p) for p in items], page=paging.page, per_page=paging.per_page, total=total
    )


@router.get("/{plugin_id}", response_model=PluginOut, responses=responses(404, 422))
def get_plugin(plugin_id: uuid.UUID, session: SessionDep) -> PluginOut:
    """One plugin's catalog entry (no login needed)."""
    return _out(plugins.get(session, plugin_id))


@router.patch(
    "/{plugin_id}", response_model=PluginOut, responses=responses(401, 403, 404, 409, 422)
)
@body_limit(TEXT)
def update_plugin(
    plugin_id: uuid.UUID, body: PluginUpdate, user: CurrentUser, session: SessionDep
) -> PluginOut:
    """Edit a listing (its developer only). Fields left out keep their value; the version and
    package follow published versions and cannot be set here. A new price or currency must fit
    the other (422)."""
    plugin = plugins.update_listing(session, user, plugin_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return _out(plugin)


@router.post(
    "/{plugin_id}/verify", response_model=PluginOut, responses=responses(401, 403, 404, 422)
)
def verify_plugin(
    plugin_id: uuid.UUID,
    user: CurrentUser,
    session: SessionDep,
    body: VerifyRequest | None = None,
) -> PluginOut:
    """Mark a plugin verified (Admin only); {"verified": false} takes the mark away."""
    verified = True if body is None else body.verified
    plugin = plugins.set_verified(session, user, plugin_id, verified)
    session.commit()
    return _out(plugin)


# --- versions -------------------------------------------------------------------------------

FIELD_LIMIT = MAX_CHANGELOG * 4 + 1024  # bytes of one form field (UTF-8 of the longest text)
FORM_OVERHEAD = 1024 * 1024  # bytes of a body besides the package: fields, headers, boundaries
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


class _PackageForm:
    """Reads a multipart/form-data body as it arrives: the ``file`` part goes straight into a
    PackageUpload (hashed, counted, refused past the limit); other parts are small text fields.
    Nothing is held in memory beyond a chunk, and nothing is spooled elsewhere first."""

    def __init__(self, store: PackageStore, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.fields: dict[str, str] = {}
        self.upload: PackageUpload | None = None
        self.ended = False
        self._pending: list[bytes] = []
        self._header_name = b""
        self._header_value = b""
        self._disposition: bytes | None = None
        self._name: str | None = None
        self._in_file = False
        self._data = bytearray()

    # parser callbacks (synchronous; file data is queued and written off the event loop)
    def on_part_begin(self) -> None:
        self._disposition = None
        self._name = None
        self._in_file = False
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        raw = options.get(b"name")
        if raw is None:
            raise Invalid("a form part has no name", code="invalid_multipart")
        name = raw.decode("utf-8", "replace")
        if name in self.fields or (name == "file" and self.upload is not None):
            raise Invalid(f"the form field {name!r} is given twice", code="invalid_multipart")
        self._name = name
        if name == "file":
            self._in_file = True
            self.upload = self.store.new_upload(max_bytes=self.max_bytes)

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = bytes(data[start:end])
        if self._in_file:
            self._pending.append(chunk)
        elif len(self._data) + len(chunk) > FIELD_LIMIT:
            raise Invalid(f"the form field {self._name!r} is too long", code="invalid_multipart")
        else:
            self._data.extend(chunk)

    def on_part_end(self) -> None:
        if self._name is None or self._in_file:
            return
        try:
            self.fields[self._name] = self._data.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid(
                f"the form field {self._name!r} is not UTF-8", code="invalid_multipart"
            ) from None

    def on_end(self) -> None:
        self.ended = True

    async def _flush(self) -> None:
        if self._pending and self.upload is not None:
            data, self._pending = b"".join(self._pending), []
            await anyio.to_thread.run_sync(self.upload.write, data)

    async def read(self, request: Request) -> None:
        content_type, options = parse_options_header(request.headers.get("content-type"))
        if content_type != b"multipart/form-data":
            raise ApiError(
                "the body must be multipart/form-data",
                code="unsupported_media_type",
                status_code=415,
            )
        boundary = options.get(b"boundary")
        if not boundary or not _TOKEN.match(boundary.decode("latin-1")):
            raise Invalid("the multipart body has no valid boundary", code="invalid_multipart")
        limit = self.max_bytes + FORM_OVERHEAD
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise TooLarge(f"the package is larger than the limit of {self.max_bytes} bytes")
        parser = MultipartParser(boundary, self._callbacks(), max_size=limit)
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise TooLarge(
                        f"the package is larger than the limit of {self.max_bytes} bytes"
                    )
                parser.write(chunk)
                await self._flush()
            parser.finalize()
            await self._flush()
            if self.upload is not None:
                await anyio.to_thread.run_sync(self.upload.finish)
        except FormParserError as exc:
            self.discard()
            raise Invalid(f"malformed multipart body: {exc}", code="invalid_multipart") from None
        except BaseException:
            self.discard()
            raise
        if not self.ended:
            self.discard()
            raise Invalid("the multipart body ended early", code="invalid_multipart")

    def _callbacks(self) -> Any:
        return {
            name: getattr(self, name)
            for name in (
                "on_part_begin",
                "on_header_field",
                "on_header_value",
                "on_header_end",
                "on_headers_finished",
                "on_part_data",
                "on_part_end",
                "on_end",
            )
        }

    def discard(self) -> None:
        if self.upload is not None:
            self.upload.discard()


def _known_games() -> list[str]:
    from gsm_cli.services import games

    return list(games.catalog())


def _valid_manifest(upload: PackageUpload) -> Any:
    """The manifest of the uploaded package, checked with the very rules of `gsm plugin
    validate` (plugin_package.validate: the zip's central directory and manifest only); 422
    package_invalid with every problem otherwise, and the upload removed."""
    try:
        report = plugin_package.validate(upload.path, known_games=_known_games())
    except BaseException:
        upload.discard()
        raise
    if report.problems:
        upload.discard()
        count = len(report.problems)
        first = report.problems[0]
        raise Invalid(
            f"the package is not valid: {first.rule}"
            + (f" ({first.path})" if first.path else "")
            + f": {first.message}"
            + (f" and {count - 1} more problem(s)" if count > 1 else ""),
            code="package_invalid",
            problems=[problem.to_dict() for problem in report.problems],
        )
    return report.manifest


def _form_fields(form: _PackageForm) -> VersionForm:
    try:
        fields = VersionForm.model_validate(form.fields)
    except ValidationError as exc:
        form.discard()
        raise RequestValidationError(exc.errors(include_url=False, include_context=False)) from None
    if form.upload is None:
        raise Invalid("the form has no file part with the package", code="missing_package")
    if form.upload.size == 0:
        form.discard()
        raise Invalid("the package file is empty", code="empty_package")
    return fields


@router.post(
    "/{plugin_id}/versions",
    response_model=PluginVersionOut,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403, 404, 409, 413, 415, 422),
    openapi_extra={"requestBody": PUBLISH_REQUEST_BODY},
)
@body_limit(OWN)
async def publish_version(
    plugin_id: uuid.UUID,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> PluginVersionOut:
    """Publish a version (the plugin's developer only): multipart/form-data with ``file``, the
    package, optional ``changelog``, and optional ``version`` (when given, it must be the
    package manifest's). The package is streamed to storage while its sha256 and size are
    computed; a body over the server's upload limit is refused with 413 and leaves nothing
    behind. The package must be valid by every rule of the package format (422
    package_invalid, with each problem's rule id and path) and match the plugin: the
    manifest's name is the plugin's, its games ones the plugin supports (422 package_mismatch).
    Its version (new for this plugin, 409 otherwise) is the manifest's; its dependencies and
    games are kept with it. The latest version becomes the plugin's ``version`` and
    ``package_url``."""
    await run_in_threadpool(plugins.check_publisher, session, user, plugin_id)
    await run_in_threadpool(session.rollback)  # hold no transaction open during the upload
    form = _PackageForm(PackageStore(settings.storage_dir), settings.max_upload_bytes)
    try:
        await form.read(request)
    except ClientDisconnect:
        raise Invalid("the upload was interrupted", code="upload_interrupted") from None
    fields = _form_fields(form)
    upload = form.upload
    assert upload is not None
    manifest = await anyio.to_thread.run_sync(_valid_manifest, upload)
    row = await run_in_threadpool(
        lambda: plugins.publish_version(
            session,
            user,
            plugin_id,
            manifest=manifest,
            form_version=fields.version,
            changelog=fields.changelog,
            upload=upload,
        )
    )
    return _version_out(row)


@router.get(
    "/{plugin_id}/versions", response_model=list[PluginVersionOut], responses=responses(404, 422)
)
def list_versions(plugin_id: uuid.UUID, session: SessionDep) -> list[PluginVersionOut]:
    """Every published version of a plugin, latest first (no login needed)."""
    return [_version_out(row) for row in plugins.versions(session, plugin_id)]


@router.get(
    "/{plugin_id}/download",
    response_class=Response,
    responses={
        200: {
            "description": "The package, with its sha256 in X-Checksum-Sha256",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
            "headers": {
                "X-Checksum-Sha256": {
                    "description": "The package's sha256, hex",
                    "schema": {"type": "string"},
                },
                "X-Plugin-Version": {
                    "description": "The version sent",
                    "schema": {"type": "string"},
                },
            },
        },
        **responses(401, 403, 404, 422),
    },
)
def download(
    plugin_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: BearerDep,
    version: Annotated[
        str | None,
        Query(max_length=20, pattern=VERSION_PATTERN, description="Default: the latest"),
    ] = None,
) -> Response:
    """Download a version's package and count the download. Check the body against
    X-Checksum-Sha256. A free plugin needs no login; a plugin with a price above zero goes
    only to its developer and to users who bought it (401 purchase_required without a token,
    403 purchase_required for anyone else: buy it with POST /v1/plugins/{id}/purchase)."""
    plugin = plugins.get(session, plugin_id)
    if plugins.is_paid(plugin):
        plugins.check_download(session, plugin, user_of(request, session, credentials))
    row = plugins.version_for_download(session, plugin_id, version)
    store = PackageStore(settings.storage_dir)
    if not store.exists(row.storage_key):
        raise ApiError(
            "the package file is missing from storage", code="package_missing", status_code=404
        )
    plugins.count_download(session, plugin_id)
    session.commit()
    return FileResponse(
        store.path(row.storage_key),
        media_type="application/octet-stream",
        filename=f"{plugin_id}-{row.version}.pkg",
        headers={"X-Checksum-Sha256": row.sha256, "X-Plugin-Version": row.version},
    )


# --- ratings --------------------------------------------------------------------------------


def _rating_result(result: plugins.RatingResult) -> RatingResult:
    return RatingResult(
        rating=RatingOut.model_validate(result.rating),
        plugin_rating=result.plugin.rating or Decimal("0.00"),
        review_count=result.plugin.review_count or 0,
    )


@router.put(
    "/{plugin_id}/rating", response_model=RatingResult, responses=responses(401, 403, 404, 422)
)
@body_limit(TEXT)
def rate_plugin(
    plugin_id: uuid.UUID, body: RatingIn, user: CurrentUser, session: SessionDep
) -> RatingResult:
    """Rate a plugin 1..5 with an optional review; rating again replaces your rating. A
    developer cannot rate their own plugin. Answers with the plugin's new average."""
    result = plugins.rate(session, user, plugin_id, rating=body.rating, review=body.review)
    session.commit()
    return _rating_result(result)


@router.delete(
    "/{plugin_id}/rating",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(401, 404, 422),
)
def unrate_plugin(plugin_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> None:
    """Remove your rating of a plugin."""
    plugins.unrate(session, user, plugin_id)
    session.commit()


@router.get("/{plugin_id}/ratings", response_model=Page[RatingOut], responses=responses(404, 422))
def list_ratings(plugin_id: uuid.UUID, session: SessionDep, paging: PagingDep) -> Page[RatingOut]:
    """A plugin's ratings and reviews, newest first (no login needed)."""
    rows, total = plugins.ratings(session, plugin_id, offset=paging.offset, limit=paging.per_page)
    return Page[RatingOut](
        items=[RatingOut.model_validate(r) for r in rows],
        page=paging.page,
        per_page=paging.per_page,
        total=total,
    )
