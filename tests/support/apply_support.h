// tests/support/apply_support.h -- helpers for the migrate_apply tests:
// a full dump of a schema (objects and every row) to prove "exactly as
// before", a second connection that observes PRAGMA data_version (which
// does not move for a connection's own commits), and small history queries.
//
// Written on the raw sqlite3 API (and test_util), not on core/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_util.h"

namespace automigrate::testing {

// sqlite_schema (type, name, tbl_name, sql) of `schema` without the
// extension's _automigrate_% objects, then every row of every ordinary table
// (sqlite_sequence included): SELECT rowid, * ORDER BY rowid for rowid
// tables, SELECT * ORDER BY every column for WITHOUT ROWID tables. One line
// per object or row.
std::string DumpDatabase(sqlite3* db, std::string_view schema = "main");

// "" when equal, else the first differing line of each side with its number.
std::string DumpDifference(const std::string& before, const std::string& after);

// Names of the extension's tables (_automigrate_%) in `schema`, sorted.
std::vector<std::string> InternalTables(sqlite3* db, std::string_view schema = "main");

// The first row of PRAGMA <schema>.integrity_check ("ok" when healthy).
std::string IntegrityCheck(sqlite3* db, std::string_view schema = "main");

// PRAGMA <schema>.schema_version.
int64_t SchemaVersion(sqlite3* db, std::string_view schema = "main");

// A separate read-only connection to a database file: its PRAGMA
// data_version changes exactly when another connection commits a change.
class WriteObserver {
 public:
  explicit WriteObserver(const std::string& path);
  ~WriteObserver();
  WriteObserver(const WriteObserver&) = delete;
  WriteObserver& operator=(const WriteObserver&) = delete;

  // PRAGMA data_version now (-1 if the connection could not be opened).
  int64_t DataVersion();
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A private connection to a file (no extension loaded), closed on destruction.
class Connection {
 public:
  explicit Connection(const std::string& path, bool load_extension = false);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  sqlite3* db() const { return db_; }
  bool ok() const { return db_ != nullptr; }

 private:
  sqlite3* db_ = nullptr;
};

// A fresh :memory: connection with `ddl` executed in it (the oracle's "desired"
// side); the test fails if the DDL does not run.
class DesiredDb {
 public:
  explicit DesiredDb(std::string_view ddl);
  ~DesiredDb();
  DesiredDb(const DesiredDb&) = delete;
  DesiredDb& operator=(const DesiredDb&) = delete;
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// Differences between `db`'s main schema and the schema `ddl` creates,
// joined with newlines ("" when equivalent), by the independent oracle.
std::string OracleDifferences(sqlite3* db, std::string_view ddl);

}  // namespace automigrate::testing

