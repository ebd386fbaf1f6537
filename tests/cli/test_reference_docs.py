"""docs/reference/ is what ``python -m gsm_cli.reference_docs`` writes from the app, today.

The pages are regenerated into a temporary folder and compared with the committed ones; every
command of the app (every group loaded) must have its section, and the pages must not depend
on the terminal.
"""

import re
import shutil
from pathlib import Path

import pytest
import typer

from gsm_cli import reference_docs
from gsm_cli.app import COMMANDS, app, load_command

ROOT = Path(__file__).parents[2]
REFERENCE = ROOT / "docs" / "reference"


def _command_paths() -> list[str]:
    """Every visible command path of the app, walked through Click's own API."""
    root = typer.main.get_command(app)
    root_ctx = typer.Context(root, info_name="gsm")
    paths = ["gsm"]
    todo = []
    for name in COMMANDS:
        command = load_command(name)
        todo.append((command, typer.Context(command, info_name=name, parent=root_ctx)))
    while todo:
        command, ctx = todo.pop()
        paths.append(ctx.command_path)
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if not sub.hidden:
                    todo.append((sub, typer.Context(sub, info_name=name, parent=ctx)))
    return paths


def test_committed_reference_is_current(tmp_path: Path) -> None:
    reference_docs.write(tmp_path)
    fresh = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.glob("*.md")}
    committed = {path.name: path.read_text(encoding="utf-8") for path in REFERENCE.glob("*.md")}
    stale = sorted(
        name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name)
    )
    assert not stale, (
        f"docs/reference is stale ({', '.join(stale)}): run `{reference_docs.REGENERATE}` "
        "in the repository's root and commit docs/reference/"
    )


def test_every_command_of_the_app_has_its_section() -> None:
    text = {path.stem: path.read_text(encoding="utf-8") for path in REFERENCE.glob("*.md")}
    paths = _command_paths()
    assert len(paths) > 100  # every group was loaded, not only the registry's summaries
    for path in paths:
        page = "README" if path == "gsm" else path.split()[1]
        assert re.search(rf"^#{{1,2}} {re.escape(path)}$", text[page], re.MULTILINE), (
            f"{path} has no section in docs/reference/{page}.md"
        )
        assert f"```\n{path} " in text[page], f"{path} has no usage line"


def test_check_mode_names_a_changed_a_missing_and_an_extra_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "reference"
    shutil.copytree(REFERENCE, folder)
    assert reference_docs.main(["--check", str(folder)]) == 0

    server = folder / "server.md"
    server.write_text(server.read_text().replace("--timeout", "--time-out", 1))
    (folder / "auth.md").unlink()
    (folder / "gone.md").write_text("# gsm gone\n")
    assert reference_docs.main(["--check", str(folder)]) == 1
    err = capsys.readouterr().err
    assert "auth.md, gone.md, server.md" in err
    assert "run python -m gsm_cli.reference_docs" in err

    reference_docs.main([str(folder)])  # regenerating repairs all three
    assert not (folder / "gone.md").exists()
    assert reference_docs.main(["--check", str(folder)]) == 0


def test_pages_do_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = reference_docs.render()
    monkeypatch.setenv("COLUMNS", "30")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert reference_docs.render() == wide
    for name, text in wide.items():
        assert "\x1b" not in text, name
        assert not re.search("[\u2500-\u257f]", text), f"{name} has box-drawing characters"
        assert "| `--help`" not in text, f"{name} lists --help (said once in README.md)"


def test_server_start_is_described_with_its_options() -> None:
    text = (REFERENCE / "server.md").read_text(encoding="utf-8")
    section = text.split("## gsm server start\n", 1)[1].split("\n## ", 1)[0]
    assert "| `--all` | flag | - | Every server. |" in section
    assert "| `--output`, `-o` | `table\\|json\\|csv` |" in section
    logs = text.split("## gsm server logs\n", 1)[1].split("\n## ", 1)[0]
    assert "| `--lines`, `-n` | `N` | `50` |" in logs
    create = text.split("## gsm server create\n", 1)[1].split("\n## ", 1)[0]
    assert "| `--restart`, `--no-restart` | flag | `--restart` |" in create
    assert "| `--game`, `-g` | `GAME` | required |" in create


def test_hidden_commands_and_options_are_left_out() -> None:
    small = typer.Typer()

    @small.command()
    def shown(
        name: str = typer.Argument(..., help="A <name>."),
        secret: bool = typer.Option(False, "--secret", hidden=True),
        kind: str = typer.Option("a", "--kind", "-k", help="Which kind."),
    ) -> None:
        """Shown *here*."""

    @small.command("__complete", hidden=True)
    def complete() -> None:
        """Never in the reference."""

    command = typer.main.get_command(small)
    ctx = typer.Context(command, info_name="small")
    sections = [reference_docs._section(cmd, c, 2) for cmd, c in reference_docs._walk(command, ctx)]
    text = "\n".join(sections)
    assert "## small shown" in text
    assert "__complete" not in text and "Never" not in text
    assert "--secret" not in text
    assert "| `--kind`, `-k` | `TEXT` | `a` | Which kind. |" in text
    assert "Shown \\*here\\*." in text
    assert "| `NAME` | yes | A \\<name\\>. |" in text


def test_regenerating_from_anywhere_writes_the_checkout_s_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert reference_docs.default_folder() == REFERENCE
    assert reference_docs.main(["--check"]) == 0
    assert not (tmp_path / "docs").exists()


def test_pages_render_as_intended_markdown() -> None:
    """Each table row keeps its cells (a `|` in a help text is escaped), no help text turns
    into HTML (`<data>`) or leaves a backslash behind, and no line is lost to a stray fence."""
    from markdown_it import MarkdownIt

    markdown = MarkdownIt("commonmark").enable("table")
    for page in sorted(REFERENCE.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        tokens = markdown.parse(text)
        html = [t for t in tokens if t.type == "html_block"] + [
            child
            for t in tokens
            if t.type == "inline"
            for child in t.children or []
            if child.type == "html_inline"
        ]
        assert [t.content.strip() for t in html] == [text.split("\n", 1)[0]], page.name
        widths, row = [], 0
        for token in tokens:
            if token.type == "tr_open":
                row = 0
            elif token.type in ("th_open", "td_open"):
                row += 1
            elif token.type == "tr_close":
                widths.append(row)
        table_lines = [line for line in text.splitlines() if line.startswith("| ")]
        rows = [line for line in table_lines if not line.startswith("| ---")]
        assert len(widths) == len(rows), f"{page.name}: a table row did not render"
        for line, width in zip(rows, widths, strict=True):
            cells = len(line.replace("\\|", "").split("|")) - 2
            assert cells == width, f"{page.name}: {line}"
        rendered = markdown.render(text)
        assert "\\" not in rendered, f"{page.name}: a backslash shows"
