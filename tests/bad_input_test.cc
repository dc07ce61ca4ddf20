// tests/bad_input_test.cc -- bad input for every SQL function and virtual
// table of the extension, as tables of cases: NULL, numbers and blobs where
// text is expected (and the reverse), huge and non-UTF-8 text, embedded NUL
// bytes, invalid or non-object JSON options, unknown keys and wrong option
// types, names with quotes and NULs, desired schemas that refer to tables
// they do not define, "schema" naming a missing database or "temp", backup
// paths that are directories, unwritable even for root, or taken, wrong
// argument counts, and misuse of the virtual tables' hidden columns.
//
// Every case runs against one file database that has a history (an applied
// batch with a backup), stored defaults and a backup directory, and asserts
// (1) the exact SQL error, which names the function and what is wrong, and
// (2) that nothing changed: a dump of every table (the _automigrate_* ones
// included) and the listing of the test directory (backups, sidecars, any
// file or directory a bad path could create) are the same afterwards, and
// the connection is back in autocommit mode.
//
// Written on the raw sqlite3 API and test_util, not on core/.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "support/apply_support.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ values

// One bound argument: the SQL type is part of the input under test.
struct Arg {
  int type = SQLITE_NULL;
  std::string bytes;  // text or blob
  int64_t i = 0;
  double d = 0;
};
Arg Null() { return {}; }
Arg Int(int64_t v) { return {SQLITE_INTEGER, {}, v, 0}; }
Arg Real(double v) { return {SQLITE_FLOAT, {}, 0, v}; }
Arg Text(std::string v) { return {SQLITE_TEXT, std::move(v), 0, 0}; }
Arg Blob(std::string v) { return {SQLITE_BLOB, std::move(v), 0, 0}; }

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtHolder = std::unique_ptr<sqlite3_stmt, StmtCloser>;

struct Outcome {
  int rc = SQLITE_OK;
  std::string error;
  std::vector<std::string> first_column;  // of every row, as text ("NULL" for NULL)
};

// Prepares `sql`, binds `args` to ?1, ?2, ... with their own types (text and
// blobs with their full length, NUL bytes included) and steps to the end.
Outcome RunSql(sqlite3* db, const std::string& sql, const std::vector<Arg>& args) {
  Outcome out;
  sqlite3_stmt* raw = nullptr;
  out.rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
  StmtHolder stmt(raw);
  if (out.rc != SQLITE_OK) {
    out.error = sqlite3_errmsg(db);
    return out;
  }
  for (size_t k = 0; k < args.size(); ++k) {
    const int n = static_cast<int>(k + 1);
    const Arg& a = args[k];
    switch (a.type) {
      case SQLITE_INTEGER: sqlite3_bind_int64(raw, n, a.i); break;
      case SQLITE_FLOAT: sqlite3_bind_double(raw, n, a.d); break;
      case SQLITE_TEXT:
        sqlite3_bind_text64(raw, n, a.bytes.data(), a.bytes.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        break;
      case SQLITE_BLOB: sqlite3_bind_blob64(raw, n, a.bytes.data(), a.bytes.size(), SQLITE_TRANSIENT); break;
      default: sqlite3_bind_null(raw, n); break;
    }
  }
  while ((out.rc = sqlite3_step(raw)) == SQLITE_ROW) {
    const unsigned char* p = sqlite3_column_text(raw, 0);
    out.first_column.emplace_back(p ? std::string(reinterpret_cast<const char*>(p),
                                                  static_cast<size_t>(sqlite3_column_bytes(raw, 0)))
                                    : "NULL");
  }
  if (out.rc == SQLITE_DONE) {
    out.rc = SQLITE_OK;
  } else {
    out.error = sqlite3_errmsg(db);
  }
  return out;
}

// ---------------------------------------------------------------- snapshot

// Every object of `schema` and every row of every ordinary table, the
// extension's _automigrate_* tables included (rows sorted, so WITHOUT ROWID
// tables need no special order), plus the schema and data versions.
std::string FullDump(sqlite3* db, const std::string& schema = "main") {
  std::string out;
  const std::string q = QuoteId(schema);
  Rows objects = QueryRows(db, "SELECT type, name, tbl_name, coalesce(sql, '') FROM " + q +
                                   ".sqlite_schema ORDER BY type, name");
  for (const Row& o : objects) {
    out += "object " + o[0] + " " + o[1] + " " + o[2] + "\n" + o[3] + "\n";
    if (o[0] != "table" || o[3].rfind("CREATE VIRTUAL", 0) == 0) continue;
    Rows rows = QueryRows(db, "SELECT * FROM " + q + "." + QuoteId(o[1]));
    std::vector<std::string> lines;
    for (const Row& r : rows) {
      std::string line = "  row";
      for (const std::string& v : r) line += " | " + v;
      lines.push_back(std::move(line));
    }
    std::sort(lines.begin(), lines.end());
    for (const std::string& l : lines) out += l + "\n";
  }
  out += "schema_version " + QueryString(db, "PRAGMA " + q + ".schema_version") + "\n";
  return out;
}

// Every entry under `dir` (recursively) with its kind and, for files, size;
// without the database file itself (and its journal) when `skip_db`.
std::string Listing(const fs::path& dir, bool skip_db = false) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path rel = fs::relative(it->path(), dir);
    if (skip_db && rel.string().rfind("test.db", 0) == 0) continue;
    if (it->is_directory()) {
      entries.push_back(rel.string() + "/");
    } else {
      entries.push_back(rel.string() + " " + std::to_string(it->file_size()));
    }
  }
  std::sort(entries.begin(), entries.end());
  std::string out;
  for (const std::string& e : entries) out += e + "\n";
  return out;
}

