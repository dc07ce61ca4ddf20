// core/backup.h -- checksummed backups: create, verify, restore, list, clean up.
//
// A backup is a consistent copy of one database file plus a sidecar
// `<backup>.json` holding its XXH3-128 checksum (as `xxh128sum` prints it)
// and metadata, so it can be verified and restored without the database it
// came from. Backups are recorded in `<schema>._automigrate_backups`.
//
// How the copy is taken (see DESIGN.md "Backups"):
//   * holding the database's write lock (migrate_apply's, or a private
//     connection's BEGIN IMMEDIATE for backup_create) nothing can change the
//     committed pages; in rollback-journal mode, and in WAL mode once a
//     checkpoint has copied every frame into the file, the file itself is
//     then the committed state, so it is copied with read/write and hashed
//     on the way (about `cp` speed);
//   * otherwise (the WAL cannot be fully checkpointed because a reader holds
//     an old snapshot; the lock is held by the caller's own transaction; an
//     in-memory database) SQLite's online backup API copies one read
//     snapshot through a second connection, and the file is hashed after.
// The file is created with O_EXCL (an existing file is never overwritten)
// and the sidecar is written last: a file without its sidecar is not a
// valid backup, so a crash mid-copy never leaves something that verifies.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct BackupRecord {
  int64_t id = 0;  // 0 until recorded
  std::string path;  // absolute
  int64_t bytes = 0;
  std::string checksum;  // XXH3-128, 32 hex digits
  std::string created_at;
  std::optional<int64_t> batch;  // the migration batch it was taken for
  std::string source;           // the database file copied ("" in memory)
  std::string schema_hash;      // SchemaHash of the copy
  std::string method;           // "copy" or "backup_api"
  std::optional<std::string> verified_at;
  bool exists = false;  // filled on read: the file is there now

  std::string ToJson() const;  // {id, path, bytes, checksum, created_at}
  // The same fields, set on `j` (made an object): for results that embed it.
  void Fill(nlohmann::ordered_json& j) const;
  std::string SidecarJson() const;
};

struct BackupRequest {
  std::string schema = "main";
  std::optional<std::string> path;  // the file to create; else a new name in `dir`
  std::optional<std::string> dir;   // else `<database file>.backups`
  std::optional<int64_t> batch;
  // The connection already holds the write lock and has changed nothing
  // (migrate_apply after BEGIN IMMEDIATE): no second lock is taken.
  bool lock_held = false;
  std::function<bool()> keep_going;  // a time limit; asked between chunks
};

// `<database file>.backups`, or an error for an in-memory/temporary database.
Result<std::string> DefaultBackupDir(sqlite3* db, std::string_view schema);
// True when `schema` has no file (":memory:", a temporary database).
bool IsMemoryDatabase(sqlite3* db, std::string_view schema);

// Takes the copy, its checksum and the sidecar. Does not record it: see
// RecordBackup (migrate_apply records it in the migration's transaction).
// On any error nothing is left behind. Errors: the path exists; its
// directory is missing or unwritable; a write fails (SQLITE_FULL for a full
// disk); the lock cannot be had; interrupted by `keep_going`.
Result<BackupRecord> TakeBackup(sqlite3* db, const BackupRequest& request);

// Inserts the record (creating the extension's tables if needed) in a
// savepoint, and returns its id.
Result<int64_t> RecordBackup(sqlite3* db, std::string_view schema, const BackupRecord& record);
// Every recorded backup, oldest first, with `exists` from the file system.
Result<std::vector<BackupRecord>> ReadBackups(sqlite3* db, std::string_view schema);
Result<std::optional<BackupRecord>> FindBackup(sqlite3* db, std::string_view schema, int64_t id);
Result<std::optional<BackupRecord>> FindBackupByPath(sqlite3* db, std::string_view schema,
                                                     std::string_view path);

struct VerifyReport {
  bool ok = false;
  bool checksum_ok = false;
  std::optional<bool> integrity_ok;  // nullopt: not run (the checksum failed)
  std::string reason;                // empty when ok
  // The file could not be read (an I/O error, a file that is not a regular
  // file, out of memory): nothing is known about the backup, which may be
  // fine; `reason` says so. backup_verify makes it an SQL error.
  bool read_error = false;
  int read_error_code = SQLITE_OK;
  std::string path;
  int64_t bytes = 0;
  std::string checksum;  // the sidecar's
  std::optional<BackupRecord> sidecar;

