// tests/planner_constraints_test.cc -- the planner end to end for table
// constraints (UNIQUE, CHECK, FOREIGN KEY), table options (WITHOUT ROWID,
// STRICT, AUTOINCREMENT), indexes, views and triggers, and the data
// pre-checks that count the rows a tightened rule would reject.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

void ExpectRebuild(const MigrateResult& r, std::string_view table, std::string_view reason) {
  std::vector<const PlanRow*> steps = r.Steps("rebuild_table", table);
  ASSERT_EQ(steps.size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(steps[0]->reason, reason))
      << "reason should mention \"" << reason << "\"" << r.Describe();
}

// The plan for `desired` on a database built by `setup`, with no failure
// allowed in planning.
std::vector<PlanRow> PlanOn(TestDb& db, std::string_view setup, std::string_view desired) {
  if (!db.Exec(setup)) return {};
  return db.PlanRows(desired);
}

// -------------------------------------------------------------------- UNIQUE

TEST(PlannerUnique, AddingATableUniqueConstraintRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);",
      "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'x', 'q'), (3, NULL, NULL), (4, NULL, NULL);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "PRIMARY KEY/UNIQUE constraints");
  EXPECT_TRUE(r.plan[0].warning.empty()) << "NULLs are never duplicates" << r.Describe();
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM pragma_index_list('t') WHERE origin = 'u'"), 1);
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"), r.rows_before.at("t"));
}

TEST(PlannerUnique, RemovingAUniqueConstraintRebuilds) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE);",
                                    "INSERT INTO t VALUES (1, 'x'), (2, 'y');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "PRIMARY KEY/UNIQUE constraints");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, 'x')"));
}

TEST(PlannerUnique, ChangingUniqueColumnsRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a));",
      "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', 'p');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT, UNIQUE (a, b));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "PRIMARY KEY/UNIQUE constraints");
  EXPECT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, 'x', 'q')"));
}

TEST(PlannerPrecheck, CountsDuplicatesForANewUniqueConstraint) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
             "INSERT INTO t VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'y'), (5, 'y'), (6, 'z'),"
             " (7, NULL), (8, NULL);",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  // x three times (2 extra), y twice (1 extra); NULLs do not collide.
  EXPECT_TRUE(Contains(plan[0].warning, "3 rows of t violate UNIQUE (a)")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, CountsDuplicatesForANewUniqueIndex) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
             "INSERT INTO t VALUES (1, 'x'), (2, 'X'), (3, 'y');",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
             "CREATE UNIQUE INDEX t_a ON t(a COLLATE NOCASE);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "create_index");
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t violates UNIQUE index t_a (a)"))
      << FormatPlan(plan);
}

// --------------------------------------------------------------------- CHECK

TEST(PlannerCheck, AddingAnUnnamedCheckRebuilds) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a INT);",
                                    "INSERT INTO t VALUES (1, 5), (2, NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, CHECK (a > 0));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "CHECK constraints");
  EXPECT_TRUE(r.plan[0].warning.empty()) << "NULL passes a CHECK" << r.Describe();
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t VALUES (3, -1)"));
}

TEST(PlannerCheck, AddingANamedColumnCheckRebuilds) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT);", "INSERT INTO t VALUES (1, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT CONSTRAINT a_positive CHECK (a > 0));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "CHECK constraints");
  std::string error;
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t VALUES (3, -1)", &error));
  EXPECT_TRUE(Contains(error, "a_positive")) << error;
}

TEST(PlannerCheck, RemovingACheckIsInPlace) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, CHECK (a > 0));",
                                    "INSERT INTO t VALUES (1, 5);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT);");
  ASSERT_TRUE(r.db);
  // An edit of the stored definition (tests/planner_inplace_test.cc).
  ASSERT_EQ(r.Steps("alter_table_in_place", "t").size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].reason, "drops CHECK constraints")) << r.Describe();
  EXPECT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, -1)"));
}

TEST(PlannerCheck, ChangingACheckExpressionRebuilds) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a INT CHECK (a > 0));",
                                    "INSERT INTO t VALUES (1, 5);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT CHECK (a > 1));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "CHECK constraints");
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t VALUES (3, 1)"));
}

