// tests/planner_columns_test.cc -- the planner end to end, column by column:
// every column difference of DESIGN.md step 3 on a table with rows, planned
// through migrate_plan/migrate_script and run in the sqlite3 shell with
// foreign keys on (tests/support/migrate_check.h). Each test pins the
// strategy (ALTER TABLE or rebuild, and why) and the data afterwards.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kTable = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);";
constexpr std::string_view kRows = "INSERT INTO t(id, a) VALUES (1, 'x'), (2, NULL), (5, 'z');";

// The only step is `op` on `object`, and no table is rebuilt.
void ExpectOnlyStep(const MigrateResult& r, std::string_view op, std::string_view object) {
  ASSERT_EQ(r.plan.size(), 1u) << r.Describe();
  EXPECT_EQ(r.plan[0].op, op) << r.Describe();
  EXPECT_EQ(r.plan[0].object, object) << r.Describe();
  EXPECT_FALSE(r.HasOp("rebuild_table")) << r.Describe();
}

// One rebuild_table step of `table` whose reason mentions `reason`.
void ExpectRebuild(const MigrateResult& r, std::string_view table, std::string_view reason) {
  std::vector<const PlanRow*> steps = r.Steps("rebuild_table", table);
  ASSERT_EQ(steps.size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(steps[0]->reason, reason))
      << "reason should mention \"" << reason << "\"" << r.Describe();
}

// ------------------------------------------------------------------ add column

TEST(PlannerAddColumn, AddsPlainColumnWithAlter) {
  MigrateResult r = MigrateAndCheck(kTable, kRows,
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
  EXPECT_FALSE(r.plan[0].destructive);
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "b"}),
            (Rows{{"1", "x", "NULL"}, {"2", "NULL", "NULL"}, {"5", "z", "NULL"}}));
}

TEST(PlannerAddColumn, AddsColumnWithConstantDefaultWithAlter) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows, "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER DEFAULT 7);");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "b"}),
            (Rows{{"1", "x", "7"}, {"2", "NULL", "7"}, {"5", "z", "7"}}));
}

TEST(PlannerAddColumn, AddsNotNullColumnWithDefaultWithAlter) {
  MigrateResult r =
      MigrateAndCheck(kTable, kRows,
                      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL DEFAULT 'n');");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
  EXPECT_EQ(r.db->TableRows("t", {"id", "b"}), (Rows{{"1", "n"}, {"2", "n"}, {"5", "n"}}));
}

TEST(PlannerAddColumn, AddsColumnWithCheckSatisfiedByDefaultWithAlter) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER DEFAULT 3 CHECK (b > 0));");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
  EXPECT_TRUE(r.plan[0].warning.empty()) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t", {"id", "b"}), (Rows{{"1", "3"}, {"2", "3"}, {"5", "3"}}));
  // The CHECK is live after the migration.
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t(id, b) VALUES (9, -1)"));
}

TEST(PlannerAddColumn, AddsVirtualGeneratedColumnWithAlter) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, "
      "b INTEGER GENERATED ALWAYS AS (id * 2) VIRTUAL);");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
  EXPECT_EQ(r.db->TableRows("t", {"id", "b"}), (Rows{{"1", "2"}, {"2", "4"}, {"5", "10"}}));
}

TEST(PlannerAddColumn, RebuildsForUniqueColumn) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows, "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, u TEXT UNIQUE);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column u cannot be added with ALTER TABLE: it is UNIQUE");
  EXPECT_FALSE(r.HasOp("add_column")) << r.Describe();
  EXPECT_FALSE(r.plan.empty() || r.plan[0].destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "u"}),
            (Rows{{"1", "x", "NULL"}, {"2", "NULL", "NULL"}, {"5", "z", "NULL"}}));
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t").size(), 3u);
}

TEST(PlannerAddColumn, RebuildsWhenANewIntegerPrimaryKeyIsAdded) {
  // drizzle #4549: adding a PK must not SELECT the not-yet-existing column.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(a TEXT, b TEXT);",
      "INSERT INTO t(rowid, a, b) VALUES (3, 'x', 'p'), (7, 'y', 'q'), (8, NULL, 'r');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "PRIMARY KEY");
  // The old rowids become the new INTEGER PRIMARY KEY: nothing is renumbered.
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "b"}),
            (Rows{{"3", "x", "p"}, {"7", "y", "q"}, {"8", "NULL", "r"}}));
}

