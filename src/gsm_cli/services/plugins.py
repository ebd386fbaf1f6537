"""Installed plugins of a server: install, uninstall, enable, disable, update, pin, list,
lock files, apply and verify (docs/plugins.md).

Every change of a server's plugin files is one ``Change``: a journal row (``plugin_journal``)
is written first, naming a work folder on the server folder's file system; packages are
downloaded and extracted there; the file moves are planned, written into the journal, and
made one by one as renames; then ONE store transaction writes the ``local_plugins`` rows,
their ``local_plugin_files`` rows, their sync operations and marks the journal committed.
Only then are the work folder and the files taken out deleted. A failure before that commit
(a bad digest, a full disk, an exception) undoes the moves made so far; a process killed at
any moment leaves its journal behind, and the next gsm command that touches the server
(any `gsm plugin` command on it, `gsm server start`) undoes it ('prepared') or finishes its
clean-up ('committed'). Whether a move was made is read from the file system: the file is at
its source or at its destination, since a rename is atomic. So a server's plugin files are
always as they were before a change, or as the change leaves them, never half-way.

A per-server OS lock (``<data>/run/plugins-SERVER_ID.lock``) keeps two gsm processes from
changing one server's plugins at once, and keeps recovery away from a change that is still
running; the OS drops it when its process dies.
"""

import contextlib
import errno
import hashlib
import os
import re
import shutil
import signal
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gsm_cli.errors import (
    ConflictError,
    GsmError,
    InvalidInputError,
    NotFoundError,
    VerificationError,
)
from gsm_cli.paths import Paths, nearest_existing
from gsm_cli.services import locks, processes, servers
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import (
    CatalogPlugin,
    LocalPlugin,
    LocalPluginFile,
    LocalServer,
    PluginJournal,
)
from gsm_cli.timeutil import iso_utc, utc_now_sql

Report = Callable[[float, float | None, str | None], None]

LOCK_FILE_NAME = "gsm-plugins.lock"
LOCK_FORMAT = 1
# Where a disabled plugin's files wait, inside the server folder (same file system, so
# enable and disable are renames; never a folder a game loads plugins from).
DISABLED_DIR = ".gsm-disabled"
# Where a file that a change replaced with --force is kept (never deleted silently).
REPLACED_DIR = ".gsm-replaced"
WORK_AREA = "plugin-work"  # in gsm's data folder, when it is on the server's file system
PREPARED, COMMITTED = "prepared", "committed"
# Test-only: a step name (journal, staged, moved:N, committed) at which a change stops and
# waits to be killed; GSM_TEST_PLUGIN_PAUSE_MARK names a file it writes when it gets there.
PAUSE_VAR = "GSM_TEST_PLUGIN_PAUSE"
PAUSE_MARK_VAR = "GSM_TEST_PLUGIN_PAUSE_MARK"
_CHUNK = 1024 * 1024


# --- small helpers ----------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _rel(path: Path, root: Path) -> str:
    return PurePosixPath(*path.relative_to(root).parts).as_posix()


def _under(root: Path, rel: str) -> Path:
    return root.joinpath(*rel.split("/"))


def server_folder(server: LocalServer) -> Path:
    if not server.install_path:
        raise ConflictError(
            f"server {server.name} has no folder on this machine",
            hint=f"gsm server update {server.name} --path DIR",
        )
    folder = Path(server.install_path)
    if not folder.is_dir():
        raise ConflictError(
            f"the folder of server {server.name} is missing: {folder}",
            hint=f"gsm server update {server.name} --path DIR",
            code="server_folder_missing",
        )
    return folder


def plugin_folder(server: LocalServer) -> Path:
    """Where the server's plugins go: the server's --plugin-dir, else its game's."""
    return servers.plugin_folder(server)


def compatible(games: Iterable[str], game_type: str) -> bool:
    """A plugin fits a server when its manifest lists the server's game. A `custom` server
    takes plugins that list `custom` (they say they work with any server that loads them)."""
    return game_type.lower() in {g.lower() for g in games}


def _manifest(plugin: LocalPlugin) -> dict[str, Any]:
    return plugin.manifest or {}


def _dependencies(plugin: LocalPlugin) -> dict[str, str]:
    return dict(_manifest(plugin).get("dependencies") or {})


def _running(paths: Paths, server: LocalServer) -> bool:
    """Its game lives, or its supervisor does (it may be about to restart the game)."""
    from gsm_cli.services import lifecycle

    return processes.is_alive(server.process_id, server.process_create_time) or (
        lifecycle.supervisor(paths, server) is not None
    )


def refuse_running(paths: Paths, server: LocalServer) -> None:
    if _running(paths, server):
        raise ConflictError(
            f"server {server.name} is running: its game may have the plugin files open",
            hint=f"gsm server stop {server.name}, change its plugins, then start it again",
            code="server_running",
        )


def _pause(env: Mapping[str, str], step: str) -> None:
    """Test-only: stop at ``step`` until killed, or (POSIX) until SIGUSR1 says go on
    (tests/e2e/test_plugin_crash.py makes crashes and failures happen at exact moments)."""
    if env.get(PAUSE_VAR) != step:
        return
    mark = env.get(PAUSE_MARK_VAR)
    if hasattr(signal, "pthread_sigmask"):
        # Blocked before the mark is written, so a SIGUSR1 sent as soon as the test sees the
        # mark waits for sigwait instead of killing us.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        if mark:
            Path(mark).write_text(f"{os.getpid()} {step}\n")
        signal.sigwait({signal.SIGUSR1})
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})
        return
    if mark:  # pragma: no cover - Windows: only a kill ends the wait
        Path(mark).write_text(f"{os.getpid()} {step}\n")
    import threading

    threading.Event().wait()


# --- the per-server lock and recovery ----------------------------------------------------


def _lock_path(paths: Paths, server: LocalServer) -> Path:
    return paths.data_dir / "run" / f"plugins-{server.id}.lock"


@contextlib.contextmanager
def server_lock(paths: Paths, server: LocalServer) -> Iterator[None]:
    try:
        handle = locks.hold(_lock_path(paths, server))
    except locks.LockHeld:
        raise ConflictError(
            f"another gsm is changing the plugins of {server.name}",
            hint="wait for it to finish, then try again",
            code="plugins_busy",
        ) from None
    try:
        yield
    finally:
        handle.close()


def _journals(store: Store, server_id: str) -> list[PluginJournal]:
    with store.read() as session:
        return list(
            session.scalars(
                select(PluginJournal)
                .where(PluginJournal.server_id == server_id)
                .order_by(PluginJournal.created_at, PluginJournal.id)
            )
        )


def recover(store: Store, paths: Paths, server: LocalServer) -> list[dict[str, Any]]:
    """Undo or finish the plugin changes of ``server`` that a dead process left; call with the
    server's lock held. Returns what was done, for a message."""
    done = []
    for journal in _journals(store, server.id):
        steps = journal.steps or {}
        if journal.state == COMMITTED:
            _cleanup(steps, Path(journal.work_dir))
            outcome = "finished"
        else:
            _undo(steps, Path(journal.work_dir))
            outcome = "rolled back"
        with store.write() as session:
            row = session.get(PluginJournal, journal.id)
            if row is not None:
                session.delete(row)
        done.append({"server": server.name, "action": journal.action, "outcome": outcome})
    return done


def recover_server(
    store: Store, paths: Paths, server: LocalServer, *, guard: bool = False
) -> list[dict[str, Any]]:
    """Recovery before other work on a server: a change a dead process left is undone or
    finished; one still running in another process is plugins_busy (exit 5). ``guard``
    (`gsm server start`): take the server's plugin lock even when there is nothing to
    recover, so a start never overlaps a plugin change; otherwise (`gsm server delete`)
    nothing is touched unless a journal is there."""
    if store.read_only or not (guard or _journals(store, server.id)):
        return []
    with server_lock(paths, server):
        return recover(store, paths, server) if _journals(store, server.id) else []


# --- moves, undo and clean-up ------------------------------------------------------------


def _move(src: Path, dst: Path) -> None:
    try:
        os.rename(src, dst)
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            raise GsmError(
                f"cannot move {src} to {dst}: they are on different file systems",
                hint="keep a server's plugin folder on the same file system as its folder",
                code="cross_device",
            ) from exc
        raise


def _undo(steps: dict[str, Any], work_dir: Path) -> None:
    """Put every file a change moved back where it was (newest move first), remove the
    folders it made (when empty), and delete its work folder. Safe to run again."""
    for src, dst in reversed(steps.get("moves") or []):
        source, target = Path(src), Path(dst)
        if os.path.lexists(target) and not os.path.lexists(source):
            source.parent.mkdir(parents=True, exist_ok=True)
            os.rename(target, source)
    for folder in reversed(steps.get("made_dirs") or []):
        with contextlib.suppress(OSError):
            os.rmdir(folder)
    _remove_tree(work_dir)


def _cleanup(steps: dict[str, Any], work_dir: Path) -> None:
    """After the commit: delete the work folder (files taken out, staging, downloads) and
    the folders the change emptied. Safe to run again."""
    _remove_tree(work_dir)
    for folder in steps.get("remove_dirs") or []:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def _remove_tree(folder: Path) -> None:
    if os.path.lexists(folder):
        if folder.is_symlink() or not folder.is_dir():
            folder.unlink()
        else:
            shutil.rmtree(folder)


