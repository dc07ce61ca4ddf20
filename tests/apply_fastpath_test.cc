// The start-up fast path of migrate_apply: after an applied batch, applying
// the same desired schema again answers "nothing to do" from the history's
// hashes. These tests prove it never hides a real difference.
#include <gtest/gtest.h>

#include <string>

#include "core/apply.h"
#include "core/plan.h"
#include "support/apply_support.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kDesired =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT);"
    "CREATE INDEX t_a ON t(a);";

Result<ApplyReport> ApplyDefault(TestDb& db, std::string_view desired,
                                 ApplyOptions options = {}) {
  return Apply(db.db(), desired, options);
}

TEST(ApplyFastPath, SecondApplyIsANoOpThatWritesNothing) {
  TestDb db;
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
                      "INSERT INTO t(a) VALUES ('x');"));
  Result<ApplyReport> first = ApplyDefault(db, kDesired);
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_TRUE(first->batch.has_value());
  const int64_t changes = db.QueryInt("SELECT total_changes()");
  const std::string dump = DumpDatabase(db.db());
  Result<ApplyReport> again = ApplyDefault(db, kDesired);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->batch.has_value());
  EXPECT_EQ(again->steps, 0);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(db.QueryInt("SELECT total_changes()"), changes);
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(db.db())), "");
}

// A schema change made by another tool after the last apply changes the
// schema hash, so the full plan runs and undoes it.
TEST(ApplyFastPath, ChangeBehindTheExtensionsBackIsDetected) {
  TestDb db;
  ASSERT_TRUE(ApplyDefault(db, kDesired).ok());
  ASSERT_TRUE(db.Exec("CREATE INDEX sneaky ON t(b);"));
  Result<ApplyReport> r = ApplyDefault(db, kDesired);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->batch.has_value()) << "the hand-made index must be planned away";
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'sneaky'"), 0);

  ASSERT_TRUE(db.Exec("ALTER TABLE t ADD COLUMN c INT;"));
  ApplyOptions destructive;
  destructive.allow_destructive = true;
  r = ApplyDefault(db, kDesired, destructive);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->batch.has_value()) << "the hand-added column must be planned away";
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_table_info('t') WHERE name = 'c'"), 0);
}

// Same text, different plan options: no shortcut.
TEST(ApplyFastPath, DifferentPlanOptionsAreNotShortCircuited) {
  TestDb db;
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b INT, a TEXT);"
                      "CREATE INDEX t_a ON t(a);"));
  // Column order ignored: nothing to do, nothing recorded.
  Result<ApplyReport> r = ApplyDefault(db, kDesired);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->batch.has_value());
  // Strict column order must still rebuild to (id, a, b).
  ApplyOptions strict;
  strict.plan.strict_column_order = true;
  r = ApplyDefault(db, kDesired, strict);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->batch.has_value());
  EXPECT_EQ(db.QueryString("SELECT group_concat(name, ',') FROM pragma_table_info('t')"),
            "id,a,b");
}

// A rollback-style batch (the newest version change was not this desired
// schema) and a failed batch never enable the shortcut.
TEST(ApplyFastPath, OnlyTheNewestAppliedBatchOfThisSchemaCounts) {
  TestDb db;
  ASSERT_TRUE(ApplyDefault(db, kDesired).ok());
  const std::string other = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT, c INT);"
                            "CREATE INDEX t_a ON t(a);";
  ASSERT_TRUE(ApplyDefault(db, other).ok());
  ApplyOptions destructive;
  destructive.allow_destructive = true;
  Result<ApplyReport> back = ApplyDefault(db, kDesired, destructive);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->batch.has_value()) << "going back to the first schema is a real migration";
  EXPECT_EQ(back->version, 3);
}

}  // namespace
}  // namespace automigrate::testing
