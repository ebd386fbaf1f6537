"""Where gsm keeps the cloud token: a file only its owner can read, never the store or a log.

GSM_TOKEN and GSM_API_URL win over what is stored (as GH_TOKEN does for gh), so CI can log in
without writing anything.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from gsm_cli.errors import NotAllowedError
from gsm_cli.paths import Paths

FILENAME = "credentials.json"


@dataclass(frozen=True)
class Credentials:
    api_url: str
    token: str
    email: str | None = None
    token_id: str | None = None
    source: str = "file"  # "file" or "env"

    def __repr__(self) -> str:  # never show the token, even in a traceback
        return (
            f"Credentials(api_url={self.api_url!r}, email={self.email!r}, source={self.source!r})"
        )


def path(paths: Paths) -> Path:
    return paths.config_dir / FILENAME


def save(paths: Paths, creds: Credentials) -> Path:
    """Write the credentials atomically with mode 0600 from the first byte."""
    target = path(paths)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    data = {k: v for k, v in asdict(creds).items() if k != "source"}
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, target)
    if os.name != "nt":
        os.chmod(target, 0o600)
    return target


def load_stored(paths: Paths) -> Credentials | None:
    try:
        data = json.loads(path(paths).read_text(encoding="utf-8"))
        return Credentials(
            api_url=data["api_url"],
            token=data["token"],
            email=data.get("email"),
            token_id=data.get("token_id"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def forget(paths: Paths) -> bool:
    try:
        path(paths).unlink()
        return True
    except FileNotFoundError:
        return False


def current(paths: Paths, env: Mapping[str, str], configured_url: str | None) -> Credentials:
    """The credentials in force, or NotAllowedError (exit 6) asking to log in."""
    stored = load_stored(paths)
    api_url = env.get("GSM_API_URL") or (stored.api_url if stored else None) or configured_url
    if env.get("GSM_TOKEN"):
        if not api_url:
            raise NotAllowedError(
                "GSM_TOKEN is set but no cloud API URL is known",
                hint="set GSM_API_URL, or gsm config set cloud.api_url URL",
                code="token_without_url",
            )
        return Credentials(api_url=api_url.rstrip("/"), token=env["GSM_TOKEN"], source="env")
    if stored is None:
        raise NotAllowedError("not logged in", hint="run gsm auth login", code="not_logged_in")
    return Credentials(
        api_url=(api_url or stored.api_url).rstrip("/"),
        token=stored.token,
        email=stored.email,
        token_id=stored.token_id,
    )
