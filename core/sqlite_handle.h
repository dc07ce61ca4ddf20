// core/sqlite_handle.h -- RAII owners for SQLite handles and a small statement
// helper. Every sqlite3_stmt and every sqlite3* that core/ opens is owned here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbDeleter>;

struct BackupDeleter {
  void operator()(sqlite3_backup* b) const noexcept { sqlite3_backup_finish(b); }
};
// An online-backup operation; finishing it early rolls back the destination.
using BackupPtr = std::unique_ptr<sqlite3_backup, BackupDeleter>;

struct ValueDeleter {
  void operator()(sqlite3_value* v) const noexcept { sqlite3_value_free(v); }
};
using ValuePtr = std::unique_ptr<sqlite3_value, ValueDeleter>;  // from sqlite3_value_dup

// Opens `path` with `flags` (and the VFS named `vfs`, or the default); the
// handle is closed when the DbPtr goes.
Result<DbPtr> OpenDb(const std::string& path, int flags, const char* vfs = nullptr);

// A prepared statement on a borrowed connection.
//   Stmt q;
//   AM_RETURN_IF_ERROR(q.Prepare(db, "SELECT name FROM pragma_table_list(?1)"));
//   q.Bind(1, "t");
//   while (q.Step()) use(q.Text(0));
//   AM_RETURN_IF_ERROR(q.status());
class Stmt {
 public:
  Status Prepare(sqlite3* db, std::string_view sql);
  void Bind(int i, std::string_view text);
  void Bind(int i, int64_t value);
  void BindNull(int i);
  // NULL for nullopt.
  void BindOpt(int i, const std::optional<std::string>& text);
  void BindOpt(int i, const std::optional<int64_t>& value);
  // Steps once: true while a row is available. Errors end the loop and are
  // kept in status(); SQLITE_DONE is not an error.
  bool Step();
  // Steps to completion, for statements that return no rows of interest.
  Status Run();
  void Reset();
  const Status& status() const { return status_; }
  void Bound(int rc);  // keeps a failed bind's error (Bind* call it)

  std::string Text(int col) const;  // NULL -> ""
  std::optional<std::string> OptText(int col) const;
  int64_t Int(int col) const;
  double Double(int col) const;
  bool IsNull(int col) const;
  int ColumnCount() const;
  sqlite3_stmt* get() const { return stmt_.get(); }

 private:
  sqlite3* db_ = nullptr;
  StmtPtr stmt_;
  // Also set by a failed bind or an out-of-memory column read (const):
  // the next Step() then returns false, and the loop's status check sees it.
  mutable Status status_;
};

// Runs every statement of `sql` (no rows expected).
Status Exec(sqlite3* db, std::string_view sql);

// The first column of the first row of `sql` as text ("" for NULL or no row).
Result<std::string> QueryText(sqlite3* db, std::string_view sql);

// Returns the first column of the first row of `sql` with ?1 bound to `arg`
// when given; NULL or no row -> `fallback`.
Result<int64_t> QueryInt(sqlite3* db, std::string_view sql, int64_t fallback = 0);

}  // namespace automigrate
