#include "support/apply_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "support/schema_oracle.h"

extern char** environ;

namespace automigrate::testing {
namespace {

std::string Line(const Row& row) {
  std::string out;
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += " | ";
    out += row[i];
  }
  return out;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

std::string DumpDatabase(sqlite3* db, std::string_view schema) {
  const std::string s = QuoteId(schema);
  std::string out;
  Rows objects = QueryRows(
      db, "SELECT type, name, tbl_name, sql FROM " + s +
              ".sqlite_schema WHERE name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' "
              "AND tbl_name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' ORDER BY type, name");
  for (const Row& r : objects) out += "schema: " + Line(r) + "\n";
  Rows tables =
      QueryRows(db,
                "SELECT name, wr FROM pragma_table_list WHERE schema = ?1 AND type = 'table' AND "
                "name NOT LIKE '\\_automigrate\\_%' ESCAPE '\\' AND name NOT IN ('sqlite_schema', "
                "'sqlite_temp_schema') ORDER BY name",
                {std::string(schema)});
  for (const Row& t : tables) {
    const std::string& name = t[0];
    std::string sql;
    if (t[1] == "1") {
      int64_t ncol = QueryInt(db, "SELECT count(*) FROM pragma_table_info(?1, ?2)",
                              {name, std::string(schema)});
      sql = "SELECT * FROM " + s + "." + QuoteId(name);
      for (int64_t i = 1; i <= ncol; ++i) sql += (i == 1 ? " ORDER BY " : ", ") + std::to_string(i);
    } else {
      sql = "SELECT rowid, * FROM " + s + "." + QuoteId(name) + " ORDER BY rowid";
    }
    for (const Row& r : QueryRows(db, sql)) out += name + ": " + Line(r) + "\n";
  }
  return out;
}

std::string DumpDifference(const std::string& before, const std::string& after) {
  if (before == after) return "";
  std::vector<std::string> a = SplitLines(before), b = SplitLines(after);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::string out = "dumps differ at line " + std::to_string(i + 1) + " (" +
                    std::to_string(a.size()) + " vs " + std::to_string(b.size()) + " lines)\n";
  out += "  before: " + (i < a.size() ? a[i] : std::string("(end)")) + "\n";
  out += "  after:  " + (i < b.size() ? b[i] : std::string("(end)")) + "\n";
  return out;
}

std::vector<std::string> InternalTables(sqlite3* db, std::string_view schema) {
  std::vector<std::string> out;
  for (const Row& r : QueryRows(db, "SELECT name FROM " + QuoteId(schema) +
                                        ".sqlite_schema WHERE name LIKE '\\_automigrate\\_%' "
                                        "ESCAPE '\\' ORDER BY name"))
    out.push_back(r[0]);
  return out;
}

std::string IntegrityCheck(sqlite3* db, std::string_view schema) {
  return QueryString(db, "PRAGMA " + QuoteId(schema) + ".integrity_check");
}

int64_t SchemaVersion(sqlite3* db, std::string_view schema) {
  return QueryInt(db, "PRAGMA " + QuoteId(schema) + ".schema_version");
}

WriteObserver::WriteObserver(const std::string& path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open an observer on " << path << ": " << sqlite3_errmsg(db_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
  }
}

WriteObserver::~WriteObserver() { sqlite3_close_v2(db_); }

int64_t WriteObserver::DataVersion() {
  if (db_ == nullptr) return -1;
  return QueryInt(db_, "PRAGMA data_version");
}

Connection::Connection(const std::string& path, bool load_extension) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db_);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return;
  }
  if (load_extension) {
    sqlite3_enable_load_extension(db_, 1);
    char* err = nullptr;
    if (sqlite3_load_extension(db_, AUTOMIGRATE_EXT_PATH, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << "cannot load " << AUTOMIGRATE_EXT_PATH << ": " << (err ? err : "?");
      sqlite3_free(err);
      sqlite3_close_v2(db_);
      db_ = nullptr;
    }
  }
}

Connection::~Connection() { sqlite3_close_v2(db_); }

DesiredDb::DesiredDb(std::string_view ddl) {
  if (sqlite3_open(":memory:", &db_) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open :memory:";
    return;
  }
  Exec(db_, ddl);
}

DesiredDb::~DesiredDb() { sqlite3_close_v2(db_); }

std::string OracleDifferences(sqlite3* db, std::string_view ddl) {
  DesiredDb want(ddl);
  OracleOptions options;
  options.a_label = "migrated";
  options.b_label = "desired";
  std::string out;
  for (const std::string& d : SchemaDifferences(db, want.db(), options)) out += d + "\n";
  return out;
}

}  // namespace automigrate::testing
