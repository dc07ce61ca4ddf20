// core/history.h -- the record of every batch: _automigrate_batches (one row
// per batch) and _automigrate_history (one row per step), in the migrated
// schema, plus the per-database stored defaults (_automigrate_config).
//
// Nothing here creates a table on a read: a database that was never migrated
// reads as empty history, empty config.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct StepRecord {
  int64_t id = 0;
  int64_t batch = 0;
  int64_t step = 0;
  std::optional<int64_t> version;  // the batch's (joined on read)
  std::string op, object, sql;
  std::optional<std::string> rollback_sql;
  std::string status;  // applied, failed, dry_run, rolled_back, skipped
  std::optional<std::string> error;
  std::optional<std::string> schema_hash;
  std::string started_at;
  double duration_ms = 0;
  std::optional<int64_t> backup_id;  // the batch's (joined on read)
};

struct BatchRecord {
  int64_t batch = 0;
  std::optional<int64_t> version;
  std::string status;  // applied, failed, dry_run, rolled_back
  std::string started_at;
  double duration_ms = 0;
  int64_t steps = 0;
  std::optional<int64_t> backup_id;
  std::optional<int64_t> reverts;
  std::optional<std::string> error;
  std::string plan_hash;
  std::optional<std::string> desired_hash;
  std::string schema_hash_before, schema_hash_after;
  // Derived on read, for the batches migrate_rollback may undo (applied, not
  // a rollback): every step has rollback SQL / its backup file exists.
  bool rollback_sql_possible = false;
  bool rollback_backup_possible = false;
};

// Creates the tables when missing (inside the caller's transaction), and
// adds columns that tables made by earlier builds lack.
Status EnsureHistoryTables(sqlite3* db, std::string_view schema);

// What the start-up check reads of the newest version-changing batch, in one
// indexed query; nullopt when there is none or no history tables (made by
// this build).
struct LastApplied {
  std::string status;
  std::optional<std::string> desired_hash;
  std::string schema_hash_after;
  std::optional<int64_t> schema_version_after;
};
Result<std::optional<LastApplied>> ReadLastApplied(sqlite3* db, std::string_view schema);
// PRAGMA schema_version of `schema`: SQLite moves it on every schema change.
Result<int64_t> SchemaVersion(sqlite3* db, std::string_view schema);
// Whether `schema` has an ordinary table named `table`.
Result<bool> TableExists(sqlite3* db, std::string_view schema, std::string_view table);
Result<bool> HistoryTablesExist(sqlite3* db, std::string_view schema);

// The latest version (0 when never migrated) and the next batch number.
Result<int64_t> CurrentVersion(sqlite3* db, std::string_view schema);
Result<int64_t> NextBatch(sqlite3* db, std::string_view schema);

// Inserts the batch row and its step rows (batch.batch must be set).
Status RecordBatch(sqlite3* db, std::string_view schema, const BatchRecord& batch,
                   const std::vector<StepRecord>& steps);

// Sets batch `batch` and its steps from applied to rolled_back.
Status MarkRolledBack(sqlite3* db, std::string_view schema, int64_t batch);

// Reads rows, optionally only those of one batch. Empty when never migrated.
Result<std::vector<BatchRecord>> ReadBatches(sqlite3* db, std::string_view schema,
                                             std::optional<int64_t> batch = std::nullopt);
Result<std::vector<StepRecord>> ReadSteps(sqlite3* db, std::string_view schema,
                                          std::optional<int64_t> batch = std::nullopt);

// The newest batch that changed the version (applied or rolled back), if any.
Result<std::optional<BatchRecord>> LatestVersionBatch(sqlite3* db, std::string_view schema);

// XXH3-128 (hex) of the schema's objects (type, name, tbl_name, sql, sorted
// by name), leaving out the extension's own tables.
Result<std::string> SchemaHash(sqlite3* db, std::string_view schema);
// XXH3-128 (hex) of arbitrary text.
std::string TextHash(std::string_view text);

// UTC now as "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string NowIso8601();

// Stored defaults: the JSON object text of _automigrate_config ("{}" when none).
Result<std::string> LoadConfigJson(sqlite3* db, std::string_view schema);
// Replaces the stored defaults with `json_object` (keys already validated);
// creates the tables if needed. Runs in its own transaction (or savepoint).
Status StoreConfigJson(sqlite3* db, std::string_view schema, std::string_view json_object);

}  // namespace automigrate
