"""The plugin package format (docs/plugin-format.md): read, validate, extract, pack, init.

A package is a zip holding ``gsm-plugin.toml`` at its root and the files to install under
``files/``. This module is pure (the standard library and ``semantic_version``): no store, no
Typer or Rich, so gsm-cloud validates uploads with the very same code.

- ``validate`` lists every problem of a zip or of a plugin source folder at once, each with a
  stable rule id (``RULES``) and the path it concerns. For a zip it reads only the central
  directory and the manifest's own bytes: no other byte is decompressed.
- ``open_package`` + ``Package.extract_files`` extract a valid package into an empty staging
  folder by streaming, never writing outside it, never creating links, and counting the bytes
  that really come out (a declared size is never trusted).
- ``pack`` builds the zip reproducibly; ``init_skeleton`` writes a valid plugin folder.
- ``parse_version``, ``parse_range``, ``Range.allows`` and ``latest_allowed``: canonical
  semantic versions (no build metadata) and npm-style ranges, through ``semantic_version``.
"""

import hashlib
import os
import re
import stat
import tempfile
import tomllib
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import semantic_version

from gsm_cli.errors import InvalidInputError, NotFoundError, VerificationError

MANIFEST = "gsm-plugin.toml"
FILES_DIR = "files/"
MAX_FILES = 10_000
MAX_FILE_BYTES = 1024**3  # one file, uncompressed: 1 GiB
MAX_TOTAL_BYTES = 4 * 1024**3  # all files, uncompressed: 4 GiB
MAX_RATIO = 100
# Small files may compress far better than 1:100 (a file of spaces); the ratio is judged only
# for files larger than this, which is where a bomb does harm.
RATIO_FLOOR_BYTES = 64 * 1024
MAX_MANIFEST_BYTES = 64 * 1024
MAX_PATH_LENGTH = 512  # characters of a path inside the zip
MAX_DESCRIPTION = 256
MAX_VERSION_LENGTH = 20  # plugins.version is VARCHAR(20) in the cloud
MAX_RANGE_LENGTH = 256
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"
CATEGORIES = (
    "admin",
    "anticheat",
    "chat",
    "economy",
    "gameplay",
    "library",
    "maps",
    "performance",
    "protection",
    "utility",
    "world",
    "other",
)
CUSTOM_GAME = "custom"
KEYS = ("name", "version", "description", "category", "games", "dependencies")
REQUIRED_KEYS = ("name", "version", "description", "category", "games")

# Every rule, in the order reports and JUnit files list them. docs/plugin-format.md has each
# with an example; the ids are stable (scripts and CI match on them).
RULES: dict[str, str] = {
    "package-unreadable": "the package file or folder can be read",
    "zip-invalid": "the file is a well-formed zip archive",
    "zip-encrypted": "no entry is encrypted",
    "zip-compression": "entries are stored or deflated",
    "zip-overlap": "entries do not overlap each other or the central directory",
    "zip-bomb": "no file is compressed more than 1:100",
    "size-mismatch": "each file holds exactly the bytes its entry declares",
    "manifest-missing": "gsm-plugin.toml is at the package's root",
    "manifest-invalid": "gsm-plugin.toml is UTF-8 TOML of at most 64 KiB",
    "manifest-key-missing": "the manifest has every required key",
    "manifest-key-invalid": "each manifest key has the right type",
    "manifest-key-unknown": "the manifest has no other keys",
    "name-invalid": "the name is 1-128 letters, digits, _ or -",
    "version-invalid": "the version is canonical semver of at most 20 characters",
    "description-too-long": "the description is at most 256 characters",
    "category-unknown": "the category is one of the known categories",
    "game-unknown": "every game is a catalog game id or custom",
    "game-duplicate": "no game is listed twice",
    "dependency-self": "the plugin does not depend on itself",
    "dependency-duplicate": "no dependency is listed twice",
    "dependency-name-invalid": "each dependency is a valid plugin name",
    "dependency-range-invalid": "each dependency's range is a valid semver range",
    "path-absolute": "no path is absolute",
    "path-drive": "no path starts with a drive letter",
    "path-traversal": "no path has a .. segment",
    "path-backslash": "no path has a backslash",
    "path-invalid": "paths are portable: no empty or . segment, control character, "
    'character in :*?"<>|, Windows device name, trailing dot or space, or overlong path',
    "path-symlink": "no entry is a symbolic link or other special file",
    "path-duplicate": "no path is in the package twice",
    "path-case-collision": "no two paths differ only by case (or Unicode normalization)",
    "path-conflict": "no path is both a file and a folder",
    "path-outside-files": "every entry but the manifest is under files/",
    "too-many-files": "at most 10,000 files",
    "file-too-large": "no file is larger than 1 GiB",
    "package-too-large": "all files together are at most 4 GiB",
}

