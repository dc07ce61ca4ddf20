// tests/backup_test.cc -- backups as a user relies on them (shared/DESIGN.md
// "Backups" and "Decisions", README "Backups and rollback", docs/BACKUPS.md):
// backup_create, backup_verify, backup_restore, backup_cleanup,
// migration_backups and migrate_apply's backup policy, called through the
// built extension the way a user calls them; core's TakeBackup only where
// SQL cannot reach (an interrupted copy).
//
// What makes a backup trustworthy is checked independently of the code under
// test: checksums against the `xxh128sum` binary, contents with a full dump
// (sqlite_schema and every row) of the copy opened immutable, consistency
// against other connections and a writer thread, a full disk with the shell
// run under `ulimit -f`.
#include "core/backup.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/apply_support.h"
#include "support/backup_support.h"
#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

// ---------------------------------------------------------------------------
// Schemas

// A parent table with an index and a view over it, an AUTOINCREMENT table
// (so sqlite_sequence is in every dump) and a UNIQUE constraint.
constexpr std::string_view kItems = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty TEXT);
CREATE INDEX items_name ON items(name);
CREATE TABLE tags(id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT UNIQUE);
CREATE VIEW item_names AS SELECT name FROM items;
)sql";

constexpr std::string_view kItemsRows = R"sql(
INSERT INTO items VALUES (1, 'apple', '3'), (2, 'pear', '5'), (3, 'fig', NULL);
INSERT INTO tags(label) VALUES ('fruit'), ('green'), ('gone');
DELETE FROM tags WHERE label = 'gone';
)sql";

// items.name becomes NOT NULL with a default: a rebuild (not destructive).
constexpr std::string_view kItemsRebuilt = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', qty TEXT);
CREATE INDEX items_name ON items(name);
CREATE TABLE tags(id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT UNIQUE);
CREATE VIEW item_names AS SELECT name FROM items;
)sql";

// A column and an index added: schema-only steps.
constexpr std::string_view kItemsAdded = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty TEXT, note TEXT);
CREATE INDEX items_name ON items(name);
CREATE INDEX items_qty ON items(qty);
CREATE TABLE tags(id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT UNIQUE);
CREATE VIEW item_names AS SELECT name FROM items;
)sql";

// kItemsAdded with items.name NOT NULL DEFAULT '': a rebuild.
constexpr std::string_view kItemsAddedRebuilt = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', qty TEXT, note TEXT);
CREATE INDEX items_name ON items(name);
CREATE INDEX items_qty ON items(qty);
CREATE TABLE tags(id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT UNIQUE);
CREATE VIEW item_names AS SELECT name FROM items;
)sql";

// tags dropped: a destructive step, no rebuild.
constexpr std::string_view kItemsWithoutTags = R"sql(
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty TEXT);
CREATE INDEX items_name ON items(name);
CREATE VIEW item_names AS SELECT name FROM items;
)sql";

// ---------------------------------------------------------------------------
// Helpers

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

ordered_json Json(const std::string& text) {
  ordered_json j = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << text;
  return j;
}

std::vector<std::string> Keys(const ordered_json& j) {
  std::vector<std::string> keys;
  if (!j.is_object()) return keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

std::string Str(const ordered_json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

bool IsChecksum(const std::string& s) { return std::regex_match(s, std::regex("[0-9a-f]{32}")); }
bool IsIsoTime(const std::string& s) {
  return std::regex_match(s, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"));
}

std::string Canonical(const std::string& path) { return fs::weakly_canonical(path).string(); }

std::string Parent(const std::string& path) { return fs::path(path).parent_path().string(); }
std::string Name(const std::string& path) { return fs::path(path).filename().string(); }

std::string DefaultDir(const TestDb& t) { return t.path() + ".backups"; }

// SELECT backup_create(<args>) with `params` bound: the parsed result.
ordered_json Create(TestDb& t, std::string_view args = "", const Params& params = {}) {
  return Json(t.QueryString("SELECT backup_create(" + std::string(args) + ")", params));
}

ordered_json Verify(sqlite3* db, const std::string& path) {
  return Json(QueryString(db, "SELECT backup_verify(?1)", {path}));
}

ordered_json Apply(TestDb& t, std::string_view desired, std::string_view options = "{}") {
  return Json(
      t.QueryString("SELECT migrate_apply(?1, ?2)", {std::string(desired), std::string(options)}));
}

std::string OptionsJson(const char* key, const std::string& value) {
  return json{{key, value}}.dump();
}

// One transaction: each commit costs a few fsyncs.
void Seed(TestDb& t, std::string_view ddl, std::string_view rows = "") {
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t.Exec("BEGIN;" + std::string(ddl) + ";" + std::string(rows) + ";COMMIT;"));
}

std::string JournalMode(sqlite3* db) { return QueryString(db, "PRAGMA journal_mode"); }

// Everything the extension has recorded (batches, steps, backups), for
// "the history is unchanged".
std::string History(sqlite3* db) {
  std::string out;
  for (const char* table :
       {"_automigrate_batches", "_automigrate_history", "_automigrate_backups"}) {
    Rows rows;
    std::string error;
    if (!TryQueryRows(db, std::string("SELECT * FROM ") + table + " ORDER BY 1", {}, &rows, &error))
      out += std::string(table) + ": " + error + "\n";
    else
      out += std::string(table) + ":\n" + FormatRows(rows);
  }
  return out;
}

// Files beside the database that a restore may leave: its scratch copy.
std::vector<std::string> RestoreLeftovers(const TestDb& t) {
  std::vector<std::string> out;
  for (const std::string& name : FilesIn(t.dir().string()))
    if (Contains(name, "automigrate-restore")) out.push_back(name);
  return out;
}

// An independent check of a backup: the file hashes (by xxh128sum) to the
// checksum reported, the sidecar says the same, backup_verify is ok.
void ExpectIntactBackup(sqlite3* db, const ordered_json& backup) {
  const std::string path = Str(backup, "path");
  ASSERT_FALSE(path.empty()) << backup.dump();
  EXPECT_EQ(Xxh128sum(path), Str(backup, "checksum")) << path;
  EXPECT_EQ(FileBytes(path), backup["bytes"].get<int64_t>()) << path;
  EXPECT_EQ(Str(Json(ReadBytes(path + ".json")), "checksum"), Str(backup, "checksum")) << path;
  ordered_json v = Verify(db, path);
  EXPECT_EQ(v["ok"], true) << v.dump();
}

// ---------------------------------------------------------------------------
// 1. backup_create

TEST(BackupCreate, WritesAChecksummedCopyWithSidecarAndRecord) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  ASSERT_EQ(::chmod(t.path().c_str(), 0640), 0);
  const std::string before = DumpDatabase(t.db());

  const std::string text = t.QueryString("SELECT backup_create()");
  const ordered_json r = Json(text);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"id", "path", "bytes", "checksum", "created_at"}))
      << text;
  const std::string path = Str(r, "path");
  const std::string checksum = Str(r, "checksum");
  ASSERT_FALSE(path.empty()) << text;
  EXPECT_EQ(r["id"], 1) << text;
  EXPECT_TRUE(IsChecksum(checksum)) << text;
  EXPECT_TRUE(IsIsoTime(Str(r, "created_at"))) << text;

  // Into <database file>.backups/, created private; the file has the
  // database file's permission bits; nothing else is in there.
  EXPECT_EQ(Parent(path), DefaultDir(t));
  EXPECT_TRUE(StartsWith(Name(path), "test.db-")) << path;
  EXPECT_EQ(fs::path(path).extension().string(), ".db") << path;
  EXPECT_EQ(FilesIn(DefaultDir(t)), (std::vector<std::string>{Name(path), Name(path) + ".json"}));
  struct stat st;
  ASSERT_EQ(::stat(DefaultDir(t).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << "backups hold every row: the directory is private";
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0640u & ~mask) << "the backup keeps the database file's permissions";

  // The checksum is what xxh128sum prints, over exactly `bytes` bytes.
  EXPECT_EQ(r["bytes"].get<int64_t>(), FileBytes(path));
  EXPECT_EQ(checksum, Xxh128sum(path));

  // The sidecar carries what verifying and restoring need without the database.
  const ordered_json side = Json(ReadBytes(path + ".json"));
  EXPECT_EQ(Str(side, "format"), "sqlite-automigrate-backup/1") << side.dump();
  EXPECT_EQ(Str(side, "file"), Name(path)) << side.dump();
  EXPECT_EQ(Str(side, "checksum"), checksum) << side.dump();
  EXPECT_EQ(Str(side, "algorithm"), "XXH3-128") << side.dump();
  EXPECT_EQ(side["bytes"], r["bytes"]) << side.dump();
  EXPECT_EQ(Str(side, "created_at"), Str(r, "created_at")) << side.dump();
  EXPECT_EQ(Canonical(Str(side, "source")), Canonical(t.path())) << side.dump();
  EXPECT_TRUE(side.contains("batch") && side["batch"].is_null()) << side.dump();
  EXPECT_FALSE(Str(side, "schema_hash").empty()) << side.dump();

  // The record, as migration_backups shows it (exists from the file system).
  EXPECT_EQ(t.QueryRows("SELECT id, path, bytes, checksum, created_at, batch, \"exists\", "
                        "verified_at FROM migration_backups"),
            (Rows{{"1", path, std::to_string(FileBytes(path)), checksum, Str(r, "created_at"),
                   "NULL", "1", "NULL"}}));
  EXPECT_EQ(t.QueryString("SELECT schema_hash FROM _automigrate_backups WHERE id = 1"),
            Str(side, "schema_hash"));

  // The copy is a healthy database with exactly the source's schema and rows.
  EXPECT_EQ(QueryFile(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(DumpDifference(before, DumpFile(path)), "");
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "") << "the source must not change";
}

TEST(BackupCreate, ExplicitPathCreatesExactlyThatFile) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string dir = (t.dir() / "kept").string();
  ASSERT_TRUE(fs::create_directory(dir));
  // A space and a quote: the path must survive quoting and URIs.
  const std::string want = dir + "/before upgrade's copy.db";
  const ordered_json r = Create(t, "?1", {want});
  EXPECT_EQ(Str(r, "path"), want) << r.dump();
  EXPECT_EQ(FilesIn(dir), (std::vector<std::string>{"before upgrade's copy.db",
                                                    "before upgrade's copy.db.json"}));
  EXPECT_FALSE(fs::exists(DefaultDir(t))) << "an explicit path creates no default directory";
  EXPECT_EQ(DumpDifference(DumpDatabase(t.db()), DumpFile(want)), "");
  ExpectIntactBackup(t.db(), r);
  EXPECT_EQ(t.QueryRows("SELECT path, \"exists\" FROM migration_backups"), (Rows{{want, "1"}}));
}

