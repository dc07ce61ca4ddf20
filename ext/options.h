// ext/options.h -- the arguments the migrate_* functions share: the desired
// schema and the options JSON object.
//
//   SELECT * FROM migrate_plan(readfile('schema.sql'),
//                              '{"column_order": "strict", "rename": {"users.fullname": "name"}}');
//   SELECT migrate_apply(readfile('schema.sql'), json_object('dry_run', json('true')));
//
// Every error names the SQL function and the argument, e.g.
// `migrate_plan: options: "dry_run" must be a boolean`, so the caller sees
// which call and which value to fix. Nothing here changes the database.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/apply.h"
#include "core/plan.h"
#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate::ext {

enum class BackupMode { kAuto, kAlways, kNever };
std::string_view BackupModeName(BackupMode mode);  // "auto", "always", "never"

// Every option of DESIGN.md's options table. Defaults are the documented ones.
struct Options {
  PlanOptions plan;  // schema, column_order ("strict" -> strict_column_order), rename
  bool dry_run = false;
  bool allow_destructive = false;
  BackupMode backup = BackupMode::kAuto;
  std::optional<std::string> backup_dir;  // nullopt: `<database file>.backups/`
  int64_t max_execution_time_ms = 15000;
  std::optional<std::string> expected_plan_hash;  // lower-case hex, 32 digits
  // migrate_apply: a file that gets one line per finished step (progress).
  std::optional<std::string> progress_file;
  // migrate_apply: PRAGMA threads while a plan builds indexes (0: untouched).
  std::optional<int> sorter_threads;  // nullopt: ApplyOptions' default
  // Keys of the backup and rollback functions only (not in OptionsToJson).
  bool force = false;                   // migrate_rollback
  std::string method = "auto";          // migrate_rollback: auto | sql | backup
  std::optional<double> max_age_days;   // backup_cleanup
  bool full_integrity = false;          // migrate_health: integrity_check, not quick_check
  int recent_batches = 20;              // migrate_health: the window of batches it reads
};

// Option keys as bits, so each SQL function says which keys it takes.
enum OptionKey : uint32_t {
  kOptDryRun = 1u << 0,
  kOptAllowDestructive = 1u << 1,
  kOptBackup = 1u << 2,
  kOptBackupDir = 1u << 3,
  kOptMaxExecutionTimeMs = 1u << 4,
  kOptExpectedPlanHash = 1u << 5,
  kOptRename = 1u << 6,
  kOptColumnOrder = 1u << 7,
  kOptSchema = 1u << 8,
  kOptForce = 1u << 9,
  kOptMethod = 1u << 10,
  kOptMaxAgeDays = 1u << 11,
  kOptFullIntegrity = 1u << 12,
  kOptRecentBatches = 1u << 13,
  kOptProgressFile = 1u << 14,
  kOptSorterThreads = 1u << 15,
  kOptInPlace = 1u << 16,
};
// The planner functions and migrate_apply take every key: the same options
// object can be reviewed with migrate_plan/migrate_status and then applied.
inline constexpr uint32_t kAllOptionKeys =
    ((1u << 9) - 1) | kOptProgressFile | kOptSorterThreads | kOptInPlace;
// What migrate_configure may store as per-database defaults (DESIGN.md).
inline constexpr uint32_t kStorableOptionKeys =
    kOptBackup | kOptBackupDir | kOptMaxExecutionTimeMs | kOptColumnOrder | kOptAllowDestructive;

// Parses the options JSON `json` on top of `base`: keys present replace the
// base value, absent keys keep it (so stored defaults can be layered under a
// call's options). `function` is the SQL name used in error messages.
//
// Errors (Status::InvalidArgument, message "<function>: options...."):
// invalid JSON; not an object; an unknown key; a known key outside `accepted`;
// a value of the wrong type or out of range; "schema" naming a database that
// is not attached to `db` (checked only when the key is present; the name is
// stored as the connection spells it, e.g. "AUX" -> "aux").
// Keys with an optional value ("backup_dir", "expected_plan_hash") take null
// to mean "none / the default".
Result<Options> ParseOptionsJson(sqlite3* db, std::string_view function, std::string_view json,
                                 const Options& base = {}, uint32_t accepted = kAllOptionKeys);

