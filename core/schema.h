// core/schema.h -- the normalized model of one database schema, read the same
// way from the live database and from the desired DDL's private connection.
//
// Names keep the spelling SQLite stored; lookups are ASCII case-insensitive,
// as SQLite's are. Every "norm" field is ddl::Normalize() text: comparisons
// use those, SQL generation uses the verbatim fields.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <string_view>
#include <vector>

#include "core/sqlite_api.h"
#include "core/status.h"

namespace automigrate {

struct Column {
  std::string name;
  std::string type;                        // declared type (PRAGMA table_xinfo)
  bool not_null = false;
  std::optional<std::string> default_sql;  // PRAGMA table_xinfo dflt_value, verbatim
  int pk = 0;                              // 1-based position in the PRIMARY KEY, 0 = none
  int hidden = 0;  // table_xinfo: 0 normal, 1 hidden (virtual table), 2 VIRTUAL generated, 3 STORED generated
  std::string collation;                   // effective, upper case ("BINARY" by default)
  bool collation_explicit = false;         // a COLLATE clause is written on the column
  std::optional<std::string> generated_expr;
  std::string definition;                  // verbatim column definition from the CREATE text
  std::optional<std::string> renamed_from; // hint from the desired DDL
  bool unique = false;                     // column-level UNIQUE
  bool has_references = false;             // column-level REFERENCES
  // Planner bookkeeping: the live name this column had before a hinted rename.
  std::string source_name;

  bool generated() const { return hidden == 2 || hidden == 3; }
};

struct Check {
  std::string column;  // lower-case owner column for a column-level CHECK, "" for table-level
  std::string name;    // constraint name or ""
  std::string expr;  // verbatim
  std::string norm;
};

struct ForeignKey {
  std::string column;  // lower-case owner column for a column-level REFERENCES, "" otherwise
  std::string name;
  std::vector<std::string> from;  // lower case
  std::string table;              // lower case
  std::vector<std::string> to;    // lower case; empty = parent's PRIMARY KEY
  std::string on_delete, on_update, match, deferral;
  // Verbatim spellings for messages and SQL.
  std::string table_verbatim;
  std::vector<std::string> from_verbatim, to_verbatim;
  std::string Key() const;  // canonical text used for comparison
};

struct IndexKey {
  std::string column;  // lower case column name, "" for an expression
  std::string expr;    // verbatim expression (or column text)
  std::string expr_norm;
  bool desc = false;
  std::string collation;  // effective, upper case
};

struct Index {
  std::string name;
  std::string table;
  bool unique = false;
  std::string origin;  // "c" CREATE INDEX, "u" UNIQUE constraint, "pk" PRIMARY KEY
  std::vector<IndexKey> keys;
  std::optional<std::string> where;       // verbatim partial-index WHERE
  std::optional<std::string> where_norm;
  std::string sql;                        // CREATE INDEX text ("" for constraint indexes)
  std::optional<std::string> renamed_from;
  std::string Key() const;  // canonical text of everything but the name
};

struct Table {
  std::string name;
  std::string sql;
  bool is_virtual = false;
  bool without_rowid = false;
  bool strict = false;
  bool autoincrement = false;
  std::vector<Column> columns;  // declaration order
  std::vector<Check> checks;    // column- and table-level
  std::vector<ForeignKey> foreign_keys;
  std::vector<Index> constraint_indexes;  // origin "u" and "pk"
  std::optional<std::string> renamed_from;
  std::string virtual_norm;  // normalized CREATE VIRTUAL TABLE text after the name
  // Planner bookkeeping: the live name before a hinted rename.
  std::string source_name;

  const Column* FindColumn(std::string_view name) const;
  // Rowid alias: the single INTEGER PRIMARY KEY column of a rowid table.
  const Column* RowidAlias() const;
};

struct View {
  std::string name;
  std::string sql;
  std::string norm;  // of the whole CREATE VIEW text
};

struct Trigger {
  std::string name;
  std::string table;  // the table or view it is ON
  std::string sql;
  std::string norm;
};

struct Schema {
  std::string schema_name = "main";
  std::vector<Table> tables;      // ordinary and virtual tables (no internal/shadow tables)
  std::vector<Index> indexes;     // explicit CREATE INDEX indexes only
  std::vector<View> views;
  std::vector<Trigger> triggers;
  std::vector<std::string> skipped;  // internal and shadow tables that were left out

  const Table* FindTable(std::string_view name) const;
  const Index* FindIndex(std::string_view name) const;
  const View* FindView(std::string_view name) const;
  const Trigger* FindTrigger(std::string_view name) const;

  // Lower-cased name -> position, built by IndexNames() once the vectors are
  // complete (ReadSchema does); the Find functions use them while they
  // match the vectors' sizes, and scan otherwise. Lookups stay O(1) on
  // schemas of thousands of objects.
  void IndexNames();

 private:
  std::unordered_map<std::string, size_t> table_pos_, index_pos_, view_pos_, trigger_pos_;
};

// True for names the extension never diffs: sqlite_% and _automigrate_%.
bool IsInternalName(std::string_view name);
bool EqualsNoCase(std::string_view a, std::string_view b);

// How ReadSchema runs the per-object pragmas (table_xinfo, index_list,
// index_xinfo). kBatched: two queries that join them to PRAGMA table_list,
// for every table and index at once. kPerObject: one query per table and per
// index; slower on large schemas, kept as the reference the batched reads are
// tested against (tests/schema_batch_test.cc). Both give the same Schema.
enum class PragmaReads { kBatched, kPerObject };

// Reads every table, index, view and trigger of `schema_name` on `db`.
Result<Schema> ReadSchema(sqlite3* db, std::string_view schema_name = "main",
                          PragmaReads reads = PragmaReads::kBatched);

}  // namespace automigrate
