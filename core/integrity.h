// core/integrity.h -- PRAGMA integrity_check / quick_check without SQLite
// 3.40's WITHOUT ROWID false positives.
//
// SQLite 3.40.0 added NOT NULL and datatype checks to integrity_check and
// quick_check. Up to 3.41.0 they read the wrong field of a WITHOUT ROWID
// table whose PRIMARY KEY is not its first column, and report rows that are
// fine (reproduced with 3.40.1):
//   CREATE TABLE t(a, b INT NOT NULL, k, PRIMARY KEY (k)) WITHOUT ROWID;
//   INSERT INTO t VALUES (1, 2, 3);
//   PRAGMA integrity_check;  -- "NULL value in t.b"
// On those versions (picked by sqlite3_libversion_number() at run time) a
// "NULL value in <table>.<column>" line (and the "non-<TYPE> value in" lines
// of the same check) about a WITHOUT ROWID table stands only when the column
// really holds such a value; every other line always stands. The check
// reads the value's storage class with typeof(): `c IS NULL` on a NOT NULL
// column is folded to false by the query planner and would hide a real NULL.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

// True for the SQLite versions whose integrity_check has the false positive
// (3.40.0 up to 3.41.x; the report names 3.41.0 as the last one, and the
// re-check costs nothing on a version without it).
bool HasWithoutRowidIntegrityBug(int libversion_number);

struct IntegrityReport {
  // The problems that stand, at most `max_problems`; empty when the pragma
  // said "ok" or every line was a false positive.
  std::vector<std::string> problems;
  int64_t false_positives = 0;  // lines dropped after checking the data
  bool ok() const { return problems.empty(); }
};

// Runs PRAGMA <schema>.integrity_check (quick_check when `quick`) and drops
// the false positives above. Errors: the pragma's (SQLITE_CORRUPT for a
// page it cannot parse, SQLITE_NOMEM, ...), and a line saying a page could
// not be read with an I/O or out-of-memory error ("unable to get the page.
// error code=266"), returned with that code: a read error, not damage.
Result<IntegrityReport> RunIntegrityCheck(sqlite3* db, std::string_view schema, bool quick,
                                          int max_problems);

// Whether one line of an integrity_check of `schema` stands (true) or is
// the false positive above (false). Exposed for callers that run the pragma
// themselves (the convergence harness).
Result<bool> IsRealIntegrityProblem(sqlite3* db, std::string_view schema, std::string_view line);

}  // namespace automigrate
