// core/apply.cc -- the executor behind migrate_apply.
//
//   plan (no lock) -- nothing to do? return, writing nothing
//   refuse what can be refused without writing: stale hash, destructive,
//     failed data pre-checks
//   foreign_keys OFF (outside any transaction: inside one it is a no-op)
//   BEGIN IMMEDIATE (or a SAVEPOINT inside the caller's transaction)
//   re-plan under the lock; check again
//   run the steps; foreign_key_check the tables they touched
//   record the batch; COMMIT          -- or ROLLBACK, then record the failure
//   foreign_keys restored
// The time limit runs from taking the lock to the commit; a progress handler
// interrupts the statement that overruns it.
#include "core/apply.h"
#include "core/json_scope.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "core/ddl.h"
#include "core/history.h"
#include "core/quote.h"
#include "core/schema.h"
#include "core/sqlite_handle.h"
#include "core/txn.h"

namespace automigrate {
namespace {

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// After a COMMIT that reported an error: whether `batch` is in the database
// all the same, read back as any connection reads it (a hot journal is
// rolled back first). Unknown (the read fails) counts as not committed.
bool CommittedAnyway(sqlite3* db, std::string_view schema, const BatchRecord& batch) {
  Result<std::vector<BatchRecord>> now = ReadBatches(db, schema, batch.batch);
  if (!now.ok()) return false;
  for (const BatchRecord& b : *now)
    if (b.batch == batch.batch && b.status == "applied" && b.started_at == batch.started_at)
      return true;
  return false;
}

double Round3(double v) { return static_cast<double>(static_cast<int64_t>(v * 1000.0 + 0.5)) / 1000.0; }

Status Fail(std::string message) { return Status::Error("migrate_apply: " + message); }

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// Refusals that need no write: the reviewed plan moved, data would be lost
// without permission, or the data breaks a rule the plan tightens.
Status CheckPlan(const Plan& plan, const ApplyOptions& o) {
  if (o.expected_plan_hash && *o.expected_plan_hash != plan.Hash()) {
    return Fail(fmt::format(
        "the plan differs from the one reviewed (expected_plan_hash {}, the plan is now {}): the "
        "database or the desired schema changed; review migrate_plan again",
        *o.expected_plan_hash, plan.Hash()));
  }
  if (plan.Destructive() && !o.allow_destructive) {
    std::vector<std::string> loss;
    for (const Step& s : plan.steps)
      if (s.destructive)
        for (const std::string& l : s.data_loss) loss.push_back(l);
    return Fail(fmt::format(
        "the plan loses data: {}; nothing was changed. Review it with migrate_plan, then pass "
        "{{\"allow_destructive\": true}} (or add rename hints if these are renames)",
        Join(loss, ", ")));
  }
  std::vector<std::string> violations;
  for (const Step& s : plan.steps) {
    for (const Precheck& pc : s.prechecks) {
      if (pc.violations == 0) continue;
      std::string where = pc.column.empty() ? pc.table : pc.table + "." + pc.column;
      violations.push_back(fmt::format("{} row{} of {} violate{} {}", pc.violations,
                                       pc.violations == 1 ? "" : "s", where,
                                       pc.violations == 1 ? "s" : "", pc.rule));
    }
  }
  if (!violations.empty()) {
    return Fail(fmt::format("data pre-check failed, nothing was changed: {}. Fix those rows or "
                            "change the desired schema",
                            Join(violations, "; ")));
  }
  return Status::Ok();
}

// Tables another table's FOREIGN KEY references, in the live schema.
Result<std::set<std::string>> ReferencedTables(sqlite3* db, std::string_view schema) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT DISTINCT lower(f.\"table\") FROM {}.sqlite_schema AS m, "
                      "pragma_foreign_key_list(m.name, ?1) AS f WHERE m.type = 'table' "
                      "AND lower(f.\"table\") <> lower(m.name)",
                      QuoteIdent(schema))));
  q.Bind(1, schema);
  std::set<std::string> out;
  while (q.Step()) out.insert(q.Text(0));
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

