"""The plugin package format (services/plugin_package.py): every rule of validate, hostile zips
(built here, byte by byte where zipfile would refuse to write them), safe streamed extraction
that never writes outside its staging folder, and versions and ranges."""

import hashlib
import os
import stat
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gsm_cli.errors import InvalidInputError, NotFoundError
from gsm_cli.services import games
from gsm_cli.services import plugin_package as pp

KNOWN = list(games.catalog())
MANIFEST = (
    'name = "essentials"\n'
    'version = "1.2.0"\n'
    'description = "Basic commands."\n'
    'category = "admin"\n'
    'games = ["minecraft"]\n'
)


def build(
    path: Path,
    files: dict[str, bytes] | None = None,
    *,
    manifest: str | bytes | None = MANIFEST,
    extra: list[zipfile.ZipInfo | str] | None = None,
) -> Path:
    """A package zip: the manifest, files under files/, and any extra raw entries."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if manifest is not None:
            archive.writestr(pp.MANIFEST, manifest)
        for name, data in (files or {"plugin.jar": b"jar bytes"}).items():
            archive.writestr(pp.FILES_DIR + name, data)
        for item in extra or []:
            name = item.filename if isinstance(item, zipfile.ZipInfo) else item
            archive.writestr(item, b"" if name.endswith("/") else b"x")
    return path


def rules(report: pp.Report) -> set[str]:
    return {problem.rule for problem in report.problems}


def problems_of(report: pp.Report, rule: str) -> list[pp.Problem]:
    return [problem for problem in report.problems if problem.rule == rule]


def central_entries(data: bytes) -> Iterator[int]:
    """Offsets of the central directory headers in a zip's bytes."""
    start = 0
    while (found := data.find(b"PK\x01\x02", start)) >= 0:
        yield found
        start = found + 4


def patch_central(data: bytes, name: bytes, offset: int, fmt: str, value: int) -> bytes:
    """Change one field of the central directory entry named ``name``."""
    for header in central_entries(data):
        (name_len,) = struct.unpack_from("<H", data, header + 28)
        if data[header + 46 : header + 46 + name_len] == name:
            buf = bytearray(data)
            struct.pack_into(fmt, buf, header + offset, value)
            return bytes(buf)
    raise AssertionError(f"no central entry {name!r}")


def tree(root: Path) -> dict[str, int]:
    return {
        str(p.relative_to(root)): p.lstat().st_size for p in sorted(root.rglob("*")) if p.is_file()
    }


# --- valid packages -------------------------------------------------------------------------


def test_a_valid_package_has_no_problem(tmp_path: Path) -> None:
    package = build(tmp_path / "p.zip", {"essentials.jar": b"x" * 100, "conf/a.yml": b"a: 1\n"})
    report = pp.validate(package, known_games=KNOWN)
    assert report.problems == []
    assert report.ok
    assert report.manifest == pp.Manifest(
        "essentials", "1.2.0", "Basic commands.", "admin", ["minecraft"], {}
    )
    assert sorted((e.path, e.size) for e in report.files) == [
        ("conf/a.yml", 5),
        ("essentials.jar", 100),
    ]


def test_custom_is_a_game_and_dependencies_take_npm_ranges(tmp_path: Path) -> None:
    manifest = MANIFEST.replace('["minecraft"]', '["custom", "Valheim"]') + (
        '[dependencies]\nvault = "^1.7.0"\nlib-core = ">=2.0.0 <3.0.0 || 3.1.x"\nany = "*"\n'
    )
    report = pp.validate(build(tmp_path / "p.zip", manifest=manifest), known_games=KNOWN)
    assert report.problems == []
    assert report.manifest is not None
    assert report.manifest.games == ["custom", "valheim"]
    assert report.manifest.dependencies == {
        "vault": "^1.7.0",
        "lib-core": ">=2.0.0 <3.0.0 || 3.1.x",
        "any": "*",
    }


