// tests/planner_regressions_test.cc -- bugs other migration tools shipped
// (shared/ANCHORS.md section 3), one test each, named after the issue.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

// The INSERT ... SELECT of the rebuild of `table` in the plan ("" if none).
std::string CopyStatement(const MigrateResult& r, std::string_view table) {
  std::vector<const PlanRow*> steps = r.Steps("rebuild_table", table);
  if (steps.empty()) return "";
  const std::string& sql = steps[0]->sql;
  size_t at = sql.find("INSERT INTO");
  if (at == std::string::npos) return "";
  size_t end = sql.find(';', at);
  return sql.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

TEST(PlannerRegression, Drizzle5360NewColumnIsNotFilledWithItsOwnName) {
  // The copy named the new column in its SELECT list; SQLite's double-quoted
  // string fallback turned "slug" into the literal 'slug'.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);", "INSERT INTO t VALUES (1, 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, slug TEXT NOT NULL DEFAULT 'none' UNIQUE,"
      " extra TEXT UNIQUE);");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  std::string copy = CopyStatement(r, "t");
  EXPECT_FALSE(Contains(copy, "slug") || Contains(copy, "extra")) << copy << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT id, a, slug, extra FROM t"),
            (Rows{{"1", "x", "none", "NULL"}}));
}

TEST(PlannerRegression, Drizzle5360DefaultOfANewUniqueColumnOnManyRowsIsCountedAsDuplicates) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                      "INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');"));
  std::vector<PlanRow> plan = db.PlanRows(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, slug TEXT NOT NULL DEFAULT 'none' UNIQUE);");
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "2 rows of t violate UNIQUE (slug)")) << FormatPlan(plan);
}

TEST(PlannerRegression, Drizzle5241NoInsertIntoGeneratedColumnsDuringTheCopy) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, v INT GENERATED ALWAYS AS (a + 1) VIRTUAL,"
      " s INT GENERATED ALWAYS AS (a * 10) STORED);",
      "INSERT INTO t(id, a) VALUES (1, 1), (2, 2);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT NOT NULL DEFAULT 0,"
      " v INT GENERATED ALWAYS AS (a + 1) VIRTUAL, s INT GENERATED ALWAYS AS (a * 10) STORED);");
  ASSERT_TRUE(r.db);
  std::string copy = CopyStatement(r, "t");
  ASSERT_FALSE(copy.empty()) << r.Describe();
  std::string columns = copy.substr(0, copy.find("SELECT"));
  EXPECT_FALSE(Contains(columns, "\"v\"") || Contains(columns, "\"s\"")) << copy;
  EXPECT_EQ(r.db->TableRows("t", {"id", "a", "v", "s"}),
            (Rows{{"1", "1", "2", "10"}, {"2", "2", "3", "20"}}));
}

TEST(PlannerRegression, Drizzle4549AddingAPrimaryKeyDoesNotFailWithNoSuchColumn) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(name TEXT, email TEXT);",
      "INSERT INTO t VALUES ('a', 'a@x'), ('b', 'b@x');",
      "CREATE TABLE t(id INTEGER NOT NULL PRIMARY KEY, name TEXT, email TEXT,"
      " tenant INT NOT NULL DEFAULT 1, UNIQUE (tenant, email));");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->TableRows("t", {"id", "name", "email", "tenant"}),
            (Rows{{"1", "a", "a@x", "1"}, {"2", "b", "b@x", "1"}}));
}

TEST(PlannerRegression, Drizzle4549CompositePrimaryKeyOverANewColumn) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(a TEXT NOT NULL, v TEXT);", "INSERT INTO t VALUES ('x', '1'), ('y', '2');",
      "CREATE TABLE t(a TEXT NOT NULL, b INT NOT NULL DEFAULT 0, v TEXT, PRIMARY KEY (a, b));");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->TableRows("t", {"a", "b", "v"}), (Rows{{"x", "0", "1"}, {"y", "0", "2"}}));
}

