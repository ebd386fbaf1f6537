"""gsm revenue: what the logged-in account earned through gsm-cloud (docs/payments.md).

The command stays thin: the report and its checks live in services/revenue.py.
"""

from typing import Annotated

import typer

from gsm_cli import output
from gsm_cli.commands._common import JsonOption, OutputOption, one_of, output_format
from gsm_cli.output import Column

app = typer.Typer(
    help="What you earned as a plugin developer or community owner.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def revenue() -> None:
    """What you earned as a plugin developer or community owner."""
    # A callback keeps `revenue` a group, so that `report` stays a sub-command of it.


def _grouping(param: typer.CallbackParam, value: str | None) -> str | None:
    from gsm_cli.services.revenue import GROUPINGS

    return one_of(GROUPINGS)(param, value)


@app.command("report")
def report(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="From this time: a duration back from now (30d, 12h) or an ISO date or time.",
            show_default=False,
        ),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            metavar="WHEN",
            help="Up to this time (same forms as --since; default now).",
            show_default=False,
        ),
    ] = None,
    by: Annotated[
        str,
        typer.Option(
            "--by",
            metavar="plugin|community|month",
            help="One row per plugin, per community or per month (and currency).",
            callback=_grouping,
        ),
    ] = "plugin",
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Confirmed purchases of your plugins and donations to your communities, per currency."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import revenue

    fmt = output_format(output_, json_)
    with open_store() as store:
        data = revenue.report(
            store, paths(), environment.current().vars, since=since, until=until, by=by
        )
    columns = (
        Column("label", by.upper()),
        Column("currency"),
        Column("count"),
        Column("total"),
    )
    if fmt != "table":
        output.emit(data if fmt == "json" else data["rows"], fmt, columns)
        return
    period = f"from {data['since'] or 'the start'} to {data['until'] or 'now'}"
    if not data["rows"]:
        output.message(f"no revenue {period}: nothing was bought from or donated to you")
        return
    output.message(f"revenue by {by}, {period}")
    # One table per currency, its total last: sums of different currencies never meet.
    for total in data["totals"]:
        rows = [
            {**row, "label": row["label"] or row["key"]}
            for row in data["rows"]
            if row["currency"] == total["currency"]
        ]
        rows.append({"label": "total", **total})
        output.emit(rows, fmt, columns)
