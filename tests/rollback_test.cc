// tests/rollback_test.cc -- migrate_rollback as a user sees it, through SQL
// on the built extension (shared/DESIGN.md "Decisions" -> Rollback, Versions,
// What is recorded; docs/BACKUPS.md "Rolling back"): a batch undone by its
// rollback SQL or from its backup leaves the database exactly as before the
// batch (every object and every row); the rollback is recorded as a new
// batch; nothing written after the batch is discarded without force; the
// order of rollbacks, argument errors, foreign keys, journal modes, a second
// connection, attached schemas, renamed tables, and applying again.
//
// "Exactly as before" compares DumpDatabase (sqlite_schema and every row of
// every table) taken before the batch with one taken after the rollback;
// "nothing changed" compares the dump and the audit trail (migration_batches,
// migration_history, migration_backups) before and after a refused call.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "support/apply_support.h"
#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// Schemas

// The database as the application created it by hand: `t` with rows, and an
// AUTOINCREMENT table so sqlite_sequence is in every dump.
constexpr std::string_view kStart = R"sql(
CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);
CREATE TABLE log(id INTEGER PRIMARY KEY AUTOINCREMENT, msg TEXT);
)sql";

constexpr std::string_view kStartRows = R"sql(
INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', 'q'), (3, NULL, 'r');
INSERT INTO log(msg) VALUES ('one'), ('two'), ('three');
DELETE FROM log WHERE id = 3;
)sql";

// Batch 1 of most tests: a new table (so the batch under test is not the
// first one and its version is not 1).
constexpr std::string_view kNotes = "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);\n";

constexpr std::string_view kLog =
    "CREATE TABLE log(id INTEGER PRIMARY KEY AUTOINCREMENT, msg TEXT);\n";

std::string V1() { return std::string(kStart) + std::string(kNotes); }

// V1 + t.c (ALTER TABLE ADD COLUMN; rollback SQL: DROP COLUMN).
std::string V2AddColumn() {
  return "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, c TEXT DEFAULT 'd');\n" +
         std::string(kLog) + std::string(kNotes);
}

// V1 + an index on t(a) (rollback SQL: DROP INDEX).
std::string V2AddIndex() { return V1() + "CREATE INDEX t_a ON t(a);\n"; }

// V1 without t.b (ALTER TABLE DROP COLUMN: destructive, no rollback SQL,
// backup "auto" takes a backup).
std::string V2DropColumn() {
  return "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n" + std::string(kLog) +
         std::string(kNotes);
}

// V1 + a new table with an index (two steps whose undo order matters: the
// index must go before its table) + t.c.
std::string V2NewTable() {
  return V2AddColumn() +
         "CREATE TABLE tags(id INTEGER PRIMARY KEY, label TEXT);\n"
         "CREATE INDEX tags_label ON tags(label);\n";
}

// ---------------------------------------------------------------------------
// Helpers

constexpr std::string_view kDestructive = R"({"allow_destructive": true})";

// The error of a statement that must fail (parameters bound).
std::string Error(sqlite3* db, std::string_view sql, const Params& params = {}) {
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db, sql, params, &rows, &error)) << sql << ": expected an error";
  return error;
}

ordered_json Json(const std::string& text) {
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

std::vector<std::string> Keys(const ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

// migrate_apply(desired, options); an error fails the test (and returns {}).
ordered_json Apply(TestDb& db, std::string_view desired, std::string_view options = "{}") {
  Rows rows;
  std::string error;
  if (!TryQueryRows(db.db(), "SELECT migrate_apply(?1, ?2)",
                    {std::string(desired), std::string(options)}, &rows, &error)) {
    ADD_FAILURE() << "migrate_apply failed: " << error;
    return ordered_json::object();
  }
  return Json(rows.at(0).at(0));
}

// Runs `call` (a SELECT migrate_rollback(...)); an error fails the test (and
// returns {}).
ordered_json Rollback(TestDb& db, std::string_view call = "SELECT migrate_rollback()") {
  Rows rows;
  std::string error;
  if (!TryQueryRows(db.db(), call, {}, &rows, &error)) {
    ADD_FAILURE() << call << " failed: " << error;
    return ordered_json::object();
  }
  return Json(rows.at(0).at(0));
}

// Results are kept non-const in the tests: operator[] of a missing key then
// yields null (a const lookup of a missing key is undefined behaviour in
// nlohmann::json).

// The batch number an apply reported (-1 when none).
int64_t BatchOf(const ordered_json& report) {
  if (!report.is_object()) return -1;
  const auto it = report.find("batch");
  return it != report.end() && it->is_number_integer() ? it->get<int64_t>() : -1;
}

// One row of migration_batches: batch, version, status, steps, backup_id,
// reverts, rollback_sql_possible, rollback_backup_possible.
Rows Batches(TestDb& db) {
  return db.QueryRows(
      "SELECT batch, version, status, steps, backup_id, reverts, rollback_sql_possible, "
      "rollback_backup_possible FROM migration_batches ORDER BY batch");
}

Row BatchRow(TestDb& db, int64_t batch) {
  Rows rows = db.QueryRows(
      "SELECT batch, version, status, steps, backup_id, reverts, rollback_sql_possible, "
      "rollback_backup_possible FROM migration_batches WHERE batch = ?1",
      {std::to_string(batch)});
  EXPECT_EQ(rows.size(), 1u) << "batch " << batch;
  return rows.empty() ? Row{} : rows[0];
}

// Everything the extension recorded: batches, steps and backups.
std::string AuditTrail(TestDb& db) {
  return FormatRows(
             db.QueryRows("SELECT batch, version, status, started_at, steps, backup_id, reverts, "
                          "rollback_sql_possible, rollback_backup_possible FROM migration_batches "
                          "ORDER BY batch")) +
         FormatRows(db.QueryRows(
             "SELECT id, batch, step, version, op, object, sql, rollback_sql, status, error, "
             "schema_hash FROM migration_history ORDER BY id")) +
         FormatRows(db.QueryRows("SELECT id, path, bytes, checksum, created_at, batch, \"exists\", "
                                 "verified_at FROM migration_backups ORDER BY id"));
}

// The dump and the audit trail, to prove that a refused call changed nothing.
struct Snapshot {
  std::string dump, audit;
};
Snapshot Take(TestDb& db) { return {DumpDatabase(db.db()), AuditTrail(db)}; }
void ExpectUnchanged(TestDb& db, const Snapshot& before) {
  EXPECT_EQ(DumpDifference(before.dump, DumpDatabase(db.db())), "");
  EXPECT_EQ(before.audit, AuditTrail(db));
}

// The start database with rows, migrated once (batch 1, version 1: notes).
void PrepareV1(TestDb& db) {
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kStart) + std::string(kStartRows)));
  ASSERT_EQ(BatchOf(Apply(db, V1())), 1);
}