// The SQL argument form: SQL NULL (or `arg == nullptr`, an omitted argument)
// -> `base`; text -> ParseOptionsJson; any other type is an error
// "<function>: options must be JSON text".
Result<Options> ParseOptionsArg(sqlite3* db, std::string_view function, sqlite3_value* arg,
                                const Options& base = {}, uint32_t accepted = kAllOptionKeys);

// `options` as a JSON object with every key, in the options table's order;
// ParseOptionsJson reads it back to the same Options. For migrate_configure's
// "effective settings" and for history records.
std::string OptionsToJson(const Options& options);

// The desired-schema argument as text. A BLOB is taken as UTF-8 text, since
// the shell's readfile() returns one (`migrate_plan(readfile('schema.sql'))`);
// a leading UTF-8 byte-order mark is dropped. The view points into `arg` and is
// valid until the value changes. Errors: SQL NULL
// ("<function>: desired schema is NULL"), a number ("... must be text"), a NUL
// byte inside (SQLite would silently stop reading there).
Result<std::string_view> DesiredArg(std::string_view function, sqlite3_value* arg);

// The name under which `db` knows the attached database `name` (matched
// without regard to case, as SQLite does: "AUX" -> "aux"); nullopt when no
// such database is attached.
Result<std::optional<std::string>> AttachedSchemaName(sqlite3* db, std::string_view name);

// A schema-name argument (migrate_stats, the history tables' hidden column):
// SQL NULL or `arg == nullptr` -> "main"; text -> the attached database's
// name. Errors: "<function>: schema must be text",
// "<function>: schema \"x\" is not attached".
Result<std::string> SchemaArg(sqlite3* db, std::string_view function, sqlite3_value* arg);

// The defaults migrate_configure stored in `schema`'s _automigrate_config,
// as Options (plan.schema = `schema`; keys not stored keep their documented
// defaults). Reads only: a database that was never configured gives the
// defaults.
Result<Options> LoadStoredDefaults(sqlite3* db, std::string_view function, std::string_view schema);
// The same for stored-defaults JSON already read (`stored`, an object of
// storable keys). Errors, for a table edited by hand, name the table:
// `<function>: stored defaults in "main"._automigrate_config: "backup" must be ...`.
Result<Options> ParseStoredDefaults(sqlite3* db, std::string_view function, std::string_view schema,
                                    std::string_view stored);

// migrate_configure's argument: the storable keys (kStorableOptionKeys), each
// with a value of the right type or null ("remove the stored key, back to the
// default"), plus "schema", which picks the database whose defaults change
// and is never stored itself.
struct ConfigureRequest {
  std::string schema = "main";
  std::string changes = "{}";  // JSON object: the storable keys given, null kept
};
// SQL NULL or `arg == nullptr` -> no change. Errors as ParseOptionsArg, and
// for a known key that cannot be stored:
// `<function>: options: "dry_run" cannot be stored; storable keys: ...`.
Result<ConfigureRequest> ParseConfigureArg(sqlite3* db, std::string_view function,
                                           sqlite3_value* arg);

// The storable part of `options` as a JSON object, every storable key with
// its effective value: {"backup", "backup_dir", "max_execution_time_ms",
// "column_order", "allow_destructive"} (DESIGN.md "Stored defaults" order).
std::string StoredDefaultsToJson(const Options& options);

// `status` with its message prefixed "<function>: " unless it already starts
// so: core errors do not know which SQL function called them.
Status WithFunctionName(std::string_view function, const Status& status);

}  // namespace automigrate::ext
