// core/desired.h -- the desired schema: the user's DDL executed into a fresh
// private :memory: connection, so SQLite itself parses and validates it.
//
// The DDL is untrusted input: only CREATE TABLE/INDEX/VIEW/TRIGGER/VIRTUAL
// TABLE statements are allowed; anything else (ATTACH, PRAGMA, INSERT,
// VACUUM INTO, ...) is an error naming the statement. The live database is
// never touched.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/sqlite_handle.h"
#include "core/status.h"

namespace automigrate {

// The desired schema in a private connection. Large schemas are loaded in
// bulk (linear in their size); when the bulk load cannot vouch for the
// result, the statements are executed one by one, which also reports errors.
Result<DbPtr> LoadDesiredSchema(std::string_view ddl);

// The two ways, for tests that prove they agree. The bulk load returns
// nullopt whenever it gives up (an error, a virtual table, a statement head
// it does not read).
std::optional<DbPtr> LoadDesiredSchemaInBulk(std::string_view ddl);
Result<DbPtr> LoadDesiredSchemaOneByOne(std::string_view ddl);

// One row of sqlite_schema, as the bulk load collects it.
struct SchemaRow {
  std::string type, name, tbl_name;
  bool has_root = false;
  std::optional<std::string> sql;
  bool without_rowid = false;  // a table whose b-tree is an index b-tree
};

// A new private connection whose schema is `rows` (in that order), written
// through writable_schema and parsed once; tables and indexes point at
// shared empty b-trees (the schema holds no rows). nullopt if SQLite does not
// take the rows back exactly (the caller then does it another way). Used by
// the bulk load and by the reference check (core/desired_refs.h).
std::optional<DbPtr> SchemaDbFromRows(const std::vector<SchemaRow>& rows);

}  // namespace automigrate
