// ext/history_vtab.cc -- migration_history and migration_batches.
//
//   SELECT * FROM migration_batches ORDER BY batch DESC LIMIT 5;
//   SELECT step, op, object, status, error FROM migration_history WHERE batch = 3;
//   SELECT * FROM migration_history('aux');    -- the history of ATTACH ... AS aux
//
// Eponymous-only like json_each: `schema` is a HIDDEN argument column, and an
// equality on `batch` is handed to core (ReadSteps/ReadBatches take a batch),
// so `WHERE batch = 3` reads one batch instead of the whole history. Rows are
// read once, in xFilter, and kept in the cursor. A database that was never
// migrated has no history tables: the tables are empty, and reading them
// creates nothing.
#include "ext/history_vtab.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/backup.h"
#include "core/history.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

enum class Kind { kHistory, kBatches, kBackups };

// Column order is the SQL surface (DESIGN.md). Declared types give `batch`
// INTEGER affinity, so `batch = '3'` compares as SQLite would on a table.
constexpr const char* kHistorySchema =
    "CREATE TABLE x(id INTEGER, batch INTEGER, step INTEGER, version INTEGER, op TEXT, "
    "object TEXT, sql TEXT, rollback_sql TEXT, status TEXT, error TEXT, schema_hash TEXT, "
    "started_at TEXT, duration_ms REAL, backup_id INTEGER, schema HIDDEN)";
enum HistoryColumn {
  kHId,
  kHBatch,
  kHStep,
  kHVersion,
  kHOp,
  kHObject,
  kHSql,
  kHRollbackSql,
  kHStatus,
  kHError,
  kHSchemaHash,
  kHStartedAt,
  kHDurationMs,
  kHBackupId,
  kHSchema
};

constexpr const char* kBatchesSchema =
    "CREATE TABLE x(batch INTEGER, version INTEGER, status TEXT, started_at TEXT, "
    "duration_ms REAL, steps INTEGER, backup_id INTEGER, reverts INTEGER, "
    "rollback_sql_possible INTEGER, rollback_backup_possible INTEGER, schema HIDDEN)";
enum BatchesColumn {
  kBBatch,
  kBVersion,
  kBStatus,
  kBStartedAt,
  kBDurationMs,
  kBSteps,
  kBBackupId,
  kBReverts,
  kBRollbackSqlPossible,
  kBRollbackBackupPossible,
  kBSchema
};

constexpr const char* kBackupsSchema =
    "CREATE TABLE x(id INTEGER, path TEXT, bytes INTEGER, checksum TEXT, created_at TEXT, "
    "batch INTEGER, \"exists\" INTEGER, verified_at TEXT, schema HIDDEN)";
enum BackupsColumn {
  kKId,
  kKPath,
  kKBytes,
  kKChecksum,
  kKCreatedAt,
  kKBatch,
  kKExists,
  kKVerifiedAt,
  kKSchema
};

// idxNum bits: which arguments xFilter finds in argv, in this order.
constexpr int kHasSchema = 1;
constexpr int kHasBatch = 2;

struct HistoryVtab : sqlite3_vtab {
  sqlite3* db = nullptr;
  Kind kind = Kind::kHistory;
  const char* name = "";  // the SQL name, for messages
  int batch_col = 0;
  int schema_col = 0;
};

struct HistoryCursor : sqlite3_vtab_cursor {
  std::string schema = "main";  // echoed by the HIDDEN column
  std::vector<StepRecord> steps;
  std::vector<BatchRecord> batches;
  std::vector<BackupRecord> backups;
  size_t row = 0;

  size_t size() const {
    switch (static_cast<const HistoryVtab*>(pVtab)->kind) {
      case Kind::kHistory: return steps.size();
      case Kind::kBatches: return batches.size();
      case Kind::kBackups: return backups.size();
    }
    return 0;
  }
};

