// core/ddl.cc -- the tokenizer follows SQLite's tokenize.c character by
// character, so that a token boundary here is a token boundary there; the
// parsers then only walk the token stream and slice the original text.

#include "core/ddl.h"

#include <algorithm>
#include <utility>

#include "core/quote.h"

namespace automigrate::ddl {
namespace {

using Tokens = std::vector<Token>;

// Character classes as sqlite3CtypeMap defines them: ASCII only, and every
// byte >= 0x80 counts as an identifier character so UTF-8 names stay whole.
bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsXDigit(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool IsAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdStart(unsigned char c) { return IsAlpha(c) || c == '_' || c >= 0x80; }
bool IsIdChar(unsigned char c) { return IsIdStart(c) || IsDigit(c) || c == '$'; }

char ToLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLower(a[i]) != ToLower(b[i])) return false;
  }
  return true;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToUpper(c);
  return out;
}

}  // namespace

std::string Affinity(std::string_view declared) {
  std::string t = Upper(declared);
  if (t.find("INT") != std::string::npos) return "INTEGER";
  if (t.find("CHAR") != std::string::npos || t.find("CLOB") != std::string::npos ||
      t.find("TEXT") != std::string::npos)
    return "TEXT";
  if (t.empty() || t.find("BLOB") != std::string::npos) return "BLOB";
  if (t.find("REAL") != std::string::npos || t.find("FLOA") != std::string::npos ||
      t.find("DOUB") != std::string::npos)
    return "REAL";
  return "NUMERIC";
}

namespace {

// Byte at `i`, or NUL past the end: tokenize.c reads a NUL-terminated
// string, and mirroring that keeps every look-ahead below bounds-safe.
unsigned char At(std::string_view s, size_t i) {
  return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

// End of a quoted token whose opening quote is at `i`: a doubled `close` is
// an escape unless the quote is "[" (brackets have no escapes). Unterminated
// runs to the end of `s` and leaves *closed false.
size_t QuotedEnd(std::string_view s, size_t i, char close, bool doubling, bool* closed = nullptr) {
  if (closed != nullptr) *closed = false;
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] != close) continue;
    if (doubling && j + 1 < s.size() && s[j + 1] == close) {
      ++j;
      continue;
    }
    if (closed != nullptr) *closed = true;
    return j + 1;
  }
  return s.size();
}

// The inside of a quoted token with escapes undone. Walking the escapes
// (rather than stripping the last byte) keeps an unterminated "ab"" right.
std::string Unquote(std::string_view text) {
  if (text.empty()) return std::string();
  char open = text[0];
  std::string out;
  if (open == '[') {
    size_t end = text.find(']', 1);
    return std::string(text.substr(1, end == std::string_view::npos ? end : end - 1));
  }
  for (size_t j = 1; j < text.size(); ++j) {
    if (text[j] == open) {
      if (j + 1 < text.size() && text[j + 1] == open) {
        out.push_back(open);
        ++j;
        continue;
      }
      break;
    }
    out.push_back(text[j]);
  }
  return out;
}

