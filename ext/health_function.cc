// ext/health_function.cc -- migrate_health([desired] [, options]).
//
//   SELECT migrate_health(readfile('schema.sql'));
//   -- {"score":90,"checks":[{"name":"integrity","status":"ok","ok":true,"penalty":0,
//   --   "detail":"PRAGMA quick_check: ok","problems":0}, ...,
//   --   {"name":"drift","status":"warn","ok":false,"penalty":10,
//   --   "detail":"1 step needed to reach the desired schema: add_column users.email",
//   --   "steps":1,"destructive":0}, ...],
//   --  "recommendations":["The database is not at the desired schema: ..."]}
//   SELECT migrate_health(NULL, '{"full_integrity": true, "recent_batches": 50}');
//
// It reads the whole database (quick_check, foreign_key_check) and backup
// files, so it is registered DIRECTONLY (ext/functions.cc). The checks are
// core's (CheckHealth); this file converts arguments and options, parsed
// by ParseOptionsJson over the defaults stored with migrate_configure.
#include "ext/health_function.h"

#include <fmt/format.h>

#include "core/health.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

constexpr std::string_view kFunction = "migrate_health";
constexpr uint32_t kAccepted = kOptSchema | kOptFullIntegrity | kOptBackupDir |
                               kOptRecentBatches | kOptRename | kOptColumnOrder;

// The options argument, laid over the defaults stored for the schema it
// names (as migrate_apply does), into `r`.
Status ParseHealthOptions(sqlite3* db, sqlite3_value* arg, HealthRequest* r) {
  AM_ASSIGN_OR_RETURN(Options call, ParseOptionsArg(db, kFunction, arg, {}, kAccepted));
  AM_ASSIGN_OR_RETURN(Options stored, LoadStoredDefaults(db, kFunction, call.plan.schema));
  AM_ASSIGN_OR_RETURN(Options o, ParseOptionsArg(db, kFunction, arg, stored, kAccepted));
  r->schema = o.plan.schema;
  r->plan = o.plan;
  r->backup_dir = o.backup_dir;
  r->full_integrity = o.full_integrity;
  r->recent_batches = o.recent_batches;
  return Status::Ok();
}

Result<HealthRequest> RequestFromCall(sqlite3* db, int argc, sqlite3_value** argv) {
  if (argc > 2)
    return Status::InvalidArgument(
        fmt::format("{}: expected 0 to 2 arguments ([desired] [, options])", kFunction));
  HealthRequest r;
  if (argc > 0 && sqlite3_value_type(argv[0]) != SQLITE_NULL) {  // NULL: no drift check
    Result<std::string_view> desired = DesiredArg(kFunction, argv[0]);
    if (!desired.ok()) return desired.status();
    r.desired = std::string(*desired);
  }
  AM_RETURN_IF_ERROR(ParseHealthOptions(db, argc > 1 ? argv[1] : nullptr, &r));
  return r;
}

}  // namespace

void MigrateHealthFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<HealthRequest> request = RequestFromCall(db, argc, argv);
    if (!request.ok()) return ResultError(ctx, request.status());
    Result<HealthReport> report = CheckHealth(db, *request);
    if (!report.ok()) return ResultError(ctx, WithFunctionName(kFunction, report.status()));
    ResultText(ctx, report->ToJson());
  });
}

}  // namespace automigrate::ext
