"""The local control channel between gsm and a server's supervisor.

The supervisor listens on 127.0.0.1 on a port of its own choosing and writes that port and a
random token to its state file (owner-only). A request is one JSON line and so is the answer.
"""

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gsm_cli.errors import ConflictError, GsmError
from gsm_cli.paths import Paths

# How often gsm and the supervisor look again while they wait for a process or a file.
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class RuntimeFiles:
    state: Path  # the supervisor's port and token
    lock: Path  # held by the supervisor while it lives
    console_log: Path
    supervisor_log: Path
    freeze_count: Path  # failed queries in a row, kept by `gsm server monitor` between runs


def files(paths: Paths, server_id: str) -> RuntimeFiles:
    run = paths.data_dir / "run"
    logs = paths.log_dir / "servers" / server_id
    return RuntimeFiles(
        state=run / f"{server_id}.json",
        lock=run / f"{server_id}.lock",
        console_log=logs / "console.log",
        supervisor_log=logs / "supervisor.log",
        freeze_count=run / f"{server_id}.freeze-count",
    )


@dataclass(frozen=True)
class SupervisorState:
    pid: int
    create_time: float
    port: int
    token: str
    server_id: str
    # False for a supervisor that attached to a game left running by a supervisor that died:
    # the game's console (stdin and output) went with the old one.
    console: bool = True

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(self), fh)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> "SupervisorState | None":
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def request(state: SupervisorState, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one request to a supervisor and return its answer."""
    payload = json.dumps({**message, "token": state.token}).encode() + b"\n"
    try:
        with socket.create_connection(("127.0.0.1", state.port), timeout=timeout) as sock:
            sock.sendall(payload)
            answer = read_line(sock)
    except OSError as exc:
        raise ConflictError(
            f"the server's supervisor did not answer ({exc})", code="supervisor_unreachable"
        ) from None
    reply = json.loads(answer)
    if not reply.get("ok"):
        raise GsmError(reply.get("error", "the supervisor refused the request"))
    return reply


def read_line(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    chunks = bytearray()
    while not chunks.endswith(b"\n"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        chunks += chunk
        if len(chunks) > limit:
            raise OSError("message too long")
    return bytes(chunks)
