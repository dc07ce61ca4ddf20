#include "support/test_util.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>

extern char** environ;

namespace automigrate::testing {
namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtHolder = std::unique_ptr<sqlite3_stmt, StmtCloser>;

std::string ValueText(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, col));
      int n = sqlite3_column_bytes(stmt, col);
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string out = "X'";
      for (int i = 0; i < n; ++i) {
        out += kHex[p[i] >> 4];
        out += kHex[p[i] & 15];
      }
      return out + "'";
    }
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt, col)));
    }
  }
}

// mkdtemp under the system temp directory; "" on failure.
std::filesystem::path MakeTempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "automigrate-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return tmpl;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool TryExec(sqlite3* db, std::string_view sql, std::string* error) {
  if (db == nullptr) {
    if (error) *error = "no database connection";
    return false;
  }
  char* msg = nullptr;
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    if (error) *error = msg ? msg : sqlite3_errstr(rc);
    sqlite3_free(msg);
    return false;
  }
  return true;
}

bool Exec(sqlite3* db, std::string_view sql) {
  std::string error;
  if (TryExec(db, sql, &error)) return true;
  ADD_FAILURE() << "SQL failed: " << error << "\n  SQL: " << sql;
  return false;
}

bool TryQueryRows(sqlite3* db, std::string_view sql, const Params& params, Rows* rows,
                  std::string* error) {
  rows->clear();
  if (db == nullptr) {
    if (error) *error = "no database connection";
    return false;
  }
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtHolder stmt(raw);
  if (rc != SQLITE_OK || raw == nullptr) {
    if (error) *error = rc != SQLITE_OK ? sqlite3_errmsg(db) : "empty statement";
    return false;
  }
  for (size_t i = 0; i < params.size(); ++i) {
    int idx = static_cast<int>(i) + 1;
    if (params[i]) {
      sqlite3_bind_text(raw, idx, params[i]->data(), static_cast<int>(params[i]->size()),
                        SQLITE_TRANSIENT);
    } else {
      sqlite3_bind_null(raw, idx);
    }
  }
  int ncol = sqlite3_column_count(raw);
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    Row row;
    row.reserve(static_cast<size_t>(ncol));
    for (int c = 0; c < ncol; ++c) row.push_back(ValueText(raw, c));
    rows->push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) {
    if (error) *error = sqlite3_errmsg(db);
    rows->clear();
    return false;
  }
  return true;
}

Rows QueryRows(sqlite3* db, std::string_view sql, const Params& params) {
  Rows rows;
  std::string error;
  if (!TryQueryRows(db, sql, params, &rows, &error)) {
    ADD_FAILURE() << "query failed: " << error << "\n  SQL: " << sql;
  }
  return rows;
}

std::string QueryString(sqlite3* db, std::string_view sql, const Params& params) {
  Rows rows;
  std::string error;
  if (!TryQueryRows(db, sql, params, &rows, &error)) {
    ADD_FAILURE() << "query failed: " << error << "\n  SQL: " << sql;
    return "";
  }
  if (rows.empty() || rows[0].empty()) {
    ADD_FAILURE() << "query returned no row\n  SQL: " << sql;
    return "";
  }
  return rows[0][0];
}

int64_t QueryInt(sqlite3* db, std::string_view sql, const Params& params) {
  std::string text = QueryString(db, sql, params);
  if (text.empty() || text == "NULL") return 0;
  return std::strtoll(text.c_str(), nullptr, 10);
}

