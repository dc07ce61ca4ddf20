// tests/ext_functions_test.cc -- the planner's SQL surface as a user sees it:
// migrate_plan (table-valued), migrate_status and migrate_script, loaded from
// the built extension. Argument and option errors are pinned here; nothing
// depends on planner output beyond "no differences -> no steps".
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Row = std::vector<std::optional<std::string>>;

// A :memory: connection with the extension loaded, and the two ways a test
// runs SQL: Query (must succeed) and Error (must fail; returns the message).
class ExtDb {
 public:
  ExtDb() {
    sqlite3* raw = nullptr;
    rc_ = sqlite3_open(":memory:", &raw);
    db_.reset(raw);
    if (rc_ != SQLITE_OK) return;
    sqlite3_enable_load_extension(db_.get(), 1);
    char* err = nullptr;
    rc_ = sqlite3_load_extension(db_.get(), AUTOMIGRATE_EXT_PATH, nullptr, &err);
    if (err) load_error_ = err;
    sqlite3_free(err);
  }

  bool ok() const { return rc_ == SQLITE_OK; }
  const std::string& load_error() const { return load_error_; }
  sqlite3* get() const { return db_.get(); }

  struct Outcome {
    int rc = SQLITE_OK;
    std::string error;
    std::vector<std::string> columns;
    std::vector<Row> rows;
  };

  // Runs one statement with text (or NULL) parameters ?1, ?2, ...
  Outcome Run(std::string_view sql,
              const std::vector<std::optional<std::string>>& params = {}) const {
    Outcome out;
    sqlite3_stmt* raw = nullptr;
    out.rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> stmt(raw, sqlite3_finalize);
    if (out.rc != SQLITE_OK) {
      out.error = sqlite3_errmsg(db_.get());
      return out;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i + 1);
      if (params[i]) {
        sqlite3_bind_text(raw, index, params[i]->data(), static_cast<int>(params[i]->size()),
                          SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(raw, index);
      }
    }
    for (int c = 0; c < sqlite3_column_count(raw); ++c)
      out.columns.push_back(sqlite3_column_name(raw, c));
    while ((out.rc = sqlite3_step(raw)) == SQLITE_ROW) {
      Row row;
      for (int c = 0; c < sqlite3_column_count(raw); ++c) {
        const unsigned char* text = sqlite3_column_text(raw, c);
        if (text) {
          row.emplace_back(std::string(reinterpret_cast<const char*>(text),
                                       static_cast<size_t>(sqlite3_column_bytes(raw, c))));
        } else {
          row.emplace_back(std::nullopt);
        }
      }
      out.rows.push_back(std::move(row));
    }
    if (out.rc == SQLITE_DONE) {
      out.rc = SQLITE_OK;
    } else {
      out.error = sqlite3_errmsg(db_.get());
    }
    return out;
  }

  std::vector<Row> Query(std::string_view sql,
                         const std::vector<std::optional<std::string>>& params = {}) const {
    Outcome out = Run(sql, params);
    EXPECT_EQ(out.rc, SQLITE_OK) << sql << ": " << out.error;
    return out.rows;
  }

  // The first column of the only row, as text.
  std::string Scalar(std::string_view sql,
                     const std::vector<std::optional<std::string>>& params = {}) const {
    std::vector<Row> rows = Query(sql, params);
    if (rows.size() != 1 || rows[0].empty() || !rows[0][0]) {
      ADD_FAILURE() << sql << ": expected one non-NULL value";
      return {};
    }
    return *rows[0][0];
  }

  std::string Error(std::string_view sql,
                    const std::vector<std::optional<std::string>>& params = {}) const {
    Outcome out = Run(sql, params);
    EXPECT_NE(out.rc, SQLITE_OK) << sql << ": expected an error";
    return out.error;
  }

