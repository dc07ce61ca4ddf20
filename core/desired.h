// core/desired.h -- the desired schema: the user's DDL executed into a fresh
// private :memory: connection, so SQLite itself parses and validates it.
//
// The DDL is untrusted input: only CREATE TABLE/INDEX/VIEW/TRIGGER/VIRTUAL
// TABLE statements are allowed; anything else (ATTACH, PRAGMA, INSERT,
// VACUUM INTO, ...) is an error naming the statement. The live database is
// never touched.
#pragma once

#include <string_view>

#include "core/sqlite_handle.h"
#include "core/status.h"

namespace automigrate {

Result<DbPtr> LoadDesiredSchema(std::string_view ddl);

}  // namespace automigrate
