"""gsm doctor: is this machine ready to run gsm?"""

import typer

from gsm_cli import environment, output
from gsm_cli.commands._common import JsonOption, OutputOption, paths
from gsm_cli.errors import VerificationError
from gsm_cli.output import Column, check_format

app = typer.Typer()

COLUMNS = (Column("name", "CHECK"), Column("status"), Column("detail"), Column("hint"))


@app.command()
def doctor(output_: OutputOption = None, json_: JsonOption = False) -> None:
    """Check the store, folders, cloud and tools; exit 8 when a check fails."""
    from gsm_cli.services import doctor as doctor_service

    env = environment.current()
    # Doctor must work when the store is broken, so its format never comes from the store.
    fmt = (
        "json"
        if json_
        else check_format(output_ or env.vars.get("GSM_OUTPUT") or "table", "--output")
    )
    env.output_format = fmt
    checks = doctor_service.run(paths(), env.vars)
    output.emit([c.to_dict() for c in checks], fmt, COLUMNS)
    failed = doctor_service.failures(checks)
    if failed:
        names = ", ".join(c.name for c in failed)
        raise VerificationError(f"{len(failed)} check(s) failed: {names}", code="doctor_failed")
