// tests/ddl_test.cc -- the tokenizer against SQLite's lexical rules, the
// CREATE parsers against hand-written and real (sqldef) DDL, and a cross-check
// of what the parsers locate against what SQLite itself reports.

#include "core/ddl.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using automigrate::ddl::CreateIndexDef;
using automigrate::ddl::CreateTableDef;
using automigrate::ddl::FindObjectName;
using automigrate::ddl::ForeignKeyDef;
using automigrate::ddl::Identifiers;
using automigrate::ddl::Lower;
using automigrate::ddl::Normalize;
using automigrate::ddl::NormalizeToken;
using automigrate::ddl::ParseCreateIndex;
using automigrate::ddl::ParseCreateTable;
using automigrate::ddl::RenameHint;
using automigrate::ddl::RenameIdentifier;
using automigrate::ddl::Span;
using automigrate::ddl::Token;
using automigrate::ddl::Tokenize;
using automigrate::ddl::TokenKind;
using automigrate::ddl::TriggerTable;

namespace {

using Strings = std::vector<std::string>;

Strings Texts(std::string_view sql, bool keep_comments = false) {
  Strings out;
  for (const Token& t : Tokenize(sql, keep_comments)) out.emplace_back(t.text);
  return out;
}

std::vector<TokenKind> Kinds(std::string_view sql, bool keep_comments = false) {
  std::vector<TokenKind> out;
  for (const Token& t : Tokenize(sql, keep_comments)) out.push_back(t.kind);
  return out;
}

Strings Values(std::string_view sql) {
  Strings out;
  for (const Token& t : Tokenize(sql)) out.push_back(t.Value());
  return out;
}

// The only token of `sql`; fails the test when there is not exactly one.
Token Single(std::string_view sql) {
  std::vector<Token> tokens = Tokenize(sql, /*keep_comments=*/true);
  EXPECT_EQ(tokens.size(), 1u) << sql;
  return tokens.empty() ? Token{TokenKind::kPunct, "", 0} : tokens[0];
}

CreateTableDef Table(std::string_view sql) {
  std::optional<CreateTableDef> def = ParseCreateTable(sql);
  EXPECT_TRUE(def.has_value()) << sql;
  return def.value_or(CreateTableDef{});
}

CreateIndexDef Index(std::string_view sql) {
  std::optional<CreateIndexDef> def = ParseCreateIndex(sql);
  EXPECT_TRUE(def.has_value()) << sql;
  return def.value_or(CreateIndexDef{});
}

std::string NameAt(std::string_view sql) {
  std::optional<Span> span = FindObjectName(sql);
  return span ? std::string(span->Of(sql)) : "<none>";
}

// ---------------------------------------------------------------------------
// Tokenize

TEST(DdlTokenize, EmptyAndWhitespaceOnly) {
  EXPECT_TRUE(Tokenize("").empty());
  EXPECT_TRUE(Tokenize(" \t\r\n\f\v ").empty());
}

TEST(DdlTokenize, SplitsWordsAndPunctWithOffsets) {
  std::string_view sql = "CREATE TABLE t(a,b);";
  std::vector<Token> t = Tokenize(sql);
  ASSERT_EQ(t.size(), 9u);
  EXPECT_EQ(Texts(sql), (Strings{"CREATE", "TABLE", "t", "(", "a", ",", "b", ")", ";"}));
  EXPECT_EQ(t[0].kind, TokenKind::kWord);
  EXPECT_EQ(t[3].kind, TokenKind::kPunct);
  EXPECT_EQ(t[0].offset, 0u);
  EXPECT_EQ(t[1].offset, 7u);
  EXPECT_EQ(t[2].offset, 13u);
  EXPECT_EQ(t[3].offset, 14u);
  EXPECT_EQ(t[8].offset, 19u);
  for (const Token& tok : t) EXPECT_EQ(sql.substr(tok.offset, tok.text.size()), tok.text);
}

TEST(DdlTokenize, CommentsDroppedByDefault) {
  EXPECT_EQ(Texts("a -- line\nb /* block */ c"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(Texts("a--x\nb/*y*/c"), (Strings{"a", "b", "c"}));
}

TEST(DdlTokenize, CommentsKeptWhenAsked) {
  std::string_view sql = "a -- line\nb /* block\n spans */ c -- at end";
  EXPECT_EQ(Texts(sql, true),
            (Strings{"a", "-- line", "b", "/* block\n spans */", "c", "-- at end"}));
  EXPECT_EQ(Kinds(sql, true),
            (std::vector<TokenKind>{TokenKind::kWord, TokenKind::kComment, TokenKind::kWord,
                                    TokenKind::kComment, TokenKind::kWord, TokenKind::kComment}));
  // The newline that ends a line comment is not part of it.
  EXPECT_EQ(Tokenize("-- x\r\n", true)[0].text, "-- x\r");
  EXPECT_EQ(Tokenize("--\n", true)[0].text, "--");
}

TEST(DdlTokenize, UnterminatedBlockCommentRunsToEnd) {
  EXPECT_EQ(Texts("a /* never closed ) ' \"", true), (Strings{"a", "/* never closed ) ' \""}));
  EXPECT_EQ(Texts("a /* never closed"), (Strings{"a"}));
  EXPECT_EQ(Texts("/**/x", true), (Strings{"/**/", "x"}));
  // "/*/" does not close itself.
  EXPECT_EQ(Texts("/*/ x */y", true), (Strings{"/*/ x */", "y"}));
}

TEST(DdlTokenize, CommentMarkersInsideQuotesAreNotComments) {
  EXPECT_EQ(Texts("'-- not a comment' x", true), (Strings{"'-- not a comment'", "x"}));
  EXPECT_EQ(Texts("'/*x*/' y", true), (Strings{"'/*x*/'", "y"}));
  EXPECT_EQ(Texts("\"a--b\" [c/*d] `e*/f`", true), (Strings{"\"a--b\"", "[c/*d]", "`e*/f`"}));
  // And quotes inside comments are not quotes.
  EXPECT_EQ(Texts("a /* ' */ b -- \" \nc", true), (Strings{"a", "/* ' */", "b", "-- \" ", "c"}));
}

TEST(DdlTokenize, QuotedIdentifiersAllStyles) {
  Token dq = Single("\"a\"\"b c\"");
  EXPECT_EQ(dq.kind, TokenKind::kQuotedName);
  EXPECT_EQ(dq.text, "\"a\"\"b c\"");
  EXPECT_EQ(dq.Value(), "a\"b c");

  Token br = Single("[my table]");
  EXPECT_EQ(br.kind, TokenKind::kQuotedName);
  EXPECT_EQ(br.Value(), "my table");

  Token bt = Single("`a``b`");
  EXPECT_EQ(bt.kind, TokenKind::kQuotedName);
  EXPECT_EQ(bt.Value(), "a`b");

  // Other quote characters inside need no escaping.
  EXPECT_EQ(Single("\"it's `x` [y]\"").Value(), "it's `x` [y]");
  EXPECT_EQ(Single("[a\"b'c`d]").Value(), "a\"b'c`d");
  EXPECT_EQ(Single("`a\"b[c]`").Value(), "a\"b[c]");
  EXPECT_EQ(Single("\"\"").Value(), "");
  EXPECT_EQ(Single("\"select\"").Value(), "select");
}

TEST(DdlTokenize, BracketsHaveNoEscapes) {
  EXPECT_EQ(Texts("[a]]b]"), (Strings{"[a]", "]", "b", "]"}));
  EXPECT_EQ(Single("[a[b]").Value(), "a[b");
}

TEST(DdlTokenize, UnterminatedQuotesRunToEnd) {
  EXPECT_EQ(Texts("a \"b c"), (Strings{"a", "\"b c"}));
  EXPECT_EQ(Values("a \"b c"), (Strings{"a", "b c"}));
  EXPECT_EQ(Values("\"ab\"\""), (Strings{"ab\""}));
  EXPECT_EQ(Values("[ab"), (Strings{"ab"}));
  EXPECT_EQ(Values("`ab"), (Strings{"ab"}));
  EXPECT_EQ(Texts("x 'abc ) --"), (Strings{"x", "'abc ) --"}));
}

TEST(DdlTokenize, StringLiteralsWithParensAndQuotes) {
  Token s = Single("'it''s (a) \"b\" `c` [d] ((('");
  EXPECT_EQ(s.kind, TokenKind::kString);
  EXPECT_EQ(s.text, "'it''s (a) \"b\" `c` [d] ((('");
  EXPECT_EQ(s.Value(), s.text);  // Value() of a string is its text
  EXPECT_EQ(Single("''").kind, TokenKind::kString);
  EXPECT_EQ(Single("''''").text, "''''");
  EXPECT_EQ(Texts("'a''' 'b'"), (Strings{"'a'''", "'b'"}));
  EXPECT_EQ(Texts("'a''b'c"), (Strings{"'a''b'", "c"}));
}

TEST(DdlTokenize, Numbers) {
  for (std::string_view n : {"0", "12", "1.5", ".5", "1.", "1e10", "1E10", "1e-3", "2.5E+7", ".5e2",
                             "0x1F", "0XaB", "0x0", "1_000"}) {
    Token t = Single(n);
    EXPECT_EQ(t.kind, TokenKind::kNumber) << n;
    EXPECT_EQ(t.text, n);
  }
  // An exponent needs digits; "1e" alone is swallowed whole, as tokenize.c does.
  EXPECT_EQ(Texts("1e+ 2"), (Strings{"1e", "+", "2"}));
  EXPECT_EQ(Texts("1-2"), (Strings{"1", "-", "2"}));
  EXPECT_EQ(Texts("1e-3-4"), (Strings{"1e-3", "-", "4"}));
  EXPECT_EQ(Texts("a.b"), (Strings{"a", ".", "b"}));
  EXPECT_EQ(Texts("t.5"), (Strings{"t", ".5"}));
  EXPECT_EQ(Texts("x(10,2)"), (Strings{"x", "(", "10", ",", "2", ")"}));
  EXPECT_EQ(Single("1abc").kind, TokenKind::kNumber);
}

TEST(DdlTokenize, BlobLiteralsAreNotWords) {
  Token b = Single("x'AB'");
  EXPECT_EQ(b.kind, TokenKind::kBlob);
  EXPECT_EQ(b.text, "x'AB'");
  EXPECT_EQ(Single("X'ab'").kind, TokenKind::kBlob);
  EXPECT_EQ(Single("x''").kind, TokenKind::kBlob);
  EXPECT_EQ(Kinds("x xyz x1 X \"x\" 'x' xy'ab'"),
            (std::vector<TokenKind>{TokenKind::kWord, TokenKind::kWord, TokenKind::kWord,
                                    TokenKind::kWord, TokenKind::kQuotedName, TokenKind::kString,
                                    TokenKind::kWord, TokenKind::kString}));
  EXPECT_EQ(Texts("x 'ab'"), (Strings{"x", "'ab'"}));
  EXPECT_EQ(Texts("DEFAULT x'00FF',"), (Strings{"DEFAULT", "x'00FF'", ","}));
}

TEST(DdlTokenize, Variables) {
  for (std::string_view v : {"?", "?12", ":name", "@name", "$name", "$a::b", "$a(x)", ":_1"}) {
    Token t = Single(v);
    EXPECT_EQ(t.kind, TokenKind::kVariable) << v;
    EXPECT_EQ(t.text, v);
  }
  EXPECT_EQ(Texts("?1,?2"), (Strings{"?1", ",", "?2"}));
  EXPECT_EQ(Texts("$a(x)+1"), (Strings{"$a(x)", "+", "1"}));
  EXPECT_EQ(Texts("a=:b"), (Strings{"a", "=", ":b"}));
  // Without a name the sigil is a lone punct character.
  EXPECT_EQ(Kinds(": @"), (std::vector<TokenKind>{TokenKind::kPunct, TokenKind::kPunct}));
  // '$' inside a word is part of the word.
  EXPECT_EQ(Single("a$b").kind, TokenKind::kWord);
}

TEST(DdlTokenize, MultiCharOperators) {
  EXPECT_EQ(Texts("a||b==c!=d<>e<=f>=g<<h>>i->j->>k"),
            (Strings{"a",  "||", "b",  "==", "c",  "!=", "d",  "<>", "e",   "<=", "f",
                     ">=", "g",  "<<", "h",  ">>", "i",  "->", "j",  "->>", "k"}));
  EXPECT_EQ(Texts("a=b<c>d|e&f~g+h*i/j%k-l!m"),
            (Strings{"a", "=", "b", "<", "c", ">", "d", "|", "e", "&", "f", "~", "g",
                     "+", "h", "*", "i", "/", "j", "%", "k", "-", "l", "!", "m"}));
  EXPECT_EQ(Texts("a->>'$.x'"), (Strings{"a", "->>", "'$.x'"}));
  for (const Token& t : Tokenize("|| ->> <>")) EXPECT_EQ(t.kind, TokenKind::kPunct);
  EXPECT_EQ(Texts("a - -1"), (Strings{"a", "-", "-", "1"}));
}

TEST(DdlTokenize, UnicodeWords) {
  EXPECT_EQ(Texts("naïve 日本 _x1 café_2"), (Strings{"naïve", "日本", "_x1", "café_2"}));
  for (const Token& t : Tokenize("naïve 日本 _x1")) EXPECT_EQ(t.kind, TokenKind::kWord);
  EXPECT_EQ(Texts("日本(名前)"), (Strings{"日本", "(", "名前", ")"}));
}

// ---------------------------------------------------------------------------
// Token helpers, Lower, Normalize

TEST(DdlToken, IsMatchesBareWordsIgnoringCase) {
  EXPECT_TRUE(Single("select").Is("SELECT"));
  EXPECT_TRUE(Single("SeLeCt").Is("select"));
  EXPECT_FALSE(Single("\"select\"").Is("SELECT"));
  EXPECT_FALSE(Single("'select'").Is("SELECT"));
  EXPECT_FALSE(Single("selects").Is("SELECT"));
  EXPECT_TRUE(Single("(").IsPunct("("));
  EXPECT_FALSE(Single("(").IsPunct(")"));
  EXPECT_TRUE(Single("[x]").IsName());
  EXPECT_TRUE(Single("x").IsName());
  EXPECT_FALSE(Single("'x'").IsName());
}

TEST(DdlLower, FoldsAsciiOnly) {
  EXPECT_EQ(Lower("AbC_1$"), "abc_1$");
  EXPECT_EQ(Lower("ÉCOLE"), "École");  // É is not ASCII: kept
  EXPECT_EQ(Lower(""), "");
}

TEST(DdlNormalize, SpellingsOfTheSameStatementCompareEqual) {
  EXPECT_EQ(Normalize("CREATE TABLE \"Users\" ( id  INTEGER -- c\n )"),
            Normalize("create table users(id integer)"));
  EXPECT_EQ(Normalize("create table users(id integer)"), "create table users ( id integer )");
  EXPECT_EQ(Normalize("SELECT \"Id\" FROM [T] -- c"), Normalize("select id from t"));
  EXPECT_EQ(Normalize("SELECT `a` /* x */ FROM t"), "select a from t");
  EXPECT_EQ(Normalize("  \n "), "");
}

TEST(DdlNormalize, StringsNumbersAndVariablesVerbatim) {
  EXPECT_NE(Normalize("'A'"), Normalize("'a'"));
  EXPECT_EQ(Normalize("DEFAULT 'It''s'"), "default 'It''s'");
  EXPECT_EQ(Normalize("x = 0X1F + 1E3 + :Name + ?1"), "x = 0X1F + 1E3 + :Name + ?1");
  EXPECT_EQ(Normalize("X'AbCd'"), "x'AbCd'");
  EXPECT_EQ(Normalize("x'AbCd'"), "x'AbCd'");
  EXPECT_EQ(Normalize("'-- kept' /* dropped */"), "'-- kept'");
}

TEST(DdlNormalize, IdentifiersQuotedOnlyWhenNeeded) {
  EXPECT_EQ(Normalize("[my table]"), "\"my table\"");
  EXPECT_EQ(Normalize("\"My Table\""), "\"my table\"");
  EXPECT_EQ(Normalize("\"a\"\"b\""), "\"a\"\"b\"");
  EXPECT_EQ(Normalize("`A``B`"), "\"a`b\"");
  EXPECT_EQ(Normalize("\"1abc\""), "\"1abc\"");
  EXPECT_EQ(Normalize("\"_a$1\""), "_a$1");
  EXPECT_EQ(Normalize("\"\""), "\"\"");
  EXPECT_EQ(Normalize("naïve"), "\"naïve\"");
  EXPECT_EQ(Normalize("naïve"), Normalize("\"naïve\""));
  EXPECT_EQ(Normalize("\"SELECT\""), "select");
  EXPECT_EQ(Normalize("a.\"B\""), "a . b");
}

TEST(DdlNormalize, NormalizeTokenMatchesNormalize) {
  for (std::string_view sql :
       {"[My T]", "Abc", "'X'", "X'0a'", "->>", "1.5e3", "$V", "\"q\"\"\""}) {
    EXPECT_EQ(NormalizeToken(Single(sql)), Normalize(sql)) << sql;
  }
  EXPECT_EQ(NormalizeToken(Single("-- c")), "");
}

// ---------------------------------------------------------------------------
// RenameHint

TEST(DdlRenameHint, AcceptsEveryQuotingStyle) {
  EXPECT_EQ(RenameHint("-- @renamed from=old"), "old");
  EXPECT_EQ(RenameHint("/* @renamed from=old_users */"), "old_users");
  EXPECT_EQ(RenameHint("/*@renamed from=old_users*/"), "old_users");
  EXPECT_EQ(RenameHint("-- @renamed from=\"user accounts\""), "user accounts");
  EXPECT_EQ(RenameHint("/* @renamed from=\"a b\" */"), "a b");
  EXPECT_EQ(RenameHint("-- @renamed from=\"a\"\"b\""), "a\"b");
  EXPECT_EQ(RenameHint("-- @renamed from='it''s'"), "it's");
  EXPECT_EQ(RenameHint("-- @renamed from=`x`"), "x");
  EXPECT_EQ(RenameHint("-- @renamed from=`x``y`"), "x`y");
  EXPECT_EQ(RenameHint("-- @renamed from=[old name]"), "old name");
  EXPECT_EQ(RenameHint("-- @renamed from=日本"), "日本");
}

TEST(DdlRenameHint, AcceptsDeprecatedSpellingAndSurroundingText) {
  EXPECT_EQ(RenameHint("-- @rename from=username"), "username");
  EXPECT_EQ(RenameHint("-- note: @renamed from=a see ticket"), "a");
  EXPECT_EQ(RenameHint("--@renamed   from=a"), "a");
  EXPECT_EQ(RenameHint("-- @renamed\tfrom=a\tlater"), "a");
  // A malformed candidate does not hide a later well-formed one.
  EXPECT_EQ(RenameHint("-- @renamedfoo @renamed from=b"), "b");
}

TEST(DdlRenameHint, RejectsMalformedHints) {
  EXPECT_EQ(RenameHint("-- @renamedfoo from=x"), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamer from=x"), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed"), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed to=x"), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from="), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from= "), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from=\"\""), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from=\"unterminated"), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from=\"ab\"\""), std::nullopt);
  EXPECT_EQ(RenameHint("-- @renamed from=[open"), std::nullopt);
  EXPECT_EQ(RenameHint("-- renamed from=x"), std::nullopt);
  EXPECT_EQ(RenameHint("-- mail me@renamed from=x"), std::nullopt);
  EXPECT_EQ(RenameHint(""), std::nullopt);
  EXPECT_EQ(RenameHint("-- plain comment"), std::nullopt);
}

