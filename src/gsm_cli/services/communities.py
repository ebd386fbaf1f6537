"""Communities in gsm-cloud from gsm's side: list, show, create, change and delete them, join
and leave, members and their roles, invitations; and which community a server may be put in.
docs/communities.md.

No printing here: each function returns data or raises a GsmError. Every answer of the cloud
goes through ``gsm_cli.cloud.client`` (errors, shape checks).

- A community is named by its name, whatever its case, or by its id. Names are not unique in
  the cloud: a name that several communities the caller can see share is refused
  (``community_name_ambiguous``, exit 4) with their ids. A private community exists only for
  its members, so an invitee names it by its id (``gsm community invite`` prints it).
- A member is named by user id or display name (what ``members`` lists; the cloud shows no
  member's email), or by the caller's own email.
- Lists are read page by page to the end (the cloud's pages hold at most 200).
- Offline (the cloud cannot be reached), ``list --mine`` answers from the membership cache
  that ``gsm sync pull`` keeps, with the time of that pull; nothing else has a cache.
"""

import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from gsm_cli.errors import (
    CloudUnreachableError,
    GsmError,
    InvalidInputError,
    NotAllowedError,
    NotFoundError,
)
from gsm_cli.paths import Paths
from gsm_cli.store import Store

if TYPE_CHECKING:
    from gsm_cli.cloud.client import CloudClient

ROLES = ("Owner", "Admin", "Moderator", "Member")  # the cloud's, most powerful first
MANAGERS = ("Owner", "Admin")  # who may change a community, its members and invitations
PER_PAGE = 200  # the cloud's largest page
# An invitation lives from a minute to 90 days (the cloud's limits), a week unless told.
MIN_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS = 60, 90 * 24 * 3600
DEFAULT_EXPIRY = "7d"
MAX_USES = 1000
# What gsm relies on in the cloud's answers (a tuple: any of those types).
_NONE = type(None)
COMMUNITY_FIELDS: dict[str, Any] = {
    "id": str,
    "name": str,
    "is_public": bool,
    "member_count": int,
    "my_role": (str, _NONE),
}
MEMBER_FIELDS: dict[str, Any] = {"user_id": str, "display_name": str, "role": str}
INVITATION_FIELDS: dict[str, Any] = {
    "id": str,
    "email": (str, _NONE),
    "max_uses": int,
    "uses": int,
    "expires_at": str,
}
PAGE_FIELDS: dict[str, Any] = {"items": list, "total": int}


@dataclass
class Listing:
    """Communities, from the cloud or (offline, ``--mine``) from the membership cache."""

    rows: list[dict[str, Any]]
    source: str  # "cloud" or "cache"
    cached_at: str | None = None  # the last pull (ISO 8601 UTC), for the cache
    cache_age_seconds: int | None = None
    reason: str | None = None  # why the cache answered


@dataclass(frozen=True)
class ServerCommunity:
    """The community a server is to be put in, and how that was checked."""

    id: str
    name: str
    checked_in: str  # "cloud", or "cache" when the cloud could not be reached
    reason: str | None = None  # why the cache answered


# --- the cloud -------------------------------------------------------------------------------


def _connect(store: Store, paths: Paths, env: Mapping[str, str]) -> "CloudClient":
    from gsm_cli.cloud import session

    return session.connect(store, paths, env)


def _path(community_id: str, *rest: str) -> str:
    return "/".join(["/v1/communities", quote(community_id, safe=""), *rest])


def _community(client: "CloudClient", value: Any, what: str = "the community") -> dict[str, Any]:
    return client.checked_object(value, what, COMMUNITY_FIELDS)


def _pages(
    client: "CloudClient", path: str, what: str, params: Mapping[str, Any] | None = None
) -> Iterator[dict[str, Any]]:
    """Every item of a paged list, page after page, each checked to be an object."""
    page = 1
    seen = 0
    while True:
        answer = client.checked_object(
            client.json("GET", path, params={**(params or {}), "page": page, "per_page": PER_PAGE}),
            f"the list of {what}",
            PAGE_FIELDS,
        )
        for item in answer["items"]:
            if not isinstance(item, dict):
                raise client.bad_answer(f"an item of the list of {what} is not an object")
            yield item
        seen += len(answer["items"])
        if not answer["items"] or seen >= answer["total"]:
            return
        page += 1


