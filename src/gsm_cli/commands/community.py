"""gsm community: communities in gsm-cloud, their members, roles and invitations
(docs/communities.md).

Commands stay thin: the work and every rule is in services/communities.py.
"""

from typing import Annotated, Any

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import (
    JsonOption,
    OutputOption,
    YesOption,
    confirm,
    number_in_range,
    open_store,
    output_format,
    paths,
)
from gsm_cli.output import Column

app = typer.Typer(
    help="Create, join and manage communities in gsm-cloud: members, roles, invitations.",
    no_args_is_help=True,
    add_completion=False,
)

CommunityArgument = Annotated[
    str, typer.Argument(metavar="C", help="Community name (any case) or id.")
]
UserArgument = Annotated[
    str,
    typer.Argument(
        metavar="USER",
        help="A member's display name (any case) or user id, as `members` lists them; or your "
        "own email.",
    ),
]

LIST_COLUMNS = (
    Column("name"),
    Column("my_role", "ROLE"),
    Column("is_public", "PUBLIC"),
    Column("member_count", "MEMBERS"),
    Column("id"),
)
CACHE_COLUMNS = (Column("name"), Column("my_role", "ROLE"), Column("joined_at"), Column("id"))
DETAIL_COLUMNS = (
    Column("id"),
    Column("name"),
    Column("description"),
    Column("is_public"),
    Column("member_count"),
    Column("my_role"),
    Column("owner_id"),
    Column("logo_url"),
    Column("banner_url"),
    Column("created_at"),
)
MEMBER_COLUMNS = (
    Column("display_name", "NAME"),
    Column("role"),
    Column("joined_at"),
    Column("user_id"),
)
INVITATION_COLUMNS = (
    Column("id"),
    Column("state"),
    Column("email"),
    Column("uses"),
    Column("max_uses"),
    Column("expires_at"),
    Column("created_at"),
)
INVITE_COLUMNS = (
    Column("code"),
    Column("id"),
    Column("community_id"),
    Column("email"),
    Column("max_uses"),
    Column("expires_at"),
)

# Options of create and update.
DescriptionOption = Annotated[
    str | None,
    typer.Option("--description", metavar="TEXT", help="What the community is ('' clears it)."),
]
VisibilityOption = Annotated[
    bool | None,
    typer.Option(
        "--public/--private",
        help="Anyone may see and join it, or only members see it and join by invitation "
        "(create: public unless --private).",
        show_default=False,
    ),
]
LogoOption = Annotated[
    str | None,
    typer.Option("--logo-url", metavar="URL", help="An http(s) URL of its logo ('' clears it)."),
]
BannerOption = Annotated[
    str | None,
    typer.Option(
        "--banner-url", metavar="URL", help="An http(s) URL of its banner ('' clears it)."
    ),
]


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a service function with the store, the paths and the environment of this run."""
    with open_store() as store:
        return function(store, paths(), environment.current().vars, *args, **kwargs)


@app.command("list")
def list_(
    mine: Annotated[bool, typer.Option("--mine", help="Only communities you are a member of.")] = (
        False
    ),
    search: Annotated[
        str | None,
        typer.Option("--search", metavar="TEXT", help="Only names that contain TEXT (any case)."),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """List the communities you can see; offline, --mine answers from the membership cache."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    listing = _call(communities.list_communities, mine=mine, search=search)
    if listing.source == "cache":
        output.warning(
            f"from the membership cache ({listing.reason}): last pulled "
            f"{listing.cached_at or 'never'}, {output.age_text(listing.cache_age_seconds)}; "
            "`gsm sync pull` refreshes it"
        )
    output.emit(listing.rows, fmt, CACHE_COLUMNS if listing.source == "cache" else LIST_COLUMNS)


