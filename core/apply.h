// core/apply.h -- migrate_apply: plan, check, then run every step in one
// transaction under SQLite's write lock, with a time limit, a foreign-key
// check before commit, and a history record of the batch.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/backup.h"
#include "core/plan.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

// The default of ApplyOptions::sorter_threads: the machine's hardware
// threads, at most 4, and 0 on a single-core machine (a worker thread there
// only competes with the main one).
int DefaultSorterThreads();

// Without an explicit sorter_threads, the worker threads are used only for
// plans with a step that can sort (create_index, rebuild_table)
// over at least this many rows: below it, starting them cost more than they
// saved (BENCHMARKS.md, "Quiet runs": +8-27% on a 100k-row rebuild, -6-11% at
// 1M and 5M rows).
inline constexpr int64_t kSorterThreadsMinRows = 250000;

// The most sorter_threads accepts: SQLite's default SQLITE_MAX_WORKER_THREADS
// (a host built with a lower cap silently clamps to it).
inline constexpr int kMaxSorterThreads = 8;

struct ApplyOptions {
  PlanOptions plan;
  bool dry_run = false;
  bool allow_destructive = false;
  std::string backup = "auto";  // auto | always | never
  std::optional<std::string> backup_dir;
  int64_t max_execution_time_ms = 15000;  // 0: no limit
  std::optional<std::string> expected_plan_hash;
  // Worker threads for SQLite's sorter (PRAGMA threads) while a plan that
  // builds indexes (create_index, rebuild_table) runs; the connection's own
  // setting is restored afterwards on every path. 0: leave it alone.
  // nullopt: DefaultSorterThreads() when a step sorts at least
  // kSorterThreadsMinRows rows, else leave it alone.
  std::optional<int> sorter_threads;
  // Called after each step that ran without error (dry runs too), with the
  // steps done so far, the plan's total and the milliseconds since Apply
  // started; for progress reports. Must not throw; must not use `db`.
  std::function<void(size_t done, size_t total, const Step& step, double elapsed_ms)> on_step_done;
};

// The start-up fast path: true when the newest version-changing batch
// applied exactly this desired text with these options and the schema is
// what it left (PRAGMA schema_version unmoved since, or else the same schema
// hash): the plan is empty, known without loading the desired DDL. Any
// change behind the extension's back moves schema_version and changes the
// hash. Never writes.
Result<bool> UnchangedSinceLastApply(sqlite3* db, std::string_view desired_sql,
                                     const PlanOptions& p);

struct ApplyReport {
  bool ok = true;
  std::optional<int64_t> batch;  // nullopt when there was nothing to do
  int64_t version = 0;           // the database's migration version afterwards
  int64_t steps = 0;
  double duration_ms = 0;
  std::optional<BackupRecord> backup;  // the backup taken for this batch
  std::string backup_note;             // why none was taken when one would have been
  bool dry_run = false;
  std::string plan_hash;

  // {ok, batch, version, steps, duration_ms, backup, dry_run}; backup is
  // {id, path, bytes, checksum, created_at} or null, followed by
  // "backup_note" when a backup was wanted but not taken.
  std::string ToJson() const;
};

// Backups (`backup`): "auto" takes one when the plan has a destructive step
// or a rebuild, "always" for every batch that changes something, "never"
// none; never for a dry run. It is taken under the migration's lock before
// the first step (for an in-memory database, just before the lock: nothing
// else can write it), counts against the time limit, and its failure aborts
// the batch before any change. Inside a caller's transaction it is taken
// before the savepoint through a second connection, as long as that
// transaction has not written yet. After a write no copy can show what the
// caller sees: "auto" then takes none and says so in backup_note (the
// caller's ROLLBACK is the way back), "always" is refused.
// In-memory/temporary databases with "auto" and no backup_dir take none and
// say so in backup_note; "always" there needs backup_dir.
//
// Errors are Statuses whose message starts with "migrate_apply: " and says
// what to do: destructive plan without allow_destructive, failed data
// pre-check, stale plan hash, lock not obtained, time limit, a failing step,
// foreign-key violations. Refusals decided before the transaction starts
// write nothing; failures after it started roll back, then record a failed
// batch.
Result<ApplyReport> Apply(sqlite3* db, std::string_view desired_sql, const ApplyOptions& options);

}  // namespace automigrate
