// tests/planner_dependants_test.cc -- what a table rebuild must carry along:
// views and triggers (its own and other tables' that name it), views on
// views, foreign-key children (no cascade under PRAGMA foreign_keys=ON),
// rowids, indexes with WHERE and expressions, COLLATE, unnamed CHECKs, and
// table renames that children follow.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

// Steps of `op` on `object` come before (or after) the rebuild of `table`.
void ExpectAroundRebuild(const MigrateResult& r, std::string_view table, std::string_view drop_op,
                         std::string_view create_op, std::string_view object) {
  std::vector<const PlanRow*> rebuild = r.Steps("rebuild_table", table);
  ASSERT_EQ(rebuild.size(), 1u) << r.Describe();
  std::vector<const PlanRow*> drops = r.Steps(drop_op, object);
  std::vector<const PlanRow*> creates = r.Steps(create_op, object);
  ASSERT_EQ(drops.size(), 1u) << drop_op << " " << object << r.Describe();
  ASSERT_EQ(creates.size(), 1u) << create_op << " " << object << r.Describe();
  EXPECT_LT(drops[0]->step, rebuild[0]->step) << object << r.Describe();
  EXPECT_GT(creates[0]->step, rebuild[0]->step) << object << r.Describe();
}

TEST(PlannerRebuild, KeepsViewsAndTriggersOnRebuiltTable) {
  const std::string others =
      "CREATE TABLE log(msg TEXT);"
      "CREATE VIEW v AS SELECT id, a FROM t WHERE a IS NOT NULL;"
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES ('ins ' || new.a); END;"
      "CREATE TRIGGER t_del BEFORE DELETE ON t BEGIN INSERT INTO log VALUES ('del ' || old.id); "
      "END;";
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);" + others,
                                    "INSERT INTO t VALUES (1, 'x'), (2, NULL); DELETE FROM log;",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER);" + others);
  ASSERT_TRUE(r.db);
  ExpectAroundRebuild(r, "t", "drop_view", "create_view", "v");
  ExpectAroundRebuild(r, "t", "drop_trigger", "create_trigger", "t_ins");
  ExpectAroundRebuild(r, "t", "drop_trigger", "create_trigger", "t_del");
  EXPECT_EQ(r.Steps("rebuild_table", "t")[0]->complexity, "COMPLEX") << r.Describe();
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')"),
            3);
  EXPECT_EQ(r.db->TableRows("v"), (Rows{{"1", "x"}}));
  // The rebuild itself fired nothing; the recreated triggers fire now.
  EXPECT_TRUE(r.db->TableRows("log").empty());
  ASSERT_TRUE(r.db->Exec("INSERT INTO t VALUES (3, 'y'); DELETE FROM t WHERE id = 1;"));
  EXPECT_EQ(r.db->QueryRows("SELECT msg FROM log ORDER BY msg"), (Rows{{"del 1"}, {"ins y"}}));
}

TEST(PlannerRebuild, KeepsATriggerOfAnotherTableThatWritesTheRebuiltTable) {
  const std::string others =
      "CREATE TABLE u(id INTEGER PRIMARY KEY, note TEXT);"
      "CREATE TRIGGER u_audit AFTER INSERT ON u BEGIN "
      "INSERT INTO t(a) VALUES ('from u ' || new.note); END;";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);" + others,
      "INSERT INTO t VALUES (1, 'x');",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '');" + others);
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'u_audit'"), 1)
      << AllSchemaSql(r.db->db());
  ASSERT_TRUE(r.db->Exec("INSERT INTO u VALUES (1, 'hello')"));
  EXPECT_EQ(r.db->TableRows("t", {"a"}), (Rows{{"x"}, {"from u hello"}}));
}

