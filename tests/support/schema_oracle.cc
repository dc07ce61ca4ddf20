#include "support/schema_oracle.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <utility>

#include "support/test_util.h"

namespace automigrate::testing {
namespace oracle {
namespace {

bool IsIdentStart(unsigned char c) { return std::isalpha(c) || c == '_' || c >= 0x80; }
bool IsIdentChar(unsigned char c) { return std::isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// Scans a quoted token starting at sql[i] (the opening quote) and closing with
// `close`; a doubled closing quote is an escaped one (except for [...]).
// Returns the index after the token and stores the unquoted value.
size_t ScanQuoted(std::string_view sql, size_t i, char close, std::string* value) {
  size_t n = sql.size();
  size_t j = i + 1;
  value->clear();
  while (j < n) {
    if (sql[j] == close) {
      if (close != ']' && j + 1 < n && sql[j + 1] == close) {
        *value += close;
        j += 2;
        continue;
      }
      return j + 1;
    }
    *value += sql[j++];
  }
  return n;  // unterminated: take the rest
}

}  // namespace

std::vector<Token> Tokenize(std::string_view sql, bool keep_comments) {
  std::vector<Token> out;
  size_t n = sql.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(sql[i]);
    if (std::isspace(c)) {
      ++i;
      continue;
    }
    if (c == '-' && i + 1 < n && sql[i + 1] == '-') {
      size_t j = sql.find('\n', i);
      if (j == std::string_view::npos) j = n;
      if (keep_comments)
        out.push_back({TokenKind::kComment, std::string(sql.substr(i, j - i)), {}});
      i = j;
      continue;
    }
    if (c == '/' && i + 1 < n && sql[i + 1] == '*') {
      size_t j = sql.find("*/", i + 2);
      j = j == std::string_view::npos ? n : j + 2;
      if (keep_comments)
        out.push_back({TokenKind::kComment, std::string(sql.substr(i, j - i)), {}});
      i = j;
      continue;
    }
    Token t;
    size_t j = i + 1;
    if (c == '\'') {
      t.kind = TokenKind::kString;
      j = ScanQuoted(sql, i, '\'', &t.value);
    } else if (c == '"' || c == '`' || c == '[') {
      t.kind = TokenKind::kQuotedId;
      j = ScanQuoted(sql, i, c == '[' ? ']' : static_cast<char>(c), &t.value);
    } else if ((c == 'x' || c == 'X') && i + 1 < n && sql[i + 1] == '\'') {
      t.kind = TokenKind::kBlob;
      j = ScanQuoted(sql, i + 1, '\'', &t.value);
    } else if (std::isdigit(c) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(sql[i + 1])))) {
      t.kind = TokenKind::kNumber;
      bool hex = c == '0' && i + 1 < n && (sql[i + 1] == 'x' || sql[i + 1] == 'X');
      while (j < n) {
        unsigned char d = static_cast<unsigned char>(sql[j]);
        bool sign = (d == '+' || d == '-') && !hex && (sql[j - 1] == 'e' || sql[j - 1] == 'E');
        if (!(std::isalnum(d) || d == '.' || d == '_' || sign)) break;
        ++j;
      }
    } else if (IsIdentStart(c)) {
      t.kind = TokenKind::kWord;
      while (j < n && IsIdentChar(static_cast<unsigned char>(sql[j]))) ++j;
    } else {
      t.kind = TokenKind::kPunct;
      static constexpr std::string_view kLong[] = {
          "->>", "->", "||", "<=", ">=", "<>", "!=", "==", "<<", ">>"};
      for (std::string_view op : kLong) {
        if (sql.substr(i, op.size()) == op) {
          j = i + op.size();
          break;
        }
      }
    }
    t.text = std::string(sql.substr(i, j - i));
    if (t.kind != TokenKind::kString && t.kind != TokenKind::kQuotedId) t.value = t.text;
    out.push_back(std::move(t));
    i = j;
  }
  return out;
}

