"""gsm-cloud's settings, from the environment (one object, read once)."""

import os
from dataclasses import dataclass, field
from pathlib import Path


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("gsm-cloud", appauthor=False))


@dataclass(frozen=True)
class Settings:
    # SQLAlchemy URL; without one, an embedded SQLite file for a quick local try-out.
    database_url: str
    storage_dir: Path  # uploaded plugin packages
    session_token_days: int = 30
    max_upload_bytes: int = 100 * 1024 * 1024
    # The body of POST /v1/sync/push (the other JSON bodies have fixed, small limits).
    max_push_bytes: int = 8 * 1024 * 1024
    # Log-in attempts (POST /v1/auth/token): per client address, every attempt; per account,
    # failed attempts; both counted in the database, per fixed window.
    login_window_seconds: int = 300
    login_max_per_address: int = 60
    login_max_per_account: int = 10
    # Slow clients: a request's headers must arrive within header_timeout seconds; its body
    # within body_timeout seconds plus one second per body_min_rate bytes.
    header_timeout: int = 10
    body_timeout: int = 20
    body_min_rate: int = 500
    page_size_max: int = 200
    # A pooled database connection idle longer than this (seconds) is pinged before use.
    db_ping_after_idle: float = 10.0
    # `gsm-cloud serve` writes an access log (one line per request) unless this is off.
    access_log: bool = True
    # How long (ms) a push request that names the request it follows (after_batch_id) waits
    # for that request to commit before it is answered 409 previous_batch_missing.
    sync_order_wait_ms: int = 2000
    # `gsm-cloud serve`'s HTTP parser: "auto" (httptools when installed, else h11), "h11" or
    # "httptools"; the slow-client timeouts hold with either.
    http: str = "auto"
    # Payments (services/payments.py): "development" (confirms at once, for test deployments
    # only), "stripe", or None (purchases and donations answer 503 payments_unavailable).
    payments: str | None = None
    stripe_api_url: str = "https://api.stripe.com"
    stripe_secret_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalise_database_url(url: str) -> str:
    """postgresql:// URLs use psycopg 3 (the driver we ship), not psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    home = Path(env["GSM_CLOUD_HOME"]) if env.get("GSM_CLOUD_HOME") else _default_home()
    url = env.get("GSM_CLOUD_DATABASE_URL") or f"sqlite:///{home / 'gsm-cloud.db'}"
    storage = Path(env.get("GSM_CLOUD_STORAGE_DIR") or home / "packages")
    return Settings(
        database_url=normalise_database_url(url),
        storage_dir=storage,
        session_token_days=_positive_int(env, "GSM_CLOUD_SESSION_DAYS", 30),
        max_upload_bytes=_positive_int(env, "GSM_CLOUD_MAX_UPLOAD_BYTES", 100 * 1024 * 1024),
        max_push_bytes=_positive_int(env, "GSM_CLOUD_MAX_PUSH_BYTES", 8 * 1024 * 1024),
        login_window_seconds=_positive_int(env, "GSM_CLOUD_LOGIN_WINDOW_SECONDS", 300),
        login_max_per_address=_positive_int(env, "GSM_CLOUD_LOGIN_MAX_PER_ADDRESS", 60),
        login_max_per_account=_positive_int(env, "GSM_CLOUD_LOGIN_MAX_PER_ACCOUNT", 10),
        header_timeout=_positive_int(env, "GSM_CLOUD_HEADER_TIMEOUT", 10),
        body_timeout=_positive_int(env, "GSM_CLOUD_BODY_TIMEOUT", 20),
        body_min_rate=_positive_int(env, "GSM_CLOUD_BODY_MIN_RATE", 500),
        db_ping_after_idle=_positive_int(env, "GSM_CLOUD_DB_PING_AFTER_IDLE", 10),
        access_log=_flag(env, "GSM_CLOUD_ACCESS_LOG", True),
        sync_order_wait_ms=_positive_int(env, "GSM_CLOUD_SYNC_ORDER_WAIT_MS", 2000),
        http=_http(env),
        payments=_payments(env),
        stripe_api_url=(env.get("GSM_CLOUD_STRIPE_API_URL") or STRIPE_API_URL).rstrip("/"),
        stripe_secret_key=env.get("GSM_CLOUD_STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env.get("GSM_CLOUD_STRIPE_WEBHOOK_SECRET") or None,
    )


class SettingsError(ValueError):
    pass


STRIPE_API_URL = "https://api.stripe.com"
PAYMENT_PROVIDERS = ("development", "stripe")


def _payments(env: dict[str, str]) -> str | None:
    """GSM_CLOUD_PAYMENTS names the provider; unset, Stripe when its secret key is given, else
    none. The development provider is never chosen unless named."""
    chosen = env.get("GSM_CLOUD_PAYMENTS") or None
    if chosen is None:
        return "stripe" if env.get("GSM_CLOUD_STRIPE_SECRET_KEY") else None
    if chosen not in PAYMENT_PROVIDERS:
        raise SettingsError(
            f"GSM_CLOUD_PAYMENTS must be one of {', '.join(PAYMENT_PROVIDERS)}, not {chosen!r}"
        )
    if chosen == "stripe" and not env.get("GSM_CLOUD_STRIPE_SECRET_KEY"):
        raise SettingsError("GSM_CLOUD_PAYMENTS=stripe needs GSM_CLOUD_STRIPE_SECRET_KEY")
    return chosen


def _positive_int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, not {value}")
    return value


def _http(env: dict[str, str]) -> str:
    value = (env.get("GSM_CLOUD_HTTP") or "auto").strip().lower()
    if value not in ("auto", "h11", "httptools"):
        raise SettingsError(f"GSM_CLOUD_HTTP must be auto, h11 or httptools, not {value!r}")
    return value


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be on or off (1/0, true/false, yes/no), not {raw!r}")