// Length and kind of the token at `i` (never whitespace; the caller skips it).
std::pair<TokenKind, size_t> Scan(std::string_view s, size_t i) {
  unsigned char c = At(s, i);
  unsigned char c1 = At(s, i + 1);
  switch (c) {
    case '-':
      if (c1 == '-') {
        size_t end = s.find('\n', i);
        return {TokenKind::kComment, (end == std::string_view::npos ? s.size() : end) - i};
      }
      if (c1 == '>') return {TokenKind::kPunct, At(s, i + 2) == '>' ? 3 : 2};
      return {TokenKind::kPunct, 1};
    case '/':
      if (c1 == '*') {
        size_t end = s.find("*/", i + 2);
        return {TokenKind::kComment, (end == std::string_view::npos ? s.size() : end + 2) - i};
      }
      return {TokenKind::kPunct, 1};
    case '=':
      return {TokenKind::kPunct, c1 == '=' ? 2 : 1};
    case '<':
      return {TokenKind::kPunct, (c1 == '=' || c1 == '>' || c1 == '<') ? 2 : 1};
    case '>':
      return {TokenKind::kPunct, (c1 == '=' || c1 == '>') ? 2 : 1};
    case '!':
      return {TokenKind::kPunct, c1 == '=' ? 2 : 1};
    case '|':
      return {TokenKind::kPunct, c1 == '|' ? 2 : 1};
    case '"':
    case '`':
      return {TokenKind::kQuotedName, QuotedEnd(s, i, static_cast<char>(c), true) - i};
    case '[':
      return {TokenKind::kQuotedName, QuotedEnd(s, i, ']', false) - i};
    case '\'':
      return {TokenKind::kString, QuotedEnd(s, i, '\'', true) - i};
    case '?': {
      size_t j = i + 1;
      while (IsDigit(At(s, j))) ++j;
      return {TokenKind::kVariable, j - i};
    }
    case ':':
    case '@':
    case '$': {
      // TCL-style names as tokenize.c accepts them: $a::b and $a(x).
      size_t j = i + 1;
      size_t n = 0;
      while (j < s.size()) {
        unsigned char d = At(s, j);
        if (IsIdChar(d)) {
          ++n;
          ++j;
        } else if (d == '(' && n > 0) {
          while (j < s.size() && !IsSpace(At(s, j)) && At(s, j) != ')') ++j;
          if (At(s, j) == ')') ++j;
          break;
        } else if (d == ':' && At(s, j + 1) == ':') {
          j += 2;
        } else {
          break;
        }
      }
      if (n == 0) return {TokenKind::kPunct, 1};
      return {TokenKind::kVariable, j - i};
    }
    default:
      break;
  }
  if ((c == 'x' || c == 'X') && c1 == '\'') {
    return {TokenKind::kBlob, QuotedEnd(s, i + 1, '\'', false) - i};
  }
  if (IsDigit(c) || (c == '.' && IsDigit(c1))) {
    size_t j = i;
    // '_' is SQLite's digit separator (3.46+); older versions reject the
    // token outright, so accepting it never misreads valid older SQL.
    auto digits = [&](bool hex) {
      while (j < s.size()) {
        unsigned char d = At(s, j);
        if (hex ? IsXDigit(d) : IsDigit(d)) {
          ++j;
        } else if (d == '_' && (hex ? IsXDigit(At(s, j + 1)) : IsDigit(At(s, j + 1)))) {
          ++j;
        } else {
          break;
        }
      }
    };
    if (c == '0' && (c1 == 'x' || c1 == 'X') && IsXDigit(At(s, i + 2))) {
      j = i + 2;
      digits(true);
    } else {
      digits(false);
      if (At(s, j) == '.') {
        ++j;
        digits(false);
      }
      unsigned char e = At(s, j);
      unsigned char e1 = At(s, j + 1);
      if ((e == 'e' || e == 'E') &&
          (IsDigit(e1) || ((e1 == '+' || e1 == '-') && IsDigit(At(s, j + 2))))) {
        j += 2;
        digits(false);
      }
    }
    // tokenize.c swallows trailing identifier characters into one (illegal)
    // token; doing the same keeps "1abc" from becoming a number and a word.
    while (j < s.size() && IsIdChar(At(s, j))) ++j;
    return {TokenKind::kNumber, j - i};
  }
  if (IsIdStart(c)) {
    size_t j = i + 1;
    while (j < s.size() && IsIdChar(At(s, j))) ++j;
    return {TokenKind::kWord, j - i};
  }
  return {TokenKind::kPunct, 1};
}

size_t End(const Token& t) { return t.offset + t.text.size(); }

// SQLite accepts 'string' wherever a name is expected (nm ::= ID|STRING), so
// the parsers treat all three kinds as names.
bool IsNameToken(const Token& t) { return t.IsName() || t.kind == TokenKind::kString; }

std::string NameValue(const Token& t) {
  if (t.kind == TokenKind::kString) return Unquote(t.text);
  return t.Value();
}

// A statement's code tokens, with every comment remembered by the index of
// the code token that follows it: comment k lies between code[k-1] and code[k].
struct Statement {
  std::string_view sql;
  Tokens code;
  std::vector<std::pair<size_t, Token>> comments;

  explicit Statement(std::string_view text) : sql(text) {
    for (const Token& t : Tokenize(text, /*keep_comments=*/true)) {
      if (t.kind == TokenKind::kComment) {
        comments.emplace_back(code.size(), t);
      } else {
        code.push_back(t);
      }
    }
    // A caller may pass user DDL with its terminating semicolon; SQLite never
    // stores one, and dropping it keeps "rest of the statement" slices equal.
    while (!code.empty() && code.back().IsPunct(";")) code.pop_back();
  }