namespace {

// The canonical spelling of one token.
std::string Canon(const Token& t) {
  switch (t.kind) {
    case TokenKind::kWord:
    case TokenKind::kNumber:
      return Lower(t.text);
    case TokenKind::kQuotedId: {
      std::string id = Lower(t.value);
      bool plain = !id.empty() && IsIdentStart(static_cast<unsigned char>(id[0])) &&
                   std::all_of(id.begin(), id.end(),
                               [](char c) { return IsIdentChar(static_cast<unsigned char>(c)); });
      if (plain) return id;
      std::string q = "\"";
      for (char c : id) q += c == '"' ? std::string("\"\"") : std::string(1, c);
      return q + "\"";
    }
    case TokenKind::kBlob:
      return "x'" + Upper(t.value) + "'";
    case TokenKind::kString:
    case TokenKind::kPunct:
    case TokenKind::kComment:
      return t.text;
  }
  return t.text;
}

bool IsWord(const Token& t, std::string_view lower_word) {
  return t.kind == TokenKind::kWord && Lower(t.text) == lower_word;
}
bool IsPunct(const Token& t, std::string_view p) {
  return t.kind == TokenKind::kPunct && t.text == p;
}

// Index of the ")" matching the "(" at `open`, or toks.size().
size_t MatchParen(const std::vector<Token>& toks, size_t open) {
  int depth = 0;
  for (size_t k = open; k < toks.size(); ++k) {
    if (IsPunct(toks[k], "(")) ++depth;
    if (IsPunct(toks[k], ")") && --depth == 0) return k;
  }
  return toks.size();
}

// Canonical tokens of toks[b, e), without comments.
std::vector<std::string> CanonRange(const std::vector<Token>& toks, size_t b, size_t e) {
  std::vector<std::string> out;
  for (size_t k = b; k < e && k < toks.size(); ++k)
    if (toks[k].kind != TokenKind::kComment) out.push_back(Canon(toks[k]));
  return out;
}

std::string Join(const std::vector<std::string>& parts, std::string_view sep = " ") {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

void StripOuterParens(std::vector<std::string>* c) {
  while (c->size() >= 2 && c->front() == "(" && c->back() == ")") {
    int depth = 0;
    size_t match = 0;
    for (size_t k = 0; k < c->size(); ++k) {
      if ((*c)[k] == "(") ++depth;
      if ((*c)[k] == ")" && --depth == 0) {
        match = k;
        break;
      }
    }
    if (match != c->size() - 1) return;
    c->erase(c->end() - 1);
    c->erase(c->begin());
  }
}

std::vector<std::string> CanonStatement(std::string_view sql) {
  std::vector<Token> toks = Tokenize(sql);
  std::vector<std::string> c = CanonRange(toks, 0, toks.size());
  if (!c.empty() && c[0] == "create") {
    for (size_t k = 1; k + 2 < c.size() && k < 6; ++k) {
      if (c[k] == "if" && c[k + 1] == "not" && c[k + 2] == "exists") {
        c.erase(c.begin() + static_cast<std::ptrdiff_t>(k),
                c.begin() + static_cast<std::ptrdiff_t>(k + 3));
        break;
      }
    }
  }
  while (!c.empty() && c.back() == ";") c.pop_back();
  return c;
}

std::string NormalizeExprRange(const std::vector<Token>& toks, size_t b, size_t e) {
  std::vector<std::string> c = CanonRange(toks, b, e);
  StripOuterParens(&c);
  return Join(c);
}

}  // namespace

std::string NormalizeSql(std::string_view sql) { return Join(CanonStatement(sql)); }

std::string NormalizeExpr(std::string_view sql) {
  std::vector<std::string> c = CanonStatement(sql);
  StripOuterParens(&c);
  return Join(c);
}

std::string NormalizeType(std::string_view type) {
  std::string out;
  for (char ch : type) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      continue;
    }
    if (c == '(' || c == ')' || c == ',') {
      if (!out.empty() && out.back() == ' ') out.pop_back();
      out += static_cast<char>(c);
      continue;
    }
    if (!out.empty() && out.back() == ' ' && out.size() >= 2 &&
        (out[out.size() - 2] == '(' || out[out.size() - 2] == ',')) {
      out.pop_back();
    }
    out += static_cast<char>(std::toupper(c));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

// What the CREATE TABLE text says that no pragma does.
struct TableText {
  bool parsed = false;
  bool autoincrement = false;
  std::vector<std::string> checks;               // normalized expressions
  std::map<std::string, std::string> collate;    // lower column name -> upper collation
  std::map<std::string, std::string> generated;  // lower column name -> normalized expr
  // Foreign keys declared DEFERRABLE INITIALLY DEFERRED (no pragma says so),
  // by their child columns: "a" or "a, b" (lower case).
  std::set<std::string> deferred_fks;
};

// Child columns of a FOREIGN KEY (...) table constraint starting at toks[b].
std::string ForeignKeyColumns(const std::vector<Token>& toks, size_t b, size_t e) {
  for (size_t k = b; k + 2 < e; ++k) {
    if (IsWord(toks[k], "foreign") && IsWord(toks[k + 1], "key") && IsPunct(toks[k + 2], "(")) {
      size_t m = MatchParen(toks, k + 2);
      std::vector<std::string> cols;
      for (size_t j = k + 3; j < m && j < e; ++j)
        if (!IsPunct(toks[j], ",")) cols.push_back(Lower(toks[j].value));
      return Join(cols, ", ");
    }
  }
  return "";
}

// Whether the REFERENCES clause starting at toks[k] ends DEFERRABLE INITIALLY
// DEFERRED (NOT DEFERRABLE, plain DEFERRABLE and INITIALLY IMMEDIATE are not).
bool ClauseDeferred(const std::vector<Token>& toks, size_t k, size_t e) {
  for (size_t j = k + 1; j < e; ++j) {
    if (IsWord(toks[j], "references")) return false;  // the next clause
    if (!IsWord(toks[j], "deferrable")) continue;
    if (IsWord(toks[j - 1], "not")) return false;
    return j + 2 < e && IsWord(toks[j + 1], "initially") && IsWord(toks[j + 2], "deferred");
  }
  return false;
}

TableText ParseCreateTable(std::string_view sql) {
  TableText out;
  std::vector<Token> toks = Tokenize(sql);
  size_t open = 0;
  while (open < toks.size() && !IsPunct(toks[open], "(")) ++open;
  if (open == toks.size()) return out;  // CREATE TABLE ... AS SELECT: no constraints
  size_t close = MatchParen(toks, open);
  out.parsed = true;

  // Splits the body at top-level commas.
  std::vector<std::pair<size_t, size_t>> items;
  size_t start = open + 1;
  int depth = 0;
  for (size_t k = open + 1; k < close; ++k) {
    if (IsPunct(toks[k], "(")) ++depth;
    if (IsPunct(toks[k], ")")) --depth;
    if (depth == 0 && IsPunct(toks[k], ",")) {
      items.emplace_back(start, k);
      start = k + 1;
    }
  }
  items.emplace_back(start, close);

  for (auto [b, e] : items) {
    if (b >= e) continue;
    const Token& first = toks[b];
    bool table_constraint = false;
    for (std::string_view kw : {"constraint", "primary", "unique", "check", "foreign"})
      if (IsWord(first, kw)) table_constraint = true;
    std::string column = table_constraint ? "" : Lower(first.value);
    int d = 0;
    for (size_t k = table_constraint ? b : b + 1; k < e; ++k) {
      if (IsPunct(toks[k], "(")) ++d;
      if (IsPunct(toks[k], ")")) --d;
      if (d != 0 || toks[k].kind != TokenKind::kWord) continue;
      std::string w = Lower(toks[k].text);
      bool group_follows = k + 1 < e && IsPunct(toks[k + 1], "(");
      if (w == "references") {
        std::string from = table_constraint ? ForeignKeyColumns(toks, b, e) : column;
        if (ClauseDeferred(toks, k, e)) out.deferred_fks.insert(from);
      } else if (w == "autoincrement") {
        out.autoincrement = true;
      } else if (w == "check" && group_follows) {
        size_t m = MatchParen(toks, k + 1);
        out.checks.push_back(NormalizeExprRange(toks, k + 1, std::min(m + 1, e)));
      } else if (w == "as" && group_follows && !column.empty()) {
        size_t m = MatchParen(toks, k + 1);
        out.generated[column] = NormalizeExprRange(toks, k + 1, std::min(m + 1, e));
      } else if (w == "collate" && k + 1 < e && !column.empty()) {
        out.collate[column] = Upper(toks[k + 1].value);
      }
    }
  }
  return out;
}

// What the CREATE INDEX text says: the key items and the partial WHERE.
struct IndexText {
  std::vector<std::string> items;  // normalized, without trailing ASC/DESC/COLLATE
  std::string where;               // normalized, "" when not partial
};

IndexText ParseCreateIndex(std::string_view sql) {
  IndexText out;
  std::vector<Token> toks = Tokenize(sql);
  size_t k = 0;
  while (k < toks.size() && !IsWord(toks[k], "on")) ++k;
  while (k < toks.size() && !IsPunct(toks[k], "(")) ++k;
  if (k == toks.size()) return out;
  size_t close = MatchParen(toks, k);
  size_t start = k + 1;
  int depth = 0;
  auto add_item = [&](size_t b, size_t e) {
    std::vector<std::string> c = CanonRange(toks, b, e);
    if (!c.empty() && (c.back() == "asc" || c.back() == "desc")) c.pop_back();
    if (c.size() >= 2 && c[c.size() - 2] == "collate") c.resize(c.size() - 2);
    out.items.push_back(Join(c));
  };
  for (size_t j = k + 1; j < close; ++j) {
    if (IsPunct(toks[j], "(")) ++depth;
    if (IsPunct(toks[j], ")")) --depth;
    if (depth == 0 && IsPunct(toks[j], ",")) {
      add_item(start, j);
      start = j + 1;
    }
  }
  add_item(start, close);
  for (size_t j = close + 1; j < toks.size(); ++j) {
    if (IsWord(toks[j], "where")) {
      size_t e = toks.size();
      while (e > j + 1 && IsPunct(toks[e - 1], ";")) --e;
      out.where = NormalizeExprRange(toks, j + 1, e);
      break;
    }
  }
  return out;
}

}  // namespace
}  // namespace oracle