TEST(PlannerRegression, Alembic1846UnnamedChecksSurviveARebuild) {
  const std::string checks = "CHECK (a > 0), CHECK (a < 100), CONSTRAINT named CHECK (a <> 50)";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b TEXT, " + checks + ");",
      "INSERT INTO t VALUES (1, 5, 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b INTEGER, " + checks + ");");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  for (const char* bad : {"0", "100", "50"}) {
    EXPECT_FALSE(TryExec(r.db->db(), std::string("INSERT INTO t(a) VALUES (") + bad + ")"))
        << bad << " passed the CHECKs\n" << AllSchemaSql(r.db->db());
  }
}

TEST(PlannerRegression, Rails31603PartialAndExpressionIndexesKeepTheirDefinition) {
  const std::string indexes =
      "CREATE INDEX t_active ON t(a) WHERE deleted_at IS NULL;"
      "CREATE UNIQUE INDEX t_lower ON t(lower(a)) WHERE a IS NOT NULL;";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, deleted_at TEXT);" + indexes,
      "INSERT INTO t VALUES (1, 'x', NULL), (2, 'y', '2020');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, deleted_at INTEGER);" +
          indexes);
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_TRUE(Contains(r.db->QueryString("SELECT sql FROM sqlite_schema WHERE name = 't_active'"),
                       "WHERE deleted_at IS NULL"));
  EXPECT_TRUE(Contains(r.db->QueryString("SELECT sql FROM sqlite_schema WHERE name = 't_lower'"),
                       "lower(a)"));
  EXPECT_EQ(r.db->QueryString("SELECT coll FROM pragma_index_xinfo('t_active') WHERE seqno = 0"),
            "NOCASE");
}

TEST(PlannerRegression, Alembic1207ViewOnTheRebuiltTableDoesNotBreakTheRename) {
  // With legacy_alter_table off, RENAME re-parses every view; a view naming
  // the dropped table failed the rename ("error in view v: no such table").
  const std::string views =
      "CREATE VIEW v AS SELECT a FROM t;"
      "CREATE VIEW w AS SELECT (SELECT count(*) FROM t) AS n, x FROM other;";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE TABLE other(x);" + views,
      "INSERT INTO t VALUES (1, 'x'); INSERT INTO other VALUES (7);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE other(x);" + views);
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->QueryRows("SELECT * FROM w"), (Rows{{"1", "7"}}));
  EXPECT_EQ(r.db->QueryRows("SELECT * FROM v"), (Rows{{"x"}}));
}

TEST(PlannerRegression, SqliteUtils611TriggersDoNotVanishInARebuild) {
  const std::string triggers =
      "CREATE TRIGGER t_ai AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('ai'); END;"
      "CREATE TRIGGER t_au AFTER UPDATE OF a ON t BEGIN INSERT INTO log VALUES ('au'); END;"
      "CREATE TRIGGER t_bd BEFORE DELETE ON t BEGIN INSERT INTO log VALUES ('bd'); END;";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE TABLE log(m TEXT);" + triggers,
      "INSERT INTO t VALUES (1, 'x'); DELETE FROM log;",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, u TEXT UNIQUE); CREATE TABLE log(m TEXT);" +
          triggers);
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger'"), 3);
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(id) VALUES (2); UPDATE t SET a = 'y'; DELETE FROM t;"));
  EXPECT_EQ(r.db->QueryRows("SELECT m, count(*) FROM log GROUP BY m ORDER BY m"),
            (Rows{{"ai", "1"}, {"au", "2"}, {"bd", "2"}}));
}

TEST(PlannerRegression, Sq757SqliteSequenceIsCarriedOver) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT);",
      "INSERT INTO t(a) VALUES ('1'), ('2'), ('3'); DELETE FROM t WHERE id = 3;"
      "UPDATE sqlite_sequence SET seq = 1000 WHERE name = 't';",
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT, a TEXT, b TEXT DEFAULT CURRENT_DATE);");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_EQ(r.db->QueryInt("SELECT seq FROM sqlite_sequence WHERE name = 't'"), 1000);
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_sequence"), 1);
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(a) VALUES ('next')"));
  EXPECT_EQ(r.db->QueryInt("SELECT id FROM t WHERE a = 'next'"), 1001);
}

