// tests/planner_inplace_test.cc -- which table changes become one
// alter_table_in_place step (an edit of the stored CREATE TABLE text, no row
// rewritten) and which still rebuild: SQLite's "simpler procedure" covers
// only changes that leave the stored records readable as they are.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "core/plan.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

std::string Ops(const std::vector<PlanRow> &rows) {
  std::string out;
  for (const PlanRow &r : rows)
    out += (out.empty() ? "" : ",") + r.op;
  return out;
}

// Plans `desired` on a database holding `live` plus three rows.
std::vector<PlanRow> PlanOn(TestDb &db, const std::string &live,
                            const std::string &rows, const std::string &desired,
                            const std::string &options = "") {
  EXPECT_TRUE(db.Exec(live));
  if (!rows.empty()) {
    EXPECT_TRUE(db.Exec(rows));
  }
  return db.PlanRows(desired, options);
}

void ExpectInPlace(const std::string &live, const std::string &rows,
                   const std::string &desired, const std::string &reason_part) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(db, live, rows, desired);
  ASSERT_EQ(Ops(plan), "alter_table_in_place") << FormatPlan(plan);
  EXPECT_EQ(plan[0].object_type, "table");
  EXPECT_EQ(plan[0].complexity, "SIMPLE") << FormatPlan(plan);
  EXPECT_FALSE(plan[0].destructive);
  EXPECT_EQ(plan[0].est_rows, 0) << FormatPlan(plan);
  EXPECT_NE(plan[0].reason.find(reason_part), std::string::npos)
      << plan[0].reason;
  EXPECT_NE(plan[0].reason.find("in place (no row is rewritten)"),
            std::string::npos)
      << plan[0].reason;
  EXPECT_NE(plan[0].sql.find("PRAGMA writable_schema=ON;"), std::string::npos);
  EXPECT_NE(plan[0].sql.find("PRAGMA writable_schema=RESET;"),
            std::string::npos);
  EXPECT_EQ(plan[0].sql.find("UPDATE \"t\""), std::string::npos)
      << "no row may be touched\n"
      << plan[0].sql;
  ASSERT_TRUE(plan[0].rollback_sql.has_value());
  EXPECT_NE(plan[0].rollback_sql->find("writable_schema=RESET"),
            std::string::npos);
}

void ExpectRebuild(const std::string &live, const std::string &desired,
                   const std::string &reason_part,
                   const std::string &options = "") {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(
      db, live, "INSERT INTO t DEFAULT VALUES; INSERT INTO t DEFAULT VALUES;",
      desired, options);
  bool rebuild = false;
  for (const PlanRow &r : plan) {
    EXPECT_NE(r.op, "alter_table_in_place") << FormatPlan(plan);
    if (r.op == "rebuild_table") {
      rebuild = true;
      EXPECT_NE(r.reason.find(reason_part), std::string::npos) << r.reason;
    }
  }
  EXPECT_TRUE(rebuild) << FormatPlan(plan);
}

const char *kRows = "INSERT INTO t(b, c) VALUES ('x', 1), ('y', 2), (NULL, 3);";

TEST(PlannerInPlace, DropsNotNull) {
  ExpectInPlace(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT '', c "
      "INT);",
      "INSERT INTO t(b, c) VALUES ('x', 1), ('y', 2);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT '', c INT);",
      "drops NOT NULL on b");
}

TEST(PlannerInPlace, DropsTableAndColumnChecks) {
  ExpectInPlace(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT CHECK (c > 0), "
      "CHECK (length(b) < 10));",
      kRows, "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT);",
      "drops CHECK constraints");
}

TEST(PlannerInPlace, RenamesCheckConstraint) {
  ExpectInPlace("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, "
                "CONSTRAINT c_pos CHECK (c > 0));",
                kRows,
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, "
                "CONSTRAINT c_positive CHECK (c > 0));",
                "CHECK constraint names");
}

