"""What the logged-in account earned, from gsm-cloud's revenue report (docs/payments.md): as a
plugin's developer (purchases) and as a community's owner (donations), confirmed payments only,
grouped by plugin, community or month, with totals per currency.

Amounts stay decimal: the cloud sums them exactly (SQL over NUMERIC) and sends text; gsm checks
each is a decimal and shows it with at least two decimals, never through a float.

No printing here: ``report`` returns data or raises a GsmError.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from gsm_cli.cloud.client import CloudClient
from gsm_cli.errors import InvalidInputError
from gsm_cli.paths import Paths
from gsm_cli.store import Store

GROUPINGS = ("plugin", "community", "month")
ROW_FIELDS: dict[str, Any] = {
    "key": str,
    "label": (str, type(None)),
    "currency": str,
    "count": int,
    "total": str,
}
TOTAL_FIELDS: dict[str, Any] = {"currency": str, "count": int, "total": str}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def time_range(
    since: str | None, until: str | None, now: datetime | None = None
) -> tuple[str | None, str | None]:
    """``--since``/``--until`` (a duration back from now like 30d, or an ISO date or time) as
    ISO 8601 UTC, with the parser of `gsm metrics`; ``since`` after ``until`` is exit 4."""
    from gsm_cli.services.metrics import parse_since

    now = now or datetime.now(UTC)
    start = parse_since(since, now) if since is not None else None
    end = parse_since(until, now, "--until") if until is not None else None
    if start is not None and end is not None and start > end:
        raise InvalidInputError(
            f"--since {since} is after --until {until}",
            hint="give the earlier time to --since",
            code="invalid_time_range",
        )
    return (_iso(start) if start else None, _iso(end) if end else None)


def _amounts(client: CloudClient, item: Any, what: str, fields: dict[str, Any]) -> dict[str, Any]:
    from gsm_cli.services.payments import money

    checked = dict(client.checked_object(item, what, fields))
    try:
        checked["total"] = money(Decimal(checked["total"]))
    except (InvalidOperation, ValueError):
        raise client.bad_answer(f"{what}: the total {checked['total'][:40]!r}") from None
    return checked


def fetch(client: CloudClient, *, since: str | None, until: str | None, by: str) -> dict[str, Any]:
    """GET /v1/revenue/report, checked: {by, since, until, rows, totals}, each row {key, label,
    currency, count, total} and each total {currency, count, total}, totals as text with at
    least two decimals; rows in the cloud's order, totals by currency."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    params = {"by": by}
    if since:
        params["since"] = since
    if until:
        params["until"] = until
    answer = client.checked_object(
        client.json("GET", "/v1/revenue/report", params=params),
        "the revenue report",
        {"rows": list, "totals": list},
    )
    rows = [
        _amounts(client, row, "a row of the revenue report", ROW_FIELDS) for row in answer["rows"]
    ]
    totals = [
        _amounts(client, total, "a total of the revenue report", TOTAL_FIELDS)
        for total in answer["totals"]
    ]
    return {
        "by": by,
        "since": answer.get("since", since),
        "until": answer.get("until", until),
        "rows": rows,
        "totals": sorted(totals, key=lambda total: total["currency"]),
    }


def report(
    store: Store,
    paths: Paths,
    env: Mapping[str, str],
    *,
    since: str | None = None,
    until: str | None = None,
    by: str = "plugin",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The logged-in account's revenue report (``fetch``) for ``--since``/``--until`` as the
    command line gives them (``time_range``). Exit 6 logged out, 7 when the cloud is away."""
    from gsm_cli.cloud import session

    start, end = time_range(since, until, now)
    with session.connect(store, paths, env) as client:
        return fetch(client, since=start, until=end, by=by)