int Connect(sqlite3* db, Kind kind, sqlite3_vtab** out, char** err) noexcept {
  const char* name = kind == Kind::kHistory   ? "migration_history"
                     : kind == Kind::kBatches ? "migration_batches"
                                              : "migration_backups";
  const char* declared = kind == Kind::kHistory   ? kHistorySchema
                         : kind == Kind::kBatches ? kBatchesSchema
                                                  : kBackupsSchema;
  std::string error;
  int rc = GuardCode(
      [&] {
        int rc = sqlite3_declare_vtab(db, declared);
        // Reading history writes nothing and reads no files, so it would be
        // harmless in a view; but the rows carry every migration's SQL and
        // errors, and the extension's other tables (migrate_plan) are
        // DIRECTONLY too. One rule for all: only a direct query reads them,
        // never a view or trigger an untrusted database file brings along.
        if (rc == SQLITE_OK) rc = sqlite3_vtab_config(db, SQLITE_VTAB_DIRECTONLY);
        if (rc != SQLITE_OK) {
          error = std::string(name) + ": " + sqlite3_errmsg(db);
          return rc;
        }
        auto* vtab = new HistoryVtab();
        vtab->db = db;
        vtab->kind = kind;
        vtab->name = name;
        // Backups are few and read whole: no `batch` push-down (-1).
        vtab->batch_col = kind == Kind::kHistory   ? int{kHBatch}
                          : kind == Kind::kBatches ? int{kBBatch}
                                                   : -1;
        vtab->schema_col = kind == Kind::kHistory   ? int{kHSchema}
                           : kind == Kind::kBatches ? int{kBSchema}
                                                    : int{kKSchema};
        *out = vtab;
        return SQLITE_OK;
      },
      &error);
  if (rc != SQLITE_OK && !error.empty()) *err = sqlite3_mprintf("%s", error.c_str());
  return rc;
}

int HistoryConnect(sqlite3* db, void* /*aux*/, int /*argc*/, const char* const* /*argv*/,
                   sqlite3_vtab** out, char** err) noexcept {
  return Connect(db, Kind::kHistory, out, err);
}

int BatchesConnect(sqlite3* db, void* /*aux*/, int /*argc*/, const char* const* /*argv*/,
                   sqlite3_vtab** out, char** err) noexcept {
  return Connect(db, Kind::kBatches, out, err);
}

int BackupsConnect(sqlite3* db, void* /*aux*/, int /*argc*/, const char* const* /*argv*/,
                   sqlite3_vtab** out, char** err) noexcept {
  return Connect(db, Kind::kBackups, out, err);
}

int HistoryDisconnect(sqlite3_vtab* vtab) noexcept {
  sqlite3_free(vtab->zErrMsg);
  delete static_cast<HistoryVtab*>(vtab);
  return SQLITE_OK;
}

// `schema` is optional (default 'main'), but given and not usable yet (it
// comes from a table joined later) is SQLITE_CONSTRAINT, so the query
// planner tries another join order instead of reading the wrong database.
// An equality on `batch` is consumed: core reads only that batch.
int HistoryBestIndex(sqlite3_vtab* base, sqlite3_index_info* info) noexcept {
  return GuardVtab(base, [&] {
    const auto* vtab = static_cast<const HistoryVtab*>(base);
    int schema = -1;
    int batch = -1;
    bool schema_unusable = false;
    for (int i = 0; i < info->nConstraint; ++i) {
      const auto& c = info->aConstraint[i];
      if (c.op != SQLITE_INDEX_CONSTRAINT_EQ) continue;
      if (c.iColumn == vtab->schema_col) {
        if (!c.usable) {
          schema_unusable = true;
        } else if (schema < 0) {
          schema = i;
        }
      } else if (vtab->batch_col >= 0 && c.iColumn == vtab->batch_col && c.usable && batch < 0) {
        batch = i;
      }
    }
    if (schema < 0 && schema_unusable) return SQLITE_CONSTRAINT;

    int argv_index = 0;
    info->idxNum = 0;
    if (schema >= 0) {
      info->aConstraintUsage[schema].argvIndex = ++argv_index;
      info->aConstraintUsage[schema].omit = 1;
      info->idxNum |= kHasSchema;
    }
    const bool batches = vtab->kind == Kind::kBatches;
    if (batch >= 0) {
      // Omitted: xFilter compares as SQLite would (see BatchNumber).
      info->aConstraintUsage[batch].argvIndex = ++argv_index;
      info->aConstraintUsage[batch].omit = 1;
      info->idxNum |= kHasBatch;
      // One batch row; a batch has a handful of steps. An indexed lookup.
      info->estimatedCost = 10;
      info->estimatedRows = batches ? 1 : 10;
      if (batches) info->idxFlags |= SQLITE_INDEX_SCAN_UNIQUE;
    } else {
      info->estimatedCost = 1000;
      info->estimatedRows = batches ? 100 : 1000;
    }
    // Rows come out ordered by batch (then step, for history).
    if (vtab->batch_col >= 0 && info->nOrderBy == 1 && !info->aOrderBy[0].desc &&
        (info->aOrderBy[0].iColumn == vtab->batch_col ||
         (batches && info->aOrderBy[0].iColumn < 0)))
      info->orderByConsumed = 1;
    return SQLITE_OK;
  });
}

