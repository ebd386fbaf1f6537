"""The root ``gsm`` command: a lazy registry of sub-commands and the single error boundary.

``gsm --help`` and ``gsm --version`` import no command module (and so neither SQLAlchemy nor
httpx): the registry below carries each command's one-line summary, and a module is imported
only when its command runs (the idea of pip's command registry and Click's LazyGroup).
"""

import difflib
import importlib
import logging
import sys
import traceback
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from gsm_cli import __version__, environment, output
from gsm_cli.entry import leave as _leave
from gsm_cli.entry import reader_may_be_gone as _reader_may_be_gone
from gsm_cli.entry import silence_closed_pipes as _silence_closed_pipes
from gsm_cli.errors import ExitCode, GsmError

# name -> (module holding a Typer app named `app`, summary shown by `gsm --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "server": (
        "gsm_cli.commands.server",
        "Create, start, stop, supervise, back up and restore game servers.",
    ),
    "auth": ("gsm_cli.commands.auth", "Log in to gsm-cloud and out again."),
    "config": ("gsm_cli.commands.config", "Show and change gsm's settings."),
    "doctor": ("gsm_cli.commands.doctor", "Check the store, folders, cloud and tools."),
    "game": ("gsm_cli.commands.game", "List games; install, update and validate game files."),
    "sync": ("gsm_cli.commands.sync", "Push queued changes to gsm-cloud and pull others' changes."),
    "plugin": (
        "gsm_cli.commands.plugin",
        "Author, publish, search, install, lock and verify plugins.",
    ),
    "metrics": (
        "gsm_cli.commands.metrics",
        "Collect, show, chart, watch, export and prune servers' performance history.",
    ),
    "community": (
        "gsm_cli.commands.community",
        "Create, join and manage communities in gsm-cloud: members, roles, invitations.",
    ),
    "revenue": ("gsm_cli.commands.revenue", "What you earned from your plugins and communities."),
    "alert": (
        "gsm_cli.commands.alert",
        "Send crashes, crash loops and other server events to chat, mail or webhooks.",
    ),
    "service": (
        "gsm_cli.commands.service",
        "Install and run the gsm service: autostart servers at boot, run gsm's duties.",
    ),
    "schedule": (
        "gsm_cli.commands.schedule",
        "Schedule task chains per server: in-game warnings, backups, restarts, updates.",
    ),
}

log = logging.getLogger("gsm")


def load_command(name: str, parent: typer.Context | None = None) -> Any:
    """The command ``name`` with gsm's help conventions (its help option too, given the
    context it runs under)."""
    from gsm_cli.commands._common import plain_help

    module_path, _summary = COMMANDS[name]
    module = importlib.import_module(module_path)
    command = typer.main.get_command(module.app)
    command.name = name
    plain_help(command, typer.Context(command, parent=parent, info_name=name) if parent else None)
    return command


