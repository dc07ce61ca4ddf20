// tests/apply_test.cc -- what migrate_apply guarantees (shared/DESIGN.md,
// "What apply guarantees" and "Decisions"), tested on core's Apply() directly:
// nothing to do writes nothing; a batch is atomic, recorded and versioned;
// refusals write nothing; dry runs; the time limit; foreign keys; WAL and
// rollback-journal mode with a concurrent reader; attached schemas.
//
// History is read with core's ReadBatches/ReadSteps and with plain SQL on
// _automigrate_batches/_automigrate_history. Every "unchanged" check compares
// a full dump (sqlite_schema and every row of every table) taken before and
// after, so "exactly as before" means exactly.
#include "core/apply.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/history.h"
#include "core/plan.h"
#include "support/apply_support.h"
#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// Schemas

// A small application: users (parent), posts (child, ON DELETE CASCADE), a
// view over both, and an AUTOINCREMENT table so sqlite_sequence is in every
// dump.
constexpr std::string_view kShop = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age TEXT);
CREATE INDEX users_name ON users(name);
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT);
CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
)sql";

constexpr std::string_view kShopRows = R"sql(
INSERT INTO users VALUES (1, 'ann', '31'), (2, 'bob', '42'), (3, 'cy', NULL);
INSERT INTO posts VALUES (10, 1, 'hello'), (11, 1, 'again'), (12, 2, 'bob here'), (13, 3, 'cy');
INSERT INTO events(what) VALUES ('a'), ('b'), ('c');
DELETE FROM events WHERE id = 3;
)sql";

// users.age changes type (a rebuild of a referenced table), users and posts
// gain columns, posts gains an index.
constexpr std::string_view kShopV1 = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT);
CREATE INDEX users_name ON users(name);
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT, body TEXT DEFAULT '');
CREATE INDEX posts_user ON posts(user_id);
CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
)sql";

// V1 plus a new table.
constexpr std::string_view kShopV2 = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT);
CREATE INDEX users_name ON users(name);
CREATE TABLE posts(id INTEGER PRIMARY KEY,
                   user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,
                   title TEXT, body TEXT DEFAULT '');
CREATE INDEX posts_user ON posts(user_id);
CREATE VIEW user_posts AS SELECT u.name, p.title FROM users u JOIN posts p ON p.user_id = u.id;
CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, what TEXT);
CREATE TABLE tags(id INTEGER PRIMARY KEY, label TEXT UNIQUE);
)sql";

// A batch whose early steps succeed and whose rebuild of b fails while it
// copies the rows. The failure is one the data pre-check cannot count: the
// new CHECK (abs(x) >= 0) is true for every integer but one, and for that one
// (-9223372036854775808) abs() raises "integer overflow" instead of returning
// false -- so the pre-check query errors too (the planner records "could not
// pre-check" and moves on), and the INSERT ... SELECT of the rebuild fails at
// run time. Plan: drop_view bv, add_column a.w, rebuild_table b (fails),
// create_index a_v, create_view bv.
constexpr std::string_view kAtomicBase = R"sql(
CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT);
CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER);
CREATE VIEW bv AS SELECT id, x FROM b;
CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, t TEXT);
INSERT INTO a VALUES (1, 'one'), (2, 'two');
INSERT INTO b VALUES (1, 5), (2, -9223372036854775808), (3, 7);
INSERT INTO seq(t) VALUES ('x'), ('y');
)sql";

constexpr std::string_view kAtomicDesired = R"sql(
CREATE TABLE a(id INTEGER PRIMARY KEY, v TEXT, w TEXT DEFAULT 'w');
CREATE INDEX a_v ON a(v);
CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER CHECK (abs(x) >= 0));
CREATE VIEW bv AS SELECT id, x FROM b;
CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, t TEXT);
)sql";

// ---------------------------------------------------------------------------
// Helpers

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string Describe(const Result<ApplyReport>& r) {
  return r.ok() ? r->ToJson() : "error: " + r.status().message();
}

Plan PlanOf(sqlite3* db, std::string_view desired, const PlanOptions& options = {}) {
  Result<Plan> p = PlanMigration(db, desired, options);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? std::move(p).value() : Plan{};
}

std::string OpList(const Plan& plan) {
  std::string out;
  for (const Step& s : plan.steps) out += (out.empty() ? "" : ",") + std::string(OpName(s.op));
  return out;
}

// The 0-based position of the first step with this op and object, or -1.
int FindStep(const Plan& plan, Op op, std::string_view object) {
  for (size_t i = 0; i < plan.steps.size(); ++i)
    if (plan.steps[i].op == op && plan.steps[i].object == object) return static_cast<int>(i);
  return -1;
}

std::vector<BatchRecord> Batches(sqlite3* db, std::string_view schema = "main") {
  Result<std::vector<BatchRecord>> r = ReadBatches(db, schema);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : std::vector<BatchRecord>{};
}

std::vector<StepRecord> Steps(sqlite3* db, std::optional<int64_t> batch = std::nullopt,
                              std::string_view schema = "main") {
  Result<std::vector<StepRecord>> r = ReadSteps(db, schema, batch);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : std::vector<StepRecord>{};
}

std::string CurrentHash(sqlite3* db, std::string_view schema = "main") {
  Result<std::string> h = SchemaHash(db, schema);
  EXPECT_TRUE(h.ok()) << h.status().message();
  return h.ok() ? *h : "";
}

// A file database with `ddl` and `rows` in it.
void Seed(TestDb& t, std::string_view ddl, std::string_view rows = "") {
  ASSERT_TRUE(t.ok());
  // One transaction: a commit per statement would make each test slow.
  ASSERT_TRUE(t.Exec("BEGIN;\n" + std::string(ddl) + "\n" + std::string(rows) + "\nCOMMIT;"));
}

// Everything a "this wrote nothing" check looks at, taken before and compared
// after: the full dump, the schema cookie, data_version seen by another
// connection, this connection's row-change counter, the extension's tables.
class NothingWritten {
 public:
  NothingWritten(TestDb& t, std::string_view schema = "main")
      : t_(t), schema_(schema), observer_(t.path()) {
    dump_ = DumpDatabase(t.db(), schema_);
    schema_version_ = SchemaVersion(t.db(), schema_);
    data_version_ = observer_.DataVersion();
    changes_ = sqlite3_total_changes64(t.db());
    internal_ = InternalTables(t.db(), schema_);
  }
  void Check(std::string_view what) {
    SCOPED_TRACE(std::string(what));
    EXPECT_EQ(DumpDifference(dump_, DumpDatabase(t_.db(), schema_)), "");
    EXPECT_EQ(SchemaVersion(t_.db(), schema_), schema_version_) << "the schema cookie moved";
    EXPECT_EQ(observer_.DataVersion(), data_version_)
        << "another connection sees a commit (PRAGMA data_version moved)";
    EXPECT_EQ(sqlite3_total_changes64(t_.db()), changes_) << "rows were written";
    EXPECT_EQ(InternalTables(t_.db(), schema_), internal_) << "history tables appeared";
  }
  const std::string& dump() const { return dump_; }