  // Runs a script (several statements); returns the error or "".
  std::string Exec(const std::string& sql) const {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &err);
    std::string message = err ? err : (rc == SQLITE_OK ? "" : sqlite3_errstr(rc));
    sqlite3_free(err);
    return message;
  }

  // The database's own schema as DDL: a desired schema with no differences.
  std::string CurrentSchema() const {
    return Scalar(
        "SELECT coalesce(group_concat(sql || ';', char(10)), '') FROM "
        "(SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY rowid)");
  }

 private:
  struct Closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
  int rc_ = SQLITE_ERROR;
  std::string load_error_;
};

#define ASSERT_LOADED(db) ASSERT_TRUE((db).ok()) << (db).load_error()

constexpr const char* kSampleSchema =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE);"
    "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);"
    "CREATE INDEX posts_user ON posts(user_id);"
    "CREATE VIEW user_names AS SELECT name FROM users;"
    "CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;";

// The SQL that calls `function` with `args`: a table-valued call for
// migrate_plan, a scalar call for the others.
std::string Call(std::string_view function, std::string_view args) {
  if (function == "migrate_plan") return "SELECT * FROM migrate_plan(" + std::string(args) + ")";
  return "SELECT " + std::string(function) + "(" + std::string(args) + ")";
}

constexpr std::string_view kPlanFunctions[] = {"migrate_plan", "migrate_status", "migrate_script"};

// ---------------------------------------------------------------- migrate_plan

TEST(ExtPlan, ColumnsInOrderWithHiddenArguments) {
  ExtDb db;
  ASSERT_LOADED(db);
  std::vector<Row> rows = db.Query("SELECT name, hidden FROM pragma_table_xinfo('migrate_plan')");
  std::vector<Row> expected;
  for (const char* name :
       {"step", "op", "object_type", "object", "table_name", "sql", "rollback_sql", "complexity",
        "destructive", "warning", "reason", "est_rows", "est_ms"})
    expected.push_back({name, "0"});
  expected.push_back({"desired", "1"});
  expected.push_back({"options", "1"});
  EXPECT_EQ(rows, expected);

  ExtDb::Outcome out = db.Run("SELECT * FROM migrate_plan('') LIMIT 0");
  ASSERT_EQ(out.rc, SQLITE_OK) << out.error;
  EXPECT_EQ(out.columns,
            (std::vector<std::string>{"step", "op", "object_type", "object", "table_name", "sql",
                                      "rollback_sql", "complexity", "destructive", "warning",
                                      "reason", "est_rows", "est_ms"}));
}

TEST(ExtPlan, IsRegisteredAsEponymousOnlyModule) {
  ExtDb db;
  ASSERT_LOADED(db);
  EXPECT_EQ(db.Query("SELECT name FROM pragma_module_list WHERE name = 'migrate_plan'"),
            (std::vector<Row>{{"migrate_plan"}}));
  // No xCreate: it cannot be instantiated under another name.
  EXPECT_NE(db.Exec("CREATE VIRTUAL TABLE p USING migrate_plan"), "");
  // Read-only: no xUpdate.
  EXPECT_NE(db.Exec("INSERT INTO migrate_plan(step) VALUES (1)"), "");
}

TEST(ExtPlan, NoDifferencesGiveNoRows) {
  ExtDb db;
  ASSERT_LOADED(db);
  EXPECT_TRUE(db.Query("SELECT * FROM migrate_plan('')").empty());
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string desired = db.CurrentSchema();
  EXPECT_TRUE(db.Query("SELECT * FROM migrate_plan(?1)", {desired}).empty());
  EXPECT_TRUE(db.Query("SELECT * FROM migrate_plan(?1, NULL)", {desired}).empty());
  EXPECT_TRUE(db.Query("SELECT * FROM migrate_plan(?1, '{}')", {desired}).empty());
  // The arguments may also be given as constraints on the hidden columns.
  EXPECT_TRUE(
      db.Query("SELECT * FROM migrate_plan WHERE desired = ?1 AND options = '{}'", {desired})
          .empty());
}