TEST(BackupCreate, NeverOverwritesAnExistingFile) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string before = DumpDatabase(t.db());

  const std::string taken = (t.dir() / "taken.db").string();
  WriteBytes(taken, "precious bytes\n");
  std::string error = ErrorOf(t.db(), "SELECT backup_create(?1)", {taken});
  EXPECT_TRUE(StartsWith(error, "backup_create: ")) << error;
  EXPECT_TRUE(Contains(error, taken)) << error;
  EXPECT_TRUE(Contains(error, "already exists")) << error;
  EXPECT_EQ(ReadBytes(taken), "precious bytes\n");
  EXPECT_FALSE(fs::exists(taken + ".json"));

  // A sidecar in the way counts too: it is part of the backup.
  const std::string side_only = (t.dir() / "side.db").string();
  WriteBytes(side_only + ".json", "{\"mine\": true}\n");
  error = ErrorOf(t.db(), "SELECT backup_create(?1)", {side_only});
  EXPECT_TRUE(StartsWith(error, "backup_create: ")) << error;
  EXPECT_TRUE(Contains(error, side_only + ".json")) << error;
  EXPECT_FALSE(fs::exists(side_only)) << "nothing may be left behind";
  EXPECT_EQ(ReadBytes(side_only + ".json"), "{\"mine\": true}\n");

  // Not even the database itself.
  error = ErrorOf(t.db(), "SELECT backup_create(?1)", {t.path()});
  EXPECT_TRUE(Contains(error, "already exists")) << error;
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_TRUE(InternalTables(t.db()).empty()) << "a refused backup records nothing";
}

TEST(BackupCreate, RefusesADirectoryAndAMissingParent) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string dir = (t.dir() / "a-directory").string();
  ASSERT_TRUE(fs::create_directory(dir));
  std::string error = ErrorOf(t.db(), "SELECT backup_create(?1)", {dir});
  EXPECT_TRUE(StartsWith(error, "backup_create: ")) << error;
  EXPECT_TRUE(Contains(error, dir)) << error;
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(FilesIn(dir).empty());

  const std::string missing = (t.dir() / "no" / "such" / "b.db").string();
  error = ErrorOf(t.db(), "SELECT backup_create(?1)", {missing});
  EXPECT_TRUE(StartsWith(error, "backup_create: ")) << error;
  EXPECT_TRUE(Contains(error, (t.dir() / "no" / "such").string())) << error;
  EXPECT_TRUE(Contains(error, "does not exist")) << error;
  EXPECT_FALSE(fs::exists(t.dir() / "no")) << "an explicit path's directory is not created";
  EXPECT_TRUE(InternalTables(t.db()).empty());
}

TEST(BackupCreate, BackupDirOptionAndStoredDefault) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string option_dir = (t.dir() / "option" / "nested").string();  // created on demand
  ordered_json r = Create(t, "NULL, ?1", {OptionsJson("backup_dir", option_dir)});
  EXPECT_EQ(Parent(Str(r, "path")), option_dir) << r.dump();
  EXPECT_EQ(FilesIn(option_dir).size(), 2u);
  ExpectIntactBackup(t.db(), r);

  const std::string stored_dir = (t.dir() / "stored").string();
  t.QueryString("SELECT migrate_configure(?1)", {OptionsJson("backup_dir", stored_dir)});
  r = Create(t);
  EXPECT_EQ(Parent(Str(r, "path")), stored_dir) << "the stored default applies: " << r.dump();
  ExpectIntactBackup(t.db(), r);
  // The call's option wins over the stored default.
  r = Create(t, "NULL, ?1", {OptionsJson("backup_dir", option_dir)});
  EXPECT_EQ(Parent(Str(r, "path")), option_dir) << r.dump();
  EXPECT_EQ(FilesIn(option_dir).size(), 4u);
  EXPECT_EQ(FilesIn(stored_dir).size(), 2u);
  EXPECT_FALSE(fs::exists(DefaultDir(t)));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups WHERE \"exists\""), 3);

  // A path and a backup_dir together are ambiguous.
  const std::string path = (t.dir() / "both.db").string();
  EXPECT_EQ(ErrorOf(t.db(), "SELECT backup_create(?1, ?2)",
                    {path, OptionsJson("backup_dir", option_dir)}),
            "backup_create: give a path or \"backup_dir\", not both");
  EXPECT_FALSE(fs::exists(path));
  EXPECT_EQ(FilesIn(option_dir).size(), 4u);
}

TEST(BackupCreate, BadArgumentsAreErrorsNamingTheFunction) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  struct Case {
    std::string sql;
    Params params;
    std::string error;  // exact, or a prefix when it ends with "..."
  };
  const std::vector<Case> cases = {
      {"SELECT backup_create(1)", {}, "backup_create: path must be text"},
      {"SELECT backup_create(2.5)", {}, "backup_create: path must be text"},
      {"SELECT backup_create(x'2f746d702f782e6462')", {}, "backup_create: path must be text"},
      {"SELECT backup_create('')", {}, "backup_create: path is empty"},
      {"SELECT backup_create(?1)",
       {std::string("b\0.db", 5)},
       "backup_create: path contains a NUL byte"},
      {"SELECT backup_create('x.db', '{}', 3)",
       {},
       "backup_create: expected 0 to 2 arguments ([path] [, options])"},
      {"SELECT backup_create(NULL, 'nope')", {}, "backup_create: options: invalid JSON"},
      {"SELECT backup_create(NULL, '{\"backup_dir\": 5}')",
       {},
       "backup_create: options: \"backup_dir\" must be a string or null"},
      {"SELECT backup_create(NULL, '{\"max_age_days\": 1}')",
       {},
       "backup_create: options: \"max_age_days\" cannot be used with backup_create..."},
      {"SELECT backup_create(NULL, '{\"schema\": \"nope\"}')",
       {},
       "backup_create: options: schema \"nope\" is not attached"},
  };
  for (const Case& c : cases) {
    const std::string error = ErrorOf(t.db(), c.sql, c.params);
    if (c.error.ends_with("...")) {
      EXPECT_TRUE(StartsWith(error, c.error.substr(0, c.error.size() - 3))) << c.sql << "\n"
                                                                            << error;
    } else {
      EXPECT_EQ(error, c.error) << c.sql;
    }
  }
  EXPECT_EQ(FilesIn(t.dir().string()), (std::vector<std::string>{"test.db"}))
      << "a refused call creates no file or directory";
  EXPECT_TRUE(InternalTables(t.db()).empty());
}

TEST(BackupCreate, QuickSuccessionGivesDistinctFiles) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) paths.push_back(Str(Create(t), "path"));
  EXPECT_NE(paths[0], paths[1]);
  EXPECT_NE(paths[1], paths[2]);
  EXPECT_NE(paths[0], paths[2]);
  EXPECT_EQ(FilesIn(DefaultDir(t)).size(), 6u);
  for (const std::string& p : paths) EXPECT_EQ(Verify(t.db(), p)["ok"], true) << p;
}

// ---------------------------------------------------------------------------
// 2. Consistency with other connections