// foreign_key_check over the tables a step can have broken: the rebuilt and
// dropped tables themselves, and every table whose keys point at a dropped
// table, at a rebuilt one whose referenced keys changed, or at a table that
// lost a UNIQUE index.
Status CheckForeignKeys(sqlite3* db, std::string_view schema, const Plan& plan) {
  std::set<std::string> touched, parents;
  for (const Step& s : plan.steps) {
    if (s.needs_foreign_keys_off) touched.insert(ddl::Lower(s.table_name));
    if (s.check_referencing_tables) parents.insert(ddl::Lower(s.table_name));
  }
  if (touched.empty() && parents.empty()) return Status::Ok();
  Stmt children;
  AM_RETURN_IF_ERROR(children.Prepare(
      db, fmt::format("SELECT m.name, lower(f.\"table\") FROM {}.sqlite_schema AS m, "
                      "pragma_foreign_key_list(m.name, ?1) AS f WHERE m.type = 'table'",
                      QuoteIdent(schema))));
  children.Bind(1, schema);
  std::set<std::string> check;
  while (children.Step())
    if (parents.count(children.Text(1)) || touched.count(ddl::Lower(children.Text(0))))
      check.insert(children.Text(0));
  AM_RETURN_IF_ERROR(children.status());

  std::vector<std::string> found;
  int64_t total = 0;
  for (const std::string& table : check) {
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT \"table\", rowid, parent FROM pragma_foreign_key_check(?1, ?2)"));
    q.Bind(1, table);
    q.Bind(2, schema);
    while (q.Step()) {
      ++total;
      if (found.size() < 5)
        found.push_back(fmt::format("{} rowid {} -> {}", q.Text(0),
                                    q.IsNull(1) ? "?" : q.Text(1), q.Text(2)));
    }
    AM_RETURN_IF_ERROR(q.status());
  }
  if (total == 0) return Status::Ok();
  return Status(SQLITE_CONSTRAINT_FOREIGNKEY,
                fmt::format("migrate_apply: foreign key check failed: {} row{} violate{} a "
                            "FOREIGN KEY ({}{}); the migration was rolled back",
                            total, total == 1 ? "" : "s", total == 1 ? "s" : "", Join(found, ", "),
                            total > 5 ? ", ..." : ""));
}

// What a plan depends on besides the live schema: the desired text and the
// options that change steps. Stored as the batch's desired_hash.
// With default options it is the hash of the desired text alone.
std::string PlanFingerprint(std::string_view desired_sql, const PlanOptions& p) {
  if (!p.strict_column_order && p.renames.empty() && p.in_place) return TextHash(desired_sql);
  std::string key = fmt::format("column_order={};", p.strict_column_order ? "strict" : "ignore");
  if (!p.in_place) key += "in_place=false;";
  for (const auto& [from, to] : p.renames) key += fmt::format("rename {}={};", from, to);
  key += '\n';
  key += desired_sql;
  return TextHash(key);
}

Result<bool> UnchangedSince(sqlite3* db, std::string_view schema, const std::string& fingerprint) {
  AM_ASSIGN_OR_RETURN(std::optional<LastApplied> last, ReadLastApplied(db, schema));
  if (!last || last->status != "applied" || last->desired_hash != fingerprint) return false;
  // SQLite moves schema_version on every schema change, whoever makes it:
  // unmoved, nothing changed. Moved (VACUUM moves it too), the schema's hash
  // decides.
  if (last->schema_version_after) {
    AM_ASSIGN_OR_RETURN(int64_t now, SchemaVersion(db, schema));
    if (now == *last->schema_version_after) return true;
  }
  AM_ASSIGN_OR_RETURN(std::string now, SchemaHash(db, schema));
  return now == last->schema_hash_after;
}

Status BackupInTransactionError() {
  return Fail(fmt::format(
      "backup \"always\" cannot be honoured: this transaction has already written, and no "
      "copy of the file can show its uncommitted changes; call migrate_apply before writing in "
      "the transaction or outside BEGIN...COMMIT, or pass {{\"backup\": \"auto\"}}"));
}

