// tests/health_test.cc -- migrate_health (docs/HEALTH.md): each check on a
// database made to have exactly that problem, the score as 100 minus the
// documented penalties, and the SQL function's arguments and JSON.
//
// Core's CheckHealth is called directly for the checks (Health*); the SQL
// surface (HealthSql*) goes through the built extension. Problems are made
// for real where that is deterministic: a failing migrate_apply, a direct
// ALTER TABLE, rows inserted with foreign_keys=OFF, a zeroed index page, a
// deleted or altered backup file. Only a time-limit failure is written with
// RecordBatch, because making apply overrun for real depends on timing.
#include "core/health.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/apply.h"
#include "core/backup.h"
#include "core/history.h"
#include "support/apply_support.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

constexpr std::string_view kShop = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE INDEX users_name ON users(name);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
)sql";

constexpr std::string_view kShopRows = R"sql(
INSERT INTO users VALUES (1, 'ann'), (2, 'bob');
INSERT INTO posts VALUES (10, 1, 'hello'), (11, 2, 'bob here');
)sql";

// kShop plus a column.
constexpr std::string_view kShopEmail = R"sql(
CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);
CREATE INDEX users_name ON users(name);
CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title TEXT);
)sql";

// A batch that fails while it runs (as in tests/apply_test.cc): the new
// CHECK raises "integer overflow" for one row instead of being false, so the
// pre-check cannot count it and the rebuild's copy fails.
constexpr std::string_view kFailingBase = R"sql(
CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER);
INSERT INTO b VALUES (1, 5), (2, -9223372036854775808), (3, 7);
)sql";
constexpr std::string_view kFailingDesired =
    "CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER CHECK (abs(x) >= 0));";

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

HealthReport Health(sqlite3* db, const HealthRequest& r = {}) {
  Result<HealthReport> report = CheckHealth(db, r);
  EXPECT_TRUE(report.ok()) << report.status().message();
  return report.ok() ? std::move(report).value() : HealthReport{};
}

HealthRequest WithDesired(std::string_view desired) {
  HealthRequest r;
  r.desired = std::string(desired);
  return r;
}

// "integrity=ok foreign_keys=fail-20 ...": every check's status and penalty,
// in report order, so one comparison pins the whole outcome.
std::string Summary(const HealthReport& r) {
  std::string out;
  for (const HealthCheck& c : r.checks) {
    if (!out.empty()) out += ' ';
    out += c.name + "=" + std::string(CheckStatusName(c.status));
    if (c.penalty) out += "-" + std::to_string(c.penalty);
  }
  return out;
}

const HealthCheck& CheckOf(const HealthReport& r, std::string_view name) {
  static const HealthCheck kNone;
  const HealthCheck* c = r.Find(name);
  if (!c) ADD_FAILURE() << "no check " << name << " in " << r.ToJson();
  return c ? *c : kNone;
}

std::optional<int64_t> Number(const HealthCheck& c, std::string_view key) {
  for (const auto& [k, v] : c.numbers)
    if (k == key) return v;
  return std::nullopt;
}

bool AnyRecommendation(const HealthReport& r, std::string_view part) {
  for (const std::string& s : r.recommendations)
    if (Contains(s, part)) return true;
  return false;
}

std::string AllRecommendations(const HealthReport& r) {
  std::string out;
  for (const std::string& s : r.recommendations) out += s + "\n";
  return out;
}

void ApplyOk(sqlite3* db, std::string_view desired, ApplyOptions o = {}) {
  Result<ApplyReport> r = Apply(db, desired, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->batch.has_value()) << "expected a batch";
}

void ApplyFails(sqlite3* db, std::string_view desired) {
  Result<ApplyReport> r = Apply(db, desired, {});
  ASSERT_FALSE(r.ok()) << "expected the apply to fail";
  ASSERT_TRUE(Contains(r.status().message(), "integer overflow")) << r.status().message();
}

ApplyOptions Destructive(std::string_view backup) {
  ApplyOptions o;
  o.allow_destructive = true;
  o.backup = std::string(backup);
  return o;
}

std::vector<BackupRecord> Backups(sqlite3* db) {
  Result<std::vector<BackupRecord>> r = ReadBackups(db, "main");
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(r).value() : std::vector<BackupRecord>{};
}

// Overwrites `n` bytes of `path` at `offset` with `byte`.
void Overwrite(const std::string& path, int64_t offset, int64_t n, char byte) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << path;
  f.seekp(offset);
  const std::string bytes(static_cast<size_t>(n), byte);
  f.write(bytes.data(), n);
  ASSERT_TRUE(f.good()) << path;
}

// Inverts one byte of `path` in the middle.
void FlipByte(const std::string& path) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.is_open()) << path;
  const auto size = static_cast<std::streamoff>(fs::file_size(path));
  f.seekg(size / 2);
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(~c);
  f.seekp(size / 2);
  f.write(&c, 1);
  ASSERT_TRUE(f.good()) << path;
}

// ------------------------------------------------------------- healthy