// Another connection holds an open write transaction with uncommitted
// changes: the backup has the committed state only.
void ExpectUncommittedChangesNotCopied(std::string_view journal_mode) {
  SCOPED_TRACE(std::string("journal_mode=") + std::string(journal_mode));
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode=" + std::string(journal_mode)), journal_mode);
  Seed(t, kItems, kItemsRows);
  const std::string committed = DumpDatabase(t.db());

  Connection other(t.path());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(Exec(other.db(),
                   "BEGIN; INSERT INTO items VALUES (100, 'uncommitted', '1');"
                   "UPDATE items SET name = 'changed' WHERE id = 1; DELETE FROM tags;"));
  ASSERT_EQ(sqlite3_txn_state(other.db(), "main"), SQLITE_TXN_WRITE);
  ASSERT_FALSE(TryExec(t.db(), "BEGIN IMMEDIATE")) << "precondition: the write lock is taken";

  const ordered_json r = Create(t);
  const std::string path = Str(r, "path");
  ASSERT_FALSE(path.empty()) << r.dump();
  // Recording needs the write lock the other connection holds; then the
  // result must say why there is no id.
  if (r["id"].is_null()) {
    EXPECT_TRUE(r.contains("note")) << r.dump();
  }
  EXPECT_EQ(DumpDifference(committed, DumpFile(path)), "");
  EXPECT_EQ(QueryFile(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(Xxh128sum(path), Str(r, "checksum"));
  EXPECT_EQ(Verify(t.db(), path)["ok"], true);

  // The other transaction is unharmed and commits; the backup stays as it was.
  ASSERT_TRUE(Exec(other.db(), "COMMIT"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items WHERE id = 100"), 1);
  EXPECT_EQ(Xxh128sum(path), Str(r, "checksum"));
}

TEST(BackupConsistency, WalCopiesOnlyCommittedRowsWhileAnotherConnectionWrites) {
  ExpectUncommittedChangesNotCopied("wal");
}

TEST(BackupConsistency, RollbackJournalCopiesOnlyCommittedRowsWhileAnotherHoldsReserved) {
  ExpectUncommittedChangesNotCopied("delete");
}

// A reader holding an old WAL snapshot keeps a checkpoint from finishing, so
// the database file alone is not the committed state: the backup must still
// have every committed row, not the reader's older view.
TEST(BackupConsistency, WalWithAReaderOnAnOldSnapshot) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode=wal"), "wal");
  Seed(t, kItems, kItemsRows);
  Connection reader(t.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(Exec(reader.db(), "BEGIN"));
  ASSERT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 3);
  ASSERT_TRUE(
      t.Exec("INSERT INTO items VALUES (50, 'after the snapshot', '9');"
             "UPDATE items SET qty = '99' WHERE id = 2;"));
  const std::string committed = DumpDatabase(t.db());

  const ordered_json r = Create(t);
  const std::string path = Str(r, "path");
  EXPECT_EQ(DumpDifference(committed, DumpFile(path)), "");
  ExpectIntactBackup(t.db(), r);
  EXPECT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 3) << "the reader is unaffected";
  ASSERT_TRUE(Exec(reader.db(), "COMMIT"));
}

// A thread inserts rows one transaction at a time while the backup is taken:
// the backup is one committed state (ids 1..n with no hole), between the
// counts seen before and after, and verifies.
void ExpectConsistentUnderConcurrentInserts(std::string_view journal_mode) {
  SCOPED_TRACE(std::string("journal_mode=") + std::string(journal_mode));
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode=" + std::string(journal_mode)), journal_mode);
  // A few MB, so the copy takes a while; the writer waits for locks.
  ASSERT_TRUE(t.Exec("PRAGMA busy_timeout=10000"));
  Seed(t,
       "CREATE TABLE log(id INTEGER PRIMARY KEY AUTOINCREMENT, payload BLOB);"
       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000)"
       "INSERT INTO log(payload) SELECT randomblob(300) FROM c;");

  std::atomic<bool> stop{false};
  std::atomic<int64_t> inserted{0};
  std::atomic<bool> writer_failed{false};
  std::string writer_error;  // read after join
  std::thread writer([&] {
    sqlite3* w = nullptr;
    if (sqlite3_open_v2(t.path().c_str(), &w, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      writer_error = "cannot open";
      writer_failed = true;
      sqlite3_close_v2(w);
      return;
    }
    sqlite3_busy_timeout(w, 10000);
    // Quick commits with a short pause between them: the lock is free now
    // and then (SQLite's busy handler polls, a writer that never lets go
    // would starve the backup for seconds), yet rows keep arriving.
    sqlite3_exec(w, "PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);
    while (!stop.load()) {
      char* msg = nullptr;
      if (sqlite3_exec(w, "INSERT INTO log(payload) VALUES (randomblob(300))", nullptr, nullptr,
                       &msg) != SQLITE_OK) {
        writer_error = msg ? msg : "insert failed";
        writer_failed = true;
        sqlite3_free(msg);
        break;
      }
      ++inserted;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    sqlite3_close_v2(w);
  });
  // Let the writer get going, so the backup really meets it.
  for (int i = 0; i < 2000 && inserted.load() < 50 && !writer_failed.load(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const int64_t count_before = t.QueryInt("SELECT count(*) FROM log");
  const ordered_json r = Create(t);
  const int64_t count_after = t.QueryInt("SELECT count(*) FROM log");
  stop = true;
  writer.join();
  ASSERT_EQ(writer_error, "");
  ASSERT_GT(inserted.load(), 0) << "the writer never ran";

  const std::string path = Str(r, "path");
  ASSERT_FALSE(path.empty()) << r.dump();
  EXPECT_EQ(QueryFile(path, "PRAGMA integrity_check"), "ok");
  const int64_t in_backup = std::stoll(QueryFile(path, "SELECT count(*) FROM log"));
  EXPECT_GE(in_backup, count_before);
  EXPECT_LE(in_backup, count_after);
  EXPECT_EQ(QueryFile(path, "SELECT max(id) FROM log"), std::to_string(in_backup))
      << "one committed state: ids 1..n without a hole";
  EXPECT_EQ(Xxh128sum(path), Str(r, "checksum"));
  EXPECT_EQ(Verify(t.db(), path)["ok"], true);
}

TEST(BackupConsistency, WalWhileAnotherThreadKeepsInserting) {
  ExpectConsistentUnderConcurrentInserts("wal");
}

TEST(BackupConsistency, RollbackJournalWhileAnotherThreadKeepsInserting) {
  ExpectConsistentUnderConcurrentInserts("delete");
}

// ---------------------------------------------------------------------------
// 3. backup_verify

TEST(BackupVerify, IntactBackupIsOkAndRecordsVerifiedAt) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");
  EXPECT_EQ(t.QueryString("SELECT verified_at FROM migration_backups"), "NULL");
  const ordered_json v = Verify(t.db(), path);
  EXPECT_EQ(Keys(v), (std::vector<std::string>{"ok", "checksum_ok", "integrity_ok", "reason",
                                               "path", "bytes", "checksum"}))
      << v.dump();
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(v["checksum_ok"], true) << v.dump();
  EXPECT_EQ(v["integrity_ok"], true) << v.dump();
  EXPECT_TRUE(v["reason"].is_null()) << v.dump();
  EXPECT_EQ(Str(v, "path"), path);
  EXPECT_EQ(v["bytes"], b["bytes"]);
  EXPECT_EQ(Str(v, "checksum"), Str(b, "checksum"));
  const std::string verified_at = t.QueryString("SELECT verified_at FROM migration_backups");
  EXPECT_TRUE(IsIsoTime(verified_at)) << verified_at;
  EXPECT_GE(verified_at, Str(b, "created_at"));

  // The README's form: verify what migration_backups lists.
  EXPECT_EQ(t.QueryRows("SELECT backup_verify(path) ->> 'ok' FROM migration_backups"),
            (Rows{{"1"}}));
}

TEST(BackupVerify, AFlippedByteIsAChecksumMismatchNotAnError) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");
  FlipByte(path, FileBytes(path) / 2);
  const ordered_json v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["checksum_ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "checksum")) << v.dump();
  EXPECT_EQ(t.QueryString("SELECT verified_at FROM migration_backups"), "NULL")
      << "a failed verify must not mark the backup verified";

  // A truncated file fails too (its size no longer matches).
  const std::string whole = ReadBytes(path);
  WriteBytes(path, std::string_view(whole).substr(0, whole.size() - 1024));
  const ordered_json cut = Verify(t.db(), path);
  EXPECT_EQ(cut["ok"], false) << cut.dump();
  EXPECT_EQ(cut["checksum_ok"], false) << cut.dump();
  EXPECT_FALSE(Str(cut, "reason").empty()) << cut.dump();
}

TEST(BackupVerify, MissingOrBrokenSidecarIsNotOk) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  const std::string sidecar_text = ReadBytes(path + ".json");

  ASSERT_TRUE(fs::remove(path + ".json"));
  ordered_json v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "sidecar")) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "missing")) << v.dump();

  WriteBytes(path + ".json", "this is not json {");
  v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "sidecar")) << v.dump();

  // Another valid-looking checksum in the sidecar: disagrees with the file
  // (seen from a connection without a record) and with the record.
  json edited = json::parse(sidecar_text);
  std::string other = edited["checksum"].get<std::string>();
  other[0] = other[0] == '0' ? '1' : '0';
  edited["checksum"] = other;
  WriteBytes(path + ".json", edited.dump(2));
  TestDb elsewhere = TestDb::Memory();
  ASSERT_TRUE(elsewhere.ok());
  v = Verify(elsewhere.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["checksum_ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "checksum")) << v.dump();
  v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(t.QueryString("SELECT verified_at FROM migration_backups"), "NULL");

  // Put back, it verifies again: the failures above were the sidecar's.
  WriteBytes(path + ".json", sidecar_text);
  EXPECT_EQ(Verify(t.db(), path)["ok"], true);
}

// Someone changed the file and wrote its new checksum into the sidecar: only
// the database's record can tell.
TEST(BackupVerify, SidecarRewrittenForATamperedFileDisagreesWithTheRecord) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");
  FlipByte(path, FileBytes(path) / 2);
  json side = json::parse(ReadBytes(path + ".json"));
  side["checksum"] = Xxh128sum(path);
  ASSERT_NE(side["checksum"], Str(b, "checksum"));
  WriteBytes(path + ".json", side.dump(2));

  const ordered_json v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "recorded")) << v.dump();
  EXPECT_EQ(t.QueryString("SELECT verified_at FROM migration_backups"), "NULL");
}