TEST(PlannerCheck, RenamingACheckConstraintIsInPlace) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, CONSTRAINT old_name CHECK (a > 0));",
      "INSERT INTO t VALUES (1, 5);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, CONSTRAINT new_name CHECK (a > 0));");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("alter_table_in_place", "t").size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].reason, "CHECK constraint names")) << r.Describe();
  std::string error;
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t VALUES (3, -1)", &error));
  EXPECT_TRUE(Contains(error, "new_name")) << error;
}

TEST(PlannerPrecheck, CountsCheckViolations) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b INT);"
             "INSERT INTO t VALUES (1, -1, 0), (2, -2, 0), (3, 3, 0), (4, NULL, 5);",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT CHECK (a > 0), b INT, CHECK (b < 1));");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of t.a violate CHECK (a > 0)")) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t violates CHECK (b < 1)")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, CheckCountUsesTheValuesAfterTypeConversion) {
  // The copy converts text '10' to integer 10 (INTEGER affinity) before the
  // CHECK runs; the count must be over the converted values. Compared as
  // text, '10' < '9' holds and '5' > '9' does not, so a text-side count
  // misses the row that will fail (and miscounts the other way round).
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(db,
                                     "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                                     "INSERT INTO t VALUES (1, '5'), (2, '10');",
                                     "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER CHECK (a < 9));");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t.a violates CHECK (a < 9)")) << FormatPlan(plan);
  std::vector<PlanRow> other =
      db.PlanRows("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER CHECK (a > 9));");
  ASSERT_EQ(other.size(), 1u) << FormatPlan(other);
  EXPECT_TRUE(Contains(other[0].warning, "1 row of t.a violates CHECK (a > 9)"))
      << FormatPlan(other);
}

TEST(PlannerPrecheck, UniqueCountUsesTheValuesAfterTypeConversion) {
  // '1' and '01' are distinct text but both become integer 1.
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(db,
                                     "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                                     "INSERT INTO t VALUES (1, '1'), (2, '01'), (3, '2');",
                                     "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER UNIQUE);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t violates UNIQUE (a)")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, UniqueCountUsesTheNewCollation) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
             "INSERT INTO t VALUES (1, 'x'), (2, 'X'), (3, 'y');",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE UNIQUE);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t violates UNIQUE (a)")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, CountsCheckViolationsInvolvingAGeneratedColumn) {
  // The step's warning carries the count, as for any other CHECK.
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT AS (a * 2));"
             "INSERT INTO t(id, a) VALUES (1, 7), (2, 1);",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, g INT AS (a * 2), CHECK (g < 10));");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t violates CHECK (g < 10)")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, CountsOrphansWhenTheParentIsNew) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(
      db,
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT);"
      "INSERT INTO c VALUES (1, 5), (2, NULL), (3, 7);",
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));");
  ASSERT_EQ(plan.size(), 2u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "create_table") << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[1].warning, "2 rows of c.pid violate FOREIGN KEY (pid) REFERENCES p"))
      << FormatPlan(plan);
}

TEST(PlannerPrecheck, CountsValuesThatCannotBecomeAnIntegerPrimaryKey) {
  // 'abc' and 2.5 in an INT column: copying them into an INTEGER PRIMARY KEY
  // fails with "datatype mismatch"; the plan must count them.
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INT, a TEXT);"
             "INSERT INTO t VALUES (1, 'x'), (2, 'y'), ('abc', 'w'), (2.5, 'v');",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of t.id violate")) << FormatPlan(plan);
}

