// tests/apply_threads_test.cc -- the `sorter_threads` option of migrate_apply:
// SQLite's sorter may use worker threads (PRAGMA threads) while a plan that
// builds indexes runs, and the connection gets its own setting back.
//
// What a user relies on: a bad value is refused with a message naming the
// key and the range, before anything is read or written; the value is in
// force while the plan's CREATE INDEX statements run (also those of a
// rebuild); afterwards PRAGMA threads is what the application set, after a
// success, a failure and a dry run alike; 0 leaves the connection alone; a
// plan that builds no index does not touch it; without the option, neither
// does a plan that sorts fewer than kSorterThreadsMinRows rows.
//
// The value in force is observed from a statement trace (sqlite3_trace_v2):
// at the start of every statement the connection runs, the callback reads
// the worker-thread limit (sqlite3_limit with -1 reads without changing).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "core/apply.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

constexpr std::string_view kStart =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL);"
    "CREATE INDEX items_sku ON items(sku);"
    "CREATE INDEX items_qty ON items(qty);"
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 500) "
    "INSERT INTO items(sku, qty) SELECT 'sku-' || x, x FROM n;";
// qty INTEGER -> TEXT: a rebuild, which recreates both indexes.
constexpr std::string_view kRebuild =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty TEXT NOT NULL);"
    "CREATE INDEX items_sku ON items(sku);"
    "CREATE INDEX items_qty ON items(qty);";
// A plain ALTER TABLE ADD COLUMN: no index is built.
constexpr std::string_view kAddColumn =
    "CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT NOT NULL, qty INTEGER NOT NULL, "
    "note TEXT);"
    "CREATE INDEX items_sku ON items(sku);"
    "CREATE INDEX items_qty ON items(qty);";

constexpr std::string_view kRangeError =
    "migrate_apply: options: \"sorter_threads\" must be an integer from 0 to 8 (0: leave "
    "PRAGMA threads as it is)";

// The plan's CREATE INDEX statements quote the name; the history table's own
// index is "CREATE INDEX IF NOT EXISTS".
constexpr std::string_view kPlannedIndex = "CREATE INDEX \"";

// The worker-thread limit at the start of each statement whose text begins
// with `prefix_`.
class ThreadsTrace {
 public:
  ThreadsTrace(sqlite3* db, std::string_view prefix) : db_(db), prefix_(prefix) {
    sqlite3_trace_v2(db_, SQLITE_TRACE_STMT, &ThreadsTrace::Callback, this);
  }
  ~ThreadsTrace() { sqlite3_trace_v2(db_, 0, nullptr, nullptr); }
  ThreadsTrace(const ThreadsTrace&) = delete;
  ThreadsTrace& operator=(const ThreadsTrace&) = delete;

  const std::vector<int>& seen() const { return seen_; }

 private:
  static int Callback(unsigned type, void* ctx, void* p, void* x) noexcept {
    auto* self = static_cast<ThreadsTrace*>(ctx);
    if (type != SQLITE_TRACE_STMT || !x) return 0;
    // A statement run while another one runs (migrate_apply's steps run
    // inside the SELECT that calls it) is traced as "-- <sql>".
    std::string_view sql(static_cast<const char*>(x));
    if (sql.substr(0, 3) == "-- ") sql.remove_prefix(3);
    while (!sql.empty() && (sql.front() == ' ' || sql.front() == '\n')) sql.remove_prefix(1);
    if (sql.substr(0, self->prefix_.size()) != self->prefix_) return 0;
    sqlite3* db = sqlite3_db_handle(static_cast<sqlite3_stmt*>(p));
    self->seen_.push_back(sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, -1));
    return 0;
  }

  sqlite3* db_;
  std::string prefix_;
  std::vector<int> seen_;
};

int Threads(TestDb& db) { return static_cast<int>(db.QueryInt("PRAGMA threads")); }

// The documented default, computed from the machine here.
int ExpectedDefault() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores <= 1 ? 0 : static_cast<int>(std::min(cores, 4u));
}

std::string ApplyError(TestDb& db, std::string_view desired, const std::string& options) {
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_apply(?1, ?2)",
                            {std::string(desired), options}, &rows, &error));
  return error;
}