// ------------------------------------------------------------------ fixture

// The schema the fixture's database is at (after its one applied batch):
// the desired schema of a no-op plan.
constexpr std::string_view kSchema =
    "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT);\n"
    "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), "
    "body TEXT);\n"
    "CREATE INDEX posts_user ON posts(user_id);\n"
    "CREATE VIEW user_names AS SELECT name FROM users;\n"
    "CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;\n";

struct Case {
  std::string sql;        // with ?1, ?2, ... for `args`
  std::vector<Arg> args;
  std::string error;      // the whole message, or its beginning when `prefix`
  bool prefix = false;    // for messages that quote a huge input
  std::string label;      // shown on failure instead of a huge argument
};

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok());
    dir_ = db_.dir();
    backups_ = (dir_ / "backups").string();
    ASSERT_TRUE(db_.Exec(
        "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
        "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), "
        "body TEXT);"
        "CREATE INDEX posts_user ON posts(user_id);"
        "CREATE VIEW user_names AS SELECT name FROM users;"
        "CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END;"
        "INSERT INTO users VALUES (1, 'ann'), (2, 'bob');"
        "INSERT INTO posts VALUES (1, 1, 'hello'), (2, 2, 'world');"));
    // A history with one applied batch and its backup, and stored defaults:
    // what a wrong call could damage.
    Outcome applied = RunSql(db_.db(), "SELECT migrate_apply(?1, ?2)",
                          {Text(std::string(kSchema)),
                           Text(nlohmann::json{{"backup", "always"}, {"backup_dir", backups_}}.dump())});
    ASSERT_EQ(applied.rc, SQLITE_OK) << applied.error;
    ASSERT_EQ(db_.QueryInt("SELECT count(*) FROM migration_backups"), 1);
    ASSERT_TRUE(db_.Exec("SELECT migrate_configure('{\"max_execution_time_ms\": 20000}')"));
    fs::create_directory(dir_ / "adir");
    std::ofstream(dir_ / "afile") << "not a database";
    // A taken name: the sidecar of the path a backup would be written to.
    std::ofstream(dir_ / "taken.db.json") << "{}";
  }

  // Runs every case and checks its error and that nothing changed.
  void ExpectRefused(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.label.empty() ? c.sql : c.label);
      const std::string dump_before = FullDump(db_.db());
      const std::string files_before = Listing(dir_);
      Outcome out = RunSql(db_.db(), c.sql, c.args);
      EXPECT_NE(out.rc, SQLITE_OK) << "expected an error, got a result";
      if (c.prefix) {
        EXPECT_EQ(out.error.substr(0, c.error.size()), c.error);
      } else {
        EXPECT_EQ(out.error, c.error);
      }
      EXPECT_TRUE(sqlite3_get_autocommit(db_.db())) << "a transaction was left open";
      EXPECT_EQ(FullDump(db_.db()), dump_before);
      EXPECT_EQ(Listing(dir_), files_before);
    }
  }

  std::string Path(std::string_view name) const { return (dir_ / name).string(); }

  TestDb db_ = TestDb::File();
  fs::path dir_;
  std::string backups_;
};

// A JSON object {key: value} as options text.
std::string Opt(std::string_view key, const nlohmann::json& value) {
  return nlohmann::json{{std::string(key), value}}.dump();
}

const std::string kNulText = std::string("CREATE TABLE a(x);\0DROP TABLE users;", 36);
const std::string kBadUtf8 = "\xff\xfe";
const std::string kTempRefused =
    "schema \"temp\" is the connection's temporary database; only \"main\" and attached "
    "databases can be migrated";

// 10 MB of DDL: one CREATE TABLE with far more columns than SQLite allows.
std::string HugeDdl() {
  std::string ddl = "CREATE TABLE big(";
  for (int i = 0; ddl.size() < 10'000'000; ++i) ddl += "c" + std::to_string(i) + " INTEGER, ";
  return ddl + "last INTEGER);";
}

// 10 MB of comment lines before a statement the desired schema may not have.
std::string HugeCommentThenDrop() {
  std::string ddl;
  while (ddl.size() < 10'000'000) ddl += "-- a long comment line, repeated to make the text huge\n";
  return ddl + "DROP TABLE IF EXISTS users;";
}

const std::string& MegabyteName() {
  static const std::string name(1'000'000, 'n');
  return name;
}

// --------------------------------------------------------- desired schema

// The bad desired-schema arguments every function taking one shares
// (message after "<function>: ").
struct DesiredCase {
  Arg desired;
  std::string message;
  bool prefix = false;
  std::string label;
};

