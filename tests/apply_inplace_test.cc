// tests/apply_inplace_test.cc -- alter_table_in_place steps applied, scripted
// and rolled back through the SQL functions: the rows stay byte for byte,
// other connections see the new definition, rows that predate ADD COLUMN
// keep their value when a DEFAULT changes, a failure leaves neither the
// edit nor writable_schema behind, and a rollback refuses to bring back a
// rule that rows written since break.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "support/apply_support.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr const char *kNoBackup = R"({"backup": "never"})";

// Every row of `table` with each value as quote() renders it (type and
// bytes: 1, '1' and X'31' differ), by rowid.
std::string QuotedRows(sqlite3 *db, const std::string &table) {
  std::string cols;
  for (const Row &r :
       QueryRows(db, "SELECT name FROM pragma_table_info(?1)", {table}))
    cols += " || ',' || quote(" + QuoteId(r[0]) + ")";
  std::string out;
  for (const Row &r : QueryRows(db, "SELECT rowid" + cols + " FROM " +
                                        QuoteId(table) + " ORDER BY rowid"))
    out += r[0] + "\n";
  return out;
}

// The rows part of DumpDatabase (the schema lines are expected to change).
std::string DataLines(sqlite3 *db) {
  std::string out;
  std::string dump = DumpDatabase(db);
  size_t pos = 0;
  while (pos < dump.size()) {
    size_t end = dump.find('\n', pos);
    std::string line = dump.substr(pos, end - pos);
    if (line.rfind("schema: ", 0) != 0)
      out += line + "\n";
    pos = end == std::string::npos ? dump.size() : end + 1;
  }
  return out;
}

std::string Apply(TestDb &db, const std::string &desired,
                  const std::string &options = kNoBackup) {
  return db.QueryString("SELECT migrate_apply(?1, ?2)", {desired, options});
}

std::string ApplyError(TestDb &db, const std::string &desired,
                       const std::string &options = kNoBackup) {
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_apply(?1, ?2)",
                            {desired, options}, &rows, &error));
  return error;
}

std::string TableSql(sqlite3 *db, const std::string &table) {
  return QueryString(
      db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1",
      {table});
}

const char *kLive = "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                    "CREATE TABLE t(id INTEGER PRIMARY KEY, b VARCHAR(20) NOT "
                    "NULL, c INT CHECK (c > 0), "
                    "d TEXT DEFAULT CURRENT_TIMESTAMP, e INT REFERENCES p(id), "
                    "CHECK (length(b) < 5));"
                    "CREATE INDEX t_b ON t(b);"
                    "INSERT INTO p VALUES (1), (2);"
                    "INSERT INTO t(b, c, d, e) VALUES ('x', 1, 'a', 1), ('yy', "
                    "2, NULL, 2), ('007', 3, X'00', "
                    "NULL), ('1.5', 4, 2.5, 1);";
const char *kDesired = "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                       "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, "
                       "d TEXT DEFAULT 'none', e INT);"
                       "CREATE INDEX t_b ON t(b);";

TEST(ApplyInPlace, EveryAllowedChangeKeepsTheRowsByteForByte) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  std::vector<PlanRow> plan = db.PlanRows(kDesired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  ASSERT_EQ(plan[0].op, "alter_table_in_place") << FormatPlan(plan);
  const std::string rows_before = QuotedRows(db.db(), "t");
  const std::string data_before = DataLines(db.db());
  const int64_t version_before = SchemaVersion(db.db());

  Apply(db, kDesired);
  EXPECT_EQ(QuotedRows(db.db(), "t"), rows_before);
  EXPECT_EQ(DumpDifference(data_before, DataLines(db.db())), "");
  EXPECT_GT(SchemaVersion(db.db()), version_before);
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  EXPECT_EQ(db.QueryInt("PRAGMA writable_schema"), 0);
  EXPECT_TRUE(db.PlanRows(kDesired).empty())
      << FormatPlan(db.PlanRows(kDesired));
  // The loosened rules are gone for this connection ...
  EXPECT_TRUE(db.Exec("INSERT INTO t(b, c, e) VALUES (NULL, -1, 99)"));
  EXPECT_EQ(db.QueryString("SELECT d FROM t WHERE c = -1"), "none");
  EXPECT_EQ(db.QueryString("SELECT typeof(b) FROM t WHERE id = 3"), "text");
  // ... the history has the step, and no scratch object is left behind.
  EXPECT_EQ(db.QueryString("SELECT op || ' ' || status FROM migration_history"),
            "alter_table_in_place applied");
  EXPECT_EQ(db.QueryInt(
                "SELECT count(*) FROM sqlite_schema WHERE name LIKE '%bump%'"),
            0);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_temp_schema"), 0);
}

TEST(ApplyInPlace, ASecondConnectionOpenedBeforeSeesTheNewDefinition) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Connection other(db.path());
  ASSERT_TRUE(other.ok());
  // It has read the schema already.
  ASSERT_EQ(QueryInt(other.db(), "SELECT count(*) FROM t"), 4);
  Apply(db, kDesired);
  ASSERT_TRUE(Exec(other.db(), "INSERT INTO t(b, c) VALUES (NULL, 0)"));
  EXPECT_EQ(QueryString(other.db(), "SELECT d FROM t WHERE c = 0"), "none");
}

