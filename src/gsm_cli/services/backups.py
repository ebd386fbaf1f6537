"""Backups of a server's folder (``server_backups``): .tar.gz archives with their sha256, or
snapshots in a restic repository (``backup.backend = restic``, through ``services/restic.py``).

An archive is written to a ``.partial`` file, hashed while it is written, synced and only then
renamed into place; its row, the server's ``last_backup`` (with its sync operation) and the
retention clean-up are one transaction. A restore verifies the archive's sha256, extracts it
into a temporary sibling of the server's folder (refusing any member that would land outside
it), and swaps the folders with two renames, putting the old folder back if the swap fails.

A restic backup is a snapshot tagged ``gsm`` and ``gsm-server-<id>``, recorded once restic has
made it (a snapshot the store cannot record is forgotten again); retention is restic's own
``forget --keep-last`` over those tags only. Its restore goes the same way as an archive's:
into a temporary sibling, checked, then swapped in.
"""

import contextlib
import fnmatch
import gzip
import hashlib
import logging
import os
import posixpath
import re
import shutil
import stat
import tarfile
import tempfile
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from sqlalchemy import literal_column, select
from sqlalchemy.orm import Session

from gsm_cli.errors import (
    ConflictError,
    GsmError,
    InvalidInputError,
    NotFoundError,
    VerificationError,
)
from gsm_cli.paths import Paths
from gsm_cli.services import busy, restic, servers, settings
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import LocalServer, ServerBackup
from gsm_cli.timeutil import iso_utc

Report = Callable[[int, int | None, str | None], None]  # report(done_bytes, total_bytes, label)

log = logging.getLogger("gsm.backups")

ARCHIVE = "archive"  # server_backups.backend
RESTIC = "restic"
SUFFIX = ".tar.gz"
PARTIAL = ".partial"
MIN_PREFIX = 6
CHUNK = 1 << 20  # bytes copied per read, and the step between two progress reports
SQL_TIME = "%Y-%m-%d %H:%M:%S"  # the store's datetime('now') text
FILE_TIME = "%Y%m%dT%H%M%SZ"
# Errors that mean "this archive is damaged", as opposed to a disk or permission problem.
ARCHIVE_ERRORS: tuple[type[BaseException], ...] = (
    tarfile.TarError,
    EOFError,
    zlib.error,
    gzip.BadGzipFile,
)


@dataclass(frozen=True)
class Backup:
    id: str
    server_id: str
    server_name: str
    path: str
    sha256: str
    size_bytes: int
    created_at: str | None  # ISO 8601 UTC
    backend: str = ARCHIVE  # "archive": path is the .tar.gz; "restic": path is the repository
    snapshot_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "server_id": self.server_id,
            "server_name": self.server_name,
            "backend": self.backend,
            "path": self.path,
            "snapshot_id": self.snapshot_id,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "created_at": self.created_at,
        }