def _is_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _listed(client: "CloudClient", params: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        _community(client, item, "a community of the list")
        for item in _pages(client, "/v1/communities", "communities", params)
    ]


def find(client: "CloudClient", name: str) -> dict[str, Any]:
    """The community called ``name`` (any case) or with the id ``name``, as the caller sees
    it (with ``my_role``). NotFoundError (exit 3) when the caller sees none; a name that
    several share is InvalidInputError (exit 4, ``community_name_ambiguous``)."""
    if _is_id(name):
        return _community(client, client.json("GET", _path(name)))
    found = [c for c in _listed(client, {"q": name}) if c["name"].lower() == name.lower()]
    if not found:
        raise NotFoundError(
            f"no community named {name} in the cloud",
            hint="`gsm community list --search TEXT` lists those whose name has it; a private "
            "community is seen by its members only: an invitee names it by its id",
            code="community_not_found",
        )
    if len(found) > 1:
        ids = ", ".join(f"{c['id']} ({c['name']})" for c in found)
        raise InvalidInputError(
            f"{len(found)} communities are named {name}: {ids}",
            hint="name the one you mean by its id instead of its name",
            code="community_name_ambiguous",
        )
    return found[0]


def _role_needed(community: Mapping[str, Any], roles: tuple[str, ...], doing: str) -> None:
    """Refuse early, with the reason, what the cloud would refuse for the caller's role."""
    if community["my_role"] not in roles:
        mine = community["my_role"] or "not a member"
        raise NotAllowedError(
            f"only {' or '.join(role + 's' for role in roles)} of {community['name']} can "
            f"{doing} (you: {mine})",
            hint=f"`gsm community members {community['name']}` shows who can",
            code="forbidden",
        )


def list_communities(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    *,
    mine: bool = False,
    search: str | None = None,
) -> Listing:
    """The communities the caller can see (public ones and the caller's private ones), or
    with ``mine`` only the caller's, oldest first; ``search``: only names that contain it (any
    case). Offline, ``mine`` answers from the membership cache (``source`` "cache", with its
    age and the reason); without a cache the cloud's error stands."""
    params: dict[str, Any] = {}
    if search:
        params["q"] = search
    if mine:
        params["member"] = "true"
    try:
        with _connect(store, paths, env) as client:
            return Listing(_listed(client, params), "cloud")
    except CloudUnreachableError as exc:
        if not mine:
            raise
        cached = cached_memberships(store, search=search)
        if cached is None:
            exc.hint = (
                f"{exc.hint + '; ' if exc.hint else ''}`gsm sync pull` keeps a copy of your "
                "memberships for `gsm community list --mine` offline"
            )
            raise
        cached.reason = exc.message
        return cached


def get(store: Store, paths: Paths, env: Mapping[str, str], name: str) -> dict[str, Any]:
    """One community, with the caller's role in it."""
    with _connect(store, paths, env) as client:
        return find(client, name)


def create(
    store: Store, paths: Paths, env: Mapping[str, str], fields: Mapping[str, Any]
) -> tuple[dict[str, Any], list[str]]:
    """A new community (the caller its Owner), and warnings: another visible community of the
    same name makes names ambiguous, so gsm says so (the cloud allows it)."""
    body = {key: value for key, value in fields.items() if value is not None}
    with _connect(store, paths, env) as client:
        same = [
            c
            for c in _listed(client, {"q": body.get("name", "")})
            if c["name"].lower() == str(body.get("name", "")).lower()
        ]
        made = _community(client, client.json("POST", "/v1/communities", **json_body(body)))
    warnings = []
    if same:
        warnings.append(
            f"{len(same)} other communit{'y is' if len(same) == 1 else 'ies are'} named "
            f"{made['name']}: name this one by its id ({made['id']}) where names are ambiguous"
        )
    return made, warnings


