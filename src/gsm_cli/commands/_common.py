"""What every command shares: the output options and opening the store."""

from typing import TYPE_CHECKING, Annotated

import typer

from gsm_cli import environment
from gsm_cli.errors import ConfirmationRequired
from gsm_cli.output import check_format
from gsm_cli.paths import Paths, ensure_folder, resolve_paths

if TYPE_CHECKING:
    from gsm_cli.store import Store

OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|csv",
        help="Output format (default: GSM_OUTPUT, then the output.format setting, then table).",
        show_default=False,
    ),
]
# For commands that must work when the store is unusable (doctor, config path).
LocalOutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|csv",
        help="Output format (default: GSM_OUTPUT, then table).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --output json.")]


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")]


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; elsewhere (scripts, CI) demand --yes instead of hanging on a prompt."""
    if yes:
        return
    env = environment.current()
    if not env.interactive:
        raise ConfirmationRequired(f"{question} Pass --yes to confirm.")
    if not typer.confirm(question, default=False, err=True):
        raise typer.Abort()


def paths() -> Paths:
    return resolve_paths(environment.current().vars)


def open_store() -> "Store":
    """The store, upgraded to this gsm's schema; read-only when this user cannot write it.

    GSM_HOME that is a file or cannot be created is a HomeUnusableError (exit 4) naming it.
    """
    # Imported here so that `gsm CMD --help` does not load SQLAlchemy.
    from gsm_cli.store import Store

    where = paths()
    if where.home is not None:
        ensure_folder(where.home, "GSM_HOME")
    return Store.open(where.store_file)


def output_format(
    output: str | None, json_flag: bool, store: "Store | None" = None, *, use_store: bool = True
) -> str:
    """Settle the format once per command, so errors after this point follow it too.

    Call it before anything that can fail, so that `--json` errors come out as JSON.
    """
    from gsm_cli.services import settings

    env = environment.current()
    if json_flag:
        fmt = "json"
    elif output is not None:
        fmt = check_format(output, "for --output")
    elif env.vars.get("GSM_OUTPUT"):
        fmt = check_format(env.vars["GSM_OUTPUT"], "in GSM_OUTPUT")
    elif store is not None:
        fmt = settings.default_output_format(store, env.vars)
    elif not use_store:
        fmt = "table"
    else:
        with open_store() as own_store:
            fmt = settings.default_output_format(own_store, env.vars)
    env.output_format = fmt
    return fmt
