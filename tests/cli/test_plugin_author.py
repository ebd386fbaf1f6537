"""gsm plugin init, pack and validate as an author and a CI job use them: the round trip,
reproducible bytes, JSON and JUnit output, exit codes."""

import hashlib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from gsm_cli.services import plugin_package as pp
from gsm_cli.services.junit import JUnitCase, render, write_junit
from tests.conftest import GsmRunner


def make_plugin(gsm: GsmRunner, folder: Path, name: str = "essentials") -> Path:
    made = gsm("plugin", "init", str(folder), "--name", name, "--game", "minecraft",
               "--category", "admin")  # fmt: skip
    assert made.exit_code == 0, made.stderr
    (folder / "files" / "Essentials").mkdir()
    (folder / "files" / "Essentials.jar").write_bytes(os.urandom(200_000))
    (folder / "files" / "Essentials" / "config.yml").write_text("homes: 3\n")
    (folder / "files" / "Essentials" / "zz.txt").write_text("last\n")
    return folder


def test_init_pack_validate_round_trip(gsm: GsmRunner, tmp_path: Path) -> None:
    folder = make_plugin(gsm, tmp_path / "essentials")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "files", "gsm-plugin.toml"]
    checked = gsm("plugin", "validate", str(folder), "--json")
    assert checked.exit_code == 0, checked.stderr
    report = checked.json()
    assert report["valid"] is True and report["problems"] == []
    assert report["manifest"]["name"] == "essentials"
    assert report["manifest"]["games"] == ["minecraft"]
    assert report["manifest"]["category"] == "admin"
    assert report["files"] == 3

    out = tmp_path / "dist" / "essentials.zip"
    packed = gsm("plugin", "pack", str(folder), "-o", str(out), "--json")
    assert packed.exit_code == 0, packed.stderr
    result = packed.json()
    assert result["path"] == str(out)
    assert result["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert result["size"] == out.stat().st_size
    assert result["files"] == 3

    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        assert names == [  # the manifest, then paths by their UTF-8 bytes ("." < "/")
            "gsm-plugin.toml",
            "files/Essentials.jar",
            "files/Essentials/config.yml",
            "files/Essentials/zz.txt",
        ]
        for info in archive.infolist():
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.external_attr >> 16 == 0o100644
    again = gsm("plugin", "validate", str(out))
    assert again.exit_code == 0, again.stderr
    assert "is valid: essentials 0.1.0, 3 file(s)" in again.stderr

    with pp.open_package(out, known_games=["minecraft"]) as package:
        stage = tmp_path / "stage"
        stage.mkdir()
        digests = package.extract_files(stage)
    for relative, digest in digests.items():
        source = folder / "files" / relative
        assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
        assert (stage / relative).read_bytes() == source.read_bytes()


def test_pack_table_prints_path_and_sha256(gsm: GsmRunner, tmp_path: Path) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    packed = gsm("plugin", "pack", str(folder), "-o", str(tmp_path / "p.zip"))
    assert packed.exit_code == 0, packed.stderr
    digest = hashlib.sha256((tmp_path / "p.zip").read_bytes()).hexdigest()
    assert f"sha256  {digest}" in packed.stdout
    assert str(tmp_path / "p.zip") in packed.stdout


def test_pack_defaults_to_name_version_zip_in_the_current_folder(
    gsm: GsmRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    monkeypatch.chdir(tmp_path)
    packed = gsm("plugin", "pack", "p", "--json")
    assert packed.exit_code == 0, packed.stderr
    assert Path(packed.json()["path"]).resolve() == tmp_path / "essentials-0.1.0.zip"
    into_folder = gsm("plugin", "pack", str(folder), "-o", str(tmp_path), "--json")
    assert Path(into_folder.json()["path"]) == tmp_path / "essentials-0.1.0.zip"


def pack_in_child(folder: Path, out: Path, umask: int) -> bytes:
    """Pack in another process with its own umask, as a second machine or CI job would."""
    code = (
        "import os, sys; from pathlib import Path\n"
        f"os.umask({umask})\n"
        "from gsm_cli.services import plugin_package as pp\n"
        "pp.pack(Path(sys.argv[1]), Path(sys.argv[2]), known_games=['minecraft'])\n"
    )
    subprocess.run([sys.executable, "-c", code, str(folder), str(out)], check=True)
    return out.read_bytes()


def test_pack_is_reproducible_across_mtimes_modes_order_and_umask(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    first = pack_in_child(folder, tmp_path / "one.zip", 0o022)

    # Same content, different everything else: timestamps, permissions, creation order, umask.
    copy = tmp_path / "copy"
    (copy / "files" / "Essentials").mkdir(parents=True)
    for relative in ("Essentials/zz.txt", "Essentials/config.yml", "Essentials.jar"):
        (copy / "files" / relative).write_bytes((folder / "files" / relative).read_bytes())
    (copy / "gsm-plugin.toml").write_bytes((folder / "gsm-plugin.toml").read_bytes())
    (copy / "notes.txt").write_text("not packed")
    for path in copy.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
        if path.is_file():
            path.chmod(0o600)
    os.chmod(copy / "files" / "Essentials.jar", 0o755)
    second = pack_in_child(copy, tmp_path / "two.zip", 0o077)
    assert first == second
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()

    # A change of content changes the bytes.
    (copy / "files" / "Essentials" / "zz.txt").write_text("changed\n")
    assert pack_in_child(copy, tmp_path / "three.zip", 0o022) != first


def test_pack_refuses_an_invalid_folder_and_writes_nothing(gsm: GsmRunner, tmp_path: Path) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    (folder / "files" / "CON.txt").write_text("x")
    (folder / "files" / "link").symlink_to("/etc/passwd")
    manifest = folder / "gsm-plugin.toml"
    manifest.write_text(manifest.read_text().replace('"0.1.0"', '"0.1"'))
    out = tmp_path / "out.zip"
    packed = gsm("plugin", "pack", str(folder), "-o", str(out), "--json")
    assert packed.exit_code == 8
    error = packed.error()
    assert error["code"] == "package_invalid"
    assert {p["rule"] for p in error["problems"]} == {
        "version-invalid",
        "path-invalid",
        "path-symlink",
    }
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".gsm-pack")] == []


def test_pack_refuses_to_write_into_files(gsm: GsmRunner, tmp_path: Path) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    packed = gsm("plugin", "pack", str(folder), "-o", str(folder / "files" / "x.zip"))
    assert packed.exit_code == 4
    assert not (folder / "files" / "x.zip").exists()
    manifest = (folder / "gsm-plugin.toml").read_bytes()
    over = gsm("plugin", "pack", str(folder), "-o", str(folder / "gsm-plugin.toml"))
    assert over.exit_code == 4
    assert (folder / "gsm-plugin.toml").read_bytes() == manifest


def test_validate_lists_every_problem_as_table_json_and_junit(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    package = tmp_path / "bad.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("gsm-plugin.toml", 'name = "bad name"\nversion = "1.0"\n')
        archive.writestr("files/../../evil.sh", "x")
        archive.writestr("files/ok\x01.txt", "x")
        archive.writestr("notes.txt", "x")

    table = gsm("plugin", "validate", str(package))
    assert table.exit_code == 8
    header = table.stdout.splitlines()[0].split()
    assert header == ["RULE", "PATH", "MESSAGE"]
    assert "path-traversal" in table.stdout and "files/../../evil.sh" in table.stdout
    assert "not a valid plugin package" in table.stderr

    junit = tmp_path / "reports" / "validate.xml"
    junit.parent.mkdir()
    as_json = gsm("plugin", "validate", str(package), "--json", "--junit", str(junit))
    assert as_json.exit_code == 8
    report = as_json.json()
    found = {(p["rule"], p["path"]) for p in report["problems"]}
    assert {
        ("manifest-key-missing", "gsm-plugin.toml"),
        ("name-invalid", "gsm-plugin.toml"),
        ("version-invalid", "gsm-plugin.toml"),
        ("path-traversal", "files/../../evil.sh"),
        ("path-invalid", "files/ok\x01.txt"),
        ("path-outside-files", "notes.txt"),
    } <= found
    assert report["valid"] is False
    assert as_json.error()["code"] == "package_invalid"

    root = ET.parse(junit).getroot()
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == list(pp.RULES)
    failed = {
        case.get("name"): case.find("failure") for case in cases if case.find("failure") is not None
    }
    assert set(failed) == {p["rule"] for p in report["problems"]}
    assert int(suite.get("failures", "0")) == len(failed)
    assert int(suite.get("tests", "0")) == len(pp.RULES)
    traversal = failed["path-traversal"]
    assert traversal is not None and "files/../../evil.sh" in (traversal.text or "")
    invalid_path = failed["path-invalid"]
    assert invalid_path is not None and "files/ok\\x01.txt" in (invalid_path.text or "")
    assert not list(junit.parent.glob(".*.part"))


def test_validate_of_a_valid_package_exits_0_and_writes_a_passing_junit(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    junit = tmp_path / "ok.xml"
    checked = gsm("plugin", "validate", str(folder), "--junit", str(junit))
    assert checked.exit_code == 0, checked.stderr
    assert checked.stdout == ""
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert len(suite.findall("testcase")) == len(pp.RULES)


def test_validate_csv_and_missing_source(gsm: GsmRunner, tmp_path: Path) -> None:
    package = tmp_path / "bad.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("files/a.txt", "x")
    as_csv = gsm("plugin", "validate", str(package), "-o", "csv")
    assert as_csv.exit_code == 8
    assert as_csv.stdout.splitlines() == [
        "rule,path,message",
        "manifest-missing,gsm-plugin.toml,no gsm-plugin.toml at the package's root",
    ]
    missing = gsm("plugin", "validate", str(tmp_path / "nope.zip"), "--json")
    assert missing.exit_code == 3
    assert missing.error()["code"] == "not_found"


def test_validate_does_not_create_a_store(gsm: GsmRunner, gsm_home: Path, tmp_path: Path) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    gsm("plugin", "validate", str(folder))
    gsm("plugin", "pack", str(folder), "-o", str(tmp_path / "x.zip"))
    assert not (gsm_home / "gsm.db").exists()


def test_init_refuses_a_folder_that_is_not_empty_unless_forced(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    refused = gsm("plugin", "init", str(folder), "--name", "p", "--game", "valheim", "--json")
    assert refused.exit_code == 4
    assert refused.error()["code"] == "folder_not_empty"
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    forced = gsm("plugin", "init", str(folder), "--name", "p", "--game", "valheim", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert (folder / "keep.txt").read_text() == "mine"
    assert gsm("plugin", "validate", str(folder)).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--name", "bad name", "--game", "valheim"], "invalid_name"),
        (["--name", "p", "--game", "quake"], "invalid_game"),
        (["--name", "p", "--game", "valheim", "--category", "weapons"], "invalid_input"),
    ],
)
def test_init_checks_its_options(
    gsm: GsmRunner, tmp_path: Path, args: list[str], code: str
) -> None:
    made = gsm("plugin", "init", str(tmp_path / "p"), *args, "--json")
    assert made.exit_code == 4
    assert made.error()["code"] == code
    assert not (tmp_path / "p").exists()


def test_init_with_a_custom_game_validates(gsm: GsmRunner, tmp_path: Path) -> None:
    made = gsm("plugin", "init", str(tmp_path / "p"), "--name", "x", "--game", "custom")
    assert made.exit_code == 0, made.stderr
    assert gsm("plugin", "validate", str(tmp_path / "p")).exit_code == 0


def test_junit_writer_escapes_what_xml_cannot_hold(tmp_path: Path) -> None:
    cases = [JUnitCase("a", "c"), JUnitCase("b\x00", "c", "bad \x1b[31m name\nsecond line")]
    root = ET.fromstring(render("suite", cases))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.findall("testcase")[1].find("failure")
    assert failure is not None
    assert failure.get("message") == "bad \\x1b[31m name"
    assert failure.text == "bad \\x1b[31m name\nsecond line"
    path = tmp_path / "r.xml"
    write_junit(path, "suite", cases)
    assert ET.parse(path).getroot().tag == "testsuites"


def test_junit_writer_reports_a_folder_it_cannot_write(tmp_path: Path) -> None:
    from gsm_cli.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as caught:
        write_junit(tmp_path / "missing" / "r.xml", "suite", [])
    assert caught.value.code == "report_unwritable"


def test_plugin_help_stays_light() -> None:
    """`gsm plugin --help` loads neither SQLAlchemy nor httpx."""
    code = (
        "import sys\n"
        "from gsm_cli.app import app\n"  # main() ends the process: the app it runs
        "try:\n    app(['plugin', '--help'], prog_name='gsm')\nexcept SystemExit:\n    pass\n"
        "print([m for m in ('sqlalchemy', 'httpx') if m in sys.modules], file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "[]", result.stderr
    for word in ("init", "pack", "validate"):
        assert word in result.stdout


def test_a_junit_path_in_a_missing_folder_is_refused_before_validating(
    gsm: GsmRunner, tmp_path: Path
) -> None:
    folder = make_plugin(gsm, tmp_path / "p")
    # Checked when the command line is read: before even looking for the package.
    refused = gsm(
        "plugin", "validate", str(tmp_path / "missing.zip"), "--junit",
        str(tmp_path / "no" / "r.xml"), "--json",
    )  # fmt: skip
    assert refused.exit_code == 4
    assert refused.error()["code"] == "report_unwritable"
    assert refused.stdout == ""
    as_folder = gsm("plugin", "validate", str(folder), "--junit", str(tmp_path), "--json")
    assert as_folder.exit_code == 4
    assert as_folder.error()["code"] == "report_unwritable"
