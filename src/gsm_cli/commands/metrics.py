"""gsm metrics: show, chart, export and prune servers' performance history (docs/metrics.md).

The queries live in services/metrics.py; this module parses options and renders.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, OutputOption, open_store, output_format
from gsm_cli.errors import InvalidInputError
from gsm_cli.output import Column

app = typer.Typer(
    help="Show, chart, export and prune servers' performance history.",
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
        str | None, typer.Argument(metavar="[SERVER]", help="Server name or id; or use --all.")
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