  size_t size() const { return code.size(); }
  bool Is(size_t i, std::string_view keyword) const { return i < size() && code[i].Is(keyword); }
  bool IsPunct(size_t i, std::string_view p) const { return i < size() && code[i].IsPunct(p); }

  // Verbatim text from the start of code[first] to the end of code[last].
  std::string Slice(size_t first, size_t last) const {
    return std::string(sql.substr(code[first].offset, End(code[last]) - code[first].offset));
  }

  // The first rename hint among comments after code[after] and before
  // code[before] (before may be size(): up to the end).
  std::optional<std::string> HintBetween(size_t after, size_t before) const {
    for (const auto& [k, comment] : comments) {
      if (k <= after || k > before) continue;
      if (std::optional<std::string> hint = RenameHint(comment.text)) return hint;
    }
    return std::nullopt;
  }

  // Index of the ")" matching the "(" at `open`, searching below `limit`.
  std::optional<size_t> Match(size_t open, size_t limit) const {
    int depth = 0;
    for (size_t i = open; i < limit && i < size(); ++i) {
      if (code[i].IsPunct("(")) {
        ++depth;
      } else if (code[i].IsPunct(")")) {
        if (--depth == 0) return i;
      }
    }
    return std::nullopt;
  }

  // Token ranges [first, last) of the top-level comma-separated parts of
  // code[begin, end); empty parts are dropped.
  std::vector<std::pair<size_t, size_t>> SplitCommas(size_t begin, size_t end) const {
    std::vector<std::pair<size_t, size_t>> parts;
    int depth = 0;
    size_t start = begin;
    for (size_t i = begin; i < end; ++i) {
      if (code[i].IsPunct("(")) {
        ++depth;
      } else if (code[i].IsPunct(")")) {
        --depth;
      } else if (depth == 0 && code[i].IsPunct(",")) {
        if (i > start) parts.emplace_back(start, i);
        start = i + 1;
      }
    }
    if (end > start) parts.emplace_back(start, end);
    return parts;
  }

  // Text inside the parentheses opened at `open` (trimmed to tokens, "" when
  // empty) and the index after the ")"; nullopt when `open` is not "(" or the
  // parentheses do not close below `limit`.
  std::optional<std::pair<std::string, size_t>> Inner(size_t open, size_t limit) const {
    if (!IsPunct(open, "(")) return std::nullopt;
    std::optional<size_t> close = Match(open, limit);
    if (!close) return std::nullopt;
    std::string text = *close > open + 1 ? Slice(open + 1, *close - 1) : std::string();
    return std::make_pair(std::move(text), *close + 1);
  }

  size_t SkipConflictClause(size_t i, size_t end) const {
    if (i + 1 < end && Is(i, "ON") && Is(i + 1, "CONFLICT")) return std::min(i + 3, end);
    return i;
  }
};

// "CREATE [TEMP|TEMPORARY] [UNIQUE|VIRTUAL] <kind> [IF NOT EXISTS]".
struct Head {
  std::string modifier;  // "UNIQUE", "VIRTUAL" or ""
  std::string kind;      // "TABLE", "INDEX", "VIEW", "TRIGGER"
  size_t name = 0;       // index of the first name token
};

std::optional<Head> ParseHead(const Statement& st) {
  if (!st.Is(0, "CREATE")) return std::nullopt;
  size_t i = 1;
  if (st.Is(i, "TEMP") || st.Is(i, "TEMPORARY")) ++i;
  Head head;
  if (st.Is(i, "UNIQUE") || st.Is(i, "VIRTUAL")) head.modifier = Upper(st.code[i++].text);
  for (std::string_view kind : {"TABLE", "INDEX", "VIEW", "TRIGGER"}) {
    if (st.Is(i, kind)) head.kind = std::string(kind);
  }
  if (head.kind.empty()) return std::nullopt;
  ++i;
  if (st.Is(i, "IF") && st.Is(i + 1, "NOT") && st.Is(i + 2, "EXISTS")) i += 3;
  head.name = i;
  return head;
}

