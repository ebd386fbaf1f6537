"""Checks on what `gsm sync pull` receives from the cloud, before any of it is applied.

The store takes nothing on trust: every change of the feed is checked for its shape and types
(a server name that gsm accepts, whole numbers where numbers belong, objects where objects
belong, times that parse...). A change that fails is not applied at all, not even in part:
``gsm sync pull`` counts it as skipped, with the reason this module gives.
"""

import math
import uuid
from datetime import datetime
from typing import Any

from gsm_cli.services.servers import ENV_NAME, NAME_PATTERN

OPERATIONS = ("upsert", "delete")
KINDS = ("game_server", "plugin_installation", "community_membership", "plugin")
MAX_TEXT = 4096
MAX_INT = 2**63 - 1


class Invalid(ValueError):
    """What is wrong with a pulled change, as the summary shows it."""


def problem(change: Any) -> str | None:
    """Why ``change`` (one item of a pull page) must not be applied; None when it may be."""
    try:
        _check(change)
    except Invalid as exc:
        return str(exc)
    return None


def _check(change: Any) -> None:
    if not isinstance(change, dict):
        raise Invalid(f"a change is {_kind_of(change)}, not an object")
    kind = change.get("entity_type")
    if not isinstance(kind, str):
        raise Invalid("entity_type is missing or not text")
    if kind not in KINDS:
        raise Invalid(f"unknown entity_type {kind[:50]!r}")
    entity_id = change.get("entity_id")
    if not _is_uuid(entity_id):
        raise Invalid("entity_id is not a UUID")
    operation, data = change.get("operation"), change.get("data")
    if operation not in OPERATIONS:
        raise Invalid("operation is not 'upsert' or 'delete'")
    if data is None:
        if operation == "upsert":
            raise Invalid("an upsert without data")
        return
    if not isinstance(data, dict):
        raise Invalid(f"data is {_kind_of(data)}, not an object")
    if operation == "delete":
        return  # applying a delete reads nothing of its data
    CHECKS[kind](data, str(entity_id))


def _kind_of(value: Any) -> str:
    names = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _is_uuid(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _text(
    data: dict[str, Any],
    key: str,
    *,
    where: str = "",
    required: bool = False,
    max_length: int = MAX_TEXT,
    printable: bool = False,
) -> None:
    value = data.get(key)
    label = f"{where}{key}"
    if value is None:
        if required:
            raise Invalid(f"{label} is missing")
        return
    if not isinstance(value, str):
        raise Invalid(f"{label} is {_kind_of(value)}, not text")
    if required and not value:
        raise Invalid(f"{label} is empty")
    if len(value) > max_length:
        raise Invalid(f"{label} is longer than {max_length} characters")
    if "\x00" in value or (printable and not value.isprintable()):
        raise Invalid(f"{label} holds control characters")


def _whole(
    data: dict[str, Any], key: str, low: int, high: int = MAX_INT, *, where: str = ""
) -> None:
    value = data.get(key)
    if value is None:
        return
    if type(value) is not int:  # bool is an int to Python, not to JSON
        raise Invalid(f"{where}{key} is {_kind_of(value)}, not a whole number")
    if not low <= value <= high:
        raise Invalid(f"{where}{key} {value} is not between {low} and {high}")


def _number(data: dict[str, Any], key: str, *, where: str = "") -> None:
    value = data.get(key)
    if value is not None and (
        type(value) not in (int, float) or not math.isfinite(value) or value < 0
    ):
        raise Invalid(f"{where}{key} is {_kind_of(value)}, not a number of 0 or more")


def _flag(data: dict[str, Any], key: str, *, where: str = "") -> None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{where}{key} is {_kind_of(value)}, not true or false")


def _object(data: dict[str, Any], key: str, *, where: str = "") -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(f"{where}{key} is {_kind_of(value)}, not an object")
    return value


def _time(data: dict[str, Any], key: str) -> None:
    value = data.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        raise Invalid(f"{key} is {_kind_of(value)}, not a time")
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{key} is not an ISO 8601 time") from None


def _game_server(data: dict[str, Any], entity_id: str) -> None:
    if data.get("id") is not None and (
        not _is_uuid(data["id"]) or uuid.UUID(data["id"]) != uuid.UUID(entity_id)
    ):
        raise Invalid("data.id is not the change's entity_id")
    name = data.get("name")
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise Invalid("name is not a valid server name")
    _text(data, "game_type", required=True, max_length=50, printable=True)
    _text(data, "status", max_length=20, printable=True)
    _whole(data, "max_players", 0)
    if data.get("community_id") is not None and not _is_uuid(data["community_id"]):
        raise Invalid("community_id is not a UUID")
    _time(data, "last_backup")
    _time(data, "created_at")
    config = _object(data, "configuration")
    at = "configuration."
    _whole(config, "port", 0, 65535, where=at)
    _whole(config, "query_port", 1, 65535, where=at)
    _whole(config, "max_players", 0, where=at)
    _text(config, "install_path", where=at)
    _text(config, "device_id", where=at, max_length=100, printable=True)
    _text(config, "device_name", where=at, max_length=200, printable=True)
    _text(config, "command", where=at)
    _text(config, "stop_command", where=at)
    _text(config, "ready_pattern", where=at)
    _number(config, "settle_seconds", where=at)
    args = config.get("args")
    if args is not None and (
        not isinstance(args, list) or not all(isinstance(a, str) and "\x00" not in a for a in args)
    ):
        raise Invalid("configuration.args is not a list of text")
    env = _object(config, "env", where=at)
    for key, value in env.items():
        if not ENV_NAME.match(key) or not isinstance(value, str) or "\x00" in value:
            raise Invalid("configuration.env is not an object of NAME: text")
    restart = _object(config, "restart", where=at)
    _flag(restart, "enabled", where=f"{at}restart.")
    _whole(restart, "max_restarts", 0, where=f"{at}restart.")
    _whole(restart, "window_seconds", 0, where=f"{at}restart.")
    _number(restart, "backoff_seconds", where=f"{at}restart.")


def _plugin_installation(data: dict[str, Any], entity_id: str) -> None:
    if not _is_uuid(data.get("server_id")):
        raise Invalid("server_id is not a UUID")
    if data.get("plugin_id") is not None and not _is_uuid(data["plugin_id"]):
        raise Invalid("plugin_id is not a UUID")
    _text(data, "installed_version", max_length=50, printable=True)
    _object(data, "configuration")
    _time(data, "installed_at")


def _membership(data: dict[str, Any], entity_id: str) -> None:
    _text(data, "community_name", max_length=200, printable=True)
    _text(data, "role", max_length=50, printable=True)
    _time(data, "joined_at")


def _plugin(data: dict[str, Any], entity_id: str) -> None:
    _text(data, "name", max_length=200, printable=True)
    _text(data, "category", max_length=50, printable=True)
    _text(data, "version", max_length=50, printable=True)
    _text(data, "description")


CHECKS = {
    "game_server": _game_server,
    "plugin_installation": _plugin_installation,
    "community_membership": _membership,
    "plugin": _plugin,
}