# --- a change ----------------------------------------------------------------------------


@dataclass
class _FileRow:
    path: str  # relative to the server folder
    kind: str = "file"
    sha256: str | None = None
    size_bytes: int | None = None


@dataclass
class _NewInstall:
    """A plugin installation the change writes (a new row, or a new version of one)."""

    name: str
    version: str
    sha256: str
    source: str
    plugin_id: str | None
    manifest: dict[str, Any]
    files: list[_FileRow]
    enabled: bool = True
    pinned: bool = False
    replaces: str | None = None  # id of the row it replaces (update, apply)
    install_path: str | None = None
    configuration: Any = None


class Change:
    """One plugin change of one server (see the module's docstring). Use ``with``: an
    exception before ``commit`` undoes everything."""

    def __init__(
        self,
        store: Store,
        paths: Paths,
        server: LocalServer,
        action: str,
        env: Mapping[str, str],
    ) -> None:
        self.store, self.paths, self.server, self.action, self.env = (
            store,
            paths,
            server,
            action,
            env,
        )
        self.folder = server_folder(server)
        self.id = str(uuid.uuid4())
        self.work = _work_dir(paths, self.folder, self.id)
        self.moves: list[tuple[str, str]] = []
        self.made_dirs: list[str] = []
        self.remove_dirs: list[str] = []
        self._planned_dirs: set[str] = set()
        self.done = 0
        self.committed = False
        self._out = 0
        self.claimed: dict[str, str] = {}  # server-relative path -> plugin taking it
        self.freed: set[str] = set()  # server-relative paths this change takes out
        self.claimed_dirs: set[Path] = set()  # folders a plugin of this change makes
        self.kept: list[dict[str, str]] = []  # user files left or put aside, reported
        self.held: list[Any] = []  # packages open in the work folder, closed before cleanup

    def __enter__(self) -> "Change":
        with self.store.write() as session:
            session.add(
                PluginJournal(
                    id=self.id,
                    server_id=self.server.id,
                    action=self.action,
                    state=PREPARED,
                    work_dir=str(self.work),
                    steps={"moves": []},
                    pid=os.getpid(),
                )
            )
        try:
            self.work.mkdir(parents=True)
        except OSError as exc:
            self._forget()
            raise GsmError(
                f"cannot make the work folder {self.work}: {exc.strerror or exc}",
                code="plugin_files_failed",
            ) from exc
        _pause(self.env, "journal")
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for package in self.held:  # an open file cannot be removed on Windows
            package.close()
        if not self.committed and exc_type is None:
            raise RuntimeError("a plugin change ended without a commit")
        try:
            if self.committed:
                _cleanup(self._steps(), self.work)
            else:
                _undo(self._steps(), self.work)
        except OSError:
            if exc_type is None:
                raise
            return  # the journal stays: the next gsm command on this server finishes it
        self._forget()

    def _forget(self) -> None:
        with self.store.write() as session:
            row = session.get(PluginJournal, self.id)
            if row is not None:
                session.delete(row)

    def _steps(self) -> dict[str, Any]:
        remove = sorted(set(self.remove_dirs), key=lambda d: len(Path(d).parts), reverse=True)
        return {
            "moves": self.moves,
            "made_dirs": self.made_dirs,
            "remove_dirs": remove,
            "server_folder": str(self.folder),
        }

    # --- planning -------------------------------------------------------------------

    def area(self, kind: str) -> Path:
        self._out += 1
        folder = self.work / kind / str(self._out)
        return folder

    def ensure_dir(self, folder: Path) -> None:
        """Plan ``folder`` (inside the server folder) and its missing parents."""
        missing = []
        current = folder
        while not current.exists() and current != self.folder and current != current.parent:
            missing.append(current)
            current = current.parent
        if current.exists() and not current.is_dir():
            raise ConflictError(
                f"{current} is a file where gsm needs a folder",
                hint="move it away (it is not gsm's), then try again",
                code="file_exists",
            )
        for item in reversed(missing):
            if str(item) not in self._planned_dirs:
                self._planned_dirs.add(str(item))
                self.made_dirs.append(str(item))

    def move(self, src: Path, dst: Path) -> None:
        self.moves.append((str(src), str(dst)))

    def take_out(self, path: Path) -> Path:
        """Plan to move a file out of the server folder into the work folder (deleted after
        the commit)."""
        target = self.area("out") / path.name
        self.move(path, target)
        return target

    def put_aside(self, path: Path) -> Path:
        """Plan to keep a user's file that the change replaces (--force) in .gsm-replaced."""
        rel = _rel(path, self.folder)
        target = _under(self.folder / REPLACED_DIR / self.id[:8], rel)
        self.ensure_dir(target.parent)
        self.move(path, target)
        self.kept.append({"path": rel, "kept_at": _rel(target, self.folder)})
        return target

    def remove_dir_later(self, folder: Path) -> None:
        self.remove_dirs.append(str(folder))

    # --- doing ----------------------------------------------------------------------

    def run(self) -> None:
        """Save the plan in the journal, then make the folders and the moves."""
        with self.store.write() as session:
            row = session.get(PluginJournal, self.id)
            assert row is not None
            row.steps = self._steps()
        _pause(self.env, "staged")
        try:
            for folder in self.made_dirs:
                os.mkdir(folder)
            for src, dst in self.moves:
                target = Path(dst)
                if not target.parent.exists():  # a folder inside the work folder
                    target.parent.mkdir(parents=True)
                _move(Path(src), target)
                self.done += 1
                _pause(self.env, f"moved:{self.done}")
        except OSError as exc:
            where = f" ({exc.filename})" if exc.filename else ""
            raise GsmError(
                f"could not put the plugin files of {self.server.name} in place: "
                f"{exc.strerror or exc}{where}; the change is undone, so the files are as before",
                code="plugin_files_failed",
            ) from exc

    def commit(self, write: Callable[[Session], None]) -> None:
        """The one store transaction: rows, file rows, sync operations, journal committed."""
        with self.store.write() as session:
            write(session)
            row = session.get(PluginJournal, self.id)
            assert row is not None
            row.state = COMMITTED
            row.steps = self._steps()
        self.committed = True
        _pause(self.env, "committed")


def _work_dir(paths: Paths, folder: Path, change_id: str) -> Path:
    """A work folder on the server folder's file system (so moves are renames), outside the
    server folder when possible: gsm's data folder, else beside the server folder, else (a
    last resort, still removed by recovery) a hidden folder inside it."""
    device = os.stat(folder).st_dev
    candidates = (
        paths.data_dir / WORK_AREA / change_id,
        folder.parent / f".{folder.name}.gsm-plugins-{change_id[:8]}",
        folder / f".gsm-plugin-work-{change_id[:8]}",
    )
    for candidate in candidates:
        base = nearest_existing(candidate.parent)
        try:
            same = os.stat(base).st_dev == device
        except OSError:
            continue
        if same and base.is_dir() and os.access(base, os.W_OK | os.X_OK):
            return candidate
    raise GsmError(f"gsm found no folder it can write on the file system of {folder}")


# --- reading what is installed ----------------------------------------------------------


def _installed(session: Session, server_id: str) -> list[LocalPlugin]:
    return list(
        session.scalars(
            select(LocalPlugin)
            .where(LocalPlugin.server_id == server_id)
            .order_by(LocalPlugin.name, LocalPlugin.id)
        )
    )


def _files(session: Session, plugin_id: str) -> list[LocalPluginFile]:
    return list(
        session.scalars(
            select(LocalPluginFile)
            .where(LocalPluginFile.installation_id == plugin_id)
            .order_by(LocalPluginFile.path)
        )
    )


def _find(plugins: Sequence[LocalPlugin], name: str, server: LocalServer) -> LocalPlugin:
    for plugin in plugins:
        if plugin.name.lower() == name.lower():
            return plugin
    raise NotFoundError(
        f"plugin {name!r} is not installed on {server.name}",
        hint=f"gsm plugin list --server {server.name}",
        code="plugin_not_installed",
    )


def location(folder: Path, plugin: LocalPlugin, rel: str, enabled: bool | None = None) -> Path:
    """Where a plugin's file is: its path when enabled, under .gsm-disabled/NAME when not."""
    on = plugin.is_enabled is not False if enabled is None else enabled
    if on:
        return _under(folder, rel)
    return _under(folder / DISABLED_DIR / plugin.name, rel)


@dataclass
class Installed:
    plugin: LocalPlugin
    files: list[LocalPluginFile]

    def to_dict(self, server: LocalServer) -> dict[str, Any]:
        plugin = self.plugin
        manifest = _manifest(plugin)
        files = [f for f in self.files if f.kind == "file"]
        return {  # the columns' own names (local_plugins), then what is counted
            "id": plugin.id,
            "server_id": plugin.server_id,
            "server": server.name,
            "name": plugin.name,
            "version": plugin.version,
            "is_enabled": plugin.is_enabled is not False,
            "pinned": bool(plugin.pinned),
            "source": plugin.source,
            "plugin_id": plugin.plugin_id,
            "package_sha256": plugin.package_sha256,
            "install_path": plugin.install_path,
            "installed_at": iso_utc(plugin.installed_at),
            "games": manifest.get("games", []),
            "dependencies": manifest.get("dependencies", {}),
            "files": len(files),
            "size_bytes": sum(f.size_bytes or 0 for f in files),
        }


