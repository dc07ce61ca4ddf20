// ext/options.cc -- the options JSON and the desired-schema argument.
//
//   SELECT migrate_status(readfile('schema.sql'), '{"schema": "aux", "column_order": "strict"}');
//
// The parser is table-driven: one row per key with the bit that lets a
// function accept it and the setter that checks its type. nlohmann's
// non-throwing parse is used, so a bad options text is an ordinary Status.
#include "ext/options.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/history.h"
#include "core/json_scope.h"
#include "core/quote.h"
#include "core/schema.h"
#include "core/sqlite_handle.h"

namespace automigrate::ext {
namespace {

using nlohmann::json;

// A JSON string literal for `s`, for error messages: quotes and control
// characters in a user's key stay readable and unambiguous.
std::string Quoted(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

struct ParseContext {
  sqlite3* db;
  std::string_view function;
};

// nlohmann's parser stops at a NUL byte and accepts what came before it:
// '{"dry_run": false}\0{"dry_run": true}' must not pass as the first half.
Status NoNulByte(std::string_view function, std::string_view text) {
  if (size_t nul = text.find('\0'); nul != std::string_view::npos)
    return Status::InvalidArgument(
        fmt::format("{}: options contain a NUL byte at offset {}", function, nul));
  return Status::Ok();
}

Status OptionError(const ParseContext& c, std::string_view detail) {
  return Status::InvalidArgument(fmt::format("{}: options: {}", c.function, detail));
}

Status TypeError(const ParseContext& c, std::string_view key, std::string_view expected) {
  return OptionError(c, fmt::format("\"{}\" must be {}", key, expected));
}

Status SetDryRun(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_boolean()) return TypeError(c, "dry_run", "a boolean");
  o->dry_run = v.get<bool>();
  return Status::Ok();
}

Status SetAllowDestructive(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_boolean()) return TypeError(c, "allow_destructive", "a boolean");
  o->allow_destructive = v.get<bool>();
  return Status::Ok();
}

Status SetBackup(const ParseContext& c, const json& v, Options* o) {
  const std::string* s = v.get_ptr<const std::string*>();
  if (s && *s == "auto") {
    o->backup = BackupMode::kAuto;
  } else if (s && *s == "always") {
    o->backup = BackupMode::kAlways;
  } else if (s && *s == "never") {
    o->backup = BackupMode::kNever;
  } else {
    return TypeError(c, "backup", R"(one of "auto", "always", "never")");
  }
  return Status::Ok();
}

// Optional strings take null for "none", so a call can clear a stored default.
Status SetBackupDir(const ParseContext& c, const json& v, Options* o) {
  if (v.is_null()) {
    o->backup_dir.reset();
    return Status::Ok();
  }
  const std::string* s = v.get_ptr<const std::string*>();
  if (!s) return TypeError(c, "backup_dir", "a string or null");
  if (s->empty()) return TypeError(c, "backup_dir", "a directory path, not empty");
  // The file system stops at a NUL: "/a\u0000b" would be the directory /a.
  if (s->find('\0') != std::string::npos)
    return OptionError(c, "\"backup_dir\" must not contain a NUL byte");
  o->backup_dir = *s;
  return Status::Ok();
}

Status SetMaxExecutionTime(const ParseContext& c, const json& v, Options* o) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  // nlohmann stores non-negative integers as unsigned, negative ones as signed,
  // and anything with a fraction or exponent as a float: only the first fits.
  if (!v.is_number_unsigned() || v.get<uint64_t>() > kMax)
    return TypeError(c, "max_execution_time_ms", "a non-negative integer");
  o->max_execution_time_ms = static_cast<int64_t>(v.get<uint64_t>());
  return Status::Ok();
}

// Checked here, not at apply time: a mistyped hash should say so, not look
// like a plan that changed since it was reviewed.
Status SetExpectedPlanHash(const ParseContext& c, const json& v, Options* o) {
  if (v.is_null()) {
    o->expected_plan_hash.reset();
    return Status::Ok();
  }
  const std::string* s = v.get_ptr<const std::string*>();
  if (!s) return TypeError(c, "expected_plan_hash", "a string or null");
  std::string hex;
  for (char ch : *s) {
    if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) break;
    hex += ch;
  }
  if (hex.size() != s->size() || hex.size() != 32)
    return TypeError(c, "expected_plan_hash",
                     "the 32-digit hex plan_hash that migrate_status returns");
  o->expected_plan_hash = std::move(hex);
  return Status::Ok();
}

