"""Request bodies: a size limit per route, and JSON parsed and validated strictly, off the
event loop.

Every route of the API is an ``ApiRoute`` (each router passes ``route_class=ApiRoute``).
Before FastAPI's own handling of a request, it:

1. refuses a body larger than the route's limit with 413 ``too_large``: at once from
   ``Content-Length``, before reading anything, or while a chunked body streams in, as soon as
   it passes the limit;
2. for a route with a JSON body, reads the body and then, in a worker thread, counts its items,
   parses it and validates it against the route's body model in pydantic's strict JSON mode:
   ``true`` is not an integer, ``"yes"`` not a boolean, ``"5"`` not a number, ``1`` not a
   string, while UUIDs, times and decimal amounts are still accepted as strings. FastAPI is
   handed the validated model and neither parses nor validates it again.

Why not FastAPI's own ``max_body_size``: a body whose Content-Length is over the limit gets
Starlette's plain-text 413 from it, not our error model.

Parsing in a thread keeps the event loop free between the steps, but the parsers hold the GIL
while they run, so what really bounds the time a worker cannot answer is the work per body: at
most the route's limit in bytes and ``MAX_JSON_ITEMS`` items (a body with more is refused
before it is parsed).
"""

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio
from fastapi import Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.requests import ClientDisconnect

from gsm_cloud.api.errors import ApiError, TooLarge
from gsm_cloud.config import Settings

JSON = "json"  # most JSON bodies
TEXT = "text"  # bodies that carry long texts or JSON documents
PUSH = "push"  # POST /v1/sync/push: up to 1000 operations
OWN = None  # the endpoint reads and limits its body itself (plugin uploads)

JSON_LIMIT = 64 * 1024
TEXT_LIMIT = 512 * 1024
# Array elements and object members (counted as commas and opening brackets, so commas inside
# texts count too). Parsing a body costs about 0.1-0.2 microseconds per item with the GIL held.
MAX_JSON_ITEMS = 200_000

F = TypeVar("F", bound=Callable[..., Any])


def body_limit(kind: str | None) -> Callable[[F], F]:
    """Give an endpoint another body limit than JSON_LIMIT (put it below @router.post)."""

    def mark(endpoint: F) -> F:
        endpoint.gsm_body_limit = kind  # type: ignore[attr-defined]
        return endpoint

    return mark


def limit_of(kind: str | None, settings: Settings) -> int | None:
    if kind == PUSH:
        return settings.max_push_bytes
    if kind == TEXT:
        return TEXT_LIMIT
    if kind == JSON:
        return JSON_LIMIT
    return None


class _Request(Request):
    """The request as the endpoint sees it: its body counted against the limit as it is read,
    and its JSON already parsed and validated."""

    parsed: Any
    has_parsed = False

    async def json(self) -> Any:
        if self.has_parsed:
            return self.parsed
        return await super().json()


def _counted(receive: Callable[[], Any], limit: int) -> Callable[[], Any]:
    seen = 0

    async def receive_counted() -> Any:
        nonlocal seen
        message = await receive()
        if message.get("type") == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TooLarge(f"the request body is over {limit} bytes")
        return message

    return receive_counted


def _is_json(content_type: str | None) -> bool:
    """Whether FastAPI would read this body as JSON (the same test as FastAPI's)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        self.limit_kind: str | None = getattr(endpoint, "gsm_body_limit", JSON)
        field = self.body_field
        self._adapter: TypeAdapter[Any] | None = None
        if field is not None and not isinstance(field.field_info, params.Form):
            self._adapter = TypeAdapter(field.field_info.annotation)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = limit_of(self.limit_kind, request.app.state.settings)
            if limit is None:
                return await handler(request)
            declared = request.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise TooLarge(f"the request body is over {limit} bytes")
            request = _Request(request.scope, _counted(request.receive, limit))
            if self._adapter is not None:
                try:
                    body = await request.body()
                except ClientDisconnect:
                    raise ApiError("the client went away while sending the body") from None
                if body and _is_json(request.headers.get("content-type")):
                    request.parsed = await anyio.to_thread.run_sync(self._parse, body)
                    request.has_parsed = True
            return await handler(request)

        return limited

    def _parse(self, body: bytes) -> Any:
        items = body.count(b",") + body.count(b"[") + body.count(b"{")
        if items > MAX_JSON_ITEMS:
            raise TooLarge(f"the request body holds more than {MAX_JSON_ITEMS} JSON items")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError("the request body is not UTF-8 text") from None
        assert self._adapter is not None
        try:
            return self._adapter.validate_json(body, strict=True)
        except ValidationError as exc:
            if not all(e["type"] == "json_invalid" for e in exc.errors()):
                raise _invalid(exc) from None
            syntax_error = exc
        # pydantic's parser refuses escaped lone surrogates ("\ud800"), which Python's takes
        # and which a sync payload may carry (a file name that is not UTF-8): the operation
        # that holds one is then refused on its own, not the whole request. Such a body is
        # checked in two steps: its types strictly, on a copy whose surrogates are replaced
        # one for one (same lengths); then its values, as they are.
        try:
            data = json.loads(body)
        except ValueError:
            raise _invalid(syntax_error) from None
        try:
            self._adapter.validate_json(json.dumps(_without_surrogates(data)), strict=True)
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            raise _invalid(exc) from None


def _invalid(exc: ValidationError) -> RequestValidationError:
    errors = exc.errors(include_url=False, include_context=False, include_input=False)
    return RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in errors])


def _without_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
    if isinstance(value, dict):
        return {_without_surrogates(k): _without_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value