std::vector<DesiredCase> BadDesired(bool null_is_bad) {
  const std::string schema(kSchema);
  std::vector<DesiredCase> cases = {
      {Int(1), "desired schema must be text"},
      {Real(2.5), "desired schema must be text"},
      {Text(kNulText), "desired schema contains a NUL byte at offset 18", false, "text with NUL"},
      {Blob(kNulText), "desired schema contains a NUL byte at offset 18", false, "blob with NUL"},
      {Text("DROP TABLE IF EXISTS users;"),
       "desired schema: statement 1 (DROP TABLE IF EXISTS users;): only CREATE TABLE, CREATE INDEX, CREATE "
       "VIEW, CREATE TRIGGER and CREATE VIRTUAL TABLE are allowed"},
      // Not UTF-8: SQLite takes the bytes as a name; the statement is still refused.
      {Text(schema + "DROP TABLE IF EXISTS \"" + kBadUtf8 + "\";"),
       "desired schema: statement 6 (DROP TABLE IF EXISTS \"" + kBadUtf8 +
           "\";): only CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER and CREATE "
           "VIRTUAL TABLE are allowed",
       false, "non-UTF-8 name in a DROP"},
      {Text(HugeDdl()),
       "desired schema: statement 1 (CREATE TABLE big(c0 INTEGER, c1 INTEGER, c2 INTEGER, c3 "
       "INTEGER, c4 INTEGER, c5 I...): too many columns on big",
       false, "10 MB CREATE TABLE"},
      {Text(HugeCommentThenDrop()),
       "desired schema: statement 1 (-- a long comment line, repeated to make the text huge -- a "
       "long comment line, r...): only CREATE TABLE, CREATE INDEX, CREATE VIEW, CREATE TRIGGER "
       "and CREATE VIRTUAL TABLE are allowed",
       false, "10 MB of comments, then DROP TABLE"},
      // Views and triggers using tables the desired schema does not define
      // (a FOREIGN KEY to one is accepted: see core/desired_refs.h).
      {Text(schema + "CREATE VIEW v2 AS SELECT * FROM nowhere;"),
       "desired schema: error in view v2: no such table: main.nowhere"},
      {Text(schema + "CREATE VIEW v3 AS SELECT name FROM users JOIN nowhere USING (id);"),
       "desired schema: error in view v3: no such table: main.nowhere"},
      {Text(schema +
            "CREATE TRIGGER t2 AFTER INSERT ON users BEGIN INSERT INTO nowhere VALUES (1); END;"),
       "desired schema: error in trigger t2: no such table: main.nowhere"},
      {Text(schema + "CREATE TRIGGER t3 AFTER INSERT ON nowhere BEGIN SELECT 1; END;"),
       "desired schema: statement 6 (CREATE TRIGGER t3 AFTER INSERT ON nowhere BEGIN SELECT 1;): "
       "no such table: main.nowhere"},
      {Text(schema + "CREATE INDEX i2 ON nowhere(a);"),
       "desired schema: statement 6 (CREATE INDEX i2 ON nowhere(a);): no such table: main.nowhere"},
      // A 1 MB identifier: the statement is cut in the message, SQLite's own
      // words are not.
      {Text(schema + "CREATE INDEX i2 ON \"" + MegabyteName() + "\"(a);"),
       "desired schema: statement 6 (CREATE INDEX i2 ON \"" + std::string(60, 'n') +
           "...): no such table: main.nnnn",
       true, "1 MB table name in CREATE INDEX"},
  };
  if (null_is_bad) cases.insert(cases.begin(), DesiredCase{Null(), "desired schema is NULL"});
  return cases;
}

// How each function that takes a desired schema is called with (desired, options).
struct DesiredFunction {
  std::string name;
  std::string sql;  // ?1 desired, ?2 options
};
const std::vector<DesiredFunction>& DesiredFunctions() {
  static const std::vector<DesiredFunction> kFunctions = {
      {"migrate_plan", "SELECT * FROM migrate_plan(?1, ?2)"},
      {"migrate_status", "SELECT migrate_status(?1, ?2)"},
      {"migrate_script", "SELECT migrate_script(?1, ?2)"},
      {"migrate_apply", "SELECT migrate_apply(?1, ?2)"},
      {"migrate_health", "SELECT migrate_health(?1, ?2)"},
  };
  return kFunctions;
}

TEST_F(BadInput, DesiredSchemaArgument) {
  for (const DesiredFunction& f : DesiredFunctions()) {
    std::vector<Case> cases;
    for (DesiredCase& d : BadDesired(/*null_is_bad=*/f.name != "migrate_health")) {
      cases.push_back({f.sql, {d.desired, Null()}, f.name + ": " + d.message, d.prefix,
                       d.label.empty() ? "" : f.name + ": " + d.label});
    }
    ExpectRefused(cases);
  }
}

// The same references are fine when the desired schema defines the table:
// the check is about missing tables, not about views, triggers or keys.
TEST_F(BadInput, ReferencesToDefinedTablesArePlanned) {
  const std::string desired =
      std::string(kSchema) +
      "CREATE TABLE c(id INTEGER PRIMARY KEY, u INTEGER REFERENCES Users(id), "
      "p INTEGER REFERENCES c(id));"
      "CREATE VIEW v2 AS SELECT * FROM c JOIN users ON users.id = c.u;"
      "CREATE TRIGGER t2 AFTER INSERT ON users BEGIN INSERT INTO c(u) VALUES (new.id); END;"
      "CREATE VIEW v3 AS SELECT * FROM json_each('[1]');";
  Outcome out = RunSql(db_.db(), "SELECT op || ' ' || object FROM migrate_plan(?1)", {Text(desired)});
  ASSERT_EQ(out.rc, SQLITE_OK) << out.error;
  EXPECT_EQ(out.first_column, (std::vector<std::string>{"create_table c", "create_view v2",
                                                         "create_view v3", "create_trigger t2"}));
}

