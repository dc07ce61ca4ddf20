#include "core/schema.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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

// Index keys through PRAGMA index_xinfo: effective collation and order for
// column keys; expression keys (cid -2) take their text from the parsed CREATE.
Status ReadIndexKeys(sqlite3* db, std::string_view schema, const std::string& index,
                     const ddl::CreateIndexDef* def, std::vector<IndexKey>* keys) {
  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT seqno, cid, name, \"desc\", coll FROM pragma_index_xinfo(?1, ?2) WHERE key = 1 "
          "ORDER BY seqno"));
  q.Bind(1, index);
  q.Bind(2, schema);
  while (q.Step()) {
    IndexKey k;
    int64_t seq = q.Int(0);
    int64_t cid = q.Int(1);
    k.desc = q.Int(3) != 0;
    k.collation = Upper(q.Text(4));
    if (cid >= 0) {
      k.column = ddl::Lower(q.Text(2));
      k.expr = QuoteIdent(q.Text(2));
      k.expr_norm = ddl::Normalize(k.expr);
    } else if (cid == -1) {
      k.column = "rowid";
      k.expr = "rowid";
      k.expr_norm = "rowid";
    } else {
      if (def && seq >= 0 && static_cast<size_t>(seq) < def->columns.size()) {
        k.expr = def->columns[static_cast<size_t>(seq)].expr;
      }
      k.expr_norm = ddl::Normalize(k.expr);
    }
    keys->push_back(std::move(k));
  }
  return q.status();
}

Status ReadTableDetails(sqlite3* db, std::string_view schema, Table* t) {
  std::optional<ddl::CreateTableDef> def = ddl::ParseCreateTable(t->sql);
  if (!def) return Status::Error(fmt::format("cannot parse the definition of table {}", t->name));
  t->renamed_from = def->renamed_from;
  t->autoincrement = def->autoincrement;

  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1, ?2) "
          "ORDER BY cid"));
  q.Bind(1, t->name);
  q.Bind(2, schema);
  while (q.Step()) {
    Column c;
    c.name = q.Text(0);
    c.type = q.Text(1);
    c.not_null = q.Int(2) != 0;
    c.default_sql = q.OptText(3);
    c.pk = static_cast<int>(q.Int(4));
    c.hidden = static_cast<int>(q.Int(5));
    t->columns.push_back(std::move(c));
  }
  AM_RETURN_IF_ERROR(q.status());

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
  Stmt il;
  AM_RETURN_IF_ERROR(il.Prepare(
      db, "SELECT name, \"unique\", origin FROM pragma_index_list(?1, ?2) WHERE origin <> 'c' "
          "ORDER BY name"));
  il.Bind(1, t->name);
  il.Bind(2, schema);
  while (il.Step()) {
    Index ix;
    ix.name = il.Text(0);
    ix.table = t->name;
    ix.unique = il.Int(1) != 0;
    ix.origin = il.Text(2);
    AM_RETURN_IF_ERROR(ReadIndexKeys(db, schema, ix.name, nullptr, &ix.keys));
    t->constraint_indexes.push_back(std::move(ix));
  }
  return il.status();
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

Result<Schema> ReadSchema(sqlite3* db, std::string_view schema_name) {
  Schema s;
  s.schema_name = std::string(schema_name);

  // PRAGMA table_list tells shadow tables (FTS5, R*Tree) apart and carries
  // the WITHOUT ROWID and STRICT flags.
  struct ListEntry {
    std::string type;
    bool wr, strict;
  };
  std::vector<std::pair<std::string, ListEntry>> list;
  {
    Stmt q;
    AM_RETURN_IF_ERROR(q.Prepare(
        db, "SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = ?1"));
    q.Bind(1, schema_name);
    while (q.Step()) list.push_back({q.Text(0), {q.Text(1), q.Int(2) != 0, q.Int(3) != 0}});
    AM_RETURN_IF_ERROR(q.status());
  }
  auto entry = [&](std::string_view name) -> const ListEntry* {
    for (const auto& [n, e] : list)
      if (EqualsNoCase(n, name)) return &e;
    return nullptr;
  };

  Stmt q;
  AM_RETURN_IF_ERROR(q.Prepare(
      db, fmt::format("SELECT type, name, tbl_name, sql FROM {}.sqlite_schema ORDER BY rowid",
                      QuoteIdent(schema_name))));
  std::vector<std::string> skipped_tables;
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

  for (Table& t : s.tables) {
    if (t.is_virtual) {
      std::optional<ddl::Span> span = ddl::FindObjectName(t.sql);
      t.virtual_norm = ddl::Normalize(span ? std::string_view(t.sql).substr(span->end) : t.sql);
      continue;
    }
    AM_RETURN_IF_ERROR(ReadTableDetails(db, schema_name, &t).WithPrefix("table " + t.name));
  }
  // Drop indexes/triggers that belong to skipped (shadow) tables.
  auto skipped = [&](std::string_view tbl) {
    return std::any_of(s.skipped.begin(), s.skipped.end(),
                       [&](const std::string& n) { return EqualsNoCase(n, tbl); });
  };
  std::erase_if(s.indexes, [&](const Index& ix) { return skipped(ix.table); });
  std::erase_if(s.triggers, [&](const Trigger& tr) { return skipped(tr.table); });

  for (Index& ix : s.indexes) {
    std::optional<ddl::CreateIndexDef> def = ddl::ParseCreateIndex(ix.sql);
    if (!def) return Status::Error(fmt::format("cannot parse the definition of index {}", ix.name));
    ix.unique = def->unique;
    ix.renamed_from = def->renamed_from;
    if (def->where) {
      ix.where = *def->where;
      ix.where_norm = ddl::Normalize(*def->where);
    }
    AM_RETURN_IF_ERROR(ReadIndexKeys(db, schema_name, ix.name, &*def, &ix.keys));
  }
  s.IndexNames();
  return s;
}

}  // namespace automigrate