// The backup path recorded for `batch` ("" when none).
std::string BackupPathOf(TestDb& db, int64_t batch) {
  Rows rows = db.QueryRows(
      "SELECT k.path FROM migration_batches b JOIN migration_backups k ON k.id = b.backup_id "
      "WHERE b.batch = ?1",
      {std::to_string(batch)});
  return rows.empty() ? "" : rows[0][0];
}

// No scratch file of a restore is left beside the database.
void ExpectNoScratchFiles(const TestDb& db) {
  for (const auto& entry : std::filesystem::directory_iterator(db.dir()))
    EXPECT_FALSE(Contains(entry.path().filename().string(), "automigrate-restore")) << entry.path();
}

// ---------------------------------------------------------------------------
// By SQL

// Applies `desired` as batch 2 over PrepareV1, rolls it back with a plain
// migrate_rollback() and checks the report, the database and the record.
void ExpectSqlRollbackRestoresExactly(std::string_view desired, std::string_view op,
                                      std::string_view rollback_sql_word) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ordered_json applied = Apply(db, desired);
  ASSERT_EQ(BatchOf(applied), 2) << applied.dump();
  EXPECT_EQ(applied["backup"], nullptr) << "a schema-only batch takes no backup";
  ASSERT_NE(DumpDifference(before, DumpDatabase(db.db())), "") << "the batch changed nothing";
  const Rows batch2_steps = db.QueryRows(
      "SELECT step, op, object, sql, rollback_sql FROM migration_history WHERE batch = 2 "
      "ORDER BY step");
  ASSERT_EQ(batch2_steps.size(), 1u) << FormatRows(batch2_steps);
  ASSERT_EQ(batch2_steps[0][1], op);

  ordered_json r = Rollback(db);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"ok", "batch", "reverts", "version", "method",
                                               "steps", "backup_id", "schema_matches_before",
                                               "discarded", "duration_ms"}))
      << r.dump();
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["batch"], 3);
  EXPECT_EQ(r["reverts"], 2);
  EXPECT_EQ(r["version"], 3);  // batch 1 -> 1, batch 2 -> 2, the rollback -> 3
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(r["steps"], 1);
  EXPECT_EQ(r["backup_id"], nullptr);
  EXPECT_EQ(r["schema_matches_before"], true);
  EXPECT_EQ(r["discarded"], ordered_json::array());
  EXPECT_TRUE(r["duration_ms"].is_number()) << r.dump();

  // Exactly as before the batch, and healthy.
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  EXPECT_EQ(OracleDifferences(db.db(), V1()), "");

  // Batch 2 is rolled_back, batch 3 records the rollback, batch 1 untouched.
  EXPECT_EQ(Batches(db), (Rows{{"1", "1", "applied", "1", "NULL", "NULL", "1", "0"},
                               {"2", "2", "rolled_back", "1", "NULL", "NULL", "0", "0"},
                               {"3", "3", "applied", "1", "NULL", "2", "0", "0"}}));
  EXPECT_EQ(db.QueryRows("SELECT batch, status FROM migration_history ORDER BY id"),
            (Rows{{"1", "applied"}, {"2", "rolled_back"}, {"3", "applied"}}));
  // The rollback's step is the undo SQL of batch 2's step (and would redo it).
  const Rows batch3_steps = db.QueryRows(
      "SELECT step, op, object, sql, rollback_sql, version FROM migration_history WHERE batch = 3 "
      "ORDER BY step");
  ASSERT_EQ(batch3_steps.size(), 1u);
  EXPECT_EQ(batch3_steps[0][1], op);
  EXPECT_EQ(batch3_steps[0][2], batch2_steps[0][2]);
  EXPECT_EQ(batch3_steps[0][3], batch2_steps[0][4]);  // sql = batch 2's rollback_sql
  EXPECT_EQ(batch3_steps[0][4], batch2_steps[0][3]);  // rollback_sql = batch 2's sql
  EXPECT_TRUE(Contains(batch3_steps[0][3], rollback_sql_word)) << batch3_steps[0][3];
  EXPECT_EQ(batch3_steps[0][5], "3");
}

TEST(RollbackSql, UndoesAnAddedColumnExactly) {
  ExpectSqlRollbackRestoresExactly(V2AddColumn(), "add_column", "DROP COLUMN");
}

TEST(RollbackSql, UndoesAnAddedIndexExactly) {
  ExpectSqlRollbackRestoresExactly(V2AddIndex(), "create_index", "DROP INDEX");
}

TEST(RollbackSql, UndoesEveryStepOfABatchNewestFirst) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2NewTable())), 2);
  const int64_t steps = db.QueryInt("SELECT count(*) FROM migration_history WHERE batch = 2");
  ASSERT_EQ(steps, 3);  // create_table tags, create_index tags_label, add_column t.c
  ordered_json r = Rollback(db);
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(r["steps"], 3);
  EXPECT_EQ(r["schema_matches_before"], true);
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  // The undo runs the steps in reverse order: the index is dropped before
  // its table.
  const Rows forward_reversed =
      db.QueryRows("SELECT object FROM migration_history WHERE batch = 2 ORDER BY step DESC");
  EXPECT_EQ(db.QueryRows("SELECT object FROM migration_history WHERE batch = 3 ORDER BY step"),
            forward_reversed);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history WHERE batch = 2 AND "
                        "status = 'rolled_back'"),
            3);
}

// 4a: rows in a table the batch created would be dropped with it.
TEST(RollbackSql, RefusesToDiscardRowsOfATableTheBatchCreatedUnlessForced) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2NewTable())), 2);
  ASSERT_TRUE(db.Exec("INSERT INTO tags(label) VALUES ('red'), ('green');"));
  const Snapshot written = Take(db);

  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
  EXPECT_TRUE(Contains(error, "tags: 2 rows added or changed")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, written);

  ordered_json r = Rollback(db, R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(r["reverts"], 2);
  EXPECT_EQ(r["discarded"], ordered_json::parse(R"([{"table": "tags", "rows_added_or_changed": 2,
                                                     "rows_removed": 0}])"));
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  EXPECT_EQ(BatchRow(db, 2)[2], "rolled_back");
}