// ------------------------------------------------------------------ options

// Bad options every function that takes an options object refuses the same
// way (message after "<function>: ").
struct OptionsCase {
  Arg options;
  std::string message;
  bool prefix = false;
  std::string label;
};

std::vector<OptionsCase> BadOptions() {
  return {
      {Int(1), "options must be JSON text"},
      {Real(1.5), "options must be JSON text"},
      {Blob("{}"), "options must be JSON text"},
      {Text("not json"), "options: invalid JSON"},
      {Text("{\"schema\": \"main\",}"), "options: invalid JSON"},
      {Text(std::string("{}\0{\"dry_run\": true}", 19)), "options contain a NUL byte at offset 2",
       false, "text with NUL"},
      {Text("{\"" + kBadUtf8 + "\": 1}"), "options: invalid JSON", false, "non-UTF-8 key"},
      {Text("[\"schema\", \"main\"]"), "options must be a JSON object"},
      {Text("\"main\""), "options must be a JSON object"},
      {Text("42"), "options must be a JSON object"},
      {Text("{\"nope\": 1}"), "options: unknown key \"nope\""},
      {Text("{\"sch\\\"ema\": 1}"), "options: unknown key \"sch\\\"ema\""},
      {Text("{\"schema\\u0000\": \"main\"}"), "options: unknown key \"schema\\u0000\""},
      {Text(Opt("schema", 1)), "options: \"schema\" must be a string"},
      {Text(Opt("schema", nullptr)), "options: \"schema\" must be a string"},
      {Text(Opt("schema", "nope")), "options: schema \"nope\" is not attached"},
      {Text(Opt("schema", "ma\"in")), "options: schema \"ma\\\"in\" is not attached"},
      {Text(Opt("schema", std::string("ma\0in", 5))),
       "options: schema \"ma\\u0000in\" is not attached"},
      {Text(Opt("schema", "temp")), "options: " + kTempRefused},
      {Text(Opt("schema", "TEMP")), "options: " + kTempRefused},
      {Text(Opt("schema", MegabyteName())), "options: schema \"nnnnnnnn", true,
       "1 MB schema name"},
  };
}

struct OptionsFunction {
  std::string name;
  std::string sql;  // ?1 options
};
std::vector<OptionsFunction> OptionsFunctions(const std::string& schema) {
  return {
      {"migrate_plan", "SELECT * FROM migrate_plan(" + schema + ", ?1)"},
      {"migrate_status", "SELECT migrate_status(" + schema + ", ?1)"},
      {"migrate_script", "SELECT migrate_script(" + schema + ", ?1)"},
      {"migrate_apply", "SELECT migrate_apply(" + schema + ", ?1)"},
      {"migrate_health", "SELECT migrate_health(NULL, ?1)"},
      {"migrate_configure", "SELECT migrate_configure(?1)"},
      {"migrate_rollback", "SELECT migrate_rollback(1, ?1)"},
      {"backup_create", "SELECT backup_create(NULL, ?1)"},
      {"backup_verify", "SELECT backup_verify('/nonexistent/backup.db', ?1)"},
      {"backup_restore", "SELECT backup_restore('/nonexistent/backup.db', ?1)"},
      {"backup_cleanup", "SELECT backup_cleanup(0, ?1)"},
  };
}

TEST_F(BadInput, OptionsArgument) {
  const std::string schema = "'" + std::string(kSchema) + "'";
  for (const OptionsFunction& f : OptionsFunctions(schema)) {
    std::vector<Case> cases;
    for (OptionsCase& o : BadOptions()) {
      // migrate_configure gets no "null": there it removes a stored key.
      cases.push_back({f.sql, {o.options}, f.name + ": " + o.message, o.prefix,
                       f.name + ": " + (o.label.empty() ? o.options.bytes : o.label)});
    }
    ExpectRefused(cases);
  }
}