class GsmGroup(TyperGroup):
    _formatting_help = False

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return None
        if self._formatting_help:
            # Listing commands in help needs only the summary: do not import the module.
            return TyperCommand(name=cmd_name, help=COMMANDS[cmd_name][1])
        return load_command(cmd_name, ctx)

    def get_params(self, ctx: typer.Context) -> list[Any]:
        from gsm_cli.commands._common import plain_params

        params = super().get_params(ctx)
        plain_params(params)  # gsm's own options; the commands get theirs in load_command
        return params

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        self._formatting_help = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._formatting_help = False

    def resolve_command(self, ctx: typer.Context, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except typer.TyperException as exc:  # "No such command": suggest from the registry
            close = difflib.get_close_matches(args[0], COMMANDS, n=1) if args else []
            if close:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {close[0]!r}?"
            raise

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # A fresh environment per invocation: CliRunner swaps sys streams for every call.
        env = environment.reset()
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except typer.TyperException as exc:  # usage errors (exit 2) and Click's other errors
            code = exc.exit_code
            with _reader_may_be_gone():
                _show_usage_error(exc)
        except typer.Abort:
            code = int(ExitCode.UNEXPECTED)
            with _reader_may_be_gone():
                output.message("error: aborted")
        # Whatever is still buffered goes out now, so that a reader who left early cannot make
        # the interpreter's own flush at exit fail ("Exception ignored ... BrokenPipeError").
        with _reader_may_be_gone():
            for stream in (env.stdout, env.stderr, sys.stdout, sys.stderr):
                stream.flush()
        if not standalone_mode:
            return code
        sys.exit(code)

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        # `gsm --help | head -1`, `gsm --version | true`: printed while the context is made.
        try:
            return super().make_context(*args, **kwargs)
        except (BrokenPipeError, SystemExit) as exc:
            if not _closed_pipe(exc):
                raise
            _silence_closed_pipes()
            raise typer.Exit(int(ExitCode.OK)) from None

    def invoke(self, ctx: typer.Context) -> Any:
        """The error boundary: every expected error becomes one line and its exit code."""
        env = environment.current()
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # Click's own exits and usage errors (exit 2) keep their handling
        except GsmError as err:
            with _reader_may_be_gone():
                if env.debug:
                    env.stderr.write(output.clean(traceback.format_exc()))
                output.error(err)
            raise typer.Exit(int(err.exit_code)) from None
        except KeyboardInterrupt:
            with _reader_may_be_gone():
                output.message("interrupted")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except (BrokenPipeError, SystemExit) as exc:
            if not _closed_pipe(exc):
                raise
            # `gsm ... | head` read what it wanted and closed the pipe: that is a success.
            _silence_closed_pipes()
            raise typer.Exit(int(ExitCode.OK)) from None
        except Exception as exc:
            with _reader_may_be_gone():
                if env.debug:
                    env.stderr.write(output.clean(traceback.format_exc()))
                output.error(
                    GsmError(
                        f"unexpected {type(exc).__name__}: {exc}",
                        hint="run again with --debug for the traceback, and report it",
                        code="unexpected",
                    )
                )
            raise typer.Exit(int(ExitCode.UNEXPECTED)) from None


def _closed_pipe(exc: BaseException) -> bool:
    """Did this come from a reader closing the pipe? Rich answers a closed pipe with
    SystemExit(1) raised while it handles the BrokenPipeError (help texts are printed by Rich)."""
    if isinstance(exc, SystemExit):
        return isinstance(exc.__context__, BrokenPipeError)
    return isinstance(exc, BrokenPipeError)


def _show_usage_error(exc: typer.TyperException) -> None:
    """Click's usage line, then our one-line error, instead of a framed panel."""
    ctx = getattr(exc, "ctx", None)
    if not exc.format_message():  # a bare `gsm` or `gsm config`: Typer has printed the help
        return
    if ctx is not None:
        output.message(ctx.get_usage())
        output.message(f"Try '{ctx.command_path} --help' for help.")
    output.message(f"error: {exc.format_message()}")


app = typer.Typer(
    name="gsm",
    cls=GsmGroup,
    help="Run, supervise, back up and sync dedicated game servers.",
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"gsm {__version__}")
        raise typer.Exit()


class _CleanFormatter(logging.Formatter):
    """Log lines (--verbose, --debug) can quote the cloud or a game: no escape sequences."""

    def format(self, record: logging.LogRecord) -> str:
        return output.clean(super().format(record))


def _configure_logging(env: environment.Environment) -> None:
    level = logging.DEBUG if env.debug else logging.INFO if env.verbose else logging.WARNING
    handler = logging.StreamHandler(env.stderr)
    handler.setFormatter(_CleanFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("gsm")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show gsm's version and exit."
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Say more about what gsm does, on stderr.")
    ] = False,
    debug: Annotated[
        bool,
        typer.Option("--debug", envvar="GSM_DEBUG", help="Debug logging; tracebacks on errors."),
    ] = False,
) -> None:
    env = environment.current()
    env.verbose = verbose or debug
    env.debug = debug
    _configure_logging(env)


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="gsm")
    except SystemExit as exc:
        _leave(exc.code)
    _leave(0)