// ---------------------------------------------------------------------------
// ParseCreateTable: names and structure

TEST(DdlParseCreateTable, RejectsOtherStatements) {
  EXPECT_EQ(ParseCreateTable("CREATE INDEX i ON t(a)"), std::nullopt);
  EXPECT_EQ(ParseCreateTable("CREATE VIEW v AS SELECT 1"), std::nullopt);
  EXPECT_EQ(ParseCreateTable("CREATE VIRTUAL TABLE f USING fts5(a)"), std::nullopt);
  EXPECT_EQ(ParseCreateTable("SELECT 1"), std::nullopt);
  EXPECT_EQ(ParseCreateTable(""), std::nullopt);
  EXPECT_EQ(ParseCreateTable("CREATE TABLE t"), std::nullopt);
  EXPECT_EQ(ParseCreateTable("CREATE TABLE t (a, b"), std::nullopt);
  EXPECT_EQ(ParseCreateTable("CREATE TABLE (a)"), std::nullopt);
}

TEST(DdlParseCreateTable, NamesInEveryQuotingAndSchema) {
  CreateTableDef def = Table("CREATE TABLE \"my \"\"t\"\"\" (a)");
  EXPECT_EQ(def.name, "my \"t\"");
  EXPECT_EQ(def.schema, "");
  EXPECT_EQ(Table("CREATE TABLE [order] (a)").name, "order");
  EXPECT_EQ(Table("CREATE TABLE `select` (a)").name, "select");
  EXPECT_EQ(Table("CREATE TABLE 'str name' (a)").name, "str name");
  EXPECT_EQ(Table("create table 日本(名前 text)").name, "日本");

  std::string_view sql = "CREATE TABLE main.\"T 1\" (a)";
  def = Table(sql);
  EXPECT_EQ(def.schema, "main");
  EXPECT_EQ(def.name, "T 1");
  EXPECT_EQ(def.name_span.Of(sql), "main.\"T 1\"");

  sql = "CREATE TEMP TABLE IF NOT EXISTS temp.t(a)";
  def = Table(sql);
  EXPECT_EQ(def.schema, "temp");
  EXPECT_EQ(def.name, "t");
  EXPECT_EQ(def.name_span.Of(sql), "temp.t");
  EXPECT_EQ(Table("create temporary table if not exists x(a)").name, "x");
  // A table may itself be called "if".
  EXPECT_EQ(Table("CREATE TABLE if(a)").name, "if");
}