TEST(ExtPlan, TakesArgumentsFromAJoin) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string desired = db.CurrentSchema();
  EXPECT_EQ(db.Scalar("WITH s(d, o) AS (VALUES (?1, '{\"column_order\": \"strict\"}')) "
                      "SELECT count(*) FROM s, migrate_plan(s.d, s.o)",
                      {desired}),
            "0");
  // The table-valued function first in the FROM clause: the query planner
  // must still put s in the outer loop.
  EXPECT_EQ(db.Scalar("WITH s(d) AS (VALUES (?1)) "
                      "SELECT count(*) FROM migrate_plan(s.d), s",
                      {desired}),
            "0");
}

TEST(ExtPlan, TakesTheDesiredSchemaAsBlob) {
  // The shell's readfile() returns a BLOB: migrate_plan(readfile('schema.sql')).
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string desired = db.CurrentSchema();
  EXPECT_TRUE(db.Query("SELECT * FROM migrate_plan(CAST(?1 AS BLOB))", {desired}).empty());
  // A UTF-8 byte-order mark at the start of a file is not part of the DDL.
  EXPECT_TRUE(
      db.Query("SELECT * FROM migrate_plan(CAST(char(65279) || ?1 AS BLOB))", {desired}).empty());
  EXPECT_EQ(db.Error("SELECT * FROM migrate_plan(x'41004200')"),
            "migrate_plan: desired schema contains a NUL byte at offset 1");
}

TEST(ExtPlan, RequiresTheDesiredArgument) {
  ExtDb db;
  ASSERT_LOADED(db);
  EXPECT_EQ(db.Error("SELECT * FROM migrate_plan"),
            "migrate_plan: the desired schema argument is required");
  EXPECT_EQ(db.Error("SELECT * FROM migrate_plan()"),
            "migrate_plan: the desired schema argument is required");
  EXPECT_EQ(db.Error("SELECT * FROM migrate_plan WHERE options = '{}'"),
            "migrate_plan: the desired schema argument is required");
  EXPECT_EQ(db.Error("SELECT * FROM migrate_plan('', '{}', 3)"),
            "too many arguments on migrate_plan() - max 2");
}

// ------------------------------------------------------- arguments and options

struct BadCall {
  std::string args;
  std::string message;  // after "<function>: "
};