TEST(PlannerRebuild, KeepsAViewOnAViewOnTheRebuiltTable) {
  const std::string views =
      "CREATE VIEW v1 AS SELECT id, a FROM t;"
      "CREATE VIEW v2 AS SELECT a FROM v1 WHERE id > 1;"
      "CREATE VIEW v3 AS SELECT count(*) AS n FROM v2;";
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);" + views,
                                    "INSERT INTO t VALUES (1, 'x'), (2, 'y'), (3, 'z');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a BLOB);" + views);
  ASSERT_TRUE(r.db);
  for (const char* v : {"v1", "v2", "v3"}) ExpectAroundRebuild(r, "t", "drop_view", "create_view", v);
  // Created in dependency order.
  EXPECT_LT(r.Steps("create_view", "v1")[0]->step, r.Steps("create_view", "v2")[0]->step);
  EXPECT_LT(r.Steps("create_view", "v2")[0]->step, r.Steps("create_view", "v3")[0]->step);
  EXPECT_EQ(r.db->TableRows("v3"), (Rows{{"2"}}));
}

TEST(PlannerRebuild, RebuiltParentLosesNoCascadeChildRows) {
  // Script run under PRAGMA foreign_keys=ON (MigrateAndCheck): the DROP TABLE
  // of the parent must not cascade.
  const std::string children =
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);"
      "CREATE TABLE n(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE SET NULL);"
      "CREATE TABLE g(id INTEGER PRIMARY KEY, cid INT REFERENCES c(id) ON DELETE CASCADE);";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);" + children,
      "INSERT INTO p VALUES (1, 'one'), (2, 'two');"
      "INSERT INTO c VALUES (10, 1), (11, 2), (12, 2);"
      "INSERT INTO n VALUES (20, 1), (21, 2);"
      "INSERT INTO g VALUES (30, 10), (31, 12);",
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', "
      "code TEXT UNIQUE);" +
          children,
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "p").size(), 1u) << r.Describe();
  EXPECT_EQ(r.Steps("rebuild_table", "p")[0]->complexity, "COMPLEX") << r.Describe();
  // p gained a column (code, NULL); its other values and every child row stay.
  EXPECT_EQ(Pick(RowsWithRowid(r.db->db(), "p"), {0, 1, 2}), r.rows_before.at("p"));
  for (const char* t : {"c", "n", "g"})
    EXPECT_EQ(RowsWithRowid(r.db->db(), t), r.rows_before.at(t)) << t << r.Describe();
  EXPECT_FALSE(r.HasOp("rebuild_table", "c") || r.HasOp("rebuild_table", "n")) << r.Describe();
  EXPECT_EQ(r.db->QueryString("SELECT \"table\" FROM pragma_foreign_key_list('c')"), "p");
  // The cascade still works afterwards.
  ASSERT_TRUE(r.db->Exec("PRAGMA foreign_keys=ON; DELETE FROM p WHERE id = 2;"));
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}}));
  EXPECT_EQ(r.db->TableRows("g"), (Rows{{"30", "10"}}));
  EXPECT_EQ(r.db->TableRows("n"), (Rows{{"20", "1"}, {"21", "NULL"}}));
}

TEST(PlannerRebuild, RebuiltChildAndParentTogether) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE, x TEXT);",
      "INSERT INTO p VALUES (1, 'one'), (2, 'two'); INSERT INTO c VALUES (10, 1, 'a'), (11, 2, 'b');",
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE, "
      "x TEXT NOT NULL DEFAULT 'd');",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.HasOp("rebuild_table", "p") && r.HasOp("rebuild_table", "c")) << r.Describe();
  EXPECT_EQ(RowsWithRowid(r.db->db(), "p"), r.rows_before.at("p"));
  EXPECT_EQ(RowsWithRowid(r.db->db(), "c"), r.rows_before.at("c"));
}

