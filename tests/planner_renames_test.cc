// tests/planner_renames_test.cc -- rename hints (DESIGN.md "How a plan is
// made" step 4): sqldef-style comments on columns, tables and indexes, the
// "rename" option, their interplay with rebuilds, dependants and foreign
// keys, hints that do not apply, and the warning that suggests a hint.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kUsers =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, fullname TEXT, age INT);";
constexpr std::string_view kUserRows =
    "INSERT INTO users VALUES (1, 'Ada', 36), (2, 'Linus', NULL), (3, NULL, 50);";
const Rows kUserValues = {{"1", "Ada", "36"}, {"2", "Linus", "NULL"}, {"3", "NULL", "50"}};

TEST(PlannerRename, ColumnHintAfterTheColumnKeepsData) {
  MigrateResult r = MigrateAndCheck(kUsers, kUserRows,
                                    "CREATE TABLE users(\n"
                                    "  id INTEGER PRIMARY KEY,\n"
                                    "  name TEXT, -- @renamed from=fullname\n"
                                    "  age INT\n"
                                    ");");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_column") << r.Describe();
  EXPECT_EQ(r.plan[0].object, "users.name") << r.Describe();
  EXPECT_FALSE(r.plan[0].destructive) << r.Describe();
  EXPECT_EQ(r.db->TableRows("users", {"id", "name", "age"}), kUserValues);
}

TEST(PlannerRename, ColumnHintOnTheLastColumnWithoutComma) {
  MigrateResult r = MigrateAndCheck(kUsers, kUserRows,
                                    "CREATE TABLE users(\n"
                                    "  id INTEGER PRIMARY KEY,\n"
                                    "  age INT,\n"
                                    "  name TEXT -- @renamed from=fullname\n"
                                    ");");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_column") << r.Describe();
  EXPECT_EQ(r.db->TableRows("users", {"id", "name", "age"}), kUserValues);
}

TEST(PlannerRename, TableHintInABlockCommentKeepsData) {
  MigrateResult r = MigrateAndCheck(
      kUsers, kUserRows,
      "CREATE TABLE people /* @renamed from=users */ (id INTEGER PRIMARY KEY, fullname TEXT, "
      "age INT);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table") << r.Describe();
  EXPECT_EQ(r.plan[0].object, "people");
  EXPECT_FALSE(r.plan[0].destructive);
  EXPECT_EQ(r.db->TableRows("people"), kUserValues);
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'users'"), 0);
}

TEST(PlannerRename, TableHintAfterTheOpeningParenthesis) {
  MigrateResult r = MigrateAndCheck(kUsers, kUserRows,
                                    "CREATE TABLE people ( -- @renamed from=users\n"
                                    "  id INTEGER PRIMARY KEY, fullname TEXT, age INT);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table") << r.Describe();
  EXPECT_EQ(r.db->TableRows("people"), kUserValues);
}

TEST(PlannerRename, QuotedNamesInHints) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE \"old users\"(id INTEGER PRIMARY KEY, \"full name\" TEXT);",
      "INSERT INTO \"old users\" VALUES (1, 'Ada'), (2, 'Grace');",
      "CREATE TABLE users /* @renamed from=\"old users\" */ (\n"
      "  id INTEGER PRIMARY KEY,\n"
      "  name TEXT -- @renamed from=\"full name\"\n"
      ");");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table,rename_column") << r.Describe();
  EXPECT_EQ(r.db->TableRows("users", {"id", "name"}), (Rows{{"1", "Ada"}, {"2", "Grace"}}));
}

TEST(PlannerRename, IndexHintRecreatesTheIndexUnderItsNewName) {
  // SQLite has no ALTER INDEX ... RENAME: drop and create, naming the hint.
  const std::string table = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);";
  MigrateResult r = MigrateAndCheck(table + "CREATE INDEX old_ix ON t(a);",
                                    "INSERT INTO t VALUES (1, 'x');",
                                    table + "CREATE INDEX new_ix /* @renamed from=old_ix */ ON t(a);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "drop_index,create_index") << r.Describe();
  ASSERT_TRUE(r.HasOp("create_index", "new_ix")) << r.Describe();
  EXPECT_TRUE(Contains(r.Steps("create_index", "new_ix")[0]->reason, "renamed from old_ix"))
      << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_index", "old_ix")) << r.Describe();
}

TEST(PlannerRename, ColumnRenameOption) {
  MigrateResult r = MigrateAndCheck(kUsers, kUserRows,
                                    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INT);",
                                    R"({"rename": {"users.fullname": "name"}})");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_column") << r.Describe();
  EXPECT_EQ(r.db->TableRows("users", {"id", "name", "age"}), kUserValues);
}

TEST(PlannerRename, TableRenameOption) {
  MigrateResult r = MigrateAndCheck(
      kUsers, kUserRows, "CREATE TABLE people(id INTEGER PRIMARY KEY, fullname TEXT, age INT);",
      R"({"rename": {"users": "people"}})");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table") << r.Describe();
  EXPECT_EQ(r.db->TableRows("people"), kUserValues);
}