TEST(DdlParseCreateTable, AsSelect) {
  CreateTableDef def = Table("CREATE TABLE t2 AS SELECT a, b FROM t1");
  EXPECT_TRUE(def.as_select);
  EXPECT_EQ(def.name, "t2");
  EXPECT_TRUE(def.columns.empty());
  EXPECT_FALSE(Table("CREATE TABLE t(a)").as_select);
}

TEST(DdlParseCreateTable, KeywordCaseDoesNotMatter) {
  CreateTableDef def = Table(
      "cReAtE tAbLe t (a InTeGeR pRiMaRy KeY aUtOiNcReMeNt, b tExT nOt NuLl uNiQuE "
      "cOlLaTe NoCaSe dEfAuLt 'x') WiThOuT rOwId");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_EQ(def.columns[0].type, "InTeGeR");
  EXPECT_TRUE(def.columns[0].primary_key);
  EXPECT_TRUE(def.columns[0].autoincrement);
  EXPECT_TRUE(def.autoincrement);
  EXPECT_EQ(def.columns[1].type, "tExT");
  EXPECT_TRUE(def.columns[1].not_null);
  EXPECT_TRUE(def.columns[1].unique);
  EXPECT_EQ(def.columns[1].collate, "NoCaSe");
  EXPECT_EQ(def.columns[1].default_expr, "'x'");
  EXPECT_TRUE(def.without_rowid);
}

TEST(DdlParseCreateTable, MultiWordAndSizedTypes) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a VARCHAR (10), b double precision, c DECIMAL(10, 2) NOT NULL, "
      "d unsigned big int, e, f NATIVE CHARACTER(70) DEFAULT 'x', g \"quoted\" type, "
      "h INT(-5, +3))");
  ASSERT_EQ(def.columns.size(), 8u);
  Strings types;
  for (const auto& c : def.columns) types.push_back(c.type);
  EXPECT_EQ(types,
            (Strings{"VARCHAR (10)", "double precision", "DECIMAL(10, 2)", "unsigned big int", "",
                     "NATIVE CHARACTER(70)", "\"quoted\" type", "INT(-5, +3)"}));
  EXPECT_TRUE(def.columns[2].not_null);
  EXPECT_EQ(def.columns[4].name, "e");
  EXPECT_EQ(def.columns[4].definition, "e");
}