const std::vector<BadCall>& BadCalls() {
  static const std::vector<BadCall> kBadCalls = {
      {"NULL", "desired schema is NULL"},
      {"NULL, '{}'", "desired schema is NULL"},
      {"1", "desired schema must be text"},
      {"2.5", "desired schema must be text"},
      {"'', 'not json'", "options: invalid JSON"},
      {"'', ''", "options: invalid JSON"},
      {"'', '{\"dry_run\": true,}'", "options: invalid JSON"},
      {"'', '[1, 2]'", "options must be a JSON object"},
      {"'', '\"dry_run\"'", "options must be a JSON object"},
      {"'', 'null'", "options must be a JSON object"},
      {"'', 1", "options must be JSON text"},
      {"'', 1.5", "options must be JSON text"},
      {"'', x'7b7d'", "options must be JSON text"},
      {"'', '{\"foo\": 1}'", "options: unknown key \"foo\""},
      {"'', '{\"dry_run\": true, \"dryrun\": true}'", "options: unknown key \"dryrun\""},
      {"'', '{\"dry_run\": \"yes\"}'", "options: \"dry_run\" must be a boolean"},
      {"'', '{\"dry_run\": 1}'", "options: \"dry_run\" must be a boolean"},
      {"'', '{\"allow_destructive\": 0}'", "options: \"allow_destructive\" must be a boolean"},
      {"'', '{\"allow_destructive\": null}'", "options: \"allow_destructive\" must be a boolean"},
      {"'', '{\"backup\": \"sometimes\"}'",
       "options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {"'', '{\"backup\": true}'",
       "options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {"'', '{\"backup\": \"AUTO\"}'",
       "options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {"'', '{\"backup_dir\": 5}'", "options: \"backup_dir\" must be a string or null"},
      {"'', '{\"backup_dir\": \"\"}'",
       "options: \"backup_dir\" must be a directory path, not empty"},
      {"'', '{\"max_execution_time_ms\": -1}'",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"'', '{\"max_execution_time_ms\": 1.5}'",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"'', '{\"max_execution_time_ms\": 1e3}'",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"'', '{\"max_execution_time_ms\": \"100\"}'",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"'', '{\"max_execution_time_ms\": 18446744073709551615}'",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"'', '{\"expected_plan_hash\": 12}'",
       "options: \"expected_plan_hash\" must be a string or null"},
      {"'', '{\"expected_plan_hash\": \"abc\"}'",
       "options: \"expected_plan_hash\" must be the 32-digit hex plan_hash that migrate_status "
       "returns"},
      {"'', '{\"expected_plan_hash\": \"0123456789abcdef0123456789abcdeg\"}'",
       "options: \"expected_plan_hash\" must be the 32-digit hex plan_hash that migrate_status "
       "returns"},
      {"'', '{\"rename\": [\"a\", \"b\"]}'",
       "options: \"rename\" must be an object of \"old name\": \"new name\" pairs"},
      {"'', '{\"rename\": \"a\"}'",
       "options: \"rename\" must be an object of \"old name\": \"new name\" pairs"},
      {"'', '{\"rename\": {\"a\": 1}}'",
       "options: \"rename\": the new name for \"a\" must be a string"},
      {"'', '{\"rename\": {\"a\": \"\"}}'", "options: \"rename\": names must not be empty"},
      {"'', '{\"rename\": {\"\": \"b\"}}'", "options: \"rename\": names must not be empty"},
      {"'', '{\"column_order\": \"random\"}'",
       "options: \"column_order\" must be one of \"ignore\", \"strict\""},
      {"'', '{\"column_order\": false}'",
       "options: \"column_order\" must be one of \"ignore\", \"strict\""},
      {"'', '{\"schema\": 1}'", "options: \"schema\" must be a string"},
      {"'', '{\"schema\": \"nope\"}'", "options: schema \"nope\" is not attached"},
      {"'', '{\"schema\": \"\"}'", "options: schema \"\" is not attached"},
  };
  return kBadCalls;
}

TEST(ExtOptions, BadArgumentsAreErrorsNamingFunctionAndArgument) {
  ExtDb db;
  ASSERT_LOADED(db);
  for (std::string_view function : kPlanFunctions) {
    for (const BadCall& bad : BadCalls()) {
      const std::string sql = Call(function, bad.args);
      EXPECT_EQ(db.Error(sql), std::string(function) + ": " + bad.message) << sql;
    }
  }
}

TEST(ExtOptions, ErrorsChangeNothing) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string before = db.CurrentSchema();
  const std::string version = db.Scalar("PRAGMA schema_version");
  for (std::string_view function : kPlanFunctions)
    for (const BadCall& bad : BadCalls()) db.Run(Call(function, bad.args));
  EXPECT_EQ(db.CurrentSchema(), before);
  EXPECT_EQ(db.Scalar("PRAGMA schema_version"), version);
}

