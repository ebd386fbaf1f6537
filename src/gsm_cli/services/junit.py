"""JUnit XML reports for CI (`gsm plugin validate --junit`, `gsm plugin verify --junit`).

The common dialect that GitHub Actions reporters, GitLab CI and Jenkins read: one
``<testsuites>`` holding one ``<testsuite>``, a ``<testcase>`` per check, a ``<failure>``
carrying the message when the check failed. Written with the standard library, atomically
(a temporary file in the same folder, then a rename): a CI job never reads half a report.
"""

import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gsm_cli.errors import InvalidInputError

# Characters XML 1.0 cannot hold at all, even escaped (C0 controls but tab, newline and
# carriage return; lone surrogates; U+FFFE and U+FFFF). A file name from a hostile zip may
# hold them: they are written as \xNN so the report stays well-formed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


@dataclass(frozen=True)
class JUnitCase:
    name: str
    classname: str
    failure: str | None = None


def render(suite: str, cases: Sequence[JUnitCase]) -> bytes:
    failures = sum(1 for case in cases if case.failure is not None)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0", "skipped": "0"}
    root = ET.Element("testsuites", {"name": xml_text(suite), **counts, "time": "0"})
    element = ET.SubElement(root, "testsuite", {"name": xml_text(suite), **counts, "time": "0"})
    for case in cases:
        item = ET.SubElement(
            element,
            "testcase",
            {"name": xml_text(case.name), "classname": xml_text(case.classname), "time": "0"},
        )
        if case.failure is not None:
            message = xml_text(case.failure)
            failure = ET.SubElement(
                item, "failure", {"message": message.splitlines()[0] if message else ""}
            )
            failure.text = message
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def check_report_path(path: Path) -> Path:
    """Refuse, before any work, a report path whose folder is missing or that is a folder
    (exit 4, ``report_unwritable``): a CI job learns at once, not after the checks ran."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InvalidInputError(
            f"cannot write the JUnit report {path}: it is a folder", code="report_unwritable"
        )
    if not folder.is_dir():
        raise InvalidInputError(
            f"cannot write the JUnit report {path}: no folder {folder}",
            hint="create the folder first",
            code="report_unwritable",
        )
    return path


def write_junit(path: Path, suite: str, cases: Sequence[JUnitCase]) -> None:
    """Write the report to ``path`` atomically; InvalidInputError (exit 4) when it cannot."""
    path = Path(path)
    data = render(suite, cases)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write the JUnit report {path}: {exc.strerror or exc}",
            code="report_unwritable",
        ) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        raise InvalidInputError(
            f"cannot write the JUnit report {path}: {exc.strerror or exc}",
            code="report_unwritable",
        ) from exc