TEST(PlannerAddColumn, RebuildsForNonConstantDefault) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, created TEXT DEFAULT CURRENT_TIMESTAMP);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column created cannot be added with ALTER TABLE: its DEFAULT is not constant");
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM t WHERE created IS NULL"), 0);
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM t WHERE created GLOB '2[0-9][0-9][0-9]-*'"), 3);
  EXPECT_EQ(r.db->TableRows("t", {"id", "a"}), (Rows{{"1", "x"}, {"2", "NULL"}, {"5", "z"}}));
}

TEST(PlannerAddColumn, RebuildsForStoredGeneratedColumn) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows,
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, "
      "b INTEGER GENERATED ALWAYS AS (id * 2) STORED);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column b cannot be added with ALTER TABLE: it is a STORED generated column");
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "b"}),
            (Rows{{"1", "x", "2"}, {"2", "NULL", "4"}, {"5", "z", "10"}}));
}

TEST(PlannerAddColumn, RebuildsEmptyTableForNotNullWithoutDefault) {
  MigrateResult r = MigrateAndCheck(kTable, "",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t",
                "column b cannot be added with ALTER TABLE: it is NOT NULL without a non-NULL "
                "DEFAULT");
  EXPECT_TRUE(r.plan[0].warning.empty()) << r.Describe();
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
}

TEST(PlannerAddColumn, WarnsWithCountForNotNullWithoutDefaultOnRows) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kTable) + std::string(kRows)));
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT NOT NULL);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table") << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "3 rows of t.b violate NOT NULL")) << FormatPlan(plan);
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  EXPECT_TRUE(Contains(StatusWarnings(status), "3 rows of t.b violate NOT NULL")) << status;
}

TEST(PlannerAddColumn, ReferencesColumnWithDefaultRunsUnderForeignKeysOn) {
  // SQLite refuses ALTER TABLE ADD COLUMN ... REFERENCES ... DEFAULT <non-NULL>
  // while foreign keys are on. migrate_script's output may run on any
  // connection (MigrateAndCheck runs it with foreign_keys=ON), so a plan made
  // on a connection with foreign keys off must still produce a script that
  // works there.
  const std::string parent = "CREATE TABLE p(id INTEGER PRIMARY KEY);";
  MigrateResult r = MigrateAndCheck(
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY);",
      "INSERT INTO p VALUES (1); INSERT INTO c VALUES (10), (11);",
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT DEFAULT 1 REFERENCES p(id));");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}, {"11", "1"}}));
}

TEST(PlannerAddColumn, ReferencesColumnWithDefaultPlannedWithForeignKeysOnRebuilds) {
  const std::string parent = "CREATE TABLE p(id INTEGER PRIMARY KEY);";
  MigrateResult r = MigrateAndCheck(
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY);",
      "INSERT INTO p VALUES (1); INSERT INTO c VALUES (10), (11);",
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT DEFAULT 1 REFERENCES p(id));", "",
      {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "c", "REFERENCES clause and a non-NULL DEFAULT");
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}, {"11", "1"}}));
}

TEST(PlannerAddColumn, ReferencesColumnWithoutDefaultUsesAlter) {
  const std::string parent = "CREATE TABLE p(id INTEGER PRIMARY KEY);";
  MigrateResult r = MigrateAndCheck(
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY);",
      "INSERT INTO p VALUES (1); INSERT INTO c VALUES (10);",
      parent + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "c.pid");
}

// ----------------------------------------------------------------- drop column