TEST(Health, MigratedDatabaseScores100WithEveryCheckOk) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);
  ASSERT_TRUE(t.Exec(kShopRows));
  ApplyOk(t.db(), kShopEmail);

  const HealthReport r = Health(t.db(), WithDesired(kShopEmail));
  EXPECT_EQ(r.score, 100) << r.ToJson();
  EXPECT_EQ(Summary(r),
            "integrity=ok foreign_keys=ok recent_failures=ok interrupted_batches=ok backups=ok "
            "backup_disk_use=ok drift=ok history_consistency=ok");
  EXPECT_TRUE(r.recommendations.empty()) << AllRecommendations(r);
  EXPECT_EQ(CheckOf(r, "integrity").detail, "PRAGMA quick_check: ok");
  EXPECT_EQ(CheckOf(r, "foreign_keys").detail, "PRAGMA foreign_key_check: no violations");
  EXPECT_EQ(CheckOf(r, "recent_failures").detail, "no failed batch among the last 2 batches");
  EXPECT_EQ(CheckOf(r, "drift").detail, "the database matches the desired schema");
  EXPECT_EQ(CheckOf(r, "history_consistency").detail,
            "the schema is the one batch 2 (version 2) left");
  EXPECT_EQ(Number(CheckOf(r, "recent_failures"), "batches"), 2);
}

TEST(Health, NeverMigratedDatabaseHasNothingToCompare) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(std::string(kShop) + std::string(kShopRows)));
  const HealthReport r = Health(t.db());
  EXPECT_EQ(r.score, 100);
  EXPECT_EQ(Summary(r),
            "integrity=ok foreign_keys=ok recent_failures=ok interrupted_batches=ok backups=ok "
            "backup_disk_use=ok drift=skipped history_consistency=skipped");
  EXPECT_EQ(CheckOf(r, "recent_failures").detail, "no migration history");
  EXPECT_EQ(CheckOf(r, "drift").detail, "no desired schema given");
  EXPECT_TRUE(Contains(CheckOf(r, "history_consistency").detail, "never migrated"));
  EXPECT_TRUE(r.recommendations.empty()) << AllRecommendations(r);
}

TEST(Health, WritesNothing) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(
      t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, x TEXT); INSERT INTO t VALUES (1, 'a');"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("always"));
  ASSERT_EQ(Backups(t.db()).size(), 1u);
  WriteObserver observer(t.path());
  const int64_t data_version = observer.DataVersion();
  const int64_t changes = sqlite3_total_changes64(t.db());
  const std::string dump = DumpDatabase(t.db());

  const HealthReport r = Health(t.db(), WithDesired("CREATE TABLE t(id INTEGER PRIMARY KEY);"));
  EXPECT_EQ(r.score, 100) << r.ToJson();
  EXPECT_EQ(Number(CheckOf(r, "backups"), "verified"), 1);
  EXPECT_EQ(observer.DataVersion(), data_version) << "another connection sees a commit";
  EXPECT_EQ(sqlite3_total_changes64(t.db()), changes);
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");
  // Verifying a backup here does not stamp verified_at (backup_verify does).
  EXPECT_EQ(t.QueryString("SELECT coalesce(verified_at, 'NULL') FROM _automigrate_backups"),
            "NULL");
}

// ------------------------------------------------------ failed batches

TEST(Health, FailedBatchLowersTheScoreAndNamesTheFailure) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kFailingBase));
  ApplyFails(t.db(), kFailingDesired);

  HealthReport r = Health(t.db());
  // 5 for the failed batch, 10 because the newest attempt failed.
  EXPECT_EQ(r.score, 85) << r.ToJson();
  EXPECT_EQ(Summary(r),
            "integrity=ok foreign_keys=ok recent_failures=warn-5 interrupted_batches=warn-10 "
            "backups=ok backup_disk_use=ok drift=skipped history_consistency=skipped");
  const HealthCheck& failures = CheckOf(r, "recent_failures");
  EXPECT_TRUE(Contains(failures.detail, "1 of the last 1 batch failed; the newest, batch 1 at "))
      << failures.detail;
  EXPECT_TRUE(Contains(failures.detail, "integer overflow")) << failures.detail;
  EXPECT_EQ(Number(failures, "failed"), 1);
  EXPECT_TRUE(Contains(CheckOf(r, "interrupted_batches").detail,
                       "the newest migration attempt, batch 1 at "));
  EXPECT_TRUE(Contains(CheckOf(r, "interrupted_batches").detail, "(the database is at version 0)"));
  EXPECT_EQ(Number(CheckOf(r, "interrupted_batches"), "latest_failed"), 1);
  EXPECT_TRUE(AnyRecommendation(
      r,
      "SELECT step, op, object, error FROM migration_history WHERE batch = 1 AND error IS NOT "
      "NULL"))
      << AllRecommendations(r);
  EXPECT_TRUE(AnyRecommendation(r, "The newest migration (batch 1) did not happen"))
      << AllRecommendations(r);

  // A second failure: 5 more, capped later at 20.
  ApplyFails(t.db(), kFailingDesired);
  r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "recent_failures").penalty, 10);
  EXPECT_EQ(r.score, 80);

  // Fixed and applied: the newest attempt succeeded, the failures stay in
  // the window.
  ASSERT_TRUE(t.Exec("UPDATE b SET x = 0 WHERE id = 2"));
  ApplyOk(t.db(), kFailingDesired);
  r = Health(t.db(), WithDesired(kFailingDesired));
  EXPECT_EQ(Summary(r),
            "integrity=ok foreign_keys=ok recent_failures=warn-10 interrupted_batches=ok "
            "backups=ok backup_disk_use=ok drift=ok history_consistency=ok");
  EXPECT_EQ(r.score, 90);
  EXPECT_TRUE(Contains(CheckOf(r, "recent_failures").detail, "2 of the last 3 batches failed"))
      << CheckOf(r, "recent_failures").detail;

  // The window: only the newest batch, which succeeded.
  HealthRequest one;
  one.recent_batches = 1;
  r = Health(t.db(), one);
  EXPECT_EQ(CheckOf(r, "recent_failures").status, CheckStatus::kOk);
  EXPECT_EQ(r.score, 100);
}

