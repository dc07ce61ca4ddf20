// ext/apply_functions.cc -- migrate_apply and migrate_configure.
//
//   SELECT migrate_apply(readfile('schema.sql'));
//   -- {"ok":true,"batch":3,"version":3,"steps":2,"duration_ms":4.1,"backup":null,"dry_run":false}
//   SELECT migrate_apply(readfile('schema.sql'), '{"dry_run": true, "schema": "aux"}');
//   SELECT migrate_apply(readfile('schema.sql'), '{"progress_file": "/tmp/progress"}');
//   -- appends "1/3 rebuild_table users 12.4" to /tmp/progress as each step finishes
//   SELECT migrate_configure('{"allow_destructive": true, "backup_dir": "/var/backups/app"}');
//   SELECT migrate_configure('{"backup_dir": null}');   -- null: back to the default
//   SELECT migrate_configure('{}');                     -- just the effective settings
//
// Both write (the schema and history; the stored defaults), so both are
// registered DIRECTONLY (ext/functions.cc): a view or trigger of an untrusted
// database cannot run them. The work is core's (Apply, LoadConfigJson,
// StoreConfigJson); this file converts arguments, options and errors.
#include "ext/apply_functions.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "core/apply.h"
#include "core/json_scope.h"
#include "core/files.h"
#include "core/history.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

constexpr std::string_view kApply = "migrate_apply";
constexpr std::string_view kConfigure = "migrate_configure";

ApplyOptions ToApplyOptions(const Options& o) {
  ApplyOptions a;
  a.plan = o.plan;
  a.dry_run = o.dry_run;
  a.allow_destructive = o.allow_destructive;
  a.backup = std::string(BackupModeName(o.backup));
  a.backup_dir = o.backup_dir;
  a.max_execution_time_ms = o.max_execution_time_ms;
  a.expected_plan_hash = o.expected_plan_hash;
  a.sorter_threads = o.sorter_threads;
  return a;
}

// The `progress_file` option: one line per finished step,
// "<done>/<total> <op> <object> <elapsed_ms>", appended with one write() so a
// reader polling the file never sees half a line. The object name has its
// line breaks replaced by spaces (one line per step). Progress is advisory:
// a file that cannot be opened or written is ignored, and nothing thrown
// while formatting reaches the executor.
void AttachProgressFile(const std::optional<std::string>& path, ApplyOptions* a) {
  if (!path) return;
  Result<FileDescriptor> fd = OpenFile(*path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (!fd.ok()) return;
  auto shared = std::make_shared<FileDescriptor>(std::move(*fd));
  a->on_step_done = [shared](size_t done, size_t total, const Step& step,
                             double elapsed_ms) noexcept {
    try {
      std::string object = step.object;
      for (char& ch : object)
        if (ch == '\n' || ch == '\r') ch = ' ';
      const std::string line =
          fmt::format("{}/{} {} {} {:.1f}\n", done, total, OpName(step.op), object, elapsed_ms);
      [[maybe_unused]] ssize_t n = ::write(shared->get(), line.data(), line.size());
    } catch (...) {  // progress only: never fails the migration
    }
  };
}

// The call's options decide which database is migrated, and that database's
// stored defaults are the base the call's options are laid over again:
// explicit options always win.
Result<Options> ApplyOptionsFromCall(sqlite3* db, sqlite3_value* options) {
  Result<Options> call = ParseOptionsArg(db, kApply, options);
  if (!call.ok()) return call.status();
  Result<Options> stored = LoadStoredDefaults(db, kApply, call->plan.schema);
  if (!stored.ok()) return stored.status();
  return ParseOptionsArg(db, kApply, options, *stored);
}

Result<std::string> Configure(sqlite3* db, sqlite3_value* arg) {
  using nlohmann::json;
  Result<ConfigureRequest> request = ParseConfigureArg(db, kConfigure, arg);
  if (!request.ok()) return request.status();
  Result<std::string> stored_text = LoadConfigJson(db, request->schema);
  if (!stored_text.ok()) return WithFunctionName(kConfigure, stored_text.status());
  json stored =
      json::parse(stored_text->begin(), stored_text->end(), nullptr, /*allow_exceptions=*/false);
  JsonScope stored_scope(stored);  // see core/json_scope.h
  if (!stored.is_object()) {  // json_group_object gives one; the merge below needs one
    Status s = ParseStoredDefaults(db, kConfigure, request->schema, *stored_text).status();
    return s.ok() ? Status::Error("migrate_configure: stored defaults: not a JSON object") : s;
  }
  json changes = json::parse(request->changes);  // ParseConfigureArg wrote it
  JsonScope changes_scope(changes);
  json merged = stored;
  JsonScope merged_scope(merged);
  for (const auto& [key, value] : changes.items()) {
    if (value.is_null()) {
      merged.erase(key);
    } else {
      merged[key] = value;
    }
  }
  const std::string merged_text = merged.dump(-1, ' ', false, json::error_handler_t::replace);
  // The changes are valid already, so an error here is a stored key edited
  // by hand: reported with where it lives, and not written back.
  Result<Options> effective = ParseStoredDefaults(db, kConfigure, request->schema, merged_text);
  if (!effective.ok()) return effective.status();
  // Only a real change writes: migrate_configure('{}') reads, and creates no
  // table in a database that was never configured.
  if (merged != stored) {
    if (Status s = StoreConfigJson(db, request->schema, merged_text); !s.ok())
      return WithFunctionName(kConfigure, s);
  }
  return StoredDefaultsToJson(*effective);
}

}  // namespace

void MigrateApplyFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    if (argc < 1 || argc > 2)
      return ResultError(ctx, Status::InvalidArgument(fmt::format(
                                  "{}: expected 1 or 2 arguments (desired [, options])", kApply)));
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<std::string_view> desired = DesiredArg(kApply, argv[0]);
    if (!desired.ok()) return ResultError(ctx, desired.status());
    Result<Options> options = ApplyOptionsFromCall(db, argc > 1 ? argv[1] : nullptr);
    if (!options.ok()) return ResultError(ctx, options.status());
    ApplyOptions apply_options = ToApplyOptions(*options);
    AttachProgressFile(options->progress_file, &apply_options);
    Result<ApplyReport> report = Apply(db, *desired, apply_options);
    if (!report.ok()) return ResultError(ctx, WithFunctionName(kApply, report.status()));
    ResultText(ctx, report->ToJson());
  });
}

void MigrateConfigureFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    if (argc != 1)
      return ResultError(ctx, Status::InvalidArgument(
                                  fmt::format("{}: expected 1 argument (options)", kConfigure)));
    Result<std::string> settings = Configure(sqlite3_context_db_handle(ctx), argv[0]);
    if (!settings.ok()) return ResultError(ctx, settings.status());
    ResultText(ctx, *settings);
  });
}

}  // namespace automigrate::ext
