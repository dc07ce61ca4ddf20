// core/status.h -- Status (an SQLite result code plus a message) and Result<T>.
//
// core/ never throws: every fallible call returns one of these and callers
// check with an early return. SQLite already speaks (code, message), so the
// ext/ boundary turns a Status into sqlite3_result_error in one line.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/sqlite_api.h"

namespace automigrate {

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(int code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status Error(std::string message) { return {SQLITE_ERROR, std::move(message)}; }
  static Status InvalidArgument(std::string message) { return {SQLITE_ERROR, std::move(message)}; }
  // Reads the extended code and message of the last failed call on `db`.
  static Status FromDb(sqlite3* db, std::string_view context = {});

  bool ok() const { return code_ == SQLITE_OK; }
  int code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "prefix: message".
  Status WithPrefix(std::string_view prefix) const;

 private:
  int code_ = SQLITE_OK;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Early-return helpers: keep the error route visible but short.
#define AM_RETURN_IF_ERROR(expr)            \
  do {                                      \
    ::automigrate::Status am_s_ = (expr);   \
    if (!am_s_.ok()) return am_s_;          \
  } while (0)

#define AM_CONCAT_INNER(a, b) a##b
#define AM_CONCAT(a, b) AM_CONCAT_INNER(a, b)
#define AM_ASSIGN_OR_RETURN(lhs, expr) AM_ASSIGN_OR_RETURN_IMPL(AM_CONCAT(am_r_, __LINE__), lhs, expr)
#define AM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

}  // namespace automigrate
