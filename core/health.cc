// core/health.cc -- the checks of migrate_health and their score.
//
// Each check is a function that returns a Finding (the check plus what to
// do about it). Database errors inside one check do not end the report: a
// damaged page or a lock makes that check "skipped" with the error as its
// detail (or "fail" where the error is the finding, as for quick_check on a
// damaged file); only SQLITE_NOMEM and an invalid desired schema are errors
// of the whole call.
#include "core/health.h"
#include "core/json_scope.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/backup.h"
#include "core/files.h"
#include "core/history.h"
#include "core/integrity.h"
#include "core/quote.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

// A check and the recommendations its findings call for.
struct Finding {
  HealthCheck check;
  std::vector<std::string> advice;
};

struct Context {
  sqlite3* db;
  const HealthRequest& r;
  // Every batch, oldest first (empty when never migrated), or why they
  // could not be read.
  Result<std::vector<BatchRecord>> batches;
  // The newest backup that verified and the batch it was taken for, for
  // the integrity recommendation.
  std::optional<std::string> good_backup;
  int64_t good_backup_batch = 0;
};

int PrimaryCode(const Status& s) { return s.code() & 0xff; }

// The file cannot be read as a database: that is the integrity finding.
bool IsDamage(const Status& s) {
  return PrimaryCode(s) == SQLITE_CORRUPT || PrimaryCode(s) == SQLITE_NOTADB;
}

// Errors that say something about the database right now (damage, a lock,
// an I/O error) rather than about the request.
bool IsDatabaseCondition(const Status& s) {
  const int c = PrimaryCode(s);
  return IsDamage(s) || c == SQLITE_BUSY || c == SQLITE_LOCKED || c == SQLITE_IOERR ||
         c == SQLITE_CANTOPEN || c == SQLITE_PERM || c == SQLITE_ABORT;
}

Finding Make(std::string_view name, CheckStatus status, int penalty, std::string detail) {
  Finding f;
  f.check.name = std::string(name);
  f.check.status = status;
  f.check.penalty = penalty;
  f.check.detail = std::move(detail);
  return f;
}

// A check that could not run: it costs nothing, and says why. A lock or an
// I/O error is worth a second try; damage is the integrity check's finding.
Finding CouldNotRun(std::string_view name, const Status& s) {
  Finding f = Make(name, CheckStatus::kSkipped, 0, "could not run: " + s.message());
  if (!IsDamage(s))
    f.advice.push_back(fmt::format("The {} check could not run ({}); run migrate_health again.",
                                   name, s.message()));
  return f;
}

// Runs `check`; an error other than SQLITE_NOMEM becomes a skipped check.
template <typename Check>
Result<Finding> Run(std::string_view name, Check&& check) {
  Result<Finding> f = check();
  if (f.ok() || PrimaryCode(f.status()) == SQLITE_NOMEM) return f;
  return CouldNotRun(name, f.status());
}

// At most `n` bytes of `text`, cut at a UTF-8 character boundary.
std::string Clip(std::string_view text, size_t n = 300) {
  if (text.size() <= n) return std::string(text);
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return std::string(text.substr(0, n)) + "...";
}

std::string HumanBytes(int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} bytes", bytes);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.1f} {}", v, units[u]);
}

std::string Plural(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string JoinFirst(const std::vector<std::string>& items, size_t max, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) {
    if (i) out += sep;
    out += items[i];
  }
  if (items.size() > max) out += fmt::format("{}and {} more", sep, items.size() - max);
  return out;
}

// "PRAGMA foreign_key_check" or "PRAGMA \"aux\".foreign_key_check", as a
// user would type it for this schema.
std::string PragmaText(std::string_view schema, std::string_view pragma) {
  if (schema == "main") return fmt::format("PRAGMA {}", pragma);
  return fmt::format("PRAGMA {}.{}", QuoteIdent(schema), pragma);
}

// The options argument a user would pass for this schema: "" for main
// without `extra` keys, else an SQL literal of the JSON object.
std::string OptionsText(std::string_view schema,
                        std::optional<int64_t> max_execution_time_ms = std::nullopt) {
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
  JsonScope scope(extra);  // see core/json_scope.h
  if (max_execution_time_ms) extra["max_execution_time_ms"] = *max_execution_time_ms;
  if (schema != "main") extra["schema"] = std::string(schema);
  if (extra.empty()) return {};
  return QuoteLiteral(extra.dump());
}

