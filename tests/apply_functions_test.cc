// tests/apply_functions_test.cc -- the SQL surface of issue 3 as a user sees
// it, loaded from the built extension: migrate_apply, migrate_configure,
// migration_history, migration_batches and migrate_stats. Argument errors,
// the stored-defaults round trip, read-only and direct-only rules are pinned
// here; the executor's own behaviour is core's tests' business, and only the
// shape of what it reports is checked.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_util.h"

namespace automigrate::testing {
namespace {

using nlohmann::json;

#define ASSERT_OPEN(db) ASSERT_TRUE((db).ok())

// The error of a statement that must fail (one statement, parameters bound).
std::string Error(sqlite3* db, std::string_view sql, const Params& params = {}) {
  Rows rows;
  std::string error;
  EXPECT_FALSE(TryQueryRows(db, sql, params, &rows, &error)) << sql << ": expected an error";
  return error;
}

// The error of a script that must fail.
std::string ExecError(sqlite3* db, std::string_view sql) {
  std::string error;
  EXPECT_FALSE(TryExec(db, sql, &error)) << sql << ": expected an error";
  return error;
}

json Json(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << text;
  return j;
}

std::vector<std::string> Keys(const nlohmann::ordered_json& j) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.push_back(key);
  return keys;
}

// The extension's own tables in `schema` (they must not appear on a read).
int64_t OwnTables(TestDb& db, std::string_view schema = "main") {
  return db.QueryInt("SELECT count(*) FROM " + QuoteId(schema) +
                     ".sqlite_schema WHERE name LIKE '\\_automigrate\\_%' ESCAPE '\\'");
}

// A second connection to the same file, with the extension loaded.
struct Conn {
  struct Closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db;

  explicit Conn(const std::string& path) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    db.reset(raw);
    if (rc != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
      db.reset();
      return;
    }
    sqlite3_enable_load_extension(raw, 1);
    char* err = nullptr;
    if (sqlite3_load_extension(raw, AUTOMIGRATE_EXT_PATH, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << "cannot load the extension: " << (err ? err : "?");
      db.reset();
    }
    sqlite3_free(err);
  }
  sqlite3* get() const { return db.get(); }
};

constexpr const char* kDefaults =
    R"({"backup":"auto","backup_dir":null,"max_execution_time_ms":15000,)"
    R"("column_order":"ignore","allow_destructive":false})";

constexpr const char* kThreeTables =
    "CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT);"
    "CREATE TABLE b(id INTEGER PRIMARY KEY, y TEXT);"
    "CREATE INDEX b_y ON b(y);";

// ------------------------------------------------------------- migrate_apply

TEST(ApplyFunc, BadArgumentsAreErrorsNamingTheArgument) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  ASSERT_TRUE(db.Exec("CREATE TABLE t(x)"));
  const int64_t schema_version = db.QueryInt("PRAGMA schema_version");
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT migrate_apply()", "expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_apply('', '{}', 3)", "expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_apply(NULL)", "desired schema is NULL"},
      {"SELECT migrate_apply(1)", "desired schema must be text"},
      {"SELECT migrate_apply(2.5, '{}')", "desired schema must be text"},
      {"SELECT migrate_apply(x'41004200')", "desired schema contains a NUL byte at offset 1"},
      {"SELECT migrate_apply('', 'not json')", "options: invalid JSON"},
      {"SELECT migrate_apply('', '[1]')", "options must be a JSON object"},
      {"SELECT migrate_apply('', 7)", "options must be JSON text"},
      {"SELECT migrate_apply('', '{\"dryrun\": true}')", "options: unknown key \"dryrun\""},
      {"SELECT migrate_apply('', '{\"dry_run\": \"yes\"}')",
       "options: \"dry_run\" must be a boolean"},
      {"SELECT migrate_apply('', '{\"max_execution_time_ms\": -5}')",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"SELECT migrate_apply('', '{\"backup\": \"sometimes\"}')",
       "options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {"SELECT migrate_apply('', '{\"schema\": \"nope\"}')",
       "options: schema \"nope\" is not attached"},
  };
  for (const auto& [sql, message] : bad)
    EXPECT_EQ(Error(db.db(), sql), "migrate_apply: " + message) << sql;
  // Nothing changed: no history tables, same schema.
  EXPECT_EQ(OwnTables(db), 0);
  EXPECT_EQ(db.QueryInt("PRAGMA schema_version"), schema_version);
}

