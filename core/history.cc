#include "core/history.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

#include <chrono>
#include <ctime>

#include "core/files.h"
#include "core/quote.h"
#include "core/sqlite_handle.h"
#include "embedded_sql.h"

namespace automigrate {
namespace {

std::string Hex(XXH128_hash_t h) { return Hex128(h.high64, h.low64); }

std::string T(std::string_view schema, std::string_view table) {
  return QuoteIdent(schema) + "." + std::string(table);
}

std::optional<int64_t> OptInt(const Stmt& q, int col) {
  if (q.IsNull(col)) return std::nullopt;
  return q.Int(col);
}

}  // namespace

std::string TextHash(std::string_view text) {
  return Hex(XXH3_128bits(text.data(), text.size()));
}

std::string NowIso8601() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
}

Status EnsureHistoryTables(sqlite3* db, std::string_view schema) {
  std::string sql(kHistorySchemaSql);
  std::string quoted = QuoteIdent(schema);
  for (size_t pos = 0; (pos = sql.find("$S", pos)) != std::string::npos; pos += quoted.size())
    sql.replace(pos, 2, quoted);
  AM_RETURN_IF_ERROR(Exec(db, sql));
  // Tables made before schema_version_after existed (0.1.0 development builds).
  AM_ASSIGN_OR_RETURN(int64_t has_version,
                      QueryInt(db, fmt::format("SELECT count(*) FROM pragma_table_info("
                                               "'_automigrate_batches', {}) WHERE name = "
                                               "'schema_version_after'",
                                               QuoteLiteral(schema))));
  if (has_version == 0) {
    AM_RETURN_IF_ERROR(Exec(db, fmt::format("ALTER TABLE {} ADD COLUMN schema_version_after INTEGER",
                                            T(schema, "_automigrate_batches"))));
  }
  return Status::Ok();
}

Result<int64_t> SchemaVersion(sqlite3* db, std::string_view schema) {
  return QueryInt(db, fmt::format("PRAGMA {}.schema_version", QuoteIdent(schema)));
}

Result<std::optional<LastApplied>> ReadLastApplied(sqlite3* db, std::string_view schema) {
  // A database never migrated has no history: ask the schema's hash table
  // (no sqlite_schema scan, and no failing prepare, which costs a parse of
  // the statement plus SQLite's check that its schema is still current). With
  // older tables, the prepare below fails, and that too is answered "none".
  const std::string schema_z(schema);
  if (sqlite3_table_column_metadata(db, schema_z.c_str(), "_automigrate_batches", nullptr,
                                    nullptr, nullptr, nullptr, nullptr, nullptr) != SQLITE_OK)
    return std::optional<LastApplied>();
  Stmt q;
  if (!q.Prepare(db, fmt::format("SELECT status, desired_hash, schema_hash_after, "
                                 "schema_version_after FROM {} WHERE version IS NOT NULL "
                                 "ORDER BY batch DESC LIMIT 1",
                                 T(schema, "_automigrate_batches")))
           .ok())
    return std::optional<LastApplied>();
  if (!q.Step()) {
    AM_RETURN_IF_ERROR(q.status());
    return std::optional<LastApplied>();
  }
  LastApplied last{q.Text(0), q.OptText(1), q.Text(2), OptInt(q, 3)};
  return std::optional<LastApplied>(std::move(last));
}

Result<bool> HistoryTablesExist(sqlite3* db, std::string_view schema) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT count(*) FROM {}.sqlite_schema WHERE type = 'table' AND name IN "
                      "('_automigrate_batches', '_automigrate_history')",
                      QuoteIdent(schema))));
  int64_t n = q.Step() ? q.Int(0) : 0;
  AM_RETURN_IF_ERROR(q.status());
  return n == 2;
}

Result<int64_t> CurrentVersion(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(bool exists, HistoryTablesExist(db, schema));
  if (!exists) return int64_t{0};
  return QueryInt(db, fmt::format("SELECT max(version) FROM {}", T(schema, "_automigrate_batches")),
                  0);
}

Result<int64_t> NextBatch(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(bool exists, HistoryTablesExist(db, schema));
  if (!exists) return int64_t{1};
  AM_ASSIGN_OR_RETURN(int64_t last,
                      QueryInt(db, fmt::format("SELECT max(batch) FROM {}",
                                               T(schema, "_automigrate_batches")),
                               0));
  return last + 1;
}

