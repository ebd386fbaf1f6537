"""Rate limits counted in the database, so that every worker process (and every machine that
serves the same database) counts together.

A limit allows ``limit`` hits per bucket in each fixed window of ``window`` seconds (windows
start at multiples of ``window`` since the epoch). A hit is one atomic upsert that returns the
new count, so concurrent hits from several workers are all counted. Rows of ended windows are
deleted as new hits come in.
"""

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gsm_cloud.api.errors import ApiError
from gsm_cloud.config import Settings
from gsm_cloud.db.models import RateLimitCounter

EPOCH = datetime(1970, 1, 1)


class TooManyRequests(ApiError):
    status_code = 429
    code = "too_many_requests"


@dataclass(frozen=True)
class Window:
    start: datetime
    seconds: int

    @classmethod
    def around(cls, now: datetime, seconds: int) -> "Window":
        elapsed = int((now - EPOCH).total_seconds())
        return cls(EPOCH + timedelta(seconds=elapsed - elapsed % seconds), seconds)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until this window ends (at least 1)."""
        left = (self.start + timedelta(seconds=self.seconds) - now).total_seconds()
        return max(1, math.ceil(left))


def hits(session: Session, bucket: str, window: Window) -> int:
    row = session.get(RateLimitCounter, (bucket, window.start))
    return row.hits if row is not None else 0


def hit(session: Session, bucket: str, window: Window) -> int:
    """Count one hit in this window; the count after it. Flushed, not committed."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(RateLimitCounter).values(bucket=bucket, window_start=window.start, hits=1)
    statement = statement.on_conflict_do_update(
        index_elements=[RateLimitCounter.bucket, RateLimitCounter.window_start],
        set_={"hits": RateLimitCounter.hits + 1},
    ).returning(RateLimitCounter.hits)
    count = session.execute(statement).scalar_one()
    session.execute(delete(RateLimitCounter).where(RateLimitCounter.window_start < window.start))
    return count


def refuse(message: str, window: Window, now: datetime) -> TooManyRequests:
    seconds = window.retry_after(now)
    error = TooManyRequests(f"{message}; try again in {seconds} s")
    error.headers = {"Retry-After": str(seconds)}
    return error


# -- the log-in limits -----------------------------------------------------------------------


def address_bucket(host: str | None) -> str:
    """A client address as a bucket; an IPv6 address counts by its /64 network (one host
    usually has a whole /64 to pick addresses from)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return f"login-address:{(host or 'unknown')[:80]}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"login-address:{address.ipv4_mapped}"
        return f"login-address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"login-address:{address}"


def account_bucket(email: str) -> str:
    """An account as a bucket: a hash of its email, so the table holds no email address."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"login-account:{digest}"


def check_login(
    session: Session, settings: Settings, *, host: str | None, email: str, now: datetime
) -> Window:
    """Count a log-in attempt from ``host`` and refuse it (429) when this address or the
    account of ``email`` is over its limit. Commits the count, which must outlive a failed
    log-in. Call before verifying the password, so that refused attempts cost no hashing."""
    window = Window.around(now, settings.login_window_seconds)
    attempts = hit(session, address_bucket(host), window)
    session.commit()
    if attempts > settings.login_max_per_address:
        raise refuse("too many log-in attempts from this address", window, now)
    if hits(session, account_bucket(email), window) >= settings.login_max_per_account:
        raise refuse("too many failed log-in attempts for this account", window, now)
    return window


def login_failed(session: Session, email: str, window: Window) -> None:
    """Count a failed log-in against its account (committed)."""
    session.rollback()
    hit(session, account_bucket(email), window)
    session.commit()


def login_succeeded(session: Session, email: str, window: Window) -> None:
    """Forget the account's failed attempts of this window (in the caller's transaction)."""
    session.execute(
        delete(RateLimitCounter).where(
            RateLimitCounter.bucket == account_bucket(email),
            RateLimitCounter.window_start == window.start,
        )
    )