TEST(DdlParseCreateTable, TypeStopsAtEveryConstraintKeyword) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a int CONSTRAINT c CHECK (a > 0), b int PRIMARY KEY, c int NOT NULL, "
      "d int NULL, e int UNIQUE, f int CHECK (f), g int DEFAULT 1, h int COLLATE x, "
      "i int REFERENCES p, j int GENERATED ALWAYS AS (1), k int AS (2), l NULL)");
  ASSERT_EQ(def.columns.size(), 12u);
  for (size_t i = 0; i + 1 < def.columns.size(); ++i) {
    EXPECT_EQ(def.columns[i].type, "int") << def.columns[i].name;
  }
  EXPECT_EQ(def.columns[11].type, "");
}

TEST(DdlParseCreateTable, DefinitionIsVerbatimWithoutCommaOrComment) {
  CreateTableDef def = Table(
      "CREATE TABLE t (\n  id   INTEGER  PRIMARY KEY, -- the id\n  \"na me\" TEXT /* x */ "
      "DEFAULT ('a,b') , c\n)");
  ASSERT_EQ(def.columns.size(), 3u);
  EXPECT_EQ(def.columns[0].definition, "id   INTEGER  PRIMARY KEY");
  EXPECT_EQ(def.columns[1].name, "na me");
  EXPECT_EQ(def.columns[1].definition, "\"na me\" TEXT /* x */ DEFAULT ('a,b')");
  EXPECT_EQ(def.columns[1].default_expr, "('a,b')");
  EXPECT_EQ(def.columns[2].definition, "c");
}

TEST(DdlParseCreateTable, CommentsAndStringsDoNotSplitColumns) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a TEXT DEFAULT 'x, y) -- z', -- b int,\n/* c int, */ d TEXT "
      "CHECK (d <> ')' AND d <> '(' ))");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_EQ(def.columns[0].default_expr, "'x, y) -- z'");
  EXPECT_EQ(def.columns[1].name, "d");
  ASSERT_EQ(def.columns[1].checks.size(), 1u);
  EXPECT_EQ(def.columns[1].checks[0].expr, "d <> ')' AND d <> '('");
}

// ---------------------------------------------------------------------------
// ParseCreateTable: column constraints

TEST(DdlParseCreateTable, PrimaryKeyWithOrderConflictAndAutoincrement) {
  CreateTableDef def =
      Table("CREATE TABLE t (id INTEGER PRIMARY KEY DESC ON CONFLICT REPLACE AUTOINCREMENT, x)");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_TRUE(def.columns[0].primary_key);
  EXPECT_TRUE(def.columns[0].autoincrement);
  EXPECT_TRUE(def.autoincrement);
  EXPECT_FALSE(def.columns[1].primary_key);
  EXPECT_FALSE(def.primary_key.has_value());

  def = Table("CREATE TABLE t (id INTEGER PRIMARY KEY ASC)");
  EXPECT_TRUE(def.columns[0].primary_key);
  EXPECT_FALSE(def.columns[0].autoincrement);
  EXPECT_FALSE(def.autoincrement);
}

TEST(DdlParseCreateTable, NotNullNullAndUniqueWithConflictClauses) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a NOT NULL ON CONFLICT IGNORE, b NULL ON CONFLICT FAIL, "
      "c UNIQUE ON CONFLICT ROLLBACK NOT NULL, d TEXT NULL, e INT NOT NULL ON CONFLICT ABORT "
      "UNIQUE)");
  ASSERT_EQ(def.columns.size(), 5u);
  EXPECT_TRUE(def.columns[0].not_null);
  EXPECT_EQ(def.columns[0].type, "");
  EXPECT_FALSE(def.columns[1].not_null);
  EXPECT_TRUE(def.columns[2].unique);
  EXPECT_TRUE(def.columns[2].not_null);
  EXPECT_FALSE(def.columns[3].not_null);
  EXPECT_FALSE(def.columns[3].unique);
  EXPECT_TRUE(def.columns[4].not_null);
  EXPECT_TRUE(def.columns[4].unique);
}

TEST(DdlParseCreateTable, ColumnChecksWithNestedParentheses) {
  CreateTableDef def = Table(
      "CREATE TABLE t (name TEXT CHECK (length(trim(name, ')')) > 0) "
      "CONSTRAINT upper_ok CHECK(name = upper(name)), n INT CHECK ((n))) STRICT");
  ASSERT_EQ(def.columns.size(), 2u);
  ASSERT_EQ(def.columns[0].checks.size(), 2u);
  EXPECT_EQ(def.columns[0].checks[0].name, "");
  EXPECT_EQ(def.columns[0].checks[0].expr, "length(trim(name, ')')) > 0");
  EXPECT_EQ(def.columns[0].checks[1].name, "upper_ok");
  EXPECT_EQ(def.columns[0].checks[1].expr, "name = upper(name)");
  ASSERT_EQ(def.columns[1].checks.size(), 1u);
  EXPECT_EQ(def.columns[1].checks[0].expr, "(n)");
  EXPECT_TRUE(def.checks.empty());
  EXPECT_TRUE(def.strict);
}

TEST(DdlParseCreateTable, DefaultForms) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a DEFAULT 'abc', b DEFAULT (1 + 2), c DEFAULT CURRENT_TIMESTAMP, "
      "d INT DEFAULT -1, e REAL DEFAULT +1.5, f DEFAULT TRUE, g DEFAULT NULL, h DEFAULT x'0A', "
      "i DEFAULT 0x10 NOT NULL, j DEFAULT (lower(trim(' ) '))), k DEFAULT 'it''s', "
      "l DEFAULT - 2, m DEFAULT 1e-3, n TEXT)");
  Strings defaults;
  for (const auto& c : def.columns) defaults.push_back(c.default_expr.value_or("<none>"));
  EXPECT_EQ(defaults,
            (Strings{"'abc'", "(1 + 2)", "CURRENT_TIMESTAMP", "-1", "+1.5", "TRUE", "NULL", "x'0A'",
                     "0x10", "(lower(trim(' ) ')))", "'it''s'", "- 2", "1e-3", "<none>"}));
  EXPECT_TRUE(def.columns[8].not_null);
}

TEST(DdlParseCreateTable, CollateUnquotesTheName) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a TEXT COLLATE NOCASE, b TEXT COLLATE \"rtrim\", c TEXT COLLATE [x y] "
      "NOT NULL, d TEXT)");
  EXPECT_EQ(def.columns[0].collate, "NOCASE");
  EXPECT_EQ(def.columns[1].collate, "rtrim");
  EXPECT_EQ(def.columns[2].collate, "x y");
  EXPECT_TRUE(def.columns[2].not_null);
  EXPECT_EQ(def.columns[3].collate, std::nullopt);
}

TEST(DdlParseCreateTable, GeneratedColumnsBothSyntaxes) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a INT, b INT GENERATED ALWAYS AS (a * (a + 1)) STORED, "
      "c TEXT AS (upper(')' || a)) VIRTUAL, d AS (a + 1), e INT GENERATED ALWAYS AS (a) "
      "NOT NULL, f INT AS (abs(a)) stored)");
  ASSERT_EQ(def.columns.size(), 6u);
  EXPECT_EQ(def.columns[0].generated_expr, std::nullopt);
  EXPECT_EQ(def.columns[1].generated_expr, "a * (a + 1)");
  EXPECT_TRUE(def.columns[1].generated_stored);
  EXPECT_EQ(def.columns[1].type, "INT");
  EXPECT_EQ(def.columns[2].generated_expr, "upper(')' || a)");
  EXPECT_FALSE(def.columns[2].generated_stored);
  EXPECT_EQ(def.columns[3].type, "");
  EXPECT_EQ(def.columns[3].generated_expr, "a + 1");
  EXPECT_FALSE(def.columns[3].generated_stored);
  EXPECT_EQ(def.columns[4].generated_expr, "a");
  EXPECT_TRUE(def.columns[4].not_null);
  EXPECT_TRUE(def.columns[5].generated_stored);
}