TEST(Health, FailurePenaltyIsCappedAt20) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kFailingBase));
  for (int i = 0; i < 6; ++i) ApplyFails(t.db(), kFailingDesired);
  const HealthReport r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "recent_failures").penalty, 20);
  EXPECT_EQ(Number(CheckOf(r, "recent_failures"), "failed"), 6);
  EXPECT_EQ(r.score, 70);  // 20 + 10 (the newest failed)
}

TEST(Health, BatchStoppedByTheTimeLimitIsInterrupted) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);
  // What migrate_apply records when max_execution_time_ms runs out
  // (core/apply.cc), then a later successful batch.
  BatchRecord failed;
  failed.batch = 2;
  failed.status = "failed";
  failed.started_at = "2024-01-01T00:00:00.000Z";
  failed.steps = 1;
  failed.plan_hash = "p";
  failed.error =
      "migrate_apply: the migration ran longer than max_execution_time_ms (5 ms) and was rolled "
      "back; raise max_execution_time_ms or run it when the database is quieter";
  Result<std::string> hash = SchemaHash(t.db(), "main");
  ASSERT_TRUE(hash.ok());
  failed.schema_hash_before = failed.schema_hash_after = *hash;
  ASSERT_TRUE(RecordBatch(t.db(), "main", failed, {}).ok());
  ApplyOk(t.db(), kShopEmail);

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "interrupted_batches");
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.penalty, 10);
  EXPECT_EQ(c.detail, "1 batch was stopped by the time limit or an interrupt: 2");
  EXPECT_EQ(Number(c, "timed_out"), 1);
  EXPECT_EQ(Number(c, "latest_failed"), 0);
  EXPECT_TRUE(AnyRecommendation(r, R"(migrate_configure('{"max_execution_time_ms":60000}'))"))
      << AllRecommendations(r);
  EXPECT_EQ(r.score, 85);  // 10 + 5 for the failed batch
}

// ------------------------------------------------- schema and drift

TEST(Health, SchemaChangedBehindTheExtensionsBackWarns) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);
  ASSERT_TRUE(t.Exec("ALTER TABLE users ADD COLUMN nick TEXT"));

  HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "history_consistency");
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.penalty, 10);
  EXPECT_TRUE(Contains(c.detail,
                       "the schema changed outside migrate_apply: it is not the one "
                       "batch 1 (version 1, at "))
      << c.detail;
  EXPECT_TRUE(AnyRecommendation(r, "changed outside migrate_apply after batch 1"))
      << AllRecommendations(r);
  EXPECT_EQ(r.score, 90);

  // Against the schema it was migrated to, the extra column is drift too.
  r = Health(t.db(), WithDesired(kShop));
  EXPECT_EQ(CheckOf(r, "drift").detail,
            "1 step needed to reach the desired schema (1 destructive): drop_column users.nick");
  EXPECT_EQ(r.score, 80);
}

// ANALYZE writes sqlite_stat1 into sqlite_schema: statistics, not a schema
// change (it must not cost migrate_apply its start-up fast path either).
TEST(Health, AnalyzeIsNotASchemaChange) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);
  ASSERT_TRUE(t.Exec("ANALYZE"));
  ASSERT_EQ(t.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'"), 1);
  HealthReport r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "history_consistency").status, CheckStatus::kOk)
      << CheckOf(r, "history_consistency").detail;
  EXPECT_EQ(r.score, 100);
}

TEST(Health, DriftWhenDesiredDiffersNoneWhenItMatches) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);

  HealthReport r = Health(t.db(), WithDesired(kShopEmail));
  const HealthCheck& drift = CheckOf(r, "drift");
  EXPECT_EQ(drift.status, CheckStatus::kWarn);
  EXPECT_EQ(drift.penalty, 10);
  EXPECT_EQ(drift.detail, "1 step needed to reach the desired schema: add_column users.email");
  EXPECT_EQ(Number(drift, "steps"), 1);
  EXPECT_EQ(Number(drift, "destructive"), 0);
  EXPECT_EQ(r.score, 90);
  EXPECT_TRUE(AnyRecommendation(r, "migrate_apply(desired)")) << AllRecommendations(r);

  r = Health(t.db(), WithDesired(kShop));
  EXPECT_EQ(CheckOf(r, "drift").status, CheckStatus::kOk);
  EXPECT_EQ(Number(CheckOf(r, "drift"), "steps"), 0);
  EXPECT_EQ(r.score, 100);

  // The planner's options reach the drift check.
  HealthRequest strict = WithDesired(
      "CREATE TABLE users(name TEXT NOT NULL, id INTEGER PRIMARY KEY);"
      "CREATE INDEX users_name ON users(name);"
      "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), title "
      "TEXT);");
  EXPECT_EQ(CheckOf(Health(t.db(), strict), "drift").status, CheckStatus::kOk);
  strict.plan.strict_column_order = true;
  EXPECT_EQ(CheckOf(Health(t.db(), strict), "drift").detail,
            "1 step needed to reach the desired schema: rebuild_table users");
}

