"""What every command shares: the output options, checks of option values, opening the store.

Option values are checked when the command line is read (Typer callbacks below), so a bad
value is refused at once with exit 4 (a value that does not even parse is Click's exit 2).
Services keep their own checks for callers other than the CLI.
"""

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from gsm_cli import environment
from gsm_cli.errors import ConfirmationRequired, InvalidInputError
from gsm_cli.output import FORMATS, check_format, clean
from gsm_cli.paths import Paths, ensure_folder, resolve_paths

if TYPE_CHECKING:
    from gsm_cli.store import Store


def _early_output(value: str | None) -> str | None:
    """-o/--output, read before every other option: an error found in another option's value
    while the command line is read comes out as JSON when JSON was asked for (here or in
    GSM_OUTPUT). output_format() settles the format for good, and refuses bad values."""
    env = environment.current()
    chosen = value if value is not None else env.vars.get("GSM_OUTPUT")
    fmt = (chosen or "").strip().lower()
    if env.output_format != "json" and fmt in FORMATS:
        env.output_format = fmt
    return value


def _early_json(value: bool) -> bool:
    if value:
        environment.current().output_format = "json"
    return value


OutputOption = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|csv",
        help="Output format (default: GSM_OUTPUT, then the output.format setting, then table).",
        show_default=False,
        is_eager=True,
        callback=_early_output,
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
        is_eager=True,
        callback=_early_output,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Same as --output json.", is_eager=True, callback=_early_json),
]

# Every status a server record can have (`gsm server list --status`): `remote` is a server of
# another device, pulled from the cloud.
SERVER_STATUSES = ("stopped", "starting", "running", "stopping", "crashed", "failed", "remote")

# --- checks of option values, used as Typer callbacks -------------------------------------

Check = Callable[[typer.CallbackParam, Any], Any]


def _option_name(param: typer.CallbackParam) -> str:
    return max(param.opts, key=len)  # --lines rather than -n


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else repr(value)


def _refuse(param: typer.CallbackParam, value: Any, expected: str, **extra: Any) -> NoReturn:
    raise InvalidInputError(
        f"invalid value {_shown(value)} for {_option_name(param)}: {expected}", **extra
    )


def number_in_range(
    low: float, high: float | None = None, *, above: bool = False, what: str = "a number"
) -> Check:
    """A number of at least ``low`` (more than ``low`` with ``above``), at most ``high``."""
    if above:
        expected = f"expected {what} more than {low:g}"
    elif high is None:
        expected = f"expected {what}, {low:g} or more"
    else:
        expected = f"expected {what} from {low:g} to {high:g}"

    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is None:
            return value
        if (
            not math.isfinite(value)
            or (value <= low if above else value < low)
            or (high is not None and value > high)
        ):
            _refuse(param, value, expected)
        return value

    return check


def like_setting(key: str) -> Check:
    """A value the setting ``key`` would accept (--keep like backup.retention): one rule."""

    def check(param: typer.CallbackParam, value: Any) -> Any:
        from gsm_cli.services import settings

        if value is not None:
            try:
                settings.SPECS[key].parse(str(value))
            except ValueError as exc:
                _refuse(param, value, str(exc))
        return value

    return check


def one_of(choices: Sequence[str]) -> Check:
    def check(param: typer.CallbackParam, value: Any) -> Any:
        if value is not None and value not in choices:
            _refuse(param, value, f"expected one of {', '.join(choices)}")
        return value

    return check


def known_game(param: typer.CallbackParam, value: str | None) -> str | None:
    """A game id from the catalog, as the catalog spells it."""
    from gsm_cli.errors import NotFoundError
    from gsm_cli.services import games

    if value is None:
        return value
    try:
        return games.get_game(value).id
    except NotFoundError as err:
        _refuse(param, value, "no such game in the catalog", hint=err.hint, code="invalid_game")


def fillable(param: typer.CallbackParam, value: str | list[str] | None) -> Any:
    """A command line or argument whose {placeholders} gsm can fill in when the server starts."""
    from gsm_cli.services import processes

    for template in [value] if isinstance(value, str) else value or []:
        problem = processes.template_problem(template)
        if problem:
            _refuse(param, template, problem, hint=processes.PLACEHOLDER_HINT)
    return value


YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking.")]


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; elsewhere (scripts, CI) demand --yes instead of hanging on a prompt."""
    if yes:
        return
    env = environment.current()
    if not env.interactive:
        raise ConfirmationRequired(f"{question} Pass --yes to confirm.")
    if not typer.confirm(clean(question), default=False, err=True):
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


# --- how options and arguments look in --help ---------------------------------------------
#
# Typer's help shows a parameter's Python type (`--port <int>`, `--json <bool>`) and a required
# argument in braces (`gsm server start {NAME}`). gsm's help follows Click's and argparse's
# convention instead, in this one place for every command: a flag shows no value, a value option
# shows its metavar (declared, else the choices, else the option's name in capitals:
# `--port PORT`), and the usage line reads `NAME`, `[NAME]` or `NAME...`.


class _HelpOption(typer.core.TyperOption):
    def display_type_rich(self, ctx: typer.Context) -> str | None:
        if self.is_flag or self.count:
            return None
        return super().display_type_rich(ctx)


class _HelpArgument(typer.core.TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else self.name.upper()

    def display_type_rich(self, ctx: typer.Context) -> str | None:
        return None  # the name column already says what it is

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return f"{name}..." if self.nargs != 1 else name


def _metavar(option: typer.core.TyperOption) -> str:
    choices = option.type_descriptor.choices if option.type_descriptor.is_choice else None
    if choices:
        return "|".join(str(getattr(choice, "value", choice)) for choice in choices)
    return (option.name or max(option.opts, key=len).lstrip("-")).upper()


def plain_params(params: Sequence[Any]) -> None:
    """Give these options and arguments gsm's help conventions (idempotent)."""
    for param in params:
        if type(param) is typer.core.TyperOption:
            param.__class__ = _HelpOption
            if param.metavar is None and not (param.is_flag or param.count):
                param.metavar = _metavar(param)
        elif type(param) is typer.core.TyperArgument:
            param.__class__ = _HelpArgument


def plain_help(
    command: typer.core.TyperCommand | typer.core.TyperGroup, ctx: typer.Context | None = None
) -> None:
    """Give ``command`` and every command under it gsm's help conventions.

    With ``ctx`` (the context the command runs under) its help option is included too.
    """
    plain_params(command.get_params(ctx) if ctx is not None else command.params)
    for name, sub in getattr(command, "commands", {}).items():
        plain_help(sub, typer.Context(sub, parent=ctx, info_name=name) if ctx else None)