// "f(a, b)" without the trailing arguments that are empty.
std::string CallText(std::string_view function, std::vector<std::string> args) {
  while (!args.empty() && args.back().empty()) args.pop_back();
  std::string out = fmt::format("{}(", function);
  for (size_t i = 0; i < args.size(); ++i) out += (i ? ", " : "") + args[i];
  return out + ")";
}

// backup_create([path] [, options]): the path is NULL when options follow.
std::string BackupCreateText(std::string_view schema) {
  const std::string options = OptionsText(schema);
  return CallText("backup_create", {options.empty() ? "" : "NULL", options});
}

// "migration_history" or "migration_history('aux')".
std::string VtabText(std::string_view schema, std::string_view vtab) {
  if (schema == "main") return std::string(vtab);
  return fmt::format("{}({})", vtab, QuoteLiteral(schema));
}

// The last `n` batches, oldest first.
std::vector<BatchRecord> Window(const std::vector<BatchRecord>& all, int n) {
  const size_t keep = std::min(all.size(), static_cast<size_t>(n));
  return std::vector<BatchRecord>(all.end() - static_cast<std::ptrdiff_t>(keep), all.end());
}

bool TimedOut(const BatchRecord& b) {
  if (b.status != "failed" || !b.error) return false;
  std::string e = *b.error;
  std::transform(e.begin(), e.end(), e.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return e.find("max_execution_time_ms") != std::string::npos ||
         e.find("interrupt") != std::string::npos;
}

// ---------------------------------------------------------------- integrity

Result<Finding> CheckIntegrity(Context& c) {
  const std::string& schema = c.r.schema;
  const std::string_view pragma = c.r.full_integrity ? "integrity_check" : "quick_check";
  const std::string shown = PragmaText(schema, pragma);
  // SQLite 3.40's false positives about WITHOUT ROWID tables are checked
  // against the data and dropped (core/integrity.h).
  Result<IntegrityReport> report =
      RunIntegrityCheck(c.db, schema, !c.r.full_integrity, kIntegrityMessages);
  if (!report.ok()) {
    const Status& s = report.status();
    if (!IsDamage(s)) return s;
    Finding f = Make("integrity", CheckStatus::kFail, kIntegrityPenalty,
                     fmt::format("{} could not read the database: {}", shown, s.message()));
    f.check.numbers.emplace_back("problems", 1);
    return f;
  }
  const std::vector<std::string>& problems = report->problems;
  if (problems.empty()) {
    Finding f = Make("integrity", CheckStatus::kOk, 0, shown + ": ok");
    f.check.numbers.emplace_back("problems", 0);
    return f;
  }
  const int64_t n = static_cast<int64_t>(problems.size());
  Finding f = Make("integrity", CheckStatus::kFail, kIntegrityPenalty,
                   fmt::format("{} found {}{}: {}", shown, Plural(n, "problem", "problems"),
                               n >= kIntegrityMessages ? " (the first ones)" : "",
                               JoinFirst(problems, 5, "; ")));
  f.check.numbers.emplace_back("problems", n);
  return f;
}

// The integrity advice names a backup when the backups check verified one,
// so it is written after every check ran.
std::string IntegrityAdvice(const Context& c) {
  const std::string restore =
      c.good_backup
          ? fmt::format(
                "restore the newest backup that verifies, taken before batch {} (rows "
                "written since are not in it), with {}",
                c.good_backup_batch,
                CallText("backup_restore", {QuoteLiteral(*c.good_backup), OptionsText(c.r.schema)}))
          : fmt::format(
                "restore a backup that verifies (backup_verify, then backup_restore; "
                "SELECT path FROM {} lists them)",
                VtabText(c.r.schema, "migration_backups"));
  return fmt::format(
      "The database file is damaged: stop writing to it, copy it aside, then {}, or salvage its "
      "rows with the sqlite3 shell's .recover.{}",
      restore,
      c.r.full_integrity
          ? ""
          : fmt::format(" {} lists every problem.", PragmaText(c.r.schema, "integrity_check")));
}

// ------------------------------------------------------------- foreign_keys

Result<Finding> CheckForeignKeys(Context& c) {
  const std::string& schema = c.r.schema;
  Stmt q;
  // Grouped in SQL: one row per (child, parent) pair, however many rows
  // violate it.
  AM_RETURN_IF_ERROR(
      q.Prepare(c.db,
                "SELECT \"table\", parent, count(*) FROM pragma_foreign_key_check(NULL, ?1) "
                "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2"));
  q.Bind(1, schema);
  int64_t rows = 0;
  std::set<std::string> tables;
  std::vector<std::string> pairs;
  while (q.Step()) {
    const int64_t n = q.Int(2);
    rows += n;
    tables.insert(q.Text(0));
    pairs.push_back(fmt::format("{} -> {} ({})", q.Text(0), q.Text(1), Plural(n, "row", "rows")));
  }
  const Status& s = q.status();
  const std::string check = PragmaText(schema, "foreign_key_check");
  if (!s.ok()) {
    // A foreign key whose parent key is not PRIMARY KEY or UNIQUE: every
    // write to the child fails while foreign keys are on.
    if (s.message().find("foreign key mismatch") == std::string::npos) return s;
    Finding f = Make("foreign_keys", CheckStatus::kFail, kForeignKeysPenalty,
                     fmt::format("{} failed: {}", check, s.message()));
    f.advice.push_back(fmt::format(
        "A foreign key names a parent key that is not its table's PRIMARY KEY or UNIQUE ({}): "
        "fix the REFERENCES clause or add the UNIQUE constraint in the desired schema and "
        "migrate_apply it.",
        s.message()));
    return f;
  }
  if (rows == 0) {
    Finding f = Make("foreign_keys", CheckStatus::kOk, 0, check + ": no violations");
    f.check.numbers = {{"violations", 0}, {"tables", 0}};
    return f;
  }
  Finding f = Make("foreign_keys", CheckStatus::kFail, kForeignKeysPenalty,
                   fmt::format("{} foreign keys: {}", Plural(rows, "row violates", "rows violate"),
                               JoinFirst(pairs, 5, ", ")));
  f.check.numbers = {{"violations", rows}, {"tables", static_cast<int64_t>(tables.size())}};
  f.advice.push_back(fmt::format(
      "Rows reference parents that do not exist: {} lists them (table, rowid, parent); insert "
      "the missing parents or fix or delete those rows, and keep PRAGMA foreign_keys=ON on every "
      "connection that writes.",
      check));
  return f;
}

// ---------------------------------------------------------- recent_failures

Result<Finding> CheckRecentFailures(Context& c) {
  if (!c.batches.ok()) return c.batches.status();
  const std::vector<BatchRecord> window = Window(*c.batches, c.r.recent_batches);
  int64_t failed = 0;
  const BatchRecord* newest = nullptr;
  for (const BatchRecord& b : window) {
    if (b.status != "failed") continue;
    ++failed;
    newest = &b;
  }
  const int64_t n = static_cast<int64_t>(window.size());
  Finding f;
  if (window.empty()) {
    f = Make("recent_failures", CheckStatus::kOk, 0, "no migration history");
  } else if (!newest) {
    f = Make("recent_failures", CheckStatus::kOk, 0,
             fmt::format("no failed batch among the last {}", Plural(n, "batch", "batches")));
  } else {
    f = Make(
        "recent_failures", CheckStatus::kWarn,
        static_cast<int>(std::min<int64_t>(failed * kFailedBatchPenalty, kFailedBatchesMaxPenalty)),
        fmt::format("{} of the last {} failed; the newest, batch {} at {}: {}", failed,
                    Plural(n, "batch", "batches"), newest->batch, newest->started_at,
                    Clip(newest->error.value_or("(no error recorded)"))));
    f.advice.push_back(fmt::format(
        "See why batch {} failed: SELECT step, op, object, error FROM {} WHERE batch = {} AND "
        "error IS NOT NULL; fix the cause the error names and run migrate_apply again.",
        newest->batch, VtabText(c.r.schema, "migration_history"), newest->batch));
  }
  f.check.numbers = {{"failed", failed}, {"batches", n}};
  return f;
}

// ------------------------------------------------------ interrupted_batches

// Apply is atomic: a crash or a kill leaves no batch row at all, and SQLite
// rolls the hot journal back on the next read, so no trace of it is left to
// find. What the history does show is a batch the time limit (or
// sqlite3_interrupt) stopped, and a newest attempt that failed: the database
// is then still at the version before it.
Result<Finding> CheckInterrupted(Context& c) {
  if (!c.batches.ok()) return c.batches.status();
  const std::vector<BatchRecord> window = Window(*c.batches, c.r.recent_batches);
  const BatchRecord* latest = nullptr;  // the newest attempt (dry runs change nothing)
  for (auto it = window.rbegin(); it != window.rend() && !latest; ++it)
    if (it->status != "dry_run") latest = &*it;
  const bool latest_failed = latest && latest->status == "failed";
  std::vector<std::string> timed_out;
  for (const BatchRecord& b : window)
    if (TimedOut(b)) timed_out.push_back(std::to_string(b.batch));
  int64_t version = 0;
  for (const BatchRecord& b : *c.batches) version = std::max(version, b.version.value_or(0));

  std::vector<std::string> parts;
  Finding f;
  if (latest_failed)
    parts.push_back(fmt::format(
        "the newest migration attempt, batch {} at {}, failed and was rolled back (the database "
        "is at version {})",
        latest->batch, latest->started_at, version));
  if (!timed_out.empty())
    parts.push_back(
        fmt::format("{} stopped by the time limit or an interrupt: {}",
                    Plural(static_cast<int64_t>(timed_out.size()), "batch was", "batches were"),
                    JoinFirst(timed_out, 5, ", ")));
  if (parts.empty()) {
    f = Make("interrupted_batches", CheckStatus::kOk, 0,
             window.empty() ? "no migration history"
                            : "the newest attempt completed; none was stopped by the time limit");
  } else {
    f = Make("interrupted_batches", CheckStatus::kWarn, kInterruptedPenalty,
             JoinFirst(parts, 2, "; "));
    if (latest_failed)
      f.advice.push_back(fmt::format(
          "The newest migration (batch {}) did not happen: the database is still at version {}. "
          "Fix the cause and run migrate_apply again before the application relies on the new "
          "schema.",
          latest->batch, version));
    if (!timed_out.empty())
      f.advice.push_back(fmt::format(
          "A migration ran out of time: run it when the database is quieter, or raise the limit "
          "with {}.",
          CallText("migrate_configure",
                   {OptionsText(c.r.schema, 60000)})));
  }
  f.check.numbers = {{"latest_failed", latest_failed ? 1 : 0},
                     {"timed_out", static_cast<int64_t>(timed_out.size())}};
  return f;
}

// ------------------------------------------------------------------ backups

Result<Finding> CheckBackups(Context& c, const Result<std::vector<BackupRecord>>& backups) {
  if (!c.batches.ok()) return c.batches.status();
  const std::string& schema = c.r.schema;
  const std::vector<BatchRecord> window = Window(*c.batches, c.r.recent_batches);
  std::map<int64_t, const BackupRecord*> by_id;
  bool need_records = false;
  for (const BatchRecord& b : window) need_records |= b.status == "applied" && b.backup_id;
  if (need_records) {
    if (!backups.ok()) return backups.status();
    for (const BackupRecord& rec : *backups) by_id[rec.id] = &rec;
  }
  const bool memory = IsMemoryDatabase(c.db, schema);

  std::vector<std::string> missing, failed, not_taken, unreadable;
  int64_t checked = 0, verified = 0;
  // Newest first: the backups most likely to be restored are verified fully.
  for (auto it = window.rbegin(); it != window.rend(); ++it) {
    const BatchRecord& b = *it;
    if (b.status != "applied") continue;
    if (!b.backup_id) {
      // Only a backup can undo a step without rollback SQL (lost or
      // converted data). An in-memory database has nowhere to keep one.
      if (!b.rollback_sql_possible && !b.reverts && b.steps > 0 && !memory)
        not_taken.push_back(std::to_string(b.batch));
      continue;
    }
    ++checked;
    auto found = by_id.find(*b.backup_id);
    if (found == by_id.end()) {
      missing.push_back(fmt::format("batch {}: backup {} has no record", b.batch, *b.backup_id));
      continue;
    }
    const BackupRecord& rec = *found->second;
    if (!rec.exists) {
      missing.push_back(fmt::format("batch {}: {} is gone", b.batch, rec.path));
      continue;
    }
    if (verified < kVerifiedBackups) {
      ++verified;
      VerifyReport v = VerifyBackup(rec.path, rec);
      if (v.read_error) {
        // Says nothing about the backup: reported, not penalised.
        unreadable.push_back(fmt::format("batch {}: {}", b.batch, v.reason));
        continue;
      }
      if (v.ok) {
        if (!c.good_backup) {
          c.good_backup = rec.path;
          c.good_backup_batch = b.batch;
        }
      } else {
        failed.push_back(fmt::format("batch {}: {}: {}", b.batch, rec.path, v.reason));
      }
      continue;
    }
    // Older ones: the file is there and has the recorded size.
    Result<int64_t> size = FileSize(rec.path);
    if (!size.ok()) {
      missing.push_back(
          fmt::format("batch {}: {}: {}", b.batch, rec.path, size.status().message()));
    } else if (*size != rec.bytes) {
      failed.push_back(fmt::format("batch {}: {}: {} instead of the recorded {}", b.batch, rec.path,
                                   Plural(*size, "byte", "bytes"), rec.bytes));
    }
  }

  int penalty = 0;
  if (!missing.empty()) penalty += kBackupMissingPenalty;
  if (!failed.empty()) penalty += kBackupUnverifiablePenalty;
  if (!not_taken.empty()) penalty += kBackupNotTakenPenalty;
  const CheckStatus status = !missing.empty() || !failed.empty() ? CheckStatus::kFail
                             : !not_taken.empty()                ? CheckStatus::kWarn
                                                                 : CheckStatus::kOk;
  std::vector<std::string> parts;
  if (!missing.empty()) parts.push_back(fmt::format("missing: {}", JoinFirst(missing, 3, "; ")));
  if (!failed.empty())
    parts.push_back(fmt::format("failed verification: {}", JoinFirst(failed, 3, "; ")));
  if (!not_taken.empty())
    parts.push_back(fmt::format("no backup of {} (only a backup can undo {})",
                                Plural(static_cast<int64_t>(not_taken.size()), "batch", "batches"),
                                JoinFirst(not_taken, 5, ", ")));
  if (!unreadable.empty())
    parts.push_back(fmt::format("could not be read now (try again): {}",
                                JoinFirst(unreadable, 3, "; ")));
  std::string detail;
  if (parts.empty()) {
    detail = checked == 0 ? "no recent applied batch has or needs a backup"
                          : fmt::format(
                                "{} of recent batches present, {} verified in full "
                                "(checksum and integrity_check)",
                                Plural(checked, "backup", "backups"), verified);
  } else {
    detail = JoinFirst(parts, 3, "; ");
  }
  Finding f = Make("backups", status, penalty, std::move(detail));
  f.check.numbers = {{"checked", checked},
                     {"verified", verified},
                     {"missing", static_cast<int64_t>(missing.size())},
                     {"failed", static_cast<int64_t>(failed.size())},
                     {"not_taken", static_cast<int64_t>(not_taken.size())}};
  const std::string take = BackupCreateText(schema);
  if (!missing.empty())
    f.advice.push_back(fmt::format(
        "A recent batch's backup is gone, so migrate_rollback cannot restore it: take a new "
        "backup of the current state with {}.",
        take));
  if (!failed.empty())
    f.advice.push_back(
        fmt::format("A recent batch's backup does not verify: do not restore from it; confirm with "
                    "backup_verify('<path>') and take a new backup with {}.",
                    take));
  if (!not_taken.empty())
    f.advice.push_back(fmt::format(
        "Batch {} changed data that only a backup can bring back, and none was taken: take one "
        "now with {}, and keep migrate_apply's \"backup\" option at \"auto\".",
        not_taken.front(), take));
  return f;
}

// ---------------------------------------------------------- backup_disk_use

Result<int64_t> DatabaseBytes(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(int64_t pages,
                      QueryInt(db, fmt::format("PRAGMA {}.page_count", QuoteIdent(schema)), 0));
  AM_ASSIGN_OR_RETURN(int64_t page_size,
                      QueryInt(db, fmt::format("PRAGMA {}.page_size", QuoteIdent(schema)), 0));
  return pages * page_size;
}

Result<Finding> CheckBackupDiskUse(Context& c, const Result<std::vector<BackupRecord>>& backups) {
  if (!backups.ok()) return backups.status();
  const std::string& schema = c.r.schema;
  AM_ASSIGN_OR_RETURN(int64_t db_bytes, DatabaseBytes(c.db, schema));

  // Recorded backups (and their sidecars) wherever they are, then whatever
  // else is in the backup directory: orphaned copies use the disk too.
  std::set<std::string> counted;
  int64_t bytes = 0, files = 0, unrecorded = 0;
  auto add = [&](const std::string& path, bool recorded) {
    if (!counted.insert(path).second) return;
    Result<int64_t> size = FileSize(path);
    if (!size.ok()) return;  // gone: the backups check reports it
    bytes += *size;
    ++files;
    if (!recorded) ++unrecorded;
  };
  for (const BackupRecord& rec : *backups) {
    // A sidecar left by a deleted copy is still part of a recorded backup
    // (the backups check reports the copy as gone).
    if (rec.exists) add(rec.path, true);
    add(rec.path + ".json", true);
  }
  std::optional<std::string> dir;
  if (c.r.backup_dir) {
    dir = AbsolutePath(*c.r.backup_dir);
  } else if (Result<std::string> d = DefaultBackupDir(c.db, schema); d.ok()) {
    dir = AbsolutePath(*d);
  }
  // ListDirectory, not std::filesystem's iterator: see core/files.h.
  if (dir) {
    if (Result<std::vector<DirEntry>> entries = ListDirectory(*dir); entries.ok())
      for (const DirEntry& e : *entries)
        if (e.regular) add(AbsolutePath(*dir + "/" + e.name), false);
  }

  // What killed calls left (core/backup.h, FindOrphans): restore scratch
  // copies beside the database, partial and never-recorded backups.
  std::vector<std::string> dirs;
  if (dir) dirs.push_back(*dir);
  AM_ASSIGN_OR_RETURN(std::vector<OrphanFile> orphans, FindOrphans(c.db, schema, dirs));
  int64_t orphan_bytes = 0;
  std::vector<std::string> orphan_names;
  for (const OrphanFile& o : orphans) {
    orphan_bytes += o.bytes;
    orphan_names.push_back(fmt::format("{} ({})", o.path, o.kind));
  }
  const int64_t n_orphans = static_cast<int64_t>(orphans.size());

  const bool too_much = bytes > kBackupDiskUseFloorBytes && bytes > kBackupDiskUseRatio * db_bytes;
  std::string detail =
      fmt::format("backups use {} in {} (the database: {}){}{}", HumanBytes(bytes),
                  Plural(files, "file", "files"), HumanBytes(db_bytes),
                  unrecorded ? fmt::format("; not recorded as backups: {} in {}",
                                           Plural(unrecorded, "file", "files"), *dir)
                             : "",
                  n_orphans ? fmt::format("; left by interrupted calls: {} ({}): {}",
                                          Plural(n_orphans, "file", "files"),
                                          HumanBytes(orphan_bytes),
                                          JoinFirst(orphan_names, 3, ", "))
                            : "");
  const bool warn = too_much || n_orphans > 0;
  Finding f = Make("backup_disk_use", warn ? CheckStatus::kWarn : CheckStatus::kOk,
                   warn ? kBackupDiskUsePenalty : 0, std::move(detail));
  f.check.numbers = {{"bytes", bytes},
                     {"files", files},
                     {"unrecorded_files", unrecorded},
                     {"database_bytes", db_bytes},
                     {"orphaned_files", n_orphans}};
  if (n_orphans)
    f.advice.push_back(fmt::format(
        "Interrupted backup_restore, backup_create or migrate_apply calls left {} ({}) that no "
        "backup record refers to: {} removes them.",
        Plural(n_orphans, "file", "files"), HumanBytes(orphan_bytes),
        CallText("backup_cleanup", {"1000000", OptionsText(schema)})));
  if (too_much) {
    f.advice.push_back(fmt::format(
        "Backups use {} ({} the database's size): remove old ones with {} (it keeps the newest "
        "3 and the backup of the batch migrate_rollback would undo next){}.",
        HumanBytes(bytes),
        db_bytes > 0 ? fmt::format("{}x", bytes / db_bytes) : std::string("more than"),
        CallText("backup_cleanup", {"3", OptionsText(schema)}),
        unrecorded ? fmt::format("; files in {} that are not recorded backups must be removed by "
                                 "hand",
                                 *dir)
                   : ""));
  }
  return f;
}

// -------------------------------------------------------------------- drift

Result<Finding> CheckDrift(Context& c) {
  if (!c.r.desired) {
    Finding f = Make("drift", CheckStatus::kSkipped, 0, "no desired schema given");
    return f;
  }
  PlanOptions options = c.r.plan;
  options.schema = c.r.schema;
  Result<Plan> plan = PlanMigration(c.db, *c.r.desired, options);
  if (!plan.ok()) {
    // An unreadable database is a finding of its own; an invalid desired
    // schema is the caller's error, as migrate_plan reports it.
    if (IsDatabaseCondition(plan.status())) return CouldNotRun("drift", plan.status());
    return plan.status();
  }
  if (plan->empty()) {
    Finding f = Make("drift", CheckStatus::kOk, 0, "the database matches the desired schema");
    f.check.numbers = {{"steps", 0}, {"destructive", 0}};
    return f;
  }
  std::vector<std::string> steps;
  int64_t destructive = 0;
  for (const Step& s : plan->steps) {
    steps.push_back(fmt::format("{} {}", OpName(s.op), s.object));
    destructive += s.destructive ? 1 : 0;
  }
  const int64_t n = static_cast<int64_t>(steps.size());
  Finding f =
      Make("drift", CheckStatus::kWarn, kDriftPenalty,
           fmt::format("{} needed to reach the desired schema{}: {}", Plural(n, "step", "steps"),
                       destructive ? fmt::format(" ({} destructive)", destructive) : "",
                       JoinFirst(steps, 5, ", ")));
  f.check.numbers = {{"steps", n}, {"destructive", destructive}};
  f.advice.push_back(fmt::format(
      "The database is not at the desired schema ({} away): review the plan with SELECT * FROM "
      "{} and apply it with {}.",
      Plural(n, "step", "steps"), CallText("migrate_plan", {"desired", OptionsText(c.r.schema)}),
      CallText("migrate_apply", {"desired", OptionsText(c.r.schema)})));
  return f;
}

// ------------------------------------------------------ history_consistency

Result<Finding> CheckHistoryConsistency(Context& c) {
  const std::string& schema = c.r.schema;
  AM_ASSIGN_OR_RETURN(std::optional<BatchRecord> last, LatestVersionBatch(c.db, schema));
  if (!last) {
    return Make("history_consistency", CheckStatus::kSkipped, 0,
                "never migrated by migrate_apply: no recorded schema to compare with");
  }
  AM_ASSIGN_OR_RETURN(std::string now, SchemaHash(c.db, schema));
  if (now == last->schema_hash_after) {
    Finding f = Make("history_consistency", CheckStatus::kOk, 0,
                     fmt::format("the schema is the one batch {} (version {}) left", last->batch,
                                 last->version.value_or(0)));
    f.check.numbers = {{"batch", last->batch}};
    return f;
  }
  Finding f =
      Make("history_consistency", CheckStatus::kWarn, kHistoryInconsistentPenalty,
           fmt::format("the schema changed outside migrate_apply: it is not the one batch {} "
                       "(version {}, at {}) left",
                       last->batch, last->version.value_or(0), last->started_at));
  f.check.numbers = {{"batch", last->batch}};
  f.advice.push_back(fmt::format(
      "The schema was changed outside migrate_apply after batch {}: make schema changes in the "
      "desired schema and let migrate_apply run them (migrate_plan shows how the database "
      "differs from it); migrate_rollback of batch {} may no longer apply cleanly, so take a "
      "backup first with {}.",
      last->batch, last->batch, BackupCreateText(schema)));
  return f;
}

}  // namespace