 private:
  TestDb& t_;
  std::string schema_;
  WriteObserver observer_;
  std::string dump_;
  int64_t schema_version_ = 0;
  int64_t data_version_ = 0;
  int64_t changes_ = 0;
  std::vector<std::string> internal_;
};

// The history of one failed batch as the guarantees require it: recorded
// after the rollback with the returned error, no version, every step that ran
// marked failed (the step that broke carries the error), the rest skipped.
void ExpectFailedBatch(sqlite3* db, const Plan& plan, size_t failing_step, const std::string& error,
                       int64_t batch_no = 1) {
  std::vector<BatchRecord> batches = Batches(db);
  ASSERT_GE(batches.size(), static_cast<size_t>(batch_no));
  const BatchRecord& b = batches[static_cast<size_t>(batch_no - 1)];
  EXPECT_EQ(b.batch, batch_no);
  EXPECT_EQ(b.status, "failed");
  EXPECT_EQ(b.error.value_or("(none)"), error);
  EXPECT_FALSE(b.version.has_value()) << "a failed batch has no version";
  EXPECT_EQ(b.steps, static_cast<int64_t>(plan.steps.size()));
  EXPECT_EQ(b.schema_hash_after, b.schema_hash_before) << "rolled back: the schema is unchanged";
  EXPECT_EQ(b.schema_hash_after, CurrentHash(db));
  std::vector<StepRecord> steps = Steps(db, batch_no);
  ASSERT_EQ(steps.size(), plan.steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1) + " " + steps[i].op + " " + steps[i].object);
    EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ(steps[i].op, OpName(plan.steps[i].op));
    EXPECT_EQ(steps[i].sql, plan.steps[i].sql);
    if (i < failing_step) {
      EXPECT_EQ(steps[i].status, "failed") << "ran, then was rolled back";
    } else if (i == failing_step) {
      EXPECT_EQ(steps[i].status, "failed");
      EXPECT_EQ(steps[i].error.value_or("(none)"), error);
    } else {
      EXPECT_EQ(steps[i].status, "skipped");
      EXPECT_FALSE(steps[i].schema_hash.has_value());
    }
  }
}

// A query of a few million VM instructions: a progress handler the migration
// left behind (whose deadline has passed) would interrupt it.
void ExpectLongQueryRuns(sqlite3* db) {
  std::string error;
  Rows rows;
  bool ok = TryQueryRows(db,
                         "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                         "WHERE i < 100000) SELECT count(*) FROM c",
                         {}, &rows, &error);
  EXPECT_TRUE(ok) << "a query after the migration failed: " << error;
  if (ok) {
    EXPECT_EQ(rows, (Rows{{"100000"}}));
  }
}

// ---------------------------------------------------------------------------
// 1. Nothing to do

TEST(ApplyNothingToDo, CurrentSchemaWritesNothing) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  NothingWritten before(t);
  Result<ApplyReport> r = Apply(t.db(), kShop, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->batch, std::nullopt);
  EXPECT_EQ(r->steps, 0);
  EXPECT_EQ(r->version, 0);
  EXPECT_FALSE(r->dry_run);
  EXPECT_EQ(r->backup, std::nullopt);
  EXPECT_TRUE(InternalTables(t.db()).empty());
  before.Check("apply of the current schema");
  EXPECT_TRUE(sqlite3_get_autocommit(t.db())) << "no transaction left open";
}

TEST(ApplyNothingToDo, WorksInsideAnOpenTransaction) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO events(what) VALUES ('mine');"));
  Result<ApplyReport> r = Apply(t.db(), kShop, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->batch, std::nullopt);
  EXPECT_EQ(r->steps, 0);
  EXPECT_FALSE(sqlite3_get_autocommit(t.db())) << "the caller's transaction must stay open";
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM events WHERE what = 'mine'"), 1);
  EXPECT_TRUE(InternalTables(t.db()).empty());
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM events WHERE what = 'mine'"), 1);
}

TEST(ApplyNothingToDo, AfterAMigrationReportsTheVersionAndWritesNothing) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  Result<ApplyReport> first = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(first.ok()) << first.status().message();
  NothingWritten before(t);
  Result<ApplyReport> again = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->batch, std::nullopt);
  EXPECT_EQ(again->steps, 0);
  EXPECT_EQ(again->version, 1);
  before.Check("second apply of the same schema");
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM _automigrate_batches"), 1);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM _automigrate_history"), first->steps);
}

// ---------------------------------------------------------------------------
// 2. Happy path

