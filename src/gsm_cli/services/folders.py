"""Which folders may be a server's folder, and purging one without touching anything else.

One place decides whether a folder may hold a server: ``check_server_folder``. `server create`,
`update --path`, `adopt` and `delete --purge` all ask it, so a folder refused on the way in is
refused on the way out too, even when an older gsm (or another machine) wrote the record.

A folder is refused (exit 4) when it is:

- the root of a file system or drive, or is or contains the user's home folder (``unsafe_path``);
- is, contains or lies inside one of gsm's own folders: GSM_HOME, the data folder (the store's
  folder), config, logs, the backups folder and the ``backup.dir`` setting; one exception: a
  folder strictly inside ``<data>/servers``, where gsm puts servers by default (``unsafe_path``);
- contains a backup archive that gsm recorded (``unsafe_path``);
- is, contains or lies inside another server record's folder (``path_taken``).

Paths are compared resolved (symlinks followed), and regardless of case on Windows.

Purging (`delete --purge`) never follows a symlink (a symlinked server folder loses only its
link; a link inside loses only itself), does not cross into another file system mounted inside
the folder (like ``rm --one-file-system``), and reports what it kept. On POSIX the removal
works through directory file descriptors opened with ``O_NOFOLLOW``, as ``shutil.rmtree``
does, so a folder swapped for a link while it runs is never followed either.
"""

import contextlib
import os
import stat
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gsm_cli.errors import InvalidInputError
from gsm_cli.paths import Paths
from gsm_cli.store.models import LocalServer, ServerBackup, UserSetting

SERVERS_AREA = "servers"  # <data>/servers/NAME: the default place of a server's folder
TRASH_MARK = ".gsm-deleting-"
SHOWN_ENTRIES = 5
BACKUP_DIR_LABEL = "the backup.dir folder"

_LINK_TAGS = {
    getattr(stat, "IO_REPARSE_TAG_SYMLINK", 0xA000000C),
    getattr(stat, "IO_REPARSE_TAG_MOUNT_POINT", 0xA0000003),  # a Windows directory junction
}
# The fd-based removal needs what shutil.rmtree's safe variant needs.
_FD_REMOVAL = (
    {os.open, os.stat, os.unlink, os.rmdir} <= os.supports_dir_fd
    and os.scandir in os.supports_fd
    and os.stat in os.supports_follow_symlinks
    and hasattr(os, "O_NOFOLLOW")
    and hasattr(os, "O_DIRECTORY")
)


class UnsafePathError(InvalidInputError):
    """A folder that may not be a server's folder: a root, a home folder, one of gsm's own."""

    code = "unsafe_path"


class PathTakenError(InvalidInputError):
    """A folder that is, contains or lies inside another server's folder."""

    code = "path_taken"


# --- comparing paths ---------------------------------------------------------------------------


def resolve(folder: str | os.PathLike[str]) -> Path:
    """The absolute path with every symlink followed (the folder need not exist)."""
    try:
        return Path(folder).expanduser().resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop, an unknown ~user
        raise UnsafePathError(f"cannot resolve the folder {folder}: {exc}") from None


def _resolve_quietly(folder: str | os.PathLike[str]) -> Path:
    try:
        return Path(folder).expanduser().resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(folder))


def _key(path: Path) -> PurePath:
    """What two paths are compared by: case-folded on Windows (``os.path.normcase``)."""
    return PurePath(os.path.normcase(str(path)))


def _relation(target: PurePath, other: PurePath) -> str | None:
    if target == other:
        return "is"
    if other in target.parents:
        return "lies inside"
    if target in other.parents:
        return "contains"
    return None


def _home_folders(env: Mapping[str, str]) -> list[Path]:
    """The user's home folder as the environment, the OS and the account database say."""
    found: list[str] = [env[var] for var in ("HOME", "USERPROFILE") if env.get(var)]
    with contextlib.suppress(RuntimeError, KeyError):
        found.append(str(Path.home()))
    if os.name == "posix":
        with contextlib.suppress(ImportError, KeyError):
            import pwd

            found.append(pwd.getpwuid(os.getuid()).pw_dir)
    return _unique(_resolve_quietly(folder) for folder in found if folder)


