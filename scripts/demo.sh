#!/usr/bin/env bash
# scripts/demo.sh -- builds the extension, makes an example database at
# version 1 of a small blogging app (sql/examples/app_v1.sql + app_seed.sql)
# and shows, from the sqlite3 shell, what migrating it to app_v2.sql involves:
# the plan, the status summary and the script; then applies it (taking a
# checksummed backup first, since the plan rebuilds a table) and shows the
# result, the history and the backup; verifies the backup, rolls the
# migration back and applies it again. Exits non-zero if any step fails.
#
# Usage: ./scripts/demo.sh        (from any directory)
# AUTOMIGRATE_BUILD_DIR overrides build/ (for trying the demo on a dev build).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${AUTOMIGRATE_BUILD_DIR:-build}"
# Only the extension: the demo does not need the test binaries.
./scripts/build.sh --target automigrate "$BUILD"

DB="$BUILD/demo/app.db"
V1=sql/examples/app_v1.sql
SEED=sql/examples/app_seed.sql
V2=sql/examples/app_v2.sql

mkdir -p "$BUILD/demo"
rm -f "$DB" "$DB-journal" "$DB-wal" "$DB-shm"
rm -rf "$DB.backups"

echo
echo "== creating $DB from $V1 and $SEED"
sqlite3 -bail "$DB" <"$V1"
sqlite3 -bail "$DB" <"$SEED"
sqlite3 -bail "$DB" <<'SQL'
.mode box
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts,
       (SELECT count(*) FROM comments) AS comments,
       (SELECT group_concat(name || '=' || seq, ' ') FROM sqlite_sequence) AS sqlite_sequence;
SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name;
SQL

# Every statement below runs in the sqlite3 shell with the extension loaded,
# exactly as a user would type it; -bail stops at the first error (and makes
# sqlite3 exit non-zero, which stops this script).
echo
echo "== the plan: $DB -> $V2"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
.mode box
.print SELECT step, op, object, complexity, destructive, est_rows, reason FROM migrate_plan(readfile('$V2'));
SELECT step, op, object, complexity, destructive, est_rows, reason
  FROM migrate_plan(readfile('$V2'));
SQL

echo
echo "== the status"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
.mode list
.print SELECT migrate_status(readfile('$V2'));
SELECT migrate_status(readfile('$V2'));
SQL

echo
echo "== the script (what migrate_apply would run)"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
.mode list
.print SELECT migrate_script(readfile('$V2'));
SELECT migrate_script(readfile('$V2'));
SQL

echo
echo "== apply it (one locked transaction; foreign keys off around the rebuild, children kept)"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
PRAGMA foreign_keys=ON;
.mode list
.print SELECT migrate_apply(readfile('$V2'));
SELECT migrate_apply(readfile('$V2'));
.mode box
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts,
       (SELECT count(*) FROM comments) AS comments, (SELECT foreign_keys FROM pragma_foreign_keys) AS foreign_keys;
SQL

echo
echo "== the history and the backup taken before the rebuild"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
.mode box
SELECT batch, version, status, steps, round(duration_ms, 1) AS ms, backup_id,
       rollback_sql_possible, rollback_backup_possible FROM migration_batches;
SELECT id, batch, bytes, checksum, "exists" FROM migration_backups;
SELECT batch, step, op, object, status, round(duration_ms, 2) AS ms FROM migration_history;
.mode list
.print SELECT migrate_stats();
SELECT migrate_stats();
SQL

echo
echo "== applying again: nothing to do, nothing written"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
.mode list
SELECT migrate_apply(readfile('$V2'));
SELECT 'steps left: ' || count(*) FROM migrate_plan(readfile('$V2'));
SQL

echo
echo "== verify the backup (XXH3-128 checksum from its sidecar + integrity_check), then roll back"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
PRAGMA foreign_keys=ON;
.mode list
.print SELECT backup_verify(path) FROM migration_backups;
SELECT backup_verify(path) FROM migration_backups;
.print SELECT migrate_rollback();
SELECT migrate_rollback();
.mode box
SELECT batch, version, status, reverts FROM migration_batches;
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts) AS posts,
       (SELECT count(*) FROM comments) AS comments;
SQL

echo
echo "== and forward again"
sqlite3 -bail "$DB" <<SQL
.load $BUILD/automigrate
PRAGMA foreign_keys=ON;
.mode list
SELECT migrate_apply(readfile('$V2'));
SELECT 'steps left: ' || count(*) FROM migrate_plan(readfile('$V2'));
SQL

echo
echo "demo: done ($DB)"