_NAME = re.compile(NAME_PATTERN)
_NUM = r"(0|[1-9][0-9]*)"
_PRE = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
# The cloud's VERSION_PATTERN: MAJOR.MINOR.PATCH[-prerelease], no build metadata.
VERSION_PATTERN = rf"^{_NUM}\.{_NUM}\.{_NUM}(-{_PRE}(\.{_PRE})*)?$"
_VERSION = re.compile(VERSION_PATTERN)
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_NOT_PORTABLE = re.compile(r'[:*?"<>|]')
_DEVICE_NAMES = frozenset(
    ["con", "prn", "aux", "nul"]
    + [f"com{i}" for i in "123456789¹²³"]
    + [f"lpt{i}" for i in "123456789¹²³"]
)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say
_FILE_MODE = 0o644
_DIR_MODE = 0o755
_CHUNK = 1024 * 1024
_SUPPORTED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_ENCRYPTED_FLAGS = 0x1 | 0x40  # traditional and strong encryption
_UTF8_FLAG = 0x800
_LOCAL_HEADER_SIZE = 30
_WINDOWS_REPARSE_POINT = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT: a link made on Windows

ProgressReport = Callable[[float, float | None, str | None], None]


# --- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    rule: str
    path: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "path": self.path, "message": self.message}


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    description: str
    category: str
    games: list[str]
    dependencies: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "category": self.category,
            "games": list(self.games),
            "dependencies": dict(self.dependencies),
        }


@dataclass(frozen=True)
class Entry:
    """A file to install: its path relative to files/ (POSIX separators) and its size."""

    path: str
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size}


@dataclass
class Report:
    manifest: Manifest | None
    problems: list[Problem]
    files: list[Entry]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.ok,
            "manifest": self.manifest.to_dict() if self.manifest else None,
            "problems": [problem.to_dict() for problem in self.problems],
            "files": len(self.files),
            "size": sum(entry.size for entry in self.files),
        }


