"""gsm-cloud: the HTTP API that gsm logs in to and syncs with (PostgreSQL in production)."""

__version__ = "0.1.0"