def test_validate_reads_no_file_data_but_the_manifest(tmp_path: Path) -> None:
    """A files/ entry whose data is garbage (not deflate) is not noticed by validate: it reads
    only the central directory and the manifest's bytes."""
    data = build(tmp_path / "p.zip", {"big.bin": os.urandom(5000)}).read_bytes()
    start = data.index(b"files/big.bin") + len(b"files/big.bin")  # its local data follows
    garbage = data[:start] + b"\xff" * 40 + data[start + 40 :]
    (tmp_path / "g.zip").write_bytes(garbage)
    assert pp.validate(tmp_path / "g.zip", known_games=KNOWN).problems == []
    with (
        pp.open_package(tmp_path / "g.zip", known_games=KNOWN) as package,
        pytest.raises(pp.PackageInvalid) as caught,
    ):
        (tmp_path / "stage").mkdir()
        package.extract_files(tmp_path / "stage")
    assert caught.value.problems[0].rule in ("zip-invalid", "size-mismatch")


# --- manifest rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("manifest", "rule"),
    [
        (None, "manifest-missing"),
        (b"\xff\xfe not utf-8", "manifest-invalid"),
        ("name = ", "manifest-invalid"),
        ("x" * (pp.MAX_MANIFEST_BYTES + 1), "manifest-invalid"),
        (MANIFEST.replace('category = "admin"\n', ""), "manifest-key-missing"),
        (MANIFEST.replace('"1.2.0"', "120"), "manifest-key-invalid"),
        (MANIFEST.replace('["minecraft"]', "[]"), "manifest-key-invalid"),
        (MANIFEST.replace('["minecraft"]', '"minecraft"'), "manifest-key-invalid"),
        (MANIFEST.replace('"Basic commands."', '"   "'), "manifest-key-invalid"),
        (MANIFEST + "dependencies = 3\n", "manifest-key-invalid"),
        (MANIFEST + 'author = "me"\n', "manifest-key-unknown"),
        (MANIFEST.replace('"essentials"', '"ess entials"'), "name-invalid"),
        (MANIFEST.replace('"essentials"', '"' + "a" * 129 + '"'), "name-invalid"),
        (MANIFEST.replace('"essentials"', '""'), "name-invalid"),
        (MANIFEST.replace('"essentials"', '"ess/../x"'), "name-invalid"),
        (MANIFEST.replace('"1.2.0"', '"1.2"'), "version-invalid"),
        (MANIFEST.replace('"1.2.0"', '"1.2.0+build.5"'), "version-invalid"),
        (MANIFEST.replace('"1.2.0"', '"01.2.0"'), "version-invalid"),
        (MANIFEST.replace('"1.2.0"', '"v1.2.0"'), "version-invalid"),
        (MANIFEST.replace('"1.2.0"', '"1.2.0-alpha.beta.gamma1"'), "version-invalid"),
        (MANIFEST.replace('"Basic commands."', '"' + "d" * 257 + '"'), "description-too-long"),
        (MANIFEST.replace('"admin"', '"weapons"'), "category-unknown"),
        (MANIFEST.replace('["minecraft"]', '["minecraft", "quake"]'), "game-unknown"),
        (MANIFEST.replace('["minecraft"]', '["minecraft", "Minecraft"]'), "game-duplicate"),
        (MANIFEST + '[dependencies]\nEssentials = "^1.0.0"\n', "dependency-self"),
        (MANIFEST + '[dependencies]\nvault = "^1.0.0"\nVault = "^2.0.0"\n', "dependency-duplicate"),
        (MANIFEST + '[dependencies]\nvault = "^1.0.0"\nvault = "^2.0.0"\n', "dependency-duplicate"),
        (MANIFEST + '[dependencies]\n"not a name" = "^1.0.0"\n', "dependency-name-invalid"),
        (MANIFEST + '[dependencies]\nvault = "latest"\n', "dependency-range-invalid"),
        (MANIFEST + '[dependencies]\nvault = ""\n', "dependency-range-invalid"),
        (MANIFEST + '[dependencies]\nvault = "^1.0.0+b"\n', "dependency-range-invalid"),
        (MANIFEST + "[dependencies]\nvault = 1\n", "dependency-range-invalid"),
    ],
)
def test_each_manifest_rule(tmp_path: Path, manifest: str | bytes | None, rule: str) -> None:
    report = pp.validate(build(tmp_path / "p.zip", manifest=manifest), known_games=KNOWN)
    assert rule in rules(report), report.problems
    assert all(p.path == pp.MANIFEST for p in problems_of(report, rule))
    assert not report.ok


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    manifest = (
        'name = "bad name"\nversion = "1"\ncategory = "nope"\ngames = ["quake"]\nx = 1\n'
        '[dependencies]\n"bad name" = "garbage"\n'
    )
    package = build(
        tmp_path / "p.zip", {"ok.txt": b"x"}, manifest=manifest, extra=["../up", "/abs", "top.txt"]
    )
    report = pp.validate(package, known_games=KNOWN)
    assert {
        "manifest-key-missing", "manifest-key-unknown", "name-invalid", "version-invalid",
        "category-unknown", "game-unknown", "dependency-self", "dependency-name-invalid",
        "dependency-range-invalid", "path-traversal", "path-absolute", "path-outside-files",
    } <= rules(report)  # fmt: skip
    assert report.manifest is None
    order = list(pp.RULES)
    listed = [order.index(p.rule) for p in report.problems]
    assert listed == sorted(listed)