TEST(PlannerDropColumn, DropsPlainColumnWithAlterAndMarksItDestructive) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
                                    "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', 'q');", kTable);
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "drop_column", "t.b");
  EXPECT_TRUE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].warning, "t.b")) << r.Describe();
  EXPECT_FALSE(r.plan[0].rollback_sql.has_value()) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(PlannerDropColumn, DropsColumnWithItsOwnCheckWithAlter) {
  // SQLite refuses DROP COLUMN only for CHECKs of *other* columns.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT CHECK (b > 0));",
      "INSERT INTO t VALUES (1, 'x', 3), (2, 'y', 4);", kTable);
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "drop_column", "t.b");
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(PlannerDropColumn, DropsTheIndexBeforeAnIndexedColumn) {
  // ALTER TABLE DROP COLUMN fails on an indexed column: the index must go first.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
      "CREATE INDEX t_b ON t(b); CREATE INDEX t_ab ON t(a, b);"
      "CREATE INDEX t_a_where ON t(a) WHERE b IS NOT NULL;",
      "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', NULL);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
      "CREATE INDEX t_ab ON t(a); CREATE INDEX t_a_where ON t(a) WHERE a IS NOT NULL;");
  ASSERT_TRUE(r.db);
  EXPECT_FALSE(r.HasOp("rebuild_table")) << r.Describe();
  ASSERT_TRUE(r.HasOp("drop_column", "t.b")) << r.Describe();
  int drop_column_step = static_cast<int>(r.Steps("drop_column", "t.b")[0]->step);
  for (const char* ix : {"t_b", "t_ab", "t_a_where"}) {
    std::vector<const PlanRow*> drops = r.Steps("drop_index", ix);
    ASSERT_EQ(drops.size(), 1u) << ix << r.Describe();
    EXPECT_LT(drops[0]->step, drop_column_step) << ix << r.Describe();
  }
  for (const char* ix : {"t_ab", "t_a_where"}) {
    std::vector<const PlanRow*> creates = r.Steps("create_index", ix);
    ASSERT_EQ(creates.size(), 1u) << ix << r.Describe();
    EXPECT_GT(creates[0]->step, drop_column_step) << ix << r.Describe();
  }
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(PlannerDropColumn, RebuildsWhenAnotherColumnsCheckNamesIt) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b INT, CHECK (b > a));",
      "INSERT INTO t VALUES (1, 1, 2), (2, 5, 9);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column b cannot be dropped with ALTER TABLE: a CHECK names it");
  EXPECT_FALSE(r.HasOp("drop_column")) << r.Describe();
  EXPECT_TRUE(r.Steps("rebuild_table", "t")[0]->destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "1"}, {"2", "5"}}));
}

TEST(PlannerDropColumn, RebuildsWhenTheColumnIsInAForeignKey) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id), a TEXT);",
      "INSERT INTO p VALUES (1), (2); INSERT INTO t VALUES (10, 1, 'x'), (11, 2, 'y');",
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column pid cannot be dropped with ALTER TABLE: it is in a FOREIGN KEY");
  EXPECT_TRUE(r.Steps("rebuild_table", "t")[0]->destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"10", "x"}, {"11", "y"}}));
  EXPECT_EQ(r.db->TableRows("p"), (Rows{{"1"}, {"2"}}));
}

TEST(PlannerDropColumn, RebuildsForAUniqueColumn) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, u TEXT UNIQUE);",
      "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', 'q');", kTable);
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column u cannot be dropped with ALTER TABLE: it is UNIQUE");
  EXPECT_TRUE(r.Steps("rebuild_table", "t")[0]->destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(PlannerDropColumn, RebuildsForAPrimaryKeyColumn) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(code TEXT PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES ('k1', 'x'), ('k2', 'y');",
                                    "CREATE TABLE t(a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column code cannot be dropped with ALTER TABLE: it is part of the PRIMARY KEY");
  EXPECT_TRUE(r.Steps("rebuild_table", "t")[0]->destructive) << r.Describe();
  // Rowids survive (both are rowid tables).
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"), Pick(r.rows_before.at("t"), {0, 2}));
}

TEST(PlannerDropColumn, RebuildsWhenAGeneratedColumnUsesIt) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b INT, g INT GENERATED ALWAYS AS (b * 2));",
      "INSERT INTO t(id, a, b) VALUES (1, 1, 2), (2, 5, 9);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2));");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_FALSE(r.HasOp("drop_column")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "2"}, {"2", "5", "10"}}));
}

TEST(PlannerDropColumn, DropsAndRecreatesViewsAndTriggersThatNameTheTable) {
  // DROP COLUMN fails while a view or trigger names the column.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
      "CREATE TABLE log(msg TEXT);"
      "CREATE VIEW v AS SELECT id, a, b FROM t;"
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.b); END;",
      "INSERT INTO t VALUES (1, 'x', 'p');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
      "CREATE TABLE log(msg TEXT);"
      "CREATE VIEW v AS SELECT id, a FROM t;"
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END;");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_trigger,drop_view,drop_column,create_view,create_trigger")
      << r.Describe();
  EXPECT_EQ(r.db->TableRows("v"), (Rows{{"1", "x"}}));
  ASSERT_TRUE(r.db->Exec("INSERT INTO t VALUES (2, 'fired')"));
  // "p" was logged by the seed row, "fired" by the recreated trigger.
  EXPECT_EQ(r.db->TableRows("log"), (Rows{{"p"}, {"fired"}}));
}

// ----------------------------------------------------------- column definition

