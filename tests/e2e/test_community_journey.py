"""Issue 12's "done when", from the command line against a real gsm-cloud whose payments go
through the development provider: a new user creates a private community and invites a second
user, who joins with the code, attaches a server (`gsm server update --community` and
`gsm sync push`), buys a developer's paid plugin, installs it and donates to the community;
then the developer and the Owner each see their part in `gsm revenue report`."""

from pathlib import Path

import httpx
import pytest

from tests.conftest import GsmRunner
from tests.e2e.conftest import LiveCloud, unique
from tests.packages import package_bytes


def test_private_community_invitation_server_purchase_donation_and_revenue(
    gsm: GsmRunner, paying_cloud: LiveCloud, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    developer = paying_cloud.account("Developer")
    owner, member = paying_cloud.account(), paying_cloud.account()
    monkeypatch.setenv("GSM_API_URL", paying_cloud.url)
    as_owner, as_member = {"GSM_TOKEN": owner.token}, {"GSM_TOKEN": member.token}
    as_developer = {"GSM_TOKEN": developer.token}

    # The developer sells a plugin at 2.50 EUR.
    plugin = unique("Maps")
    with httpx.Client(
        base_url=paying_cloud.url,
        headers={"Authorization": f"Bearer {developer.token}"},
        timeout=30,
    ) as api:
        listed = api.post(
            "/v1/plugins",
            json={"name": plugin, "category": "maps", "supported_games": ["minecraft"],
                  "price": "2.50", "currency": "EUR"},
        )  # fmt: skip
        assert listed.status_code == 201, listed.text
        sent = api.post(
            f"/v1/plugins/{listed.json()['id']}/versions",
            files={"file": ("p.zip", package_bytes(plugin, "1.0.0"), "application/zip")},
        )
        assert sent.status_code == 201, sent.text

    # A new user creates a private community and invites a second user.
    name = unique("Owls")
    made = gsm("community", "create", name, "--private", "--json", env=as_owner)
    assert made.exit_code == 0, made.stderr
    community_id = made.json()["id"]
    assert made.json()["is_public"] is False
    hidden = gsm("community", "show", community_id, "--json", env=as_member)
    assert hidden.exit_code == 3, hidden.stderr  # private: not visible to a non-member
    invited = gsm("community", "invite", name, "--json", env=as_owner)
    assert invited.exit_code == 0, invited.stderr
    code = invited.json()["code"]

    joined = gsm("community", "join", community_id, "--code", code, "--json", env=as_member)
    assert joined.exit_code == 0, joined.stderr
    reused = gsm("community", "join", community_id, "--code", code, "--json", env=as_developer)
    assert reused.exit_code == 6, reused.stderr  # single use: the code admits nobody else

    # The member attaches a server to it, through the outbox and sync.
    created = gsm(
        "server", "create", "s1", "--game", "minecraft", "--path", str(tmp_path / "s1"),
        env=as_member,
    )  # fmt: skip
    assert created.exit_code == 0, created.stderr
    attached = gsm("server", "update", "s1", "--community", name, env=as_member)
    assert attached.exit_code == 0, attached.stderr
    pushed = gsm("sync", "push", "--json", env=as_member)
    assert pushed.exit_code == 0, pushed.stderr
    assert pushed.json()["left"] == 0
    servers = httpx.get(
        f"{paying_cloud.url}/v1/servers",
        headers={"Authorization": f"Bearer {member.token}"},
        timeout=30,
    ).json()["items"]
    assert [(s["name"], s["community_id"]) for s in servers] == [("s1", community_id)]

    # The member buys the paid plugin, installs it, and donates to the community.
    bought = gsm("plugin", "buy", plugin, "--yes", "--json", env=as_member)
    assert bought.exit_code == 0, bought.stderr
    assert bought.json()["status"] == "confirmed"
    installed = gsm("plugin", "install", plugin, "--server", "s1", "--json", env=as_member)
    assert installed.exit_code == 0, installed.stderr
    donated = gsm(
        "community", "donate", name, "--amount", "3.00", "--currency", "EUR",
        "--message", "for the maps", "--yes", "--json", env=as_member,
    )  # fmt: skip
    assert donated.exit_code == 0, donated.stderr
    assert donated.json()["status"] == "confirmed"

    # Each recipient sees their part, exact to the cent.
    sales = gsm("revenue", "report", "--by", "plugin", "--json", env=as_developer)
    assert sales.exit_code == 0, sales.stderr
    assert [(r["label"], r["currency"], r["count"], r["total"]) for r in sales.json()["rows"]] == [
        (plugin, "EUR", 1, "2.50")
    ]
    gifts = gsm("revenue", "report", "--by", "community", "--json", env=as_owner)
    assert gifts.exit_code == 0, gifts.stderr
    assert [(r["label"], r["currency"], r["count"], r["total"]) for r in gifts.json()["rows"]] == [
        (name, "EUR", 1, "3.00")
    ]
    table = gsm("revenue", "report", "--by", "community", env=as_owner)
    assert table.exit_code == 0, table.stderr
    assert name in table.stdout and "3.00" in table.stdout
    nothing = gsm("revenue", "report", "--json", env=as_member)  # the payer earned nothing
    assert nothing.exit_code == 0, nothing.stderr
    assert nothing.json()["rows"] == []
