"""gsm-cloud: serve the API, migrate its database, create users and tokens."""

import sys
from typing import Annotated

import typer

app = typer.Typer(
    name="gsm-cloud",
    help="The gsm cloud API server. Database: GSM_CLOUD_DATABASE_URL (else an SQLite file).",
    no_args_is_help=True,
    add_completion=False,
)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")


def _fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _database():  # type: ignore[no-untyped-def]
    from gsm_cloud.config import load_settings
    from gsm_cloud.db.engine import make_engine, session_factory

    settings = load_settings()
    engine = make_engine(settings.database_url)
    return settings, engine, session_factory(engine)


def _require_current_schema(engine) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import OperationalError

    from gsm_cloud.db.engine import current_revision, head_revision

    try:
        current = current_revision(engine)
    except OperationalError as exc:
        _fail(f"cannot reach the database: {exc.orig}", 7)
    if current != head_revision():
        _fail(f"the database is at schema {current or 'none'}; run `gsm-cloud migrate` first", 5)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    from gsm_cloud.db.engine import current_revision
    from gsm_cloud.db.engine import migrate as run_migrations

    settings, engine, _ = _database()
    before = current_revision(engine)
    run_migrations(engine)
    after = current_revision(engine)
    where = settings.database_url.split("@")[-1]
    typer.echo(f"database {where}: schema {before or 'none'} -> {after}", err=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1, max=64)] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(
            help="Log one line per request (default: GSM_CLOUD_ACCESS_LOG, else on).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the API with uvicorn (slow clients cut off; no query strings in the access log)."""
    import uvicorn

    from gsm_cloud import server

    settings, engine, _ = _database()
    _require_current_schema(engine)
    engine.dispose()
    uvicorn.run(
        "gsm_cloud.app:create_app",
        factory=True,
        host=host,
        port=port,
        **server.uvicorn_options(
            workers=workers,
            access_log=settings.access_log if access_log is None else access_log,
            http=settings.http,
        ),
    )


@app.command()
def openapi(
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")
    ] = None,
) -> None:
    """Print the OpenAPI document (docs/openapi.json is this output)."""
    from pathlib import Path

    text = openapi_text()
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def openapi_text() -> str:
    import json
    import tempfile
    from pathlib import Path

    from gsm_cloud.app import create_app
    from gsm_cloud.config import Settings

    # The document depends on the code only: no database is touched to build it.
    settings = Settings(database_url="sqlite://", storage_dir=Path(tempfile.gettempdir()))
    return json.dumps(create_app(settings).openapi(), indent=2, sort_keys=True) + "\n"


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's email (their login).")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[str, typer.Option(help="Basic, Developer or Admin.")] = "Basic",
    password_stdin: Annotated[
        bool, typer.Option(help="Read a password from stdin (else: token-only user).")
    ] = False,
) -> None:
    """Create a user; prints the new user's id."""
    import re

    from gsm_cloud.api.errors import ApiError
    from gsm_cloud.db.engine import transaction
    from gsm_cloud.services import accounts

    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email) or len(email) > 255:
        _fail(f"{email!r} is not an email address", 4)
    if not name.strip() or len(name) > 100:
        _fail("--name must be 1 to 100 characters", 4)
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
    if password_stdin and not password:
        _fail("no password on stdin", 4)
    _settings, engine, sessions = _database()
    _require_current_schema(engine)
    try:
        with transaction(sessions) as session:
            user = accounts.create_user(
                session, email=email, display_name=name, role=role, password=password
            )
            user_id = user.id
    except ApiError as err:
        _fail(err.message, 5 if err.status_code == 409 else 4)
    typer.echo(str(user_id))


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="The user's email.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'ci'.")],
    days: Annotated[int | None, typer.Option(help="Expire after this many days.", min=1)] = None,
) -> None:
    """Create a personal access token; prints the token (shown only this once)."""
    if not name.strip() or len(name) > 100:
        _fail("--name must be 1 to 100 characters", 4)
    from datetime import timedelta

    from gsm_cloud.api.errors import ApiError
    from gsm_cloud.clock import utcnow
    from gsm_cloud.db.engine import transaction
    from gsm_cloud.services import accounts

    _settings, engine, sessions = _database()
    _require_current_schema(engine)
    try:
        with transaction(sessions) as session:
            owner = accounts.user_by_email(session, user)
            expires = utcnow() + timedelta(days=days) if days else None
            issued = accounts.issue_token(
                session, owner, name=name, kind="personal", expires_at=expires
            )
    except ApiError as err:
        _fail(err.message, 3 if err.status_code == 404 else 4)
    typer.echo(issued.token)


def main() -> None:
    """Entry point: known failures become one line and an exit code, never a traceback."""
    from sqlalchemy.exc import OperationalError

    from gsm_cloud.config import SettingsError

    try:
        result = app(prog_name="gsm-cloud", standalone_mode=False)
    except SettingsError as exc:
        _report(str(exc), 4)
    except OperationalError as exc:
        _report(f"cannot reach the database: {str(exc.orig).strip().splitlines()[0]}", 7)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except typer.Abort:
        _report("aborted", 130)
    except typer.TyperException as exc:  # usage errors
        exc.show()
        sys.exit(exc.exit_code)
    # Without standalone mode, an exit inside a command comes back as its return value.
    sys.exit(result if isinstance(result, int) else 0)


def _report(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    sys.exit(code)