std::string_view CheckStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kOk:
      return "ok";
    case CheckStatus::kWarn:
      return "warn";
    case CheckStatus::kFail:
      return "fail";
    case CheckStatus::kSkipped:
      return "skipped";
  }
  return "ok";
}

const HealthCheck* HealthReport::Find(std::string_view name) const {
  for (const HealthCheck& c : checks)
    if (c.name == name) return &c;
  return nullptr;
}

std::string HealthReport::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // no allocation in its destructor
  ReserveMembers(j, 3);
  j["score"] = score;
  nlohmann::ordered_json& list = j["checks"] = nlohmann::ordered_json::array();
  for (const HealthCheck& c : checks) {
    list.push_back(nlohmann::ordered_json::object());
    nlohmann::ordered_json& o = list.back();
    o["name"] = c.name;
    o["status"] = CheckStatusName(c.status);
    o["ok"] = c.ok();  // DESIGN.md's {name, ok, detail}
    o["penalty"] = c.penalty;
    o["detail"] = c.detail;
    for (const auto& [key, value] : c.numbers) o[key] = value;
  }
  nlohmann::ordered_json& advice = j["recommendations"] = nlohmann::ordered_json::array();
  for (const std::string& a : recommendations) advice.push_back(a);
  // Details quote errors and paths, which need not be valid UTF-8.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<HealthReport> CheckHealth(sqlite3* db, const HealthRequest& r) {
  if (r.recent_batches < 1)
    return Status::InvalidArgument(
        fmt::format("recent_batches must be at least 1, not {}", r.recent_batches));
  Context c{db, r, ReadBatches(db, r.schema), std::nullopt, 0};
  if (!c.batches.ok() && PrimaryCode(c.batches.status()) == SQLITE_NOMEM) return c.batches.status();
  const Result<std::vector<BackupRecord>> backups = ReadBackups(db, r.schema);
  if (!backups.ok() && PrimaryCode(backups.status()) == SQLITE_NOMEM) return backups.status();

  // Drift first: an invalid desired schema is the call's error, found
  // before the expensive checks run.
  Result<Finding> drift = CheckDrift(c);
  if (!drift.ok()) return drift.status();

  std::vector<Finding> findings;
  auto add = [&](std::string_view name, auto&& check) -> Status {
    Result<Finding> f = Run(name, check);
    if (!f.ok()) return f.status();
    findings.push_back(std::move(f).value());
    return Status::Ok();
  };
  AM_RETURN_IF_ERROR(add("integrity", [&] { return CheckIntegrity(c); }));
  AM_RETURN_IF_ERROR(add("foreign_keys", [&] { return CheckForeignKeys(c); }));
  AM_RETURN_IF_ERROR(add("recent_failures", [&] { return CheckRecentFailures(c); }));
  AM_RETURN_IF_ERROR(add("interrupted_batches", [&] { return CheckInterrupted(c); }));
  AM_RETURN_IF_ERROR(add("backups", [&] { return CheckBackups(c, backups); }));
  AM_RETURN_IF_ERROR(add("backup_disk_use", [&] { return CheckBackupDiskUse(c, backups); }));
  findings.push_back(std::move(drift).value());
  AM_RETURN_IF_ERROR(add("history_consistency", [&] { return CheckHistoryConsistency(c); }));

  HealthReport report;
  int penalty = 0;
  for (Finding& f : findings) {
    if (f.check.name == "integrity" && f.check.status == CheckStatus::kFail)
      f.advice.push_back(IntegrityAdvice(c));
    penalty += f.check.penalty;
    for (std::string& a : f.advice)
      if (std::find(report.recommendations.begin(), report.recommendations.end(), a) ==
          report.recommendations.end())
        report.recommendations.push_back(std::move(a));
    report.checks.push_back(std::move(f.check));
  }
  report.score = std::max(0, 100 - penalty);
  return report;
}

}  // namespace automigrate
