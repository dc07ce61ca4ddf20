// ext/functions.h -- what the extension registers: scalar functions and
// virtual-table modules, with their flags. One table each (ext/functions.cc).
#pragma once

#include <span>

#include "core/sqlite_api.h"

namespace automigrate::ext {

struct FunctionSpec {
  const char* name;
  int nargs;  // -1: variadic, the function checks its own arity
  int flags;
  void (*func)(sqlite3_context*, int, sqlite3_value**);
};

struct ModuleSpec {
  const char* name;
  const sqlite3_module* module;
};

std::span<const FunctionSpec> Functions();
std::span<const ModuleSpec> Modules();

}  // namespace automigrate::ext
