"""gsm community against a real gsm-cloud: a private community, an invitation used by a second
user (and by nobody else), members and roles, removal, leaving, deleting; a server put into a
community through the outbox and `gsm sync push`; the errors (logged out 6, unreachable 7,
unknown 3, a Member who may not invite 6)."""

import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import GsmRunner, free_port
from tests.e2e.conftest import CloudAccount, LiveCloud


@pytest.fixture
def owner(gsm: GsmRunner, live_cloud: LiveCloud) -> CloudAccount:
    account = live_cloud.account()
    _login(gsm, live_cloud, account)
    return account


@pytest.fixture
def second(
    gsm: GsmRunner, tmp_path: Path, live_cloud: LiveCloud
) -> tuple[CloudAccount, dict[str, str]]:
    """Another user on another machine: the account and the env that selects its store."""
    account = live_cloud.account()
    env = {"GSM_HOME": str(tmp_path / "home-second")}
    _login(gsm, live_cloud, account, env)
    return account, env


def _login(
    gsm: GsmRunner, cloud: LiveCloud, account: CloudAccount, env: dict[str, str] | None = None
) -> None:
    result = gsm(
        "auth", "login", "--with-token", "--api-url", cloud.url, input=account.token, env=env
    )
    assert result.exit_code == 0, result.stderr


def _ok(gsm: GsmRunner, *args: str, env: dict[str, str] | None = None) -> object:
    result = gsm("community", *args, "--json", env=env)
    assert result.exit_code == 0, (args, result.stderr)
    return result.json()


def _display_name(account: CloudAccount) -> str:
    return account.email[:12]  # what LiveCloud.account gives each user


def _unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_a_private_community_from_invitation_to_deletion(
    gsm: GsmRunner,
    live_cloud: LiveCloud,
    owner: CloudAccount,
    second: tuple[CloudAccount, dict[str, str]],
) -> None:
    member, b = second
    name = _unique("Night Crew")
    made = _ok(gsm, "create", name, "--private", "--description", "late games")
    assert made["is_public"] is False and made["my_role"] == "Owner"
    assert made["description"] == "late games" and made["member_count"] == 1
    # Invisible to others: not listed, not found by name.
    assert name not in [c["name"] for c in _ok(gsm, "list", env=b)]
    assert gsm("community", "show", name, env=b).exit_code == 3

    # An invitation: the code alone on stdout, once, and how to use it on stderr.
    invited = gsm("community", "invite", name.upper(), "--expires", "2h")
    assert invited.exit_code == 0, invited.stderr
    code = invited.stdout.strip()
    assert code.startswith("gsmi_") and "\n" not in code
    assert "shown only now" in invited.stderr
    assert f"gsm community join {made['id']} --code CODE" in invited.stderr

    # The invitee cannot see it by name; by its id with the code, they join.
    by_name = gsm("community", "join", name, "--code", code, env=b)
    assert by_name.exit_code == 3 and "by its id" in by_name.stderr
    joined = _ok(gsm, "join", made["id"], "--code", code, env=b)
    assert joined["my_role"] == "Member" and joined["member_count"] == 2
    # Used up: a third user with the same code is refused, as any bad code is.
    third = live_cloud.account()
    c = {"GSM_HOME": str(Path(b["GSM_HOME"]).parent / "home-third")}
    _login(gsm, live_cloud, third, c)
    reused = gsm("community", "join", made["id"], "--code", code, "--json", env=c)
    assert reused.exit_code == 6 and reused.error()["code"] == "invitation_invalid"
    assert "ask an Owner or Admin" in reused.error()["hint"]

    # Members and a Member who may not invite.
    listed = _ok(gsm, "members", name)
    assert [(m["display_name"], m["role"]) for m in listed] == [
        (_display_name(owner), "Owner"),
        (_display_name(member), "Member"),
    ]
    refused = gsm("community", "invite", name, "--json", env=b)
    assert refused.exit_code == 6 and refused.error()["code"] == "forbidden"
    assert "only Owners or Admins of" in refused.error()["message"]
    # The invitation's state, a second one revoked.
    [used] = _ok(gsm, "invitations", name)
    assert used["state"] == "used" and used["uses"] == 1 and "code" not in used
    spare = _ok(gsm, "invite", name, "--uses", "5", "--email", third.email)
    assert spare["max_uses"] == 5 and spare["email"] == third.email and spare["code"]
    revoked = _ok(gsm, "revoke", name, spare["id"])
    assert revoked == {"community_id": made["id"], "invitation_id": spare["id"], "revoked": True}
    states = {i["id"]: i["state"] for i in _ok(gsm, "invitations", name)}
    assert states == {used["id"]: "used", spare["id"]: "revoked"}
    assert gsm("community", "join", made["id"], "--code", spare["code"], env=c).exit_code == 6

    # Roles: by display name (any case) or id; the member sees the community now.
    promoted = _ok(gsm, "role", name, _display_name(member).upper(), "admin")
    assert promoted["role"] == "Admin"
    assert _ok(gsm, "show", name, env=b)["my_role"] == "Admin"
    # An Admin may invite now.
    assert gsm("community", "invite", made["id"], env=b).exit_code == 0
    # Renamed by its Owner.
    renamed = _ok(gsm, "update", name, "--name", f"{name} II", "--description", "")
    assert renamed["name"] == f"{name} II" and renamed["description"] is None
    name = renamed["name"]

    # Removed by user id: the community is invisible to them again.
    member_id = next(m["user_id"] for m in listed if m["role"] == "Member")
    removed = _ok(gsm, "remove", name, member_id)
    assert removed["removed"] is True and removed["display_name"] == _display_name(member)
    assert [m["role"] for m in _ok(gsm, "members", name)] == ["Owner"]
    assert gsm("community", "show", name, env=b).exit_code == 3
    # The last Owner cannot leave.
    assert gsm("community", "leave", name).exit_code == 5

    # Delete: never without a yes off a terminal; then gone.
    asked = gsm("community", "delete", name)
    assert asked.exit_code == 2 and "--yes" in asked.stderr
    assert gsm("community", "delete", name, "--yes").exit_code == 0
    gone = gsm("community", "show", made["id"], "--json")
    assert gone.exit_code == 3 and gone.error()["code"] == "community_not_found"