TEST(PlannerRebuild, PreservesRowidsOfATableWithoutIntegerPrimaryKey) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(a TEXT, b TEXT);",
      "INSERT INTO t(rowid, a, b) VALUES (10, 'x', '1'), (20, 'y', '2'), (35, 'z', NULL);"
      "INSERT INTO t(a, b) VALUES ('w', '4'); DELETE FROM t WHERE rowid = 20;",
      "CREATE TABLE t(a TEXT, b INTEGER);");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT rowid, a, b FROM t ORDER BY rowid"),
            (Rows{{"10", "x", "1"}, {"35", "z", "NULL"}, {"36", "w", "4"}}));
  // And the next rowid continues from there.
  ASSERT_TRUE(r.db->Exec("INSERT INTO t(a) VALUES ('next')"));
  EXPECT_EQ(r.db->QueryInt("SELECT rowid FROM t WHERE a = 'next'"), 37);
}

TEST(PlannerRebuild, PreservesRowidsWithAColumnNamedRowid) {
  // A user column called "rowid" hides the real one: the copy must use an alias that is free.
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(rowid TEXT, a TEXT);",
      "INSERT INTO t(_rowid_, rowid, a) VALUES (7, 'r7', 'x'), (9, 'r9', 'y');",
      "CREATE TABLE t(rowid TEXT, a TEXT NOT NULL DEFAULT '');");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.db->QueryRows("SELECT _rowid_, rowid, a FROM t ORDER BY _rowid_"),
            (Rows{{"7", "r7", "x"}, {"9", "r9", "y"}}));
}

TEST(PlannerRebuild, KeepsPartialAndExpressionIndexesCollationsAndUnnamedChecks) {
  // alembic #1846 (unnamed CHECK dropped), rails #31603 (partial index loses WHERE).
  const std::string rest =
      "CHECK (b >= 0), CHECK (length(a) < 100));"
      "CREATE INDEX t_partial ON t(a) WHERE b > 0;"
      "CREATE INDEX t_expr ON t(lower(a), b DESC);"
      "CREATE UNIQUE INDEX t_nocase ON t(a COLLATE NOCASE) WHERE a <> '';";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b INT, " + rest,
      "INSERT INTO t VALUES (1, 'Abc', 1), (2, 'def', 0), (3, '', 5), (4, '', 6);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT COLLATE NOCASE, b INT, c TEXT UNIQUE, " + rest);
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "t").size(), 1u) << r.Describe();
  EXPECT_EQ(RowsWithRowid(r.db->db(), "t"),
            (Rows{{"1", "1", "Abc", "1", "NULL"},
                  {"2", "2", "def", "0", "NULL"},
                  {"3", "3", "", "5", "NULL"},
                  {"4", "4", "", "6", "NULL"}}));
  Rows indexes = r.db->QueryRows(
      "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
  ASSERT_EQ(indexes.size(), 3u) << FormatRows(indexes);
  EXPECT_TRUE(Contains(indexes[0][1], "lower(a)") && Contains(indexes[0][1], "DESC"))
      << FormatRows(indexes);
  EXPECT_TRUE(Contains(indexes[1][1], "COLLATE NOCASE") && Contains(indexes[1][1], "WHERE"))
      << FormatRows(indexes);
  EXPECT_TRUE(Contains(indexes[2][1], "WHERE b > 0")) << FormatRows(indexes);
  // The CHECKs and the column collation are enforced.
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t(a, b) VALUES ('q', -1)"));
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t(a, b) VALUES (hex(zeroblob(60)), 1)"));
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM t WHERE a = 'ABC'"), 1);
  EXPECT_FALSE(TryExec(r.db->db(), "INSERT INTO t(a, b) VALUES ('DEF', 1)"));
}

TEST(PlannerRebuild, RenamedParentTableIsFollowedByItsChildWithoutRebuild) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);",
      "INSERT INTO p VALUES (1, 'one'); INSERT INTO c VALUES (10, 1);",
      "CREATE TABLE parent /* @renamed from=p */ (id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES parent(id) ON DELETE CASCADE);",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table") << r.Describe();
  EXPECT_FALSE(r.HasOp("rebuild_table", "c")) << r.Describe();
  EXPECT_EQ(r.db->QueryString("SELECT \"table\" FROM pragma_foreign_key_list('c')"), "parent");
  EXPECT_EQ(r.db->TableRows("parent"), (Rows{{"1", "one"}}));
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}}));
}