int HistoryOpen(sqlite3_vtab* vtab, sqlite3_vtab_cursor** out) noexcept {
  return GuardVtab(vtab, [&] {
    *out = new HistoryCursor();
    return SQLITE_OK;
  });
}

int HistoryClose(sqlite3_vtab_cursor* cursor) noexcept {
  delete static_cast<HistoryCursor*>(cursor);
  return SQLITE_OK;
}

// The batch number an equality on the INTEGER column `batch` matches, or
// nullopt when it matches no row. SQLite applies numeric affinity to the
// other side ('3' and 3.0 match 3); a NULL, a non-numeric text, a blob or a
// fraction matches nothing. Since the constraint is omitted, this must agree
// with SQLite exactly.
std::optional<int64_t> BatchNumber(sqlite3_value* v) {
  switch (sqlite3_value_numeric_type(v)) {
    case SQLITE_INTEGER: return sqlite3_value_int64(v);
    case SQLITE_FLOAT: {
      const double d = sqlite3_value_double(v);
      // 2^63 exactly is out of range; everything below converts exactly.
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return std::nullopt;
      if (std::trunc(d) != d) return std::nullopt;
      return static_cast<int64_t>(d);
    }
    default: return std::nullopt;
  }
}

int HistoryFilter(sqlite3_vtab_cursor* cursor, int idx_num, const char* /*idx_str*/, int argc,
                  sqlite3_value** argv) noexcept {
  auto* cur = static_cast<HistoryCursor*>(cursor);
  return GuardVtab(cur->pVtab, [&] {
    const auto* vtab = static_cast<const HistoryVtab*>(cur->pVtab);
    cur->steps.clear();
    cur->batches.clear();
    cur->backups.clear();
    cur->row = 0;
    cur->schema = "main";
    int arg = 0;
    sqlite3_value* schema_arg = (idx_num & kHasSchema) && arg < argc ? argv[arg++] : nullptr;
    sqlite3_value* batch_arg = (idx_num & kHasBatch) && arg < argc ? argv[arg++] : nullptr;
    Result<std::string> schema = SchemaArg(vtab->db, vtab->name, schema_arg);
    if (!schema.ok()) {
      SetVtabError(cur->pVtab, schema.status().message());
      return schema.status().code();
    }
    cur->schema = std::move(schema).value();
    std::optional<int64_t> batch;
    if (batch_arg) {
      batch = BatchNumber(batch_arg);
      if (!batch) return SQLITE_OK;  // matches no row
    }
    Status status;
    if (vtab->kind == Kind::kHistory) {
      Result<std::vector<StepRecord>> rows = ReadSteps(vtab->db, cur->schema, batch);
      if (rows.ok()) cur->steps = std::move(rows).value();
      status = rows.status();
    } else if (vtab->kind == Kind::kBatches) {
      Result<std::vector<BatchRecord>> rows = ReadBatches(vtab->db, cur->schema, batch);
      if (rows.ok()) cur->batches = std::move(rows).value();
      status = rows.status();
    } else {
      Result<std::vector<BackupRecord>> rows = ReadBackups(vtab->db, cur->schema);
      if (rows.ok()) cur->backups = std::move(rows).value();
      status = rows.status();
    }
    if (!status.ok()) {
      status = WithFunctionName(vtab->name, status);
      SetVtabError(cur->pVtab, status.message());
      return status.code();
    }
    return SQLITE_OK;
  });
}

