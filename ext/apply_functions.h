// ext/apply_functions.h -- migrate_apply and migrate_configure, the two
// functions that write: the schema and its history, or the stored defaults.
//
//   SELECT migrate_apply(readfile('schema.sql'), '{"allow_destructive": true}');
//   SELECT migrate_configure('{"backup": "always", "max_execution_time_ms": 60000}');
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

// migrate_apply(desired [, options]) -> JSON {ok, batch, version, steps,
// duration_ms, backup, dry_run}. Options are the call's on top of the
// defaults stored for the schema it migrates.
void MigrateApplyFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

// migrate_configure(options) -> the effective stored defaults as JSON.
void MigrateConfigureFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

}  // namespace automigrate::ext