TEST(PlannerRebuild, RenamedAndRebuiltParentKeepsChildRows) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);",
      "INSERT INTO p VALUES (1, 'one'), (2, 'two'); INSERT INTO c VALUES (10, 1), (11, 2);",
      "CREATE TABLE parent /* @renamed from=p */ (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES parent(id) ON DELETE CASCADE);",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.HasOp("rename_table", "parent")) << r.Describe();
  EXPECT_TRUE(r.HasOp("rebuild_table", "parent")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "1"}, {"11", "2"}}));
  EXPECT_EQ(r.db->QueryString("SELECT \"table\" FROM pragma_foreign_key_list('c')"), "parent");
}

TEST(PlannerRebuild, KeepsAnInsteadOfTriggerOnAViewOfTheRebuiltTable) {
  const std::string others =
      "CREATE VIEW v AS SELECT id, a FROM t;"
      "CREATE TRIGGER v_ins INSTEAD OF INSERT ON v BEGIN INSERT INTO t(a) VALUES (upper(new.a)); "
      "END;";
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);" + others,
                                    "INSERT INTO t VALUES (1, 'x');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL "
                                    "DEFAULT '');" + others);
  ASSERT_TRUE(r.db);
  ExpectAroundRebuild(r, "t", "drop_trigger", "create_trigger", "v_ins");
  ASSERT_TRUE(r.db->Exec("INSERT INTO v(a) VALUES ('y')"));
  EXPECT_EQ(r.db->TableRows("t"), (Rows{{"1", "x"}, {"2", "Y"}}));
}

TEST(PlannerRebuild, ExternalContentFtsIndexStaysValidThroughARebuild) {
  // DESIGN.md: rowids survive a rebuild because FTS external-content tables
  // depend on them.
  const std::string fts =
      "CREATE VIRTUAL TABLE docs_fts USING fts5(body, content='docs');";
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE docs(body TEXT, tag TEXT);" + fts,
      "INSERT INTO docs(rowid, body, tag) VALUES (5, 'hello world', 'a'), (9, 'other text', 'b'),"
      " (12, 'hello again', 'c');"
      "INSERT INTO docs_fts(docs_fts) VALUES ('rebuild');",
      "CREATE TABLE docs(body TEXT, tag TEXT NOT NULL DEFAULT '');" + fts);
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rebuild_table") << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT rowid, body FROM docs_fts WHERE docs_fts MATCH 'hello' "
                            "ORDER BY rowid"),
            (Rows{{"5", "hello world"}, {"12", "hello again"}}));
  ASSERT_TRUE(r.db->Exec("INSERT INTO docs_fts(docs_fts, rank) VALUES ('integrity-check', 1)"));
}

TEST(PlannerRebuild, ComplexityIsModerateWithoutDependants) {
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (1, 'x');",
                                    "CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER);");
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.plan.size(), 1u) << r.Describe();
  EXPECT_EQ(r.plan[0].complexity, "MODERATE") << r.Describe();
}

TEST(PlannerRebuild, DroppedTableTakesItsViewsAlongFirst) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE keep(id INTEGER PRIMARY KEY); CREATE TABLE t(id INTEGER PRIMARY KEY);"
      "CREATE VIEW v AS SELECT t.id FROM t JOIN keep USING (id);",
      "INSERT INTO t VALUES (1); INSERT INTO keep VALUES (1);",
      "CREATE TABLE keep(id INTEGER PRIMARY KEY);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_view,drop_table") << r.Describe();
  EXPECT_TRUE(r.Steps("drop_table", "t")[0]->destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("keep"), (Rows{{"1"}}));
}

}  // namespace
}  // namespace automigrate::testing