// 4a: values other than the default, written into a column the batch added.
TEST(RollbackSql, RefusesToDiscardValuesWrittenIntoAnAddedColumnUnlessForced) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn())), 2);
  // A new row keeps c at its default (nothing of c is lost); two rows get
  // values of their own.
  ASSERT_TRUE(
      db.Exec("INSERT INTO t(id, a) VALUES (4, 'w');"
              "UPDATE t SET c = 'mine' WHERE id IN (1, 2);"));
  const Snapshot written = Take(db);

  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
  EXPECT_TRUE(Contains(error, "t.c: 2 rows added or changed")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, written);

  ordered_json r = Rollback(db, R"(SELECT migrate_rollback(2, '{"force": true}'))");
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(r["discarded"], ordered_json::parse(R"([{"table": "t.c", "rows_added_or_changed": 2,
                                                     "rows_removed": 0}])"));
  // The column is gone; the rows, the new one included, are kept.
  EXPECT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a", "b"}));
  EXPECT_EQ(db.TableRows("t"),
            (Rows{{"1", "x", "p"}, {"2", "y", "q"}, {"3", "NULL", "r"}, {"4", "w", "NULL"}}));
}

// A column added by a rebuild (UNIQUE cannot be added by ALTER TABLE) is
// dropped again by the reverse rebuild: values written into it after the
// batch are lost just like those of an ALTER-added column.
TEST(RollbackSql, RefusesToDiscardValuesWrittenIntoAColumnAddedByARebuild) {
  TestDb db;
  PrepareV1(db);
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, email TEXT UNIQUE);\n" +
      std::string(kLog) + std::string(kNotes);
  const std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  ASSERT_EQ(plan[0].op, "rebuild_table") << FormatPlan(plan);
  ASSERT_TRUE(plan[0].rollback_sql.has_value()) << FormatPlan(plan);
  ASSERT_EQ(BatchOf(Apply(db, desired)), 2);
  ASSERT_TRUE(db.Exec("UPDATE t SET email = 'x@example.com' WHERE id = 1;"));
  const Snapshot written = Take(db);

  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"method": "sql"}'))");
  EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
  EXPECT_TRUE(Contains(error, "1 row added or changed")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, written);
}

// A column a rebuild added with DEFAULT CURRENT_TIMESTAMP: once the clock
// has moved, the values the copy filled in no longer equal the default, and
// nothing tells them from values written since. Rollback by SQL refuses even
// when nothing was written (it used to pass or refuse depending on whether
// a second had passed); force drops the column and restores the rest.
TEST(RollbackSql, ANonConstantDefaultOfAColumnAddedByARebuildCountsEveryValue) {
  TestDb db;
  PrepareV1(db);
  const Rows v1_rows = db.QueryRows("SELECT * FROM t ORDER BY id");
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, stamp TEXT DEFAULT CURRENT_TIMESTAMP);\n" +
      std::string(kLog) + std::string(kNotes);
  const std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  ASSERT_EQ(plan[0].op, "rebuild_table") << FormatPlan(plan);
  ASSERT_EQ(BatchOf(Apply(db, desired)), 2);
  ASSERT_EQ(db.QueryInt("SELECT count(*) FROM t WHERE stamp IS NOT NULL"), 3);
  const Snapshot applied = Take(db);

  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"method": "sql"}'))");
  EXPECT_TRUE(Contains(error, "t.stamp: 3 rows added or changed")) << error;
  EXPECT_TRUE(Contains(error, "DEFAULT CURRENT_TIMESTAMP is not constant")) << error;
  ExpectUnchanged(db, applied);

  const std::string report =
      db.QueryString(R"(SELECT migrate_rollback('{"method": "sql", "force": true}'))");
  EXPECT_TRUE(Contains(report, R"("note":)")) << report;
  // The rebuild's reverse writes the CREATE text in its own quoting, so
  // compare the schema with the oracle and the rows directly.
  EXPECT_EQ(OracleDifferences(db.db(), V1()), "");
  EXPECT_EQ(db.QueryRows("SELECT * FROM t ORDER BY id"), v1_rows);
}

// A step that fails while undoing rolls everything back and is recorded as
// a failed batch; the batch stays applied and can be rolled back later.
TEST(RollbackSql, AFailingStepChangesNothingAndIsRecordedAsFailed) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2NewTable())), 2);
  // Behind the extension's back: an index on the added column, which makes
  // ALTER TABLE DROP COLUMN fail ("cannot drop column: indexed").
  ASSERT_TRUE(db.Exec("CREATE INDEX t_c ON t(c);"));
  const std::string dump = DumpDatabase(db.db());

  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_TRUE(error.starts_with("migrate_rollback: undoing step ")) << error;
  EXPECT_TRUE(Contains(error, "add_column t.c")) << error;
  EXPECT_TRUE(Contains(error, "nothing was changed")) << error;
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(db.db())), "");
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  EXPECT_EQ(BatchRow(db, 2)[2], "applied");
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history WHERE batch = 2 AND "
                        "status = 'applied'"),
            3);
  const Row failed = BatchRow(db, 3);
  ASSERT_EQ(failed.size(), 8u);
  EXPECT_EQ(failed[1], "NULL");  // a failure does not move the version
  EXPECT_EQ(failed[2], "failed");
  EXPECT_EQ(failed[5], "2");
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history WHERE batch = 3 AND "
                        "status = 'failed' AND error IS NOT NULL"),
            1);

  // Once the obstacle is gone, the same rollback works (no force needed: the
  // schema is again the one the batch left).
  ASSERT_TRUE(db.Exec("DROP INDEX t_c;"));
  ordered_json r = Rollback(db);
  EXPECT_EQ(r["reverts"], 2);
  EXPECT_EQ(r["batch"], 4);
  EXPECT_EQ(r["version"], 3);
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
}

// ---------------------------------------------------------------------------
// From the backup

