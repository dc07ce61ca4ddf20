// ext/stats_function.h -- migrate_stats, a summary of the migration history.
//
//   SELECT migrate_stats();        -- the main database
//   SELECT migrate_stats('aux');   -- an attached database
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

// migrate_stats([schema]) -> JSON {"batches": {"applied", "failed",
// "dry_run", "rolled_back"}, "total", "success_rate", "mean_duration_ms",
// "max_duration_ms", "last_batch", "recent_failures"}; schema NULL or
// omitted is 'main'. A database never migrated gives zero counts and nulls.
void MigrateStatsFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

}  // namespace automigrate::ext