TEST(ApplyFunc, CoreRefusalsAreErrorsStartingWithTheFunctionName) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  ASSERT_TRUE(db.Exec("CREATE TABLE keep(x); CREATE TABLE gone(y); INSERT INTO gone VALUES (1);"));
  const std::string error = Error(db.db(), "SELECT migrate_apply('CREATE TABLE keep(x);')");
  EXPECT_EQ(error.rfind("migrate_apply: ", 0), 0u) << error;
  EXPECT_NE(error.find("gone"), std::string::npos) << error;
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM gone"), 1);
  EXPECT_EQ(OwnTables(db), 0);  // a refusal before the transaction writes nothing
}

TEST(ApplyFunc, TakesTheDesiredSchemaAsBlob) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const json report =
      Json(db.QueryString("SELECT migrate_apply(CAST(?1 AS BLOB))", {std::string(kThreeTables)}));
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["steps"], 3);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'b', 'b_y')"), 3);
}

// ---------------------------------------------------------- migrate_configure

TEST(ConfigureFunc, BadArgumentsAreErrors) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::string storable =
      R"("allow_destructive", "backup", "backup_dir", "max_execution_time_ms", "column_order")";
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"SELECT migrate_configure()", "expected 1 argument (options)"},
      {"SELECT migrate_configure('{}', 'main')", "expected 1 argument (options)"},
      {"SELECT migrate_configure(1)", "options must be JSON text"},
      {"SELECT migrate_configure(x'7b7d')", "options must be JSON text"},
      {"SELECT migrate_configure('{')", "options: invalid JSON"},
      {"SELECT migrate_configure('[]')", "options must be a JSON object"},
      {"SELECT migrate_configure('{\"foo\": 1}')", "options: unknown key \"foo\""},
      {"SELECT migrate_configure('{\"dry_run\": true}')",
       "options: \"dry_run\" cannot be stored; storable keys: " + storable},
      {"SELECT migrate_configure('{\"backup\": \"never\", \"dry_run\": null}')",
       "options: \"dry_run\" cannot be stored; storable keys: " + storable},
      {"SELECT migrate_configure('{\"expected_plan_hash\": null}')",
       "options: \"expected_plan_hash\" cannot be stored; storable keys: " + storable},
      {"SELECT migrate_configure('{\"rename\": {}}')",
       "options: \"rename\" cannot be stored; storable keys: " + storable},
      {"SELECT migrate_configure('{\"allow_destructive\": 1}')",
       "options: \"allow_destructive\" must be a boolean"},
      {"SELECT migrate_configure('{\"backup\": \"sometimes\"}')",
       "options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {"SELECT migrate_configure('{\"backup_dir\": \"\"}')",
       "options: \"backup_dir\" must be a directory path, not empty"},
      {"SELECT migrate_configure('{\"max_execution_time_ms\": 1.5}')",
       "options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"SELECT migrate_configure('{\"column_order\": \"random\"}')",
       "options: \"column_order\" must be one of \"ignore\", \"strict\""},
      {"SELECT migrate_configure('{\"schema\": 1}')", "options: \"schema\" must be a string"},
      {"SELECT migrate_configure('{\"schema\": null}')", "options: \"schema\" must be a string"},
      {"SELECT migrate_configure('{\"schema\": \"nope\"}')",
       "options: schema \"nope\" is not attached"},
  };
  for (const auto& [sql, message] : bad)
    EXPECT_EQ(Error(db.db(), sql), "migrate_configure: " + message) << sql;
  EXPECT_EQ(OwnTables(db), 0);
}

TEST(ConfigureFunc, EmptyOptionsReturnTheDefaultsAndWriteNothing) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  EXPECT_EQ(db.QueryString("SELECT migrate_configure('{}')"), kDefaults);
  EXPECT_EQ(db.QueryString("SELECT migrate_configure(NULL)"), kDefaults);
  // Removing what is not stored changes nothing, so writes nothing.
  EXPECT_EQ(db.QueryString("SELECT migrate_configure('{\"backup\": null}')"), kDefaults);
  EXPECT_EQ(OwnTables(db), 0);
}