TEST(RollbackBackup, RestoresADroppedColumnWithItsData) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ordered_json applied = Apply(db, V2DropColumn(), kDestructive);
  ASSERT_EQ(BatchOf(applied), 2);
  ASSERT_TRUE(applied["backup"].is_object()) << "backup auto: a drop_column is destructive";
  const int64_t backup_id = applied["backup"]["id"].get<int64_t>();
  const std::string backup_path = applied["backup"]["path"].get<std::string>();
  ASSERT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a"}));
  EXPECT_EQ(BatchRow(db, 2),
            (Row{"2", "2", "applied", "1", std::to_string(backup_id), "NULL", "0", "1"}));
  EXPECT_EQ(BackupPathOf(db, 2), backup_path);

  ordered_json r = Rollback(db);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"ok", "batch", "reverts", "version", "method",
                                               "steps", "backup_id", "schema_matches_before",
                                               "discarded", "duration_ms"}))
      << r.dump();
  EXPECT_EQ(r["ok"], true);
  EXPECT_EQ(r["batch"], 3);
  EXPECT_EQ(r["reverts"], 2);
  EXPECT_EQ(r["version"], 3);
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["backup_id"], backup_id);
  EXPECT_EQ(r["schema_matches_before"], true);
  EXPECT_EQ(r["discarded"], ordered_json::array());

  // The column and its values are back; everything else exactly as before.
  EXPECT_EQ(db.QueryString("SELECT group_concat(b, ',') FROM (SELECT b FROM t ORDER BY id)"),
            "p,q,r");
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  ExpectNoScratchFiles(db);

  // The audit trail survived the restore: batches 1 and 2 are still listed,
  // plus the rollback, and the backup is still recorded and on disk.
  const Rows batches = Batches(db);
  ASSERT_EQ(batches.size(), 3u) << FormatRows(batches);
  EXPECT_EQ(batches[0], (Row{"1", "1", "applied", "1", "NULL", "NULL", "1", "0"}));
  EXPECT_EQ(batches[1],
            (Row{"2", "2", "rolled_back", "1", std::to_string(backup_id), "NULL", "0", "0"}));
  EXPECT_EQ(batches[2][1], "3");
  EXPECT_EQ(batches[2][2], "applied");
  EXPECT_EQ(batches[2][5], "2");
  EXPECT_EQ(batches[2][6], "0");
  EXPECT_EQ(batches[2][7], "0");
  EXPECT_EQ(db.QueryRows("SELECT batch, op, status FROM migration_history ORDER BY id"),
            (Rows{{"1", "create_table", "applied"},
                  {"2", "drop_column", "rolled_back"},
                  {"3", "restore_backup", "applied"}}));
  EXPECT_EQ(db.QueryRows("SELECT id, path, batch, \"exists\" FROM migration_backups"),
            (Rows{{std::to_string(backup_id), backup_path, "2", "1"}}));
}

// 4b: rows inserted, updated and deleted after the batch.
void WriteAfterDropColumnBatch(TestDb& db) {
  ASSERT_TRUE(
      db.Exec("INSERT INTO t(id, a) VALUES (4, 'new1'), (5, 'new2');"
              "UPDATE t SET a = 'changed' WHERE id = 1;"
              "DELETE FROM t WHERE id = 2;"
              "INSERT INTO notes(body) VALUES ('n');"));
}

TEST(RollbackBackup, RefusesToDiscardLaterWritesAndNamesEachTable) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), kDestructive)), 2);
  WriteAfterDropColumnBatch(db);
  const Snapshot written = Take(db);

  for (const char* call : {"SELECT migrate_rollback()", "SELECT migrate_rollback(2)",
                           R"(SELECT migrate_rollback('{"method": "backup"}'))"}) {
    const std::string error = Error(db.db(), call);
    EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
    EXPECT_TRUE(Contains(error, "t: 3 rows added or changed, 1 row removed")) << error;
    EXPECT_TRUE(Contains(error, "notes: 1 row added or changed")) << error;
    EXPECT_TRUE(Contains(error, "force")) << error;
    ExpectUnchanged(db, written);
  }
  EXPECT_EQ(db.TableRows("t"),
            (Rows{{"1", "changed"}, {"3", "NULL"}, {"4", "new1"}, {"5", "new2"}}));
  ExpectNoScratchFiles(db);
}

TEST(RollbackBackup, ForceDiscardsLaterWritesAndListsThem) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), kDestructive)), 2);
  WriteAfterDropColumnBatch(db);

  ordered_json r = Rollback(db, R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_EQ(r["method"], "backup");
  ASSERT_TRUE(r["discarded"].is_array()) << r.dump();
  std::map<std::string, std::pair<int64_t, int64_t>> discarded;
  for (const auto& d : r["discarded"])
    discarded[d["table"].get<std::string>()] = {d["rows_added_or_changed"].get<int64_t>(),
                                                d["rows_removed"].get<int64_t>()};
  EXPECT_EQ(discarded,
            (std::map<std::string, std::pair<int64_t, int64_t>>{{"notes", {1, 0}}, {"t", {3, 1}}}))
      << r.dump();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  EXPECT_EQ(BatchRow(db, 2)[2], "rolled_back");
}

// Writes made under a renamed column are writes too: the rollback compares
// the column under its backup name.
TEST(RollbackBackup, RefusesToDiscardWritesToARenamedColumn) {
  TestDb db;
  PrepareV1(db);
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY,\n"
      "  title TEXT -- @renamed from=a\n"
      ");\n" +
      std::string(kLog) + std::string(kNotes);
  ordered_json applied = Apply(db, desired, kDestructive);
  ASSERT_EQ(BatchOf(applied), 2);
  ASSERT_TRUE(applied["backup"].is_object());
  ASSERT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "title"}));
  ASSERT_TRUE(db.Exec("UPDATE t SET title = 'changed' WHERE id = 1;"));
  const Snapshot written = Take(db);

  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(Contains(error, "t: 1 row added or changed")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, written);
}

// 10: a batch that renamed a table and dropped one of its columns.
void ExpectRenamedTableRestored(std::string_view desired, std::string_view options) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(
      db.Exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INTEGER);"
              "CREATE INDEX users_name ON users(name);"
              "INSERT INTO users VALUES (1, 'ann', 31), (2, 'bob', 42), (3, 'cy', NULL);"));
  const std::string before = DumpDatabase(db.db());
  ordered_json applied = Apply(db, desired, options);
  ASSERT_EQ(BatchOf(applied), 1) << applied.dump();
  ASSERT_TRUE(applied["backup"].is_object());
  ASSERT_EQ(db.QueryString("SELECT group_concat(op, ',') FROM (SELECT op FROM migration_history "
                           "WHERE batch = 1 ORDER BY step)"),
            "rename_table,drop_column");
  ASSERT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'users'"), 0);

  // No write since the batch: the rows under "people" are the backup's rows
  // of "users", so nothing would be discarded.
  ordered_json r = Rollback(db);
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["discarded"], ordered_json::array());
  EXPECT_EQ(r["schema_matches_before"], true);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'people'"), 0);
  EXPECT_EQ(db.TableRows("users"),
            (Rows{{"1", "ann", "31"}, {"2", "bob", "42"}, {"3", "cy", "NULL"}}));
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");

  // Applied again, one row written under the new name: exactly that row is
  // reported (every row would be, were "people" not matched to "users").
  ASSERT_EQ(BatchOf(Apply(db, desired, options)), 3);
  ASSERT_TRUE(db.Exec("INSERT INTO people(id, name) VALUES (4, 'dee');"));
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(Contains(error, "people: 1 row added or changed")) << error;
  EXPECT_FALSE(Contains(error, "removed")) << error;
}

