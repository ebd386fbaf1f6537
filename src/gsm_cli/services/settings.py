"""gsm's settings, kept in the seed's ``user_settings`` table, with every known key validated.

Environment variables win over stored values for the keys that have one (GSM_API_URL,
GSM_OUTPUT), as gh's GH_TOKEN wins over its stored token.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gsm_cli.errors import InvalidInputError
from gsm_cli.output import FORMATS, check_format
from gsm_cli.timeutil import iso_utc, utc_now_sql

SYNC_MAX_BATCH = 1000  # operations per push request: gsm-cloud's limit (MAX_BATCH)

# The supervisor parses settings without SQLAlchemy (supervisor_store.py): the store's modules
# are imported where they are used.
if TYPE_CHECKING:
    from gsm_cli.store import Store
    from gsm_cli.store.models import UserSetting

Parser = Callable[[str], str]


def _url(raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an http:// or https:// URL, such as https://cloud.example.com")
    return raw.strip().rstrip("/")


def _choice(*choices: str) -> Parser:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def _integer(low: int, high: int) -> Parser:
    def parse(raw: str) -> str:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(f"expected a whole number from {low} to {high}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a whole number from {low} to {high}")
        return str(value)

    return parse


def _number(low: float, high: float) -> Parser:
    def parse(raw: str) -> str:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(f"expected a number from {low:g} to {high:g}") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low:g} to {high:g}")
        return f"{value:g}"

    return parse


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _boolean(raw: str) -> str:
    value = raw.strip().lower()
    if value not in _TRUE + _FALSE:
        raise ValueError("expected true or false (yes/no, on/off and 1/0 also work)")
    return "true" if value in _TRUE else "false"


def is_true(value: str | None) -> bool:
    """A boolean setting's value (as ``_boolean`` stores it) as a bool; None is false."""
    return value is not None and value.strip().lower() in _TRUE


def _folder(raw: str) -> str:
    if not raw.strip():
        raise ValueError("expected a folder path")
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute():
        raise ValueError("expected an absolute folder path")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{path} exists and is not a folder")
    return str(path)


def _program(raw: str) -> str:
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute():
        raise ValueError("expected the absolute path of the program")
    if not path.is_file():
        raise ValueError(f"{path} does not exist or is not a file")
    return str(path)


def _device_name(raw: str) -> str:
    name = raw.strip()
    if not 1 <= len(name) <= 100 or any(not ch.isprintable() for ch in name):
        raise ValueError("expected 1 to 100 printable characters")
    return name


def _patterns(raw: str) -> str:
    patterns = [p.strip() for p in raw.split(",")]
    if any(not p for p in patterns):
        raise ValueError("expected comma-separated glob patterns, such as '*.log,cache/*'")
    return ",".join(patterns)


def _repository(raw: str) -> str:
    from gsm_cli.services.restic import has_url_password

    value = raw.strip()
    if not value:
        raise ValueError("expected a restic repository: a folder, sftp:user@host:/path, s3:...")
    if has_url_password(value):
        raise ValueError(
            "the repository URL holds a password, which gsm would keep in the clear; "
            "give the password through restic's environment variables instead"
        )
    return value


def _file_path(raw: str) -> str:
    path = Path(raw.strip()).expanduser()
    if not raw.strip() or not path.is_absolute():
        raise ValueError("expected the absolute path of a file")
    return str(path)


@dataclass(frozen=True)
class SettingSpec:
    key: str
    description: str
    parse: Parser
    default: str | None = None
    env_var: str | None = None


SPECS: dict[str, SettingSpec] = {
    spec.key: spec
    for spec in (
        SettingSpec(
            "alerts.window",
            "Seconds of an alert's crash rate limit, per server and channel (docs/alerts.md)",
            _integer(1, 86400),
            "600",
        ),
        SettingSpec(
            "alerts.timeout", "Seconds to wait for one alert's delivery", _integer(1, 300), "10"
        ),
        SettingSpec(
            "alerts.attempts", "Tries to deliver an alert before it fails", _integer(1, 100), "5"
        ),
        SettingSpec(
            "alerts.retry_seconds",
            "Seconds before an alert's first retry (doubled after each)",
            _integer(1, 3600),
            "30",
        ),
        SettingSpec(
            "alerts.console_lines",
            "Console lines quoted in a crash alert",
            _integer(0, 100),
            "15",
        ),
        SettingSpec("cloud.api_url", "URL of the gsm-cloud API", _url, None, "GSM_API_URL"),
        SettingSpec("cloud.timeout", "Seconds to wait for the cloud API", _number(0.5, 300), "10"),
        SettingSpec(
            "output.format", "Default output format", _choice(*FORMATS), "table", "GSM_OUTPUT"
        ),
        SettingSpec(
            "device.name", "This machine's name in the cloud (default: host name)", _device_name
        ),
        SettingSpec("backup.dir", "Folder for server backups (default: <data>/backups)", _folder),
        SettingSpec("backup.retention", "Backups kept per server", _integer(1, 1000), "5"),
        SettingSpec("backup.exclude", "Glob patterns left out of backups", _patterns, "*.log"),
        SettingSpec(
            "backup.backend",
            "Where backups go: archive (.tar.gz files) or restic (a restic repository)",
            _choice("archive", "restic"),
            "archive",
        ),
        SettingSpec(
            "backup.repository",
            "restic repository for backup.backend restic (default: RESTIC_REPOSITORY)",
            _repository,
        ),
        SettingSpec(
            "backup.password_file",
            "File holding the restic repository's password (owner-only; RESTIC_PASSWORD* win)",
            _file_path,
        ),
        SettingSpec(
            "backup.keep_daily",
            "restic backend: also keep the newest backup of each of the last N days",
            _integer(1, 3650),
        ),
        SettingSpec("metrics.interval", "Seconds between samples", _integer(1, 86400), "30"),
        SettingSpec(
            "metrics.retention_days",
            "Days of samples kept (older ones are deleted, or rolled up: metrics.rollup)",
            _integer(1, 3650),
            "30",
        ),
        SettingSpec(
            "metrics.rollup",
            "Roll samples older than metrics.retention_days into hourly averages",
            _boolean,
            "false",
        ),
        SettingSpec(
            "server.stop_timeout", "Seconds to wait for a graceful stop", _integer(1, 3600), "30"
        ),
        SettingSpec(
            "server.log_max_bytes",
            "Console log size before it rotates (5 files kept)",
            _integer(10_000, 1_000_000_000),
            "5000000",
        ),
        SettingSpec("steamcmd.path", "steamcmd program (default: found on PATH)", _program),
        SettingSpec(
            "sync.batch_size",
            "Operations per sync push request",
            _integer(1, SYNC_MAX_BATCH),
            "500",
        ),
    )
}