namespace {

using oracle::Lower;
using Facts = std::map<std::string, std::string>;

struct Model {
  std::map<std::string, Facts> objects;  // "table users" -> facts
  std::vector<std::string> errors;
};

// "<col> NOT LIKE 'sqlite\_%' ESCAPE '\' AND <col> NOT LIKE '\_automigrate\_%' ...":
// internal names are never compared.
std::string NotInternal(const std::string& col) {
  return col + " NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND " + col +
         " NOT LIKE '\\_automigrate\\_%' ESCAPE '\\'";
}

Rows Query(sqlite3* db, Model* m, const std::string& sql, const Params& params = {}) {
  Rows rows;
  std::string error;
  if (!TryQueryRows(db, sql, params, &rows, &error)) m->errors.push_back(error + " in: " + sql);
  return rows;
}

std::string Default(const std::string& dflt) {
  std::string n = oracle::NormalizeExpr(dflt);
  return n.empty() || n == "null" ? "none" : n;
}

// "a, b DESC, c COLLATE NOCASE" from index_xinfo (key columns only); an
// expression key takes its text from `text_items`.
std::string KeyColumns(sqlite3* db, Model* m, const std::string& index,
                       const std::vector<std::string>& text_items) {
  Rows rows = Query(db, m,
                    "SELECT seqno, cid, name, \"desc\", coll FROM pragma_index_xinfo(?1)"
                    " WHERE key = 1 ORDER BY seqno",
                    {index});
  std::vector<std::string> parts;
  for (const Row& r : rows) {
    size_t seq = static_cast<size_t>(std::stoul(r[0]));
    std::string part;
    if (r[1] == "-2") {
      part = seq < text_items.size() ? "(" + text_items[seq] + ")" : "<expression>";
    } else if (r[1] == "-1") {
      part = "rowid";
    } else {
      part = Lower(r[2]);
    }
    if (r[3] == "1") part += " DESC";
    if (oracle::Upper(r[4]) != "BINARY") part += " COLLATE " + oracle::Upper(r[4]);
    parts.push_back(part);
  }
  return oracle::Join(parts, ", ");
}

std::string SortedList(std::vector<std::string> items) {
  if (items.empty()) return "none";
  std::sort(items.begin(), items.end());
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "[" : "; [") + s + "]";
  return out;
}