def update(
    store: Store, paths: Paths, env: Mapping[str, str], name: str, fields: Mapping[str, Any]
) -> dict[str, Any]:
    """Change a community's details (Owners and Admins). ``fields`` holds only what changes;
    a None description, logo or banner URL clears it."""
    if not fields:
        raise InvalidInputError(
            "nothing to change",
            hint="give --name, --description, --public/--private, --logo-url or --banner-url",
        )
    with _connect(store, paths, env) as client:
        community = find(client, name)
        return _community(
            client, client.json("PATCH", _path(community["id"]), **json_body(dict(fields)))
        )


def deletable(store: Store, paths: Paths, env: Mapping[str, str], name: str) -> dict[str, Any]:
    """The community ``name`` names, when the caller may delete it (its Owner): what the
    question before a delete shows. NotAllowedError (exit 6) for anyone else."""
    with _connect(store, paths, env) as client:
        community = find(client, name)
    _role_needed(community, ("Owner",), "delete it")
    return community


def delete(store: Store, paths: Paths, env: Mapping[str, str], community_id: str) -> None:
    """Delete a community and its memberships (an Owner only); its servers stay, in none."""
    with _connect(store, paths, env) as client:
        client.request("DELETE", _path(community_id))


def join(
    store: Store, paths: Paths, env: Mapping[str, str], name: str, code: str | None = None
) -> dict[str, Any]:
    """Join a community as a Member: a public one by itself, any with an invitation's code."""
    with _connect(store, paths, env) as client:
        # A private community is invisible until joined: with a code, its id is taken as it is.
        community_id = name if code is not None and _is_id(name) else find(client, name)["id"]
        try:
            answer = client.json(
                "POST",
                _path(community_id, "join"),
                **(json_body({"code": code}) if code is not None else {}),
            )
        except NotAllowedError as exc:
            if exc.code == "invitation_invalid":
                exc.hint = (
                    "codes expire, are used up or revoked, and may be meant for another email: "
                    "ask an Owner or Admin of the community for a new one"
                )
            raise
        return _community(client, answer)


def leave(store: Store, paths: Paths, env: Mapping[str, str], name: str) -> dict[str, Any]:
    """Leave a community (its last Owner cannot: make someone else Owner first)."""
    with _connect(store, paths, env) as client:
        community = find(client, name)
        return _community(client, client.json("POST", _path(community["id"], "leave")))


def _members(client: "CloudClient", community_id: str) -> list[dict[str, Any]]:
    return [
        client.checked_object(item, "a member", MEMBER_FIELDS)
        for item in _pages(client, _path(community_id, "members"), "members")
    ]