TEST(PlannerRegression, Atlas1597Ncps1328SecondPlanIsEmpty) {
  // A table with CHECKs, partial/expression/unique indexes, FKs and
  // triggers: after one migration, planning again finds nothing (and an
  // unrelated change later does not touch it).
  const std::string schema =
      "CREATE TABLE accounts(id INTEGER PRIMARY KEY, email TEXT NOT NULL COLLATE NOCASE,"
      " status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),"
      " balance REAL DEFAULT 0.0, CHECK (balance >= 0), UNIQUE (email));"
      "CREATE TABLE entries(id INTEGER PRIMARY KEY, account_id INT NOT NULL REFERENCES"
      " accounts(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED, amount REAL NOT NULL,"
      " at TEXT DEFAULT (datetime('now')));"
      "CREATE INDEX entries_account ON entries(account_id, at DESC);"
      "CREATE INDEX accounts_open ON accounts(email) WHERE status = 'active';"
      "CREATE INDEX accounts_domain ON accounts(substr(email, instr(email, '@') + 1));"
      "CREATE VIEW balances AS SELECT a.id, a.balance + coalesce(sum(e.amount), 0) AS total"
      " FROM accounts a LEFT JOIN entries e ON e.account_id = a.id GROUP BY a.id;"
      "CREATE TRIGGER entries_ai AFTER INSERT ON entries BEGIN"
      " UPDATE accounts SET balance = balance + new.amount WHERE id = new.account_id; END;";
  MigrateResult r = MigrateAndCheck("CREATE TABLE seed(x);", "INSERT INTO seed VALUES (1);",
                                    schema);
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.replan.empty()) << r.Describe();
  std::vector<PlanRow> next =
      r.db->PlanRows(schema + "CREATE TABLE unrelated(id INTEGER PRIMARY KEY);");
  ASSERT_EQ(next.size(), 1u) << FormatPlan(next);
  EXPECT_EQ(next[0].op, "create_table") << FormatPlan(next);
}

TEST(PlannerRegression, Lxd9769AddColumnWhoseDefaultViolatesACheckIsCounted) {
  // SQLite >= 3.37 verifies a new column's CHECK against existing rows, so
  // ALTER TABLE ADD COLUMN b ... DEFAULT 0 CHECK (b > 0) fails on a table
  // with rows: the plan must say so up front.
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                      "INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT DEFAULT 0 CHECK (b > 0));";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(plan[0].warning, "3 rows of t.b violate CHECK (b > 0)")) << FormatPlan(plan);
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  EXPECT_TRUE(Contains(StatusWarnings(status), "3 rows of t.b violate CHECK (b > 0)")) << status;
}

TEST(PlannerRegression, Lxd9769AddColumnWithCheckOnAnEmptyTableWorks) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);", "",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT DEFAULT 0 CHECK (b > 0));");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.plan.size(), 1u) << r.Describe();
  EXPECT_TRUE(r.plan[0].warning.empty()) << r.Describe();
  EXPECT_TRUE(r.db->Exec("INSERT INTO t(id, b) VALUES (1, 5)"));
}

TEST(PlannerRegression, Liquibase7197Django29182ChildrenStillReferenceTheParent) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c1(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));"
      "CREATE TABLE c2(id INTEGER PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES \"p\"(id) ON "
      "DELETE CASCADE);"
      "CREATE TABLE tree(id INTEGER PRIMARY KEY, parent INT REFERENCES tree(id), p INT REFERENCES "
      "p);",
      "INSERT INTO p VALUES (1, 'one'); INSERT INTO c1 VALUES (1, 1); INSERT INTO c2 VALUES (1, 1);"
      "INSERT INTO tree VALUES (1, NULL, 1), (2, 1, 1);",
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');"
      "CREATE TABLE c1(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id));"
      "CREATE TABLE c2(id INTEGER PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES \"p\"(id) ON "
      "DELETE CASCADE);"
      "CREATE TABLE tree(id INTEGER PRIMARY KEY, parent INT REFERENCES tree(id), p INT REFERENCES "
      "p, x TEXT UNIQUE);",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.HasOp("rebuild_table", "p") && r.HasOp("rebuild_table", "tree")) << r.Describe();
  for (const char* child : {"c1", "c2"}) {
    EXPECT_EQ(r.db->QueryString("SELECT \"table\" FROM pragma_foreign_key_list(?1)", {child}), "p")
        << child;
  }
  EXPECT_EQ(r.db->QueryRows("SELECT \"table\" FROM pragma_foreign_key_list('tree') ORDER BY 1"),
            (Rows{{"p"}, {"tree"}}));
  std::string all = AllSchemaSql(r.db->db());
  EXPECT_FALSE(Contains(all, "_automigrate_")) << all;
  EXPECT_EQ(r.db->TableRows("tree", {"id", "parent", "p"}),
            (Rows{{"1", "NULL", "1"}, {"2", "1", "1"}}));
}

