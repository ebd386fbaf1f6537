"""gsm alert: where server events are sent (chat, mail, webhooks through Apprise), and a test
(docs/alerts.md).

The channels, the queue and the sending live in services/alerts.py; this module parses options
and renders. A channel's URL is a secret: only its masked form is ever shown.
"""

from typing import Annotated

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, OutputOption, open_store, output_format
from gsm_cli.output import Column

app = typer.Typer(
    help="Send server events (crashes, crash loops, freezes, failed backups...) to chat, mail "
    "or webhooks through Apprise.",
    no_args_is_help=True,
    add_completion=False,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="The channel's name.")]
CHANNEL_COLUMNS = (
    Column("name"),
    Column("url"),
    Column("events"),
    Column("enabled"),
    Column("pending"),
    Column("sent"),
    Column("failed"),
    Column("suppressed"),
)
DETAIL_COLUMNS = (Column("id"), *CHANNEL_COLUMNS, Column("created_at"), Column("last_error"))
MESSAGE_COLUMNS = (
    Column("created_at"),
    Column("server"),
    Column("event"),
    Column("status"),
    Column("attempts"),
    Column("last_error"),
)
KINDS_HELP = (
    "Comma-separated events to send: crash, crash-loop, freeze, backup-failed, start, stop, "
    "update, schedule-failed, or all (default: crash, crash-loop, freeze, backup-failed, "
    "schedule-failed)."
)


@app.command("add")
def add(
    name: NameArgument,
    url: Annotated[
        str,
        typer.Option(
            "--url",
            metavar="URL",
            help="An Apprise URL (discord://..., slack://..., tgram://..., mailto://..., "
            "ntfy://..., json://host/path...). A secret: it is stored, never shown in full.",
            show_default=False,
        ),
    ],
    on: Annotated[
        str | None,
        typer.Option("--on", metavar="EVENTS", help=KINDS_HELP, show_default=False),
    ] = None,
    output_: OutputOption = None,
    json_: JsonOption = False,
) -> None:
    """Add a channel: an Apprise URL and the events sent to it (checked by Apprise now)."""
    from gsm_cli.services import alerts

    fmt = output_format(output_, json_)
    events = alerts.parse_events(on)
    with open_store() as store:
        channel = alerts.add_channel(store, name, url, events)
    output.message(
        f"added alert channel {channel.name} ({alerts.mask_url(channel.url)}) for "
        f"{', '.join(channel.events)}; try it with `gsm alert test {channel.name}`"
    )
    if fmt != "table":
        output.emit(channel.to_dict(), fmt, DETAIL_COLUMNS)


@app.command("list")
def list_(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """The channels, their URLs masked, and their messages by status."""
    from gsm_cli.services import alerts

    fmt = output_format(output_, json_)
    with open_store() as store:
        channels = [channel.to_dict() for channel in alerts.list_channels(store)]
    if fmt == "table":
        if not channels:
            output.message("no alert channels; add one with `gsm alert add NAME --url URL`")
            return
        channels = [{**c, "events": ",".join(c["events"])} for c in channels]
    output.emit(channels, fmt, CHANNEL_COLUMNS)


@app.command("show")
def show(
    name: NameArgument,
    limit: Annotated[
        int,
        typer.Option("--limit", "-n", metavar="N", min=0, max=1000, help="Latest messages shown."),
    ] = 10,
    output_: OutputOption = None,
    json_: JsonOption = False,
) -> None:
    """One channel (URL masked) and its latest messages: sent, pending, failed, suppressed."""
    from gsm_cli.services import alerts

    fmt = output_format(output_, json_)
    with open_store() as store:
        data = alerts.get_channel(store, name).to_dict()
        messages = alerts.channel_messages(store, name, limit)
    if fmt != "table":
        output.emit({**data, "messages": messages}, fmt, DETAIL_COLUMNS)
        return
    output.emit({**data, "events": ",".join(data["events"])}, fmt, DETAIL_COLUMNS)
    if messages:
        output.emit_lines(["", "latest messages:"])
        output.emit(messages, fmt, MESSAGE_COLUMNS)


@app.command("remove")
def remove(name: NameArgument, json_: JsonOption = False) -> None:
    """Remove a channel, with its queued and sent messages."""
    from gsm_cli.services import alerts

    fmt = output_format(None, json_) if json_ else None
    with open_store() as store:
        channel = alerts.remove_channel(store, name)
    output.message(f"removed alert channel {channel.name}")
    if fmt:
        output.emit(channel.to_dict(), fmt, DETAIL_COLUMNS)


@app.command("test")
def test(name: NameArgument, json_: JsonOption = False) -> None:
    """Send a test message now and wait for it (exit 1, with the reason, when undelivered)."""
    from gsm_cli.services import alerts

    fmt = output_format(None, json_) if json_ else None
    with open_store() as store:
        result = alerts.test_channel(store, name, environment.current().vars)
    output.message(f"test alert delivered to {result['name']} ({result['url']})")
    if fmt:
        output.emit(result, fmt, ())
