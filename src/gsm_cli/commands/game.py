"""gsm game: the game catalog, and installing, updating and validating game files."""

from pathlib import Path
from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    open_store,
    output_format,
    paths,
)
from gsm_cli.output import Column

app = typer.Typer(
    help="List games; install, update and validate game files.",
    no_args_is_help=True,
    add_completion=False,
)

GameArgument = Annotated[
    str, typer.Argument(metavar="GAME", help="Game id from `gsm game list`, such as valheim.")
]
GAME_COLUMNS = (
    Column("id"),
    Column("name"),
    Column("steam_app_id"),
    Column("game_port"),
    Column("query_port"),
    Column("query_protocol"),
    Column("max_players"),
)
INFO_COLUMNS = (
    *GAME_COLUMNS,
    Column("stop"),
    Column("save_command"),
    Column("say_command"),
    Column("executable"),
    Column("args"),
    Column("install_hint"),
    Column("plugin_dir"),
    Column("install_path"),
    Column("version"),
)
INSTALLATION_COLUMNS = (
    Column("game_type"),
    Column("install_path"),
    Column("version"),
    Column("last_updated"),
    Column("steam_app_id"),
    Column("is_valid"),
)


def _game_record(game: Any, installation: Any) -> dict[str, Any]:
    """A game as `game list` and `game info` show it: the catalog entry and its installation."""
    return {**game.to_dict(), "installation": installation.to_dict() if installation else None}


@app.command("list")
def list_(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """List the games gsm knows, with their Steam app ids and default ports."""
    from gsm_cli.services import games, steamcmd

    fmt = output_format(output_, json_)
    with open_store() as store:
        installed = {row.game_type: row for row in steamcmd.list_installations(store)}
    rows = [
        _game_record(game, installed.get(game.id))
        for game in sorted(games.catalog().values(), key=lambda g: g.id)
    ]
    output.emit(rows, fmt, GAME_COLUMNS)


@app.command("info")
def info(game: GameArgument, output_: OutputOption = None, json_: JsonOption = False) -> None:
    """Show one game: ports, how it starts and stops, and where it is installed."""
    from gsm_cli.services import games, steamcmd

    fmt = output_format(output_, json_)
    found = games.get_game(game)
    with open_store() as store:
        installation = steamcmd.get_installation(store, found.id)
    data = _game_record(found, installation)
    if fmt != "table":  # JSON and CSV: the same keys as each item of `game list`
        output.emit(data, fmt, INFO_COLUMNS)
        return
    launch = found.launch_for()
    flat = {
        **data,
        "stop": ", ".join(found.stop_commands) if found.stop_commands else found.stop_signal,
        "executable": launch.executable if launch else None,
        "args": " ".join(launch.args) if launch else None,
        "install_path": installation.install_path if installation else None,
        "version": installation.version if installation else None,
    }
    output.emit(flat, fmt, INFO_COLUMNS)


def _run_steamcmd(description: str, work: Any) -> Any:
    """Run a SteamCMD job behind a progress bar on stderr."""
    with output.Progress(description, in_bytes=True) as bar:
        return work(bar.report)


def _done(record: Any, fmt: str, note: str) -> None:
    if fmt == "json":
        output.emit(record.to_dict(), fmt, INSTALLATION_COLUMNS)
    else:
        output.message(note)


def _version(record: Any) -> str:
    return f" (build {record.version})" if record.version else ""


@app.command("install")
def install(
    game: GameArgument,
    path: Annotated[
        Path | None,
        typer.Option(
            "--path",
            metavar="DIR",
            help="Folder for the game's files (default: <data>/games/GAME).",
            show_default=False,
        ),
    ] = None,
    validate: Annotated[
        bool, typer.Option("--validate", help="Also check every file after the download.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Install a game's server files with SteamCMD (anonymous login)."""
    from gsm_cli.services import steamcmd

    fmt = output_format(None, json_) if json_ else "text"
    env = environment.current().vars
    found = steamcmd.steam_game(game)
    folder = path if path is not None else paths().data_dir / "games" / found.id
    with open_store() as store:
        previous = steamcmd.get_installation(store, found.id)
        record = _run_steamcmd(
            f"Installing {found.name}",
            lambda report: steamcmd.install(
                store, found.id, folder, env, validate=validate, report=report
            ),
        )
    if previous and previous.install_path != record.install_path:
        output.warning(
            f"{found.id} was recorded in {previous.install_path}; gsm now uses "
            f"{record.install_path} (the old folder was left as it is)"
        )
    _done(record, fmt, f"installed {found.name}{_version(record)} in {record.install_path}")


@app.command("update")
def update(
    game: GameArgument,
    validate: Annotated[
        bool, typer.Option("--validate", help="Also check every file after the download.")
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Update an installed game's files where they were installed."""
    from gsm_cli.services import steamcmd

    fmt = output_format(None, json_) if json_ else "text"
    env = environment.current().vars
    found = steamcmd.steam_game(game)
    with open_store() as store:
        record = _run_steamcmd(
            f"Updating {found.name}",
            lambda report: steamcmd.update(store, found.id, env, validate=validate, report=report),
        )
    _done(record, fmt, f"updated {found.name}{_version(record)} in {record.install_path}")


@app.command("validate")
def validate(game: GameArgument, json_: JsonOption = False) -> None:
    """Check an installed game's files; SteamCMD fetches again what is missing or damaged.

    Exits 8 when the files cannot be made whole.
    """
    from gsm_cli.services import steamcmd

    fmt = output_format(None, json_) if json_ else "text"
    env = environment.current().vars
    found = steamcmd.steam_game(game)
    with open_store() as store:
        record = _run_steamcmd(
            f"Validating {found.name}",
            lambda report: steamcmd.validate(store, found.id, env, report=report),
        )
    _done(record, fmt, f"{found.name}{_version(record)} in {record.install_path} is valid")


@app.command("installations")
def installations(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """List the games installed with gsm, where, and which build."""
    from gsm_cli.services import steamcmd

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = steamcmd.list_installations(store)
    output.emit([row.to_dict() for row in rows], fmt, INSTALLATION_COLUMNS)
