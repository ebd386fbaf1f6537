"""The quick test of a pushed payload (orjson) against the full walk it stands in for: it may
send a payload the slow way for nothing, but it never lets through one the walk refuses, and
the answer of _payload_problem is the walk's for every payload."""

import datetime
import uuid
from typing import Any

import pytest
from pydantic import TypeAdapter

from gsm_cloud.api.schemas.common import MAX_JSON_BYTES
from gsm_cloud.services import sync

NAN, INF = float("nan"), float("inf")


def nested(depth: int, leaf: Any, kind: str = "dict") -> Any:
    """``depth`` containers one inside the other around ``leaf``."""
    value = leaf
    for _ in range(depth):
        value = {"k": value} if kind == "dict" else [value]
    return value


def sized(chars: int, char: str = "x") -> dict[str, Any]:
    """A payload whose key and text together are ``chars`` characters (what the walk counts)."""
    return {"k": char * (chars - 1)}


PAYLOADS: list[Any] = [
    {},
    {"a": None},
    {"name": "bench", "port": 2456, "last_backup": None, "configuration": {"max_players": 10}},
    {"a": "nul \x00 inside"},
    {"nul \x00 key": 1},
    {"a": {"b": ["deep \x00"]}},
    {"a": "\\u0000 written out, no NUL"},
    {"a": "lone \ud800 surrogate"},
    {"lone \udfff key": 1},
    {"a": ["\ud83d"]},
    {"a": "\U0001f600 a real pair"},
    {"a": 2**53 - 1},
    {"a": 2**53},
    {"a": 2**53 + 1},
    {"a": 2**63 - 1},
    {"a": -(2**63) + 1},
    {"a": 2**63},
    {"a": -(2**63)},
    {"a": -(2**63) - 1},
    {"a": 2**64},
    {"a": 10**30},
    {"a": "1234567890123456789012 as text"},
    {"a": 1e308},
    {"a": -1e308},
    {"a": 1.5e-300},
    {"a": 12345678901234567890.0},
    {"a": NAN},
    {"a": INF},
    {"a": -INF},
    {"a": None, "b": NAN},
    {"a": [None, {"b": [1, INF]}]},
    {"a": None, "b": [None, -INF]},
    {"a": True, "b": False, "c": None},
    {"a": None, "b": 1.0, "c": 0.1, "d": -0.0},
    nested(31, 1),
    nested(32, 1),
    nested(33, 1),
    nested(32, {}),
    nested(32, []),
    nested(33, {}),
    nested(31, [], "list"),
    nested(32, 1, "list"),
    nested(33, None, "list"),
    nested(300, 1),
    {"a": "{" * 40},
    {"a": "[" * 40, "b": None},
    sized(MAX_JSON_BYTES - 1),
    sized(MAX_JSON_BYTES),
    sized(MAX_JSON_BYTES + 1),
    sized(MAX_JSON_BYTES // 2, "é"),
    sized(MAX_JSON_BYTES, "é"),
    sized(MAX_JSON_BYTES + 1, "é"),
    sized(MAX_JSON_BYTES // 4, "\U0001f600"),
    {"a": "non-ASCII: grüße, 日本, \u2028"},
    # What a Python caller (not the JSON body) may hand over.
    {"a": (1, NAN)},
    {"a": ("nul \x00",)},
    {"a": datetime.datetime(2026, 12, 3, 21, 0), "b": None},
    {"a": uuid.UUID(int=5)},
]


def walked(payload: Any, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """What _payload_problem answers without any quick test: the walk's answer."""
    with monkeypatch.context() as patched:
        patched.setattr(sync, "_plainly_storable", lambda _payload: False)
        return sync._payload_problem(payload)


def before(payload: Any, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """What _payload_problem answered with the stdlib quick test alone."""
    if sync._plainly_storable_json(payload):
        return None
    return walked(payload, monkeypatch)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_the_quick_test_passes_only_what_the_walk_passes(
    payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    walk = walked(payload, monkeypatch)
    if sync._plainly_storable(payload):
        assert walk is None
    if sync._plainly_storable_json(payload):
        assert walk is None
    assert sync._payload_problem(payload) == walk


@pytest.mark.parametrize("payload", [{1: "an int key"}, {"a": {2: None}}])
def test_keys_that_are_not_text_are_answered_as_before(
    payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a Python caller can send them; the walk cannot measure them, the stdlib quick
    test passes them, and so does _payload_problem still."""
    assert sync._payload_problem(payload) == before(payload, monkeypatch) is None


def test_plain_payloads_take_the_quick_way() -> None:
    """The payloads a client really sends never need the walk (nor the stdlib encoder)."""
    plain = [
        {"name": "bench", "port": 2456, "last_backup": None, "configuration": {"a": [1, 2.5]}},
        {"a": "grüße 日本 \U0001f600", "b": True, "c": None},
        {"id": str(uuid.uuid4()), "n": 2**53 - 1, "m": -(2**53) + 1, "x": 1e308},
        nested(32, 1),
        sized(MAX_JSON_BYTES - 10),
    ]
    for payload in plain:
        assert sync._plainly_storable(payload)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"a": NaN}', "holds NaN or Infinity"),
        (b'{"a": null, "b": Infinity}', "holds NaN or Infinity"),
        (b'{"a": [null, -Infinity]}', "holds NaN or Infinity"),
        (b'{"a": 1e400}', "holds NaN or Infinity"),
        (b'{"a": "\\u0000"}', "contains a NUL character"),
        (b'{"\\u0000": 1}', "contains a NUL character"),
        (b'{"a": 9223372036854775808}', "holds a number too large"),
        (b'{"a": -9223372036854775808}', "holds a number too large"),
        (b'{"a": 9223372036854775807}', None),
        (b'{"a": "\\\\u0000"}', None),
        (b'{"a": null, "b": 1.5}', None),
    ],
)
def test_payloads_as_the_request_body_gives_them(body: bytes, problem: str | None) -> None:
    """Parsed as the route parses a body (pydantic reads NaN, Infinity and 1e400 as floats)."""
    payload = TypeAdapter(dict[str, Any]).validate_json(body, strict=True)
    assert sync._payload_problem(payload) == problem


def checked_before(value: Any, entity_id: uuid.UUID) -> bool:
    """_check_payload_id as it was: whether it lets ``value`` through."""
    if value is None or value == str(entity_id):
        return True
    try:
        return uuid.UUID(str(value)) == entity_id
    except ValueError:
        return False


def spellings(entity: uuid.UUID) -> list[Any]:
    """Ways a payload may write (or miswrite) ``entity``'s id."""
    digits = entity.hex
    return [
        None,
        str(entity),
        str(entity).upper(),
        digits,
        "{" + str(entity) + "}",
        "urn:uuid:" + str(entity),
        "-" + digits[:16] + "--" + digits[16:] + "-",
        " " + digits[1:],
        "0x" + digits[2:],
        "0_" + digits[2:],
        digits[:10] + "_" + digits[11:],
        digits[:31],
        digits + "0",
        "0" + digits,
        "00" + str(entity),
        str(uuid.UUID(int=entity.int + 1)),
        "not an id at all, but 32 chars!",
        "",
        entity,
        entity.int,
        ["list"],
    ]


# The second has leading zeros: int() reads " 0...", "0x..." and "0_..." as it.
ENTITIES = [
    uuid.UUID("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
    uuid.UUID("00000000-0000-4000-8000-0000000000ab"),
]
CASES = [(entity, value) for entity in ENTITIES for value in spellings(entity)]


@pytest.mark.parametrize(("entity", "value"), CASES, ids=range(len(CASES)))
def test_the_payload_id_is_checked_as_before(entity: uuid.UUID, value: Any) -> None:
    try:
        sync._check_payload_id(value, entity)
        passed = True
    except sync._Refused:
        passed = False
    assert passed == checked_before(value, entity)


def test_weird_spellings_of_the_id_still_pass() -> None:
    """What uuid.UUID reads as the id passes, as it always did."""
    entity = ENTITIES[1]
    for value in (" " + entity.hex[1:], "0x" + entity.hex[2:], "0_" + entity.hex[2:]):
        assert checked_before(value, entity)
        sync._check_payload_id(value, entity)