struct QualifiedName {
  std::string schema;
  std::string name;
  Span span;
  size_t next = 0;  // index after the name
};

std::optional<QualifiedName> ParseQualifiedName(const Statement& st, size_t i) {
  if (i >= st.size() || !IsNameToken(st.code[i])) return std::nullopt;
  QualifiedName q;
  size_t last = i;
  if (st.IsPunct(i + 1, ".") && i + 2 < st.size() && IsNameToken(st.code[i + 2])) {
    q.schema = NameValue(st.code[i]);
    last = i + 2;
  }
  q.name = NameValue(st.code[last]);
  q.span = Span{st.code[i].offset, End(st.code[last])};
  q.next = last + 1;
  return q;
}

bool IsColumnConstraintKeyword(const Token& t) {
  for (std::string_view kw : {"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT",
                              "COLLATE", "REFERENCES", "GENERATED", "AS"}) {
    if (t.Is(kw)) return true;
  }
  return false;
}

bool IsTableConstraintKeyword(const Token& t) {
  for (std::string_view kw : {"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"}) {
    if (t.Is(kw)) return true;
  }
  return false;
}

// The foreign-key-clause from REFERENCES (at `i`) on; returns the index after it.
size_t ParseReferences(const Statement& st, size_t i, size_t end, ForeignKeyDef* fk) {
  ++i;  // REFERENCES
  if (i < end && IsNameToken(st.code[i])) fk->table = NameValue(st.code[i++]);
  if (st.IsPunct(i, "(")) {
    std::optional<size_t> close = st.Match(i, end);
    if (!close) return end;
    for (const auto& [first, last] : st.SplitCommas(i + 1, *close)) {
      (void)last;
      fk->to.push_back(NameValue(st.code[first]));
    }
    i = *close + 1;
  }
  while (i < end) {
    if (st.Is(i, "ON") && (st.Is(i + 1, "DELETE") || st.Is(i + 1, "UPDATE")) && i + 2 < end) {
      std::string* action = st.Is(i + 1, "DELETE") ? &fk->on_delete : &fk->on_update;
      i += 2;
      if ((st.Is(i, "SET") || st.Is(i, "NO")) && i + 1 < end) {
        *action = Upper(st.code[i].text) + " " + Upper(st.code[i + 1].text);
        i += 2;
      } else {
        *action = Upper(st.code[i].text);
        i += 1;
      }
    } else if (st.Is(i, "MATCH") && i + 1 < end) {
      fk->match = Upper(NameValue(st.code[i + 1]));
      i += 2;
    } else if (st.Is(i, "DEFERRABLE") || (st.Is(i, "NOT") && st.Is(i + 1, "DEFERRABLE"))) {
      std::string deferral;
      if (st.Is(i, "NOT")) {
        deferral = "NOT ";
        ++i;
      }
      deferral += "DEFERRABLE";
      ++i;
      if (st.Is(i, "INITIALLY") && (st.Is(i + 1, "DEFERRED") || st.Is(i + 1, "IMMEDIATE")) &&
          i + 1 < end) {
        deferral += " INITIALLY " + Upper(st.code[i + 1].text);
        i += 2;
      }
      fk->deferral = std::move(deferral);
    } else {
      break;  // a column constraint that follows the clause, e.g. NOT NULL
    }
  }
  return i;
}

