"""gsm config: list, get, set, unset and path, with validation and every output format."""

import csv
import io
from pathlib import Path

import pytest

from gsm_cli.services.settings import SPECS
from tests.conftest import GsmRunner


def test_list_shows_every_known_key_with_its_default(gsm: GsmRunner) -> None:
    result = gsm("config", "list", "--json")
    assert result.exit_code == 0, result.stderr
    rows = result.json()
    assert [row["key"] for row in rows] == sorted(SPECS)
    retention = next(r for r in rows if r["key"] == "backup.retention")
    assert retention == {
        "key": "backup.retention",
        "value": "5",
        "source": "default",
        "default": "5",
        "description": SPECS["backup.retention"].description,
        "updated_at": None,
    }


def test_set_then_get_then_unset(gsm: GsmRunner) -> None:
    result = gsm("config", "set", "backup.retention", "12")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""  # confirmation goes to stderr
    assert "backup.retention = 12" in result.stderr

    assert gsm("config", "get", "backup.retention").stdout == "12\n"
    got = gsm("config", "get", "backup.retention", "--json").json()
    assert got["source"] == "set" and got["updated_at"].endswith("Z")

    removed = gsm("config", "unset", "backup.retention", "--json")
    assert removed.exit_code == 0
    assert removed.json()["removed"] is True
    assert gsm("config", "get", "backup.retention").stdout == "5\n"
    assert gsm("config", "unset", "backup.retention", "--json").json()["removed"] is False


def test_values_are_normalised(gsm: GsmRunner, tmp_path: Path) -> None:
    gsm("config", "set", "cloud.api_url", "https://cloud.example.com/")
    gsm("config", "set", "output.format", " JSON ")
    gsm("config", "set", "backup.exclude", "*.log , cache/*")
    assert gsm("config", "get", "cloud.api_url").stdout == "https://cloud.example.com\n"
    assert gsm("config", "get", "output.format").stdout == "json\n"
    assert gsm("config", "get", "backup.exclude").stdout == "*.log,cache/*\n"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("cloud.api_url", "ftp://example.com"),
        ("cloud.api_url", "not a url"),
        ("cloud.timeout", "0"),
        ("cloud.timeout", "soon"),
        ("output.format", "yaml"),
        ("backup.retention", "0"),
        ("backup.retention", "2.5"),
        ("backup.dir", "relative/path"),
        ("backup.exclude", "*.log,,x"),
        ("metrics.interval", "0"),
        ("server.stop_timeout", "999999"),
        ("steamcmd.path", "steamcmd"),
        ("sync.batch_size", "lots"),
    ],
)
def test_a_bad_value_is_refused_with_exit_4_and_nothing_stored(
    gsm: GsmRunner, key: str, value: str
) -> None:
    result = gsm("config", "set", key, value)
    assert result.exit_code == 4
    assert result.stderr.startswith(f"error: invalid value {value!r} for {key}")
    assert gsm("config", "get", key, "--json").json()["source"] == "default"


def test_backup_dir_must_not_be_a_file(gsm: GsmRunner, tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    result = gsm("config", "set", "backup.dir", str(a_file))
    assert result.exit_code == 4
    assert "not a folder" in result.stderr


@pytest.mark.parametrize(
    "command", [["get", "backup.retentoin"], ["set", "nope", "1"], ["unset", "x"]]
)
def test_an_unknown_key_exits_4_with_a_hint(gsm: GsmRunner, command: list[str]) -> None:
    result = gsm("config", *command)
    assert result.exit_code == 4
    assert "unknown setting" in result.stderr
    assert "hint:" in result.stderr


def test_a_suggestion_is_offered_for_a_typo(gsm: GsmRunner) -> None:
    result = gsm("config", "get", "backup.retentoin")
    assert "did you mean backup.retention?" in result.stderr


def test_environment_wins_over_the_stored_value(gsm: GsmRunner) -> None:
    gsm("config", "set", "cloud.api_url", "https://stored.example.com")
    env = {"GSM_API_URL": "http://127.0.0.1:9"}
    got = gsm("config", "get", "cloud.api_url", "--json", env=env).json()
    assert (got["value"], got["source"]) == ("http://127.0.0.1:9", "env")
    result = gsm("config", "set", "cloud.api_url", "https://other.example.com", env=env)
    assert "GSM_API_URL is set and overrides" in result.stderr


def test_csv_output_has_a_header_and_one_row_per_key(gsm: GsmRunner) -> None:
    result = gsm("config", "list", "-o", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["key"] for r in rows] == sorted(SPECS)


def test_table_output_is_the_default(gsm: GsmRunner) -> None:
    result = gsm("config", "list")
    assert result.stdout.splitlines()[0].split() == [
        "KEY",
        "VALUE",
        "SOURCE",
        "DEFAULT",
        "DESCRIPTION",
    ]


def test_output_format_setting_and_gsm_output_choose_the_default(gsm: GsmRunner) -> None:
    gsm("config", "set", "output.format", "csv")
    assert gsm("config", "list").stdout.startswith("key,value,source")
    assert gsm("config", "list", env={"GSM_OUTPUT": "json"}).stdout.startswith("[")
    assert gsm("config", "list", "-o", "table").stdout.startswith("KEY")


def test_a_bad_output_format_exits_4(gsm: GsmRunner) -> None:
    assert gsm("config", "list", "-o", "yaml").exit_code == 4
    result = gsm("config", "list", env={"GSM_OUTPUT": "xml"})
    assert result.exit_code == 4
    assert "GSM_OUTPUT" in result.stderr


def test_path_shows_everything_under_gsm_home(gsm: GsmRunner, gsm_home: Path) -> None:
    folders = gsm("config", "path", "--json").json()
    assert folders["home"] == str(gsm_home.resolve())
    assert folders["store"] == str(gsm_home.resolve() / "gsm.db")
    for key in ("config_dir", "log_dir", "backup_dir"):
        assert folders[key].startswith(str(gsm_home.resolve()))


def test_path_without_gsm_home_uses_platform_folders(gsm: GsmRunner, monkeypatch) -> None:
    import platformdirs

    monkeypatch.delenv("GSM_HOME")
    folders = gsm("config", "path", "--json").json()
    assert folders["home"] is None
    assert folders["data_dir"] == platformdirs.user_data_dir("gsm", appauthor=False)


def test_a_corrupt_store_exits_4_and_is_left_untouched(gsm: GsmRunner, gsm_home: Path) -> None:
    gsm_home.mkdir(parents=True)
    store = gsm_home / "gsm.db"
    store.write_bytes(b"definitely not sqlite" * 50)
    result = gsm("config", "set", "backup.retention", "3", "--json")
    assert result.exit_code == 4
    assert result.error()["code"] == "store_unusable"
    assert store.read_bytes() == b"definitely not sqlite" * 50


def test_a_bad_environment_value_is_reported_with_its_variable(gsm: GsmRunner) -> None:
    result = gsm("config", "get", "cloud.api_url", env={"GSM_API_URL": "localhost:8000"})
    assert result.exit_code == 4
    assert "GSM_API_URL" in result.stderr


def test_steamcmd_path_must_be_an_existing_program(gsm: GsmRunner, tmp_path: Path) -> None:
    missing = tmp_path / "steamcmd.sh"
    assert gsm("config", "set", "steamcmd.path", str(missing)).exit_code == 4
    missing.write_text("#!/bin/sh\n")
    assert gsm("config", "set", "steamcmd.path", str(missing)).exit_code == 0
