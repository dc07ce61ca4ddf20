// ext/plan_vtab.cc -- migrate_plan(desired [, options]), one row per step.
//
//   SELECT step, op, object, complexity, sql FROM migrate_plan(readfile('schema.sql'));
//   SELECT sql FROM migrate_plan(readfile('schema.sql'), '{"rename": {"users.fullname": "name"}}')
//    WHERE destructive;
//
// Eponymous-only like json_each: the arguments are the HIDDEN columns desired
// and options, xBestIndex hands them to xFilter, which plans once and keeps
// the Plan in the cursor; the other methods only read it.
#include "ext/plan_vtab.h"

#include <memory>
#include <string>
#include <utility>

#include "core/plan.h"
#include "core/sqlite_handle.h"
#include "ext/guard.h"
#include "ext/plan_functions.h"

namespace automigrate::ext {
namespace {

constexpr const char* kFunction = "migrate_plan";

// Column order is the SQL surface (DESIGN.md); PlanColumn follows it.
constexpr const char* kPlanSchema =
    "CREATE TABLE x(step INTEGER, op TEXT, object_type TEXT, object TEXT, table_name TEXT, "
    "sql TEXT, rollback_sql TEXT, complexity TEXT, destructive INTEGER, warning TEXT, "
    "reason TEXT, est_rows INTEGER, est_ms REAL, desired HIDDEN, options HIDDEN)";
enum PlanColumnIndex {
  kStepCol,
  kOpCol,
  kObjectTypeCol,
  kObjectCol,
  kTableNameCol,
  kSqlCol,
  kRollbackSqlCol,
  kComplexityCol,
  kDestructiveCol,
  kWarningCol,
  kReasonCol,
  kEstRowsCol,
  kEstMsCol,
  kDesiredCol,
  kOptionsCol
};

// idxNum bits: which arguments xFilter finds in argv, in this order.
constexpr int kHasDesired = 1;
constexpr int kHasOptions = 2;


struct PlanVtab : sqlite3_vtab {
  sqlite3* db = nullptr;
};

struct PlanCursor : sqlite3_vtab_cursor {
  Plan plan;
  size_t row = 0;
  ValuePtr desired;  // the arguments, echoed by the HIDDEN columns
  ValuePtr options;
};

int PlanConnect(sqlite3* db, void* /*aux*/, int /*argc*/, const char* const* /*argv*/,
                sqlite3_vtab** out, char** err) noexcept {
  std::string error;
  int rc = GuardCode(
      [&] {
        int rc = sqlite3_declare_vtab(db, kPlanSchema);
        // Planning reads the whole schema and counts rows for its estimates
        // and pre-checks: only a direct query may do that, never a view or
        // trigger that an untrusted database file brings along.
        if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
        if (rc != SQLITE_OK) {
          error = std::string(kFunction) + ": " + sqlite3_errmsg(db);
          return rc;
        }
        auto* vtab = new PlanVtab();
        vtab->db = db;
        *out = vtab;
        return SQLITE_OK;
      },
      &error);
  if (rc != SQLITE_OK && !error.empty()) *err = sqlite3_mprintf("%s", error.c_str());
  return rc;
}

int PlanDisconnect(sqlite3_vtab* vtab) noexcept {
  sqlite3_free(vtab->zErrMsg);
  delete static_cast<PlanVtab*>(vtab);
  return SQLITE_OK;
}

// The plan needs `desired`; `options` is optional. An argument given but not
// usable yet (it comes from a table joined later) is SQLITE_CONSTRAINT, so the
// query planner tries another join order instead of planning without it.
int PlanBestIndex(sqlite3_vtab* vtab, sqlite3_index_info* info) noexcept {
  return GuardVtab(vtab, [&] {
    int desired = -1;
    int options = -1;
    bool desired_unusable = false;
    bool options_unusable = false;
    for (int i = 0; i < info->nConstraint; ++i) {
      const auto& c = info->aConstraint[i];
      if (c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
      if (c.iColumn == kDesiredCol) {
        if (!c.usable) {
          desired_unusable = true;
        } else if (desired < 0) {
          desired = i;
        }
      } else if (c.iColumn == kOptionsCol) {
        if (!c.usable) {
          options_unusable = true;
        } else if (options < 0) {
          options = i;
        }
      }
    }
    if (desired < 0 && !desired_unusable) {
      SetVtabError(vtab, std::string(kFunction) + ": the desired schema argument is required");
      return SQLITE_ERROR;
    }
    if (desired < 0 || (options < 0 && options_unusable)) return SQLITE_CONSTRAINT;

    int argv_index = 0;
    info->aConstraintUsage[desired].argvIndex = ++argv_index;
    info->aConstraintUsage[desired].omit = 1;
    info->idxNum = kHasDesired;
    if (options >= 0) {
      info->aConstraintUsage[options].argvIndex = ++argv_index;
      info->aConstraintUsage[options].omit = 1;
      info->idxNum |= kHasOptions;
    }
    // Planning reads both schemas and counts rows: far dearer than a row
    // lookup, and repeated for every outer row when an argument is joined in.
    info->estimatedCost = 1e6;
    info->estimatedRows = 10;
    // Rows come out in step order.
    if (info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
        (info->aOrderBy[0].iColumn == kStepCol || info->aOrderBy[0].iColumn < 0))
      info->orderByConsumed = 1;
    return SQLITE_OK;
  });
}

int PlanOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) noexcept {
  return GuardVtab(vtab, [&] {
    *out = new PlanCursor();
    return SQLITE_OK;
  });
}

int PlanClose(sqlite3_vtab_cursor* cursor) noexcept {
  delete static_cast<PlanCursor*>(cursor);
  return SQLITE_OK;
}

int PlanFilter(sqlite3_vtab_cursor* cursor, int idx_num, const char* /*idx_str*/, int argc,
               sqlite3_value** argv) noexcept {
  auto* cur = static_cast<PlanCursor*>(cursor);
  return GuardVtab(cur->pVtab, [&] {
    cur->plan = Plan{};
    cur->row = 0;
    cur->desired.reset();
    cur->options.reset();
    if (!(idx_num & kHasDesired) || argc < 1) {
      SetVtabError(cur->pVtab,
                   std::string(kFunction) + ": the desired schema argument is required");
      return SQLITE_ERROR;
    }
    sqlite3_value* desired = argv[0];
    sqlite3_value* options = (idx_num & kHasOptions) && argc > 1 ? argv[1] : nullptr;
    cur->desired.reset(sqlite3_value_dup(desired));
    if (!cur->desired) return SQLITE_NOMEM;
    if (options) {
      cur->options.reset(sqlite3_value_dup(options));
      if (!cur->options) return SQLITE_NOMEM;
    }
    Result<Plan> plan =
        PlanFromArgs(static_cast<PlanVtab*>(cur->pVtab)->db, kFunction, desired, options);
    if (!plan.ok()) {
      SetVtabError(cur->pVtab, plan.status().message());
      return plan.status().code();
    }
    cur->plan = std::move(plan).value();
    return SQLITE_OK;
  });
}

int PlanNext(sqlite3_vtab_cursor* cursor) noexcept {
  ++static_cast<PlanCursor*>(cursor)->row;
  return SQLITE_OK;
}

int PlanEof(sqlite3_vtab_cursor* cursor) noexcept {
  const auto* cur = static_cast<const PlanCursor*>(cursor);
  return cur->row >= cur->plan.steps.size();
}

void ResultOptionalText(sqlite3_context* ctx, const std::string& text) {
  if (text.empty()) return sqlite3_result_null(ctx);
  ResultText(ctx, text);
}

int PlanColumn(sqlite3_vtab_cursor* cursor, sqlite3_context* ctx, int col) noexcept {
  const auto* cur = static_cast<const PlanCursor*>(cursor);
  // Errors go into ctx; SQLite reports a result error from xColumn.
  Guard(ctx, [&] {
    if (col == kDesiredCol || col == kOptionsCol) {
      sqlite3_value* v = col == kDesiredCol ? cur->desired.get() : cur->options.get();
      return v ? sqlite3_result_value(ctx, v) : sqlite3_result_null(ctx);
    }
    if (cur->row >= cur->plan.steps.size()) return sqlite3_result_null(ctx);
    const Step& s = cur->plan.steps[cur->row];
    switch (col) {
      case kStepCol: return sqlite3_result_int64(ctx, static_cast<sqlite3_int64>(cur->row + 1));
      case kOpCol: return ResultText(ctx, OpName(s.op));
      case kObjectTypeCol: return ResultText(ctx, s.object_type);
      case kObjectCol: return ResultText(ctx, s.object);
      case kTableNameCol: return ResultOptionalText(ctx, s.table_name);  // views: NULL
      case kSqlCol: return ResultText(ctx, s.sql);
      case kRollbackSqlCol:  // NULL: only the backup can undo this step
        return s.rollback_sql ? ResultText(ctx, *s.rollback_sql) : sqlite3_result_null(ctx);
      case kComplexityCol: return ResultText(ctx, ComplexityName(s.complexity));
      case kDestructiveCol: return sqlite3_result_int(ctx, s.destructive ? 1 : 0);
      case kWarningCol: return ResultOptionalText(ctx, s.warning);
      case kReasonCol: return ResultText(ctx, s.reason);
      case kEstRowsCol: return sqlite3_result_int64(ctx, s.est_rows);
      case kEstMsCol: return sqlite3_result_double(ctx, s.est_ms);
      default: return sqlite3_result_null(ctx);
    }
  });
  return SQLITE_OK;
}

int PlanRowid(sqlite3_vtab_cursor* cursor, sqlite3_int64* rowid) noexcept {
  *rowid = static_cast<sqlite3_int64>(static_cast<const PlanCursor*>(cursor)->row + 1);
  return SQLITE_OK;
}

}  // namespace

// Read-only (no xUpdate), no transactions of its own, eponymous-only: with no
// xCreate, CREATE VIRTUAL TABLE ... USING migrate_plan is refused.
const sqlite3_module kPlanModule = {
    /*iVersion=*/0,
    /*xCreate=*/nullptr,
    /*xConnect=*/PlanConnect,
    /*xBestIndex=*/PlanBestIndex,
    /*xDisconnect=*/PlanDisconnect,
    /*xDestroy=*/nullptr,
    /*xOpen=*/PlanOpen,
    /*xClose=*/PlanClose,
    /*xFilter=*/PlanFilter,
    /*xNext=*/PlanNext,
    /*xEof=*/PlanEof,
    /*xColumn=*/PlanColumn,
    /*xRowid=*/PlanRowid,
};

}  // namespace automigrate::ext
