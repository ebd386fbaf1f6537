"""The devices that use each token.

gsm sends ``X-GSM-Device-Id`` (its store's device id, a UUID) and ``X-GSM-Device-Name`` (the
``device.name`` setting or the host name, percent-encoded UTF-8) with every request. The cloud
records, per token, each device that used it and when it was first and last seen, so that
revoking a token can tell which other machines it logs out. Headers that are not a UUID are
ignored; a name is cleaned of control characters and cut to 100 characters. A token records at
most MAX_DEVICES_PER_TOKEN devices; ``last_seen_at`` moves at most once a minute.
"""

import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gsm_cloud.db.models import ApiTokenDevice

ID_HEADER = "x-gsm-device-id"
NAME_HEADER = "x-gsm-device-name"
MAX_NAME = 100
MAX_DEVICES_PER_TOKEN = 100
SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class DeviceHeaders:
    id: uuid.UUID
    name: str | None


def from_headers(headers: Mapping[str, str]) -> DeviceHeaders | None:
    raw = headers.get(ID_HEADER)
    if not raw:
        return None
    try:
        device_id = uuid.UUID(raw.strip())
    except ValueError:
        return None
    return DeviceHeaders(device_id, clean_name(headers.get(NAME_HEADER)))


def clean_name(raw: str | None) -> str | None:
    if not raw:
        return None
    text = unquote(raw, errors="replace")
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    return text[:MAX_NAME] or None


def seen(session: Session, token_id: uuid.UUID, device: DeviceHeaders, now: datetime) -> bool:
    """Record that ``device`` used the token now; whether anything was written (flushed, not
    committed)."""
    row = session.get(ApiTokenDevice, (token_id, device.id))
    if row is not None:
        renamed = device.name is not None and device.name != row.device_name
        if not renamed and now - row.last_seen_at < SEEN_RESOLUTION:
            return False
        row.last_seen_at = now
        if device.name is not None:
            row.device_name = device.name
        session.flush()
        return True
    known = session.scalar(
        select(func.count()).select_from(ApiTokenDevice).where(ApiTokenDevice.token_id == token_id)
    )
    if (known or 0) >= MAX_DEVICES_PER_TOKEN:
        return False
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values = {
        "token_id": token_id,
        "device_id": device.id,
        "device_name": device.name,
        "first_seen_at": now,
        "last_seen_at": now,
    }
    statement = insert(ApiTokenDevice).values(**values)
    # Two first requests of one device at once: the second only moves last_seen_at.
    changes: dict[str, object] = {"last_seen_at": now}
    if device.name is not None:
        changes["device_name"] = device.name
    statement = statement.on_conflict_do_update(
        index_elements=[ApiTokenDevice.token_id, ApiTokenDevice.device_id], set_=changes
    )
    session.execute(statement)
    return True


def of_token(session: Session, token_id: uuid.UUID) -> list[ApiTokenDevice]:
    return list(
        session.scalars(
            select(ApiTokenDevice)
            .where(ApiTokenDevice.token_id == token_id)
            .order_by(ApiTokenDevice.last_seen_at.desc(), ApiTokenDevice.device_id)
        )
    )