TEST(PlannerRegression, Drizzle5782Prisma24540RebuildFiresNoForeignKeyAction) {
  const std::string children =
      "CREATE TABLE cascade_child(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE "
      "CASCADE ON UPDATE CASCADE);"
      "CREATE TABLE setnull_child(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE SET "
      "NULL);"
      "CREATE TABLE default_child(id INTEGER PRIMARY KEY, pid INT DEFAULT 0 REFERENCES p(id) ON "
      "DELETE SET DEFAULT);";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);" + children,
      "INSERT INTO p VALUES (0, 'zero'), (1, 'one'), (2, 'two');"
      "INSERT INTO cascade_child VALUES (1, 1), (2, 2);"
      "INSERT INTO setnull_child VALUES (1, 1), (2, 2);"
      "INSERT INTO default_child VALUES (1, 1), (2, 2);",
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE);" + children, "",
      {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  ASSERT_TRUE(r.HasOp("rebuild_table", "p")) << r.Describe();
  for (const char* t : {"p", "cascade_child", "setnull_child", "default_child"})
    EXPECT_EQ(RowsWithRowid(r.db->db(), t), r.rows_before.at(t)) << t << r.Describe();
}

TEST(PlannerRegression, Liquibase1896And3605RebuildKeepsCascadeAndUniqueConstraints) {
  const std::string columns =
      "pid INT REFERENCES p(id) ON DELETE CASCADE, code TEXT UNIQUE, a TEXT, b TEXT";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(id INTEGER PRIMARY KEY, " + columns +
          ", UNIQUE (a, b));",
      "INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1, 'k', 'a', 'b');",
      "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(id INTEGER PRIMARY KEY, " + columns +
          ", created TEXT DEFAULT CURRENT_TIMESTAMP, UNIQUE (a, b));");
  ASSERT_TRUE(r.db);
  ASSERT_TRUE(r.HasOp("rebuild_table", "c")) << r.Describe();
  EXPECT_EQ(r.db->QueryString("SELECT on_delete FROM pragma_foreign_key_list('c')"), "CASCADE");
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM pragma_index_list('c') WHERE origin = 'u'"), 2);
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO c(id, code) VALUES (2, 'k')"));
}

TEST(PlannerRegression, Prisma29024PlainAddColumnDoesNotRebuild) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE, CHECK (length(a) > 0));"
      "CREATE INDEX t_a ON t(a);",
      "INSERT INTO t VALUES (1, 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE, note TEXT DEFAULT 'n',"
      " flag INT NOT NULL DEFAULT 0 CHECK (flag IN (0, 1)), CHECK (length(a) > 0));"
      "CREATE INDEX t_a ON t(a);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "add_column,add_column") << r.Describe();
}

TEST(PlannerRegression, Drizzle3437AFailingStepLeavesNothingHalfDone) {
  // The script is one transaction: a later failing step undoes the earlier ones.
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                      "INSERT INTO t VALUES (1, 'dup'), (2, 'dup');"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
      "CREATE TABLE u(x);"
      "CREATE UNIQUE INDEX t_a ON t(a);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_GE(plan.size(), 3u) << FormatPlan(plan);
  EXPECT_TRUE(Contains(PlanWarnings(plan), "1 row of t violates UNIQUE index t_a (a)"))
      << FormatPlan(plan);
  std::string script = db.QueryString("SELECT migrate_script(?1)", {desired});
  std::string schema_before = AllSchemaSql(db.db());
  db.Close();
  ShellResult shell = db.RunShellScript("PRAGMA foreign_keys=ON;\n" + script);
  ASSERT_TRUE(db.Reopen());
  EXPECT_NE(shell.exit_code, 0) << script;
  EXPECT_EQ(AllSchemaSql(db.db()), schema_before) << script;
}

