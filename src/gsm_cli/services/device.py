"""This machine as the cloud knows it: a device id made with the store, and a device name.

A server belongs to the device that created it (``local_servers.device_id``): its folder,
process and runtime status are facts of that machine only (docs/sync-protocol.md).
"""

import socket
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from gsm_cli.errors import StoreError
from gsm_cli.services import settings
from gsm_cli.store import Store
from gsm_cli.store.models import LocalDevice


@dataclass(frozen=True)
class Device:
    id: str
    name: str


def device_name(store: Store, env: Mapping[str, str]) -> str:
    """The ``device.name`` setting, or this machine's host name."""
    return settings.effective_value(store, "device.name", env) or socket.gethostname() or "device"


def device_id(session: Session) -> str:
    """This store's device id, read in the caller's transaction."""
    row = session.get(LocalDevice, 1)
    if row is None:  # every migrated store has it; a missing row is a damaged store
        raise StoreError("the store has no device id (table local_device is empty)")
    return row.device_id


def identity(store: Store, env: Mapping[str, str]) -> Device:
    with store.read() as session:
        this_id = device_id(session)
    return Device(id=this_id, name=device_name(store, env))
