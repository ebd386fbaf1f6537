"""gsm auth: log in to gsm-cloud, see who you are, log out."""

from typing import Annotated

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, OutputOption, open_store, output_format, paths
from gsm_cli.errors import ConfirmationRequired
from gsm_cli.output import Column

app = typer.Typer(
    help="Log in to gsm-cloud and out again.", no_args_is_help=True, add_completion=False
)

WHO_COLUMNS = (Column("email"), Column("display_name"), Column("role"), Column("api_url"))


@app.command()
def login(
    api_url: Annotated[
        str | None, typer.Option(metavar="URL", help="The cloud API (default: configured).")
    ] = None,
    with_token: Annotated[
        bool, typer.Option(help="Read a token (e.g. a personal access token) from stdin.")
    ] = False,
    email: Annotated[str | None, typer.Option(help="Email (asked for when not given).")] = None,
    json_: JsonOption = False,
) -> None:
    """Log in with email and password (asked on a terminal), or --with-token for CI."""
    from gsm_cli.services import auth

    env = environment.current()
    if json_:
        output_format(None, True)
    with open_store() as store:
        url = auth.resolve_api_url(store, env.vars, api_url, paths())
        if with_token:
            who = auth.login_with_token(
                store, paths(), env.vars, api_url=url, token=env.stdin.read()
            )
        else:
            if not env.interactive:
                raise ConfirmationRequired(
                    "cannot ask for a password here (not a terminal, or CI)",
                    hint="pipe a token: gsm auth login --with-token < token.txt",
                )
            email = email or typer.prompt("Email", err=True)
            password = typer.prompt("Password", hide_input=True, err=True)
            who = auth.login_with_password(
                store, paths(), env.vars, api_url=url, email=email, password=password
            )
    output.message(f"logged in to {who['api_url']} as {who['email']}")
    if json_:
        output.emit(who, "json", WHO_COLUMNS)


@app.command()
def status(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """Who you are on which cloud, and whether the token still works."""
    from gsm_cli.services import auth

    with open_store() as store:
        fmt = output_format(output_, json_, store)
        info = auth.status(store, paths(), environment.current().vars)
    output.emit(info, fmt, (*WHO_COLUMNS, Column("token_source"), Column("token_valid")))


@app.command()
def logout(
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke",
            help="Also revoke the token on the cloud: it stops working on every machine.",
        ),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Forget the token on this machine (it keeps working elsewhere); --revoke revokes it."""
    from gsm_cli.services import auth

    if json_:
        output_format(None, True)
    with open_store() as store:
        result = auth.logout(store, paths(), environment.current().vars, revoke=revoke)
    if not result["logged_out"]:
        output.message("was not logged in")
    elif result["revoked_on_cloud"]:
        output.message("logged out; the token is revoked on the cloud")
        others = result["other_devices"]
        if others:
            names = ", ".join(
                f"{d['device_name'] or d['device_id']} (last seen {d['last_seen_at'] or '-'})"
                for d in others
            )
            output.warning(f"the token was also used by {len(others)} other device(s): {names}")
        elif others is None:
            output.message("the cloud does not say which other devices used the token")
    elif result["reason"]:
        output.warning(f"forgot the token on this machine; {result['reason']}")
    else:
        output.message(
            "logged out on this machine; the token still works wherever else it is used "
            "(gsm auth logout --revoke revokes it)"
        )
    if result["env_token_still_set"]:
        output.warning("GSM_TOKEN is set: commands keep using it until it is unset")
    if json_:
        output.emit(result, "json", ())
