"""gsm server: create, start, stop, supervise, back up and restore game servers."""

from typing import Annotated, Any

import typer

from gsm_cli import output
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    YesOption,
    confirm,
    open_store,
    output_format,
    paths,
)
from gsm_cli.errors import GsmError, InvalidInputError
from gsm_cli.output import Column

app = typer.Typer(
    help="Create, start, stop, supervise, back up and restore game servers.",
    no_args_is_help=True,
    add_completion=False,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Server name (or id).")]
TargetArgument = Annotated[
    str | None, typer.Argument(metavar="[NAME]", help="Server name; or use --all.")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every server.")]
TimeoutOption = Annotated[
    float | None,
    typer.Option("--timeout", help="Seconds to wait at each step (default: server.stop_timeout)."),
]

SERVER_COLUMNS = (
    Column("name"),
    Column("game_type", "GAME"),
    Column("status"),
    Column("port"),
    Column("process_id", "PID"),
    Column("install_path", "PATH"),
)
DETAIL_COLUMNS = (
    Column("id"),
    Column("name"),
    Column("game_type"),
    Column("status"),
    Column("port"),
    Column("query_port"),
    Column("max_players"),
    Column("process_id"),
    Column("install_path"),
    Column("last_backup"),
    Column("created_at"),
    Column("cloud_sync_status"),
    Column("configuration"),
)
STATUS_COLUMNS = (
    Column("name"),
    Column("status"),
    Column("process_id", "PID"),
    Column("uptime_seconds", "UPTIME S"),
    Column("memory_bytes", "MEMORY"),
    Column("crashes"),
    Column("last_exit_code", "LAST EXIT"),
    Column("last_crash_at", "LAST CRASH"),
)
BACKUP_COLUMNS = (
    Column("id"),
    Column("created_at"),
    Column("size_bytes", "SIZE"),
    Column("sha256"),
    Column("path"),
)


# Options shared by create and update.
PortOption = Annotated[int | None, typer.Option(help="Game port (default: the game's).")]
QueryPortOption = Annotated[int | None, typer.Option(help="Query port.")]
MaxPlayersOption = Annotated[int | None, typer.Option(help="Player slots.")]
ArgOption = Annotated[list[str] | None, typer.Option(help="Extra argument (repeatable).")]
EnvOption = Annotated[list[str] | None, typer.Option(help="Environment K=V (repeatable).")]
CommandOption = Annotated[
    str | None, typer.Option(help="Command line to run (required for --game custom).")
]
StopCommandOption = Annotated[
    str | None, typer.Option(help="Console line(s) that stop it, ';'-separated.")
]
MaxRestartsOption = Annotated[int | None, typer.Option(help="Restarts allowed per 10 minutes.")]


CHANGE_OPTIONS = (
    "path", "port", "query_port", "max_players", "command", "stop_command", "restart",
    "max_restarts",
)  # fmt: skip


def _changes(name: str | None, options: dict[str, Any]) -> Any:
    """create and update take the same options: turn them into one ServerChanges."""
    from gsm_cli.services.servers import ServerChanges

    picked = {key: options[key] for key in CHANGE_OPTIONS}
    return ServerChanges(name=name, args=options["arg"], env=options["env"], **picked)


def _emit_server(server: Any, fmt: str) -> None:
    from gsm_cli.services import servers

    output.emit(servers.to_dict(server), fmt, DETAIL_COLUMNS)


def _warn(warnings: list[str]) -> None:
    for text in warnings:
        output.warning(text)


@app.command()
def create(
    name: NameArgument,
    game: Annotated[str, typer.Option("--game", "-g", help="Game id (see gsm game list).")],
    path: Annotated[str | None, typer.Option(help="Server folder (default: data folder).")] = None,
    port: PortOption = None,
    query_port: QueryPortOption = None,
    max_players: MaxPlayersOption = None,
    arg: ArgOption = None,
    env: EnvOption = None,
    command: CommandOption = None,
    stop_command: StopCommandOption = None,
    restart: Annotated[bool, typer.Option(help="Restart after a crash.")] = True,
    max_restarts: MaxRestartsOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Create a server record and its folder."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    changes = _changes(name, locals())
    with open_store() as store:
        server = servers.create(store, paths(), game, changes)
    _warn(changes.warnings)
    output.message(f"created server {server.name} ({server.game_type}) in {server.install_path}")
    _emit_server(server, fmt)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="Only servers in this status.")] = None,
    game: Annotated[str | None, typer.Option(help="Only servers of this game.")] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """List servers."""
    from gsm_cli.services import games, servers

    fmt = output_format(output_, json_)
    if game:
        game = games.get_game(game).id
    with open_store() as store:
        rows = [servers.to_dict(s) for s in servers.list_all(store, status=status, game=game)]
    output.emit(rows, fmt, SERVER_COLUMNS)


@app.command()
def show(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Show one server's record."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        _emit_server(servers.get(store, name), fmt)


@app.command()
def update(
    name: NameArgument,
    new_name: Annotated[str | None, typer.Option("--name", help="Rename the server.")] = None,
    path: Annotated[str | None, typer.Option(help="Move to another folder (stopped only).")] = None,
    port: PortOption = None,
    query_port: QueryPortOption = None,
    max_players: MaxPlayersOption = None,
    arg: ArgOption = None,
    env: EnvOption = None,
    command: Annotated[str | None, typer.Option(help="Command line to run.")] = None,
    stop_command: StopCommandOption = None,
    restart: Annotated[bool | None, typer.Option(help="Restart after a crash.")] = None,
    max_restarts: MaxRestartsOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Change a server's settings (takes effect at its next start)."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    changes = _changes(new_name, locals())
    with open_store() as store:
        server = servers.update(store, name, changes)
    _warn(changes.warnings)
    _emit_server(server, fmt)


@app.command()
def delete(
    name: NameArgument,
    purge: Annotated[bool, typer.Option(help="Also delete the server's folder.")] = False,
    yes: YesOption = False,
    json_: JsonOption = False,
) -> None:
    """Delete a stopped server (its folder too with --purge). Backup archives stay on disk."""
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(None, json_) if json_ else None
    with open_store() as store:
        server = servers.get(store, name)
        if purge:
            confirm(f"Delete server {server.name} AND its folder {server.install_path}?", yes)
        deleted = servers.delete(store, name, purge=purge, is_running=lifecycle.game_alive)
    output.message(f"deleted server {deleted.name}" + (" and its folder" if purge else ""))
    if fmt:
        output.emit({"id": deleted.id, "name": deleted.name, "purged": purge}, fmt, ())


def _targets(store: Any, name: str | None, all_: bool) -> list[str]:
    from gsm_cli.services import servers

    if all_ == bool(name):
        raise InvalidInputError("give a server NAME or --all (not both)")
    if name:
        return [name]
    return [s.name for s in servers.list_all(store)]


def _stop_timeout(store: Any, timeout: float | None) -> float:
    from gsm_cli import environment
    from gsm_cli.services import settings

    if timeout is not None:
        if timeout < 0:
            raise InvalidInputError("--timeout must not be negative")
        return timeout
    return float(settings.effective_value(store, "server.stop_timeout", environment.current().vars))


def _each(names: list[str], action: Any, all_: bool, fmt: str, columns: tuple[Column, ...]) -> None:
    """Run an action per server and show the results. With --all, one failure does not stop
    the others; the command still fails at the end, with the first failure's exit code."""
    results, failures = [], []
    for target in names:
        try:
            results.append(action(target))
        except GsmError as err:
            if not all_:
                raise
            failures.append(err)
            results.append({"name": target, "error": err.message})
    output.emit(results if all_ else results[0], fmt, columns)
    if failures:
        first = failures[0]
        raise type(first)(f"{len(failures)} of {len(names)} server(s) failed: {first.message}")


@app.command()
def start(
    name: TargetArgument = None,
    all_: AllOption = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for it to run.")] = 30.0,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Start a server under its supervisor; it keeps running after gsm exits."""
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(output_, json_)
    with open_store() as store:

        def run(target: str) -> dict[str, Any]:
            current = servers.get(store, target)
            if all_ and lifecycle.game_alive(current):
                return {**servers.to_dict(current), "action": "already running"}
            server = lifecycle.start(store, paths(), target, timeout=timeout)
            output.message(f"started {server.name} (pid {server.process_id})")
            return {**servers.to_dict(server), "action": "started"}

        _each(_targets(store, name, all_), run, all_, fmt, SERVER_COLUMNS)


@app.command()
def stop(
    name: TargetArgument = None,
    all_: AllOption = False,
    timeout: TimeoutOption = None,
    force: Annotated[bool, typer.Option(help="Kill at once, without asking it to stop.")] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Stop gracefully: the game's stop command or signal, then terminate, then kill."""
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        seconds = _stop_timeout(store, timeout)

        def run(target: str) -> dict[str, Any]:
            server = servers.get(store, target)
            if all_ and not lifecycle.is_up(paths(), server):
                return {"name": server.name, "how": "not running", "exit_code": None}
            result = lifecycle.stop(store, paths(), target, timeout=seconds, force=force)
            output.message(f"stopped {result['name']} ({result['how']})")
            return result

        columns = (Column("name"), Column("how"), Column("exit_code"))
        _each(_targets(store, name, all_), run, all_, fmt, columns)


@app.command()
def restart(
    name: TargetArgument = None,
    all_: AllOption = False,
    timeout: TimeoutOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Stop and start again (a stopped server is just started; --all restarts running ones)."""
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        seconds = _stop_timeout(store, timeout)

        def run(target: str) -> dict[str, Any]:
            server = servers.get(store, target)
            running = lifecycle.is_up(paths(), server)
            if all_ and not running:  # --all restarts what runs; it starts nothing new
                return {**servers.to_dict(server), "action": "not running"}
            if running:
                lifecycle.stop(store, paths(), target, timeout=seconds)
            server = lifecycle.start(store, paths(), target)
            output.message(f"restarted {server.name} (pid {server.process_id})")
            return {**servers.to_dict(server), "action": "restarted"}

        _each(_targets(store, name, all_), run, all_, fmt, SERVER_COLUMNS)


@app.command()
def status(
    name: TargetArgument = None,
    all_: AllOption = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Is it running? Read from the process itself (pid and start time), with recent crashes."""
    from gsm_cli.services import lifecycle

    fmt = output_format(output_, json_)
    with open_store() as store:
        names = _targets(store, name, all_)
        results = [lifecycle.status(store, paths(), target) for target in names]
    if all_:
        output.emit(results, fmt, STATUS_COLUMNS)
    else:
        output.emit(results[0], fmt, [*STATUS_COLUMNS, Column("supervisor_pid"), Column("port")])


@app.command()
def send(
    name: NameArgument,
    line: Annotated[str, typer.Argument(metavar="LINE", help="The console line to send.")],
    wait_for: Annotated[
        str | None, typer.Option(help="Wait for a log line matching this regular expression.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait-for.")] = 10.0,
    json_: JsonOption = False,
) -> None:
    """Write a line to a running server's console."""
    from gsm_cli.services import lifecycle

    if json_:
        output_format(None, True)
    with open_store() as store:
        result = lifecycle.send(store, paths(), name, line, wait_for=wait_for, timeout=timeout)
    if json_:
        output.emit(result, "json", ())
    if wait_for and not result["matched"]:
        raise GsmError(f"no log line matched {wait_for!r} within {timeout:g}s", code="timeout")


@app.command()
def logs(
    name: NameArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines.")
    ] = False,
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many last lines.")] = 50,
) -> None:
    """Print a server's console log (the game's output and gsm's notes)."""
    from gsm_cli import environment
    from gsm_cli.services import lifecycle, servers

    if lines < 0:
        raise InvalidInputError("--lines must not be negative")
    with open_store() as store:
        server = servers.get(store, name)
    out = environment.current().stdout
    source = (
        lifecycle.follow_log(paths(), server, lines)
        if follow
        else lifecycle.tail_log(paths(), server, lines)
    )
    for text in source:
        out.write(text + "\n")
        out.flush()


@app.command()
def monitor(
    once: Annotated[
        bool, typer.Option(help="Check once and exit (for cron / Task Scheduler).")
    ] = False,
    interval: Annotated[float, typer.Option(help="Seconds between checks.")] = 30.0,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Check every server and restart crashed ones."""
    import time

    from gsm_cli.services import lifecycle

    fmt = output_format(output_, json_)
    columns = (Column("name"), Column("status_before"), Column("status"), Column("action"))
    if interval <= 0:
        raise InvalidInputError("--interval must be positive")
    with open_store() as store:
        while True:
            results = lifecycle.monitor_once(store, paths())
            if once:
                output.emit(results, fmt, columns)
                return
            for row in results:
                if row["action"] != "ok":
                    output.message(f"{row['name']}: {row['action']}")
            time.sleep(interval)


@app.command()
def backup(
    name: NameArgument,
    keep: Annotated[int | None, typer.Option(help="Backups to keep (default: setting).")] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Archive a server's folder (after its save command, when running)."""
    from gsm_cli import environment
    from gsm_cli.services import backups, games, lifecycle, servers

    fmt = output_format(output_, json_)
    if keep is not None and keep < 1:
        raise InvalidInputError("--keep must be at least 1")
    with open_store() as store:
        server = servers.get(store, name)
        game = games.get_game(server.game_type)
        if lifecycle.supervisor(paths(), server) and game.save_command:
            output.message(f"saving {server.name} first: {game.save_command}")
            lifecycle.send(
                store,
                paths(),
                name,
                game.save_command,
                wait_for=game.save_done_pattern,
                timeout=60,
            )
        elif lifecycle.game_alive(server):
            output.warning(f"{server.name} is running; files may change while they are archived")
        with output.Progress(f"backing up {server.name}", in_bytes=True) as bar:
            made = backups.create_backup(
                store, paths(), environment.current().vars, name, keep=keep, report=bar.report
            )
    output.message(f"backed up {server.name} to {made.path}")
    output.emit(made.to_dict(), fmt, BACKUP_COLUMNS)


@app.command("backups")
def list_backups(
    name: NameArgument, json_: JsonOption = False, output_: OutputOption = None
) -> None:
    """List a server's backups, newest first."""
    from gsm_cli.services import backups

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = [b.to_dict() for b in backups.list_backups(store, name)]
    output.emit(rows, fmt, BACKUP_COLUMNS)


@app.command()
def restore(
    name: NameArgument,
    backup_ref: Annotated[str, typer.Argument(metavar="BACKUP", help="Backup id or file name.")],
    stop_first: Annotated[
        bool, typer.Option("--stop", help="Stop the server first, and start it again after.")
    ] = False,
    yes: YesOption = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Replace a server's folder with a backup, atomically (a failed restore changes nothing)."""
    from gsm_cli.services import backups, lifecycle, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        server = servers.get(store, name)
        found = backups.find_backup(store, name, backup_ref)
        confirm(f"Replace the files of {server.name} with backup {found.id[:8]}?", yes)
        was_running = lifecycle.game_alive(server)
        if was_running and stop_first:
            # Check the archive before taking the server down, so a bad one costs no downtime.
            with output.Progress(f"verifying backup {found.id[:8]}", in_bytes=True) as bar:
                backups.verify_backup(store, name, found.id, report=bar.report)
            timeout = _stop_timeout(store, None)
            lifecycle.stop(store, paths(), name, timeout=timeout)
        with output.Progress(f"restoring {server.name}", in_bytes=True) as bar:
            restored = backups.restore_backup(
                store, name, found.id, is_running=lifecycle.game_alive, report=bar.report
            )
        output.message(f"restored {server.name} from {restored.path}")
        if was_running and stop_first:
            lifecycle.start(store, paths(), name)
            output.message(f"started {server.name} again")
    output.emit(restored.to_dict(), fmt, BACKUP_COLUMNS)
