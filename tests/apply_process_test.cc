// tests/apply_process_test.cc -- migrate_apply between processes, through
// the SQL function of the built extension as a user calls it: several
// sqlite3 shells (AUTOMIGRATE_SQLITE3_SHELL, `.load` of the extension) apply
// at the same time, and the guarantee "Locked" of shared/DESIGN.md must hold:
// one migration at a time, the others wait (busy timeout) and find nothing
// to do or apply on top, or fail with "database is locked"; never a mix.
// Also the DIRECTONLY rule as an untrusted database file meets it.
//
// To make the processes really meet at the lock, the test holds the write
// lock (BEGIN IMMEDIATE on its own connection) while they start: each prints
// "ready", plans without the lock, then waits in BEGIN IMMEDIATE; 150 ms
// after the last "ready" the lock is released and they race for it. The
// outcome assertions do not depend on that timing; a separate check that
// someone really waited (duration_ms) keeps the test honest about what it
// covers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/history.h"
#include "support/apply_support.h"
#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using nlohmann::json;

// items is rebuilt by every desired schema below; 20k rows make the rebuild
// take long enough for the others to queue behind it.
constexpr std::string_view kBase = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty TEXT);
CREATE INDEX items_name ON items(name);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 20000)
INSERT INTO items SELECT i, 'item ' || i, CAST(i % 50 AS TEXT) FROM c;
INSERT INTO notes VALUES (1, 1, 'first'), (2, 20000, 'last');
)sql";

constexpr std::string_view kSame = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', qty INTEGER, note TEXT);
CREATE INDEX items_name ON items(name);
CREATE INDEX items_qty ON items(qty);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
)sql";

constexpr std::string_view kSchemaA = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, a_col TEXT);
CREATE INDEX items_name ON items(name);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT);
CREATE TABLE a_only(x INTEGER PRIMARY KEY, label TEXT);
)sql";

constexpr std::string_view kSchemaB = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', qty TEXT,
                   b_col INTEGER DEFAULT 0);
CREATE INDEX items_b ON items(b_col);
CREATE TABLE notes(id INTEGER PRIMARY KEY, item_id INTEGER REFERENCES items(id), body TEXT,
                   at TEXT);
CREATE TABLE b_only(y INTEGER PRIMARY KEY);
)sql";

// The shell script of one migrating process.
std::string ApplyScript(const std::filesystem::path& desired_file, int timeout_ms,
                        std::string_view options_json = "") {
  std::string call =
      "SELECT migrate_apply(readfile(" + std::string("'") + desired_file.string() + "')";
  if (!options_json.empty()) call += ", '" + std::string(options_json) + "'";
  call += ");\n";
  return std::string(".load ") + AUTOMIGRATE_EXT_PATH + "\n.timeout " + std::to_string(timeout_ms) +
         "\n.print ready\n" + call;
}

std::filesystem::path WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string Show(const ShellResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\n  stdout: " + r.out + "\n  stderr: " + r.err;
}

// The report of a successful shell run (the JSON object on the last line of
// stdout, after "ready"), or a discarded value.
json Report(const ShellResult& r) {
  if (r.exit_code != 0) return json(json::value_t::discarded);
  std::string out = Trim(r.out);
  size_t nl = out.rfind('\n');
  if (nl != std::string::npos) out = out.substr(nl + 1);
  return json::parse(out, nullptr, /*allow_exceptions=*/false);
}

// Waits (up to 5 s) until every shell has printed "ready", then 150 ms more
// for them to reach the lock.
void WaitUntilReady(const std::vector<std::unique_ptr<ShellProcess>>& shells) {
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (const auto& s : shells)
    while (!Contains(s->OutputSoFar(), "ready") && std::chrono::steady_clock::now() < limit)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
}

// Holds SQLite's write lock on `path` from construction until Release().
class WriteLockHolder {
 public:
  explicit WriteLockHolder(const std::string& path) : conn_(path) {
    if (conn_.ok()) held_ = Exec(conn_.db(), "BEGIN IMMEDIATE");
  }
  bool held() const { return held_; }
  void Release() {
    if (held_) Exec(conn_.db(), "COMMIT");
    held_ = false;
  }
  ~WriteLockHolder() { Release(); }

 private:
  Connection conn_;
  bool held_ = false;
};

