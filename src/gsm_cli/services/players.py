"""The players of a running server: telling them something in game, warning them with a
countdown, and waiting until nobody is on.

- ``say``: a message through the game's say command (the catalog's ``say_command``, such as
  ``say {message}`` for Minecraft), written on the server's console as ``gsm server send``
  does;
- ``countdown``: warnings at the start, then at 60, 30, 15, 10, 5 and 1 minutes and at 10
  seconds before the end, then returns at the end;
- ``when_empty``: waits until the server's query reports zero players, up to a longest wait;
  when players are still on by then, counts down (``countdown``) and returns, so the caller
  goes on anyway. One function for `gsm server restart --when-empty` and for schedules.

A game without a query that counts players (protocol ``none`` or ``tcp``) cannot be waited
for: ``check_countable`` says so (exit 4, ``no_player_count``) instead of waiting. Never
prints: progress goes to a ``report(text)`` callback.
"""

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gsm_cli.errors import ConflictError, InvalidInputError
from gsm_cli.paths import Paths
from gsm_cli.services import games, lifecycle, servers
from gsm_cli.services import query as query_service
from gsm_cli.store import Store
from gsm_cli.store.models import LocalServer

Report = Callable[[str], None]
# Seconds between two queries while waiting for a server to empty (a query on 127.0.0.1).
POLL_SECONDS = 2.0
# Marks before the end of a countdown at which players are warned again (seconds).
MARKS = (3600, 1800, 900, 600, 300, 60, 10)
# After --max-wait with players still on: a countdown of a minute (or of the wait itself,
# when that was shorter), then the work goes on anyway.
FINAL_COUNTDOWN_SECONDS = 60
DEFAULT_MAX_WAIT_SECONDS = 1800


def _quiet(text: str) -> None:
    return None


def duration_text(seconds: float) -> str:
    """10 minutes, 1 minute 30 seconds, 1 hour, 10 seconds: as players read it."""
    seconds = round(seconds)
    parts = []
    for unit, size in (("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'' if count == 1 else 's'}")
    return " ".join(parts) or "0 seconds"


def say_line(game: games.Game, message: str) -> str:
    """The console line that shows ``message`` with this game's say command. The message is
    made one line; where the game's command quotes it, quotes and backslashes in it become
    single quotes; where the message is the whole line, a leading '/' is dropped (it would
    be read as a command)."""
    if not game.say_command:
        raise InvalidInputError(
            f"{game.name} has no say command in gsm's catalog: gsm cannot show players a message",
            hint="use a `command LINE` task with the game's own console command, if it has one",
            code="no_say_command",
        )
    text = " ".join(message.split())
    template = game.say_command
    if '"{message}"' in template:
        text = text.replace("\\", "'").replace('"', "'")
    if template.startswith("{message}"):
        text = text.lstrip("/")
    return template.replace("{message}", text)


def say(store: Store, paths: Paths, server: LocalServer, message: str) -> str:
    """Show a message to the players of a running server; returns the console line sent."""
    line = say_line(games.get_game(server.game_type), message)
    lifecycle.send(store, paths, server.id, line)
    return line


def countdown(
    store: Store,
    paths: Paths,
    server: LocalServer,
    seconds: float,
    text: str,
    *,
    report: Report = _quiet,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[str]:
    """Warn the players ``text`` (with ``{time}`` for the time left) now, at each of ``MARKS``
    below ``seconds``, and return when ``seconds`` have passed. Returns the lines sent."""
    end = clock() + seconds
    sent = []
    for left in [seconds, *[mark for mark in MARKS if mark < seconds]]:
        delay = end - left - clock()
        if delay > 0:
            sleep(delay)
        message = text.replace("{time}", duration_text(left))
        sent.append(say(store, paths, server, message))
        report(f"said: {message}")
    rest = end - clock()
    if rest > 0:
        sleep(rest)
    return sent


def check_countable(server: LocalServer) -> str:
    """The server's query protocol, when it counts players; else exit 4 ``no_player_count``."""
    protocol = servers.query_protocol(server)
    if protocol in (query_service.NONE, "tcp"):
        why = (
            "has no query protocol"
            if protocol == query_service.NONE
            else "is queried by a TCP connect only, which counts no players"
        )
        raise InvalidInputError(
            f"server {server.name} {why}: gsm cannot tell when it is empty",
            hint=f"give it a query that counts players (gsm server update {server.name} "
            "--query-protocol minecraft|a2s), or leave out --when-empty",
            code="no_player_count",
        )
    return protocol


@dataclass(frozen=True)
class EmptyWait:
    """What waiting for an empty server came to."""

    empty: bool  # nobody on (or the server is not running)
    reason: str  # "empty", "not running" or "max wait"
    waited_seconds: float
    players: int | None  # the last count the query gave

    def to_dict(self) -> dict[str, Any]:
        return {
            "empty": self.empty,
            "reason": self.reason,
            "waited_seconds": round(self.waited_seconds, 1),
            "players": self.players,
        }


def when_empty(
    store: Store,
    paths: Paths,
    name: str,
    *,
    max_wait: float,
    what: str,
    report: Report = _quiet,
    poll: float = POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> EmptyWait:
    """Wait until the server has no players, at most ``max_wait`` seconds. With players still
    on by then, warn them (``what`` in {time}: "Server restart in 1 minute") for a minute, or
    for ``max_wait`` when that is shorter, and return: the caller goes on anyway. A server
    that is not running returns at once; a failed query counts as "not known", and the wait
    goes on. Refused (``check_countable``) for a game whose query counts no players."""
    server = servers.get_local(store, name)
    protocol = check_countable(server)
    start = clock()
    players: int | None = None
    last_error: str | None = None
    announced = False
    while True:
        seen = lifecycle.observe(store, paths, server)
        if not seen.game_alive:
            return EmptyWait(True, "not running", clock() - start, None)
        port = servers.query_port(server) or 0
        answer = query_service.query(protocol, "127.0.0.1", port)
        if answer.ok:
            if answer.players == 0:
                report(f"{server.name} is empty")
                return EmptyWait(True, "empty", clock() - start, 0)
            if answer.players != players:  # said when the count changes, not at every query
                report(f"{server.name} has {answer.players} player(s) on; waiting")
            players = answer.players
        elif answer.error != last_error:
            report(f"could not count the players of {server.name}: {answer.error}")
        last_error = answer.error
        waited = clock() - start
        if not announced and games.get_game(server.game_type).say_command:
            announced = True
            left = duration_text(max_wait - waited)
            _try_say(store, paths, server, f"{what} once everyone has left, in {left} at most")
        if waited >= max_wait:
            break
        sleep(min(poll, max_wait - waited))
    report(f"{server.name} still has players after {duration_text(max_wait)}: going on anyway")
    final = min(FINAL_COUNTDOWN_SECONDS, max_wait) if max_wait > 0 else 0
    if final > 0 and games.get_game(server.game_type).say_command:
        try:
            countdown(
                store, paths, server, final, f"{what} in {{time}}", report=report, sleep=sleep,
                clock=clock,
            )  # fmt: skip
        except ConflictError as err:  # it stopped meanwhile: nobody left to warn
            report(f"no countdown: {err.message}")
    return EmptyWait(False, "max wait", clock() - start, players)


def _try_say(store: Store, paths: Paths, server: LocalServer, message: str) -> None:
    with contextlib.suppress(ConflictError):  # stopped or no console: the wait goes on
        say(store, paths, server, message)
