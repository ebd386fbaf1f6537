"""Where gsm's data folder, and the store in it, are: under GSM_HOME when set, else where
platformdirs says. Without dataclasses (gsm_cli.paths builds its ``Paths`` on this), so that
the completion look-ups (gsm_cli.completion) find the store as fast as Python starts."""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # typing's, without importing typing
if TYPE_CHECKING:
    from collections.abc import Mapping

    import platformdirs

APP_NAME = "gsm"
STORE_FILENAME = "gsm.db"


def home(env: Mapping[str, str]) -> Path | None:
    """GSM_HOME, absolute, when set (and not empty)."""
    value = env.get("GSM_HOME")
    return Path(value).expanduser().resolve() if value else None


def platform_dirs() -> platformdirs.PlatformDirs:
    """platformdirs' folders for gsm (imported only without GSM_HOME)."""
    import platformdirs

    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def data_dir(env: Mapping[str, str]) -> Path:
    root = home(env)
    if root is not None:
        return root
    return Path(platform_dirs().user_data_dir)


def store_file(env: Mapping[str, str]) -> Path:
    return data_dir(env) / STORE_FILENAME
