#include "core/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include "core/ddl.h"
#include "core/quote.h"
#include "core/sqlite_handle.h"

namespace automigrate {
namespace {

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

ForeignKey ToForeignKey(const ddl::ForeignKeyDef& d) {
  ForeignKey fk;
  fk.name = ddl::Lower(d.name);
  for (const std::string& c : d.from) fk.from.push_back(ddl::Lower(c));
  fk.table = ddl::Lower(d.table);
  for (const std::string& c : d.to) fk.to.push_back(ddl::Lower(c));
  fk.on_delete = d.on_delete;
  fk.on_update = d.on_update;
  fk.match = d.match;
  // "DEFERRABLE" alone means INITIALLY IMMEDIATE, and "NOT DEFERRABLE ..." is
  // how SQLite treats a clause-less key: compare by effect, not spelling.
  std::string def = d.deferral;
  fk.deferral = def.rfind("DEFERRABLE INITIALLY DEFERRED", 0) == 0 ? "DEFERRED" : "";
  fk.table_verbatim = d.table;
  fk.from_verbatim = d.from;
  fk.to_verbatim = d.to;
  return fk;
}

// One row of PRAGMA index_xinfo (key columns only).
struct KeyRow {
  int64_t seqno = 0, cid = 0;
  std::string name;
  bool desc = false;
  std::string coll;
};

// One row of PRAGMA index_list (its keys are in PragmaRows::keys).
struct IndexRow {
  std::string name;
  bool unique = false;
  std::string origin;
};

// What the pragmas say about the objects of one schema: table_xinfo rows by
// table, the constraint indexes (origin <> 'c') of each table in name order,
// and index_xinfo key rows by index. Filled either by a few joined queries
// (kBatched) or by one query per table and per index (kPerObject); the
// Schema is then built from it the same way.
struct PragmaRows {
  bool batched = false;  // the maps hold every table's and index's rows
  std::unordered_map<std::string, std::vector<Column>> columns;
  std::unordered_map<std::string, std::vector<IndexRow>> constraint_indexes;
  std::unordered_map<std::string, std::vector<KeyRow>> keys;
};


Column ColumnFrom(const Stmt& q, int first) {
  Column c;
  c.name = q.Text(first);
  c.type = q.Text(first + 1);
  c.not_null = q.Int(first + 2) != 0;
  c.default_sql = q.OptText(first + 3);
  c.pk = static_cast<int>(q.Int(first + 4));
  c.hidden = static_cast<int>(q.Int(first + 5));
  return c;
}

KeyRow KeyRowFrom(const Stmt& q, int first) {
  return {q.Int(first), q.Int(first + 1), q.Text(first + 2), q.Int(first + 3) != 0,
          q.Text(first + 4)};
}

// Per object: the table's columns.
Status QueryColumns(sqlite3* db, std::string_view schema, const std::string& table,
                    std::vector<Column>* out) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1, ?2) "
          "ORDER BY cid"));
  q.Bind(1, table);
  q.Bind(2, schema);
  while (q.Step()) out->push_back(ColumnFrom(q, 0));
  return q.status();
}

// Per object: the index's key columns, in order.
Status QueryKeys(sqlite3* db, std::string_view schema, const std::string& index,
                 std::vector<KeyRow>* out) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT seqno, cid, name, \"desc\", coll FROM pragma_index_xinfo(?1, ?2) WHERE key = 1 "
          "ORDER BY seqno"));
  q.Bind(1, index);
  q.Bind(2, schema);
  while (q.Step()) out->push_back(KeyRowFrom(q, 0));
  return q.status();
}

// Per object: the table's constraint indexes, by name, with their keys.
Status QueryConstraintIndexes(sqlite3* db, std::string_view schema, const std::string& table,
                              PragmaRows* rows) {
  Stmt il;
  AM_RETURN_IF_ERROR(il.Prepare(
      db, "SELECT name, \"unique\", origin FROM pragma_index_list(?1, ?2) WHERE origin <> 'c' "
          "ORDER BY name"));
  il.Bind(1, table);
  il.Bind(2, schema);
  std::vector<IndexRow>& out = rows->constraint_indexes[table];
  while (il.Step()) {
    out.push_back({il.Text(0), il.Int(1) != 0, il.Text(2)});
    AM_RETURN_IF_ERROR(QueryKeys(db, schema, out.back().name, &rows->keys[out.back().name]));
  }
  return il.status();
}

