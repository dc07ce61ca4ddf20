// tests/integrity_test.cc -- integrity_check without SQLite 3.40's WITHOUT
// ROWID false positive (core/integrity.h): the engine function, and every
// caller that would otherwise reject a valid database (backup_verify,
// backup_restore, migrate_health). A real NULL in a NOT NULL column, made
// with writable_schema, is still reported.
#include "core/integrity.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/health.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using nlohmann::json;

// The primary key is not the first column: SQLite 3.40.1 reports
// "NULL value in t.b" for every row.
constexpr std::string_view kWithoutRowid = R"sql(
CREATE TABLE t(a TEXT, b INT NOT NULL, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID;
INSERT INTO t VALUES ('x', 2, 3), ('y', 5, 6);
)sql";

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// Declares b NOT NULL after a NULL was stored in it: a really damaged table,
// as an edit of sqlite_schema makes one.
void MakeRealNull(TestDb& t, std::string_view table_sql_before, std::string_view table_sql_after,
                  std::string_view insert) {
  ASSERT_TRUE(t.Exec(table_sql_before));
  ASSERT_TRUE(t.Exec(insert));
  ASSERT_TRUE(t.Exec("PRAGMA writable_schema=ON; UPDATE sqlite_schema SET sql = '" +
                     std::string(table_sql_after) + "' WHERE name = 't'; PRAGMA writable_schema=OFF;"));
  ASSERT_TRUE(t.Reopen());
}

bool Affected() { return HasWithoutRowidIntegrityBug(sqlite3_libversion_number()); }

TEST(Integrity, VersionRange) {
  EXPECT_FALSE(HasWithoutRowidIntegrityBug(3039004));
  EXPECT_TRUE(HasWithoutRowidIntegrityBug(3040000));
  EXPECT_TRUE(HasWithoutRowidIntegrityBug(3040001));
  EXPECT_TRUE(HasWithoutRowidIntegrityBug(3041000));
  EXPECT_FALSE(HasWithoutRowidIntegrityBug(3042000));
}

// The reason for all of this, on the SQLite the tests run with.
TEST(Integrity, ThisSqliteHasTheFalsePositive) {
  if (!Affected()) GTEST_SKIP() << "SQLite " << sqlite3_libversion() << " is not affected";
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kWithoutRowid));
  EXPECT_EQ(t.QueryString("PRAGMA integrity_check"), "NULL value in t.b");
}

TEST(Integrity, DropsTheFalsePositiveAfterCheckingTheData) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kWithoutRowid));
  for (bool quick : {false, true}) {
    Result<IntegrityReport> r = RunIntegrityCheck(t.db(), "main", quick, 10);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_TRUE(r->ok()) << r->problems.front();
    if (Affected()) {
      EXPECT_EQ(r->false_positives, 2);  // one line per row
    }
  }
  Result<bool> real = IsRealIntegrityProblem(t.db(), "main", "NULL value in t.b");
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(*real, !Affected());
  // Any other line stands.
  real = IsRealIntegrityProblem(t.db(), "main", "Page 5 is never used");
  ASSERT_TRUE(real.ok());
  EXPECT_TRUE(*real);
}

// `b IS NULL` on a NOT NULL column is folded to false by the planner: the
// check must find the NULL by its storage class.
TEST(Integrity, AReallyNullValueStillCounts) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  MakeRealNull(t, "CREATE TABLE t(a TEXT, b INT, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID",
               "CREATE TABLE t(a TEXT, b INT NOT NULL, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID",
               "INSERT INTO t VALUES ('x', NULL, 3), ('y', 5, 6)");
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM t WHERE b IS NULL"), 0);  // the folding
  Result<IntegrityReport> r = RunIntegrityCheck(t.db(), "main", false, 10);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_FALSE(r->ok());
  EXPECT_EQ(r->problems.front(), "NULL value in t.b");
}

// False positives come one per row and could fill the pragma's N lines; a
// real problem in a later table is still found.
TEST(Integrity, ARealProblemBehindManyFalsePositivesIsFound) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(
      "CREATE TABLE w(a TEXT, b INT NOT NULL, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID;"
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
      "INSERT INTO w SELECT 'r', i, i FROM n;"));
  MakeRealNull(t, "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT)",
               "CREATE TABLE t(id INTEGER PRIMARY KEY, c TEXT NOT NULL)",
               "INSERT INTO t VALUES (1, NULL)");
  Result<IntegrityReport> r = RunIntegrityCheck(t.db(), "main", false, 3);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_EQ(r->problems.front(), "NULL value in t.c");
  if (Affected()) {
    EXPECT_EQ(r->false_positives, 300);
  }
}

TEST(Integrity, BackupOfSuchADatabaseVerifiesAndRestores) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec(kWithoutRowid));
  const std::string path = (t.dir() / "wr.backup.db").string();
  json created = json::parse(t.QueryString("SELECT backup_create(?1)", {path}));
  ASSERT_EQ(created["path"], path);
  json v = json::parse(t.QueryString("SELECT backup_verify(?1)", {path}));
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(v["integrity_ok"], true) << v.dump();

  ASSERT_TRUE(t.Exec("DELETE FROM t WHERE k = 3; INSERT INTO t VALUES ('z', 8, 9);"));
  json restored = json::parse(t.QueryString("SELECT backup_restore(?1)", {path}));
  EXPECT_EQ(restored["ok"], true) << restored.dump();
  EXPECT_EQ(t.QueryString("SELECT group_concat(a || b || k, ',') FROM (SELECT * FROM t ORDER BY k)"),
            "x23,y56");

  // migrate_health: the integrity check passes (quick and full).
  for (std::string_view options : {"{}", "{\"full_integrity\": true}"}) {
    json h = json::parse(t.QueryString("SELECT migrate_health(NULL, ?1)", {std::string(options)}));
    for (const json& c : h["checks"]) {
      if (c["name"] == "integrity") {
        EXPECT_EQ(c["status"], "ok") << c.dump();
      }
    }
  }
}

TEST(Integrity, BackupWithARealNullFailsVerificationAndRestore) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  MakeRealNull(t, "CREATE TABLE t(a TEXT, b INT, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID",
               "CREATE TABLE t(a TEXT, b INT NOT NULL, k INTEGER, PRIMARY KEY (k)) WITHOUT ROWID",
               "INSERT INTO t VALUES ('x', NULL, 3), ('y', 5, 6)");
  const std::string path = (t.dir() / "bad.backup.db").string();
  json created = json::parse(t.QueryString("SELECT backup_create(?1)", {path}));
  ASSERT_EQ(created["path"], path);
  json v = json::parse(t.QueryString("SELECT backup_verify(?1)", {path}));
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["integrity_ok"], false) << v.dump();
  EXPECT_TRUE(Contains(v["reason"].get<std::string>(), "NULL value in t.b")) << v.dump();

  std::string error;
  EXPECT_FALSE(TryExec(t.db(), "SELECT backup_restore('" + path + "')", &error));
  EXPECT_TRUE(Contains(error, "failed verification: integrity_check failed: NULL value in t.b"))
      << error;

  HealthRequest full;
  full.full_integrity = true;
  Result<HealthReport> h = CheckHealth(t.db(), full);
  ASSERT_TRUE(h.ok()) << h.status().message();
  const HealthCheck* c = h->Find("integrity");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->status, CheckStatus::kFail);
  EXPECT_TRUE(Contains(c->detail, "NULL value in t.b")) << c->detail;
}

}  // namespace
}  // namespace automigrate::testing
