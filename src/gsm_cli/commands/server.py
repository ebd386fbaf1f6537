"""gsm server: create, start, stop, supervise, back up and restore game servers."""

from typing import Annotated, Any

import typer

from gsm_cli import environment, output, views
from gsm_cli.commands._common import (
    SERVER_STATUSES,
    JsonOption,
    OutputOption,
    YesOption,
    confirm,
    fillable,
    known_game,
    like_setting,
    number_in_range,
    one_of,
    open_store,
    output_format,
    paths,
)
from gsm_cli.errors import GsmError, InvalidInputError
from gsm_cli.output import Column
from gsm_cli.views import DETAIL_COLUMNS, SERVER_COLUMNS

app = typer.Typer(
    help="Create, start, stop, supervise, back up and restore game servers.",
    no_args_is_help=True,
    add_completion=False,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Server name (or id).")]
TargetArgument = Annotated[
    str | None, typer.Argument(metavar="NAME", help="Server name; or use --all.")
]
AllOption = Annotated[bool, typer.Option("--all", help="Every server.")]
SECONDS = number_in_range(0, above=True, what="a number of seconds")
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Seconds to wait at each step (default: server.stop_timeout).",
        callback=SECONDS,
    ),
]

STATUS_COLUMNS = (
    Column("name"),
    Column("status"),
    Column("process_id", "PID"),
    Column("uptime_seconds", "UPTIME"),
    Column("memory_bytes", "MEMORY"),
    Column("cpu_percent", "CPU"),
    Column("crashes"),
    Column("last_exit_code", "LAST EXIT"),
    Column("last_crash_at", "LAST CRASH"),
    Column("freezes"),
)
STATUS_DETAIL_COLUMNS = (
    *STATUS_COLUMNS,
    Column("last_freeze_at", "LAST FREEZE"),
    Column("crash_window_seconds"),
    Column("supervised"),
    Column("console"),
    Column("supervisor_pid"),
    Column("port"),
    Column("message"),
)
EVENT_COLUMNS = (
    Column("occurred_at", "WHEN"),
    Column("event"),
    Column("exit_code", "EXIT"),
    Column("detail"),
)
BACKUP_COLUMNS = (
    Column("id"),
    Column("created_at"),
    Column("backend"),
    Column("size_bytes", "SIZE"),
    Column("sha256"),
    Column("snapshot_id", "SNAPSHOT"),
    Column("path"),
)


# Options shared by create and update.
PortOption = Annotated[int | None, typer.Option(help="Game port (default: the game's).")]
QueryPortOption = Annotated[
    int | None,
    typer.Option(
        metavar="P",
        help="Port the game answers queries on, 1-65535 (default: the game's, else --port).",
    ),
]
QueryProtocolOption = Annotated[
    str | None,
    typer.Option(
        metavar="minecraft|a2s|tcp|none",
        help="How gsm asks the game for players and latency ('' for the game's own; "
        "default: the game's, none for --game custom).",
    ),
]
FreezeAfterOption = Annotated[
    int | None,
    typer.Option(
        metavar="N",
        help="Failed queries in a row that make gsm restart the game as frozen; 0 turns it off "
        "(default: 4, or off without a query protocol).",
    ),
]
QueryGraceOption = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help="Seconds after a start during which failed queries do not count "
        "(default: the game's, see gsm game info; 120 for most).",
    ),
]
MaxPlayersOption = Annotated[int | None, typer.Option(metavar="N", help="Player slots.")]
ArgOption = Annotated[
    list[str] | None, typer.Option(help="Extra argument (repeatable).", callback=fillable)
]
EnvOption = Annotated[
    list[str] | None, typer.Option(metavar="K=V", help="Environment K=V (repeatable).")
]
CommandOption = Annotated[
    str | None,
    typer.Option(help="Command line to run (required for --game custom).", callback=fillable),
]
StopCommandOption = Annotated[
    str | None, typer.Option(metavar="LINES", help="Console line(s) that stop it, ';'-separated.")
]
MaxRestartsOption = Annotated[
    int | None, typer.Option(metavar="N", help="Restarts allowed per 10 minutes.")
]
ReadyPatternOption = Annotated[
    str | None,
    typer.Option(
        metavar="REGEX",
        help="Regex of the console line that says the game is up ('' for the game's own).",
    ),
]
SettleSecondsOption = Annotated[
    float | None,
    typer.Option(
        metavar="N",
        help="Seconds the game must stay up to count as started, 0-600 (default: the game's).",
    ),
]