// SQLite rolled the migration's transaction back after an error (out of
// memory, I/O) that surfaced in a statement whose failure was not the
// step's own.
Status TransactionLost() {
  return Status(SQLITE_ABORT_ROLLBACK,
                "migrate_apply: the transaction was rolled back by SQLite after an earlier "
                "error (out of memory or I/O); the migration was rolled back");
}

Status BackupError(const Status& s) {
  return Status(s.code(), "migrate_apply: backup failed, nothing was changed: " + s.message());
}

// backup "auto": a step that loses data, rewrites a table's rows, or has no
// rollback SQL (e.g. ADD COLUMN ... REFERENCES, dropping a generated
// column): without a backup nothing could undo that batch.
bool WantsBackup(const Plan& plan, const ApplyOptions& o) {
  if (o.dry_run || o.backup == "never" || plan.empty()) return false;
  if (o.backup == "always") return true;
  for (const Step& s : plan.steps)
    if (s.destructive || s.op == Op::kRebuildTable || !s.rollback_sql) return true;
  return false;
}

// SQLite's sorter (CREATE INDEX, and so every index a rebuild recreates)
// splits its work over worker threads when the connection allows them
// (PRAGMA threads, a per-connection limit). Apply raises the limit for the
// plans that build indexes and gives the connection its own value back on
// every path: the application's setting is not ours to keep.
class SorterThreads {
 public:
  SorterThreads() = default;
  SorterThreads(const SorterThreads&) = delete;
  SorterThreads& operator=(const SorterThreads&) = delete;
  ~SorterThreads() { Restore(); }

  // Only for plans that sort rows; `threads` 0 leaves the connection alone,
  // and without `threads` only a plan that sorts many rows gets the default.
  void SetFor(sqlite3* db, const Plan& plan, std::optional<int> threads) noexcept {
    const int n = threads ? *threads : DefaultSorterThreads();
    if (active_ || n <= 0) return;
    const bool sorts = std::any_of(plan.steps.begin(), plan.steps.end(), [&](const Step& s) {
      if (s.op != Op::kCreateIndex && s.op != Op::kRebuildTable) return false;
      return threads.has_value() || s.est_rows >= kSorterThreadsMinRows;
    });
    if (!sorts) return;
    db_ = db;
    previous_ = sqlite3_limit(db, SQLITE_LIMIT_WORKER_THREADS, n);
    active_ = true;
  }
  void Restore() noexcept {
    if (active_) sqlite3_limit(db_, SQLITE_LIMIT_WORKER_THREADS, previous_);
    active_ = false;
  }

 private:
  sqlite3* db_ = nullptr;
  int previous_ = 0;
  bool active_ = false;
};

StepRecord RecordFor(size_t index, const Step& step) {
  StepRecord r;
  r.step = static_cast<int64_t>(index + 1);
  r.op = std::string(OpName(step.op));
  r.object = step.object;
  r.sql = step.sql;
  r.rollback_sql = step.rollback_sql;
  r.started_at = NowIso8601();
  return r;
}

}  // namespace

int DefaultSorterThreads() {
  // hardware_concurrency() is 0 when unknown: then no worker threads.
  const unsigned cores = std::thread::hardware_concurrency();
  return cores <= 1 ? 0 : static_cast<int>(std::min(cores, 4u));
}

Result<bool> UnchangedSinceLastApply(sqlite3* db, std::string_view desired_sql,
                                     const PlanOptions& p) {
  return UnchangedSince(db, p.schema, PlanFingerprint(desired_sql, p));
}

std::string ApplyReport::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();  // keys in DESIGN.md's order
  JsonScope scope(j);         // no allocation in its destructor
  j["ok"] = ok;
  j["batch"] = batch ? nlohmann::ordered_json(*batch) : nlohmann::ordered_json(nullptr);
  j["version"] = version;
  j["steps"] = steps;
  j["duration_ms"] = Round3(duration_ms);
  if (backup) {
    backup->Fill(j["backup"]);
  } else {
    j["backup"] = nullptr;
  }
  j["dry_run"] = dry_run;
  if (!backup_note.empty()) j["backup_note"] = backup_note;
  return j.dump();
}