int HistoryNext(sqlite3_vtab_cursor* cursor) noexcept {
  ++static_cast<HistoryCursor*>(cursor)->row;
  return SQLITE_OK;
}

int HistoryEof(sqlite3_vtab_cursor* cursor) noexcept {
  const auto* cur = static_cast<const HistoryCursor*>(cursor);
  return cur->row >= cur->size();
}

void ResultOptText(sqlite3_context* ctx, const std::optional<std::string>& v) {
  v ? ResultText(ctx, *v) : sqlite3_result_null(ctx);
}

void ResultOptInt(sqlite3_context* ctx, const std::optional<int64_t>& v) {
  v ? sqlite3_result_int64(ctx, *v) : sqlite3_result_null(ctx);
}

void StepColumn(sqlite3_context* ctx, const StepRecord& r, int col) {
  switch (col) {
    case kHId: return sqlite3_result_int64(ctx, r.id);
    case kHBatch: return sqlite3_result_int64(ctx, r.batch);
    case kHStep: return sqlite3_result_int64(ctx, r.step);
    case kHVersion: return ResultOptInt(ctx, r.version);
    case kHOp: return ResultText(ctx, r.op);
    case kHObject: return ResultText(ctx, r.object);
    case kHSql: return ResultText(ctx, r.sql);
    case kHRollbackSql: return ResultOptText(ctx, r.rollback_sql);
    case kHStatus: return ResultText(ctx, r.status);
    case kHError: return ResultOptText(ctx, r.error);
    case kHSchemaHash: return ResultOptText(ctx, r.schema_hash);
    case kHStartedAt: return ResultText(ctx, r.started_at);
    case kHDurationMs: return sqlite3_result_double(ctx, r.duration_ms);
    case kHBackupId: return ResultOptInt(ctx, r.backup_id);
    default: return sqlite3_result_null(ctx);
  }
}

void BatchColumn(sqlite3_context* ctx, const BatchRecord& b, int col) {
  switch (col) {
    case kBBatch: return sqlite3_result_int64(ctx, b.batch);
    case kBVersion: return ResultOptInt(ctx, b.version);
    case kBStatus: return ResultText(ctx, b.status);
    case kBStartedAt: return ResultText(ctx, b.started_at);
    case kBDurationMs: return sqlite3_result_double(ctx, b.duration_ms);
    case kBSteps: return sqlite3_result_int64(ctx, b.steps);
    case kBBackupId: return ResultOptInt(ctx, b.backup_id);
    case kBReverts: return ResultOptInt(ctx, b.reverts);
    case kBRollbackSqlPossible: return sqlite3_result_int(ctx, b.rollback_sql_possible ? 1 : 0);
    case kBRollbackBackupPossible:
      return sqlite3_result_int(ctx, b.rollback_backup_possible ? 1 : 0);
    default: return sqlite3_result_null(ctx);
  }
}

void BackupColumn(sqlite3_context* ctx, const BackupRecord& b, int col) {
  switch (col) {
    case kKId: return sqlite3_result_int64(ctx, b.id);
    case kKPath: return ResultText(ctx, b.path);
    case kKBytes: return sqlite3_result_int64(ctx, b.bytes);
    case kKChecksum: return ResultText(ctx, b.checksum);
    case kKCreatedAt: return ResultText(ctx, b.created_at);
    case kKBatch: return ResultOptInt(ctx, b.batch);
    case kKExists: return sqlite3_result_int(ctx, b.exists ? 1 : 0);
    case kKVerifiedAt: return ResultOptText(ctx, b.verified_at);
    default: return sqlite3_result_null(ctx);
  }
}

