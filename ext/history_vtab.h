// ext/history_vtab.h -- migration_history and migration_batches, the history
// as read-only tables.
//
//   SELECT batch, step, op, object, status FROM migration_history WHERE batch = 3;
//   SELECT * FROM migration_batches('aux');   -- an attached database's history
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

// Eponymous-only, read-only modules (no xCreate, no xUpdate), registered by
// ext/functions.cc under the names "migration_history" (one row per step:
// id, batch, step, version, op, object, sql, rollback_sql, status, error,
// schema_hash, started_at, duration_ms, backup_id) and "migration_batches"
// (one row per batch: batch, version, status, started_at, duration_ms, steps,
// backup_id, reverts, rollback_sql_possible, rollback_backup_possible). Both
// take the HIDDEN argument column `schema` (default 'main').
extern const sqlite3_module kHistoryModule;
extern const sqlite3_module kBatchesModule;
// "migration_backups": one row per recorded backup, oldest first (id, path,
// bytes, checksum, created_at, batch, exists, verified_at); `exists` is
// looked up in the file system on every read.
extern const sqlite3_module kBackupsModule;

}  // namespace automigrate::ext