TEST(RollbackBackup, MatchesATableRenamedByAHintToItsOldName) {
  ExpectRenamedTableRestored(
      "CREATE TABLE people /* @renamed from=users */ (id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE INDEX users_name ON people(name);",
      kDestructive);
}

TEST(RollbackBackup, MatchesATableRenamedByTheRenameOptionToItsOldName) {
  ExpectRenamedTableRestored(
      "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE INDEX users_name ON people(name);",
      R"({"allow_destructive": true, "rename": {"users": "people"}})");
}

// ---------------------------------------------------------------------------
// Choosing the method

TEST(RollbackMethod, AutoPrefersSqlEvenWhenABackupExists) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ordered_json applied = Apply(db, V2AddColumn(), R"({"backup": "always"})");
  ASSERT_EQ(BatchOf(applied), 2);
  ASSERT_TRUE(applied["backup"].is_object());
  EXPECT_EQ(BatchRow(db, 2)[6], "1");  // rollback_sql_possible
  EXPECT_EQ(BatchRow(db, 2)[7], "1");  // rollback_backup_possible
  ordered_json r = Rollback(db);
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(db.QueryString("SELECT op FROM migration_history WHERE batch = 3"), "add_column");
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
}

TEST(RollbackMethod, BackupCanBeChosenForABatchThatSqlCouldUndo) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ordered_json applied = Apply(db, V2AddColumn(), R"({"backup": "always"})");
  ASSERT_EQ(BatchOf(applied), 2);
  ordered_json r = Rollback(db, R"(SELECT migrate_rollback(2, '{"method": "backup"}'))");
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["backup_id"], applied["backup"]["id"]);
  EXPECT_EQ(db.QueryString("SELECT op FROM migration_history WHERE batch = 3"), "restore_backup");
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
}

TEST(RollbackMethod, SqlIsRefusedForAStepWithoutRollbackSql) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), kDestructive)), 2);
  EXPECT_EQ(db.QueryString("SELECT ifnull(rollback_sql, 'NULL') FROM migration_history "
                           "WHERE batch = 2"),
            "NULL");
  const Snapshot snap = Take(db);
  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"method": "sql"}'))");
  EXPECT_TRUE(error.starts_with("migrate_rollback: batch 2 cannot be rolled back by SQL")) << error;
  EXPECT_TRUE(Contains(error, "step 1 (drop_column t.b)")) << error;
  EXPECT_TRUE(Contains(error, R"({"method": "backup"})")) << error;
  ExpectUnchanged(db, snap);
}

TEST(RollbackMethod, BackupIsRefusedForABatchAppliedWithoutOne) {
  TestDb db;
  PrepareV1(db);
  ordered_json applied =
      Apply(db, V2DropColumn(), R"({"allow_destructive": true, "backup": "never"})");
  ASSERT_EQ(BatchOf(applied), 2);
  ASSERT_EQ(applied["backup"], nullptr);
  EXPECT_EQ(BatchRow(db, 2)[6], "0");
  EXPECT_EQ(BatchRow(db, 2)[7], "0");
  const Snapshot snap = Take(db);
  for (const char* call :
       {R"(SELECT migrate_rollback('{"method": "backup"}'))", "SELECT migrate_rollback()"}) {
    const std::string error = Error(db.db(), call);
    EXPECT_TRUE(error.starts_with("migrate_rollback: batch 2 cannot be rolled back")) << error;
    EXPECT_TRUE(Contains(error, "batch 2 has no backup")) << error;
    ExpectUnchanged(db, snap);
  }
  // By SQL it cannot be undone either, and no backup is suggested.
  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"method": "sql"}'))");
  EXPECT_FALSE(Contains(error, R"({"method": "backup"})"))
      << "must not suggest a backup: " << error;
}

TEST(RollbackMethod, BackupIsRefusedWhenItsFileIsMissing) {
  TestDb db;
  PrepareV1(db);
  ordered_json applied = Apply(db, V2DropColumn(), kDestructive);
  ASSERT_EQ(BatchOf(applied), 2);
  const std::string path = applied["backup"]["path"].get<std::string>();
  EXPECT_EQ(db.QueryInt("SELECT rollback_backup_possible FROM migration_batches WHERE batch = 2"), 1);
  ASSERT_TRUE(std::filesystem::remove(path)) << path;
  EXPECT_EQ(db.QueryInt("SELECT \"exists\" FROM migration_backups"), 0);
  EXPECT_EQ(db.QueryInt("SELECT rollback_backup_possible FROM migration_batches WHERE batch = 2"), 0)
      << "the file is gone: a backup rollback is no longer possible";
  const Snapshot snap = Take(db);
  for (const char* call :
       {R"(SELECT migrate_rollback('{"method": "backup"}'))", "SELECT migrate_rollback()",
        R"(SELECT migrate_rollback('{"method": "backup", "force": true}'))"}) {
    const std::string error = Error(db.db(), call);
    EXPECT_TRUE(error.starts_with("migrate_rollback: batch 2 cannot be rolled back")) << error;
    EXPECT_TRUE(Contains(error, "backup file " + path + " is missing")) << error;
    ExpectUnchanged(db, snap);
  }
}

TEST(RollbackMethod, BackupThatFailsVerificationIsRefused) {
  TestDb db;
  PrepareV1(db);
  ordered_json applied = Apply(db, V2DropColumn(), kDestructive);
  ASSERT_EQ(BatchOf(applied), 2);
  const std::string path = applied["backup"]["path"].get<std::string>();
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.is_open()) << path;
    f.seekg(200);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0xFF);
    f.seekp(200);
    f.write(&c, 1);
  }
  const Snapshot snap = Take(db);
  const std::string error = Error(db.db(), R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
  EXPECT_TRUE(Contains(error, "failed verification")) << error;
  ExpectUnchanged(db, snap);
  EXPECT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a"}));
  ExpectNoScratchFiles(db);
}

// ---------------------------------------------------------------------------
// 5: the schema changed behind the extension's back

TEST(RollbackRefusal, SqlRefusesASchemaChangedAfterTheBatchUnlessForced) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn())), 2);
  ASSERT_TRUE(db.Exec("CREATE INDEX t_b ON t(b);"));
  const Snapshot snap = Take(db);
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: the schema changed after batch 2")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, snap);

  ordered_json r = Rollback(db, R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_EQ(r["method"], "sql");
  // The index made behind its back is not the batch's to undo: it stays, so
  // the schema is not the one before the batch.
  EXPECT_EQ(r["schema_matches_before"], false);
  EXPECT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a", "b"}));
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 't_b'"), 1);
}