Status RecordBatch(sqlite3* db, std::string_view schema, const BatchRecord& b,
                   const std::vector<StepRecord>& steps) {
  AM_RETURN_IF_ERROR(EnsureHistoryTables(db, schema));
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("INSERT INTO {} (batch, version, status, started_at, duration_ms, steps, "
                      "backup_id, reverts, error, plan_hash, desired_hash, schema_hash_before, "
                      "schema_hash_after, schema_version_after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, "
                      "?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                      T(schema, "_automigrate_batches"))));
  q.Bind(1, b.batch);
  q.BindOpt(2, b.version);
  q.Bind(3, b.status);
  q.Bind(4, b.started_at);
  sqlite3_bind_double(q.get(), 5, b.duration_ms);
  q.Bind(6, b.steps);
  q.BindOpt(7, b.backup_id);
  q.BindOpt(8, b.reverts);
  q.BindOpt(9, b.error);
  q.Bind(10, b.plan_hash);
  q.BindOpt(11, b.desired_hash);
  q.Bind(12, b.schema_hash_before);
  q.Bind(13, b.schema_hash_after);
  // After EnsureHistoryTables: creating them moves the version too.
  AM_ASSIGN_OR_RETURN(int64_t schema_version, SchemaVersion(db, schema));
  q.Bind(14, schema_version);
  AM_RETURN_IF_ERROR(q.Run());

  Stmt s;
  AM_RETURN_IF_ERROR(s.Prepare(
      db, fmt::format("INSERT INTO {} (batch, step, op, object, sql, rollback_sql, status, error, "
                      "schema_hash, started_at, duration_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
                      "?8, ?9, ?10, ?11)",
                      T(schema, "_automigrate_history"))));
  for (const StepRecord& r : steps) {
    s.Reset();
    s.Bind(1, b.batch);
    s.Bind(2, r.step);
    s.Bind(3, r.op);
    s.Bind(4, r.object);
    s.Bind(5, r.sql);
    s.BindOpt(6, r.rollback_sql);
    s.Bind(7, r.status);
    s.BindOpt(8, r.error);
    s.BindOpt(9, r.schema_hash);
    s.Bind(10, r.started_at);
    sqlite3_bind_double(s.get(), 11, r.duration_ms);
    AM_RETURN_IF_ERROR(s.Run());
  }
  return Status::Ok();
}

Status MarkRolledBack(sqlite3* db, std::string_view schema, int64_t batch) {
  for (const char* table : {"_automigrate_batches", "_automigrate_history"}) {
    Stmt u;
    AM_RETURN_IF_ERROR(u.Prepare(
        db, fmt::format("UPDATE {} SET status = 'rolled_back' WHERE batch = ?1 AND status = "
                        "'applied'",
                        T(schema, table))));
    u.Bind(1, batch);
    AM_RETURN_IF_ERROR(u.Run());
  }
  return Status::Ok();
}

Result<std::vector<BatchRecord>> ReadBatches(sqlite3* db, std::string_view schema,
                                             std::optional<int64_t> batch) {
  std::vector<BatchRecord> out;
  AM_ASSIGN_OR_RETURN(bool exists, HistoryTablesExist(db, schema));
  if (!exists) return out;
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db,
      fmt::format(
          "SELECT b.batch, b.version, b.status, b.started_at, b.duration_ms, b.steps, "
          "b.backup_id, b.reverts, b.error, b.plan_hash, b.desired_hash, b.schema_hash_before, "
          "b.schema_hash_after, "
          "NOT EXISTS (SELECT 1 FROM {1} h WHERE h.batch = b.batch AND h.rollback_sql IS NULL) "
          "FROM {0} b {2} ORDER BY b.batch",
          T(schema, "_automigrate_batches"), T(schema, "_automigrate_history"),
          // Two shapes, so a batch filter is a primary-key lookup, not a scan.
          batch ? "WHERE b.batch = ?1" : "")));
  if (batch) q.Bind(1, *batch);
  while (q.Step()) {
    BatchRecord b;
    b.batch = q.Int(0);
    b.version = OptInt(q, 1);
    b.status = q.Text(2);
    b.started_at = q.Text(3);
    b.duration_ms = q.Double(4);
    b.steps = q.Int(5);
    b.backup_id = OptInt(q, 6);
    b.reverts = OptInt(q, 7);
    b.error = q.OptText(8);
    b.plan_hash = q.Text(9);
    b.desired_hash = q.OptText(10);
    b.schema_hash_before = q.Text(11);
    b.schema_hash_after = q.Text(12);
    // A rollback batch is not undone itself: migrate_rollback skips it.
    bool candidate = b.status == "applied" && !b.reverts;
    b.rollback_sql_possible = candidate && q.Int(13) != 0;
    b.rollback_backup_possible = candidate && b.backup_id.has_value();
    out.push_back(std::move(b));
  }
  AM_RETURN_IF_ERROR(q.status());
  // A backup rollback also needs the backup file to still be there.
  Stmt path;
  bool have_paths = false;
  for (BatchRecord& b : out) {
    if (!b.rollback_backup_possible) continue;
    if (!have_paths) {
      Status s = path.Prepare(
          db, fmt::format("SELECT path FROM {} WHERE id = ?1", T(schema, "_automigrate_backups")));
      if (!s.ok()) {  // no backups table: no backup recorded
        for (BatchRecord& x : out) x.rollback_backup_possible = false;
        break;
      }
      have_paths = true;
    }
    path.Reset();
    path.Bind(1, *b.backup_id);
    b.rollback_backup_possible = path.Step() && PathExists(path.Text(0));
    AM_RETURN_IF_ERROR(path.status());
  }
  return out;
}

