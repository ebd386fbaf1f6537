"""The HTTP client for gsm-cloud, and the one place that maps its answers to gsm's errors:
401 -> exit 6 "run gsm auth login"; a transport failure, a 5xx, a 429, or an answer gsm cannot
use -> exit 7.

An answer gsm cannot use is a redirect (never followed: the bearer token goes to the
configured cloud and nowhere else), no body where one is expected (204, empty), a body that is
not JSON, or JSON of the wrong shape (``[]`` for an object, ``results`` that is not a list, a
missing key; a pull page is checked by services/sync.py). Every request names the device
that sends it (``X-GSM-Device-Id``, ``X-GSM-Device-Name``), so the cloud knows which machines
use a token.
"""

import json as jsonlib
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx

from gsm_cli import __version__
from gsm_cli.errors import (
    CloudUnreachableError,
    ConflictError,
    GsmError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)

_NONE = type(None)
CHUNK = 1024 * 1024  # bytes of a package read or written at a time
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# What gsm relies on in a catalog entry and in a published version.
PLUGIN_FIELDS: dict[str, Any] = {
    "id": str,
    "name": str,
    "version": str,
    "category": str,
    "price": str,
    "supported_games": list,
    "is_verified": bool,
    "developer_id": (str, _NONE),
}
VERSION_FIELDS: dict[str, Any] = {
    "version": str,
    "sha256": str,
    "size_bytes": int,
    "dependencies": (dict, _NONE),
    "games": (list, _NONE),
}
Progress = Callable[[float, float | None, str | None], None]


class CloudServerError(CloudUnreachableError):
    """The cloud answered, with a 5xx: nothing was decided, try again later."""

    code = "cloud_server_error"


class CloudAnswerError(CloudUnreachableError):
    """The cloud answered with something gsm cannot use (a redirect, no body, not JSON, JSON of
    the wrong shape): nothing was applied from it."""

    code = "cloud_bad_answer"


class CloudRateLimitedError(CloudUnreachableError):
    """The cloud refused for now (HTTP 429): too many requests; try again after a while."""

    code = "cloud_rate_limited"


class CloudTokenRefusedError(NotAllowedError):
    """The cloud refused the token (HTTP 401): missing, unknown, revoked or expired."""


class CloudTooLargeError(InvalidInputError):
    """The cloud refused a request body as too large (HTTP 413)."""


class EncodedOperation(NamedTuple):
    """A push operation already written as a JSON object (ASCII bytes, as ``json_body`` would
    write it), with its id: a push sends it as it is."""

    id: str | None
    json: bytes