def _snapshot(store: Store, server: LocalServer) -> list[Installed]:
    with store.read() as session:
        return [Installed(p, _files(session, p.id)) for p in _installed(session, server.id)]


@contextlib.contextmanager
def _working_on(
    store: Store, paths: Paths, name: str, *, change: bool = True
) -> Iterator[LocalServer]:
    """A server of this device, locked, with dead changes recovered; for a change, also
    writable and stopped."""
    server = servers.get_local(store, name)
    if change:
        store.check_writable()
    elif store.read_only:
        yield server
        return
    with server_lock(paths, server):
        if change:  # checked under the lock: `gsm server start` takes it too
            refuse_running(paths, server)
            server_folder(server)
        recover(store, paths, server)
        yield server


def list_plugins(store: Store, paths: Paths, name: str) -> list[dict[str, Any]]:
    with _working_on(store, paths, name, change=False) as server:
        return [item.to_dict(server) for item in _snapshot(store, server)]


def set_pinned(store: Store, paths: Paths, name: str, plugin_name: str, pinned: bool) -> dict:
    """Pin or unpin: local bookkeeping only (update leaves pinned plugins alone)."""
    server = servers.get_local(store, name)
    with store.write() as session:
        plugin = _find(_installed(session, server.id), plugin_name, server)
        plugin.pinned = pinned
        files = _files(session, plugin.id)
    return Installed(plugin, files).to_dict(server)


# --- uninstall, enable, disable ----------------------------------------------------------


def _dependents(
    plugins: Sequence[LocalPlugin], name: str, *, enabled_only: bool = False
) -> list[LocalPlugin]:
    return [
        p
        for p in plugins
        if p.name.lower() != name.lower()
        and any(dep.lower() == name.lower() for dep in _dependencies(p))
        and (not enabled_only or p.is_enabled is not False)
    ]


def _queue(session: Session, plugin: LocalPlugin, operation: outbox.Operation) -> None:
    """The sync operation of an installation: only marketplace plugins (with the cloud's
    plugin id) are synced; the cloud refuses the others (docs/plugins.md)."""
    if plugin.plugin_id:
        outbox.record(session, plugin, operation)
    elif operation == "delete":
        session.delete(plugin)
    else:
        session.add(plugin)


def _plan_removal(change: Change, item: Installed, *, force: bool) -> tuple[list[str], list[str]]:
    """Plan taking a plugin's files out. Returns (kept changed files, missing files)."""
    plugin, folder = item.plugin, change.folder
    kept, missing = [], []
    for row in item.files:
        if row.kind != "file":
            continue
        path = location(folder, plugin, row.path)
        if not os.path.lexists(path):
            missing.append(row.path)
            continue
        changed = path.is_symlink() or not path.is_file() or sha256_file(path) != row.sha256
        if changed and not force:
            kept.append(row.path)
            change.kept.append({"path": row.path, "kept_at": _rel(path, folder)})
            continue
        change.take_out(path)
        change.freed.add(row.path)
    for row in item.files:
        if row.kind == "dir":  # where it made them; and their copies in .gsm-disabled
            change.remove_dir_later(_under(folder, row.path))
            change.remove_dir_later(location(folder, plugin, row.path))
    if plugin.is_enabled is False:
        disabled = folder / DISABLED_DIR / plugin.name
        for parent in _parents_within(location(folder, plugin, r.path) for r in item.files):
            if parent.is_relative_to(disabled):
                change.remove_dir_later(parent)
        change.remove_dir_later(disabled)
        change.remove_dir_later(folder / DISABLED_DIR)
    return kept, missing