TEST(DdlParseCreateTable, ColumnReferencesWithActionsAndDeferral) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a INT REFERENCES p(id) ON DELETE CASCADE ON UPDATE SET NULL NOT NULL, "
      "b INT CONSTRAINT fk_b REFERENCES \"Parent T\" MATCH simple DEFERRABLE INITIALLY "
      "DEFERRED, c INT REFERENCES q (x) on update no action on delete set default not "
      "deferrable initially immediate UNIQUE, d INT REFERENCES r ON DELETE RESTRICT)");
  ASSERT_EQ(def.columns.size(), 4u);
  ASSERT_TRUE(def.columns[0].references.has_value());
  const ForeignKeyDef& a = *def.columns[0].references;
  EXPECT_EQ(a.name, "");
  EXPECT_EQ(a.from, (Strings{"a"}));
  EXPECT_EQ(a.table, "p");
  EXPECT_EQ(a.to, (Strings{"id"}));
  EXPECT_EQ(a.on_delete, "CASCADE");
  EXPECT_EQ(a.on_update, "SET NULL");
  EXPECT_EQ(a.match, "");
  EXPECT_EQ(a.deferral, "");
  EXPECT_TRUE(def.columns[0].not_null);

  const ForeignKeyDef& b = *def.columns[1].references;
  EXPECT_EQ(b.name, "fk_b");
  EXPECT_EQ(b.table, "Parent T");
  EXPECT_TRUE(b.to.empty());
  EXPECT_EQ(b.on_delete, "NO ACTION");
  EXPECT_EQ(b.on_update, "NO ACTION");
  EXPECT_EQ(b.match, "SIMPLE");
  EXPECT_EQ(b.deferral, "DEFERRABLE INITIALLY DEFERRED");

  const ForeignKeyDef& c = *def.columns[2].references;
  EXPECT_EQ(c.to, (Strings{"x"}));
  EXPECT_EQ(c.on_update, "NO ACTION");
  EXPECT_EQ(c.on_delete, "SET DEFAULT");
  EXPECT_EQ(c.deferral, "NOT DEFERRABLE INITIALLY IMMEDIATE");
  EXPECT_TRUE(def.columns[2].unique);

  EXPECT_EQ(def.columns[3].references->on_delete, "RESTRICT");
  EXPECT_TRUE(def.foreign_keys.empty());
}

TEST(DdlParseCreateTable, EveryColumnConstraintTogether) {
  std::string_view sql =
      "CREATE TABLE t (\"select\" TEXT CONSTRAINT pk PRIMARY KEY DESC CONSTRAINT nn NOT NULL "
      "UNIQUE CHECK (\"select\" <> '') DEFAULT ('(') COLLATE nocase REFERENCES other(\"Key\") "
      "DEFERRABLE)";
  CreateTableDef def = Table(sql);
  ASSERT_EQ(def.columns.size(), 1u);
  const auto& c = def.columns[0];
  EXPECT_EQ(c.name, "select");
  EXPECT_EQ(c.type, "TEXT");
  EXPECT_TRUE(c.primary_key);
  EXPECT_FALSE(c.autoincrement);
  EXPECT_TRUE(c.not_null);
  EXPECT_TRUE(c.unique);
  ASSERT_EQ(c.checks.size(), 1u);
  EXPECT_EQ(c.checks[0].name, "");  // CONSTRAINT nn named the NOT NULL, not the CHECK
  EXPECT_EQ(c.checks[0].expr, "\"select\" <> ''");
  EXPECT_EQ(c.default_expr, "('(')");
  EXPECT_EQ(c.collate, "nocase");
  ASSERT_TRUE(c.references.has_value());
  EXPECT_EQ(c.references->table, "other");
  EXPECT_EQ(c.references->to, (Strings{"Key"}));
  EXPECT_EQ(c.references->deferral, "DEFERRABLE");
  EXPECT_EQ(c.definition, std::string_view(sql).substr(16, sql.size() - 17));
}

// ---------------------------------------------------------------------------
// ParseCreateTable: table constraints and options

TEST(DdlParseCreateTable, QuotedKeywordNamesAreColumns) {
  CreateTableDef def = Table(
      "CREATE TABLE t (\"primary\" INT, [unique] TEXT, `check` INT, 'foreign' INT, "
      "\"constraint\", PRIMARY KEY (\"primary\"))");
  Strings names;
  for (const auto& c : def.columns) names.push_back(c.name);
  EXPECT_EQ(names, (Strings{"primary", "unique", "check", "foreign", "constraint"}));
  ASSERT_TRUE(def.primary_key.has_value());
  EXPECT_EQ(def.primary_key->columns, (Strings{"\"primary\""}));
}

TEST(DdlParseCreateTable, NamedTableConstraints) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a INT, b TEXT, c INT,\n"
      "  CONSTRAINT pk_t PRIMARY KEY (a, b DESC) ON CONFLICT ABORT,\n"
      "  CONSTRAINT \"u b\" UNIQUE (b COLLATE nocase),\n"
      "  UNIQUE (c, a),\n"
      "  CONSTRAINT ck CHECK (c > (a + 1)),\n"
      "  CHECK (b <> ','),\n"
      "  CONSTRAINT fk_c FOREIGN KEY (c, \"A\") REFERENCES p (x, y) ON DELETE CASCADE\n"
      "    DEFERRABLE INITIALLY DEFERRED,\n"
      "  FOREIGN KEY (b) REFERENCES q\n)");
  EXPECT_EQ(def.columns.size(), 3u);
  ASSERT_TRUE(def.primary_key.has_value());
  EXPECT_EQ(def.primary_key->name, "pk_t");
  EXPECT_EQ(def.primary_key->columns, (Strings{"a", "b DESC"}));
  EXPECT_EQ(def.primary_key->text, "CONSTRAINT pk_t PRIMARY KEY (a, b DESC) ON CONFLICT ABORT");
  for (const auto& c : def.columns) EXPECT_FALSE(c.primary_key);

  ASSERT_EQ(def.uniques.size(), 2u);
  EXPECT_EQ(def.uniques[0].name, "u b");
  EXPECT_EQ(def.uniques[0].columns, (Strings{"b COLLATE nocase"}));
  EXPECT_EQ(def.uniques[0].text, "CONSTRAINT \"u b\" UNIQUE (b COLLATE nocase)");
  EXPECT_EQ(def.uniques[1].name, "");
  EXPECT_EQ(def.uniques[1].columns, (Strings{"c", "a"}));
  EXPECT_EQ(def.uniques[1].text, "UNIQUE (c, a)");

  ASSERT_EQ(def.checks.size(), 2u);
  EXPECT_EQ(def.checks[0].name, "ck");
  EXPECT_EQ(def.checks[0].expr, "c > (a + 1)");
  EXPECT_EQ(def.checks[1].name, "");
  EXPECT_EQ(def.checks[1].expr, "b <> ','");

  ASSERT_EQ(def.foreign_keys.size(), 2u);
  const ForeignKeyDef& fk = def.foreign_keys[0];
  EXPECT_EQ(fk.name, "fk_c");
  EXPECT_EQ(fk.from, (Strings{"c", "A"}));
  EXPECT_EQ(fk.table, "p");
  EXPECT_EQ(fk.to, (Strings{"x", "y"}));
  EXPECT_EQ(fk.on_delete, "CASCADE");
  EXPECT_EQ(fk.on_update, "NO ACTION");
  EXPECT_EQ(fk.deferral, "DEFERRABLE INITIALLY DEFERRED");
  EXPECT_EQ(def.foreign_keys[1].name, "");
  EXPECT_EQ(def.foreign_keys[1].from, (Strings{"b"}));
  EXPECT_EQ(def.foreign_keys[1].table, "q");
  EXPECT_TRUE(def.foreign_keys[1].to.empty());
  EXPECT_EQ(def.foreign_keys[1].deferral, "");
}

