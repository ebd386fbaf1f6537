"""The one place that renders what gsm prints: tables, JSON, CSV, messages and errors.

Data goes to stdout; messages, warnings and errors go to stderr.

Text that can come from outside gsm (the cloud, a game's console, a file name) is printed
through ``clean``: terminal escape sequences and control characters never reach a terminal.
JSON stays exact: ``json.dumps`` writes every control character as a ``\\uXXXX`` escape.
"""

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gsm_cli import environment
from gsm_cli.errors import GsmError, InvalidInputError

FORMATS = ("table", "json", "csv")
Record = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    key: str
    header: str | None = None

    @property
    def title(self) -> str:
        return self.header or self.key.replace("_", " ").upper()


def check_format(value: str, source: str, allowed: tuple[str, ...] = FORMATS) -> str:
    """``value`` as one of ``allowed`` (any case, spaces trimmed); else exit 4 bad_format."""
    fmt = value.strip().lower()
    if fmt not in allowed:
        raise InvalidInputError(
            f"invalid value {value!r} {source}: expected one of {', '.join(allowed)}",
            code="bad_format",
        )
    return fmt


# ECMA-48 escape sequences, 7-bit and 8-bit: CSI (colours, cursor moves, clearing the
# screen); OSC, DCS, SOS, PM and APC strings (window titles, hyperlinks, clipboard writes),
# which run to BEL or ST (or to the end of the text, as a terminal would swallow it); then any
# other ESC sequence, and a lone ESC.
_ESCAPE_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [0-?]* [ -/]* [@-~]
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|\Z)
    | \x1b [ -/]* [0-~]
    | \x1b
    """,
    re.VERBOSE | re.DOTALL,
)
# What is left of C0 (but tab and newline), DEL and C1: bells, backspaces, carriage returns.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Text safe for a terminal: escape sequences and control characters removed, except tab
    and newline."""
    if text.isprintable():  # the common case: nothing to remove
        return text
    return _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", text))