TEST(PlannerRename, TableAndColumnRenameOptionsTogether) {
  // The column is named by the table's desired (new) name.
  MigrateResult r = MigrateAndCheck(
      kUsers, kUserRows, "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, age INT);",
      R"({"rename": {"users": "people", "people.fullname": "name"}})");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table,rename_column") << r.Describe();
  EXPECT_EQ(r.db->TableRows("people", {"id", "name", "age"}), kUserValues);
}

TEST(PlannerRename, RenameAndTypeChangeOnTheSameColumn) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, qty TEXT);",
      "INSERT INTO t VALUES (1, '10'), (2, '7'), (3, NULL);",
      "CREATE TABLE t(id INTEGER PRIMARY KEY, quantity INTEGER -- @renamed from=qty\n);");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_column,rebuild_table") << r.Describe();
  EXPECT_FALSE(r.HasOp("drop_column") || r.HasOp("add_column")) << r.Describe();
  for (const PlanRow& p : r.plan) EXPECT_FALSE(p.destructive) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT id, quantity, typeof(quantity) FROM t ORDER BY id"),
            (Rows{{"1", "10", "integer"}, {"2", "7", "integer"}, {"3", "NULL", "null"}}));
}

TEST(PlannerRename, RenamedColumnUsedByIndexViewTriggerAndChildForeignKey) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(code));"
      "CREATE TABLE log(msg TEXT);"
      "CREATE INDEX p_code_lower ON p(lower(code));"
      "CREATE VIEW pv AS SELECT code FROM p;"
      "CREATE TRIGGER p_ins AFTER INSERT ON p BEGIN INSERT INTO log VALUES (new.code); END;",
      "INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 'a'), (11, 'b');",
      "CREATE TABLE p(id INTEGER PRIMARY KEY, ref TEXT UNIQUE -- @renamed from=code\n);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(ref));"
      "CREATE TABLE log(msg TEXT);"
      "CREATE INDEX p_code_lower ON p(lower(ref));"
      "CREATE VIEW pv AS SELECT ref FROM p;"
      "CREATE TRIGGER p_ins AFTER INSERT ON p BEGIN INSERT INTO log VALUES (new.ref); END;",
      "", {.plan_with_foreign_keys = true});
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.HasOp("rename_column", "p.ref")) << r.Describe();
  EXPECT_FALSE(r.HasOp("rebuild_table")) << r.Describe();
  EXPECT_EQ(r.db->QueryString("SELECT \"to\" FROM pragma_foreign_key_list('c')"), "ref");
  EXPECT_EQ(r.db->QueryRows("SELECT * FROM pv ORDER BY 1"), (Rows{{"a"}, {"b"}}));
  EXPECT_EQ(r.db->TableRows("c"), (Rows{{"10", "a"}, {"11", "b"}}));
}

TEST(PlannerRename, RenamedTableWithViewsAndTriggers) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE TABLE log(msg TEXT);"
      "CREATE VIEW v AS SELECT a FROM t;"
      "CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN INSERT INTO log VALUES (new.a); END;",
      "INSERT INTO t VALUES (1, 'x'); DELETE FROM log;",
      "CREATE TABLE t2 /* @renamed from=t */ (id INTEGER PRIMARY KEY, a TEXT);"
      "CREATE TABLE log(msg TEXT);"
      "CREATE VIEW v AS SELECT a FROM t2;"
      "CREATE TRIGGER t_ins AFTER INSERT ON t2 BEGIN INSERT INTO log VALUES (new.a); END;");
  ASSERT_TRUE(r.db);
  EXPECT_TRUE(r.HasOp("rename_table", "t2")) << r.Describe();
  EXPECT_EQ(r.db->TableRows("v"), (Rows{{"x"}}));
  ASSERT_TRUE(r.db->Exec("INSERT INTO t2 VALUES (2, 'y')"));
  EXPECT_EQ(r.db->TableRows("log"), (Rows{{"y"}}));
}

TEST(PlannerRename, HintOntoANameTheLiveTableAlsoHasIsNotSilentlyIgnored) {
  // The user says: the new b is the old a (the old b goes away). Either the
  // data follows the hint, or the plan says the hint was not used; planning
  // "drop a, keep b" without a word loses the data the hint was written for.
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                      "INSERT INTO t VALUES (1, 'from a', 'from b');"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY,\n  b TEXT -- @renamed from=a\n);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  std::string script = db.QueryString("SELECT migrate_script(?1)", {desired});
  db.Close();
  ShellResult shell = db.RunShellScript(script);
  ASSERT_TRUE(db.Reopen());
  ASSERT_EQ(shell.exit_code, 0) << shell.err;
  bool followed = db.QueryString("SELECT b FROM t") == "from a";
  EXPECT_TRUE(followed || Contains(StatusWarnings(status), "rename hint for column t.b"))
      << "b = " << db.QueryString("SELECT b FROM t") << "\n" << status << "\n" << FormatPlan(plan);
}