TEST(PlannerPrecheck, OrphanCountFollowsThePrimaryKeyOrderOfAnImplicitReference) {
  // REFERENCES p without columns means p's PRIMARY KEY in *its* order
  // (b, a), not in column declaration order (a, b).
  const std::string parent =
      "CREATE TABLE p(a INT, b INT, PRIMARY KEY (b, a)); INSERT INTO p VALUES (1, 2);";
  const std::string desired =
      "CREATE TABLE p(a INT, b INT, PRIMARY KEY (b, a));"
      "CREATE TABLE c(x INT, y INT, FOREIGN KEY (x, y) REFERENCES p);";
  {
    // (x, y) = (2, 1) matches (b, a) = (2, 1): no orphan.
    TestDb db;
    ASSERT_TRUE(db.ok());
    std::vector<PlanRow> plan =
        PlanOn(db, parent + "CREATE TABLE c(x INT, y INT); INSERT INTO c VALUES (2, 1);", desired);
    ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
    EXPECT_TRUE(plan[0].warning.empty()) << FormatPlan(plan);
  }
  {
    // (x, y) = (1, 2) does not match (b, a) = (2, 1): one orphan.
    TestDb db;
    ASSERT_TRUE(db.ok());
    std::vector<PlanRow> plan =
        PlanOn(db, parent + "CREATE TABLE c(x INT, y INT); INSERT INTO c VALUES (1, 2);", desired);
    ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
    EXPECT_TRUE(Contains(plan[0].warning, "1 row of c.x, y violates FOREIGN KEY (x, y) REFERENCES p"))
        << FormatPlan(plan);
  }
}

// --------------------------------------------------------------- FOREIGN KEY

constexpr std::string_view kParent = "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);";
constexpr std::string_view kParentRows = "INSERT INTO p VALUES (1, 'one'), (2, 'two');";

TEST(PlannerForeignKey, AddingAForeignKeyRebuildsTheChild) {
  MigrateResult r = MigrateAndCheck(
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT);",
      std::string(kParentRows) + "INSERT INTO c VALUES (10, 1), (11, 2), (12, NULL);",
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "c", "FOREIGN KEY constraints");
  EXPECT_FALSE(r.HasOp("rebuild_table", "p")) << r.Describe();
  EXPECT_EQ(r.db->QueryString("SELECT \"table\" FROM pragma_foreign_key_list('c')"), "p");
  EXPECT_EQ(RowsWithRowid(r.db->db(), "c"), r.rows_before.at("c"));
}

TEST(PlannerPrecheck, CountsOrphansForANewForeignKey) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(
      db,
      std::string(kParent) + std::string(kParentRows) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT);"
          "INSERT INTO c VALUES (10, 1), (11, 3), (12, 4), (13, NULL);",
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of c.pid violate FOREIGN KEY (pid) REFERENCES p"))
      << FormatPlan(plan);
}