TEST(Health, InvalidDesiredSchemaIsAnError) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  Result<HealthReport> r = CheckHealth(t.db(), WithDesired("CREATE TABLE (;"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "syntax error")) << r.status().message();

  HealthRequest zero;
  zero.recent_batches = 0;
  r = CheckHealth(t.db(), zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "recent_batches must be at least 1, not 0");
}

// ----------------------------------------------- foreign keys, integrity

TEST(Health, ForeignKeyViolationFails) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ApplyOk(t.db(), kShop);
  ASSERT_TRUE(t.Exec(kShopRows));
  ASSERT_TRUE(
      t.Exec("PRAGMA foreign_keys = OFF;"
             "INSERT INTO posts VALUES (20, 98, 'orphan'), (21, 99, 'orphan too');"));

  const HealthReport r = Health(t.db(), WithDesired(kShop));
  const HealthCheck& c = CheckOf(r, "foreign_keys");
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.penalty, 20);
  EXPECT_EQ(c.detail, "2 rows violate foreign keys: posts -> users (2 rows)");
  EXPECT_EQ(Number(c, "violations"), 2);
  EXPECT_EQ(Number(c, "tables"), 1);
  EXPECT_TRUE(AnyRecommendation(r, "PRAGMA foreign_key_check lists them")) << AllRecommendations(r);
  EXPECT_EQ(r.score, 80);
}

TEST(Health, ForeignKeyMismatchFails) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE p(a, b); CREATE TABLE c(x REFERENCES p(b));"));
  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "foreign_keys");
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_TRUE(Contains(c.detail, "foreign key mismatch")) << c.detail;
  EXPECT_EQ(r.score, 80);
}

// A copy of a database whose index root page is zeroed: quick_check cannot
// read that b-tree page, deterministically.
struct DamagedCopy {
  std::string path;
  int64_t page = 0;
};

DamagedCopy DamageIndexPage(TestDb& t) {
  DamagedCopy out;
  EXPECT_TRUE(
      t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v);"
             "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r WHERE i < 500) "
             "INSERT INTO t SELECT i, 'value ' || i FROM r;"));
  out.page = t.QueryInt("SELECT rootpage FROM sqlite_schema WHERE name = 't_v'");
  const int64_t page_size = t.QueryInt("PRAGMA page_size");
  out.path = (t.dir() / "damaged.db").string();
  fs::copy_file(t.path(), out.path);
  Overwrite(out.path, (out.page - 1) * page_size, page_size, '\0');
  return out;
}

TEST(Health, DamagedPageFailsIntegrity) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const DamagedCopy damaged = DamageIndexPage(t);
  Connection copy(damaged.path);
  ASSERT_TRUE(copy.ok());

  HealthReport r = Health(copy.db());
  const HealthCheck& c = CheckOf(r, "integrity");
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.penalty, 50);
  EXPECT_TRUE(Contains(c.detail, "PRAGMA quick_check found ")) << c.detail;
  EXPECT_TRUE(Contains(c.detail, "Page " + std::to_string(damaged.page) + ": ")) << c.detail;
  EXPECT_GE(Number(c, "problems").value_or(0), 1);
  EXPECT_EQ(r.score, 50) << r.ToJson();
  EXPECT_TRUE(AnyRecommendation(r, "The database file is damaged")) << AllRecommendations(r);
  EXPECT_TRUE(AnyRecommendation(r, ".recover")) << AllRecommendations(r);
  EXPECT_TRUE(AnyRecommendation(r, "PRAGMA integrity_check lists every problem"))
      << AllRecommendations(r);

  HealthRequest full;
  full.full_integrity = true;
  r = Health(copy.db(), full);
  // integrity_check also compares the index with its table, and stops at
  // the unreadable page with SQLITE_CORRUPT: still the integrity finding.
  EXPECT_EQ(CheckOf(r, "integrity").status, CheckStatus::kFail);
  EXPECT_TRUE(CheckOf(r, "integrity").detail.starts_with("PRAGMA integrity_check "))
      << CheckOf(r, "integrity").detail;
  EXPECT_EQ(CheckOf(r, "integrity").penalty, 50);

  // The original is intact.
  EXPECT_EQ(CheckOf(Health(t.db()), "integrity").status, CheckStatus::kOk);
}