def _parents_within(paths: Iterable[Path]) -> list[Path]:
    found: set[Path] = set()
    for path in paths:
        found.update(path.parents)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def uninstall(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    plugin_name: str,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Remove exactly the files a plugin installed. Files the user changed stay (and are
    listed) unless ``force``; a plugin others depend on is refused unless ``force``."""
    with _working_on(store, paths, name) as server:
        snapshot = _snapshot(store, server)
        item = _item(snapshot, plugin_name, server)
        others = _dependents([i.plugin for i in snapshot], item.plugin.name)
        if others and not force:
            names = ", ".join(p.name for p in others)
            raise ConflictError(
                f"{names} depend{'s' if len(others) == 1 else ''} on {item.plugin.name}",
                hint="uninstall those first, or pass --force",
                code="plugin_required",
            )
        with Change(store, paths, server, "uninstall", env) as change:
            kept, missing = _plan_removal(change, item, force=force)
            change.run()
            plugin_id = item.plugin.id

            def write(session: Session) -> None:
                plugin = session.get(LocalPlugin, plugin_id)
                if plugin is not None:
                    _queue(session, plugin, "delete")

            change.commit(write)
        return {
            "server": server.name,
            "name": item.plugin.name,
            "version": item.plugin.version,
            "removed": len(change.moves),
            "kept": kept,
            "missing": missing,
        }


def _item(snapshot: Sequence[Installed], plugin_name: str, server: LocalServer) -> Installed:
    plugin = _find([i.plugin for i in snapshot], plugin_name, server)
    return next(i for i in snapshot if i.plugin.id == plugin.id)


def set_enabled(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    plugin_name: str,
    enabled: bool,
    *,
    force: bool = False,
) -> dict[str, Any]:
    """Disable: move the plugin's files into .gsm-disabled/NAME (nothing deleted); enable:
    move them back. A file the user put where an enabled file goes is refused (exit 5)
    unless ``force``, which keeps it in .gsm-replaced."""
    with _working_on(store, paths, name) as server:
        snapshot = _snapshot(store, server)
        item = _item(snapshot, plugin_name, server)
        plugin = item.plugin
        result = {"server": server.name, "name": plugin.name, "enabled": enabled, "moved": 0}
        if (plugin.is_enabled is not False) == enabled:
            return result | {"changed": False}
        plugins = [i.plugin for i in snapshot]
        _check_enable_dependencies(plugins, plugin, enabled, force=force)
        with Change(store, paths, server, "enable" if enabled else "disable", env) as change:
            missing = []
            in_the_way = []
            for row in item.files:
                if row.kind != "file":
                    continue
                src = location(change.folder, plugin, row.path)
                dst = location(change.folder, plugin, row.path, enabled=enabled)
                if not os.path.lexists(src):
                    missing.append(row.path)
                    continue
                if os.path.lexists(dst):
                    if not force:
                        in_the_way.append(_rel(dst, change.folder))
                        continue
                    change.put_aside(dst)
                change.ensure_dir(dst.parent)
                change.move(src, dst)
            if in_the_way:
                raise ConflictError(
                    f"files not installed by {plugin.name} are where its files go: "
                    + ", ".join(in_the_way[:20]),
                    hint="move them away, or pass --force to keep them in "
                    f"{REPLACED_DIR}/ and put the plugin's files in their place",
                    code="file_exists",
                )
            if enabled:
                disabled = change.folder / DISABLED_DIR / plugin.name
                sources = [location(change.folder, plugin, r.path) for r in item.files]
                for parent in _parents_within(sources):
                    if parent.is_relative_to(disabled):
                        change.remove_dir_later(parent)
                change.remove_dir_later(change.folder / DISABLED_DIR)
            change.run()
            plugin_id = plugin.id

            def write(session: Session) -> None:
                row = session.get(LocalPlugin, plugin_id)
                assert row is not None
                row.is_enabled = enabled

            change.commit(write)
        return result | {
            "changed": True,
            "moved": change.done,
            "missing": missing,
            "kept": change.kept,
        }


def _check_enable_dependencies(
    plugins: Sequence[LocalPlugin], plugin: LocalPlugin, enabled: bool, *, force: bool
) -> None:
    if force:
        return
    if not enabled:
        others = _dependents(plugins, plugin.name, enabled_only=True)
        if others:
            raise ConflictError(
                f"{', '.join(p.name for p in others)} need{'s' if len(others) == 1 else ''} "
                f"{plugin.name}",
                hint="disable those first, or pass --force",
                code="plugin_required",
            )
        return
    by_name = {p.name.lower(): p for p in plugins}
    off = [
        dep
        for dep in _dependencies(plugin)
        if dep.lower() in by_name and by_name[dep.lower()].is_enabled is False
    ]
    if off:
        raise ConflictError(
            f"{plugin.name} needs {', '.join(off)}, which {'is' if len(off) == 1 else 'are'} "
            "disabled",
            hint="enable those first, or pass --force",
            code="plugin_required",
        )


# --- packages: candidates and resolution -------------------------------------------------


@dataclass
class Candidate:
    """A package to install: from a FILE, a folder of packages, or the cloud."""

    name: str
    version: str
    source: str  # 'file' or 'cloud'
    sha256: str | None = None  # known before download for the cloud; after hashing for files
    path: Path | None = None  # the zip, once on this machine
    plugin_id: str | None = None
    games: list[str] = field(default_factory=list)
    dependencies: dict[str, str] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)
    remote: Any = None  # plugin_cloud.RemoteVersion
    package: Any = None  # the open plugin_package.Package of a file, hashed once
    expected_sha256: str | None = None  # from a lock file

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"


def known_games() -> list[str]:
    from gsm_cli.services import games

    return list(games.catalog())


def open_file(path: Path) -> Candidate:
    """A package file as a candidate, validated and hashed, and held open (``close_all``):
    what is extracted later is the very file that was checked, read without hashing again."""
    from gsm_cli.services import plugin_package

    package = plugin_package.open_package(path, known_games=known_games())
    manifest = package.manifest
    return Candidate(
        name=manifest.name,
        version=manifest.version,
        source="file",
        sha256=package.sha256,
        path=Path(path),
        games=list(manifest.games),
        dependencies=dict(manifest.dependencies),
        manifest=manifest.to_dict(),
        package=package,
    )


def close_all(cands: Iterable[Candidate]) -> None:
    for cand in cands:
        if cand.package is not None:
            cand.package.close()
            cand.package = None


Fetch = Callable[[str, str | None], Candidate | None]


def _unsatisfiable(name: str, rng: str, have: str, by: str, hint: str) -> ConflictError:
    return ConflictError(
        f"{by} needs {name} {rng}, but {have}",
        hint=hint,
        code="dependency_unsatisfiable",
    )


def resolve(
    wanted: Sequence[Candidate],
    installed: Mapping[str, LocalPlugin],
    *,
    files: Mapping[str, Candidate],
    fetch: Fetch | None,
    game: str,
    replacing: Iterable[str] = (),
) -> list[Candidate]:
    """The packages to install, dependencies before the plugins that need them.

    A dependency is met by an installed plugin (not being replaced) whose version the range
    allows, else by a package given (``files``), else by ``fetch`` (the cloud). A cycle, a
    dependency found nowhere, or a range that nothing given allows: exit 5, nothing done.
    """
    from gsm_cli.services import plugin_package

    replaced = {name.lower() for name in replacing}
    chosen: dict[str, Candidate] = {}
    order: list[Candidate] = []
    given = {name.lower(): cand for name, cand in files.items()}

    def check(cand: Candidate) -> None:
        if not compatible(cand.games, game):
            raise ConflictError(
                f"{cand.label} is not made for {game} servers (it lists: "
                f"{', '.join(cand.games) or 'no game'})",
                hint="install it on a server of one of those games",
                code="incompatible_game",
            )

    def visit(cand: Candidate, stack: list[str]) -> None:
        key = cand.name.lower()
        if key in chosen:
            return
        check(cand)
        stack = [*stack, cand.name]
        for dep, rng in sorted(cand.dependencies.items()):
            dep_key = dep.lower()
            if dep_key in (s.lower() for s in stack):
                cycle = " -> ".join(
                    [*stack[stack.index(next(s for s in stack if s.lower() == dep_key)) :], dep]
                )
                raise ConflictError(
                    f"dependency cycle: {cycle}",
                    hint="a plugin cannot need itself, even through others",
                    code="dependency_cycle",
                )
            allowed = plugin_package.parse_range(rng)
            if dep_key in chosen:
                have = chosen[dep_key]
                if not allowed.allows(have.version):
                    raise _unsatisfiable(
                        dep,
                        rng,
                        f"{have.label} is to be installed",
                        cand.label,
                        "give packages whose dependency ranges agree",
                    )
                continue
            present = installed.get(dep_key)
            if present is not None and dep_key not in replaced:
                if present.version and allowed.allows(present.version):
                    continue
                raise _unsatisfiable(
                    dep,
                    rng,
                    f"{present.name} {present.version} is installed",
                    cand.label,
                    f"update {present.name} (gsm plugin update {present.name}) or install "
                    "a version of it that the range allows",
                )
            dep_cand = given.get(dep_key)
            if dep_cand is not None:
                if not allowed.allows(dep_cand.version):
                    raise _unsatisfiable(
                        dep,
                        rng,
                        f"the package given is {dep_cand.label}",
                        cand.label,
                        "give a package of a version the range allows",
                    )
            elif fetch is not None:
                dep_cand = fetch(dep, rng)
            if dep_cand is None:
                raise ConflictError(
                    f"{cand.label} needs {dep} {rng}, which is neither installed nor given",
                    hint=f"give its package file too (gsm plugin install {dep}.zip ...)"
                    if fetch is None
                    else f"no published version of {dep} matches {rng}",
                    code="dependency_missing",
                )
            visit(dep_cand, stack)
        chosen[key] = cand
        order.append(cand)

    for cand in wanted:
        visit(cand, [])
    return order


class CloudSource:
    """Packages from gsm-cloud (services/plugin_cloud.py): versions found by name and range,
    downloaded into a change's work folder with their sha256 checked while they stream."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def close(self) -> None:
        self.client.close()

    def find(self, name: str, spec: str | None, *, required: bool = False) -> Candidate | None:
        """The version of ``name`` that ``spec`` picks; None when there is none (or, when
        ``required``, the cloud's own error: plugin_not_found, version_not_found...)."""
        from gsm_cli.services import plugin_cloud

        try:
            remote = plugin_cloud.find_version(self.client, name, spec)
        except NotFoundError:
            if required:
                raise
            return None
        return Candidate(
            name=remote.name,
            version=remote.version,
            source="cloud",
            sha256=remote.sha256,
            plugin_id=str(remote.plugin_id) if remote.plugin_id else None,
            games=list(remote.games or []),
            dependencies=dict(remote.dependencies or {}),
            remote=remote,
        )

    def fetcher(self, work: Path) -> Fetch:
        return self.find

    def latest(self, name: str, ranges: Sequence[str]) -> Candidate | None:
        """The newest version every range allows (the newest of all without ranges)."""
        from gsm_cli.services import plugin_package

        if not ranges:
            return self.find(name, None)
        for rng in ranges:
            cand = self.find(name, rng)
            if cand is not None and all(
                plugin_package.parse_range(other).allows(cand.version) for other in ranges
            ):
                return cand
        return None

    def exact(self, name: str, version: str, work: Path) -> Candidate:
        cand = self.find(name, version, required=True)
        assert cand is not None
        return cand

    def download_all(
        self, cands: Sequence[Candidate], change: "Change", report: Report | None
    ) -> None:
        """Download the cloud's candidates into the change's work folder, each held open as
        a checked package (its bytes hashed once, as they arrived)."""
        from gsm_cli.services import plugin_cloud

        folder = change.work / "download"
        for cand in cands:
            if cand.source != "cloud" or cand.path is not None:
                continue
            folder.mkdir(parents=True, exist_ok=True)
            package = plugin_cloud.download_package(
                self.client, cand.remote, folder, known_games(), report
            )
            change.held.append(package)
            cand.package, cand.path = package, package.path


class FolderSource:
    """Packages from a folder of package files (`update --from DIR`): offline, for CI. Each
    zip's manifest is read (its central directory and manifest only); its bytes are checked
    when it is extracted."""

    def __init__(self, folder: Path) -> None:
        from gsm_cli.services import plugin_package

        if not folder.is_dir():
            raise NotFoundError(f"no such folder: {folder}", code="folder_not_found")
        self.folder = folder
        self.index: dict[str, list[Candidate]] = {}
        for path in sorted(folder.iterdir()):
            if not (path.is_file() and path.suffix.lower() == ".zip"):
                continue
            # The directory and manifest only: the bytes are hashed and checked when a
            # package is chosen and extracted (an invalid one then fails the change, exit 8).
            manifest = plugin_package.validate(path, known_games=known_games()).manifest
            if manifest is None:
                continue
            cand = Candidate(
                name=manifest.name,
                version=manifest.version,
                source="file",
                path=path,
                games=list(manifest.games),
                dependencies=dict(manifest.dependencies),
                manifest=manifest.to_dict(),
            )
            self.index.setdefault(manifest.name.lower(), []).append(cand)

    def find(self, name: str, spec: str | None) -> Candidate | None:
        return self.latest(name, [spec] if spec else [])

    def fetcher(self, work: Path) -> Fetch:
        return self.find

    def latest(self, name: str, ranges: Sequence[str]) -> Candidate | None:
        from gsm_cli.services import plugin_package

        allowed = [
            c
            for c in self.index.get(name.lower(), [])
            if all(plugin_package.parse_range(r).allows(c.version) for r in ranges)
        ]
        best = plugin_package.latest_allowed(None, [c.version for c in allowed])
        return next((c for c in allowed if c.version == best), None)

    def exact(self, name: str, version: str, work: Path) -> Candidate:
        found = self.find(name, version)
        if found is None or found.version != version:
            raise NotFoundError(
                f"no package of {name} {version} in {self.folder}", code="package_not_found"
            )
        return found

    def download_all(
        self, cands: Sequence[Candidate], change: "Change", report: Report | None
    ) -> None:
        return None

    def close(self) -> None:
        return None


# --- install -----------------------------------------------------------------------------


def _plan_install(
    change: Change,
    cand: Candidate,
    digests: Mapping[str, str],
    stage: Path,
    owners: Mapping[str, str],
    *,
    force: bool,
    enabled: bool = True,
) -> tuple[list[_FileRow], list[str]]:
    """Plan moving an extracted package from ``stage`` into the plugin folder. Returns its
    file rows and the paths of files in the way (not ours) when not ``force``."""
    folder = change.folder
    base = plugin_folder(change.server)
    in_the_way: list[str] = []
    rows: list[_FileRow] = []
    dirs: list[Path] = []  # folders this plugin makes (where its files go when enabled)
    for rel in sorted(digests):
        dst_enabled = _under(base, rel)
        server_rel = _rel(dst_enabled, folder)
        fake = LocalPlugin(name=cand.name, is_enabled=enabled)
        dst = location(folder, fake, server_rel)
        owner = owners.get(server_rel)
        if server_rel in change.claimed:
            raise ConflictError(
                f"{cand.label} and {change.claimed[server_rel]} both install {server_rel}",
                code="file_conflict",
            )
        if owner is not None and server_rel not in change.freed:
            raise ConflictError(
                f"{cand.label} would overwrite {server_rel}, which belongs to plugin {owner}",
                hint=f"uninstall {owner} first",
                code="file_conflict",
            )
        if os.path.lexists(dst) and server_rel not in change.freed:
            if not force:
                in_the_way.append(_rel(dst, folder))
                continue
            change.put_aside(dst)
        change.claimed[server_rel] = cand.name
        for parent in reversed(dst_enabled.parents):
            new = parent.is_relative_to(folder) and parent != folder and not parent.exists()
            if new and parent not in change.claimed_dirs:
                change.claimed_dirs.add(parent)
                dirs.append(parent)
        change.ensure_dir(dst.parent)
        change.move(_under(stage, rel), dst)
        size = _under(stage, rel).stat().st_size
        rows.append(_FileRow(server_rel, "file", digests[rel], size))
    if enabled:
        rows += [_FileRow(_rel(d, folder), "dir") for d in dirs]
    return rows, in_the_way


def _owners(snapshot: Sequence[Installed]) -> dict[str, str]:
    return {
        row.path: item.plugin.name for item in snapshot for row in item.files if row.kind == "file"
    }


def _catalog_id(session: Session, name: str) -> str | None:
    ids = session.scalars(select(CatalogPlugin.id).where(CatalogPlugin.name == name)).all()
    return ids[0] if len(ids) == 1 else None


def _write_install(
    session: Session, server: LocalServer, new: _NewInstall, plugin_folder_path: Path
) -> LocalPlugin:
    if new.replaces:
        plugin = session.get(LocalPlugin, new.replaces)
        assert plugin is not None
        session.execute(delete(LocalPluginFile).where(LocalPluginFile.installation_id == plugin.id))
        operation: outbox.Operation = "update"
    else:
        plugin = LocalPlugin(id=str(uuid.uuid4()), server_id=server.id, name=new.name)
        operation = "create"
    plugin.version = new.version
    plugin.package_sha256 = new.sha256
    plugin.source = new.source
    plugin.plugin_id = new.plugin_id or plugin.plugin_id or _catalog_id(session, new.name)
    plugin.manifest = new.manifest
    plugin.install_path = str(plugin_folder_path)
    plugin.is_enabled = new.enabled
    plugin.pinned = new.pinned or bool(plugin.pinned)
    if new.replaces:
        plugin.installed_at = utc_now_sql()
    session.add(plugin)
    session.flush()
    for row in new.files:
        session.add(
            LocalPluginFile(
                installation_id=plugin.id,
                path=row.path,
                kind=row.kind,
                sha256=row.sha256,
                size_bytes=row.size_bytes,
            )
        )
    _queue(session, plugin, operation)
    return plugin


def _stage(change: Change, cand: Candidate, report: Report | None) -> tuple[Path, dict[str, str]]:
    """Extract a candidate's package into the work folder; check it is what was chosen."""
    from gsm_cli.services import plugin_package

    assert cand.path is not None
    stage = change.area("stage")
    stage.mkdir(parents=True)
    opened = cand.package or plugin_package.open_package(cand.path, known_games=known_games())
    cand.package = None
    with opened as package:
        if cand.expected_sha256 and package.sha256 != cand.expected_sha256:
            raise VerificationError(
                f"the package of {cand.label} has sha256 {package.sha256}, but the lock file "
                f"says {cand.expected_sha256}",
                hint="the package changed since the lock was written: refusing it",
                code="digest_mismatch",
            )
        if cand.sha256 and package.sha256 != cand.sha256:
            raise VerificationError(
                f"the package of {cand.label} changed while gsm read it",
                code="digest_mismatch",
            )
        manifest = package.manifest
        if (manifest.name, manifest.version) != (cand.name, cand.version):
            raise VerificationError(
                f"the package for {cand.label} holds {manifest.name} {manifest.version}",
                code="package_mismatch",
            )
        cand.sha256 = package.sha256
        cand.manifest = manifest.to_dict()
        cand.games = list(manifest.games)
        cand.dependencies = dict(manifest.dependencies)
        digests = package.extract_files(stage, report)
    return stage, digests


def _new_install(
    cand: Candidate, rows: list[_FileRow], *, enabled: bool = True, replaces: str | None = None
) -> _NewInstall:
    assert cand.sha256 is not None
    return _NewInstall(
        name=cand.name,
        version=cand.version,
        sha256=cand.sha256,
        source=cand.source,
        plugin_id=cand.plugin_id,
        manifest=cand.manifest,
        files=rows,
        enabled=enabled,
        replaces=replaces,
    )


def _refuse_in_the_way(in_the_way: list[str]) -> None:
    if in_the_way:
        shown = ", ".join(in_the_way[:20]) + (" ..." if len(in_the_way) > 20 else "")
        raise ConflictError(
            f"{len(in_the_way)} file(s) that gsm did not install are where the plugin's files "
            f"go: {shown}",
            hint=f"move them away, or pass --force to keep them in {REPLACED_DIR}/ and "
            "install the plugin's files in their place",
            code="file_exists",
        )


@dataclass
class Target:
    """What the user asked to install: a package file, or NAME[@VERSION] from the cloud."""

    text: str
    path: Path | None = None
    name: str | None = None
    spec: str | None = None

    @classmethod
    def parse(cls, text: str) -> "Target":
        path = Path(text)
        if text.lower().endswith(".zip") or os.sep in text or "/" in text or path.is_file():
            return cls(text, path=path)
        name, _, spec = text.partition("@")
        from gsm_cli.services import plugin_package

        if not re.match(plugin_package.NAME_PATTERN, name):
            raise InvalidInputError(
                f"{text!r} is neither a package file nor NAME[@VERSION]",
                hint="a plugin name has letters, digits, '_' and '-'; a file ends in .zip",
                code="invalid_plugin_name",
            )
        if spec:
            plugin_package.parse_range(spec)
        return cls(text, name=name, spec=spec or None)


def install(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    targets: Sequence[str],
    *,
    force: bool = False,
    cloud: Any = None,
    report: Report | None = None,
) -> dict[str, Any]:
    """Install package files and/or NAME[@VERSION]s from the cloud (``cloud``: a
    ``CloudSource``), with their dependencies first, as one change."""
    parsed = [Target.parse(t) for t in targets]
    if not parsed:
        raise InvalidInputError("name at least one plugin or package file to install")
    with _working_on(store, paths, name) as server, contextlib.ExitStack() as opened:
        snapshot = _snapshot(store, server)
        installed = {i.plugin.name.lower(): i.plugin for i in snapshot}
        files: dict[str, Candidate] = {}
        for target in parsed:
            if target.path is not None:
                cand = open_file(target.path)
                opened.callback(close_all, [cand])
                if cand.name.lower() in files:
                    raise InvalidInputError(f"two packages of {cand.name} given")
                files[cand.name.lower()] = cand
        wanted: list[Candidate] = []
        already: list[dict[str, Any]] = []
        with Change(store, paths, server, "install", env) as change:
            fetch = cloud.fetcher(change.work) if cloud is not None else None
            for target in parsed:
                if target.path is not None:
                    cand = next(c for c in files.values() if c.path == target.path)
                else:
                    if fetch is None:
                        raise InvalidInputError(f"{target.text}: the cloud is not available")
                    found = cloud.find(target.name or "", target.spec, required=True)
                    assert found is not None
                    cand = found
                present = installed.get(cand.name.lower())
                if present is not None:
                    if present.version == cand.version and (
                        cand.sha256 is None or cand.sha256 == present.package_sha256
                    ):
                        already.append({"name": present.name, "version": present.version})
                        continue
                    raise ConflictError(
                        f"{present.name} {present.version} is already installed on {server.name}",
                        hint=f"gsm plugin update {present.name} --server {server.name}, or "
                        "uninstall it first",
                        code="already_installed",
                    )
                wanted.append(cand)
            order = resolve(wanted, installed, files=files, fetch=fetch, game=server.game_type)
            if cloud is not None:
                cloud.download_all(order, change, report)
            owners = _owners(snapshot)
            news: list[_NewInstall] = []
            in_the_way: list[str] = []
            for cand in order:
                stage, digests = _stage(change, cand, report)
                rows, blocked = _plan_install(change, cand, digests, stage, owners, force=force)
                in_the_way += blocked
                news.append(_new_install(cand, rows))
            _refuse_in_the_way(in_the_way)
            change.run()
            folder = plugin_folder(server)

            def write(session: Session) -> None:
                for new in news:
                    _write_install(session, server, new, folder)

            change.commit(write)
        return {
            "server": server.name,
            "installed": [
                {
                    "name": n.name,
                    "version": n.version,
                    "sha256": n.sha256,
                    "source": n.source,
                    "files": sum(1 for r in n.files if r.kind == "file"),
                }
                for n in news
            ],
            "already_installed": already,
            "kept": change.kept,
        }


# --- update ------------------------------------------------------------------------------


def _constraints(plugins: Sequence[LocalPlugin], name: str) -> dict[str, str]:
    """Ranges other installed plugins put on ``name``: {plugin: range}."""
    return {
        p.name: rng
        for p in plugins
        for dep, rng in _dependencies(p).items()
        if dep.lower() == name.lower() and p.name.lower() != name.lower()
    }


def _replace(
    change: Change,
    item: Installed,
    cand: Candidate,
    owners: Mapping[str, str],
    report: Report | None,
    *,
    force: bool,
    enabled: bool | None = None,
) -> _NewInstall:
    """Plan replacing an installed plugin by another package of it: old files out (changed
    ones refused unless ``force``, which keeps them in .gsm-replaced), new files in."""
    stage, digests = _stage(change, cand, report)
    changed = _changed_files(change.folder, item)
    if changed and not force:
        raise ConflictError(
            f"files of {item.plugin.name} were changed here: {', '.join(changed[:20])}",
            hint="pass --force to keep your versions in "
            f"{REPLACED_DIR}/ and replace them with the package's",
            code="files_changed",
        )
    for row in item.files:
        if row.kind != "file":
            continue
        path = location(change.folder, item.plugin, row.path)
        if not os.path.lexists(path):
            change.freed.add(row.path)
            continue
        if row.path in changed:
            change.put_aside(path)
        else:
            change.take_out(path)
        change.freed.add(row.path)
    old_dirs = {r.path for r in item.files if r.kind == "dir"}
    on = item.plugin.is_enabled is not False if enabled is None else enabled
    rows, blocked = _plan_install(change, cand, digests, stage, owners, force=force, enabled=on)
    _refuse_in_the_way(blocked)
    # The folders the old version made stay its (they exist, so the new files do not make
    # them again); those the new version leaves empty go after the commit.
    new_dirs = {r.path for r in rows if r.kind == "dir"}
    for rel in sorted(old_dirs - new_dirs):
        change.remove_dir_later(_under(change.folder, rel))
        change.remove_dir_later(location(change.folder, item.plugin, rel))
        rows.append(_FileRow(rel, "dir"))
    new = _new_install(cand, rows, enabled=on, replaces=item.plugin.id)
    new.pinned = bool(item.plugin.pinned)
    return new


def _changed_files(folder: Path, item: Installed) -> list[str]:
    changed = []
    for row in item.files:
        if row.kind != "file":
            continue
        path = location(folder, item.plugin, row.path)
        if os.path.lexists(path) and (
            path.is_symlink() or not path.is_file() or sha256_file(path) != row.sha256
        ):
            changed.append(row.path)
    return changed


def update(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    plugin_names: Sequence[str],
    *,
    all_plugins: bool = False,
    cloud: Any,
    force: bool = False,
    report: Report | None = None,
) -> dict[str, Any]:
    """Update plugins to the newest version that every other installed plugin's ranges
    allow (pinned plugins are left alone), as ONE change: any failure undoes all of it."""
    from gsm_cli.services import plugin_package

    with _working_on(store, paths, name) as server:
        snapshot = _snapshot(store, server)
        plugins = [i.plugin for i in snapshot]
        if all_plugins:
            targets = list(snapshot)
        else:
            targets = [_item(snapshot, n, server) for n in plugin_names]
            for item in targets:
                if item.plugin.pinned:
                    raise ConflictError(
                        f"{item.plugin.name} is pinned at {item.plugin.version}",
                        hint=f"gsm plugin unpin {item.plugin.name} --server {server.name}",
                        code="plugin_pinned",
                    )
        skipped: list[dict[str, Any]] = []
        updates: list[tuple[Installed, Candidate]] = []
        with Change(store, paths, server, "update", env) as change:
            fetch = cloud.fetcher(change.work)
            for item in targets:
                plugin = item.plugin
                if plugin.pinned:
                    skipped.append({"name": plugin.name, "reason": "pinned"})
                    continue
                ranges = _constraints(plugins, plugin.name)
                spec = " ".join(f"({r})" if "||" in r else r for r in ranges.values()) or None
                cand = cloud.latest(plugin.name, list(ranges.values()))
                if cand is None:
                    why = "not in the cloud" if not ranges else f"no version allows {spec}"
                    skipped.append({"name": plugin.name, "reason": why})
                    continue
                current = plugin_package.parse_version(plugin.version or "0.0.0")
                if plugin_package.parse_version(cand.version) <= current:
                    skipped.append({"name": plugin.name, "reason": "up to date"})
                    continue
                updates.append((item, cand))
            replacing = [item.plugin.name for item, _ in updates]
            installed = {p.name.lower(): p for p in plugins}
            new_versions = {c.name.lower(): c for _, c in updates}
            merged = {**installed}
            for key in new_versions:
                merged.pop(key, None)
            order = resolve(
                [c for _, c in updates],
                merged,
                files=new_versions,
                fetch=fetch,
                game=server.game_type,
                replacing=replacing,
            )
            _check_ranges_after(plugins, {c.name.lower(): c for c in order})
            cloud.download_all(order, change, report)
            owners = _owners(snapshot)
            by_name = {item.plugin.name.lower(): item for item, _ in updates}
            news = []
            for cand in order:
                item = by_name.get(cand.name.lower())
                if item is None:
                    stage, digests = _stage(change, cand, report)
                    rows, blocked = _plan_install(change, cand, digests, stage, owners, force=force)
                    _refuse_in_the_way(blocked)
                    news.append(_new_install(cand, rows))
                else:
                    news.append(_replace(change, item, cand, owners, report, force=force))
            change.run()
            folder = plugin_folder(server)

            def write(session: Session) -> None:
                for new in news:
                    _write_install(session, server, new, folder)

            change.commit(write)
        old = {item.plugin.name: item.plugin.version for item, _ in updates}
        return {
            "server": server.name,
            "updated": [
                {"name": n.name, "from": old.get(n.name), "to": n.version, "sha256": n.sha256}
                for n in news
            ],
            "skipped": skipped,
            "kept": change.kept,
        }


def _check_ranges_after(plugins: Sequence[LocalPlugin], new: Mapping[str, Candidate]) -> None:
    """Every installed plugin's ranges must still hold once ``new`` versions are in."""
    from gsm_cli.services import plugin_package

    for plugin in plugins:
        if plugin.name.lower() in new:
            continue
        for dep, rng in _dependencies(plugin).items():
            cand = new.get(dep.lower())
            if cand is not None and not plugin_package.parse_range(rng).allows(cand.version):
                raise _unsatisfiable(
                    dep,
                    rng,
                    f"the update would install {cand.label}",
                    plugin.name,
                    "pin it, or update the plugins that need it too",
                )


# --- lock files --------------------------------------------------------------------------


def lock_data(store: Store, paths: Paths, name: str) -> dict[str, Any]:
    """The lock of a server's plugins: each plugin's exact version, package sha256, enabled
    state, and every file (path relative to the plugin folder) with its sha256."""
    with _working_on(store, paths, name, change=False) as server:
        snapshot = _snapshot(store, server)
        folder = server_folder(server)
    plugins = []
    for item in snapshot:
        base = Path(item.plugin.install_path) if item.plugin.install_path else folder
        plugins.append(
            {
                "name": item.plugin.name,
                "version": item.plugin.version or "",
                "sha256": item.plugin.package_sha256 or "",
                "enabled": item.plugin.is_enabled is not False,
                "files": [
                    {"path": _lock_path_of(folder, base, row.path), "sha256": row.sha256 or ""}
                    for row in item.files
                    if row.kind == "file"
                ],
            }
        )
    return {"format": LOCK_FORMAT, "game": server.game_type, "plugins": plugins}


def _lock_path_of(folder: Path, base: Path, rel: str) -> str:
    path = _under(folder, rel)
    try:
        return _rel(path, base)
    except ValueError:
        return rel


def render_lock(data: Mapping[str, Any]) -> str:
    import tomli_w

    body = {
        "format": data["format"],
        "game": data["game"],
        "plugin": [
            {
                "name": p["name"],
                "version": p["version"],
                "sha256": p["sha256"],
                "enabled": p["enabled"],
                "file": [{"path": f["path"], "sha256": f["sha256"]} for f in p["files"]],
            }
            for p in data["plugins"]
        ],
    }
    header = (
        "# gsm-plugins.lock: the exact plugin set of a server, written by `gsm plugin lock`.\n"
        "# Make a server match it with `gsm plugin apply`; check it with "
        "`gsm plugin verify --lock`.\n"
    )
    return header + tomli_w.dumps(body)


def write_lock(path: Path, text: str) -> None:
    """Write a lock file atomically (a temporary file beside it, then a rename)."""
    import tempfile

    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the lock file {path}: {exc.strerror or exc}", code="lock_unwritable"
        ) from exc