Result<ApplyReport> Apply(sqlite3* db, std::string_view desired_sql, const ApplyOptions& o) {
  const auto t0 = Clock::now();
  const std::string& schema = o.plan.schema;
  const std::string started_at = NowIso8601();
  ApplyReport report;
  report.dry_run = o.dry_run;

  // The start-up path: nothing to do means nothing written, no lock taken.
  const std::string fingerprint = PlanFingerprint(desired_sql, o.plan);
  if (Result<bool> same = UnchangedSince(db, schema, fingerprint); same.ok() && *same) {
    AM_ASSIGN_OR_RETURN(report.version, CurrentVersion(db, schema));
    report.duration_ms = MsSince(t0);
    return report;
  }
  // data_version moves exactly when another connection commits to the file.
  const std::string data_version_sql = fmt::format("PRAGMA {}.data_version", QuoteIdent(schema));
  Result<int64_t> version_before = QueryInt(db, data_version_sql, -1);
  Result<Plan> first = PlanMigration(db, desired_sql, o.plan);
  if (!first.ok()) return first.status().WithPrefix("migrate_apply");
  if (first->empty()) {
    AM_ASSIGN_OR_RETURN(report.version, CurrentVersion(db, schema));
    report.plan_hash = first->Hash();
    report.duration_ms = MsSince(t0);
    return report;
  }
  AM_RETURN_IF_ERROR(CheckPlan(*first, o));
  SorterThreads sorter_threads;
  sorter_threads.SetFor(db, *first, o.sorter_threads);

  Result<int64_t> fk_setting = QueryInt(db, "PRAGMA foreign_keys", 0);
  if (!fk_setting.ok()) return fk_setting.status().WithPrefix("migrate_apply");
  const bool fk_on = *fk_setting != 0;
  const bool in_caller_tx = !sqlite3_get_autocommit(db);

  // Backups that cannot wait for the lock: refused inside a caller's
  // transaction (the committed file is not the state the caller sees), and
  // taken now for an in-memory database (nothing else can write it, and the
  // backup API cannot read a connection holding a write transaction).
  const bool memory = IsMemoryDatabase(db, schema);
  std::optional<BackupRecord> backup;
  if (WantsBackup(*first, o)) {
    // The caller's transaction has written nothing yet: the committed file is
    // what it sees, and a second connection can copy it now. Once it has
    // written, no copy can show its view.
    const bool caller_wrote =
        in_caller_tx && sqlite3_txn_state(db, schema.c_str()) == SQLITE_TXN_WRITE;
    if (caller_wrote && o.backup == "always") return BackupInTransactionError();
    if (caller_wrote) {
      report.backup_note =
          "no backup taken: the caller's transaction has already written, and no copy of the "
          "file can show its uncommitted changes (ROLLBACK is the way back until it commits)";
    } else if (memory && !o.backup_dir) {
      if (o.backup == "always") {
        return Fail("backup \"always\" needs backup_dir for an in-memory or temporary database "
                    "(it has no file to put backups beside)");
      }
      report.backup_note =
          "in-memory or temporary database: no backup taken (backup \"auto\" without backup_dir)";
    } else if (memory || in_caller_tx) {
      AM_ASSIGN_OR_RETURN(int64_t next, NextBatch(db, schema));
      BackupRequest br;
      br.schema = schema;
      br.dir = o.backup_dir;
      br.batch = next;
      Result<BackupRecord> taken = TakeBackup(db, br);
      if (!taken.ok()) return BackupError(taken.status());
      backup = std::move(taken).value();
    }
  }
  ForeignKeysOff fk_guard;

  if (fk_on && in_caller_tx && first->NeedsForeignKeysOff()) {
    // PRAGMA foreign_keys cannot change inside a transaction, and with keys
    // enforced DROP TABLE deletes rows and fires ON DELETE actions in the
    // tables that reference it.
    AM_ASSIGN_OR_RETURN(std::set<std::string> referenced, ReferencedTables(db, schema));
    for (const Step& s : first->steps) {
      if (!s.needs_foreign_keys_off || !referenced.count(ddl::Lower(s.table_name))) continue;
      return Fail(fmt::format(
          "{} {} cannot run inside an open transaction while foreign_keys is ON: other tables "
          "reference {}, and dropping it would delete or update their rows (PRAGMA foreign_keys "
          "cannot change inside a transaction). Call migrate_apply outside BEGIN...COMMIT (it "
          "switches foreign keys off around the migration itself), or set PRAGMA "
          "foreign_keys=OFF before BEGIN",
          OpName(s.op), s.table_name, s.table_name));
    }
  }
  if (fk_on && !in_caller_tx && first->NeedsForeignKeysOff()) {
    AM_RETURN_IF_ERROR(fk_guard.Enable(db).WithPrefix("migrate_apply"));
  }

  // Before tx: its destructor's ROLLBACK must come first (see the guard).
  WritableSchemaGuard schema_guard(db);
  Transaction tx(db);
  if (Status s = tx.Begin(); !s.ok()) {
    if ((s.code() & 0xff) == SQLITE_BUSY) {
      Result<int64_t> timeout = QueryInt(db, "PRAGMA busy_timeout", 0);
      return Status(s.code(),
                    fmt::format("migrate_apply: database is locked: another connection holds the "
                                "write lock (busy timeout {} ms); retry later or raise the busy "
                                "timeout",
                                timeout.ok() ? *timeout : 0));
    }
    return s.WithPrefix("migrate_apply");
  }
  Deadline deadline(db, o.max_execution_time_ms, /*interrupt=*/!tx.nested());
  auto timeout_error = [&]() {
    return Status(SQLITE_INTERRUPT,
                  fmt::format("migrate_apply: the migration ran longer than "
                              "max_execution_time_ms ({} ms) and was rolled back; raise "
                              "max_execution_time_ms or run it when the database is quieter",
                              o.max_execution_time_ms));
  };

  // Re-plan under the lock when another connection committed since the
  // first plan (it may have migrated, or changed the rows the pre-checks
  // counted); otherwise the first plan is still exact.
  Result<int64_t> version_locked = QueryInt(db, data_version_sql, -2);
  const bool unchanged =
      version_before.ok() && version_locked.ok() && *version_before == *version_locked;
  Result<Plan> planned = unchanged ? Result<Plan>(*first) : PlanMigration(db, desired_sql, o.plan);
  Plan plan = planned.ok() ? std::move(planned).value() : *first;
  Status failure;
  if (!planned.ok()) {
    // After BEGIN a failure is recorded, with the steps it never reached.
    failure = deadline.fired() ? timeout_error() : planned.status().WithPrefix("migrate_apply");
  } else if (plan.empty()) {
    tx.Rollback();
    AM_ASSIGN_OR_RETURN(report.version, CurrentVersion(db, schema));
    report.duration_ms = MsSince(t0);
    return report;
  } else {
    // Refusals under the lock change nothing and are not recorded either.
    AM_RETURN_IF_ERROR(CheckPlan(plan, o));
    if (fk_on && plan.NeedsForeignKeysOff() && !fk_guard.active() && !in_caller_tx) {
      // The plan grew a rebuild while we waited for the lock: foreign keys
      // must go off first, which needs the transaction closed.
      return Fail("the database changed while waiting for the lock; call migrate_apply again");
    }
    if (in_caller_tx && o.backup == "always" && !backup) return BackupInTransactionError();
    sorter_threads.SetFor(db, plan, o.sorter_threads);  // the re-plan may have grown an index
  }
  report.plan_hash = plan.Hash();

  // The backup, under the lock and before the first step: the file is the
  // committed pre-migration state. Its failure aborts the batch.
  if (failure.ok() && !backup && !memory && !in_caller_tx && WantsBackup(plan, o)) {
    BackupRequest br;
    br.schema = schema;
    br.dir = o.backup_dir;
    Result<int64_t> next = NextBatch(db, schema);
    if (next.ok()) br.batch = *next;
    br.lock_held = true;
    br.keep_going = [&] { return o.max_execution_time_ms <= 0 || !deadline.Expired(); };
    Result<BackupRecord> taken = TakeBackup(db, br);
    if (taken.ok()) {
      backup = std::move(taken).value();
    } else if ((taken.status().code() & 0xff) == SQLITE_INTERRUPT) {
      deadline.MarkFired();
      failure = timeout_error();
    } else {
      failure = BackupError(taken.status());
    }
  }

  // Run the steps. From here on every error goes to the failure path below.
  std::string hash_before;
  if (failure.ok()) {
    Result<std::string> h = SchemaHash(db, schema);
    if (h.ok())
      hash_before = *h;
    else
      failure = deadline.fired() ? timeout_error() : h.status().WithPrefix("migrate_apply");
  }
  std::vector<StepRecord> records;
  size_t failed_at = plan.steps.size();
  schema_guard.ArmFor(plan);
  for (size_t i = 0; i < plan.steps.size() && failure.ok(); ++i) {
    const Step& step = plan.steps[i];
    StepRecord r = RecordFor(i, step);
    if (o.max_execution_time_ms > 0 && deadline.Expired()) {
      // Between steps (the only check inside a caller's transaction).
      deadline.MarkFired();
      failure = timeout_error();
      r.status = "failed";
      r.error = failure.message();
      records.push_back(std::move(r));
      failed_at = i;
      break;
    }
    auto ts = Clock::now();
    // An out-of-memory or I/O error in any statement (even a read) can make
    // SQLite roll back the whole transaction; a step run after that would
    // autocommit on its own. Whatever failed unnoticed, stop here.
    Status s = sqlite3_get_autocommit(db) ? TransactionLost() : Exec(db, step.sql);
    r.duration_ms = MsSince(ts);
    if (!s.ok()) {
      failure = deadline.fired() ? timeout_error()
                                 : Status(s.code(), fmt::format("migrate_apply: step {} ({} {}) "
                                                                "failed: {}; the migration was "
                                                                "rolled back",
                                                                i + 1, OpName(step.op),
                                                                step.object, s.message()));
      r.status = "failed";
      r.error = failure.message();
      records.push_back(std::move(r));
      failed_at = i;
      break;
    }
    Result<std::string> h = SchemaHash(db, schema);
    if (!h.ok()) {
      // Not ignorable: the failed read may have rolled the transaction back.
      failure = deadline.fired() ? timeout_error() : h.status().WithPrefix("migrate_apply");
      r.status = "failed";
      r.error = failure.message();
      records.push_back(std::move(r));
      failed_at = i;
      break;
    }
    r.schema_hash = *h;
    r.status = o.dry_run ? "dry_run" : "applied";
    records.push_back(std::move(r));
    if (o.on_step_done) o.on_step_done(i + 1, plan.steps.size(), step, MsSince(t0));
  }
  if (failure.ok() && o.max_execution_time_ms > 0 && deadline.Expired()) {
    // The last step overran (inside a caller's transaction nothing was
    // interrupted): still a timeout, rolled back before commit.
    deadline.MarkFired();
    failure = timeout_error();
    if (!records.empty()) {
      records.back().status = "failed";
      records.back().error = failure.message();
      failed_at = records.size() - 1;
    }
  }
  if (failure.ok()) {
    failure = CheckForeignKeys(db, schema, plan);
    if (!failure.ok() && deadline.fired()) failure = timeout_error();
  }
  std::string hash_after = hash_before;
  if (failure.ok()) {
    Result<std::string> h = SchemaHash(db, schema);
    if (h.ok())
      hash_after = *h;
    else
      failure = deadline.fired() ? timeout_error() : h.status().WithPrefix("migrate_apply");
  }
  // Nothing may be recorded as applied once SQLite has rolled the
  // transaction back: the records would commit on their own.
  if (failure.ok() && sqlite3_get_autocommit(db)) failure = TransactionLost();

  BatchRecord batch;
  batch.started_at = started_at;
  batch.steps = static_cast<int64_t>(plan.steps.size());
  batch.plan_hash = plan.Hash();
  batch.desired_hash = fingerprint;
  batch.schema_hash_before = hash_before;

  if (failure.ok() && !o.dry_run) {
    Result<int64_t> version = CurrentVersion(db, schema);
    Result<int64_t> next = version.ok() ? NextBatch(db, schema) : version;
    Status recorded = next.status();
    if (recorded.ok()) {
      batch.batch = *next;
      batch.version = *version + 1;
      batch.status = "applied";
      batch.schema_hash_after = hash_after;
      batch.duration_ms = MsSince(t0);
      if (backup) {
        Result<int64_t> id = RecordBackup(db, schema, *backup);
        recorded = id.status();
        if (id.ok()) backup->id = batch.backup_id.emplace(*id);
      }
      if (recorded.ok()) recorded = RecordBatch(db, schema, batch, records);
    }
    if (recorded.ok()) recorded = tx.Commit(deadline);
    if (!recorded.ok() && !tx.nested() && sqlite3_get_autocommit(db) &&
        CommittedAnyway(db, schema, batch)) {
      // An I/O error after the commit point (while the journal is cleaned
      // up): the migration is in the database, and must not be recorded as
      // failed nor reported as rolled back.
      deadline.Remove();
      fk_guard.Restore();
      schema_guard.Disarm();
      return Status(recorded.code(),
                    fmt::format("migrate_apply: the migration was committed (batch {}, version "
                                "{}), but SQLite reported an error after the commit: {}",
                                batch.batch, *batch.version, recorded.message()));
    }
    if (recorded.ok()) {
      deadline.Remove();
      fk_guard.Restore();
      schema_guard.Disarm();
      report.batch = batch.batch;
      report.version = *batch.version;
      report.steps = batch.steps;
      report.backup = backup;
      report.duration_ms = MsSince(t0);
      return report;
    }
    failure = deadline.fired() ? timeout_error() : recorded.WithPrefix("migrate_apply: commit");
    failed_at = plan.steps.size();
  }

  // Dry run, or failure: undo everything, then record what happened.
  tx.Rollback();
  schema_guard.Reset();
  deadline.Remove();
  fk_guard.Restore();
  for (size_t i = records.size(); i < plan.steps.size(); ++i) {
    StepRecord r = RecordFor(i, plan.steps[i]);
    r.status = "skipped";
    records.push_back(std::move(r));
  }
  if (!failure.ok())
    for (size_t i = 0; i < records.size(); ++i)
      if (i != failed_at && records[i].status != "skipped") records[i].status = "failed";
  batch.status = failure.ok() ? "dry_run" : "failed";
  if (!failure.ok()) batch.version.reset();  // set for a commit that failed
  if (!failure.ok()) batch.error = failure.message();
  batch.schema_hash_after = hash_before;  // rolled back
  batch.duration_ms = MsSince(t0);

  // The record is its own small transaction (inside the caller's, if any).
  Transaction rec(db);
  Status s = rec.Begin();
  if (s.ok()) {
    Result<int64_t> next = NextBatch(db, schema);
    s = next.status();
    if (s.ok()) {
      batch.batch = *next;
      if (backup) {
        // The backup was taken (the batch failed later): keep it on record.
        backup->batch = batch.batch;
        Result<int64_t> id = RecordBackup(db, schema, *backup);
        s = id.status();
        if (id.ok()) backup->id = batch.backup_id.emplace(*id);
      }
      if (s.ok()) s = RecordBatch(db, schema, batch, records);
    }
    // One attempt, bounded by the busy timeout: a reader that blocks the
    // record must not hold the error back (it then says so).
    if (s.ok()) s = rec.Commit(Deadline(db, 0, false));
  }
  if (!failure.ok()) {
    if (!s.ok()) {
      return Status(failure.code(), failure.message() + fmt::format(
                                        " (and recording the failure failed: {})", s.message()));
    }
    return failure;
  }
  if (!s.ok()) return s.WithPrefix("migrate_apply: recording the dry run");
  AM_ASSIGN_OR_RETURN(report.version, CurrentVersion(db, schema));
  report.batch = batch.batch;
  report.steps = batch.steps;
  report.duration_ms = MsSince(t0);
  return report;
}

}  // namespace automigrate