TEST(ConfigureFunc, StoresMergesAndRemoves) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"allow_destructive": true,
              "backup": "never", "backup_dir": "/var/backups/app",
              "max_execution_time_ms": 60000, "column_order": "strict"}'))"),
            R"({"backup":"never","backup_dir":"/var/backups/app","max_execution_time_ms":60000,)"
            R"("column_order":"strict","allow_destructive":true})");
  // Read back from a second connection to the same file.
  {
    Conn other(db.path());
    ASSERT_NE(other.get(), nullptr);
    EXPECT_EQ(QueryString(other.get(), "SELECT migrate_configure('{}')"),
              R"({"backup":"never","backup_dir":"/var/backups/app","max_execution_time_ms":60000,)"
              R"("column_order":"strict","allow_destructive":true})");
  }
  // A key given replaces; the others stay.
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"backup": "always"}'))"),
            R"({"backup":"always","backup_dir":"/var/backups/app","max_execution_time_ms":60000,)"
            R"("column_order":"strict","allow_destructive":true})");
  // null removes the key: back to the default.
  EXPECT_EQ(db.QueryString(
                R"(SELECT migrate_configure('{"backup_dir": null, "allow_destructive": null}'))"),
            R"({"backup":"always","backup_dir":null,"max_execution_time_ms":60000,)"
            R"("column_order":"strict","allow_destructive":false})");
  EXPECT_EQ(db.QueryRows("SELECT key, value FROM _automigrate_config ORDER BY key"),
            (Rows{{"backup", "\"always\""},
                  {"column_order", "\"strict\""},
                  {"max_execution_time_ms", "60000"}}));
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"backup": null,
              "max_execution_time_ms": null, "column_order": null}'))"),
            kDefaults);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM _automigrate_config"), 0);
}

TEST(ConfigureFunc, SchemaOptionPicksTheDatabaseAndIsNotStored) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::string aux = (db.dir() / "aux.db").string();
  ASSERT_TRUE(db.Exec("ATTACH " + QuoteId(aux) + " AS aux"));
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"schema": "AUX", "backup": "never"}'))"),
            R"({"backup":"never","backup_dir":null,"max_execution_time_ms":15000,)"
            R"("column_order":"ignore","allow_destructive":false})");
  EXPECT_EQ(OwnTables(db, "main"), 0);
  EXPECT_EQ(db.QueryRows("SELECT key, value FROM aux._automigrate_config"),
            (Rows{{"backup", "\"never\""}}));
  EXPECT_EQ(db.QueryString("SELECT migrate_configure('{}')"), kDefaults);
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"schema": "aux"}') ->> 'backup')"),
            "never");
}

TEST(ConfigureFunc, StoredDefaultAppliesFromAnotherConnectionAndExplicitOptionsWin) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  ASSERT_TRUE(db.Exec("CREATE TABLE keep(x); CREATE TABLE gone(y);"));
  db.QueryString(R"(SELECT migrate_configure('{"allow_destructive": true}'))");
  Conn other(db.path());
  ASSERT_NE(other.get(), nullptr);
  const std::string desired = "CREATE TABLE keep(x);";
  // Explicit false wins over the stored true.
  const std::string error = Error(other.get(), R"(SELECT migrate_apply(?1,
      '{"allow_destructive": false}'))",
                                  {desired});
  EXPECT_EQ(error.rfind("migrate_apply: ", 0), 0u) << error;
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'gone'"), 1);
  // Without options the stored default applies.
  const json report = Json(QueryString(other.get(), "SELECT migrate_apply(?1)", {desired}));
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'gone'"), 0);
}

TEST(ConfigureFunc, ApplyReadsTheDefaultsOfTheSchemaItMigrates) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::string aux = (db.dir() / "aux.db").string();
  ASSERT_TRUE(db.Exec("ATTACH " + QuoteId(aux) +
                      " AS aux;"
                      "CREATE TABLE aux.keep(x); CREATE TABLE aux.gone(y);"
                      "CREATE TABLE main.keep(x); CREATE TABLE main.gone(y);"));
  db.QueryString(R"(SELECT migrate_configure('{"schema": "aux", "allow_destructive": true}'))");
  const std::string desired = "CREATE TABLE keep(x);";
  // main has no stored permission.
  EXPECT_EQ(Error(db.db(), "SELECT migrate_apply(?1)", {desired}).rfind("migrate_apply: ", 0), 0u);
  const json report =
      Json(db.QueryString(R"(SELECT migrate_apply(?1, '{"schema": "aux"}'))", {desired}));
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM aux.sqlite_schema WHERE name = 'gone'"), 0);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM main.sqlite_schema WHERE name = 'gone'"), 1);
}