// A FOREIGN KEY whose parent columns are not the parent's PRIMARY KEY or
// covered by a UNIQUE index (not partial, the columns' own collations) makes
// every write to either table fail with "foreign key mismatch" once foreign
// keys are on. SQLite accepts the DDL, so the plan must say so. Each case is
// checked against SQLite itself: the warning appears exactly when an insert
// into the child fails with the mismatch.
TEST(PlannerForeignKey, ForeignKeyWithoutAParentKeyIsWarnedExactlyWhenSqliteRefusesWrites) {
  struct Case {
    const char* parent;
    const char* child;
    bool mismatch;
  };
  const Case cases[] = {
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT);", "c(x REFERENCES p)", false},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT);", "c(x REFERENCES p(id))", false},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT);", "c(x REFERENCES p(code))", true},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE);", "c(x REFERENCES p(code))",
       false},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT); CREATE UNIQUE INDEX p_code ON p(code);",
       "c(x REFERENCES p(code))", false},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT); CREATE INDEX p_code ON p(code);",
       "c(x REFERENCES p(code))", true},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT); "
       "CREATE UNIQUE INDEX p_code ON p(code) WHERE code IS NOT NULL;",
       "c(x REFERENCES p(code))", true},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT); "
       "CREATE UNIQUE INDEX p_code ON p(code COLLATE NOCASE);",
       "c(x REFERENCES p(code))", true},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT COLLATE NOCASE UNIQUE);",
       "c(x REFERENCES p(code))", false},
      {"CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT); "
       "CREATE UNIQUE INDEX p_code ON p(lower(code));",
       "c(x REFERENCES p(code))", true},
      {"CREATE TABLE p(a TEXT, b TEXT, UNIQUE (b, a));",
       "c(x, y, FOREIGN KEY (x, y) REFERENCES p(a, b))", false},
      {"CREATE TABLE p(a TEXT, b TEXT, UNIQUE (a));",
       "c(x, y, FOREIGN KEY (x, y) REFERENCES p(a, b))", true},
      {"CREATE TABLE p(a TEXT, b TEXT);", "c(x REFERENCES p)", true},
      {"CREATE TABLE p(a TEXT, b TEXT, PRIMARY KEY (a, b));", "c(x REFERENCES p)", true},
      {"CREATE TABLE p(a TEXT, b TEXT, PRIMARY KEY (a, b));",
       "c(x, y, FOREIGN KEY (x, y) REFERENCES p)", false},
      {"CREATE TABLE p(a TEXT PRIMARY KEY, b TEXT) WITHOUT ROWID;", "c(x REFERENCES p)", false},
      {"CREATE TABLE p(a TEXT PRIMARY KEY, b TEXT) WITHOUT ROWID;", "c(x REFERENCES p(b))", true},
      {"CREATE TABLE p(a INTEGER PRIMARY KEY DESC, b TEXT);", "c(x REFERENCES p)", false},
  };
  for (const Case& c : cases) {
    const std::string desired = std::string(c.parent) + "CREATE TABLE " + c.child + ";";
    SCOPED_TRACE(desired);
    TestDb truth;
    ASSERT_TRUE(truth.ok());
    ASSERT_TRUE(truth.Exec(desired + "PRAGMA foreign_keys = ON;"));
    const std::string error = ErrorOf(truth.db(), "INSERT INTO c DEFAULT VALUES");
    ASSERT_EQ(Contains(error, "foreign key mismatch"), c.mismatch) << error;

    TestDb db;
    ASSERT_TRUE(db.ok());
    const std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
    const std::string warnings = StatusWarnings(status);
    EXPECT_EQ(Contains(warnings, " of c references p with no parent key: "), c.mismatch) << status;
    if (c.mismatch) {
      EXPECT_TRUE(
          Contains(warnings, "every write to c or p fails with \\\"foreign key mismatch\\\""))
          << status;
    }
  }
}

TEST(PlannerForeignKey, DroppingTheUniqueIndexBehindAForeignKeyIsWarnedOnItsStep) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  const std::string tables =
      "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT, note TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, code TEXT REFERENCES p(code));";
  ASSERT_TRUE(db.Exec(tables +
                      "CREATE UNIQUE INDEX p_code ON p(code);"
                      "CREATE UNIQUE INDEX p_note ON p(note);"
                      "INSERT INTO p VALUES (1, 'a', 'x'); INSERT INTO c VALUES (1, 'a');"));
  std::vector<PlanRow> plan = db.PlanRows(tables);
  ASSERT_EQ(plan.size(), 2u) << FormatPlan(plan);
  for (const PlanRow& step : plan) {
    ASSERT_EQ(step.op, "drop_index");
    // Which index was the parent key is not worked out: both UNIQUE indexes
    // of p say they may be.
    EXPECT_TRUE(Contains(step.warning, step.object + " may be the parent key of c's FOREIGN KEY "
                                                     "(code)"))
        << FormatPlan(plan);
  }
  const std::string status = db.QueryString("SELECT migrate_status(?1)", {tables});
  EXPECT_TRUE(Contains(StatusWarnings(status),
                       "FOREIGN KEY (code) of c references p with no parent key: p(code) is not "
                       "its PRIMARY KEY and has no UNIQUE constraint or index"))
      << status;
  // Keeping the index that is the parent key: no warning anywhere.
  const std::string keep = tables + "CREATE UNIQUE INDEX p_code ON p(code);";
  plan = db.PlanRows(keep);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].object, "p_note");
  EXPECT_EQ(plan[0].warning, "") << FormatPlan(plan);
  EXPECT_EQ(db.QueryInt("SELECT json_array_length(migrate_status(?1), '$.warnings')", {keep}), 0);
}

