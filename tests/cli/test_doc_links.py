"""Every link of docs/ and README.md to a local file resolves, and so does its #anchor.

Links to the web are not followed. An anchor must be the GitHub anchor of a heading of the
target page (lower case, punctuation dropped, spaces as hyphens, -1, -2 for repeats).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LINK = re.compile(r"(?<!\!)\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
IMAGE = re.compile(r"!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """Lines outside fenced code blocks, with code spans blanked."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, CODE_SPAN.sub("", line)))
    return lines


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = HEADING.match(line) if not fenced else None
        if not match:
            continue
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", match.group(2))  # a link's text
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    for name in re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text):
        found.add(name)
    return found


def broken_links(page: Path) -> list[str]:
    """Each local link of PAGE that does not resolve, as 'file:line: target (why)'."""
    problems = []
    text = page.read_text(encoding="utf-8")
    for number, line in _prose_lines(text):
        for match in [*LINK.finditer(line), *IMAGE.finditer(line)]:
            target = match.group(1).strip("<>")
            if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto:
                continue
            path_part, _, anchor = target.partition("#")
            where = f"{page.relative_to(page.parents[1])}:{number}: {target}"
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.exists():
                problems.append(f"{where} (no such file)")
                continue
            if anchor and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text()):
                problems.append(f"{where} (no heading with anchor #{anchor})")
    return problems


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


@pytest.mark.parametrize("page", _pages(), ids=lambda page: str(page.relative_to(ROOT)))
def test_local_links_resolve(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "other.md").write_text("# Other page\n\n## Communities: `--community`\n")
    page = docs / "page.md"
    page.write_text(
        "# Page\n\n"
        "[fine](other.md#communities---community) [top](#page) [web](https://example.com)\n"
        "[gone](nosuch.md) and [bad anchor](other.md#nowhere)\n"
        "```\n[in code](also-nosuch.md)\n```\n"
        "`[in a code span](nosuch-either.md)`\n"
    )
    problems = broken_links(page)
    assert len(problems) == 2, problems
    assert "nosuch.md (no such file)" in problems[0]
    assert "other.md#nowhere (no heading with anchor #nowhere)" in problems[1]


def test_anchors_follow_github() -> None:
    text = "# gsm server start\n## Where the token is kept\n## Repeat\n## Repeat\n"
    assert anchors(text) == {"gsm-server-start", "where-the-token-is-kept", "repeat", "repeat-1"}
