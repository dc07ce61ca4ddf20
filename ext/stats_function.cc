// ext/stats_function.cc -- migrate_stats([schema]).
//
//   SELECT migrate_stats();
//   -- {"batches":{"applied":3,"failed":1,"dry_run":2,"rolled_back":1},"total":7,
//   --  "success_rate":0.8,"mean_duration_ms":12.5,"max_duration_ms":40.2,
//   --  "last_batch":{"batch":7,"version":4,"status":"applied",
//   --                "started_at":"2024-05-01T10:00:00.000Z","duration_ms":3.1},
//   --  "recent_failures":[{"batch":5,"started_at":"...","error":"migrate_apply: ..."}]}
//
// Presentation of core's ReadBatches, so it lives here. It reads the
// history of the database, so it is DIRECTONLY like migration_batches.
#include "ext/stats_function.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/history.h"
#include "core/json_scope.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

constexpr std::string_view kFunction = "migrate_stats";
constexpr size_t kRecentFailures = 5;

// The summary of `batches`, in batch order as ReadBatches returns them.
// success_rate counts a rolled_back batch as a success: it was applied, and
// undoing it later (a new, applied batch) does not make the migration fail
// after the fact. Durations cover every batch, dry runs and failures too:
// they are all time spent holding the write lock.
std::string StatsJson(const std::vector<BatchRecord>& batches) {
  using nlohmann::ordered_json;
  int64_t applied = 0, failed = 0, dry_run = 0, rolled_back = 0;
  double total_ms = 0, max_ms = 0;
  for (const BatchRecord& b : batches) {
    if (b.status == "applied") ++applied;
    if (b.status == "failed") ++failed;
    if (b.status == "dry_run") ++dry_run;
    if (b.status == "rolled_back") ++rolled_back;
    total_ms += b.duration_ms;
    max_ms = std::max(max_ms, b.duration_ms);
  }
  // Built from complete objects and emptied before destruction: see
  // core/json_scope.h (nlohmann::json's destructor allocates).
  ordered_json j = ordered_json::object();
  JsonScope scope(j);
  ReserveMembers(j, 7);
  ordered_json& counts = j["batches"] = ordered_json::object();
  counts["applied"] = applied;
  counts["failed"] = failed;
  counts["dry_run"] = dry_run;
  counts["rolled_back"] = rolled_back;
  j["total"] = batches.size();
  const int64_t attempts = applied + rolled_back + failed;
  if (attempts)
    j["success_rate"] = static_cast<double>(applied + rolled_back) / static_cast<double>(attempts);
  else
    j["success_rate"] = nullptr;
  const bool any = !batches.empty();
  if (any) {
    j["mean_duration_ms"] = total_ms / static_cast<double>(batches.size());
    j["max_duration_ms"] = max_ms;
    const BatchRecord& last = batches.back();
    ordered_json& l = j["last_batch"] = ordered_json::object();
    l["batch"] = last.batch;
    if (last.version)
      l["version"] = *last.version;
    else
      l["version"] = nullptr;
    l["status"] = last.status;
    l["started_at"] = last.started_at;
    l["duration_ms"] = last.duration_ms;
  } else {
    j["mean_duration_ms"] = nullptr;
    j["max_duration_ms"] = nullptr;
    j["last_batch"] = nullptr;
  }
  ordered_json& recent = j["recent_failures"] = ordered_json::array();
  for (auto it = batches.rbegin(); it != batches.rend(); ++it) {
    if (it->status != "failed") continue;
    if (recent.size() == kRecentFailures) break;
    recent.push_back(ordered_json::object());
    ordered_json& f = recent.back();
    f["batch"] = it->batch;
    f["started_at"] = it->started_at;
    if (it->error)
      f["error"] = *it->error;
    else
      f["error"] = nullptr;
  }
  // Errors quote user DDL, which need not be valid UTF-8.
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace

void MigrateStatsFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    if (argc > 1)
      return ResultError(ctx, Status::InvalidArgument(fmt::format(
                                  "{}: expected 0 or 1 arguments ([schema])", kFunction)));
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<std::string> schema = SchemaArg(db, kFunction, argc > 0 ? argv[0] : nullptr);
    if (!schema.ok()) return ResultError(ctx, schema.status());
    Result<std::vector<BatchRecord>> batches = ReadBatches(db, *schema);
    if (!batches.ok()) return ResultError(ctx, WithFunctionName(kFunction, batches.status()));
    ResultText(ctx, StatsJson(*batches));
  });
}

}  // namespace automigrate::ext
