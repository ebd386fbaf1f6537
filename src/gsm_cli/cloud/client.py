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
from typing import Any
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
            raise CloudUnreachableError(
                f"the cloud at {self.api_url} did not answer in time", code="cloud_timeout"
            ) from None
        except httpx.TransportError as exc:
            raise CloudUnreachableError(
                f"cannot reach the cloud at {self.api_url} ({type(exc).__name__})",
                hint="check your network and `gsm config get cloud.api_url`",
            ) from None
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

    def _object(self, value: Any, what: str, fields: dict[str, Any]) -> dict[str, Any]:
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
        return self._object(self.json("GET", "/healthz"), "the health answer", {"status": str})

    def login(self, email: str, password: str) -> dict[str, Any]:
        answer = self.json(
            "POST", "/v1/auth/token", **_body({"email": email, "password": password})
        )
        return self._object(
            answer, "the log-in answer", {"access_token": str, "token_id": (str, _NONE)}
        )

    def logout(self) -> None:
        """Revoke the token this client carries (the answer has no body)."""
        self.request("DELETE", "/v1/auth/token")

    def me(self) -> dict[str, Any]:
        return self._object(self.json("GET", "/v1/me"), "the account", {"id": str, "email": str})

    def token_info(self) -> dict[str, Any]:
        """The token this client carries and the devices that used it."""
        info = self._object(self.json("GET", "/v1/auth/token"), "the token", {"devices": list})
        for device in info["devices"]:
            self._object(
                device, "a device of the token", {"device_id": str, "device_name": (str, _NONE)}
            )
        return info

    def push(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The cloud's answer for each operation, in order. A batch the cloud finds too large
        is sent again in halves; one operation too large on its own is answered ``rejected``."""
        try:
            answer = self.json("POST", "/v1/sync/push", **_body({"operations": operations}))
        except CloudTooLargeError as exc:
            if len(operations) > 1:
                half = len(operations) // 2
                return self.push(operations[:half]) + self.push(operations[half:])
            return [{"id": operations[0].get("id"), "status": "rejected", "reason": exc.message}]
        results = self._object(answer, "the push answer", {"results": list})["results"]
        if len(results) > len(operations):
            raise self.bad_answer(
                f"the push answer has {len(results)} results for {len(operations)} operations"
            )
        for result in results:
            self._object(result, "a push result", {"id": str, "status": str})
        return results

    def pull(self, cursor: int, limit: int = 500) -> Any:
        """One page of the change feed, as JSON. The page (its changes, cursor and has_more,
        whether the cursor moves) and each change are checked by services/sync.py, which
        skips a bad change and refuses a bad page (exit 7, ``cloud_bad_answer``)."""
        return self.json("GET", "/v1/sync/pull", params={"cursor": cursor, "limit": limit})


def _body(data: Any) -> dict[str, Any]:
    """A JSON request body as Python's json module writes it: ASCII, with text that is not
    valid Unicode (a lone surrogate from a file name) escaped and NaN written out, so that the
    cloud judges such a value in its own operation rather than the request never leaving
    (httpx's ``json=`` refuses both)."""
    return {
        "content": jsonlib.dumps(data).encode("ascii"),
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


def _error_for(response: httpx.Response, api_url: str) -> GsmError:
    try:
        body = response.json()["error"]
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "", response.reason_phrase
    status = response.status_code
    detail = f"{message} (HTTP {status})" if message else f"HTTP {status}"
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
