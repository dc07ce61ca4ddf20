// ext/health_function.h -- migrate_health, a scored report on the state of a
// migrated database (docs/HEALTH.md).
//
//   SELECT migrate_health();                                   -- no drift check
//   SELECT migrate_health(readfile('schema.sql'));             -- with drift
//   SELECT migrate_health(NULL, '{"full_integrity": true, "schema": "aux"}');
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

// migrate_health([desired] [, options]) -> JSON {score, checks[],
// recommendations[]}. `desired` SQL NULL or omitted: no drift check.
// Options: "schema", "full_integrity" (bool), "backup_dir",
// "recent_batches" (integer >= 1), and the planner's "rename" and
// "column_order" for the drift check; "backup_dir" and "column_order"
// default to the values stored with migrate_configure.
void MigrateHealthFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

}  // namespace automigrate::ext
