// core/desired_refs.h -- views and triggers in the desired schema that use
// tables it does not define.
//
// SQLite accepts a view over a missing table and a trigger whose body writes
// to one; they only fail when used. Migrated into a database, such an object
// breaks every later ALTER TABLE ... RENAME ("error in view v: no such
// table"). The desired schema is the whole schema, so a table it does not
// define will not exist after the migration: these are mistakes in the DDL,
// reported before anything is planned. A FOREIGN KEY to an undefined table is
// not refused (SQLite accepts it, and a schema may be migrated in parts);
// rows that reference a dropped parent make apply's foreign_key_check fail.
#pragma once

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

// Checks the "main" schema of `desired` (LoadDesiredSchema's private
// connection; it is left as it was). Errors (Status::Error):
// `desired schema: error in view v: no such table: main.nowhere` (SQLite's
// own check of views and triggers, as ALTER TABLE runs it). Other problems
// SQLite finds only at run time (e.g. a function the private connection does
// not have) are not errors here.
Status CheckDesiredReferences(sqlite3* desired);

}  // namespace automigrate