TEST(Health, DamagedDatabaseAdviceNamesTheNewestVerifiedBackup) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE u(id INTEGER PRIMARY KEY, a TEXT);"));
  ApplyOk(t.db(), "CREATE TABLE u(id INTEGER PRIMARY KEY);", Destructive("auto"));
  const std::vector<BackupRecord> backups = Backups(t.db());
  ASSERT_EQ(backups.size(), 1u);
  const DamagedCopy damaged = DamageIndexPage(t);  // its history names the same backup
  Connection copy(damaged.path);
  ASSERT_TRUE(copy.ok());

  const HealthReport r = Health(copy.db());
  EXPECT_EQ(CheckOf(r, "integrity").status, CheckStatus::kFail);
  EXPECT_EQ(CheckOf(r, "backups").status, CheckStatus::kOk) << CheckOf(r, "backups").detail;
  EXPECT_TRUE(AnyRecommendation(r,
                                "restore the newest backup that verifies, taken before batch "
                                "1 (rows written since are not in it), with backup_restore('" +
                                    backups[0].path + "')"))
      << AllRecommendations(r);
}

// ------------------------------------------------------------ backups

TEST(Health, GoodBackupsAreVerifiedAndOk) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(
      t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"
             "INSERT INTO t VALUES (1, 'a', 'b');"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);", Destructive("auto"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("auto"));
  ASSERT_EQ(Backups(t.db()).size(), 2u);

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "backups");
  EXPECT_EQ(c.status, CheckStatus::kOk);
  EXPECT_EQ(c.detail,
            "2 backups of recent batches present, 2 verified in full (checksum and "
            "integrity_check)");
  EXPECT_EQ(Number(c, "checked"), 2);
  EXPECT_EQ(Number(c, "verified"), 2);
  EXPECT_EQ(r.score, 100) << r.ToJson();
  // Two copies and their sidecars.
  EXPECT_EQ(Number(CheckOf(r, "backup_disk_use"), "files"), 4);
  EXPECT_EQ(Number(CheckOf(r, "backup_disk_use"), "unrecorded_files"), 0);
}

TEST(Health, DeletedBackupFileFails) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("auto"));
  const std::vector<BackupRecord> backups = Backups(t.db());
  ASSERT_EQ(backups.size(), 1u);
  ASSERT_TRUE(fs::remove(backups[0].path));

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "backups");
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.penalty, 15);
  EXPECT_EQ(c.detail, "missing: batch 1: " + backups[0].path + " is gone");
  EXPECT_EQ(Number(c, "missing"), 1);
  EXPECT_TRUE(AnyRecommendation(r, "take a new backup of the current state with backup_create()"))
      << AllRecommendations(r);
  EXPECT_EQ(r.score, 85);
}

TEST(Health, BackupWithAFlippedByteFails) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("auto"));
  const std::vector<BackupRecord> backups = Backups(t.db());
  ASSERT_EQ(backups.size(), 1u);
  FlipByte(backups[0].path);

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "backups");
  EXPECT_EQ(c.status, CheckStatus::kFail);
  EXPECT_EQ(c.penalty, 15);
  EXPECT_TRUE(Contains(c.detail, "failed verification: batch 1: " + backups[0].path + ": "))
      << c.detail;
  EXPECT_EQ(Number(c, "failed"), 1);
  EXPECT_TRUE(AnyRecommendation(r, "does not verify: do not restore from it"))
      << AllRecommendations(r);
  EXPECT_EQ(r.score, 85);
}

TEST(Health, MissingAndUnverifiableBackupsAddUp) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b TEXT);"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);", Destructive("auto"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("auto"));
  const std::vector<BackupRecord> backups = Backups(t.db());
  ASSERT_EQ(backups.size(), 2u);
  ASSERT_TRUE(fs::remove(backups[0].path));
  FlipByte(backups[1].path);

  const HealthReport r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "backups").penalty, 30);
  EXPECT_EQ(r.score, 70);
}

TEST(Health, OnlyTheNewestThreeBackupsAreReadInFull) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY);"));
  ApplyOptions always;
  always.backup = "always";
  for (const char* columns : {", a TEXT", ", a TEXT, b TEXT", ", a TEXT, b TEXT, c TEXT",
                              ", a TEXT, b TEXT, c TEXT, d TEXT"})
    ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY" + std::string(columns) + ");", always);
  const std::vector<BackupRecord> backups = Backups(t.db());
  ASSERT_EQ(backups.size(), 4u);

  // The oldest is checked by existence and size only: a changed byte there
  // goes unseen (backup_verify would see it) ...
  FlipByte(backups[0].path);
  HealthReport r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "backups").status, CheckStatus::kOk) << CheckOf(r, "backups").detail;
  EXPECT_EQ(Number(CheckOf(r, "backups"), "checked"), 4);
  EXPECT_EQ(Number(CheckOf(r, "backups"), "verified"), 3);

  // ... a truncated or deleted one does not.
  fs::resize_file(backups[0].path, 512);
  r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "backups").status, CheckStatus::kFail);
  EXPECT_TRUE(Contains(CheckOf(r, "backups").detail,
                       "batch 1: " + backups[0].path + ": 512 bytes instead of the recorded"))
      << CheckOf(r, "backups").detail;
  ASSERT_TRUE(fs::remove(backups[0].path));
  r = Health(t.db());
  EXPECT_EQ(CheckOf(r, "backups").detail, "missing: batch 1: " + backups[0].path + " is gone");
}