@dataclass(frozen=True)
class Setting:
    key: str
    value: str | None
    source: str  # "env", "set" or "default"
    default: str | None
    description: str
    updated_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "source": self.source,
            "default": self.default,
            "description": self.description,
            "updated_at": self.updated_at,
        }


def spec_for(key: str) -> SettingSpec:
    spec = SPECS.get(key)
    if spec is None:
        close = difflib.get_close_matches(key, SPECS, n=1)
        hint = f"did you mean {close[0]}?" if close else "run `gsm config list` to see the keys"
        raise InvalidInputError(f"unknown setting {key!r}", hint=hint, code="unknown_setting")
    return spec


def validate(key: str, raw: str) -> str:
    spec = spec_for(key)
    try:
        return spec.parse(raw)
    except ValueError as exc:
        raise InvalidInputError(
            f"invalid value {raw!r} for {key}: {exc}", code="invalid_setting"
        ) from None


def _resolve(spec: SettingSpec, row: UserSetting | None, env: Mapping[str, str]) -> Setting:
    env_value = env.get(spec.env_var) if spec.env_var else None
    if env_value:
        try:
            value, source = spec.parse(env_value), "env"
        except ValueError as exc:
            raise InvalidInputError(
                f"invalid value {env_value!r} in {spec.env_var}: {exc}", code="invalid_setting"
            ) from None
    elif row is not None:
        value, source = row.value, "set"
    else:
        value, source = spec.default, "default"
    return Setting(
        spec.key,
        value,
        source,
        spec.default,
        spec.description,
        iso_utc(row.updated_at) if row else None,
    )


def list_settings(store: Store, env: Mapping[str, str]) -> list[Setting]:
    from sqlalchemy import select

    from gsm_cli.store.models import UserSetting

    with store.read() as session:
        rows = {row.key: row for row in session.scalars(select(UserSetting))}
    return resolve_all(rows, env)


def resolve_all(rows: Mapping[str, Any], env: Mapping[str, str]) -> list[Setting]:
    """Every setting, by key, from the stored rows by key (as ``resolve`` takes them) and the
    environment: ``list_settings`` without the store."""
    return [_resolve(spec, rows.get(key), env) for key, spec in sorted(SPECS.items())]


def get_setting(store: Store, key: str, env: Mapping[str, str]) -> Setting:
    from gsm_cli.store.models import UserSetting

    spec = spec_for(key)
    with store.read() as session:
        row = session.get(UserSetting, key)
    return _resolve(spec, row, env)


def resolve(key: str, row: UserSetting | None, env: Mapping[str, str]) -> Setting:
    """The setting ``key`` from its stored row (anything with ``value`` and ``updated_at``;
    None when unset) and the environment's override: ``get_setting`` without the store."""
    return _resolve(spec_for(key), row, env)


def set_setting(store: Store, key: str, raw: str) -> Setting:
    from gsm_cli.store.models import UserSetting

    value = validate(key, raw)
    with store.write() as session:
        row = session.get(UserSetting, key)
        if row is None:
            row = UserSetting(key=key)
            session.add(row)
        row.value = value
        row.updated_at = utc_now_sql()
    return _resolve(SPECS[key], row, {})


def unset_setting(store: Store, key: str) -> bool:
    """Forget a stored value; True when there was one."""
    from gsm_cli.store.models import UserSetting

    spec_for(key)
    with store.write() as session:
        row = session.get(UserSetting, key)
        if row is None:
            return False
        session.delete(row)
    return True


def values_without_store(env: Mapping[str, str]) -> dict[str, str | None]:
    """Every key's value from the environment or its default, for when the store is unusable."""
    return {key: _resolve(spec, None, env).value for key, spec in SPECS.items()}


def effective_value(store: Store, key: str, env: Mapping[str, str]) -> str | None:
    return get_setting(store, key, env).value


def default_output_format(store: Store, env: Mapping[str, str]) -> str:
    return output_format_of(get_setting(store, "output.format", env), env)


def output_format_of(setting: Setting, env: Mapping[str, str]) -> str:
    """The output format a command uses by default, from the resolved ``output.format``."""
    value = setting.value or "table"
    source = "in GSM_OUTPUT" if env.get("GSM_OUTPUT") else "in the output.format setting"
    return check_format(value, source)
