"""gsm community without a cloud that answers: bad input refused before any request, logged
out, the cloud unreachable, and the membership cache answering `list --mine` and
`server update --community` offline. The cloud side is tests/e2e/test_community.py."""

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from gsm_cli.services import pulled
from gsm_cli.store import Store, outbox
from gsm_cli.store.models import CommunityMembership, LocalServer, SyncState
from tests.conftest import GsmRunner, free_port

CREW_ID = str(uuid.uuid4())
GUILD_ID = str(uuid.uuid4())


@pytest.fixture
def offline() -> dict[str, str]:
    """Logged in (a token in force) to a cloud that does not answer: nothing listens there."""
    return {"GSM_API_URL": f"http://127.0.0.1:{free_port()}", "GSM_TOKEN": "gsm_pat_offline"}


def _cache(home: Path, pulled_at: str | None = "2026-12-01 10:00:00") -> None:
    """Memberships as `gsm sync pull` leaves them."""
    with Store.open(home / "gsm.db") as store, store.write() as session:
        session.add(SyncState(id=1, cursor=7, last_pull_at=pulled_at))
        session.add(
            CommunityMembership(
                community_id=CREW_ID,
                community_name="Night Crew",
                role="Owner",
                joined_at="2026-11-01 09:00:00",
            )
        )
        session.add(
            CommunityMembership(
                community_id=GUILD_ID,
                community_name="Builders Guild",
                role="Member",
                joined_at="2026-11-20 09:00:00",
            )
        )


def _last_queued(home: Path) -> dict:
    with sqlite3.connect(home / "gsm.db") as conn:
        [(payload,)] = conn.execute(
            "SELECT data_payload FROM pending_sync_operations ORDER BY id DESC LIMIT 1"
        )
        return json.loads(payload)


@pytest.mark.parametrize(
    "args",
    [
        ["invite", "crew", "--expires", "3x"],
        ["invite", "crew", "--expires", "30s"],  # under a minute
        ["invite", "crew", "--expires", "91d"],  # over 90 days
        ["invite", "crew", "--uses", "0"],
        ["invite", "crew", "--uses", "1001"],
        ["role", "crew", "ann", "boss"],
        ["revoke", "crew", "not-an-id"],
        ["update", "crew"],  # nothing to change
    ],
)
def test_bad_input_is_refused_before_any_request(
    gsm: GsmRunner, offline: dict[str, str], args: list[str]
) -> None:
    """Exit 4, not 7: the cloud (unreachable here) is never asked."""
    result = gsm("community", *args, "--json", env=offline)
    assert result.exit_code == 4, result.stderr
    assert result.error()["code"] in ("invalid_input", "invalid_time", "invalid_role")


def test_logged_out_is_exit_6(gsm: GsmRunner) -> None:
    for args in (["list"], ["list", "--mine"], ["show", "crew"], ["create", "crew"]):
        result = gsm("community", *args)
        assert result.exit_code == 6, (args, result.stderr)
        assert "not logged in" in result.stderr and "gsm auth login" in result.stderr


def test_unreachable_cloud_is_exit_7_without_a_cache(
    gsm: GsmRunner, offline: dict[str, str]
) -> None:
    for args in (["list"], ["show", "crew"], ["join", "crew"], ["members", "crew"]):
        result = gsm("community", *args, "--json", env=offline)
        assert result.exit_code == 7, (args, result.stderr)
        assert result.error()["code"] == "cloud_unreachable"
    never_pulled = gsm("community", "list", "--mine", env=offline)
    assert never_pulled.exit_code == 7
    assert "gsm sync pull` keeps a copy of your memberships" in never_pulled.stderr