TEST(ConfigureFunc, HandEditedDefaultsAreReportedWithTheTable) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  db.QueryString(R"(SELECT migrate_configure('{"backup": "never"}'))");
  ASSERT_TRUE(db.Exec("UPDATE _automigrate_config SET value = '\"sometimes\"'"));
  EXPECT_EQ(Error(db.db(), "SELECT migrate_apply('')"),
            "migrate_apply: stored defaults in \"main\"._automigrate_config: \"backup\" must be "
            "one of \"auto\", \"always\", \"never\"");
  // migrate_configure can repair a bad value...
  EXPECT_EQ(db.QueryString(R"(SELECT migrate_configure('{"backup": "auto"}'))"), kDefaults);
  // ...but a key that cannot be stored must be deleted by hand.
  ASSERT_TRUE(db.Exec("INSERT INTO _automigrate_config VALUES ('dry_run', 'true')"));
  EXPECT_EQ(Error(db.db(), "SELECT migrate_configure('{}')"),
            "migrate_configure: stored defaults in \"main\"._automigrate_config: \"dry_run\" "
            "cannot be stored; delete that row");
}

// ------------------------------------------ migration_history, migration_batches

TEST(HistoryVtab, ColumnsInOrderWithHiddenSchema) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  Rows expected;
  for (const char* name :
       {"id", "batch", "step", "version", "op", "object", "sql", "rollback_sql", "status", "error",
        "schema_hash", "started_at", "duration_ms", "backup_id"})
    expected.push_back({name, "0"});
  expected.push_back({"schema", "1"});
  EXPECT_EQ(db.QueryRows("SELECT name, hidden FROM pragma_table_xinfo('migration_history')"),
            expected);
  expected.clear();
  for (const char* name :
       {"batch", "version", "status", "started_at", "duration_ms", "steps", "backup_id", "reverts",
        "rollback_sql_possible", "rollback_backup_possible"})
    expected.push_back({name, "0"});
  expected.push_back({"schema", "1"});
  EXPECT_EQ(db.QueryRows("SELECT name, hidden FROM pragma_table_xinfo('migration_batches')"),
            expected);
}

TEST(HistoryVtab, EmptyOnAFreshDatabaseAndCreatesNothing) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  for (const char* table : {"migration_history", "migration_batches", "migration_backups"}) {
    const std::string t(table);
    EXPECT_TRUE(db.QueryRows("SELECT * FROM " + t).empty()) << t;
    EXPECT_TRUE(db.QueryRows("SELECT * FROM " + t + "('main')").empty()) << t;
    EXPECT_TRUE(db.QueryRows("SELECT * FROM " + t + " WHERE batch = 1").empty()) << t;
  }
  EXPECT_EQ(OwnTables(db), 0);
}

TEST(HistoryVtab, ReadOnlyAndEponymousOnly) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  for (const char* table : {"migration_history", "migration_batches", "migration_backups"}) {
    const std::string t(table);
    const std::string message = "table " + t + " may not be modified";
    EXPECT_EQ(ExecError(db.db(), "INSERT INTO " + t + "(batch) VALUES (1)"), message);
    EXPECT_EQ(ExecError(db.db(), "UPDATE " + t + " SET batch = 2"), message);
    EXPECT_EQ(ExecError(db.db(), "DELETE FROM " + t), message);
    EXPECT_NE(ExecError(db.db(), "CREATE VIRTUAL TABLE h USING " + t), "");
  }
  EXPECT_EQ(db.QueryRows("SELECT name FROM pragma_module_list WHERE name LIKE 'migration_%' "
                         "ORDER BY name"),
            (Rows{{"migration_backups"}, {"migration_batches"}, {"migration_history"}}));
}

TEST(HistoryVtab, SchemaArgumentErrors) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  EXPECT_EQ(Error(db.db(), "SELECT * FROM migration_history('nope')"),
            "migration_history: schema \"nope\" is not attached");
  EXPECT_EQ(Error(db.db(), "SELECT * FROM migration_batches(1)"),
            "migration_batches: schema must be text");
  // NULL is the default, as an omitted argument.
  EXPECT_EQ(db.QueryRows("SELECT * FROM migration_batches(NULL)"), Rows{});
}

// The details of EXPLAIN QUERY PLAN `sql`, joined with "; ".
std::string QueryPlan(TestDb& db, const std::string& sql) {
  std::string out;
  for (const Row& row : db.QueryRows("EXPLAIN QUERY PLAN " + sql)) {
    if (!out.empty()) out += "; ";
    out += row.back();
  }
  return out;
}

