"""gsm doctor: is this machine ready to run gsm?"""

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, LocalOutputOption, output_format, paths
from gsm_cli.errors import VerificationError
from gsm_cli.output import Column

app = typer.Typer(add_completion=False)

COLUMNS = (Column("name", "CHECK"), Column("status"), Column("detail"), Column("hint"))


@app.command()
def doctor(output_: LocalOutputOption = None, json_: JsonOption = False) -> None:
    """Check the store, folders, cloud and tools; exit 8 when a check fails."""
    from gsm_cli.services import doctor as doctor_service

    # Doctor must work when the store is broken, so its format never comes from the store.
    fmt = output_format(output_, json_, use_store=False)
    checks = doctor_service.run(paths(), environment.current().vars)
    output.emit([c.to_dict() for c in checks], fmt, COLUMNS)
    failed = doctor_service.failures(checks)
    if failed:
        names = ", ".join(c.name for c in failed)
        raise VerificationError(f"{len(failed)} check(s) failed: {names}", code="doctor_failed")
