// The start-up fast path of migrate_apply: after an applied batch, applying
// the same desired schema again answers "nothing to do" from the history's
// hashes. These tests prove it never hides a real difference.
#include <gtest/gtest.h>

#include <string>

#include "core/apply.h"
#include "core/plan.h"
#include "core/sqlite_handle.h"
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

// migrate_status answers from the same check. Every kind of change made by
// another connection after the apply (it moves PRAGMA schema_version) is
// still seen: the answer is the full plan's.
TEST(ApplyFastPath, StatusSeesChangesMadeByAnotherConnection) {
  TestDb db;
  ASSERT_TRUE(ApplyDefault(db, kDesired).ok());
  auto needed = [&] {
    return db.QueryInt("SELECT migrate_status(?1) ->> '$.migration_needed'",
                       {std::string(kDesired)});
  };
  ASSERT_EQ(needed(), 0);
  const std::string changes[] = {
      "CREATE INDEX sneaky ON t(b)",
      "ALTER TABLE t ADD COLUMN c INT",
      "CREATE VIEW v AS SELECT a FROM t",
      "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
      "DROP INDEX t_a",
      "ALTER TABLE t RENAME COLUMN b TO bb",
  };
  for (const std::string& change : changes) {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.path().c_str(), &raw), SQLITE_OK);
    automigrate::DbPtr second(raw);
    ASSERT_EQ(sqlite3_exec(second.get(), change.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << change;
    second.reset();
    EXPECT_EQ(needed(), 1) << change;
    ApplyOptions destructive;
    destructive.allow_destructive = true;
    Result<ApplyReport> r = ApplyDefault(db, kDesired, destructive);
    ASSERT_TRUE(r.ok()) << change << ": " << r.status().message();
    EXPECT_TRUE(r->batch.has_value()) << change;
    EXPECT_EQ(needed(), 0) << change;
  }
}

// VACUUM moves schema_version without changing the schema: the answer comes
// from the schema hash then, and is still "nothing to do".
TEST(ApplyFastPath, VacuumFallsBackToTheSchemaHash) {
  TestDb db;
  ASSERT_TRUE(ApplyDefault(db, kDesired).ok());
  const int64_t version = db.QueryInt("PRAGMA schema_version");
  ASSERT_TRUE(db.Exec("VACUUM"));
  ASSERT_NE(db.QueryInt("PRAGMA schema_version"), version);
  EXPECT_EQ(db.QueryInt("SELECT migrate_status(?1) ->> '$.migration_needed'",
                        {std::string(kDesired)}),
            0);
  Result<ApplyReport> r = ApplyDefault(db, kDesired);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->batch.has_value());
}

// With rename hints an empty plan can still carry a plan-wide warning, so
// migrate_status plans for real: its answer equals migrate_plan's view.
TEST(ApplyFastPath, StatusWithRenameHintsKeepsItsWarnings) {
  TestDb db;
  ASSERT_TRUE(db.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"));
  const std::string desired =
      "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, c TEXT -- @renamed from=a\n, b TEXT);";
  Result<ApplyReport> first = ApplyDefault(db, desired);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::string status =
      db.QueryString("SELECT migrate_status(?1) ->> '$.warnings'", {desired});
  EXPECT_NE(status.find("rename hint for column t.c ignored"), std::string::npos) << status;
}

// History tables made before schema_version_after existed: no shortcut (the
// full plan answers), and the next batch adds the column.
TEST(ApplyFastPath, HistoryFromAnEarlierBuildGetsTheColumnBack) {
  TestDb db;
  ASSERT_TRUE(ApplyDefault(db, kDesired).ok());
  ASSERT_TRUE(db.Exec("ALTER TABLE _automigrate_batches DROP COLUMN schema_version_after"));
  EXPECT_EQ(db.QueryInt("SELECT migrate_status(?1) ->> '$.migration_needed'",
                        {std::string(kDesired)}),
            0);
  Result<ApplyReport> same = ApplyDefault(db, kDesired);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_FALSE(same->batch.has_value());
  const std::string wider = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT, c INT);"
                            "CREATE INDEX t_a ON t(a);";
  Result<ApplyReport> r = ApplyDefault(db, wider);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(db.QueryInt("SELECT schema_version_after = (SELECT schema_version FROM "
                        "pragma_schema_version) FROM _automigrate_batches ORDER BY batch DESC "
                        "LIMIT 1"),
            1);
}

}  // namespace
}  // namespace automigrate::testing