TEST(PlannerRename, SwappedColumnHintsAreNotSilentlyIgnored) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a INT, b TEXT);"
                      "INSERT INTO t VALUES (1, 42, 'text');"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY,\n"
      "  b INT, -- @renamed from=a\n"
      "  a TEXT -- @renamed from=b\n"
      ");";
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  std::string script = db.QueryString("SELECT migrate_script(?1)", {desired});
  db.Close();
  ShellResult shell = db.RunShellScript(script);
  ASSERT_TRUE(db.Reopen());
  ASSERT_EQ(shell.exit_code, 0) << shell.err;
  Rows values = db.QueryRows("SELECT b, a FROM t");
  bool followed = values == Rows{{"42", "text"}};
  EXPECT_TRUE(followed || Contains(StatusWarnings(status), "rename hint"))
      << FormatRows(values) << status << "\n" << script;
}

TEST(PlannerRename, SwappedTableHintsAreNotSilentlyIgnored) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec("CREATE TABLE a(x INT); CREATE TABLE b(y TEXT);"
                      "INSERT INTO a VALUES (1); INSERT INTO b VALUES ('t');"));
  const std::string desired =
      "CREATE TABLE b /* @renamed from=a */ (x INT);"
      "CREATE TABLE a /* @renamed from=b */ (y TEXT);";
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  std::string script = db.QueryString("SELECT migrate_script(?1)", {desired});
  db.Close();
  ShellResult shell = db.RunShellScript(script);
  ASSERT_TRUE(db.Reopen());
  ASSERT_EQ(shell.exit_code, 0) << shell.err;
  Rows values = db.QueryRows("SELECT (SELECT x FROM b), (SELECT y FROM a)");
  bool followed = values == Rows{{"1", "t"}};
  EXPECT_TRUE(followed || Contains(StatusWarnings(status), "rename hint for table"))
      << FormatRows(values) << status << "\n" << script;
}

TEST(PlannerRename, HintNamingAMissingColumnIsAWarning) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kUsers) + std::string(kUserRows)));
  const std::string desired =
      "CREATE TABLE users(id INTEGER PRIMARY KEY, fullname TEXT, age INT,\n"
      "  nick TEXT -- @renamed from=nickname\n);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "add_column");
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  EXPECT_TRUE(Contains(status,
                       "rename hint for column users.nick ignored: there is no column nickname to "
                       "rename"))
      << status;
}

TEST(PlannerRename, HintNamingAMissingTableIsAWarning) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kUsers)));
  const std::string desired = std::string(kUsers) +
                              "CREATE TABLE people /* @renamed from=persons */ (id INTEGER PRIMARY "
                              "KEY);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_EQ(plan[0].op, "create_table");
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  EXPECT_TRUE(Contains(status,
                       "rename hint for table people ignored: there is no table persons to rename"))
      << status;
}

TEST(PlannerRename, OptionNamingATableTheDesiredSchemaLacksIsAnError) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kUsers)));
  std::string version = db.QueryString("PRAGMA schema_version");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT * FROM migrate_plan(?1, ?2)",
                    {std::string(kUsers), R"({"rename": {"users": "peeple"}})"}),
            "migrate_plan: rename: \"users\" -> \"peeple\": the desired schema has no table "
            "\"peeple\"");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_script(?1, ?2)",
                    {std::string(kUsers), R"({"rename": {"userz.fullname": "name"}})"}),
            "migrate_script: rename: \"userz.fullname\": the desired schema has no table "
            "\"userz\"");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_status(?1, ?2)",
                    {std::string(kUsers), R"({"rename": {"users.fullname": "nom"}})"}),
            "migrate_status: rename: \"users.fullname\" -> \"nom\": table \"users\" has no column "
            "\"nom\" in the desired schema");
  EXPECT_EQ(db.QueryString("PRAGMA schema_version"), version);
}

TEST(PlannerRename, DropPlusAddOfTheSameTypeSuggestsTheHint) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kUsers) + std::string(kUserRows)));
  const std::string desired = "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, age INT);";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  std::string status = db.QueryString("SELECT migrate_status(?1)", {desired});
  std::string warnings = StatusWarnings(status);
  EXPECT_TRUE(Contains(warnings, "@renamed from=fullname")) << status;
  EXPECT_TRUE(Contains(warnings, "users.fullname")) << status;
  // Without the hint it is a drop (destructive) and an add.
  bool drops = false;
  for (const PlanRow& p : plan) drops = drops || (p.destructive && Contains(p.object, "fullname"));
  EXPECT_TRUE(drops) << FormatPlan(plan);
}

TEST(PlannerRename, DropPlusCreateOfASimilarTableSuggestsTheHint) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(std::string(kUsers) + std::string(kUserRows)));
  std::string status = db.QueryString(
      "SELECT migrate_status(?1)",
      {"CREATE TABLE people(id INTEGER PRIMARY KEY, fullname TEXT, age INT);"});
  EXPECT_TRUE(Contains(StatusWarnings(status), "@renamed from=users")) << status;
}

}  // namespace
}  // namespace automigrate::testing
