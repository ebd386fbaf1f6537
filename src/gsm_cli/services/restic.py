"""restic as a backup backend: the ``restic`` program run as a child process, its JSON read,
its failures turned into gsm errors with hints.

The repository comes from ``backup.repository`` (or RESTIC_REPOSITORY); its password from
restic's own RESTIC_PASSWORD / RESTIC_PASSWORD_FILE / RESTIC_PASSWORD_COMMAND, or from the
``backup.password_file`` setting, handed to restic as RESTIC_PASSWORD_FILE. The password only
ever travels in the child's environment or a file: never on a command line, in the store, in
a message or a log. Every other variable (AWS_*, B2_*, RESTIC_*...) is passed through as is.
"""

import contextlib
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gsm_cli.errors import (
    ConflictError,
    GsmError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)

log = logging.getLogger("gsm.restic")

Report = Callable[[int, int | None, str | None], None]  # as services/backups.py's

# In the order restic itself prefers them (a file or a command before the variable).
PASSWORD_VARS = ("RESTIC_PASSWORD_FILE", "RESTIC_PASSWORD_COMMAND", "RESTIC_PASSWORD")
TAG = "gsm"  # every snapshot gsm takes carries it, and a tag naming the server
INSTALL_HINT = "install restic (Debian/Ubuntu: apt install restic; others: https://restic.net)"
PASSWORD_HINT = (
    "set RESTIC_PASSWORD_FILE (or RESTIC_PASSWORD / RESTIC_PASSWORD_COMMAND), or "
    "`gsm config set backup.password_file FILE` (a file only you can read)"
)
# restic's backends other than a local folder ("local:" or a plain path) are named by a prefix.
REMOTE_PREFIXES = ("sftp:", "rest:", "s3:", "b2:", "azure:", "gs:", "swift:", "rclone:")
_USERINFO_PASSWORD = re.compile(r"(://[^/@:]*):[^/@]*@")


def server_tag(server_id: str) -> str:
    return f"gsm-server-{server_id}"


def redact(location: str) -> str:
    """The repository as it may be shown: a password inside a URL replaced by ***."""
    return _USERINFO_PASSWORD.sub(r"\1:***@", location)


def has_url_password(location: str) -> bool:
    return _USERINFO_PASSWORD.search(location) is not None


def is_local(location: str) -> bool:
    """Whether the repository is a folder on this machine ("local:PATH" or a plain path)."""
    if location.startswith("local:"):
        return True
    if re.match(r"^[A-Za-z]:[\\/]", location):  # a Windows drive, not a backend prefix
        return True
    return not location.startswith(REMOTE_PREFIXES)


def local_folder(location: str) -> Path:
    return Path(location.removeprefix("local:")).expanduser()


@dataclass(frozen=True)
class Repository:
    """A restic repository and the environment restic needs to open it."""

    location: str
    env: dict[str, str] = field(repr=False)  # holds the password source: never shown
    password_source: str = ""  # where the password comes from, by name only

    @property
    def display(self) -> str:
        return redact(self.location)


def check_password_file(path: Path, what: str) -> None:
    """The file must exist and, on POSIX, be readable by its owner only (like the token)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise NotFoundError(
            f"the restic password file {path} ({what}) does not exist",
            hint=PASSWORD_HINT,
            code="password_file_missing",
        ) from None
    except OSError as exc:
        raise NotAllowedError(
            f"cannot read the restic password file {path} ({what}): {exc.strerror or exc}",
            hint=PASSWORD_HINT,
            code="password_file_unsafe",
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise NotAllowedError(
            f"the restic password file {path} ({what}) is not a file", code="password_file_unsafe"
        )
    if os.name != "nt" and stat.S_IMODE(info.st_mode) & 0o077:
        raise NotAllowedError(
            f"the restic password file {path} ({what}) can be read by other users "
            f"(mode {stat.S_IMODE(info.st_mode):o})",
            hint=f"chmod 600 {path}",
            code="password_file_unsafe",
        )


def repository(
    location: str | None, password_file: str | None, env: Mapping[str, str]
) -> Repository:
    """The repository from the settings' values, with its password source checked.

    The environment's RESTIC_PASSWORD* win over ``backup.password_file``, as restic's own
    variables win over any configuration."""
    if not location:
        raise InvalidInputError(
            "backup.backend is restic but no repository is configured",
            hint="gsm config set backup.repository PATH-OR-URL (or set RESTIC_REPOSITORY)",
            code="restic_not_configured",
        )
    child = {k: v for k, v in env.items() if k != "GSM_TOKEN"}  # gsm's secret is not restic's
    child["RESTIC_REPOSITORY"] = location
    child.pop("RESTIC_REPOSITORY_FILE", None)  # the location above is the one in force
    child.setdefault("RESTIC_PROGRESS_FPS", "4")  # status lines off a terminal too
    source = next((name for name in PASSWORD_VARS if env.get(name)), None)
    if source == "RESTIC_PASSWORD_FILE":
        path = Path(env[source]).expanduser()
        check_password_file(path, "RESTIC_PASSWORD_FILE")
        child[source] = str(path)
    elif source is None and password_file:
        path = Path(password_file).expanduser()
        check_password_file(path, "backup.password_file")
        child["RESTIC_PASSWORD_FILE"] = str(path)
        source = "backup.password_file"
    elif source is None:
        raise InvalidInputError(
            f"no password for the restic repository {redact(location)}",
            hint=PASSWORD_HINT,
            code="restic_not_configured",
        )
    return Repository(location, child, source)


def find_binary(env: Mapping[str, str]) -> str:
    found = shutil.which("restic", path=env.get("PATH"))
    if found is None:
        raise NotFoundError(
            "restic is not installed (not on PATH)", hint=INSTALL_HINT, code="restic_not_found"
        )
    return found


# --- running restic ---------------------------------------------------------------------------


class ResticError(GsmError):
    """restic ran and failed for a reason gsm does not know better (exit 1)."""

    code = "restic_failed"


def _fatal(stderr: str) -> str:
    """restic's own explanation: its "Fatal: ..." line, else its last line of output."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Fatal:"):
            return line.removeprefix("Fatal:").strip()
    return lines[-1] if lines else "no message"