// Builds three batches: applied (2 steps), dry run (1), applied (3).
void ThreeBatches(TestDb& db) {
  db.QueryString("SELECT migrate_apply('CREATE TABLE a(x); CREATE TABLE b(y);')");
  db.QueryString(
      "SELECT migrate_apply('CREATE TABLE a(x); CREATE TABLE b(y); "
      "CREATE INDEX b_y ON b(y);', '{\"dry_run\": true}')");
  db.QueryString(
      "SELECT migrate_apply('CREATE TABLE a(x); CREATE TABLE b(y); "
      "CREATE TABLE c(z); CREATE INDEX c_z ON c(z); CREATE VIEW v AS SELECT x FROM a;')");
}

TEST(HistoryVtab, BatchEqualityMatchesWhatSqliteWouldFilter) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  ThreeBatches(db);
  ASSERT_EQ(db.QueryInt("SELECT count(*) FROM migration_batches"), 3);
  // The same rows in plain tables: SQLite's own comparison is the oracle.
  ASSERT_TRUE(
      db.Exec("CREATE TEMP TABLE hb AS SELECT * FROM migration_batches;"
              "CREATE TEMP TABLE hh AS SELECT * FROM migration_history;"));
  for (const char* value :
       {"1", "2", "3", "4", "0", "-1", "'2'", "' 2 '", "2.0", "'2.0'", "2.5", "'abc'", "NULL",
        "x'02'", "9223372036854775807", "9223372036854775808.0", "-9223372036854775808"}) {
    const std::string v(value);
    EXPECT_EQ(db.QueryRows("SELECT * FROM migration_batches WHERE batch = " + v),
              db.QueryRows("SELECT * FROM temp.hb WHERE batch = " + v + " ORDER BY batch"))
        << v;
    EXPECT_EQ(db.QueryRows("SELECT * FROM migration_history WHERE batch = " + v),
              db.QueryRows("SELECT * FROM temp.hh WHERE batch = " + v + " ORDER BY batch, step"))
        << v;
    EXPECT_EQ(db.QueryRows("SELECT id FROM migration_history WHERE " + v + " = batch"),
              db.QueryRows("SELECT id FROM temp.hh WHERE batch = " + v + " ORDER BY batch, step"))
        << v;
  }
  // IN, a subquery and a join hand the values over one at a time.
  EXPECT_EQ(db.QueryRows("SELECT batch, steps FROM migration_batches WHERE batch IN (3, 1)"),
            db.QueryRows("SELECT batch, steps FROM temp.hb WHERE batch IN (1, 3) ORDER BY batch"));
  EXPECT_EQ(db.QueryRows("SELECT count(*) FROM migration_history WHERE batch = "
                         "(SELECT max(batch) FROM temp.hb)"),
            db.QueryRows("SELECT count(*) FROM temp.hh WHERE batch = 3"));
  EXPECT_EQ(db.QueryRows("SELECT b.batch, count(h.id) FROM migration_batches b "
                         "JOIN migration_history h ON h.batch = b.batch GROUP BY b.batch"),
            db.QueryRows("SELECT b.batch, count(h.id) FROM temp.hb b "
                         "JOIN temp.hh h ON h.batch = b.batch GROUP BY b.batch"));
  // Two equalities: one is consumed, SQLite checks the other.
  EXPECT_EQ(db.QueryRows("SELECT batch FROM migration_batches WHERE batch = 1 AND batch = 2"),
            Rows{});
  // The equality reaches xFilter (idxNum 2: batch; 3: schema and batch).
  EXPECT_EQ(QueryPlan(db, "SELECT * FROM migration_batches WHERE batch = 2"),
            "SCAN migration_batches VIRTUAL TABLE INDEX 2:");
  EXPECT_EQ(QueryPlan(db, "SELECT * FROM migration_history('main') WHERE batch = 2"),
            "SCAN migration_history VIRTUAL TABLE INDEX 3:");
  EXPECT_EQ(QueryPlan(db, "SELECT * FROM migration_history WHERE batch > 2"),
            "SCAN migration_history VIRTUAL TABLE INDEX 0:");
}