// Keys a function does not take, and values of the wrong type or range, per
// function (the planner functions' own table is in ext_functions_test.cc).
TEST_F(BadInput, OptionKeysAndValuesPerFunction) {
  const std::string nul_dir = Path(std::string("b\0k", 3));
  const std::string schema(kSchema);
  const std::string apply = "SELECT migrate_apply(?1, ?2)";
  ExpectRefused({
      {apply, {Text(schema), Text(Opt("dry_run", "yes"))},
       "migrate_apply: options: \"dry_run\" must be a boolean"},
      {apply, {Text(schema), Text(Opt("allow_destructive", 1))},
       "migrate_apply: options: \"allow_destructive\" must be a boolean"},
      {apply, {Text(schema), Text(Opt("backup", "sometimes"))},
       "migrate_apply: options: \"backup\" must be one of \"auto\", \"always\", \"never\""},
      {apply, {Text(schema), Text(Opt("backup_dir", 5))},
       "migrate_apply: options: \"backup_dir\" must be a string or null"},
      {apply, {Text(schema), Text(Opt("backup_dir", nul_dir))},
       "migrate_apply: options: \"backup_dir\" must not contain a NUL byte"},
      {apply, {Text(schema), Text(Opt("max_execution_time_ms", -1))},
       "migrate_apply: options: \"max_execution_time_ms\" must be a non-negative integer"},
      {apply, {Text(schema), Text(Opt("max_execution_time_ms", "100"))},
       "migrate_apply: options: \"max_execution_time_ms\" must be a non-negative integer"},
      {apply, {Text(schema), Text(Opt("expected_plan_hash", "zz"))},
       "migrate_apply: options: \"expected_plan_hash\" must be the 32-digit hex plan_hash that "
       "migrate_status returns"},
      {apply, {Text(schema), Text(Opt("rename", nlohmann::json{{"users.na\"me", 1}}))},
       "migrate_apply: options: \"rename\": the new name for \"users.na\\\"me\" must be a string"},
      {apply, {Text(schema), Text(Opt("rename", nlohmann::json{{std::string("users.na\0me", 11), "n"}}))},
       "migrate_apply: options: \"rename\": names must not contain a NUL byte"},
      {apply, {Text(schema), Text(Opt("rename", nlohmann::json{{"users.name", std::string("n\0m", 3)}}))},
       "migrate_apply: options: \"rename\": names must not contain a NUL byte"},
      {apply, {Text(schema), Text(Opt("force", true))},
       "migrate_apply: options: \"force\" cannot be used with migrate_apply; accepted keys: "
       "\"dry_run\", \"allow_destructive\", \"backup\", \"backup_dir\", \"max_execution_time_ms\", "
       "\"expected_plan_hash\", \"rename\", \"column_order\", \"schema\", \"progress_file\", "
       "\"sorter_threads\", \"in_place\""},
      {apply, {Text(schema), Text(Opt("in_place", "no"))},
       "migrate_apply: options: \"in_place\" must be a boolean"},
      // migrate_configure: storable keys only, each with its type.
      {"SELECT migrate_configure(?1)", {Text(Opt("dry_run", true))},
       "migrate_configure: options: \"dry_run\" cannot be stored; storable keys: "
       "\"allow_destructive\", \"backup\", \"backup_dir\", \"max_execution_time_ms\", "
       "\"column_order\""},
      {"SELECT migrate_configure(?1)", {Text(Opt("backup_dir", 5))},
       "migrate_configure: options: \"backup_dir\" must be a string or null"},
      {"SELECT migrate_configure(?1)", {Text(Opt("backup_dir", nul_dir))},
       "migrate_configure: options: \"backup_dir\" must not contain a NUL byte"},
      {"SELECT migrate_configure(?1)", {Text(Opt("max_execution_time_ms", 1.5))},
       "migrate_configure: options: \"max_execution_time_ms\" must be a non-negative integer"},
      {"SELECT migrate_configure(?1)", {Text(Opt("column_order", 1))},
       "migrate_configure: options: \"column_order\" must be one of \"ignore\", \"strict\""},
      {"SELECT migrate_configure(?1)", {Text(Opt("allow_destructive", "yes"))},
       "migrate_configure: options: \"allow_destructive\" must be a boolean"},
      // migrate_rollback
      {"SELECT migrate_rollback(?1)", {Text(Opt("method", "magic"))},
       "migrate_rollback: options: \"method\" must be one of \"auto\", \"sql\", \"backup\""},
      {"SELECT migrate_rollback(?1)", {Text(Opt("force", "yes"))},
       "migrate_rollback: options: \"force\" must be a boolean"},
      {"SELECT migrate_rollback(?1)", {Text(Opt("dry_run", true))},
       "migrate_rollback: options: \"dry_run\" cannot be used with migrate_rollback; accepted "
       "keys: \"max_execution_time_ms\", \"schema\", \"force\", \"method\""},
      // backup_create
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("dry_run", true))},
       "backup_create: options: \"dry_run\" cannot be used with backup_create; accepted keys: "
       "\"backup_dir\", \"schema\""},
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("backup_dir", nul_dir))},
       "backup_create: options: \"backup_dir\" must not contain a NUL byte"},
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("backup_dir", ""))},
       "backup_create: options: \"backup_dir\" must be a directory path, not empty"},
      // backup_verify / backup_restore take only "schema"
      {"SELECT backup_verify(?1, ?2)", {Text(Path("x.db")), Text(Opt("backup_dir", backups_))},
       "backup_verify: options: \"backup_dir\" cannot be used with backup_verify; accepted keys: "
       "\"schema\""},
      {"SELECT backup_restore(?1, ?2)", {Text(Path("x.db")), Text(Opt("force", true))},
       "backup_restore: options: \"force\" cannot be used with backup_restore; accepted keys: "
       "\"schema\""},
      // backup_cleanup
      {"SELECT backup_cleanup(0, ?1)", {Text(Opt("max_age_days", -1))},
       "backup_cleanup: options: \"max_age_days\" must be a non-negative number"},
      {"SELECT backup_cleanup(0, ?1)", {Text(Opt("max_age_days", "30"))},
       "backup_cleanup: options: \"max_age_days\" must be a non-negative number"},
      {"SELECT backup_cleanup(0, ?1)", {Text(Opt("backup_dir", backups_))},
       "backup_cleanup: options: \"backup_dir\" cannot be used with backup_cleanup; accepted "
       "keys: \"schema\", \"max_age_days\""},
      // migrate_health
      {"SELECT migrate_health(NULL, ?1)", {Text(Opt("dry_run", true))},
       "migrate_health: options: \"dry_run\" cannot be used with migrate_health; accepted keys: "
       "\"backup_dir\", \"rename\", \"column_order\", \"schema\", \"full_integrity\", "
       "\"recent_batches\""},
      {"SELECT migrate_health(NULL, ?1)", {Text(Opt("recent_batches", 0))},
       "migrate_health: options: \"recent_batches\" must be a positive integer"},
      {"SELECT migrate_health(NULL, ?1)", {Text(Opt("full_integrity", "yes"))},
       "migrate_health: options: \"full_integrity\" must be a boolean"},
      {"SELECT migrate_health(NULL, ?1)", {Text(Opt("backup_dir", nul_dir))},
       "migrate_health: options: \"backup_dir\" must not contain a NUL byte"},
  });
}

