"""gsm metrics: collect, show, chart, watch, export and prune servers' performance history
(docs/metrics.md).

The queries live in services/metrics.py, sampling on demand in services/sampling.py, the live
view in services/watch.py; this module parses options and renders.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, OutputOption, open_store, output_format, paths
from gsm_cli.errors import InvalidInputError
from gsm_cli.output import Column

app = typer.Typer(
    help="Collect, show, chart, watch, export and prune servers' performance history.",
    no_args_is_help=True,
    add_completion=False,
)

SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="WHEN",
        help="Start: a duration back from now (90s, 30m, 24h, 7d, 2w) or an ISO date/time.",
        show_default=False,
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        metavar="WHEN",
        help="End, in the same forms as --since (default: now).",
        show_default=False,
    ),
]
STAT_COLUMNS = (
    Column("metric"),
    Column("unit"),
    Column("min"),
    Column("avg"),
    Column("p95"),
    Column("max"),
)
PRUNE_COLUMNS = (Column("deleted"), Column("older_than"), Column("hourly_averages"))
EXPORT_FORMATS = ("csv", "json")
CHART_WIDTH = 40
BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None]) -> str:
    """One block character per value, scaled between the values' min and max; a space where
    there is no value."""
    present = [v for v in values if v is not None]
    if not present:
        return " " * len(values)
    low, high = min(present), max(present)
    span = high - low
    top = len(BLOCKS) - 1
    return "".join(
        " " if v is None else BLOCKS[round((v - low) / span * top) if span else top // 2]
        for v in values
    )


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:g}" if isinstance(value, float) else str(value)


@app.command("show")
def show(
    server: Annotated[str, typer.Argument(metavar="SERVER", help="Server name or id.")],
    since: SinceOption = None,
    until: UntilOption = None,
    output_: OutputOption = None,
    json_: JsonOption = False,
) -> None:
    """Samples, min, average, p95 and max of CPU, memory, latency and players, with charts."""
    from gsm_cli.services import metrics

    fmt = output_format(output_, json_)
    now = metrics.now()
    start, end = metrics.time_range(since, until, now, default_since="24h")
    assert start is not None
    end = end or now
    with open_store() as store:
        data = metrics.summary(store, server, start, end)
        chart = metrics.series(store, server, start, end, CHART_WIDTH) if fmt == "table" else None
    if fmt == "json":
        output.emit(data, fmt, STAT_COLUMNS)
        return
    rows = [
        {"metric": column, "unit": metrics.UNITS[column], **data[column]}
        for column in metrics.COLUMNS
    ]
    if fmt == "csv":
        head = {k: data[k] for k in ("server", "since", "until", "samples")}
        output.emit([{**head, **row} for row in rows], fmt, STAT_COLUMNS)
        return
    if not data["samples"]:
        output.message(
            f"no samples for {data['server']} from {data['since']} to {data['until']}; "
            "samples are recorded while the server runs (metrics.interval)"
        )
        return
    output.emit_lines(
        [f"{data['server']}: {data['samples']} samples from {data['since']} to {data['until']}"]
    )
    output.emit(
        [{**row, **{k: _shown(row[k]) for k in ("min", "avg", "p95", "max")}} for row in rows],
        fmt,
        STAT_COLUMNS,
    )
    assert chart is not None
    lines = [f"averages over time, {chart.start} to {chart.end}:"]
    for column in metrics.COLUMNS:
        stats = data[column]
        if stats["max"] is None:
            lines.append(f"  {column:<16} (no values)")
            continue
        unit = metrics.UNITS[column]
        low, high = _shown(stats["min"]), _shown(stats["max"])
        lines.append(f"  {column:<16} {sparkline(chart.values[column])}  {low}..{high} {unit}")
    output.emit_lines(lines)


def _export_format(param: typer.CallbackParam, value: str) -> str:
    return output.check_format(value, "for --format", EXPORT_FORMATS)


@app.command("export")
def export(
    server: Annotated[
        str | None, typer.Argument(metavar="SERVER", help="Server name or id; or use --all.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every server's samples.")] = False,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            metavar="csv|json",
            help="csv (a header row), or json (one array, one sample object per line).",
            callback=_export_format,
        ),
    ] = "csv",
    since: SinceOption = None,
    until: UntilOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to FILE (replaced whole, atomically) instead of stdout.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Stream samples in time order, as CSV or JSON, to stdout or a file (constant memory)."""
    from gsm_cli.services import metrics

    if format_ == "json":
        environment.current().output_format = "json"
    if all_ == bool(server):
        raise InvalidInputError(
            "give a server SERVER or --all (not both)",
            hint="gsm metrics export SERVER --format csv, or gsm metrics export --all",
        )
    start, end = metrics.time_range(since, until, default_since=None)
    with open_store() as store:
        batches = metrics.export_batches(store, [server] if server else None, start, end)
        if out is None:
            count = metrics.write_rows(batches, format_, environment.current().stdout)
        else:
            count = metrics.export_to_file(batches, format_, out)
    if out is not None:
        output.message(f"exported {count} samples to {out}")