def _cell(value: Any) -> str:
    """A value as a table shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)  # control characters come out as \u escapes
    return clean(str(value))


def _csv_cell(value: Any) -> str:
    """A value as CSV carries it: text as it is (cleaned), anything else as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return clean(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _keys(rows: Sequence[Record]) -> list[str]:
    """Every key of the records, in the order they first appear: the CSV header."""
    return list(dict.fromkeys(key for row in rows for key in row))


def _rich_text(renderable: Any) -> str:
    """A table as stdout shows it: on a terminal (with colour), what Rich writes to it, sized
    to it; elsewhere plain text, neither squeezed into 80 columns nor padded."""
    from rich.console import Console

    env = environment.current()
    if env.color_for(env.stdout):
        console = Console(file=env.stdout, highlight=False)
        with console.capture() as capture:  # the text Rich would write to the terminal
            console.print(renderable)
        return capture.get()
    # Off a terminal: no colour, no squeezing into 80 columns, no trailing padding.
    console = Console(width=400, no_color=True, highlight=False, force_terminal=False)
    with console.capture() as capture:
        console.print(renderable)
    return "\n".join(line.rstrip() for line in capture.get().splitlines()) + "\n"


def emit(data: Record | Sequence[Record], fmt: str, columns: Sequence[Column]) -> None:
    """Print a record or a list of records in the chosen format."""
    env = environment.current()
    if fmt in ("json", "csv") or not old_windows_console():
        env.stdout.write(render(data, fmt, columns))
    else:  # Rich writes to an old Windows console through its API, not escape sequences
        from rich.console import Console

        Console(file=env.stdout, highlight=False).print(_renderable(data, columns))
    env.stdout.flush()


def render(data: Record | Sequence[Record], fmt: str, columns: Sequence[Column]) -> str:
    """What ``emit`` prints, as text (the fast path, gsm_cli.fastpath, prints it itself)."""
    if fmt == "json":
        return json_text(data, terminal=environment.current().stdout_is_terminal)
    if fmt == "csv":
        # The same keys as JSON, in the same order; `columns` only choose what a table shows.
        rows = [data] if isinstance(data, Mapping) else data
        if not rows:
            return ""
        keys = _keys(rows)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([clean(key) for key in keys])
        writer.writerows([[_csv_cell(row.get(key)) for key in keys] for row in rows])
        return text.getvalue()
    return _rich_text(_renderable(data, columns))


def old_windows_console() -> bool:
    """Is stdout a Windows console without escape sequences, where Rich colours a table
    through the console's API (so ``render`` is not what ``emit`` shows)?"""
    env = environment.current()
    if os.name != "nt" or not env.color_for(env.stdout):
        return False
    from rich.console import Console

    return bool(Console(file=env.stdout).legacy_windows)


def _renderable(data: Record | Sequence[Record], columns: Sequence[Column]) -> Any:
    return _details(data, columns) if isinstance(data, Mapping) else _table(data, columns)


def json_text(data: Any, *, terminal: bool) -> str:
    """``data`` as ``emit`` prints it in JSON, with its newline: indented for a person at a
    terminal, compact for a pipe or a file (a script parses it either way, and 1,000 servers
    are a third smaller without the indentation)."""
    if terminal:
        return json.dumps(data, indent=2, default=str) + "\n"
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


def _table(rows: Sequence[Record], columns: Sequence[Column]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in columns:
        table.add_column(column.title, overflow="fold")
    for row in rows:
        # Text, not str: a value such as "[bold]" is shown as it is, never read as Rich markup.
        table.add_row(*(Text(_cell(row.get(c.key)) or "-") for c in columns))
    return table


def _details(record: Record, columns: Sequence[Column]) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for column in columns:
        table.add_row(Text(column.key), Text(_cell(record.get(column.key)) or "-"))
    return table


def emit_value(value: str | None) -> None:
    """A bare value for scripts (``gsm config get``): the value and a newline, nothing else."""
    env = environment.current()
    env.stdout.write(("" if value is None else clean(value)) + "\n")
    env.stdout.flush()


def emit_lines(lines: Iterable[str]) -> None:
    """Lines of text as they come (a server's console log), each shown at once."""
    env = environment.current()
    for line in lines:
        env.stdout.write(clean(line) + "\n")
        env.stdout.flush()


def emit_json_line(data: Record) -> None:
    """One JSON object on one line (JSON Lines), at once: a stream of frames for scripts."""
    env = environment.current()
    env.stdout.write(json.dumps(data, default=str) + "\n")
    env.stdout.flush()


class LiveTable:
    """A table redrawn in place on the terminal (stdout), with a title line above it.

    On exit, even by Ctrl-C, the last frame stays on the screen, below it the cursor is shown
    again: the terminal is left as it was found, with no alternate screen to come back from.
    """

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = columns
        self._live: Any = None

    def __enter__(self) -> "LiveTable":
        from rich.console import Console
        from rich.live import Live

        env = environment.current()
        console = Console(file=env.stdout, highlight=False, no_color=not env.color_for(env.stdout))
        self._live = Live(console=console, auto_refresh=False, transient=False)
        self._live.__enter__()
        return self

    def update(self, title: str, rows: Sequence[Record]) -> None:
        from rich.console import Group
        from rich.text import Text

        renderable = Group(Text(clean(title), style="bold"), _table(rows, self.columns))
        self._live.update(renderable, refresh=True)

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(*exc)


def age_text(seconds: int | None) -> str:
    """How old a cache is, for a note: "3 hours old", "less than a minute old"."""
    if seconds is None:
        return "of unknown age"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} old"
    return "less than a minute old"


def message(text: str) -> None:
    """A human note on stderr (what was done); never part of the data."""
    env = environment.current()
    env.stderr.write(clean(text) + "\n")
    env.stderr.flush()


def warning(text: str) -> None:
    message(f"warning: {text}")


def error(err: GsmError) -> None:
    env = environment.current()
    if env.output_format == "json":
        env.stderr.write(json.dumps({"error": err.to_dict()}) + "\n")
    else:
        env.stderr.write(f"error: {clean(err.message)}\n")
        if err.hint:
            env.stderr.write(f"hint: {clean(err.hint)}\n")
    env.stderr.flush()


class Progress:
    """A progress bar on stderr for long work; silent off a terminal and in CI.

    Services report through a plain callback (``report(done, total, label)``) so that they
    never depend on how, or whether, progress is shown.
    """

    def __init__(self, description: str, *, in_bytes: bool = False) -> None:
        self.description = description
        self.in_bytes = in_bytes
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> "Progress":
        env = environment.current()
        if env.animate:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._bar = RichProgress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                TaskProgressColumn(),
                DownloadColumn() if self.in_bytes else TextColumn(""),
                TimeRemainingColumn(),
                console=Console(file=env.stderr),
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(clean(self.description), total=None)
        return self

    def report(self, done: float, total: float | None = None, label: str | None = None) -> None:
        if self._bar is None:
            return
        fields: dict[str, Any] = {"completed": done, "total": total}
        if label:
            fields["description"] = clean(label)
        self._bar.update(self._task, **fields)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