TEST(HistoryVtab, HiddenSchemaReadsAnAttachedDatabase) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::string aux = (db.dir() / "aux.db").string();
  ASSERT_TRUE(db.Exec("ATTACH " + QuoteId(aux) + " AS aux"));
  const json report = Json(db.QueryString(
      R"(SELECT migrate_apply('CREATE TABLE t(x); CREATE TABLE u(y);', '{"schema": "aux"}'))"));
  EXPECT_EQ(report["batch"], 1);
  EXPECT_EQ(OwnTables(db, "main"), 0);
  EXPECT_TRUE(db.QueryRows("SELECT * FROM migration_history").empty());
  EXPECT_EQ(db.QueryRows("SELECT batch, step, op, object, status, schema "
                         "FROM migration_history('aux') ORDER BY step"),
            (Rows{{"1", "1", "create_table", "t", "applied", "aux"},
                  {"1", "2", "create_table", "u", "applied", "aux"}}));
  EXPECT_EQ(db.QueryRows("SELECT batch, steps, status, schema FROM migration_batches('AUX')"),
            (Rows{{"1", "2", "applied", "aux"}}));
  EXPECT_EQ(db.QueryRows("SELECT batch, schema FROM migration_batches WHERE schema = 'aux' "
                         "AND batch = 1"),
            (Rows{{"1", "aux"}}));
  // Taken from a join: the planner must put the schema source first.
  EXPECT_EQ(db.QueryRows("WITH s(name) AS (VALUES ('aux')) "
                         "SELECT b.batch FROM migration_batches(s.name) b, s"),
            (Rows{{"1"}}));
  // Reading main's (empty) history created nothing there.
  EXPECT_EQ(OwnTables(db, "main"), 0);
}

// ------------------------------------------------------------- migrate_stats

TEST(StatsFunc, FreshDatabase) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::string expected =
      R"({"batches":{"applied":0,"failed":0,"dry_run":0,"rolled_back":0},"total":0,)"
      R"("success_rate":null,"mean_duration_ms":null,"max_duration_ms":null,)"
      R"("last_batch":null,"recent_failures":[]})";
  EXPECT_EQ(db.QueryString("SELECT migrate_stats()"), expected);
  EXPECT_EQ(db.QueryString("SELECT migrate_stats(NULL)"), expected);
  EXPECT_EQ(db.QueryString("SELECT migrate_stats('main')"), expected);
  EXPECT_EQ(OwnTables(db), 0);
}

TEST(StatsFunc, ArgumentErrors) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  EXPECT_EQ(Error(db.db(), "SELECT migrate_stats('main', 1)"),
            "migrate_stats: expected 0 or 1 arguments ([schema])");
  EXPECT_EQ(Error(db.db(), "SELECT migrate_stats(1)"), "migrate_stats: schema must be text");
  EXPECT_EQ(Error(db.db(), "SELECT migrate_stats('nope')"),
            "migrate_stats: schema \"nope\" is not attached");
}

TEST(StatsFunc, SummarisesTheBatches) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  // One real batch creates the tables; the rest are written by hand so every
  // status and duration is known.
  db.QueryString("SELECT migrate_apply('CREATE TABLE a(x);')");
  ASSERT_TRUE(db.Exec(
      "UPDATE _automigrate_batches SET duration_ms = 10, started_at = '2024-01-01T00:00:01.000Z';"
      "INSERT INTO _automigrate_batches(batch, version, status, started_at, duration_ms, steps, "
      "error, plan_hash, schema_hash_before, schema_hash_after) VALUES "
      "(2, NULL, 'failed', '2024-01-01T00:00:02.000Z', 20, 1, 'e2', 'p', 'h', 'h'),"
      "(3, NULL, 'dry_run', '2024-01-01T00:00:03.000Z', 30, 1, NULL, 'p', 'h', 'h'),"
      "(4, NULL, 'failed', '2024-01-01T00:00:04.000Z', 40, 1, 'e4', 'p', 'h', 'h'),"
      "(5, 2, 'rolled_back', '2024-01-01T00:00:05.000Z', 50, 1, NULL, 'p', 'h', 'h'),"
      "(6, NULL, 'failed', '2024-01-01T00:00:06.000Z', 60, 1, 'e6', 'p', 'h', 'h'),"
      "(7, NULL, 'failed', '2024-01-01T00:00:07.000Z', 70, 1, 'e7', 'p', 'h', 'h'),"
      "(8, NULL, 'failed', '2024-01-01T00:00:08.000Z', 80, 1, 'e8', 'p', 'h', 'h'),"
      "(9, NULL, 'failed', '2024-01-01T00:00:09.000Z', 90, 1, 'e9', 'p', 'h', 'h'),"
      "(10, 3, 'applied', '2024-01-01T00:00:10.000Z', 100, 1, NULL, 'p', 'h', 'h');"));
  const std::string text = db.QueryString("SELECT migrate_stats()");
  const nlohmann::ordered_json j = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(Keys(j),
            (std::vector<std::string>{"batches", "total", "success_rate", "mean_duration_ms",
                                      "max_duration_ms", "last_batch", "recent_failures"}))
      << text;
  EXPECT_EQ(j["batches"].dump(), R"({"applied":2,"failed":6,"dry_run":1,"rolled_back":1})");
  EXPECT_EQ(j["total"], 10);
  // applied and rolled_back batches both succeeded when they ran: 3 of 9.
  EXPECT_DOUBLE_EQ(j["success_rate"].get<double>(), 3.0 / 9.0);
  EXPECT_DOUBLE_EQ(j["mean_duration_ms"].get<double>(), 55.0);
  EXPECT_DOUBLE_EQ(j["max_duration_ms"].get<double>(), 100.0);
  EXPECT_EQ(j["last_batch"].dump(),
            R"({"batch":10,"version":3,"status":"applied",)"
            R"("started_at":"2024-01-01T00:00:10.000Z","duration_ms":100.0})");
  EXPECT_EQ(j["recent_failures"].dump(),
            R"([{"batch":9,"started_at":"2024-01-01T00:00:09.000Z","error":"e9"},)"
            R"({"batch":8,"started_at":"2024-01-01T00:00:08.000Z","error":"e8"},)"
            R"({"batch":7,"started_at":"2024-01-01T00:00:07.000Z","error":"e7"},)"
            R"({"batch":6,"started_at":"2024-01-01T00:00:06.000Z","error":"e6"},)"
            R"({"batch":4,"started_at":"2024-01-01T00:00:04.000Z","error":"e4"}])");
}