void ReadTable(sqlite3* db, Model* m, const OracleOptions& options, const Row& t) {
  const std::string& name = t[0];
  Facts& f = m->objects["table " + Lower(name)];
  f["type"] = t[1];
  Rows sql_rows =
      Query(db, m, "SELECT sql FROM main.sqlite_schema WHERE type = 'table' AND name = ?1", {name});
  std::string sql = sql_rows.empty() ? "" : sql_rows[0][0];
  if (t[1] == "virtual") {
    f["sql"] = oracle::NormalizeSql(sql);
    return;
  }
  f["without rowid"] = t[2] == "1" ? "yes" : "no";
  f["strict"] = t[3] == "1" ? "yes" : "no";

  oracle::TableText text = oracle::ParseCreateTable(sql);
  if (!text.parsed)
    m->errors.push_back("cannot parse the CREATE TABLE text of " + name + ": " + sql);
  f["autoincrement"] = text.autoincrement ? "yes" : "no";
  f["CHECK constraints"] = SortedList(text.checks);

  Rows cols = Query(db, m,
                    "SELECT name, type, \"notnull\", dflt_value, pk, hidden"
                    " FROM pragma_table_xinfo(?1, 'main') ORDER BY cid",
                    {name});
  std::vector<std::string> order;
  for (const Row& c : cols) {
    std::string col = Lower(c[0]);
    std::string key = "column " + col;
    order.push_back(col);
    f[key] = "present";
    f[key + ": type"] = oracle::NormalizeType(c[1]);
    f[key + ": not null"] = c[2] == "1" ? "yes" : "no";
    f[key + ": default"] = Default(c[3]);
    f[key + ": primary key position"] = c[4];
    static const std::map<std::string, std::string> kHidden = {
        {"0", "no"}, {"1", "hidden"}, {"2", "VIRTUAL"}, {"3", "STORED"}};
    auto h = kHidden.find(c[5]);
    f[key + ": generated"] = h == kHidden.end() ? c[5] : h->second;
    auto g = text.generated.find(col);
    f[key + ": generated expression"] = g == text.generated.end() ? "none" : g->second;
    auto coll = text.collate.find(col);
    f[key + ": collate"] = coll == text.collate.end() ? "BINARY" : coll->second;
  }
  if (options.compare_column_order) f["column order"] = "(" + oracle::Join(order, ", ") + ")";

  // Foreign keys, one description per constraint (id), as a set.
  Rows fks = Query(db, m,
                   "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\""
                   " FROM pragma_foreign_key_list(?1, 'main') ORDER BY id, seq",
                   {name});
  std::map<std::string, std::vector<const Row*>> by_id;
  for (const Row& r : fks) by_id[r[0]].push_back(&r);
  std::vector<std::string> fk_descs;
  for (auto& [id, rows] : by_id) {
    const Row& head = *rows.front();
    std::vector<std::string> from, to;
    bool implicit_to = false;
    for (const Row* r : rows) {
      from.push_back(Lower((*r)[2]));
      if ((*r)[3] == "NULL") implicit_to = true;
      to.push_back(Lower((*r)[3]));
    }
    if (implicit_to) {
      // REFERENCES parent without columns: the parent's PRIMARY KEY.
      to.clear();
      Rows pk =
          Query(db, m, "SELECT name FROM pragma_table_info(?1, 'main') WHERE pk > 0 ORDER BY pk",
                {head[1]});
      for (const Row& r : pk) to.push_back(Lower(r[0]));
      if (to.empty()) to.push_back("<primary key>");
    }
    std::string from_list = oracle::Join(from, ", ");
    fk_descs.push_back(
        "(" + from_list + ") REFERENCES " + Lower(head[1]) + "(" + oracle::Join(to, ", ") +
        ") ON UPDATE " + head[4] + " ON DELETE " + head[5] + " MATCH " + head[6] +
        (text.deferred_fks.count(from_list) ? " DEFERRABLE INITIALLY DEFERRED" : ""));
  }
  f["foreign keys"] = SortedList(fk_descs);

  // Indexes: constraint indexes are facts of the table; explicit ones are
  // objects of their own.
  Rows idx =
      Query(db, m, "SELECT name, \"unique\", origin FROM pragma_index_list(?1, 'main')", {name});
  std::vector<std::string> constraint_idx;
  for (const Row& r : idx) {
    const std::string& iname = r[0];
    if (r[2] != "c") {
      std::string kind = r[2] == "pk" ? "PRIMARY KEY" : "UNIQUE";
      constraint_idx.push_back(kind + "(" + KeyColumns(db, m, iname, {}) + ")");
      continue;
    }
    if (Lower(iname).rfind("_automigrate_", 0) == 0) continue;
    Rows isql = Query(
        db, m, "SELECT sql FROM main.sqlite_schema WHERE type = 'index' AND name = ?1", {iname});
    oracle::IndexText itext = oracle::ParseCreateIndex(isql.empty() ? "" : isql[0][0]);
    Facts& fi = m->objects["index " + Lower(iname)];
    fi["table"] = Lower(name);
    fi["unique"] = r[1] == "1" ? "yes" : "no";
    fi["columns"] = "(" + KeyColumns(db, m, iname, itext.items) + ")";
    fi["where"] = itext.where.empty() ? "none" : itext.where;
  }
  f["constraint indexes"] = SortedList(constraint_idx);
}