// The history shows whole batches, one after the other: each batch's step
// rows are contiguous (ids and step numbers 1..n, as many as the batch
// says), batches do not overlap, and every applied batch starts from the
// schema the previous applied batch ended with.
void ExpectWholeSequentialBatches(sqlite3* db) {
  Rows batches = QueryRows(db,
                           "SELECT batch, steps, status, version, schema_hash_before, "
                           "schema_hash_after FROM _automigrate_batches ORDER BY batch");
  Rows ranges = QueryRows(db,
                          "SELECT batch, min(id), max(id), count(*), min(step), max(step), "
                          "count(DISTINCT step) FROM _automigrate_history GROUP BY batch "
                          "ORDER BY batch");
  ASSERT_EQ(ranges.size(), batches.size()) << FormatRows(batches) << FormatRows(ranges);
  int64_t previous_max_id = 0;
  std::string previous_after;
  int64_t version = 0;
  for (size_t i = 0; i < batches.size(); ++i) {
    const Row& b = batches[i];
    const Row& h = ranges[i];
    SCOPED_TRACE("batch " + b[0]);
    ASSERT_EQ(h[0], b[0]);
    const int64_t min_id = std::stoll(h[1]), max_id = std::stoll(h[2]), n = std::stoll(h[3]);
    EXPECT_EQ(max_id - min_id + 1, n) << "the batch's step rows are not contiguous";
    EXPECT_GT(min_id, previous_max_id) << "batches overlap in the history";
    EXPECT_EQ(h[4], "1");
    EXPECT_EQ(h[5], b[1]);
    EXPECT_EQ(h[6], b[1]);
    EXPECT_EQ(std::to_string(n), b[1]);
    previous_max_id = max_id;
    if (b[2] == "applied") {
      EXPECT_EQ(b[3], std::to_string(++version)) << "versions grow by one per applied batch";
      if (!previous_after.empty()) {
        EXPECT_EQ(b[4], previous_after) << "an applied batch did not start where the last ended";
      }
      previous_after = b[5];
    }
  }
}

// The desired schema whose text hash is `hash` (the batch's desired_hash).
std::string_view DesiredWithHash(const std::string& hash) {
  for (std::string_view s : {kSchemaA, kSchemaB, kSame})
    if (TextHash(s) == hash) return s;
  return "";
}

class ApplyProcesses : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(t_.ok());
    ASSERT_EQ(t_.QueryString("PRAGMA journal_mode=" + GetParam()), GetParam());
    ASSERT_TRUE(t_.Exec("BEGIN;\n" + std::string(kBase) + "\nCOMMIT;"));
    items_ = t_.QueryRows("SELECT id, name, CAST(qty AS INTEGER) FROM items ORDER BY id");
    // The test's own connection stays open but idle: it must not take part.
  }
  TestDb t_;
  Rows items_;
};

TEST_P(ApplyProcesses, SameSchemaFromFourProcessesAppliesExactlyOnce) {
  const std::filesystem::path desired = WriteFile(t_.dir() / "same.sql", kSame);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::unique_ptr<ShellProcess>> shells;
  {
    WriteLockHolder lock(t_.path());
    ASSERT_TRUE(lock.held());
    for (int i = 0; i < 4; ++i)
      shells.push_back(std::make_unique<ShellProcess>(t_.path(), ApplyScript(desired, 10000)));
    WaitUntilReady(shells);
  }  // released: the four race for the lock
  int applied = 0, nothing = 0;
  double longest_nothing_ms = 0;
  for (auto& s : shells) {
    ASSERT_TRUE(s->started());
    ShellResult r = s->Wait();
    json j = Report(r);
    ASSERT_FALSE(j.is_discarded()) << "a process failed: " << Show(r);
    EXPECT_EQ(j["ok"], true) << r.out;
    EXPECT_EQ(j["version"], 1) << r.out;
    if (j["batch"].is_null()) {
      EXPECT_EQ(j["steps"], 0) << r.out;
      ++nothing;
      longest_nothing_ms = std::max(longest_nothing_ms, j["duration_ms"].get<double>());
    } else {
      EXPECT_EQ(j["batch"], 1) << r.out;
      EXPECT_GT(j["steps"].get<int64_t>(), 0) << r.out;
      ++applied;
    }
  }
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(nothing, 3);
  EXPECT_GE(longest_nothing_ms, 100)
      << "no process waited for the lock: the test did not cover wait-then-nothing-to-do";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));

  EXPECT_EQ(t_.QueryRows("SELECT batch, version, status FROM _automigrate_batches"),
            (Rows{{"1", "1", "applied"}}));
  ExpectWholeSequentialBatches(t_.db());
  EXPECT_EQ(OracleDifferences(t_.db(), kSame), "");
  EXPECT_EQ(t_.QueryRows("SELECT id, name, qty FROM items ORDER BY id"), items_);
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
}