class PackageInvalid(VerificationError):
    """A package breaks the format's rules (exit 8); carries every problem found."""

    code = "package_invalid"

    def __init__(self, message: str, problems: list[Problem], *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.problems = problems

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = super().to_dict()
        data["problems"] = [problem.to_dict() for problem in self.problems]
        return data


def invalid(problems: list[Problem], what: str = "the package") -> PackageInvalid:
    count = len(problems)
    first = problems[0]
    where = f" ({first.path})" if first.path else ""
    more = f" and {count - 1} more" if count > 1 else ""
    return PackageInvalid(
        f"{what} is invalid: {first.rule}{where}: {first.message}{more}",
        problems,
        hint="run `gsm plugin validate` on it to list every problem",
    )


# --- versions and ranges ----------------------------------------------------------------

Version = semantic_version.Version


def is_version(text: str) -> bool:
    return len(text) <= MAX_VERSION_LENGTH and _VERSION.match(text) is not None


def parse_version(text: str) -> Version:
    """A canonical semantic version, MAJOR.MINOR.PATCH[-prerelease], at most 20 characters."""
    if not isinstance(text, str) or not is_version(text):
        raise InvalidInputError(
            f"invalid version {text!r}: expected MAJOR.MINOR.PATCH[-prerelease], "
            f"such as 1.4.2 or 2.0.0-beta.1 (at most {MAX_VERSION_LENGTH} characters)",
            code="invalid_version",
        )
    return semantic_version.Version(text)


@dataclass(frozen=True)
class Range:
    """An npm-style range of versions: ^1.2.0, ~1.2, >=1.0.0 <2.0.0, 1.x, *, A - B, a || b."""

    text: str
    spec: semantic_version.NpmSpec

    def allows(self, version: "Version | str") -> bool:
        if isinstance(version, str):
            if not is_version(version):
                return False
            version = semantic_version.Version(version)
        return self.spec.match(version)

    def __str__(self) -> str:
        return self.text


def range_problem(text: object) -> str | None:
    """Why ``text`` is not a valid range, or None when it is."""
    if not isinstance(text, str):
        return 'expected a string such as "^1.2.0"'
    if not text.strip():
        return 'empty range (use "*" for any version)'
    if len(text) > MAX_RANGE_LENGTH:
        return f"longer than {MAX_RANGE_LENGTH} characters"
    if "+" in text:
        return "build metadata (+...) is not part of a version here"
    try:
        semantic_version.NpmSpec(text)
    except ValueError:
        return "not a semver range (examples: ^1.2.0, ~1.2, >=1.0.0 <2.0.0, 1.x, *)"
    return None


def parse_range(text: str) -> Range:
    problem = range_problem(text)
    if problem:
        raise InvalidInputError(f"invalid version range {text!r}: {problem}", code="invalid_range")
    return Range(text.strip(), semantic_version.NpmSpec(text))


def latest_allowed(range_: Range | str | None, versions: Iterable[str]) -> str | None:
    """The highest of ``versions`` (by semver precedence) that the range allows; invalid
    version strings are skipped. A range of None allows every version."""
    if isinstance(range_, str):
        range_ = parse_range(range_)
    best: Version | None = None
    best_text: str | None = None
    for text in versions:
        if not isinstance(text, str) or not is_version(text):
            continue
        version = semantic_version.Version(text)
        if range_ is not None and not range_.allows(version):
            continue
        if best is None or version > best:
            best, best_text = version, text
    return best_text


# --- paths ------------------------------------------------------------------------------


def _path_problems(name: str, *, is_dir: bool) -> list[Problem]:
    """Problems of one entry's name (zip names use / and end with / for a folder)."""
    problems: list[Problem] = []

    def add(rule: str, message: str) -> None:
        problems.append(Problem(rule, name, message))

    if name.startswith("/") or name.startswith("\\"):
        add("path-absolute", "absolute path: entries must be relative to the package root")
    if _DRIVE.match(name):
        add("path-drive", "path starts with a drive letter")
    if "\\" in name:
        add("path-backslash", "backslash in a path: zip paths use / only")
    body = name[:-1] if is_dir and name.endswith("/") else name
    segments = re.split(r"[/\\]", body)
    if ".." in segments:
        add("path-traversal", "'..' segment: the path would leave the install folder")
    reasons: list[str] = []
    if _CONTROL.search(name):
        reasons.append("a control character")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        reasons.append("bytes that are not UTF-8")
    if len(name) > MAX_PATH_LENGTH:
        reasons.append(f"more than {MAX_PATH_LENGTH} characters")
    inner = segments[1:] if name.startswith(("/", "\\")) else segments
    if any(segment in ("", ".") for segment in inner):
        reasons.append("an empty or '.' segment")
    for index, segment in enumerate(inner):
        if segment in ("", ".", ".."):
            continue
        checked = segment[2:] if index == 0 and _DRIVE.match(name) else segment
        if _NOT_PORTABLE.search(checked):
            reasons.append(f'{segment!r} holds one of :*?"<>|')
        if segment.endswith((".", " ")):
            reasons.append(f"{segment!r} ends with a dot or space (Windows drops them)")
        if segment.split(".")[0].rstrip(" ").lower() in _DEVICE_NAMES:
            reasons.append(f"{segment!r} is a Windows device name")
    if reasons:
        add("path-invalid", "not a portable path: " + "; ".join(dict.fromkeys(reasons)))
    return problems


def _fold(name: str) -> str:
    """The key two paths collide on, on case-insensitive or normalizing file systems."""
    return unicodedata.normalize("NFC", name).casefold()


@dataclass
class _Item:
    """One entry of a zip or one file of a folder, as validation sees it."""

    name: str  # as it would be in the zip: files/a/b.txt, gsm-plugin.toml, files/dir/
    is_dir: bool = False
    size: int = 0
    special: str | None = None  # "symbolic link", "named pipe"... when not a plain file


def _check_items(items: list[_Item]) -> tuple[list[Problem], list[Entry]]:
    """The rules on the package's entries that do not depend on how they are stored."""
    problems: list[Problem] = []
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    folded: dict[str, str] = {}
    files: list[_Item] = []
    total = 0
    for item in items:
        name = item.name
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 2:
            problems.append(Problem("path-duplicate", name, "the package holds this path twice"))
        if seen[name] > 1:
            continue
        problems += _path_problems(name, is_dir=item.is_dir)
        key = _fold(name.rstrip("/"))
        other = folded.get(key)
        if other is not None and other.rstrip("/") != name.rstrip("/"):
            problems.append(
                Problem(
                    "path-case-collision",
                    name,
                    f"collides with {other!r} on Windows and macOS (same name but for case "
                    "or Unicode normalization)",
                )
            )
        elif other is not None and other != name:
            problems.append(
                Problem("path-conflict", name, f"is both a file and a folder ({other!r})")
            )
        else:
            folded.setdefault(key, name)
        if item.special:
            problems.append(
                Problem("path-symlink", name, f"{item.special}: only plain files may be packed")
            )
        if name != MANIFEST and not name.startswith(FILES_DIR):
            problems.append(
                Problem(
                    "path-outside-files",
                    name,
                    f"only {MANIFEST} and what is under {FILES_DIR} may be in the package",
                )
            )
        if item.is_dir:
            continue
        if name.startswith(FILES_DIR):
            files.append(item)
            if item.size > MAX_FILE_BYTES:
                problems.append(
                    Problem(
                        "file-too-large",
                        name,
                        f"{item.size} bytes, more than the limit of {MAX_FILE_BYTES}",
                    )
                )
            total += item.size
            entries.append(Entry(name[len(FILES_DIR) :], item.size))
    # A path that is a file and also the folder of another path.
    file_keys: dict[str, str] = {}
    for item in files:
        file_keys.setdefault(_fold(item.name), item.name)
    reported: set[str] = set()
    for item in items:
        parts = item.name.rstrip("/").split("/")
        for depth in range(1, len(parts)):
            prefix = _fold("/".join(parts[:depth]))
            if prefix in file_keys and prefix not in reported:
                reported.add(prefix)
                problems.append(
                    Problem(
                        "path-conflict",
                        file_keys[prefix],
                        f"is a file, but {item.name!r} needs it to be a folder",
                    )
                )
    if len(files) > MAX_FILES:
        problems.append(
            Problem("too-many-files", None, f"{len(files)} files, more than {MAX_FILES}")
        )
    if total > MAX_TOTAL_BYTES:
        problems.append(
            Problem(
                "package-too-large",
                None,
                f"{total} bytes of files, more than the limit of {MAX_TOTAL_BYTES}",
            )
        )
    return problems, entries


# --- the manifest -----------------------------------------------------------------------


def _duplicate_key_problem(text: str, error: tomllib.TOMLDecodeError) -> Problem | None:
    """tomllib refuses a key given twice; when it is in [dependencies], say so precisely."""
    match = re.search(r"line (\d+)", str(error))
    if not match or "overwrite" not in str(error).lower():
        return None
    lines = text.splitlines()
    number = int(match.group(1))
    if number > len(lines):
        return None
    table = None
    for line in lines[:number]:
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            table = header.group(1)
    key = re.match(r"\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=", lines[number - 1])
    if table == "dependencies" and key:
        return Problem(
            "dependency-duplicate",
            MANIFEST,
            f"dependency {key.group(1).strip(chr(34))!r} is listed twice",
        )
    return None


def check_manifest(
    data: bytes, *, known_games: Collection[str]
) -> tuple[Manifest | None, list[Problem]]:
    """Parse and check a manifest's bytes; the Manifest is None when any problem is found."""
    problems: list[Problem] = []

    def add(rule: str, message: str) -> None:
        problems.append(Problem(rule, MANIFEST, message))

    if len(data) > MAX_MANIFEST_BYTES:
        add("manifest-invalid", f"{len(data)} bytes, more than {MAX_MANIFEST_BYTES}")
        return None, problems
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        add("manifest-invalid", f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        return None, problems
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        duplicate = _duplicate_key_problem(text, exc)
        if duplicate:
            return None, [duplicate]
        add("manifest-invalid", f"not valid TOML: {exc}")
        return None, problems

    for key in doc:
        if key not in KEYS:
            add("manifest-key-unknown", f"unknown key {key!r} (known: {', '.join(KEYS)})")
    for key in REQUIRED_KEYS:
        if key not in doc:
            add("manifest-key-missing", f"missing key {key!r}")

    def text_key(key: str) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            add("manifest-key-invalid", f"{key!r} must be a string")
            return None
        return value

    name = text_key("name")
    if name is not None and not _NAME.match(name):
        add(
            "name-invalid",
            f"name {name!r}: 1 to 128 letters, digits, '_' or '-'",
        )
    version = text_key("version")
    if version is not None and not is_version(version):
        add(
            "version-invalid",
            f"version {version!r}: expected MAJOR.MINOR.PATCH[-prerelease] (canonical semver, "
            f"no build metadata, at most {MAX_VERSION_LENGTH} characters)",
        )
    description = text_key("description")
    if description is not None:
        if not description.strip():
            add("manifest-key-invalid", "'description' must not be blank")
        elif len(description) > MAX_DESCRIPTION:
            add(
                "description-too-long",
                f"{len(description)} characters, more than {MAX_DESCRIPTION}",
            )
    category = text_key("category")
    if category is not None and category not in CATEGORIES:
        add(
            "category-unknown",
            f"unknown category {category!r} (known: {', '.join(CATEGORIES)})",
        )

    games = doc.get("games")
    game_list: list[str] = []
    if games is not None:
        if not isinstance(games, list) or not all(isinstance(g, str) for g in games):
            add("manifest-key-invalid", "'games' must be a list of game ids")
        elif not games:
            add("manifest-key-invalid", "'games' must list at least one game")
        else:
            allowed = {g.lower() for g in known_games} | {CUSTOM_GAME}
            for game in games:
                if game.lower() in game_list:
                    add("game-duplicate", f"game {game!r} is listed twice")
                    continue
                game_list.append(game.lower())
                if game.lower() not in allowed:
                    add("game-unknown", f"unknown game {game!r} (see `gsm game list`)")

    dependencies = doc.get("dependencies", {})
    deps: dict[str, str] = {}
    if not isinstance(dependencies, dict):
        add("manifest-key-invalid", "'dependencies' must be a table of name = \"range\"")
    else:
        seen: dict[str, str] = {}
        for dep, spec in dependencies.items():
            if not _NAME.match(dep):
                add("dependency-name-invalid", f"dependency {dep!r} is not a valid plugin name")
            if name is not None and dep.casefold() == name.casefold():
                add("dependency-self", f"the plugin depends on itself ({dep!r})")
            if dep.casefold() in seen:
                add(
                    "dependency-duplicate",
                    f"dependency {dep!r} is listed twice (also as {seen[dep.casefold()]!r})",
                )
            seen.setdefault(dep.casefold(), dep)
            problem = range_problem(spec)
            if problem:
                add("dependency-range-invalid", f"dependency {dep!r} = {spec!r}: {problem}")
            else:
                deps[dep] = spec.strip()

    if problems:
        return None, problems
    assert name is not None and version is not None and category is not None
    return (
        Manifest(
            name=name,
            version=version,
            description=description or "",
            category=category,
            games=game_list,
            dependencies=deps,
        ),
        [],
    )


# --- validation -------------------------------------------------------------------------


def _sort_key(problem: Problem) -> tuple[int, str]:
    order = list(RULES)
    return (order.index(problem.rule) if problem.rule in order else len(order), problem.path or "")


def _report(manifest: Manifest | None, problems: list[Problem], files: list[Entry]) -> Report:
    unique = list(dict.fromkeys(problems))
    unique.sort(key=_sort_key)
    return Report(manifest, unique, files)


def validate(source: Path, *, known_games: Collection[str]) -> Report:
    """Every problem of a package zip or a plugin source folder (what pack would zip)."""
    source = Path(source)
    try:
        info = source.stat()
    except FileNotFoundError:
        raise NotFoundError(f"no such file or folder: {source}") from None
    except OSError as exc:
        return _report(None, [Problem("package-unreadable", None, f"{source}: {exc}")], [])
    if stat.S_ISDIR(info.st_mode):
        return _validate_folder(source, known_games=known_games)
    try:
        with open(source, "rb") as handle:
            return _validate_zip(handle, known_games=known_games)
    except OSError as exc:
        return _report(None, [Problem("package-unreadable", None, f"{source}: {exc}")], [])


def _unix_mode(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0


def _special_kind(info: zipfile.ZipInfo) -> str | None:
    mode = _unix_mode(info)
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        return "symbolic link"
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        return "special file (device, pipe or socket)"
    if info.create_system == 0 and info.external_attr & _WINDOWS_REPARSE_POINT:
        return "symbolic link (Windows reparse point)"
    return None


def _raw_name_length(info: zipfile.ZipInfo) -> int:
    encoding = "utf-8" if info.flag_bits & _UTF8_FLAG else "cp437"
    try:
        return len(info.orig_filename.encode(encoding))
    except UnicodeEncodeError:
        return len(info.orig_filename.encode("utf-8"))


def _open_zip(handle: IO[bytes]) -> tuple[zipfile.ZipFile | None, list[Problem]]:
    """The zip's central directory, refusing one that lists absurdly many entries before it is
    parsed (zipfile would build an object per entry)."""
    try:
        handle.seek(0)
        end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        return None, [Problem("zip-invalid", None, f"not a zip archive: {exc}")]
    if end is None:
        return None, [
            Problem("zip-invalid", None, "not a zip archive (no end of central directory)")
        ]
    entries = end[zipfile._ECD_ENTRIES_TOTAL]  # type: ignore[attr-defined]
    if entries > 2 * MAX_FILES + 2:
        return None, [
            Problem(
                "too-many-files",
                None,
                f"the zip lists {entries} entries, more than {MAX_FILES} files (and their "
                "folders) allow; not read further",
            )
        ]
    try:
        handle.seek(0)
        return zipfile.ZipFile(handle), []
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        return None, [Problem("zip-invalid", None, f"not a readable zip archive: {exc}")]
    except NotImplementedError as exc:
        return None, [Problem("zip-invalid", None, f"unsupported zip: {exc}")]


def _storage_problems(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> list[Problem]:
    """Problems of how the entries are stored: encryption, methods, overlaps, bombs."""
    problems: list[Problem] = []
    for info in infos:
        name = info.filename
        if info.orig_filename != info.filename:
            problems.append(
                Problem("path-invalid", name, "the stored name holds a NUL byte (cut here)")
            )
        if info.flag_bits & _ENCRYPTED_FLAGS:
            problems.append(Problem("zip-encrypted", name, "encrypted entry"))
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            problems.append(
                Problem(
                    "zip-compression",
                    name,
                    f"compression method {info.compress_type}: only stored (0) and deflate (8)",
                )
            )
        if info.is_dir() and info.file_size:
            problems.append(
                Problem("size-mismatch", name, f"a folder entry declaring {info.file_size} bytes")
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            problems.append(
                Problem(
                    "zip-bomb",
                    name,
                    f"compressed 1:{ratio:.0f} ({info.compress_size} bytes to {info.file_size}), "
                    f"more than 1:{MAX_RATIO}",
                )
            )
    # Entries must follow each other: [local header + name + data] may not reach into the next
    # entry or into the central directory (overlapping entries make small zips expand hugely).
    start_dir = getattr(archive, "start_dir", None)
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for index, info in enumerate(ordered):
        end = info.header_offset + _LOCAL_HEADER_SIZE + _raw_name_length(info) + info.compress_size
        limit = ordered[index + 1].header_offset if index + 1 < len(ordered) else start_dir
        if info.header_offset < 0 or (limit is not None and end > limit):
            what = (
                f"entry {ordered[index + 1].filename!r}"
                if index + 1 < len(ordered)
                else "the central directory"
            )
            problems.append(Problem("zip-overlap", info.filename, f"its data reaches into {what}"))
    return problems


def _validate_zip(handle: IO[bytes], *, known_games: Collection[str]) -> Report:
    archive, problems = _open_zip(handle)
    if archive is None:
        return _report(None, problems, [])
    with archive:
        infos = archive.infolist()
        problems += _storage_problems(archive, infos)
        items = [
            _Item(
                info.filename,
                is_dir=info.is_dir(),
                size=info.file_size,
                special=_special_kind(info),
            )
            for info in infos
        ]
        item_problems, entries = _check_items(items)
        problems += item_problems
        manifest: Manifest | None = None
        manifest_infos = [info for info in infos if info.filename == MANIFEST]
        if not manifest_infos:
            problems.append(
                Problem("manifest-missing", MANIFEST, f"no {MANIFEST} at the package's root")
            )
        else:
            info = manifest_infos[-1]
            data, why = _read_manifest(archive, info)
            if data is None:
                problems.append(Problem("manifest-invalid", MANIFEST, why or "unreadable"))
            else:
                manifest, manifest_problems = check_manifest(data, known_games=known_games)
                problems += manifest_problems
    return _report(manifest, problems, entries)


def _read_manifest(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo
) -> tuple[bytes | None, str | None]:
    """The manifest's bytes, read with a real byte count (never its declared size alone)."""
    if info.flag_bits & _ENCRYPTED_FLAGS or info.compress_type not in _SUPPORTED_COMPRESSION:
        return None, "the manifest cannot be read (encrypted or unsupported compression)"
    if info.file_size > MAX_MANIFEST_BYTES or _special_kind(info):
        return None, f"the manifest must be a plain file of at most {MAX_MANIFEST_BYTES} bytes"
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_MANIFEST_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        return None, f"the manifest cannot be read: {exc}"
    except Exception as exc:  # zlib.error and other decoder failures of a hostile stream
        return None, f"the manifest cannot be read: {type(exc).__name__}: {exc}"
    if len(data) > MAX_MANIFEST_BYTES:
        return None, f"the manifest holds more than {MAX_MANIFEST_BYTES} bytes"
    return data, None


def _walk_folder(root: Path) -> Iterator[tuple[_Item, Path]]:
    """Everything under files/, as zip names, without following any link."""
    stack = [(root / "files", "files/")]
    while stack:
        folder, prefix = stack.pop()
        with os.scandir(folder) as listing:
            children = sorted(listing, key=lambda e: e.name)
        for child in children:
            name = prefix + child.name
            if child.is_symlink():
                yield _Item(name, special="symbolic link"), Path(child.path)
            elif child.is_dir(follow_symlinks=False):
                stack.append((Path(child.path), name + "/"))
            elif child.is_file(follow_symlinks=False):
                yield _Item(name, size=child.stat(follow_symlinks=False).st_size), Path(child.path)
            else:
                yield _Item(name, special="special file (device, pipe or socket)"), Path(child.path)


def _folder_items(folder: Path) -> tuple[list[tuple[_Item, Path]], list[Problem]]:
    problems: list[Problem] = []
    found: list[tuple[_Item, Path]] = []
    files_dir = folder / "files"
    try:
        if files_dir.is_symlink():
            problems.append(Problem("path-symlink", "files/", "files/ is a symbolic link"))
        elif files_dir.is_dir():
            found = list(_walk_folder(folder))
        elif files_dir.exists():
            problems.append(Problem("path-conflict", "files", "files must be a folder"))
    except OSError as exc:
        problems.append(Problem("package-unreadable", "files/", str(exc)))
    return found, problems


def _validate_folder(folder: Path, *, known_games: Collection[str]) -> Report:
    return _inspect_folder(folder, known_games=known_games)[0]


def _inspect_folder(
    folder: Path, *, known_games: Collection[str]
) -> tuple[Report, list[tuple[_Item, Path]]]:
    found, problems = _folder_items(folder)
    items = [item for item, _ in found]
    item_problems, entries = _check_items(items)
    problems += item_problems
    manifest: Manifest | None = None
    path = folder / MANIFEST
    if path.is_symlink():
        problems.append(Problem("path-symlink", MANIFEST, "the manifest is a symbolic link"))
    elif not path.exists():
        problems.append(Problem("manifest-missing", MANIFEST, f"no {MANIFEST} in {folder}"))
    elif not path.is_file():
        problems.append(Problem("manifest-invalid", MANIFEST, "the manifest is not a file"))
    else:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_MANIFEST_BYTES + 1)
        except OSError as exc:
            problems.append(Problem("package-unreadable", MANIFEST, str(exc)))
        else:
            manifest, manifest_problems = check_manifest(data, known_games=known_games)
            problems += manifest_problems
    return _report(manifest, problems, entries), found


# --- opening and extracting -------------------------------------------------------------


def _sha256_of(handle: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    handle.seek(0)
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class Package:
    """A valid package, held open: what is extracted is the very file that was validated and
    hashed, whatever happens to its path meanwhile. Use it as a context manager (or close())."""

    def __init__(
        self,
        path: Path,
        handle: IO[bytes],
        manifest: Manifest,
        entries: list[Entry],
        sha256: str,
        size: int,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.entries = entries
        self.sha256 = sha256
        self.size = size
        self._handle = handle

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "Package":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def extract_files(self, dest: Path, report: ProgressReport | None = None) -> dict[str, str]:
        """Extract every file under files/ into ``dest`` (an existing, empty staging folder).

        Returns {path relative to files/: sha256}. Streams each file, counting the bytes that
        come out: a file that grows past its declared size (or the limit) stops at once and
        PackageInvalid (size-mismatch / file-too-large) is raised; so does a CRC mismatch.
        Never writes outside ``dest``, never follows or creates links, never overwrites a file.
        On an error, what was written stays in ``dest`` for the caller to remove.
        """
        dest = Path(dest)
        if not dest.is_dir() or dest.is_symlink():
            raise InvalidInputError(f"staging folder {dest} is not a folder")
        if any(dest.iterdir()):
            raise InvalidInputError(f"staging folder {dest} is not empty")
        root = os.path.realpath(dest)
        digests: dict[str, str] = {}
        total = sum(entry.size for entry in self.entries)
        done = 0
        self._handle.seek(0)
        with zipfile.ZipFile(self._handle) as archive:
            infos = {
                info.filename[len(FILES_DIR) :]: info
                for info in archive.infolist()
                if info.filename.startswith(FILES_DIR) and not info.is_dir()
            }
            ordered = sorted(self.entries, key=lambda e: infos[e.path].header_offset)
            for entry in ordered:
                info = infos[entry.path]
                target = os.path.join(root, *entry.path.split("/"))
                if os.path.commonpath([root, os.path.realpath(os.path.dirname(target))]) != root:
                    # Cannot happen for a validated name; checked all the same.
                    raise invalid([Problem("path-traversal", info.filename, "leaves the folder")])
                _make_parents(root, entry.path)
                digests[entry.path] = _extract_one(archive, info, target)
                done += info.file_size
                if report:
                    report(done, total, entry.path)
        return digests


def _make_parents(root: str, relative: str) -> None:
    """Create the folders of ``relative`` under ``root`` one by one, refusing any link."""
    current = root
    for part in relative.split("/")[:-1]:
        current = os.path.join(current, part)
        try:
            os.mkdir(current, _DIR_MODE)
        except FileExistsError:
            if os.path.islink(current) or not os.path.isdir(current):
                raise invalid(
                    [Problem("path-conflict", relative, f"{part!r} is not a folder in staging")]
                ) from None


def _extract_one(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: str) -> str:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    digest = hashlib.sha256()
    written = 0
    limit = min(info.file_size, MAX_FILE_BYTES)
    fd = os.open(target, flags, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out, archive.open(info) as stream:
            while True:
                chunk = stream.read(_CHUNK)
                if not chunk:
                    break
                written += len(chunk)
                if written > limit:
                    raise invalid(
                        [
                            Problem(
                                "size-mismatch",
                                info.filename,
                                f"holds more than the {info.file_size} bytes it declares",
                            )
                        ]
                    )
                digest.update(chunk)
                out.write(chunk)
    except PackageInvalid:
        raise
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError) as exc:
        raise invalid([Problem("zip-invalid", info.filename, f"cannot be read: {exc}")]) from exc
    except OSError:
        raise
    except Exception as exc:  # zlib.error: a hostile deflate stream
        raise invalid(
            [Problem("zip-invalid", info.filename, f"cannot be read: {type(exc).__name__}")]
        ) from exc
    if written != info.file_size:
        raise invalid(
            [
                Problem(
                    "size-mismatch",
                    info.filename,
                    f"holds {written} bytes, not the {info.file_size} it declares",
                )
            ]
        )
    return digest.hexdigest()


def open_package(path: Path, *, known_games: Collection[str]) -> Package:
    """Open, hash and validate a package zip; PackageInvalid (exit 8) when any problem."""
    path = Path(path)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - held open by the Package
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InvalidInputError(
            f"{path} is a folder; pack it first with `gsm plugin pack {path}`"
        ) from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    try:
        sha256, size = _sha256_of(handle)
    except BaseException:
        handle.close()
        raise
    return package_from(handle, path, sha256=sha256, size=size, known_games=known_games)


def package_from(
    handle: IO[bytes], path: Path, *, sha256: str, size: int, known_games: Collection[str]
) -> Package:
    """Validate a package from a file its caller holds open and has hashed already (a download
    checked as its bytes arrived), so it is not read twice; the Package owns ``handle`` (closed
    here when the package is invalid). PackageInvalid (exit 8) when any problem."""
    try:
        result = _validate_zip(handle, known_games=known_games)
        if result.problems:
            raise invalid(result.problems, f"the package {path.name}")
        assert result.manifest is not None
        return Package(path, handle, result.manifest, result.files, sha256, size)
    except BaseException:
        handle.close()
        raise


# --- packing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackResult:
    path: Path
    sha256: str
    size: int
    files: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "sha256": self.sha256,
            "size": self.size,
            "files": self.files,
        }


def default_package_name(manifest: Manifest) -> str:
    return f"{manifest.name}-{manifest.version}.zip"


def _zip_info(name: str, size: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.create_system = 3  # Unix, whatever system packs it
    info.external_attr = (stat.S_IFREG | _FILE_MODE) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    info.file_size = size
    return info


def pack(
    folder: Path,
    out: Path | None = None,
    *,
    known_games: Collection[str] | None = None,
    report: ProgressReport | None = None,
) -> PackResult:
    """Validate a plugin folder, then zip it reproducibly: the manifest, then every file under
    files/ sorted by path; fixed timestamps (1980-01-01), modes (0644) and system (Unix), no
    extra fields or comment. The zip is checked again, then moved to ``out`` (default:
    NAME-VERSION.zip in the current folder). PackageInvalid (exit 8) when the folder is not
    valid."""
    folder = Path(folder)
    if known_games is None:
        from gsm_cli.services import games

        known_games = list(games.catalog())
    if not folder.is_dir():
        if not folder.exists():
            raise NotFoundError(f"no such folder: {folder}")
        raise InvalidInputError(f"{folder} is not a folder: pack takes a plugin source folder")
    result, found = _inspect_folder(folder, known_games=known_games)
    if result.problems:
        raise invalid(result.problems, f"the plugin folder {folder}")
    manifest = result.manifest
    assert manifest is not None
    out = Path(out) if out is not None else Path.cwd() / default_package_name(manifest)
    if out.exists() and out.is_dir():
        out = out / default_package_name(manifest)
    out_real = os.path.realpath(out)
    files_real = os.path.realpath(folder / "files")
    if out_real == os.path.realpath(folder / MANIFEST):
        raise InvalidInputError(
            f"{out} is the plugin's manifest: the package would replace it",
            hint="write it elsewhere with -o FILE",
        )
    if os.path.commonpath([out_real, files_real]) == files_real:
        raise InvalidInputError(
            f"{out} is inside {folder / 'files'}: the package would end up in itself",
            hint="write it elsewhere with -o FILE",
        )
    members = sorted(
        ((item.name, path) for item, path in found), key=lambda pair: pair[0].encode("utf-8")
    )
    total = sum(item.size for item, _ in found)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".gsm-pack-", suffix=".part", dir=out.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "w+b") as handle:
            with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
                manifest_bytes = (folder / MANIFEST).read_bytes()
                archive.writestr(_zip_info(MANIFEST, len(manifest_bytes)), manifest_bytes)
                done = 0
                for name, path in members:
                    done += _pack_one(archive, name, path)
                    if report:
                        report(done, total, name)
            handle.flush()
            os.fsync(handle.fileno())
            check = _validate_zip(handle, known_games=known_games)
            if check.problems:
                raise invalid(check.problems, f"the packed zip of {folder}")
            sha256, size = _sha256_of(handle)
        os.chmod(temp, _FILE_MODE)
        os.replace(temp, out)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return PackResult(out, sha256, size, len(members))


def _pack_one(archive: zipfile.ZipFile, name: str, path: Path) -> int:
    """Copy one file into the zip, refusing a link or a file that changes while it is read."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        info = _zip_info(name, size)
        copied = 0
        with archive.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as sink:
            while chunk := source.read(_CHUNK):
                copied += len(chunk)
                if copied > size:
                    break
                sink.write(chunk)
    if copied != size:
        raise InvalidInputError(f"{path} changed while it was packed; pack again")
    return size


# --- init -------------------------------------------------------------------------------


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def init_skeleton(
    folder: Path, *, name: str, game: str, category: str = "other", force: bool = False
) -> list[Path]:
    """Write a valid plugin folder: gsm-plugin.toml, files/ and a README.md. Refuses a folder
    that has anything in it, unless ``force`` (then only those three are written, replacing
    a manifest or README that are there, and nothing else is touched). Returns what it wrote."""
    folder = Path(folder)
    if not _NAME.match(name):
        raise InvalidInputError(
            f"invalid plugin name {name!r}: 1 to 128 letters, digits, '_' or '-'",
            code="invalid_name",
        )
    if category not in CATEGORIES:
        raise InvalidInputError(
            f"unknown category {category!r}",
            hint=f"choose one of {', '.join(CATEGORIES)}",
            code="invalid_category",
        )
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(f"{folder} exists and is not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise InvalidInputError(
            f"{folder} is not empty",
            hint="choose an empty or new folder, or pass --force to write the skeleton's files "
            "into it (gsm-plugin.toml and README.md are replaced; nothing else is touched)",
            code="folder_not_empty",
        )
    for existing in (folder / MANIFEST, folder / "README.md", folder / "files"):
        if existing.is_symlink():
            raise InvalidInputError(f"{existing} is a symbolic link; gsm does not write through it")
    for existing, want_dir in ((folder / MANIFEST, False), (folder / "README.md", False)):
        if existing.exists() and existing.is_dir() != want_dir:
            raise InvalidInputError(f"{existing} is in the way: it is a folder")
    if (folder / "files").exists() and not (folder / "files").is_dir():
        raise InvalidInputError(f"{folder / 'files'} is in the way: it is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    files = folder / "files"
    files.mkdir(exist_ok=True)
    manifest = folder / MANIFEST
    manifest.write_text(
        "# The manifest of a gsm plugin package (docs/plugin-format.md).\n"
        f"name = {_toml_string(name)}\n"
        'version = "0.1.0"\n'
        f"description = {_toml_string(f'{name}: describe what it does in one line.')}\n"
        f"category = {_toml_string(category)}\n"
        f"games = [{_toml_string(game)}]\n"
        "\n"
        '# Plugins this one needs, with a semver range each: other-plugin = "^1.2.0"\n'
        "[dependencies]\n",
        encoding="utf-8",
    )
    readme = folder / "README.md"
    readme.write_text(
        f"# {name}\n\n"
        "A gsm plugin. Put the files to install under `files/`: they land in the server's "
        "plugin folder (`gsm game info GAME` shows it), keeping their paths.\n\n"
        "```\n"
        f"gsm plugin validate {folder.name}\n"
        f"gsm plugin pack {folder.name}\n"
        "```\n\n"
        "Only `gsm-plugin.toml` and `files/` are packed; this README is not.\n",
        encoding="utf-8",
    )
    return [manifest, files, readme]