def _unique(folders: Iterable[Path]) -> list[Path]:
    seen: dict[PurePath, Path] = {}
    for folder in folders:
        seen.setdefault(_key(folder), folder)
    return list(seen.values())


def gsm_folders(session: Session, paths: Paths) -> list[tuple[str, Path]]:
    """gsm's own folders, each with the words that name it, resolved."""
    named: list[tuple[str, Path]] = []
    if paths.home is not None:
        named.append(("GSM_HOME", paths.home))
    named += [
        ("gsm's data folder", paths.data_dir),
        ("the folder of gsm's store", paths.store_file.parent),
        ("gsm's config folder", paths.config_dir),
        ("gsm's logs folder", paths.log_dir),
        ("gsm's backups folder", paths.backup_dir),
    ]
    setting = session.get(UserSetting, "backup.dir")
    if setting is not None and setting.value:
        named.append((BACKUP_DIR_LABEL, Path(setting.value)))
    return [(label, _resolve_quietly(folder)) for label, folder in named]


# --- the rules ---------------------------------------------------------------------------------


def folder_problem(
    session: Session,
    paths: Paths,
    env: Mapping[str, str],
    folder: str | os.PathLike[str],
    server_id: str | None = None,
) -> tuple[Path, InvalidInputError | None]:
    """The resolved folder, and why it may not be a server's folder (None when it may).

    ``server_id`` is the server the folder is for: its own record does not count as another
    server's. The error's message is the reason alone ("it is gsm's data folder").
    """
    target = resolve(folder)
    key = _key(target)
    if key.parent == key:
        return target, UnsafePathError("it is the root of a file system")
    for home in _home_folders(env):
        relation = _relation(key, _key(home))
        if relation == "is":
            return target, UnsafePathError("it is your home folder")
        if relation == "contains":
            return target, UnsafePathError(f"it contains your home folder {home}")

    area = _key(_resolve_quietly(paths.data_dir / SERVERS_AREA))
    in_area = area in key.parents
    clashes: list[tuple[int, int, str, str, Path]] = []
    for order, (label, own) in enumerate(gsm_folders(session, paths)):
        own_key = _key(own)
        holds_area = own_key == area or own_key in area.parents
        if in_area and holds_area and label != BACKUP_DIR_LABEL:
            # <data>/servers/NAME, the default place: inside GSM_HOME and the data folder (and,
            # on Windows, the config folder, which platformdirs puts there too).
            continue
        relation = _relation(key, own_key)
        if relation is not None:
            # Name the closest one: the folder it is, else the deepest one it lies in, else
            # the outermost one it contains (GSM_HOME rather than its logs folder).
            depth = len(own_key.parts)
            rank = {"is": 0, "lies inside": 1000 - depth, "contains": 2000 + depth}[relation]
            clashes.append((rank, order, relation, label, own))
    if clashes:
        _rank, _order, relation, label, own = min(clashes, key=lambda clash: clash[:2])
        if relation == "is":
            return target, UnsafePathError(f"it is {label}")
        return target, UnsafePathError(f"it {relation} {label} {own}")

    others = select(LocalServer.id, LocalServer.name, LocalServer.install_path).order_by(
        LocalServer.name
    )
    for other_id, other_name, other_path in session.execute(others):
        if other_id == server_id or not other_path:
            continue
        other = _resolve_quietly(other_path)
        relation = _relation(key, _key(other))
        if relation == "is":
            return target, PathTakenError(f"it is the folder of server {other_name!r}")
        if relation:
            return target, PathTakenError(
                f"it {relation} the folder of server {other_name!r} ({other})"
            )

    for (archive,) in session.execute(select(ServerBackup.path)):
        if key in _key(_resolve_quietly(archive)).parents:
            return target, UnsafePathError(f"it holds backup archives of gsm, such as {archive}")
    return target, None