def test_list_mine_offline_answers_from_the_membership_cache(
    gsm: GsmRunner, gsm_home: Path, offline: dict[str, str]
) -> None:
    gsm("config", "list")  # creates the store
    _cache(gsm_home)
    result = gsm("community", "list", "--mine", "--json", env=offline)
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert [r["name"] for r in rows] == ["Night Crew", "Builders Guild"]  # joined order
    assert all(r["stale"] is True and r["source"] == "cache" for r in rows)
    assert {r["cached_at"] for r in rows} == {"2026-12-01T10:00:00Z"}
    assert rows[0] == {
        "id": CREW_ID,
        "name": "Night Crew",
        "my_role": "Owner",
        "joined_at": "2026-11-01T09:00:00Z",
        "source": "cache",
        "cached_at": "2026-12-01T10:00:00Z",
        "stale": True,
    }
    assert "from the membership cache (cannot reach the cloud" in result.stderr
    assert "last pulled 2026-12-01T10:00:00Z" in result.stderr and "days old" in result.stderr
    searched = gsm("community", "list", "--mine", "--search", "GUILD", "--json", env=offline)
    assert [r["id"] for r in searched.json()] == [GUILD_ID]
    table = gsm("community", "list", "--mine", env=offline)
    assert table.exit_code == 0 and "Night Crew" in table.stdout and "Owner" in table.stdout
    # Without --mine there is nothing cached to answer from.
    assert gsm("community", "list", env=offline).exit_code == 7


def _server(gsm: GsmRunner, name: str = "s1") -> None:
    port = free_port()
    made = gsm("server", "create", name, "--game", "valheim", "--port", str(port))
    assert made.exit_code == 0, made.stderr


def test_server_community_offline_from_the_cache_goes_through_the_outbox(
    gsm: GsmRunner, gsm_home: Path, offline: dict[str, str]
) -> None:
    _server(gsm)
    _cache(gsm_home)
    result = gsm("server", "update", "s1", "--community", "night crew", "--json", env=offline)
    assert result.exit_code == 0, result.stderr
    shown = result.json()
    assert shown["community_id"] == CREW_ID and shown["community_name"] == "Night Crew"
    assert "from the membership cache" in result.stderr
    assert _last_queued(gsm_home)["community_id"] == CREW_ID
    listed = gsm("server", "list", "--json").json()[0]
    assert listed["community_name"] == "Night Crew"
    table = gsm("server", "show", "s1")
    assert "Night Crew" in table.stdout and CREW_ID in table.stdout
    # By id too; and --no-community takes it out, through the outbox as well.
    by_id = gsm("server", "update", "s1", "--community", GUILD_ID, "--json", env=offline)
    assert by_id.json()["community_id"] == GUILD_ID
    out = gsm("server", "update", "s1", "--no-community", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json()["community_id"] is None and out.json()["community_name"] is None
    assert _last_queued(gsm_home)["community_id"] is None
    # A community the cache does not know, offline: the cloud's error stands.
    unknown = gsm("server", "update", "s1", "--community", "elsewhere", env=offline)
    assert unknown.exit_code == 7 and "membership cache" in unknown.stderr


def test_server_community_needs_a_login_and_one_choice(gsm: GsmRunner) -> None:
    _server(gsm)
    logged_out = gsm("server", "update", "s1", "--community", "crew", "--json")
    assert logged_out.exit_code == 6
    assert "gsm auth login" in logged_out.error()["hint"]
    both = gsm("server", "update", "s1", "--community", "crew", "--no-community")
    assert both.exit_code == 4 and "not both" in both.stderr
    made = gsm("server", "create", "s2", "--game", "valheim", "--community", "crew")
    assert made.exit_code == 6
    assert gsm("server", "show", "s2").exit_code == 3  # nothing was created


def test_the_community_is_in_the_sync_payload(tmp_path: Path) -> None:
    """Not a local column: outbox.entity_payload sends it, so the cloud sets its own."""
    server = LocalServer(
        id=str(uuid.uuid4()), name="s", game_type="valheim", status="stopped", community_id=CREW_ID
    )
    assert outbox.entity_payload(server)["community_id"] == CREW_ID


def test_a_pulled_server_with_a_bad_community_id_is_skipped() -> None:
    server_id = str(uuid.uuid4())
    change = {
        "entity_type": "game_server",
        "entity_id": server_id,
        "operation": "upsert",
        "data": {"id": server_id, "name": "s", "game_type": "valheim", "community_id": "x"},
    }
    assert pulled.problem(change) == "community_id is not a UUID"
    change["data"]["community_id"] = CREW_ID
    assert pulled.problem(change) is None


@pytest.mark.parametrize(
    ("text", "seconds"), [("60s", 60), ("90m", 5400), ("7d", 604800), ("90d", 7776000)]
)
def test_invitation_lifetimes_within_the_clouds_limits(text: str, seconds: int) -> None:
    from gsm_cli.services import communities

    assert communities.expiry_seconds(text) == seconds