// Whether the names exist is the planner's question (it knows both schemas);
// here only the shape is checked.
Status SetRename(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_object()) return TypeError(c, "rename", R"(an object of "old name": "new name" pairs)");
  std::map<std::string, std::string> renames;
  for (const auto& [from, to] : v.items()) {
    const std::string* name = to.get_ptr<const std::string*>();
    if (!name)
      return OptionError(
          c, fmt::format("\"rename\": the new name for {} must be a string", Quoted(from)));
    if (from.empty() || name->empty()) return OptionError(c, "\"rename\": names must not be empty");
    // No SQL name holds a NUL, and error messages would be cut at it.
    if (from.find('\0') != std::string::npos || name->find('\0') != std::string::npos)
      return OptionError(c, "\"rename\": names must not contain a NUL byte");
    renames.emplace(from, *name);
  }
  o->plan.renames = std::move(renames);
  return Status::Ok();
}

Status SetColumnOrder(const ParseContext& c, const json& v, Options* o) {
  const std::string* s = v.get_ptr<const std::string*>();
  if (s && *s == "ignore") {
    o->plan.strict_column_order = false;
  } else if (s && *s == "strict") {
    o->plan.strict_column_order = true;
  } else {
    return TypeError(c, "column_order", R"(one of "ignore", "strict")");
  }
  return Status::Ok();
}

// "temp" is in pragma_database_list only once the connection has opened its
// temporary database, so without this it would be "not attached" or usable
// depending on what the connection did before. It is refused either way:
// its objects vanish with the connection, so migrating it means nothing.
bool IsTempSchema(std::string_view name) { return EqualsNoCase(name, "temp"); }
constexpr std::string_view kTempSchemaRefused =
    "schema \"temp\" is the connection's temporary database; only \"main\" and attached "
    "databases can be migrated";

// Stores the name as the connection spells it: SQLite matches schema names
// without regard to case, and core compares them as plain strings.
Status SetSchema(const ParseContext& c, const json& v, Options* o) {
  const std::string* s = v.get_ptr<const std::string*>();
  if (!s) return TypeError(c, "schema", "a string");
  if (IsTempSchema(*s)) return OptionError(c, kTempSchemaRefused);
  Result<std::optional<std::string>> name = AttachedSchemaName(c.db, *s);
  if (!name.ok()) return WithFunctionName(c.function, name.status());
  if (!*name) return OptionError(c, fmt::format("schema {} is not attached", Quoted(*s)));
  o->plan.schema = std::move(**name);
  return Status::Ok();
}

Status SetForce(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_boolean()) return TypeError(c, "force", "a boolean");
  o->force = v.get<bool>();
  return Status::Ok();
}

Status SetMethod(const ParseContext& c, const json& v, Options* o) {
  const std::string* s = v.get_ptr<const std::string*>();
  if (!s || (*s != "auto" && *s != "sql" && *s != "backup"))
    return TypeError(c, "method", R"(one of "auto", "sql", "backup")");
  o->method = *s;
  return Status::Ok();
}

Status SetMaxAgeDays(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_number() || v.get<double>() < 0 || !std::isfinite(v.get<double>()))
    return TypeError(c, "max_age_days", "a non-negative number");
  o->max_age_days = v.get<double>();
  return Status::Ok();
}

Status SetFullIntegrity(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_boolean()) return TypeError(c, "full_integrity", "a boolean");
  o->full_integrity = v.get<bool>();
  return Status::Ok();
}

Status SetRecentBatches(const ParseContext& c, const json& v, Options* o) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<int>::max());
  if (!v.is_number_unsigned() || v.get<uint64_t>() < 1 || v.get<uint64_t>() > kMax)
    return TypeError(c, "recent_batches", "a positive integer");
  o->recent_batches = static_cast<int>(v.get<uint64_t>());
  return Status::Ok();
}

// Not checked for existence: migrate_apply creates it, and a file that cannot
// be written only loses the progress lines, never the migration.
Status SetProgressFile(const ParseContext& c, const json& v, Options* o) {
  if (v.is_null()) {
    o->progress_file.reset();
    return Status::Ok();
  }
  const std::string* s = v.get_ptr<const std::string*>();
  if (!s || s->empty()) return TypeError(c, "progress_file", "a file path or null");
  o->progress_file = *s;
  return Status::Ok();
}

