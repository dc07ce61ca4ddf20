// tests/planner_version_test.cc -- the planner's fallbacks for older SQLite
// versions, through the core API (PlanOptions::sqlite_version): without
// ALTER TABLE DROP COLUMN (< 3.35) and RENAME COLUMN (< 3.25) the plan
// rebuilds instead, and Plan::Script() still converges when executed.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>
#include <vector>

#include "core/plan.h"
#include "support/migrate_check.h"
#include "support/schema_oracle.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr int kNoDropColumn = 3030000;
constexpr int kNoRenameColumn = 3024000;

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using RawDb = std::unique_ptr<sqlite3, DbCloser>;

RawDb OpenMemory() {
  sqlite3* raw = nullptr;
  sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  return RawDb(raw);
}

std::string Describe(const Plan& plan) {
  std::string out;
  for (const Step& s : plan.steps)
    out += std::string(OpName(s.op)) + " " + s.object + " (" + s.reason + ")\n" + s.sql;
  for (const std::string& w : plan.AllWarnings()) out += "warning: " + w + "\n";
  return out;
}

bool HasOp(const Plan& plan, Op op) {
  for (const Step& s : plan.steps)
    if (s.op == op) return true;
  return false;
}

// Plans `desired` for `db` as SQLite `version` would, runs Plan::Script()
// with foreign keys on, and checks convergence: no oracle difference, an
// empty re-plan, integrity and foreign keys clean. Returns the first plan.
Plan MigrateWithVersion(sqlite3* db, const std::string& desired, int version,
                        const PlanOptions& base = {}) {
  PlanOptions opts = base;
  opts.sqlite_version = version;
  Result<Plan> plan = PlanMigration(db, desired, opts);
  if (!plan.ok()) {
    ADD_FAILURE() << "PlanMigration: " << plan.status().message();
    return {};
  }
  std::string script = plan->Script();
  std::string error;
  EXPECT_TRUE(TryExec(db, "PRAGMA foreign_keys=ON;\n" + script, &error))
      << error << "\n" << script;
  TryExec(db, "ROLLBACK");  // in case the script stopped inside its transaction

  RawDb fresh = OpenMemory();
  EXPECT_TRUE(TryExec(fresh.get(), desired, &error)) << error;
  OracleOptions oo;
  oo.a_label = "migrated";
  oo.b_label = "desired";
  std::vector<std::string> diffs = SchemaDifferences(db, fresh.get(), oo);
  std::string joined;
  for (const std::string& d : diffs) joined += d + "\n";
  EXPECT_TRUE(diffs.empty()) << joined << Describe(*plan);

  Result<Plan> again = PlanMigration(db, desired, opts);
  EXPECT_TRUE(again.ok()) << again.status().message();
  if (again.ok()) {
    EXPECT_TRUE(again->empty()) << "re-plan:\n" << Describe(*again);
  }
  EXPECT_EQ(QueryString(db, "PRAGMA integrity_check"), "ok");
  EXPECT_TRUE(QueryRows(db, "SELECT * FROM pragma_foreign_key_check").empty())
      << FormatRows(QueryRows(db, "SELECT * FROM pragma_foreign_key_check"));
  return std::move(*plan);
}

TEST(PlannerVersion, WithoutDropColumnRebuildsInstead) {
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(),
                   "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                   "CREATE VIEW v AS SELECT id, a FROM t;"
                   "INSERT INTO t VALUES (1, 'x', 'p'), (2, 'y', 'q');"));
  Plan plan = MigrateWithVersion(
      db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE VIEW v AS SELECT id, a FROM t;",
      kNoDropColumn);
  EXPECT_FALSE(HasOp(plan, Op::kDropColumn)) << Describe(plan);
  ASSERT_TRUE(HasOp(plan, Op::kRebuildTable)) << Describe(plan);
  for (const Step& s : plan.steps) {
    if (s.op != Op::kRebuildTable) continue;
    EXPECT_TRUE(Contains(s.reason, "DROP COLUMN needs SQLite 3.35")) << Describe(plan);
    EXPECT_TRUE(s.destructive) << Describe(plan);
    EXPECT_FALSE(Contains(s.sql, "DROP COLUMN")) << Describe(plan);
  }
  EXPECT_EQ(TableRows(db.get(), "t"), (Rows{{"1", "x"}, {"2", "y"}}));
  EXPECT_EQ(QueryRows(db.get(), "SELECT * FROM v ORDER BY id"), (Rows{{"1", "x"}, {"2", "y"}}));
}

TEST(PlannerVersion, CurrentVersionUsesDropColumn) {
  // The control: the same change with the running SQLite uses ALTER TABLE DROP COLUMN.
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
                             "INSERT INTO t VALUES (1, 'x', 'p');"));
  Plan plan = MigrateWithVersion(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);", 0);
  EXPECT_TRUE(HasOp(plan, Op::kDropColumn)) << Describe(plan);
  EXPECT_FALSE(HasOp(plan, Op::kRebuildTable)) << Describe(plan);
}

