// tests/backup_orphans_test.cc -- files a killed call leaves behind
// (docs/BACKUPS.md, "Leftover files"): restore scratch copies whose writer
// is gone are removed by the next backup_restore, backup_create or
// backup_cleanup; partial backups (no sidecar, no writer) by the next
// backup_create or backup_cleanup; complete backups that were never recorded
// by backup_cleanup once they are an hour old; migrate_health counts them.
// The kills are simulated by the files they leave: a pid that has exited,
// a backup file without its sidecar or its record.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "support/test_util.h"

namespace automigrate::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Host() {
  char name[256] = {0};
  EXPECT_EQ(::gethostname(name, sizeof name - 1), 0);
  return name;
}

// A pid that existed and has exited (reaped): kill(pid, 0) gives ESRCH.
int64_t DeadPid() {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

void Touch(const std::string& path, std::string_view content = "partial") {
  std::ofstream(path) << content;
}

void Age(const std::string& path, std::chrono::hours by) {
  fs::last_write_time(path, fs::file_time_type::clock::now() - by);
}

bool Exists(const std::string& path) { return fs::exists(path); }

json HealthCheckOf(TestDb& t, std::string_view name) {
  json h = json::parse(t.QueryString("SELECT migrate_health()"));
  for (const json& c : h["checks"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << "no check " << name << " in " << h.dump();
  return {};
}

std::string Recommendations(TestDb& t) {
  return json::parse(t.QueryString("SELECT migrate_health()"))["recommendations"].dump();
}

struct Fixture {
  TestDb t;
  std::string base;  // the database file's name
  std::string dir;   // its default backup directory
  Fixture() {
    EXPECT_TRUE(t.ok());
    EXPECT_TRUE(t.Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES "
                       "(1, 'a'), (2, 'b');"));
    base = fs::path(t.path()).filename().string();
    dir = t.path() + ".backups";
  }
  std::string Scratch(const std::string& host, int64_t pid, std::string_view suffix = "") {
    return t.path() + ".automigrate-restore-" + (host.empty() ? "" : host + "-") +
           std::to_string(pid) + std::string(suffix);
  }
};

TEST(BackupOrphans, RestoreRemovesScratchCopiesOfDeadWritersOnThisHost) {
  Fixture f;
  const std::string backup = (f.t.dir() / "b.db").string();
  ASSERT_FALSE(f.t.QueryString("SELECT backup_create(?1)", {backup}).empty());
  const std::string host = Host();
  const int64_t dead = DeadPid();
  const std::vector<std::string> gone = {f.Scratch(host, dead), f.Scratch(host, dead, "-journal"),
                                         f.Scratch(host, dead, "-wal"),
                                         // the name before the host was added
                                         f.Scratch("", DeadPid())};
  const std::vector<std::string> kept = {f.Scratch(host, ::getppid()),  // alive
                                         f.Scratch("other-host.example", dead)};
  for (const std::string& p : gone) Touch(p);
  for (const std::string& p : kept) Touch(p);

  json r = json::parse(f.t.QueryString("SELECT backup_restore(?1)", {backup}));
  EXPECT_EQ(r["ok"], true) << r.dump();
  for (const std::string& p : gone) EXPECT_FALSE(Exists(p)) << p;
  for (const std::string& p : kept) EXPECT_TRUE(Exists(p)) << p;
  // Its own scratch copy is gone too.
  for (const auto& e : fs::directory_iterator(f.t.dir())) {
    const std::string name = e.path().filename().string();
    if (name.find(".automigrate-restore-") == std::string::npos) continue;
    EXPECT_TRUE(e.path().string() == kept[0] || e.path().string() == kept[1]) << name;
  }
}

TEST(BackupOrphans, BackupCreateRemovesPartialBackupsNobodyIsWriting) {
  Fixture f;
  fs::create_directories(f.dir);
  const std::string partial = f.dir + "/" + f.base + "-20260101T000000.000Z-batch3.db";
  const std::string partial2 = f.dir + "/" + f.base + "-20260101T000000.000Z-2.db";
  const std::string writing = f.dir + "/" + f.base + "-20260101T000001.000Z.db";
  const std::string not_ours = f.dir + "/" + f.base + "-notes.db";
  const std::string other_db = f.dir + "/other.db-20260101T000000.000Z.db";
  for (const std::string& p : {partial, partial2, writing, not_ours, other_db}) Touch(p);
  // A writer still at work holds its lock (as backup_create does until the
  // sidecar is written).
  int fd = ::open(writing.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  const std::string scratch = f.Scratch(Host(), DeadPid());
  Touch(scratch);

  json b = json::parse(f.t.QueryString("SELECT backup_create()"));
  ASSERT_TRUE(b["path"].is_string()) << b.dump();
  EXPECT_FALSE(Exists(partial));
  EXPECT_FALSE(Exists(partial2));
  EXPECT_FALSE(Exists(scratch));
  EXPECT_TRUE(Exists(writing));
  EXPECT_TRUE(Exists(not_ours));
  EXPECT_TRUE(Exists(other_db));
  EXPECT_TRUE(Exists(b["path"].get<std::string>()));
  ::close(fd);
  // Once its writer is gone, it goes too.
  json b2 = json::parse(f.t.QueryString("SELECT backup_create()"));
  ASSERT_TRUE(b2["path"].is_string()) << b2.dump();
  EXPECT_FALSE(Exists(writing));
  EXPECT_EQ(json::parse(f.t.QueryString("SELECT backup_verify(?1)", {b2["path"]}))["ok"], true);
}

TEST(BackupOrphans, CleanupRemovesUnrecordedBackupsAnHourOld) {
  Fixture f;
  auto take = [&] {
    json b = json::parse(f.t.QueryString("SELECT backup_create()"));
    EXPECT_TRUE(b["path"].is_string()) << b.dump();
    return b["path"].get<std::string>();
  };
  const std::string recorded = take();
  // Taken by a migration that was killed before its transaction recorded it.
  const std::string old_unrecorded = take();
  const std::string young_unrecorded = take();
  for (const std::string& p : {old_unrecorded, young_unrecorded})
    ASSERT_TRUE(f.t.Exec("DELETE FROM _automigrate_backups WHERE path = '" + p + "'"));
  Age(old_unrecorded, std::chrono::hours(2));
  Age(old_unrecorded + ".json", std::chrono::hours(2));
  // Another database's complete backup under a name like ours: its sidecar
  // names its source.
  TestDb other;
  ASSERT_TRUE(other.ok());
  const std::string foreign = f.dir + "/" + f.base + "-20250101T000000.000Z.db";
  ASSERT_FALSE(other.QueryString("SELECT backup_create(?1)", {foreign}).empty());
  Age(foreign, std::chrono::hours(2));
  const std::string partial = f.dir + "/" + f.base + "-20250101T000000.000Z-batch9.db";
  Touch(partial);
  const std::string scratch = f.Scratch(Host(), DeadPid());
  Touch(scratch);

  // Health sees them first (and writes nothing).
  json disk = HealthCheckOf(f.t, "backup_disk_use");
  EXPECT_EQ(disk["status"], "warn") << disk.dump();
  EXPECT_EQ(disk["orphaned_files"], 3) << disk.dump();
  EXPECT_EQ(disk["penalty"], 5) << disk.dump();
  EXPECT_NE(disk["detail"].get<std::string>().find("unrecorded_backup"), std::string::npos)
      << disk.dump();
  EXPECT_NE(Recommendations(f.t).find("backup_cleanup(1000000)"), std::string::npos)
      << Recommendations(f.t);
  EXPECT_TRUE(Exists(partial));

  // keep_last 10 keeps every recorded backup: what goes is the orphans.
  EXPECT_EQ(f.t.QueryInt("SELECT backup_cleanup(10)"), 3);
  EXPECT_FALSE(Exists(old_unrecorded));
  EXPECT_FALSE(Exists(old_unrecorded + ".json"));
  EXPECT_FALSE(Exists(partial));
  EXPECT_FALSE(Exists(scratch));
  EXPECT_TRUE(Exists(recorded));
  EXPECT_TRUE(Exists(young_unrecorded));  // may be a migration's, still running
  EXPECT_TRUE(Exists(foreign));
  EXPECT_EQ(f.t.QueryInt("SELECT count(*) FROM migration_backups"), 1);

  disk = HealthCheckOf(f.t, "backup_disk_use");
  EXPECT_EQ(disk["status"], "ok") << disk.dump();
  EXPECT_EQ(disk["orphaned_files"], 0) << disk.dump();

  // max_age_days raises the age an unrecorded backup needs.
  Age(young_unrecorded, std::chrono::hours(3));
  EXPECT_EQ(f.t.QueryInt("SELECT backup_cleanup(10, '{\"max_age_days\": 1}')"), 0);
  EXPECT_TRUE(Exists(young_unrecorded));
  EXPECT_EQ(f.t.QueryInt("SELECT backup_cleanup(10)"), 1);
  EXPECT_FALSE(Exists(young_unrecorded));
}

// Inside the caller's transaction the write lock is not taken, so a
// complete unrecorded backup is left alone (a migration might record it).
TEST(BackupOrphans, CleanupInsideATransactionLeavesUnrecordedBackups) {
  Fixture f;
  json b = json::parse(f.t.QueryString("SELECT backup_create()"));
  const std::string path = b["path"].get<std::string>();
  ASSERT_TRUE(f.t.Exec("DELETE FROM _automigrate_backups"));
  Age(path, std::chrono::hours(2));
  ASSERT_TRUE(f.t.Exec("BEGIN"));
  EXPECT_EQ(f.t.QueryInt("SELECT backup_cleanup(10)"), 0);
  ASSERT_TRUE(f.t.Exec("COMMIT"));
  EXPECT_TRUE(Exists(path));
  EXPECT_EQ(f.t.QueryInt("SELECT backup_cleanup(10)"), 1);
  EXPECT_FALSE(Exists(path));
}

}  // namespace
}  // namespace automigrate::testing