@dataclass
class LockEntry:
    name: str
    version: str
    sha256: str
    enabled: bool
    files: dict[str, str]  # path relative to the plugin folder -> sha256


def read_lock(path: Path) -> tuple[str, dict[str, LockEntry]]:
    """A lock file's game and plugins; lock_invalid (exit 4) when it is not one."""
    from gsm_cli.services import plugin_package

    def bad(why: str) -> InvalidInputError:
        return InvalidInputError(f"{path} is not a valid lock file: {why}", code="lock_invalid")

    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFoundError(f"no such lock file: {path}", code="lock_not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise bad(str(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise bad(str(exc)) from exc
    if data.get("format") != LOCK_FORMAT:
        raise bad(f"format must be {LOCK_FORMAT}")
    game = data.get("game")
    if not isinstance(game, str) or not game:
        raise bad("game is missing")
    entries: dict[str, LockEntry] = {}
    plugins = data.get("plugin", [])
    if not isinstance(plugins, list):
        raise bad("[[plugin]] must be an array of tables")
    for index, item in enumerate(plugins):
        where = f"plugin #{index + 1}"
        if not isinstance(item, dict):
            raise bad(f"{where} is not a table")
        name, version, sha = item.get("name"), item.get("version"), item.get("sha256")
        if not isinstance(name, str) or not re.match(plugin_package.NAME_PATTERN, name):
            raise bad(f"{where}: invalid name {name!r}")
        if not isinstance(version, str) or not plugin_package.is_version(version):
            raise bad(f"{name}: invalid version {version!r}")
        if not _is_sha256(sha):
            raise bad(f"{name}: sha256 must be 64 hexadecimal digits")
        enabled = item.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad(f"{name}: enabled must be true or false")
        files: dict[str, str] = {}
        for entry in item.get("file", []):
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise bad(f"{name}: every [[plugin.file]] needs a path")
            if not _is_sha256(entry.get("sha256")):
                raise bad(f"{name}: {entry['path']}: sha256 must be 64 hexadecimal digits")
            files[entry["path"]] = entry["sha256"]
        if name.lower() in entries:
            raise bad(f"{name} is listed twice")
        entries[name.lower()] = LockEntry(name, version, sha, enabled, files)
    return game, entries


def _is_sha256(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 64
        and all(c in "0123456789abcdef" for c in value.lower())
    )


# --- apply -------------------------------------------------------------------------------


def packages_in(folder: Path) -> dict[str, Path]:
    """The package files of a folder by their sha256 (apply --from DIR)."""
    if not folder.is_dir():
        raise NotFoundError(f"no such folder: {folder}", code="folder_not_found")
    found = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() == ".zip":
            found[sha256_file(path)] = path
    return found


def apply(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    lock_path: Path,
    *,
    from_dir: Path | None = None,
    cloud: Any = None,
    dry_run: bool = False,
    force: bool = False,
    report: Report | None = None,
) -> dict[str, Any]:
    """Make a server's plugins exactly what a lock file says, as one change: install, update
    (replace), remove, enable, disable. Every package must have the lock's sha256."""
    game, entries = read_lock(lock_path)
    server = servers.get_local(store, name)
    if game.lower() != server.game_type.lower():
        raise ConflictError(
            f"the lock file is for {game} servers; {server.name} runs {server.game_type}",
            code="incompatible_game",
        )
    with (
        _working_on(store, paths, name, change=not dry_run) as server,
        contextlib.ExitStack() as opened,
    ):
        snapshot = _snapshot(store, server)
        by_name = {i.plugin.name.lower(): i for i in snapshot}
        plan: list[dict[str, Any]] = []
        for key, item in sorted(by_name.items()):
            if key not in entries:
                plan.append(
                    {"action": "remove", "name": item.plugin.name, "version": item.plugin.version}
                )
        for key, entry in sorted(entries.items()):
            item = by_name.get(key)
            if item is None:
                plan.append({"action": "install", "name": entry.name, "version": entry.version})
                continue
            if item.plugin.version != entry.version or item.plugin.package_sha256 != entry.sha256:
                plan.append(
                    {
                        "action": "replace",
                        "name": entry.name,
                        "version": entry.version,
                        "from": item.plugin.version,
                    }
                )
            elif _drifted(server_folder(server), item):
                plan.append({"action": "repair", "name": entry.name, "version": entry.version})
            elif (item.plugin.is_enabled is not False) != entry.enabled:
                plan.append(
                    {
                        "action": "enable" if entry.enabled else "disable",
                        "name": entry.name,
                        "version": entry.version,
                    }
                )
        result: dict[str, Any] = {"server": server.name, "dry_run": dry_run, "plan": plan}
        if dry_run or not plan:
            return result | {"changed": False}
        by_sha = packages_in(from_dir) if from_dir is not None else {}
        with Change(store, paths, server, "apply", env) as change:
            cands: dict[str, Candidate] = {}
            for step in plan:
                if step["action"] not in ("install", "replace", "repair"):
                    continue
                entry = entries[step["name"].lower()]
                if from_dir is not None:
                    path = by_sha.get(entry.sha256)
                    if path is None:
                        raise NotFoundError(
                            f"no package of {entry.name} {entry.version} with sha256 "
                            f"{entry.sha256} in {from_dir}",
                            hint="put the exact package the lock was made with there",
                            code="package_not_found",
                        )
                    cand = open_file(path)
                    opened.callback(close_all, [cand])
                elif cloud is not None:
                    cand = cloud.exact(entry.name, entry.version, change.work)
                else:
                    raise InvalidInputError("apply needs --from DIR or the cloud")
                if cand.sha256 is not None and cand.sha256 != entry.sha256:
                    raise VerificationError(
                        f"the package of {entry.name} {entry.version} has sha256 {cand.sha256}, "
                        f"but the lock says {entry.sha256}",
                        hint="the package is not the one the lock was made with: refusing it",
                        code="digest_mismatch",
                    )
                if (cand.name.lower(), cand.version) != (entry.name.lower(), entry.version):
                    raise VerificationError(
                        f"the package for {entry.name} {entry.version} holds {cand.label}",
                        code="package_mismatch",
                    )
                if cand.games and not compatible(cand.games, server.game_type):
                    raise ConflictError(
                        f"{cand.label} is not made for {server.game_type} servers",
                        code="incompatible_game",
                    )
                cand.expected_sha256 = entry.sha256
                cands[entry.name.lower()] = cand
            if cloud is not None:
                cloud.download_all(list(cands.values()), change, report)
            owners = _owners(snapshot)
            news: list[_NewInstall] = []
            removed: list[str] = []
            toggles: list[tuple[str, bool]] = []
            # Out first: plugins to remove give their paths back to the new ones.
            for step in plan:
                if step["action"] == "remove":
                    item = by_name[step["name"].lower()]
                    _plan_removal(change, item, force=force)
                    removed.append(item.plugin.id)
            for step in plan:
                key = step["name"].lower()
                entry = entries.get(key)
                if step["action"] in ("replace", "repair"):
                    assert entry is not None
                    new = _replace(
                        change,
                        by_name[key],
                        cands[key],
                        owners,
                        report,
                        force=force,
                        enabled=entry.enabled,
                    )
                    _check_lock_files(entry, new, server_folder(server), plugin_folder(server))
                    news.append(new)
                elif step["action"] == "install":
                    assert entry is not None
                    cand = cands[key]
                    stage, digests = _stage(change, cand, report)
                    rows, blocked = _plan_install(
                        change, cand, digests, stage, owners, force=force, enabled=entry.enabled
                    )
                    _refuse_in_the_way(blocked)
                    new = _new_install(cand, rows, enabled=entry.enabled)
                    _check_lock_files(entry, new, server_folder(server), plugin_folder(server))
                    news.append(new)
                elif step["action"] in ("enable", "disable"):
                    item = by_name[key]
                    on = step["action"] == "enable"
                    _plan_toggle(change, item, on, force=force)
                    toggles.append((item.plugin.id, on))
            change.run()
            folder = plugin_folder(server)

            def write(session: Session) -> None:
                for plugin_id in removed:
                    row = session.get(LocalPlugin, plugin_id)
                    if row is not None:
                        _queue(session, row, "delete")
                session.flush()
                for new in news:
                    _write_install(session, server, new, folder)
                for plugin_id, on in toggles:
                    row = session.get(LocalPlugin, plugin_id)
                    if row is not None:
                        row.is_enabled = on

            change.commit(write)
        return result | {"changed": True, "kept": change.kept}


def _drifted(folder: Path, item: Installed) -> bool:
    for row in item.files:
        if row.kind != "file":
            continue
        path = location(folder, item.plugin, row.path)
        if not path.is_file() or path.is_symlink() or sha256_file(path) != row.sha256:
            return True
    return False


def _plan_toggle(change: Change, item: Installed, enabled: bool, *, force: bool) -> None:
    plugin = item.plugin
    in_the_way = []
    for row in item.files:
        if row.kind != "file":
            continue
        src = location(change.folder, plugin, row.path)
        dst = location(change.folder, plugin, row.path, enabled=enabled)
        if not os.path.lexists(src):
            continue
        if os.path.lexists(dst):
            if not force:
                in_the_way.append(_rel(dst, change.folder))
                continue
            change.put_aside(dst)
        change.ensure_dir(dst.parent)
        change.move(src, dst)
    _refuse_in_the_way(in_the_way)


def _check_lock_files(entry: LockEntry, new: _NewInstall, folder: Path, base: Path) -> None:
    got = {_lock_path_of(folder, base, r.path): r.sha256 for r in new.files if r.kind == "file"}
    if entry.files and got != entry.files:
        differ = sorted(set(got.items()) ^ set(entry.files.items()))
        raise VerificationError(
            f"the files of {entry.name} {entry.version} are not the lock's: "
            + ", ".join(sorted({p for p, _ in differ})[:20]),
            code="digest_mismatch",
        )


# --- verify ------------------------------------------------------------------------------


@dataclass
class Finding:
    server: str
    plugin: str | None
    check: str
    message: str
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "plugin": self.plugin,
            "check": self.check,
            "path": self.path,
            "message": self.message,
        }