// ------------------------------------------------------------ argument counts

TEST_F(BadInput, ArgumentCounts) {
  ExpectRefused({
      {"SELECT automigrate_version(1)", {},
       "wrong number of arguments to function automigrate_version()"},
      {"SELECT migrate_status()", {}, "migrate_status: expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_script('', '{}', 3)", {},
       "migrate_script: expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_apply()", {}, "migrate_apply: expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_apply(?1, NULL, NULL)", {Text(std::string(kSchema))},
       "migrate_apply: expected 1 or 2 arguments (desired [, options])"},
      {"SELECT migrate_configure()", {}, "migrate_configure: expected 1 argument (options)"},
      {"SELECT migrate_configure('{}', '{}')", {}, "migrate_configure: expected 1 argument (options)"},
      {"SELECT migrate_stats('main', 'main')", {},
       "migrate_stats: expected 0 or 1 arguments ([schema])"},
      {"SELECT migrate_health(NULL, NULL, NULL)", {},
       "migrate_health: expected 0 to 2 arguments ([desired] [, options])"},
      {"SELECT migrate_rollback(1, '{}', 3)", {},
       "migrate_rollback: expected 0 to 2 arguments ([batch] [, options])"},
      {"SELECT backup_create(NULL, NULL, NULL)", {},
       "backup_create: expected 0 to 2 arguments ([path] [, options])"},
      {"SELECT backup_verify()", {}, "backup_verify: expected 1 or 2 arguments (path [, options])"},
      {"SELECT backup_verify('a', '{}', 3)", {},
       "backup_verify: expected 1 or 2 arguments (path [, options])"},
      {"SELECT backup_restore()", {}, "backup_restore: expected 1 or 2 arguments (path [, options])"},
      {"SELECT backup_cleanup()", {}, "backup_cleanup: expected 1 or 2 arguments (keep_last [, options])"},
      {"SELECT backup_cleanup(1, '{}', 3)", {},
       "backup_cleanup: expected 1 or 2 arguments (keep_last [, options])"},
  });
}

// ------------------------------------------------------------- virtual tables

TEST_F(BadInput, PlanTableHiddenColumns) {
  ExpectRefused({
      {"SELECT * FROM migrate_plan", {}, "migrate_plan: the desired schema argument is required"},
      {"SELECT * FROM migrate_plan()", {}, "migrate_plan: the desired schema argument is required"},
      {"SELECT * FROM migrate_plan WHERE options = '{}'", {},
       "migrate_plan: the desired schema argument is required"},
      {"SELECT * FROM migrate_plan WHERE desired > ''", {},
       "migrate_plan: the desired schema argument is required"},
      {"SELECT * FROM migrate_plan(NULL)", {}, "migrate_plan: desired schema is NULL"},
      {"SELECT * FROM migrate_plan WHERE desired = NULL", {},
       "migrate_plan: desired schema is NULL"},
      {"SELECT * FROM migrate_plan(?1, ?2, ?3)", {Text(""), Null(), Null()},
       "too many arguments on migrate_plan() - max 2"},
      {"INSERT INTO migrate_plan(step) VALUES (1)", {}, "table migrate_plan may not be modified"},
      {"CREATE VIRTUAL TABLE p USING migrate_plan", {}, "no such module: migrate_plan"},
  });
}

TEST_F(BadInput, HistoryTablesSchemaArgument) {
  const std::vector<std::string> names = {"migration_history", "migration_batches",
                                          "migration_backups"};
  for (const std::string& name : names) {
    const std::string select = "SELECT * FROM " + name + "(?1)";
    ExpectRefused({
        {select, {Int(1)}, name + ": schema must be text"},
        {select, {Real(1.5)}, name + ": schema must be text"},
        {select, {Blob("main")}, name + ": schema must be text"},
        {select, {Text("nope")}, name + ": schema \"nope\" is not attached"},
        {select, {Text("we\"ird")}, name + ": schema \"we\\\"ird\" is not attached"},
        {select, {Text(std::string("ma\0in", 5))}, name + ": schema \"ma\\u0000in\" is not attached"},
        {select, {Text(kBadUtf8)}, name + ": schema \"\xEF\xBF\xBD\xEF\xBF\xBD\" is not attached"},
        {select, {Text("temp")}, name + ": " + kTempRefused},
        {"SELECT * FROM " + name + " WHERE schema = 'nope'", {},
         name + ": schema \"nope\" is not attached"},
        {"SELECT * FROM " + name + "('main', 1)", {}, "too many arguments on " + name + "() - max 1"},
        {"DELETE FROM " + name, {}, "table " + name + " may not be modified"},
        {"UPDATE " + name + " SET schema = 'x'", {}, "table " + name + " may not be modified"},
        {"CREATE VIRTUAL TABLE h USING " + name, {}, "no such module: " + name},
    });
  }
}

