"""gsm plugin: author, publish, search, install, lock and verify plugins (docs/plugins.md,
docs/plugin-format.md, docs/ci.md).

Commands stay thin: the package format lives in services/plugin_package.py, the cloud side in
services/plugin_cloud.py, installs, locks and verification in services/plugins.py.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from gsm_cli import output
from gsm_cli.commands._common import (
    JsonOption,
    LocalOutputOption,
    known_game,
    output_format,
)
from gsm_cli.output import Column

app = typer.Typer(
    help="Author, publish, search, install, lock and verify plugins.",
    no_args_is_help=True,
    add_completion=False,
)

# --- authoring: init, pack, validate (services/plugin_package.py) -------------------------
# They need no store: a CI job validates and packs on a machine where gsm keeps nothing, so
# their format comes from --json, -o or GSM_OUTPUT only (use_store=False).

PROBLEM_COLUMNS = (Column("rule"), Column("path"), Column("message"))
PACK_COLUMNS = (Column("path"), Column("sha256"), Column("size"), Column("files"))
INIT_COLUMNS = (Column("folder"), Column("name"), Column("game"), Column("category"))


def _known_category(param: typer.CallbackParam, value: str | None) -> str | None:
    from gsm_cli.commands._common import one_of
    from gsm_cli.services.plugin_package import CATEGORIES

    return one_of(CATEGORIES)(param, value)


def _known_games() -> list[str]:
    from gsm_cli.services import games

    return list(games.catalog())


@app.command("init")
def init(
    folder: Annotated[Path, typer.Argument(metavar="DIR", help="Folder to create (new or empty).")],
    name: Annotated[
        str,
        typer.Option("--name", metavar="NAME", help="Plugin name: 1-128 letters, digits, _ or -."),
    ],
    game: Annotated[
        str,
        typer.Option(
            "--game",
            metavar="GAME",
            help="Game id from `gsm game list` (or custom).",
            callback=known_game,
        ),
    ],
    category: Annotated[
        str,
        typer.Option(
            "--category",
            metavar="CATEGORY",
            help="admin, anticheat, chat, economy, gameplay, library, maps, performance, "
            "protection, utility, world or other.",
            callback=_known_category,
        ),
    ] = "other",
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a folder that is not empty (replaces its gsm-plugin.toml and "
            "README.md; nothing else is touched).",
        ),
    ] = False,
    json_: JsonOption = False,
) -> None:
    """Write a plugin skeleton that validates: gsm-plugin.toml, files/ and a README.md."""
    from gsm_cli.services import plugin_package

    fmt = output_format(None, json_, use_store=False) if json_ else "table"
    written = plugin_package.init_skeleton(
        folder, name=name, game=game, category=category, force=force
    )
    record = {
        "folder": str(folder),
        "name": name,
        "game": game,
        "category": category,
        "written": [str(path) for path in written],
    }
    if fmt == "json":
        output.emit(record, fmt, INIT_COLUMNS)
        return
    output.message(
        f"created the plugin {name} in {folder}: put the files to install under "
        f"{folder / 'files'}, then `gsm plugin pack {folder}`"
    )


@app.command("pack")
def pack(
    folder: Annotated[
        Path, typer.Argument(metavar="DIR", help="Plugin folder (gsm-plugin.toml and files/).")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Zip to write (default: NAME-VERSION.zip in the current folder).",
            show_default=False,
        ),
    ] = None,
    json_: JsonOption = False,
) -> None:
    """Validate a plugin folder and build its zip reproducibly; print its path and sha256."""
    from gsm_cli.services import plugin_package

    fmt = output_format(None, json_, use_store=False) if json_ else "table"
    with output.Progress("Packing", in_bytes=True) as bar:
        result = plugin_package.pack(folder, out, known_games=_known_games(), report=bar.report)
    output.emit(result.to_dict(), fmt, PACK_COLUMNS)


@app.command("validate")
def validate(
    source: Annotated[
        Path,
        typer.Argument(metavar="FILE|DIR", help="A package zip, or a plugin folder to pack."),
    ],
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            help="Also write a JUnit XML report: one test case per rule.",
            show_default=False,
        ),
    ] = None,
    output_: LocalOutputOption = None,
    json_: JsonOption = False,
) -> None:
    """List every problem of a package, each with its rule id and path; exit 8 when any."""
    from gsm_cli.services import plugin_package
    from gsm_cli.services.junit import JUnitCase, write_junit

    fmt = output_format(output_, json_, use_store=False)
    report = plugin_package.validate(source, known_games=_known_games())
    if junit is not None:
        cases = []
        for rule in plugin_package.RULES:
            found = [problem for problem in report.problems if problem.rule == rule]
            failure = (
                "\n".join(
                    f"{problem.path}: {problem.message}" if problem.path else problem.message
                    for problem in found
                )
                if found
                else None
            )
            cases.append(JUnitCase(rule, "gsm.plugin.validate", failure))
        write_junit(junit, f"gsm plugin validate {source}", cases)
    rows = [problem.to_dict() for problem in report.problems]
    if fmt == "json":
        data: dict[str, Any] = {"source": str(source), **report.to_dict()}
        output.emit(data, fmt, PROBLEM_COLUMNS)
    elif rows:
        output.emit(rows, fmt, PROBLEM_COLUMNS)
    if report.problems:
        count = len(report.problems)
        raise plugin_package.PackageInvalid(
            f"{source} is not a valid plugin package: {count} problem(s)", report.problems
        )
    if fmt == "table":
        assert report.manifest is not None
        output.message(
            f"{source} is valid: {report.manifest.name} {report.manifest.version}, "
            f"{len(report.files)} file(s)"
        )
