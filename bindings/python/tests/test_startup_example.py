"""examples/startup.py, run as an app would be: a process per boot, against one database."""

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import sqlite_automigrate
from conftest import app_schema, rows

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
STARTUP = EXAMPLES / "startup.py"
LINE = r"^\S+ \S+ {level} app\.migrate: {message}$"  # asctime is "date time,ms"


def boot(db_path, *args):
    """Runs the example app once (with this venv's python, so the installed package)."""
    return subprocess.run([sys.executable, str(STARTUP), db_path, *args],
                          capture_output=True, text=True, timeout=60)


def log_lines(process):
    return process.stderr.splitlines()


def assert_logged(process, level, message_regex):
    pattern = re.compile(LINE.format(level=level, message=message_regex))
    assert any(pattern.match(line) for line in log_lines(process)), process.stderr


def batches(db_path):
    conn = sqlite3.connect(db_path)
    sqlite_automigrate.load(conn)
    try:
        return conn.execute(
            "SELECT batch, version, status, steps FROM migration_batches").fetchall()
    finally:
        conn.close()


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "example.db")


def test_first_boot_migrates_second_boot_is_a_no_op(db_path):
    first = boot(db_path)
    assert first.returncode == 0, first.stderr
    assert_logged(first, "INFO", r"schema migrated: batch 1, version 1, 3 steps in \d+\.\d ms")
    assert_logged(first, "INFO", re.escape(f"app ready: {db_path}"))
    assert len(log_lines(first)) == 2, first.stderr
    assert [(t, n) for (t, n, _, _) in app_schema(db_path)] == [
        ("index", "notes_user"), ("index", "sqlite_autoindex_users_1"), ("table", "notes"),
        ("table", "users")]
    # The tables are the ones schema.sql describes.
    expected = sqlite3.connect(":memory:")
    expected.executescript((EXAMPLES / "schema.sql").read_text())
    for table in ("users", "notes"):
        assert (rows(db_path, f"PRAGMA table_info({table})")
                == expected.execute(f"PRAGMA table_info({table})").fetchall())

    second = boot(db_path)
    assert second.returncode == 0, second.stderr
    assert_logged(second, "INFO", r"schema up to date \(version 1\)")
    assert_logged(second, "INFO", re.escape(f"app ready: {db_path}"))
    assert "schema migrated" not in second.stderr
    assert batches(db_path) == [(1, 1, "applied", 3)]


def test_changed_schema_is_migrated_at_the_next_boot(db_path, tmp_path):
    assert boot(db_path).returncode == 0
    schema_v2 = tmp_path / "schema_v2.sql"
    schema_v2.write_text((EXAMPLES / "schema.sql").read_text().replace(
        "  name TEXT\n", "  name TEXT,\n  last_login TEXT\n"))
    upgraded = boot(db_path, "--schema", str(schema_v2))
    assert upgraded.returncode == 0, upgraded.stderr
    assert_logged(upgraded, "INFO", r"schema migrated: batch 2, version 2, 1 step in \d+\.\d ms")
    assert "last_login" in [c[1] for c in rows(db_path, "PRAGMA table_info(users)")]


def test_refused_migration_is_logged_and_the_app_exits_non_zero(db_path, tmp_path):
    assert boot(db_path).returncode == 0
    before = app_schema(db_path)
    dropping_name = tmp_path / "drops_name.sql"
    dropping_name.write_text((EXAMPLES / "schema.sql").read_text().replace(
        "  email TEXT NOT NULL UNIQUE,\n  name TEXT\n", "  email TEXT NOT NULL UNIQUE\n"))

    refused = boot(db_path, "--schema", str(dropping_name))
    assert refused.returncode == 1
    assert_logged(refused, "ERROR",
                  r"schema migration failed, not starting: migrate_apply: "
                  r"the plan loses data: column users\.name; nothing was changed.*")
    assert "app ready" not in refused.stderr
    assert app_schema(db_path) == before

    # With --allow-destructive it migrates, after a backup.
    allowed = boot(db_path, "--schema", str(dropping_name), "--allow-destructive")
    assert allowed.returncode == 0, allowed.stderr
    assert_logged(allowed, "INFO", r"schema migrated: batch 2, version 2, 1 step in \d+\.\d ms")
    assert_logged(allowed, "INFO", r"backup taken before migrating: "
                  + re.escape(db_path + ".backups/") + r"\S+\.db")


def test_bad_ddl_is_logged_and_the_app_exits_non_zero(db_path, tmp_path):
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE users(id INTEGER PRIMARY KEY,, email TEXT);\n")
    failed = boot(db_path, "--schema", str(bad))
    assert failed.returncode == 1
    assert_logged(failed, "ERROR",
                  r"schema migration failed, not starting: migrate_apply: "
                  r"desired schema: statement 1 \(CREATE TABLE users\(.*syntax error")
    assert app_schema(db_path) == []