def check_server_folder(
    session: Session,
    paths: Paths,
    env: Mapping[str, str],
    folder: str | os.PathLike[str],
    server_id: str | None = None,
) -> Path:
    """The resolved folder when it may be the folder of server ``server_id`` (None: a new one);
    else ``UnsafePathError`` (``unsafe_path``) or ``PathTakenError`` (``path_taken``), exit 4.

    Used by `server create`, `update --path` and `adopt`; `delete --purge` asks the same rules
    through ``folder_problem``.
    """
    target, problem = folder_problem(session, paths, env, folder, server_id)
    if problem is not None:
        raise type(problem)(
            f"{target} cannot be a server's folder: {problem.message}",
            hint="give the server a folder of its own, outside gsm's folders and other servers' "
            f"folders; without --path it goes to {paths.data_dir / SERVERS_AREA / 'NAME'}",
        )
    return target


# --- purge: what it will delete ----------------------------------------------------------------


def _is_link(st: os.stat_result) -> bool:
    return stat.S_ISLNK(st.st_mode) or getattr(st, "st_reparse_tag", 0) in _LINK_TAGS


def _is_dir(st: os.stat_result) -> bool:
    return stat.S_ISDIR(st.st_mode) and not _is_link(st)


def _mount_points_inside(folder: Path) -> set[PurePath]:
    """Mount points strictly inside a folder (bind mounts too, which share a device number)."""
    import psutil

    root = _key(folder)
    found = set()
    with contextlib.suppress(OSError, RuntimeError):
        for part in psutil.disk_partitions(all=True):
            point = _key(Path(part.mountpoint))
            if root in point.parents:
                found.add(point)
    return found


def is_mount_point(folder: Path) -> bool:
    import psutil

    if os.path.ismount(folder):
        return True
    key = _key(folder)
    with contextlib.suppress(OSError, RuntimeError):
        return any(_key(Path(p.mountpoint)) == key for p in psutil.disk_partitions(all=True))
    return False


@dataclass
class PurgePlan:
    """What `delete --purge` will remove: computed before asking, never deletes anything."""

    folder: Path
    exists: bool = False
    link_target: str | None = None  # the folder is a symlink: only the link goes
    mount_point: bool = False  # the folder is a mount point: its files go, the folder stays
    files: int = 0  # everything that is not a folder, links included
    folders: int = 0
    size_bytes: int = 0
    links: int = 0  # symlinks inside: removed as links, their targets stay
    entries: list[str] = field(default_factory=list)  # top-level names, sorted
    kept: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "exists": self.exists,
            "symlink_to": self.link_target,
            "mount_point": self.mount_point,
            "files": self.files,
            "folders": self.folders,
            "size_bytes": self.size_bytes,
            "links": self.links,
            "entries": self.entries[:SHOWN_ENTRIES],
            "entry_count": len(self.entries),
            "kept": self.kept,
        }


def plan_purge(folder: Path) -> PurgePlan:
    """Walk the folder as the purge will (no links followed, no other file system entered)."""
    plan = PurgePlan(folder)
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return plan
    plan.exists = True
    if _is_link(st):
        plan.link_target = os.readlink(folder)
        return plan
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafePathError(f"{folder} is not a folder")
    plan.mount_point = is_mount_point(folder)
    real = _resolve_quietly(folder)
    mounts = _mount_points_inside(real)
    todo = [real]
    while todo:
        current = todo.pop()
        try:
            with os.scandir(current) as scan:
                entries = list(scan)
        except OSError as exc:
            plan.kept.append({"path": str(current), "reason": f"cannot be read: {exc.strerror}"})
            continue
        for entry in entries:
            if current == real:
                plan.entries.append(
                    entry.name + ("/" if entry.is_dir(follow_symlinks=False) else "")
                )
            try:
                st_child = entry.stat(follow_symlinks=False)
            except OSError as exc:
                plan.kept.append({"path": entry.path, "reason": f"cannot be read: {exc.strerror}"})
                continue
            child = Path(entry.path)
            if _is_dir(st_child):
                if st_child.st_dev != st.st_dev or _key(child) in mounts:
                    plan.kept.append({"path": str(child), "reason": "another file system"})
                    continue
                plan.folders += 1
                todo.append(child)
                continue
            plan.files += 1
            if _is_link(st_child):
                plan.links += 1
            elif stat.S_ISREG(st_child.st_mode):
                plan.size_bytes += st_child.st_size
    plan.entries.sort()
    return plan