// A sidecar that matches a file whose pages are broken: the checksum passes,
// integrity_check does not.
TEST(BackupVerify, BrokenPagesFailIntegrityEvenWithAMatchingChecksum) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  const int64_t page = std::stoll(QueryFile(path, "PRAGMA page_size"));
  ASSERT_GE(FileBytes(path), 3 * page);
  std::string bytes = ReadBytes(path);
  for (int64_t i = page; i < 2 * page; ++i) bytes[static_cast<size_t>(i)] = '\x5a';  // page 2
  WriteBytes(path, bytes);
  json side = json::parse(ReadBytes(path + ".json"));
  side["checksum"] = Xxh128sum(path);
  WriteBytes(path + ".json", side.dump(2));

  TestDb elsewhere = TestDb::Memory();  // no record to disagree with
  ASSERT_TRUE(elsewhere.ok());
  const ordered_json v = Verify(elsewhere.db(), path);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_EQ(v["checksum_ok"], true) << v.dump();
  EXPECT_EQ(v["integrity_ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "integrity")) << v.dump();
  EXPECT_EQ(FilesIn(Parent(path)), (std::vector<std::string>{Name(path), Name(path) + ".json"}))
      << "verify creates nothing beside the backup";
}

TEST(BackupVerify, WorksFromAnotherDatabaseAndFromMemory) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");

  TestDb other;
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(other.Exec("CREATE TABLE unrelated(x)"));
  ordered_json v = Verify(other.db(), path);
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_TRUE(InternalTables(other.db()).empty()) << "verify writes nothing into another database";

  TestDb memory = TestDb::Memory();
  ASSERT_TRUE(memory.ok());
  v = Verify(memory.db(), path);
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(Str(v, "checksum"), Str(b, "checksum"));
  EXPECT_EQ(FilesIn(Parent(path)).size(), 2u) << "verify creates nothing beside the backup";
}

TEST(BackupVerify, WorksWhenTheDatabaseIsDamaged) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");
  const int64_t page = t.QueryInt("PRAGMA page_size");
  t.Close();
  // Garbage over every page but the first (the schema stays readable, every
  // table, the backup record's included, is gone).
  std::string bytes = ReadBytes(t.path());
  ASSERT_GT(bytes.size(), static_cast<size_t>(2 * page));
  for (size_t i = static_cast<size_t>(page); i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xA5 ^ (i * 31));
  WriteBytes(t.path(), bytes);
  ASSERT_TRUE(t.Reopen());
  Rows rows;
  std::string error;
  const bool checked = TryQueryRows(t.db(), "PRAGMA integrity_check", {}, &rows, &error);
  ASSERT_TRUE(!checked || rows.empty() || rows[0][0] != "ok") << "precondition: damaged";

  const ordered_json v = Verify(t.db(), path);
  EXPECT_EQ(v["ok"], true) << v.dump();
  EXPECT_EQ(Str(v, "checksum"), Str(b, "checksum"));
}

TEST(BackupVerify, BadArgumentsAreErrorsAMissingFileIsAResult) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT backup_verify()", "backup_verify: expected 1 or 2 arguments (path [, options])"},
      {"SELECT backup_verify(NULL)", "backup_verify: path is NULL"},
      {"SELECT backup_verify(7)", "backup_verify: path must be text"},
      {"SELECT backup_verify(x'00')", "backup_verify: path must be text"},
      {"SELECT backup_verify('')", "backup_verify: path is empty"},
      {"SELECT backup_verify('x.db', 'nope')", "backup_verify: options: invalid JSON"},
  };
  for (const auto& [sql, message] : bad) EXPECT_EQ(ErrorOf(t.db(), sql), message) << sql;
  const std::string error =
      ErrorOf(t.db(), "SELECT backup_verify('x.db', '{\"backup_dir\": \"/tmp\"}')");
  EXPECT_TRUE(StartsWith(error, "backup_verify: options: \"backup_dir\" cannot be used")) << error;

  const std::string missing = (t.dir() / "never-made.db").string();
  const ordered_json v = Verify(t.db(), missing);
  EXPECT_EQ(v["ok"], false) << v.dump();
  EXPECT_TRUE(Contains(Str(v, "reason"), "does not exist")) << v.dump();
}

// ---------------------------------------------------------------------------
// 4. backup_restore

TEST(BackupRestore, BringsBackSchemaAndRowsAndKeepsTheAuditTrail) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  ASSERT_EQ(Apply(t, std::string(kItems) + "CREATE TABLE extra(x);")["batch"], 1);
  ASSERT_TRUE(t.Exec("INSERT INTO extra VALUES ('at backup time')"));
  const std::string at_backup = DumpDatabase(t.db());
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");

  // Afterwards: rows changed, a migration (batch 2) that adds a column.
  ASSERT_TRUE(
      t.Exec("INSERT INTO items VALUES (4, 'kiwi', '7'); DELETE FROM items WHERE id = 2;"
             "UPDATE tags SET label = 'ripe' WHERE id = 1; INSERT INTO extra VALUES (2);"));
  const std::string v2 = std::string(kItemsAdded) + "CREATE TABLE extra(x);";
  ASSERT_EQ(Apply(t, v2)["batch"], 2);
  ASSERT_NE(DumpDifference(at_backup, DumpDatabase(t.db())), "");

  const ordered_json r = Json(t.QueryString("SELECT backup_restore(?1)", {path}));
  EXPECT_EQ(Keys(r), (std::vector<std::string>{"ok", "batch", "version", "path", "backup_id",
                                               "duration_ms"}))
      << r.dump();
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["batch"], 3) << r.dump();
  EXPECT_EQ(r["version"], 3) << r.dump();
  EXPECT_EQ(Str(r, "path"), path);
  EXPECT_EQ(r["backup_id"], b["id"]) << r.dump();

  // Schema and rows are the backup's.
  EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  // The history written after the backup is kept, and the restore is a batch.
  EXPECT_EQ(t.QueryRows("SELECT batch, version, status, steps, backup_id FROM migration_batches"),
            (Rows{{"1", "1", "applied", "1", "NULL"},
                  {"2", "2", "applied", "2", "NULL"},
                  {"3", "3", "applied", "1", b["id"].dump()}}));
  EXPECT_EQ(t.QueryRows("SELECT op, object, status FROM migration_history WHERE batch = 3"),
            (Rows{{"restore_backup", path, "applied"}}));
  EXPECT_EQ(t.QueryRows("SELECT op FROM migration_history WHERE batch = 2"),
            (Rows{{"add_column"}, {"create_index"}}));
  EXPECT_EQ(t.QueryRows("SELECT id, \"exists\", verified_at IS NOT NULL FROM migration_backups"),
            (Rows{{b["id"].dump(), "1", "1"}}));
  EXPECT_TRUE(RestoreLeftovers(t).empty()) << FilesIn(t.dir().string()).size();

  // The database goes on: the column is planned and added again.
  const ordered_json again = Apply(t, v2);
  EXPECT_EQ(again["batch"], 4) << again.dump();
  EXPECT_EQ(again["version"], 4) << again.dump();
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM pragma_table_info('items') WHERE name = 'note'"), 1);
}