TEST(ApplyHappyPath, MigratesKeepsRowsAndRecordsTheBatch) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  Rows users = t.QueryRows("SELECT id, name, age FROM users ORDER BY id");
  Rows posts = t.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id");
  Rows events = t.QueryRows("SELECT id, what FROM events ORDER BY id");
  Rows sequence = t.QueryRows("SELECT name, seq FROM sqlite_sequence");
  Plan plan = PlanOf(t.db(), kShopV1);
  ASSERT_GE(plan.steps.size(), 3u) << OpList(plan);
  ASSERT_GE(FindStep(plan, Op::kRebuildTable, "users"), 0) << OpList(plan);

  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok);
  EXPECT_EQ(r->batch, std::optional<int64_t>(1));
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->steps, static_cast<int64_t>(plan.steps.size()));
  EXPECT_FALSE(r->dry_run);
  EXPECT_EQ(r->plan_hash, plan.Hash());
  EXPECT_GE(r->duration_ms, 0);
  EXPECT_TRUE(sqlite3_get_autocommit(t.db()));

  // The schema is the desired one, the rows are all there.
  EXPECT_EQ(OracleDifferences(t.db(), kShopV1), "");
  EXPECT_TRUE(PlanOf(t.db(), kShopV1).empty()) << OpList(PlanOf(t.db(), kShopV1));
  EXPECT_EQ(t.QueryRows("SELECT id, name, age FROM users ORDER BY id"), users);
  EXPECT_EQ(t.QueryRows("SELECT typeof(age) FROM users WHERE id = 1"), (Rows{{"integer"}}));
  EXPECT_EQ(t.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id"), posts);
  EXPECT_EQ(t.QueryRows("SELECT id, what FROM events ORDER BY id"), events);
  EXPECT_EQ(t.QueryRows("SELECT name, seq FROM sqlite_sequence"), sequence);
  EXPECT_EQ(t.QueryRows("SELECT count(*) FROM user_posts"), (Rows{{"4"}}));
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_TRUE(t.QueryRows("PRAGMA foreign_key_check").empty());

  // History: one applied batch, one applied row per step.
  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 1u);
  const BatchRecord& b = batches[0];
  EXPECT_EQ(b.batch, 1);
  EXPECT_EQ(b.version, std::optional<int64_t>(1));
  EXPECT_EQ(b.status, "applied");
  EXPECT_EQ(b.steps, static_cast<int64_t>(plan.steps.size()));
  EXPECT_EQ(b.error, std::nullopt);
  EXPECT_EQ(b.plan_hash, plan.Hash());
  EXPECT_EQ(b.desired_hash, std::optional<std::string>(TextHash(kShopV1)));
  EXPECT_EQ(b.schema_hash_after, CurrentHash(t.db()));
  EXPECT_NE(b.schema_hash_before, b.schema_hash_after);
  EXPECT_FALSE(b.started_at.empty());

  std::vector<StepRecord> steps = Steps(t.db());
  ASSERT_EQ(steps.size(), plan.steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    SCOPED_TRACE("step " + std::to_string(i + 1));
    EXPECT_EQ(steps[i].batch, 1);
    EXPECT_EQ(steps[i].step, static_cast<int64_t>(i + 1));
    EXPECT_EQ(steps[i].version, std::optional<int64_t>(1));
    EXPECT_EQ(steps[i].op, OpName(plan.steps[i].op));
    EXPECT_EQ(steps[i].object, plan.steps[i].object);
    EXPECT_EQ(steps[i].sql, plan.steps[i].sql);
    EXPECT_EQ(steps[i].rollback_sql, plan.steps[i].rollback_sql);
    EXPECT_EQ(steps[i].status, "applied");
    EXPECT_EQ(steps[i].error, std::nullopt);
    EXPECT_TRUE(steps[i].schema_hash.has_value());
    EXPECT_FALSE(steps[i].started_at.empty());
  }
  EXPECT_EQ(steps.back().schema_hash.value_or(""), b.schema_hash_after)
      << "the last step's schema hash is the batch's result";
  // The same, in plain SQL.
  EXPECT_EQ(t.QueryRows("SELECT batch, version, status, steps FROM _automigrate_batches"),
            (Rows{{"1", "1", "applied", std::to_string(plan.steps.size())}}));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM _automigrate_history WHERE batch = 1 AND "
                       "status = 'applied' AND sql <> '' AND schema_hash IS NOT NULL"),
            static_cast<int64_t>(plan.steps.size()));
}

TEST(ApplyHappyPath, SecondApplyIsANoOpAndVersionsGrowByOnePerBatch) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  Result<ApplyReport> v1 = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  EXPECT_EQ(v1->version, 1);
  int64_t history_rows = t.QueryInt("SELECT count(*) FROM _automigrate_history");

  Result<ApplyReport> again = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->batch, std::nullopt);
  EXPECT_EQ(again->steps, 0);
  EXPECT_EQ(again->version, 1);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM _automigrate_batches"), 1);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM _automigrate_history"), history_rows);

  Plan plan2 = PlanOf(t.db(), kShopV2);
  Result<ApplyReport> v2 = Apply(t.db(), kShopV2, {});
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(v2->batch, std::optional<int64_t>(2));
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->steps, static_cast<int64_t>(plan2.steps.size()));
  EXPECT_EQ(OracleDifferences(t.db(), kShopV2), "");
  EXPECT_EQ(t.QueryRows("SELECT batch, version, status FROM _automigrate_batches ORDER BY batch"),
            (Rows{{"1", "1", "applied"}, {"2", "2", "applied"}}));
  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[1].schema_hash_before, batches[0].schema_hash_after)
      << "batch 2 starts where batch 1 ended";
  EXPECT_EQ(Steps(t.db(), 2).size(), plan2.steps.size());
  EXPECT_EQ(t.QueryInt("PRAGMA user_version"), 0) << "user_version belongs to the application";
}

// ---------------------------------------------------------------------------
// 3. Atomic

TEST(ApplyAtomic, FailingStepLeavesDatabaseExactlyAsBefore) {
  TestDb t;
  Seed(t, kAtomicBase);
  Plan plan = PlanOf(t.db(), kAtomicDesired);
  const int failing = FindStep(plan, Op::kRebuildTable, "b");
  ASSERT_GE(failing, 1) << "a step must succeed before the failing rebuild: " << OpList(plan);
  ASSERT_LT(static_cast<size_t>(failing) + 1, plan.steps.size())
      << "a step must be left after the failing rebuild: " << OpList(plan);
  const std::string before = DumpDatabase(t.db());
  const int64_t schema_version = SchemaVersion(t.db());

  Result<ApplyReport> r = Apply(t.db(), kAtomicDesired, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string error = r.status().message();
  EXPECT_TRUE(StartsWith(
      error, "migrate_apply: step " + std::to_string(failing + 1) + " (rebuild_table b)"))
      << error;
  EXPECT_TRUE(Contains(error, "integer overflow")) << error;
  EXPECT_TRUE(Contains(error, "rolled back")) << error;

  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_TRUE(sqlite3_get_autocommit(t.db())) << "no transaction left open";
  // The only schema change: the history tables, created after the rollback.
  std::vector<std::string> internal = InternalTables(t.db());
  for (const char* table : {"_automigrate_batches", "_automigrate_history"})
    EXPECT_TRUE(std::find(internal.begin(), internal.end(), table) != internal.end()) << table;
  EXPECT_GT(SchemaVersion(t.db()), schema_version);
  ExpectFailedBatch(t.db(), plan, static_cast<size_t>(failing), error);

  // The failure is not a version, and the database still migrates once the
  // data is fixed.
  Result<int64_t> version = CurrentVersion(t.db(), "main");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 0);
  ASSERT_TRUE(t.Exec("UPDATE b SET x = 0 WHERE id = 2"));
  Result<ApplyReport> fixed = Apply(t.db(), kAtomicDesired, {});
  ASSERT_TRUE(fixed.ok()) << fixed.status().message();
  EXPECT_EQ(fixed->batch, std::optional<int64_t>(2));
  EXPECT_EQ(fixed->version, 1);
  EXPECT_EQ(OracleDifferences(t.db(), kAtomicDesired), "");
}