TEST_P(ApplyProcesses, DifferentSchemasWithBusyTimeoutApplyOneAfterTheOther) {
  const std::filesystem::path a = WriteFile(t_.dir() / "a.sql", kSchemaA);
  const std::filesystem::path b = WriteFile(t_.dir() / "b.sql", kSchemaB);
  const std::string options = R"({"allow_destructive": true})";
  std::vector<std::unique_ptr<ShellProcess>> shells;
  {
    WriteLockHolder lock(t_.path());
    ASSERT_TRUE(lock.held());
    shells.push_back(std::make_unique<ShellProcess>(t_.path(), ApplyScript(a, 10000, options)));
    shells.push_back(std::make_unique<ShellProcess>(t_.path(), ApplyScript(b, 10000, options)));
    WaitUntilReady(shells);
  }
  for (auto& s : shells) {
    ShellResult r = s->Wait();
    json j = Report(r);
    // With a busy timeout, the second waits and then applies on top.
    ASSERT_FALSE(j.is_discarded()) << "a process failed: " << Show(r);
    EXPECT_EQ(j["ok"], true);
    EXPECT_FALSE(j["batch"].is_null()) << r.out;
    if (j["batch"] == 2) {
      EXPECT_GE(j["duration_ms"].get<double>(), 100)
          << "the second did not wait for the lock: the re-plan on top was not covered";
    }
  }
  EXPECT_EQ(t_.QueryRows("SELECT batch, version, status FROM _automigrate_batches ORDER BY batch"),
            (Rows{{"1", "1", "applied"}, {"2", "2", "applied"}}));
  ExpectWholeSequentialBatches(t_.db());
  const std::string last_hash = t_.QueryString(
      "SELECT desired_hash FROM _automigrate_batches WHERE status = 'applied' ORDER BY batch DESC "
      "LIMIT 1");
  std::string_view last = DesiredWithHash(last_hash);
  ASSERT_FALSE(last.empty()) << "the last batch's desired_hash matches neither schema";
  EXPECT_EQ(OracleDifferences(t_.db(), last), "") << "the final schema is the last applied one";
  EXPECT_NE(OracleDifferences(t_.db(), last == kSchemaA ? kSchemaB : kSchemaA), "");
  EXPECT_EQ(t_.QueryInt("SELECT count(*) FROM items"), 20000);
  EXPECT_EQ(t_.QueryRows("SELECT id, item_id, body FROM notes ORDER BY id"),
            (Rows{{"1", "1", "first"}, {"2", "20000", "last"}}));
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
}

TEST_P(ApplyProcesses, DifferentSchemasWithoutBusyTimeoutApplyOrFailLocked) {
  const std::filesystem::path a = WriteFile(t_.dir() / "a.sql", kSchemaA);
  const std::filesystem::path b = WriteFile(t_.dir() / "b.sql", kSchemaB);
  const std::string options = R"({"allow_destructive": true})";
  // Started together, no lock held by the test: with .timeout 0 a process
  // that meets the other's lock must fail at once with "database is locked".
  ShellProcess pa(t_.path(), ApplyScript(a, 0, options));
  ShellProcess pb(t_.path(), ApplyScript(b, 0, options));
  int applied = 0;
  for (ShellProcess* p : {&pa, &pb}) {
    ShellResult r = p->Wait();
    json j = Report(r);
    if (!j.is_discarded()) {
      EXPECT_EQ(j["ok"], true);
      EXPECT_FALSE(j["batch"].is_null()) << r.out;
      ++applied;
    } else {
      EXPECT_NE(r.exit_code, 0) << Show(r);
      EXPECT_TRUE(Contains(r.err, "migrate_apply: ")) << Show(r);
      EXPECT_TRUE(Contains(r.err, "database is locked")) << Show(r);
    }
  }
  EXPECT_GE(applied, 1) << "nobody held the lock: at least one must apply";
  EXPECT_EQ(t_.QueryInt("SELECT count(*) FROM _automigrate_batches WHERE status = 'applied'"),
            applied);
  ExpectWholeSequentialBatches(t_.db());
  std::string_view last = DesiredWithHash(t_.QueryString(
      "SELECT desired_hash FROM _automigrate_batches WHERE status = 'applied' ORDER BY batch DESC "
      "LIMIT 1"));
  ASSERT_FALSE(last.empty());
  EXPECT_EQ(OracleDifferences(t_.db(), last), "");
  EXPECT_EQ(t_.QueryInt("SELECT count(*) FROM items"), 20000);
  EXPECT_EQ(IntegrityCheck(t_.db()), "ok");
}

