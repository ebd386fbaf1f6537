"""gsm plugin: author, publish, search, install, lock and verify plugins (docs/plugins.md,
docs/plugin-format.md, docs/ci.md).

Commands stay thin: the package format lives in services/plugin_package.py, the cloud side in
services/plugin_cloud.py, installs, locks and verification in services/plugins.py.
"""

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from gsm_cli import output
from gsm_cli.commands._common import (
    JsonOption,
    LocalOutputOption,
    OutputOption,
    known_game,
    number_in_range,
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


def report_path(param: typer.CallbackParam, value: Path | None) -> Path | None:
    """--junit FILE: its folder must exist (checked when given: exit 4 report_unwritable)."""
    from gsm_cli.services.junit import check_report_path

    return None if value is None else check_report_path(value)


def _known_category(param: typer.CallbackParam, value: str | None) -> str | None:
    from gsm_cli.commands._common import one_of
    from gsm_cli.services.plugin_package import CATEGORIES

    return one_of(CATEGORIES)(param, value)


def _sort_choice(param: typer.CallbackParam, value: str | None) -> str | None:
    from gsm_cli.commands._common import one_of

    return one_of(SEARCH_SORTS)(param, value)


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
            callback=report_path,
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


# --- the marketplace: publish, search, info (services/plugin_cloud.py) ---------------------

PUBLISH_COLUMNS = (
    Column("name"),
    Column("version"),
    Column("sha256"),
    Column("size"),
    Column("plugin_id"),
)
SEARCH_COLUMNS = (
    Column("name"),
    Column("version"),
    Column("category"),
    Column("price"),
    Column("downloads"),
    Column("rating"),
    Column("is_verified", "VERIFIED"),
    Column("supported_games", "GAMES"),
    Column("description"),
)
INFO_COLUMNS = (
    Column("name"),
    Column("id"),
    Column("description"),
    Column("category"),
    Column("latest"),
    Column("latest_release"),
    Column("price"),
    Column("supported_games", "GAMES"),
    Column("is_verified", "VERIFIED"),
    Column("downloads"),
    Column("rating"),
)
VERSION_COLUMNS = (
    Column("version"),
    Column("sha256"),
    Column("size"),
    Column("games"),
    Column("dependencies"),
    Column("published_at", "PUBLISHED"),
)
SEARCH_SORTS = ("downloads", "rating", "new")


@app.command("publish")
def publish(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The package zip to publish.")],
    changelog: Annotated[
        str | None,
        typer.Option("--changelog", metavar="TEXT", help="What changed in this version."),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Validate a package here, then publish it to gsm-cloud (Developer role); print its sha256."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugin_cloud

    fmt = output_format(output_, json_)
    with open_store() as store, output.Progress(f"Uploading {file.name}", in_bytes=True) as bar:
        result = plugin_cloud.publish(
            store, paths(), environment.current().vars, file, bar.report, changelog=changelog
        )
    if result["created_listing"]:
        output.message(f"listed the new plugin {result['name']} in the marketplace")
    if result["games_added"]:
        output.message(f"added {', '.join(result['games_added'])} to its supported games")
    output.message(f"published {result['name']} {result['version']}")
    output.emit(result, fmt, PUBLISH_COLUMNS)


@app.command("search")
def search(
    text: Annotated[
        str | None,
        typer.Argument(metavar="TEXT", help="Words in the name or description (any case)."),
    ] = None,
    game: Annotated[
        str | None,
        typer.Option(
            "--game", metavar="GAME", help="Only plugins for this game.", callback=known_game
        ),
    ] = None,
    category: Annotated[
        str | None,
        typer.Option(
            "--category",
            metavar="CATEGORY",
            help="Only plugins of this category.",
            callback=_known_category,
        ),
    ] = None,
    verified: Annotated[
        bool, typer.Option("--verified", help="Only plugins an admin verified.")
    ] = False,
    sort: Annotated[
        str,
        typer.Option(
            "--sort",
            metavar="downloads|rating|new",
            help="Most downloaded, best rated or newest first.",
            callback=_sort_choice,
        ),
    ] = "downloads",
    limit: Annotated[
        int,
        typer.Option(
            "--limit",
            metavar="N",
            help="Show at most N plugins (1-200).",
            callback=number_in_range(1, 200, what="a whole number"),
        ),
    ] = 50,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Search the marketplace; offline or logged out, the catalog cache of `gsm sync pull`."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugin_cloud

    fmt = output_format(output_, json_)
    with open_store() as store:
        result = plugin_cloud.search(
            store,
            paths(),
            environment.current().vars,
            text=text,
            game=game,
            category=category,
            verified=True if verified else None,
            sort=sort,
            limit=limit,
        )
    if result.source == "cache":
        output.warning(
            f"from the catalog cache ({result.reason}): last pulled "
            f"{result.cache_updated_at or 'never'}, {output.age_text(result.cache_age_seconds)}; "
            "`gsm sync pull` refreshes it"
        )
    if result.total > len(result.rows):
        output.message(f"showing {len(result.rows)} of {result.total} plugins (--limit)")
    output.emit(result.rows, fmt, SEARCH_COLUMNS)


@app.command("info")
def info(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Plugin name (any case) or id.")],
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Show a marketplace plugin: its versions with their sha256s, games and dependencies."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugin_cloud

    fmt = output_format(output_, json_)
    with open_store() as store:
        data = plugin_cloud.info(store, paths(), environment.current().vars, name)
    output.emit(data, fmt, INFO_COLUMNS)  # JSON and CSV: everything, versions included
    if fmt != "table":
        return
    if data["versions"]:
        output.emit(data["versions"], fmt, VERSION_COLUMNS)
    else:
        output.message(f"{data['name']} has no published version yet")
    if data["paid"]:
        output.message(
            f"{data['name']} costs {data['price']}: only its buyers and its developer can "
            "download it"
        )


BUY_COLUMNS = (
    Column("name"),
    Column("price"),
    Column("currency"),
    Column("status"),
    Column("payment_id", "PAYMENT"),
)
WaitOption = Annotated[
    float | None,
    typer.Option(
        "--wait",
        metavar="SECONDS",
        help="Wait up to SECONDS for a pending payment to be confirmed (or failed).",
        show_default=False,
        callback=number_in_range(0, 86400, what="a number of seconds"),
    ),
]


def payment_messages(payment: dict[str, Any], what: str, done: str) -> None:
    """Say where a payment stands: confirmed (``done`` follows), or pending with what the
    payer must do. Shared with `gsm community donate`."""
    if payment["status"] == "confirmed":
        output.message(f"{what}: payment {payment['id']} confirmed; {done}")
        return
    output.message(
        f"{what}: payment {payment['id']} is pending until {payment['provider']} confirms it"
    )
    if payment.get("client_secret"):
        output.message(
            f"complete it with {payment['provider']} using the client secret "
            f"{payment['client_secret']}"
        )
    output.message(f"then: {done} (--wait SECONDS waits for the confirmation)")


@app.command("buy")
def buy(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Plugin name (any case) or id.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Buy without asking.")] = False,
    wait: WaitOption = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Buy a paid plugin at its price; once the payment is confirmed, install it."""
    from gsm_cli import environment
    from gsm_cli.cloud import session
    from gsm_cli.commands._common import confirm, open_store, paths
    from gsm_cli.services import payments

    fmt = output_format(output_, json_)
    with (
        open_store() as store,
        session.connect(store, paths(), environment.current().vars) as cloud,
    ):
        offer = payments.plugin_offer(cloud, name)
        confirm(f"Buy {offer['name']} for {offer['price']} {offer['currency']}?", yes)
        with output.Progress(f"buying {offer['name']}") as spinner:
            result = payments.buy(cloud, offer, wait, spinner.report)
    payment = result["payment"]
    if payment is None:
        output.message(f"{result['name']} is already bought by this account: nothing to pay")
    else:
        payment_messages(
            payment,
            f"bought {result['name']} for {result['price']} {result['currency']}",
            f"`gsm plugin install {result['name']} --server SERVER` installs it",
        )
    row = {**result, "payment_id": payment["id"] if payment else None}
    output.emit(result if fmt == "json" else row, fmt, BUY_COLUMNS)


# --- installed plugins: install ... verify (services/plugins.py) --------------------------

ServerOption = Annotated[
    str,
    typer.Option("--server", metavar="SERVER", help="Server name (or id)."),
]
PluginArgument = Annotated[str, typer.Argument(metavar="NAME", help="Installed plugin's name.")]
INSTALLED_COLUMNS = (
    Column("name"),
    Column("version"),
    Column("is_enabled", "ENABLED"),
    Column("pinned"),
    Column("source"),
    Column("files"),
    Column("package_sha256", "SHA256"),
)
INSTALL_COLUMNS = (
    Column("name"),
    Column("version"),
    Column("source"),
    Column("files"),
    Column("sha256"),
)
ACTION_COLUMNS = (
    Column("action"),
    Column("name"),
    Column("version"),
    Column("from"),
)
FINDING_COLUMNS = (
    Column("server"),
    Column("plugin"),
    Column("check"),
    Column("path"),
    Column("message"),
)


def _cloud(store: Any) -> Any:
    """The cloud packages come from: logged in, or anonymous for free plugins when the cloud's
    URL is known (exit 6 when neither)."""
    from gsm_cli import environment
    from gsm_cli.cloud import session
    from gsm_cli.commands._common import paths
    from gsm_cli.services import plugins

    return plugins.CloudSource(
        session.connect_or_anonymous(store, paths(), environment.current().vars)
    )


def _names_cloud(targets: list[str]) -> bool:
    from gsm_cli.services import plugins

    return any(plugins.Target.parse(t).path is None for t in targets)


def _kept_messages(kept: list[dict[str, str]]) -> None:
    for item in kept:
        if item["path"] == item["kept_at"]:
            output.warning(f"kept {item['path']}: it was changed here (--force removes it)")
        else:
            output.warning(f"kept your {item['path']} as {item['kept_at']}")


@app.command("install")
def install(
    targets: Annotated[
        list[str],
        typer.Argument(
            metavar="PLUGIN",
            help="NAME, NAME@1.2.0 or NAME@^1.2 (from the cloud), or a package FILE (.zip).",
        ),
    ],
    server: ServerOption,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Install over files gsm did not install (they are kept in .gsm-replaced/).",
        ),
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Install plugins and their dependencies on a stopped server, all or nothing."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    fmt = output_format(output_, json_)
    with open_store() as store, contextlib.ExitStack() as stack:
        cloud = _cloud(store) if _names_cloud(targets) else None
        if cloud is not None:
            stack.callback(cloud.close)
        with output.Progress("installing", in_bytes=True) as bar:
            result = plugins.install(
                store,
                paths(),
                environment.current().vars,
                server,
                targets,
                force=force,
                cloud=cloud,
                report=bar.report,
            )
    for item in result["already_installed"]:
        output.message(f"{item['name']} {item['version']} is already installed")
    _kept_messages(result["kept"])
    for item in result["installed"]:
        output.message(
            f"installed {item['name']} {item['version']} on {result['server']} "
            f"({item['files']} file(s))"
        )
    if fmt == "json":
        output.emit(result, fmt, INSTALL_COLUMNS)
    else:
        output.emit(result["installed"], fmt, INSTALL_COLUMNS)


@app.command("uninstall")
def uninstall(
    name: PluginArgument,
    server: ServerOption,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Also remove files changed since the install, and plugins others need.",
        ),
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Remove exactly the files a plugin installed (changed files are kept unless --force)."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    fmt = output_format(output_, json_)
    with open_store() as store:
        result = plugins.uninstall(
            store, paths(), environment.current().vars, server, name, force=force
        )
    for path in result["kept"]:
        output.warning(f"kept {path}: it was changed after the install (--force removes it)")
    output.message(
        f"uninstalled {result['name']} {result['version']} from {result['server']} "
        f"({result['removed']} file(s) removed)"
    )
    if fmt != "table":
        output.emit(result, fmt, INSTALLED_COLUMNS)


def _toggle(name: str, server: str, enabled: bool, force: bool, fmt: str) -> None:
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    with open_store() as store:
        result = plugins.set_enabled(
            store, paths(), environment.current().vars, server, name, enabled, force=force
        )
    word = "enabled" if enabled else "disabled"
    if not result["changed"]:
        output.message(f"{result['name']} is already {word} on {result['server']}")
    else:
        _kept_messages(result.get("kept", []))
        output.message(f"{word} {result['name']} on {result['server']}")
    if fmt != "table":
        output.emit(result, fmt, INSTALLED_COLUMNS)


ToggleForce = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Even when other plugins need it, or files gsm did not install are in the way.",
    ),
]


@app.command("enable")
def enable(
    name: PluginArgument,
    server: ServerOption,
    force: ToggleForce = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Move a disabled plugin's files back into place."""
    _toggle(name, server, True, force, output_format(output_, json_))


@app.command("disable")
def disable(
    name: PluginArgument,
    server: ServerOption,
    force: ToggleForce = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Move a plugin's files aside (into .gsm-disabled/ in the server folder); none deleted."""
    _toggle(name, server, False, force, output_format(output_, json_))


@app.command("update")
def update(
    server: ServerOption,
    names: Annotated[
        list[str] | None,
        typer.Argument(metavar="NAME", help="Plugins to update; or use --all."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every plugin that is not pinned.")] = False,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="Take the packages from this folder of package files instead of the cloud.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace files changed here (kept in .gsm-replaced/)."),
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Update plugins to the newest version their dependents allow; all or nothing."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.errors import InvalidInputError
    from gsm_cli.services import plugins

    fmt = output_format(output_, json_)
    if bool(names) == all_:
        raise InvalidInputError("name the plugins to update, or pass --all (not both)")
    with open_store() as store, contextlib.ExitStack() as stack:
        cloud = plugins.FolderSource(from_dir) if from_dir is not None else _cloud(store)
        stack.callback(cloud.close)
        with output.Progress("updating", in_bytes=True) as bar:
            result = plugins.update(
                store,
                paths(),
                environment.current().vars,
                server,
                names or [],
                all_plugins=all_,
                cloud=cloud,
                force=force,
                report=bar.report,
            )
    for item in result["skipped"]:
        output.message(f"{item['name']}: {item['reason']}")
    _kept_messages(result["kept"])
    for item in result["updated"]:
        frm = f"{item['from']} -> " if item["from"] else "installed "
        output.message(f"{item['name']}: {frm}{item['to']}")
    rows = [
        {
            "action": "update" if i["from"] else "install",
            "name": i["name"],
            "version": i["to"],
            "from": i["from"],
        }
        for i in result["updated"]
    ]
    output.emit(result if fmt == "json" else rows, fmt, ACTION_COLUMNS)


def _pin(name: str, server: str, pinned: bool, fmt: str) -> None:
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    with open_store() as store:
        row = plugins.set_pinned(store, paths(), server, name, pinned)
    word = "pinned" if pinned else "unpinned"
    output.message(f"{word} {row['name']} {row['version']} on {row['server']}")
    if fmt != "table":
        output.emit(row, fmt, INSTALLED_COLUMNS)


@app.command("pin")
def pin(
    name: PluginArgument,
    server: ServerOption,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Keep a plugin at its version: update leaves it alone."""
    _pin(name, server, True, output_format(output_, json_))


@app.command("unpin")
def unpin(
    name: PluginArgument,
    server: ServerOption,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Let update change a pinned plugin again."""
    _pin(name, server, False, output_format(output_, json_))


@app.command("list")
def list_installed(
    server: ServerOption,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """List the plugins installed on a server."""
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    fmt = output_format(output_, json_)
    with open_store() as store:
        rows = plugins.list_plugins(store, paths(), server)
    output.emit(rows, fmt, INSTALLED_COLUMNS)


@app.command("lock")
def lock(
    server: ServerOption,
    out: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Lock file to write; - for stdout (default: gsm-plugins.lock).",
        ),
    ] = Path("gsm-plugins.lock"),
    json_: JsonOption = False,
) -> None:
    """Write the server's exact plugin set: versions, package and file sha256s, states."""
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    fmt = output_format(None, json_) if json_ else "table"
    with open_store() as store:
        data = plugins.lock_data(store, paths(), server)
    text = plugins.render_lock(data)
    if str(out) == "-":
        output.emit_value(text.rstrip("\n"))
        return
    plugins.write_lock(out, text)
    files = sum(len(p["files"]) for p in data["plugins"])
    summary = {"path": str(out), "plugins": len(data["plugins"]), "files": files}
    output.message(f"wrote {out}: {summary['plugins']} plugin(s), {files} file(s)")
    if fmt == "json":
        output.emit(summary, fmt, ())


@app.command("apply")
def apply(
    lock_file: Annotated[Path, typer.Argument(metavar="LOCK", help="A gsm-plugins.lock file.")],
    server: ServerOption,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="DIR",
            help="Take packages from this folder (matched by sha256) instead of the cloud.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace files changed here or not gsm's (kept in .gsm-replaced/), remove "
            "changed files of plugins the lock drops.",
        ),
    ] = False,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Make a server's plugins exactly what a lock file says; all or nothing."""
    from gsm_cli import environment
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.services import plugins

    fmt = output_format(output_, json_)
    with open_store() as store, contextlib.ExitStack() as stack:
        cloud = None
        if from_dir is None and not dry_run:
            cloud = _cloud(store)
            stack.callback(cloud.close)
        with output.Progress("applying", in_bytes=True) as bar:
            result = plugins.apply(
                store,
                paths(),
                environment.current().vars,
                server,
                lock_file,
                from_dir=from_dir,
                cloud=cloud,
                dry_run=dry_run,
                force=force,
                report=bar.report,
            )
    _kept_messages(result.get("kept", []))
    if not result["plan"]:
        output.message(f"{result['server']} already matches {lock_file}")
    elif dry_run:
        output.message(f"would change {len(result['plan'])} plugin(s) of {result['server']}")
    else:
        output.message(f"{result['server']} now matches {lock_file}")
    output.emit(result if fmt == "json" else result["plan"], fmt, ACTION_COLUMNS)


@app.command("verify")
def verify(
    server: Annotated[
        list[str] | None,
        typer.Option("--server", metavar="SERVER", help="Server to check (repeatable)."),
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every server of this machine.")] = False,
    lock_file: Annotated[
        Path | None,
        typer.Option("--lock", metavar="FILE", help="Also require exactly this lock's set."),
    ] = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit",
            metavar="FILE",
            help="Also write a JUnit XML report: one test case per plugin.",
            callback=report_path,
        ),
    ] = None,
    json_: JsonOption = False,
    output_: OutputOption = None,
) -> None:
    """Check installed plugin files, games, dependencies and states; exit 8 on any drift."""
    from gsm_cli.commands._common import open_store, paths
    from gsm_cli.errors import InvalidInputError
    from gsm_cli.services import plugins
    from gsm_cli.services.junit import write_junit

    fmt = output_format(output_, json_)
    if bool(server) == all_:
        raise InvalidInputError("name the servers with --server, or pass --all (not both)")
    with open_store() as store:
        names = plugins.local_server_names(store) if all_ else list(server or [])
        result = plugins.verify(store, paths(), names, lock_path=lock_file)
    if junit is not None:
        write_junit(junit, "gsm plugin verify", plugins.junit_cases(result))
    if fmt == "json":
        output.emit(result, fmt, FINDING_COLUMNS)
    elif not result["ok"]:
        rows = [p for s in result["servers"] for p in s["problems"]]
        output.emit(rows, fmt, FINDING_COLUMNS)
    if not result["ok"]:
        raise plugins.verification_error(result)
    plugin_count = sum(len(s["plugins"]) for s in result["servers"])
    output.message(
        f"verified {plugin_count} plugin(s) on {len(result['servers'])} server(s): no drift"
    )