TEST(ApplyAtomic, FailureAfterAnEarlierBatchKeepsThatBatchAndItsVersion) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(Apply(t.db(), kShopV1, {}).ok());
  // Now a migration that fails: tags is created, then the rebuild of posts
  // meets the abs() overflow of kAtomicDesired in a new CHECK.
  ASSERT_TRUE(
      t.Exec("INSERT INTO posts(id, user_id, title) VALUES (99, -9223372036854775808, 'x');"));
  std::string desired = std::string(kShopV2);
  const std::string column = "user_id INTEGER REFERENCES";
  desired.replace(desired.find(column), column.size(),
                  "user_id INTEGER CHECK (abs(user_id) >= 0) REFERENCES");
  const std::string before = DumpDatabase(t.db());
  Plan plan = PlanOf(t.db(), desired);
  const int failing = FindStep(plan, Op::kRebuildTable, "posts");
  ASSERT_GE(failing, 0) << OpList(plan);

  Result<ApplyReport> r = Apply(t.db(), desired, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(
      StartsWith(r.status().message(), "migrate_apply: step " + std::to_string(failing + 1) + " ("))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "integer overflow")) << r.status().message();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  ExpectFailedBatch(t.db(), plan, static_cast<size_t>(failing), r.status().message(), 2);
  EXPECT_EQ(t.QueryRows("SELECT batch, version, status FROM _automigrate_batches ORDER BY batch"),
            (Rows{{"1", "1", "applied"}, {"2", "NULL", "failed"}}));
  Result<int64_t> version = CurrentVersion(t.db(), "main");
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, 1);
}

// ---------------------------------------------------------------------------
// 4. Refusals write nothing

// Applies `desired` and expects a refusal containing every one of `needles`,
// with nothing written.
void ExpectRefusal(TestDb& t, std::string_view desired, const ApplyOptions& options,
                   const std::vector<std::string>& needles) {
  NothingWritten before(t);
  Result<ApplyReport> r = Apply(t.db(), desired, options);
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string& error = r.status().message();
  EXPECT_TRUE(StartsWith(error, "migrate_apply: ")) << error;
  for (const std::string& n : needles)
    EXPECT_TRUE(Contains(error, n)) << "no '" << n << "' in: " << error;
  EXPECT_TRUE(Contains(error, "nothing was changed")) << error;
  before.Check("refusal");
  EXPECT_TRUE(InternalTables(t.db()).empty());
  EXPECT_TRUE(sqlite3_get_autocommit(t.db()));
}

TEST(ApplyRefusal, DestructivePlanNamesEveryTableAndColumn) {
  TestDb t;
  Seed(t,
       "CREATE TABLE gone(id INTEGER PRIMARY KEY, v TEXT);"
       "CREATE TABLE empty_gone(id INTEGER PRIMARY KEY);"
       "CREATE TABLE t(id INTEGER PRIMARY KEY, keep TEXT, c TEXT, d TEXT);",
       "INSERT INTO gone VALUES (1, 'x');"
       "INSERT INTO t VALUES (1, 'k', 'c', 'd'), (2, 'k2', 'c2', 'd2');");
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, keep TEXT);";
  ExpectRefusal(t, desired, {},
                {"the plan loses data", "table gone (1 row)", "table empty_gone (0 rows)",
                 "column t.c", "column t.d", "allow_destructive"});

  ApplyOptions allow;
  allow.allow_destructive = true;
  Result<ApplyReport> r = Apply(t.db(), desired, allow);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(OracleDifferences(t.db(), desired), "");
  EXPECT_EQ(t.QueryRows("SELECT id, keep FROM t ORDER BY id"), (Rows{{"1", "k"}, {"2", "k2"}}));
}

TEST(ApplyRefusal, PrecheckNotNullOverNulls) {
  TestDb t;
  Seed(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT);",
       "INSERT INTO t VALUES (1, NULL), (2, 'x'), (3, NULL);");
  ExpectRefusal(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT NOT NULL);", {},
                {"data pre-check failed", "2 rows of t.c violate NOT NULL"});
}

TEST(ApplyRefusal, PrecheckUniqueDuplicates) {
  TestDb t;
  Seed(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT);",
       "INSERT INTO t VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'y');");
  ExpectRefusal(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT UNIQUE);", {},
                {"data pre-check failed", "2 rows of t violate UNIQUE (c)"});
  ExpectRefusal(t,
                "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT);"
                "CREATE UNIQUE INDEX t_c ON t(c);",
                {}, {"data pre-check failed", "2 rows of t violate UNIQUE index t_c (c)"});
}

TEST(ApplyRefusal, PrecheckCheckConstraint) {
  TestDb t;
  Seed(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c INTEGER);",
       "INSERT INTO t VALUES (1, 5), (2, -1), (3, 0);");
  ExpectRefusal(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c INTEGER CHECK (c > 0));", {},
                {"data pre-check failed", "2 rows of t.c violate CHECK (c > 0)"});
}

TEST(ApplyRefusal, PrecheckForeignKeyOrphans) {
  TestDb t;
  Seed(t,
       "CREATE TABLE p(id INTEGER PRIMARY KEY);"
       "CREATE TABLE ch(id INTEGER PRIMARY KEY, pid INTEGER);",
       "INSERT INTO p VALUES (1); INSERT INTO ch VALUES (1, 1), (2, 99), (3, NULL);");
  ExpectRefusal(
      t,
      "CREATE TABLE p(id INTEGER PRIMARY KEY);"
      "CREATE TABLE ch(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));",
      {}, {"data pre-check failed", "1 row of ch.pid violates FOREIGN KEY (pid) REFERENCES p"});
}

TEST(ApplyRefusal, PrecheckStrictTypeMismatch) {
  TestDb t;
  Seed(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c);",
       "INSERT INTO t VALUES (1, 7), (2, 'abc'), (3, '12'), (4, x'00');");
  ExpectRefusal(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c INTEGER) STRICT;", {},
                {"data pre-check failed", "2 rows of t.c violate STRICT INTEGER"});
}

TEST(ApplyRefusal, ExpectedPlanHashMismatchThenTheRightHashApplies) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  const std::string reviewed = PlanOf(t.db(), kShopV1).Hash();
  ApplyOptions stale;
  stale.expected_plan_hash = PlanOf(t.db(), kShopV2).Hash();  // reviewed a different plan
  ASSERT_NE(*stale.expected_plan_hash, reviewed);
  NothingWritten before(t);
  Result<ApplyReport> r = Apply(t.db(), kShopV1, stale);
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(),
                         "migrate_apply: the plan differs from the one "
                         "reviewed"))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), *stale.expected_plan_hash)) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), reviewed)) << r.status().message();
  before.Check("stale plan hash");

  ApplyOptions right;
  right.expected_plan_hash = reviewed;
  Result<ApplyReport> ok = Apply(t.db(), kShopV1, right);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->batch, std::optional<int64_t>(1));
  EXPECT_EQ(ok->plan_hash, reviewed);
  EXPECT_EQ(OracleDifferences(t.db(), kShopV1), "");
}

TEST(ApplyRefusal, InvalidDesiredSchemaWritesNothing) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  NothingWritten before(t);
  Result<ApplyReport> r = Apply(t.db(), "CREATE TABLE users(id INTEGER PRIMARY KEY,);", {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(), "migrate_apply")) << r.status().message();
  before.Check("invalid desired schema");
}

// ---------------------------------------------------------------------------
// 5. Dry run

