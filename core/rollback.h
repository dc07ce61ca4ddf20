// core/rollback.h -- migrate_rollback: undo the latest applied batch, by
// replaying its rollback SQL or by restoring the backup taken before it.
//
//   SELECT migrate_rollback();                          -- the latest batch, method auto
//   SELECT migrate_rollback(7, '{"method": "backup"}');  -- only if 7 is the latest
//
// The batch undone is the newest `applied` batch that is not itself a
// rollback (so after undoing N, N-1 is next). The rollback is recorded as a
// new batch with `reverts` = N, and batch N becomes `rolled_back`.
//
// Nothing written after the batch is thrown away silently: before anything
// changes, the rollback finds what it would discard (rows in a table or
// column the batch created, for SQL; every row added, changed or removed
// since the batch, for a backup restore; and any schema change made after
// the batch) and refuses unless `force`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/backup.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct RollbackOptions {
  std::string schema = "main";
  std::string method = "auto";  // auto | sql | backup
  bool force = false;
  int64_t max_execution_time_ms = 15000;  // the SQL method's limit; 0: none
};

struct RollbackReport {
  int64_t batch = 0;    // the new batch that records the rollback
  int64_t reverts = 0;  // the batch undone
  int64_t version = 0;
  std::string method;  // "sql" or "backup"
  int64_t steps = 0;
  std::optional<int64_t> backup_id;
  std::vector<Discarded> discarded;  // what `force` threw away
  bool schema_matches_before = false;  // the schema hash equals the batch's before-hash
  double duration_ms = 0;

  // {ok, batch, reverts, version, method, steps, backup_id, schema_matches_before,
  //  discarded: [{table, rows_added_or_changed, rows_removed}], duration_ms}
  std::string ToJson() const;
};

// Errors start with "migrate_rollback: " and say what to do: nothing to roll
// back; `batch` is not the latest applied batch; the method is impossible
// (a step without rollback SQL; no backup, or its file is gone or fails
// verification); the data or schema changed since the batch (without
// force); inside a transaction; a step failing (rolled back, then recorded
// as a failed batch).
Result<RollbackReport> RollbackBatch(sqlite3* db, std::optional<int64_t> batch,
                                     const RollbackOptions& options);

}  // namespace automigrate
