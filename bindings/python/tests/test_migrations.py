"""Planning and applying migrations through Python's sqlite3 with the package loaded."""

import sqlite3

import pytest

from conftest import (POSTS, SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, USERS, app_schema, json_result, rows,
                      scalar)

PLAN_COLUMNS = ["step", "op", "object_type", "object", "table_name", "sql", "rollback_sql",
                "complexity", "destructive", "warning", "reason", "est_rows", "est_ms"]


def plan(conn, schema, options=None):
    args = (schema,) if options is None else (schema, options)
    placeholders = ", ".join("?" * len(args))
    cursor = conn.execute(f"SELECT * FROM migrate_plan({placeholders})", args)
    columns = [d[0] for d in cursor.description]
    return columns, [dict(zip(columns, row)) for row in cursor.fetchall()]


def test_plan_on_an_empty_database_creates_every_table(conn, db_path):
    columns, steps = plan(conn, SCHEMA_V1)
    assert columns == PLAN_COLUMNS
    assert [(s["step"], s["op"], s["object"]) for s in steps] == [
        (1, "create_table", "users"), (2, "create_table", "posts")]
    assert all(s["sql"].startswith("CREATE TABLE") for s in steps)
    assert all(s["destructive"] == 0 and s["complexity"] == "SIMPLE" for s in steps)
    # Planning changes nothing.
    assert app_schema(db_path) == []


def test_plan_lists_the_steps_from_v1_to_v2_with_sql_and_rollback_sql(v1_with_rows):
    _, steps = plan(v1_with_rows, SCHEMA_V2)
    by_op = {(s["op"], s["object"]): s for s in steps}
    assert set(by_op) == {("add_column", "users.created_at"), ("create_index", "posts_user"),
                          ("create_table", "tags")}
    assert [s["step"] for s in steps] == [1, 2, 3]
    add = by_op[("add_column", "users.created_at")]
    assert add["sql"].startswith('ALTER TABLE "users" ADD COLUMN created_at')
    assert add["rollback_sql"].strip() == 'ALTER TABLE "users" DROP COLUMN "created_at";'
    assert add["table_name"] == "users"
    assert not any(s["destructive"] for s in steps)


def test_plan_flags_a_dropped_column_as_destructive(v1_with_rows):
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    _, steps = plan(v1_with_rows, SCHEMA_V3)
    assert [(s["op"], s["object"], s["destructive"]) for s in steps] == [
        ("drop_column", "users.name", 1)]
    assert steps[0]["rollback_sql"] is None
    assert "users.name" in steps[0]["warning"]


def test_status_reports_the_pending_migration_then_none(v1_with_rows):
    status = json_result(v1_with_rows, "SELECT migrate_status(?)", SCHEMA_V2)
    _, steps = plan(v1_with_rows, SCHEMA_V2)
    assert status["migration_needed"] is True
    assert status["steps"] == len(steps) == 3
    assert status["destructive"] is False
    # The plan's complexity is its most complex step's (the index reads posts' rows).
    levels = ["SIMPLE", "MODERATE", "COMPLEX"]
    assert status["complexity"] == max((s["complexity"] for s in steps), key=levels.index)
    assert status["complexity"] == "MODERATE"
    assert isinstance(status["plan_hash"], str) and len(status["plan_hash"]) == 32

    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    status = json_result(v1_with_rows, "SELECT migrate_status(?)", SCHEMA_V2)
    assert status["migration_needed"] is False
    assert status["steps"] == 0


def test_apply_migrates_a_file_database_and_keeps_its_rows(v1_with_rows, db_path):
    result = json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    assert result["ok"] is True
    assert result["batch"] == 2 and result["version"] == 2 and result["steps"] == 3
    assert result["dry_run"] is False
    assert result["backup"] is None  # nothing destructive, no rebuild: no backup

    # Committed: a new connection without the extension sees the new schema
    # and the old rows, with the new column's default filled in.
    assert rows(db_path, "SELECT id, email, name, created_at FROM users ORDER BY id") == [
        (*user, "2026-01-01") for user in USERS]
    assert rows(db_path, "SELECT id, user_id, title FROM posts ORDER BY id") == POSTS
    assert rows(db_path, "SELECT name FROM sqlite_schema WHERE name IN ('tags', 'posts_user') "
                         "ORDER BY name") == [("posts_user",), ("tags",)]
    # And the app can use it.
    v1_with_rows.execute("INSERT INTO tags(label) VALUES ('news')")
    v1_with_rows.commit()
    assert rows(db_path, "SELECT label FROM tags") == [("news",)]