Result<std::vector<StepRecord>> ReadSteps(sqlite3* db, std::string_view schema,
                                          std::optional<int64_t> batch) {
  std::vector<StepRecord> out;
  AM_ASSIGN_OR_RETURN(bool exists, HistoryTablesExist(db, schema));
  if (!exists) return out;
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT h.id, h.batch, h.step, b.version, h.op, h.object, h.sql, "
                      "h.rollback_sql, h.status, h.error, h.schema_hash, h.started_at, "
                      "h.duration_ms, b.backup_id FROM {0} h LEFT JOIN {1} b ON b.batch = h.batch "
                      "{2} ORDER BY h.batch, h.step, h.id",
                      T(schema, "_automigrate_history"), T(schema, "_automigrate_batches"),
                      batch ? "WHERE h.batch = ?1" : "")));
  if (batch) q.Bind(1, *batch);
  while (q.Step()) {
    StepRecord r;
    r.id = q.Int(0);
    r.batch = q.Int(1);
    r.step = q.Int(2);
    r.version = OptInt(q, 3);
    r.op = q.Text(4);
    r.object = q.Text(5);
    r.sql = q.Text(6);
    r.rollback_sql = q.OptText(7);
    r.status = q.Text(8);
    r.error = q.OptText(9);
    r.schema_hash = q.OptText(10);
    r.started_at = q.Text(11);
    r.duration_ms = q.Double(12);
    r.backup_id = OptInt(q, 13);
    out.push_back(std::move(r));
  }
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::optional<BatchRecord>> LatestVersionBatch(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(bool exists, HistoryTablesExist(db, schema));
  if (!exists) return std::optional<BatchRecord>();
  AM_ASSIGN_OR_RETURN(int64_t latest,
                      QueryInt(db,
                               fmt::format("SELECT max(batch) FROM {} WHERE version IS NOT NULL",
                                           T(schema, "_automigrate_batches")),
                               0));
  if (latest == 0) return std::optional<BatchRecord>();
  AM_ASSIGN_OR_RETURN(std::vector<BatchRecord> rows, ReadBatches(db, schema, latest));
  if (rows.empty()) return std::optional<BatchRecord>();
  return std::optional<BatchRecord>(std::move(rows.front()));
}

Result<std::string> SchemaHash(sqlite3* db, std::string_view schema) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT type, name, tbl_name, sql FROM {}.sqlite_schema "
                      "WHERE name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' "
                      // ANALYZE's tables are statistics, not schema.
                      "AND name NOT LIKE 'sqlite\\_stat%' ESCAPE '\\' "
                      "AND tbl_name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY name, type",
                      QuoteIdent(schema))));
  XXH3_state_t state;
  XXH3_INITSTATE(&state);
  XXH3_128bits_reset(&state);
  while (q.Step()) {
    for (int i = 0; i < 4; ++i) {
      std::string v = q.Text(i);
      uint64_t n = q.IsNull(i) ? UINT64_MAX : v.size();  // NULL differs from ''
      XXH3_128bits_update(&state, &n, sizeof n);
      XXH3_128bits_update(&state, v.data(), v.size());
    }
  }
  AM_RETURN_IF_ERROR(q.status());
  return Hex(XXH3_128bits_digest(&state));
}

Result<bool> TableExists(sqlite3* db, std::string_view schema, std::string_view table) {
  Stmt q;
  AM_RETURN_IF_ERROR(
      q.Prepare(db, fmt::format("SELECT 1 FROM {}.sqlite_schema WHERE type = 'table' AND name = ?1",
                                QuoteIdent(schema))));
  q.Bind(1, table);
  bool found = q.Step();
  AM_RETURN_IF_ERROR(q.status());
  return found;
}

Result<std::string> LoadConfigJson(sqlite3* db, std::string_view schema) {
  AM_ASSIGN_OR_RETURN(bool has, TableExists(db, schema, "_automigrate_config"));
  if (!has) return std::string("{}");
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT json_group_object(key, json(value)) FROM {}",
                      T(schema, "_automigrate_config"))));
  std::string out = q.Step() && !q.IsNull(0) ? q.Text(0) : "{}";
  AM_RETURN_IF_ERROR(q.status());
  return out;
}

Status StoreConfigJson(sqlite3* db, std::string_view schema, std::string_view json_object) {
  // A savepoint works both in autocommit mode and inside a caller's BEGIN.
  AM_RETURN_IF_ERROR(Exec(db, "SAVEPOINT automigrate_configure"));
  auto body = [&]() -> Status {
    AM_RETURN_IF_ERROR(EnsureHistoryTables(db, schema));
    AM_RETURN_IF_ERROR(Exec(db, fmt::format("DELETE FROM {}", T(schema, "_automigrate_config"))));
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, fmt::format("INSERT INTO {} (key, value) SELECT key, CASE type WHEN 'text' THEN "
                        "json_quote(value) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null' "
                        "ELSE json(value) END FROM json_each(?1)",
                        T(schema, "_automigrate_config"))));
    q.Bind(1, json_object);
    return q.Run();
  };
  Status s = body();
  if (!s.ok()) {
    (void)Exec(db, "ROLLBACK TO automigrate_configure");
    (void)Exec(db, "RELEASE automigrate_configure");
    return s;
  }
  return Exec(db, "RELEASE automigrate_configure");
}

}  // namespace automigrate
