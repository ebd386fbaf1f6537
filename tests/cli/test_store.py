"""The local store: refusing bad files, upgrading old ones in place, the outbox, concurrency."""

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from gsm_cli.errors import ConflictError, StoreError
from gsm_cli.store import Store, migrate, outbox
from gsm_cli.store.database import make_engine
from gsm_cli.store.models import LocalPlugin, LocalServer, PendingSyncOperation, UserSetting


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_new_store_uses_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    with Store.open(tmp_path / "gsm.db") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert store.schema_version() == migrate.HEAD


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a database at all\n" * 100,
        b"PK\x03\x04" + bytes(range(256)) * 8,  # a zip file
        b"SQLite format 3\x00" + b"\xff" * 4080,  # right header, garbage after it
    ],
    ids=["text", "zip", "garbage-after-header"],
)
def test_a_file_that_is_not_a_store_is_refused_and_left_untouched(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "gsm.db"
    path.write_bytes(content)
    before = digest(path)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert caught.value.exit_code == 4
    assert str(path) in caught.value.message
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gsm.db"]


def test_a_truncated_store_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "gsm.db"
    with Store.open(path) as store, store.write() as session:
        session.add_all(UserSetting(key=f"k{i}", value="x" * 2000) for i in range(200))
    with sqlite3.connect(path) as conn:  # fold the WAL in, so the file alone holds the data
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for extra in tmp_path.glob("gsm.db-*"):
        extra.unlink()
    data = path.read_bytes()
    path.write_bytes(data[: 4096 * 3])  # header page intact, tables cut off
    before = digest(path)
    with pytest.raises(StoreError), Store.open(path) as store, store.read() as session:
        session.scalar(select(func.count()).select_from(UserSetting))
    assert digest(path) == before


def test_a_store_from_a_newer_gsm_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gsm.db"
    Store.open(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0999_future'")
    with pytest.raises(ConflictError) as caught:
        Store.open(path)
    assert caught.value.exit_code == 5
    assert "newer" in caught.value.message


def _store_at(path: Path, revision: str) -> None:
    engine = make_engine(path)
    try:
        migrate.upgrade(engine, target=revision)
    finally:
        engine.dispose()


def test_an_older_store_is_upgraded_in_place_with_every_row_intact(tmp_path: Path) -> None:
    path = tmp_path / "gsm.db"
    _store_at(path, "0001_seed")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO local_servers (id, name, game_type, status, configuration, port) "
            "VALUES ('s1', 'valheim', 'valheim', 'stopped', '{\"a\": 1}', 2456)"
        )
        conn.execute("INSERT INTO local_plugins (id, server_id, name) VALUES ('p1', 's1', 'bep')")
        conn.execute("INSERT INTO user_settings (key, value) VALUES ('backup.retention', '3')")
        conn.execute(
            "INSERT INTO performance_history (server_id, cpu_usage) VALUES ('s1', 12.5), ('s1', 7)"
        )
        conn.executemany(
            "INSERT INTO pending_sync_operations (operation_type, entity_type, entity_id) "
            "VALUES ('create', 'game_server', ?)",
            [("s1",), ("s2",)],
        )
        conn.execute(
            "INSERT INTO game_installations (game_type, install_path) VALUES ('rust', '/g')"
        )
        before = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in migrate.SEED_TABLES
        }
    assert Store(path, make_engine(path)).schema_version() == "0001_seed"

    with Store.open(path) as store:
        assert store.schema_version() == migrate.HEAD
    with sqlite3.connect(path) as conn:
        for table, rows in before.items():
            after = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            if table == "local_servers":  # new: pid create time, device, no community, autostart
                assert [row[:-5] for row in after] == rows
                device_id = conn.execute("SELECT device_id FROM local_device").fetchone()[0]
                assert [row[-5:] for row in after] == [(None, device_id, None, None, 0)]
            elif table == "pending_sync_operations":  # operation_id filled in; still queued
                assert [row[:-3] for row in after] == rows
                ids = [row[-3] for row in after]
                assert all(len(i) == 36 for i in ids) and len(set(ids)) == 2
                assert [row[-2:] for row in after] == [("queued", None)] * 2
            elif table == "local_plugins":  # 0006: sha256, source, manifest, not pinned
                assert [row[:-4] for row in after] == rows
                assert [row[-4:] for row in after] == [(None, None, None, 0)]
            else:
                assert after == rows, table


def test_a_store_made_before_versioning_is_adopted(tmp_path: Path) -> None:
    path = tmp_path / "gsm.db"
    seed_sql = (Path(migrate.__file__).parent / "seed_sqlite.sql").read_text()
    with sqlite3.connect(path) as conn:
        conn.executescript(seed_sql)
        conn.execute("INSERT INTO user_settings (key, value) VALUES ('output.format', 'json')")
    with Store.open(path) as store, store.read() as session:
        assert store.schema_version() == migrate.HEAD
        assert session.get(UserSetting, "output.format").value == "json"


def test_outbox_writes_the_change_and_its_operation_together(tmp_path: Path) -> None:
    with Store.open(tmp_path / "gsm.db") as store:
        with store.write() as session:
            server = LocalServer(id="a1", name="mc", game_type="minecraft", status="stopped")
            queued = outbox.record(session, server, "create")
        with store.read() as session:
            op = session.scalars(select(PendingSyncOperation)).one()
        assert op.operation_id == queued.operation_id
        assert (op.operation_type, op.entity_type, op.entity_id) == ("create", "game_server", "a1")
        assert op.data_payload["name"] == "mc"
        assert op.data_payload["created_at"]  # server default included

        with store.write() as session:
            server = session.get(LocalServer, "a1")
            outbox.record(session, server, "delete")
        with store.read() as session:
            ops = session.scalars(select(PendingSyncOperation).order_by("id")).all()
            assert session.get(LocalServer, "a1") is None
        assert [o.operation_type for o in ops] == ["create", "delete"]
        assert len({o.operation_id for o in ops}) == 2


