#include "core/sqlite_handle.h"

#include <fmt/format.h>

namespace automigrate {

Status Status::FromDb(sqlite3* db, std::string_view context) {
  int code = db ? sqlite3_extended_errcode(db) : SQLITE_NOMEM;
  std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
  if (code == SQLITE_OK) code = SQLITE_ERROR;
  if (!context.empty()) msg = fmt::format("{}: {}", context, msg);
  return {code, std::move(msg)};
}

Status Status::WithPrefix(std::string_view prefix) const {
  if (ok()) return *this;
  return {code_, fmt::format("{}: {}", prefix, message_)};
}

Result<DbPtr> OpenDb(const std::string& path, int flags, const char* vfs) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  DbPtr db(raw);
  if (rc != SQLITE_OK) return Status::FromDb(db.get(), fmt::format("cannot open {}", path));
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

Status Stmt::Prepare(sqlite3* db, std::string_view sql) {
  db_ = db;
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  stmt_.reset(raw);
  if (rc != SQLITE_OK) return status_ = Status::FromDb(db);
  if (!raw) return status_ = Status::Error(fmt::format("empty statement: {}", sql));
  return status_ = Status::Ok();
}

// A bind that fails (out of memory, say) leaves the parameter NULL: running
// the statement anyway would answer a different question, so the failure is
// kept and Step() refuses to run.
void Stmt::Bound(int rc) {
  if (rc != SQLITE_OK && status_.ok()) status_ = Status(rc, sqlite3_errstr(rc));
}
void Stmt::Bind(int i, std::string_view text) {
  Bound(sqlite3_bind_text(stmt_.get(), i, text.data(), static_cast<int>(text.size()),
                          SQLITE_TRANSIENT));
}
void Stmt::Bind(int i, int64_t value) { Bound(sqlite3_bind_int64(stmt_.get(), i, value)); }
void Stmt::BindNull(int i) { Bound(sqlite3_bind_null(stmt_.get(), i)); }
void Stmt::BindOpt(int i, const std::optional<std::string>& text) {
  if (text)
    Bind(i, *text);
  else
    BindNull(i);
}
void Stmt::BindOpt(int i, const std::optional<int64_t>& value) {
  if (value)
    Bind(i, *value);
  else
    BindNull(i);
}

bool Stmt::Step() {
  if (!stmt_ || !status_.ok()) return false;
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) status_ = Status::FromDb(db_);
  return false;
}

Status Stmt::Run() {
  while (Step()) {
  }
  return status_;
}

void Stmt::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  status_ = Status::Ok();
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_.get(), col);
  if (!p) {
    // NULL for a non-NULL value: the conversion ran out of memory.
    if (sqlite3_column_type(stmt_.get(), col) != SQLITE_NULL && status_.ok())
      status_ = Status(SQLITE_NOMEM, sqlite3_errstr(SQLITE_NOMEM));
    return {};
  }
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), col))};
}

std::optional<std::string> Stmt::OptText(int col) const {
  if (IsNull(col)) return std::nullopt;
  return Text(col);
}

int64_t Stmt::Int(int col) const { return sqlite3_column_int64(stmt_.get(), col); }
double Stmt::Double(int col) const { return sqlite3_column_double(stmt_.get(), col); }
bool Stmt::IsNull(int col) const { return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL; }
int Stmt::ColumnCount() const { return sqlite3_column_count(stmt_.get()); }

Status Exec(sqlite3* db, std::string_view sql) {
  // sqlite3_exec needs a NUL-terminated string.
  std::string text(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  return {sqlite3_extended_errcode(db) ? sqlite3_extended_errcode(db) : rc, msg};
}

Result<std::string> QueryText(sqlite3* db, std::string_view sql) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, sql));
  std::string v = q.Step() ? q.Text(0) : std::string();
  AM_RETURN_IF_ERROR(q.status());
  return v;
}

Result<int64_t> QueryInt(sqlite3* db, std::string_view sql, int64_t fallback) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(db, sql));
  int64_t v = fallback;
  if (q.Step() && !q.IsNull(0)) v = q.Int(0);
  AM_RETURN_IF_ERROR(q.status());
  return v;
}

}  // namespace automigrate
