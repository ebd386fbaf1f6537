"""gsm schedule: cron schedules of task chains (warn, wait, back up, restart...) per server."""

import contextlib
import signal
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    number_in_range,
    open_store,
    output_format,
    paths,
)
from gsm_cli.errors import GsmError
from gsm_cli.output import Column

app = typer.Typer(
    help="Schedule task chains per server: in-game warnings, backups, restarts, updates.",
    no_args_is_help=True,
    add_completion=False,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Schedule name (or id).")]
NewNameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="The new schedule's name (unique; any case).")
]

SCHEDULE_COLUMNS = (
    Column("name"),
    Column("server_name", "SERVER"),
    Column("cron"),
    Column("next_due_at", "NEXT"),
    Column("enabled"),
    Column("last_run_status", "LAST RUN"),
)
DETAIL_COLUMNS = (
    Column("id"),
    Column("name"),
    Column("server_name", "server"),
    Column("cron"),
    Column("time_zone"),
    Column("tasks"),
    Column("enabled"),
    Column("only_when_running"),
    Column("when_empty"),
    Column("max_wait_seconds"),
    Column("next_due_at"),
    Column("last_due_at"),
    Column("last_run_status"),
    Column("last_run_at"),
    Column("created_at"),
)
RUN_COLUMNS = (
    Column("id"),
    Column("schedule_name", "SCHEDULE"),
    Column("trigger"),
    Column("due_at", "DUE"),
    Column("started_at", "STARTED"),
    Column("finished_at", "FINISHED"),
    Column("status"),
    Column("message"),
)
TASK_COLUMNS = (
    Column("task"),
    Column("status"),
    Column("started_at", "STARTED"),
    Column("finished_at", "FINISHED"),
    Column("message"),
)
FIRING_COLUMNS = (
    Column("schedule_name", "SCHEDULE"),
    Column("server_name", "SERVER"),
    Column("due_at", "DUE"),
    Column("run_id", "RUN"),
    Column("status"),
    Column("message"),
)


def _local(value: str | None) -> str | None:
    """An ISO UTC time as the table shows it: in this machine's time zone."""
    from datetime import datetime

    if not value:
        return value
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M %Z")


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    shown = {**row, "next_due_at": _local(row["next_due_at"]) or "-"}
    if row.get("max_wait_seconds") is not None:
        from gsm_cli.services import schedules

        shown["max_wait_seconds"] = schedules.duration_text(row["max_wait_seconds"])
    shown["tasks"] = "; ".join(row["tasks"])
    return shown


def _max_wait(param: typer.CallbackParam, value: str | None) -> int | None:
    from gsm_cli.services import schedules

    if value is None:
        return None
    return schedules.parse_duration(value, "--max-wait")


@app.command()
def add(
    name: NewNameArgument,
    server: Annotated[
        str, typer.Option("--server", "-s", metavar="SERVER", help="The server it runs for.")
    ],
    cron: Annotated[
        str,
        typer.Option(
            metavar="EXPR",
            help="When, as cron's five fields in this machine's local time: '0 4 * * *' is "
            "04:00 every day.",
        ),
    ],
    task: Annotated[
        list[str],
        typer.Option(
            metavar="TASK",
            help="A task of the chain, in order (repeatable): say TEXT, command LINE, "
            "wait DURATION, countdown DURATION [TEXT], backup, restart, stop, start, update; "
            "before it, +OFFSET and continue-on-failure may be given.",
        ),
    ],
    only_when_running: Annotated[
        bool,
        typer.Option("--only-when-running", help="Skip a firing when the server is not running."),
    ] = False,
    when_empty: Annotated[
        bool,
        typer.Option(
            "--when-empty", help="Wait until no player is on (from the server's query) first."
        ),
    ] = False,
    max_wait: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="With --when-empty: the longest wait, then a countdown and on anyway "
            "(default 30m).",
            callback=_max_wait,
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Add a schedule: a cron expression and a chain of tasks for one server."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        row = schedules.add(
            store,
            name=name,
            server=server,
            cron=cron,
            tasks=task,
            only_when_running=only_when_running,
            when_empty=when_empty,
            max_wait_seconds=max_wait,  # type: ignore[arg-type]  # the callback made it int
        )
    output.message(f"added schedule {row['name']} for {row['server_name']}: next at "
                   f"{_local(row['next_due_at']) or 'never'}")  # fmt: skip
    output.emit(_shown(row) if fmt == "table" else row, fmt, DETAIL_COLUMNS)


