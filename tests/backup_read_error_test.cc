// tests/backup_read_error_test.cc -- a read error while verifying a backup is
// not a corrupt backup (docs/BACKUPS.md, "Verifying"). Two real read errors:
// a directory in place of the backup file (open(2) works, read(2) fails
// with EISDIR: root is not stopped by it, unlike chmod), and the fault VFS
// of the I/O-error harness failing SQLite's first read of the copy.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/backup.h"
#include "reliability/faults/fault_vfs.h"
#include "support/apply_support.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool Contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// A valid backup at `path`, then its file replaced by a directory (the
// sidecar stays): every read of it fails.
std::string UnreadableBackup(TestDb& t) {
  EXPECT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, "
                     "'a');"));
  const std::string path = (t.dir() / "b.db").string();
  EXPECT_FALSE(t.QueryString("SELECT backup_create(?1)", {path}).empty());
  fs::rename(path, path + ".aside");
  fs::create_directory(path);
  return path;
}

TEST(BackupReadError, VerifyIsAnErrorNotAFailedVerification) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const std::string path = UnreadableBackup(t);
  std::string error;
  ASSERT_FALSE(TryExec(t.db(), "SELECT backup_verify('" + path + "')", &error));
  EXPECT_TRUE(Contains(error, "backup_verify: could not read " + path)) << error;
  EXPECT_TRUE(Contains(error, "Is a directory")) << error;
  EXPECT_TRUE(Contains(error, "a read error, not a verification failure")) << error;
  EXPECT_EQ(sqlite3_extended_errcode(t.db()) & 0xff, SQLITE_IOERR) << error;
  // verified_at is not touched.
  EXPECT_EQ(t.QueryString("SELECT verified_at IS NULL FROM migration_backups"), "1");

  // Once the file reads again, the same backup verifies.
  fs::remove(path);
  fs::rename(path + ".aside", path);
  json v = json::parse(t.QueryString("SELECT backup_verify(?1)", {path}));
  EXPECT_EQ(v["ok"], true) << v.dump();
}

TEST(BackupReadError, RestoreSaysReadErrorAndChangesNothing) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  const std::string path = UnreadableBackup(t);
  ASSERT_TRUE(t.Exec("INSERT INTO t VALUES (2, 'b')"));
  const std::string before = DumpDatabase(t.db());
  std::string error;
  ASSERT_FALSE(TryExec(t.db(), "SELECT backup_restore('" + path + "')", &error));
  EXPECT_TRUE(Contains(error, "backup_restore: could not read " + path)) << error;
  EXPECT_TRUE(Contains(error, "a read error, not a verification failure")) << error;
  EXPECT_TRUE(Contains(error, "nothing was changed")) << error;
  EXPECT_FALSE(Contains(error, "failed verification")) << error;
  EXPECT_EQ(DumpDatabase(t.db()), before);
  for (const auto& e : fs::directory_iterator(t.dir()))
    EXPECT_FALSE(Contains(e.path().filename().string(), "automigrate-restore")) << e.path();
}

// SQLite's read of the copy fails once (SQLITE_IOERR_READ): the report is a
// read error, not integrity_ok = false; the next verify is ok.
TEST(BackupReadError, IoErrorWhileIntegrityCheckReadsTheCopy) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, "
                     "'a');"));
  const std::string path = (t.dir() / "b.db").string();
  ASSERT_FALSE(t.QueryString("SELECT backup_create(?1)", {path}).empty());

  sqlite3_vfs* before = sqlite3_vfs_find(nullptr);
  static const bool registered = [] {
    return reliability::RegisterFaultVfs(/*make_default=*/false) == SQLITE_OK;
  }();
  ASSERT_TRUE(registered);
  ASSERT_EQ(sqlite3_vfs_register(sqlite3_vfs_find(reliability::kFaultVfsName), 1), SQLITE_OK);
  reliability::ArmFault(reliability::FaultKind::kRead, 1);
  VerifyReport v = VerifyBackup(path, std::nullopt);
  reliability::FaultState fault = reliability::DisarmFault();
  ASSERT_EQ(sqlite3_vfs_register(before, 1), SQLITE_OK);  // the default again

  EXPECT_TRUE(fault.hit);
  EXPECT_TRUE(v.read_error) << v.reason;
  EXPECT_EQ(v.read_error_code, SQLITE_IOERR_READ) << v.reason;
  EXPECT_FALSE(v.ok);
  EXPECT_TRUE(v.checksum_ok);
  EXPECT_FALSE(v.integrity_ok.has_value()) << v.reason;
  EXPECT_TRUE(Contains(v.reason, "a read error, not a verification failure")) << v.reason;

  VerifyReport again = VerifyBackup(path, std::nullopt);
  EXPECT_TRUE(again.ok) << again.reason;
}

}  // namespace
}  // namespace automigrate::testing