@app.command("prune")
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Delete samples older than this: 90s, 30m, 24h, 7d, 2w.",
        ),
    ],
    rollup: Annotated[
        bool,
        typer.Option(
            "--rollup",
            help="Keep one average per server and hour instead of deleting (docs/metrics.md).",
        ),
    ] = False,
    output_: OutputOption = None,
    json_: JsonOption = False,
) -> None:
    """Delete samples recorded before a cutoff (or roll them into hourly averages)."""
    from gsm_cli.services import metrics

    fmt = output_format(output_, json_)
    cutoff = metrics.now() - metrics.parse_duration(older_than, "--older-than")
    with open_store() as store:
        if rollup:
            rolled = metrics.rollup(store, cutoff)
            deleted, written = rolled.removed, rolled.written
        else:
            deleted, written = metrics.prune(store, cutoff), 0
    result = {"deleted": deleted, "older_than": metrics.iso(cutoff), "hourly_averages": written}
    if fmt == "table":
        if rollup:
            output.message(
                f"rolled {deleted} samples recorded before {result['older_than']} into "
                f"{written} hourly averages"
            )
        else:
            output.message(f"deleted {deleted} samples recorded before {result['older_than']}")
    else:
        output.emit(result, fmt, PRUNE_COLUMNS)


# -- collect and watch ---------------------------------------------------------------------

ServersArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="SERVER", help="Server names or ids; or use --all.", show_default=False),
]
AllOption = Annotated[bool, typer.Option("--all", help="Every server.")]
COLLECT_COLUMNS = (
    Column("server"),
    Column("recorded_at"),
    Column("cpu_usage", "CPU %"),
    Column("memory_usage", "MEMORY MB"),
    Column("player_count", "PLAYERS"),
    Column("network_latency", "LATENCY MS"),
    Column("query_error"),
)
WATCH_COLUMNS = (
    Column("server"),
    Column("status"),
    Column("cpu", "CPU %"),
    Column("memory", "MEMORY MB"),
    Column("players"),
    Column("latency", "LATENCY MS"),
    Column("uptime"),
    Column("history", "CPU, LAST HOUR"),
)


def _count(param: typer.CallbackParam, value: int | None, what: str) -> int | None:
    from gsm_cli.services import sampling

    if value is not None:
        sampling.check_count(value, what)
    return value


def _samples_count(param: typer.CallbackParam, value: int) -> int | None:
    return _count(param, value, "sample per server")


def _frames_count(param: typer.CallbackParam, value: int | None) -> int | None:
    return _count(param, value, "frame")


def _interval(param: typer.CallbackParam, value: float) -> float:
    from gsm_cli.services import sampling

    sampling.check_interval(value)
    return value


def _refresh(param: typer.CallbackParam, value: float) -> float:
    from gsm_cli.services import watch

    watch.check_refresh(value)
    return value


def _chosen(servers: list[str] | None, all_: bool, command: str) -> list[str] | None:
    """The servers named, or None for --all; exactly one of the two."""
    if all_ == bool(servers):
        raise InvalidInputError(
            "name one or more servers, or give --all (not both)",
            hint=f"gsm metrics {command} SERVER, or gsm metrics {command} --all",
        )
    return None if all_ else list(servers or [])


def _rounded_cell(value: float | None, digits: int = 1) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


