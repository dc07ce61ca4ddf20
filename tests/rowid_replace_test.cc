// tests/rowid_replace_test.cc -- a rebuild that gives a rowid table an
// INTEGER PRIMARY KEY from one of its columns (README "Decisions"): the rows
// take that column's values as rowids, the old implicit rowids are gone. No
// user column is lost, so the step is not destructive; it has no rollback
// SQL, says that only the backup undoes it, and backup "auto" takes one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using nlohmann::json;

constexpr std::string_view kBefore = R"sql(
CREATE TABLE items(code INTEGER NOT NULL, name TEXT);
INSERT INTO items(rowid, code, name) VALUES (1, 500, 'a'), (2, 300, 'b'), (7, 100, 'c');
)sql";
constexpr std::string_view kAfter = "CREATE TABLE items(code INTEGER PRIMARY KEY, name TEXT);";

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

TEST(RowidReplace, StepWarnsThatOnlyTheBackupUndoesIt) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kBefore));
  std::vector<PlanRow> plan = t.PlanRows(kAfter);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  const PlanRow& s = plan.front();
  EXPECT_EQ(s.op, "rebuild_table");
  EXPECT_FALSE(s.destructive) << FormatPlan(plan);
  EXPECT_FALSE(s.rollback_sql.has_value()) << FormatPlan(plan);
  EXPECT_TRUE(Contains(s.warning, "the rows of items take the values of code as rowids: the old "
                                  "implicit rowids are not kept, and only the backup can undo "
                                  "this step"))
      << s.warning;
  json status = json::parse(t.QueryString("SELECT migrate_status(?1)", {std::string(kAfter)}));
  EXPECT_TRUE(Contains(status["warnings"].dump(), "only the backup can undo")) << status.dump();
}

TEST(RowidReplace, NoWarningWithoutRows) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE items(code INTEGER NOT NULL, name TEXT);"));
  std::vector<PlanRow> plan = t.PlanRows(kAfter);
  ASSERT_EQ(plan.size(), 1u) << FormatPlan(plan);
  EXPECT_FALSE(Contains(plan.front().warning, "rowids")) << plan.front().warning;
}

TEST(RowidReplace, BackupAutoTakesOneAndRollbackRestoresTheRowids) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kBefore));
  json applied = json::parse(t.QueryString("SELECT migrate_apply(?1)", {std::string(kAfter)}));
  ASSERT_EQ(applied["ok"], true) << applied.dump();
  ASSERT_TRUE(applied["backup"].is_object()) << applied.dump();
  EXPECT_EQ(t.QueryString("SELECT group_concat(rowid || ':' || name, ',') FROM "
                          "(SELECT rowid, name FROM items ORDER BY rowid)"),
            "100:c,300:b,500:a");
  EXPECT_EQ(t.QueryInt("SELECT rollback_sql_possible FROM migration_batches"), 0);
  EXPECT_EQ(t.QueryInt("SELECT rollback_backup_possible FROM migration_batches"), 1);

  json back = json::parse(t.QueryString("SELECT migrate_rollback()"));
  ASSERT_EQ(back["ok"], true) << back.dump();
  EXPECT_EQ(back["method"], "backup") << back.dump();
  EXPECT_EQ(t.QueryString("SELECT group_concat(rowid || ':' || code, ',') FROM "
                          "(SELECT rowid, code FROM items ORDER BY rowid)"),
            "1:500,2:300,7:100");
}

}  // namespace
}  // namespace automigrate::testing
