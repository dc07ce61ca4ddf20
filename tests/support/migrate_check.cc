#include "support/migrate_check.h"

#include <gtest/gtest.h>

#include <cctype>

#include "support/schema_oracle.h"

namespace automigrate::testing {
namespace {

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using RawDb = std::unique_ptr<sqlite3, DbCloser>;

std::vector<std::string> UserTables(sqlite3* db) {
  std::vector<std::string> out;
  for (const Row& r : QueryRows(db,
                                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT "
                                "LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"))
    out.push_back(r[0]);
  return out;
}

Rows SequenceRows(sqlite3* db) {
  Rows rows;
  std::string error;
  // No sqlite_sequence table yet is "no rows", not an error.
  TryQueryRows(db, "SELECT name, seq FROM sqlite_sequence ORDER BY name", {}, &rows, &error);
  return rows;
}

std::string Indent(std::string_view text) {
  std::string out = "    ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  return out;
}

}  // namespace

Rows RowsWithRowid(sqlite3* db, std::string_view table) {
  if (IsWithoutRowid(db, table)) return TableRows(db, table);
  return QueryRows(db, "SELECT rowid, * FROM main." + QuoteId(table) + " ORDER BY rowid");
}

std::vector<std::string> ColumnNames(sqlite3* db, std::string_view table) {
  std::vector<std::string> out;
  for (const Row& r : QueryRows(db, "SELECT name FROM pragma_table_xinfo(?1) ORDER BY cid",
                                {std::string(table)}))
    out.push_back(r[0]);
  return out;
}

std::string AllSchemaSql(sqlite3* db) {
  std::string out;
  for (const Row& r : QueryRows(db, "SELECT type, name, tbl_name, coalesce(sql, '') FROM "
                                    "sqlite_schema ORDER BY rowid"))
    out += r[0] + " " + r[1] + " ON " + r[2] + ": " + r[3] + "\n";
  return out;
}

std::string StatusWarnings(std::string_view status_json) {
  size_t at = status_json.find("\"warnings\":");
  if (at == std::string_view::npos) return "";
  size_t end = status_json.find("],\"est_ms\"", at);
  if (end == std::string_view::npos) end = status_json.size();
  return std::string(status_json.substr(at, end - at));
}

std::string PlanWarnings(const std::vector<PlanRow>& plan) {
  std::string out;
  for (const PlanRow& p : plan) {
    if (p.warning.empty()) continue;
    if (!out.empty()) out += " | ";
    out += p.warning;
  }
  return out;
}

std::string ErrorOf(sqlite3* db, std::string_view sql, const Params& params) {
  Rows rows;
  std::string error;
  if (TryQueryRows(db, sql, params, &rows, &error)) return "";
  return error.empty() ? "(unknown error)" : error;
}

Rows Pick(const Rows& rows, const std::vector<size_t>& columns) {
  Rows out;
  for (const Row& r : rows) {
    Row picked;
    for (size_t c : columns) picked.push_back(c < r.size() ? r[c] : "<missing>");
    out.push_back(std::move(picked));
  }
  return out;
}

std::vector<const PlanRow*> MigrateResult::Steps(std::string_view op,
                                                 std::string_view object) const {
  std::vector<const PlanRow*> out;
  for (const PlanRow& p : plan)
    if (p.op == op && (object.empty() || LowerAscii(p.object) == LowerAscii(object)))
      out.push_back(&p);
  return out;
}

std::string MigrateResult::OpList() const {
  std::string out;
  for (const PlanRow& p : plan) out += (out.empty() ? "" : ",") + p.op;
  return out;
}

std::string MigrateResult::Describe() const {
  std::string out = "\n--- plan:\n" + FormatPlan(plan);
  out += "--- status: " + status_json + "\n";
  out += "--- script:\n" + Indent(script) + "\n";
  out += "--- shell exit " + std::to_string(shell.exit_code) + "\n";
  if (!shell.out.empty()) out += "--- shell stdout:\n" + Indent(shell.out) + "\n";
  if (!shell.err.empty()) out += "--- shell stderr:\n" + Indent(shell.err) + "\n";
  out += "--- oracle differences (migrated vs desired):\n";
  if (differences.empty()) out += "    (none)\n";
  for (const std::string& d : differences) out += "    " + d + "\n";
  out += "--- re-plan after the migration:\n" + FormatPlan(replan);
  return out;
}

MigrateResult MigrateAndCheck(std::string_view current_sql, std::string_view seed_sql,
                              std::string_view desired_sql, std::string_view options_json,
                              const MigrateCheckOptions& check) {
  MigrateResult r;
  r.db = std::make_unique<TestDb>(TestDb::Kind::kFile);
  TestDb& db = *r.db;
  if (!db.ok()) return r;
  std::string context = "\n--- current:\n" + Indent(current_sql) + "\n--- seed:\n" +
                        Indent(seed_sql) + "\n--- desired:\n" + Indent(desired_sql) +
                        "\n--- options: " + std::string(options_json) + "\n";
  if (!db.Exec(current_sql) || !db.Exec(seed_sql)) {
    ADD_FAILURE() << "setting up the current database failed" << context;
    return r;
  }
  for (const std::string& t : UserTables(db.db())) r.rows_before[t] = RowsWithRowid(db.db(), t);
  r.sequence_before = SequenceRows(db.db());

  if (check.plan_with_foreign_keys) db.Exec("PRAGMA foreign_keys=ON");
  std::string args = options_json.empty() ? "?1" : "?1, ?2";
  Params params = {std::string(desired_sql)};
  if (!options_json.empty()) params.push_back(std::string(options_json));
  std::string error;
  if (!TryPlanRows(db.db(), desired_sql, options_json, &r.plan, &error)) {
    ADD_FAILURE() << "migrate_plan failed: " << error << context;
    return r;
  }
  Rows rows;
  if (!TryQueryRows(db.db(), "SELECT migrate_script(" + args + ")", params, &rows, &error) ||
      rows.empty()) {
    ADD_FAILURE() << "migrate_script failed: " << error << context << r.Describe();
    return r;
  }
  r.script = rows[0][0];
  if (!TryQueryRows(db.db(), "SELECT migrate_status(" + args + ")", params, &rows, &error) ||
      rows.empty()) {
    ADD_FAILURE() << "migrate_status failed: " << error << context << r.Describe();
    return r;
  }
  r.status_json = rows[0][0];

  db.Close();
  r.shell = RunShellScript(db.path(), "PRAGMA foreign_keys=ON;\n" + r.script);
  if (!db.Reopen()) return r;

  bool ok = true;
  if (r.shell.exit_code != 0) {
    ok = false;
    ADD_FAILURE() << "(1) the migration script failed in the shell" << context << r.Describe();
  }

  RawDb fresh;
  {
    sqlite3* raw = nullptr;
    sqlite3_open_v2(":memory:", &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    fresh.reset(raw);
  }
  std::string fresh_error;
  if (!TryExec(fresh.get(), desired_sql, &fresh_error)) {
    ok = false;
    ADD_FAILURE() << "the desired schema does not load into :memory:: " << fresh_error << context;
  } else {
    OracleOptions oo;
    oo.a_label = "migrated";
    oo.b_label = "desired";
    oo.compare_column_order =
        check.compare_column_order ||
        (options_json.find("\"strict\"") != std::string_view::npos &&
         options_json.find("column_order") != std::string_view::npos);
    r.differences = SchemaDifferences(db.db(), fresh.get(), oo);
  }
  if (!r.differences.empty()) {
    ok = false;
    ADD_FAILURE() << "(2) the migrated schema differs from the desired one" << context
                  << r.Describe();
  }

  if (!TryPlanRows(db.db(), desired_sql, options_json, &r.replan, &error)) {
    ok = false;
    ADD_FAILURE() << "(3) migrate_plan after the migration failed: " << error << context
                  << r.Describe();
  } else if (!r.replan.empty()) {
    ok = false;
    ADD_FAILURE() << "(3) not idempotent: migrate_plan after the migration is not empty"
                  << context << r.Describe();
  }

  std::string integrity = QueryString(db.db(), "PRAGMA integrity_check");
  if (integrity != "ok") {
    ok = false;
    ADD_FAILURE() << "(4) integrity_check: " << integrity << context << r.Describe();
  }
  Rows fk = QueryRows(db.db(), "SELECT * FROM pragma_foreign_key_check");
  if (!fk.empty()) {
    ok = false;
    ADD_FAILURE() << "(4) foreign_key_check is not empty:\n"
                  << FormatRows(fk) << context << r.Describe();
  }
  r.ok = ok;
  return r;
}

}  // namespace automigrate::testing