# --- path rules -----------------------------------------------------------------------------


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("files/../../evil.sh", "path-traversal"),
        ("../evil.sh", "path-traversal"),
        ("files/a/../../../evil", "path-traversal"),
        ("/etc/cron.d/evil", "path-absolute"),
        ("//server/share/evil", "path-absolute"),
        ("C:/Windows/evil.dll", "path-drive"),
        ("c:evil.dll", "path-drive"),
        ("files\\..\\evil.dll", "path-backslash"),
        ("files/a\\b.txt", "path-backslash"),
        ("files/con.txt", "path-invalid"),
        ("files/LPT1", "path-invalid"),
        ("files/a:stream", "path-invalid"),
        ("files/what?.txt", "path-invalid"),
        ("files/trailing. ", "path-invalid"),
        ("files/a//b.txt", "path-invalid"),
        ("files/./b.txt", "path-invalid"),
        ("files/bell\x07.txt", "path-invalid"),
        ("files/" + "x" * 600, "path-invalid"),
        ("README.md", "path-outside-files"),
        ("GSM-PLUGIN.TOML", "path-outside-files"),
        ("filesystem/x", "path-outside-files"),
    ],
)
def test_each_path_rule(tmp_path: Path, entry: str, rule: str) -> None:
    report = pp.validate(build(tmp_path / "p.zip", extra=[entry]), known_games=KNOWN)
    found = problems_of(report, rule)
    assert found, report.problems
    assert found[0].path == entry


def test_a_symbolic_link_entry_is_refused(tmp_path: Path) -> None:
    package = build(tmp_path / "p.zip", extra=[symlink_info("files/passwd")])
    report = pp.validate(package, known_games=KNOWN)
    assert [(p.rule, p.path) for p in problems_of(report, "path-symlink")] == [
        ("path-symlink", "files/passwd")
    ]


def test_a_windows_reparse_point_and_a_device_are_refused(tmp_path: Path) -> None:
    windows = zipfile.ZipInfo("files/link")
    windows.create_system = 0
    windows.external_attr = 0x400  # FILE_ATTRIBUTE_REPARSE_POINT
    fifo = zipfile.ZipInfo("files/pipe")
    fifo.create_system = 3
    fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
    report = pp.validate(build(tmp_path / "p.zip", extra=[windows, fifo]), known_games=KNOWN)
    assert {p.path for p in problems_of(report, "path-symlink")} == {"files/link", "files/pipe"}