# --- purge: moving aside, putting back, removing -----------------------------------------------


@dataclass
class Aside:
    """A server's folder moved out of the way: renamed beside itself, or, when the folder is a
    mount point (which cannot be renamed), its entries moved into a trash folder inside it."""

    folder: Path
    trash: Path
    inner: bool = False
    moved: list[str] = field(default_factory=list)  # inner: the names moved into the trash


def move_aside(folder: Path) -> Aside | None:
    """Take the folder out of the way in one step that ``put_back`` can undo; None when there
    is nothing at that path. Nothing is deleted here."""
    if not os.path.lexists(folder):
        return None
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if os.path.islink(folder) or not is_mount_point(folder):
        aside = Aside(folder, folder.with_name(f".{folder.name}{TRASH_MARK}{token}"))
        os.rename(folder, aside.trash)
        return aside
    aside = Aside(folder, folder / f"{TRASH_MARK}{token}", inner=True)
    mounts = _mount_points_inside(_resolve_quietly(folder))
    device = os.lstat(folder).st_dev
    os.mkdir(aside.trash)
    try:
        for name in sorted(os.listdir(folder)):
            path = folder / name
            st = os.lstat(path)
            other_system = _is_dir(st) and (
                st.st_dev != device or _key(_resolve_quietly(path)) in mounts
            )
            if path == aside.trash or other_system:
                continue  # another file system: it stays where it is
            os.rename(path, aside.trash / name)
            aside.moved.append(name)
    except BaseException:
        put_back(aside)
        raise
    return aside


def put_back(aside: Aside) -> None:
    """Undo ``move_aside``: the folder is as it was."""
    if not aside.inner:
        os.rename(aside.trash, aside.folder)
        return
    for name in reversed(aside.moved):
        os.rename(aside.trash / name, aside.folder / name)
    aside.moved.clear()
    os.rmdir(aside.trash)


@dataclass
class PurgeResult:
    """What a purge removed and what it left where it was."""

    folder: Path | None
    existed: bool = False  # something was at the folder's path (and was moved aside)
    files: int = 0
    folders: int = 0
    size_bytes: int = 0
    link_only: bool = False
    folder_kept: bool = False  # a mount point: its files went, the folder itself stays
    kept: list[dict[str, str]] = field(default_factory=list)
    left_at: Path | None = None  # where what was kept now is, when not at the folder's path

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder) if self.folder else None,
            "existed": self.existed,
            "files_deleted": self.files,
            "folders_deleted": self.folders,
            "bytes_deleted": self.size_bytes,
            "link_only": self.link_only,
            "folder_kept": self.folder_kept,
            "kept": self.kept,
            "left_at": str(self.left_at) if self.left_at else None,
        }