TEST(ExtOptions, AcceptsEveryKeyWithTheRightType) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec("ATTACH ':memory:' AS aux"), "");
  const std::vector<std::string> good = {
      "{}",
      R"({"dry_run": true})",
      R"({"dry_run": false})",
      R"({"allow_destructive": true})",
      R"({"backup": "auto"})",
      R"({"backup": "always"})",
      R"({"backup": "never"})",
      R"({"backup_dir": "/tmp/automigrate-backups"})",
      R"({"backup_dir": null})",
      R"({"max_execution_time_ms": 0})",
      R"({"max_execution_time_ms": 9223372036854775807})",
      R"({"expected_plan_hash": "0123456789abcdef0123456789ABCDEF"})",
      R"({"expected_plan_hash": null})",
      R"({"rename": {}})",
      R"({"column_order": "ignore"})",
      R"({"column_order": "strict"})",
      R"({"schema": "main"})",
      R"({"schema": "aux"})",
      R"({"schema": "AUX"})",
      R"({"dry_run": true, "allow_destructive": false, "backup": "never",
          "backup_dir": "/tmp/x", "max_execution_time_ms": 1000,
          "expected_plan_hash": "00000000000000000000000000000000", "rename": {},
          "column_order": "strict", "schema": "aux"})",
  };
  for (std::string_view function : kPlanFunctions) {
    for (const std::string& options : good) {
      const std::string sql = Call(function, "'', ?1");
      ExtDb::Outcome out = db.Run(sql, {options});
      EXPECT_EQ(out.rc, SQLITE_OK) << sql << " with " << options << ": " << out.error;
    }
    // SQL NULL is "no options"; json_object() builds options as text.
    const std::string with_null = Call(function, "'', NULL");
    EXPECT_EQ(db.Run(with_null).rc, SQLITE_OK) << with_null;
    const std::string with_json =
        Call(function, "'', json_object('dry_run', json('true'), 'schema', 'aux')");
    EXPECT_EQ(db.Run(with_json).rc, SQLITE_OK) << with_json;
  }
}

TEST(ExtOptions, RenameHintsPassTheOptionsParser) {
  // Whether the names exist is the planner's question; the options parser
  // must take both forms of hint.
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec("CREATE TABLE people(id INTEGER PRIMARY KEY, fullname TEXT)"), "");
  const std::string options = R"({"rename": {"people": "users", "users.fullname": "name"}})";
  for (std::string_view function : kPlanFunctions) {
    ExtDb::Outcome out = db.Run(
        Call(function, "'CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT)', ?1"), {options});
    if (out.rc != SQLITE_OK) {
      EXPECT_EQ(out.error.rfind(std::string(function) + ": options", 0), std::string::npos)
          << out.error;
    }
  }
}

TEST(ExtOptions, ScalarsCheckTheirArity) {
  ExtDb db;
  ASSERT_LOADED(db);
  for (std::string_view function : {"migrate_status", "migrate_script"}) {
    const std::string message =
        std::string(function) + ": expected 1 or 2 arguments (desired [, options])";
    EXPECT_EQ(db.Error(Call(function, "")), message);
    EXPECT_EQ(db.Error(Call(function, "'', '{}', 3")), message);
  }
}

// ------------------------------------------------- migrate_status, migrate_script

TEST(ExtStatus, JsonShapeOfAnEmptyPlan) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string text = db.Scalar("SELECT migrate_status(?1)", {db.CurrentSchema()});
  ASSERT_TRUE(nlohmann::json::accept(text)) << text;
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
  ASSERT_TRUE(j.is_object()) << text;
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"migration_needed", "steps", "complexity",
                                            "destructive", "warnings", "est_ms", "plan_hash"}));
  EXPECT_EQ(j["migration_needed"], false);
  EXPECT_EQ(j["steps"], 0);
  EXPECT_EQ(j["complexity"], "SIMPLE");
  EXPECT_EQ(j["destructive"], false);
  EXPECT_TRUE(j["warnings"].is_array());
  EXPECT_TRUE(j["warnings"].empty());
  EXPECT_TRUE(j["est_ms"].is_number());
  EXPECT_EQ(j["est_ms"], 0);
  ASSERT_TRUE(j["plan_hash"].is_string());
  const std::string hash = j["plan_hash"];
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(hash.find_first_not_of("0123456789abcdef"), std::string::npos) << hash;
}