// An integer, not a boolean: a busy server may want fewer threads than cores.
Status SetSorterThreads(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_number_unsigned() || v.get<uint64_t>() > static_cast<uint64_t>(kMaxSorterThreads))
    return TypeError(c, "sorter_threads",
                     fmt::format("an integer from 0 to {} (0: leave PRAGMA threads as it is)",
                                 kMaxSorterThreads));
  o->sorter_threads = static_cast<int>(v.get<uint64_t>());
  return Status::Ok();
}

// false forces a rebuild where an alter_table_in_place step would do.
Status SetInPlace(const ParseContext& c, const json& v, Options* o) {
  if (!v.is_boolean()) return TypeError(c, "in_place", "a boolean");
  o->plan.in_place = v.get<bool>();
  return Status::Ok();
}

using Setter = Status (*)(const ParseContext&, const json&, Options*);

struct OptionSpec {
  std::string_view name;
  OptionKey key;
  Setter set;
};

// In DESIGN.md's order, which is also OptionsToJson's.
constexpr OptionSpec kOptionSpecs[] = {
    {"dry_run", kOptDryRun, SetDryRun},
    {"allow_destructive", kOptAllowDestructive, SetAllowDestructive},
    {"backup", kOptBackup, SetBackup},
    {"backup_dir", kOptBackupDir, SetBackupDir},
    {"max_execution_time_ms", kOptMaxExecutionTimeMs, SetMaxExecutionTime},
    {"expected_plan_hash", kOptExpectedPlanHash, SetExpectedPlanHash},
    {"rename", kOptRename, SetRename},
    {"column_order", kOptColumnOrder, SetColumnOrder},
    {"schema", kOptSchema, SetSchema},
    {"force", kOptForce, SetForce},
    {"method", kOptMethod, SetMethod},
    {"max_age_days", kOptMaxAgeDays, SetMaxAgeDays},
    {"full_integrity", kOptFullIntegrity, SetFullIntegrity},
    {"recent_batches", kOptRecentBatches, SetRecentBatches},
    {"progress_file", kOptProgressFile, SetProgressFile},
    {"sorter_threads", kOptSorterThreads, SetSorterThreads},
    {"in_place", kOptInPlace, SetInPlace},
};

const OptionSpec* FindSpec(std::string_view name) {
  for (const OptionSpec& spec : kOptionSpecs)
    if (spec.name == name) return &spec;
  return nullptr;
}

std::string AcceptedKeys(uint32_t accepted) {
  std::string out;
  for (const OptionSpec& spec : kOptionSpecs) {
    if (!(accepted & spec.key)) continue;
    if (!out.empty()) out += ", ";
    out += Quoted(spec.name);
  }
  return out;
}

}  // namespace

std::string_view BackupModeName(BackupMode mode) {
  switch (mode) {
    case BackupMode::kAuto: return "auto";
    case BackupMode::kAlways: return "always";
    case BackupMode::kNever: return "never";
  }
  return "auto";
}

Result<Options> ParseOptionsJson(sqlite3* db, std::string_view function, std::string_view text,
                                 const Options& base, uint32_t accepted) {
  const ParseContext c{db, function};
  AM_RETURN_IF_ERROR(NoNulByte(function, text));
  json j = json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  JsonScope scope(j);  // see core/json_scope.h
  if (j.is_discarded()) return OptionError(c, "invalid JSON");
  if (!j.is_object())
    return Status::InvalidArgument(fmt::format("{}: options must be a JSON object", function));
  Options out = base;
  // Unknown keys first, all of them before any value: a misspelt key is the
  // likelier mistake, and reporting it beats a type error on its neighbour.
  for (const auto& [key, value] : j.items()) {
    const OptionSpec* spec = FindSpec(key);
    if (!spec) return OptionError(c, fmt::format("unknown key {}", Quoted(key)));
    if (!(accepted & spec->key))
      return OptionError(c, fmt::format("{} cannot be used with {}; accepted keys: {}", Quoted(key),
                                        function, AcceptedKeys(accepted)));
  }
  for (const auto& [key, value] : j.items()) AM_RETURN_IF_ERROR(FindSpec(key)->set(c, value, &out));
  return out;
}

Result<Options> ParseOptionsArg(sqlite3* db, std::string_view function, sqlite3_value* arg,
                                const Options& base, uint32_t accepted) {
  if (!arg) return base;
  switch (sqlite3_value_type(arg)) {
    case SQLITE_NULL: return base;
    case SQLITE_TEXT: {
      const unsigned char* p = sqlite3_value_text(arg);  // before _bytes: may convert
      if (!p) return Status(SQLITE_NOMEM, fmt::format("{}: out of memory", function));
      return ParseOptionsJson(
          db, function,
          {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_value_bytes(arg))}, base,
          accepted);
    }
    default: return Status::InvalidArgument(fmt::format("{}: options must be JSON text", function));
  }
}