// A mismatch the database already has is migrate_health's to report: the
// plan does not repeat it on every unrelated migration.
TEST(PlannerForeignKey, AnExistingForeignKeyWithoutAParentKeyIsNotWarnedAgain) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  const std::string tables =
      "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, code TEXT REFERENCES p(code));";
  ASSERT_TRUE(db.Exec(tables));
  const std::string desired = tables + "CREATE TABLE other(x);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(db.QueryInt("SELECT json_array_length(migrate_status(?1), '$.warnings')", {desired}),
            0);
}

TEST(PlannerForeignKey, RemovingAForeignKeyIsInPlace) {
  MigrateResult r = MigrateAndCheck(
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));",
      std::string(kParentRows) + "INSERT INTO c VALUES (10, 1), (11, 2);",
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT);");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("alter_table_in_place", "c").size(), 1u) << r.Describe();
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM pragma_foreign_key_list('c')"), 0);
  EXPECT_EQ(r.db->TableRows("p"), (Rows{{"1", "one"}, {"2", "two"}}));
}

TEST(PlannerForeignKey, ChangingOnDeleteActionTakesEffect) {
  MigrateResult r = MigrateAndCheck(
      std::string(kParent) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);",
      std::string(kParentRows) + "INSERT INTO c VALUES (10, 1), (11, 2);",
      std::string(kParent) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE SET NULL "
          "ON UPDATE CASCADE);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "c", "FOREIGN KEY constraints");
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}, {"11", "2"}}));
  ASSERT_TRUE(r.db->Exec("PRAGMA foreign_keys=ON; DELETE FROM p WHERE id = 1;"
                         "UPDATE p SET id = 20 WHERE id = 2;"));
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "NULL"}, {"11", "20"}}));
}

TEST(PlannerForeignKey, AddingDeferrableInitiallyDeferredRebuilds) {
  MigrateResult r = MigrateAndCheck(
      std::string(kParent) + "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));",
      std::string(kParentRows) + "INSERT INTO c VALUES (10, 1);",
      std::string(kParent) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) DEFERRABLE INITIALLY "
          "DEFERRED);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "c", "FOREIGN KEY constraints");
  // Deferred: an orphan inserted before its parent, in one transaction, is fine.
  EXPECT_TRUE(r.db->Exec("PRAGMA foreign_keys=ON; BEGIN; INSERT INTO c VALUES (11, 3);"
                         "INSERT INTO p VALUES (3, 'three'); COMMIT;"));
}

TEST(PlannerForeignKey, RemovingDeferrableRebuilds) {
  MigrateResult r = MigrateAndCheck(
      std::string(kParent) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p(id) "
          "DEFERRABLE INITIALLY DEFERRED);",
      std::string(kParentRows) + "INSERT INTO c VALUES (10, 1);",
      std::string(kParent) +
          "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES p(id));");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "c", "FOREIGN KEY constraints");
  std::string error;
  EXPECT_FALSE(TryExec(r.db->db(), "PRAGMA foreign_keys=ON; BEGIN; INSERT INTO c VALUES (11, 3);",
                       &error));
  TryExec(r.db->db(), "ROLLBACK");
  EXPECT_TRUE(Contains(error, "FOREIGN KEY constraint failed")) << error;
}

// ------------------------------------------------------------- WITHOUT ROWID

TEST(PlannerWithoutRowid, ConvertingATableWithIntegerPrimaryKeyIsNotDestructive) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (1, 'x'), (7, 'y');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT) WITHOUT ROWID;");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "WITHOUT ROWID");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(IsWithoutRowid(r.db->db(), "t"));
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"7", "y"}}));
}

TEST(PlannerWithoutRowid, ConvertingATableWithoutIntegerPrimaryKeyIsDestructive) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES ('a', 'x'), ('b', 'y');",
                                    "CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT) WITHOUT ROWID;");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "WITHOUT ROWID");
  EXPECT_TRUE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].warning, "rowid")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"a", "x"}, {"b", "y"}}));
}

