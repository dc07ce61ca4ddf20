// core/apply.h -- migrate_apply: plan, check, then run every step in one
// transaction under SQLite's write lock, with a time limit, a foreign-key
// check before commit, and a history record of the batch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/plan.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct ApplyOptions {
  PlanOptions plan;
  bool dry_run = false;
  bool allow_destructive = false;
  std::string backup = "auto";  // auto | always | never
  std::optional<std::string> backup_dir;
  int64_t max_execution_time_ms = 15000;  // 0: no limit
  std::optional<std::string> expected_plan_hash;
};

struct ApplyReport {
  bool ok = true;
  std::optional<int64_t> batch;  // nullopt when there was nothing to do
  int64_t version = 0;           // the database's migration version afterwards
  int64_t steps = 0;
  double duration_ms = 0;
  std::optional<std::string> backup;
  bool dry_run = false;
  std::string plan_hash;

  std::string ToJson() const;  // {ok, batch, version, steps, duration_ms, backup, dry_run}
};

// Errors are Statuses whose message starts with "migrate_apply: " and says
// what to do: destructive plan without allow_destructive, failed data
// pre-check, stale plan hash, lock not obtained, time limit, a failing step,
// foreign-key violations. Refusals decided before the transaction starts
// write nothing; failures after it started roll back, then record a failed
// batch.
Result<ApplyReport> Apply(sqlite3* db, std::string_view desired_sql, const ApplyOptions& options);

}  // namespace automigrate
