"""This machine as the cloud knows it: a device id made with the store, and a device name.

A server belongs to the device that created it (``local_servers.device_id``): its folder,
process and runtime status are facts of that machine only (docs/sync-protocol.md).
"""

import socket
from collections.abc import Mapping
from dataclasses import dataclass

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


def identity(store: Store, env: Mapping[str, str]) -> Device:
    with store.read() as session:
        row = session.get(LocalDevice, 1)
    if row is None:  # every migrated store has it; a missing row is a damaged store
        from gsm_cli.errors import StoreError

        raise StoreError(f"the store {store.path} has no device id (table local_device is empty)")
    return Device(id=row.device_id, name=device_name(store, env))