TEST(DdlParseCreateTable, TableConstraintsWithoutSeparatingCommas) {
  CreateTableDef def =
      Table("CREATE TABLE t (a, b, PRIMARY KEY (a) UNIQUE (b) CONSTRAINT c CHECK (a > b))");
  ASSERT_TRUE(def.primary_key.has_value());
  EXPECT_EQ(def.primary_key->text, "PRIMARY KEY (a)");
  ASSERT_EQ(def.uniques.size(), 1u);
  EXPECT_EQ(def.uniques[0].text, "UNIQUE (b)");
  ASSERT_EQ(def.checks.size(), 1u);
  EXPECT_EQ(def.checks[0].name, "c");
  EXPECT_EQ(def.checks[0].expr, "a > b");
}

TEST(DdlParseCreateTable, TablePrimaryKeyAutoincrement) {
  CreateTableDef def = Table("CREATE TABLE t (id INTEGER, x, PRIMARY KEY (id AUTOINCREMENT))");
  EXPECT_TRUE(def.autoincrement);
  EXPECT_TRUE(def.columns[0].autoincrement);
  EXPECT_FALSE(def.columns[1].autoincrement);
  EXPECT_EQ(def.primary_key->columns, (Strings{"id"}));
}

TEST(DdlParseCreateTable, ForeignKeyDeferralForms) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", ""},
      {"DEFERRABLE", "DEFERRABLE"},
      {"deferrable initially deferred", "DEFERRABLE INITIALLY DEFERRED"},
      {"DEFERRABLE  INITIALLY  IMMEDIATE", "DEFERRABLE INITIALLY IMMEDIATE"},
      {"NOT DEFERRABLE", "NOT DEFERRABLE"},
      {"not deferrable initially deferred", "NOT DEFERRABLE INITIALLY DEFERRED"},
      {"NOT /* c */ DEFERRABLE INITIALLY IMMEDIATE", "NOT DEFERRABLE INITIALLY IMMEDIATE"},
      {"ON UPDATE CASCADE DEFERRABLE ON DELETE SET NULL", "DEFERRABLE"},
  };
  for (const auto& [clause, want] : cases) {
    CreateTableDef def =
        Table("CREATE TABLE t (a, FOREIGN KEY (a) REFERENCES p (b) " + clause + ")");
    ASSERT_EQ(def.foreign_keys.size(), 1u) << clause;
    EXPECT_EQ(def.foreign_keys[0].deferral, want) << clause;
  }
  CreateTableDef def = Table(
      "CREATE TABLE t (a, FOREIGN KEY (a) REFERENCES p ON UPDATE CASCADE DEFERRABLE ON DELETE "
      "SET NULL MATCH FULL)");
  EXPECT_EQ(def.foreign_keys[0].on_update, "CASCADE");
  EXPECT_EQ(def.foreign_keys[0].on_delete, "SET NULL");
  EXPECT_EQ(def.foreign_keys[0].match, "FULL");
}

TEST(DdlParseCreateTable, TableOptionsInAnyCaseAndCombination) {
  struct Case {
    std::string_view options;
    bool without_rowid;
    bool strict;
  };
  for (const Case& c :
       {Case{"", false, false}, Case{"WITHOUT ROWID", true, false},
        Case{"without rowid", true, false}, Case{"STRICT", false, true},
        Case{"strict", false, true}, Case{"WITHOUT ROWID, STRICT", true, true},
        Case{"Strict , Without RowID", true, true}, Case{"strict,without rowid", true, true},
        Case{"/* c */ WITHOUT -- x\n ROWID", true, false}}) {
    CreateTableDef def = Table("CREATE TABLE t (a INT PRIMARY KEY) " + std::string(c.options));
    EXPECT_EQ(def.without_rowid, c.without_rowid) << c.options;
    EXPECT_EQ(def.strict, c.strict) << c.options;
  }
  // A column called "strict" is not the option.
  CreateTableDef def = Table("CREATE TABLE t (strict INT, \"without\" rowid)");
  EXPECT_FALSE(def.strict);
  EXPECT_FALSE(def.without_rowid);
  EXPECT_EQ(def.columns[0].name, "strict");
  EXPECT_EQ(def.columns[1].type, "rowid");
  // A trailing semicolon from user DDL is harmless.
  EXPECT_TRUE(Table("CREATE TABLE t (a) STRICT;").strict);
}

TEST(DdlParseCreateTable, IdentifiersWithSpacesQuotesUnicodeAndKeywords) {
  CreateTableDef def = Table(
      "CREATE TABLE \"we\"\"ird\" (\"first name\" TEXT, [last\"name] TEXT, `it``s` INT, "
      "naïve TEXT, 日本 INT, \"order\" INT, \"group\" INT REFERENCES [my table]([a b]))");
  EXPECT_EQ(def.name, "we\"ird");
  Strings names;
  for (const auto& c : def.columns) names.push_back(c.name);
  EXPECT_EQ(names,
            (Strings{"first name", "last\"name", "it`s", "naïve", "日本", "order", "group"}));
  EXPECT_EQ(def.columns[6].references->table, "my table");
  EXPECT_EQ(def.columns[6].references->to, (Strings{"a b"}));
  EXPECT_EQ(def.columns[3].definition, "naïve TEXT");
}

// ---------------------------------------------------------------------------
// ParseCreateTable: rename hints (examples from sqldef's test suite)

TEST(DdlParseCreateTable, RenameHintAfterOpenParenBelongsToTable) {
  CreateTableDef def = Table(
      "CREATE TABLE users ( -- @renamed from=user_accounts\n  id bigint NOT NULL,\n  username "
      "text\n)");
  EXPECT_EQ(def.renamed_from, "user_accounts");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[1].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[0].definition, "id bigint NOT NULL");
  EXPECT_TRUE(def.columns[0].not_null);
}

TEST(DdlParseCreateTable, RenameHintBetweenNameAndParenBelongsToTable) {
  CreateTableDef def = Table(
      "CREATE TABLE new_users /* @renamed from=old_users */ (\n id bigint NOT NULL, name text)");
  EXPECT_EQ(def.name, "new_users");
  EXPECT_EQ(def.renamed_from, "old_users");
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[1].renamed_from, std::nullopt);
}

TEST(DdlParseCreateTable, QuotedTableRenameHint) {
  CreateTableDef def = Table(
      "CREATE TABLE \"user_profiles\" ( -- @renamed from=\"user accounts\"\n id bigint NOT "
      "NULL)");
  EXPECT_EQ(def.name, "user_profiles");
  EXPECT_EQ(def.renamed_from, "user accounts");
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
}

TEST(DdlParseCreateTable, ColumnRenameHintAfterComma) {
  CreateTableDef def = Table(
      "CREATE TABLE users (\n  id bigint NOT NULL,\n  user_name text, -- @renamed "
      "from=username\n  age integer\n)");
  EXPECT_EQ(def.renamed_from, std::nullopt);
  ASSERT_EQ(def.columns.size(), 3u);
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[1].name, "user_name");
  EXPECT_EQ(def.columns[1].renamed_from, "username");
  EXPECT_EQ(def.columns[1].definition, "user_name text");
  EXPECT_EQ(def.columns[2].renamed_from, std::nullopt);
}

TEST(DdlParseCreateTable, LastColumnDeprecatedRenameHint) {
  CreateTableDef def = Table(
      "CREATE TABLE users (\n  id integer NOT NULL PRIMARY KEY,\n  user_name text NOT NULL -- "
      "@rename from=username\n)");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[1].renamed_from, "username");
  EXPECT_EQ(def.columns[1].definition, "user_name text NOT NULL");
  EXPECT_TRUE(def.columns[1].not_null);
}

TEST(DdlParseCreateTable, ColumnRenameHintInsideDefinition) {
  CreateTableDef def = Table(
      "CREATE TABLE t (a /* @renamed from=\"old a\" */ INT NOT NULL, b [x] /* @renamed "
      "from=[old b] */, c)");
  EXPECT_EQ(def.renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[0].renamed_from, "old a");
  EXPECT_EQ(def.columns[0].type, "INT");
  EXPECT_EQ(def.columns[1].renamed_from, "old b");
  EXPECT_EQ(def.columns[1].definition, "b [x]");
  EXPECT_EQ(def.columns[2].renamed_from, std::nullopt);
}