def _error(repo: Repository, args: Sequence[str], returncode: int, stderr: str) -> GsmError:
    log.debug("restic %s exited %s: %s", args[0], returncode, redact(stderr.strip()))
    reason = _fatal(stderr)
    low = stderr.lower()
    where = repo.display
    if "wrong password" in low or "no key found" in low:
        return NotAllowedError(
            f"wrong password for the restic repository {where}",
            hint=PASSWORD_HINT,
            code="restic_wrong_password",
        )
    if "is there a repository at the following location" in low or (
        "unable to open config file" in low
    ):
        hint = f"create it with `restic init` (RESTIC_REPOSITORY={where}, same password)"
        return NotFoundError(
            f"there is no restic repository at {where}", hint=hint, code="restic_no_repository"
        )
    if "repository is already locked" in low or "unable to create lock" in low:
        return ConflictError(
            f"the restic repository {where} is locked by another restic process",
            hint="wait for it to finish; if none runs any more, run `restic unlock`",
            code="restic_locked",
        )
    if "no matching id found" in low or "no snapshot found" in low:
        return NotFoundError(
            f"the restic repository {where} has no such snapshot ({reason})",
            code="restic_snapshot_missing",
        )
    return ResticError(
        f"restic {args[0]} failed (exit {returncode}): {redact(reason)}",
        hint="`gsm doctor` checks restic and the repository; --debug shows restic's output",
    )


def _command(repo: Repository, args: Sequence[str]) -> list[str]:
    return [find_binary(repo.env), *args]


def run(
    repo: Repository,
    args: Sequence[str],
    *,
    timeout: float | None = None,
) -> str:
    """Run ``restic ARGS`` against ``repo``; its standard output, or a mapped error."""
    try:
        done = subprocess.run(
            _command(repo, args),
            env=repo.env,
            stdin=subprocess.DEVNULL,  # never a password prompt
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResticError(
            f"restic {args[0]} did not answer within {timeout:g} s ({repo.display})",
            hint="check that the repository's host is reachable",
            code="restic_timeout",
        ) from None
    if done.returncode != 0:
        raise _error(repo, args, done.returncode, done.stderr)
    return done.stdout


def _json_lines(stream: Iterator[str]) -> Iterator[dict[str, Any]]:
    for line in stream:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict):
            yield message


