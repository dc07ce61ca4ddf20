// ext/health_function.cc -- migrate_health([desired] [, options]).
//
//   SELECT migrate_health(readfile('schema.sql'));
//   -- {"score":90,"checks":[{"name":"integrity","status":"ok","ok":true,"penalty":0,
//   --   "detail":"PRAGMA quick_check: ok","problems":0}, ...,
//   --   {"name":"drift","status":"warn","ok":false,"penalty":10,
//   --   "detail":"1 step needed to reach the desired schema: add_column users.email",
//   --   "steps":1,"destructive":0}, ...],
//   --  "recommendations":["The database is not at the desired schema: ..."]}
//   SELECT migrate_health(NULL, '{"full_integrity": true, "recent_batches": 50}');
//
// It reads the whole database (quick_check, foreign_key_check) and backup
// files, so it is registered DIRECTONLY (ext/functions.cc). The checks are
// core's (CheckHealth); this file converts arguments and options. The
// options the migrate_* functions share ("schema", "backup_dir", "rename",
// "column_order") are parsed by ParseOptionsJson over the defaults stored
// with migrate_configure; "full_integrity" and "recent_batches" are this
// function's own.
#include "ext/health_function.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/health.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

using nlohmann::json;

constexpr std::string_view kFunction = "migrate_health";
constexpr uint32_t kSharedKeys = kOptSchema | kOptBackupDir | kOptRename | kOptColumnOrder;
// Every key migrate_health takes, in the order an error lists them.
constexpr std::string_view kAcceptedKeys[] = {"schema",         "full_integrity", "backup_dir",
                                              "recent_batches", "rename",         "column_order"};

// A JSON string literal for `s`, as ext/options.cc quotes keys in errors.
std::string Quoted(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

Status OptionError(std::string_view detail) {
  return Status::InvalidArgument(fmt::format("{}: options: {}", kFunction, detail));
}

bool Accepted(std::string_view key) {
  return std::find(std::begin(kAcceptedKeys), std::end(kAcceptedKeys), key) !=
         std::end(kAcceptedKeys);
}

// The error for a key this function does not take, worded by the shared
// parser ("unknown key", or "cannot be used with migrate_health"); its list
// of accepted keys is completed with this function's own.
Status KeyError(sqlite3* db, const std::string& key) {
  const Status s =
      ParseOptionsJson(db, kFunction, json{{key, nullptr}}.dump(), {}, kSharedKeys).status();
  if (s.ok()) return OptionError(fmt::format("unknown key {}", Quoted(key)));
  constexpr std::string_view kList = "; accepted keys: ";
  const size_t at = s.message().find(kList);
  if (at == std::string::npos) return s;
  std::string keys;
  for (std::string_view k : kAcceptedKeys) keys += (keys.empty() ? "" : ", ") + Quoted(k);
  return Status(s.code(), s.message().substr(0, at + kList.size()) + keys);
}

// The options argument, laid over the defaults stored for the schema it
// names (as migrate_apply does), into `r`.
Status ParseHealthOptions(sqlite3* db, sqlite3_value* arg, HealthRequest* r) {
  std::string shared = "{}";
  if (arg && sqlite3_value_type(arg) != SQLITE_NULL) {
    if (sqlite3_value_type(arg) != SQLITE_TEXT)  // the shared parser words the error
      return ParseOptionsArg(db, kFunction, arg, {}, kSharedKeys).status();
    const unsigned char* p = sqlite3_value_text(arg);  // before _bytes: may convert
    if (!p) return Status(SQLITE_NOMEM, fmt::format("{}: out of memory", kFunction));
    const std::string_view text(reinterpret_cast<const char*>(p),
                                static_cast<size_t>(sqlite3_value_bytes(arg)));
    json j = json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())  // "invalid JSON", "must be a JSON object"
      return ParseOptionsJson(db, kFunction, text, {}, kSharedKeys).status();
    // Keys first, all of them, as ParseOptionsJson does.
    for (const auto& [key, value] : j.items())
      if (!Accepted(key)) return KeyError(db, key);
    json rest = json::object();
    for (const auto& [key, value] : j.items()) {
      if (key == "full_integrity") {
        if (!value.is_boolean()) return OptionError("\"full_integrity\" must be a boolean");
        r->full_integrity = value.get<bool>();
      } else if (key == "recent_batches") {
        constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int>::max());
        if (!value.is_number_unsigned() || value.get<uint64_t>() < 1 ||
            value.get<uint64_t>() > kMax)
          return OptionError("\"recent_batches\" must be a positive integer");
        r->recent_batches = static_cast<int>(value.get<uint64_t>());
      } else {
        rest[key] = value;
      }
    }
    shared = rest.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  Result<Options> call = ParseOptionsJson(db, kFunction, shared, {}, kSharedKeys);
  if (!call.ok()) return call.status();
  Result<Options> stored = LoadStoredDefaults(db, kFunction, call->plan.schema);
  if (!stored.ok()) return stored.status();
  Result<Options> options = ParseOptionsJson(db, kFunction, shared, *stored, kSharedKeys);
  if (!options.ok()) return options.status();
  r->schema = options->plan.schema;
  r->plan = options->plan;
  r->backup_dir = options->backup_dir;
  return Status::Ok();
}

Result<HealthRequest> RequestFromCall(sqlite3* db, int argc, sqlite3_value** argv) {
  if (argc > 2)
    return Status::InvalidArgument(
        fmt::format("{}: expected 0 to 2 arguments ([desired] [, options])", kFunction));
  HealthRequest r;
  if (argc > 0 && sqlite3_value_type(argv[0]) != SQLITE_NULL) {  // NULL: no drift check
    Result<std::string_view> desired = DesiredArg(kFunction, argv[0]);
    if (!desired.ok()) return desired.status();
    r.desired = std::string(*desired);
  }
  AM_RETURN_IF_ERROR(ParseHealthOptions(db, argc > 1 ? argv[1] : nullptr, &r));
  return r;
}

}  // namespace

void MigrateHealthFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    sqlite3* db = sqlite3_context_db_handle(ctx);
    Result<HealthRequest> request = RequestFromCall(db, argc, argv);
    if (!request.ok()) return ResultError(ctx, request.status());
    Result<HealthReport> report = CheckHealth(db, *request);
    if (!report.ok()) return ResultError(ctx, WithFunctionName(kFunction, report.status()));
    ResultText(ctx, report->ToJson());
  });
}

}  // namespace automigrate::ext