CHECKS = ("files", "game", "dependencies", "state", "lock")


def verify_server(
    store: Store, paths: Paths, name: str, lock: tuple[str, dict[str, LockEntry]] | None = None
) -> dict[str, Any]:
    """Check one server's plugins; returns {server, game, ok, plugins: [...], findings}."""
    from gsm_cli.services import plugin_package

    with _working_on(store, paths, name, change=False) as server:
        snapshot = _snapshot(store, server)
    folder = Path(server.install_path or ".")
    findings: list[Finding] = []
    plugins_out = []
    by_name = {i.plugin.name.lower(): i for i in snapshot}

    def add(plugin: str | None, check: str, message: str, path: str | None = None) -> None:
        findings.append(Finding(server.name, plugin, check, message, path))

    if snapshot and not folder.is_dir():
        add(None, "files", f"the folder of {server.name} is missing: {server.install_path}")
    for item in snapshot:
        plugin = item.plugin
        before = len(findings)
        on = plugin.is_enabled is not False
        if plugin.source is None and not item.files:
            add(
                plugin.name,
                "files",
                f"{plugin.name} is recorded (from sync) but was not installed by gsm on this "
                "machine: no file of it is known here",
            )
        for row in item.files:
            if row.kind != "file":
                continue
            path = location(folder, plugin, row.path)
            other = location(folder, plugin, row.path, enabled=not on)
            shown = _rel(path, folder)
            if not os.path.lexists(path):
                if os.path.lexists(other):
                    add(
                        plugin.name,
                        "state",
                        f"{shown} is missing, but is at {_rel(other, folder)}: the plugin is "
                        f"recorded {'enabled' if on else 'disabled'}",
                        shown,
                    )
                else:
                    add(plugin.name, "files", f"{shown} is missing", shown)
                continue
            if path.is_symlink() or not path.is_file():
                add(plugin.name, "files", f"{shown} is not a regular file", shown)
                continue
            digest = sha256_file(path)
            if digest != row.sha256:
                add(
                    plugin.name,
                    "files",
                    f"{shown} changed: sha256 {digest}, installed {row.sha256}",
                    shown,
                )
            if os.path.lexists(other) and not _is_claimed(snapshot, item, other, folder):
                add(
                    plugin.name,
                    "state",
                    f"{_rel(other, folder)} exists too, though the plugin is "
                    f"{'enabled' if on else 'disabled'}",
                    _rel(other, folder),
                )
        games = _manifest(plugin).get("games")
        if games is not None and not compatible(games, server.game_type):
            add(
                plugin.name,
                "game",
                f"{plugin.name} {plugin.version} is not made for {server.game_type} "
                f"(it lists: {', '.join(games)})",
            )
        for dep, rng in _dependencies(plugin).items():
            have = by_name.get(dep.lower())
            if have is None:
                add(plugin.name, "dependencies", f"needs {dep} {rng}, which is not installed")
            elif not plugin_package.parse_range(rng).allows(have.plugin.version or ""):
                add(
                    plugin.name,
                    "dependencies",
                    f"needs {dep} {rng}, but {have.plugin.version} is installed",
                )
            elif on and have.plugin.is_enabled is False:
                add(plugin.name, "dependencies", f"needs {dep}, which is disabled")
        if lock is not None:
            entry = lock[1].get(plugin.name.lower())
            if entry is None:
                add(plugin.name, "lock", f"{plugin.name} is installed but not in the lock file")
            else:
                _compare_with_lock(add, item, entry, folder)
        plugins_out.append(
            item.to_dict(server)
            | {
                "ok": len(findings) == before,
                "problems": [f.to_dict() for f in findings[before:]],
            }
        )
    if lock is not None:
        game, entries = lock
        if game.lower() != server.game_type.lower():
            add(None, "lock", f"the lock file is for {game}; {server.name} runs {server.game_type}")
        for key, entry in sorted(entries.items()):
            if key not in by_name:
                add(
                    entry.name,
                    "lock",
                    f"{entry.name} {entry.version} is in the lock file but not installed",
                )
    return {
        "server": server.name,
        "game": server.game_type,
        "ok": not findings,
        "plugins": plugins_out,
        "problems": [f.to_dict() for f in findings],
    }


