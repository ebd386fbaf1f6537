"""Where gsm keeps its files: platformdirs by default, everything under GSM_HOME when set."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gsm_cli.datadir import (  # noqa: F401 (APP_NAME, STORE_FILENAME: re-exported)
    APP_NAME,
    STORE_FILENAME,
    home,
    platform_dirs,
)
from gsm_cli.errors import HomeUnusableError

FOLDER_HINT = (
    "make it a folder this user can write (check its owner and permissions), "
    "or point GSM_HOME at another folder"
)


@dataclass(frozen=True)
class Paths:
    home: Path | None
    data_dir: Path
    config_dir: Path
    log_dir: Path
    backup_dir: Path

    @property
    def store_file(self) -> Path:
        return self.data_dir / STORE_FILENAME

    def as_dict(self) -> dict[str, str | None]:
        return {
            "home": str(self.home) if self.home else None,
            "store": str(self.store_file),
            "data_dir": str(self.data_dir),
            "config_dir": str(self.config_dir),
            "log_dir": str(self.log_dir),
            "backup_dir": str(self.backup_dir),
        }


def resolve_paths(env: Mapping[str, str]) -> Paths:
    root = home(env)
    if root is not None:
        return Paths(
            home=root,
            data_dir=root,
            config_dir=root / "config",
            log_dir=root / "logs",
            backup_dir=root / "backups",
        )
    dirs = platform_dirs()
    data_dir = Path(dirs.user_data_dir)
    return Paths(
        home=None,
        data_dir=data_dir,
        config_dir=Path(dirs.user_config_dir),
        log_dir=Path(dirs.user_log_dir),
        backup_dir=data_dir / "backups",
    )


def nearest_existing(path: Path) -> Path:
    """``path`` itself or its closest ancestor that exists (whatever it is)."""
    while True:
        try:
            path.stat()
            return path
        except (FileNotFoundError, NotADirectoryError):
            if path == path.parent:
                return path
            path = path.parent
        except OSError:  # cannot even look (a folder on the way is not searchable)
            return path


def folder_problem(folder: Path) -> str | None:
    """Why gsm could not make or write ``folder``, or None when it can (as far as the OS says).

    Only looks; creates nothing. Permission bits do not stop root, so they are checked with
    os.access (which knows about root, ACLs and read-only file systems), not read by hand.
    """
    existing = nearest_existing(folder)
    try:
        if existing.exists() and not existing.is_dir():
            return f"{existing} is a file, not a folder"
    except OSError as exc:  # a folder on the way cannot be searched
        return f"{existing} cannot be reached ({exc.strerror or exc})"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable"
    return None


def ensure_folder(folder: Path, role: str) -> Path:
    """Create one of gsm's own folders (with its parents) if needed.

    ``role`` names it in the error ("data", "log", "backup"...). A folder that cannot be made
    (GSM_HOME is a file, its parent is read-only) is a HomeUnusableError (exit 4), not a crash.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = folder_problem(folder) or exc.strerror or str(exc)
        raise HomeUnusableError(
            f"gsm cannot create its {role} folder {folder}: {reason}", hint=FOLDER_HINT
        ) from exc
    return folder