// ------------------------------------------------------ direct calls only

TEST(ApplyRegistration, WritingAndHistoryFunctionsAreDirectOnly) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  EXPECT_EQ(db.QueryRows("SELECT name, narg, flags & ?1 != 0, flags & ?2 != 0, flags & ?3 != 0 "
                         "FROM pragma_function_list WHERE name IN ('migrate_apply', "
                         "'migrate_configure', 'migrate_stats') ORDER BY name",
                         {std::to_string(SQLITE_DIRECTONLY), std::to_string(SQLITE_INNOCUOUS),
                          std::to_string(SQLITE_DETERMINISTIC)}),
            (Rows{{"migrate_apply", "-1", "1", "0", "0"},
                  {"migrate_configure", "-1", "1", "0", "0"},
                  {"migrate_stats", "-1", "1", "0", "0"}}));
}

TEST(ApplyRegistration, ViewsAndTriggersCannotCallThem) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  // DIRECTONLY holds even when the schema is trusted.
  ASSERT_TRUE(db.Exec("PRAGMA trusted_schema = ON; CREATE TABLE t(x);"));
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"migrate_apply", "migrate_apply('CREATE TABLE t(x); CREATE TABLE evil(y);')"},
      {"migrate_configure", "migrate_configure('{\"allow_destructive\": true}')"},
      {"migrate_stats", "migrate_stats()"},
  };
  for (const auto& [name, call] : calls) {
    const std::string unsafe = "unsafe use of " + name + "()";
    EXPECT_EQ(ExecError(db.db(), "CREATE VIEW v_" + name + " AS SELECT " + call +
                                     "; SELECT * FROM v_" + name),
              unsafe);
    EXPECT_EQ(ExecError(db.db(), "CREATE TRIGGER tr_" + name + " AFTER INSERT ON t BEGIN SELECT " +
                                     call + "; END; INSERT INTO t VALUES (1)"),
              unsafe);
    ASSERT_TRUE(db.Exec("DROP TRIGGER tr_" + name));
  }
  for (const char* table : {"migration_history", "migration_batches"}) {
    const std::string t(table);
    const std::string unsafe = "unsafe use of virtual table \"" + t + "\"";
    EXPECT_EQ(ExecError(db.db(),
                        "CREATE VIEW v_" + t + " AS SELECT * FROM " + t + "; SELECT * FROM v_" + t),
              unsafe);
    EXPECT_EQ(ExecError(db.db(), "CREATE TRIGGER tr_" + t +
                                     " AFTER INSERT ON t BEGIN "
                                     "SELECT count(*) FROM " +
                                     t + "; END; INSERT INTO t VALUES (1)"),
              unsafe);
    ASSERT_TRUE(db.Exec("DROP TRIGGER tr_" + t));
  }
  // Nothing ran.
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM t"), 0);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'evil'"), 0);
  EXPECT_EQ(OwnTables(db), 0);
}

// ---------------------------------------------------------------- end to end