class CloudClient:
    def __init__(
        self,
        api_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        device_id: str | None = None,
        device_name: str | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        headers = {"User-Agent": f"gsm/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if device_id:
            headers["X-GSM-Device-Id"] = device_id
            if device_name:  # percent-encoded UTF-8: a header carries ASCII only
                headers["X-GSM-Device-Name"] = quote(device_name, safe="")
        self._http = httpx.Client(
            base_url=self.api_url, headers=headers, timeout=timeout, follow_redirects=False
        )

    @property
    def authenticated(self) -> bool:
        """Whether requests carry a token."""
        return "Authorization" in self._http.headers

    def __enter__(self) -> "CloudClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        return self._checked(method, path, response)

    def _timed_out(self) -> CloudUnreachableError:
        return CloudUnreachableError(
            f"the cloud at {self.api_url} did not answer in time", code="cloud_timeout"
        )

    def _unreachable(self, exc: Exception) -> CloudUnreachableError:
        return CloudUnreachableError(
            f"cannot reach the cloud at {self.api_url} ({type(exc).__name__})",
            hint="check your network and `gsm config get cloud.api_url`",
        )

    def _checked(self, method: str, path: str, response: httpx.Response) -> httpx.Response:
        """The answer when it is a success; its error (``_error_for``) otherwise. A streamed
        answer's body is read only when it is an error."""
        status = response.status_code
        if 300 <= status < 400:
            where = response.headers.get("location")
            raise self.bad_answer(
                f"{method} {path} was answered with a redirect (HTTP {status}"
                + (f" to {where[:200]}" if where else "")
                + "), which gsm does not follow so that the token goes nowhere else",
                hint="set cloud.api_url (or GSM_API_URL) to the address the cloud answers on, "
                "e.g. https:// instead of http://",
            )
        if status >= 400:
            try:
                response.read()  # a streamed answer's error body; at once for the others
            except httpx.TimeoutException:
                raise self._timed_out() from None
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from None
            raise _error_for(response, self.api_url)
        if not 200 <= status < 300:
            raise self.bad_answer(f"{method} {path} was answered with HTTP {status}")
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of the answer; an empty answer or one that is not JSON is an error."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            raise self.bad_answer(
                f"{method} {path} was answered with no content (HTTP {response.status_code})"
            )
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise self.bad_answer(
                f"{method} {path} was answered with a body that is not JSON ({kind[:60]})"
            ) from None

    def bad_answer(self, detail: str, hint: str | None = None) -> CloudAnswerError:
        return CloudAnswerError(
            f"the cloud at {self.api_url} sent an answer gsm cannot use: {detail}",
            hint=hint or f"check that {self.api_url} is a gsm-cloud (its /healthz answers)",
        )

    def checked_object(self, value: Any, what: str, fields: dict[str, Any]) -> dict[str, Any]:
        """``value`` as a JSON object with these keys of these types (a tuple: any of them)."""
        if not isinstance(value, dict):
            raise self.bad_answer(f"{what} is {_kind(value)}, not an object")
        for key, types in fields.items():
            if key not in value:
                raise self.bad_answer(f"{what} has no {key!r}")
            if not _is(value[key], types):
                raise self.bad_answer(f"{what}: {key!r} is {_kind(value[key])}")
        return value

    # -- endpoints ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self.checked_object(
            self.json("GET", "/healthz"), "the health answer", {"status": str}
        )

    def login(self, email: str, password: str) -> dict[str, Any]:
        answer = self.json(
            "POST", "/v1/auth/token", **json_body({"email": email, "password": password})
        )
        return self.checked_object(
            answer, "the log-in answer", {"access_token": str, "token_id": (str, _NONE)}
        )

    def logout(self) -> None:
        """Revoke the token this client carries (the answer has no body)."""
        self.request("DELETE", "/v1/auth/token")

    def me(self) -> dict[str, Any]:
        return self.checked_object(
            self.json("GET", "/v1/me"), "the account", {"id": str, "email": str}
        )

    def token_info(self) -> dict[str, Any]:
        """The token this client carries and the devices that used it."""
        info = self.checked_object(
            self.json("GET", "/v1/auth/token"), "the token", {"devices": list}
        )
        for device in info["devices"]:
            self.checked_object(
                device, "a device of the token", {"device_id": str, "device_name": (str, _NONE)}
            )
        return info

    def push(
        self,
        operations: list[dict[str, Any]] | list[EncodedOperation],
        *,
        batch_id: str | None = None,
        after_batch_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The cloud's answer for each operation, in order. ``batch_id`` names the request;
        ``after_batch_id``: the cloud applies it only after that request committed (409
        ``previous_batch_missing`` otherwise). A batch the cloud finds too large is sent again
        in halves, one after the other: the first half follows ``after_batch_id``, the last
        carries ``batch_id``; one operation too large on its own is answered ``rejected``."""
        order = {"batch_id": batch_id, "after_batch_id": after_batch_id}
        try:
            answer = self.json("POST", "/v1/sync/push", **_push_body(operations, order))
        except CloudTooLargeError as exc:
            if len(operations) > 1:
                half = len(operations) // 2
                return self.push(operations[:half], after_batch_id=after_batch_id) + self.push(
                    operations[half:], batch_id=batch_id
                )
            first = operations[0]
            op_id = first.id if isinstance(first, EncodedOperation) else first.get("id")
            return [{"id": op_id, "status": "rejected", "reason": exc.message}]
        results = self.checked_object(answer, "the push answer", {"results": list})["results"]
        if len(results) > len(operations):
            raise self.bad_answer(
                f"the push answer has {len(results)} results for {len(operations)} operations"
            )
        for result in results:
            self.checked_object(result, "a push result", {"id": str, "status": str})
        return results

    def pull(self, cursor: int, limit: int = 500) -> Any:
        """One page of the change feed, as JSON. The page (its changes, cursor and has_more,
        whether the cursor moves) and each change are checked by services/sync.py, which
        skips a bad change and refuses a bad page (exit 7, ``cloud_bad_answer``)."""
        return self.json("GET", "/v1/sync/pull", params={"cursor": cursor, "limit": limit})

    # -- the plugin marketplace ------------------------------------------------------------

    def _plugin(self, value: Any, what: str = "the plugin") -> dict[str, Any]:
        plugin = self.checked_object(value, what, PLUGIN_FIELDS)
        if not all(isinstance(game, str) for game in plugin["supported_games"]):
            raise self.bad_answer(f"{what}: 'supported_games' holds something other than text")
        return plugin

    def _version(self, value: Any, what: str = "a published version") -> dict[str, Any]:
        version = self.checked_object(value, what, VERSION_FIELDS)
        if not _SHA256.match(version["sha256"]):
            raise self.bad_answer(f"{what}: 'sha256' is not 64 hex digits")
        if version["size_bytes"] < 0:
            raise self.bad_answer(f"{what}: 'size_bytes' is negative")
        games, deps = version["games"], version["dependencies"]
        if games is not None and not all(isinstance(game, str) for game in games):
            raise self.bad_answer(f"{what}: 'games' holds something other than text")
        if deps is not None and not all(isinstance(r, str) for r in deps.values()):
            raise self.bad_answer(f"{what}: 'dependencies' holds a range that is not text")
        return version

    def search_plugins(self, params: dict[str, Any]) -> dict[str, Any]:
        """One page of GET /v1/plugins: ``items`` (catalog entries) and ``total``."""
        page = self.checked_object(
            self.json("GET", "/v1/plugins", params=params),
            "the search answer",
            {"items": list, "total": int},
        )
        for item in page["items"]:
            self._plugin(item, "a plugin of the search answer")
        return page

    def plugins_named(self, name: str) -> list[dict[str, Any]]:
        """The plugins of exactly this name, whatever its case (at most one, unless the cloud
        holds listings made before names were unique)."""
        return self.search_plugins({"name": name, "per_page": 200})["items"]

    def get_plugin(self, plugin_id: str) -> dict[str, Any]:
        return self._plugin(self.json("GET", f"/v1/plugins/{quote(plugin_id, safe='')}"))

    def plugin_versions(self, plugin_id: str) -> list[dict[str, Any]]:
        """Every published version of a plugin, latest first."""
        answer = self.json("GET", f"/v1/plugins/{quote(plugin_id, safe='')}/versions")
        if not isinstance(answer, list):
            raise self.bad_answer(f"the list of versions is {_kind(answer)}, not a list")
        return [self._version(item) for item in answer]

    def create_plugin(self, listing: dict[str, Any]) -> dict[str, Any]:
        return self._plugin(self.json("POST", "/v1/plugins", **json_body(listing)))

    def update_plugin(self, plugin_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        path = f"/v1/plugins/{quote(plugin_id, safe='')}"
        return self._plugin(self.json("PATCH", path, **json_body(changes)))

    def publish_version(
        self,
        plugin_id: str,
        package: Path,
        *,
        version: str | None = None,
        changelog: str | None = None,
        report: Progress | None = None,
    ) -> dict[str, Any]:
        """Upload a package as a new version: a multipart/form-data body streamed from the
        file a chunk at a time (never read into memory), with its Content-Length, reporting
        the bytes sent."""
        fields = {"version": version, "changelog": changelog}
        boundary = secrets.token_hex(16)
        while any(value and boundary in value for value in fields.values()):
            boundary = secrets.token_hex(16)
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
            for name, value in fields.items()
            if value is not None
        )
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="package.zip"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        with open(package, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size

            def body() -> Iterator[bytes]:
                yield head
                sent = 0
                while sent < size:
                    chunk = handle.read(min(CHUNK, size - sent))
                    if not chunk:
                        raise InvalidInputError(f"{package} got shorter while it was sent")
                    sent += len(chunk)
                    if report is not None:
                        report(sent, size, None)
                    yield chunk
                yield tail

            answer = self.json(
                "POST",
                f"/v1/plugins/{quote(plugin_id, safe='')}/versions",
                content=body(),
                headers={
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                    "Content-Length": str(len(head) + size + len(tail)),
                },
            )
        return self._version(answer, "the published version")

    def download(
        self, plugin_id: str, version: str, sink: Callable[[bytes], None]
    ) -> dict[str, str]:
        """Stream a version's package into ``sink`` a chunk at a time; the answer's headers
        (lower-case names) when the whole body has arrived."""
        path = f"/v1/plugins/{quote(plugin_id, safe='')}/download"
        try:
            with self._http.stream("GET", path, params={"version": version}) as response:
                self._checked("GET", path, response)
                for chunk in response.iter_bytes():  # as received: no copy into chunks
                    sink(chunk)
                return {name.lower(): value for name, value in response.headers.items()}
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None


def json_body(data: Any) -> dict[str, Any]:
    """A JSON request body as Python's json module writes it: ASCII, with text that is not
    valid Unicode (a lone surrogate from a file name) escaped and NaN written out, so that the
    cloud judges such a value in its own operation rather than the request never leaving
    (httpx's ``json=`` refuses both)."""
    return {
        "content": jsonlib.dumps(data).encode("ascii"),
        "headers": {"Content-Type": "application/json"},
    }


def _push_body(
    operations: list[dict[str, Any]] | list[EncodedOperation], order: dict[str, str | None]
) -> dict[str, Any]:
    """``json_body({"operations": operations, **order})`` (the order's None values left out);
    encoded operations go in as they are."""
    fields = {key: value for key, value in order.items() if value is not None}
    if not any(isinstance(op, EncodedOperation) for op in operations):
        return json_body({"operations": operations, **fields})
    parts = [
        op.json if isinstance(op, EncodedOperation) else jsonlib.dumps(op).encode("ascii")
        for op in operations
    ]
    tail = "".join(f", {jsonlib.dumps(k)}: {jsonlib.dumps(v)}" for k, v in fields.items())
    return {
        "content": b'{"operations": [' + b", ".join(parts) + b"]" + tail.encode("ascii") + b"}",
        "headers": {"Content-Type": "application/json"},
    }


def _is(value: Any, types: Any) -> bool:
    options = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool):  # JSON true is not a number
        return bool in options
    return isinstance(value, options)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _problems(body: Any) -> list[Any] | None:
    """The problems of a package the cloud refused, as plugin_package.Problem objects."""
    from gsm_cli.services.plugin_package import Problem

    found = body.get("problems") if isinstance(body, dict) else None
    if not isinstance(found, list):
        return None
    problems = []
    for item in found:
        if isinstance(item, dict) and isinstance(item.get("rule"), str):
            path = item.get("path")
            problems.append(
                Problem(
                    item["rule"],
                    path if isinstance(path, str) else None,
                    str(item.get("message", "")),
                )
            )
    return problems


def _error_for(response: httpx.Response, api_url: str) -> GsmError:
    body: Any = None
    try:
        body = response.json()["error"]
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "", response.reason_phrase
    status = response.status_code
    detail = f"{message} (HTTP {status})" if message else f"HTTP {status}"
    if code == "purchase_required" and status in (401, 403):
        # A paid plugin this account has not bought (or no account at all): say how to buy.
        error_type = CloudTokenRefusedError if status == 401 else NotAllowedError
        return error_type(
            f"not allowed: {detail}",
            hint="buy it (`gsm plugin buy NAME`) with the account gsm is logged in as "
            "(`gsm auth status` shows which), then try again; its developer can download it too",
            code=code,
        )
    if code in ("package_invalid", "package_mismatch") and status == 422:
        from gsm_cli.services.plugin_package import PackageInvalid

        error = PackageInvalid(
            f"the cloud refused the package: {detail}",
            _problems(body) or [],
            hint="`gsm plugin validate FILE` checks a package with the cloud's rules"
            if code == "package_invalid"
            else "the package's name must be the plugin's and its games ones the plugin lists",
        )
        error.code = code
        return error
    if status == 401:
        return CloudTokenRefusedError(
            f"the cloud refused the credentials: {detail}",
            hint="run gsm auth login",
            code=code or "unauthorized",
        )
    if status == 403:
        return NotAllowedError(f"not allowed: {detail}", code=code or "forbidden")
    if status == 404:
        return NotFoundError(f"not found in the cloud: {detail}", code=code or "not_found")
    if status == 409:
        return ConflictError(f"the cloud refused: {detail}", code=code or "conflict")
    if status == 413:
        return CloudTooLargeError(f"the cloud refused: {detail}", code=code or "too_large")
    if status == 429:
        wait = response.headers.get("retry-after", "")
        return CloudRateLimitedError(
            f"the cloud refused for now: {detail}",
            hint=f"try again in {wait} s" if wait.isdigit() else "try again later",
        )
    if status >= 500:
        return CloudServerError(
            f"the cloud at {api_url} failed: {detail}", code="cloud_server_error"
        )
    return InvalidInputError(f"the cloud refused the request: {detail}", code=code or "invalid")