TEST(PlannerColumnType, RebuildsOnTypeChangeAndConvertsByAffinity) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (1, '10'), (2, 'abc'), (3, NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "type of a: TEXT -> INTEGER");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].warning, "affinity")) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT id, a, typeof(a) FROM t ORDER BY id"),
            (Rows{{"1", "10", "integer"}, {"2", "abc", "text"}, {"3", "NULL", "null"}}));
}

TEST(PlannerNotNull, AddingNotNullWithDefaultFillsNulls) {
  MigrateResult r = MigrateAndCheck(
      kTable, kRows, "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT 'dflt');");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "adds NOT NULL on a");
  EXPECT_TRUE(Contains(r.plan[0].warning, "NULLs in t take the column DEFAULT")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "dflt"}, {"5", "z"}}));
}

TEST(PlannerNotNull, AddingNotNullOverNullsCountsThemAndTheScriptFailsCleanly) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT);"
                      "INSERT INTO t VALUES (1, 'x'), (2, NULL), (3, NULL), (4, 'y');"));
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT NOT NULL);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  EXPECT_FALSE(plan[0].warning.empty()) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of t.c violate NOT NULL")) << FormatPlan(plan);
  // The script is not silently lossy: it fails, and the database is as before.
  std::string script = db.QueryString("SELECT migrate_script(?1)", {desired});
  Rows before = db.TableRows("t");
  std::string schema_before = AllSchemaSql(db.db());
  db.Close();
  ShellResult shell = db.RunShellScript("PRAGMA foreign_keys=ON;\n" + script);
  ASSERT_TRUE(db.Reopen());
  EXPECT_NE(shell.exit_code, 0) << script;
  EXPECT_TRUE(Contains(shell.err, "NOT NULL constraint failed")) << shell.err;
  EXPECT_EQ(db.TableRows("t"), before);
  EXPECT_EQ(AllSchemaSql(db.db()), schema_before);
}

TEST(PlannerNotNull, DroppingNotNullIsInPlaceAndAllowsNulls) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL);",
                                    "INSERT INTO t VALUES (1, 'x'), (2, 'y');", kTable);
  ASSERT_TRUE(r.db);
  // An edit of the stored definition (tests/planner_inplace_test.cc).
  ASSERT_EQ(r.Steps("alter_table_in_place", "t").size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].reason, "drops NOT NULL on a")) << r.Describe();
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
  EXPECT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, NULL)"));
}

TEST(PlannerDefault, DefaultChangeIsInPlaceAndKeepsValues) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT DEFAULT 'old');",
                                    "INSERT INTO t(id) VALUES (1); INSERT INTO t VALUES (2, 'set');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT DEFAULT 'new');");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("alter_table_in_place", "t").size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].reason, "DEFAULT of a")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "old"}, {"2", "set"}}));
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(id) VALUES (3)"));
  EXPECT_EQ(r.db->QueryString("SELECT a FROM t WHERE id = 3"), "new");
}

// ----------------------------------------------------------------- PRIMARY KEY

TEST(PlannerPrimaryKey, ChangingPrimaryKeyColumnsRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(a INT NOT NULL, b INT NOT NULL, c TEXT, PRIMARY KEY (a));",
      "INSERT INTO t VALUES (1, 1, 'x'), (2, 1, 'y'), (3, 2, 'z');",
      "CREATE TABLE t(a INT NOT NULL, b INT NOT NULL, c TEXT, PRIMARY KEY (a, b));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "PRIMARY KEY");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  // Rowids of a table with a non-alias PRIMARY KEY survive.
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"), r.rows_before.at("t"));
}

TEST(PlannerPrimaryKey, IntegerPrimaryKeyToNonAliasKeepsIdsAndRowids) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (4, 'x'), (9, 'y'), (12, NULL);",
                                    "CREATE TABLE t(id INT PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "type of id");
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"),
            (Rows{{"4", "4", "x"}, {"9", "9", "y"}, {"12", "12", "NULL"}}));
}

TEST(PlannerPrimaryKey, NonAliasToIntegerPrimaryKeyKeepsIds) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INT PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (40, 'x'), (9, 'y'), (12, NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "type of id");
  // The PRIMARY KEY is the rowid now.
  EXPECT_EQ(r.db->QueryRows("SELECT rowid, id, a FROM t ORDER BY id"),
            (Rows{{"9", "9", "y"}, {"12", "12", "NULL"}, {"40", "40", "x"}}));
}