TEST(DdlParseCreateTable, HintsThatAreNotHintsAreIgnored) {
  CreateTableDef def = Table(
      "CREATE TABLE t ( -- @renamedfoo from=x\n a INT, -- @renamed to=y\n b INT -- just text\n,"
      "CHECK (a > 0) -- @renamed from=z\n)");
  EXPECT_EQ(def.renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[1].renamed_from, std::nullopt);
  ASSERT_EQ(def.checks.size(), 1u);
  // A hint text inside a string is not a comment.
  def = Table("CREATE TABLE t (a DEFAULT '-- @renamed from=x', b)");
  EXPECT_EQ(def.columns[0].renamed_from, std::nullopt);
  EXPECT_EQ(def.columns[0].default_expr, "'-- @renamed from=x'");
}

// ---------------------------------------------------------------------------
// ParseCreateTable against SQLite itself

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtCloser {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};

TEST(DdlParseCreateTable, AgreesWithSqlitePragmas) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, DbCloser> db(raw);
  const char* ddl =
      "CREATE TABLE p (id INTEGER PRIMARY KEY, k TEXT UNIQUE);"
      "CREATE TABLE \"T x\" (\n"
      "  id INTEGER PRIMARY KEY AUTOINCREMENT, -- c1\n"
      "  \"na,me\" VARCHAR (10) NOT NULL DEFAULT 'a(b', /* c2 */\n"
      "  d double precision DEFAULT -1.5,\n"
      "  e DECIMAL(10, 2) COLLATE nocase CHECK (e > (0)),\n"
      "  f unsigned big int REFERENCES p(k) ON DELETE CASCADE,\n"
      "  g AS (e * 2) STORED,\n"
      "  h NOT NULL DEFAULT (lower('X'))\n"
      ");";
  ASSERT_EQ(sqlite3_exec(db.get(), ddl, nullptr, nullptr, nullptr), SQLITE_OK);

  auto query = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql, -1, &s, nullptr), SQLITE_OK) << sql;
    return std::unique_ptr<sqlite3_stmt, StmtCloser>(s);
  };
  auto text = [](sqlite3_stmt* s, int col) {
    const unsigned char* t = sqlite3_column_text(s, col);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string("<null>");
  };

  auto stored = query("SELECT sql FROM sqlite_schema WHERE name = 'T x'");
  ASSERT_EQ(sqlite3_step(stored.get()), SQLITE_ROW);
  CreateTableDef def = Table(text(stored.get(), 0));
  EXPECT_EQ(def.name, "T x");
  EXPECT_TRUE(def.autoincrement);

  auto info = query(
      "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo('T x')");
  size_t i = 0;
  while (sqlite3_step(info.get()) == SQLITE_ROW) {
    ASSERT_LT(i, def.columns.size());
    const auto& c = def.columns[i++];
    EXPECT_EQ(c.name, text(info.get(), 0));
    EXPECT_EQ(c.type, text(info.get(), 1)) << c.name;
    EXPECT_EQ(c.not_null, sqlite3_column_int(info.get(), 2) != 0) << c.name;
    EXPECT_EQ(c.primary_key, sqlite3_column_int(info.get(), 4) != 0) << c.name;
    EXPECT_EQ(c.generated_expr.has_value(), sqlite3_column_int(info.get(), 5) >= 2) << c.name;
    // SQLite reports a parenthesized default without its parentheses.
    std::string dflt = c.default_expr.value_or("<null>");
    if (dflt.size() > 1 && dflt.front() == '(') dflt = dflt.substr(1, dflt.size() - 2);
    EXPECT_EQ(dflt, text(info.get(), 3)) << c.name;
  }
  EXPECT_EQ(i, def.columns.size());

  auto fks =
      query("SELECT \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list('T x')");
  ASSERT_EQ(sqlite3_step(fks.get()), SQLITE_ROW);
  ASSERT_TRUE(def.columns[4].references.has_value());
  EXPECT_EQ(def.columns[4].references->table, text(fks.get(), 0));
  EXPECT_EQ(def.columns[4].references->from, (Strings{text(fks.get(), 1)}));
  EXPECT_EQ(def.columns[4].references->to, (Strings{text(fks.get(), 2)}));
  EXPECT_EQ(def.columns[4].references->on_delete, text(fks.get(), 3));
}

// ---------------------------------------------------------------------------
// ParseCreateIndex

TEST(DdlParseCreateIndex, PlainAndUnique) {
  std::string_view sql = "CREATE INDEX idx_a ON t (a)";
  CreateIndexDef def = Index(sql);
  EXPECT_EQ(def.name, "idx_a");
  EXPECT_EQ(def.schema, "");
  EXPECT_EQ(def.name_span.Of(sql), "idx_a");
  EXPECT_EQ(def.table, "t");
  EXPECT_FALSE(def.unique);
  ASSERT_EQ(def.columns.size(), 1u);
  EXPECT_EQ(def.columns[0].expr, "a");
  EXPECT_EQ(def.columns[0].collate, std::nullopt);
  EXPECT_FALSE(def.columns[0].desc);
  EXPECT_EQ(def.where, std::nullopt);

  sql = "create unique index if not exists main.\"Idx B\" on [my t](\"a b\", c);";
  def = Index(sql);
  EXPECT_TRUE(def.unique);
  EXPECT_EQ(def.schema, "main");
  EXPECT_EQ(def.name, "Idx B");
  EXPECT_EQ(def.name_span.Of(sql), "main.\"Idx B\"");
  EXPECT_EQ(def.table, "my t");
  ASSERT_EQ(def.columns.size(), 2u);
  EXPECT_EQ(def.columns[0].expr, "\"a b\"");
  EXPECT_EQ(def.columns[1].expr, "c");
}

TEST(DdlParseCreateIndex, CollateAndOrderAreStripped) {
  CreateIndexDef def = Index(
      "CREATE INDEX i ON t (a COLLATE NOCASE DESC, b ASC, c COLLATE \"rtrim\", "
      "lower(d) COLLATE [x y] desc, e DeSc, \"desc\")");
  ASSERT_EQ(def.columns.size(), 6u);
  EXPECT_EQ(def.columns[0].expr, "a");
  EXPECT_EQ(def.columns[0].collate, "NOCASE");
  EXPECT_TRUE(def.columns[0].desc);
  EXPECT_EQ(def.columns[1].expr, "b");
  EXPECT_EQ(def.columns[1].collate, std::nullopt);
  EXPECT_FALSE(def.columns[1].desc);
  EXPECT_EQ(def.columns[2].expr, "c");
  EXPECT_EQ(def.columns[2].collate, "rtrim");
  EXPECT_FALSE(def.columns[2].desc);
  EXPECT_EQ(def.columns[3].expr, "lower(d)");
  EXPECT_EQ(def.columns[3].collate, "x y");
  EXPECT_TRUE(def.columns[3].desc);
  EXPECT_EQ(def.columns[4].expr, "e");
  EXPECT_TRUE(def.columns[4].desc);
  EXPECT_EQ(def.columns[5].expr, "\"desc\"");
  EXPECT_FALSE(def.columns[5].desc);
}

TEST(DdlParseCreateIndex, ExpressionColumnsSplitAtTopLevelCommasOnly) {
  CreateIndexDef def = Index(
      "CREATE INDEX i ON t (substr(name, 1, 3), coalesce(a, ','), (b + c) * 2 DESC, "
      "json_extract(doc, '$.a,b') COLLATE binary)");
  ASSERT_EQ(def.columns.size(), 4u);
  EXPECT_EQ(def.columns[0].expr, "substr(name, 1, 3)");
  EXPECT_EQ(def.columns[1].expr, "coalesce(a, ',')");
  EXPECT_EQ(def.columns[2].expr, "(b + c) * 2");
  EXPECT_TRUE(def.columns[2].desc);
  EXPECT_EQ(def.columns[3].expr, "json_extract(doc, '$.a,b')");
  EXPECT_EQ(def.columns[3].collate, "binary");
}

