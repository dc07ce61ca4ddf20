// ext/plan_functions.h -- the scalar planner functions, and the argument
// handling they share with the migrate_plan table-valued function.
//
//   SELECT migrate_status(readfile('schema.sql'));
//   SELECT migrate_script(readfile('schema.sql'), '{"column_order": "strict"}');
#pragma once

#include <string_view>

#include "core/plan.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate::ext {

// Validates the desired-schema and options arguments of `function` (options
// may be nullptr when omitted), then plans. Every error message starts with
// "<function>: ", core's included.
Result<Plan> PlanFromArgs(sqlite3* db, std::string_view function, sqlite3_value* desired,
                          sqlite3_value* options);

// migrate_status(desired [, options]) -> JSON {migration_needed, steps,
// complexity, destructive, warnings, est_ms, plan_hash}.
void MigrateStatusFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

// migrate_script(desired [, options]) -> the plan as one runnable SQL script.
void MigrateScriptFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept;

}  // namespace automigrate::ext