def test_apply_when_up_to_date_does_nothing(v1_with_rows, db_path):
    before = app_schema(db_path)
    result = json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V1)
    assert result["ok"] is True
    assert result["batch"] is None and result["steps"] == 0 and result["version"] == 1
    assert app_schema(db_path) == before
    assert scalar(v1_with_rows, "SELECT count(*) FROM migration_batches") == 1


def test_dry_run_reports_and_changes_nothing(v1_with_rows, db_path):
    before = app_schema(db_path)
    result = json_result(v1_with_rows, "SELECT migrate_apply(?, ?)", SCHEMA_V2, '{"dry_run": true}')
    assert result["ok"] is True and result["dry_run"] is True and result["steps"] == 3
    assert app_schema(db_path) == before
    assert json_result(v1_with_rows, "SELECT migrate_status(?)", SCHEMA_V2)["migration_needed"]


def test_history_and_batches_record_every_applied_step(v1_with_rows):
    _, planned = plan(v1_with_rows, SCHEMA_V2)
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)

    batches = v1_with_rows.execute(
        "SELECT batch, version, status, steps, backup_id, reverts, rollback_sql_possible "
        "FROM migration_batches ORDER BY batch").fetchall()
    assert batches == [(1, 1, "applied", 2, None, None, 1), (2, 2, "applied", 3, None, None, 1)]

    history = v1_with_rows.execute(
        "SELECT batch, step, version, op, object, sql, rollback_sql, status, error "
        "FROM migration_history ORDER BY id").fetchall()
    assert [h[:5] for h in history] == [
        (1, 1, 1, "create_table", "users"), (1, 2, 1, "create_table", "posts"),
        *[(2, s["step"], 2, s["op"], s["object"]) for s in planned]]
    # Each step's SQL and rollback SQL are the ones migrate_plan showed.
    assert [(h[5], h[6]) for h in history[2:]] == [(s["sql"], s["rollback_sql"]) for s in planned]
    assert all(h[7] == "applied" and h[8] is None for h in history)


def test_bad_ddl_raises_operational_error_and_changes_nothing(v1_with_rows, db_path):
    before_schema = app_schema(db_path)
    before_batches = v1_with_rows.execute("SELECT * FROM migration_batches").fetchall()
    bad = SCHEMA_V2 + "CREATE TABLE broken(id INTEGER PRIMARY KEY, name TEXT,);\n"
    with pytest.raises(sqlite3.OperationalError) as info:
        v1_with_rows.execute("SELECT migrate_apply(?)", (bad,))
    message = str(info.value)
    assert message.startswith("migrate_apply: desired schema: statement 5 (CREATE TABLE broken(")
    assert 'near ")": syntax error' in message

    assert app_schema(db_path) == before_schema
    assert v1_with_rows.execute("SELECT * FROM migration_batches").fetchall() == before_batches
    assert rows(db_path, "SELECT id, email, name FROM users ORDER BY id") == USERS
    assert not v1_with_rows.in_transaction


def test_statement_other_than_create_is_refused_by_number(conn, db_path):
    conn.execute("CREATE TABLE keep(x)")
    conn.commit()
    with pytest.raises(sqlite3.OperationalError, match=r"^migrate_apply: desired schema: "
                       r"statement 2 \(DROP TABLE keep;\): only CREATE"):
        conn.execute("SELECT migrate_apply(?)", ("CREATE TABLE keep(x);\nDROP TABLE keep;",))
    assert rows(db_path, "SELECT name FROM sqlite_schema") == [("keep",)]


def test_destructive_plan_is_refused_without_allow_destructive(v1_with_rows, db_path):
    json_result(v1_with_rows, "SELECT migrate_apply(?)", SCHEMA_V2)
    before = app_schema(db_path)
    with pytest.raises(sqlite3.OperationalError,
                       match=r"^migrate_apply: the plan loses data: column users\.name; "
                             r"nothing was changed"):
        v1_with_rows.execute("SELECT migrate_apply(?)", (SCHEMA_V3,))
    assert app_schema(db_path) == before
    assert rows(db_path, "SELECT name FROM users ORDER BY id") == [(u[2],) for u in USERS]


def test_option_errors_name_the_option(conn, db_path):
    with pytest.raises(sqlite3.OperationalError,
                       match='^migrate_apply: options: unknown key "no_such_option"$'):
        conn.execute("SELECT migrate_apply(?, ?)", (SCHEMA_V1, '{"no_such_option": 1}'))
    with pytest.raises(sqlite3.OperationalError,
                       match='^migrate_apply: options: "dry_run" must be a boolean$'):
        conn.execute("SELECT migrate_apply(?, ?)", (SCHEMA_V1, '{"dry_run": 3}'))
    assert app_schema(db_path) == []
