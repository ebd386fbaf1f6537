"""Uploaded plugin packages on disk, under ``Settings.storage_dir``.

A package is written to a temporary file inside the storage folder while its sha256 and size
are computed, and renamed into place only when it is complete and accepted, so a failed or
refused upload leaves nothing behind. Storage keys are built from ids only
(``<plugin id>/<version id>.pkg``), never from anything a user sent, and every key is checked
to stay inside the storage folder before it is used.
"""

import hashlib
import os
import re
import tempfile
import uuid
from pathlib import Path

from gsm_cloud.api.errors import TooLarge

_KEY = re.compile(r"^[0-9a-f]{32}/[0-9a-f]{32}\.pkg$")
_INCOMING = ".incoming"


def package_key(plugin_id: uuid.UUID, version_id: uuid.UUID) -> str:
    return f"{plugin_id.hex}/{version_id.hex}.pkg"


class PackageStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """Where a stored package lives. Refuses any key that is not one of ours."""
        if not _KEY.match(key):
            raise ValueError(f"not a package storage key: {key!r}")
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root):  # pragma: no cover - the pattern already rules it out
            raise ValueError(f"storage key escapes the storage folder: {key!r}")
        return path

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def new_upload(self, *, max_bytes: int) -> "PackageUpload":
        incoming = self.root / _INCOMING
        incoming.mkdir(parents=True, exist_ok=True)
        return PackageUpload(self, incoming, max_bytes=max_bytes)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class PackageUpload:
    """A package being received: hashed and counted as it is written to a temporary file in
    the storage folder (the same file system as its final place, so the rename is atomic)."""

    def __init__(self, store: PackageStore, folder: Path, *, max_bytes: int) -> None:
        self.store = store
        self.max_bytes = max_bytes
        self.size = 0
        self._digest = hashlib.sha256()
        fd, name = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".part")
        self._file = os.fdopen(fd, "wb")
        self._temp: Path | None = Path(name)
        self.key: str | None = None

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    @property
    def path(self) -> Path:
        """The file being written (or placed): for reading it once it is finished."""
        if self._temp is not None:
            return self._temp
        if self.key is not None:
            return self.store.path(self.key)
        raise RuntimeError("the upload was discarded")

    def write(self, data: bytes) -> None:
        if self.size + len(data) > self.max_bytes:
            self.discard()
            raise TooLarge(f"the package is larger than the limit of {self.max_bytes} bytes")
        self._file.write(data)
        self._digest.update(data)
        self.size += len(data)

    def finish(self) -> None:
        """Flush the data to disk; call before ``place``."""
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def place(self, key: str) -> None:
        """Rename the finished upload into place under ``key``."""
        if self._temp is None:
            raise RuntimeError("the upload was discarded")
        target = self.store.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temp, target)
        self._temp = None
        self.key = key

    def discard(self) -> None:
        """Remove whatever this upload wrote: the temporary file, or the placed file."""
        if not self._file.closed:
            self._file.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
            self._temp = None
        if self.key is not None:
            self.store.delete(self.key)
            self.key = None
