// ext/functions.cc -- the registration table and the small scalar functions.
//
//   SELECT automigrate_version();   -- '0.1.0'
#include "ext/functions.h"

#include "ext/guard.h"

namespace automigrate::ext {
namespace {

// Pure: same result for the same arguments, no side effects, safe anywhere.
constexpr int kPure = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

void VersionFunc(sqlite3_context* ctx, int /*argc*/, sqlite3_value** /*argv*/) noexcept {
  Guard(ctx, [&] { ResultText(ctx, AUTOMIGRATE_VERSION); });
}

constexpr FunctionSpec kFunctions[] = {
    {"automigrate_version", 0, kPure, VersionFunc},
};

}  // namespace

std::span<const FunctionSpec> Functions() { return kFunctions; }
std::span<const ModuleSpec> Modules() { return {}; }

}  // namespace automigrate::ext
