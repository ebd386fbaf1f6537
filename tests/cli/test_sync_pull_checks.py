"""`gsm sync pull` checks what it pulls (issue 9, point 9): a change of the wrong shape or types
is skipped with a reason and nothing of it is applied; a page of the wrong shape is the cloud's
failure (exit 7) and applies nothing. A small HTTP server plays the cloud and answers with
exactly the JSON each test wants."""

import contextlib
import http.server
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.conftest import GsmRunner


class _PageHandler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[list[Any]] = []

    def log_message(self, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        body = json.dumps(self.pages.pop(0) if self.pages else {}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextlib.contextmanager
def _cloud(*pages: Any) -> Iterator[dict[str, str]]:
    handler = type("Handler", (_PageHandler,), {"pages": list(pages)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"GSM_API_URL": f"http://127.0.0.1:{server.server_address[1]}", "GSM_TOKEN": "t"}
    finally:
        server.shutdown()
        server.server_close()


def _page(*changes: Any, cursor: int = 10, has_more: bool = False) -> dict[str, Any]:
    return {"changes": list(changes), "next_cursor": cursor, "has_more": has_more}


def _server_change(entity_id: str | None = None, **data: Any) -> dict[str, Any]:
    entity_id = entity_id or str(uuid.uuid4())
    row = {
        "id": entity_id,
        "name": "remote-1",
        "game_type": "valheim",
        "status": "running",
        "configuration": {"port": 2456, "install_path": "/srv/elsewhere", "device_id": "d-1"},
        "max_players": 10,
        "last_backup": None,
        "created_at": "2026-01-02T03:04:05Z",
    }
    row.update(data)
    return {
        "seq": 1,
        "entity_type": "game_server",
        "entity_id": entity_id,
        "operation": "upsert",
        "data": row,
    }


def _rows(home: Path) -> dict[str, tuple]:
    with contextlib.closing(sqlite3.connect(home / "gsm.db")) as conn:
        rows = conn.execute("SELECT name, install_path, port, configuration, status, id FROM "
                            "local_servers").fetchall()  # fmt: skip
    return {row[0]: row for row in rows}


def test_changes_of_the_wrong_shape_are_skipped_and_never_half_applied(
    gsm: GsmRunner, gsm_home: Path
) -> None:
    created = gsm("server", "create", "mine", "--game", "valheim", "--port", "24100", "--json")
    assert created.exit_code == 0, created.stderr
    mine = created.json()
    before = _rows(gsm_home)["mine"]
    bad_port = _server_change(mine["id"], name="renamed")
    bad_port["data"]["configuration"] = {"port": "24100", "device_id": mine["device_id"]}
    page = _page(
        "oops",
        _server_change("not-a-uuid"),
        bad_port,
        _server_change(name="good-1"),
        _server_change(name="../../etc"),
        _server_change(max_players=True),
        _server_change(configuration=["port", 1]),
        _server_change(last_backup="yesterday"),
        {"entity_type": "game_server", "entity_id": str(uuid.uuid4()), "operation": "upsert",
         "data": None},
        {"entity_type": "plugin", "entity_id": str(uuid.uuid4()), "operation": "upsert",
         "data": {"name": 5}},
        {"entity_type": "wormhole\x1b[2J", "entity_id": str(uuid.uuid4()), "operation": "upsert",
         "data": {}},
        {"entity_type": "game_server", "entity_id": str(uuid.uuid4()), "operation": "merge",
         "data": {}},
    )  # fmt: skip
    with _cloud(page) as env:
        result = gsm("sync", "pull", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    summary = result.json()
    assert summary["applied"] == 1 and summary["skipped"] == 11 and summary["cursor"] == 10
    reasons = [item["reason"] for item in summary["invalid"]]
    assert reasons == [
        "a change is text, not an object",
        "entity_id is not a UUID",
        "configuration.port is text, not a whole number",
        "name is not a valid server name",
        "max_players is true/false, not a whole number",
        "configuration is a list, not an object",
        "last_backup is not an ISO 8601 time",
        "an upsert without data",
        "name is a number, not text",
        "unknown entity_type 'wormhole\\x1b[2J'",
        "operation is not 'upsert' or 'delete'",
    ]
    assert "\x1b" not in result.stderr and "\x1b" not in result.stdout
    rows = _rows(gsm_home)
    assert set(rows) == {"mine", "good-1"}
    assert rows["mine"] == before  # nothing of the bad change, not even the new name
    # The good one is another device's server: remote, and the cloud's path is not kept.
    assert rows["good-1"][1] is None and rows["good-1"][4] == "remote"
    assert "/srv/elsewhere" not in rows["good-1"][3]

    status = gsm("sync", "status", "--json").json()
    assert status["cursor"] == 10 and len(status["last_pull"]["invalid"]) == 11


@pytest.mark.parametrize(
    "page",
    [
        [],
        {"changes": {}, "next_cursor": 5, "has_more": False},
        {"changes": [], "next_cursor": "5", "has_more": False},
        {"changes": [], "next_cursor": 5, "has_more": "no"},
        {"changes": [], "next_cursor": 0, "has_more": True},  # would pull forever
        None,
    ],
    ids=["list", "changes-object", "cursor-text", "has-more-text", "stuck-cursor", "empty"],
)
def test_a_page_of_the_wrong_shape_exits_7_and_applies_nothing(
    gsm: GsmRunner, gsm_home: Path, page: Any
) -> None:
    assert gsm("sync", "status").exit_code == 0
    with _cloud(page) as env:
        result = gsm("sync", "pull", "--json", env=env)
    assert result.exit_code == 7, (result.exit_code, result.stderr)
    assert result.error()["code"] == "cloud_bad_answer"
    assert "the cloud answered the pull with a page gsm cannot use" in result.error()["message"]
    status = gsm("sync", "status", "--json").json()
    assert status["cursor"] == 0 and status["last_pull_at"] is None