TEST(RollbackRefusal, BackupRefusesASchemaChangedAfterTheBatchUnlessForced) {
  TestDb db;
  PrepareV1(db);
  const std::string before = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), kDestructive)), 2);
  ASSERT_TRUE(db.Exec("CREATE INDEX t_a ON t(a);"));
  const Snapshot snap = Take(db);
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
  EXPECT_TRUE(Contains(error, "schema changed after the batch")) << error;
  EXPECT_TRUE(Contains(error, "force")) << error;
  ExpectUnchanged(db, snap);

  ordered_json r = Rollback(db, R"(SELECT migrate_rollback('{"force": true}'))");
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["schema_matches_before"], true);  // the restore brings the old schema back whole
  EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
}

// ANALYZE writes statistics tables, not schema: it is no reason to refuse.
TEST(RollbackRefusal, AnalyzeAfterTheBatchIsNotASchemaChange) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2AddIndex())), 2);
  ASSERT_TRUE(db.Exec("ANALYZE;"));
  ordered_json r = Rollback(db);
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 't_a'"), 0);

  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), kDestructive)), 4);
  ASSERT_TRUE(db.Exec("ANALYZE;"));
  r = Rollback(db);
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["discarded"], ordered_json::array());
  EXPECT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a", "b"}));
}

// ---------------------------------------------------------------------------
// 6: which batch, when, and with what arguments

TEST(RollbackOrder, UndoesTheNewestBatchFirstThenTheOneBefore) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kStart) + std::string(kStartRows)));
  const std::string v0 = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V1())), 1);
  const std::string v1 = DumpDatabase(db.db());
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn())), 2);

  // migrate_rollback(1) while 2 is still applied.
  Snapshot snap = Take(db);
  std::string error = Error(db.db(), "SELECT migrate_rollback(1)");
  EXPECT_EQ(error,
            "migrate_rollback: batch 1 is not the latest applied batch (2 is); roll back 2 first");
  ExpectUnchanged(db, snap);
  EXPECT_EQ(Error(db.db(), "SELECT migrate_rollback(99)"),
            "migrate_rollback: there is no batch 99");
  ExpectUnchanged(db, snap);

  ordered_json r = Rollback(db);
  EXPECT_EQ(r["reverts"], 2);
  EXPECT_EQ(r["batch"], 3);
  EXPECT_EQ(DumpDifference(v1, DumpDatabase(db.db())), "");

  snap = Take(db);
  EXPECT_EQ(Error(db.db(), "SELECT migrate_rollback(2)"),
            "migrate_rollback: batch 2 is already rolled back");
  const std::string of_rollback = Error(db.db(), "SELECT migrate_rollback(3)");
  EXPECT_TRUE(of_rollback.starts_with("migrate_rollback: batch 3 ")) << of_rollback;
  EXPECT_TRUE(Contains(of_rollback, "only applied migrations can be rolled back")) << of_rollback;
  ExpectUnchanged(db, snap);

  // Next in line is batch 1 (not the rollback batch 3).
  r = Rollback(db, "SELECT migrate_rollback(1)");
  EXPECT_EQ(r["reverts"], 1);
  EXPECT_EQ(r["batch"], 4);
  EXPECT_EQ(r["version"], 4);
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(db.db())), "");
  EXPECT_EQ(db.QueryRows("SELECT batch, version, status, reverts FROM migration_batches "
                         "ORDER BY batch"),
            (Rows{{"1", "1", "rolled_back", "NULL"},
                  {"2", "2", "rolled_back", "NULL"},
                  {"3", "3", "applied", "2"},
                  {"4", "4", "applied", "1"}}));

  // Nothing left.
  snap = Take(db);
  error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: nothing to roll back")) << error;
  ExpectUnchanged(db, snap);
}

TEST(RollbackOrder, NothingToRollBackOnAFreshDatabase) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kStart) + std::string(kStartRows)));
  const std::string dump = DumpDatabase(db.db());
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: nothing to roll back")) << error;
  EXPECT_EQ(Error(db.db(), "SELECT migrate_rollback(1)"), error);
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(db.db())), "");
  EXPECT_EQ(InternalTables(db.db()), std::vector<std::string>{});
}

TEST(RollbackOrder, RefusedInsideATransactionWhichStaysIntact) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn())), 2);
  const std::string audit = AuditTrail(db);
  ASSERT_TRUE(db.Exec("BEGIN; INSERT INTO t(id, a) VALUES (10, 'in the transaction');"));
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: cannot run inside a transaction")) << error;
  EXPECT_EQ(sqlite3_get_autocommit(db.db()), 0) << "the caller's transaction was ended";
  EXPECT_EQ(db.QueryString("SELECT a FROM t WHERE id = 10"), "in the transaction");
  ASSERT_TRUE(db.Exec("COMMIT;"));
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t WHERE id = 10"), 1);
  EXPECT_EQ(ColumnNames(db.db(), "t"), (std::vector<std::string>{"id", "a", "b", "c"}));
  EXPECT_EQ(AuditTrail(db), audit);
}

TEST(RollbackOrder, BadArgumentsAreErrorsAndChangeNothing) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn())), 2);
  const Snapshot snap = Take(db);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT migrate_rollback(x'02')", "the argument must be a batch number or options text"},
      {"SELECT migrate_rollback(2.0)", "the argument must be a batch number or options text"},
      {"SELECT migrate_rollback(x'02', '{}')", "batch must be an integer"},
      {"SELECT migrate_rollback('2', '{}')", "batch must be an integer"},
      {"SELECT migrate_rollback(2, '{}', 3)", "expected 0 to 2 arguments ([batch] [, options])"},
      {"SELECT migrate_rollback('not json')", "options: invalid JSON"},
      {"SELECT migrate_rollback(2, 'not json')", "options: invalid JSON"},
      {"SELECT migrate_rollback('[1]')", "options must be a JSON object"},
      {R"(SELECT migrate_rollback('{"forse": true}'))", R"(options: unknown key "forse")"},
      {R"(SELECT migrate_rollback('{"method": "bogus"}'))",
       R"(options: "method" must be one of "auto", "sql", "backup")"},
      {R"(SELECT migrate_rollback('{"force": "yes"}'))", R"(options: "force" must be a boolean)"},
      {R"(SELECT migrate_rollback('{"force": 1}'))", R"(options: "force" must be a boolean)"},
  };
  for (const auto& [sql, message] : bad) {
    EXPECT_EQ(Error(db.db(), sql), "migrate_rollback: " + message) << sql;
    ExpectUnchanged(db, snap);
  }
  // A key other functions take is refused too (it would silently do nothing).
  const std::string dry = Error(db.db(), R"(SELECT migrate_rollback('{"dry_run": true}'))");
  EXPECT_TRUE(dry.starts_with(R"(migrate_rollback: options: "dry_run")")) << dry;
  ExpectUnchanged(db, snap);
  EXPECT_EQ(BatchRow(db, 2)[2], "applied");
}

