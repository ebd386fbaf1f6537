"""gsm: run, supervise, back up and sync dedicated game servers."""

__version__ = "0.1.0"
