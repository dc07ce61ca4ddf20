// ext/backup_functions.h -- backup_create, backup_verify, backup_restore,
// backup_cleanup and migrate_rollback. All write files or the database, so
// all are registered DIRECTONLY (ext/functions.cc).
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

void BackupCreateFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;
void BackupVerifyFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;
void BackupRestoreFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;
void BackupCleanupFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;
void MigrateRollbackFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

}  // namespace automigrate::ext