std::string OptionsToJson(const Options& o) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // see core/json_scope.h
  ReserveMembers(j, 10);
  j["dry_run"] = o.dry_run;
  j["allow_destructive"] = o.allow_destructive;
  j["backup"] = BackupModeName(o.backup);
  if (o.backup_dir)
    j["backup_dir"] = *o.backup_dir;
  else
    j["backup_dir"] = nullptr;
  j["max_execution_time_ms"] = o.max_execution_time_ms;
  if (o.expected_plan_hash)
    j["expected_plan_hash"] = *o.expected_plan_hash;
  else
    j["expected_plan_hash"] = nullptr;
  nlohmann::ordered_json& rename = j["rename"] = nlohmann::ordered_json::object();
  for (const auto& [from, to] : o.plan.renames) rename[from] = to;
  j["column_order"] = o.plan.strict_column_order ? "strict" : "ignore";
  j["schema"] = o.plan.schema;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<std::string_view> DesiredArg(std::string_view function, sqlite3_value* arg) {
  const void* p = nullptr;
  switch (sqlite3_value_type(arg)) {
    case SQLITE_NULL:
      return Status::InvalidArgument(fmt::format("{}: desired schema is NULL", function));
    case SQLITE_TEXT:
      p = sqlite3_value_text(arg);  // before _bytes: may convert
      break;
    case SQLITE_BLOB: p = sqlite3_value_blob(arg); break;
    default:
      return Status::InvalidArgument(fmt::format("{}: desired schema must be text", function));
  }
  const int n = sqlite3_value_bytes(arg);
  if (!p && n > 0) return Status(SQLITE_NOMEM, fmt::format("{}: out of memory", function));
  std::string_view sql(static_cast<const char*>(p), p ? static_cast<size_t>(n) : 0);
  if (size_t nul = sql.find('\0'); nul != std::string_view::npos)
    return Status::InvalidArgument(
        fmt::format("{}: desired schema contains a NUL byte at offset {}", function, nul));
  if (sql.starts_with("\xEF\xBB\xBF")) sql.remove_prefix(3);
  return sql;
}

Status WithFunctionName(std::string_view function, const Status& status) {
  const std::string& m = status.message();
  if (status.ok() ||
      (m.size() > function.size() && m.starts_with(function) && m[function.size()] == ':'))
    return status;
  return status.WithPrefix(function);
}

Result<std::optional<std::string>> AttachedSchemaName(sqlite3* db, std::string_view name) {
  Stmt q;
  AM_RETURN_IF_ERROR(
      q.Prepare(db, "SELECT name FROM pragma_database_list WHERE name = ?1 COLLATE NOCASE"));
  q.Bind(1, name);
  if (!q.Step()) {
    AM_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }
  return std::optional<std::string>(q.Text(0));
}

Result<std::string> SchemaArg(sqlite3* db, std::string_view function, sqlite3_value* arg) {
  if (!arg || sqlite3_value_type(arg) == SQLITE_NULL) return std::string("main");
  if (sqlite3_value_type(arg) != SQLITE_TEXT)
    return Status::InvalidArgument(fmt::format("{}: schema must be text", function));
  const unsigned char* p = sqlite3_value_text(arg);  // before _bytes: may convert
  if (!p) return Status(SQLITE_NOMEM, fmt::format("{}: out of memory", function));
  const std::string_view text(reinterpret_cast<const char*>(p),
                              static_cast<size_t>(sqlite3_value_bytes(arg)));
  if (IsTempSchema(text))
    return Status::InvalidArgument(fmt::format("{}: {}", function, kTempSchemaRefused));
  Result<std::optional<std::string>> name = AttachedSchemaName(db, text);
  if (!name.ok()) return WithFunctionName(function, name.status());
  if (!*name)
    return Status::InvalidArgument(
        fmt::format("{}: schema {} is not attached", function, Quoted(text)));
  return std::move(**name);
}