def test_duplicates_case_collisions_and_file_folder_conflicts(tmp_path: Path) -> None:
    package = tmp_path / "p.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        build(
            package,
            {"Config.yml": b"a", "config.yml": b"b", "dup.txt": b"1", "caf\u00e9": b"nfc"},
            extra=["files/dup.txt", "files/cafe\u0301", "files/Config.yml/inner"],
        )
    report = pp.validate(package, known_games=KNOWN)
    assert [p.path for p in problems_of(report, "path-duplicate")] == ["files/dup.txt"]
    collided = {p.path for p in problems_of(report, "path-case-collision")}
    assert collided == {"files/config.yml", "files/cafe\u0301"}
    assert [p.path for p in problems_of(report, "path-conflict")] == ["files/Config.yml"]


def test_folder_entries_under_files_are_fine(tmp_path: Path) -> None:
    package = build(tmp_path / "p.zip", extra=["files/", "files/empty/"])
    assert pp.validate(package, known_games=KNOWN).problems == []


# --- limits and zip bombs -------------------------------------------------------------------


def test_more_than_10000_files(tmp_path: Path) -> None:
    files = {f"f{i}": b"" for i in range(pp.MAX_FILES + 1)}
    report = pp.validate(build(tmp_path / "p.zip", files), known_games=KNOWN)
    assert rules(report) == {"too-many-files"}
    exactly = {f"f{i}": b"" for i in range(pp.MAX_FILES)}
    assert pp.validate(build(tmp_path / "q.zip", exactly), known_games=KNOWN).ok


def test_a_central_directory_of_absurdly_many_entries_is_not_parsed(tmp_path: Path) -> None:
    data = build(tmp_path / "p.zip").read_bytes()
    end = data.rindex(b"PK\x05\x06")
    buf = bytearray(data)
    struct.pack_into("<HH", buf, end + 8, 0xFFFE, 0xFFFE)  # entries on disk, total
    (tmp_path / "many.zip").write_bytes(bytes(buf))
    report = pp.validate(tmp_path / "many.zip", known_games=KNOWN)
    assert rules(report) == {"too-many-files"}


def test_a_bomb_small_compressed_huge_real_size(tmp_path: Path) -> None:
    """10 MiB of zeros deflate to about 10 KB: 1:1000, refused without inflating a byte."""
    package = build(tmp_path / "p.zip", {"bomb.bin": bytes(10 * 1024 * 1024)})
    report = pp.validate(package, known_games=KNOWN)
    assert [(p.rule, p.path) for p in report.problems] == [("zip-bomb", "files/bomb.bin")]
    # Small files may compress well: no false alarm below the floor.
    small = build(tmp_path / "s.zip", {"spaces.txt": b" " * pp.RATIO_FLOOR_BYTES})
    assert pp.validate(small, known_games=KNOWN).ok


def test_a_bomb_small_compressed_huge_declared_size(tmp_path: Path) -> None:
    data = build(tmp_path / "p.zip", {"big.bin": b"tiny", "big2.bin": b"tiny"}).read_bytes()
    for name in (b"files/big.bin", b"files/big2.bin"):  # 3 GiB each, uncompressed
        data = patch_central(data, name, 24, "<I", 0xC0000000)
    (tmp_path / "huge.zip").write_bytes(data)
    report = pp.validate(tmp_path / "huge.zip", known_games=KNOWN)
    assert {"zip-bomb", "file-too-large", "package-too-large"} <= rules(report)
    assert all(p.path in ("files/big.bin", "files/big2.bin", None) for p in report.problems)


def test_overlapping_entries_are_refused(tmp_path: Path) -> None:
    """Two central directory entries pointing at one local entry (the 'overlapping files' bomb
    shape): every byte would be inflated once per entry."""
    data = build(tmp_path / "p.zip", {"a.bin": b"a" * 1000}).read_bytes()
    header = next(h for h in central_entries(data) if b"files/a.bin" in data[h : h + 60])
    (name_len, extra_len, comment_len) = struct.unpack_from("<HHH", data, header + 28)
    record = data[header : header + 46 + name_len + extra_len + comment_len]
    twin = record.replace(b"files/a.bin", b"files/b.bin")
    end = data.rindex(b"PK\x05\x06")
    (count, size, start) = (*struct.unpack_from("<HII", data, end + 10),)
    body = data[:end] + twin
    trailer = bytearray(data[end:])
    struct.pack_into("<HHII", trailer, 8, count + 1, count + 1, size + len(twin), start)
    (tmp_path / "twin.zip").write_bytes(body + bytes(trailer))
    report = pp.validate(tmp_path / "twin.zip", known_games=KNOWN)
    assert "zip-overlap" in rules(report), report.problems


