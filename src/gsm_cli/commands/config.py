"""gsm config: list, get, set and unset settings; show where gsm keeps its files."""

from typing import Annotated

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import (
    JsonOption,
    LocalOutputOption,
    OutputOption,
    open_store,
    output_format,
    paths,
)
from gsm_cli.output import Column
from gsm_cli.views import SETTING_COLUMNS

app = typer.Typer(
    help="Show and change gsm's settings.", no_args_is_help=True, add_completion=False
)

KeyArgument = Annotated[
    str, typer.Argument(metavar="KEY", help="Setting key, such as backup.retention.")
]


@app.command("list")
def list_(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """List every setting with its value and where the value comes from."""
    from gsm_cli.services import settings

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = settings.list_settings(store, environment.current().vars)
    output.emit([row.to_dict() for row in rows], fmt, SETTING_COLUMNS)


@app.command("get")
def get(key: KeyArgument, json_: JsonOption = False) -> None:
    """Print a setting's value (an empty line when it has none)."""
    from gsm_cli.services import settings

    fmt = output_format(None, json_) if json_ else "text"
    with open_store() as store:
        setting = settings.get_setting(store, key, environment.current().vars)
    if fmt == "json":
        output.emit(setting.to_dict(), fmt, SETTING_COLUMNS)
    else:
        output.emit_value(setting.value)


@app.command("set")
def set_(
    key: KeyArgument,
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="New value; checked against the key's rules.")
    ],
    json_: JsonOption = False,
) -> None:
    """Store a setting after checking its value."""
    from gsm_cli.services import settings

    if json_:
        output_format(None, True)
    with open_store() as store:
        setting = settings.set_setting(store, key, value)
    if json_:
        output.emit(setting.to_dict(), "json", SETTING_COLUMNS)
    else:
        output.message(f"{setting.key} = {setting.value}")
    spec = settings.SPECS[key]
    if spec.env_var and environment.current().vars.get(spec.env_var):
        output.warning(f"{spec.env_var} is set and overrides {key} while it is")


@app.command("unset")
def unset(key: KeyArgument, json_: JsonOption = False) -> None:
    """Forget a stored setting, so its default applies again."""
    from gsm_cli.services import settings

    if json_:
        output_format(None, True)
    with open_store() as store:
        removed = settings.unset_setting(store, key)
        setting = settings.get_setting(store, key, {})
    if json_:
        output.emit({**setting.to_dict(), "removed": removed}, "json", SETTING_COLUMNS)
    elif removed:
        output.message(f"{key} unset (default: {setting.default or 'none'})")
    else:
        output.message(f"{key} was not set")


@app.command("path")
def path(output_: LocalOutputOption = None, json_: JsonOption = False) -> None:
    """Show where gsm keeps its store, settings, logs and backups."""
    fmt = output_format(output_, json_, use_store=False)
    folders = paths().as_dict()
    output.emit(folders, fmt, [Column(key) for key in folders])
