"""Where gsm reads and writes, and how it should behave there (terminal, CI, colour).

One ``Environment`` per invocation, like httpie's: commands and the error boundary read it,
tests replace it.
"""

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO


def _is_tty(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


@dataclass
class Environment:
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    vars: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    debug: bool = False
    verbose: bool = False
    # The output format the running command settled on; errors follow it (JSON errors in JSON mode).
    output_format: str | None = None

    @property
    def in_ci(self) -> bool:
        return self.vars.get("CI", "").lower() not in ("", "0", "false", "no")

    @property
    def interactive(self) -> bool:
        """May we prompt? Only on a real terminal and never in CI."""
        return _is_tty(self.stdin) and _is_tty(self.stderr) and not self.in_ci

    def color_for(self, stream: TextIO) -> bool:
        if "NO_COLOR" in self.vars or self.in_ci:
            return False
        return _is_tty(stream)

    @property
    def stdout_is_terminal(self) -> bool:
        """Is a person reading stdout (not a pipe or a file)? Live displays need one."""
        return _is_tty(self.stdout)

    @property
    def animate(self) -> bool:
        """Spinners and live progress bars: terminal only, never in CI."""
        return _is_tty(self.stderr) and not self.in_ci


_current: Environment | None = None


def current() -> Environment:
    global _current
    if _current is None:
        _current = Environment()
    return _current


def reset(env: Environment | None = None) -> Environment:
    """Start a fresh environment for one invocation (CliRunner swaps sys streams per call)."""
    global _current
    _current = env or Environment()
    return _current