TEST(RollbackOrder, BatchesShowWhichMethodsArePossible) {
  TestDb db;
  PrepareV1(db);  // batch 1: create_table (rollback SQL, no backup)
  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn(), R"({"backup": "always"})")), 2);  // both
  // Batch 3: drop t.b (backup, no rollback SQL).
  ASSERT_EQ(BatchOf(Apply(db,
                          "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, c TEXT DEFAULT 'd');" +
                              std::string(kLog) + std::string(kNotes),
                          kDestructive)),
            3);
  EXPECT_EQ(Batches(db), (Rows{{"1", "1", "applied", "1", "NULL", "NULL", "1", "0"},
                               {"2", "2", "applied", "1", "1", "NULL", "1", "1"},
                               {"3", "3", "applied", "1", "2", "NULL", "0", "1"}}));
  ASSERT_EQ(Rollback(db)["reverts"], 3);
  ASSERT_EQ(Rollback(db)["reverts"], 2);
  // Rolled back batches and the rollback batches themselves offer nothing;
  // batch 1, next in line, still offers SQL.
  EXPECT_EQ(db.QueryRows("SELECT batch, status, reverts, rollback_sql_possible, "
                         "rollback_backup_possible FROM migration_batches ORDER BY batch"),
            (Rows{{"1", "applied", "NULL", "1", "0"},
                  {"2", "rolled_back", "NULL", "0", "0"},
                  {"3", "rolled_back", "NULL", "0", "0"},
                  {"4", "applied", "3", "0", "0"},
                  {"5", "applied", "2", "0", "0"}}));
}

// ---------------------------------------------------------------------------
// 7: foreign keys

constexpr std::string_view kParentChild = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INTEGER);
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT);
CREATE INDEX posts_user ON posts(user_id);
)sql";

constexpr std::string_view kParentChildRows = R"sql(
INSERT INTO users VALUES (1, 'ann', 31), (2, 'bob', 42);
INSERT INTO posts VALUES (10, 1, 'hello'), (11, 1, 'again'), (12, 2, 'bob here');
)sql";

// users gains a CHECK: a rebuild of the parent table, reversible by SQL.
constexpr std::string_view kParentChildChecked = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INTEGER CHECK (age >= 0));
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT);
CREATE INDEX posts_user ON posts(user_id);
)sql";

class RollbackForeignKeys : public ::testing::TestWithParam<std::string> {};

TEST_P(RollbackForeignKeys, UndoingARebuiltParentKeepsTheChildRows) {
  const std::string method = GetParam();
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kParentChild) + std::string(kParentChildRows)));
  ASSERT_TRUE(db.Exec("PRAGMA foreign_keys = ON;"));
  const std::string before = DumpDatabase(db.db());
  const std::vector<PlanRow> plan = db.PlanRows(kParentChildChecked);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  ASSERT_EQ(plan[0].op, "rebuild_table");
  ASSERT_TRUE(plan[0].rollback_sql.has_value()) << FormatPlan(plan);
  ordered_json applied = Apply(db, kParentChildChecked);
  ASSERT_EQ(BatchOf(applied), 1);
  ASSERT_TRUE(applied["backup"].is_object()) << "backup auto: a rebuild";
  ASSERT_EQ(db.QueryInt("SELECT count(*) FROM posts"), 3);

  ordered_json r = Rollback(db, "SELECT migrate_rollback('{\"method\": \"" + method + "\"}')");
  EXPECT_EQ(r["method"], method);
  EXPECT_EQ(db.TableRows("posts"),
            (Rows{{"10", "1", "hello"}, {"11", "1", "again"}, {"12", "2", "bob here"}}));
  EXPECT_EQ(db.TableRows("users"), (Rows{{"1", "ann", "31"}, {"2", "bob", "42"}}));
  EXPECT_EQ(OracleDifferences(db.db(), kParentChild), "");
  // The restore brings the very file content back. The reverse rebuild
  // recreates the table, so SQLite stores its CREATE text as the final
  // ALTER TABLE ... RENAME left it (quoted name): same schema, other text.
  if (method == "backup") {
    EXPECT_EQ(DumpDifference(before, DumpDatabase(db.db())), "");
  }
  EXPECT_EQ(db.QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_foreign_key_check"), 0);
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  // Still enforced: deleting a parent cascades.
  ASSERT_TRUE(db.Exec("DELETE FROM users WHERE id = 1;"));
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM posts"), 1);
}

INSTANTIATE_TEST_SUITE_P(Rollback, RollbackForeignKeys, ::testing::Values("sql", "backup"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// 8: journal modes and a second connection

class RollbackJournal : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    ASSERT_EQ(db_.QueryString("PRAGMA journal_mode = " + GetParam()), GetParam());
    ASSERT_TRUE(db_.Exec(std::string(kStart) + std::string(kStartRows)));
  }
  TestDb db_;
};

TEST_P(RollbackJournal, SqlAndBackupRollbackRestoreExactly) {
  const std::string v0 = DumpDatabase(db_.db());
  ASSERT_EQ(BatchOf(Apply(db_, V2AddColumn())), 1);
  ordered_json r = Rollback(db_);
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(db_.db())), "");

  ASSERT_EQ(BatchOf(Apply(db_, V2DropColumn(), kDestructive)), 3);
  r = Rollback(db_);
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(r["reverts"], 3);
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(db_.db())), "");
  EXPECT_EQ(IntegrityCheck(db_.db()), "ok");
  // The database keeps its journal mode (the backup's header may say another).
  EXPECT_EQ(db_.QueryString("PRAGMA journal_mode"), GetParam());
  EXPECT_EQ(Batches(db_).size(), 4u);

  // A fresh connection sees the same.
  ASSERT_TRUE(db_.Reopen());
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(db_.db())), "");
  EXPECT_EQ(db_.QueryString("PRAGMA journal_mode"), GetParam());
}