// Batched: every table's columns in one query, and every index's list entry
// and keys in another. Table-valued pragmas joined to PRAGMA table_list still
// run one PRAGMA per table and per index inside SQLite, but each is prepared
// from a short PRAGMA text instead of a SELECT over a virtual table (parse,
// connect, plan, code), which is what dominated the per-object reads.
// Internal tables come back too and are simply not looked up.
Status QueryAll(sqlite3* db, std::string_view schema, PragmaRows* rows) {
  {
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT l.name, x.cid, x.name, x.type, x.\"notnull\", x.dflt_value, x.pk, x.hidden "
            "FROM pragma_table_list AS l JOIN pragma_table_xinfo(l.name, ?1) AS x "
            "WHERE l.schema = ?1 AND l.type = 'table'"));
    q.Bind(1, schema);
    std::string table;
    std::vector<Column>* cols = nullptr;
    int64_t last_cid = -1;
    bool ordered = true;
    while (q.Step()) {
      std::string t = q.Text(0);
      if (!cols || t != table) {
        table = std::move(t);
        cols = &rows->columns[table];
        if (!cols->empty()) ordered = false;  // a table's rows were not together
        last_cid = -1;
      }
      int64_t cid = q.Int(1);
      ordered = ordered && cid > last_cid;
      last_cid = cid;
      cols->push_back(ColumnFrom(q, 2));
    }
    AM_RETURN_IF_ERROR(q.status());
    // PRAGMA table_xinfo lists a table's columns in cid order, and the join
    // keeps each table's rows together; if that ever stopped being so, the
    // per-object reads decide.
    if (!ordered) {
      rows->columns.clear();
      return Status::Ok();
    }
  }
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT l.name, i.name, i.\"unique\", i.origin, k.seqno, k.cid, k.name, k.\"desc\", "
          "k.coll FROM pragma_table_list AS l JOIN pragma_index_list(l.name, ?1) AS i "
          "JOIN pragma_index_xinfo(i.name, ?1) AS k "
          "WHERE l.schema = ?1 AND l.type = 'table' AND k.key = 1"));
  q.Bind(1, schema);
  std::string index;
  std::vector<KeyRow>* keys = nullptr;
  bool ordered = true;
  while (q.Step()) {
    std::string ix = q.Text(1);
    if (!keys || ix != index) {
      index = std::move(ix);
      keys = &rows->keys[index];
      if (!keys->empty()) ordered = false;  // an index's rows were not together
      std::string origin = q.Text(3);
      if (origin != "c")
        rows->constraint_indexes[q.Text(0)].push_back({index, q.Int(2) != 0, std::move(origin)});
    }
    KeyRow k = KeyRowFrom(q, 4);
    if (!keys->empty() && k.seqno <= keys->back().seqno) ordered = false;
    keys->push_back(std::move(k));
  }
  AM_RETURN_IF_ERROR(q.status());
  if (!ordered) {
    rows->columns.clear();
    rows->keys.clear();
    rows->constraint_indexes.clear();
    return Status::Ok();
  }
  // As ORDER BY name does in the per-object query (BINARY: byte order).
  for (auto& [table, list] : rows->constraint_indexes)
    std::sort(list.begin(), list.end(),
              [](const IndexRow& a, const IndexRow& b) { return a.name < b.name; });
  rows->batched = true;
  return Status::Ok();
}