std::string QuoteId(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

bool IsWithoutRowid(sqlite3* db, std::string_view table) {
  Rows rows;
  TryQueryRows(db, "SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1",
               {std::string(table)}, &rows);
  return !rows.empty() && rows[0][0] == "1";
}

Rows TableRows(sqlite3* db, std::string_view table, const std::vector<std::string>& columns) {
  std::string list;
  for (const std::string& c : columns) list += (list.empty() ? "" : ", ") + QuoteId(c);
  std::string sql =
      "SELECT " + (list.empty() ? std::string("*") : list) + " FROM main." + QuoteId(table);
  if (!IsWithoutRowid(db, table)) {
    sql += " ORDER BY rowid";
  } else if (!columns.empty()) {
    sql += " ORDER BY " + list;
  } else {
    // Every column, by position.
    Rows n = QueryRows(db, "SELECT count(*) FROM pragma_table_info(?1)", {std::string(table)});
    int ncol = n.empty() ? 0 : std::atoi(n[0][0].c_str());
    for (int i = 1; i <= ncol; ++i) sql += (i == 1 ? " ORDER BY " : ", ") + std::to_string(i);
  }
  return QueryRows(db, sql);
}

ShellProcess::ShellProcess(const std::string& db_path, std::string_view script) {
  dir_ = MakeTempDir();
  if (dir_.empty()) {
    result_.err = "cannot create a temporary directory";
    return;
  }
  {
    std::ofstream in(dir_ / "script.sql", std::ios::binary);
    in << script;
  }
  const std::string in_path = (dir_ / "script.sql").string();
  const std::string out_path = (dir_ / "stdout.txt").string();
  const std::string err_path = (dir_ / "stderr.txt").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::string shell = AUTOMIGRATE_SQLITE3_SHELL;
  std::string bail = "-bail";
  std::string db_arg = db_path;
  char* argv[] = {shell.data(), bail.data(), db_arg.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, shell.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    result_.err = "cannot start " + shell + ": " + std::generic_category().message(rc);
    return;
  }
  pid_ = pid;
}

ShellProcess::~ShellProcess() {
  Wait();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string ShellProcess::OutputSoFar() const {
  if (dir_.empty()) return "";
  return ReadFile(dir_ / "stdout.txt");
}

ShellResult ShellProcess::Wait() {
  if (pid_ <= 0 || waited_) return result_;
  waited_ = true;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  result_.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result_.out = ReadFile(dir_ / "stdout.txt");
  result_.err = ReadFile(dir_ / "stderr.txt");
  if (WIFSIGNALED(status))
    result_.err += "\n(killed by signal " + std::to_string(WTERMSIG(status)) + ")";
  return result_;
}

ShellResult RunShellScript(const std::string& db_path, std::string_view script) {
  return ShellProcess(db_path, script).Wait();
}

bool TryPlanRows(sqlite3* db, std::string_view desired, std::string_view options_json,
                 std::vector<PlanRow>* rows, std::string* error) {
  rows->clear();
  std::string sql =
      "SELECT step, op, object_type, object, table_name, sql, rollback_sql, complexity,"
      " destructive, warning, reason, est_rows, est_ms FROM migrate_plan(?1";
  Params params = {std::string(desired)};
  if (!options_json.empty()) {
    sql += ", ?2";
    params.push_back(std::string(options_json));
  }
  sql += ")";
  Rows raw;
  if (!TryQueryRows(db, sql, params, &raw, error)) return false;
  auto text = [](const std::string& v) { return v == "NULL" ? std::string() : v; };
  for (const Row& r : raw) {
    PlanRow p;
    p.step = std::strtoll(r[0].c_str(), nullptr, 10);
    p.op = text(r[1]);
    p.object_type = text(r[2]);
    p.object = text(r[3]);
    p.table_name = text(r[4]);
    p.sql = text(r[5]);
    if (r[6] != "NULL") p.rollback_sql = r[6];
    p.complexity = text(r[7]);
    p.destructive = r[8] != "NULL" && r[8] != "0";
    p.warning = text(r[9]);
    p.reason = text(r[10]);
    p.est_rows = std::strtoll(r[11].c_str(), nullptr, 10);
    p.est_ms = std::strtod(r[12].c_str(), nullptr);
    rows->push_back(std::move(p));
  }
  return true;
}

std::vector<PlanRow> PlanRows(sqlite3* db, std::string_view desired,
                              std::string_view options_json) {
  std::vector<PlanRow> rows;
  std::string error;
  if (!TryPlanRows(db, desired, options_json, &rows, &error)) {
    ADD_FAILURE() << "migrate_plan failed: " << error << "\n  options: " << options_json
                  << "\n  desired:\n"
                  << desired;
  }
  return rows;
}

std::string FormatPlan(const std::vector<PlanRow>& rows) {
  if (rows.empty()) return "  (no steps)\n";
  std::string out;
  for (const PlanRow& p : rows) {
    out += "  " + std::to_string(p.step) + ". " + p.op + " " + p.object_type + " " + p.object;
    if (!p.table_name.empty()) out += " (table " + p.table_name + ")";
    out += " " + p.complexity + (p.destructive ? " DESTRUCTIVE" : "") + "\n";
    if (!p.reason.empty()) out += "     reason: " + p.reason + "\n";
    if (!p.warning.empty()) out += "     warning: " + p.warning + "\n";
    out += "     sql: " + p.sql + "\n";
  }
  return out;
}

std::string FormatRows(const Rows& rows) {
  if (rows.empty()) return "  (no rows)\n";
  std::string out;
  for (const Row& r : rows) {
    out += "  (";
    for (size_t i = 0; i < r.size(); ++i) out += (i ? ", " : "") + r[i];
    out += ")\n";
  }
  return out;
}

TestDb::TestDb(Kind kind, bool load_extension) : kind_(kind), load_extension_(load_extension) {
  if (kind_ == Kind::kMemory) {
    path_ = ":memory:";
  } else {
    dir_ = MakeTempDir();
    if (dir_.empty()) {
      ADD_FAILURE() << "cannot create a temporary directory";
      return;
    }
    path_ = (dir_ / "test.db").string();
  }
  Open();
}

TestDb::~TestDb() {
  Close();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

void TestDb::Close() {
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

bool TestDb::Reopen() {
  Close();
  if (kind_ == Kind::kMemory) {
    ADD_FAILURE() << "an in-memory database cannot be reopened";
    return false;
  }
  return Open();
}

bool TestDb::Open() {
  if (path_.empty()) return false;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path_.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path_ << ": "
                  << (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    sqlite3_close_v2(raw);
    return false;
  }
  if (load_extension_) {
    sqlite3_enable_load_extension(raw, 1);
    char* err = nullptr;
    if (sqlite3_load_extension(raw, AUTOMIGRATE_EXT_PATH, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << "cannot load " << AUTOMIGRATE_EXT_PATH << ": " << (err ? err : "?");
      sqlite3_free(err);
      sqlite3_close_v2(raw);
      return false;
    }
  }
  db_ = raw;
  return true;
}

}  // namespace automigrate::testing