TEST(ApplyThreadsOption, BadValuesAreRefusedBeforeAnythingChanges) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec("PRAGMA threads=1"));
  for (const char* bad : {"-1", "9", "100", "1.5", "2e0", "\"2\"", "true", "null", "[2]"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ApplyError(db, kRebuild, std::string("{\"sorter_threads\": ") + bad + "}"),
              kRangeError);
  }
  // Nothing was written: no history, the column is still INTEGER, the
  // setting untouched.
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name LIKE '\\_automigrate%' "
                        "ESCAPE '\\'"),
            0);
  EXPECT_EQ(db.QueryString("SELECT type FROM pragma_table_info('items') WHERE name = 'qty'"),
            "INTEGER");
  EXPECT_EQ(Threads(db), 1);
  // The planning functions check the key the same way (the same options
  // object is reviewed, then applied).
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_status(?1, '{\"sorter_threads\": -2}')",
                            {std::string(kRebuild)}, &rows, &error));
  EXPECT_EQ(error,
            "migrate_status: options: \"sorter_threads\" must be an integer from 0 to 8 (0: "
            "leave PRAGMA threads as it is)");
  // The bounds themselves are accepted.
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migrate_plan(?1, '{\"sorter_threads\": 0}')",
                        {std::string(kRebuild)}),
            1);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migrate_plan(?1, '{\"sorter_threads\": 8}')",
                        {std::string(kRebuild)}),
            1);
  // Not a stored default.
  EXPECT_FALSE(TryQueryRows(db.db(), "SELECT migrate_configure('{\"sorter_threads\": 2}')", {},
                            &rows, &error));
  EXPECT_NE(error.find("\"sorter_threads\" cannot be stored"), std::string::npos) << error;
}

TEST(ApplyThreadsOption, InForceForTheRebuildsIndexesAndRestoredAfterSuccess) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec("PRAGMA threads=1"));
  {
    ThreadsTrace trace(db.db(), kPlannedIndex);
    std::string out = db.QueryString("SELECT migrate_apply(?1, '{\"sorter_threads\": 3}')",
                                     {std::string(kRebuild)});
    EXPECT_NE(out.find("\"ok\":true"), std::string::npos) << out;
    ASSERT_EQ(trace.seen().size(), 2u);  // items_sku and items_qty, recreated
    EXPECT_EQ(trace.seen(), std::vector<int>({3, 3}));
  }
  EXPECT_EQ(Threads(db), 1);
  EXPECT_EQ(db.QueryString("SELECT type FROM pragma_table_info('items') WHERE name = 'qty'"),
            "TEXT");
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM items"), 500);
}

TEST(ApplyThreadsOption, InForceForCreateIndexAndRestoredAfterADryRun) {
  TestDb db;
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec("PRAGMA threads=2"));
  const std::string desired = std::string(kStart.substr(0, kStart.find("WITH"))) +
                              "CREATE INDEX items_sku_qty ON items(sku, qty);";
  ThreadsTrace trace(db.db(), kPlannedIndex);
  std::string out = db.QueryString(
      "SELECT migrate_apply(?1, '{\"sorter_threads\": 4, \"dry_run\": true}')", {desired});
  EXPECT_NE(out.find("\"dry_run\":true"), std::string::npos) << out;
  EXPECT_EQ(trace.seen(), std::vector<int>({4}));
  EXPECT_EQ(Threads(db), 2);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM pragma_index_list('items')"), 2);  // rolled back
}

// A rebuild of a parent and of its child, which already holds an orphan:
// the rebuilds run (the parent's indexes built with the option's threads),
// then the foreign-key check of the rebuilt child before commit fails and
// everything is rolled back.
TEST(ApplyThreadsOption, RestoredAfterAFailure) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec(
      "CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id));"
      "INSERT INTO notes(item_id) VALUES (1), (99999);"
      "PRAGMA threads=1"));
  const std::string desired = std::string(kRebuild) +
                              "CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER "
                              "REFERENCES items(id), CHECK (id > 0));";
  ThreadsTrace trace(db.db(), kPlannedIndex);
  const std::string error = ApplyError(db, desired, "{\"sorter_threads\": 2}");
  EXPECT_NE(error.find("foreign key check failed"), std::string::npos) << error;
  EXPECT_EQ(trace.seen(), std::vector<int>({2, 2}));
  EXPECT_EQ(Threads(db), 1);
  EXPECT_EQ(db.QueryString("SELECT type FROM pragma_table_info('items') WHERE name = 'qty'"),
            "INTEGER");
  EXPECT_EQ(db.QueryString("SELECT status FROM migration_batches ORDER BY batch DESC LIMIT 1"),
            "failed");
}