TEST(BackupRestore, RefusesAFlippedByteAndChangesNothing) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  ASSERT_EQ(Apply(t, kItemsAdded)["batch"], 1);
  const std::string path = Str(Create(t), "path");
  ASSERT_TRUE(t.Exec("INSERT INTO items VALUES (9, 'after', '1', 'n')"));
  FlipByte(path, FileBytes(path) / 2);
  const std::string dump = DumpDatabase(t.db());
  const std::string history = History(t.db());
  WriteObserver observer(t.path());
  const int64_t data_version = observer.DataVersion();

  const std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "failed verification")) << error;
  EXPECT_TRUE(Contains(error, "checksum")) << error;
  EXPECT_TRUE(Contains(error, path)) << error;
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");
  EXPECT_EQ(History(t.db()), history);
  EXPECT_EQ(observer.DataVersion(), data_version) << "nothing may be written";
  EXPECT_TRUE(RestoreLeftovers(t).empty());
}

TEST(BackupRestore, RefusesWithoutAValidSidecar) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string path = Str(b, "path");
  ASSERT_TRUE(t.Exec("DELETE FROM items"));
  const std::string dump = DumpDatabase(t.db());
  const std::string history = History(t.db());
  const std::string sidecar = ReadBytes(path + ".json");

  ASSERT_TRUE(fs::remove(path + ".json"));
  std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "sidecar")) << error;
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");

  // A sidecar whose checksum is not the recorded one.
  json edited = json::parse(sidecar);
  std::string other = edited["checksum"].get<std::string>();
  other[31] = other[31] == '0' ? '1' : '0';
  edited["checksum"] = other;
  WriteBytes(path + ".json", edited.dump(2));
  error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");
  EXPECT_EQ(History(t.db()), history);
  EXPECT_TRUE(RestoreLeftovers(t).empty());

  // Put back, the same backup restores.
  WriteBytes(path + ".json", sidecar);
  EXPECT_EQ(Json(t.QueryString("SELECT backup_restore(?1)", {path}))["ok"], true);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items"), 3);
}

// Another connection with the old schema cached reads the restored database.
void ExpectOtherConnectionSeesRestore(std::string_view journal_mode) {
  SCOPED_TRACE(std::string("journal_mode=") + std::string(journal_mode));
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode=" + std::string(journal_mode)), journal_mode);
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  const std::string at_backup = DumpDatabase(t.db());
  ASSERT_EQ(Apply(t, kItemsAdded)["batch"], 1);
  ASSERT_TRUE(t.Exec("INSERT INTO items VALUES (4, 'kiwi', '7', 'new')"));

  Connection other(t.path());
  ASSERT_TRUE(other.ok());
  ASSERT_EQ(QueryInt(other.db(), "SELECT count(*) FROM items"), 4);
  ASSERT_EQ(QueryRows(other.db(), "SELECT * FROM items WHERE id = 1"),
            (Rows{{"1", "apple", "3", "NULL"}}));

  ASSERT_EQ(Json(t.QueryString("SELECT backup_restore(?1)", {path}))["ok"], true);
  EXPECT_EQ(QueryInt(other.db(), "SELECT count(*) FROM items"), 3);
  EXPECT_EQ(QueryRows(other.db(), "SELECT * FROM items WHERE id = 1"), (Rows{{"1", "apple", "3"}}))
      << "the other connection must see the restored schema";
  EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(other.db())), "");
  EXPECT_EQ(IntegrityCheck(other.db()), "ok");
  // And it can write to it.
  EXPECT_TRUE(Exec(other.db(), "INSERT INTO items VALUES (5, 'lime', '2')"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items"), 4);
}

TEST(BackupRestore, AnotherOpenConnectionReadsTheRestoredDatabaseRollbackJournal) {
  ExpectOtherConnectionSeesRestore("delete");
}

TEST(BackupRestore, AnotherOpenConnectionReadsTheRestoredDatabaseWal) {
  ExpectOtherConnectionSeesRestore("wal");
}

TEST(BackupRestore, RefusedInsideATransaction) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO items VALUES (8, 'mine', '1');"));
  const std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "transaction")) << error;
  EXPECT_FALSE(sqlite3_get_autocommit(t.db())) << "the caller's transaction stays open";
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items WHERE id = 8"), 1);
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items"), 4);
}

TEST(BackupRestore, RefusedForAnInMemoryDatabase) {
  TestDb file;
  Seed(file, kItems, kItemsRows);
  const std::string path = Str(Create(file), "path");
  TestDb memory = TestDb::Memory();
  Seed(memory, "CREATE TABLE mine(x); INSERT INTO mine VALUES (1);");
  const std::string error = ErrorOf(memory.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "in memory")) << error;
  EXPECT_EQ(memory.QueryInt("SELECT count(*) FROM mine"), 1);
  EXPECT_EQ(memory.QueryInt("SELECT count(*) FROM sqlite_schema"), 1);
}

TEST(BackupRestore, KeepsTheLiveJournalMode) {
  // WAL stays WAL.
  {
    TestDb t;
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t.QueryString("PRAGMA journal_mode=wal"), "wal");
    Seed(t, kItems, kItemsRows);
    const std::string path = Str(Create(t), "path");
    const std::string at_backup = DumpDatabase(t.db());
    ASSERT_TRUE(t.Exec("DELETE FROM items"));
    ASSERT_EQ(Json(t.QueryString("SELECT backup_restore(?1)", {path}))["ok"], true);
    EXPECT_EQ(JournalMode(t.db()), "wal");
    EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
    ASSERT_TRUE(t.Reopen());
    EXPECT_EQ(JournalMode(t.db()), "wal") << "after reopening too";
    EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
    EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  }
  // A rollback-journal database stays one, even restored from a copy taken
  // while it was in WAL mode.
  {
    TestDb t;
    ASSERT_TRUE(t.ok());
    ASSERT_EQ(t.QueryString("PRAGMA journal_mode=wal"), "wal");
    Seed(t, kItems, kItemsRows);
    const std::string path = Str(Create(t), "path");
    const std::string at_backup = DumpDatabase(t.db());
    ASSERT_EQ(t.QueryString("PRAGMA journal_mode=delete"), "delete");
    ASSERT_TRUE(t.Exec("DELETE FROM tags"));
    ASSERT_EQ(Json(t.QueryString("SELECT backup_restore(?1)", {path}))["ok"], true);
    EXPECT_EQ(JournalMode(t.db()), "delete");
    ASSERT_TRUE(t.Reopen());
    EXPECT_EQ(JournalMode(t.db()), "delete") << "after reopening too";
    EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
    t.Close();
    EXPECT_FALSE(fs::exists(t.path() + "-wal"));
  }
}

// The natural SQL form, like the README's backup_verify example: the path
// comes from migration_backups in the same statement.
TEST(BackupRestore, PathFromMigrationBackupsInTheSameStatement) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json b = Create(t);
  const std::string at_backup = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("DELETE FROM items"));
  const std::string after_delete = DumpDatabase(t.db());
  Rows rows;
  std::string error;
  const bool ok = TryQueryRows(
      t.db(),
      "SELECT backup_restore(path) ->> 'ok' FROM migration_backups WHERE id = " + b["id"].dump(),
      {}, &rows, &error);
  if (ok) {
    EXPECT_EQ(rows, (Rows{{"1"}}));
    EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
  } else {
    // Refusing is acceptable if the message says what to do; SQLite's
    // internal "destination database is in use" does not.
    EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
    EXPECT_FALSE(Contains(error, "destination database is in use"))
        << "the restore fails with SQLite's internal message, which does not say what to do: "
        << error;
    EXPECT_EQ(DumpDifference(after_delete, DumpDatabase(t.db())), "");
  }
  EXPECT_TRUE(RestoreLeftovers(t).empty());
}

// Rollback-journal mode: a reader's SHARED lock keeps the restore from
// committing. The restore gives up after the busy timeout with a clear
// error and nothing changed; once the reader is gone it goes through.
TEST(BackupRestore, AReaderBlockingTheCommitFailsCleanly) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  const std::string at_backup = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("DELETE FROM items; PRAGMA busy_timeout=100;"));
  const std::string dump = DumpDatabase(t.db());
  const std::string history = History(t.db());

  Connection reader(t.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(Exec(reader.db(), "BEGIN"));
  ASSERT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 0);
  const std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "locked")) << error;
  EXPECT_TRUE(Contains(error, "nothing was changed")) << error;
  EXPECT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 0);
  ASSERT_TRUE(Exec(reader.db(), "COMMIT"));
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");
  EXPECT_EQ(History(t.db()), history);
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_TRUE(RestoreLeftovers(t).empty());

  ASSERT_EQ(Json(t.QueryString("SELECT backup_restore(?1)", {path}))["ok"], true);
  EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(t.db())), "");
  EXPECT_EQ(DumpDifference(at_backup, DumpDatabase(reader.db())), "");
}