def members(
    store: Store, paths: Paths, env: Mapping[str, str], name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The community and its members, in the order they joined."""
    with _connect(store, paths, env) as client:
        community = find(client, name)
        return community, _members(client, community["id"])


def _member(client: "CloudClient", community: Mapping[str, Any], user: str) -> dict[str, Any]:
    """The member ``user`` names: a user id, a display name (any case), or the caller's email."""
    listed = _members(client, community["id"])
    wanted = user.strip()
    if "@" in wanted:
        me = client.checked_object(
            client.json("GET", "/v1/me"), "the account", {"id": str, "email": str}
        )
        if me["email"].lower() != wanted.lower():
            raise NotFoundError(
                f"cannot tell who {wanted} is: the cloud shows no member's email but your own",
                hint=f"name the member by display name or user id: `gsm community members "
                f"{community['name']}` lists them",
                code="member_not_found",
            )
        wanted = me["id"]
    if _is_id(wanted):
        found = [m for m in listed if uuid.UUID(m["user_id"]) == uuid.UUID(wanted)]
    else:
        found = [m for m in listed if m["display_name"].lower() == wanted.lower()]
    if not found:
        raise NotFoundError(
            f"{community['name']} has no member {user}",
            hint=f"`gsm community members {community['name']}` lists them",
            code="member_not_found",
        )
    if len(found) > 1:
        ids = ", ".join(m["user_id"] for m in found)
        raise InvalidInputError(
            f"{len(found)} members of {community['name']} are called {user}: {ids}",
            hint="name the one you mean by its user id",
            code="member_name_ambiguous",
        )
    return found[0]


def role_named(text: str) -> str:
    """A role as the cloud spells it, from any case; InvalidInputError (exit 4) otherwise."""
    for role in ROLES:
        if role.lower() == text.strip().lower():
            return role
    raise InvalidInputError(
        f"invalid role {text!r}: expected one of {', '.join(ROLES)}", code="invalid_role"
    )


def change_role(
    store: Store, paths: Paths, env: Mapping[str, str], name: str, user: str, role: str
) -> dict[str, Any]:
    """Give a member another role (Owners and Admins; only an Owner makes or unmakes Owners
    and Admins; a community always keeps an Owner). The member, with the new role."""
    role = role_named(role)
    with _connect(store, paths, env) as client:
        community = find(client, name)
        _role_needed(community, MANAGERS, "change roles")
        member = _member(client, community, user)
        answer = client.json(
            "PATCH",
            _path(community["id"], "members", member["user_id"]),
            **json_body({"role": role}),
        )
        return client.checked_object(answer, "the member", MEMBER_FIELDS)


def remove_member(
    store: Store, paths: Paths, env: Mapping[str, str], name: str, user: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Remove a member (Owners and Admins; an Admin cannot remove an Owner or an Admin).
    The community and the member removed."""
    with _connect(store, paths, env) as client:
        community = find(client, name)
        member = _member(client, community, user)
        client.request("DELETE", _path(community["id"], "members", member["user_id"]))
        return community, member


# --- invitations -----------------------------------------------------------------------------


def expiry_seconds(text: str) -> int:
    """``--expires``: a duration (90m, 24h, 7d, 2w) from a minute to 90 days, in seconds."""
    from gsm_cli.services.metrics import parse_duration

    seconds = int(parse_duration(text, "--expires").total_seconds())
    if not MIN_EXPIRY_SECONDS <= seconds <= MAX_EXPIRY_SECONDS:
        raise InvalidInputError(
            f"invalid value {text!r} for --expires: an invitation lives from 1 minute to "
            "90 days (60s to 90d)",
            code="invalid_time",
        )
    return seconds


def invite(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    name: str,
    *,
    email: str | None = None,
    expires: str = DEFAULT_EXPIRY,
    uses: int = 1,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new invitation (Owners and Admins): the community and the invitation with its
    one-time ``code``, which the cloud keeps only hashed and never shows again."""
    seconds = expiry_seconds(expires)
    if not 1 <= uses <= MAX_USES:
        raise InvalidInputError(f"--uses must be from 1 to {MAX_USES}, not {uses}")
    with _connect(store, paths, env) as client:
        community = find(client, name)
        _role_needed(community, MANAGERS, "invite")
        body = {"email": email, "expires_in_seconds": seconds, "max_uses": uses}
        answer = client.json("POST", _path(community["id"], "invitations"), **json_body(body))
        invitation = client.checked_object(
            answer, "the invitation", {**INVITATION_FIELDS, "code": str}
        )
        return community, invitation


def invitations(
    store: Store, paths: Paths, env: Mapping[str, str], name: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The community and its invitations, with their state (Owners and Admins)."""
    with _connect(store, paths, env) as client:
        community = find(client, name)
        _role_needed(community, MANAGERS, "see invitations")
        listed = [
            client.checked_object(item, "an invitation", {**INVITATION_FIELDS, "state": str})
            for item in _pages(client, _path(community["id"], "invitations"), "invitations")
        ]
        return community, listed


def revoke(
    store: Store, paths: Paths, env: Mapping[str, str], name: str, invitation_id: str
) -> dict[str, Any]:
    """Revoke an invitation: its code admits nobody from now on (again: nothing changes).
    The community."""
    if not _is_id(invitation_id):
        raise InvalidInputError(
            f"invalid invitation id {invitation_id!r}",
            hint="`gsm community invitations C` lists them with their ids",
        )
    with _connect(store, paths, env) as client:
        community = find(client, name)
        _role_needed(community, MANAGERS, "revoke invitations")
        client.request("DELETE", _path(community["id"], "invitations", invitation_id))
        return community


# --- the membership cache (filled by `gsm sync pull`) -----------------------------------------


def cached_memberships(store: Store, *, search: str | None = None) -> Listing | None:
    """The caller's communities as the last `gsm sync pull` left them; None when gsm has
    never pulled. Each row says it is from the cache (``stale``, ``cached_at``)."""
    from sqlalchemy import select

    from gsm_cli.store.models import CommunityMembership, SyncState
    from gsm_cli.timeutil import iso_utc

    with store.read() as session:
        state = session.get(SyncState, 1)
        pulled_at = iso_utc(state.last_pull_at if state else None)
        rows = list(session.scalars(select(CommunityMembership)))
    if pulled_at is None and not rows:
        return None
    needle = (search or "").lower()
    found = [
        {
            "id": row.community_id,
            "name": row.community_name or row.community_id,
            "my_role": row.role,
            "joined_at": iso_utc(row.joined_at),
            "source": "cache",
            "cached_at": pulled_at,
            "stale": True,
        }
        for row in rows
        if needle in (row.community_name or "").lower()
    ]
    found.sort(key=lambda r: (r["joined_at"] or "", r["id"]))
    age = None
    if pulled_at:
        when = datetime.fromisoformat(pulled_at.replace("Z", "+00:00"))
        age = max(0, int((datetime.now(UTC) - when).total_seconds()))
    return Listing(found, "cache", cached_at=pulled_at, cache_age_seconds=age)


def cached_names(store: Store) -> dict[str, str]:
    """Community id -> name, as far as the membership cache knows."""
    from sqlalchemy import select

    from gsm_cli.store.models import CommunityMembership

    with store.read() as session:
        rows = session.execute(
            select(CommunityMembership.community_id, CommunityMembership.community_name)
        )
        return {community_id: name for community_id, name in rows if name}


# --- a server's community ----------------------------------------------------------------------


def for_server(store: Store, paths: Paths, env: Mapping[str, str], name: str) -> ServerCommunity:
    """The community ``name`` names, checked for `gsm server create|update --community`: it
    exists and the caller is a member (the cloud accepts a server's community from its members
    only). Logged out: NotAllowedError (exit 6). Offline, the membership cache answers; when it
    does not know the community either, the cloud's error stands (exit 7)."""
    try:
        with _connect(store, paths, env) as client:
            community = find(client, name)
    except NotAllowedError as exc:
        if exc.code == "not_logged_in":
            exc.hint = "run gsm auth login: a server joins a community of its owner's account"
        raise
    except CloudUnreachableError as exc:
        return _cached_for_server(store, name, exc)
    if community["my_role"] is None:
        raise NotAllowedError(
            f"you are not a member of {community['name']}: the cloud takes servers into a "
            "community from its members only",
            hint=f"join it first: gsm community join {community['name']}",
            code="not_a_member",
        )
    return ServerCommunity(community["id"], community["name"], "cloud")


def _cached_for_server(store: Store, name: str, failure: GsmError) -> ServerCommunity:
    cached = cached_memberships(store)
    rows = cached.rows if cached else []
    if _is_id(name):
        found = [r for r in rows if uuid.UUID(r["id"]) == uuid.UUID(name)]
    else:
        found = [r for r in rows if r["name"].lower() == name.lower()]
    if len(found) != 1:
        failure.hint = (
            f"{failure.hint + '; ' if failure.hint else ''}offline, gsm knows only the "
            "communities of its membership cache (`gsm community list --mine`), by name or id"
        )
        raise failure
    return ServerCommunity(found[0]["id"], found[0]["name"], "cache", failure.message)


def json_body(data: Any) -> dict[str, Any]:
    """The cloud client's request body (loaded on use: httpx only when the cloud is asked)."""
    from gsm_cli.cloud.client import json_body as body

    return body(data)
