"""One module per noun; each exposes a Typer ``app`` registered lazily in gsm_cli.app."""