TEST(ApplyEndToEnd, AppliesRecordsAndIsIdempotent) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  const std::vector<PlanRow> plan = db.PlanRows(kThreeTables);
  ASSERT_EQ(plan.size(), 3u) << FormatPlan(plan);

  const std::string text = db.QueryString("SELECT migrate_apply(?1)", {std::string(kThreeTables)});
  const nlohmann::ordered_json report = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(Keys(report), (std::vector<std::string>{"ok", "batch", "version", "steps",
                                                    "duration_ms", "backup", "dry_run"}))
      << text;
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["batch"], 1);
  EXPECT_EQ(report["version"], 1);
  EXPECT_EQ(report["steps"], 3);
  EXPECT_TRUE(report["duration_ms"].is_number());
  EXPECT_TRUE(report["backup"].is_null());
  EXPECT_EQ(report["dry_run"], false);

  Rows expected;
  for (const PlanRow& step : plan)
    expected.push_back({"1", std::to_string(step.step), "1", step.op, step.object, step.sql,
                        step.rollback_sql.value_or("NULL"), "applied", "NULL"});
  EXPECT_EQ(db.QueryRows("SELECT batch, step, version, op, object, sql, "
                         "coalesce(rollback_sql, 'NULL'), status, error "
                         "FROM migration_history ORDER BY step"),
            expected);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history WHERE schema_hash IS NULL "
                        "OR started_at = '' OR duration_ms < 0"),
            0);
  EXPECT_EQ(db.QueryRows("SELECT batch, version, status, steps, backup_id, reverts, "
                         "rollback_sql_possible, rollback_backup_possible FROM migration_batches"),
            (Rows{{"1", "1", "applied", "3", "NULL", "NULL", "1", "0"}}));

  // The same schema again: nothing to do, nothing written.
  const int64_t changes = db.QueryInt("SELECT total_changes()");
  const nlohmann::ordered_json again = nlohmann::ordered_json::parse(
      db.QueryString("SELECT migrate_apply(?1)", {std::string(kThreeTables)}));
  EXPECT_EQ(again["ok"], true);
  EXPECT_TRUE(again["batch"].is_null());
  EXPECT_EQ(again["version"], 1);
  EXPECT_EQ(again["steps"], 0);
  EXPECT_EQ(db.QueryInt("SELECT total_changes()"), changes);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history"), 3);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_batches"), 1);
  EXPECT_TRUE(db.PlanRows(kThreeTables).empty());
}

TEST(ApplyEndToEnd, DryRunRecordsABatchAndChangesNoSchema) {
  TestDb db = TestDb::File();
  ASSERT_OPEN(db);
  ASSERT_TRUE(db.Exec("CREATE TABLE a(id INTEGER PRIMARY KEY, x TEXT)"));
  const std::string before =
      db.QueryString("SELECT group_concat(name || ':' || sql, ';') FROM sqlite_schema");
  const nlohmann::ordered_json report = nlohmann::ordered_json::parse(db.QueryString(
      R"(SELECT migrate_apply(?1, '{"dry_run": true}'))", {std::string(kThreeTables)}));
  EXPECT_EQ(report["ok"], true);
  EXPECT_EQ(report["dry_run"], true);
  EXPECT_EQ(report["steps"], 2);
  EXPECT_TRUE(report["batch"].is_number()) << report.dump();
  EXPECT_EQ(db.QueryString("SELECT group_concat(name || ':' || sql, ';') FROM sqlite_schema "
                           "WHERE name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\'"),
            before);
  EXPECT_EQ(db.QueryRows("SELECT status, steps FROM migration_batches"), (Rows{{"dry_run", "2"}}));
  EXPECT_EQ(db.QueryRows("SELECT DISTINCT status FROM migration_history"), (Rows{{"dry_run"}}));
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM migration_history"), 2);

  // Then the real thing, and the stats count both.
  db.QueryString("SELECT migrate_apply(?1)", {std::string(kThreeTables)});
  const json stats = Json(db.QueryString("SELECT migrate_stats()"));
  EXPECT_EQ(stats["batches"]["applied"], 1);
  EXPECT_EQ(stats["batches"]["dry_run"], 1);
  EXPECT_EQ(stats["batches"]["failed"], 0);
  EXPECT_EQ(stats["total"], 2);
  EXPECT_EQ(stats["success_rate"], 1.0);
  EXPECT_EQ(stats["last_batch"]["status"], "applied");
  EXPECT_EQ(stats["last_batch"]["batch"], 2);
  EXPECT_EQ(stats["last_batch"]["version"], 1);
  EXPECT_TRUE(stats["recent_failures"].empty());
}

}  // namespace
}  // namespace automigrate::testing