TEST_F(BadInput, StatsSchemaArgument) {
  const std::string select = "SELECT migrate_stats(?1)";
  ExpectRefused({
      {select, {Int(0)}, "migrate_stats: schema must be text"},
      {select, {Real(0.5)}, "migrate_stats: schema must be text"},
      {select, {Blob("main")}, "migrate_stats: schema must be text"},
      {select, {Text("nope")}, "migrate_stats: schema \"nope\" is not attached"},
      {select, {Text("")}, "migrate_stats: schema \"\" is not attached"},
      {select, {Text("Temp")}, "migrate_stats: " + kTempRefused},
      {select, {Text(MegabyteName())}, "migrate_stats: schema \"nnnn", true, "1 MB schema name"},
  });
}

// --------------------------------------------------------------- rollback

TEST_F(BadInput, RollbackBatchArgument) {
  ExpectRefused({
      {"SELECT migrate_rollback(?1)", {Real(1.5)},
       "migrate_rollback: the argument must be a batch number or options text"},
      {"SELECT migrate_rollback(?1)", {Blob("1")},
       "migrate_rollback: the argument must be a batch number or options text"},
      {"SELECT migrate_rollback(?1)", {Text("1")}, "migrate_rollback: options must be a JSON object"},
      {"SELECT migrate_rollback(?1, '{}')", {Real(1.0)}, "migrate_rollback: batch must be an integer"},
      {"SELECT migrate_rollback(?1, '{}')", {Text("1")}, "migrate_rollback: batch must be an integer"},
      {"SELECT migrate_rollback(1, 2)", {}, "migrate_rollback: options must be JSON text"},
      {"SELECT migrate_rollback(999)", {},
       "migrate_rollback: there is no batch 999"},
      {"SELECT migrate_rollback(-1)", {},
       "migrate_rollback: there is no batch -1"},
      {"SELECT migrate_rollback(?1)", {Text(Opt("schema", "temp"))},
       "migrate_rollback: options: " + kTempRefused},
  });
}

// ----------------------------------------------------------------- backups

TEST_F(BadInput, BackupPaths) {
  const std::string proc = "/proc/automigrate-bad-input.db";  // even root cannot create files here
  const std::string long_path = Path(std::string(1'000'000, 'p'));
  ExpectRefused({
      {"SELECT backup_create(?1)", {Int(5)}, "backup_create: path must be text"},
      {"SELECT backup_create(?1)", {Real(5.5)}, "backup_create: path must be text"},
      {"SELECT backup_create(?1)", {Blob(Path("b.db"))}, "backup_create: path must be text"},
      {"SELECT backup_create(?1)", {Text("")}, "backup_create: path is empty"},
      {"SELECT backup_create(?1)", {Text(Path(std::string("b\0.db", 5)))},
       "backup_create: path contains a NUL byte", false, "path with NUL"},
      {"SELECT backup_create(?1)", {Text(Path("b" + kBadUtf8 + ".db"))},
       "backup_create: path is not valid UTF-8", false, "non-UTF-8 path"},
      {"SELECT backup_create(?1)", {Text(Path("adir"))},
       "backup_create: " + Path("adir") +
           " already exists; a backup never overwrites a file, choose another path"},
      {"SELECT backup_create(?1)", {Text(Path("afile"))},
       "backup_create: " + Path("afile") +
           " already exists; a backup never overwrites a file, choose another path"},
      {"SELECT backup_create(?1)", {Text(Path("taken.db"))},
       "backup_create: " + Path("taken.db") + ".json already exists; choose another path"},
      {"SELECT backup_create(?1)", {Text(Path("afile/b.db"))},
       "backup_create: " + Path("afile") + " exists and is not a directory"},
      {"SELECT backup_create(?1)", {Text(Path("missing/b.db"))},
       "backup_create: directory " + Path("missing") + " does not exist"},
      {"SELECT backup_create(?1)", {Text(proc)},
       "backup_create: cannot open " + proc + ": No such file or directory"},
      {"SELECT backup_create(?1)", {Text(long_path)}, "backup_create: ", true, "1 MB path"},
      {"SELECT backup_create(?1, ?2)", {Text(Path("b.db")), Text(Opt("backup_dir", backups_))},
       "backup_create: give a path or \"backup_dir\", not both"},
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("backup_dir", Path("afile")))},
       "backup_create: " + Path("afile") + " exists and is not a directory"},
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("backup_dir", Path("afile/sub")))},
       "backup_create: " + Path("afile") + " exists and is not a directory"},
      {"SELECT backup_create(NULL, ?1)", {Text(Opt("backup_dir", "/proc/automigrate-bad-input"))},
       "backup_create: cannot create directory /proc/automigrate-bad-input: No such file or "
       "directory"},
      // backup_verify answers ok:false for a bad backup, but a bad argument is an error.
      {"SELECT backup_verify(?1)", {Null()}, "backup_verify: path is NULL"},
      {"SELECT backup_verify(?1)", {Int(1)}, "backup_verify: path must be text"},
      {"SELECT backup_verify(?1)", {Blob(backups_)}, "backup_verify: path must be text"},
      {"SELECT backup_verify(?1)", {Text("")}, "backup_verify: path is empty"},
      {"SELECT backup_verify(?1)", {Text(Path(std::string("b\0.db", 5)))},
       "backup_verify: path contains a NUL byte", false, "path with NUL"},
      {"SELECT backup_verify(?1)", {Text(Path("b" + kBadUtf8 + ".db"))},
       "backup_verify: path is not valid UTF-8", false, "non-UTF-8 path"},
      // backup_restore verifies first: nothing is replaced.
      {"SELECT backup_restore(?1)", {Null()}, "backup_restore: path is NULL"},
      {"SELECT backup_restore(?1)", {Real(1)}, "backup_restore: path must be text"},
      {"SELECT backup_restore(?1)", {Text(Path("b" + kBadUtf8 + ".db"))},
       "backup_restore: path is not valid UTF-8", false, "non-UTF-8 path"},
      {"SELECT backup_restore(?1)", {Text(Path("adir"))},
       "backup_restore: " + Path("adir") + " failed verification: sidecar " + Path("adir") +
           ".json is missing: without it the backup cannot be verified (it may be incomplete); "
           "nothing was changed"},
      {"SELECT backup_restore(?1)", {Text(Path("afile"))},
       "backup_restore: " + Path("afile") + " failed verification: sidecar " + Path("afile") +
           ".json is missing: without it the backup cannot be verified (it may be incomplete); "
           "nothing was changed"},
      {"SELECT backup_restore(?1)", {Text(Path("none.db"))},
       "backup_restore: " + Path("none.db") + " failed verification: backup file " +
           Path("none.db") + " does not exist; nothing was changed"},
      {"SELECT backup_restore(?1)", {Text("/proc/self/status")},
       "backup_restore: /proc/self/status failed verification: sidecar /proc/self/status.json is "
       "missing: without it the backup cannot be verified (it may be incomplete); nothing was "
       "changed"},
      // backup_cleanup's count
      {"SELECT backup_cleanup(?1)", {Null()}, "backup_cleanup: keep_last must be a non-negative integer"},
      {"SELECT backup_cleanup(?1)", {Text("0")}, "backup_cleanup: keep_last must be a non-negative integer"},
      {"SELECT backup_cleanup(?1)", {Real(0.5)}, "backup_cleanup: keep_last must be a non-negative integer"},
      {"SELECT backup_cleanup(?1)", {Int(-1)}, "backup_cleanup: keep_last must be a non-negative integer"},
      {"SELECT backup_cleanup(?1)", {Blob("0")}, "backup_cleanup: keep_last must be a non-negative integer"},
  });
}