ColumnDef ParseColumn(const Statement& st, size_t begin, size_t end) {
  ColumnDef col;
  col.name = NameValue(st.code[begin]);
  col.definition = st.Slice(begin, end - 1);

  // typetoken ::= typename [ "(" signed [, signed] ")" ]: the size closes it.
  size_t i = begin + 1;
  size_t type_first = i;
  while (i < end && !IsColumnConstraintKeyword(st.code[i])) {
    if (st.IsPunct(i, "(")) {
      std::optional<size_t> close = st.Match(i, end);
      i = close ? *close + 1 : end;
      break;
    }
    ++i;
  }
  if (i > type_first) col.type = st.Slice(type_first, i - 1);

  std::string constraint_name;
  while (i < end) {
    const Token& t = st.code[i];
    if (t.Is("CONSTRAINT")) {
      if (i + 1 < end) constraint_name = NameValue(st.code[i + 1]);
      i += 2;
      continue;  // the name belongs to the constraint that follows
    }
    if (t.Is("GENERATED")) {
      i += st.Is(i + 1, "ALWAYS") ? 2 : 1;
      continue;  // AS follows
    }
    if (t.Is("PRIMARY")) {
      col.primary_key = true;
      ++i;
      if (st.Is(i, "KEY")) ++i;
      if (st.Is(i, "ASC") || st.Is(i, "DESC")) ++i;
      i = st.SkipConflictClause(i, end);
      if (st.Is(i, "AUTOINCREMENT")) {
        col.autoincrement = true;
        ++i;
      }
    } else if (t.Is("NOT") && st.Is(i + 1, "NULL")) {
      col.not_null = true;
      i = st.SkipConflictClause(i + 2, end);
    } else if (t.Is("NULL")) {
      i = st.SkipConflictClause(i + 1, end);
    } else if (t.Is("UNIQUE")) {
      col.unique = true;
      i = st.SkipConflictClause(i + 1, end);
    } else if (t.Is("CHECK")) {
      std::optional<std::pair<std::string, size_t>> inner = st.Inner(i + 1, end);
      if (!inner) {
        ++i;
        continue;
      }
      col.checks.push_back(CheckDef{constraint_name, std::move(inner->first)});
      i = inner->second;
    } else if (t.Is("DEFAULT")) {
      ++i;
      if (i >= end) break;
      size_t last = i;
      if (st.IsPunct(i, "(")) {
        last = st.Match(i, end).value_or(end - 1);
      } else if ((st.IsPunct(i, "+") || st.IsPunct(i, "-")) && i + 1 < end &&
                 st.code[i + 1].kind == TokenKind::kNumber) {
        last = i + 1;  // the sign is part of the literal
      }
      col.default_expr = st.Slice(i, last);
      i = last + 1;
    } else if (t.Is("COLLATE")) {
      if (i + 1 < end) col.collate = NameValue(st.code[i + 1]);
      i += 2;
    } else if (t.Is("REFERENCES")) {
      ForeignKeyDef fk;
      fk.name = constraint_name;
      fk.from.push_back(col.name);
      i = ParseReferences(st, i, end, &fk);
      col.references = std::move(fk);
    } else if (t.Is("AS")) {
      std::optional<std::pair<std::string, size_t>> inner = st.Inner(i + 1, end);
      if (!inner) {
        ++i;
        continue;
      }
      col.generated_expr = std::move(inner->first);
      i = inner->second;
      if (st.Is(i, "STORED")) {
        col.generated_stored = true;
        ++i;
      } else if (st.Is(i, "VIRTUAL")) {
        ++i;
      }
    } else {
      ++i;  // not something this parser locates; SQLite already accepted it
      continue;
    }
    constraint_name.clear();
  }
  return col;
}

// Verbatim texts of the indexed columns inside "( ... )" at `open`; the
// index after ")" goes to *next. Sets *autoincrement for PRIMARY KEY(x
// AUTOINCREMENT), which SQLite accepts, and leaves that keyword out.
std::vector<std::string> KeyColumns(const Statement& st, size_t open, size_t end, size_t* next,
                                    bool* autoincrement) {
  std::vector<std::string> columns;
  std::optional<size_t> close = st.Match(open, end);
  if (!st.IsPunct(open, "(") || !close) {
    *next = end;
    return columns;
  }
  for (auto [first, last] : st.SplitCommas(open + 1, *close)) {
    if (last - first > 1 && st.Is(last - 1, "AUTOINCREMENT")) {
      *autoincrement = true;
      --last;
    }
    columns.push_back(st.Slice(first, last - 1));
  }
  *next = *close + 1;
  return columns;
}