// Index keys from PRAGMA index_xinfo rows: effective collation and order for
// column keys; expression keys (cid -2) take their text from the parsed CREATE.
std::vector<IndexKey> ToIndexKeys(const std::vector<KeyRow>& rows,
                                  const ddl::CreateIndexDef* def) {
  std::vector<IndexKey> keys;
  keys.reserve(rows.size());
  for (const KeyRow& r : rows) {
    IndexKey k;
    k.desc = r.desc;
    k.collation = Upper(r.coll);
    if (r.cid >= 0) {
      k.column = ddl::Lower(r.name);
      k.expr = QuoteIdent(r.name);
      k.expr_norm = ddl::Normalize(k.expr);
    } else if (r.cid == -1) {
      k.column = "rowid";
      k.expr = "rowid";
      k.expr_norm = "rowid";
    } else {
      if (def && r.seqno >= 0 && static_cast<size_t>(r.seqno) < def->columns.size()) {
        k.expr = def->columns[static_cast<size_t>(r.seqno)].expr;
      }
      k.expr_norm = ddl::Normalize(k.expr);
    }
    keys.push_back(std::move(k));
  }
  return keys;
}

// The key rows of `index`: from the batched rows, or queried now.
Result<const std::vector<KeyRow>*> KeysOf(sqlite3* db, std::string_view schema,
                                          const std::string& index, PragmaRows* rows) {
  auto it = rows->keys.find(index);
  if (it == rows->keys.end()) {
    it = rows->keys.emplace(index, std::vector<KeyRow>()).first;
    AM_RETURN_IF_ERROR(QueryKeys(db, schema, index, &it->second));
  }
  return &it->second;
}

Status ReadTableDetails(sqlite3* db, std::string_view schema, PragmaRows* rows, Table* t) {
  std::optional<ddl::CreateTableDef> def = ddl::ParseCreateTable(t->sql);
  if (!def) return Status::Error(fmt::format("cannot parse the definition of table {}", t->name));
  t->renamed_from = def->renamed_from;
  t->autoincrement = def->autoincrement;

  // A table the batched reads did not see (or per-object reads) is queried now.
  auto batch = rows->columns.find(t->name);
  const bool from_batch = rows->batched && batch != rows->columns.end();
  if (from_batch) {
    t->columns = std::move(batch->second);
  } else {
    AM_RETURN_IF_ERROR(QueryColumns(db, schema, t->name, &t->columns));
  }

  std::string schema_z(schema);
  for (Column& c : t->columns) {
    const char* coll = nullptr;
    int rc = sqlite3_table_column_metadata(db, schema_z.c_str(), t->name.c_str(), c.name.c_str(),
                                           nullptr, &coll, nullptr, nullptr, nullptr);
    c.collation = rc == SQLITE_OK && coll ? Upper(coll) : "BINARY";
    for (const ddl::ColumnDef& cd : def->columns) {
      if (!EqualsNoCase(cd.name, c.name)) continue;
      c.definition = cd.definition;
      c.collation_explicit = cd.collate.has_value();
      if (cd.generated_expr) c.generated_expr = *cd.generated_expr;
      c.renamed_from = cd.renamed_from;
      c.unique = cd.unique;
      c.has_references = cd.references.has_value();
      for (const ddl::CheckDef& ck : cd.checks)
        t->checks.push_back(
            {ddl::Lower(cd.name), ddl::Lower(ck.name), ck.expr, ddl::Normalize(ck.expr)});
      if (cd.references) {
        ddl::ForeignKeyDef fk = *cd.references;
        if (fk.from.empty()) fk.from = {cd.name};
        t->foreign_keys.push_back(ToForeignKey(fk));
        t->foreign_keys.back().column = ddl::Lower(cd.name);
      }
      break;
    }
  }
  for (const ddl::CheckDef& ck : def->checks)
    t->checks.push_back({"", ddl::Lower(ck.name), ck.expr, ddl::Normalize(ck.expr)});
  for (const ddl::ForeignKeyDef& fk : def->foreign_keys) t->foreign_keys.push_back(ToForeignKey(fk));

  // Constraint indexes (UNIQUE, and PRIMARY KEY unless it is the rowid alias).
  if (!from_batch) AM_RETURN_IF_ERROR(QueryConstraintIndexes(db, schema, t->name, rows));
  auto list = rows->constraint_indexes.find(t->name);
  if (list == rows->constraint_indexes.end()) return Status::Ok();  // none
  for (const IndexRow& r : list->second) {
    Index ix;
    ix.name = r.name;
    ix.table = t->name;
    ix.unique = r.unique;
    ix.origin = r.origin;
    AM_ASSIGN_OR_RETURN(const std::vector<KeyRow>* keys, KeysOf(db, schema, ix.name, rows));
    ix.keys = ToIndexKeys(*keys, nullptr);
    t->constraint_indexes.push_back(std::move(ix));
  }
  return Status::Ok();
}

}  // namespace

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool IsInternalName(std::string_view name) {
  auto starts = [&](std::string_view p) {
    return name.size() >= p.size() && EqualsNoCase(name.substr(0, p.size()), p);
  };
  return starts("sqlite_") || starts("_automigrate_");
}

