"""Where gsm keeps its files: platformdirs by default, everything under GSM_HOME when set."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "gsm"
STORE_FILENAME = "gsm.db"


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
    home = env.get("GSM_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        return Paths(
            home=root,
            data_dir=root,
            config_dir=root / "config",
            log_dir=root / "logs",
            backup_dir=root / "backups",
        )
    import platformdirs

    dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
    data_dir = Path(dirs.user_data_dir)
    return Paths(
        home=None,
        data_dir=data_dir,
        config_dir=Path(dirs.user_config_dir),
        log_dir=Path(dirs.user_log_dir),
        backup_dir=data_dir / "backups",
    )