TEST(Health, DestructiveBatchWithoutABackupWarns) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(
      t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t VALUES (1, 'x');"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("never"));

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "backups");
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.penalty, 5);
  EXPECT_EQ(c.detail, "no backup of 1 batch (only a backup can undo 1)");
  EXPECT_EQ(Number(c, "not_taken"), 1);
  EXPECT_TRUE(AnyRecommendation(r, "Batch 1 changed data that only a backup can bring back"))
      << AllRecommendations(r);
  EXPECT_EQ(r.score, 95);
}

TEST(Health, BackupDiskUseWarnsAboveTenTimesTheDatabaseAnd64MiB) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);"));
  ApplyOk(t.db(), "CREATE TABLE t(id INTEGER PRIMARY KEY);", Destructive("auto"));
  ASSERT_EQ(Backups(t.db()).size(), 1u);
  const HealthCheck before = CheckOf(Health(t.db()), "backup_disk_use");
  EXPECT_EQ(before.status, CheckStatus::kOk);
  EXPECT_EQ(Number(before, "files"), 2);

  // A stray file in the default backup directory (sparse: no disk used,
  // but its size is what counts).
  const std::string dir = t.path() + ".backups";
  ASSERT_TRUE(fs::is_directory(dir));
  const std::string stray = dir + "/stray.db";
  { std::ofstream(stray).put('x'); }
  fs::resize_file(stray, int64_t{100} << 20);

  const HealthReport r = Health(t.db());
  const HealthCheck& c = CheckOf(r, "backup_disk_use");
  EXPECT_EQ(c.status, CheckStatus::kWarn);
  EXPECT_EQ(c.penalty, 5);
  EXPECT_EQ(Number(c, "files"), 3);
  EXPECT_EQ(Number(c, "unrecorded_files"), 1);
  EXPECT_GT(Number(c, "bytes").value_or(0), int64_t{100} << 20);
  EXPECT_TRUE(Contains(c.detail, "backups use 100.0 MiB in 3 files (the database: ")) << c.detail;
  EXPECT_TRUE(AnyRecommendation(r, "backup_cleanup(3)")) << AllRecommendations(r);
  EXPECT_TRUE(AnyRecommendation(r, "must be removed by hand")) << AllRecommendations(r);
  EXPECT_EQ(r.score, 95);

  // Another directory holds nothing extra.
  HealthRequest elsewhere;
  elsewhere.backup_dir = (t.dir() / "elsewhere").string();
  EXPECT_EQ(CheckOf(Health(t.db(), elsewhere), "backup_disk_use").status, CheckStatus::kOk);
}

// ---------------------------------------------------- score and schemas

TEST(Health, ScoreIsOneHundredMinusThePenaltiesClampedAtZero) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kFailingBase));
  const std::string v1 = "CREATE TABLE b(id INTEGER PRIMARY KEY, x INTEGER);" + std::string(kShop);
  const std::string v2 = std::string(kFailingDesired) + std::string(kShop);
  ApplyOk(t.db(), v1);
  for (int i = 0; i < 4; ++i) ApplyFails(t.db(), v2);  // 20, and 10: the newest failed
  ASSERT_TRUE(
      t.Exec("PRAGMA foreign_keys = OFF; INSERT INTO posts VALUES (1, 7, 'orphan');"  // 20
             "ALTER TABLE b ADD COLUMN y TEXT;"));                                    // 10
  HealthReport r = Health(t.db(), WithDesired(v1));                                   // drift: 10
  int sum = 0;
  for (const HealthCheck& c : r.checks) sum += c.penalty;
  EXPECT_EQ(r.score, std::max(0, 100 - sum));
  EXPECT_EQ(sum, 70) << Summary(r);
  EXPECT_EQ(r.score, 30);

  // A damaged copy of it: 50 more, clamped at 0.
  const DamagedCopy damaged = DamageIndexPage(t);
  Connection copy(damaged.path);
  ASSERT_TRUE(copy.ok());
  r = Health(copy.db(), WithDesired(v1));
  EXPECT_EQ(CheckOf(r, "integrity").penalty, 50);
  EXPECT_EQ(r.score, 0) << Summary(r);
}

TEST(Health, AttachedSchemaIsCheckedOnItsOwn) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const std::string aux = (t.dir() / "aux.db").string();
  ASSERT_TRUE(t.Exec("ATTACH '" + aux + "' AS aux"));
  ApplyOptions o;
  o.plan.schema = "aux";
  ApplyOk(t.db(), kShop, o);
  ASSERT_TRUE(t.Exec("ALTER TABLE aux.users ADD COLUMN nick TEXT"));

  HealthRequest r;
  r.schema = "aux";
  const HealthReport report = Health(t.db(), r);
  EXPECT_EQ(CheckOf(report, "history_consistency").status, CheckStatus::kWarn);
  EXPECT_TRUE(AnyRecommendation(report, R"(backup_create(NULL, '{"schema":"aux"}'))"))
      << AllRecommendations(report);
  // main was never migrated.
  EXPECT_EQ(CheckOf(Health(t.db()), "history_consistency").status, CheckStatus::kSkipped);
}