TEST(ApplyDryRun, RunsEveryStepThenRollsBackAndRecordsDryRun) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  const std::string before = DumpDatabase(t.db());
  Plan plan = PlanOf(t.db(), kShopV1);
  ApplyOptions dry;
  dry.dry_run = true;
  Result<ApplyReport> r = Apply(t.db(), kShopV1, dry);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->ok);
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(r->batch, std::optional<int64_t>(1));
  EXPECT_EQ(r->steps, static_cast<int64_t>(plan.steps.size()));
  EXPECT_EQ(r->version, 0) << "a dry run is not a version";
  EXPECT_EQ(r->backup, std::nullopt) << "a dry run takes no backup";

  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_EQ(PlanOf(t.db(), kShopV1).steps.size(), plan.steps.size()) << "still to do";

  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].status, "dry_run");
  EXPECT_EQ(batches[0].version, std::nullopt);
  EXPECT_EQ(batches[0].error, std::nullopt);
  EXPECT_EQ(batches[0].schema_hash_after, CurrentHash(t.db()));
  std::vector<StepRecord> steps = Steps(t.db());
  ASSERT_EQ(steps.size(), plan.steps.size());
  for (const StepRecord& s : steps) {
    EXPECT_EQ(s.status, "dry_run") << s.step;
    EXPECT_TRUE(s.schema_hash.has_value()) << "step " << s.step << " ran";
  }
  EXPECT_NE(steps.back().schema_hash.value_or(""), CurrentHash(t.db()))
      << "the steps changed the schema inside the transaction";

  // A real apply afterwards is version 1.
  Result<ApplyReport> real = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(real.ok()) << real.status().message();
  EXPECT_EQ(real->batch, std::optional<int64_t>(2));
  EXPECT_EQ(real->version, 1);
}

TEST(ApplyDryRun, FailingPlanIsReportedAsAFailedBatch) {
  TestDb t;
  Seed(t, kAtomicBase);
  const std::string before = DumpDatabase(t.db());
  Plan plan = PlanOf(t.db(), kAtomicDesired);
  const int failing = FindStep(plan, Op::kRebuildTable, "b");
  ASSERT_GE(failing, 0) << OpList(plan);
  ApplyOptions dry;
  dry.dry_run = true;
  Result<ApplyReport> r = Apply(t.db(), kAtomicDesired, dry);
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(
      StartsWith(r.status().message(), "migrate_apply: step " + std::to_string(failing + 1) + " ("))
      << r.status().message();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  ExpectFailedBatch(t.db(), plan, static_cast<size_t>(failing), r.status().message());
}

TEST(ApplyDryRun, NothingToDoWritesNothing) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  NothingWritten before(t);
  ApplyOptions dry;
  dry.dry_run = true;
  Result<ApplyReport> r = Apply(t.db(), kShop, dry);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->batch, std::nullopt);
  before.Check("dry run with nothing to do");
}

// ---------------------------------------------------------------------------
// 6. Time limit

// 100k rows and an index: the copy takes a few hundred ms, far over a 1 ms limit.
constexpr std::string_view kBig = R"sql(
CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER);
CREATE INDEX big_grp ON big(grp);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 100000)
INSERT INTO big SELECT i, 'name ' || i, i % 97 FROM c;
)sql";
constexpr std::string_view kBigDesired = R"sql(
CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', grp INTEGER);
CREATE INDEX big_grp ON big(grp);
)sql";

TEST(ApplyTimeLimit, OverrunRollsBackAndIsRecorded) {
  TestDb t;
  Seed(t, kBig);
  const std::string before = DumpDatabase(t.db());
  Plan plan = PlanOf(t.db(), kBigDesired);
  ASSERT_EQ(OpList(plan), "rebuild_table");

  ApplyOptions limited;
  limited.max_execution_time_ms = 1;
  limited.backup = "never";  // the step itself overruns (a backup counts too: BackupTest)
  auto t0 = Clock::now();
  Result<ApplyReport> r = Apply(t.db(), kBigDesired, limited);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string error = r.status().message();
  EXPECT_TRUE(StartsWith(error, "migrate_apply: ")) << error;
  EXPECT_TRUE(Contains(error, "max_execution_time_ms (1 ms)")) << error;
  EXPECT_TRUE(Contains(error, "rolled back")) << error;
  EXPECT_LT(ms, 2000) << "the limit must stop the copy early";

  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_TRUE(sqlite3_get_autocommit(t.db()));
  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 1u) << "the timeout must be recorded as a failed batch";
  EXPECT_EQ(batches[0].status, "failed");
  EXPECT_EQ(batches[0].error.value_or("(none)"), error);
  std::vector<StepRecord> steps = Steps(t.db());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].status, "failed");

  // The progress handler is gone: a long query is not interrupted.
  ExpectLongQueryRuns(t.db());
  // And without the limit the same migration goes through.
  Result<ApplyReport> ok = Apply(t.db(), kBigDesired, {});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM big"), 100000);
  ExpectLongQueryRuns(t.db());
}

TEST(ApplyTimeLimit, HandlerIsRemovedAfterSuccessAndAfterRefusal) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  // A limit the quick migration stays under; once it has passed, a handler
  // left installed would interrupt the next long query.
  ApplyOptions limited;
  limited.max_execution_time_ms = 150;
  const auto t0 = Clock::now();
  Result<ApplyReport> r = Apply(t.db(), kShopV1, limited);
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::this_thread::sleep_until(t0 + std::chrono::milliseconds(200));
  ExpectLongQueryRuns(t.db());

  limited.expected_plan_hash = "0000";
  const auto t1 = Clock::now();
  ASSERT_FALSE(Apply(t.db(), kShopV2, limited).ok());
  std::this_thread::sleep_until(t1 + std::chrono::milliseconds(200));
  ExpectLongQueryRuns(t.db());
}

// The limit runs from taking the lock, so it also covers the re-plan under
// the lock: with 300 tables introspection alone takes longer than 1 ms, and
// the overrun must be handled like any other: rolled back and recorded.
TEST(ApplyTimeLimit, OverrunWhileReplanningUnderTheLockIsRecorded) {
  TestDb t;
  std::string ddl, desired;
  for (int i = 0; i < 300; ++i) {
    std::string n = std::to_string(i);
    ddl += "CREATE TABLE t" + n +
           "(id INTEGER PRIMARY KEY, a TEXT, b INTEGER);\n"
           "CREATE INDEX t" +
           n + "_a ON t" + n + "(a);\n";
  }
  desired = ddl + "CREATE TABLE extra(id INTEGER PRIMARY KEY);\n";
  Seed(t, ddl, "INSERT INTO t0 VALUES (1, 'x', 2);");
  const std::string before = DumpDatabase(t.db());
  ApplyOptions limited;
  limited.max_execution_time_ms = 1;
  Result<ApplyReport> r = Apply(t.db(), desired, limited);
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string error = r.status().message();
  EXPECT_TRUE(Contains(error, "max_execution_time_ms (1 ms)")) << error;
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_TRUE(sqlite3_get_autocommit(t.db()));
  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 1u) << "a timeout after BEGIN IMMEDIATE must be recorded as a failed "
                                   "batch (DESIGN: Decisions, What is recorded)";
  EXPECT_EQ(batches[0].status, "failed");
  EXPECT_EQ(batches[0].error.value_or("(none)"), error);
  ExpectLongQueryRuns(t.db());
}

