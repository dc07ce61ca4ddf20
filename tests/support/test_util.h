// tests/support/test_util.h -- small helpers shared by the tests: a throw-away
// database with the built extension loaded, query helpers that fail the
// current test with SQLite's message, the sqlite3 shell as a subprocess, and
// migrate_plan rows.
//
// Deliberately written on the raw sqlite3 API, not on core/: the tests must
// not lean on the code they test.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace automigrate::testing {

// Every value rendered as text; SQL NULL as "NULL", a BLOB as X'hex'.
using Row = std::vector<std::string>;
using Rows = std::vector<Row>;

// Values bound to ?1, ?2, ... in order; nullopt binds NULL.
using Params = std::vector<std::optional<std::string>>;

// Runs every statement of `sql`. On error returns false and, when `error` is
// given, stores SQLite's message there. Does not fail the test.
bool TryExec(sqlite3* db, std::string_view sql, std::string* error = nullptr);
// Like TryExec, but a failure fails the current test with SQLite's message.
bool Exec(sqlite3* db, std::string_view sql);

// Runs one statement with `params` bound and collects every row.
bool TryQueryRows(sqlite3* db, std::string_view sql, const Params& params, Rows* rows,
                  std::string* error = nullptr);
// Like TryQueryRows; a failure fails the current test and returns no rows.
Rows QueryRows(sqlite3* db, std::string_view sql, const Params& params = {});
// First column of the first row; a failure or no row fails the test and
// returns "" / 0.
std::string QueryString(sqlite3* db, std::string_view sql, const Params& params = {});
int64_t QueryInt(sqlite3* db, std::string_view sql, const Params& params = {});

// `table` is a WITHOUT ROWID table (PRAGMA table_list wr).
bool IsWithoutRowid(sqlite3* db, std::string_view table);

// All rows of `table` (schema main), for data-preservation checks: the given
// columns (all columns of SELECT * when empty) ordered by rowid, or by every
// selected column for a WITHOUT ROWID table.
Rows TableRows(sqlite3* db, std::string_view table, const std::vector<std::string>& columns = {});

// "a""b" -> "\"a\"\"b\"": a quoted SQL identifier.
std::string QuoteId(std::string_view name);

// Result of running the sqlite3 shell.
struct ShellResult {
  int exit_code = -1;  // the shell's exit status; -1 if it could not run or was killed
  std::string out;
  std::string err;
};

// The sqlite3 shell (AUTOMIGRATE_SQLITE3_SHELL -bail db_path) started in the
// background with `script` on stdin; Wait() collects its exit code and output.
// It does not block, so several can run at once; RunShellScript waits for one.
class ShellProcess {
 public:
  ShellProcess(const std::string& db_path, std::string_view script);
  ~ShellProcess();  // waits for the process if Wait() was not called
  ShellProcess(const ShellProcess&) = delete;
  ShellProcess& operator=(const ShellProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // What the process has written to stdout so far (it may still be running).
  std::string OutputSoFar() const;
  ShellResult Wait();

 private:
  std::filesystem::path dir_;
  int pid_ = -1;
  bool waited_ = false;
  ShellResult result_;
};

// Runs `AUTOMIGRATE_SQLITE3_SHELL -bail db_path` with `script` on stdin and
// captures its output. The caller should not hold a write transaction on the
// file meanwhile.
ShellResult RunShellScript(const std::string& db_path, std::string_view script);

// One row of migrate_plan.
struct PlanRow {
  int64_t step = 0;
  std::string op, object_type, object, table_name, sql;
  std::optional<std::string> rollback_sql;
  std::string complexity;
  bool destructive = false;
  std::string warning, reason;
  int64_t est_rows = 0;
  double est_ms = 0;
};

// The rows of `SELECT * FROM migrate_plan(?1[, ?2])` on `db`, desired bound
// as ?1 and options (when not empty) as ?2. On error returns false with the
// message in `error` (does not fail the test).
bool TryPlanRows(sqlite3* db, std::string_view desired, std::string_view options_json,
                 std::vector<PlanRow>* rows, std::string* error);
// Like TryPlanRows; an error fails the current test.
std::vector<PlanRow> PlanRows(sqlite3* db, std::string_view desired,
                              std::string_view options_json = "");

// A readable listing of plan rows for failure messages.
std::string FormatPlan(const std::vector<PlanRow>& rows);
std::string FormatRows(const Rows& rows);

// A database for one test: a file in a fresh temporary directory, or
// :memory:, with the built extension (AUTOMIGRATE_EXT_PATH) loaded unless
// asked not to. Opening or loading failures fail the test (check ok()).
// The destructor closes the connection and removes the directory.
class TestDb {
 public:
  enum class Kind { kFile, kMemory };

  explicit TestDb(Kind kind = Kind::kFile, bool load_extension = true);
  ~TestDb();
  TestDb(const TestDb&) = delete;
  TestDb& operator=(const TestDb&) = delete;

  // Prvalues: guaranteed copy elision, no move needed.
  static TestDb File() { return TestDb(Kind::kFile); }
  static TestDb Memory() { return TestDb(Kind::kMemory); }

  bool ok() const { return db_ != nullptr; }
  sqlite3* db() const { return db_; }
  // The database file (":memory:" for an in-memory database).
  const std::string& path() const { return path_; }
  // The temporary directory ("" for an in-memory database).
  const std::filesystem::path& dir() const { return dir_; }

  // Closes the connection, e.g. before another process writes the file.
  void Close();
  // Opens a new connection to the same file (and loads the extension).
  // An in-memory database cannot be reopened: that fails the test.
  bool Reopen();

  bool Exec(std::string_view sql) { return testing::Exec(db_, sql); }
  Rows QueryRows(std::string_view sql, const Params& params = {}) {
    return testing::QueryRows(db_, sql, params);
  }
  std::string QueryString(std::string_view sql, const Params& params = {}) {
    return testing::QueryString(db_, sql, params);
  }
  int64_t QueryInt(std::string_view sql, const Params& params = {}) {
    return testing::QueryInt(db_, sql, params);
  }
  Rows TableRows(std::string_view table, const std::vector<std::string>& columns = {}) {
    return testing::TableRows(db_, table, columns);
  }
  std::vector<PlanRow> PlanRows(std::string_view desired, std::string_view options_json = "") {
    return testing::PlanRows(db_, desired, options_json);
  }
  // Runs `script` with the sqlite3 shell on this database's file.
  ShellResult RunShellScript(std::string_view script) {
    return testing::RunShellScript(path_, script);
  }

 private:
  bool Open();

  Kind kind_;
  bool load_extension_;
  std::filesystem::path dir_;
  std::string path_;
  sqlite3* db_ = nullptr;
};

}  // namespace automigrate::testing