def test_public_communities_join_leave_and_search(
    gsm: GsmRunner, owner: CloudAccount, second: tuple[CloudAccount, dict[str, str]]
) -> None:
    _member, b = second
    name = _unique("Builders")
    made = _ok(gsm, "create", name, "--logo-url", "https://example.com/logo.png")
    assert made["is_public"] is True and made["logo_url"] == "https://example.com/logo.png"
    found = _ok(gsm, "list", "--search", name.lower(), env=b)
    assert [(c["id"], c["my_role"]) for c in found] == [(made["id"], None)]
    assert _ok(gsm, "list", "--mine", env=b) == []
    joined = _ok(gsm, "join", name.lower(), env=b)
    assert joined["my_role"] == "Member"
    assert [c["id"] for c in _ok(gsm, "list", "--mine", env=b)] == [made["id"]]
    again = gsm("community", "join", name, env=b)
    assert again.exit_code == 5  # already a member
    assert _ok(gsm, "leave", name, env=b)["my_role"] is None
    # A Member may not delete, nor change roles.
    _ok(gsm, "join", name, env=b)
    refused = gsm("community", "delete", name, "--yes", "--json", env=b)
    assert refused.exit_code == 6 and "only Owners" in refused.error()["message"]
    assert gsm("community", "role", name, _display_name(_member), "owner", env=b).exit_code == 6
    # A second community of the same name: names are ambiguous, ids are not.
    twin = gsm("community", "create", name, "--json")
    assert twin.exit_code == 0 and "other community is named" in twin.stderr
    ambiguous = gsm("community", "show", name, "--json")
    assert ambiguous.exit_code == 4 and ambiguous.error()["code"] == "community_name_ambiguous"
    assert made["id"] in ambiguous.error()["message"]
    assert _ok(gsm, "show", made["id"])["id"] == made["id"]


