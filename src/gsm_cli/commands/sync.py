"""gsm sync: push queued changes to gsm-cloud, pull others' changes, and deal with what the
cloud refused or what conflicts (docs/sync.md)."""

from typing import Annotated, Any

import typer

from gsm_cli import environment, output, views
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    YesOption,
    confirm,
    like_setting,
    one_of,
    open_store,
    output_format,
    paths,
)
from gsm_cli.errors import InvalidInputError
from gsm_cli.output import Column

app = typer.Typer(
    help="Push queued changes to gsm-cloud and pull others' changes.",
    no_args_is_help=True,
    add_completion=False,
)

OP_COLUMNS = (
    Column("operation_id"),
    Column("operation_type"),
    Column("entity_type"),
    Column("name"),
    Column("reason"),
)
CONFLICT_COLUMNS = (
    Column("entity_type"),
    Column("name"),
    Column("entity_id"),
    Column("cloud_operation"),
    Column("reason"),
    Column("detected_at"),
)

SKIPPED_COLUMNS = (Column("entity_type"), Column("entity_id"), Column("reason"))


def _counts(summary: dict[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{summary[k]} {k}" for k in keys)


@app.command()
def push(
    batch_size: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Operations per request, 1-1000 (default: the sync.batch_size setting).",
            callback=like_setting("sync.batch_size"),
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Only say what would be sent.")] = False,
    json_: JsonOption = False,
) -> None:
    """Send queued operations, oldest first, in batches; each leaves the queue once answered."""
    from gsm_cli.cloud import session
    from gsm_cli.services import device, settings, sync

    fmt = output_format(None, json_) if json_ else "table"
    env = environment.current()
    with open_store() as store:
        size = batch_size or int(settings.effective_value(store, "sync.batch_size", env.vars))
        if dry_run:
            plan = sync.dry_run(store, batch_size=size)
            output.message(
                f"would send {plan['would_send']} operation(s) in {plan['batches']} batch(es)"
            )
            if fmt == "json":
                output.emit(plan, "json", ())
            return
        with (
            session.connect(store, paths(), env.vars) as client,
            output.Progress("pushing") as progress,
        ):
            this = device.identity(store, env.vars)
            summary = sync.push(store, client, batch_size=size, report=progress.report, this=this)
    keys = ("sent", "applied", "duplicate", "rejected", "conflict", "unanswered", "left")
    output.message(f"pushed: {_counts(summary, keys)}")
    for item in summary["kept_aside"]:
        output.warning(
            f"{item['status']}: {item['entity_type']} {item['entity_id']}: {item['reason']}"
        )
    if fmt == "json":
        output.emit(summary, "json", ())


@app.command()
def pull(json_: JsonOption = False) -> None:
    """Apply what changed in the cloud since the last pull, page by page."""
    from gsm_cli.cloud import session
    from gsm_cli.services import sync

    fmt = output_format(None, json_) if json_ else "table"
    env = environment.current()
    with (
        open_store() as store,
        session.connect(store, paths(), env.vars) as client,
        output.Progress("pulling") as progress,
    ):
        summary = sync.pull(store, client, report=progress.report)
    output.message(
        f"pulled {summary['changes']} change(s): {summary['applied']} applied, "
        f"{summary['deleted']} deleted, {summary['skipped']} skipped, "
        f"{len(summary['conflicts'])} conflict(s)"
    )
    for item in summary["conflicts"]:
        output.warning(
            f"conflict: {item['entity_type']} {item['entity_id']}: {item['reason']} "
            "(see gsm sync status; gsm sync resolve NAME --keep local|cloud)"
        )
    _report_pull_notes(summary)
    if fmt == "json":
        output.emit(summary, "json", ())


def _report_pull_notes(summary: dict[str, Any]) -> None:
    """What a pull did not apply because its data was wrong, and the servers of this machine
    that another device adopted (their files stay where they are)."""
    for item in summary.get("invalid") or []:
        output.warning(f"skipped: {item['entity_type']} {item['entity_id']}: {item['reason']}")
    for item in summary.get("released") or []:
        output.warning(
            f"{item['name']} now belongs to device {item['device_name']}: it is remote here; "
            f"its files stay in {item['install_path']}"
        )


@app.command()
def status(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """Queued, retrying and rejected operations, conflicts, and the last push and pull."""
    from gsm_cli.services import sync

    with open_store() as store:
        fmt = output_format(output_, json_, store)
        info = sync.status(store)
    if fmt != "table":  # JSON and CSV carry everything; the table is a summary
        output.emit(info, fmt, ())
        return
    output.emit(views.sync_summary(info), "table", views.SYNC_STATUS_COLUMNS)
    if info["rejected"]:
        output.message("rejected (gsm sync retry ID, gsm sync drop ID):")
        output.emit(info["rejected"], "table", OP_COLUMNS)
    if info["conflicts"]:
        output.message("conflicts (gsm sync resolve NAME --keep local|cloud):")
        output.emit(info["conflicts"], "table", CONFLICT_COLUMNS)
    skipped = (info["last_pull"] or {}).get("invalid") or []
    if skipped:
        output.message("skipped by the last pull (data gsm does not accept):")
        output.emit(skipped, "table", SKIPPED_COLUMNS)


OpArgument = Annotated[
    str | None,
    typer.Argument(
        help="Operation id (or a unique prefix) from gsm sync status.", show_default=False
    ),
]


@app.command()
def retry(
    op_id: OpArgument = None,
    all_: Annotated[bool, typer.Option("--all", help="Every rejected operation.")] = False,
    json_: JsonOption = False,
) -> None:
    """Queue rejected operations again (as new operations built from the current local rows)."""
    from gsm_cli.services import sync

    fmt = output_format(None, json_) if json_ else "table"
    if (op_id is None) == (not all_):
        raise InvalidInputError("give an operation id or --all (not both)")
    with open_store() as store:
        done = sync.retry(store, op_id)
    output.message(f"queued {len(done)} operation(s) again; run gsm sync push")
    if fmt == "json":
        output.emit(done, "json", ())


@app.command()
def drop(
    op_id: OpArgument = None,
    all_rejected: Annotated[
        bool, typer.Option("--all-rejected", help="Every rejected operation.")
    ] = False,
    yes: YesOption = False,
    json_: JsonOption = False,
) -> None:
    """Forget rejected operations: the cloud will never learn of those changes."""
    from gsm_cli.services import sync

    fmt = output_format(None, json_) if json_ else "table"
    if (op_id is None) == (not all_rejected):
        raise InvalidInputError("give an operation id or --all-rejected (not both)")
    what = "every rejected operation" if all_rejected else f"the rejected operation {op_id}"
    confirm(f"Forget {what}?", yes)
    with open_store() as store:
        done = sync.drop(store, op_id)
    output.message(f"dropped {len(done)} operation(s)")
    if fmt == "json":
        output.emit(done, "json", ())


@app.command()
def resolve(
    name: Annotated[str, typer.Argument(help="Server name (or entity id) in conflict.")],
    keep: Annotated[
        str,
        typer.Option(
            metavar="local|cloud",
            help="local: push this machine's version; cloud: take the cloud's.",
            callback=one_of(("local", "cloud")),
        ),
    ],
    json_: JsonOption = False,
) -> None:
    """Settle a conflict: keep the local version (queued again) or the cloud's (applied here)."""
    from gsm_cli.services import sync

    fmt = output_format(None, json_) if json_ else "table"
    with open_store() as store:
        info = sync.resolve(store, name, keep)
    if keep == "local":
        output.message(f"kept the local {info['name'] or name}; run gsm sync push")
    else:
        output.message(f"took the cloud's version of {info['name'] or name}")
    if fmt == "json":
        output.emit(info, "json", ())
