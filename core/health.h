// core/health.h -- migrate_health: a score from 0 to 100, the checks behind
// it and what to do about each finding (docs/HEALTH.md).
//
// The score starts at 100; every check that warns or fails subtracts a fixed
// penalty (the table below), and the result is clamped at 0. A check that
// does not apply, or could not run, is "skipped" and costs nothing; its
// detail says why.
//
//   check                penalty
//   integrity            fail 50   PRAGMA quick_check (integrity_check with full_integrity)
//   foreign_keys         fail 20   PRAGMA foreign_key_check finds violating rows
//   recent_failures      warn 5 per failed batch in the window, at most 20
//   interrupted_batches  warn 10   the newest batch failed, or one in the window hit
//                                  the time limit / was interrupted
//   backups              fail 15   a recent batch's backup is gone (record or file)
//                        fail 15   a recent batch's backup fails verification
//                        warn 5    an applied batch only a backup can undo has none
//   backup_disk_use      warn 5    backups use more than 10x the database and more
//                                  than 64 MiB
//   drift                warn 10   the database differs from `desired` (only when given)
//   history_consistency  warn 10   the schema changed since the latest migrate_apply
//
// Health writes nothing: no history row, no verified_at on a backup record,
// no file. Apart from quick_check/integrity_check, foreign_key_check and the
// verification of the newest kVerifiedBackups backups (each reads its whole
// file), the cost is a few reads of the schema and the history tables.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/plan.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

inline constexpr int kIntegrityPenalty = 50;
inline constexpr int kForeignKeysPenalty = 20;
inline constexpr int kFailedBatchPenalty = 5;
inline constexpr int kFailedBatchesMaxPenalty = 20;
inline constexpr int kInterruptedPenalty = 10;
inline constexpr int kBackupMissingPenalty = 15;
inline constexpr int kBackupUnverifiablePenalty = 15;
inline constexpr int kBackupNotTakenPenalty = 5;
inline constexpr int kBackupDiskUsePenalty = 5;
inline constexpr int kDriftPenalty = 10;
inline constexpr int kHistoryInconsistentPenalty = 10;

// Backups whose whole file is re-hashed and integrity-checked (the newest
// ones); older backups of the window are checked by existence and size.
inline constexpr int kVerifiedBackups = 3;
// backup_disk_use warns above both: kBackupDiskUseRatio times the database
// size, and kBackupDiskUseFloorBytes (small totals never matter).
inline constexpr int64_t kBackupDiskUseRatio = 10;
inline constexpr int64_t kBackupDiskUseFloorBytes = int64_t{64} << 20;
// Messages shown from quick_check / integrity_check.
inline constexpr int kIntegrityMessages = 10;

enum class CheckStatus { kOk, kWarn, kFail, kSkipped };
std::string_view CheckStatusName(CheckStatus status);  // "ok", "warn", "fail", "skipped"

struct HealthCheck {
  std::string name;  // snake_case, stable: "integrity", "foreign_keys", ...
  CheckStatus status = CheckStatus::kOk;
  int penalty = 0;  // points taken off the score
  std::string detail;
  // Measurements, output as extra keys after "detail" ({"failed": 2, ...}).
  std::vector<std::pair<std::string, int64_t>> numbers;

  bool ok() const { return penalty == 0; }  // ok or skipped
};

struct HealthReport {
  int score = 100;
  std::vector<HealthCheck> checks;           // in the order of the table above
  std::vector<std::string> recommendations;  // one per finding, in check order

  // The check named `name`, or nullptr.
  const HealthCheck* Find(std::string_view name) const;
  // {"score": 90, "checks": [{"name", "status", "ok", "penalty", "detail",
  // <numbers>...}], "recommendations": ["..."]}
  std::string ToJson() const;
};

struct HealthRequest {
  std::string schema = "main";
  // The desired DDL; drift is checked only when given.
  std::optional<std::string> desired;
  PlanOptions plan;             // for drift; its schema is replaced by `schema`
  bool full_integrity = false;  // integrity_check instead of quick_check
  // Where backups are written: counted by backup_disk_use. Else
  // `<database file>.backups` (none for an in-memory database).
  std::optional<std::string> backup_dir;
  int recent_batches = 20;  // the window of the history checks, newest first
};

// Runs every check on `r.schema` of `db` and scores the result.
// Errors: recent_batches < 1; invalid desired DDL (as PlanMigration reports
// it); SQLITE_NOMEM. Any other database error inside one check (a damaged
// page, a lock) becomes that check's finding, so the rest still report.
Result<HealthReport> CheckHealth(sqlite3* db, const HealthRequest& r);

}  // namespace automigrate
