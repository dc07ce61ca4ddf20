// core/plan.h -- a migration plan: ordered steps with forward and rollback
// SQL, complexity, destructiveness, warnings and estimates.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

enum class Op {
  kCreateTable, kDropTable, kRebuildTable, kRenameTable,
  kAddColumn, kDropColumn, kRenameColumn,
  kCreateIndex, kDropIndex,
  kCreateView, kDropView,
  kCreateTrigger, kDropTrigger,
  kAlterTableInPlace,  // edits the stored CREATE TABLE text (writable_schema): no row moves
};
std::string_view OpName(Op op);  // "create_table", ...

enum class Complexity { kSimple = 0, kModerate = 1, kComplex = 2 };
std::string_view ComplexityName(Complexity c);  // "SIMPLE", ...

// A rule a step tightens on existing rows, and how many rows break it.
struct Precheck {
  std::string table;
  std::string column;  // "" for table-level rules
  std::string rule;    // "NOT NULL", "UNIQUE (a, b)", "CHECK (x > 0)", "FOREIGN KEY -> p", "STRICT INTEGER"
  int64_t violations = 0;
};

struct Step {
  Op op;
  std::string object_type;  // table, column, index, view, trigger
  std::string object;       // object name ("table.column" for columns)
  std::string table_name;   // the table it belongs to ("" for views)
  std::string sql;          // one or more statements, each ending in ";"
  std::optional<std::string> rollback_sql;  // nullopt: only a backup can undo it
  Complexity complexity = Complexity::kSimple;
  bool destructive = false;
  std::string warning;
  std::string reason;
  int64_t est_rows = 0;
  double est_ms = 0;
  bool needs_foreign_keys_off = false;  // DROP TABLE inside: must not cascade
  // The step can break the FOREIGN KEYs of other tables that reference its
  // table: drop_table, a rebuild_table that does not copy the referenced keys
  // unchanged (same type, collation, PRIMARY KEY and UNIQUE), dropping a
  // UNIQUE index. apply's foreign_key_check reads those tables; a rebuilt
  // table's own keys are checked either way.
  bool check_referencing_tables = false;
  // What a destructive step loses, for refusals: "table t (3 rows)", "column t.c".
  std::vector<std::string> data_loss;
  std::vector<Precheck> prechecks;
};

struct PlanOptions {
  std::string schema = "main";
  bool strict_column_order = false;
  // Explicit rename hints: "old_table" -> "new_table", "table.old_col" -> "new_col"
  // (the table named by its desired name).
  std::map<std::string, std::string> renames;
  // 0: sqlite3_libversion_number(); tests set an older number to exercise fallbacks.
  int sqlite_version = 0;
  // false: every table change ALTER TABLE cannot make is a rebuild, even when
  // an in-place edit of the stored definition would do (option "in_place").
  bool in_place = true;
};

struct Plan {
  std::string schema = "main";
  std::vector<Step> steps;
  std::vector<std::string> warnings;  // plan-level (e.g. a drop+add that looks like a rename)
  bool foreign_keys_on = false;       // the connection's setting when planned

  bool empty() const { return steps.empty(); }
  bool NeedsForeignKeysOff() const;
  Complexity MaxComplexity() const;
  bool Destructive() const;
  double EstMs() const;
  std::vector<std::string> AllWarnings() const;  // plan-level then per-step, in order
  // XXH3-128 (hex) over the ordered (op, object, sql) of every step.
  std::string Hash() const;
  // One runnable script: foreign_keys handling, BEGIN, steps,
  // foreign_key_check guard, COMMIT.
  std::string Script() const;
};

// Plans the migration of `db` (schema options.schema) to the schema that
// `desired_sql` creates. Errors: invalid desired DDL (naming the statement),
// forbidden statements in it, bad rename hints.
// Steps of op kAlterTableInPlace switch PRAGMA writable_schema on and, when
// they complete, reset it (which also reloads the schema). A step that fails
// half-way leaves it on, and a rollback after a completed edit can leave the
// connection's in-memory schema showing the edited definition. The executors
// hold this guard around their transaction: Reset() after the rollback (and
// the destructor, as a last resort) runs PRAGMA writable_schema=RESET, which
// switches it off and re-reads the schema from what is now in the file.
class WritableSchemaGuard {
 public:
  explicit WritableSchemaGuard(sqlite3* db) : db_(db) {}
  WritableSchemaGuard(const WritableSchemaGuard&) = delete;
  WritableSchemaGuard& operator=(const WritableSchemaGuard&) = delete;
  ~WritableSchemaGuard() { Reset(); }
  void Arm(bool on) { armed_ = armed_ || on; }
  void ArmFor(const Plan& plan);  // armed when the plan has an in-place step
  void Disarm() { armed_ = false; }  // committed: nothing is left to undo
  void Reset() noexcept;

 private:
  sqlite3* db_;
  bool armed_ = false;
};

Result<Plan> PlanMigration(sqlite3* db, std::string_view desired_sql, const PlanOptions& options);

}  // namespace automigrate
