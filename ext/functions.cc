// ext/functions.cc -- the registration table and the small scalar functions.
//
//   SELECT automigrate_version();   -- '0.1.0'
#include "ext/functions.h"

#include "ext/apply_functions.h"
#include "ext/backup_functions.h"
#include "ext/guard.h"
#include "ext/health_function.h"
#include "ext/history_vtab.h"
#include "ext/plan_functions.h"
#include "ext/plan_vtab.h"
#include "ext/stats_function.h"

namespace automigrate::ext {
namespace {

// Pure: same result for the same arguments, no side effects, safe anywhere.
constexpr int kPure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
// Direct calls only: these read the whole schema and count rows (the planner
// functions), or write the database or files. A view or trigger inside an
// untrusted database file must not be able to run them.
constexpr int kTopLevelOnly = SQLITE_UTF8 | SQLITE_DIRECTONLY;

void VersionFunc(sqlite3_context* ctx, int /*argc*/, sqlite3_value** /*argv*/) noexcept {
  Guard(ctx, [&] { ResultText(ctx, AUTOMIGRATE_VERSION); });
}

constexpr FunctionSpec kFunctions[] = {
    {"automigrate_version", 0, kPure, VersionFunc},
    {"migrate_status", -1, kTopLevelOnly, MigrateStatusFunc},
    {"migrate_script", -1, kTopLevelOnly, MigrateScriptFunc},
    {"migrate_apply", -1, kTopLevelOnly, MigrateApplyFunc},
    {"migrate_configure", -1, kTopLevelOnly, MigrateConfigureFunc},
    // Reads the history, like migration_batches (DIRECTONLY below).
    {"migrate_stats", -1, kTopLevelOnly, MigrateStatsFunc},
    {"migrate_rollback", -1, kTopLevelOnly, MigrateRollbackFunc},
    // Files: they create, read, replace and delete backups.
    {"backup_create", -1, kTopLevelOnly, BackupCreateFunc},
    // Reads a file and records verified_at (DESIGN.md "Backups").
    {"backup_verify", -1, kTopLevelOnly, BackupVerifyFunc},
    {"backup_restore", -1, kTopLevelOnly, BackupRestoreFunc},
    {"backup_cleanup", -1, kTopLevelOnly, BackupCleanupFunc},
    // Reads the whole database (quick_check) and backup files.
    {"migrate_health", -1, kTopLevelOnly, MigrateHealthFunc},
};

// The modules are DIRECTONLY too: each xConnect calls
// sqlite3_vtab_config(SQLITE_VTAB_DIRECTONLY).
constexpr ModuleSpec kModules[] = {
    {"migrate_plan", &kPlanModule},
    {"migration_history", &kHistoryModule},
    {"migration_batches", &kBatchesModule},
    {"migration_backups", &kBackupsModule},
};

}  // namespace

std::span<const FunctionSpec> Functions() { return kFunctions; }
std::span<const ModuleSpec> Modules() { return kModules; }

}  // namespace automigrate::ext
