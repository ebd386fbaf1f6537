"""Types shared by every request and response model.

Strings never carry NUL characters and never exceed their column's length; JSON documents are
objects of bounded size; integers fit their columns. PostgreSQL would otherwise refuse such
input with an error, and the API must answer every input with a 4xx, never a 500.
"""

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

MAX_JSON_BYTES = 64 * 1024
INT32_MAX = 2**31 - 1


def _no_nul(value: str) -> str:
    """Text PostgreSQL can store: no NUL character, no lone UTF-16 surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


def _clean_json(value: Any) -> Any:
    def walk(item: Any, depth: int) -> None:
        if depth > 32:
            raise ValueError("is nested too deeply")
        if isinstance(item, str):
            _no_nul(item)
        elif isinstance(item, dict):
            for key, child in item.items():
                _no_nul(key)
                walk(child, depth + 1)
        elif isinstance(item, list):
            for child in item:
                walk(child, depth + 1)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) > 2**63 - 1:
            raise ValueError("holds a number too large")
        elif isinstance(item, float) and not math.isfinite(item):  # JSON has no NaN/Infinity
            raise ValueError("holds a number that is not finite")

    walk(value, 0)
    if len(json.dumps(value, default=str)) > MAX_JSON_BYTES:
        raise ValueError(f"is larger than {MAX_JSON_BYTES} bytes")
    return value


def Text(max_length: int | None = None, min_length: int = 0) -> Any:
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
    ]


def _utc_iso(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


# Times leave the API as ISO 8601 UTC with a Z (the database keeps naive UTC).
UtcDateTime = Annotated[datetime, PlainSerializer(_utc_iso, return_type=str, when_used="json")]
JsonObject = Annotated[dict[str, Any], AfterValidator(_clean_json)]
Int32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
Email = Annotated[
    str,
    StringConstraints(max_length=255, pattern=r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$"),
]

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int


class Model(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