TEST(PlannerWithoutRowid, CountsNullPrimaryKeysARowidTableAllowed) {
  // A rowid table accepts NULL in a non-INTEGER PRIMARY KEY; WITHOUT ROWID does not.
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan = PlanOn(db,
                                     "CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT);"
                                     "INSERT INTO t VALUES ('a', 'x'), (NULL, 'y');",
                                     "CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT) WITHOUT ROWID;");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "1 row of t.k violates NOT NULL")) << FormatPlan(plan);
}

TEST(PlannerWithoutRowid, ConvertingBackToARowidTable) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT) WITHOUT ROWID;",
                                    "INSERT INTO t VALUES ('a', 'x'), ('b', 'y');",
                                    "CREATE TABLE t(k TEXT PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "WITHOUT ROWID");
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_FALSE(IsWithoutRowid(r.db->db(), "t"));
  EXPECT_EQ(r.db->TableRows("t", {"k", "a"}), (Rows{{"a", "x"}, {"b", "y"}}));
}

// -------------------------------------------------------------------- STRICT

TEST(PlannerStrict, ConvertingToStrictWhenEveryValueFits) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT);",
                                    "INSERT INTO t VALUES (1, 5, 'x'), (2, '12', 3), (3, NULL, NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT) STRICT;");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "STRICT");
  EXPECT_TRUE(r.plan[0].warning.empty()) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT id, a, typeof(a), b, typeof(b) FROM t ORDER BY id"),
            (Rows{{"1", "5", "integer", "x", "text"},
                  {"2", "12", "integer", "3", "text"},
                  {"3", "NULL", "null", "NULL", "null"}}));
}

TEST(PlannerPrecheck, CountsValuesThatDoNotFitAStrictType) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  std::vector<PlanRow> plan =
      PlanOn(db,
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER);"
             "INSERT INTO t VALUES (1, 5), (2, '12'), (3, 'abc'), (4, 1.5), (5, x'00'), (6, 2.0);",
             "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER) STRICT;");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "rebuild_table");
  // 'abc', 1.5 and the blob cannot be stored in a STRICT INTEGER column.
  EXPECT_TRUE(Contains(plan[0].warning, "3 rows of t.a violate STRICT INTEGER")) << FormatPlan(plan);
  std::string status = db.QueryString("SELECT migrate_status(?1)",
                                      {"CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER) STRICT;"});
  EXPECT_TRUE(Contains(StatusWarnings(status), "3 rows of t.a violate STRICT INTEGER")) << status;
}

TEST(PlannerStrict, ConvertingFromStrict) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER) STRICT;",
                                    "INSERT INTO t VALUES (1, 5), (2, NULL);",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "STRICT");
  EXPECT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, 'abc')"));
}

// ------------------------------------------------------------- AUTOINCREMENT

TEST(PlannerAutoincrement, AddingAutoincrementStartsAboveTheLargestId) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (3, 'x'), (8, 'y');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "AUTOINCREMENT");
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"3", "x"}, {"8", "y"}}));
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(a) VALUES ('new')"));
  EXPECT_EQ(r.db->QueryInt("SELECT id FROM t WHERE a = 'new'"), 9);
  EXPECT_EQ(r.db->QueryInt("SELECT seq FROM sqlite_sequence WHERE name = 't'"), 9);
}

TEST(PlannerAutoincrement, RemovingAutoincrementDropsTheCounter) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT);",
                                    "INSERT INTO t(a) VALUES ('x'), ('y');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "AUTOINCREMENT");
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "y"}}));
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_sequence WHERE name = 't'"), 0);
}

TEST(PlannerAutoincrement, KeepsTheCounterAboveMaxIdThroughARebuild) {
  // neilotoole/sq #757: ids of deleted rows must not be handed out again.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT);"
      "CREATE TABLE other(id INTEGER PRIMARY KEY AUTOINCREMENT);",
      "INSERT INTO t(a) VALUES ('1'), ('2'), ('3'), ('4'), ('5');"
      "DELETE FROM t WHERE id >= 4; INSERT INTO other DEFAULT VALUES;",
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE other(id INTEGER PRIMARY KEY AUTOINCREMENT);");
  ASSERT_TRUE(r.db);
  ExpectRebuild(r, "t", "NOT NULL");
  EXPECT_EQ(r.db->QueryRows("SELECT name, seq FROM sqlite_sequence ORDER BY name"),
            r.sequence_before);
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(a) VALUES ('next')"));
  EXPECT_EQ(r.db->QueryInt("SELECT id FROM t WHERE a = 'next'"), 6);
}

