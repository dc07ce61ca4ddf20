// ext/plan_vtab.h -- migrate_plan, the plan as a table-valued function.
//
//   SELECT step, op, object, complexity, sql FROM migrate_plan(readfile('schema.sql'));
//   SELECT * FROM migrate_plan(readfile('schema.sql'), '{"column_order": "strict"}');
#pragma once

#include "core/sqlite_api.h"

namespace automigrate::ext {

// An eponymous-only, read-only module (no xCreate, no xUpdate): one row per
// step with columns step, op, object_type, object, table_name, sql,
// rollback_sql, complexity, destructive, warning, reason, est_rows, est_ms,
// and the HIDDEN argument columns desired and options. Registered under the
// name "migrate_plan" by ext/functions.cc.
extern const sqlite3_module kPlanModule;

}  // namespace automigrate::ext