// ------------------------------------------------------------ the SQL function

json Json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

std::string Error(sqlite3* db, std::string_view sql, const Params& params = {}) {
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db, sql, params, &rows, &error)) << sql << ": expected an error";
  return error;
}

// The check named `name` in the JSON report.
json JsonCheck(const json& report, std::string_view name) {
  for (const json& c : report["checks"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no check " << name;
  return json::object();
}

TEST(HealthSql, ReturnsTheReportAsJson) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE users(id INTEGER PRIMARY KEY);"));
  const ordered_json j = ordered_json::parse(t.QueryString(
      "SELECT migrate_health('CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT);')"));
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"score", "checks", "recommendations"}));
  EXPECT_EQ(j["score"], 90);
  std::vector<std::string> names;
  for (const auto& c : j["checks"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"integrity", "foreign_keys", "recent_failures",
                                             "interrupted_batches", "backups", "backup_disk_use",
                                             "drift", "history_consistency"}));
  const ordered_json& drift = j["checks"][6];
  std::vector<std::string> drift_keys;
  for (const auto& [key, value] : drift.items()) drift_keys.push_back(key);
  EXPECT_EQ(drift_keys, (std::vector<std::string>{"name", "status", "ok", "penalty", "detail",
                                                  "steps", "destructive"}));
  EXPECT_EQ(drift["status"], "warn");
  EXPECT_EQ(drift["ok"], false);
  EXPECT_EQ(drift["penalty"], 10);
  EXPECT_EQ(drift["detail"], "1 step needed to reach the desired schema: add_column users.email");
  EXPECT_EQ(j["checks"][0]["ok"], true);
  ASSERT_EQ(j["recommendations"].size(), 1u);
}

TEST(HealthSql, DesiredIsOptionalAndNullMeansNoDriftCheck) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE users(id INTEGER PRIMARY KEY);"));
  for (const char* sql :
       {"SELECT migrate_health()", "SELECT migrate_health(NULL)",
        "SELECT migrate_health(NULL, NULL)", "SELECT migrate_health(NULL, '{}')"}) {
    const json j = Json(t.QueryString(sql));
    EXPECT_EQ(j["score"], 100) << sql;
    EXPECT_EQ(JsonCheck(j, "drift")["status"], "skipped") << sql;
  }
  // A BLOB, as readfile() returns, is the desired schema.
  const json j = Json(t.QueryString(
      "SELECT migrate_health(CAST('CREATE TABLE users(id INTEGER PRIMARY KEY);' AS BLOB))"));
  EXPECT_EQ(JsonCheck(j, "drift")["status"], "ok");
}

TEST(HealthSql, ArgumentErrorsNameTheFunctionAndTheKey) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  sqlite3* db = t.db();
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{}', 1)"),
            "migrate_health: expected 0 to 2 arguments ([desired] [, options])");
  EXPECT_EQ(Error(db, "SELECT migrate_health(1)"), "migrate_health: desired schema must be text");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, 1)"),
            "migrate_health: options must be JSON text");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{')"), "migrate_health: options: invalid JSON");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '[]')"),
            "migrate_health: options must be a JSON object");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{\"nope\": 1}')"),
            "migrate_health: options: unknown key \"nope\"");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{\"dry_run\": true}')"),
            "migrate_health: options: \"dry_run\" cannot be used with migrate_health; accepted "
            "keys: \"backup_dir\", \"rename\", \"column_order\", \"schema\", "
            "\"full_integrity\", \"recent_batches\"");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{\"full_integrity\": 1}')"),
            "migrate_health: options: \"full_integrity\" must be a boolean");
  for (const char* bad : {"0", "-1", "1.5", "\"3\""})
    EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, json_object('recent_batches', json(?1)))",
                    {std::string(bad)}),
              "migrate_health: options: \"recent_batches\" must be a positive integer")
        << bad;
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{\"schema\": \"nope\"}')"),
            "migrate_health: options: schema \"nope\" is not attached");
  EXPECT_EQ(Error(db, "SELECT migrate_health(NULL, '{\"column_order\": \"sideways\"}')"),
            "migrate_health: options: \"column_order\" must be one of \"ignore\", \"strict\"");
  const std::string invalid = Error(db, "SELECT migrate_health('CREATE TABLE (;')");
  EXPECT_TRUE(invalid.starts_with("migrate_health: ")) << invalid;
  EXPECT_TRUE(Contains(invalid, "syntax error")) << invalid;
}