// ------------------------------------------------------------------- indexes

struct IndexCase {
  const char* name;
  const char* current_index;
  const char* desired_index;
};

void PrintTo(const IndexCase& c, std::ostream* os) { *os << c.name; }

class PlannerIndex : public ::testing::TestWithParam<IndexCase> {};

TEST_P(PlannerIndex, RecreatesAChangedIndexWithoutTouchingTheTable) {
  const IndexCase& c = GetParam();
  const std::string table = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT);";
  MigrateResult r = MigrateAndCheck(table + c.current_index,
                                    "INSERT INTO t VALUES (1, 'x', 1), (2, 'Y', 2), (3, NULL, 3);",
                                    table + c.desired_index);
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_index,create_index") << r.Describe();
  for (const PlanRow& p : r.plan) {
    EXPECT_EQ(p.object, "t_ix") << r.Describe();
    EXPECT_FALSE(p.destructive) << r.Describe();
  }
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"), r.rows_before.at("t"));
}

INSTANTIATE_TEST_SUITE_P(
    PlannerIndexChanges, PlannerIndex,
    ::testing::Values(
        IndexCase{"Columns", "CREATE INDEX t_ix ON t(a);", "CREATE INDEX t_ix ON t(a, b);"},
        IndexCase{"Order", "CREATE INDEX t_ix ON t(a, b);", "CREATE INDEX t_ix ON t(b, a);"},
        IndexCase{"Desc", "CREATE INDEX t_ix ON t(a);", "CREATE INDEX t_ix ON t(a DESC);"},
        IndexCase{"Collation", "CREATE INDEX t_ix ON t(a);",
                  "CREATE INDEX t_ix ON t(a COLLATE NOCASE);"},
        IndexCase{"Unique", "CREATE INDEX t_ix ON t(a);", "CREATE UNIQUE INDEX t_ix ON t(a);"},
        IndexCase{"NotUnique", "CREATE UNIQUE INDEX t_ix ON t(a);", "CREATE INDEX t_ix ON t(a);"},
        IndexCase{"PartialWhere", "CREATE INDEX t_ix ON t(a) WHERE b > 1;",
                  "CREATE INDEX t_ix ON t(a) WHERE b > 2;"},
        IndexCase{"PartialAdded", "CREATE INDEX t_ix ON t(a);",
                  "CREATE INDEX t_ix ON t(a) WHERE a IS NOT NULL;"},
        IndexCase{"Expression", "CREATE INDEX t_ix ON t(lower(a));",
                  "CREATE INDEX t_ix ON t(upper(a));"},
        IndexCase{"ColumnToExpression", "CREATE INDEX t_ix ON t(a);",
                  "CREATE INDEX t_ix ON t(a || 'x');"}),
    [](const ::testing::TestParamInfo<IndexCase>& info) { return std::string(info.param.name); });

TEST(PlannerIndexes, AddsAnIndex) {
  const std::string table = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);";
  MigrateResult r = MigrateAndCheck(table, "INSERT INTO t VALUES (1, 'x');",
                                    table + "CREATE INDEX t_lower ON t(lower(a)) WHERE a > '';");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "create_index") << r.Describe();
  EXPECT_EQ(r.plan[0].object, "t_lower");
  EXPECT_FALSE(r.plan[0].destructive);
}

TEST(PlannerIndexes, DropsAnIndexWithoutDataLoss) {
  const std::string table = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);";
  MigrateResult r = MigrateAndCheck(table + "CREATE INDEX t_a ON t(a);",
                                    "INSERT INTO t VALUES (1, 'x');", table);
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_index") << r.Describe();
  EXPECT_FALSE(r.plan[0].destructive);
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}}));
}

// ------------------------------------------------------------ virtual tables

