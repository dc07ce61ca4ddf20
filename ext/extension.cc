// ext/extension.cc -- the entry point and the one registration table.
//
//   sqlite> .load ./build/automigrate
//   sqlite> SELECT automigrate_version();
//
// The only file with SQLITE_EXTENSION_INIT1: it defines the sqlite3_api
// pointer that core/ (built with AUTOMIGRATE_LOADABLE) calls through.
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT1

#include <string>

#include "ext/functions.h"
#include "ext/guard.h"

namespace automigrate::ext {
namespace {

// PRAGMA table_list (3.37.0) is how introspection tells shadow tables and
// STRICT/WITHOUT ROWID apart; older hosts are refused at load time.
constexpr int kMinSqliteVersion = 3037000;
constexpr const char* kMinSqliteText = "3.37.0";

int Register(sqlite3* db, std::string* error) {
  for (const FunctionSpec& f : Functions()) {
    int rc = sqlite3_create_function_v2(db, f.name, f.nargs, f.flags, nullptr, f.func, nullptr,
                                        nullptr, nullptr);
    if (rc != SQLITE_OK) {
      *error = std::string("automigrate: cannot register ") + f.name;
      return rc;
    }
  }
  for (const ModuleSpec& m : Modules()) {
    int rc = sqlite3_create_module_v2(db, m.name, m.module, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      *error = std::string("automigrate: cannot register ") + m.name;
      return rc;
    }
  }
  return SQLITE_OK;
}

}  // namespace
}  // namespace automigrate::ext

extern "C" __attribute__((visibility("default"))) int sqlite3_automigrate_init(
    sqlite3* db, char** pzErrMsg, const sqlite3_api_routines* pApi) noexcept {
  SQLITE_EXTENSION_INIT2(pApi);
  using namespace automigrate::ext;
  if (sqlite3_libversion_number() < kMinSqliteVersion) {
    *pzErrMsg = sqlite3_mprintf(
        "automigrate: SQLite %s is too old; this extension needs SQLite %s or newer",
        sqlite3_libversion(), kMinSqliteText);
    return SQLITE_ERROR;
  }
  std::string error;
  int rc = GuardCode([&] { return Register(db, &error); }, &error);
  if (rc != SQLITE_OK) *pzErrMsg = sqlite3_mprintf("%s", error.c_str());
  return rc;
}