TEST(HealthSql, OptionsReachTheChecks) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"));
  json j = Json(t.QueryString("SELECT migrate_health(NULL, '{\"full_integrity\": true}')"));
  EXPECT_EQ(JsonCheck(j, "integrity")["detail"], "PRAGMA integrity_check: ok");

  // column_order and rename go to the planner.
  const std::string reordered = "CREATE TABLE users(name TEXT, id INTEGER PRIMARY KEY);";
  j = Json(t.QueryString("SELECT migrate_health(?1)", {reordered}));
  EXPECT_EQ(JsonCheck(j, "drift")["status"], "ok");
  j = Json(
      t.QueryString("SELECT migrate_health(?1, '{\"column_order\": \"strict\"}')", {reordered}));
  EXPECT_EQ(JsonCheck(j, "drift")["detail"],
            "1 step needed to reach the desired schema: rebuild_table users");
  j = Json(
      t.QueryString("SELECT migrate_health(?1, '{\"rename\": {\"users.name\": \"full_name\"}}')",
                    {std::string("CREATE TABLE users(id INTEGER PRIMARY KEY, full_name TEXT);")}));
  EXPECT_EQ(JsonCheck(j, "drift")["detail"],
            "1 step needed to reach the desired schema: rename_column users.full_name");

  // recent_batches narrows the window.
  ASSERT_TRUE(t.Exec(std::string(kFailingBase)));
  std::string error;
  EXPECT_FALSE(TryExec(t.db(),
                       "SELECT migrate_apply('CREATE TABLE users(id INTEGER PRIMARY KEY, name "
                       "TEXT);" +
                           std::string(kFailingDesired) + "')",
                       &error));
  EXPECT_TRUE(Contains(error, "integer overflow")) << error;
  ASSERT_TRUE(t.Exec("UPDATE b SET x = 0 WHERE id = 2"));
  ASSERT_TRUE(
      t.Exec("SELECT migrate_apply('CREATE TABLE users(id INTEGER PRIMARY KEY, name "
             "TEXT);" +
             std::string(kFailingDesired) + "')"));
  j = Json(t.QueryString("SELECT migrate_health()"));
  EXPECT_EQ(JsonCheck(j, "recent_failures")["failed"], 1);
  j = Json(t.QueryString("SELECT migrate_health(NULL, '{\"recent_batches\": 1}')"));
  EXPECT_EQ(JsonCheck(j, "recent_failures")["failed"], 0);
  EXPECT_EQ(j["score"], 100);
}

TEST(HealthSql, BackupDirComesFromTheOptionsOrTheStoredDefaults) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY);"));
  const fs::path dir = t.dir() / "kept";
  fs::create_directories(dir);
  const std::string stray = (dir / "old.db").string();
  { std::ofstream(stray).put('x'); }
  fs::resize_file(stray, int64_t{70} << 20);

  json j = Json(t.QueryString("SELECT migrate_health()"));
  EXPECT_EQ(JsonCheck(j, "backup_disk_use")["files"], 0);
  j = Json(
      t.QueryString("SELECT migrate_health(NULL, json_object('backup_dir', ?1))", {dir.string()}));
  EXPECT_EQ(JsonCheck(j, "backup_disk_use")["status"], "warn");
  EXPECT_EQ(JsonCheck(j, "backup_disk_use")["unrecorded_files"], 1);

  ASSERT_TRUE(
      t.Exec("SELECT migrate_configure(json_object('backup_dir', '" + dir.string() + "'))"));
  j = Json(t.QueryString("SELECT migrate_health()"));
  EXPECT_EQ(JsonCheck(j, "backup_disk_use")["status"], "warn");
  EXPECT_EQ(j["score"], 95);
  // null in the call means the default directory again.
  j = Json(t.QueryString("SELECT migrate_health(NULL, '{\"backup_dir\": null}')"));
  EXPECT_EQ(JsonCheck(j, "backup_disk_use")["status"], "ok");
}

TEST(HealthSql, AttachedSchema) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const std::string aux = (t.dir() / "aux.db").string();
  ASSERT_TRUE(t.Exec("ATTACH '" + aux + "' AS aux"));
  ASSERT_TRUE(
      t.Exec("SELECT migrate_apply('CREATE TABLE p(id INTEGER PRIMARY KEY);"
             "CREATE TABLE c(id INTEGER PRIMARY KEY, p INTEGER REFERENCES p(id));', "
             "'{\"schema\": \"aux\"}');"
             "PRAGMA foreign_keys = OFF; INSERT INTO aux.c VALUES (1, 42);"));
  json j = Json(t.QueryString("SELECT migrate_health(NULL, '{\"schema\": \"AUX\"}')"));
  EXPECT_EQ(JsonCheck(j, "foreign_keys")["detail"], "1 row violates foreign keys: c -> p (1 row)");
  EXPECT_EQ(JsonCheck(j, "history_consistency")["status"], "ok");
  EXPECT_EQ(j["score"], 80);
  j = Json(t.QueryString("SELECT migrate_health()"));
  EXPECT_EQ(j["score"], 100);
}

TEST(HealthSql, IsDirectOnly) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t.QueryRows("SELECT name, narg, flags & ?1 != 0, flags & ?2 != 0 "
                        "FROM pragma_function_list WHERE name = 'migrate_health'",
                        {std::to_string(SQLITE_DIRECTONLY), std::to_string(SQLITE_INNOCUOUS)}),
            (Rows{{"migrate_health", "-1", "1", "0"}}));
  ASSERT_TRUE(t.Exec("PRAGMA trusted_schema = ON; CREATE TABLE t(x);"));
  std::string error;
  EXPECT_FALSE(
      TryExec(t.db(), "CREATE VIEW v AS SELECT migrate_health(); SELECT * FROM v", &error));
  EXPECT_EQ(error, "unsafe use of migrate_health()");
}

}  // namespace
}  // namespace automigrate::testing
