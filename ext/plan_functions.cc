// ext/plan_functions.cc -- migrate_status and migrate_script.
//
//   SELECT migrate_status(readfile('schema.sql'));
//   -- {"migration_needed":true,"steps":2,"complexity":"MODERATE","destructive":false,
//   --  "warnings":[],"est_ms":3.5,"plan_hash":"9f0c..."}
//   SELECT migrate_script(readfile('schema.sql'));  -- BEGIN IMMEDIATE; ... COMMIT;
//
// Both read the schema and count rows, so they are registered DIRECTONLY
// (ext/functions.cc): a view or trigger of an untrusted database cannot make
// them run.
#include "ext/plan_functions.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/apply.h"
#include "core/ddl.h"
#include "core/json_scope.h"
#include "ext/guard.h"
#include "ext/options.h"

namespace automigrate::ext {
namespace {

// The (desired [, options]) arity every planner function shares; they are
// registered variadic so a wrong count gets this message, not SQLite's
// generic one.
Result<Plan> PlanFromCall(sqlite3_context* ctx, std::string_view function, int argc,
                          sqlite3_value** argv) {
  if (argc < 1 || argc > 2)
    return Status::InvalidArgument(
        fmt::format("{}: expected 1 or 2 arguments (desired [, options])", function));
  return PlanFromArgs(sqlite3_context_db_handle(ctx), function, argv[0],
                      argc > 1 ? argv[1] : nullptr);
}

std::string StatusJson(const Plan& plan) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  JsonScope scope(j);  // see core/json_scope.h
  ReserveMembers(j, 7);
  j["migration_needed"] = !plan.empty();
  j["steps"] = plan.steps.size();
  j["complexity"] = ComplexityName(plan.MaxComplexity());  // SIMPLE when empty
  j["destructive"] = plan.Destructive();
  nlohmann::ordered_json& warnings = j["warnings"] = nlohmann::ordered_json::array();
  for (const std::string& w : plan.AllWarnings()) warnings.push_back(w);
  j["est_ms"] = plan.EstMs();
  j["plan_hash"] = plan.Hash();
  // Warnings quote user DDL, which a BLOB argument need not have as UTF-8.
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

Result<Plan> PlanFromArgs(sqlite3* db, std::string_view function, sqlite3_value* desired,
                          sqlite3_value* options) {
  Result<std::string_view> sql = DesiredArg(function, desired);
  if (!sql.ok()) return sql.status();
  Result<Options> opts = ParseOptionsArg(db, function, options);
  if (!opts.ok()) return opts.status();
  Result<Plan> plan = PlanMigration(db, *sql, opts->plan);
  if (!plan.ok()) return WithFunctionName(function, plan.status());
  return plan;
}

// migrate_status's plan. At start-up, when the last batch applied exactly
// this text and the schema has not changed since, the plan is known to be
// empty without loading the DDL (core/apply.h). Rename hints can add
// plan-wide warnings even to an empty plan, so with hints the plan is made.
Result<Plan> StatusPlan(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  constexpr std::string_view kFunction = "migrate_status";
  if (argc < 1 || argc > 2) return PlanFromCall(ctx, kFunction, argc, argv);
  sqlite3* db = sqlite3_context_db_handle(ctx);
  Result<std::string_view> sql = DesiredArg(kFunction, argv[0]);
  if (!sql.ok()) return sql.status();
  Result<Options> opts = ParseOptionsArg(db, kFunction, argc > 1 ? argv[1] : nullptr);
  if (!opts.ok()) return opts.status();
  if (opts->plan.renames.empty() && !ddl::MentionsRenameHint(*sql)) {
    Result<bool> same = UnchangedSinceLastApply(db, *sql, opts->plan);
    if (same.ok() && *same) {
      Plan empty;
      empty.schema = opts->plan.schema;
      return empty;
    }
  }
  Result<Plan> plan = PlanMigration(db, *sql, opts->plan);
  if (!plan.ok()) return WithFunctionName(kFunction, plan.status());
  return plan;
}

void MigrateStatusFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    Result<Plan> plan = StatusPlan(ctx, argc, argv);
    if (!plan.ok()) return ResultError(ctx, plan.status());
    ResultText(ctx, StatusJson(*plan));
  });
}

void MigrateScriptFunc(sqlite3_context* ctx, int argc, sqlite3_value** argv) noexcept {
  Guard(ctx, [&] {
    Result<Plan> plan = PlanFromCall(ctx, "migrate_script", argc, argv);
    if (!plan.ok()) return ResultError(ctx, plan.status());
    ResultText(ctx, plan->Script());
  });
}

}  // namespace automigrate::ext