// Rollback-journal mode: a reader that keeps its read transaction blocks the
// COMMIT. The limit still bounds the whole migration ("interrupt, roll back,
// record the failure"), and with busy_timeout 0 nothing may wait for the
// reader indefinitely: apply must return soon after the limit, not when the
// reader happens to leave.
TEST(ApplyTimeLimit, CommitBlockedByAReaderStillEndsAtTheLimit) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode"), "delete");
  const std::string before = DumpDatabase(t.db());
  Connection reader(t.path());
  ASSERT_TRUE(Exec(reader.db(), "BEGIN; SELECT count(*) FROM users;"));
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    Exec(reader.db(), "COMMIT");
  });
  ApplyOptions limited;
  limited.max_execution_time_ms = 200;
  const auto t0 = Clock::now();
  Result<ApplyReport> r = Apply(t.db(), kShopV1, limited);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  release.join();
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(), "migrate_apply: ")) << r.status().message();
  EXPECT_LT(ms, 1000) << "max_execution_time_ms 200 and busy_timeout 0, yet apply waited " << ms
                      << " ms for the reader to leave; error: " << r.status().message();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
}

// ---------------------------------------------------------------------------
// 7. Foreign keys

TEST(ApplyForeignKeys, RebuildingAParentWithCascadingChildrenLosesNoChildRow) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=ON"));
  Rows posts = t.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id");
  Plan plan = PlanOf(t.db(), kShopV1);
  ASSERT_GE(FindStep(plan, Op::kRebuildTable, "users"), 0) << OpList(plan);

  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(t.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id"), posts)
      << "DROP TABLE users must not have cascaded";
  EXPECT_EQ(t.QueryInt("PRAGMA foreign_keys"), 1) << "foreign_keys must be restored";
  EXPECT_TRUE(t.QueryRows("PRAGMA foreign_key_check").empty());
  // Still enforced: a cascade works, an orphan is refused.
  ASSERT_TRUE(t.Exec("DELETE FROM users WHERE id = 2"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM posts WHERE user_id = 2"), 0);
  EXPECT_FALSE(TryExec(t.db(), "INSERT INTO posts(id, user_id) VALUES (50, 77)"));
}

TEST(ApplyForeignKeys, ViolationsLeftByTheMigrationRollBackNamingTheTable) {
  // Dropping a parent whose rows are still referenced: the pre-checks do not
  // cover a dropped parent, foreign_key_check before COMMIT does.
  TestDb t;
  Seed(t,
       "CREATE TABLE p(id INTEGER PRIMARY KEY, name TEXT);"
       "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));",
       "INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 1), (11, 2), (12, "
       "NULL);");
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=ON"));
  const std::string before = DumpDatabase(t.db());
  const std::string desired =
      "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INTEGER REFERENCES p(id));";
  Plan plan = PlanOf(t.db(), desired);
  ApplyOptions allow;
  allow.allow_destructive = true;
  Result<ApplyReport> r = Apply(t.db(), desired, allow);
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string error = r.status().message();
  EXPECT_TRUE(StartsWith(error, "migrate_apply: foreign key check failed: 2 rows")) << error;
  EXPECT_TRUE(Contains(error, "c rowid 10 -> p")) << error;
  EXPECT_TRUE(Contains(error, "rolled back")) << error;
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_EQ(t.QueryInt("PRAGMA foreign_keys"), 1);
  std::vector<BatchRecord> batches = Batches(t.db());
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].status, "failed");
  EXPECT_EQ(batches[0].error.value_or(""), error);
  std::vector<StepRecord> steps = Steps(t.db());
  ASSERT_EQ(steps.size(), plan.steps.size());
  for (const StepRecord& s : steps) EXPECT_EQ(s.status, "failed") << s.step;
}

TEST(ApplyForeignKeys, InCallersTransactionWithKeysOnRebuildOfReferencedTableIsRefused) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=ON"));
  const std::string before = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO posts VALUES (100, 1, 'mine');"));
  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  const std::string error = r.status().message();
  EXPECT_TRUE(StartsWith(error,
                         "migrate_apply: rebuild_table users cannot run inside an open "
                         "transaction while foreign_keys is ON"))
      << error;
  EXPECT_TRUE(Contains(error, "outside BEGIN...COMMIT")) << error;
  // The caller's transaction is open and intact.
  EXPECT_FALSE(sqlite3_get_autocommit(t.db()));
  EXPECT_EQ(t.QueryRows("SELECT title FROM posts WHERE id = 100"), (Rows{{"mine"}}));
  EXPECT_TRUE(InternalTables(t.db()).empty());
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(t.QueryRows("SELECT title FROM posts WHERE id = 100"), (Rows{{"mine"}}));
  ASSERT_TRUE(t.Exec("DELETE FROM posts WHERE id = 100"));
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_TRUE(InternalTables(t.db()).empty());
  EXPECT_EQ(t.QueryInt("PRAGMA foreign_keys"), 1);
}

TEST(ApplyForeignKeys, InCallersTransactionWithKeysOffAppliesViaSavepointAndCallerCanRollBack) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=OFF"));
  const std::string before = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO posts VALUES (100, 1, 'mine');"));
  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);
  EXPECT_FALSE(sqlite3_get_autocommit(t.db())) << "the caller's transaction stays open";
  EXPECT_EQ(OracleDifferences(t.db(), kShopV1), "");
  EXPECT_EQ(t.QueryRows("SELECT title, body FROM posts WHERE id = 100"), (Rows{{"mine", ""}}));
  EXPECT_EQ(Batches(t.db()).size(), 1u);
  ASSERT_TRUE(t.Exec("ROLLBACK"));
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_TRUE(InternalTables(t.db()).empty());
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
}

TEST(ApplyForeignKeys, InCallersTransactionWithKeysOffCommitKeepsTheMigration) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO posts VALUES (100, 1, 'mine');"));
  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(OracleDifferences(t.db(), kShopV1), "");
  EXPECT_EQ(t.QueryRows("SELECT title FROM posts WHERE id = 100"), (Rows{{"mine"}}));
  EXPECT_EQ(t.QueryRows("SELECT batch, version, status FROM _automigrate_batches"),
            (Rows{{"1", "1", "applied"}}));
}