@app.command()
def show(
    community: CommunityArgument, json_: JsonOption = False, output_: OutputOption = None
) -> None:
    """Show a community and your role in it."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    output.emit(_call(communities.get, community), fmt, DETAIL_COLUMNS)


@app.command()
def create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="1 to 200 characters.")],
    description: DescriptionOption = None,
    public: VisibilityOption = None,
    logo_url: LogoOption = None,
    banner_url: BannerOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Create a community; you become its Owner."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    fields = {
        "name": name,
        "description": description or None,
        "is_public": public,
        "logo_url": logo_url or None,
        "banner_url": banner_url or None,
    }
    made, warnings = _call(communities.create, fields)
    for text in warnings:
        output.warning(text)
    kind = "public" if made["is_public"] else "private"
    output.message(f"created the {kind} community {made['name']}; you are its Owner")
    output.emit(made, fmt, DETAIL_COLUMNS)


@app.command()
def update(
    community: CommunityArgument,
    new_name: Annotated[
        str | None, typer.Option("--name", metavar="NEW", help="Rename the community.")
    ] = None,
    description: DescriptionOption = None,
    public: VisibilityOption = None,
    logo_url: LogoOption = None,
    banner_url: BannerOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Change a community's name, description, visibility or pictures (Owners and Admins)."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    given = {
        "name": new_name,
        "description": description,
        "is_public": public,
        "logo_url": logo_url,
        "banner_url": banner_url,
    }
    # '' clears a text field (null to the cloud); an option not given changes nothing.
    fields = {
        key: (value if value != "" else None) for key, value in given.items() if value is not None
    }
    changed = _call(communities.update, community, fields)
    output.message(f"updated the community {changed['name']}")
    output.emit(changed, fmt, DETAIL_COLUMNS)


@app.command()
def delete(community: CommunityArgument, yes: YesOption = False, json_: JsonOption = False) -> None:
    """Delete a community and its memberships (its Owner only); asks first unless --yes.

    Its servers stay, in no community; donations made to it stay on record."""
    from gsm_cli.services import communities

    fmt = output_format(None, json_) if json_ else None
    found = _call(communities.deletable, community)
    members = f"{found['member_count']} member{'s' if found['member_count'] != 1 else ''}"
    confirm(f"Delete the community {found['name']} ({found['id']}, {members})?", yes)
    _call(communities.delete, found["id"])
    output.message(f"deleted the community {found['name']}")
    if fmt:
        output.emit({"id": found["id"], "name": found["name"], "deleted": True}, fmt, ())


@app.command()
def join(
    community: CommunityArgument,
    code: Annotated[
        str | None,
        typer.Option(
            "--code",
            metavar="CODE",
            help="An invitation's code: joins a private community too (name it by its id).",
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Join a community as a Member: a public one, or any with an invitation's code."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    joined = _call(communities.join, community, code)
    output.message(f"joined the community {joined['name']} as {joined['my_role'] or 'Member'}")
    output.emit(joined, fmt, DETAIL_COLUMNS)


@app.command()
def leave(
    community: CommunityArgument, json_: JsonOption = False, output_: OutputOption = None
) -> None:
    """Leave a community (its last Owner cannot: make someone else Owner first)."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    left = _call(communities.leave, community)
    output.message(f"left the community {left['name']}")
    output.emit(left, fmt, DETAIL_COLUMNS)


@app.command()
def members(
    community: CommunityArgument, json_: JsonOption = False, output_: OutputOption = None
) -> None:
    """List a community's members and their roles, in the order they joined."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    _found, listed = _call(communities.members, community)
    output.emit(listed, fmt, MEMBER_COLUMNS)


def _role(param: typer.CallbackParam, value: str) -> str:
    from gsm_cli.services import communities

    return communities.role_named(value)


@app.command()
def role(
    community: CommunityArgument,
    user: UserArgument,
    new_role: Annotated[
        str,
        typer.Argument(
            metavar="ROLE", help="Owner, Admin, Moderator or Member (any case).", callback=_role
        ),
    ],
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Give a member another role (Owners and Admins).

    Only an Owner makes or unmakes Owners and Admins; a community always keeps an Owner.
    """
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    member = _call(communities.change_role, community, user, new_role)
    output.message(f"{member['display_name']} is now {member['role']}")
    output.emit(member, fmt, MEMBER_COLUMNS)