TEST(PlannerVersion, WithoutRenameColumnRebuildsAndKeepsData) {
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(),
                   "CREATE TABLE users(id INTEGER PRIMARY KEY, fullname TEXT, age INT);"
                   "CREATE INDEX users_name ON users(fullname);"
                   "CREATE VIEW names AS SELECT fullname FROM users;"
                   "INSERT INTO users VALUES (1, 'Ada', 36), (2, 'Linus', NULL);"));
  const std::string desired =
      "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, -- @renamed from=fullname\n age INT);"
      "CREATE INDEX users_name ON users(name);"
      "CREATE VIEW names AS SELECT name FROM users;";
  Plan plan = MigrateWithVersion(db.get(), desired, kNoRenameColumn);
  EXPECT_FALSE(HasOp(plan, Op::kRenameColumn)) << Describe(plan);
  ASSERT_TRUE(HasOp(plan, Op::kRebuildTable)) << Describe(plan);
  for (const Step& s : plan.steps) {
    EXPECT_FALSE(s.destructive) << Describe(plan);
    EXPECT_FALSE(Contains(s.sql, "RENAME COLUMN")) << Describe(plan);
    if (s.op == Op::kRebuildTable) {
      EXPECT_TRUE(Contains(s.reason, "RENAME COLUMN needs SQLite 3.25")) << Describe(plan);
    }
  }
  EXPECT_EQ(TableRows(db.get(), "users", {"id", "name", "age"}),
            (Rows{{"1", "Ada", "36"}, {"2", "Linus", "NULL"}}));
  EXPECT_EQ(QueryRows(db.get(), "SELECT * FROM names ORDER BY 1"), (Rows{{"Ada"}, {"Linus"}}));
}

TEST(PlannerVersion, WithoutRenameColumnRenameAndTypeChangeIsOneRebuild) {
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, qty TEXT, gone TEXT);"
                             "INSERT INTO t VALUES (1, '10', 'a'), (2, '7', 'b');"));
  Plan plan = MigrateWithVersion(
      db.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, quantity INTEGER -- @renamed from=qty\n);",
      kNoRenameColumn);
  ASSERT_EQ(plan.steps.size(), 1u) << Describe(plan);
  EXPECT_EQ(plan.steps[0].op, Op::kRebuildTable) << Describe(plan);
  EXPECT_EQ(QueryRows(db.get(), "SELECT id, quantity, typeof(quantity) FROM t ORDER BY id"),
            (Rows{{"1", "10", "integer"}, {"2", "7", "integer"}}));
}

TEST(PlannerVersion, WithoutRenameColumnChildForeignKeysFollowTheRenamedParentColumn) {
  // RENAME COLUMN would repoint c's REFERENCES p(code); a rebuild of p does
  // not, so the plan must also bring c to its desired REFERENCES p(ref).
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(),
                   "CREATE TABLE p(id INTEGER PRIMARY KEY, code TEXT UNIQUE);"
                   "CREATE TABLE c(id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(code));"
                   "INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 'a');"));
  Plan plan = MigrateWithVersion(
      db.get(),
      "CREATE TABLE p(id INTEGER PRIMARY KEY, ref TEXT UNIQUE -- @renamed from=code\n);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pcode TEXT REFERENCES p(ref));",
      kNoRenameColumn);
  EXPECT_FALSE(HasOp(plan, Op::kRenameColumn)) << Describe(plan);
  EXPECT_EQ(QueryString(db.get(), "SELECT \"to\" FROM pragma_foreign_key_list('c')"), "ref");
  EXPECT_EQ(TableRows(db.get(), "p"), (Rows{{"1", "a"}, {"2", "b"}}));
  EXPECT_EQ(TableRows(db.get(), "c"), (Rows{{"10", "a"}}));
}

TEST(PlannerVersion, OldVersionScriptRunsWithForeignKeysOnWithoutCascade) {
  RawDb db = OpenMemory();
  ASSERT_TRUE(Exec(db.get(),
                   "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT, junk TEXT);"
                   "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE "
                   "CASCADE);"
                   "INSERT INTO p VALUES (1, 'one', 'j'); INSERT INTO c VALUES (10, 1);"));
  Plan plan = MigrateWithVersion(
      db.get(),
      "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE CASCADE);",
      kNoDropColumn);
  EXPECT_TRUE(HasOp(plan, Op::kRebuildTable)) << Describe(plan);
  EXPECT_EQ(TableRows(db.get(), "c"), (Rows{{"10", "1"}}));
}

}  // namespace
}  // namespace automigrate::testing