// One table-constraint element; SQLite lets constraints follow each other
// without commas (tconscomma may be empty), so this loops.
void ParseTableConstraints(const Statement& st, size_t begin, size_t end, CreateTableDef* def) {
  std::string constraint_name;
  std::optional<size_t> constraint_start;
  size_t i = begin;
  while (i < end) {
    const Token& t = st.code[i];
    size_t start = constraint_start.value_or(i);
    if (t.Is("CONSTRAINT")) {
      if (i + 1 < end) constraint_name = NameValue(st.code[i + 1]);
      constraint_start = i;
      i += 2;
      continue;
    }
    if (t.Is("PRIMARY") || t.Is("UNIQUE")) {
      bool primary = t.Is("PRIMARY");
      ++i;
      if (primary && st.Is(i, "KEY")) ++i;
      KeyConstraintDef key;
      key.name = constraint_name;
      bool autoincrement = false;
      key.columns = KeyColumns(st, i, end, &i, &autoincrement);
      i = st.SkipConflictClause(i, end);
      key.text = st.Slice(start, i - 1);
      if (autoincrement) {
        def->autoincrement = true;
        if (key.columns.size() == 1) {
          for (ColumnDef& col : def->columns) {
            if (EqualsIgnoreCase(col.name, NameValue(Tokenize(key.columns[0])[0]))) {
              col.autoincrement = true;
            }
          }
        }
      }
      if (primary) {
        def->primary_key = std::move(key);
      } else {
        def->uniques.push_back(std::move(key));
      }
    } else if (t.Is("CHECK")) {
      std::optional<std::pair<std::string, size_t>> inner = st.Inner(i + 1, end);
      if (!inner) {
        ++i;
        continue;
      }
      def->checks.push_back(CheckDef{constraint_name, std::move(inner->first)});
      i = st.SkipConflictClause(inner->second, end);
    } else if (t.Is("FOREIGN")) {
      ++i;
      if (st.Is(i, "KEY")) ++i;
      ForeignKeyDef fk;
      fk.name = constraint_name;
      if (std::optional<size_t> close = st.Match(i, end); st.IsPunct(i, "(") && close) {
        for (const auto& [first, last] : st.SplitCommas(i + 1, *close)) {
          (void)last;
          fk.from.push_back(NameValue(st.code[first]));
        }
        i = *close + 1;
      }
      if (st.Is(i, "REFERENCES")) i = ParseReferences(st, i, end, &fk);
      def->foreign_keys.push_back(std::move(fk));
    } else {
      ++i;
      continue;
    }
    constraint_name.clear();
    constraint_start.reset();
  }
}

}  // namespace

std::string Token::Value() const {
  if (kind == TokenKind::kQuotedName) return Unquote(text);
  return std::string(text);
}

bool Token::Is(std::string_view keyword) const {
  return kind == TokenKind::kWord && EqualsIgnoreCase(text, keyword);
}

std::vector<Token> Tokenize(std::string_view sql, bool keep_comments) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < sql.size()) {
    if (IsSpace(At(sql, i))) {
      ++i;
      continue;
    }
    auto [kind, length] = Scan(sql, i);
    if (kind != TokenKind::kComment || keep_comments) {
      tokens.push_back(Token{kind, sql.substr(i, length), i});
    }
    i += length;
  }
  return tokens;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLower(c);
  return out;
}

std::string NormalizeToken(const Token& t) {
  switch (t.kind) {
    case TokenKind::kWord:
    case TokenKind::kQuotedName: {
      std::string value = Lower(t.Value());
      bool bare = !value.empty() && (IsAlpha(value[0]) || value[0] == '_');
      for (char c : value) {
        unsigned char u = static_cast<unsigned char>(c);
        bare = bare && u < 0x80 && (IsAlpha(u) || IsDigit(u) || u == '_' || u == '$');
      }
      return bare ? value : QuoteIdent(value);
    }
    case TokenKind::kBlob: {
      std::string out(t.text);
      out[0] = 'x';
      return out;
    }
    case TokenKind::kComment:
      return std::string();
    default:
      return std::string(t.text);
  }
}

std::string Normalize(std::string_view sql) {
  std::string out;
  for (const Token& t : Tokenize(sql)) {
    if (!out.empty()) out.push_back(' ');
    out += NormalizeToken(t);
  }
  return out;
}

bool MentionsRenameHint(std::string_view text) {
  for (size_t pos = text.find('@'); pos != std::string_view::npos; pos = text.find('@', pos + 1))
    if (EqualsIgnoreCase(text.substr(pos + 1, 6), "rename")) return true;
  return false;
}

