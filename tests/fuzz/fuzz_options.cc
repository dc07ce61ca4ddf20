// tests/fuzz/fuzz_options.cc -- libFuzzer target for ext/options.h: the
// options JSON of every migrate_* function, the stored defaults
// (migrate_configure's table) and migrate_configure's argument.
//
// Besides "no crash, no sanitizer report, no exception", it checks the
// round trip options.h promises: for options that parse, OptionsToJson
// reads back (ParseOptionsJson) to options that print the same JSON, and
// StoredDefaultsToJson reads back through ParseStoredDefaults.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/sqlite_handle.h"
#include "ext/options.h"
#include "fuzz_common.h"

namespace am = automigrate;
namespace ext = automigrate::ext;

namespace {

// One :memory: connection with a database "aux" attached, so "schema" can
// name an attached database or not.
sqlite3* Db() {
  static sqlite3* db = [] {
    sqlite3* d = nullptr;
    if (sqlite3_open(":memory:", &d) != SQLITE_OK) std::abort();
    if (sqlite3_exec(d, "ATTACH ':memory:' AS aux", nullptr, nullptr, nullptr) != SQLITE_OK)
      std::abort();
    return d;
  }();
  return db;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sqlite3* db = Db();
  std::string_view json(reinterpret_cast<const char*>(data), size);

  // The key mask from the first byte, the JSON from the whole input: every
  // function's accepted-keys set gets exercised.
  const uint32_t masks[] = {ext::kAllOptionKeys, ext::kStorableOptionKeys,
                            ext::kOptSchema | ext::kOptMethod | ext::kOptForce |
                                ext::kOptMaxExecutionTimeMs,
                            ext::kOptSchema | ext::kOptMaxAgeDays,
                            ext::kOptSchema | ext::kOptFullIntegrity | ext::kOptRecentBatches,
                            0xFFFFFFFFu};
  const uint32_t accepted = size > 0 ? masks[data[0] % std::size(masks)] : ext::kAllOptionKeys;

  am::Result<ext::Options> parsed = ext::ParseOptionsJson(db, "migrate_plan", json, {}, accepted);
  if (parsed.ok()) {
    std::string printed = ext::OptionsToJson(*parsed);
    am::Result<ext::Options> again = ext::ParseOptionsJson(db, "migrate_plan", printed);
    FUZZ_CHECK(again.ok(), "OptionsToJson output does not parse back");
    FUZZ_CHECK(ext::OptionsToJson(*again) == printed, "options JSON round trip differs");

    std::string stored = ext::StoredDefaultsToJson(*parsed);
    am::Result<ext::Options> defaults = ext::ParseStoredDefaults(db, "migrate_apply", "main", stored);
    FUZZ_CHECK(defaults.ok(), "StoredDefaultsToJson output does not parse back");
    FUZZ_CHECK(ext::StoredDefaultsToJson(*defaults) == stored, "stored defaults round trip differs");
  } else {
    FUZZ_CHECK(parsed.status().message().rfind("migrate_plan: ", 0) == 0,
               "an options error does not start with the function name");
  }

  (void)ext::ParseStoredDefaults(db, "migrate_apply", "main", json);

  // The SQL-argument forms take an sqlite3_value: "SELECT ?1" hands one back.
  am::Stmt q;
  if (!q.Prepare(db, "SELECT ?1").ok()) std::abort();
  q.Bind(1, json);
  if (q.Step()) {
    sqlite3_value* arg = sqlite3_column_value(q.get(), 0);
    (void)ext::ParseOptionsArg(db, "migrate_status", arg);
    (void)ext::ParseConfigureArg(db, "migrate_configure", arg);
    (void)ext::DesiredArg("migrate_plan", arg);
    (void)ext::SchemaArg(db, "migrate_stats", arg);
  }
  return 0;
}