def test_encrypted_and_unsupported_compression(tmp_path: Path) -> None:
    data = build(tmp_path / "p.zip", {"secret.bin": b"s" * 100, "x.bin": b"x"}).read_bytes()
    data = patch_central(data, b"files/secret.bin", 8, "<H", 0x1)  # the encryption flag
    data = patch_central(data, b"files/x.bin", 10, "<H", 99)  # AES / unknown method
    (tmp_path / "e.zip").write_bytes(data)
    report = pp.validate(tmp_path / "e.zip", known_games=KNOWN)
    assert [p.path for p in problems_of(report, "zip-encrypted")] == ["files/secret.bin"]
    assert [p.path for p in problems_of(report, "zip-compression")] == ["files/x.bin"]


@pytest.mark.parametrize(
    "content",
    [b"", b"not a zip at all", b"PK\x03\x04" + b"\0" * 100, b"PK\x05\x06" + b"\0" * 18],
)
def test_a_file_that_is_not_a_zip(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.zip").write_bytes(content)
    report = pp.validate(tmp_path / "x.zip", known_games=KNOWN)
    assert rules(report) & {"zip-invalid", "manifest-missing"}
    assert not report.ok


def test_a_truncated_zip(tmp_path: Path) -> None:
    data = build(tmp_path / "p.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    assert rules(pp.validate(tmp_path / "cut.zip", known_games=KNOWN)) == {"zip-invalid"}


def test_a_missing_source_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        pp.validate(tmp_path / "nope.zip", known_games=KNOWN)


# --- extraction -----------------------------------------------------------------------------


def stage(tmp_path: Path) -> Path:
    folder = tmp_path / "outer" / "staging"
    folder.mkdir(parents=True)
    return folder


def test_extract_files_streams_every_file_with_its_digest(tmp_path: Path) -> None:
    files = {"a.jar": os.urandom(3 * 1024 * 1024 + 7), "conf/deep/b.yml": b"b: 2\n", "e": b""}
    package_path = build(tmp_path / "p.zip", files)
    dest = stage(tmp_path)
    seen: list[tuple[float, float | None]] = []
    with pp.open_package(package_path, known_games=KNOWN) as package:
        assert package.sha256 == hashlib.sha256(package_path.read_bytes()).hexdigest()
        assert package.manifest.name == "essentials"
        digests = package.extract_files(dest, lambda done, total, label: seen.append((done, total)))
    assert digests == {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    for name, data in files.items():
        assert (dest / name).read_bytes() == data
        assert not (dest / name).is_symlink()
    assert seen[-1] == (sum(map(len, files.values())), sum(map(len, files.values())))
    assert tree(tmp_path / "outer") == {f"staging/{n}": len(d) for n, d in files.items()}


def test_extract_refuses_a_staging_folder_that_is_not_empty(tmp_path: Path) -> None:
    dest = stage(tmp_path)
    (dest / "left.txt").write_text("x")
    with (
        pp.open_package(build(tmp_path / "p.zip"), known_games=KNOWN) as package,
        pytest.raises(InvalidInputError),
    ):
        package.extract_files(dest)
    assert tree(dest) == {"left.txt": 1}


@pytest.mark.parametrize(
    "entry",
    [
        "files/../../escaped.txt",
        "../escaped.txt",
        "/tmp/escaped.txt",
        "C:/escaped.txt",
        "files\\..\\..\\escaped.txt",
        symlink_info("files/link"),
        "files/A.txt",  # collides with files/a.txt
    ],
    ids=["traversal", "dotdot", "absolute", "drive", "backslash", "symlink", "case"],
)
def test_hostile_packages_are_refused_before_any_byte_is_written(
    tmp_path: Path, entry: zipfile.ZipInfo | str
) -> None:
    package = build(tmp_path / "p.zip", {"a.txt": b"a"}, extra=[entry])
    before = tree(tmp_path)
    with pytest.raises(pp.PackageInvalid) as caught:
        pp.open_package(package, known_games=KNOWN)
    assert caught.value.exit_code == 8
    assert caught.value.code == "package_invalid"
    assert caught.value.problems
    assert tree(tmp_path) == before
    assert not Path("/tmp/escaped.txt").exists()


def test_extract_never_leaves_the_staging_folder_even_unvalidated(tmp_path: Path) -> None:
    """Defence in depth: a Package built around a hostile zip (skipping validation) still
    cannot write outside its staging folder."""
    package_path = build(tmp_path / "p.zip", {"ok.txt": b"ok"}, extra=["files/../../../up.txt"])
    handle = open(package_path, "rb")  # noqa: SIM115 - the Package closes it
    entries = [pp.Entry("ok.txt", 2), pp.Entry("../../../up.txt", 1)]
    manifest = pp.Manifest("essentials", "1.2.0", "d", "admin", ["minecraft"])
    dest = stage(tmp_path)
    with (
        pp.Package(package_path, handle, manifest, entries, "0" * 64, 0) as package,
        pytest.raises(pp.PackageInvalid),
    ):
        package.extract_files(dest)
    assert not (tmp_path / "up.txt").exists()
    assert not (tmp_path / "outer" / "up.txt").exists()
    assert set(tree(tmp_path / "outer")) <= {"staging/ok.txt"}


def test_a_declared_size_smaller_than_the_data_stops_the_file(tmp_path: Path) -> None:
    """The entry says 1,000 bytes; 5 MiB come out of the deflate stream. Extraction stops at
    the declared size and refuses the package; nothing beyond it is written."""
    real = os.urandom(1000) + bytes(5 * 1024 * 1024 - 1000)
    data = build(tmp_path / "p.zip", {"liar.bin": real}).read_bytes()
    data = patch_central(data, b"files/liar.bin", 24, "<I", 1000)
    (tmp_path / "liar.zip").write_bytes(data)
    assert pp.validate(tmp_path / "liar.zip", known_games=KNOWN).ok  # the directory looks fine
    dest = stage(tmp_path)
    with (
        pp.open_package(tmp_path / "liar.zip", known_games=KNOWN) as package,
        pytest.raises(pp.PackageInvalid) as caught,
    ):
        package.extract_files(dest)
    assert caught.value.problems[0].rule in ("size-mismatch", "zip-invalid")
    assert caught.value.problems[0].path == "files/liar.bin"
    assert sum(tree(tmp_path / "outer").values()) <= 1000


def test_a_declared_size_larger_than_the_data_is_refused(tmp_path: Path) -> None:
    data = build(tmp_path / "p.zip", {"short.bin": b"s" * 5000}).read_bytes()
    data = patch_central(data, b"files/short.bin", 24, "<I", 6000)
    (tmp_path / "short.zip").write_bytes(data)
    with (
        pp.open_package(tmp_path / "short.zip", known_games=KNOWN) as package,
        pytest.raises(pp.PackageInvalid) as caught,
    ):
        package.extract_files(stage(tmp_path))
    assert caught.value.problems[0].rule == "size-mismatch"


def test_a_local_header_naming_another_path_is_refused(tmp_path: Path) -> None:
    """The central directory says files/ok.txt, the local header ../../x.txt: gsm writes only
    under the central name, and refuses the mismatch."""
    data = build(tmp_path / "p.zip", {"ok.txt": b"ok"}).read_bytes()
    first_file = data.index(b"files/ok.txt")  # in its local header, before the directory
    data = data[:first_file] + b"../../x.txt!" + data[first_file + 12 :]
    (tmp_path / "twisted.zip").write_bytes(data)
    with (
        pp.open_package(tmp_path / "twisted.zip", known_games=KNOWN) as package,
        pytest.raises(pp.PackageInvalid),
    ):
        package.extract_files(stage(tmp_path))
    assert not (tmp_path / "x.txt").exists()
    assert set(tree(tmp_path / "outer")) <= {"staging/ok.txt"}


def test_the_package_extracted_is_the_one_hashed_even_if_the_path_changes(tmp_path: Path) -> None:
    path = build(tmp_path / "p.zip", {"a.txt": b"first"})
    with pp.open_package(path, known_games=KNOWN) as package:
        build(tmp_path / "other.zip", {"a.txt": b"second"}).replace(path)
        dest = stage(tmp_path)
        package.extract_files(dest)
    assert (dest / "a.txt").read_bytes() == b"first"


# --- versions and ranges --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-rc.1"])
def test_canonical_versions(text: str) -> None:
    assert str(pp.parse_version(text)) == text


@pytest.mark.parametrize(
    "text",
    ["1.2", "v1.2.3", "01.2.3", "1.2.3+build", "1.2.3-", "1.2.3-01", "", "1.2.3-" + "a" * 20],
)
def test_invalid_versions(text: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        pp.parse_version(text)
    assert caught.value.code == "invalid_version"


@pytest.mark.parametrize(
    ("spec", "allowed", "refused"),
    [
        ("^1.2.0", ["1.2.0", "1.9.9"], ["1.1.9", "2.0.0", "1.3.0-beta"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
        (">=1.0.0 <2.0.0", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.0"]),
        ("1.x || >=3.1.0", ["1.4.0", "3.1.0", "4.0.0"], ["2.0.0", "3.0.0"]),
        ("*", ["0.0.1", "9.9.9"], ["1.0.0-beta"]),
        ("1.2.3", ["1.2.3"], ["1.2.4"]),
        ("1.0.0 - 1.5.0", ["1.0.0", "1.5.0"], ["1.5.1"]),
        (">=2.0.0-beta", ["2.0.0-beta.2", "2.0.0"], ["2.0.0-alpha"]),
    ],
)
def test_ranges(spec: str, allowed: list[str], refused: list[str]) -> None:
    parsed = pp.parse_range(spec)
    assert all(parsed.allows(v) for v in allowed)
    assert not any(parsed.allows(v) for v in refused)
    assert not parsed.allows("not a version")


@pytest.mark.parametrize("spec", ["", "  ", "latest", ">>1.0.0", "^1.2.3.4", "^1.0.0+b", "1.0.0 <"])
def test_invalid_ranges(spec: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        pp.parse_range(spec)
    assert caught.value.code == "invalid_range"


def test_latest_allowed_takes_semver_precedence() -> None:
    versions = ["1.2.0", "1.10.0", "1.9.0", "2.0.0-beta", "2.0.0", "junk", "1.10.0-rc.1"]
    assert pp.latest_allowed(pp.parse_range("^1.2.0"), versions) == "1.10.0"
    assert pp.latest_allowed("~1.9", versions) == "1.9.0"
    assert pp.latest_allowed(None, versions) == "2.0.0"
    assert pp.latest_allowed(">=3.0.0", versions) is None
    assert pp.latest_allowed(None, []) is None


def test_problem_and_report_serialise() -> None:
    problem = pp.Problem("path-traversal", "../x", "leaves")
    assert problem.to_dict() == {"rule": "path-traversal", "path": "../x", "message": "leaves"}
    error = pp.invalid([problem])
    assert error.to_dict()["problems"] == [problem.to_dict()]
    assert error.exit_code == 8


def test_every_rule_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "plugin-format.md").read_text()
    missing = [rule for rule in pp.RULES if f"`{rule}`" not in doc]
    assert not missing


def test_the_module_stays_pure() -> None:
    """gsm-cloud imports it: no store, no Typer, no Rich, no HTTP client."""
    import subprocess
    import sys

    code = (
        "import sys, gsm_cli.services.plugin_package\n"
        "bad = [m for m in ('sqlalchemy', 'typer', 'rich', 'httpx') if m in sys.modules]\n"
        "print(bad)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