TEST(DdlParseCreateIndex, PartialIndexWhere) {
  CreateIndexDef def = Index(
      "CREATE UNIQUE INDEX i ON t (email COLLATE nocase) WHERE deleted_at IS NULL AND "
      "(status <> 'gone)')");
  EXPECT_TRUE(def.unique);
  EXPECT_EQ(def.columns[0].collate, "nocase");
  EXPECT_EQ(def.where, "deleted_at IS NULL AND (status <> 'gone)')");
  EXPECT_EQ(Index("create index i on t(a) where a > 0;").where, "a > 0");
  EXPECT_EQ(Index("create index i on t(a) where  a > 0 -- c").where, "a > 0");
}

TEST(DdlParseCreateIndex, RenameHintBetweenNameAndOn) {
  CreateIndexDef def =
      Index("CREATE INDEX new_email_idx /* @renamed from=old_email_idx */ ON users (email)");
  EXPECT_EQ(def.name, "new_email_idx");
  EXPECT_EQ(def.renamed_from, "old_email_idx");
  EXPECT_EQ(def.table, "users");
  EXPECT_EQ(def.columns[0].expr, "email");
  EXPECT_EQ(Index("CREATE INDEX i -- @renamed from=\"old i\"\n ON t (a)").renamed_from, "old i");
  EXPECT_EQ(Index("CREATE INDEX i ON t (a) -- @renamed from=x").renamed_from, std::nullopt);
}

TEST(DdlParseCreateIndex, RejectsOtherStatements) {
  EXPECT_EQ(ParseCreateIndex("CREATE TABLE t (a)"), std::nullopt);
  EXPECT_EQ(ParseCreateIndex("CREATE INDEX i"), std::nullopt);
  EXPECT_EQ(ParseCreateIndex("CREATE INDEX i ON t"), std::nullopt);
  EXPECT_EQ(ParseCreateIndex("CREATE INDEX i ON t (a"), std::nullopt);
  EXPECT_EQ(ParseCreateIndex("DROP INDEX i"), std::nullopt);
}

// ---------------------------------------------------------------------------
// FindObjectName, TriggerTable

TEST(DdlFindObjectName, EveryKindAndPrefix) {
  EXPECT_EQ(NameAt("CREATE TABLE t (a)"), "t");
  EXPECT_EQ(NameAt("CREATE TABLE \"my t\"(a)"), "\"my t\"");
  EXPECT_EQ(NameAt("CREATE TEMP TABLE x AS SELECT 1"), "x");
  EXPECT_EQ(NameAt("CREATE TEMPORARY VIEW v AS SELECT 1"), "v");
  EXPECT_EQ(NameAt("CREATE UNIQUE INDEX [i 1] ON t(a)"), "[i 1]");
  EXPECT_EQ(NameAt("CREATE VIRTUAL TABLE f USING fts5(a)"), "f");
  EXPECT_EQ(NameAt("CREATE TRIGGER IF NOT EXISTS trg AFTER INSERT ON t BEGIN SELECT 1; END"),
            "trg");
  EXPECT_EQ(NameAt("create view if not exists `v``1` as select 1"), "`v``1`");
  EXPECT_EQ(NameAt("CREATE TABLE 日本 (a)"), "日本");
  EXPECT_EQ(NameAt("CREATE /* c */ TABLE -- d\n t(a)"), "t");
}

TEST(DdlFindObjectName, SchemaQualifiedNames) {
  std::string_view sql = "CREATE TABLE main.t (a)";
  std::optional<Span> span = FindObjectName(sql);
  ASSERT_TRUE(span.has_value());
  EXPECT_EQ(span->begin, 13u);
  EXPECT_EQ(span->end, 19u);
  EXPECT_EQ(NameAt("CREATE INDEX \"aux db\".\"i\" ON t(a)"), "\"aux db\".\"i\"");
  EXPECT_EQ(NameAt("CREATE VIEW temp . v AS SELECT 1"), "temp . v");
  EXPECT_EQ(NameAt("CREATE TRIGGER main.trg BEFORE DELETE ON t BEGIN SELECT 1; END"), "main.trg");
}

TEST(DdlFindObjectName, NotACreateStatement) {
  EXPECT_EQ(FindObjectName("SELECT 1"), std::nullopt);
  EXPECT_EQ(FindObjectName("CREATE"), std::nullopt);
  EXPECT_EQ(FindObjectName("CREATE TABLE"), std::nullopt);
  EXPECT_EQ(FindObjectName("CREATE SEQUENCE s"), std::nullopt);
  EXPECT_EQ(FindObjectName(""), std::nullopt);
}

TEST(DdlTriggerTable, FindsTheOnTable) {
  EXPECT_EQ(TriggerTable("CREATE TRIGGER trg AFTER INSERT ON users BEGIN SELECT 1; END"), "users");
  EXPECT_EQ(
      TriggerTable("CREATE TRIGGER trg BEFORE UPDATE OF a, \"on\" ON \"My T\" FOR EACH ROW WHEN "
                   "new.a > 0 BEGIN UPDATE other SET x = 1 WHERE y IN (SELECT 1); END"),
      "My T");
  EXPECT_EQ(TriggerTable("create temp trigger if not exists t1 instead of delete on main.[v 1] "
                         "begin delete from x; end"),
            "v 1");
  EXPECT_EQ(TriggerTable("CREATE TRIGGER main.\"on\" DELETE ON t BEGIN SELECT 1; END"), "t");
  EXPECT_EQ(TriggerTable("CREATE TRIGGER trg /* ON nope */ UPDATE ON t BEGIN SELECT 1; END"), "t");
}

TEST(DdlTriggerTable, NotATrigger) {
  EXPECT_EQ(TriggerTable("CREATE TABLE t (a)"), std::nullopt);
  EXPECT_EQ(TriggerTable("CREATE INDEX i ON t (a)"), std::nullopt);
  EXPECT_EQ(TriggerTable("CREATE TRIGGER trg AFTER INSERT"), std::nullopt);
}

// ---------------------------------------------------------------------------
// Identifiers, RenameIdentifier

TEST(DdlIdentifiers, CollectsLowerCasedNamesOnly) {
  std::set<std::string> ids = Identifiers(
      "CREATE VIEW v AS SELECT \"First Name\", [T].x, `y` FROM T /* hidden */ WHERE s = 'Lit' "
      "AND n > 1 AND :p -- z");
  EXPECT_EQ(ids, (std::set<std::string>{"create", "view", "v", "as", "select", "first name", "t",
                                        "x", "y", "from", "where", "s", "and", "n"}));
  EXPECT_TRUE(Identifiers("").empty());
  EXPECT_EQ(Identifiers("naïve 日本"), (std::set<std::string>{"naïve", "日本"}));
}

TEST(DdlRenameIdentifier, ReplacesNamesInEveryQuoting) {
  EXPECT_EQ(RenameIdentifier("SELECT a, \"A\", [a], `a`, ab, t.a FROM t", "a", "b c"),
            "SELECT \"b c\", \"b c\", \"b c\", \"b c\", ab, t.\"b c\" FROM t");
  EXPECT_EQ(RenameIdentifier("SELECT Users.id FROM USERS", "users", "people"),
            "SELECT \"people\".id FROM \"people\"");
  EXPECT_EQ(RenameIdentifier("SELECT \"a\"\"b\" FROM t", "a\"b", "c\"d"),
            "SELECT \"c\"\"d\" FROM t");
}

TEST(DdlRenameIdentifier, LeavesStringsAndCommentsUntouched) {
  std::string_view sql =
      "CREATE VIEW v AS SELECT old, 'old' AS s /* old */ FROM t -- old\nWHERE old<>x'0d'";
  EXPECT_EQ(RenameIdentifier(sql, "old", "new"),
            "CREATE VIEW v AS SELECT \"new\", 'old' AS s /* old */ FROM t -- old\n"
            "WHERE \"new\"<>x'0d'");
  EXPECT_EQ(RenameIdentifier(sql, "nothing", "x"), sql);
  EXPECT_EQ(RenameIdentifier("", "a", "b"), "");
  // A blob is not the identifier x.
  EXPECT_EQ(RenameIdentifier("SELECT x, x'00'", "x", "y"), "SELECT \"y\", x'00'");
}

}  // namespace