TEST(PlannerInPlace, DropsForeignKey) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE t(id "
             "INTEGER PRIMARY KEY, b TEXT, "
             "c INT REFERENCES p(id));",
             "INSERT INTO p VALUES (1); INSERT INTO t(b, c) VALUES ('x', 1);",
             "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE t(id "
             "INTEGER PRIMARY KEY, b TEXT, "
             "c INT);");
  ASSERT_EQ(Ops(plan), "alter_table_in_place") << FormatPlan(plan);
  EXPECT_NE(plan[0].reason.find("drops FOREIGN KEY"), std::string::npos)
      << plan[0].reason;
  // The rollback brings the key back only if no row breaks it.
  EXPECT_NE(plan[0].rollback_sql->find("pragma_foreign_key_check('t', 'main')"),
            std::string::npos)
      << *plan[0].rollback_sql;
}

TEST(PlannerInPlace, SameAffinityTypeChange) {
  ExpectInPlace("CREATE TABLE t(id INTEGER PRIMARY KEY, b VARCHAR(20), c INT);",
                kRows,
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c BIGINT);",
                "type of b: VARCHAR(20) -> TEXT (same affinity)");
}

TEST(PlannerInPlace, DefaultOfAColumnNoRowCanLack) {
  // A column with a non-constant DEFAULT, or NOT NULL without one, was never
  // added by ADD COLUMN: no short record can hide its DEFAULT.
  ExpectInPlace(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT "
      "CURRENT_TIMESTAMP, c INT);",
      kRows,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'now', c INT);",
      "DEFAULT of b");
  ExpectInPlace(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL, c INT);",
      "INSERT INTO t(b, c) VALUES ('x', 1);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'z', c "
      "INT);",
      "DEFAULT of b");
}

TEST(PlannerInPlace, DefaultChangeThatShortRecordsCanHideScansTheTable) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(a); CREATE TRIGGER tr AFTER UPDATE ON t BEGIN "
             "SELECT 1; END;",
             "INSERT INTO t VALUES (1); ALTER TABLE t ADD COLUMN b DEFAULT 5;",
             "CREATE TABLE t(a, b DEFAULT 9); CREATE TRIGGER tr AFTER UPDATE "
             "ON t BEGIN "
             "SELECT 1; END;");
  // The trigger must not fire on the UPDATE that writes the old DEFAULT out.
  ASSERT_EQ(Ops(plan), "drop_trigger,alter_table_in_place,create_trigger")
      << FormatPlan(plan);
  const PlanRow &s = plan[1];
  EXPECT_NE(s.sql.find("UPDATE \"t\" SET \"b\" = \"b\" WHERE \"b\" IS (5);"),
            std::string::npos)
      << s.sql;
  EXPECT_LT(s.sql.find("UPDATE \"t\""), s.sql.find("writable_schema=ON"))
      << s.sql;
  EXPECT_EQ(s.est_rows, 1);
  EXPECT_EQ(s.complexity, "MODERATE");
  EXPECT_NE(s.reason.find("old DEFAULT of b"), std::string::npos) << s.reason;
}

TEST(PlannerInPlace, CombinesWithAddColumn) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(
      db, "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL, c INT);", "",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, d TEXT DEFAULT "
      "'n');");
  ASSERT_EQ(Ops(plan), "add_column,alter_table_in_place") << FormatPlan(plan);
  // The edit writes the desired text, new column included; its rollback
  // restores the text ADD COLUMN left.
  EXPECT_NE(plan[1].sql.find("d TEXT DEFAULT ''n''"), std::string::npos)
      << plan[1].sql;
  EXPECT_NE(plan[1].rollback_sql->find(
                "b TEXT NOT NULL, c INT, d TEXT DEFAULT ''n''"),
            std::string::npos)
      << *plan[1].rollback_sql;
}

TEST(PlannerInPlace, ForbiddenChangesStillRebuild) {
  ExpectRebuild(
      "CREATE TABLE t(id INT PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');",
      "type of id");
  ExpectRebuild("CREATE TABLE t(id INTEGER PRIMARY KEY, b INTEGER);",
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT);", "type of b");
  ExpectRebuild(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT COLLATE NOCASE DEFAULT "
      "'x');",
      "COLLATE of b");
  ExpectRebuild(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b INT, c INT) STRICT;",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b INTEGER, c INT) STRICT;",
      "type of b");
  ExpectRebuild("CREATE TABLE t(id INTEGER PRIMARY KEY, b INT, g INT GENERATED "
                "ALWAYS AS (b + 1));",
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b INT, g INT GENERATED "
                "ALWAYS AS (b + 2));",
                "generated column g");
  ExpectRebuild("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL "
                "DEFAULT 'x', c INT);",
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x', c "
                "INT UNIQUE);",
                "PRIMARY KEY/UNIQUE constraints");
  // Tightening a rule must look at every row.
  ExpectRebuild(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');",
      "adds NOT NULL on b");
  ExpectRebuild("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');",
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x' "
                "CHECK (b <> ''));",
                "CHECK constraints");
  // NOT NULL stays on PRIMARY KEY columns without a rebuild.
  ExpectRebuild(
      "CREATE TABLE t(id INT NOT NULL DEFAULT 0, b TEXT, PRIMARY KEY (id, b));",
      "CREATE TABLE t(id INT DEFAULT 0, b TEXT, PRIMARY KEY (id, b));",
      "drops NOT NULL on id");
}

