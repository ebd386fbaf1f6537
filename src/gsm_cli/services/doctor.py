"""gsm doctor: checks of the store, folders, cloud and tools. Reports; changes nothing."""

import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gsm_cli.errors import GsmError
from gsm_cli.paths import FOLDER_HINT, Paths, folder_problem, nearest_existing
from gsm_cli.services import settings
from gsm_cli.store import Store, migrate
from gsm_cli.store.database import READ_ONLY_HINT

if TYPE_CHECKING:
    from gsm_cli.cloud.credentials import Credentials

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    hint: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def check_store(path: Path) -> tuple[list[Check], Store | None]:
    try:
        present = path.exists()
        empty = present and path.is_file() and path.stat().st_size == 0
    except OSError as exc:  # a folder on the way cannot be searched
        reason = f"gsm cannot reach its store {path} ({exc.strerror or exc})"
        return [Check("store", FAIL, reason, FOLDER_HINT)], None
    if not present or empty:
        problem = folder_problem(path.parent)
        if problem is not None:
            reason = f"gsm cannot create its store {path}: {problem}"
            return [Check("store", FAIL, reason, FOLDER_HINT)], None
        if not present:
            detail = f"{path} not created yet; gsm creates it on first use"
        else:
            detail = f"{path} is empty; gsm makes it a new store on first use"
        return [Check("store", OK, detail)], None
    try:
        store = Store.open(path, upgrade=False)
    except GsmError as err:
        return [Check("store", FAIL, err.message, err.hint)], None
    if store.read_only:
        checks = [
            Check(
                "store",
                WARN,
                f"{path} opens read-only ({store.read_only_reason}): commands that only read "
                "work, commands that change something are refused",
                READ_ONLY_HINT,
            )
        ]
    else:
        checks = [Check("store", OK, f"{path} opens")]
    try:
        problems = store.integrity_problems()
    except Exception as exc:  # a corrupt page can fail the check itself
        problems = [str(exc)]
    if problems:
        checks.append(
            Check(
                "store integrity",
                FAIL,
                "; ".join(problems[:3]),
                "restore the store from a backup, or move it aside to start afresh",
            )
        )
    else:
        checks.append(Check("store integrity", OK, "PRAGMA integrity_check: ok"))
    checks.append(_schema_check(store.schema_version(), read_only=store.read_only))
    return checks, store


def _schema_check(version: str | None, *, read_only: bool = False) -> Check:
    if version == migrate.HEAD:
        return Check("store schema", OK, f"version {version} (current)")
    if version in migrate.REVISIONS or version is None:
        if read_only:  # every command would have to upgrade it first, and none can
            return Check(
                "store schema",
                FAIL,
                f"version {version or 'none'}; current is {migrate.HEAD}, and the store is "
                "read-only, so gsm cannot upgrade it and no other command can use it",
                READ_ONLY_HINT,
            )
        return Check(
            "store schema",
            WARN,
            f"version {version or 'none'}; current is {migrate.HEAD}",
            "any other gsm command upgrades it in place",
        )
    return Check(
        "store schema",
        FAIL,
        f"version {version} is newer than this gsm ({migrate.HEAD})",
        "upgrade gsm",
    )


def check_folder(label: str, folder: Path) -> Check:
    problem = folder_problem(folder)
    if problem is not None:
        return Check(label, FAIL, problem, FOLDER_HINT)
    existing = nearest_existing(folder)
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return Check(label, FAIL, f"{existing} is not writable ({exc.strerror or exc})")
    detail = str(folder) if existing == folder else f"{folder} (created when first needed)"
    return Check(label, OK, f"{detail} is writable")


def check_cloud(
    paths: Paths,
    env: Mapping[str, str],
    configured_url: str | None,
    timeout: float,
    this_device: tuple[str, str] | None = None,
) -> list[Check]:
    """The cloud (does it answer?) and the login (who are we there?), with the same
    credentials as every cloud command: GSM_TOKEN and GSM_API_URL, else the stored login."""
    from gsm_cli.cloud import credentials
    from gsm_cli.cloud.client import CloudClient, CloudTokenRefusedError

    try:
        creds: credentials.Credentials | None = credentials.current(paths, env, configured_url)
        login = None
    except GsmError as err:  # not logged in, or GSM_TOKEN without a cloud URL
        creds = None
        not_in = err.code == "not_logged_in"
        login = Check("login", INFO if not_in else WARN, err.message, err.hint)
    api_url = creds.api_url if creds is not None else configured_url
    if not api_url:
        cloud = Check(
            "cloud", INFO, "no cloud configured; gsm works offline", "gsm config set cloud.api_url"
        )
        return [cloud, login or Check("login", INFO, "not logged in", "gsm auth login")]
    device_id, device_name = this_device or (None, None)
    with CloudClient(
        api_url,
        creds.token if creds is not None else None,
        timeout=timeout,
        device_id=device_id,
        device_name=device_name,
    ) as client:
        try:
            version = client.health().get("version")
        except GsmError as err:
            reason = err.message if err.code == "cloud_bad_answer" else f"{api_url} unreachable"
            cloud = Check("cloud", WARN, f"{reason}; working offline", err.hint)
            if login is None and creds is not None:
                login = Check(
                    "login", INFO, f"{_who(creds)}; not checked: no answer from the cloud"
                )
            return [cloud, login or Check("login", INFO, "not logged in")]
        cloud = Check(
            "cloud", OK, f"{api_url} answers" + (f" (gsm-cloud {version})" if version else "")
        )
        if login is not None:
            return [cloud, login]
        assert creds is not None
        try:
            me = client.me()
        except CloudTokenRefusedError as err:
            return [cloud, Check("login", WARN, f"{_who(creds)}, but {err.message}", err.hint)]
        except GsmError as err:
            return [cloud, Check("login", WARN, f"{_who(creds)}; not checked: {err.message}")]
    source = "GSM_TOKEN" if creds.source == "env" else "the stored login"
    return [cloud, Check("login", OK, f"logged in as {me['email']} (token from {source})")]