  std::string ToJson() const;  // {ok, checksum_ok, integrity_ok, reason, path, bytes, checksum}
};

// Recomputes the checksum and compares it with the sidecar's (and with
// `recorded`, the database's record of it, when there is one), then runs
// PRAGMA integrity_check on the copy, opened immutable (nothing is written
// beside it). Never touches any database but the copy. A mismatch, a
// missing file or sidecar is a report with ok = false, not an error; so is
// a read error, with read_error set (it says nothing about the backup).
VerifyReport VerifyBackup(const std::string& path, const std::optional<BackupRecord>& recorded);
// Sets verified_at on the record of `path`, if the database has one.
Status MarkVerified(sqlite3* db, std::string_view schema, std::string_view path,
                    std::string_view when);

// What restoring a backup would throw away, found by comparing the live
// database with the backup: rows added, changed or removed since, per table.
struct Discarded {
  std::string table;
  int64_t rows_added_or_changed = 0;
  int64_t rows_removed = 0;
  std::string note;  // why the count may include values nobody wrote, or ""
  std::string ToText() const;
};

// A column a batch renamed: in `table` (its name after the batch), `to` was `from`.
struct ColumnRename {
  std::string table, to, from;
};

struct RestoreRequest {
  std::string schema = "main";
  std::string function = "backup_restore";  // for messages
  // migrate_rollback: the batch this restore undoes (recorded as `reverts`,
  // and set to rolled_back); the table renames that batch made, new -> old,
  // so tables are compared under their backup names; likewise its column
// renames.
  std::optional<int64_t> reverts;
  std::vector<std::pair<std::string, std::string>> renamed_tables;
  std::vector<ColumnRename> renamed_columns;
  // Refuse when the live data differs from the backup (rows written after
  // the batch) unless force. backup_restore itself does not compare.
  bool compare = false;
  bool force = false;
  std::optional<std::string> expected_schema_hash;  // the batch's schema_hash_after
};

struct RestoreReport {
  int64_t batch = 0;
  int64_t version = 0;
  std::string path;
  std::optional<int64_t> backup_id;
  std::vector<Discarded> discarded;
  bool schema_changed_since = false;
  double duration_ms = 0;
};

// Verifies `path` (refusing a backup that fails), then replaces the
// database's content with the backup's through the online backup API, in
// one write transaction: other connections see the old or the new database,
// never a mix. The extension's own tables keep the live database's rows
// (the audit trail) plus a new batch recording the restore. Refused inside
// a transaction and for in-memory/temporary databases.
Result<RestoreReport> RestoreBackup(sqlite3* db, const std::string& path,
                                    const RestoreRequest& request);

// Files a killed call left behind (docs/BACKUPS.md, "Leftover files"):
//   "restore_scratch"    `<database>.automigrate-restore-<host>-<pid>[-journal|-wal|-shm]`
//                        whose pid no longer exists on this host;
//   "partial_backup"     a file named like this database's backups, without a
//                        sidecar, that no process is writing (no writer lock);
//   "unrecorded_backup"  a complete backup (sidecar naming this database as
//                        its source) that _automigrate_backups does not
//                        record, last modified at least `min_age_seconds` ago.
// Backup files are looked for in `dirs` and the directories of the recorded
// backups. An unrecorded backup younger than that may be a migration's,
// recorded when it commits.
struct OrphanFile {
  std::string path;
  std::string kind;
  int64_t bytes = 0;
};
inline constexpr double kOrphanBackupAgeSeconds = 3600;
Result<std::vector<OrphanFile>> FindOrphans(sqlite3* db, std::string_view schema,
                                            const std::vector<std::string>& dirs,
                                            double min_age_seconds = kOrphanBackupAgeSeconds);

// Removes backups (file, sidecar, record) beyond the newest `keep_last`,
// only those older than `max_age_days` when given, never the backup of the
// batch migrate_rollback would undo next. Then, holding the database's write
// lock (so no migration can be about to record a backup), removes the
// orphans FindOrphans lists for `backup_dir` (else `<database file>.backups`),
// unrecorded backups only when older than both an hour and `max_age_days`.
// Returns how many backups and orphaned files were removed (a backup's
// sidecar is not counted apart from it).
Result<int64_t> CleanupBackups(sqlite3* db, std::string_view schema, int64_t keep_last,
                               std::optional<double> max_age_days,
                               std::optional<std::string> backup_dir = std::nullopt);

}  // namespace automigrate