Model ReadModel(sqlite3* db, const OracleOptions& options) {
  Model m;
  if (db == nullptr) {
    m.errors.push_back("no database connection");
    return m;
  }
  Rows tables = Query(db, &m,
                      "SELECT name, type, wr, strict FROM pragma_table_list"
                      " WHERE schema = 'main' AND type IN ('table', 'virtual') AND " +
                          NotInternal("name") + " ORDER BY name");
  for (const Row& t : tables) ReadTable(db, &m, options, t);

  Rows views = Query(
      db, &m,
      "SELECT name, sql FROM main.sqlite_schema WHERE type = 'view' AND " + NotInternal("name"));
  for (const Row& v : views) m.objects["view " + Lower(v[0])]["sql"] = oracle::NormalizeSql(v[1]);

  Rows triggers =
      Query(db, &m,
            "SELECT name, tbl_name, sql FROM main.sqlite_schema WHERE type = 'trigger' AND " +
                NotInternal("name"));
  for (const Row& t : triggers) {
    Facts& f = m.objects["trigger " + Lower(t[0])];
    f["table"] = Lower(t[1]);
    f["sql"] = oracle::NormalizeSql(t[2]);
  }
  return m;
}

// "column age: type" -> "column age"; other keys -> "".
std::string ColumnOf(const std::string& key) {
  if (key.rfind("column ", 0) != 0 || key == "column order") return "";
  size_t colon = key.find(": ");
  return colon == std::string::npos ? key : key.substr(0, colon);
}

}  // namespace