def test_outbox_change_rolls_back_with_its_operation(tmp_path: Path) -> None:
    with Store.open(tmp_path / "gsm.db") as store:
        with pytest.raises(RuntimeError), store.write() as session:
            outbox.record(
                session, LocalServer(id="b", name="x", game_type="y", status="z"), "create"
            )
            raise RuntimeError("interrupted half-way")
        with store.read() as session:
            assert session.scalar(select(func.count()).select_from(PendingSyncOperation)) == 0
            assert session.scalar(select(func.count()).select_from(LocalServer)) == 0


def test_outbox_refuses_an_entity_that_is_not_synced(tmp_path: Path) -> None:
    with (
        Store.open(tmp_path / "gsm.db") as store,
        pytest.raises(TypeError),
        store.write() as session,
    ):
        outbox.record(session, UserSetting(key="a", value="b"), "create")


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError

    with (
        Store.open(tmp_path / "gsm.db") as store,
        pytest.raises(IntegrityError),
        store.write() as session,
    ):
        session.add(LocalPlugin(id="p", server_id="no-such-server", name="x"))


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from gsm_cli.store import Store, outbox
    from gsm_cli.store.models import LocalServer, UserSetting

    path, worker, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    with Store.open(path) as store:
        for i in range(count):
            with store.write() as session:
                session.merge(UserSetting(key=f"w{worker}.k{i}", value=str(i)))
                server = LocalServer(id=f"{worker}-{i}", name=f"s{worker}-{i}",
                                     game_type="custom", status="stopped")
                outbox.record(session, server, "create")
    """
)


def test_eight_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    path, workers, count = tmp_path / "fresh" / "gsm.db", 8, 40
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(w), str(count)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * workers, errors
    with Store.open(path) as store, store.read() as session:
        keys = set(session.scalars(select(UserSetting.key)))
        ops = session.scalars(select(PendingSyncOperation.entity_id)).all()
    assert keys == {f"w{w}.k{i}" for w in range(workers) for i in range(count)}
    assert sorted(ops) == sorted(f"{w}-{i}" for w in range(workers) for i in range(count))


FAILING_MIGRATION = '''
"""A migration that fails half-way."""
from alembic import op

revision = "0999_fails"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE local_servers ADD COLUMN half_done TEXT")
    op.execute("UPDATE user_settings SET value = 'clobbered'")
    raise RuntimeError("power cut")
'''


def test_a_failing_migration_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch) -> None:
    import shutil

    path = tmp_path / "gsm.db"
    with Store.open(path) as store, store.write() as session:
        session.add(UserSetting(key="backup.retention", value="3"))
    scripts = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS_DIR, scripts)
    head = migrate.HEAD
    (scripts / "versions" / "0999_fails.py").write_text(FAILING_MIGRATION.format(head=head))
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", scripts)
    monkeypatch.setattr(migrate, "REVISIONS", (*migrate.REVISIONS, "0999_fails"))
    monkeypatch.setattr(migrate, "HEAD", "0999_fails")

    with pytest.raises(RuntimeError, match="power cut"):
        Store.open(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        columns = [row[1] for row in conn.execute("PRAGMA table_info(local_servers)")]
        assert "half_done" not in columns
        assert conn.execute("SELECT value FROM user_settings").fetchall() == [("3",)]


def test_verbose_says_when_the_store_is_created_and_upgraded(tmp_path: Path, gsm) -> None:
    created = gsm("--verbose", "config", "list", "--json")
    assert "created the store" in created.stderr
    assert gsm("--verbose", "config", "list", "--json").stderr == ""


@pytest.mark.parametrize(
    "tables",
    [["CREATE TABLE photos (id INTEGER)"], ["CREATE TABLE local_servers (id TEXT)"]],
    ids=["another-program", "partial-seed"],
)
def test_another_programs_database_is_refused_and_untouched(tmp_path: Path, tables) -> None:
    path = tmp_path / "gsm.db"
    with sqlite3.connect(path) as conn:
        for statement in tables:
            conn.execute(statement)
    conn.close()
    before = digest(path)
    with pytest.raises(StoreError, match="another program"):
        Store.open(path)
    assert digest(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_an_empty_file_becomes_a_store(tmp_path: Path) -> None:
    path = tmp_path / "gsm.db"
    path.touch()
    with Store.open(path) as store:
        assert store.schema_version() == migrate.HEAD


def test_each_new_store_gets_its_own_lasting_device_id(tmp_path: Path) -> None:
    from gsm_cli.services import device, settings

    with Store.open(tmp_path / "a" / "gsm.db") as first:
        one = device.identity(first, {})
    with Store.open(tmp_path / "a" / "gsm.db") as again:
        assert device.identity(again, {}) == one
        settings.set_setting(again, "device.name", "rack-2")
        assert device.identity(again, {}).name == "rack-2"
    with Store.open(tmp_path / "b" / "gsm.db") as second:
        assert device.identity(second, {}).id != one.id
    assert str(uuid.UUID(one.id)) == one.id