def remove_aside(aside: Aside) -> PurgeResult:
    """Delete what ``move_aside`` took out of the way: never through a link, never into another
    file system. What cannot be deleted is reported in ``kept``; it never raises for that."""
    result = PurgeResult(aside.folder, existed=True, folder_kept=aside.inner)
    trash = aside.trash
    st = os.lstat(trash)
    if _is_link(st) or not stat.S_ISDIR(st.st_mode):
        os.unlink(trash)
        result.link_only = _is_link(st)
        result.files = 0 if result.link_only else 1
        return result
    real = _resolve_quietly(trash)
    mounts = _mount_points_inside(real)
    try:
        _Remover(result, st.st_dev, mounts, real, aside).run(trash, st)
    except OSError as exc:  # the folder itself could not be opened: it stays, moved aside
        result.kept.append({"path": str(trash), "reason": f"could not be deleted: {exc}"})
        result.left_at = trash
    return result


class _Remover:
    def __init__(
        self,
        result: PurgeResult,
        device: int,
        mounts: set[PurePath],
        real_root: Path,
        aside: Aside,
    ) -> None:
        self.result = result
        self.device = device
        self.mounts = mounts
        self.real_root = real_root
        self.aside = aside

    def _shown(self, relative: PurePath) -> str:
        """Paths are reported where the user knows them: under the server's folder."""
        return str(self.aside.folder / relative) if str(relative) != "." else str(self.aside.folder)

    def _keep(self, relative: PurePath, reason: str) -> None:
        self.result.kept.append({"path": self._shown(relative), "reason": reason})

    def run(self, trash: Path, st: os.stat_result) -> None:
        if _FD_REMOVAL:
            fd = os.open(trash, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                if not os.path.samestat(st, os.fstat(fd)):
                    raise OSError(f"{trash} changed while it was being deleted")
                empty = self._clear(fd, PurePath("."))
            finally:
                os.close(fd)
        else:
            empty = self._clear(str(trash), PurePath("."))
        if empty:
            try:
                os.rmdir(trash)
                return
            except OSError as exc:
                self._keep(PurePath("."), f"could not be deleted: {exc.strerror or exc}")
        if self.aside.inner:
            return  # the folder itself stays anyway (a mount point)
        # Something stays (another file system, a file that could not go): put it back where the
        # user knows it, unless that name is taken again by now.
        try:
            if os.path.lexists(self.aside.folder):
                raise FileExistsError
            os.rename(trash, self.aside.folder)
        except OSError:
            self.result.left_at = trash

    def _clear(self, where: int | str, relative: PurePath) -> bool:
        """Delete everything inside one folder (an open descriptor, or a path); True when it is
        empty afterwards."""
        use_fd = isinstance(where, int)
        empty = True
        with os.scandir(where) as scan:
            entries = list(scan)
        for entry in entries:
            rel = relative / entry.name
            target = entry.name if use_fd else entry.path
            at: dict[str, Any] = {"dir_fd": where} if use_fd else {}
            try:
                st = entry.stat(follow_symlinks=False)
                if _is_dir(st):
                    if st.st_dev != self.device or _key(self.real_root / rel) in self.mounts:
                        self._keep(rel, "another file system")
                        empty = False
                        continue
                    if not self._clear_folder(target, st, rel, at):
                        empty = False
                        continue
                    os.rmdir(target, **at)
                    self.result.folders += 1
                    continue
                self._unlink(target, at)
                self.result.files += 1
                if stat.S_ISREG(st.st_mode):
                    self.result.size_bytes += st.st_size
            except OSError as exc:
                self._keep(rel, f"could not be deleted: {exc.strerror or exc}")
                empty = False
        return empty

    def _clear_folder(
        self, target: str, st: os.stat_result, rel: PurePath, at: dict[str, Any]
    ) -> bool:
        if not at:
            return self._clear(target, rel)
        fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, **at)
        try:
            if not os.path.samestat(st, os.fstat(fd)):
                raise OSError(f"{target} changed while it was being deleted")
            return self._clear(fd, rel)
        finally:
            os.close(fd)

    @staticmethod
    def _unlink(target: str, at: dict[str, Any]) -> None:
        try:
            os.unlink(target, **at)
        except PermissionError:
            if os.name != "nt":
                raise
            os.chmod(target, stat.S_IWRITE)  # a read-only file on Windows
            os.unlink(target)