// Only a rebuild of a *referenced* table is refused inside the caller's
// transaction with keys on: rebuilding the child posts (DROP TABLE posts
// cascades nothing) goes through the SAVEPOINT.
TEST(ApplyForeignKeys, InCallersTransactionWithKeysOnRebuildOfAChildTableApplies) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=ON"));
  Rows users = t.QueryRows("SELECT id, name, age FROM users ORDER BY id");
  std::string desired = std::string(kShop);
  const std::string title = "title TEXT);";
  desired.replace(desired.find(title), title.size(), "title TEXT NOT NULL DEFAULT '');");
  Plan plan = PlanOf(t.db(), desired);
  ASSERT_EQ(OpList(plan), "drop_view,rebuild_table,create_view");
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO posts VALUES (100, 1, NULL);"));
  Result<ApplyReport> r = Apply(t.db(), desired, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(sqlite3_get_autocommit(t.db()));
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(OracleDifferences(t.db(), desired), "");
  EXPECT_EQ(t.QueryRows("SELECT title FROM posts WHERE id = 100"), (Rows{{""}}));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM posts"), 5);
  EXPECT_EQ(t.QueryRows("SELECT id, name, age FROM users ORDER BY id"), users);
  EXPECT_EQ(t.QueryInt("PRAGMA foreign_keys"), 1);
  EXPECT_TRUE(t.QueryRows("PRAGMA foreign_key_check").empty());
}

// foreign_keys is switched off before BEGIN IMMEDIATE; when the lock is not
// obtained it must come back on all the same.
TEST(ApplyForeignKeys, RestoredWhenTheLockIsNotObtained) {
  TestDb t;
  Seed(t, kShop, kShopRows);
  ASSERT_TRUE(t.Exec("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=0;"));
  Connection other(t.path());
  ASSERT_TRUE(Exec(other.db(), "BEGIN IMMEDIATE"));
  NothingWritten before(t);
  Result<ApplyReport> r = Apply(t.db(), kShopV1, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(), "migrate_apply: database is locked"))
      << r.status().message();
  ASSERT_TRUE(Exec(other.db(), "COMMIT"));
  EXPECT_EQ(t.QueryInt("PRAGMA foreign_keys"), 1);
  before.Check("lock not obtained");
}

// A step failing inside the caller's transaction rolls back to the
// migration's SAVEPOINT only: the caller's own work stays, the transaction
// stays open, and the failure is recorded inside it.
TEST(ApplyCallerTransaction, FailingStepKeepsTheCallersTransactionIntact) {
  TestDb t;
  Seed(t, kAtomicBase);
  const std::string before = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO a VALUES (3, 'mine');"));
  Result<ApplyReport> r = Apply(t.db(), kAtomicDesired, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(), "migrate_apply: step ")) << r.status().message();
  EXPECT_FALSE(sqlite3_get_autocommit(t.db())) << "the caller's transaction must stay open";
  EXPECT_EQ(t.QueryRows("SELECT v FROM a WHERE id = 3"), (Rows{{"mine"}}));
  EXPECT_EQ(t.QueryRows("SELECT name FROM pragma_table_info('a') ORDER BY cid"),
            (Rows{{"id"}, {"v"}}))
      << "the migration's own steps are rolled back";
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(t.QueryRows("SELECT v FROM a WHERE id = 3"), (Rows{{"mine"}}));
  EXPECT_EQ(t.QueryRows("SELECT status FROM _automigrate_batches"), (Rows{{"failed"}}));
  ASSERT_TRUE(t.Exec("DELETE FROM a WHERE id = 3"));
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
}

// The same with the time limit: SQLite rolls back the whole transaction when
// a write statement is interrupted, so an interrupt inside the caller's
// transaction would silently discard the caller's own work. The executor
// must not let that happen behind the caller's back: its transaction stays
// open with its work, and no record is committed outside it.
TEST(ApplyCallerTransaction, TimeLimitKeepsTheCallersTransactionIntact) {
  TestDb t;
  Seed(t, kBig);
  ASSERT_TRUE(t.Exec("BEGIN; CREATE TABLE mine(x); INSERT INTO mine VALUES (1);"));
  ApplyOptions limited;
  limited.max_execution_time_ms = 1;
  Result<ApplyReport> r =
      Apply(t.db(), std::string(kBigDesired) + "CREATE TABLE mine(x);", limited);
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(Contains(r.status().message(), "max_execution_time_ms")) << r.status().message();
  EXPECT_FALSE(sqlite3_get_autocommit(t.db()))
      << "the caller's transaction was ended by the migration's timeout; error: "
      << r.status().message();
  Rows mine;
  std::string error;
  EXPECT_TRUE(TryQueryRows(t.db(), "SELECT x FROM mine", {}, &mine, &error) && mine == Rows{{"1"}})
      << "the caller's own table and row are gone: " << error;
  std::string commit_error;
  EXPECT_TRUE(TryExec(t.db(), "COMMIT", &commit_error)) << commit_error;
}

// ---------------------------------------------------------------------------
// 8. WAL and rollback-journal mode

class ApplyJournal : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.ok());
    ASSERT_EQ(t_.QueryString("PRAGMA journal_mode=" + GetParam()), GetParam());
  }
  TestDb t_;
};

TEST_P(ApplyJournal, HappyPath) {
  Seed(t_, kShop, kShopRows);
  Rows posts = t_.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id");
  WriteObserver observer(t_.path());
  int64_t dv = observer.DataVersion();
  Result<ApplyReport> r = Apply(t_.db(), kShopV1, {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);
  EXPECT_NE(observer.DataVersion(), dv) << "another connection sees the commit";
  EXPECT_EQ(OracleDifferences(t_.db(), kShopV1), "");
  EXPECT_EQ(t_.QueryRows("SELECT id, user_id, title FROM posts ORDER BY id"), posts);
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
  // A fresh connection sees the migrated schema and the history.
  Connection other(t_.path());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(OracleDifferences(other.db(), kShopV1), "");
  EXPECT_EQ(QueryRows(other.db(), "SELECT batch, status FROM _automigrate_batches"),
            (Rows{{"1", "applied"}}));
  EXPECT_EQ(t_.QueryString("PRAGMA journal_mode"), GetParam());
}

TEST_P(ApplyJournal, AtomicFailure) {
  Seed(t_, kAtomicBase);
  const std::string before = DumpDatabase(t_.db());
  Plan plan = PlanOf(t_.db(), kAtomicDesired);
  const int failing = FindStep(plan, Op::kRebuildTable, "b");
  ASSERT_GE(failing, 1) << OpList(plan);
  Result<ApplyReport> r = Apply(t_.db(), kAtomicDesired, {});
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(
      StartsWith(r.status().message(), "migrate_apply: step " + std::to_string(failing + 1) + " ("))
      << r.status().message();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t_.db())), "");
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
  ExpectFailedBatch(t_.db(), plan, static_cast<size_t>(failing), r.status().message());
  // Another connection sees the same: the old schema and rows, and the record.
  Connection other(t_.path());
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(DumpDifference(before, DumpDatabase(other.db())), "");
  EXPECT_EQ(QueryRows(other.db(), "SELECT batch, status FROM _automigrate_batches"),
            (Rows{{"1", "failed"}}));
}

