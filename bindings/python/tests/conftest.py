"""Fixtures for the sqlite_automigrate tests.

These tests run against the installed wheel (run_tests.py installs it into a
fresh venv and runs pytest from outside the source tree); test_package.py checks
that the imported package is that one.
"""

import json
import sqlite3
from contextlib import closing

import pytest

import sqlite_automigrate

# Version 1 of a small app's schema, version 2 (a column, an index and a table
# added: nothing lost) and version 3 (users.name dropped: destructive).
SCHEMA_V1 = """
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT
);
CREATE TABLE posts(
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL
);
"""
SCHEMA_V2 = """
CREATE TABLE users(
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  name TEXT,
  created_at TEXT NOT NULL DEFAULT '2026-01-01'
);
CREATE TABLE posts(
  id INTEGER PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  title TEXT NOT NULL
);
CREATE INDEX posts_user ON posts(user_id);
CREATE TABLE tags(id INTEGER PRIMARY KEY, label TEXT NOT NULL);
"""
SCHEMA_V3 = SCHEMA_V2.replace("  name TEXT,\n", "")
assert SCHEMA_V3 != SCHEMA_V2

USERS = [(1, "ann@example.com", "Ann"), (2, "bob@example.com", "Bob"), (3, "cy@example.com", None)]
POSTS = [(1, 1, "hello"), (2, 1, "again"), (3, 3, "first")]


def scalar(conn, sql, *params):
    (value,) = conn.execute(sql, params).fetchone()
    return value


def json_result(conn, sql, *params):
    return json.loads(scalar(conn, sql, *params))


def app_schema(path):
    """The app's schema objects (not the extension's own tables), read through
    a connection without the extension."""
    with closing(sqlite3.connect(path)) as plain:
        return plain.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema "
            "WHERE name NOT LIKE '\\_automigrate%' ESCAPE '\\' ORDER BY type, name").fetchall()


def rows(path, sql):
    with closing(sqlite3.connect(path)) as plain:
        return plain.execute(sql).fetchall()


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "app.db")


@pytest.fixture
def conn(db_path):
    """A file database with the extension loaded (Python's default transaction
    handling, as an application would have it)."""
    c = sqlite3.connect(db_path)
    sqlite_automigrate.load(c)
    yield c
    c.close()


@pytest.fixture
def v1_with_rows(conn):
    """The database at version 1 (batch 1) with rows in both tables, committed."""
    result = json_result(conn, "SELECT migrate_apply(?)", SCHEMA_V1)
    assert result["ok"] and result["batch"] == 1
    conn.executemany("INSERT INTO users(id, email, name) VALUES (?, ?, ?)", USERS)
    conn.executemany("INSERT INTO posts(id, user_id, title) VALUES (?, ?, ?)", POSTS)
    conn.commit()
    return conn
