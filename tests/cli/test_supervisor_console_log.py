"""The supervisor's console log (supervisor.ConsoleLog) writes what logging's
RotatingFileHandler wrote before it (the same files, names and contents, line for line), without
importing logging.handlers; and a line it cannot write never stops the one who wrote it."""

import logging
import logging.handlers
import random
import subprocess
import sys
from pathlib import Path

import pytest

from gsm_cli.supervisor import LOG_FILES_KEPT, ConsoleLog


def written(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.iterdir())}


def lines(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = "abcdefghij klmnop 0123456789 é ü 漢字 🎮"  # 1 to 4 UTF-8 bytes a character
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 90))) for _ in range(count)]


@pytest.mark.parametrize("max_bytes", [300, 1000, 0])
def test_the_same_files_as_the_rotating_handler(tmp_path: Path, max_bytes: int) -> None:
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for folder in (ours, theirs):  # a log from an earlier run, and a gap in the old files
        folder.mkdir()
        (folder / "console.log").write_text("from before\n" * 5, encoding="utf-8")
        (folder / "console.log.3").write_text("older\n", encoding="utf-8")
    console = ConsoleLog(ours / "console.log", max_bytes)
    handler = logging.handlers.RotatingFileHandler(
        theirs / "console.log", maxBytes=max_bytes, backupCount=LOG_FILES_KEPT, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        for text in lines(600, seed=max_bytes):
            console.line(text)
            handler.emit(logging.makeLogRecord({"msg": text, "levelno": logging.INFO}))
    finally:
        handler.close()
    mine = written(ours)
    assert mine == written(theirs)
    if max_bytes:
        assert len(mine) == LOG_FILES_KEPT + 1  # rotated, and no more than the files kept
    else:
        assert list(mine) == ["console.log", "console.log.3"]  # no limit: never rotated


def test_a_line_that_cannot_be_written_stops_nothing(tmp_path: Path) -> None:
    # The oldest kept file a folder with a file in it: every rotation fails removing it (so
    # does root's), and every line that needs one is dropped.
    (tmp_path / f"console.log.{LOG_FILES_KEPT - 1}").write_text("older\n")
    (tmp_path / f"console.log.{LOG_FILES_KEPT}").mkdir()
    (tmp_path / f"console.log.{LOG_FILES_KEPT}" / "keep").write_text("x")
    code = (
        "import sys; from pathlib import Path; from gsm_cli.supervisor import ConsoleLog; "
        f"log = ConsoleLog(Path({str(tmp_path / 'console.log')!r}), 50); "
        "ready = log.expect('^second'); "
        "log.line('first line, of thirty-odd bytes'); "
        "log.line('second line, over the limit'); "
        "print(ready.is_set())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"  # who waited for the line still saw it
    assert "console log: a line was not written" in out.stderr
    assert (tmp_path / "console.log").read_text() == "first line, of thirty-odd bytes\n"
    assert (tmp_path / f"console.log.{LOG_FILES_KEPT}" / "keep").read_text() == "x"


def test_the_supervisor_imports_no_logging_handlers() -> None:
    code = "import sys, gsm_cli.supervisor; print('logging.handlers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