// Another connection holding the write lock: refused after the busy timeout.
TEST(BackupRestore, AnotherWriterHoldingTheLockIsAClearError) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  ASSERT_TRUE(t.Exec("DELETE FROM tags; PRAGMA busy_timeout=100;"));
  Connection writer(t.path());
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(Exec(writer.db(), "BEGIN; INSERT INTO items VALUES (20, 'pending', '0');"));
  const std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {path});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "locked")) << error;
  ASSERT_TRUE(Exec(writer.db(), "COMMIT"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items WHERE id = 20"), 1)
      << "the other transaction committed unharmed";
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM tags"), 0) << "nothing was restored";
  EXPECT_TRUE(RestoreLeftovers(t).empty());
}

// With "schema", backups of an attached database go beside its file and are
// recorded in it; restoring it leaves main alone.
TEST(BackupRestore, AttachedSchema) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string aux = (t.dir() / "aux.db").string();
  ASSERT_TRUE(t.Exec("ATTACH " + std::string("'") + aux +
                     "' AS aux;"
                     "CREATE TABLE aux.notes(id INTEGER PRIMARY KEY, body TEXT);"
                     "INSERT INTO aux.notes VALUES (1, 'one'), (2, 'two');"));
  const std::string aux_before = DumpDatabase(t.db(), "aux");
  const ordered_json b = Create(t, "NULL, '{\"schema\": \"aux\"}'");
  const std::string path = Str(b, "path");
  EXPECT_EQ(Parent(path), aux + ".backups");
  EXPECT_EQ(DumpDifference(aux_before, DumpFile(path)), "");
  EXPECT_EQ(Canonical(Str(Json(ReadBytes(path + ".json")), "source")), Canonical(aux));
  EXPECT_EQ(t.QueryRows("SELECT id, \"exists\" FROM migration_backups('aux')"), (Rows{{"1", "1"}}));
  EXPECT_TRUE(InternalTables(t.db(), "main").empty()) << "main records nothing";
  EXPECT_FALSE(fs::exists(DefaultDir(t)));

  ASSERT_TRUE(t.Exec("DELETE FROM aux.notes; DELETE FROM main.items WHERE id = 1;"));
  const std::string main_now = DumpDatabase(t.db());
  const ordered_json r =
      Json(t.QueryString("SELECT backup_restore(?1, '{\"schema\": \"aux\"}')", {path}));
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_EQ(r["backup_id"], 1) << r.dump();
  EXPECT_EQ(DumpDifference(aux_before, DumpDatabase(t.db(), "aux")), "");
  EXPECT_EQ(DumpDifference(main_now, DumpDatabase(t.db())), "") << "main is not restored";
  EXPECT_EQ(t.QueryRows("SELECT op FROM migration_history('aux')"), (Rows{{"restore_backup"}}));
  EXPECT_TRUE(InternalTables(t.db(), "main").empty());
}

TEST(BackupRestore, BadArgumentsAreErrors) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string dump = DumpDatabase(t.db());
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT backup_restore()", "backup_restore: expected 1 or 2 arguments (path [, options])"},
      {"SELECT backup_restore(NULL)", "backup_restore: path is NULL"},
      {"SELECT backup_restore(3)", "backup_restore: path must be text"},
      {"SELECT backup_restore('')", "backup_restore: path is empty"},
      {"SELECT backup_restore('x.db', '[]')", "backup_restore: options must be a JSON object"},
  };
  for (const auto& [sql, message] : bad) EXPECT_EQ(ErrorOf(t.db(), sql), message) << sql;
  const std::string missing = (t.dir() / "never-made.db").string();
  const std::string error = ErrorOf(t.db(), "SELECT backup_restore(?1)", {missing});
  EXPECT_TRUE(StartsWith(error, "backup_restore: ")) << error;
  EXPECT_TRUE(Contains(error, "does not exist")) << error;
  EXPECT_EQ(DumpDifference(dump, DumpDatabase(t.db())), "");
  EXPECT_TRUE(InternalTables(t.db()).empty());
}

// ---------------------------------------------------------------------------
// 5. backup_cleanup

TEST(BackupCleanup, KeepsTheNewestAndRemovesFilesSidecarsAndRecords) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  std::vector<std::string> paths;
  for (int i = 0; i < 4; ++i) paths.push_back(Str(Create(t), "path"));
  // A backup whose file someone already deleted still goes from the records.
  ASSERT_TRUE(fs::remove(paths[0]));
  EXPECT_EQ(t.QueryRows("SELECT id, \"exists\" FROM migration_backups"),
            (Rows{{"1", "0"}, {"2", "1"}, {"3", "1"}, {"4", "1"}}));

  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(2)"), 2);
  EXPECT_EQ(t.QueryRows("SELECT id FROM migration_backups"), (Rows{{"3"}, {"4"}}));
  for (int i : {0, 1}) {
    EXPECT_FALSE(fs::exists(paths[i])) << paths[i];
    EXPECT_FALSE(fs::exists(paths[i] + ".json")) << paths[i];
  }
  EXPECT_EQ(FilesIn(DefaultDir(t)),
            (std::vector<std::string>{Name(paths[2]), Name(paths[2]) + ".json", Name(paths[3]),
                                      Name(paths[3]) + ".json"}));
  EXPECT_EQ(Verify(t.db(), paths[3])["ok"], true);
  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(2)"), 0) << "nothing more to remove";
  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(0)"), 2);
  EXPECT_TRUE(FilesIn(DefaultDir(t)).empty());
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);
}

TEST(BackupCleanup, MaxAgeDaysRemovesOnlyOlderBackups) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) paths.push_back(Str(Create(t), "path"));
  ASSERT_TRUE(
      t.Exec("UPDATE _automigrate_backups SET created_at = '2020-01-02T03:04:05.678Z' "
             "WHERE id IN (1, 2)"));
  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(0, '{\"max_age_days\": 30}')"), 2);
  EXPECT_EQ(t.QueryRows("SELECT id FROM migration_backups"), (Rows{{"3"}}));
  EXPECT_FALSE(fs::exists(paths[0]));
  EXPECT_FALSE(fs::exists(paths[1] + ".json"));
  EXPECT_TRUE(fs::exists(paths[2]));
  // The recent one is kept whatever keep_last says.
  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(0, '{\"max_age_days\": 0.5}')"), 0);
  EXPECT_EQ(Verify(t.db(), paths[2])["ok"], true);
}

TEST(BackupCleanup, NeverRemovesTheBackupOfTheLatestAppliedBatch) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json applied = Apply(t, kItemsRebuilt);
  ASSERT_TRUE(applied["backup"].is_object()) << applied.dump();
  const std::string kept = Str(applied["backup"], "path");
  const std::string a = Str(Create(t), "path");
  const std::string b = Str(Create(t), "path");

  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(0)"), 2);
  EXPECT_TRUE(fs::exists(kept));
  EXPECT_TRUE(fs::exists(kept + ".json"));
  EXPECT_FALSE(fs::exists(a));
  EXPECT_FALSE(fs::exists(b));
  EXPECT_EQ(t.QueryRows("SELECT id, batch FROM migration_backups"),
            (Rows{{applied["backup"]["id"].dump(), "1"}}));
  // However old it is.
  ASSERT_TRUE(t.Exec("UPDATE _automigrate_backups SET created_at = '2020-01-02T03:04:05.678Z'"));
  EXPECT_EQ(t.QueryInt("SELECT backup_cleanup(0, '{\"max_age_days\": 1}')"), 0);
  EXPECT_EQ(Verify(t.db(), kept)["ok"], true);
}

TEST(BackupCleanup, BadArgumentsAreErrorsAndRemoveNothing) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string path = Str(Create(t), "path");
  const std::string keep_last = "backup_cleanup: keep_last must be a non-negative integer";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT backup_cleanup()",
       "backup_cleanup: expected 1 or 2 arguments (keep_last [, options])"},
      {"SELECT backup_cleanup(1, '{}', 2)",
       "backup_cleanup: expected 1 or 2 arguments (keep_last [, options])"},
      {"SELECT backup_cleanup(-1)", keep_last},
      {"SELECT backup_cleanup(NULL)", keep_last},
      {"SELECT backup_cleanup('0')", keep_last},
      {"SELECT backup_cleanup(0.5)", keep_last},
      {"SELECT backup_cleanup(0, '{\"max_age_days\": -1}')",
       "backup_cleanup: options: \"max_age_days\" must be a non-negative number"},
      {"SELECT backup_cleanup(0, '{\"max_age_days\": \"30\"}')",
       "backup_cleanup: options: \"max_age_days\" must be a non-negative number"},
      {"SELECT backup_cleanup(0, '{\"max_age\": 30}')",
       "backup_cleanup: options: unknown key \"max_age\""},
  };
  for (const auto& [sql, message] : bad) EXPECT_EQ(ErrorOf(t.db(), sql), message) << sql;
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 1);
}

// ---------------------------------------------------------------------------
// 6. migrate_apply's backup policy