// A reader inside BEGIN; SELECT ... sees the old schema and rows until it
// ends, whatever the migration does meanwhile. In WAL mode the migration
// commits while the reader is open; in rollback-journal mode the COMMIT needs
// the reader gone: it waits (busy timeout) and completes once the reader,
// released by another thread after ~100 ms, ends its transaction.
TEST_P(ApplyJournal, ConcurrentReaderSeesOldStateUntilItEnds) {
  Seed(t_, kShop, kShopRows);
  const bool wal = GetParam() == "wal";
  const std::string before = DumpDatabase(t_.db());
  Connection reader(t_.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(Exec(reader.db(), "BEGIN"));
  ASSERT_EQ(DumpDatabase(reader.db()), before);  // the read transaction now holds a snapshot
  ASSERT_TRUE(t_.Exec("PRAGMA busy_timeout=5000"));

  std::string seen_during;
  std::atomic<bool> released{false};
  Clock::time_point released_at{};
  std::thread release;
  if (!wal) {
    release = std::thread([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      seen_during = DumpDatabase(reader.db());
      released_at = Clock::now();
      Exec(reader.db(), "COMMIT");
      released = true;
    });
  }
  Result<ApplyReport> r = Apply(t_.db(), kShopV1, {});
  const Clock::time_point applied_at = Clock::now();
  if (release.joinable()) release.join();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);

  if (wal) {
    // Committed while the reader was open; the reader still sees the old state.
    EXPECT_FALSE(released);
    EXPECT_EQ(DumpDifference(before, DumpDatabase(reader.db())), "");
    EXPECT_TRUE(InternalTables(reader.db()).empty());
    ASSERT_TRUE(Exec(reader.db(), "COMMIT"));
  } else {
    // The commit waited for the reader, which saw the old state meanwhile.
    EXPECT_TRUE(released);
    EXPECT_EQ(DumpDifference(before, seen_during), "");
    EXPECT_GE(applied_at, released_at) << "rollback-journal COMMIT cannot finish under a reader";
  }
  // After the read transaction ends: the whole new state.
  EXPECT_EQ(OracleDifferences(reader.db(), kShopV1), "");
  EXPECT_EQ(QueryRows(reader.db(), "SELECT batch, status FROM _automigrate_batches"),
            (Rows{{"1", "applied"}}));
  EXPECT_EQ(QueryRows(reader.db(), "SELECT count(*) FROM posts"), (Rows{{"4"}}));
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
}

INSTANTIATE_TEST_SUITE_P(ApplyJournalModes, ApplyJournal, ::testing::Values("wal", "delete"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// 9. Attached schema

TEST(ApplyAttached, MigratesTheAttachedDatabaseAndKeepsHistoryThere) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const std::string aux_path = (t.dir() / "aux.db").string();
  ASSERT_TRUE(
      t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"
             "INSERT INTO t VALUES (1, 'main');"));
  ASSERT_TRUE(t.Exec("ATTACH " + std::string("'") + aux_path + "' AS aux"));
  ASSERT_TRUE(
      t.Exec("CREATE TABLE aux.t(id INTEGER PRIMARY KEY, a TEXT);"
             "INSERT INTO aux.t VALUES (1, 'aux'), (2, 'aux2');"));
  const std::string main_before = DumpDatabase(t.db(), "main");
  const std::string desired = "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL, b TEXT);";
  ApplyOptions o;
  o.plan.schema = "aux";
  Result<ApplyReport> r = Apply(t.db(), desired, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->batch, std::optional<int64_t>(1));

  EXPECT_EQ(DumpDifference(main_before, DumpDatabase(t.db(), "main")), "") << "main untouched";
  EXPECT_TRUE(InternalTables(t.db(), "main").empty()) << "history belongs in aux";
  std::vector<std::string> aux_internal = InternalTables(t.db(), "aux");
  EXPECT_TRUE(std::find(aux_internal.begin(), aux_internal.end(), "_automigrate_batches") !=
              aux_internal.end());
  EXPECT_TRUE(std::find(aux_internal.begin(), aux_internal.end(), "_automigrate_history") !=
              aux_internal.end());
  EXPECT_EQ(t.QueryRows("SELECT name, \"notnull\" FROM pragma_table_info('t', 'aux') ORDER BY cid"),
            (Rows{{"id", "0"}, {"a", "1"}, {"b", "0"}}));
  EXPECT_EQ(t.QueryRows("SELECT id, a, b FROM aux.t ORDER BY id"),
            (Rows{{"1", "aux", "NULL"}, {"2", "aux2", "NULL"}}));
  EXPECT_EQ(Batches(t.db(), "aux").size(), 1u);
  EXPECT_TRUE(Batches(t.db(), "main").empty());
  EXPECT_EQ(IntegrityCheck(t.db(), "aux"), "ok");

  // Idempotent there too, and the plan of aux is empty.
  Result<ApplyReport> again = Apply(t.db(), desired, o);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->batch, std::nullopt);
  EXPECT_EQ(again->version, 1);
  PlanOptions po;
  po.schema = "aux";
  EXPECT_TRUE(PlanOf(t.db(), desired, po).empty());

  // The aux file on its own carries the migration and its history.
  Connection aux(aux_path);
  ASSERT_TRUE(aux.ok());
  EXPECT_EQ(OracleDifferences(aux.db(), desired), "");
  EXPECT_EQ(QueryRows(aux.db(), "SELECT batch, version, status FROM _automigrate_batches"),
            (Rows{{"1", "1", "applied"}}));
}

TEST(ApplyAttached, FailureInAttachedSchemaIsRecordedThere) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("ATTACH '" + (t.dir() / "aux.db").string() + "' AS aux"));
  ASSERT_TRUE(
      t.Exec("CREATE TABLE aux.b(id INTEGER PRIMARY KEY, x INTEGER);"
             "INSERT INTO aux.b VALUES (1, -9223372036854775808);"));
  const std::string before = DumpDatabase(t.db(), "aux");
  ApplyOptions o;
  o.plan.schema = "aux";
  Result<ApplyReport> r =
      Apply(t.db(), "CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER CHECK (abs(x) >= 0));", o);
  ASSERT_FALSE(r.ok()) << Describe(r);
  EXPECT_TRUE(StartsWith(r.status().message(), "migrate_apply: step 1 (rebuild_table b)"))
      << r.status().message();
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db(), "aux")), "");
  EXPECT_TRUE(InternalTables(t.db(), "main").empty());
  std::vector<BatchRecord> batches = Batches(t.db(), "aux");
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].status, "failed");
}

}  // namespace
}  // namespace automigrate::testing