int HistoryColumn(sqlite3_vtab_cursor* cursor, sqlite3_context* ctx, int col) noexcept {
  const auto* cur = static_cast<const HistoryCursor*>(cursor);
  const auto* vtab = static_cast<const HistoryVtab*>(cur->pVtab);
  // Errors go into ctx; SQLite reports a result error from xColumn.
  Guard(ctx, [&] {
    if (col == vtab->schema_col) return ResultText(ctx, cur->schema);
    if (cur->row >= cur->size()) return sqlite3_result_null(ctx);
    switch (vtab->kind) {
      case Kind::kHistory: return StepColumn(ctx, cur->steps[cur->row], col);
      case Kind::kBatches: return BatchColumn(ctx, cur->batches[cur->row], col);
      case Kind::kBackups: return BackupColumn(ctx, cur->backups[cur->row], col);
    }
  });
  return SQLITE_OK;
}

// The record's own key: history `id`, batches `batch`.
int HistoryRowid(sqlite3_vtab_cursor* cursor, sqlite3_int64* rowid) noexcept {
  const auto* cur = static_cast<const HistoryCursor*>(cursor);
  if (cur->row >= cur->size()) {
    *rowid = 0;
  } else {
    switch (static_cast<const HistoryVtab*>(cur->pVtab)->kind) {
      case Kind::kHistory: *rowid = cur->steps[cur->row].id; break;
      case Kind::kBatches: *rowid = cur->batches[cur->row].batch; break;
      case Kind::kBackups: *rowid = cur->backups[cur->row].id; break;
    }
  }
  return SQLITE_OK;
}

}  // namespace

// Read-only (no xUpdate: INSERT, UPDATE and DELETE fail with "table
// migration_history may not be modified"), no transactions of their own,
// eponymous-only (no xCreate).
const sqlite3_module kHistoryModule = {
    /*iVersion=*/0,
    /*xCreate=*/nullptr,
    /*xConnect=*/HistoryConnect,
    /*xBestIndex=*/HistoryBestIndex,
    /*xDisconnect=*/HistoryDisconnect,
    /*xDestroy=*/nullptr,
    /*xOpen=*/HistoryOpen,
    /*xClose=*/HistoryClose,
    /*xFilter=*/HistoryFilter,
    /*xNext=*/HistoryNext,
    /*xEof=*/HistoryEof,
    /*xColumn=*/HistoryColumn,
    /*xRowid=*/HistoryRowid,
};

const sqlite3_module kBatchesModule = {
    /*iVersion=*/0,
    /*xCreate=*/nullptr,
    /*xConnect=*/BatchesConnect,
    /*xBestIndex=*/HistoryBestIndex,
    /*xDisconnect=*/HistoryDisconnect,
    /*xDestroy=*/nullptr,
    /*xOpen=*/HistoryOpen,
    /*xClose=*/HistoryClose,
    /*xFilter=*/HistoryFilter,
    /*xNext=*/HistoryNext,
    /*xEof=*/HistoryEof,
    /*xColumn=*/HistoryColumn,
    /*xRowid=*/HistoryRowid,
};

const sqlite3_module kBackupsModule = {
    /*iVersion=*/0,
    /*xCreate=*/nullptr,
    /*xConnect=*/BackupsConnect,
    /*xBestIndex=*/HistoryBestIndex,
    /*xDisconnect=*/HistoryDisconnect,
    /*xDestroy=*/nullptr,
    /*xOpen=*/HistoryOpen,
    /*xClose=*/HistoryClose,
    /*xFilter=*/HistoryFilter,
    /*xNext=*/HistoryNext,
    /*xEof=*/HistoryEof,
    /*xColumn=*/HistoryColumn,
    /*xRowid=*/HistoryRowid,
};

}  // namespace automigrate::ext
