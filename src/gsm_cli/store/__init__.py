"""The local SQLite store: engine, ORM models, migrations and the sync outbox.

``Store`` is imported on first use (PEP 562), so that the modules of this package that need
no SQLAlchemy (revisions, files) can be imported without it, by the fast path.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing (the completion look-ups are fast)
if TYPE_CHECKING:
    from typing import Any

    from gsm_cli.store.database import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    if name == "Store":
        from gsm_cli.store.database import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