def _plugin_dir(param: typer.CallbackParam, value: str | None) -> str | None:
    """--plugin-dir: relative to the server folder, no '..' (exit 4 invalid_plugin_dir)."""
    from gsm_cli.services import games

    if value is not None and value.strip():
        games.check_plugin_dir(value, "--plugin-dir")
    return value


CommunityOption = Annotated[
    str | None,
    typer.Option(
        "--community",
        metavar="C",
        help="Put the server in this gsm-cloud community (name or id; you must be a member). "
        "Sent by gsm sync push.",
    ),
]
PluginDirOption = Annotated[
    str | None,
    typer.Option(
        metavar="DIR",
        help="Plugin folder, relative to the server folder ('' for the game's own; "
        "default: the game's, see gsm game info).",
        callback=_plugin_dir,
    ),
]


CHANGE_OPTIONS = (
    "path", "port", "query_port", "query_protocol", "max_players", "command", "stop_command",
    "restart", "max_restarts", "ready_pattern", "settle_seconds", "plugin_dir", "freeze_after",
    "query_grace", "autostart",
)  # fmt: skip


def _changes(name: str | None, options: dict[str, Any]) -> Any:
    """create and update take the same options: turn them into one ServerChanges."""
    from gsm_cli.services.servers import ServerChanges

    picked = {key: options[key] for key in CHANGE_OPTIONS}
    return ServerChanges(name=name, args=options["arg"], env=options["env"], **picked)


def _community_id(store: Any, community: str | None, no_community: bool) -> str | None:
    """--community C as the id of a community you are a member of; --no-community as ""."""
    from gsm_cli.services import communities

    if community is not None and no_community:
        raise InvalidInputError("give either --community or --no-community, not both")
    if no_community:
        return ""
    if community is None:
        return None
    found = communities.for_server(store, paths(), environment.current().vars, community)
    if found.checked_in == "cache":
        output.warning(
            f"the cloud cannot be reached ({found.reason}): {found.name} is from the "
            "membership cache; the cloud checks your membership when gsm sync push sends this"
        )
    return found.id


def _emit_server(server: Any, fmt: str, store: Any) -> None:
    from gsm_cli.services import communities

    shown = views.shown_server(server, communities.cached_names(store), fmt)
    output.emit(shown, fmt, DETAIL_COLUMNS)


def _warn(warnings: list[str]) -> None:
    for text in warnings:
        output.warning(text)


def _autostart_note(autostart: bool | None) -> None:
    """--autostart means something only with the gsm service: say so where none ever ran."""
    from gsm_cli.services import service_duties

    if autostart and not service_duties.read_state(paths()):
        output.message("the gsm service starts it at boot once installed: gsm service install")