std::vector<std::string> SchemaDifferences(sqlite3* a, sqlite3* b, const OracleOptions& options) {
  Model ma = ReadModel(a, options);
  Model mb = ReadModel(b, options);
  std::vector<std::string> out;
  for (const std::string& e : ma.errors)
    out.push_back("cannot read the schema of " + options.a_label + ": " + e);
  for (const std::string& e : mb.errors)
    out.push_back("cannot read the schema of " + options.b_label + ": " + e);

  std::set<std::string> keys;
  for (const auto& [k, _] : ma.objects) keys.insert(k);
  for (const auto& [k, _] : mb.objects) keys.insert(k);
  for (const std::string& obj : keys) {
    auto ia = ma.objects.find(obj);
    auto ib = mb.objects.find(obj);
    if (ib == mb.objects.end()) {
      out.push_back(obj + ": only in " + options.a_label);
      continue;
    }
    if (ia == ma.objects.end()) {
      out.push_back(obj + ": only in " + options.b_label);
      continue;
    }
    const Facts& fa = ia->second;
    const Facts& fb = ib->second;
    if (fa.count("type") && fb.count("type") && fa.at("type") != fb.at("type")) {
      // A virtual table against an ordinary one: the rest would only repeat it.
      out.push_back(obj + ": type " + fa.at("type") + " vs " + fb.at("type"));
      continue;
    }
    std::set<std::string> fkeys;
    for (const auto& [k, _] : fa) fkeys.insert(k);
    for (const auto& [k, _] : fb) fkeys.insert(k);
    for (const std::string& k : fkeys) {
      std::string col = ColumnOf(k);
      if (!col.empty() && col != k && (!fa.count(col) || !fb.count(col)))
        continue;  // reported once
      auto va = fa.find(k);
      auto vb = fb.find(k);
      if (vb == fb.end()) {
        out.push_back(obj + ": " + k + ": only in " + options.a_label);
      } else if (va == fa.end()) {
        out.push_back(obj + ": " + k + ": only in " + options.b_label);
      } else if (va->second != vb->second) {
        out.push_back(obj + ": " + k + " " + va->second + " vs " + vb->second);
      }
    }
  }
  return out;
}

}  // namespace automigrate::testing