TEST_P(RollbackJournal, ASecondConnectionReadsTheRestoredData) {
  Connection other(db_.path());
  ASSERT_TRUE(other.ok());
  const std::string v0 = DumpDatabase(db_.db());
  ASSERT_EQ(BatchOf(Apply(db_, V2DropColumn(), kDestructive)), 1);
  // The other connection has read the migrated schema.
  EXPECT_EQ(QueryInt(other.db(), "SELECT count(*) FROM pragma_table_info('t')"), 2);
  EXPECT_EQ(QueryInt(other.db(), "SELECT count(*) FROM t"), 3);

  ordered_json r = Rollback(db_);
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(
      QueryString(other.db(), "SELECT group_concat(b, ',') FROM (SELECT b FROM t ORDER BY id)"),
      "p,q,r");
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(other.db())), "");
}

// A reader in the middle of a read transaction: in WAL mode it keeps its
// snapshot while the restore commits, then sees the restored database; in
// rollback-journal mode it blocks the restore's commit, which gives up
// (busy timeout 0) and changes nothing, and succeeds once the reader is done.
TEST_P(RollbackJournal, AnOpenReaderKeepsItsSnapshotOrMakesTheRestoreWait) {
  Connection reader(db_.path());
  ASSERT_TRUE(reader.ok());
  const std::string v0 = DumpDatabase(db_.db());
  ASSERT_EQ(BatchOf(Apply(db_, V2DropColumn(), kDestructive)), 1);
  ASSERT_TRUE(Exec(reader.db(), "BEGIN; SELECT count(*) FROM t;"));
  const std::string seen = DumpDatabase(reader.db());

  if (GetParam() == "wal") {
    EXPECT_EQ(Rollback(db_)["method"], "backup");
    EXPECT_EQ(DumpDifference(seen, DumpDatabase(reader.db())), "") << "the snapshot moved";
    ASSERT_TRUE(Exec(reader.db(), "COMMIT;"));
    EXPECT_EQ(DumpDifference(v0, DumpDatabase(reader.db())), "");
  } else {
    const Snapshot snap = Take(db_);
    const std::string error = Error(db_.db(), "SELECT migrate_rollback()");
    EXPECT_TRUE(error.starts_with("migrate_rollback: ")) << error;
    EXPECT_TRUE(Contains(error, "locked")) << error;
    EXPECT_TRUE(Contains(error, "nothing was changed")) << error;
    ExpectUnchanged(db_, snap);
    EXPECT_EQ(DumpDifference(seen, DumpDatabase(reader.db())), "");
    ExpectNoScratchFiles(db_);
    ASSERT_TRUE(Exec(reader.db(), "COMMIT;"));
    EXPECT_EQ(Rollback(db_)["method"], "backup");
    EXPECT_EQ(DumpDifference(v0, DumpDatabase(reader.db())), "");
  }
  EXPECT_EQ(DumpDifference(v0, DumpDatabase(db_.db())), "");
}

INSTANTIATE_TEST_SUITE_P(Rollback, RollbackJournal, ::testing::Values("wal", "delete"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// 9: applying again after a rollback

void ExpectAppliesAgain(std::string_view desired, std::string_view options,
                        std::string_view method) {
  TestDb db;
  PrepareV1(db);
  ASSERT_EQ(BatchOf(Apply(db, desired, options)), 2);
  const std::string migrated = DumpDatabase(db.db());
  ASSERT_EQ(Rollback(db)["method"], method);
  ASSERT_FALSE(db.PlanRows(desired, options).empty()) << "the rollback left nothing to redo";

  ordered_json again = Apply(db, desired, options);
  EXPECT_EQ(BatchOf(again), 4) << again.dump() << ": the fast path said nothing to do";
  EXPECT_EQ(again["version"], 4);
  EXPECT_EQ(DumpDifference(migrated, DumpDatabase(db.db())), "");
  EXPECT_TRUE(db.PlanRows(desired, options).empty()) << FormatPlan(db.PlanRows(desired, options));
  EXPECT_EQ(OracleDifferences(db.db(), desired), "");
  // And once more: now there is nothing to do.
  ordered_json noop = Apply(db, desired, options);
  EXPECT_EQ(noop["batch"], nullptr) << noop.dump();
}

TEST(RollbackReapply, AfterASqlRollbackTheSameSchemaAppliesAgain) {
  ExpectAppliesAgain(V2AddColumn(), "{}", "sql");
}

TEST(RollbackReapply, AfterABackupRollbackTheSameSchemaAppliesAgain) {
  ExpectAppliesAgain(V2DropColumn(), kDestructive, "backup");
}

// ---------------------------------------------------------------------------
// The schema option: an attached database

TEST(RollbackSchema, RollsBackABatchOfAnAttachedDatabaseOnly) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  const std::string aux_path = (db.dir() / "aux.db").string();
  ASSERT_TRUE(db.Exec("ATTACH " + std::string("'") + aux_path + "' AS aux;"));
  // The same table in both databases: an unqualified rollback would hit main.
  ASSERT_TRUE(db.Exec(std::string(kStart) + std::string(kStartRows)));
  ASSERT_TRUE(
      db.Exec("CREATE TABLE aux.t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
              "CREATE TABLE aux.log(id INTEGER PRIMARY KEY AUTOINCREMENT, msg TEXT);"
              "INSERT INTO aux.t VALUES (7, 'aux', 'bee');"));
  const std::string main_before = DumpDatabase(db.db(), "main");
  const std::string aux_before = DumpDatabase(db.db(), "aux");
  constexpr std::string_view kAux = R"({"schema": "aux"})";

  ASSERT_EQ(BatchOf(Apply(db, V2AddColumn(), kAux)), 1);
  ordered_json r = Rollback(db, R"(SELECT migrate_rollback('{"schema": "aux"}'))");
  EXPECT_EQ(r["method"], "sql");
  EXPECT_EQ(DumpDifference(aux_before, DumpDatabase(db.db(), "aux")), "");
  EXPECT_EQ(DumpDifference(main_before, DumpDatabase(db.db(), "main")), "");

  ASSERT_EQ(BatchOf(Apply(db, V2DropColumn(), R"({"schema": "aux", "allow_destructive": true})")),
            3);
  r = Rollback(db, R"(SELECT migrate_rollback('{"schema": "aux"}'))");
  EXPECT_EQ(r["method"], "backup");
  EXPECT_EQ(DumpDifference(aux_before, DumpDatabase(db.db(), "aux")), "");
  EXPECT_EQ(DumpDifference(main_before, DumpDatabase(db.db(), "main")), "");
  EXPECT_EQ(InternalTables(db.db(), "main"), std::vector<std::string>{});
  // main was never migrated.
  const std::string error = Error(db.db(), "SELECT migrate_rollback()");
  EXPECT_TRUE(error.starts_with("migrate_rollback: nothing to roll back")) << error;
}

}  // namespace
}  // namespace automigrate::testing
