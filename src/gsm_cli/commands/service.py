"""gsm service: install, show, remove and run the gsm service (docs/service.md).

The service (services/service_duties.py) starts the servers marked --autostart when the
machine starts and runs gsm's duties every 30 seconds; services/service_install.py installs it
as a systemd user unit, a Windows scheduled task or crontab lines.
"""

import os
import sys
from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    number_in_range,
    output_format,
    paths,
)
from gsm_cli.errors import GsmError, InvalidInputError
from gsm_cli.output import Column

app = typer.Typer(
    help="Install, show, remove and run the gsm service: autostart at boot and gsm's duties.",
    no_args_is_help=True,
    add_completion=False,
)

INSTALL_COLUMNS = (
    Column("installed"),
    Column("method"),
    Column("where"),
    Column("started"),
    Column("linger"),
)
STATUS_COLUMNS = (
    Column("installed"),
    Column("running"),
    Column("pid"),
    Column("started_at"),
    Column("last_tick"),
    Column("rounds"),
    Column("duties"),
    Column("log"),
)
ROUND_COLUMNS = (Column("name", "DUTY"), Column("ok"), Column("error"), Column("report"))


@app.command()
def install(
    cron: Annotated[
        bool,
        typer.Option("--cron", help="Write gsm's lines into your crontab instead (not Windows)."),
    ] = False,
    at_startup: Annotated[
        bool,
        typer.Option(
            "--at-startup",
            help="Windows: run when the machine starts rather than at your log-on "
            "(an administrator shell; no password is stored).",
        ),
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Install the service and start it.

    A systemd user unit (Linux), a scheduled task at log-on (Windows), else print the crontab
    lines to add (or add them with --cron)."""
    from gsm_cli.services import service_install

    fmt = output_format(output_, json_, use_store=False)
    env = environment.current().vars
    if at_startup and not service_install.is_windows():
        raise InvalidInputError("--at-startup is for Windows")
    done = service_install.install(paths(), env, cron=cron, at_startup=at_startup)
    if done.method == service_install.SYSTEMD:
        output.message(f"installed the gsm service as a systemd user unit: {done.where}")
        output.message("it is enabled and running (systemctl --user status gsm)")
    elif done.method == service_install.TASK:
        output.message(f"installed the gsm service as the scheduled task {done.where}")
    elif done.method == service_install.CRON:
        output.message("added gsm's lines to your crontab (crontab -l shows them)")
    for note in done.notes:
        output.message(note)
    if done.method is None and fmt == "table":
        output.emit_lines(done.lines)
        return
    output.emit(done.to_dict(), fmt, INSTALL_COLUMNS)


def _word(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value is None else str(value)


def _duties_text(duties: dict[str, Any]) -> str:
    shown = []
    for name, last in duties.items():
        if not isinstance(last, dict):
            continue
        error = str(last.get("error") or "").splitlines()[:1]
        outcome = "ok" if last.get("ok") else f"failed: {''.join(error)}"
        shown.append(f"{name} {outcome} ({last.get('at')})")
    return "; ".join(shown)


@app.command()
def status(json_: JsonOption = False, output_: OutputOption = None) -> None:
    """What is installed, whether the service runs (its pid), and its last round."""
    from gsm_cli.services import service_install

    fmt = output_format(output_, json_, use_store=False)
    info = service_install.status(paths(), environment.current().vars)
    for note in info["notes"]:
        output.message(note)
    if fmt == "json":
        output.emit(info, fmt, STATUS_COLUMNS)
        return
    row = {**info, "duties": _duties_text(info["duties"])}
    for name, method in info["methods"].items():
        details = ", ".join(f"{k} {_word(v)}" for k, v in method.items() if k != "lines")
        row[name] = details
    extra = tuple(Column(name) for name in info["methods"])
    output.emit(row, fmt, (*STATUS_COLUMNS[:1], *extra, *STATUS_COLUMNS[1:]))


@app.command()
def uninstall(json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Stop and remove what gsm service install set up (only that).

    The game servers the service started keep running."""
    from gsm_cli.services import service_install

    fmt = output_format(output_, json_, use_store=False)
    done = service_install.uninstall(environment.current().vars)
    for method in done["removed"]:
        output.message(f"removed the gsm service ({method})")
    for note in done["notes"]:
        output.message(note)
    if fmt == "json":
        output.emit(done, fmt, ())


INTERVAL = number_in_range(0, 30, above=True, what="a number of seconds")


@app.command()
def run(
    once: Annotated[bool, typer.Option("--once", help="Run one round and exit.")] = False,
    boot: Annotated[
        bool,
        typer.Option("--boot", help="The machine has just started: start autostart servers."),
    ] = False,
    interval: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds between rounds, at most 30.", callback=INTERVAL
        ),
    ] = 30.0,
    home: Annotated[
        str | None,
        typer.Option(
            metavar="DIR", help="Use this GSM_HOME (the service's install sets it when needed)."
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Run the service (what install sets up to run).

    Starts the servers marked --autostart that are not running (at its first run after boot,
    or with --boot), then runs its duties every --interval seconds until SIGTERM or Ctrl-C.
    One service at a time (exit 5 when one runs)."""
    from gsm_cli.services import service_duties

    env = environment.current()
    if home is not None:
        # The service's own supervisors and their games must find the same store.
        os.environ["GSM_HOME"] = home
        env.vars = {**env.vars, "GSM_HOME": home}
    fmt = output_format(output_, json_, use_store=False)
    rounds = service_duties.run(paths(), env.vars, once=once, boot=boot, interval=interval)
    if not once:
        output.message("the gsm service stopped")
        return
    result = rounds[0]
    rows = [o.to_dict() for o in result.outcomes]
    output.emit(
        [_shown_outcome(row) for row in rows] if fmt == "table" else rows, fmt, ROUND_COLUMNS
    )
    if result.failed:
        first = result.failed[0]
        raise GsmError(
            f"{len(result.failed)} of {len(result.outcomes)} duties failed: "
            f"{first.name}: {first.error}",
            hint=f"the service log: {service_duties.log_file(paths())}",
            code="duty_failed",
        )


def _shown_outcome(row: dict[str, Any]) -> dict[str, Any]:
    """A duty's outcome as a person reads it: the first line of its error, and a report of
    servers ({name, action}) as "alpha started, beta failed"."""
    report = row["report"]
    if isinstance(report, list) and all(isinstance(r, dict) and "action" in r for r in report):
        report = ", ".join(f"{r.get('name')} {r['action']}" for r in report)
    error = (row["error"] or "").splitlines()
    return {**row, "error": error[0] if error else None, "report": report}


def _main_without_console() -> None:
    """The Windows task's entry (``pythonw -m gsm_cli.commands.service run ...``): pythonw has
    no console, so no standard streams; gsm gets null ones (the service logs to its file)."""
    for name, mode in (("stdin", "r"), ("stdout", "w"), ("stderr", "w")):
        if getattr(sys, name) is None:
            setattr(sys, name, open(os.devnull, mode, encoding="utf-8"))  # noqa: SIM115
    sys.argv = ["gsm", "service", *sys.argv[1:]]
    from gsm_cli.entry import main

    main()


if __name__ == "__main__":
    _main_without_console()
