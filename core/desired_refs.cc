#include "core/desired_refs.h"

#include <fmt/format.h>

#include <string>

#include "core/quote.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

// A FOREIGN KEY whose parent is not a table of the schema (a view does not
// count: SQLite cannot enforce a key against one).
Status CheckViewsAndTriggers(sqlite3* db) {
  AM_ASSIGN_OR_RETURN(
      int64_t dependants,
      QueryInt(db, "SELECT count(*) FROM main.sqlite_schema WHERE type IN ('view', 'trigger')"));
  if (dependants == 0) return Status::Ok();
  AM_RETURN_IF_ERROR(Exec(db, "SAVEPOINT automigrate_refs"));
  Status s = Exec(db,
                  "CREATE TABLE main._automigrate_refs_probe(x);"
                  "ALTER TABLE main._automigrate_refs_probe RENAME TO _automigrate_refs_probe2");
  std::string message = s.message();
  Status undo = Exec(db, "ROLLBACK TO automigrate_refs; RELEASE automigrate_refs");
  // Out of memory (or I/O) can make SQLite roll the savepoint back itself;
  // then that error, not the missing savepoint, is the one to report.
  if (!s.ok() && !undo.ok()) return s;
  // Only a missing table is the DDL's mistake; anything else (a function
  // the private connection lacks, say) is left to run time, as SQLite does.
  if (!s.ok() && message.find("no such table") != std::string::npos)
    return Status::Error("desired schema: " + message);
  return undo;
}

}  // namespace

Status CheckDesiredReferences(sqlite3* desired) { return CheckViewsAndTriggers(desired); }

}  // namespace automigrate
