"""Plugin packages for tests that need valid ones without a folder on disk: the cloud's upload
tests and the end-to-end tests of publish, search and download."""

import io
import zipfile
from typing import Any

import tomli_w

from gsm_cli.services import plugin_package


def manifest_text(
    name: str,
    version: str,
    *,
    games: tuple[str, ...] | list[str] = ("minecraft",),
    deps: dict[str, str] | None = None,
    category: str = "other",
    description: str | None = None,
) -> str:
    manifest: dict[str, Any] = {
        "name": name,
        "version": version,
        "description": description or f"{name} for tests",
        "category": category,
        "games": list(games),
    }
    if deps:
        manifest["dependencies"] = deps
    return tomli_w.dumps(manifest)


def package_bytes(
    name: str = "Essentials",
    version: str = "1.0.0",
    *,
    games: tuple[str, ...] | list[str] = ("minecraft",),
    deps: dict[str, str] | None = None,
    category: str = "other",
    description: str | None = None,
    files: dict[str, bytes] | None = None,
    manifest: str | None = None,
) -> bytes:
    """A package zip in memory: the manifest, then each file under files/ (stored, so the
    bytes given are the bytes in the zip). Valid unless ``manifest`` or ``files`` say otherwise."""
    text = manifest or manifest_text(
        name, version, games=games, deps=deps, category=category, description=description
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(_entry(plugin_package.MANIFEST), text)
        for path, data in (files or {f"{name}.jar": f"{name} {version}".encode()}).items():
            archive.writestr(_entry(f"{plugin_package.FILES_DIR}{path}"), data)
    return out.getvalue()


def _entry(name: str) -> zipfile.ZipInfo:
    """A zip entry with a fixed time, so the same arguments give the same bytes (and sha256)
    whenever they are packed (zipfile would stamp the current time)."""
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    return info


def package_of_size(size: int, name: str = "Essentials", version: str = "1.0.0") -> bytes:
    """A valid package of exactly ``size`` bytes (its one file padded to fit)."""
    empty = len(package_bytes(name, version, files={"pad.bin": b""}))
    if size < empty:
        raise ValueError(f"a package is at least {empty} bytes")
    data = package_bytes(name, version, files={"pad.bin": b"\0" * (size - empty)})
    assert len(data) == size
    return data
