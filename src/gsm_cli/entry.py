"""The ``gsm`` program's entry point: as small as a Python program can start.

``gsm --version`` is answered here, with nothing but the standard library, and so are the
completion scripts' look-ups (``gsm __complete``, gsm_cli.completion); a read command
that the fast path can answer exactly (gsm_cli.fastpath) is answered by it; everything else
goes to the full application (gsm_cli.app: Typer, Rich, SQLAlchemy), imported only then.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import sys
import threading

from gsm_cli import __version__

TYPE_CHECKING = False  # typing's, without importing typing (it is on every gsm's path)
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import NoReturn


def main() -> NoReturn:
    """Console-script entry point (``gsm``, ``python -m gsm_cli``)."""
    args = sys.argv[1:]
    if args == ["--version"]:
        _answer(f"gsm {__version__}\n")
    try:
        if args[:1] == ["__complete"]:  # the shells' look-ups: names, or nothing
            from gsm_cli import completion

            _answer(completion.answer(args[1:]))
        from gsm_cli import fastpath

        answer = fastpath.answer(args)
    except KeyboardInterrupt:  # as the full application does: a note and exit 130, no traceback
        with reader_may_be_gone():
            sys.stderr.write("interrupted\n")
        leave(130)
    if answer is not None:
        _answer(answer)
    from gsm_cli import app

    app.main()
    raise AssertionError("app.main() returns only by exiting")  # pragma: no cover


def _answer(text: str) -> NoReturn:
    """Print ``text`` on stdout and end with exit 0; a reader who closed the pipe early
    (``gsm --version | true``) is no error, as in the full application."""
    with reader_may_be_gone():
        sys.stdout.write(text)
    leave(0)


def leave(code: object) -> NoReturn:
    """End the process once gsm's work is done, without the interpreter tearing down every
    module one by one: with SQLAlchemy and httpx loaded that alone takes about 0.2 s.

    Every write gsm makes is already closed or committed by now (files through ``with``, the
    store by its context manager), the standard streams are flushed here and the atexit
    functions (logging's flush, temporary folders' clean-up) run first. While another thread
    is still running, or for an exit that is not a plain code, Python exits the usual way."""
    if threading.active_count() > 1 or not (code is None or isinstance(code, int)):
        raise SystemExit(code)
    atexit._run_exitfuncs()
    with reader_may_be_gone():
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code or 0)


@contextlib.contextmanager
def reader_may_be_gone() -> Iterator[None]:
    """Write to stdout or stderr where the reader may have left: a closed pipe ends the
    writing quietly, and the exit code stays what it was."""
    try:
        yield
    except BrokenPipeError:
        silence_closed_pipes()


def silence_closed_pipes() -> None:
    """After the reader of stdout (or stderr) went away, send what is left to the null device,
    so that nothing more fails: neither a later write nor Python's own flush at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            fd = stream.fileno()
            if stream is sys.stdout or _is_closed_pipe(fd):
                os.dup2(devnull, fd)
    os.close(devnull)


def _is_closed_pipe(fd: int) -> bool:
    """Is fd a pipe whose reader has gone (POSIX); elsewhere, assume so."""
    try:
        import select

        poller = select.poll()
    except (ImportError, AttributeError):  # Windows: no poll()
        return True
    poller.register(fd, select.POLLOUT)
    return any(event & select.POLLERR for _fd, event in poller.poll(0))
