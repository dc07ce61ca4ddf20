"""Backups and rollback through Python's sqlite3 with the package loaded."""

import os
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from conftest import SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, USERS, app_schema, json_result, rows


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        (byte,) = f.read(1)
        f.seek(offset)
        f.write(bytes([byte ^ 0xFF]))


def test_backup_create_then_verify(v1_with_rows, db_path):
    backup = json_result(v1_with_rows, "SELECT backup_create()")
    path = Path(backup["path"])
    # Beside the database file by default, never overwriting, with a sidecar.
    assert path.parent == Path(db_path + ".backups")
    assert path.is_file() and Path(str(path) + ".json").is_file()
    assert backup["bytes"] == path.stat().st_size
    assert re.fullmatch(r"[0-9a-f]{32}", backup["checksum"])
    # The checksum is XXH3-128 as xxh128sum prints it (xxhash, a core package).
    xxh = subprocess.run(["xxh128sum", str(path)], check=True, capture_output=True, text=True)
    assert xxh.stdout.split()[0] == backup["checksum"]
    # The copy is a database with the rows, readable by plain sqlite3.
    copy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    assert copy.execute("SELECT id, email, name FROM users ORDER BY id").fetchall() == USERS
    copy.close()
    assert v1_with_rows.execute("SELECT id, path, checksum, \"exists\" FROM migration_backups"
                                ).fetchall() == [(backup["id"], str(path), backup["checksum"], 1)]

    verified = json_result(v1_with_rows, "SELECT backup_verify(?)", str(path))
    assert verified["ok"] is True
    assert verified["checksum_ok"] is True and verified["integrity_ok"] is True
    assert verified["checksum"] == backup["checksum"]


def test_backup_verify_reports_a_damaged_backup_without_raising(v1_with_rows):
    backup = json_result(v1_with_rows, "SELECT backup_create()")
    flip_byte(backup["path"], backup["bytes"] - 100)
    verified = json_result(v1_with_rows, "SELECT backup_verify(?)", backup["path"])
    assert verified["ok"] is False
    assert verified["checksum_ok"] is False
    assert verified["reason"]


def test_rollback_from_the_backup_restores_the_dropped_column_and_its_data(v1_with_rows, db_path):
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    schema_v2 = app_schema(db_path)
    users_v2 = rows(db_path, "SELECT * FROM users ORDER BY id")

    applied = json_result(v1_with_rows, "SELECT migrate_apply(?, ?)", SCHEMA_V3,
                          '{"allow_destructive": true}')
    assert applied["batch"] == 3 and applied["steps"] == 1
    assert applied["backup"] is not None and os.path.isfile(applied["backup"]["path"])
    assert [c for (_, c, *_) in rows(db_path, "PRAGMA table_info(users)")] == [
        "id", "email", "created_at"]

    rolled = json_result(v1_with_rows, "SELECT migrate_rollback()")
    assert rolled["ok"] is True
    assert rolled["reverts"] == 3 and rolled["method"] == "backup"
    assert rolled["backup_id"] == applied["backup"]["id"]
    assert rolled["schema_matches_before"] is True and rolled["discarded"] == []
    # The old schema, exactly, and the dropped column's values.
    assert app_schema(db_path) == schema_v2
    assert rows(db_path, "SELECT * FROM users ORDER BY id") == users_v2
    assert [u[2] for u in users_v2] == [u[2] for u in USERS]
    assert v1_with_rows.execute(
        "SELECT batch, status, reverts FROM migration_batches WHERE batch >= 3 ORDER BY batch"
    ).fetchall() == [(3, "rolled_back", None), (rolled["batch"], "applied", 3)]


def test_rollback_by_sql_returns_to_the_previous_schema(v1_with_rows, db_path):
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    rolled = json_result(v1_with_rows, "SELECT migrate_rollback()")
    assert rolled["ok"] is True and rolled["reverts"] == 2
    assert rolled["method"] == "sql" and rolled["steps"] == 3
    status = json_result(v1_with_rows, "SELECT migrate_status(?)", SCHEMA_V1)
    assert status["migration_needed"] is False
    assert rows(db_path, "SELECT * FROM users ORDER BY id") == USERS
    assert rows(db_path,
                "SELECT name FROM sqlite_schema WHERE name IN ('tags', 'posts_user')") == []


def test_rollback_refuses_to_discard_rows_written_since_unless_forced(v1_with_rows, db_path):
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    v1_with_rows.execute("INSERT INTO tags(label) VALUES ('kept')")
    v1_with_rows.commit()
    with pytest.raises(sqlite3.OperationalError,
                       match=r"^migrate_rollback: rolling back batch 2 by SQL would discard data "
                             r"written since: tags: 1 row added or changed\. Nothing was changed"):
        v1_with_rows.execute("SELECT migrate_rollback()")
    assert rows(db_path, "SELECT label FROM tags") == [("kept",)]

    rolled = json_result(v1_with_rows, "SELECT migrate_rollback(?)", '{"force": true}')
    assert rolled["discarded"] == [{"table": "tags", "rows_added_or_changed": 1, "rows_removed": 0}]
    assert rows(db_path, "SELECT name FROM sqlite_schema WHERE name = 'tags'") == []