std::optional<std::string> RenameHint(std::string_view comment_text) {
  std::string_view c = comment_text;
  auto skip_spaces = [&](size_t i) {
    while (i < c.size() && IsSpace(At(c, i))) ++i;
    return i;
  };
  // Each "@rename" occurrence is a candidate; a malformed one (@renamedfoo,
  // no from=) does not hide a well-formed one later in the same comment.
  for (size_t pos = c.find('@'); pos != std::string_view::npos; pos = c.find('@', pos + 1)) {
    if (pos > 0 && IsIdChar(At(c, pos - 1))) continue;  // user@rename.example
    if (!EqualsIgnoreCase(c.substr(pos + 1, 6), "rename")) continue;
    size_t i = pos + 7;
    if (At(c, i) == 'd' || At(c, i) == 'D') ++i;
    if (!IsSpace(At(c, i))) continue;
    i = skip_spaces(i);
    if (!EqualsIgnoreCase(c.substr(i, 4), "from")) continue;
    i = skip_spaces(i + 4);
    if (At(c, i) != '=') continue;
    i = skip_spaces(i + 1);
    unsigned char q = At(c, i);
    std::string name;
    if (q == '"' || q == '\'' || q == '`' || q == '[') {
      bool closed = false;
      size_t end = QuotedEnd(c, i, q == '[' ? ']' : static_cast<char>(q), q != '[', &closed);
      if (!closed) continue;
      name = Unquote(c.substr(i, end - i));
    } else {
      size_t end = i;
      while (end < c.size() && !IsSpace(At(c, end)) && c.substr(end, 2) != "*/") ++end;
      name = std::string(c.substr(i, end - i));
    }
    if (!name.empty()) return name;
  }
  return std::nullopt;
}

std::optional<CreateTableDef> ParseCreateTable(std::string_view sql) {
  Statement st(sql);
  std::optional<Head> head = ParseHead(st);
  if (!head || head->kind != "TABLE" || head->modifier == "VIRTUAL") return std::nullopt;
  std::optional<QualifiedName> name = ParseQualifiedName(st, head->name);
  if (!name) return std::nullopt;

  CreateTableDef def;
  def.schema = std::move(name->schema);
  def.name = std::move(name->name);
  def.name_span = name->span;
  size_t open = name->next;
  if (st.Is(open, "AS")) {
    def.as_select = true;
    def.renamed_from = st.HintBetween(open - 1, open);
    return def;
  }
  if (!st.IsPunct(open, "(")) return std::nullopt;
  std::optional<size_t> close = st.Match(open, st.size());
  if (!close) return std::nullopt;

  std::vector<std::pair<size_t, size_t>> elements = st.SplitCommas(open + 1, *close);
  size_t first_start = elements.empty() ? *close : elements.front().first;
  def.renamed_from = st.HintBetween(open - 1, first_start);

  bool in_constraints = false;
  for (size_t e = 0; e < elements.size(); ++e) {
    const auto [begin, end] = elements[e];
    // Once a table constraint appears SQLite's grammar allows only more
    // constraints, so the keyword test is made on bare words only.
    in_constraints = in_constraints || IsTableConstraintKeyword(st.code[begin]);
    if (in_constraints) {
      ParseTableConstraints(st, begin, end, &def);
      continue;
    }
    ColumnDef col = ParseColumn(st, begin, end);
    size_t next_start = e + 1 < elements.size() ? elements[e + 1].first : *close;
    col.renamed_from = st.HintBetween(begin, next_start);
    def.autoincrement = def.autoincrement || col.autoincrement;
    def.columns.push_back(std::move(col));
  }

  for (size_t i = *close + 1; i < st.size(); ++i) {
    if (st.Is(i, "WITHOUT") && st.Is(i + 1, "ROWID")) {
      def.without_rowid = true;
      ++i;
    } else if (st.Is(i, "STRICT")) {
      def.strict = true;
    }
  }
  return def;
}

