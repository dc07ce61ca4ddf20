// tests/support/migrate_check.h -- the planner's end-to-end check: build a
// database with rows, ask the extension for the migration script, run it in
// the sqlite3 shell with foreign keys ON, and verify the result against an
// independent oracle (tests/support/schema_oracle.h).
//
//   MigrateResult r = MigrateAndCheck("CREATE TABLE t(a);", "INSERT INTO t VALUES(1);",
//                                     "CREATE TABLE t(a, b);");
//   EXPECT_TRUE(r.ok) << r.Describe();
//   EXPECT_TRUE(r.HasOp("add_column", "t.b")) << r.Describe();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_util.h"

namespace automigrate::testing {

struct MigrateResult {
  // Every check passed (each failed check has already failed the test too).
  bool ok = false;
  // The reopened, migrated database (null when the database could not be
  // created or reopened).
  std::unique_ptr<TestDb> db;
  std::vector<PlanRow> plan;         // migrate_plan(desired, options) before the migration
  std::string script;                // migrate_script(desired, options)
  std::string status_json;           // migrate_status(desired, options)
  ShellResult shell;                 // the shell run of the script
  std::vector<std::string> differences;  // oracle: migrated vs desired
  std::vector<PlanRow> replan;       // migrate_plan after the migration (must be empty)
  // Before the migration: SELECT rowid, * (rowid tables) or SELECT * (WITHOUT
  // ROWID) of every non-internal table, and sqlite_sequence.
  std::map<std::string, Rows> rows_before;
  Rows sequence_before;

  // The plan, the script, the shell's output, the differences and the re-plan.
  std::string Describe() const;
  // Steps with this op (and object, when given; names compare case-insensitively).
  std::vector<const PlanRow*> Steps(std::string_view op, std::string_view object = "") const;
  bool HasOp(std::string_view op, std::string_view object = "") const {
    return !Steps(op, object).empty();
  }
  // Ops of the plan in order, e.g. "drop_view,rebuild_table,create_view".
  std::string OpList() const;
};

struct MigrateCheckOptions {
  // PRAGMA foreign_keys=ON on the planning connection too (the script always
  // runs with it on).
  bool plan_with_foreign_keys = false;
  // Compare column order with the oracle (set automatically when the options
  // JSON asks for "column_order": "strict").
  bool compare_column_order = false;
};

// Creates a file database, runs `current_sql` then `seed_sql`, snapshots the
// rows, plans with migrate_plan/migrate_script(desired_sql, options_json),
// runs "PRAGMA foreign_keys=ON;" + script in the sqlite3 shell, reopens and
// checks: shell exit 0; no oracle difference against a fresh :memory:
// database loaded with desired_sql; migrate_plan(desired) now empty;
// integrity_check ok; foreign_key_check empty. Failures are reported with
// ADD_FAILURE, showing the plan, script and differences.
MigrateResult MigrateAndCheck(std::string_view current_sql, std::string_view seed_sql,
                              std::string_view desired_sql, std::string_view options_json = "",
                              const MigrateCheckOptions& check = {});

// SELECT rowid, * FROM table ORDER BY rowid (rowid tables), else TableRows.
Rows RowsWithRowid(sqlite3* db, std::string_view table);

// Columns of `table` in declaration order (PRAGMA table_xinfo names).
std::vector<std::string> ColumnNames(sqlite3* db, std::string_view table);

// Every `sql` of sqlite_schema, concatenated (for "no _automigrate_ name left").
std::string AllSchemaSql(sqlite3* db);

// The warnings array of a migrate_status JSON text, naively extracted as one
// string (enough for "contains" checks).
std::string StatusWarnings(std::string_view status_json);

// All warning texts of the plan rows joined with " | ".
std::string PlanWarnings(const std::vector<PlanRow>& plan);

// Runs `sql` and returns the SQLite error message ("" when it succeeded).
std::string ErrorOf(sqlite3* db, std::string_view sql, const Params& params = {});

// The given columns (0-based) of every row.
Rows Pick(const Rows& rows, const std::vector<size_t>& columns);

// `haystack` contains `needle`.
inline bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace automigrate::testing
