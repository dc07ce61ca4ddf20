// ext/guard.h -- the one place exceptions stop. Every callback SQLite makes
// into this extension runs its body inside Guard (or GuardVtab), so a
// std::bad_alloc or a fmt/json exception becomes an SQL error, never a
// terminate() inside the host process.
#pragma once

#include <exception>
#include <new>
#include <optional>
#include <string>
#include <string_view>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate::ext {

template <typename Body>
void Guard(sqlite3_context* ctx, Body&& body) noexcept {
  try {
    body();
  } catch (const std::bad_alloc&) {
    sqlite3_result_error_nomem(ctx);
  } catch (const std::exception& e) {
    sqlite3_result_error(ctx, e.what(), -1);
  } catch (...) {
    sqlite3_result_error(ctx, "automigrate: internal error", -1);
  }
}

// For vtab methods and other callbacks that return an SQLite code.
template <typename Body>
int GuardCode(Body&& body, std::string* error = nullptr) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SQLITE_NOMEM;
  } catch (const std::exception& e) {
    if (error) {
      try {
        *error = e.what();
      } catch (...) {
      }
    }
    return SQLITE_ERROR;
  } catch (...) {
    return SQLITE_ERROR;
  }
}

inline void ResultError(sqlite3_context* ctx, const Status& s) {
  sqlite3_result_error(ctx, s.message().c_str(), -1);  // message first: the other
  sqlite3_result_error_code(ctx, s.code());            // order resets the code
}

inline void ResultText(sqlite3_context* ctx, std::string_view text) {
  sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

// The argument as text, or nullopt for SQL NULL. Integers, reals and blobs are
// not text: callers report them as a wrong argument type.
inline std::optional<std::string_view> TextArg(sqlite3_value* v) {
  if (sqlite3_value_type(v) != SQLITE_TEXT) return std::nullopt;
  const unsigned char* p = sqlite3_value_text(v);
  return std::string_view(reinterpret_cast<const char*>(p), sqlite3_value_bytes(v));
}

// Replaces a vtab's error message (freeing the old one), as SQLite expects.
inline void SetVtabError(sqlite3_vtab* vtab, std::string_view msg) {
  sqlite3_free(vtab->zErrMsg);
  vtab->zErrMsg = sqlite3_mprintf("%.*s", static_cast<int>(msg.size()), msg.data());
}

// GuardCode for vtab methods, which report through pVtab->zErrMsg.
template <typename Body>
int GuardVtab(sqlite3_vtab* vtab, Body&& body) noexcept {
  std::string error;
  int rc = GuardCode(std::forward<Body>(body), &error);
  if (rc != SQLITE_OK && !error.empty()) SetVtabError(vtab, error);
  return rc;
}

}  // namespace automigrate::ext