@app.command()
def create(
    name: NameArgument,
    game: Annotated[
        str,
        typer.Option("--game", "-g", help="Game id (see gsm game list).", callback=known_game),
    ],
    path: Annotated[
        str | None, typer.Option(metavar="DIR", help="Server folder (default: data folder).")
    ] = None,
    port: PortOption = None,
    query_port: QueryPortOption = None,
    query_protocol: QueryProtocolOption = None,
    freeze_after: FreezeAfterOption = None,
    query_grace: QueryGraceOption = None,
    max_players: MaxPlayersOption = None,
    arg: ArgOption = None,
    env: EnvOption = None,
    command: CommandOption = None,
    stop_command: StopCommandOption = None,
    restart: Annotated[bool, typer.Option(help="Restart after a crash.")] = True,
    autostart: Annotated[
        bool, typer.Option(help="Start it when the machine starts (see gsm service install).")
    ] = False,
    max_restarts: MaxRestartsOption = None,
    ready_pattern: ReadyPatternOption = None,
    settle_seconds: SettleSecondsOption = None,
    plugin_dir: PluginDirOption = None,
    community: CommunityOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Create a server record and its folder."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    changes = _changes(name, locals())
    with open_store() as store:
        changes.community_id = _community_id(store, community, False)
        server = servers.create(store, paths(), game, changes, env=environment.current().vars)
        _warn(changes.warnings)
        _autostart_note(autostart)
        output.message(
            f"created server {server.name} ({server.game_type}) in {server.install_path}"
        )
        _emit_server(server, fmt, store)


@app.command("list")
def list_(
    status: Annotated[
        str | None,
        typer.Option(
            metavar="|".join(SERVER_STATUSES),
            help="Only servers in this status.",
            callback=one_of(SERVER_STATUSES),
        ),
    ] = None,
    game: Annotated[
        str | None, typer.Option(help="Only servers of this game.", callback=known_game)
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """List servers."""
    from gsm_cli.services import communities, games, lifecycle

    fmt = output_format(output_, json_)
    if game:
        game = games.get_game(game).id
    with open_store() as store:
        # The truth, as `status` tells it: pid and create time, supervisor alive.
        seen = lifecycle.observe_all(store, paths(), status=status, game=game)
        names = communities.cached_names(store)
    output.emit(views.listed_servers(seen, names, fmt), fmt, SERVER_COLUMNS)


@app.command()
def show(name: NameArgument, json_: JsonOption = False, output_: OutputOption = None) -> None:
    """Show one server's record."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        _emit_server(servers.get(store, name), fmt, store)


@app.command()
def update(
    name: NameArgument,
    new_name: Annotated[
        str | None, typer.Option("--name", metavar="NAME", help="Rename the server.")
    ] = None,
    path: Annotated[
        str | None, typer.Option(metavar="DIR", help="Move to another folder (stopped only).")
    ] = None,
    port: PortOption = None,
    query_port: QueryPortOption = None,
    query_protocol: QueryProtocolOption = None,
    freeze_after: FreezeAfterOption = None,
    query_grace: QueryGraceOption = None,
    max_players: MaxPlayersOption = None,
    arg: ArgOption = None,
    env: EnvOption = None,
    command: Annotated[
        str | None, typer.Option(help="Command line to run.", callback=fillable)
    ] = None,
    stop_command: StopCommandOption = None,
    restart: Annotated[bool | None, typer.Option(help="Restart after a crash.")] = None,
    autostart: Annotated[
        bool | None,
        typer.Option(help="Start it when the machine starts (see gsm service install)."),
    ] = None,
    max_restarts: MaxRestartsOption = None,
    ready_pattern: ReadyPatternOption = None,
    settle_seconds: SettleSecondsOption = None,
    plugin_dir: PluginDirOption = None,
    community: CommunityOption = None,
    no_community: Annotated[
        bool, typer.Option("--no-community", help="Take the server out of its community.")
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Change a server's settings (takes effect at its next start)."""
    from gsm_cli.services import servers

    fmt = output_format(output_, json_)
    changes = _changes(new_name, locals())
    with open_store() as store:
        changes.community_id = _community_id(store, community, no_community)
        server = servers.update(store, name, changes, paths=paths(), env=environment.current().vars)
        _warn(changes.warnings)
        _autostart_note(autostart)
        _emit_server(server, fmt, store)


@app.command()
def delete(
    name: NameArgument,
    purge: Annotated[bool, typer.Option(help="Also delete the server's folder.")] = False,
    yes: YesOption = False,
    json_: JsonOption = False,
) -> None:
    """Delete a stopped server (its folder too with --purge). Backup archives stay on disk.

    --purge deletes only what is inside the server's own folder: it refuses a folder that is
    gsm's or another server's, never follows a link, never enters another file system, and
    lists what it will delete before asking.
    """
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(None, json_) if json_ else None
    env = environment.current().vars
    with open_store() as store:
        if purge:
            server, plan = servers.purge_plan(
                store, paths(), env, name, is_running=lifecycle.game_alive
            )
            _show_purge_plan(server.name, plan)
            confirm(f"Delete server {server.name} AND its folder {server.install_path}?", yes)
        deleted = servers.delete(
            store, name, purge=purge, is_running=lifecycle.game_alive, paths=paths(), env=env
        )
    _report_deleted(deleted)
    if fmt:
        output.emit(deleted.to_dict(), fmt, ())


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _show_purge_plan(name: str, plan: Any) -> None:
    """What --purge will delete, on stderr, before the question."""
    from rich.filesize import decimal

    if plan is None:
        output.message(f"server {name} has no folder: there are no files to delete")
        return
    if not plan.exists:
        output.message(f"{plan.folder} does not exist: there are no files to delete")
        return
    if plan.link_target is not None:
        output.message(
            f"{plan.folder} is a symbolic link to {plan.link_target}: only the link will be "
            "removed, the files it points to stay"
        )
        return
    output.message(
        f"will delete {plan.folder}: {_count(plan.files, 'file')} in "
        f"{_count(plan.folders + 1, 'folder')}, {decimal(plan.size_bytes)}"
    )
    if plan.entries:
        shown = plan.to_dict()["entries"]
        more = len(plan.entries) - len(shown)
        output.message("  " + "  ".join(shown) + (f"  ... and {more} more" if more else ""))
    if plan.links:
        output.message(
            f"  {_count(plan.links, 'symbolic link')} inside: removed as links, what they "
            "point to stays"
        )
    if plan.mount_point:
        output.message(f"  {plan.folder} is a mount point: it stays, emptied")
    for kept in plan.kept:
        output.message(f"  kept: {kept['path']} ({kept['reason']})")


def _report_deleted(deleted: Any) -> None:
    from rich.filesize import decimal

    name, result = deleted.server.name, deleted.purge
    if result is None:
        output.message(f"deleted server {name}; its folder and backup archives are kept")
        return
    if result.link_only:
        output.message(f"deleted server {name} and the link {result.folder}")
    elif not result.existed:
        output.message(f"deleted server {name}; it had no folder to delete")
    else:
        output.message(
            f"deleted server {name} and its folder {result.folder}: "
            f"{_count(result.files, 'file')}, {decimal(result.size_bytes)}"
        )
    if result.folder_kept:
        output.message(f"{result.folder} stays, emptied: it is a mount point")
    for kept in result.kept:
        output.warning(f"kept {kept['path']}: {kept['reason']}")
    if result.left_at is not None:
        output.warning(f"what was kept is now in {result.left_at}")


@app.command()
def adopt(
    name: NameArgument,
    path: Annotated[str, typer.Option(metavar="DIR", help="This machine's folder for the server.")],
    yes: YesOption = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Take a server of another device (a remote one) onto this machine, in folder --path."""
    from gsm_cli.services import device, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        this = device.identity(store, environment.current().vars)
        server = servers.get_remote(store, name, this.id)
        config = server.configuration or {}
        owner = server.device_name or server.device_id or "an unknown device"
        output.message(f"{server.name} was set up on device {owner}; it will run here with:")
        for key in ("command", "args", "env", "stop_command"):
            output.message(f"  {key}: {_shown(config.get(key))}")
        confirm(f"Adopt {server.name} onto this machine in {path}, with this command?", yes)
        adopted = servers.adopt(store, paths(), environment.current().vars, name, path, this)
        output.message(f"adopted {adopted.name} in {adopted.install_path}; run gsm sync push")
        _emit_server(adopted, fmt, store)


def _shown(value: Any) -> str:
    """A configuration value from the cloud as the adopt question shows it: as JSON, so
    control characters and escape sequences are shown escaped, never sent to the terminal."""
    import json

    if value in (None, "", [], {}):
        return "- (the game's default)"
    return json.dumps(value)


def _targets(store: Any, name: str | None, all_: bool) -> list[str]:
    if all_ == bool(name):
        raise InvalidInputError("give a server NAME or --all (not both)")
    if name:
        return [name]
    return [s.name for s in _this_machines(store)]


def _this_machines(store: Any) -> list[Any]:
    """--all: every server of this machine; remote servers (other devices') are left out."""
    from gsm_cli.services import servers

    return [s for s in servers.list_all(store) if not servers.is_remote(s)]


def _all_by_name(store: Any, name: str | None, all_: bool) -> tuple[list[str], dict[str, Any]]:
    """The targets (``_targets``) and, with --all, each one's record and whether it is up,
    read for all of them at once (a lookup by name each would read the whole table each)."""
    from gsm_cli.services import lifecycle

    if not all_ or name:
        return _targets(store, name, all_), {}
    found = _this_machines(store)
    up = lifecycle.up_of(paths(), found)
    return [s.name for s in found], {s.name: (s, u) for s, u in zip(found, up, strict=True)}


def _stop_timeout(store: Any, timeout: float | None) -> float:
    from gsm_cli import environment
    from gsm_cli.services import settings

    if timeout is not None:  # checked when given (TimeoutOption)
        return timeout
    return float(settings.effective_value(store, "server.stop_timeout", environment.current().vars))


def _acted_row(store: Any) -> Any:
    """``(server, action) -> row``: a server as ``gsm server list`` gives it (its community's
    name included), and what was done to it, for start and restart."""
    from gsm_cli.services import communities

    names = communities.cached_names(store)
    return lambda server, action: {**views.server_row(server, names), "action": action}


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
    timeout: Annotated[
        float | None,
        typer.Option(
            metavar="SECONDS",
            help="Seconds to wait for it to be up (default: 30, or its settle time + 10).",
            show_default=False,
            callback=SECONDS,
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Start a server under its supervisor and wait until the game is up (its ready line, or
    its settle time); it keeps running after gsm exits."""
    from gsm_cli.services import lifecycle, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        acted = _acted_row(store)

        def run(target: str) -> dict[str, Any]:
            seen = lifecycle.observe(store, paths(), servers.get(store, target))
            if all_ and seen.supervised:
                return acted(seen.server, "already running")
            server = lifecycle.start(store, paths(), target, timeout=timeout)
            if seen.unsupervised:
                output.message(
                    f"attached a new supervisor to {server.name} (pid {server.process_id}); "
                    f"its console is lost: gsm server restart {server.name} gets it back"
                )
                return acted(server, "supervisor attached")
            output.message(f"started {server.name} (pid {server.process_id})")
            return acted(server, "started")

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
    from gsm_cli.services import lifecycle

    fmt = output_format(output_, json_)
    with open_store() as store:
        seconds = _stop_timeout(store, timeout)

        names, every = _all_by_name(store, name, all_)

        def run(target: str) -> dict[str, Any]:
            if all_:  # --all stops what is up; the rest is reported as it is
                server, up = every[target]
                if not up:
                    return {"name": server.name, "how": "not running", "exit_code": None}
            result = lifecycle.stop(store, paths(), target, timeout=seconds, force=force)
            output.message(f"stopped {result['name']} ({result['how']})")
            return result

        columns = (Column("name"), Column("how"), Column("exit_code"))
        _each(names, run, all_, fmt, columns)


def _max_wait(param: typer.CallbackParam, value: str | None) -> int | None:
    from gsm_cli.services import schedules

    return None if value is None else schedules.parse_duration(value, "--max-wait")


@app.command()
def restart(
    name: TargetArgument = None,
    all_: AllOption = False,
    timeout: TimeoutOption = None,
    when_empty: Annotated[
        bool,
        typer.Option(
            "--when-empty",
            help="First wait until no player is on (from the server's query), up to "
            "--max-wait; then warn the players for a minute and restart anyway.",
        ),
    ] = False,
    max_wait: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="With --when-empty: the longest wait (default 30m).",
            callback=_max_wait,
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Stop and start again (a stopped server is just started; --all restarts only the
    servers that run, and starts none that is down)."""
    from gsm_cli.services import lifecycle, players

    fmt = output_format(output_, json_)
    if max_wait is not None and not when_empty:
        raise InvalidInputError("--max-wait goes with --when-empty")
    if when_empty and all_:
        raise InvalidInputError("--when-empty restarts one server: give its NAME, not --all")
    with open_store() as store:
        seconds = _stop_timeout(store, timeout)

        names, every = _all_by_name(store, name, all_)
        if when_empty:
            waited = players.when_empty(
                store,
                paths(),
                names[0],
                max_wait=players.DEFAULT_MAX_WAIT_SECONDS if max_wait is None else max_wait,
                what="Server restart",
                report=output.message,
            )
            if not waited.empty:
                output.warning(f"restarting with {waited.players} player(s) still on")

        acted = _acted_row(store)

        def run(target: str) -> dict[str, Any]:
            if all_:  # --all restarts what runs; it starts nothing new
                server, up = every[target]
                if not up:
                    return acted(server, "not running")
            server = lifecycle.restart(store, paths(), target, timeout=seconds)
            output.message(f"restarted {server.name} (pid {server.process_id})")
            return acted(server, "restarted")

        _each(names, run, all_, fmt, SERVER_COLUMNS)


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
        if all_ and not name:
            results = lifecycle.statuses_of(store, paths(), _this_machines(store))
        else:
            results = lifecycle.statuses(store, paths(), _targets(store, name, all_))
    shown = [_shown_status(row) for row in results] if fmt == "table" else results
    if all_:
        output.emit(shown, fmt, STATUS_COLUMNS)
        return
    output.emit(shown[0], fmt, STATUS_DETAIL_COLUMNS)
    if fmt == "table" and results[0]["events"]:
        output.emit(results[0]["events"], fmt, EVENT_COLUMNS)


def _duration(seconds: int) -> str:
    """2d 4h, 2h 3m, 5m 12s, 40s."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def _size(count: int) -> str:
    """Binary units, as memory is counted: 512 MiB, 1.5 GiB."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit in ("B", "KiB", "MiB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _shown_status(row: dict[str, Any]) -> dict[str, Any]:
    """A status row as a person reads it: human units, and what is wrong with the status."""
    from gsm_cli.services import lifecycle

    alive = row["process_id"] is not None
    uptime, memory, cpu = row["uptime_seconds"], row["memory_bytes"], row["cpu_percent"]
    return {
        **row,
        "status": lifecycle.shown_status(row["status"], alive, row["supervised"], row["console"]),
        "uptime_seconds": None if uptime is None else _duration(uptime),
        "memory_bytes": None if memory is None else _size(memory),
        "cpu_percent": None if cpu is None else f"{cpu:g}%",
        "crashes": f"{row['crashes']} in {_duration(row['crash_window_seconds'])}",
        "freezes": f"{row['freezes']} in {_duration(row['crash_window_seconds'])}",
    }


@app.command()
def send(
    name: NameArgument,
    line: Annotated[str, typer.Argument(metavar="LINE", help="The console line to send.")],
    wait_for: Annotated[
        str | None,
        typer.Option(metavar="REGEX", help="Wait for a log line matching this regular expression."),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(metavar="SECONDS", help="Seconds to wait with --wait-for.", callback=SECONDS),
    ] = 10.0,
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
    lines: Annotated[
        int,
        typer.Option(
            "--lines",
            "-n",
            metavar="N",
            help="How many last lines.",
            callback=number_in_range(0, what="a whole number"),
        ),
    ] = 50,
) -> None:
    """Print a server's console log (the game's output and gsm's notes)."""
    from gsm_cli.services import lifecycle, servers

    with open_store() as store:
        server = servers.get(store, name)
    source = (
        lifecycle.follow_log(paths(), server, lines)
        if follow
        else lifecycle.tail_log(paths(), server, lines)
    )
    output.emit_lines(source)  # a game's own escape sequences are not passed to the terminal


@app.command()
def monitor(
    once: Annotated[
        bool, typer.Option(help="Check once and exit (for cron / Task Scheduler).")
    ] = False,
    interval: Annotated[
        float, typer.Option(metavar="SECONDS", help="Seconds between checks.", callback=SECONDS)
    ] = 30.0,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Check every server: restart crashed ones, and frozen ones (a running game whose query
    failed --freeze-after times in a row, counted across runs), attach a supervisor to a game
    whose supervisor died."""
    import time

    from gsm_cli.services import lifecycle

    fmt = output_format(output_, json_)
    columns = (Column("name"), Column("status_before"), Column("status"), Column("action"))
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
    keep: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Backups to keep, 1-1000 (default: backup.retention).",
            callback=like_setting("backup.retention"),
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Archive a server's folder (after its save command, when running)."""
    from gsm_cli import environment
    from gsm_cli.services import backups

    fmt = output_format(output_, json_)
    with (
        open_store() as store,
        backups.saved_for_backup(
            store, paths(), name, tell=output.message, warn=output.warning
        ) as server,
        output.Progress(f"backing up {server.name}", in_bytes=True) as bar,
    ):
        made = backups.create_backup(
            store,
            paths(),
            environment.current().vars,
            name,
            keep=keep,
            report=bar.report,
            notify=output.message,
        )
    if made.snapshot_id:
        where = f"the restic repository {made.path} (snapshot {made.snapshot_id[:8]})"
    else:
        where = made.path
    output.message(f"backed up {server.name} to {where}")
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
    from gsm_cli.services import backups, lifecycle, plugins, servers

    fmt = output_format(output_, json_)
    with open_store() as store:
        server = servers.get_local(store, name)
        # A plugin change killed half-way is settled first: its journal names files of the
        # folder the restore replaces.
        plugins.recover_server(store, paths(), server)
        found = backups.find_backup(store, name, backup_ref)
        store.check_writable()  # before asking, and before --stop takes the server down
        confirm(f"Replace the files of {server.name} with backup {found.id[:8]}?", yes)
        was_running = lifecycle.game_alive(server)
        if was_running and stop_first:
            # Check the archive before taking the server down, so a bad one costs no downtime.
            with output.Progress(f"verifying backup {found.id[:8]}", in_bytes=True) as bar:
                backups.verify_backup(
                    store, name, found.id, report=bar.report, env=environment.current().vars
                )
            timeout = _stop_timeout(store, None)
            lifecycle.stop(store, paths(), name, timeout=timeout)
        with output.Progress(f"restoring {server.name}", in_bytes=True) as bar:
            restored = backups.restore_backup(
                store,
                name,
                found.id,
                is_running=lifecycle.game_alive,
                report=bar.report,
                env=environment.current().vars,
            )
        source = restored.path
        if restored.snapshot_id:
            source = f"the restic repository {restored.path} (snapshot {restored.snapshot_id[:8]})"
        output.message(f"restored {server.name} from {source}")
        if was_running and stop_first:
            lifecycle.start(store, paths(), name)
            output.message(f"started {server.name} again")
    output.emit(restored.to_dict(), fmt, BACKUP_COLUMNS)