Result<Options> ParseStoredDefaults(sqlite3* db, std::string_view function, std::string_view schema,
                                    std::string_view stored) {
  // Written only by migrate_configure, which validates; a failure here means
  // the table was edited by hand, and the message says where to look.
  const std::string where =
      fmt::format("{}: stored defaults in {}._automigrate_config", function, QuoteIdent(schema));
  json j = json::parse(stored.begin(), stored.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  JsonScope scope(j);  // see core/json_scope.h
  if (!j.is_object()) return Status::Error(where + ": not a JSON object");
  for (const auto& [key, value] : j.items()) {
    const OptionSpec* spec = FindSpec(key);
    if (!spec || !(spec->key & kStorableOptionKeys))
      return Status::Error(
          fmt::format("{}: {} cannot be stored; delete that row", where, Quoted(key)));
  }
  Options defaults;
  defaults.plan.schema = std::string(schema);
  Result<Options> out = ParseOptionsJson(db, function, stored, defaults, kStorableOptionKeys);
  if (out.ok()) return out;
  // "<function>: options: <detail>" -> "<where>: <detail>".
  const std::string prefix = fmt::format("{}: options: ", function);
  std::string_view detail = out.status().message();
  if (detail.starts_with(prefix)) detail.remove_prefix(prefix.size());
  return Status(out.status().code(), fmt::format("{}: {}", where, detail));
}

Result<Options> LoadStoredDefaults(sqlite3* db, std::string_view function,
                                   std::string_view schema) {
  Result<std::string> stored = LoadConfigJson(db, schema);
  if (!stored.ok()) return WithFunctionName(function, stored.status());
  return ParseStoredDefaults(db, function, schema, *stored);
}

Result<ConfigureRequest> ParseConfigureArg(sqlite3* db, std::string_view function,
                                           sqlite3_value* arg) {
  const ParseContext c{db, function};
  ConfigureRequest out;
  if (!arg || sqlite3_value_type(arg) == SQLITE_NULL) return out;  // no change
  if (sqlite3_value_type(arg) != SQLITE_TEXT)
    return Status::InvalidArgument(fmt::format("{}: options must be JSON text", function));
  const unsigned char* p = sqlite3_value_text(arg);  // before _bytes: may convert
  if (!p) return Status(SQLITE_NOMEM, fmt::format("{}: out of memory", function));
  const std::string_view text(reinterpret_cast<const char*>(p),
                              static_cast<size_t>(sqlite3_value_bytes(arg)));
  AM_RETURN_IF_ERROR(NoNulByte(function, text));
  json j = json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  JsonScope scope(j);  // see core/json_scope.h
  if (j.is_discarded()) return OptionError(c, "invalid JSON");
  if (!j.is_object())
    return Status::InvalidArgument(fmt::format("{}: options must be a JSON object", function));
  // Keys first, as ParseOptionsJson does; a valid apply key that cannot be
  // stored gets its own message, since "unknown" would mislead.
  for (const auto& [key, value] : j.items()) {
    const OptionSpec* spec = FindSpec(key);
    if (!spec) return OptionError(c, fmt::format("unknown key {}", Quoted(key)));
    if (spec->key != kOptSchema && !(spec->key & kStorableOptionKeys))
      return OptionError(c, fmt::format("{} cannot be stored; storable keys: {}", Quoted(key),
                                        AcceptedKeys(kStorableOptionKeys)));
  }
  // Values: null removes a stored key, so only the others are type-checked
  // (with the parser every function uses, so the messages match).
  json to_check = json::object();
  JsonScope to_check_scope(to_check);  // see core/json_scope.h
  json changes = json::object();
  JsonScope changes_scope(changes);
  for (const auto& [key, value] : j.items()) {
    if (key != "schema") changes[key] = value;
    if (key == "schema" || !value.is_null()) to_check[key] = value;
  }
  Result<Options> checked =
      ParseOptionsJson(db, function, to_check.dump(-1, ' ', false, json::error_handler_t::replace),
                       {}, kStorableOptionKeys | kOptSchema);
  if (!checked.ok()) return checked.status();
  out.schema = checked->plan.schema;
  out.changes = changes.dump(-1, ' ', false, json::error_handler_t::replace);
  return out;
}

std::string StoredDefaultsToJson(const Options& o) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // see core/json_scope.h
  j["backup"] = BackupModeName(o.backup);
  if (o.backup_dir)
    j["backup_dir"] = *o.backup_dir;
  else
    j["backup_dir"] = nullptr;
  j["max_execution_time_ms"] = o.max_execution_time_ms;
  j["column_order"] = o.plan.strict_column_order ? "strict" : "ignore";
  j["allow_destructive"] = o.allow_destructive;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace automigrate::ext