std::optional<CreateIndexDef> ParseCreateIndex(std::string_view sql) {
  Statement st(sql);
  std::optional<Head> head = ParseHead(st);
  if (!head || head->kind != "INDEX") return std::nullopt;
  std::optional<QualifiedName> name = ParseQualifiedName(st, head->name);
  if (!name) return std::nullopt;

  CreateIndexDef def;
  def.unique = head->modifier == "UNIQUE";
  def.schema = std::move(name->schema);
  def.name = std::move(name->name);
  def.name_span = name->span;
  size_t i = name->next;
  if (!st.Is(i, "ON") || i + 1 >= st.size() || !IsNameToken(st.code[i + 1])) return std::nullopt;
  def.renamed_from = st.HintBetween(i - 1, i);
  def.table = NameValue(st.code[i + 1]);
  i += 2;
  if (!st.IsPunct(i, "(")) return std::nullopt;
  std::optional<size_t> close = st.Match(i, st.size());
  if (!close) return std::nullopt;

  for (auto [first, last] : st.SplitCommas(i + 1, *close)) {
    IndexedColumnDef col;
    // SQLite's order is expr [COLLATE name] [ASC|DESC]; each strip keeps at
    // least one token so a column spelled like a keyword survives.
    if (last - first > 1 && (st.Is(last - 1, "ASC") || st.Is(last - 1, "DESC"))) {
      col.desc = st.Is(last - 1, "DESC");
      --last;
    }
    if (last - first > 2 && st.Is(last - 2, "COLLATE")) {
      col.collate = NameValue(st.code[last - 1]);
      last -= 2;
    }
    col.expr = st.Slice(first, last - 1);
    def.columns.push_back(std::move(col));
  }

  i = *close + 1;
  if (st.Is(i, "WHERE") && i + 1 < st.size()) def.where = st.Slice(i + 1, st.size() - 1);
  return def;
}

std::optional<Span> FindObjectName(std::string_view create_sql) {
  Statement st(create_sql);
  std::optional<Head> head = ParseHead(st);
  if (!head) return std::nullopt;
  std::optional<QualifiedName> name = ParseQualifiedName(st, head->name);
  if (!name) return std::nullopt;
  return name->span;
}

std::optional<std::string> TriggerTable(std::string_view create_trigger_sql) {
  Statement st(create_trigger_sql);
  std::optional<Head> head = ParseHead(st);
  if (!head || head->kind != "TRIGGER") return std::nullopt;
  std::optional<QualifiedName> name = ParseQualifiedName(st, head->name);
  if (!name) return std::nullopt;
  // ON is a reserved word, so the first bare ON after the trigger name is
  // the one before the table (UPDATE OF columns cannot spell it unquoted).
  for (size_t i = name->next; i < st.size(); ++i) {
    if (!st.Is(i, "ON")) continue;
    std::optional<QualifiedName> table = ParseQualifiedName(st, i + 1);
    if (!table) return std::nullopt;
    return table->name;
  }
  return std::nullopt;
}

std::set<std::string> Identifiers(std::string_view sql) {
  std::set<std::string> names;
  for (const Token& t : Tokenize(sql)) {
    if (t.IsName()) names.insert(Lower(t.Value()));
  }
  return names;
}

std::string RenameIdentifier(std::string_view sql, std::string_view from, std::string_view to) {
  std::string out;
  std::string replacement = QuoteIdent(to);
  size_t copied = 0;
  for (const Token& t : Tokenize(sql)) {
    if (!t.IsName() || !EqualsIgnoreCase(t.Value(), from)) continue;
    out.append(sql.substr(copied, t.offset - copied));
    out += replacement;
    copied = End(t);
  }
  out.append(sql.substr(copied));
  return out;
}

// A DEFAULT that ALTER TABLE ADD COLUMN accepts: literals, signed numbers,
// NULL/TRUE/FALSE, optionally parenthesized. CURRENT_TIMESTAMP and function
// calls are "non-constant" to SQLite.
bool IsConstantDefault(std::string_view expr) {
  bool operand_before = false;  // a "+" or "-" after an operand is binary: (1 + 1) is refused
  for (const Token& t : Tokenize(expr)) {
    bool operand = t.kind != TokenKind::kPunct || t.IsPunct(")");
    bool binary = operand_before && (t.IsPunct("-") || t.IsPunct("+"));
    operand_before = operand;
    if (binary) return false;
    switch (t.kind) {
      case TokenKind::kNumber:
      case TokenKind::kString:
      case TokenKind::kBlob:
        break;
      case TokenKind::kPunct:
        if (!t.IsPunct("(") && !t.IsPunct(")") && !t.IsPunct("-") && !t.IsPunct("+")) return false;
        break;
      case TokenKind::kWord:
        if (!t.Is("NULL") && !t.Is("TRUE") && !t.Is("FALSE")) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace automigrate::ddl