@app.command()
def remove(
    community: CommunityArgument,
    user: UserArgument,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Remove a member (Owners and Admins; an Admin cannot remove an Owner or an Admin)."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    found, member = _call(communities.remove_member, community, user)
    output.message(f"removed {member['display_name']} from the community {found['name']}")
    record = {
        "community_id": found["id"],
        "community_name": found["name"],
        "user_id": member["user_id"],
        "display_name": member["display_name"],
        "removed": True,
    }
    if fmt != "table":
        output.emit(record, fmt, ())


@app.command()
def invite(
    community: CommunityArgument,
    email: Annotated[
        str | None,
        typer.Option("--email", metavar="E", help="Only the user with this email may use it."),
    ] = None,
    expires: Annotated[
        str,
        typer.Option(
            "--expires", metavar="DURATION", help="How long it is valid: 60s to 90d (30m, 24h, 2w)."
        ),
    ] = "7d",
    uses: Annotated[
        int,
        typer.Option(
            "--uses",
            metavar="N",
            help="How many users it admits, 1-1000.",
            callback=number_in_range(1, 1000, what="a whole number"),
        ),
    ] = 1,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Create an invitation (Owners and Admins) and print its code: shown this once only."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    found, made = _call(communities.invite, community, email=email, expires=expires, uses=uses)
    if fmt != "table":
        output.emit(made, fmt, INVITE_COLUMNS)
    else:
        output.emit_value(made["code"])
    who = f"for {made['email']} only, " if made["email"] else ""
    output.message(
        f"invitation {made['id']} to {found['name']}: {who}{made['max_uses']} use"
        f"{'s' if made['max_uses'] != 1 else ''}, until {made['expires_at']}. The code is shown "
        f"only now: give it to the invitee, who runs\n  gsm community join {found['id']} "
        "--code CODE"
    )


@app.command()
def invitations(
    community: CommunityArgument, json_: JsonOption = False, output_: OutputOption = None
) -> None:
    """List a community's invitations and their state (Owners and Admins); codes are not kept."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    _found, listed = _call(communities.invitations, community)
    output.emit(listed, fmt, INVITATION_COLUMNS)


@app.command()
def revoke(
    community: CommunityArgument,
    invitation_id: Annotated[
        str, typer.Argument(metavar="INVITATION_ID", help="As `invitations` lists it.")
    ],
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Revoke an invitation: its code admits nobody from now on (Owners and Admins)."""
    from gsm_cli.services import communities

    fmt = output_format(output_, json_)
    found = _call(communities.revoke, community, invitation_id)
    output.message(f"revoked invitation {invitation_id} of {found['name']}")
    record = {"community_id": found["id"], "invitation_id": invitation_id, "revoked": True}
    if fmt != "table":
        output.emit(record, fmt, ())


# --- donations (services/payments.py, docs/payments.md) ------------------------------------


def _amount(text: str) -> Any:
    """--amount as a Decimal, exactly as written (never a float); exit 4 when it is no amount."""
    from gsm_cli.services import payments

    return payments.parse_amount(text)


def _currency(param: typer.CallbackParam, value: str | None) -> str | None:
    from gsm_cli.services import payments

    return None if value is None else payments.parse_currency(value)


@app.command()
def donate(
    community: CommunityArgument,
    amount: Annotated[
        Any,  # a Decimal, made by _amount from the text
        typer.Option(
            "--amount",
            metavar="AMOUNT",
            help="How much, above zero, with a decimal point: 5.00 (at most the currency's "
            "decimals).",
            parser=_amount,
        ),
    ],
    currency: Annotated[
        str,
        typer.Option(
            "--currency", metavar="CODE", help="ISO 4217 currency: EUR, USD...", callback=_currency
        ),
    ],
    message: Annotated[
        str | None,
        typer.Option("--message", metavar="TEXT", help="A few words to go with it."),
    ] = None,
    yes: YesOption = False,
    wait: Annotated[
        float | None,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            help="Wait up to SECONDS for a pending payment to be confirmed (or failed).",
            show_default=False,
            callback=number_in_range(0, 86400, what="a number of seconds"),
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Donate to a community: its owner receives it once the payment is confirmed."""
    from gsm_cli.cloud import session
    from gsm_cli.commands.plugin import payment_messages
    from gsm_cli.services import communities, payments

    fmt = output_format(output_, json_)
    given = f"{amount} {currency}"
    with (
        open_store() as store,
        session.connect(store, paths(), environment.current().vars) as cloud,
    ):
        found = communities.find(cloud, community)
        confirm(f"Donate {given} to {found['name']}?", yes)
        with output.Progress(f"donating to {found['name']}") as spinner:
            payment = payments.donate(
                cloud, found["id"], amount, currency, message, wait, spinner.report
            )
    payment_messages(
        payment,
        f"donated {payment['amount']} {payment['currency']} to {found['name']}",
        "its owner sees it in `gsm revenue report`",
    )
    record = {
        "community": found["name"],
        "community_id": found["id"],
        "amount": payment["amount"],
        "currency": payment["currency"],
        "status": payment["status"],
        "payment": payment,
    }
    columns = (Column("community"), Column("amount"), Column("currency"), Column("status"))
    output.emit(record, fmt, columns)
