#include "core/desired_refs.h"


#include <set>
#include <string>
#include <vector>

#include "core/ddl.h"
#include "core/desired.h"
#include "core/schema.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

// SQLite's own check: ALTER TABLE ... RENAME resolves every view and trigger
// of the schema (the "error in view v: no such table" it would raise on the
// live database later). Run on a probe table in `db`; `db` is left as it
// was (savepoint rolled back).
Status RenameProbe(sqlite3* db) {
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

// The rename probe costs a few parses of the whole schema (rewrite every
// row, reload, re-check) plus a reload of `desired` after the rollback. It
// only ever fails on a view or a trigger, and a view or trigger can only
// resolve names it spells: so it runs instead on a copy holding every view
// and trigger, the tables and indexes they name (any identifier or string
// token of theirs, compared as SQLite compares names) with the autoindexes
// of those tables, in their original order. The objects left out are ones
// SQLite only parses during the probe, and never fails on, so the first
// error, and with it the result, is the same. nullopt: no copy was made
// (a virtual table, whose module may read its shadow tables, or anything
// unexpected): the probe then runs on `desired` itself.
std::optional<DbPtr> ReferencedCopy(sqlite3* desired) {
  std::vector<SchemaRow> rows;
  std::set<std::string> names;  // lower-cased names spelled by views and triggers
  {
    std::set<std::string> without_rowid;
    Stmt wr;
    if (!wr.Prepare(desired, "SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr")
             .ok())
      return std::nullopt;
    while (wr.Step()) without_rowid.insert(wr.Text(0));
    if (!wr.status().ok()) return std::nullopt;
    Stmt q;
    if (!q.Prepare(desired,
                   "SELECT type, name, tbl_name, rootpage, sql FROM main.sqlite_schema "
                   "ORDER BY rowid")
             .ok())
      return std::nullopt;
    while (q.Step()) {
      SchemaRow row{q.Text(0), q.Text(1), q.Text(2), q.Int(3) != 0, q.OptText(4)};
      if (row.sql && row.sql->size() >= 14 &&
          EqualsNoCase(std::string_view(*row.sql).substr(0, 14), "CREATE VIRTUAL"))
        return std::nullopt;
      row.without_rowid = row.type == "table" && without_rowid.count(row.name) > 0;
      if ((row.type == "view" || row.type == "trigger") && row.sql) {
        names.insert(ddl::Lower(row.tbl_name));
        for (const ddl::Token& t : ddl::Tokenize(*row.sql)) {
          if (t.IsName()) {
            names.insert(ddl::Lower(t.Value()));
          } else if (t.kind == ddl::TokenKind::kString && t.text.size() >= 2) {
            // SQLite takes a 'string' where a name is expected.
            std::string v;
            for (size_t k = 1; k + 1 < t.text.size(); ++k) {
              v += t.text[k];
              if (t.text[k] == '\'' && t.text[k + 1] == '\'') ++k;
            }
            names.insert(ddl::Lower(v));
          }
        }
      }
      rows.push_back(std::move(row));
    }
    if (!q.status().ok()) return std::nullopt;
  }
  std::vector<SchemaRow> kept;
  std::set<std::string> kept_tables;
  for (SchemaRow& row : rows) {
    const std::string key = ddl::Lower(row.name);
    bool keep = false;
    if (row.type == "view" || row.type == "trigger") {
      keep = true;
    } else if (row.type == "table") {
      keep = names.count(key) > 0 || key == "sqlite_sequence";
      if (keep) kept_tables.insert(key);
    } else if (row.type == "index") {
      // Autoindexes belong to their table's definition; others only matter
      // where a view or trigger names them (INDEXED BY).
      keep = kept_tables.count(ddl::Lower(row.tbl_name)) > 0 && (!row.sql || names.count(key) > 0);
    }
    if (keep) kept.push_back(std::move(row));
  }
  return SchemaDbFromRows(kept);
}

}  // namespace

Status CheckDesiredReferences(sqlite3* desired) {
  AM_ASSIGN_OR_RETURN(
      int64_t dependants,
      QueryInt(desired,
               "SELECT count(*) FROM main.sqlite_schema WHERE type IN ('view', 'trigger')"));
  if (dependants == 0) return Status::Ok();
  if (std::optional<DbPtr> copy = ReferencedCopy(desired)) return RenameProbe(copy->get());
  return RenameProbe(desired);
}

}  // namespace automigrate