def version(env: Mapping[str, str], timeout: float = 15) -> str:
    """restic's version line ("restic 0.14.0 compiled with ...")."""
    try:
        done = subprocess.run(
            [find_binary(env), "version"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ResticError(f"restic does not run: {exc}", hint=INSTALL_HINT) from None
    if done.returncode != 0:
        raise ResticError(f"restic does not run: {_fatal(done.stderr)}", hint=INSTALL_HINT)
    return done.stdout.strip()


def check_open(repo: Repository, timeout: float | None = None) -> None:
    """Open the repository (reads and decrypts its config): raises when it cannot."""
    run(repo, ["cat", "config"], timeout=timeout)


def init_local(repo: Repository) -> bool:
    """Create the repository when it is a local folder that is missing or empty; True when
    created. Anything else (a remote, a folder with files) is left to the operator."""
    if not is_local(repo.location):
        return False
    folder = local_folder(repo.location)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        return False
    run(repo, ["init"])
    return True


# --- snapshots --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    id: str  # the full id (64 hex digits)
    size_bytes: int  # bytes of the files in the snapshot (restic's total_bytes_processed)
    added_bytes: int  # bytes the repository grew by (after deduplication)


def backup(
    repo: Repository,
    folder: Path,
    *,
    tags: Sequence[str],
    excludes: Sequence[str],
    report: Report | None = None,
    label: str = "",
) -> Snapshot:
    """``restic backup FOLDER``, its JSON progress passed to ``report``.

    A backup that could not read every file (restic's exit 3) is not a backup gsm keeps: its
    snapshot is forgotten and ConflictError raised, as an archive that cannot be written whole
    is not kept."""
    args = ["backup", "--json", *(f"--tag={t}" for t in tags)]
    args += [f"--exclude={pattern}" for pattern in excludes]
    args.append(str(folder))
    with subprocess.Popen(
        _command(repo, args),
        env=repo.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    ) as child:
        assert child.stdout is not None and child.stderr is not None
        # stderr is read by a thread so that a chatty restic never blocks on a full pipe.
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True)
        reader.start()
        summary: dict[str, Any] | None = None
        unreadable: list[str] = []
        if report is not None:
            report(0, None, label)
        try:
            for message in _json_lines(child.stdout):
                kind = message.get("message_type")
                if kind == "status" and report is not None:
                    total = message.get("total_bytes")
                    report(int(message.get("bytes_done", 0)), int(total) if total else None, label)
                elif kind == "error":
                    unreadable.append(str(message.get("item") or message.get("error")))
                elif kind == "summary":
                    summary = message
        except BaseException:
            child.terminate()
            raise
        returncode = child.wait()
        reader.join()
    stderr = "".join(errors)
    if returncode == 3 and summary is not None and summary.get("snapshot_id"):
        forget_quietly(repo, str(summary["snapshot_id"]))
        first = unreadable[0] if unreadable else _fatal(stderr)
        raise ConflictError(
            f"restic could not read every file of {folder} ({first})",
            hint="stop the server, then back it up again",
            code="restic_incomplete",
        )
    if returncode != 0 or summary is None or not summary.get("snapshot_id"):
        raise _error(repo, args, returncode, stderr)
    total = int(summary.get("total_bytes_processed") or 0)
    if report is not None:
        report(total, total, label)
    full_id = snapshot_info(repo, str(summary["snapshot_id"]))["id"]
    return Snapshot(str(full_id), total, int(summary.get("data_added") or 0))


def snapshot_info(repo: Repository, snapshot_id: str) -> dict[str, Any]:
    """restic's record of one snapshot (id, time, paths, tags...), or NotFoundError."""
    out = run(repo, ["snapshots", "--json", snapshot_id])
    try:
        found = json.loads(out or "[]")
    except ValueError:
        found = []
    if not found:
        raise NotFoundError(
            f"the restic repository {repo.display} has no snapshot {snapshot_id[:8]}",
            code="restic_snapshot_missing",
        )
    info: dict[str, Any] = found[0]
    return info


def forget_old(
    repo: Repository, *, tags: Sequence[str], keep_last: int, keep_daily: int | None = None
) -> list[str]:
    """Forget the snapshots carrying all of ``tags`` beyond the policy, then prune; the full
    ids of the snapshots forgotten. Snapshots without those tags are never considered."""
    args = ["forget", "--json", f"--tag={','.join(tags)}", "--group-by=tags"]
    args.append(f"--keep-last={keep_last}")
    if keep_daily:
        args.append(f"--keep-daily={keep_daily}")
    out = run(repo, args)
    removed: list[str] = []
    for line in out.splitlines():
        if not line.startswith("["):
            continue
        try:
            groups = json.loads(line)
        except ValueError:
            continue
        for group in groups or []:
            removed.extend(str(s["id"]) for s in group.get("remove") or [])
    if removed:
        run(repo, ["prune"])
    return removed


def forget(repo: Repository, snapshot_ids: Sequence[str], *, prune: bool = True) -> None:
    run(repo, ["forget", *snapshot_ids])
    if prune:
        run(repo, ["prune"])


def forget_quietly(repo: Repository, snapshot_id: str) -> None:
    """Best effort, for clean-ups on a path that is already failing."""
    with contextlib.suppress(GsmError):
        forget(repo, [snapshot_id], prune=False)


def restore(repo: Repository, snapshot_id: str, source: str, target: Path) -> Path:
    """Restore a snapshot of the one folder ``source`` (its path as recorded in the snapshot)
    under ``target``; the folder in ``target`` that holds its contents."""
    run(repo, ["restore", snapshot_id, f"--target={target}"])
    relative = source.replace("\\", "/").lstrip("/")
    if re.match(r"^[A-Za-z]:", relative):  # restic restores C:\x as C/x under the target
        relative = relative[0] + relative[2:]
    return target.joinpath(*[p for p in relative.split("/") if p])
