// core/ddl.h -- a tokenizer for SQLite's SQL dialect and the small parsers
// built on it: the parts of a stored CREATE statement that no pragma exposes
// (CHECK, COLLATE, generated expressions, constraint names, FK deferral,
// STRICT, WITHOUT ROWID, AUTOINCREMENT, index expressions and WHERE clauses),
// rename hints in comments, and the token-level normalization that makes two
// spellings of the same SQL compare equal.
//
// The input is always text SQLite itself accepted (it comes from
// sqlite_schema), so the parsers are forgiving: they never validate, they
// locate. Nothing here throws; nothing allocates SQLite resources.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace automigrate::ddl {

enum class TokenKind {
  kWord,        // bare identifier or keyword: users, SELECT, _x1, a$b (a leading $ is a variable)
  kQuotedName,  // "x"  [x]  `x`
  kString,      // 'x'  (SQL string literal)
  kNumber,      // 12  1.5  .5  1e10  0x1F
  kBlob,        // x'AB'  X'ab'
  kVariable,    // ?  ?1  :a  @a  $a
  kPunct,       // ( ) , ; . and operators: = == != <> < <= > >= || + - * / % & | ~ << >> ->  ->>
  kComment,     // -- to end of line (newline not included) or /* ... */ (unterminated: to end)
};

struct Token {
  TokenKind kind;
  std::string_view text;  // verbatim slice of the input
  size_t offset = 0;      // byte offset of text in the input

  // Identifier value: for kQuotedName the name without quotes and with doubled
  // quote characters undone ("a""b" -> a"b, [x] -> x); for kWord the text.
  // For other kinds: text.
  std::string Value() const;
  // kWord equal to `keyword` ignoring ASCII case.
  bool Is(std::string_view keyword) const;
  bool IsPunct(std::string_view p) const { return kind == TokenKind::kPunct && text == p; }
  bool IsName() const { return kind == TokenKind::kWord || kind == TokenKind::kQuotedName; }
};

// Splits `sql` into tokens. Whitespace is dropped. Comments are returned as
// kComment tokens only when `keep_comments`. Never fails: an unterminated
// quote or comment runs to the end of the input.
std::vector<Token> Tokenize(std::string_view sql, bool keep_comments = false);

// ASCII lower-casing (SQLite folds only ASCII in identifiers).
std::string Lower(std::string_view s);

// The affinity SQLite gives a column declared `declared` (datatype3.html
// section 3.1): "INTEGER", "TEXT", "BLOB", "REAL" or "NUMERIC".
std::string Affinity(std::string_view declared);

// Canonical text of an SQL fragment, for equality tests only (never executed):
// comments dropped; tokens joined by one space; kWord and kQuotedName both
// written as their lower-cased Value(), bare when it matches
// [a-z_][a-z0-9_$]* and otherwise in double quotes with " doubled; strings,
// numbers and variables verbatim; blob literals with the x lower-cased.
// So  SELECT "Id" FROM [T] -- c   and   select id from t   normalize equally.
std::string Normalize(std::string_view sql);

// Normalize() applied to one token (used by callers that walk tokens).
std::string NormalizeToken(const Token& t);

// A byte range of the parsed input.
struct Span {
  size_t begin = 0;  // byte offsets into the original input
  size_t end = 0;
  std::string_view Of(std::string_view input) const { return input.substr(begin, end - begin); }
};

// A `@renamed from=NAME` (or the deprecated `@rename from=NAME`) hint inside a
// comment token's text, e.g. "-- @renamed from=old", "/* @renamed from=\"a b\" */",
// "-- @renamed from=`x`". Returns the unquoted old name.
// Whether `text` has "@rename" anywhere (any case): a cheap test for "may
// carry rename hints", for callers that must then read the text properly.
bool MentionsRenameHint(std::string_view text);

// A DEFAULT that ALTER TABLE ADD COLUMN accepts: literals, signed numbers,
// NULL/TRUE/FALSE, optionally parenthesized. CURRENT_TIMESTAMP and function
// calls are "non-constant" to SQLite.
bool IsConstantDefault(std::string_view expr);
std::optional<std::string> RenameHint(std::string_view comment_text);

// ---------------------------------------------------------------------------
// CREATE statements as SQLite stores them in sqlite_schema.sql. SQLite stores
// "CREATE <kind> " followed by the original text from the object name on, so
// the name is always the first token after the kind keywords (possibly
// schema-qualified: schema.name).

