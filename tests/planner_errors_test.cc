// tests/planner_errors_test.cc -- bad input through SQL: each error pinned
// to its exact text, and the live database unchanged afterwards (schema
// version, schema text, rows, attached databases, files).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kLive =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t VALUES (1, 'x'), (2, 'y');"
    "CREATE TABLE keep(v); INSERT INTO keep VALUES ('k');";

constexpr std::string_view kOnlyCreate =
    "only CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE are "
    "allowed";

// The observable state of the live database.
struct Snapshot {
  std::string schema_version;
  std::string schema;
  Rows t, keep, databases;
  bool operator==(const Snapshot&) const = default;
};

Snapshot Take(TestDb& db) {
  return {db.QueryString("PRAGMA schema_version"), AllSchemaSql(db.db()), db.TableRows("t"),
          db.TableRows("keep"), db.QueryRows("SELECT name FROM pragma_database_list ORDER BY 1")};
}

struct BadDesired {
  const char* name;
  std::string desired;
  std::string message;  // after "<function>: "
};

void PrintTo(const BadDesired& b, std::ostream* os) { *os << b.name; }

class PlannerBadDesired : public ::testing::TestWithParam<BadDesired> {};

TEST_P(PlannerBadDesired, IsAnErrorNamingTheStatementAndChangesNothing) {
  const BadDesired& bad = GetParam();
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Snapshot before = Take(db);
  for (const char* call : {"SELECT * FROM migrate_plan(?1)", "SELECT migrate_status(?1)",
                           "SELECT migrate_script(?1)"}) {
    std::string function = std::string(call).find("migrate_plan") != std::string::npos
                               ? "migrate_plan"
                               : (std::string(call).find("status") != std::string::npos
                                      ? "migrate_status"
                                      : "migrate_script");
    EXPECT_EQ(ErrorOf(db.db(), call, {bad.desired}), function + ": " + bad.message) << call;
  }
  EXPECT_TRUE(Take(db) == before) << AllSchemaSql(db.db());
  // Nothing was written next to the database either (ATTACH would create a file).
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(db.dir()))
    files.push_back(e.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"test.db"});
}

INSTANTIATE_TEST_SUITE_P(
    PlannerErrors, PlannerBadDesired,
    ::testing::Values(
        BadDesired{"SyntaxError",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\nCREATE TABLE u(a TEXT,, b);",
                   "desired schema: statement 2 (CREATE TABLE u(a TEXT,, b);): near \",\": syntax "
                   "error"},
        BadDesired{"UnknownTableInIndex",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX ix ON nosuch(a);",
                   "desired schema: statement 2 (CREATE INDEX ix ON nosuch(a);): no such table: "
                   "main.nosuch"},
        BadDesired{"UnknownColumnInIndex",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX ix ON t(zz);",
                   "desired schema: statement 2 (CREATE INDEX ix ON t(zz);): no such column: zz"},
        BadDesired{"DuplicateTable",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY); CREATE TABLE T(x);",
                   "desired schema: statement 2 (CREATE TABLE T(x);): table T already exists"},
        BadDesired{"Insert",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t VALUES (3, 'z');",
                   "desired schema: statement 2 (INSERT INTO t VALUES (3, 'z');): " +
                       std::string(kOnlyCreate)},
        BadDesired{"Pragma", "PRAGMA writable_schema = 1; CREATE TABLE t(id INTEGER PRIMARY KEY);",
                   "desired schema: statement 1 (PRAGMA writable_schema = 1;): " +
                       std::string(kOnlyCreate)},
        BadDesired{"Attach", "ATTACH 'side.db' AS side; CREATE TABLE side.x(a);",
                   "desired schema: statement 1 (ATTACH 'side.db' AS side;): " +
                       std::string(kOnlyCreate)},
        BadDesired{"DropTable",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); DROP TABLE t;",
                   "desired schema: statement 2 (DROP TABLE t;): " + std::string(kOnlyCreate)},
        BadDesired{"Select", "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); SELECT 1;",
                   "desired schema: statement 2 (SELECT 1;): " + std::string(kOnlyCreate)},
        BadDesired{"CreateTableAsSelect",
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE TABLE u AS SELECT 1 AS x;",
                   "desired schema: statement 2 (CREATE TABLE u AS SELECT 1 AS x;): " +
                       std::string(kOnlyCreate)},
        BadDesired{"TempTable", "CREATE TEMP TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                   "desired schema: statement 1 (CREATE TEMP TABLE t(id INTEGER PRIMARY KEY, a "
                   "TEXT);): " +
                       std::string(kOnlyCreate)}),
    [](const ::testing::TestParamInfo<BadDesired>& info) { return std::string(info.param.name); });

TEST(PlannerErrors, NonTextDesiredArgument) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Snapshot before = Take(db);
  EXPECT_EQ(ErrorOf(db.db(), "SELECT * FROM migrate_plan(42)"),
            "migrate_plan: desired schema must be text");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_script(4.5)"),
            "migrate_script: desired schema must be text");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_status(NULL)"), "migrate_status: desired schema is NULL");
  EXPECT_TRUE(Take(db) == before);
}

TEST(PlannerErrors, InvalidJsonOptions) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Snapshot before = Take(db);
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);";
  EXPECT_EQ(ErrorOf(db.db(), "SELECT * FROM migrate_plan(?1, ?2)", {desired, "{\"rename\": "}),
            "migrate_plan: options: invalid JSON");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_script(?1, ?2)", {desired, "[1]"}),
            "migrate_script: options must be a JSON object");
  EXPECT_TRUE(Take(db) == before);
}

TEST(PlannerErrors, UnknownOptionKey) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  Snapshot before = Take(db);
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);";
  EXPECT_EQ(ErrorOf(db.db(), "SELECT * FROM migrate_plan(?1, ?2)",
                    {desired, R"({"column_order": "strict", "renames": {}})"}),
            "migrate_plan: options: unknown key \"renames\"");
  EXPECT_EQ(ErrorOf(db.db(), "SELECT migrate_status(?1, ?2)", {desired, R"({"column_order": 1})"}),
            "migrate_status: options: \"column_order\" must be one of \"ignore\", \"strict\"");
  EXPECT_TRUE(Take(db) == before);
}

TEST(PlannerErrors, EmptyDesiredSchemaIsAValidButDestructivePlan) {
  // Not an error: an empty schema means "no tables". Every drop says so.
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kLive));
  std::vector<PlanRow> plan = db.PlanRows("-- nothing here\n");
  ASSERT_EQ(plan.size(), 2u) << FormatPlan(plan);
  for (const PlanRow& p : plan) {
    EXPECT_EQ(p.op, "drop_table") << FormatPlan(plan);
    EXPECT_TRUE(p.destructive) << FormatPlan(plan);
  }
  std::string status = db.QueryString("SELECT migrate_status('')");
  EXPECT_TRUE(Contains(status, "\"destructive\":true")) << status;
}

}  // namespace
}  // namespace automigrate::testing