@app.command("collect")
def collect(
    servers: ServersArgument = None,
    all_: AllOption = False,
    count: Annotated[
        int,
        typer.Option(
            "--count",
            metavar="N",
            help="Samples per server.",
            callback=_samples_count,
        ),
    ] = 1,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            metavar="SECONDS",
            help="Seconds between samples; the CPU is measured over each (the first too).",
            callback=_interval,
        ),
    ] = 1.0,
    output_: OutputOption = None,
    json_: JsonOption = False,
) -> None:
    """Sample running servers now, into their performance history (as the supervisor does)."""
    from gsm_cli.services import sampling

    fmt = output_format(output_, json_)
    names = _chosen(servers, all_, "collect")
    with open_store() as store, output.Progress("sampling") as progress:
        collection = sampling.collect(
            store, paths(), names, count=count, interval=interval, report=progress.report
        )
    rows = [sample.to_dict() for sample in collection.samples]
    skipped = [skip.to_dict() for skip in collection.skipped]
    if fmt != "table":
        output.emit(rows + skipped, fmt, COLLECT_COLUMNS)
        return
    for skip in collection.skipped:
        why = "its game ended" if skip.status == "ended" else f"not running ({skip.status})"
        output.message(f"skipped {skip.name}: {why}")
    if not rows:
        output.message("no server is running: nothing sampled")
        return
    output.emit(
        [
            {
                **row,
                "cpu_usage": _rounded_cell(row["cpu_usage"]),
                "memory_usage": _rounded_cell(row["memory_usage"]),
                "network_latency": _rounded_cell(row["network_latency"]),
            }
            for row in rows
        ],
        fmt,
        COLLECT_COLUMNS,
    )
    output.message(f"recorded {len(rows)} samples")


def _uptime(seconds: int | None) -> str | None:
    from gsm_cli.commands.server import _duration  # how `gsm server status` shows an uptime

    return None if seconds is None else _duration(seconds)


def _watch_rows(frame: dict[str, Any]) -> list[dict[str, Any]]:
    """A frame's servers as the dashboard shows them."""
    rows = []
    for server in frame["servers"]:
        players, slots = server["player_count"], server["max_players"]
        if players is None:
            shown_players = "?" if server["query_error"] else None
        else:
            shown_players = f"{players}/{slots}" if slots is not None else str(players)
        latency = _rounded_cell(server["network_latency"])
        rows.append(
            {
                "server": server["server"],
                "status": server["status"],
                "cpu": _rounded_cell(server["cpu_usage"]),
                "memory": _rounded_cell(server["memory_usage"]),
                "players": shown_players,
                "latency": latency if latency or not server["query_error"] else "no answer",
                "uptime": _uptime(server["uptime_seconds"]),
                "history": sparkline(server["cpu_history"]).rstrip() or None,
            }
        )
    return rows


def _show_live(frames: Iterable[dict[str, Any]], refresh: float) -> None:
    with output.LiveTable(WATCH_COLUMNS) as live:
        for frame in frames:
            title = (
                f"gsm metrics watch: {frame['at']}, every {refresh:g}s (Ctrl-C to quit)"
                if frame["servers"]
                else f"gsm metrics watch: {frame['at']}: no servers (Ctrl-C to quit)"
            )
            live.update(title, _watch_rows(frame))


@app.command("watch")
def watch(
    servers: ServersArgument = None,
    all_: AllOption = False,
    refresh: Annotated[
        float,
        typer.Option(
            "--refresh",
            metavar="SECONDS",
            help="Seconds between two redraws.",
            callback=_refresh,
        ),
    ] = 2.0,
    count: Annotated[
        int | None,
        typer.Option(
            "--count",
            metavar="N",
            help="Stop after N refreshes (default: until Ctrl-C).",
            show_default=False,
            callback=_frames_count,
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """A live dashboard of servers (JSON Lines off a terminal); it writes no samples."""
    from gsm_cli.services import watch as watching

    if json_:
        output_format(None, True)
    names = _chosen(servers, all_, "watch")
    env = environment.current()
    live = not json_ and env.stdout_is_terminal
    with open_store() as store:
        frames = watching.frames(store, paths(), names, refresh=refresh, count=count)
        try:
            if live:
                _show_live(frames, refresh)
            else:
                for frame in frames:
                    output.emit_json_line(frame)
        except KeyboardInterrupt:
            pass  # Ctrl-C is how a watch ends: exit 0, the last frame left on the screen
        finally:
            frames.close()