TEST(ApplyInPlace, ChangedDefaultKeepsTheValueOfRowsOlderThanTheirColumn) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(
      "CREATE TABLE t(a); INSERT INTO t VALUES (1);"
      "ALTER TABLE t ADD COLUMN b DEFAULT 5; INSERT INTO t(a) VALUES (2);"
      "INSERT INTO t VALUES (3, 7);"));
  const std::string rows_before = QuotedRows(db.db(), "t");
  ASSERT_EQ(rows_before, "1,1,5\n2,2,5\n3,3,7\n");
  const std::string desired = "CREATE TABLE t(a, b DEFAULT 9);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "alter_table_in_place");
  Apply(db, desired);
  EXPECT_EQ(QuotedRows(db.db(), "t"), rows_before);
  ASSERT_TRUE(db.Exec("INSERT INTO t(a) VALUES (4)"));
  EXPECT_EQ(db.QueryString("SELECT b FROM t WHERE a = 4"), "9");
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  EXPECT_TRUE(db.PlanRows(desired).empty());
}

TEST(ApplyInPlace, ADefaultForAColumnThatHadNoneKeepsTheNullsOfOlderRows) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(a); INSERT INTO t VALUES (1); ALTER "
                      "TABLE t ADD COLUMN b;"));
  Apply(db, "CREATE TABLE t(a, b DEFAULT 'z');");
  EXPECT_EQ(QuotedRows(db.db(), "t"), "1,1,NULL\n");
}

TEST(ApplyInPlace, WithAddColumnInOneBatch) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  const std::string desired =
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT CHECK (c > 0), "
      "d TEXT DEFAULT CURRENT_TIMESTAMP, e INT REFERENCES p(id), f INT DEFAULT "
      "3, "
      "CHECK (length(b) < 5));"
      "CREATE INDEX t_b ON t(b);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 2u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "add_column");
  EXPECT_EQ(plan[1].op, "alter_table_in_place");
  const std::string rows_before = QuotedRows(db.db(), "p");
  Apply(db, desired);
  EXPECT_EQ(db.QueryString("SELECT group_concat(f) FROM t"), "3,3,3,3");
  EXPECT_EQ(QuotedRows(db.db(), "p"), rows_before);
  EXPECT_TRUE(db.PlanRows(desired).empty()) << FormatPlan(db.PlanRows(desired));
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  // Rolled back by SQL: the old definition, the new column gone.
  db.QueryString("SELECT migrate_rollback()");
  EXPECT_EQ(db.PlanRows(kDesired).size(), 1u);
  EXPECT_EQ(
      db.QueryInt(
          "SELECT \"notnull\" FROM pragma_table_info('t') WHERE name = 'b'"),
      1);
  EXPECT_EQ(db.QueryInt(
                "SELECT count(*) FROM pragma_table_info('t') WHERE name = 'f'"),
            0);
}