TEST(ExtStatus, PlanHashIsStableAndAcceptedAsExpectedPlanHash) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string desired = db.CurrentSchema();
  const std::string sql = "SELECT migrate_status(?1) ->> '$.plan_hash'";
  const std::string first = db.Scalar(sql, {desired});
  const std::string second = db.Scalar(sql, {desired});
  EXPECT_EQ(first, second);
  EXPECT_EQ(first.size(), 32u);
  const std::string options = R"({"expected_plan_hash": ")" + first + R"("})";
  EXPECT_EQ(db.Scalar("SELECT migrate_status(?1, ?2) ->> '$.plan_hash'", {desired, options}),
            first);
}

TEST(ExtScript, EmptyPlanScriptChangesNothing) {
  ExtDb db;
  ASSERT_LOADED(db);
  ASSERT_EQ(db.Exec(kSampleSchema), "");
  const std::string desired = db.CurrentSchema();
  const std::string script = db.Scalar("SELECT migrate_script(?1)", {desired});
  EXPECT_FALSE(script.empty());
  const std::string hash = db.Scalar("SELECT migrate_status(?1) ->> '$.plan_hash'", {desired});
  EXPECT_NE(script.find(hash), std::string::npos) << script;
  const std::string version = db.Scalar("PRAGMA schema_version");
  EXPECT_EQ(db.Exec(script), "");
  EXPECT_EQ(db.CurrentSchema(), desired);
  EXPECT_EQ(db.Scalar("PRAGMA schema_version"), version);
}

// ------------------------------------------------------ direct calls only

TEST(ExtRegistration, PlannerFunctionsAreDirectOnly) {
  ExtDb db;
  ASSERT_LOADED(db);
  std::vector<Row> rows = db.Query(
      "SELECT name, narg, flags & ?1 != 0, flags & ?2 != 0, flags & ?3 != 0 "
      "FROM pragma_function_list WHERE name IN ('migrate_status', 'migrate_script') ORDER BY name",
      {std::to_string(SQLITE_DIRECTONLY), std::to_string(SQLITE_INNOCUOUS),
       std::to_string(SQLITE_DETERMINISTIC)});
  EXPECT_EQ(rows, (std::vector<Row>{{"migrate_script", "-1", "1", "0", "0"},
                                    {"migrate_status", "-1", "1", "0", "0"}}));
}

TEST(ExtRegistration, ViewsAndTriggersCannotCallThePlanner) {
  ExtDb db;
  ASSERT_LOADED(db);
  // DIRECTONLY holds even when the schema is trusted.
  ASSERT_EQ(db.Exec("PRAGMA trusted_schema = ON; CREATE TABLE t(x);"), "");
  for (std::string_view function : {"migrate_status", "migrate_script"}) {
    const std::string f(function);
    const std::string unsafe = "unsafe use of " + f + "()";
    EXPECT_EQ(
        db.Exec("CREATE VIEW v_" + f + " AS SELECT " + f + "('') AS s;" + "SELECT * FROM v_" + f),
        unsafe);
    EXPECT_EQ(db.Exec("CREATE TRIGGER tr_" + f + " AFTER INSERT ON t BEGIN SELECT " + f +
                      "(''); END; INSERT INTO t VALUES (1)"),
              unsafe);
    ASSERT_EQ(db.Exec("DROP TRIGGER tr_" + f), "");
  }
  const std::string unsafe_vtab = "unsafe use of virtual table \"migrate_plan\"";
  EXPECT_EQ(db.Exec("CREATE VIEW v_plan AS SELECT * FROM migrate_plan(''); SELECT * FROM v_plan"),
            unsafe_vtab);
  EXPECT_EQ(db.Exec("CREATE TRIGGER tr_plan AFTER INSERT ON t BEGIN "
                    "SELECT count(*) FROM migrate_plan(''); END; INSERT INTO t VALUES (1)"),
            unsafe_vtab);
  // Nothing ran: the failed INSERTs left no rows.
  EXPECT_EQ(db.Scalar("SELECT count(*) FROM t"), "0");
}

}  // namespace