TEST(BackupPolicy, AutoBacksUpARebuildWithThePreMigrationState) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string before = DumpDatabase(t.db());
  const ordered_json r = Apply(t, kItemsRebuilt);
  ASSERT_EQ(r["ok"], true) << r.dump();
  const ordered_json& backup = r["backup"];
  ASSERT_TRUE(backup.is_object()) << r.dump();
  EXPECT_EQ(Keys(backup),
            (std::vector<std::string>{"id", "path", "bytes", "checksum", "created_at"}))
      << r.dump();
  EXPECT_FALSE(r.contains("backup_note")) << r.dump();
  const std::string path = Str(backup, "path");
  EXPECT_EQ(Parent(path), DefaultDir(t));
  EXPECT_TRUE(Contains(Name(path), "-batch1")) << path;

  // Recorded with the batch, both ways.
  EXPECT_EQ(t.QueryString("SELECT backup_id FROM migration_batches WHERE batch = 1"),
            backup["id"].dump());
  EXPECT_EQ(t.QueryRows("SELECT id, path, batch, \"exists\" FROM migration_backups"),
            (Rows{{backup["id"].dump(), path, "1", "1"}}));
  EXPECT_EQ(t.QueryString("SELECT rollback_backup_possible FROM migration_batches WHERE batch = 1"),
            "1");

  // The copy is the database before the migration, the sidecar says which
  // batch and which schema.
  EXPECT_EQ(DumpDifference(before, DumpFile(path)), "");
  EXPECT_NE(DumpDifference(before, DumpDatabase(t.db())), "") << "the migration did run";
  const ordered_json side = Json(ReadBytes(path + ".json"));
  EXPECT_EQ(side["batch"], 1) << side.dump();
  EXPECT_EQ(Str(side, "schema_hash"),
            t.QueryString("SELECT schema_hash_before FROM _automigrate_batches WHERE batch = 1"));
  ExpectIntactBackup(t.db(), backup);
}

TEST(BackupPolicy, AutoBacksUpADestructiveStep) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string before = DumpDatabase(t.db());
  const ordered_json r = Apply(t, kItemsWithoutTags, R"({"allow_destructive": true})");
  ASSERT_TRUE(r["backup"].is_object()) << r.dump();
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'tags'"), 0);
  EXPECT_EQ(DumpDifference(before, DumpFile(Str(r["backup"], "path"))), "")
      << "the dropped table's rows are in the backup";
  ExpectIntactBackup(t.db(), r["backup"]);
}

TEST(BackupPolicy, AutoTakesNoneForSchemaOnlySteps) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json r = Apply(t, kItemsAdded);
  ASSERT_EQ(r["ok"], true) << r.dump();
  ASSERT_EQ(r["steps"], 2) << r.dump();
  EXPECT_TRUE(r["backup"].is_null()) << r.dump();
  EXPECT_FALSE(r.contains("backup_note")) << "none was wanted: " << r.dump();
  EXPECT_FALSE(fs::exists(DefaultDir(t)));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);
  EXPECT_EQ(t.QueryString("SELECT backup_id FROM migration_batches WHERE batch = 1"), "NULL");
}

TEST(BackupPolicy, AlwaysAndNever) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string before = DumpDatabase(t.db());
  const ordered_json always = Apply(t, kItemsAdded, R"({"backup": "always"})");
  ASSERT_TRUE(always["backup"].is_object())
      << "always backs up an add-column plan: " << always.dump();
  EXPECT_EQ(DumpDifference(before, DumpFile(Str(always["backup"], "path"))), "");
  ExpectIntactBackup(t.db(), always["backup"]);

  const ordered_json never = Apply(t, kItemsAddedRebuilt, R"({"backup": "never"})");
  ASSERT_EQ(never["ok"], true) << never.dump();
  EXPECT_TRUE(never["backup"].is_null()) << never.dump();
  EXPECT_EQ(FilesIn(DefaultDir(t)).size(), 2u) << "only the first batch's backup";
  EXPECT_EQ(t.QueryRows("SELECT batch, backup_id IS NOT NULL FROM migration_batches"),
            (Rows{{"1", "1"}, {"2", "0"}}));
}

// WAL, and a reader on an old snapshot keeps the checkpoint from finishing:
// the backup is still the latest committed (pre-migration) state.
TEST(BackupPolicy, WalWithAReaderOnAnOldSnapshot) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t.QueryString("PRAGMA journal_mode=wal"), "wal");
  Seed(t, kItems, kItemsRows);
  Connection reader(t.path());
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(Exec(reader.db(), "BEGIN"));
  ASSERT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 3);
  ASSERT_TRUE(t.Exec("INSERT INTO items VALUES (7, 'late', '1')"));
  const std::string before = DumpDatabase(t.db());
  const ordered_json r = Apply(t, kItemsRebuilt);
  ASSERT_TRUE(r["backup"].is_object()) << r.dump();
  EXPECT_EQ(DumpDifference(before, DumpFile(Str(r["backup"], "path"))), "");
  ExpectIntactBackup(t.db(), r["backup"]);
  EXPECT_EQ(QueryInt(reader.db(), "SELECT count(*) FROM items"), 3);
  ASSERT_TRUE(Exec(reader.db(), "COMMIT"));
}

TEST(BackupPolicy, DryRunTakesNone) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const ordered_json r = Apply(t, kItemsRebuilt, R"({"dry_run": true, "backup": "always"})");
  EXPECT_EQ(r["dry_run"], true) << r.dump();
  EXPECT_TRUE(r["backup"].is_null()) << r.dump();
  EXPECT_FALSE(fs::exists(DefaultDir(t)));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);
}

TEST(BackupPolicy, BackupDirOptionAndStoredDefault) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string option_dir = (t.dir() / "by-option").string();
  ordered_json r = Apply(t, kItemsRebuilt, OptionsJson("backup_dir", option_dir));
  ASSERT_TRUE(r["backup"].is_object()) << r.dump();
  EXPECT_EQ(Parent(Str(r["backup"], "path")), option_dir);
  ExpectIntactBackup(t.db(), r["backup"]);

  const std::string stored_dir = (t.dir() / "by-default").string();
  t.QueryString("SELECT migrate_configure(?1)", {OptionsJson("backup_dir", stored_dir)});
  // Back: an in-place edit (it has rollback SQL, so "auto" would take no
  // backup); "always" asks for one in the stored directory.
  r = Apply(t, kItems, R"({"backup": "always"})");
  ASSERT_TRUE(r["backup"].is_object()) << r.dump();
  EXPECT_EQ(Parent(Str(r["backup"], "path")), stored_dir);
  ExpectIntactBackup(t.db(), r["backup"]);
  EXPECT_FALSE(fs::exists(DefaultDir(t)));
}

TEST(BackupPolicy, InMemoryDatabase) {
  // auto: none, and the result says so.
  {
    TestDb m = TestDb::Memory();
    Seed(m, kItems, kItemsRows);
    const ordered_json r = Apply(m, kItemsRebuilt);
    ASSERT_EQ(r["ok"], true) << r.dump();
    EXPECT_TRUE(r["backup"].is_null()) << r.dump();
    EXPECT_TRUE(Contains(Str(r, "backup_note"), "in-memory")) << r.dump();
  }
  // always without backup_dir: refused, nothing changed.
  {
    TestDb m = TestDb::Memory();
    Seed(m, kItems, kItemsRows);
    const std::string before = DumpDatabase(m.db());
    const std::string error =
        ErrorOf(m.db(), "SELECT migrate_apply(?1, '{\"backup\": \"always\"}')",
                {std::string(kItemsRebuilt)});
    EXPECT_TRUE(StartsWith(error, "migrate_apply: ")) << error;
    EXPECT_TRUE(Contains(error, "backup_dir")) << error;
    EXPECT_EQ(DumpDifference(before, DumpDatabase(m.db())), "");
  }
  // With backup_dir: a backup of the pre-migration state that verifies.
  {
    TestDb m = TestDb::Memory();
    Seed(m, kItems, kItemsRows);
    TestDb place;  // only for its temporary directory
    ASSERT_TRUE(place.ok());
    const std::string dir = (place.dir() / "memory-backups").string();
    const std::string before = DumpDatabase(m.db());
    const ordered_json r = Apply(m, kItemsRebuilt, OptionsJson("backup_dir", dir));
    ASSERT_TRUE(r["backup"].is_object()) << r.dump();
    EXPECT_EQ(Parent(Str(r["backup"], "path")), dir);
    EXPECT_EQ(DumpDifference(before, DumpFile(Str(r["backup"], "path"))), "");
    ExpectIntactBackup(m.db(), r["backup"]);
    EXPECT_EQ(m.QueryRows("SELECT batch, \"exists\" FROM migration_backups"), (Rows{{"1", "1"}}));
  }
}