TEST(ApplyInPlace, ScriptInTheShellGivesTheSameSchema) {
  TestDb applied, scripted;
  ASSERT_TRUE(applied.ok() && scripted.ok());
  ASSERT_TRUE(applied.Exec(kLive));
  ASSERT_TRUE(scripted.Exec(kLive));
  const std::string script = scripted.QueryString("SELECT migrate_script(?1)",
                                                  {std::string(kDesired)});
  ASSERT_NE(script.find("writable_schema=ON"), std::string::npos) << script;
  const std::string rows_before = QuotedRows(scripted.db(), "t");
  scripted.Close();
  ShellResult r = RunShellScript(scripted.path(), script);
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  ASSERT_TRUE(scripted.Reopen());
  Apply(applied, kDesired);
  EXPECT_EQ(TableSql(scripted.db(), "t"), TableSql(applied.db(), "t"));
  EXPECT_EQ(QuotedRows(scripted.db(), "t"), rows_before);
  EXPECT_EQ(IntegrityCheck(scripted.db()), "ok");
  EXPECT_TRUE(scripted.PlanRows(kDesired).empty());
}

TEST(ApplyInPlace, RollbackBySqlRestoresTheDefinition) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  const std::string sql_before = TableSql(db.db(), "t");
  const std::string rows_before = QuotedRows(db.db(), "t");
  Apply(db, kDesired);
  Connection other(db.path());
  ASSERT_EQ(QueryInt(other.db(), "SELECT count(*) FROM t"), 4);
  std::string report = db.QueryString("SELECT migrate_rollback()");
  EXPECT_NE(report.find("\"method\":\"sql\""), std::string::npos) << report;
  EXPECT_EQ(TableSql(db.db(), "t"), sql_before);
  EXPECT_EQ(QuotedRows(db.db(), "t"), rows_before);
  EXPECT_EQ(db.QueryInt("PRAGMA writable_schema"), 0);
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
  // NOT NULL is back, for this connection and for the other one.
  std::string error;
  EXPECT_FALSE(
      TryExec(db.db(), "INSERT INTO t(b, c) VALUES (NULL, 1)", &error));
  EXPECT_NE(error.find("NOT NULL"), std::string::npos) << error;
  EXPECT_FALSE(
      TryExec(other.db(), "INSERT INTO t(b, c) VALUES (NULL, 1)", &error));
  EXPECT_NE(error.find("NOT NULL"), std::string::npos) << error;
}

// Rows written after the migration that break a rule the rollback would
// bring back: the rollback fails, naming the rule, and changes nothing.
void ExpectRollbackRefused(const std::string &violation,
                           const std::string &message) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Apply(db, kDesired);
  ASSERT_TRUE(db.Exec(violation));
  const std::string dump_before = DumpDatabase(db.db());
  Rows rows;
  std::string error;
  EXPECT_FALSE(
      TryQueryRows(db.db(), "SELECT migrate_rollback()", {}, &rows, &error));
  EXPECT_NE(error.find(message), std::string::npos) << error;
  EXPECT_EQ(DumpDifference(dump_before, DumpDatabase(db.db())), "");
  EXPECT_EQ(db.QueryInt("PRAGMA writable_schema"), 0);
  EXPECT_TRUE(db.PlanRows(kDesired).empty())
      << "the connection must see the migrated schema";
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
}

TEST(ApplyInPlace, RollbackRefusesNullsUnderRestoredNotNull) {
  ExpectRollbackRefused("INSERT INTO t(b, c) VALUES (NULL, 1)",
                        "t.b holds NULLs, so NOT NULL cannot come back");
}

TEST(ApplyInPlace, RollbackRefusesRowsBreakingARestoredCheck) {
  ExpectRollbackRefused("INSERT INTO t(b, c) VALUES ('q', -5)",
                        "violate CHECK (c > 0)");
  ExpectRollbackRefused("INSERT INTO t(b, c) VALUES ('qqqqqqq', 5)",
                        "violate CHECK (length(b) < 5)");
}

TEST(ApplyInPlace, RollbackRefusesOrphansOfARestoredForeignKey) {
  ExpectRollbackRefused("INSERT INTO t(b, c, e) VALUES ('q', 5, 42)",
                        "violate its FOREIGN KEYs");
}

