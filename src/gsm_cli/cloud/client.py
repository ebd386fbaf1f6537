"""The HTTP client for gsm-cloud, and the one place that maps its answers to gsm's errors:
401 -> exit 6 "run gsm auth login", a transport failure or a 5xx -> exit 7."""

from typing import Any

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


class CloudServerError(CloudUnreachableError):
    """The cloud answered, with a 5xx: nothing was decided, try again later."""

    code = "cloud_server_error"


class CloudClient:
    def __init__(self, api_url: str, token: str | None = None, *, timeout: float = 10.0) -> None:
        self.api_url = api_url.rstrip("/")
        headers = {"User-Agent": f"gsm/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.api_url, headers=headers, timeout=timeout)

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
        if response.status_code >= 400:
            raise _error_for(response, self.api_url)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CloudServerError(
                f"the cloud at {self.api_url} sent a response that is not JSON"
            ) from None

    # -- endpoints ------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return self.json("GET", "/healthz")

    def login(self, email: str, password: str) -> dict[str, Any]:
        return self.json("POST", "/v1/auth/token", json={"email": email, "password": password})

    def logout(self) -> None:
        self.json("DELETE", "/v1/auth/token")

    def me(self) -> dict[str, Any]:
        return self.json("GET", "/v1/me")

    def push(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.json("POST", "/v1/sync/push", json={"operations": operations})["results"]

    def pull(self, cursor: int, limit: int = 500) -> dict[str, Any]:
        return self.json("GET", "/v1/sync/pull", params={"cursor": cursor, "limit": limit})


def _error_for(response: httpx.Response, api_url: str) -> GsmError:
    try:
        body = response.json()["error"]
        code, message = str(body.get("code", "")), str(body.get("message", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        code, message = "", response.reason_phrase
    status = response.status_code
    detail = f"{message} (HTTP {status})" if message else f"HTTP {status}"
    if status == 401:
        return NotAllowedError(
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
    if status >= 500:
        return CloudServerError(
            f"the cloud at {api_url} failed: {detail}", code="cloud_server_error"
        )
    return InvalidInputError(f"the cloud refused the request: {detail}", code=code or "invalid")