@app.command("list")
def list_(json_: JsonOption = False, output_: OutputOption = None) -> None:
    """List schedules with their next time (local time in the table, UTC in JSON)."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = schedules.list_all(store)
    output.emit([_shown(r) for r in rows] if fmt == "table" else rows, fmt, SCHEDULE_COLUMNS)


@app.command()
def show(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Show one schedule: its chain, its next time and its last run."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        row = schedules.show(store, name)
    output.emit(_shown(row) if fmt == "table" else row, fmt, DETAIL_COLUMNS)


@app.command()
def remove(name: NameArgument, json_: JsonOption = False) -> None:
    """Delete a schedule and its run history (a chain running now runs to its end)."""
    from gsm_cli.services import schedules

    fmt = output_format(None, json_) if json_ else None
    with open_store() as store:
        removed = schedules.remove(store, name)
    output.message(f"removed schedule {removed['name']} ({removed['runs_deleted']} run(s))")
    if fmt:
        output.emit(removed, fmt, ())


def _toggle(name: str, enabled: bool, json_: bool, output_: str | None) -> None:
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        row = schedules.set_enabled(store, name, enabled)
    output.message(f"{'enabled' if enabled else 'disabled'} schedule {row['name']}")
    output.emit(_shown(row) if fmt == "table" else row, fmt, DETAIL_COLUMNS)


@app.command()
def enable(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Enable a schedule; it fires from its next time on (missed times are not caught up)."""
    _toggle(name, True, json_, output_)


@app.command()
def disable(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Disable a schedule: it does not fire until enabled again."""
    _toggle(name, False, json_, output_)


def _task_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    from gsm_cli.services import schedules

    return [{**t, "task": schedules.Task.from_dict(t).text} for t in run["tasks"]]


@contextlib.contextmanager
def _terminated_as_interrupt() -> Iterator[None]:
    """SIGTERM during a foreground run ends it as Ctrl-C does: the run is recorded
    interrupted (rather than left for the next scheduler pass to find), exit 130."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@app.command()
def run(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Run a schedule's chain now, here, showing each step (--when-empty and
    --only-when-running apply). Exits 1 when a task failed; Ctrl-C records it interrupted."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    env = environment.current().vars
    with open_store() as store:
        run_id = schedules.start_manual(store, name)
        shown = schedules.show(store, name)
        total = len(shown["tasks"])
        output.message(f"running schedule {shown['name']} on {shown['server_name']} (run "
                       f"{run_id}, {total} task(s))")  # fmt: skip
        with output.Progress(f"schedule {shown['name']}") as bar:
            step = [0]

            def report(text: str) -> None:
                if text.startswith("task "):
                    step[0] += 1
                    bar.report(step[0] - 1, total, text)
                output.message(text)

            with _terminated_as_interrupt():
                result = schedules.execute(store, paths(), env, run_id, report=report)
            bar.report(total, total)
    if fmt == "table":
        output.emit(_task_rows(result), fmt, TASK_COLUMNS)
    else:
        output.emit(result, fmt, RUN_COLUMNS)
    if result["status"] == "failed":
        raise GsmError(
            f"schedule {shown['name']} failed: {result['message']}",
            hint=f"gsm schedule history {shown['name']}",
            code="schedule_failed",
        )
    output.message(f"schedule {shown['name']}: {result['status']}"
                   + (f" ({result['message']})" if result.get("message") else ""))  # fmt: skip


@app.command()
def history(
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Only this schedule's runs.")
    ] = None,
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            "-n",
            metavar="N",
            help="How many runs, newest first.",
            callback=number_in_range(1, 10000, what="a whole number"),
        ),
    ] = 20,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Past and running runs, newest first, with each task's outcome (in JSON and CSV)."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = schedules.history(store, name, limit=limit)
    output.emit(rows, fmt, RUN_COLUMNS)


@app.command()
def tick(json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Fire the schedules that are due now, once, and exit (what `gsm service run` does every
    30 seconds; usable from cron: `* * * * * gsm schedule tick`). Each chain runs in its own
    process."""
    from gsm_cli.services import schedules

    fmt = output_format(output_, json_)
    with open_store() as store:
        firings = schedules.fire_due(store, env=environment.current().vars, paths=paths())
    output.emit([f.to_dict() for f in firings], fmt, FIRING_COLUMNS)