std::string ForeignKey::Key() const {
  return fmt::format("{}|({})->{}({})|d:{}|u:{}|m:{}|{}", name, fmt::join(from, ","), table,
                     fmt::join(to, ","), on_delete, on_update, match, deferral);
}

std::string Index::Key() const {
  std::string out = fmt::format("{}|{}|{}|", ddl::Lower(table), unique ? "u" : "", origin);
  for (const IndexKey& k : keys)
    out += fmt::format("[{}|{}|{}|{}]", k.column, k.column.empty() ? k.expr_norm : "",
                       k.desc ? "desc" : "", k.collation);
  if (where_norm) out += "|where " + *where_norm;
  return out;
}

const Column* Table::FindColumn(std::string_view n) const {
  for (const Column& c : columns)
    if (EqualsNoCase(c.name, n)) return &c;
  return nullptr;
}

const Column* Table::RowidAlias() const {
  if (without_rowid || is_virtual) return nullptr;
  const Column* alias = nullptr;
  int pk_count = 0;
  for (const Column& c : columns) {
    if (c.pk > 0) {
      ++pk_count;
      alias = &c;
    }
  }
  if (pk_count != 1 || !EqualsNoCase(alias->type, "INTEGER")) return nullptr;
  // "INTEGER PRIMARY KEY DESC" is not an alias; a PK index then exists.
  for (const Index& ix : constraint_indexes)
    if (ix.origin == "pk") return nullptr;
  return alias;
}

namespace {

template <typename T>
void IndexByName(const std::vector<T>& items, std::unordered_map<std::string, size_t>* pos) {
  pos->clear();
  pos->reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) pos->emplace(ddl::Lower(items[i].name), i);
  if (pos->size() != items.size()) pos->clear();  // duplicate names: scan instead
}

template <typename T>
const T* FindByName(const std::vector<T>& items, const std::unordered_map<std::string, size_t>& pos,
                    std::string_view n) {
  if (!items.empty() && pos.size() == items.size()) {
    auto it = pos.find(ddl::Lower(n));
    return it == pos.end() ? nullptr : &items[it->second];
  }
  for (const T& item : items)
    if (EqualsNoCase(item.name, n)) return &item;
  return nullptr;
}

}  // namespace

void Schema::IndexNames() {
  IndexByName(tables, &table_pos_);
  IndexByName(indexes, &index_pos_);
  IndexByName(views, &view_pos_);
  IndexByName(triggers, &trigger_pos_);
}

const Table* Schema::FindTable(std::string_view n) const {
  return FindByName(tables, table_pos_, n);
}
const Index* Schema::FindIndex(std::string_view n) const {
  return FindByName(indexes, index_pos_, n);
}
const View* Schema::FindView(std::string_view n) const { return FindByName(views, view_pos_, n); }
const Trigger* Schema::FindTrigger(std::string_view n) const {
  return FindByName(triggers, trigger_pos_, n);
}

