// core/rollback.cc -- the engine behind migrate_rollback (see core/rollback.h).
//
//   find the batch: the newest applied batch that is not a rollback
//   choose the method: sql when every step has rollback SQL, else backup
//   sql:    what would the rollback SQL discard? refuse unless force
//           foreign_keys OFF, BEGIN IMMEDIATE, check the batch is still the
//           latest, replay the rollback SQL newest step first,
//           foreign_key_check, record, COMMIT (or ROLLBACK, record the failure)
//   backup: RestoreBackup, which compares the live rows with the backup
//           under the write lock and refuses unless force
#include "core/rollback.h"
#include "core/json_scope.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <nlohmann/json.hpp>

#include "core/ddl.h"
#include "core/files.h"
#include "core/history.h"
#include "core/plan.h"
#include "core/quote.h"
#include "core/sqlite_handle.h"
#include "core/txn.h"

namespace automigrate {
namespace {

Status Fail(int code, std::string message) {
  return Status(code, "migrate_rollback: " + message);
}
Status Fail(std::string message) { return Fail(SQLITE_ERROR, std::move(message)); }

// After a COMMIT that reported an error: whether `batch` is in the database
// all the same, read back as any connection reads it (a hot journal is
// rolled back first). Unknown (the read fails) counts as not committed.
bool CommittedAnyway(sqlite3* db, std::string_view schema, const BatchRecord& batch) {
  Result<std::vector<BatchRecord>> now = ReadBatches(db, schema, batch.batch);
  if (!now.ok()) return false;
  for (const BatchRecord& b : *now)
    if (b.batch == batch.batch && b.status == "applied" && b.reverts == batch.reverts &&
        b.started_at == batch.started_at)
      return true;
  return false;
}

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// The batch migrate_rollback undoes next.
std::optional<BatchRecord> Candidate(const std::vector<BatchRecord>& batches) {
  for (auto it = batches.rbegin(); it != batches.rend(); ++it)
    if (it->status == "applied" && !it->reverts) return *it;
  return std::nullopt;
}

// `ALTER TABLE [schema.]name` at the start of `t`: the name and the index
// of the token after it, or nullopt.
std::optional<std::pair<std::string, size_t>> AlteredTable(const std::vector<ddl::Token>& t) {
  if (t.size() < 3 || !t[0].Is("ALTER") || !t[1].Is("TABLE") || !t[2].IsName())
    return std::nullopt;
  if (t.size() > 4 && t[3].IsPunct(".") && t[4].IsName())
    return std::make_pair(t[4].Value(), size_t{5});
  return std::make_pair(t[2].Value(), size_t{3});
}

// `ALTER TABLE "old" RENAME TO "new"` -> {new, old}.
std::optional<std::pair<std::string, std::string>> TableRename(std::string_view sql) {
  std::vector<ddl::Token> t = ddl::Tokenize(sql);
  auto table = AlteredTable(t);
  if (!table) return std::nullopt;
  size_t i = table->second;
  if (i + 2 >= t.size() || !t[i].Is("RENAME") || !t[i + 1].Is("TO") || !t[i + 2].IsName())
    return std::nullopt;
  return std::make_pair(t[i + 2].Value(), table->first);
}

// `ALTER TABLE t RENAME [COLUMN] "old" TO "new"` -> {t, new, old}.
std::optional<ColumnRename> ColumnRenameOf(std::string_view sql) {
  std::vector<ddl::Token> t = ddl::Tokenize(sql);
  auto table = AlteredTable(t);
  if (!table) return std::nullopt;
  size_t i = table->second;
  if (i >= t.size() || !t[i].Is("RENAME")) return std::nullopt;
  ++i;
  if (i < t.size() && t[i].Is("COLUMN")) ++i;
  if (i + 2 >= t.size() || !t[i].IsName() || !t[i + 1].Is("TO") || !t[i + 2].IsName())
    return std::nullopt;
  return ColumnRename{table->first, t[i + 2].Value(), t[i].Value()};
}

// The columns of the first CREATE TABLE in `sql` (a rebuild's rollback SQL
// creates the table's old shape first) and those its copy reads, lower-cased.
std::set<std::string> FirstCreatedColumns(std::string_view sql) {
  std::vector<ddl::Token> t = ddl::Tokenize(sql);
  size_t end = 0;
  while (end < t.size() && !t[end].IsPunct(";")) ++end;
  std::string_view create =
      sql.substr(0, end < t.size() ? t[end].offset : sql.size());
  std::set<std::string> out;
  if (auto def = ddl::ParseCreateTable(create))
    for (const auto& c : def->columns) out.insert(ddl::Lower(c.name));
  // The copy that follows (INSERT INTO ... SELECT <columns> FROM ...) reads
  // the current columns: one a rebuild renamed is carried back under its old
  // name, not lost.
  size_t i = end + 1;
  while (i < t.size() && !t[i].IsPunct(";") && !t[i].Is("SELECT")) ++i;
  for (int depth = 0; ++i < t.size() && !t[i].IsPunct(";");) {
    if (t[i].IsPunct("(")) ++depth;
    if (t[i].IsPunct(")")) --depth;
    if (depth == 0 && t[i].Is("FROM")) break;
    if (t[i].IsName()) out.insert(ddl::Lower(t[i].Value()));
  }
  return out;
}

// Splits "table.column" where both exist (names may contain dots).
Result<std::optional<std::pair<std::string, std::string>>> FindColumn(sqlite3* db,
                                                                      std::string_view schema,
                                                                      std::string_view object) {
  for (size_t dot = object.find('.'); dot != std::string_view::npos;
       dot = object.find('.', dot + 1)) {
    std::string table(object.substr(0, dot)), column(object.substr(dot + 1));
    Stmt q;
    AM_RETURN_IF_ERROR(
        q.Prepare(db, "SELECT name FROM pragma_table_xinfo(?1, ?2) WHERE name = ?3 COLLATE NOCASE"));
    q.Bind(1, table);
    q.Bind(2, schema);
    q.Bind(3, column);
    if (q.Step()) return std::optional<std::pair<std::string, std::string>>({table, q.Text(0)});
    AM_RETURN_IF_ERROR(q.status());
  }
  return std::optional<std::pair<std::string, std::string>>();
}

// What replaying the rollback SQL would throw away: rows of the tables the
// batch created, values (other than the default) in the columns it added.
Result<std::vector<Discarded>> SqlRollbackDiscards(sqlite3* db, std::string_view schema,
                                                   const std::vector<StepRecord>& steps) {
  std::vector<Discarded> out;
  for (const StepRecord& s : steps) {
    Discarded d;
    if (s.op == "create_table") {
      Result<int64_t> n =
          QueryInt(db, fmt::format("SELECT count(*) FROM {}", QualifiedName(schema, s.object)));
      if (!n.ok()) continue;  // gone already (a later step dropped it)
      d.table = s.object;
      d.rows_added_or_changed = *n;
    } else if (s.op == "add_column") {
      AM_ASSIGN_OR_RETURN(auto col, FindColumn(db, schema, s.object));
      if (!col) continue;
      // A generated column's values are computed, never written: nothing to lose.
      AM_ASSIGN_OR_RETURN(
          int64_t hidden,
          QueryInt(db, fmt::format("SELECT hidden FROM pragma_table_xinfo({}, {}) WHERE name = {}",
                                   QuoteLiteral(col->first), QuoteLiteral(schema),
                                   QuoteLiteral(col->second))));
      if (hidden != 0) continue;
      AM_ASSIGN_OR_RETURN(
          std::string dflt,
          QueryText(db, fmt::format("SELECT ifnull(dflt_value, 'NULL') FROM pragma_table_xinfo({}, "
                                    "{}) WHERE name = {}",
                                    QuoteLiteral(col->first), QuoteLiteral(schema),
                                    QuoteLiteral(col->second))));
      Result<int64_t> n = QueryInt(
          db, fmt::format("SELECT count(*) FROM {} WHERE {} IS NOT ({})",
                          QualifiedName(schema, col->first), QuoteIdent(col->second), dflt));
      if (!n.ok()) continue;
      d.table = s.object;
      d.rows_added_or_changed = *n;
    }
    if (d.rows_added_or_changed > 0) out.push_back(std::move(d));
    if (s.op == "rebuild_table" && s.rollback_sql) {
      // The reverse rebuild recreates the old shape: columns the batch's
      // rebuild added are not in it, and their values go.
      std::set<std::string> old_columns = FirstCreatedColumns(*s.rollback_sql);
      if (old_columns.empty()) continue;
      Stmt q;
      AM_RETURN_IF_ERROR(q.Prepare(
          db, "SELECT name, ifnull(dflt_value, 'NULL') FROM pragma_table_xinfo(?1, ?2) WHERE "
              "hidden = 0"));
      q.Bind(1, s.object);
      q.Bind(2, schema);
      std::vector<std::pair<std::string, std::string>> added;
      while (q.Step())
        if (!old_columns.count(ddl::Lower(q.Text(0)))) added.emplace_back(q.Text(0), q.Text(1));
      AM_RETURN_IF_ERROR(q.status());
      for (const auto& [column, dflt] : added) {
        // A DEFAULT such as CURRENT_TIMESTAMP gave the copied rows a value
        // that evaluating it now no longer matches: filled values cannot be
        // told from written ones, so every value counts (refuse, not lose).
        const bool constant = ddl::IsConstantDefault(dflt);
        Result<int64_t> n = QueryInt(
            db, constant ? fmt::format("SELECT count(*) FROM {} WHERE {} IS NOT ({})",
                                       QualifiedName(schema, s.object), QuoteIdent(column), dflt)
                         : fmt::format("SELECT count(*) FROM {} WHERE {} IS NOT NULL",
                                       QualifiedName(schema, s.object), QuoteIdent(column)));
        if (n.ok() && *n > 0)
          out.push_back({s.object + "." + column, *n, 0,
                         constant ? "" : fmt::format("its DEFAULT {} is not constant, so the "
                                                     "values it filled in count too",
                                                     dflt)});
      }
    }
  }
  return out;
}

std::string DiscardText(const std::vector<Discarded>& discarded) {
  std::string out;
  for (const Discarded& d : discarded) out += (out.empty() ? "" : "; ") + d.ToText();
  return out;
}

Status CheckAllForeignKeys(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(
      int64_t n,
      QueryInt(db, fmt::format("SELECT count(*) FROM pragma_foreign_key_check(NULL, {})",
                               QuoteLiteral(schema))));
  if (n == 0) return Status::Ok();
  return Status(SQLITE_CONSTRAINT_FOREIGNKEY,
                fmt::format("foreign key check failed: {} row{} violate a FOREIGN KEY", n,
                            n == 1 ? "" : "s"));
}

Result<RollbackReport> RollbackBySql(sqlite3* db, const BatchRecord& target,
                                     const std::vector<StepRecord>& steps,
                                     const RollbackOptions& o) {
  const auto t0 = Clock::now();
  const std::string started_at = NowIso8601();
  const std::string& schema = o.schema;
  RollbackReport report;
  report.method = "sql";
  report.reverts = target.batch;

  AM_ASSIGN_OR_RETURN(std::string hash_now, SchemaHash(db, schema));
  if (hash_now != target.schema_hash_after && !o.force) {
    return Fail(SQLITE_ABORT,
                fmt::format("the schema changed after batch {} (another migration or tool altered "
                            "it), and its rollback SQL was written for the schema the batch left. "
                            "Nothing was changed; review the schema, then pass {{\"force\": true}} "
                            "to replay it anyway",
                            target.batch));
  }
  AM_ASSIGN_OR_RETURN(report.discarded, SqlRollbackDiscards(db, schema, steps));
  if (!report.discarded.empty() && !o.force) {
    return Fail(SQLITE_ABORT,
                fmt::format("rolling back batch {} by SQL would discard data written since: {}. "
                            "Nothing was changed; pass {{\"force\": true}} to roll back anyway",
                            target.batch, DiscardText(report.discarded)));
  }

  AM_ASSIGN_OR_RETURN(int64_t fk_on, QueryInt(db, "PRAGMA foreign_keys", 0));
  ForeignKeysOff fk_guard;
  if (fk_on) AM_RETURN_IF_ERROR(fk_guard.Enable(db).WithPrefix("migrate_rollback"));
  // Undoing an alter_table_in_place step edits sqlite_schema: see the guard.
  WritableSchemaGuard schema_guard(db);
  for (const StepRecord& s : steps) schema_guard.Arm(s.op == OpName(Op::kAlterTableInPlace));
  Transaction tx(db, "automigrate_rollback");
  if (Status s = tx.Begin(); !s.ok()) {
    if ((s.code() & 0xff) == SQLITE_BUSY)
      return Fail(s.code(), "database is locked: another connection holds the write lock; retry "
                            "later or raise the busy timeout");
    return s.WithPrefix("migrate_rollback");
  }
  // Another connection may have rolled back or migrated while we waited.
  AM_ASSIGN_OR_RETURN(std::vector<BatchRecord> again, ReadBatches(db, schema));
  std::optional<BatchRecord> still = Candidate(again);
  if (!still || still->batch != target.batch)
    return Fail("the history changed while waiting for the lock; call migrate_rollback again");

  Deadline deadline(db, o.max_execution_time_ms, /*interrupt=*/true);
  std::vector<StepRecord> records;
  Status failure;
  for (auto it = steps.rbegin(); it != steps.rend() && failure.ok(); ++it) {
    StepRecord r;
    r.step = static_cast<int64_t>(records.size() + 1);
    r.op = it->op;
    r.object = it->object;
    r.sql = *it->rollback_sql;
    r.rollback_sql = it->sql;
    r.started_at = NowIso8601();
    auto ts = Clock::now();
    Status s = Exec(db, r.sql);
    r.duration_ms = MsSince(ts);
    if (!s.ok()) {
      failure = deadline.fired()
                    ? Fail(SQLITE_INTERRUPT,
                           fmt::format("the rollback ran longer than max_execution_time_ms ({} ms) "
                                       "and was undone",
                                       o.max_execution_time_ms))
                    : Fail(s.code(), fmt::format("undoing step {} ({} {}) failed: {}; nothing was "
                                                 "changed",
                                                 it->step, it->op, it->object, s.message()));
      r.status = "failed";
      r.error = failure.message();
    } else {
      Result<std::string> h = SchemaHash(db, schema);
      if (h.ok()) r.schema_hash = *h;
      r.status = "applied";
    }
    records.push_back(std::move(r));
  }
  if (failure.ok()) {
    Status fk = CheckAllForeignKeys(db, schema);
    if (!fk.ok()) failure = Fail(fk.code(), fk.message() + "; the rollback was undone");
  }
  BatchRecord batch;
  batch.started_at = started_at;
  batch.steps = static_cast<int64_t>(steps.size());
  batch.reverts = target.batch;
  std::string all_sql;
  for (const StepRecord& r : records) all_sql += r.sql;
  batch.plan_hash = TextHash(all_sql);
  batch.schema_hash_before = hash_now;
  AM_ASSIGN_OR_RETURN(batch.schema_hash_after, SchemaHash(db, schema));

  if (failure.ok()) {
    AM_ASSIGN_OR_RETURN(int64_t version, CurrentVersion(db, schema));
    AM_ASSIGN_OR_RETURN(batch.batch, NextBatch(db, schema));
    batch.version = version + 1;
    batch.status = "applied";
    batch.duration_ms = MsSince(t0);
    Status s = RecordBatch(db, schema, batch, records);
    if (s.ok()) s = MarkRolledBack(db, schema, target.batch);
    if (s.ok()) s = tx.Commit(deadline);
    if (!s.ok() && sqlite3_get_autocommit(db) && CommittedAnyway(db, schema, batch)) {
      // An I/O error after the commit point (while the journal is cleaned
      // up): the rollback is in the database, and must not be recorded as
      // failed nor reported as not done.
      deadline.Remove();
      fk_guard.Restore();
      schema_guard.Disarm();
      return Fail(s.code(), fmt::format("the rollback was committed (batch {}), but SQLite "
                                        "reported an error after the commit: {}",
                                        batch.batch, s.message()));
    }
    if (s.ok()) {
      deadline.Remove();
      fk_guard.Restore();
      schema_guard.Disarm();
      report.batch = batch.batch;
      report.version = *batch.version;
      report.steps = batch.steps;
      report.schema_matches_before = batch.schema_hash_after == target.schema_hash_before;
      report.duration_ms = MsSince(t0);
      return report;
    }
    failure = s.WithPrefix("migrate_rollback: recording the rollback");
  }
  // Undo, then record the failed attempt in a transaction of its own.
  tx.Rollback();
  schema_guard.Reset();
  deadline.Remove();
  fk_guard.Restore();
  batch.status = "failed";
  batch.version.reset();  // set for the commit that failed; a failed batch has none
  batch.error = failure.message();
  batch.schema_hash_after = hash_now;
  batch.duration_ms = MsSince(t0);
  for (StepRecord& r : records)
    if (r.status == "applied") r.status = "failed";
  Transaction rec(db, "automigrate_rollback");
  Status s = rec.Begin();
  if (s.ok()) {
    Result<int64_t> next = NextBatch(db, schema);
    s = next.status();
    if (s.ok()) {
      batch.batch = *next;
      s = RecordBatch(db, schema, batch, records);
    }
    if (s.ok()) s = rec.Commit(Deadline(db, 0, false));
  }
  if (!s.ok())
    return Status(failure.code(),
                  failure.message() + fmt::format(" (and recording the failure failed: {})",
                                                  s.message()));
  return failure;
}

}  // namespace

std::string RollbackReport::ToJson() const {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // no allocation in its destructor
  j["ok"] = true;
  j["batch"] = batch;
  j["reverts"] = reverts;
  j["version"] = version;
  j["method"] = method;
  j["steps"] = steps;
  j["backup_id"] = backup_id ? nlohmann::ordered_json(*backup_id) : nlohmann::ordered_json(nullptr);
  j["schema_matches_before"] = schema_matches_before;
  nlohmann::ordered_json d = nlohmann::ordered_json::array();
  for (const Discarded& x : discarded) {
    nlohmann::ordered_json e;
    e["table"] = x.table;
    e["rows_added_or_changed"] = x.rows_added_or_changed;
    e["rows_removed"] = x.rows_removed;
    if (!x.note.empty()) e["note"] = x.note;
    d.push_back(std::move(e));
  }
  j["discarded"] = std::move(d);
  j["duration_ms"] = static_cast<double>(static_cast<int64_t>(duration_ms * 1000.0 + 0.5)) / 1000.0;
  return j.dump();
}

Result<RollbackReport> RollbackBatch(sqlite3* db, std::optional<int64_t> batch,
                                     const RollbackOptions& o) {
  if (!sqlite3_get_autocommit(db))
    return Fail("cannot run inside a transaction (foreign keys must be switched off around it, "
                "and a restore replaces the whole file); COMMIT or ROLLBACK first");
  AM_ASSIGN_OR_RETURN(std::vector<BatchRecord> batches, ReadBatches(db, o.schema));
  std::optional<BatchRecord> target = Candidate(batches);
  if (!target)
    return Fail(fmt::format("nothing to roll back: \"{}\" has no applied migration batch", o.schema));
  if (batch && *batch != target->batch) {
    auto it = std::find_if(batches.begin(), batches.end(),
                           [&](const BatchRecord& b) { return b.batch == *batch; });
    if (it == batches.end()) return Fail(fmt::format("there is no batch {}", *batch));
    if (it->status == "rolled_back") return Fail(fmt::format("batch {} is already rolled back", *batch));
    if (it->status != "applied" || it->reverts)
      return Fail(fmt::format("batch {} is a {} batch{}; only applied migrations can be rolled back",
                              *batch, it->status, it->reverts ? " that recorded a rollback" : ""));
    return Fail(fmt::format("batch {} is not the latest applied batch ({} is); roll back {} first",
                            *batch, target->batch, target->batch));
  }
  AM_ASSIGN_OR_RETURN(std::vector<StepRecord> steps, ReadSteps(db, o.schema, target->batch));

  // Which methods can work, and why not.
  std::string no_sql;
  for (const StepRecord& s : steps) {
    if (s.op == "restore_backup") {
      no_sql = fmt::format("batch {} restored a backup, which SQL cannot undo", target->batch);
      break;
    }
    if (!s.rollback_sql) {
      no_sql = fmt::format("step {} ({} {}) has no rollback SQL (what it removed can only come "
                           "back from the backup)",
                           s.step, s.op, s.object);
      break;
    }
  }
  if (steps.empty()) no_sql = fmt::format("batch {} has no recorded steps", target->batch);
  std::string no_backup;
  std::optional<BackupRecord> backup;
  if (!target->backup_id) {
    no_backup = fmt::format("batch {} has no backup (it was applied with backup \"never\", or "
                            "backup \"auto\" found nothing destructive)",
                            target->batch);
  } else {
    AM_ASSIGN_OR_RETURN(backup, FindBackup(db, o.schema, *target->backup_id));
    if (!backup)
      no_backup = fmt::format("the record of backup {} is gone (backup_cleanup?)", *target->backup_id);
    else if (!backup->exists)
      no_backup = fmt::format("backup file {} is missing", backup->path);
  }

  std::string method = o.method;
  if (method == "auto") method = no_sql.empty() ? "sql" : "backup";
  if (method == "sql" && !no_sql.empty())
    return Fail(fmt::format("batch {} cannot be rolled back by SQL: {}{}", target->batch, no_sql,
                            no_backup.empty() ? "; use {\"method\": \"backup\"}" : ""));
  if (method == "backup" && !no_backup.empty())
    return Fail(fmt::format("batch {} cannot be rolled back{}: {}", target->batch,
                            o.method == "auto" ? fmt::format(" ({}; and by backup)", no_sql)
                                               : std::string(" from a backup"),
                            no_backup));
  if (method == "sql") return RollbackBySql(db, *target, steps, o);

  RestoreRequest rq;
  rq.schema = o.schema;
  rq.function = "migrate_rollback";
  rq.reverts = target->batch;
  for (const StepRecord& s : steps) {
    if (s.op == "rename_table")
      if (auto r = TableRename(s.sql)) rq.renamed_tables.push_back(*r);
    if (s.op == "rename_column")
      if (auto r = ColumnRenameOf(s.sql)) rq.renamed_columns.push_back(*r);
  }
  rq.compare = true;
  rq.force = o.force;
  rq.expected_schema_hash = target->schema_hash_after;
  AM_ASSIGN_OR_RETURN(RestoreReport restored, RestoreBackup(db, backup->path, rq));
  RollbackReport report;
  report.batch = restored.batch;
  report.reverts = target->batch;
  report.version = restored.version;
  report.method = "backup";
  report.steps = 1;
  report.backup_id = backup->id;
  report.discarded = std::move(restored.discarded);
  // The restore has committed: an error reading the schema back now must
  // not read as a rollback that did not happen.
  Result<std::string> hash = SchemaHash(db, o.schema);
  if (!hash.ok())
    return Fail(hash.status().code(),
                fmt::format("the rollback was committed (batch {}: the database is the backup's), "
                            "but reading its schema back failed: {}",
                            restored.batch, hash.status().message()));
  report.schema_matches_before = *hash == target->schema_hash_before;
  report.duration_ms = restored.duration_ms;
  return report;
}

}  // namespace automigrate
