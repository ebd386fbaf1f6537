"""The local SQLite store: engine, ORM models, migrations and the sync outbox."""

from gsm_cli.store.database import Store

__all__ = ["Store"]