def _who(creds: "Credentials") -> str:
    source = "GSM_TOKEN" if creds.source == "env" else "the stored login"
    return f"logged in as {creds.email or 'a token'} ({source})"


def check_steamcmd(configured: str | None, env: Mapping[str, str]) -> Check:
    from gsm_cli.services import steamcmd

    try:
        return Check("steamcmd", OK, str(steamcmd.find_steamcmd(configured, env)))
    except GsmError as err:
        detail = err.message
        if "Steam game files" not in detail:
            detail += "; needed only to install Steam game files"
        return Check("steamcmd", WARN, detail, err.hint)


def check_restic(values: Mapping[str, str | None], env: Mapping[str, str]) -> list[Check]:
    """With backup.backend restic: restic runs, and the repository opens with the password
    given (read-only: `restic cat config`). Nothing is created or changed."""
    if values.get("backup.backend") != "restic":
        return []
    from gsm_cli.services import restic

    try:
        found = restic.version(env)
    except GsmError as err:
        return [Check("restic", FAIL, err.message, err.hint)]
    checks = [Check("restic", OK, found.split(" compiled")[0])]
    try:
        location = values.get("backup.repository") or env.get("RESTIC_REPOSITORY")
        repo = restic.repository(location, values.get("backup.password_file"), env)
        restic.check_open(repo, timeout=30)
    except GsmError as err:
        hint = err.hint
        location = values.get("backup.repository") or env.get("RESTIC_REPOSITORY") or ""
        if err.code == "restic_no_repository" and location and restic.is_local(location):
            hint = "`gsm server backup` creates it when the folder is missing or empty"
        return [*checks, Check("restic repository", FAIL, err.message, hint)]
    detail = f"{repo.display} opens (password from {repo.password_source})"
    return [*checks, Check("restic repository", OK, detail)]


def run(paths: Paths, env: Mapping[str, str]) -> list[Check]:
    checks, store = check_store(paths.store_file)
    this_device = None
    try:
        values = _settings(store, env, checks)
        this_device = _device(store, env)
    finally:
        if store is not None:
            store.close()

    backup_dir = Path(values["backup.dir"]) if values.get("backup.dir") else paths.backup_dir
    for label, folder in (
        ("data folder", paths.data_dir),
        ("config folder", paths.config_dir),
        ("log folder", paths.log_dir),
        ("backup folder", backup_dir),
    ):
        checks.append(check_folder(label, folder))
    timeout = min(float(values.get("cloud.timeout") or 10), 5.0)
    checks.extend(check_cloud(paths, env, values.get("cloud.api_url"), timeout, this_device))
    checks.append(check_steamcmd(values.get("steamcmd.path"), env))
    checks.extend(check_restic(values, env))
    return checks


def _settings(
    store: Store | None, env: Mapping[str, str], checks: list[Check]
) -> dict[str, str | None]:
    """The settings doctor needs, from whatever is usable: store, environment, defaults."""
    try:
        if store is not None and store.schema_version() in migrate.REVISIONS:
            return {s.key: s.value for s in settings.list_settings(store, env)}
        return settings.values_without_store(env)
    except GsmError as err:
        checks.append(Check("settings", FAIL, err.message, err.hint))
        return {key: spec.default for key, spec in settings.SPECS.items()}


def _device(store: Store | None, env: Mapping[str, str]) -> tuple[str, str] | None:
    """This machine's device id and name, when the store can tell (doctor also runs on a
    broken or old store; then the cloud is asked without them)."""
    if store is None or store.schema_version() != migrate.HEAD:
        return None
    from gsm_cli.services import device

    try:
        this = device.identity(store, env)
    except GsmError:
        return None
    return this.id, this.name


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == FAIL]