// A path that is not a backup is a question with the answer "no" for
// backup_verify (DESIGN.md): ok false with the reason, nothing changed.
TEST_F(BadInput, VerifyAnswersNotABackup) {
  struct VerifyCase {
    std::string path;
    std::string reason;
  };
  const std::vector<VerifyCase> cases = {
      {Path("adir"), "sidecar " + Path("adir") +
                         ".json is missing: without it the backup cannot be verified (it may be "
                         "incomplete)"},
      {Path("none.db"), "backup file " + Path("none.db") + " does not exist"},
      {"/proc/self/status", "sidecar /proc/self/status.json is missing: without it the backup "
                            "cannot be verified (it may be incomplete)"},
  };
  for (const VerifyCase& c : cases) {
    SCOPED_TRACE(c.path);
    const std::string dump = FullDump(db_.db());
    const std::string files = Listing(dir_);
    Outcome out = RunSql(db_.db(), "SELECT backup_verify(?1)", {Text(c.path)});
    ASSERT_EQ(out.rc, SQLITE_OK) << out.error;
    ASSERT_EQ(out.first_column.size(), 1u);
    const nlohmann::json j = nlohmann::json::parse(out.first_column[0]);
    EXPECT_EQ(j["ok"], false);
    EXPECT_EQ(j["reason"], c.reason);
    EXPECT_EQ(FullDump(db_.db()), dump);
    EXPECT_EQ(Listing(dir_), files);
  }
}

// A backup_dir the apply cannot use fails the batch before any step: the
// schema and the backups are untouched; the failure is in the history
// (README "migrate_apply and backups": recorded as a failed batch).
TEST_F(BadInput, ApplyWithUnusableBackupDirChangesNoSchema) {
  for (const std::string& dir : {Path("afile"), Path("afile/sub"),
                                 std::string("/proc/automigrate-bad-input")}) {
    SCOPED_TRACE(dir);
    const std::string schema_before = DumpDatabase(db_.db());
    const std::string files = Listing(dir_, /*skip_db=*/true);
    const int64_t failed_before =
        db_.QueryInt("SELECT count(*) FROM migration_batches WHERE status = 'failed'");
    Outcome out = RunSql(db_.db(), "SELECT migrate_apply(?1, ?2)",
                      {Text(std::string(kSchema) + "CREATE TABLE extra(a);"),
                       Text(nlohmann::json{{"backup", "always"}, {"backup_dir", dir}}.dump())});
    EXPECT_NE(out.rc, SQLITE_OK);
    EXPECT_EQ(out.error.rfind("migrate_apply: ", 0), 0u) << out.error;
    EXPECT_NE(out.error.find(dir.substr(0, dir.find("/sub"))), std::string::npos) << out.error;
    EXPECT_EQ(DumpDatabase(db_.db()), schema_before);
    EXPECT_EQ(Listing(dir_, /*skip_db=*/true), files);
    EXPECT_EQ(db_.QueryInt("SELECT count(*) FROM migration_batches WHERE status = 'failed'"),
              failed_before + 1);
  }
}

}  // namespace
}  // namespace automigrate::testing