// migrate_apply(desired) on `db`: "" when it succeeds, else its message.
std::string ApplyError(TestDb& db, const std::string& desired) {
  Rows rows;
  std::string error;
  if (TryQueryRows(db.db(), "SELECT migrate_apply(?1)", {desired}, &rows, &error)) return "";
  return error.empty() ? "migrate_apply failed without a message" : error;
}

// Issue 5 (convergence seeds 16695, 18263): the data pre-check compared the
// retyped values without the new column's TEXT affinity, so '0.25' < 1000
// read as text against an integer (false); SQLite's own CHECK compares
// '0.25' < '1000' and accepts the rows.
TEST(PlannerRegression, Issue5PrecheckEvaluatesCheckUnderTheNewColumnsAffinity) {
  const std::string current = "CREATE TABLE t(id INTEGER PRIMARY KEY, c REAL);";
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT CHECK (c IS NULL OR c < 1000));";
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(current + "INSERT INTO t VALUES (1, 0.25), (2, 100), (3, NULL);"));
  EXPECT_EQ(ApplyError(db, desired), "");
  EXPECT_EQ(db.QueryRows("SELECT id, quote(c) FROM t ORDER BY id"),
            (Rows{{"1", "'0.25'"}, {"2", "'100.0'"}, {"3", "NULL"}}));

  TestDb bad;
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad.Exec(current + "INSERT INTO t VALUES (1, 0.25), (2, 'zzz');"));
  std::string error = ApplyError(bad, desired);
  EXPECT_TRUE(Contains(error, "data pre-check failed") &&
              Contains(error, "1 row of t.c violates CHECK (c IS NULL OR c < 1000)"))
      << error;
  EXPECT_EQ(bad.QueryRows("SELECT id, quote(c) FROM t ORDER BY id"),
            (Rows{{"1", "0.25"}, {"2", "'zzz'"}}));
}

// Issue 5 (convergence seed 24942): the pre-check read a whole row untyped
// when any of its columns could not take its new affinity without a change
// ('Abc' in an INT column), so the retyped c lost its TEXT affinity there and
// '-19.5' < 1000 compared text with an integer (false). Each rule now reads
// typed the rows where the columns it names convert, whatever the others hold.
TEST(PlannerRegression, Issue5PrecheckReadsEachRulesColumnsTypedWhateverTheOthersHold) {
  const std::string current = "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, c REAL);";
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, k INT, c TEXT CHECK (c IS NULL OR c < 1000));";
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(current + "INSERT INTO t VALUES (1, 'Abc', -19.5), (2, 3, 0.25);"));
  EXPECT_EQ(ApplyError(db, desired), "");
  EXPECT_EQ(db.QueryRows("SELECT id, quote(k), quote(c) FROM t ORDER BY id"),
            (Rows{{"1", "'Abc'", "'-19.5'"}, {"2", "3", "'0.25'"}}));

  // A value the CHECK refuses is still counted on such a row.
  TestDb bad;
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad.Exec(current + "INSERT INTO t VALUES (1, 'Abc', 'zzz');"));
  std::string error = ApplyError(bad, desired);
  EXPECT_TRUE(Contains(error, "1 row of t.c violates CHECK (c IS NULL OR c < 1000)")) << error;
}

// Issue 5 (seed 13224): a generated INTEGER column stores a*2 = 118.0 as the
// integer 118 (length 3); the pre-check took the real (length 5) and counted
// duplicates a new UNIQUE expression index does not have.
TEST(PlannerRegression, Issue5PrecheckGivesGeneratedColumnsTheirAffinity) {
  const std::string current =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a REAL, g INTEGER AS (a * 2));";
  const std::string desired = current + "CREATE UNIQUE INDEX t_len ON t(length(g));";
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(current + "INSERT INTO t(id, a) VALUES (1, 59.0), (2, 17.0), (3, 17.25);"));
  EXPECT_EQ(ApplyError(db, desired), "");
  EXPECT_EQ(db.QueryRows("SELECT id, quote(g) FROM t INDEXED BY t_len ORDER BY id"),
            (Rows{{"1", "118"}, {"2", "34"}, {"3", "34.5"}}));

  TestDb bad;
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad.Exec(current + "INSERT INTO t(id, a) VALUES (1, 59.0), (2, 17.0), (3, 20.0);"));
  std::string error = ApplyError(bad, desired);
  EXPECT_TRUE(Contains(error, "data pre-check failed") &&
              Contains(error, "1 row of t violates UNIQUE index t_len"))
      << error;
}