def _is_claimed(snapshot: Sequence[Installed], item: Installed, path: Path, folder: Path) -> bool:
    """Whether another plugin owns the file at ``path`` (then it is not a stray copy)."""
    for other in snapshot:
        if other is item:
            continue
        for row in other.files:
            if row.kind == "file" and location(folder, other.plugin, row.path) == path:
                return True
    return False


def _compare_with_lock(
    add: Callable[..., None], item: Installed, entry: LockEntry, folder: Path
) -> None:
    plugin = item.plugin
    if plugin.version != entry.version:
        add(plugin.name, "lock", f"version {plugin.version} installed, {entry.version} locked")
    if plugin.package_sha256 != entry.sha256:
        add(
            plugin.name,
            "lock",
            f"package sha256 {plugin.package_sha256} installed, {entry.sha256} locked",
        )
    if (plugin.is_enabled is not False) != entry.enabled:
        state = "enabled" if plugin.is_enabled is not False else "disabled"
        add(
            plugin.name,
            "lock",
            f"{state} here, {'enabled' if entry.enabled else 'disabled'} in the lock file",
        )
    base = Path(plugin.install_path) if plugin.install_path else folder
    recorded = {
        _lock_path_of(folder, base, row.path): (row.sha256 or "")
        for row in item.files
        if row.kind == "file"
    }
    for path, sha in sorted(entry.files.items()):
        if path not in recorded:
            add(plugin.name, "lock", f"{path} is locked but not installed", path)
        elif recorded[path] != sha:
            add(
                plugin.name,
                "lock",
                f"{path}: sha256 {recorded[path]} installed, {sha} locked",
                path,
            )
    for path in sorted(set(recorded) - set(entry.files)):
        add(plugin.name, "lock", f"{path} is installed but not in the lock file", path)


