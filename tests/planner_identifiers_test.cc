// tests/planner_identifiers_test.cc -- names that need quoting (spaces,
// double quotes, unicode, keywords) through every kind of step: a rebuild
// with dependants, ADD/DROP COLUMN, renames, index and view changes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

// A table whose every name needs quoting, with an index, a view and a trigger.
const std::string kOddTable =
    "CREATE TABLE \"naïve table\"(\"select\" INTEGER PRIMARY KEY, \"order\" TEXT, "
    "\"日本\" TEXT, \"say \"\"hi\"\"\" TEXT, [from] INT);"
    "CREATE INDEX \"ix \"\"order\"\"\" ON \"naïve table\"(\"order\", \"日本\");"
    "CREATE VIEW \"group\" AS SELECT \"select\", \"日本\" FROM \"naïve table\";"
    "CREATE TABLE \"where\"(\"index\" TEXT);"
    "CREATE TRIGGER \"on insert\" AFTER INSERT ON \"naïve table\" BEGIN "
    "INSERT INTO \"where\" VALUES (new.\"日本\"); END;";
constexpr std::string_view kOddRows =
    "INSERT INTO \"naïve table\" VALUES (1, 'o1', '東京', 'h\"i', 1), (2, NULL, 'ナ', NULL, 2);"
    "DELETE FROM \"where\";";

TEST(PlannerIdentifiers, RebuildsATableWhoseNamesNeedQuoting) {
  std::string desired = kOddTable;
  // "from" INT -> TEXT: a rebuild with an index, a view and a trigger.
  desired.replace(desired.find("[from] INT"), 10, "[from] TEXT");
  MigrateResult r = MigrateAndCheck(kOddTable, kOddRows, desired);
  ASSERT_TRUE(r.db);
  ASSERT_EQ(r.Steps("rebuild_table", "naïve table").size(), 1u) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_view", "group") && r.HasOp("create_view", "group")) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_trigger", "on insert") && r.HasOp("create_trigger", "on insert"))
      << r.Describe();
  EXPECT_EQ(Pick(RowsWithRowid(r.db->db(), "naïve table"), {0, 1, 2, 3, 4}),
            Pick(r.rows_before.at("naïve table"), {0, 1, 2, 3, 4}));
  EXPECT_EQ(r.db->QueryRows("SELECT * FROM \"group\" ORDER BY 1"),
            (Rows{{"1", "東京"}, {"2", "ナ"}}));
  EXPECT_EQ(r.db->QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'ix \"order\"'"), 1);
  ASSERT_TRUE(r.db->Exec("INSERT INTO \"naïve table\"(\"日本\") VALUES ('新')"));
  EXPECT_EQ(r.db->TableRows("where"), (Rows{{"新"}}));
}

TEST(PlannerIdentifiers, AddsAndDropsColumnsWhoseNamesNeedQuoting) {
  const std::string current =
      "CREATE TABLE \"naïve table\"(\"select\" INTEGER PRIMARY KEY, \"order\" TEXT, "
      "\"drop \"\"me\"\"\" TEXT, \"日本\" TEXT);";
  MigrateResult r = MigrateAndCheck(
      current, "INSERT INTO \"naïve table\" VALUES (1, 'o', 'gone', '東京');",
      "CREATE TABLE \"naïve table\"(\"select\" INTEGER PRIMARY KEY, \"order\" TEXT, "
      "\"日本\" TEXT, \"new \"\"col\"\"\" TEXT DEFAULT 'd', \"group\" INT);");
  ASSERT_TRUE(r.db);
  EXPECT_FALSE(r.HasOp("rebuild_table")) << r.Describe();
  EXPECT_TRUE(r.HasOp("drop_column", "naïve table.drop \"me\"")) << r.Describe();
  EXPECT_TRUE(r.HasOp("add_column", "naïve table.new \"col\"")) << r.Describe();
  EXPECT_TRUE(r.HasOp("add_column", "naïve table.group")) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT \"select\", \"order\", \"日本\", \"new \"\"col\"\"\", \"group\" "
                            "FROM \"naïve table\""),
            (Rows{{"1", "o", "東京", "d", "NULL"}}));
}

TEST(PlannerIdentifiers, RenamesTablesAndColumnsWhoseNamesNeedQuoting) {
  MigrateResult r = MigrateAndCheck(
      "CREATE TABLE \"naïve table\"(\"select\" INTEGER PRIMARY KEY, \"日本\" TEXT);",
      "INSERT INTO \"naïve table\" VALUES (1, '東京');",
      "CREATE TABLE \"order\" /* @renamed from=\"naïve table\" */ (\n"
      "  \"select\" INTEGER PRIMARY KEY,\n"
      "  \"日本 語\" TEXT -- @renamed from=\"日本\"\n"
      ");");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.OpList(), "rename_table,rename_column") << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT \"select\", \"日本 語\" FROM \"order\""),
            (Rows{{"1", "東京"}}));
}

TEST(PlannerIdentifiers, KeywordNamedIndexAndViewChange) {
  const std::string table = "CREATE TABLE \"table\"(\"key\" TEXT, \"values\" INT);";
  MigrateResult r = MigrateAndCheck(
      table + "CREATE INDEX \"index\" ON \"table\"(\"key\");"
              "CREATE VIEW \"view\" AS SELECT \"key\" FROM \"table\";",
      "INSERT INTO \"table\" VALUES ('k', 1);",
      table + "CREATE INDEX \"index\" ON \"table\"(\"values\" DESC, \"key\");"
              "CREATE VIEW \"view\" AS SELECT \"key\", \"values\" FROM \"table\";");
  ASSERT_TRUE(r.db);
  EXPECT_EQ(r.plan.size(), 4u) << r.Describe();
  EXPECT_EQ(r.db->QueryRows("SELECT * FROM \"view\""), (Rows{{"k", "1"}}));
}

}  // namespace
}  // namespace automigrate::testing