TEST(ApplyThreadsOption, ZeroLeavesTheConnectionsSettingAlone) {
  for (int own : {0, 3}) {
    SCOPED_TRACE(own);
    TestDb db;
    ASSERT_TRUE(db.Exec(kStart));
    ASSERT_TRUE(db.Exec("PRAGMA threads=" + std::to_string(own)));
    ThreadsTrace trace(db.db(), kPlannedIndex);
    db.QueryString("SELECT migrate_apply(?1, '{\"sorter_threads\": 0}')", {std::string(kRebuild)});
    EXPECT_EQ(trace.seen(), std::vector<int>({own, own}));
    EXPECT_EQ(Threads(db), own);
  }
}

// Without the option, a plan that sorts kSorterThreadsMinRows rows or more
// gets the hardware threads (up to 4) for its index builds.
TEST(ApplyThreadsOption, DefaultIsTheHardwareThreadsUpToFourForALargeTable) {
  TestDb db;
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec(
      "WITH RECURSIVE n(x) AS (SELECT 501 UNION ALL SELECT x + 1 FROM n WHERE x < " +
      std::to_string(kSorterThreadsMinRows) +
      ") INSERT INTO items(id, sku, qty) SELECT x, 's' || x, x FROM n"));
  ASSERT_EQ(db.QueryInt("SELECT count(*) FROM items"), kSorterThreadsMinRows);
  ASSERT_EQ(Threads(db), 0);  // SQLite's own default (SQLITE_DEFAULT_WORKER_THREADS)
  ThreadsTrace trace(db.db(), kPlannedIndex);
  db.QueryString("SELECT migrate_apply(?1)", {std::string(kRebuild)});
  EXPECT_EQ(trace.seen(), std::vector<int>({ExpectedDefault(), ExpectedDefault()}));
  EXPECT_EQ(Threads(db), 0);
  EXPECT_EQ(DefaultSorterThreads(), ExpectedDefault());
  EXPECT_FALSE(ApplyOptions().sorter_threads.has_value());
}

// Below kSorterThreadsMinRows rows the default leaves the connection alone
// (worker threads cost more than they save there); an explicit value does not.
TEST(ApplyThreadsOption, DefaultLeavesASmallTablesBuildAlone) {
  TestDb db;
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec("PRAGMA threads=1"));
  {
    ThreadsTrace trace(db.db(), kPlannedIndex);
    db.QueryString("SELECT migrate_apply(?1)", {std::string(kRebuild)});
    EXPECT_EQ(trace.seen(), std::vector<int>({1, 1}));
  }
  EXPECT_EQ(Threads(db), 1);
}

TEST(ApplyThreadsOption, APlanThatBuildsNoIndexDoesNotTouchIt) {
  TestDb db;
  ASSERT_TRUE(db.Exec(kStart));
  ASSERT_TRUE(db.Exec("PRAGMA threads=1"));
  ThreadsTrace trace(db.db(), "ALTER TABLE");
  db.QueryString("SELECT migrate_apply(?1, '{\"sorter_threads\": 4}')", {std::string(kAddColumn)});
  EXPECT_EQ(trace.seen(), std::vector<int>({1}));
  EXPECT_EQ(Threads(db), 1);
}

// Core, without the extension: the option reaches the executor as it is.
TEST(ApplyThreadsCore, ApplyOptionsSorterThreads) {
  TestDb db(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(kStart));
  ThreadsTrace trace(db.db(), kPlannedIndex);
  ApplyOptions o;
  o.sorter_threads = 5;
  Result<ApplyReport> r = Apply(db.db(), kRebuild, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(trace.seen(), std::vector<int>({5, 5}));
  EXPECT_EQ(Threads(db), 0);
}

}  // namespace
}  // namespace automigrate::testing
