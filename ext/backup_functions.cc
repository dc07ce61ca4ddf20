// ext/backup_functions.cc -- the backup and rollback functions.
//
//   SELECT backup_create();                         -- into <database>.backups/
//   SELECT backup_create('/srv/backups/app-before-upgrade.db');
//   SELECT backup_verify('/srv/backups/app-before-upgrade.db');   -- {"ok":true,...}
//   SELECT backup_restore('/srv/backups/app-before-upgrade.db');
//   SELECT backup_cleanup(5, '{"max_age_days": 30}');
//   SELECT migrate_rollback();                      -- the latest applied batch
//   SELECT migrate_rollback(7, '{"method": "backup", "force": true}');
//
// Argument and option errors name the function; the work is core's
// (core/backup.h, core/rollback.h).
#include "ext/backup_functions.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/backup.h"
#include "core/json_scope.h"
#include "core/history.h"
#include "core/rollback.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

// Valid UTF-8: nlohmann's serializer drops invalid bytes with `ignore` and
// substitutes U+FFFD with `replace`, so the two agree exactly on valid text.
bool IsValidUtf8(std::string_view text) {
  const nlohmann::json j = std::string(text);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) ==
         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A file path argument: text, not empty, no NUL byte, valid UTF-8 (results
// and sidecars are JSON, which cannot carry other bytes).
Result<std::string> PathArg(std::string_view function, sqlite3_value* v) {
  if (sqlite3_value_type(v) == SQLITE_NULL)
    return Status::InvalidArgument(fmt::format("{}: path is NULL", function));
  std::optional<std::string_view> text = TextArg(v);
  if (!text) return Status::InvalidArgument(fmt::format("{}: path must be text", function));
  if (text->empty()) return Status::InvalidArgument(fmt::format("{}: path is empty", function));
  if (text->find('\0') != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("{}: path contains a NUL byte", function));
  if (!IsValidUtf8(*text))
    return Status::InvalidArgument(fmt::format("{}: path is not valid UTF-8", function));
  return std::string(*text);
}

Status Arity(std::string_view function, int argc, int min, int max, std::string_view usage) {
  if (argc >= min && argc <= max) return Status::Ok();
  return Status::InvalidArgument(fmt::format("{}: expected {}", function, usage));
}

// The (path [, options]) call shape of backup_verify and backup_restore.
struct PathCall {
  std::string path;
  Options options;
};
Result<PathCall> ParsePathCall(sqlite3* db, std::string_view function, int argc,
                               sqlite3_value** argv) {
  AM_RETURN_IF_ERROR(Arity(function, argc, 1, 2, "1 or 2 arguments (path [, options])"));
  AM_ASSIGN_OR_RETURN(std::string path, PathArg(function, argv[0]));
  AM_ASSIGN_OR_RETURN(Options o,
                      ParseOptionsArg(db, function, argc > 1 ? argv[1] : nullptr, {}, kOptSchema));
  return PathCall{std::move(path), std::move(o)};
}

}  // namespace

void BackupCreateFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  constexpr std::string_view kFn = "backup_create";
  Guard(ctx, [&] {
    if (Status s = Arity(kFn, argc, 0, 2, "0 to 2 arguments ([path] [, options])"); !s.ok())
      return ResultError(ctx, s);
    sqlite3* db = sqlite3_context_db_handle(ctx);
    BackupRequest request;
    if (argc >= 1 && sqlite3_value_type(argv[0]) != SQLITE_NULL) {
      Result<std::string> path = PathArg(kFn, argv[0]);
      if (!path.ok()) return ResultError(ctx, path.status());
      request.path = *path;
    }
    Result<Options> o = ParseOptionsArg(db, kFn, argc > 1 ? argv[1] : nullptr, {},
                                        kOptSchema | kOptBackupDir);
    if (!o.ok()) return ResultError(ctx, o.status());
    request.schema = o->plan.schema;
    if (!request.path) {
      // The stored default directory applies when the call names none.
      Result<Options> stored = LoadStoredDefaults(db, kFn, request.schema);
      if (!stored.ok()) return ResultError(ctx, stored.status());
      request.dir = o->backup_dir ? o->backup_dir : stored->backup_dir;
    } else if (o->backup_dir) {
      return ResultError(ctx, Status::InvalidArgument(fmt::format(
                                  "{}: give a path or \"backup_dir\", not both", kFn)));
    }
    Result<BackupRecord> taken = TakeBackup(db, request);
    if (!taken.ok()) return ResultError(ctx, WithFunctionName(kFn, taken.status()));
    BackupRecord rec = std::move(taken).value();
    // A read-only database can still be backed up: then the result says why
    // the backup has no id.
    Result<int64_t> id = RecordBackup(db, request.schema, rec);
    Status recorded = id.status();
    if (id.ok()) rec.id = *id;
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    JsonScope scope(j);  // no allocation in its destructor
    rec.Fill(j);
    if (!recorded.ok()) {
      j["id"] = nullptr;
      j["note"] = "not recorded in _automigrate_backups: " + recorded.message();
    }
    ResultText(ctx, j.dump());
  });
}

void BackupVerifyFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  constexpr std::string_view kFn = "backup_verify";
  Guard(ctx, [&] {
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<PathCall> call = ParsePathCall(db, kFn, argc, argv);
    if (!call.ok()) return ResultError(ctx, call.status());
    const std::string& path = call->path;
    const std::string& schema = call->options.plan.schema;
    // The database's record, when it has one and can be read: verify must
    // work when the database is damaged, or is another database altogether.
    std::optional<BackupRecord> recorded;
    if (Result<std::optional<BackupRecord>> r = FindBackupByPath(db, schema, path); r.ok() && *r)
      recorded = **r;
    VerifyReport report = VerifyBackup(path, recorded);
    // A read error is not an answer about the backup (it may be fine).
    if (report.read_error)
      return ResultError(ctx, Status(report.read_error_code, fmt::format("{}: {}", kFn,
                                                                         report.reason)));
    if (report.ok && recorded && sqlite3_get_autocommit(db))
      (void)MarkVerified(db, schema, report.path, NowIso8601());
    ResultText(ctx, report.ToJson());
  });
}

void BackupRestoreFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  constexpr std::string_view kFn = "backup_restore";
  Guard(ctx, [&] {
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<PathCall> call = ParsePathCall(db, kFn, argc, argv);
    if (!call.ok()) return ResultError(ctx, call.status());
    RestoreRequest request;
    request.schema = call->options.plan.schema;
    Result<RestoreReport> r = RestoreBackup(db, call->path, request);
    if (!r.ok()) return ResultError(ctx, WithFunctionName(kFn, r.status()));
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    JsonScope scope(j);  // no allocation in its destructor
    j["ok"] = true;
    j["batch"] = r->batch;
    j["version"] = r->version;
    j["path"] = r->path;
    if (r->backup_id)
      j["backup_id"] = *r->backup_id;
    else
      j["backup_id"] = nullptr;
    j["duration_ms"] = static_cast<double>(static_cast<int64_t>(r->duration_ms * 1000 + 0.5)) / 1000;
    ResultText(ctx, j.dump());
  });
}

void BackupCleanupFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  constexpr std::string_view kFn = "backup_cleanup";
  Guard(ctx, [&] {
    if (Status s = Arity(kFn, argc, 1, 2, "1 or 2 arguments (keep_last [, options])"); !s.ok())
      return ResultError(ctx, s);
    sqlite3* db = sqlite3_context_db_handle(ctx);
    if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER || sqlite3_value_int64(argv[0]) < 0)
      return ResultError(ctx, Status::InvalidArgument(fmt::format(
                                  "{}: keep_last must be a non-negative integer", kFn)));
    Result<Options> o = ParseOptionsArg(db, kFn, argc > 1 ? argv[1] : nullptr, {},
                                        kOptSchema | kOptMaxAgeDays);
    if (!o.ok()) return ResultError(ctx, o.status());
    // Orphaned files are looked for in the stored default directory too.
    Result<Options> stored = LoadStoredDefaults(db, kFn, o->plan.schema);
    if (!stored.ok()) return ResultError(ctx, stored.status());
    Result<int64_t> removed = CleanupBackups(db, o->plan.schema, sqlite3_value_int64(argv[0]),
                                             o->max_age_days, stored->backup_dir);
    if (!removed.ok()) return ResultError(ctx, WithFunctionName(kFn, removed.status()));
    sqlite3_result_int64(ctx, *removed);
  });
}

void MigrateRollbackFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  constexpr std::string_view kFn = "migrate_rollback";
  Guard(ctx, [&] {
    if (Status s = Arity(kFn, argc, 0, 2, "0 to 2 arguments ([batch] [, options])"); !s.ok())
      return ResultError(ctx, s);
    sqlite3* db = sqlite3_context_db_handle(ctx);
    // An integer is a batch, text is options (DESIGN.md "Rollback").
    std::optional<int64_t> batch;
    sqlite3_value* options = nullptr;
    if (argc == 2) {
      if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER && sqlite3_value_type(argv[0]) != SQLITE_NULL)
        return ResultError(ctx, Status::InvalidArgument(
                                    fmt::format("{}: batch must be an integer", kFn)));
      if (sqlite3_value_type(argv[0]) == SQLITE_INTEGER) batch = sqlite3_value_int64(argv[0]);
      options = argv[1];
    } else if (argc == 1) {
      switch (sqlite3_value_type(argv[0])) {
        case SQLITE_INTEGER: batch = sqlite3_value_int64(argv[0]); break;
        case SQLITE_TEXT: options = argv[0]; break;
        case SQLITE_NULL: break;
        default:
          return ResultError(ctx, Status::InvalidArgument(fmt::format(
                                      "{}: the argument must be a batch number or options text",
                                      kFn)));
      }
    }
    constexpr uint32_t kAccepted = kOptSchema | kOptMethod | kOptForce | kOptMaxExecutionTimeMs;
    Result<Options> call = ParseOptionsArg(db, kFn, options, {}, kAccepted);
    if (!call.ok()) return ResultError(ctx, call.status());
    Result<Options> stored = LoadStoredDefaults(db, kFn, call->plan.schema);
    if (!stored.ok()) return ResultError(ctx, stored.status());
    Result<Options> o = ParseOptionsArg(db, kFn, options, *stored, kAccepted);
    if (!o.ok()) return ResultError(ctx, o.status());
    RollbackOptions ro;
    ro.schema = o->plan.schema;
    ro.method = o->method;
    ro.force = o->force;
    ro.max_execution_time_ms = o->max_execution_time_ms;
    Result<RollbackReport> r = RollbackBatch(db, batch, ro);
    if (!r.ok()) return ResultError(ctx, WithFunctionName(kFn, r.status()));
    ResultText(ctx, r->ToJson());
  });
}

}  // namespace automigrate::ext