// Issue 5 (seed 12768): a partial UNIQUE index WHERE g > 0 over a generated
// TEXT column compares g with '0' as text; the pre-check compared text with
// the integer 0 (always greater) and counted every row as indexed.
TEST(PlannerRegression, Issue5PrecheckPartialIndexWhereUnderTextAffinity) {
  const std::string current =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB, g TEXT AS (lower(b)) VIRTUAL);";
  const std::string desired = current + "CREATE UNIQUE INDEX t_g ON t((g IS NULL)) WHERE g > 0;";
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(current + "INSERT INTO t(id, b) VALUES (1, 'x y'), (2, ''), (3, -5);"));
  EXPECT_EQ(ApplyError(db, desired), "");
  EXPECT_EQ(db.QueryRows("SELECT id, quote(g) FROM t ORDER BY id"),
            (Rows{{"1", "'x y'"}, {"2", "''"}, {"3", "'-5'"}}));

  TestDb bad;
  ASSERT_TRUE(bad.ok());
  ASSERT_TRUE(bad.Exec(current + "INSERT INTO t(id, b) VALUES (1, 'x y'), (2, ''), (3, 'abc');"));
  std::string error = ApplyError(bad, desired);
  EXPECT_TRUE(Contains(error, "data pre-check failed") &&
              Contains(error, "1 row of t violates UNIQUE index t_g"))
      << error;
}

// Issue 5 (convergence seed 9582): SQLite 3.40's ALTER TABLE RENAME COLUMN
// fails on the PRIMARY KEY column of a WITHOUT ROWID table that a UNIQUE
// constraint also covers (that redundant constraint gets no index, so its
// "c7" is not rewritten and re-reads as the string 'c7': "expressions
// prohibited in PRIMARY KEY and UNIQUE constraints"). The rename is folded
// into the rebuild instead, and the SQL rollback does not count the renamed
// columns as data it would discard.
TEST(PlannerRegression, Issue5RenamePrimaryKeyColumnCoveredByUniqueWithoutRowid) {
  const std::string current =
      "CREATE TABLE t6(\"c7\" INTEGER, c8 REAL, PRIMARY KEY (\"c7\"), UNIQUE (\"c7\", c8))"
      " WITHOUT ROWID;";
  const std::string desired =
      "CREATE TABLE t6(\"key\" INTEGER, -- @renamed from=\"c7\"\n"
      " c8 REAL, PRIMARY KEY (\"key\"), UNIQUE (\"key\", c8)) WITHOUT ROWID;";
  const std::string rows = "INSERT INTO t6 VALUES (1, 1.5), (2, NULL), (3, -2.5);";
  MigrateResult r = MigrateAndCheck(current, rows, desired);
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.ok) << r.Describe();
  EXPECT_TRUE(r.Steps("rename_column", "t6.key").empty()) << r.Describe();
  EXPECT_EQ(r.Steps("rebuild_table", "t6").size(), 1u) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT \"key\", quote(c8) FROM t6 ORDER BY \"key\""),
            (Rows{{"1", "1.5"}, {"2", "NULL"}, {"3", "-2.5"}}));

  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(current + rows));
  EXPECT_EQ(ApplyError(db, desired), "");
  EXPECT_EQ(db.QueryRows("SELECT \"key\", quote(c8) FROM t6 ORDER BY \"key\""),
            (Rows{{"1", "1.5"}, {"2", "NULL"}, {"3", "-2.5"}}));
  Rows rolled;
  std::string error;
  EXPECT_TRUE(TryQueryRows(db.db(), "SELECT migrate_rollback('{\"method\": \"sql\"}')", {},
                           &rolled, &error))
      << error;
  EXPECT_EQ(db.QueryRows("SELECT c7, quote(c8) FROM t6 ORDER BY c7"),
            (Rows{{"1", "1.5"}, {"2", "NULL"}, {"3", "-2.5"}}));
}

}  // namespace
}  // namespace automigrate::testing