def _cloud_server(cloud: LiveCloud, token: str, name: str) -> dict:
    response = httpx.get(
        f"{cloud.url}/v1/servers",
        params={"per_page": 100},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    return next(s for s in response.json()["items"] if s["name"] == name)


def test_a_server_joins_a_community_through_sync(
    gsm: GsmRunner,
    live_cloud: LiveCloud,
    owner: CloudAccount,
    second: tuple[CloudAccount, dict[str, str]],
) -> None:
    _member, b = second
    name = _unique("Server Crew")
    made = _ok(gsm, "create", name)
    port = free_port()
    created = gsm(
        "server", "create", "crew-1", "--game", "valheim", "--port", str(port),
        "--community", name, "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert created.json()["community_id"] == made["id"]
    pushed = gsm("sync", "push", "--json")
    assert pushed.exit_code == 0 and pushed.json()["applied"] == 1, pushed.stdout
    assert _cloud_server(live_cloud, owner.token, "crew-1")["community_id"] == made["id"]
    # The pull fills the membership cache: show names the community.
    assert gsm("sync", "pull").exit_code == 0
    shown = gsm("server", "show", "crew-1", "--json").json()
    assert shown["community_id"] == made["id"] and shown["community_name"] == name

    # Out of it again.
    assert gsm("server", "update", "crew-1", "--no-community").exit_code == 0
    assert gsm("sync", "push").exit_code == 0
    assert _cloud_server(live_cloud, owner.token, "crew-1")["community_id"] is None

    # Someone who is not a member may not put a server in it: exit 6 with the way in.
    assert gsm("server", "create", "other-1", "--game", "valheim", env=b).exit_code == 0
    refused = gsm("server", "update", "other-1", "--community", name, "--json", env=b)
    assert refused.exit_code == 6 and refused.error()["code"] == "not_a_member"
    assert f"gsm community join {name}" in refused.error()["hint"]
    unknown = gsm("server", "update", "other-1", "--community", "no such crew", env=b)
    assert unknown.exit_code == 3


def test_errors_exit_codes(gsm: GsmRunner, live_cloud: LiveCloud, owner: CloudAccount) -> None:
    unknown = gsm("community", "show", _unique("nobody"), "--json")
    assert unknown.exit_code == 3 and unknown.error()["code"] == "community_not_found"
    assert gsm("community", "show", str(uuid.uuid4())).exit_code == 3
    assert gsm("community", "members", _unique("nobody")).exit_code == 3
    unreachable = {"GSM_API_URL": f"http://127.0.0.1:{free_port()}"}
    assert gsm("community", "list", env=unreachable).exit_code == 7
    assert gsm("auth", "logout").exit_code == 0
    logged_out = gsm("community", "list", "--json")
    assert logged_out.exit_code == 6 and logged_out.error()["code"] == "not_logged_in"


def test_lists_are_read_page_by_page_to_the_end(
    gsm: GsmRunner, owner: CloudAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gsm_cli.services import communities

    monkeypatch.setattr(communities, "PER_PAGE", 2)
    prefix = _unique("Paged")
    made = [_ok(gsm, "create", f"{prefix} {i}")["id"] for i in range(5)]
    assert [c["id"] for c in _ok(gsm, "list", "--search", prefix)] == made
    assert [c["id"] for c in _ok(gsm, "list", "--mine", "--search", prefix)] == made
    # A name is found among more communities than one page holds.
    assert _ok(gsm, "show", f"{prefix} 4")["id"] == made[4]


def test_a_community_deleted_under_unpushed_server_changes(
    gsm: GsmRunner, live_cloud: LiveCloud, owner: CloudAccount
) -> None:
    """The community goes while this machine still has changes of a server in it: their push
    names the gone community and is rejected with the reason; --no-community and a retry
    (rebuilt from the row) put the server right."""
    name = _unique("Short Lived")
    made = _ok(gsm, "create", name)
    port = str(free_port())
    assert gsm("server", "create", "sl-1", "--game", "valheim", "--port", port,
               "--community", made["id"]).exit_code == 0  # fmt: skip
    assert gsm("sync", "push").exit_code == 0
    assert gsm("community", "delete", made["id"], "--yes").exit_code == 0
    assert gsm("server", "update", "sl-1", "--max-players", "12").exit_code == 0
    assert gsm("sync", "pull").exit_code == 0  # the server's change waits behind ours
    pushed = gsm("sync", "push", "--json").json()
    assert pushed["rejected"] == 1
    assert f"not a member of community {made['id']}" in pushed["kept_aside"][0]["reason"]
    assert gsm("server", "update", "sl-1", "--no-community").exit_code == 0
    assert gsm("sync", "retry", "--all").exit_code == 0
    assert gsm("sync", "push", "--json").json()["rejected"] == 0
    cloud = _cloud_server(live_cloud, owner.token, "sl-1")
    assert cloud["community_id"] is None and cloud["max_players"] == 12