TEST(PlannerInPlace, ColumnOrderMustMatchTheRecordEvenWhenIgnored) {
  ExpectRebuild(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x', c "
      "INT);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, c INT, b TEXT DEFAULT 'x');",
      "not in place: the stored column order differs");
}

TEST(PlannerInPlace, UniqueConstraintOrderDecidesAutoindexNames) {
  // Same constraints, other order: sqlite_autoindex_t_1 would name the
  // other b-tree.
  ExpectRebuild("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, d TEXT "
                "NOT NULL DEFAULT 'x', "
                "UNIQUE (b), UNIQUE (c));",
                "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, c INT, d TEXT "
                "DEFAULT 'x', UNIQUE (c), "
                "UNIQUE (b));",
                "not in place: the rows would be stored differently");
}

TEST(PlannerInPlace, OptionInPlaceFalseRebuilds) {
  ExpectRebuild(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');",
      "not in place: option in_place is false", R"({"in_place": false})");
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::string error;
  std::vector<PlanRow> rows;
  EXPECT_FALSE(TryPlanRows(db.db(), "CREATE TABLE t(a);", R"({"in_place": 1})",
                           &rows, &error));
  EXPECT_NE(error.find("in_place"), std::string::npos) << error;
}

TEST(PlannerInPlace, DefensiveModeRebuilds) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_EQ(sqlite3_db_config(db.db(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr),
            SQLITE_OK);
  std::vector<PlanRow> plan = PlanOn(
      db,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');",
      "INSERT INTO t DEFAULT VALUES;",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');");
  ASSERT_EQ(Ops(plan), "rebuild_table") << FormatPlan(plan);
  EXPECT_NE(
      plan[0].reason.find("not in place: the connection is in defensive mode"),
      std::string::npos)
      << plan[0].reason;
  // And the rebuild works there.
  ASSERT_TRUE(db.Exec(
      "SELECT migrate_apply('CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT "
      "DEFAULT ''x'');', '{\"backup\": \"never\"}')"));
  EXPECT_EQ(
      db.QueryInt(
          "SELECT \"notnull\" FROM pragma_table_info('t') WHERE name = 'b'"),
      0);
  EXPECT_TRUE(
      db.PlanRows("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');")
          .empty());
}

struct DbCloser {
  void operator()(sqlite3 *db) const noexcept { sqlite3_close_v2(db); }
};

TEST(PlannerInPlace, OlderSqliteRebuilds) {
  sqlite3 *raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(":memory:", &raw,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr),
            SQLITE_OK);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  ASSERT_TRUE(Exec(
      raw,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT NOT NULL DEFAULT 'x');"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT DEFAULT 'x');";
  PlanOptions now;
  Result<Plan> plan = PlanMigration(raw, desired, now);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->steps.size(), 1u);
  EXPECT_EQ(plan->steps[0].op, Op::kAlterTableInPlace);
  PlanOptions old;
  old.sqlite_version = 3032003;
  plan = PlanMigration(raw, desired, old);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->steps.size(), 1u);
  EXPECT_EQ(plan->steps[0].op, Op::kRebuildTable);
  EXPECT_NE(plan->steps[0].reason.find("needs SQLite 3.33"), std::string::npos)
      << plan->steps[0].reason;
  // The rebuild's script converges on that connection.
  ASSERT_TRUE(Exec(raw, plan->Script()));
  plan = PlanMigration(raw, desired, now);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

} // namespace
} // namespace automigrate::testing