TEST_P(ApplyProcesses, LockHeldByAnotherProcessWithoutTimeoutIsAClearErrorWritingNothing) {
  const std::filesystem::path desired = WriteFile(t_.dir() / "same.sql", kSame);
  const std::string before = DumpDatabase(t_.db());
  ShellResult r;
  {
    WriteLockHolder lock(t_.path());
    ASSERT_TRUE(lock.held());
    ShellProcess p(t_.path(), ApplyScript(desired, 0));
    r = p.Wait();
  }
  EXPECT_NE(r.exit_code, 0) << Show(r);
  EXPECT_TRUE(Contains(r.err, "migrate_apply: database is locked")) << Show(r);
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t_.db())), "");
  EXPECT_TRUE(InternalTables(t_.db()).empty()) << "a lock not obtained writes nothing";
}

INSTANTIATE_TEST_SUITE_P(ApplyProcessModes, ApplyProcesses, ::testing::Values("delete", "wal"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

// ---------------------------------------------------------------------------
// DIRECTONLY: a database file whose schema calls migrate_apply from a view or
// a trigger (an untrusted file a user opens) cannot make it run.

TEST(ApplyDirectOnly, ViewOrTriggerInAnUntrustedFileCannotCallMigrateApply) {
  TestDb t(TestDb::Kind::kFile, /*load_extension=*/false);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(
      "CREATE TABLE t(x);"
      "CREATE VIEW evil_view AS SELECT migrate_apply('CREATE TABLE t(x); CREATE TABLE evil(y);');"
      "CREATE TABLE log(x);"
      "CREATE TRIGGER evil_trigger AFTER INSERT ON log BEGIN "
      "  SELECT migrate_apply('CREATE TABLE t(x); CREATE TABLE log(x); CREATE TABLE evil(y);', "
      "                       '{\"allow_destructive\": true}'); "
      "END;"));
  const std::string before = DumpDatabase(t.db());
  t.Close();
  const std::string load = std::string(".load ") + AUTOMIGRATE_EXT_PATH + "\n";

  ShellResult view = RunShellScript(t.path(), load + "SELECT * FROM evil_view;\n");
  EXPECT_NE(view.exit_code, 0) << Show(view);
  EXPECT_TRUE(Contains(view.err, "unsafe use of migrate_apply()")) << Show(view);

  ShellResult trigger = RunShellScript(t.path(), load + "INSERT INTO log VALUES (1);\n");
  EXPECT_NE(trigger.exit_code, 0) << Show(trigger);
  EXPECT_TRUE(Contains(trigger.err, "unsafe use of migrate_apply()")) << Show(trigger);

  // Even with trusted_schema on (DIRECTONLY does not depend on it).
  ShellResult trusted =
      RunShellScript(t.path(), load + "PRAGMA trusted_schema=ON;\nSELECT * FROM evil_view;\n");
  EXPECT_TRUE(Contains(trusted.err, "unsafe use of migrate_apply()")) << Show(trusted);

  ASSERT_TRUE(t.Reopen());
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_TRUE(InternalTables(t.db()).empty());

  // A direct call does run (the same text, outside any view or trigger).
  ShellResult direct = RunShellScript(
      t.path(), load +
                    "SELECT migrate_apply('CREATE TABLE t(x); CREATE TABLE log(x);', "
                    "'{\"allow_destructive\": true}');\n");
  EXPECT_EQ(direct.exit_code, 0) << Show(direct);
  EXPECT_TRUE(Contains(direct.out, "\"ok\":true")) << Show(direct);
}

}  // namespace
}  // namespace automigrate::testing