Result<Schema> ReadSchema(sqlite3* db, std::string_view schema_name, PragmaReads reads) {
  Schema s;
  s.schema_name = std::string(schema_name);

  // PRAGMA table_list tells shadow tables (FTS5, R*Tree) apart and carries
  // the WITHOUT ROWID and STRICT flags.
  struct ListEntry {
    std::string type;
    bool wr, strict;
  };
  std::unordered_map<std::string, ListEntry> list;  // by lower-cased name
  {
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = ?1"));
    q.Bind(1, schema_name);
    while (q.Step())
      list.emplace(ddl::Lower(q.Text(0)), ListEntry{q.Text(1), q.Int(2) != 0, q.Int(3) != 0});
    AM_RETURN_IF_ERROR(q.status());
  }
  auto entry = [&](std::string_view name) -> const ListEntry* {
    auto it = list.find(ddl::Lower(name));
    return it == list.end() ? nullptr : &it->second;
  };

  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT type, name, tbl_name, sql FROM {}.sqlite_schema ORDER BY rowid",
                      QuoteIdent(schema_name))));
  while (q.Step()) {
    std::string type = q.Text(0), name = q.Text(1), tbl = q.Text(2);
    std::optional<std::string> sql = q.OptText(3);
    if (type == "table") {
      const ListEntry* e = entry(name);
      if (IsInternalName(name) || !sql || (e && e->type == "shadow")) {
        s.skipped.push_back(name);
        continue;
      }
      Table t;
      t.name = name;
      t.sql = *sql;
      t.is_virtual = e ? e->type == "virtual" : sql->rfind("CREATE VIRTUAL", 0) == 0;
      t.without_rowid = e && e->wr;
      t.strict = e && e->strict;
      s.tables.push_back(std::move(t));
    } else if (type == "index") {
      if (!sql || IsInternalName(name) || IsInternalName(tbl)) continue;  // constraint index
      Index ix;
      ix.name = name;
      ix.table = tbl;
      ix.sql = *sql;
      ix.origin = "c";
      s.indexes.push_back(std::move(ix));
    } else if (type == "view") {
      if (!sql || IsInternalName(name)) continue;
      s.views.push_back({name, *sql, ddl::Normalize(*sql)});
    } else if (type == "trigger") {
      if (!sql || IsInternalName(name) || IsInternalName(tbl)) continue;
      s.triggers.push_back({name, tbl, *sql, ddl::Normalize(*sql)});
    }
  }
  AM_RETURN_IF_ERROR(q.status());

  PragmaRows rows;
  if (reads == PragmaReads::kBatched) AM_RETURN_IF_ERROR(QueryAll(db, schema_name, &rows));
  for (Table& t : s.tables) {
    if (t.is_virtual) {
      std::optional<ddl::Span> span = ddl::FindObjectName(t.sql);
      t.virtual_norm = ddl::Normalize(span ? std::string_view(t.sql).substr(span->end) : t.sql);
      continue;
    }
    AM_RETURN_IF_ERROR(
        ReadTableDetails(db, schema_name, &rows, &t).WithPrefix("table " + t.name));
  }
  // Drop indexes/triggers that belong to skipped (shadow) tables.
  std::unordered_set<std::string> skipped;
  for (const std::string& n : s.skipped) skipped.insert(ddl::Lower(n));
  auto is_skipped = [&](std::string_view tbl) { return skipped.count(ddl::Lower(tbl)) > 0; };
  std::erase_if(s.indexes, [&](const Index& ix) { return is_skipped(ix.table); });
  std::erase_if(s.triggers, [&](const Trigger& tr) { return is_skipped(tr.table); });

  for (Index& ix : s.indexes) {
    std::optional<ddl::CreateIndexDef> def = ddl::ParseCreateIndex(ix.sql);
    if (!def) return Status::Error(fmt::format("cannot parse the definition of index {}", ix.name));
    ix.unique = def->unique;
    ix.renamed_from = def->renamed_from;
    if (def->where) {
      ix.where = *def->where;
      ix.where_norm = ddl::Normalize(*def->where);
    }
    AM_ASSIGN_OR_RETURN(const std::vector<KeyRow>* keys, KeysOf(db, schema_name, ix.name, &rows));
    ix.keys = ToIndexKeys(*keys, &*def);
  }
  s.IndexNames();
  return s;
}

}  // namespace automigrate