TEST(PlannerVirtualTable, ChangedDefinitionIsRecreatedAndDestructive) {
  MigrateResult r = MigrateAndCheck("CREATE VIRTUAL TABLE f USING fts5(a, b);",
                                    "INSERT INTO f VALUES ('hello', 'x');",
                                    "CREATE VIRTUAL TABLE f USING fts5(a, b, tokenize='porter');");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_table,create_table") << r.Describe();
  EXPECT_TRUE(r.plan[0].destructive) << r.Describe();
  EXPECT_TRUE(Contains(r.plan[0].warning, "1 row")) << r.Describe();
  // Shadow tables are never steps of their own.
  for (const PlanRow& p : r.plan) EXPECT_FALSE(Contains(p.object, "f_")) << r.Describe();
}

TEST(PlannerVirtualTable, SameDefinitionSpelledDifferentlyPlansNothing) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE VIRTUAL TABLE f USING fts5(a, b); INSERT INTO f VALUES ('x', 'y');"));
  std::vector<PlanRow> plan = db.PlanRows("create virtual table F using FTS5 ( a , b ) ;");
  EXPECT_TRUE(plan.empty()) << FormatPlan(plan);
}

// ------------------------------------------------------- views and triggers

constexpr std::string_view kBase =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE TABLE log(msg TEXT);";

TEST(PlannerViews, AddsDropsAndChangesViews) {
  MigrateResult r = MigrateAndCheck(
      std::string(kBase) +
          "CREATE VIEW keep AS SELECT id FROM t;"
          "CREATE VIEW gone AS SELECT a FROM t;"
          "CREATE VIEW changed AS SELECT id FROM t;",
      "INSERT INTO t VALUES (1, 'x');",
      std::string(kBase) +
          "CREATE VIEW keep AS SELECT id FROM t;"
          "CREATE VIEW changed AS SELECT id, a FROM t;"
          "CREATE VIEW fresh AS SELECT upper(a) AS u FROM t;");
  ASSERT_TRUE(r.db);
  EXPECT_FALSE(r.HasOp("drop_view", "keep") || r.HasOp("create_view", "keep")) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_view", "gone")) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_view", "changed") && r.HasOp("create_view", "changed")) << r.Describe();
  EXPECT_TRUE(r.HasOp("create_view", "fresh")) << r.Describe();
  EXPECT_EQ(r.plan.size(), 4u) << r.Describe();
  EXPECT_EQ(r.db->TableRows("changed"), (Rows{{"1", "x"}}));
  EXPECT_EQ(r.db->TableRows("fresh"), (Rows{{"X"}}));
}

TEST(PlannerTriggers, AddsDropsAndChangesTriggers) {
  MigrateResult r = MigrateAndCheck(
      std::string(kBase) +
          "CREATE TRIGGER keep AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('keep'); END;"
          "CREATE TRIGGER gone AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('gone'); END;"
          "CREATE TRIGGER changed AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('old'); END;",
      "",
      std::string(kBase) +
          "CREATE TRIGGER keep AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('keep'); END;"
          "CREATE TRIGGER changed AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('new'); END;"
          "CREATE TRIGGER fresh AFTER DELETE ON t BEGIN INSERT INTO log VALUES ('del'); END;");
  ASSERT_TRUE(r.db);
  EXPECT_FALSE(r.HasOp("drop_trigger", "keep") || r.HasOp("create_trigger", "keep"))
      << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_trigger", "gone")) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_trigger", "changed") && r.HasOp("create_trigger", "changed"))
      << r.Describe();
  EXPECT_TRUE(r.HasOp("create_trigger", "fresh")) << r.Describe();
  EXPECT_EQ(r.plan.size(), 4u) << r.Describe();
  ASSERT_TRUE(r.db->Exec("INSERT INTO t VALUES (1, 'x'); DELETE FROM t;"));
  EXPECT_EQ(r.db->QueryRows("SELECT msg FROM log ORDER BY msg"),
            (Rows{{"del"}, {"keep"}, {"new"}}));
}

}  // namespace
}  // namespace automigrate::testing
