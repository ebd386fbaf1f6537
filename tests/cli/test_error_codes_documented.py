"""docs/exit-codes.md lists every JSON error code that gsm can emit, with its exit code.

The codes are collected from the source: each GsmError class's own ``code``, every literal
``code="..."`` given when an error is raised, and every ``error.code = "..."``. A code in the
code but not in the docs, a code in the docs that nothing emits any more, or a documented exit
code that differs from the error class's, fails here.
"""

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import gsm_cli
from gsm_cli.errors import GsmError

SOURCE = Path(gsm_cli.__file__).parent
DOC = Path(__file__).parents[2] / "docs" / "exit-codes.md"
# Codes that come from elsewhere than a literal in our source: the cloud's own codes are passed
# through by gsm_cli/cloud/client.py (documented in docs/cloud.md), not listed here.
ROW = re.compile(r"^\| `([a-z0-9_]+)` \| (\d+) \|")


def _error_classes() -> dict[str, type[GsmError]]:
    for module in pkgutil.walk_packages([str(SOURCE)], prefix="gsm_cli."):
        if module.name.endswith("__main__") or ".migrations." in module.name:
            continue
        importlib.import_module(module.name)
    found: dict[str, type[GsmError]] = {}
    todo: list[type[GsmError]] = [GsmError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def _literals(node: ast.expr | None) -> list[str]:
    """The string constants a ``code=`` value can take: "x", or `code or "x"`, or a ternary."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.BoolOp):
        return [text for value in node.values for text in _literals(value)]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def emitted_codes() -> dict[str, set[int | None]]:
    """code -> the exit codes it is raised with (None where the class is not known statically)."""
    classes = _error_classes()
    codes: dict[str, set[int | None]] = {}
    for cls in classes.values():
        if "code" in vars(cls):
            codes.setdefault(cls.code, set()).add(int(cls.exit_code))
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Attribute) and target.attr == "code"
                for target in node.targets
            ):  # error.code = "..." on an error made elsewhere
                for code in _literals(node.value):
                    codes.setdefault(code, set()).add(None)
                continue
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                if keyword.arg != "code":
                    continue
                cls = classes.get(_called_name(node) or "")
                for code in _literals(keyword.value):
                    codes.setdefault(code, set()).add(int(cls.exit_code) if cls else None)
    return codes


def documented_codes() -> dict[str, int]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("## JSON error codes", 1)[1].split("\n## ", 1)[0]
    documented: dict[str, int] = {}
    for line in table.splitlines():
        match = ROW.match(line)
        if match:
            assert match[1] not in documented, f"{match[1]} is listed twice"
            documented[match[1]] = int(match[2])
    return documented


def test_every_emitted_code_is_documented_and_every_documented_code_is_emitted() -> None:
    emitted, documented = emitted_codes(), documented_codes()
    assert sorted(set(emitted) - set(documented)) == [], "emitted but not in docs/exit-codes.md"
    assert sorted(set(documented) - set(emitted)) == [], "documented but emitted nowhere"


def test_each_code_has_one_exit_code_and_the_docs_give_it() -> None:
    documented = documented_codes()
    wrong = {}
    for code, exits in emitted_codes().items():
        known = exits - {None}
        if len(known) > 1 or (known and code in documented and documented[code] not in known):
            wrong[code] = (sorted(known), documented.get(code))
    assert wrong == {}, "code: (exit codes raised with, exit code documented)"