TEST(PlannerPrimaryKey, AddingPrimaryKeyToExistingColumnCountsDuplicates) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(code TEXT, a TEXT);"
                      "INSERT INTO t VALUES ('a', '1'), ('a', '2'), ('a', '3'), ('b', '4');"));
  std::vector<PlanRow> plan = db.PlanRows("CREATE TABLE t(code TEXT PRIMARY KEY, a TEXT);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of t violate PRIMARY KEY (code)"))
      << FormatPlan(plan);
}

// ------------------------------------------------------- COLLATE and generated

TEST(PlannerCollate, CollationChangeRebuilds) {
  MigrateResult r = MigrateAndCheck(kTable, "INSERT INTO t VALUES (1, 'Abc'), (2, 'abd');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "COLLATE of a");
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM t WHERE a = 'ABC'"), 1);
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "Abc"}, {"2", "abd"}}));
}

TEST(PlannerCollate, RemovingACollationRebuilds) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE);",
                                    "INSERT INTO t VALUES (1, 'Abc');", kTable);
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "COLLATE of a");
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM t WHERE a = 'ABC'"), 0);
}

TEST(PlannerGenerated, ExpressionChangeRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2));",
      "INSERT INTO t(id, a) VALUES (1, 1), (2, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 3));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "generated column g");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "3"}, {"2", "5", "15"}}));
}

TEST(PlannerGenerated, VirtualToStoredRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2) VIRTUAL);",
      "INSERT INTO t(id, a) VALUES (1, 1), (2, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2) STORED);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "generated column g");
  EXPECT_EQ(r.db->QueryString("SELECT hidden FROM pragma_table_xinfo('t') WHERE name = 'g'"), "3");
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "2"}, {"2", "5", "10"}}));
}

TEST(PlannerGenerated, StoredToVirtualRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2) STORED);",
      "INSERT INTO t(id, a) VALUES (1, 1), (2, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2) VIRTUAL);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "generated column g");
  EXPECT_EQ(r.db->QueryString("SELECT hidden FROM pragma_table_xinfo('t') WHERE name = 'g'"), "2");
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "2"}, {"2", "5", "10"}}));
}

TEST(PlannerGenerated, GeneratedToPlainColumnKeepsTheComputedValues) {
  // The column becomes visible to INSERT (table_xinfo hidden 2 -> 0).
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2));",
      "INSERT INTO t(id, a) VALUES (1, 1), (2, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "generated column g");
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "2"}, {"2", "5", "10"}}));
  EXPECT_TRUE(r.db->Exec("INSERT INTO t(id, a, g) VALUES (3, 1, 99)"));
}

TEST(PlannerGenerated, PlainToGeneratedColumnSaysTheStoredValuesAreReplaced) {
  // The values written in g are discarded for the computed ones: the plan
  // must say so (destructive, or at least a warning), not do it silently.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT);",
      "INSERT INTO t VALUES (1, 1, 100), (2, 5, 200);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT GENERATED ALWAYS AS (a * 2));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "generated column g");
  EXPECT_TRUE(r.plan[0].destructive || Contains(r.plan[0].warning, "g"))
      << "replacing stored values of t.g by computed ones is silent" << r.Describe();
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "g"}), (Rows{{"1", "1", "2"}, {"2", "5", "10"}}));
}

// ---------------------------------------------------------------- column order

TEST(PlannerColumnOrder, IgnoredByDefault) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, a TEXT);"));
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);";
  EXPECT_TRUE(db.PlanRows(desired).empty()) << FormatPlan(db.PlanRows(desired));
  EXPECT_TRUE(db.PlanRows(desired, R"({"column_order": "ignore"})").empty());
}

TEST(PlannerColumnOrder, StrictRebuildsToTheDesiredOrder) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, b TEXT, a TEXT);",
                                    "INSERT INTO t VALUES (1, 'b1', 'a1'), (2, 'b2', NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, c INT);",
                                    R"({"column_order": "strict"})");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "column order");
  EXPECT_EQ(ColumnNames(r.db->db(), "t"), (std::vector<std::string>{"id", "a", "b", "c"}));
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "b", "c"}),
            (Rows{{"1", "a1", "b1", "NULL"}, {"2", "NULL", "b2", "NULL"}}));
}

TEST(PlannerColumnOrder, StrictAddsAColumnAtTheEndWithAlter) {
  MigrateResult r = MigrateAndCheck(kTable, kRows,
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
                                    R"({"column_order": "strict"})");
  ASSERT_TRUE(r.db);
  ExpectOnlyStep(r, "add_column", "t.b");
}

}  // namespace
}  // namespace automigrate::testing