def _to_backup(row: ServerBackup, server_name: str) -> Backup:
    return Backup(
        id=row.id,
        server_id=row.server_id,
        server_name=server_name,
        path=row.path,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        created_at=iso_utc(row.created_at),
        backend=row.backend or ARCHIVE,
        snapshot_id=row.snapshot_id,
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _Meter:
    """Counts bytes and calls ``report`` at most once per CHUNK (and at start and end)."""

    def __init__(self, report: Report | None, total: int | None, label: str) -> None:
        self.report = report
        self.total = total
        self.label = label
        self.done = 0
        self._last = 0
        if report is not None:
            report(0, total, label)

    def set(self, done: int) -> None:
        self.done = done
        if self.report is not None and done - self._last >= CHUNK:
            self._last = done
            self.report(done, self.total, self.label)

    def advance(self, count: int) -> None:
        self.set(self.done + count)

    def finish(self) -> None:
        if self.report is not None:
            self.report(self.done, self.total, self.label)


class _HashingWriter:
    """A write-only file object that hashes what goes through it to the real file."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.raw.write(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


class _MeteredReader:
    """A file object for reading that tells a meter how far into the file it is."""

    def __init__(self, raw: BinaryIO, meter: _Meter, *, absolute: bool = False) -> None:
        self.raw = raw
        self.meter = meter
        self.absolute = absolute  # report the file position rather than bytes read

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        if self.absolute:
            self.meter.set(self.raw.tell())
        else:
            self.meter.advance(len(data))
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return True


# --- settings ---------------------------------------------------------------------------------


def _backup_root(store: Store, paths: Paths, env: Mapping[str, str]) -> Path:
    configured = settings.effective_value(store, "backup.dir", env)
    return Path(configured).expanduser() if configured else paths.backup_dir


def _retention(store: Store, env: Mapping[str, str], keep: int | None) -> int:
    if keep is None:
        keep = int(settings.effective_value(store, "backup.retention", env) or "5")
    if keep < 1:
        raise InvalidInputError(f"the number of backups to keep must be at least 1, not {keep}")
    return keep


def _exclude_patterns(store: Store, env: Mapping[str, str]) -> list[str]:
    raw = settings.effective_value(store, "backup.exclude", env) or ""
    return [p.strip().replace("\\", "/").rstrip("/") for p in raw.split(",") if p.strip()]


def is_excluded(rel_path: str, patterns: list[str]) -> bool:
    """Whether a path relative to the server folder ('a/b.log') matches an exclude pattern,
    tried against the whole relative path and against the last name."""
    name = rel_path.rsplit("/", 1)[-1]
    return any(
        fnmatch.fnmatch(rel_path, pattern) or fnmatch.fnmatch(name, pattern) for pattern in patterns
    )


# --- queries ----------------------------------------------------------------------------------


def _rows_newest_first(session: Session, server_id: str) -> list[ServerBackup]:
    # rowid breaks ties between backups taken within the same second: later insert, newer.
    query = (
        select(ServerBackup)
        .where(ServerBackup.server_id == server_id)
        .order_by(ServerBackup.created_at.desc(), literal_column("server_backups.rowid").desc())
    )
    return list(session.scalars(query))


def _resolve(session: Session, server: LocalServer, ref: str) -> ServerBackup:
    """A backup of ``server`` by id, unique id prefix (>= 6 characters), archive file name, or
    restic snapshot id (or its unique prefix)."""
    ref = ref.strip()
    rows = _rows_newest_first(session, server.id)
    hint = f"run `gsm server backups {server.name}` to see them"
    for row in rows:
        if row.backend == RESTIC:
            if ref.lower() in (row.id, row.snapshot_id):
                return row
        elif row.id == ref.lower() or ref in (row.path, Path(row.path).name):
            return row
    if len(ref) >= MIN_PREFIX:
        matches = [
            row
            for row in rows
            if row.id.startswith(ref.lower()) or (row.snapshot_id or "").startswith(ref.lower())
        ]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidInputError(
                f"{ref!r} matches {len(matches)} backups of {server.name}",
                hint="give more characters of the id",
                code="ambiguous_backup",
            )
    raise NotFoundError(
        f"server {server.name} has no backup {ref!r}", hint=hint, code="backup_not_found"
    )


def list_backups(store: Store, server_name: str) -> list[Backup]:
    """The server's backups, newest first."""
    with store.read() as session:
        server = servers.find(session, server_name)
        return [_to_backup(row, server.name) for row in _rows_newest_first(session, server.id)]


# --- create -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    path: Path
    arcname: str
    size: int  # bytes of file content (0 for folders and links)


def _scan(folder: Path, patterns: list[str], skip: Path | None) -> list[_Entry]:
    """Everything under ``folder`` to archive, parents before children, links not followed."""
    entries: list[_Entry] = []

    def walk(current: Path, prefix: str) -> None:
        with os.scandir(current) as it:
            items = sorted(it, key=lambda e: e.name)
        for item in items:
            rel = f"{prefix}{item.name}"
            if is_excluded(rel, patterns):
                continue
            path = Path(item.path)
            info = item.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                if skip is not None and _same_folder(path, skip):
                    continue  # the backup folder itself, when it lies inside the server's
                entries.append(_Entry(path, rel, 0))
                walk(path, rel + "/")
            elif stat.S_ISREG(info.st_mode):
                entries.append(_Entry(path, rel, info.st_size))
            elif stat.S_ISLNK(info.st_mode):
                entries.append(_Entry(path, rel, 0))
            # sockets, pipes and devices are not server data: left out

    walk(folder, "")
    return entries


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _claim_archive_name(folder: Path, stem: str) -> tuple[Path, Path, BinaryIO]:
    """Pick ``stem.tar.gz`` (or ``stem-2.tar.gz``...) and create its .partial file exclusively.

    Checking for the final name after the exclusive create closes the race with another
    process: it renames its .partial away only after it has finished, so either its .partial
    still blocks us or its final file is already visible.
    """
    for n in range(1, 10_000):
        name = f"{stem}{SUFFIX}" if n == 1 else f"{stem}-{n}{SUFFIX}"
        final = folder / name
        partial = folder / (name + PARTIAL)
        if final.exists():
            continue
        try:
            raw = partial.open("xb")
        except FileExistsError:
            continue
        if final.exists():
            raw.close()
            partial.unlink(missing_ok=True)
            continue
        return final, partial, raw
    raise ConflictError(f"too many backups named {stem} in {folder}")


def _fsync_folder(folder: Path) -> None:
    if os.name == "nt":
        return  # Windows cannot open a folder for fsync; NTFS journals the rename
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_archive(
    raw: BinaryIO, entries: list[_Entry], meter: _Meter
) -> str:  # returns the sha256 of what was written
    writer = _HashingWriter(raw)
    with tarfile.open(fileobj=writer, mode="w|gz", format=tarfile.PAX_FORMAT) as tar:
        tar.copybufsize = CHUNK
        for entry in entries:
            info = tar.gettarinfo(str(entry.path), arcname=entry.arcname)
            if info is None:
                continue
            if info.isreg():
                with entry.path.open("rb") as fh:
                    try:
                        tar.addfile(info, _MeteredReader(fh, meter))
                    except OSError as exc:
                        if os.fstat(fh.fileno()).st_size < info.size:
                            raise ConflictError(
                                f"{entry.arcname} shrank while it was being archived",
                                hint="stop the server, then back it up again",
                            ) from exc
                        raise
            else:
                tar.addfile(info)
                if info.islnk():  # a second name of a file already archived: counted, not read
                    meter.advance(entry.size)
    raw.flush()
    os.fsync(raw.fileno())
    return writer.digest.hexdigest()


@contextlib.contextmanager
def saved_for_backup(
    store: Store,
    paths: Paths,
    server_name: str,
    *,
    tell: Callable[[str], None] = lambda _message: None,
    warn: Callable[[str], None] = lambda _message: None,
) -> Iterator[LocalServer]:
    """What comes before backing up a server, for ``gsm server backup`` and a schedule's
    ``backup`` task alike: a half-finished plugin change undone or finished (never archived
    half-way), the server marked busy from here on (a game busy saving its world may not
    answer its queries, and is not to be taken for frozen meanwhile), and its save command
    sent on its console when it runs with one (``tell`` hears of it; ``warn`` of a running
    game without a console, whose files may change while they are read)."""
    from gsm_cli.services import games, lifecycle, plugins

    server = servers.get_local(store, server_name)
    plugins.recover_server(store, paths, server)
    game = games.get_game(server.game_type)
    with busy.marked(paths, busy.server_subject(server.id), "backup"):
        supervisor = lifecycle.supervisor(paths, server)
        if supervisor and supervisor.console and game.save_command:
            tell(f"saving {server.name} first: {game.save_command}")
            lifecycle.send(
                store, paths, server.id, game.save_command, wait_for=game.save_done_pattern,
                timeout=60,
            )  # fmt: skip
        elif lifecycle.game_alive(server):
            warn(f"{server.name} is running; files may change while they are archived")
        yield server


def create_backup(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    server_name: str,
    *,
    keep: int | None = None,
    report: Report | None = None,
    notify: Callable[[str], None] | None = None,
) -> Backup:
    """Back up the server's folder (an archive, or a restic snapshot when ``backup.backend``
    is restic), record it, and keep only the newest ``keep`` backups of that kind.
    Marked busy while it runs (``services/busy.py``): a game slowed by the archiving is not
    taken for frozen. ``notify`` hears of what the operator should know (a repository made)."""
    server = servers.get_local(store, server_name)
    try:
        with busy.marked(paths, busy.server_subject(server.id), "backup"):
            return _create_backup(
                store, paths, env, server_name, keep=keep, report=report, notify=notify
            )
    except Exception as exc:  # recorded, then raised as it was
        _record_failure(store, server.id, exc)
        raise


def _record_failure(store: Store, server_id: str, exc: Exception) -> None:
    """A ``backup-failed`` server event (and its alerts: docs/alerts.md); a store that
    cannot take it leaves the backup's own error to be reported."""
    from gsm_cli.errors import GsmError
    from gsm_cli.services import lifecycle

    if store.read_only:
        return
    reason = exc.message if isinstance(exc, GsmError) else str(exc)
    with contextlib.suppress(GsmError):
        lifecycle.record(store, server_id, event="backup-failed", detail=reason[:500])


def _create_backup(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    server_name: str,
    *,
    keep: int | None,
    report: Report | None,
    notify: Callable[[str], None] | None = None,
) -> Backup:
    store.check_writable()  # an archive the store cannot record would be an orphan
    with store.read() as session:
        server = servers.find_local(session, server_name)
    keep = _retention(store, env, keep)
    patterns = _exclude_patterns(store, env)
    if not server.install_path:
        raise NotFoundError(f"server {server.name} has no folder to back up")
    install = Path(server.install_path)
    if not install.is_dir():
        raise NotFoundError(
            f"the folder of server {server.name} is missing: {install}",
            hint=f"point it at the right folder with `gsm server update {server.name} --path`",
            code="folder_not_found",
        )
    if settings.effective_value(store, "backup.backend", env) == RESTIC:
        return _create_restic_backup(store, env, server, install, keep, patterns, report, notify)

    root = _backup_root(store, paths, env)
    folder = root / server.name
    folder.mkdir(parents=True, exist_ok=True)
    entries = _scan(install, patterns, skip=root)
    now = _utc_now()
    final, partial, raw = _claim_archive_name(folder, f"{server.name}-{now.strftime(FILE_TIME)}")
    pruned: list[Path] = []
    try:
        with raw:
            meter = _Meter(report, sum(e.size for e in entries), f"backing up {server.name}")
            digest = _write_archive(raw, entries, meter)
        size = partial.stat().st_size
        os.replace(partial, final)
        _fsync_folder(folder)
        meter.finish()
        with store.write() as session:
            current = servers.find(session, server.id)
            row = ServerBackup(
                id=str(uuid.uuid4()),
                server_id=current.id,
                path=str(final),
                sha256=digest,
                size_bytes=size,
                created_at=now.strftime(SQL_TIME),
            )
            session.add(row)
            session.flush()
            current.last_backup = now.strftime(SQL_TIME)
            outbox.record(session, current, "update")
            older = [
                r
                for r in _rows_newest_first(session, current.id)
                if r.id != row.id and r.backend == ARCHIVE  # restic ones: restic's retention
            ]
            for old in older[keep - 1 :]:
                pruned.append(Path(old.path))
                session.delete(old)
            backup = _to_backup(row, current.name)
    except BaseException:
        # Nothing half done stays behind: no .partial, and no archive without its row.
        partial.unlink(missing_ok=True)
        final.unlink(missing_ok=True)
        raise
    for path in pruned:
        _remove_file(path)
    return backup


def _remove_file(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # the row is gone; a stray file is harmless
        log.warning("could not remove the backup file %s: %s", path, exc)


# --- restic backend ---------------------------------------------------------------------------


def _repository(store: Store, env: Mapping[str, str]) -> restic.Repository:
    # The setting, else restic's own RESTIC_REPOSITORY (not a setting's override: it may name
    # the operator's other repository, and may hold a password gsm must not store).
    return restic.repository(
        settings.effective_value(store, "backup.repository", env) or env.get("RESTIC_REPOSITORY"),
        settings.effective_value(store, "backup.password_file", env),
        env,
    )


def _glob_escape(text: str) -> str:
    """A literal path inside a restic pattern (restic's patterns escape with a backslash on
    POSIX; on Windows the backslash is the separator, and paths are taken as they are)."""
    return text if os.name == "nt" else re.sub(r"([\\*?\[\]])", r"\\\1", text)


def _restic_excludes(install: Path, patterns: list[str], repo: restic.Repository) -> list[str]:
    """backup.exclude as restic patterns, matching what the archives leave out: a pattern
    with a '/' is a path from the server's folder, one without is any file's or folder's name.
    A local repository inside the server's folder is left out too, as the archives' folder is."""
    base = _glob_escape(install.as_posix() if os.name != "nt" else str(install))
    sep = "\\" if os.name == "nt" else "/"
    excludes = [f"{base}{sep}{p}" if "/" in p else p for p in patterns]
    if restic.is_local(repo.location):
        folder = Path(os.path.realpath(restic.local_folder(repo.location)))
        if folder.is_relative_to(install):
            excludes.append(_glob_escape(str(folder)))
    return excludes


def _create_restic_backup(
    store: Store,
    env: Mapping[str, str],
    server: LocalServer,
    install: Path,
    keep: int,
    patterns: list[str],
    report: Report | None,
    notify: Callable[[str], None] | None,
) -> Backup:
    repo = _repository(store, env)
    keep_daily = settings.effective_value(store, "backup.keep_daily", env)
    tags = [restic.TAG, restic.server_tag(server.id)]
    folder = Path(os.path.realpath(install))  # the snapshot records where the files really are
    excludes = _restic_excludes(folder, patterns, repo)
    label = f"backing up {server.name}"
    now = _utc_now()
    try:
        snap = restic.backup(repo, folder, tags=tags, excludes=excludes, report=report, label=label)
    except NotFoundError as err:
        if err.code != "restic_no_repository" or not restic.init_local(repo):
            raise
        if notify is not None:
            notify(f"created the restic repository {repo.display} (keep its password safe)")
        snap = restic.backup(repo, folder, tags=tags, excludes=excludes, report=report, label=label)
    try:
        with store.write() as session:
            current = servers.find(session, server.id)
            row = ServerBackup(
                id=str(uuid.uuid4()),
                server_id=current.id,
                path=repo.display,
                sha256="",  # restic checks its own data (`restic check`); no archive to hash
                size_bytes=snap.size_bytes,
                created_at=now.strftime(SQL_TIME),
                backend=RESTIC,
                snapshot_id=snap.id,
            )
            session.add(row)
            session.flush()
            current.last_backup = now.strftime(SQL_TIME)
            outbox.record(session, current, "update")
            backup = _to_backup(row, current.name)
    except BaseException:
        restic.forget_quietly(repo, snap.id)  # no snapshot without its row
        raise
    _restic_retention(store, repo, server.id, tags, keep, int(keep_daily) if keep_daily else None)
    return backup


def _restic_retention(
    store: Store,
    repo: restic.Repository,
    server_id: str,
    tags: list[str],
    keep: int,
    keep_daily: int | None,
) -> None:
    """restic forgets (and prunes) the server's older gsm snapshots; their rows go with them.
    The new backup is made whatever happens here: a failure is a warning, not a failed backup."""
    try:
        removed = restic.forget_old(repo, tags=tags, keep_last=keep, keep_daily=keep_daily)
    except GsmError as err:
        log.warning("backed up, but restic could not forget older snapshots: %s", err.message)
        return
    if not removed:
        return
    with store.write() as session:
        query = select(ServerBackup).where(
            ServerBackup.server_id == server_id,
            ServerBackup.backend == RESTIC,
            ServerBackup.snapshot_id.in_(removed),
        )
        for row in session.scalars(query):
            session.delete(row)


def _restic_repository_of(
    store: Store, env: Mapping[str, str], backup: Backup
) -> restic.Repository:
    """The configured repository, which must be the one the backup was made in."""
    repo = _repository(store, env)
    if repo.display != backup.path:
        raise ConflictError(
            f"backup {backup.id[:8]} is in the restic repository {backup.path}, but "
            f"backup.repository is now {repo.display}",
            hint=f"gsm config set backup.repository {backup.path} (for as long as you need it)",
            code="restic_other_repository",
        )
    return repo


def _restic_snapshot(
    store: Store, env: Mapping[str, str], backup: Backup
) -> tuple[restic.Repository, dict[str, Any]]:
    repo = _restic_repository_of(store, env, backup)
    assert backup.snapshot_id is not None
    try:
        info = restic.snapshot_info(repo, backup.snapshot_id)
    except NotFoundError as err:
        raise VerificationError(
            f"the snapshot {backup.snapshot_id[:8]} of backup {backup.id[:8]} is no longer in "
            f"the restic repository {repo.display}",
            hint="forget the backup: its data is gone",
            code="snapshot_missing",
        ) from err
    return repo, info


def _restore_snapshot(
    repo: restic.Repository, info: dict[str, Any], backup: Backup, temp: Path
) -> Path:
    """Restore the snapshot under ``temp``; the folder within that holds the server's files,
    checked: nothing outside it but its parent folders, no link pointing out, no special file."""
    sources = info.get("paths") or []
    if len(sources) != 1:
        raise VerificationError(
            f"the snapshot {str(info.get('id'))[:8]} holds {len(sources)} folders, not one "
            "server folder",
            code="unsafe_snapshot",
        )
    content = restic.restore(repo, str(info["id"]), str(sources[0]), temp)
    if not content.is_dir() or content.is_symlink():
        raise VerificationError(
            f"the snapshot {str(info.get('id'))[:8]} does not hold the folder {sources[0]}",
            code="unsafe_snapshot",
        )
    ancestors = {temp, *content.parents}
    for current, dirs, files in os.walk(temp):
        here = Path(current)
        if here == content or here.is_relative_to(content):
            for name in dirs + files:
                _drop_special(here / name)
            continue
        for name in dirs + files:
            path = here / name
            if path != content and path not in ancestors:
                raise VerificationError(
                    f"the snapshot of backup {backup.id[:8]} restores {path.relative_to(temp)}, "
                    "outside the server's folder",
                    code="unsafe_snapshot",
                )
    _check_links_inside(content)
    return content


def _drop_special(path: Path) -> None:
    """Sockets, pipes and devices are not server data (the archives leave them out)."""
    mode = path.lstat().st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
        log.warning("not restoring the special file %s", path.name)
        path.unlink()


# --- delete -----------------------------------------------------------------------------------


def delete_backup(
    store: Store, server_name: str, backup_ref: str, *, env: Mapping[str, str] | None = None
) -> Backup:
    """Forget a backup and remove its archive, or forget (and prune) its restic snapshot."""
    found = find_backup(store, server_name, backup_ref)
    if found.backend == RESTIC and found.snapshot_id:
        repo = _restic_repository_of(store, os.environ if env is None else env, found)
        try:
            restic.forget(repo, [found.snapshot_id])
        except NotFoundError as err:
            if err.code != "restic_snapshot_missing":
                raise  # a snapshot already gone: only its row is left to remove
    with store.write() as session:
        server = servers.find(session, server_name)
        row = _resolve(session, server, backup_ref)
        backup = _to_backup(row, server.name)
        session.delete(row)
    if backup.backend == ARCHIVE:
        _remove_file(Path(backup.path))
    return backup


# --- restore ----------------------------------------------------------------------------------


def _sha256_of(path: Path, meter: _Meter) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            meter.advance(len(chunk))
    return digest.hexdigest()


def _unsafe_name(name: str) -> str | None:
    """Why an archive member name must not be extracted, or None when it is fine."""
    if not name or "\x00" in name:
        return "an empty name"
    windows = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or windows.drive or windows.root:
        return "an absolute path"
    parts = re.split(r"[/\\]", name) if os.name == "nt" else name.split("/")
    if ".." in parts:
        return "a '..' in its path"
    return None


def _key(name: str) -> str:
    """A member path in a form that compares equal however it is spelled ('./a//B' ~ 'a/b')."""
    return "/".join(p for p in name.replace("\\", "/").split("/") if p not in ("", ".")).casefold()


def _through_link(name: str, links: set[str]) -> bool:
    """Whether ``name`` is, or lies under, a symbolic link of the same archive."""
    parts = _key(name).split("/")
    return any("/".join(parts[:i]) in links for i in range(1, len(parts) + 1))


def _symlink_problem(member: tarfile.TarInfo) -> str | None:
    target = member.linkname
    if not target or target.startswith(("/", "\\")) or PureWindowsPath(target).drive:
        return f"a link to the absolute path {target!r}"
    lexical = posixpath.normpath(posixpath.join(posixpath.dirname(member.name), target))
    if lexical == ".." or lexical.startswith("../"):
        return f"a link to {target!r}, outside the folder"
    return None


def _hardlink_problem(member: tarfile.TarInfo, links: set[str]) -> str | None:
    target = member.linkname
    reason = _unsafe_name(target)
    if reason is None and _through_link(target, links):
        reason = "a symbolic link"
    return None if reason is None else f"a hard link to {target!r} ({reason})"


def _checked_members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The archive's members, refusing anything that could write outside the destination.

    tarfile's "data" filter checks each member against what is on disk at that moment; these
    checks add what it cannot see: no member is written through (or over) a link from the same
    archive, and no link's target climbs out of the folder even on paper.
    """
    links: set[str] = set()
    for member in tar:
        reason = _unsafe_name(member.name)
        if reason is None and _through_link(member.name, links):
            reason = "a path through a symbolic link"
        if reason is None:
            if member.issym():
                reason = _symlink_problem(member)
                links.add(_key(member.name))
            elif member.islnk():
                reason = _hardlink_problem(member, links)
            elif not (member.isreg() or member.isdir()):
                reason = "a device or other special file"
        if reason is not None:
            raise VerificationError(
                f"the archive holds {member.name!r}, which is refused: {reason}",
                code="unsafe_archive",
            )
        yield member


def _check_links_inside(folder: Path) -> None:
    """After extraction: every symbolic link must still resolve inside ``folder``."""
    root = os.path.realpath(folder)
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(current, name)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if os.path.commonpath([root, target]) != root:
                    rel = os.path.relpath(path, folder)
                    raise VerificationError(
                        f"the archive's link {rel!r} points outside the folder",
                        code="unsafe_archive",
                    )


def _extract(archive: Path, dest: Path, meter: _Meter) -> None:
    with archive.open("rb") as raw:
        reader = _MeteredReader(raw, meter, absolute=True)
        try:
            with tarfile.open(fileobj=reader, mode="r:gz") as tar:
                tar.extractall(dest, members=_checked_members(tar), filter="data")
                # Read to the end, so a damaged gzip trailer (CRC, length) is noticed too.
                gz = tar.fileobj
                while gz is not None and gz.read(CHUNK):
                    pass
        except tarfile.FilterError as exc:
            raise VerificationError(
                f"the archive {archive.name} is refused: {exc}", code="unsafe_archive"
            ) from exc
        except ARCHIVE_ERRORS as exc:
            raise VerificationError(
                f"the archive {archive.name} is damaged ({exc or type(exc).__name__})",
                code="archive_damaged",
            ) from exc
    _check_links_inside(dest)


def _sibling(folder: Path, tag: str) -> Path:
    while True:
        candidate = folder.with_name(f".{folder.name}.gsm-{tag}-{uuid.uuid4().hex[:8]}")
        if not os.path.lexists(candidate):
            return candidate


def _swap(install: Path, new: Path) -> None:
    """Put ``new`` where ``install`` is; on any failure leave ``install`` as it was."""
    old: Path | None = None
    if os.path.lexists(install):
        old = _sibling(install, "old")
        try:
            os.replace(install, old)
        except OSError as exc:
            raise ConflictError(
                f"cannot move {install} aside: {exc}",
                hint="close the programs that use files in that folder, then try again",
            ) from exc
    try:
        os.replace(new, install)
    except BaseException as exc:
        if old is not None and not os.path.lexists(install):
            try:
                os.replace(old, install)
            except OSError as back:
                raise ConflictError(
                    f"the restore failed and the previous files could not be put back: "
                    f"they are in {old}",
                    hint=f"move {old} back to {install}",
                ) from back
        if isinstance(exc, OSError):
            raise ConflictError(
                f"cannot move the restored files into {install}: {exc}",
                hint="close the programs that use files in that folder, then try again",
            ) from exc
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        if os.path.lexists(old):
            log.warning("could not remove all of the previous files in %s", old)


def _find(store: Store, server_name: str, backup_ref: str) -> tuple[LocalServer, Backup]:
    with store.read() as session:
        server = servers.find_local(session, server_name)
        return server, _to_backup(_resolve(session, server, backup_ref), server.name)


def find_backup(store: Store, server_name: str, backup_ref: str) -> Backup:
    """A server's backup by id, unique id prefix or archive file name (NotFoundError if none)."""
    return _find(store, server_name, backup_ref)[1]


def _verified_archive(backup: Backup, report: Report | None) -> Path:
    archive = Path(backup.path)
    if not archive.is_file():
        raise VerificationError(
            f"the archive {archive} of backup {backup.id[:8]} is missing", code="archive_missing"
        )
    size = archive.stat().st_size
    digest = _sha256_of(archive, _Meter(report, size, f"verifying {archive.name}"))
    if digest != backup.sha256:
        raise VerificationError(
            f"the archive {archive.name} has changed since the backup (sha256 {digest[:12]}..., "
            f"expected {backup.sha256[:12]}...)",
            code="checksum_mismatch",
        )
    return archive


def verify_backup(
    store: Store,
    server_name: str,
    backup_ref: str,
    *,
    report: Report | None = None,
    env: Mapping[str, str] | None = None,
) -> Backup:
    """Check that a backup's archive is there and unchanged, or that its restic repository
    opens and still holds its snapshot (VerificationError otherwise)."""
    backup = find_backup(store, server_name, backup_ref)
    if backup.backend == RESTIC:
        _restic_snapshot(store, os.environ if env is None else env, backup)
    else:
        _verified_archive(backup, report)
    return backup


def restore_backup(
    store: Store,
    server_name: str,
    backup_ref: str,
    *,
    is_running: Callable[[LocalServer], bool],
    report: Report | None = None,
    env: Mapping[str, str] | None = None,
) -> Backup:
    """Replace the server's folder with the backup's contents, verified first."""
    store.check_writable()
    server, backup = _find(store, server_name, backup_ref)
    if is_running(server):
        raise ConflictError(
            f"server {server.name} is running", hint=f"gsm server stop {server.name}"
        )
    if not server.install_path:
        raise NotFoundError(f"server {server.name} has no folder to restore into")
    # The real folder, so that a linked install path is restored where its files live.
    install = Path(os.path.realpath(server.install_path))
    if install.exists() and not install.is_dir():
        raise InvalidInputError(f"the path of server {server.name} is not a folder: {install}")
    fill: Callable[[Path, _Meter], Path]  # fills the temporary folder: the folder to swap in
    if backup.backend == RESTIC:
        repo, info = _restic_snapshot(store, os.environ if env is None else env, backup)
        size = backup.size_bytes

        def fill(temp: Path, meter: _Meter) -> Path:
            content = _restore_snapshot(repo, info, backup, temp)
            meter.set(size)  # restic 0.14 reports no progress while it restores
            return content

    else:
        archive = _verified_archive(backup, report)
        size = archive.stat().st_size

        def fill(temp: Path, meter: _Meter) -> Path:
            _extract(archive, temp, meter)
            return temp

    install.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=f".{install.name}.gsm-restore-", dir=install.parent))
    try:
        meter = _Meter(report, size, f"restoring {server.name}")
        content = fill(temp, meter)
        meter.finish()
        with contextlib.suppress(OSError):  # keep the folder's own permissions, not mkdtemp's
            mode = stat.S_IMODE(install.stat().st_mode) if install.is_dir() else 0o755
            os.chmod(content, mode)
        _swap(install, content)
    finally:
        if os.path.lexists(temp):
            shutil.rmtree(temp, ignore_errors=True)
    return backup