def verify(
    store: Store,
    paths: Paths,
    names: Sequence[str],
    *,
    lock_path: Path | None = None,
) -> dict[str, Any]:
    lock = read_lock(lock_path) if lock_path is not None else None
    results = [verify_server(store, paths, n, lock) for n in names]
    problems = sum(len(r["problems"]) for r in results)
    return {"ok": problems == 0, "problems": problems, "servers": results}


def local_server_names(store: Store) -> list[str]:
    with store.read() as session:
        from gsm_cli.services import device

        this = device.device_id(session)
        rows = session.scalars(select(LocalServer).order_by(LocalServer.name)).all()
        return [s.name for s in rows if not servers.is_remote(s, this)]


def junit_cases(result: Mapping[str, Any]) -> list[Any]:
    """One JUnit test case per plugin of each server (and one per server-level finding)."""
    from gsm_cli.services.junit import JUnitCase

    cases = []
    for server in result["servers"]:
        for plugin in server["plugins"]:
            problems = plugin["problems"]
            failure = "\n".join(f"[{p['check']}] {p['message']}" for p in problems) or None
            cases.append(
                JUnitCase(f"{plugin['name']} {plugin['version']}", server["server"], failure)
            )
        listed = {p["name"] for p in server["plugins"]}
        extra = [p for p in server["problems"] if p["plugin"] not in listed]
        if extra or not server["plugins"]:
            failure = "\n".join(f"[{p['check']}] {p['message']}" for p in extra) or None
            cases.append(JUnitCase("plugin set", server["server"], failure))
    return cases


def verification_error(result: Mapping[str, Any]) -> VerificationError:
    count = result["problems"]
    bad = [s["server"] for s in result["servers"] if not s["ok"]]
    return VerificationError(
        f"{count} problem{'s' if count != 1 else ''} in the plugins of {', '.join(bad)}",
        hint="see the report above; gsm plugin apply LOCK or reinstall to repair",
        code="verification_failed",
    )