TEST(ApplyInPlace, AFailedBatchLeavesNoEditBehind) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  // A rebuild after the in-place step fails the final foreign-key check: the
  // whole batch is rolled back, the edit with it.
  ASSERT_TRUE(db.Exec(kLive));
  ASSERT_TRUE(db.Exec(
      "CREATE TABLE k(id INTEGER PRIMARY KEY, v INTEGER REFERENCES p(id));"
      "INSERT INTO k VALUES (1, 77);"));
  const std::string desired =
      std::string(kDesired) +
      "CREATE TABLE k(id INTEGER PRIMARY KEY, v TEXT REFERENCES p(id));";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 2u) << FormatPlan(plan);
  const std::string dump_before = DumpDatabase(db.db());
  std::string error = ApplyError(db, desired);
  EXPECT_NE(error.find("foreign key check failed"), std::string::npos) << error;
  EXPECT_EQ(DumpDifference(dump_before, DumpDatabase(db.db())), "");
  EXPECT_EQ(db.QueryInt("PRAGMA writable_schema"), 0);
  // This connection's in-memory schema is the file's again: NOT NULL holds.
  std::string insert_error;
  EXPECT_FALSE(
      TryExec(db.db(), "INSERT INTO t(b, c) VALUES (NULL, 1)", &insert_error));
  EXPECT_NE(insert_error.find("NOT NULL"), std::string::npos) << insert_error;
  EXPECT_EQ(
      db.QueryString(
          "SELECT status FROM migration_batches ORDER BY batch DESC LIMIT 1"),
      "failed");
}

TEST(ApplyInPlace, DryRunLeavesNoEditBehind) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  const std::string dump_before = DumpDatabase(db.db());
  Apply(db, kDesired, R"({"dry_run": true})");
  EXPECT_EQ(
      db.QueryString(
          "SELECT dflt_value FROM pragma_table_info('t') WHERE name = 'd'"),
      "CURRENT_TIMESTAMP");
  EXPECT_EQ(db.QueryInt("PRAGMA writable_schema"), 0);
  EXPECT_EQ(db.PlanRows(kDesired).size(), 1u);
  std::string dump_after = DumpDatabase(db.db());
  // Only the history rows of the dry run differ (they are _automigrate_ rows,
  // not in the dump).
  EXPECT_EQ(DumpDifference(dump_before, dump_after), "");
}

TEST(ApplyInPlace, InsideACallersTransaction) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  ASSERT_TRUE(db.Exec("BEGIN"));
  Apply(db, kDesired);
  EXPECT_TRUE(db.PlanRows(kDesired).empty());
  ASSERT_TRUE(db.Exec("ROLLBACK"));
  // The caller's ROLLBACK undoes the edit for this connection too.
  EXPECT_EQ(
      db.QueryString(
          "SELECT dflt_value FROM pragma_table_info('t') WHERE name = 'd'"),
      "CURRENT_TIMESTAMP");
  EXPECT_EQ(db.PlanRows(kDesired).size(), 1u);
  EXPECT_EQ(IntegrityCheck(db.db()), "ok");
}

TEST(ApplyInPlace, AttachedSchema) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  const std::string aux = (db.dir() / "aux.db").string();
  ASSERT_TRUE(db.Exec("ATTACH '" + aux + "' AS aux"));
  ASSERT_TRUE(db.Exec("CREATE TABLE aux.t(a, b NOT NULL DEFAULT 1); INSERT "
                      "INTO aux.t VALUES (1, 2);"));
  const std::string desired = "CREATE TABLE t(a, b DEFAULT 1);";
  const std::string options = R"({"schema": "aux", "backup": "never"})";
  std::vector<PlanRow> plan = db.PlanRows(desired, options);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "alter_table_in_place");
  Apply(db, desired, options);
  EXPECT_TRUE(db.PlanRows(desired, options).empty());
  EXPECT_EQ(db.QueryInt("SELECT \"notnull\" FROM pragma_table_info('t', 'aux') "
                        "WHERE name = 'b'"),
            0);
  EXPECT_EQ(IntegrityCheck(db.db(), "aux"), "ok");
  EXPECT_EQ(
      db.QueryString("SELECT sql FROM aux.sqlite_schema WHERE name = 't'"),
      "CREATE TABLE t(a, b DEFAULT 1)");
}

} // namespace
} // namespace automigrate::testing
