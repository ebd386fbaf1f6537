"""gsm server create|update --autostart: the per-server mark the gsm service starts at boot.
It is shown by show and --json, and is this machine's own: never in a sync payload, and a
change of it alone queues nothing to push."""

import json
import sqlite3
from pathlib import Path

from tests.conftest import GsmRunner


def queued(home: Path) -> list[dict]:
    with sqlite3.connect(home / "gsm.db") as conn:
        rows = conn.execute(
            "SELECT data_payload FROM pending_sync_operations WHERE entity_type = 'game_server'"
        ).fetchall()
    return [json.loads(payload) for (payload,) in rows]


def test_autostart_is_set_shown_and_never_synced(gsm: GsmRunner, gsm_home: Path) -> None:
    made = gsm("server", "create", "alpha", "--game", "custom", "--command", "run", "--json")
    assert made.exit_code == 0, made.stderr
    assert made.json()["autostart"] is False
    marked = gsm("server", "create", "beta", "--game", "custom", "--command", "run",
                 "--autostart", "--json")  # fmt: skip
    assert marked.json()["autostart"] is True
    assert "gsm service install" in marked.stderr  # no service ever ran here
    assert len(queued(gsm_home)) == 2

    on = gsm("server", "update", "alpha", "--autostart", "--json")
    assert on.exit_code == 0, on.stderr
    assert on.json()["autostart"] is True
    assert len(queued(gsm_home)) == 2  # the mark alone: nothing to sync
    assert gsm("server", "show", "alpha", "--json").json()["autostart"] is True
    assert "autostart" in gsm("server", "show", "alpha").stdout

    both = gsm("server", "update", "alpha", "--no-autostart", "--max-players", "12", "--json")
    assert both.json()["autostart"] is False
    payloads = queued(gsm_home)
    assert len(payloads) == 3  # a synced change with it is queued, without the mark
    assert all("autostart" not in payload for payload in payloads)
    assert payloads[-1]["configuration"]["max_players"] == 12

    listed = {s["name"]: s["autostart"] for s in gsm("server", "list", "--json").json()}
    assert listed == {"alpha": False, "beta": True}

    ran = gsm("service", "run", "--once", "--json")  # beta's program "run" does not exist
    assert ran.exit_code == 1 and ran.json()[0]["report"][0]["action"] == "failed"
    again = gsm("server", "update", "alpha", "--autostart", "--json")
    assert "gsm service install" not in again.stderr  # a service has run: no note