// ~200k rows: the copy takes many 1 MiB chunks, far beyond 1 ms.
constexpr std::string_view kBig = R"sql(
CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, grp INTEGER, pad TEXT);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 200000)
INSERT INTO big SELECT i, 'name ' || i, i % 97, printf('%.20c', 'x') FROM c;
)sql";
constexpr std::string_view kBigRebuilt =
    "CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', grp INTEGER, pad "
    "TEXT);";

TEST(BackupPolicy, TimeLimitOverrunDuringTheBackupLeavesNothingBehind) {
  TestDb t;
  Seed(t, kBig);
  const std::string before = DumpDatabase(t.db());
  const std::string error = ErrorOf(t.db(), "SELECT migrate_apply(?1, ?2)",
                                    {std::string(kBigRebuilt), R"({"max_execution_time_ms": 1})"});
  EXPECT_TRUE(StartsWith(error, "migrate_apply: ")) << error;
  EXPECT_TRUE(Contains(error, "max_execution_time_ms")) << error;
  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_EQ(t.QueryRows("SELECT batch, status, backup_id FROM migration_batches"),
            (Rows{{"1", "failed", "NULL"}}));
  EXPECT_EQ(t.QueryString("SELECT error FROM _automigrate_batches WHERE batch = 1"), error);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);
  // No partial copy, no sidecar: nothing that could be mistaken for a backup.
  EXPECT_EQ(FilesIn(DefaultDir(t)), std::vector<std::string>{});
  EXPECT_TRUE(sqlite3_get_autocommit(t.db()));
}

TEST(BackupPolicy, InsideTheCallersTransactionBeforeAnyWrite) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  const std::string before = DumpDatabase(t.db());
  ASSERT_TRUE(t.Exec("BEGIN"));
  ASSERT_EQ(t.QueryInt("SELECT count(*) FROM items"), 3);  // a read is not a write
  const ordered_json r = Apply(t, kItemsRebuilt);
  ASSERT_TRUE(r["backup"].is_object()) << r.dump();
  EXPECT_FALSE(sqlite3_get_autocommit(t.db())) << "the caller's transaction stays open";
  ASSERT_TRUE(t.Exec("COMMIT"));
  const std::string path = Str(r["backup"], "path");
  EXPECT_EQ(DumpDifference(before, DumpFile(path)), "");
  EXPECT_EQ(t.QueryString("SELECT backup_id FROM migration_batches WHERE batch = 1"),
            r["backup"]["id"].dump());
  ExpectIntactBackup(t.db(), r["backup"]);
}

TEST(BackupPolicy, InsideTheCallersTransactionAfterAWrite) {
  TestDb t;
  Seed(t, kItems, kItemsRows);
  // always: refused, the caller's transaction and its write intact.
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO items VALUES (10, 'mine', '1');"));
  const std::string error = ErrorOf(t.db(), "SELECT migrate_apply(?1, '{\"backup\": \"always\"}')",
                                    {std::string(kItemsRebuilt)});
  EXPECT_TRUE(StartsWith(error, "migrate_apply: ")) << error;
  EXPECT_TRUE(Contains(error, "always")) << error;
  EXPECT_FALSE(sqlite3_get_autocommit(t.db()));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items WHERE id = 10"), 1);
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM pragma_table_info('items') WHERE \"notnull\""), 0)
      << "nothing migrated";
  ASSERT_TRUE(t.Exec("ROLLBACK"));

  // auto: migrates without a backup and says why.
  ASSERT_TRUE(t.Exec("BEGIN; INSERT INTO items VALUES (11, 'mine too', '2');"));
  const ordered_json r = Apply(t, kItemsRebuilt);
  EXPECT_EQ(r["ok"], true) << r.dump();
  EXPECT_TRUE(r["backup"].is_null()) << r.dump();
  EXPECT_FALSE(Str(r, "backup_note").empty()) << r.dump();
  EXPECT_FALSE(sqlite3_get_autocommit(t.db()));
  ASSERT_TRUE(t.Exec("COMMIT"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM items WHERE id = 11"), 1);
  EXPECT_FALSE(fs::exists(DefaultDir(t)) && !FilesIn(DefaultDir(t)).empty());
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);
}

// A full disk, simulated by a file-size limit on the sqlite3 shell: every
// write past it fails with EFBIG. The history tables live in the first pages
// (created before the big table was filled), so the failed batch can still
// be recorded within the limit, while a full copy of the database cannot.
TEST(BackupPolicy, DiskFullFailsTheBatchAndChangesNothing) {
  TestDb t;
  ASSERT_TRUE(t.ok());
  constexpr std::string_view kStart =
      "CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, qty TEXT); CREATE TABLE small(x);";
  ASSERT_TRUE(t.Exec("CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT, qty TEXT)"));
  ASSERT_EQ(Apply(t, kStart)["batch"], 1);
  ASSERT_TRUE(
      t.Exec("WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50000)"
             "INSERT INTO big SELECT i, 'name ' || i, i % 7 FROM c;"));
  const std::string before = DumpDatabase(t.db());
  const int64_t db_bytes = FileBytes(t.path());
  const int64_t limit_kb = db_bytes / 2 / 1024;
  ASSERT_GT(limit_kb, 256) << "the database is too small for this test";

  // As the README runs it: the desired schema from a file (reading is not limited).
  const std::string schema_file = (t.dir() / "schema.sql").string();
  WriteBytes(schema_file,
             "CREATE TABLE big(id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '', qty TEXT);\n"
             "CREATE TABLE small(x);\n");
  const std::string run = std::string(".load ") + AUTOMIGRATE_EXT_PATH +
                          "\nSELECT migrate_apply(readfile('" + schema_file + "'));\n";
  const ShellResult full = RunShellScriptWithFileSizeLimit(t.path(), run, limit_kb);
  EXPECT_NE(full.exit_code, 0) << full.out << full.err;
  EXPECT_TRUE(Contains(full.err, "migrate_apply: backup failed, nothing was changed")) << full.err;
  EXPECT_TRUE(Contains(full.err, "File too large")) << "EFBIG, the limit: " << full.err;
  EXPECT_FALSE(Contains(full.err, "killed by signal")) << full.err;

  EXPECT_EQ(DumpDifference(before, DumpDatabase(t.db())), "");
  EXPECT_EQ(IntegrityCheck(t.db()), "ok");
  EXPECT_EQ(FilesIn(DefaultDir(t)), std::vector<std::string>{}) << "no partial backup";
  EXPECT_EQ(t.QueryRows("SELECT batch, status, backup_id FROM migration_batches"),
            (Rows{{"1", "applied", "NULL"}, {"2", "failed", "NULL"}}))
      << "the failure is recorded (within the limit)";
  EXPECT_TRUE(Contains(t.QueryString("SELECT error FROM _automigrate_batches WHERE batch = 2"),
                       "backup failed"));
  EXPECT_EQ(t.QueryInt("SELECT count(*) FROM migration_backups"), 0);

  // Without the limit the same migration goes through, with its backup: the
  // limit, and nothing else, was what failed.
  const ShellResult ok = RunShellScript(t.path(), run);
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  const ordered_json r = Json(ok.out.substr(0, ok.out.find('\n')));
  ASSERT_TRUE(r["backup"].is_object()) << ok.out;
  EXPECT_EQ(DumpDifference(before, DumpFile(Str(r["backup"], "path"))), "");
  ExpectIntactBackup(t.db(), r["backup"]);
}

// ---------------------------------------------------------------------------
// 7. core: an interrupted copy (a time limit) leaves nothing behind

TEST(BackupCore, InterruptedCopyLeavesNothingBehindAndReleasesTheLock) {
  TestDb t;
  Seed(t,
       "CREATE TABLE blobs(id INTEGER PRIMARY KEY, b BLOB);"
       "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 3000)"
       "INSERT INTO blobs SELECT i, randomblob(1000) FROM c;");
  ASSERT_GT(FileBytes(t.path()), 2 << 20) << "the copy must take more than one chunk";
  const std::string dir = (t.dir() / "interrupted").string();
  for (bool explicit_path : {false, true}) {
    SCOPED_TRACE(explicit_path ? "path" : "dir");
    BackupRequest request;
    if (explicit_path) {
      ASSERT_TRUE(fs::create_directories(dir) || fs::is_directory(dir));
      request.path = dir + "/chosen.db";
    } else {
      request.dir = dir;
    }
    int asked = 0;
    request.keep_going = [&] { return ++asked < 2; };  // stop after the first chunk
    Result<BackupRecord> r = TakeBackup(t.db(), request);
    ASSERT_FALSE(r.ok()) << "the copy was not interrupted";
    EXPECT_EQ(r.status().code() & 0xff, SQLITE_INTERRUPT) << r.status().message();
    EXPECT_GE(asked, 2);
    EXPECT_EQ(FilesIn(dir), std::vector<std::string>{});
    // The private connection's write lock is gone.
    EXPECT_TRUE(t.Exec("BEGIN IMMEDIATE; COMMIT;"));
  }
}

}  // namespace
}  // namespace automigrate::testing