struct ForeignKeyDef {
  std::string name;                 // CONSTRAINT name, or ""
  std::vector<std::string> from;    // child columns (unquoted, as written)
  std::string table;                // parent table (unquoted, as written)
  std::vector<std::string> to;      // parent columns; empty = parent's PK
  std::string on_delete = "NO ACTION";  // upper case: NO ACTION, CASCADE, SET NULL, SET DEFAULT, RESTRICT
  std::string on_update = "NO ACTION";
  std::string match;                // MATCH name, upper case, or ""
  // Normalized deferral clause: "" (not deferrable),
  // "DEFERRABLE INITIALLY DEFERRED", "DEFERRABLE INITIALLY IMMEDIATE",
  // "DEFERRABLE" (same as INITIALLY IMMEDIATE, but kept as written),
  // "NOT DEFERRABLE", "NOT DEFERRABLE INITIALLY DEFERRED", ... upper case,
  // single spaces.
  std::string deferral;
};

struct CheckDef {
  std::string name;  // CONSTRAINT name, or ""
  std::string expr;  // verbatim text inside CHECK( ... ), without the parentheses
};

struct ColumnDef {
  std::string name;        // unquoted
  std::string type;        // declared type, verbatim slice (may be "")
  std::string definition;  // verbatim slice from the name to the end of the last constraint
  std::optional<std::string> collate;       // COLLATE name, unquoted, as written
  std::optional<std::string> default_expr;  // verbatim text after DEFAULT: a literal, a
                                            // signed number, (expr), or a bare word
  bool not_null = false;
  bool primary_key = false;  // column-level PRIMARY KEY
  bool autoincrement = false;
  bool unique = false;  // column-level UNIQUE
  std::vector<CheckDef> checks;                // column-level CHECKs
  std::optional<std::string> generated_expr;   // text inside [GENERATED ALWAYS] AS ( ... )
  bool generated_stored = false;               // STORED (default VIRTUAL)
  std::optional<ForeignKeyDef> references;     // column-level REFERENCES (from = {name})
  // `-- @renamed from=x` or `/* @renamed from=x */` written after this
  // column's first token and before the next column/constraint's first token.
  std::optional<std::string> renamed_from;
};

struct KeyConstraintDef {  // table-level PRIMARY KEY (...) or UNIQUE (...)
  std::string name;
  std::vector<std::string> columns;  // verbatim indexed-column texts ("a COLLATE nocase DESC")
  std::string text;                  // verbatim whole constraint (from CONSTRAINT/PRIMARY/UNIQUE)
};

struct CreateTableDef {
  std::string schema;  // "" unless written as schema.name
  std::string name;    // unquoted
  Span name_span;      // byte range of the name (including schema. when written)
  // `/* @renamed from=x */` between the name and "(", or `-- @renamed from=x`
  // between "(" and the first column's first token.
  std::optional<std::string> renamed_from;
  std::vector<ColumnDef> columns;
  std::optional<KeyConstraintDef> primary_key;  // table-level only
  std::vector<KeyConstraintDef> uniques;        // table-level only
  std::vector<CheckDef> checks;                 // table-level only
  std::vector<ForeignKeyDef> foreign_keys;      // table-level only
  bool without_rowid = false;
  bool strict = false;
  bool autoincrement = false;  // any column has AUTOINCREMENT
  bool as_select = false;      // CREATE TABLE ... AS SELECT (columns empty)
};

// Parses "CREATE TABLE name (...) [options]". nullopt when `sql` is not a
// CREATE TABLE statement this parser can read.
std::optional<CreateTableDef> ParseCreateTable(std::string_view sql);

struct IndexedColumnDef {
  std::string expr;  // verbatim, without the trailing COLLATE/ASC/DESC
  std::optional<std::string> collate;  // unquoted
  bool desc = false;
};

struct CreateIndexDef {
  std::string schema;
  std::string name;
  Span name_span;
  std::string table;  // unquoted
  bool unique = false;
  std::vector<IndexedColumnDef> columns;
  std::optional<std::string> where;  // verbatim text after WHERE
  std::optional<std::string> renamed_from;  // comment between name and ON
};

// Parses "CREATE [UNIQUE] INDEX name ON table (cols) [WHERE expr]".
std::optional<CreateIndexDef> ParseCreateIndex(std::string_view sql);

// The byte range of the object name in "CREATE [UNIQUE|VIRTUAL|TEMP] TABLE|INDEX|
// VIEW|TRIGGER [IF NOT EXISTS] name ..." (schema.name included when written).
std::optional<Span> FindObjectName(std::string_view create_sql);

// The table a CREATE TRIGGER statement is ON (unquoted), or nullopt.
std::optional<std::string> TriggerTable(std::string_view create_trigger_sql);

// Every identifier value (kWord and kQuotedName, lower-cased) in `sql`:
// over-approximates the tables/columns a view or trigger refers to.
std::set<std::string> Identifiers(std::string_view sql);

// Replaces every name token (kWord or kQuotedName) whose value equals `from`
// (ASCII case-insensitive) with `to` written as a double-quoted identifier;
// everything else, comments included, is kept byte for byte.
std::string RenameIdentifier(std::string_view sql, std::string_view from, std::string_view to);

}  // namespace automigrate::ddl
