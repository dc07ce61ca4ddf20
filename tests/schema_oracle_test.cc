// The schema oracle (tests/support/schema_oracle.h) is what the conformance
// and migration tests trust, so it is tested on its own: spellings that mean
// the same schema compare equal, and every kind of real difference is found.
#include "support/schema_oracle.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_util.h"

namespace automigrate::testing {
namespace {

std::string Lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += "  " + l + "\n";
  return out.empty() ? "  (none)\n" : out;
}

// Loads `a` and `b` into two fresh in-memory databases (no extension) and
// compares them.
std::vector<std::string> Diff(const std::string& a, const std::string& b,
                              const OracleOptions& options = {}) {
  TestDb da(TestDb::Kind::kMemory, /*load_extension=*/false);
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  EXPECT_TRUE(da.Exec(a));
  EXPECT_TRUE(db.Exec(b));
  return SchemaDifferences(da.db(), db.db(), options);
}

void ExpectSame(const std::string& a, const std::string& b, const OracleOptions& options = {}) {
  std::vector<std::string> d = Diff(a, b, options);
  EXPECT_TRUE(d.empty()) << "expected no differences between\n  " << a << "\nand\n  " << b
                         << "\nbut got:\n"
                         << Lines(d);
}

void ExpectDifferent(const std::string& a, const std::string& b, const std::string& needle,
                     const OracleOptions& options = {}) {
  std::vector<std::string> d = Diff(a, b, options);
  bool found = false;
  for (const std::string& l : d) found = found || l.find(needle) != std::string::npos;
  EXPECT_TRUE(found) << "expected a difference containing \"" << needle << "\" between\n  " << a
                     << "\nand\n  " << b << "\ngot:\n"
                     << Lines(d);
  // The comparison goes both ways.
  EXPECT_FALSE(Diff(b, a, options).empty()) << "reverse comparison found nothing";
}

TEST(SchemaOracle, NormalizesSqlText) {
  using oracle::NormalizeSql;
  EXPECT_EQ(NormalizeSql("CREATE  VIEW \"V\" AS\n  SELECT [Id] /* c */ FROM `T` -- x\n;"),
            "create view v as select id from t");
  EXPECT_EQ(NormalizeSql("CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON u BEGIN SELECT 1; END"),
            NormalizeSql("create trigger t after insert on u begin select 1 ; end;"));
  EXPECT_NE(NormalizeSql("SELECT 'Abc'"), NormalizeSql("SELECT 'abc'"));  // literals keep case
  EXPECT_EQ(NormalizeSql("SELECT 'it''s' || \"a b\""), "select 'it''s' || \"a b\"");
  EXPECT_EQ(NormalizeSql("SELECT a>=1"), "select a >= 1");
  EXPECT_EQ(oracle::NormalizeExpr("((a > 0))"), "a > 0");
  EXPECT_EQ(oracle::NormalizeExpr("(a) + (b)"), "( a ) + ( b )");
  EXPECT_EQ(oracle::NormalizeType(" varchar ( 10 , 2 ) "), "VARCHAR(10,2)");
  EXPECT_EQ(oracle::NormalizeType("unsigned   big int"), "UNSIGNED BIG INT");
}

TEST(SchemaOracle, ReportsDifferenceInReadableForm) {
  std::vector<std::string> d = Diff("CREATE TABLE users(id INTEGER, age INTEGER)",
                                    "CREATE TABLE users(id INTEGER, age TEXT)");
  ASSERT_EQ(d.size(), 1u) << Lines(d);
  EXPECT_EQ(d[0], "table users: column age: type INTEGER vs TEXT");

  OracleOptions named;
  named.a_label = "migrated";
  named.b_label = "reference";
  d = Diff("CREATE TABLE a(x)", "CREATE TABLE b(x)", named);
  ASSERT_EQ(d.size(), 2u) << Lines(d);
  EXPECT_EQ(d[0], "table a: only in migrated");
  EXPECT_EQ(d[1], "table b: only in reference");
}

TEST(SchemaOracle, EqualSchemasWrittenDifferentlyCompareEqual) {
  ExpectSame(
      "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x' COLLATE NOCASE,"
      " age INTEGER CHECK (age >= 0), team_id INTEGER REFERENCES teams(id) ON DELETE CASCADE,"
      " UNIQUE (name, age));"
      "CREATE TABLE teams (id INTEGER PRIMARY KEY);"
      "CREATE INDEX idx_age ON users(age DESC) WHERE age > 1;"
      "CREATE VIEW v AS SELECT id, name FROM users WHERE age = 1;"
      "CREATE TRIGGER tr AFTER INSERT ON users BEGIN UPDATE users SET age = 0 WHERE id = NEW.id; "
      "END;",
      // Other whitespace, quoting, keyword case, comments, IF NOT EXISTS,
      // redundant parentheses and a different object order.
      "create table \"TEAMS\" ([ID] integer primary key);\n"
      "create table if not exists `Users` ( -- the users\n"
      "  \"id\"   integer   primary key,\n"
      "  [name] text not null default 'x' collate nocase, /* inline */\n"
      "  age integer check(AGE>=0),\n"
      "  team_id integer references \"teams\" (id) on delete cascade,\n"
      "  unique(NAME, AGE)\n"
      ");\n"
      "create index if not exists \"IDX_AGE\" on users ( age desc ) where (age>1);\n"
      "create trigger if not exists TR after insert on users begin\n"
      "  update users set age=0 where id=new.id;\n"
      "end;\n"
      "create view \"v\" as select \"id\", name from users where age=1;");
}

TEST(SchemaOracle, ColumnOrderIgnoredByDefaultComparedWhenAsked) {
  const std::string a = "CREATE TABLE t(a INTEGER, b TEXT, c BLOB)";
  const std::string b = "CREATE TABLE t(c BLOB, a INTEGER, b TEXT)";
  ExpectSame(a, b);
  OracleOptions strict;
  strict.compare_column_order = true;
  ExpectDifferent(a, b, "table t: column order (a, b, c) vs (c, a, b)", strict);
  ExpectSame(a, a, strict);
}

TEST(SchemaOracle, AlterTableResultsEqualFreshDefinitions) {
  // ADD COLUMN appends text, RENAME re-quotes: the stored SQL differs, the
  // schema does not.
  ExpectSame("CREATE TABLE t(a INTEGER); ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x';",
             "CREATE TABLE t(a INTEGER, b TEXT DEFAULT 'x')");
  ExpectSame(
      "CREATE TABLE old_t(a INTEGER); CREATE INDEX i ON old_t(a);"
      "ALTER TABLE old_t RENAME TO new_t;",
      "CREATE TABLE new_t(a INTEGER); CREATE INDEX i ON new_t(a);");
  ExpectSame(
      "CREATE TABLE t(a INTEGER); CREATE VIEW v AS SELECT a FROM t;"
      "ALTER TABLE t RENAME COLUMN a TO b;",
      "CREATE TABLE t(b INTEGER); CREATE VIEW v AS SELECT b FROM t;");
  ExpectSame("CREATE TABLE t(a INTEGER, b TEXT); ALTER TABLE t DROP COLUMN b;",
             "CREATE TABLE t(a INTEGER)");
}

TEST(SchemaOracle, EquivalentSpellingsCompareEqual) {
  // The README's no-op cases and close relatives.
  ExpectSame("CREATE TABLE t(c integer, g integer AS (c + 1))",
             "CREATE TABLE t(c integer, g integer GENERATED ALWAYS AS (c + 1) VIRTUAL)");
  ExpectSame("CREATE TABLE t(a INTEGER DEFAULT (1))", "CREATE TABLE t(a INTEGER DEFAULT 1)");
  ExpectSame("CREATE TABLE t(a INTEGER DEFAULT NULL)", "CREATE TABLE t(a INTEGER)");
  ExpectSame("CREATE TABLE t(a TEXT, CHECK (length(a) > 1))",
             "CREATE TABLE t(a TEXT CHECK (length(a)>1))");
  ExpectSame("CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p)",
             "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id))");
  ExpectSame(
      "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id) NOT DEFERRABLE)",
      "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id) DEFERRABLE "
      "INITIALLY IMMEDIATE)");
  ExpectSame("CREATE TABLE t(a INTEGER, b TEXT, UNIQUE(a))",
             "CREATE TABLE t(a INTEGER UNIQUE, b TEXT)");
  ExpectSame("CREATE TABLE t(a VARCHAR(10))", "CREATE TABLE t(a varchar ( 10 ))");
  ExpectSame("CREATE TABLE 'bigdata' ('data' integer)", "CREATE TABLE bigdata (data integer)");
}

TEST(SchemaOracle, LeavesOutInternalAndShadowTables) {
  ExpectSame(
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT);"
      "INSERT INTO t DEFAULT VALUES;"  // fills sqlite_sequence on one side only
      "CREATE TABLE _automigrate_history(id INTEGER PRIMARY KEY, x TEXT);"
      "CREATE INDEX _automigrate_idx ON _automigrate_history(x);"
      "CREATE VIRTUAL TABLE f USING fts5(body);"
      "CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx);"
      "ANALYZE;",  // sqlite_stat1
      "CREATE TABLE t(id INTEGER PRIMARY KEY AUTOINCREMENT);"
      "CREATE VIRTUAL TABLE f USING fts5(body);"
      "CREATE VIRTUAL TABLE r USING rtree(id, minx, maxx);");
}

struct DiffCase {
  const char* what;
  const char* a;
  const char* b;
  const char* needle;  // part of the expected difference line
};

TEST(SchemaOracle, DetectsEachKindOfDifference) {
  const DiffCase cases[] = {
      {"type", "CREATE TABLE t(a INTEGER)", "CREATE TABLE t(a TEXT)",
       "column a: type INTEGER vs TEXT"},
      {"type size", "CREATE TABLE t(a VARCHAR(10))", "CREATE TABLE t(a VARCHAR(20))",
       "column a: type VARCHAR(10) vs VARCHAR(20)"},
      {"not null", "CREATE TABLE t(a INTEGER NOT NULL)", "CREATE TABLE t(a INTEGER)",
       "column a: not null yes vs no"},
      {"default", "CREATE TABLE t(a INTEGER DEFAULT 1)", "CREATE TABLE t(a INTEGER DEFAULT 2)",
       "column a: default 1 vs 2"},
      {"default added", "CREATE TABLE t(a INTEGER DEFAULT 1)", "CREATE TABLE t(a INTEGER)",
       "column a: default 1 vs none"},
      {"default string case", "CREATE TABLE t(a TEXT DEFAULT 'X')",
       "CREATE TABLE t(a TEXT DEFAULT 'x')", "column a: default"},
      {"primary key", "CREATE TABLE t(a INTEGER PRIMARY KEY, b)", "CREATE TABLE t(a INTEGER, b)",
       "column a: primary key position 1 vs 0"},
      {"primary key columns", "CREATE TABLE t(a, b, PRIMARY KEY(a, b))",
       "CREATE TABLE t(a, b, PRIMARY KEY(b, a))", "column a: primary key position 1 vs 2"},
      {"collate", "CREATE TABLE t(a TEXT COLLATE NOCASE)", "CREATE TABLE t(a TEXT)",
       "column a: collate NOCASE vs BINARY"},
      {"check", "CREATE TABLE t(a INTEGER, CONSTRAINT p CHECK (a > 0))",
       "CREATE TABLE t(a INTEGER, CONSTRAINT p CHECK (a > 1))",
       "CHECK constraints [a > 0] vs [a > 1]"},
      {"check added", "CREATE TABLE t(a INTEGER CHECK (a > 0))", "CREATE TABLE t(a INTEGER)",
       "CHECK constraints [a > 0] vs none"},
      {"fk action",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id) ON DELETE "
       "CASCADE)",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id))",
       "foreign keys"},
      {"fk deferral",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id) DEFERRABLE "
       "INITIALLY DEFERRED)",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id))",
       "DEFERRABLE INITIALLY DEFERRED"},
      {"fk deferral, table constraint",
       "CREATE TABLE p(a, b, PRIMARY KEY(a, b)); CREATE TABLE c(x, y, FOREIGN KEY (x, y) "
       "REFERENCES p(a, b)"
       " DEFERRABLE INITIALLY DEFERRED)",
       "CREATE TABLE p(a, b, PRIMARY KEY(a, b)); CREATE TABLE c(x, y, FOREIGN KEY (x, y) "
       "REFERENCES p(a, b))",
       "table c: foreign keys"},
      {"fk target",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE q(id INTEGER PRIMARY KEY);"
       "CREATE TABLE c(x REFERENCES p(id))",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE q(id INTEGER PRIMARY KEY);"
       "CREATE TABLE c(x REFERENCES q(id))",
       "table c: foreign keys"},
      {"fk added", "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x REFERENCES p(id))",
       "CREATE TABLE p(id INTEGER PRIMARY KEY); CREATE TABLE c(x)", "table c: foreign keys"},
      {"unique", "CREATE TABLE t(a TEXT UNIQUE)", "CREATE TABLE t(a TEXT)",
       "table t: constraint indexes [UNIQUE(a)] vs none"},
      {"unique columns", "CREATE TABLE t(a, b, UNIQUE(a, b))",
       "CREATE TABLE t(a, b, UNIQUE(a), UNIQUE(b))", "constraint indexes"},
      {"index column", "CREATE TABLE t(a, b); CREATE INDEX i ON t(a)",
       "CREATE TABLE t(a, b); CREATE INDEX i ON t(b)", "index i: columns (a) vs (b)"},
      {"index order", "CREATE TABLE t(a, b); CREATE INDEX i ON t(a, b)",
       "CREATE TABLE t(a, b); CREATE INDEX i ON t(b, a)", "index i: columns (a, b) vs (b, a)"},
      {"index desc", "CREATE TABLE t(a); CREATE INDEX i ON t(a DESC)",
       "CREATE TABLE t(a); CREATE INDEX i ON t(a)", "index i: columns (a DESC) vs (a)"},
      {"index collate", "CREATE TABLE t(a); CREATE INDEX i ON t(a COLLATE NOCASE)",
       "CREATE TABLE t(a); CREATE INDEX i ON t(a)", "index i: columns (a COLLATE NOCASE) vs (a)"},
      {"index expression", "CREATE TABLE t(a); CREATE INDEX i ON t(lower(a))",
       "CREATE TABLE t(a); CREATE INDEX i ON t(upper(a))",
       "index i: columns ((lower ( a ))) vs ((upper ( a )))"},
      {"index unique", "CREATE TABLE t(a); CREATE UNIQUE INDEX i ON t(a)",
       "CREATE TABLE t(a); CREATE INDEX i ON t(a)", "index i: unique yes vs no"},
      {"index where",
       "CREATE TABLE t(a, s); CREATE INDEX i ON t(a) WHERE s IN ('active', 'pending')",
       "CREATE TABLE t(a, s); CREATE INDEX i ON t(a) WHERE s IN ('pending', 'active')",
       "index i: where"},
      {"index partial", "CREATE TABLE t(a); CREATE INDEX i ON t(a) WHERE a > 0",
       "CREATE TABLE t(a); CREATE INDEX i ON t(a)", "index i: where a > 0 vs none"},
      {"index table", "CREATE TABLE t(a); CREATE TABLE u(a); CREATE INDEX i ON t(a)",
       "CREATE TABLE t(a); CREATE TABLE u(a); CREATE INDEX i ON u(a)", "index i: table t vs u"},
      {"view text", "CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t WHERE a = 1",
       "CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t WHERE a = 2", "view v: sql"},
      {"trigger text",
       "CREATE TABLE t(a); CREATE TABLE l(m); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT "
       "INTO l VALUES ('inserted'); END",
       "CREATE TABLE t(a); CREATE TABLE l(m); CREATE TRIGGER tr AFTER INSERT ON t BEGIN INSERT "
       "INTO l VALUES ('Inserted'); END",
       "trigger tr: sql"},
      {"strict", "CREATE TABLE t(a INTEGER) STRICT", "CREATE TABLE t(a INTEGER)",
       "table t: strict yes vs no"},
      {"without rowid", "CREATE TABLE t(a INTEGER PRIMARY KEY) WITHOUT ROWID",
       "CREATE TABLE t(a INTEGER PRIMARY KEY)", "table t: without rowid yes vs no"},
      {"autoincrement", "CREATE TABLE t(a INTEGER PRIMARY KEY AUTOINCREMENT)",
       "CREATE TABLE t(a INTEGER PRIMARY KEY)", "table t: autoincrement yes vs no"},
      {"generated expression", "CREATE TABLE t(c INTEGER, g INTEGER AS (c + 1))",
       "CREATE TABLE t(c INTEGER, g INTEGER AS (c + 2))",
       "column g: generated expression c + 1 vs c + 2"},
      {"generated kind", "CREATE TABLE t(c INTEGER, g INTEGER AS (c + 1) STORED)",
       "CREATE TABLE t(c INTEGER, g INTEGER AS (c + 1) VIRTUAL)",
       "column g: generated STORED vs VIRTUAL"},
      {"generated vs plain", "CREATE TABLE t(c INTEGER, g INTEGER AS (c + 1))",
       "CREATE TABLE t(c INTEGER, g INTEGER)", "column g: generated VIRTUAL vs no"},
      {"missing column", "CREATE TABLE t(a, b)", "CREATE TABLE t(a)",
       "table t: column b: only in a"},
      {"missing table", "CREATE TABLE t(a); CREATE TABLE u(a)", "CREATE TABLE t(a)",
       "table u: only in a"},
      {"missing index", "CREATE TABLE t(a); CREATE INDEX i ON t(a)", "CREATE TABLE t(a)",
       "index i: only in a"},
      {"missing view", "CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t", "CREATE TABLE t(a)",
       "view v: only in a"},
      {"missing trigger",
       "CREATE TABLE t(a); CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END",
       "CREATE TABLE t(a)", "trigger tr: only in a"},
      {"table vs view", "CREATE TABLE t(a); CREATE TABLE v(a)",
       "CREATE TABLE t(a); CREATE VIEW v AS SELECT a FROM t", "table v: only in a"},
      {"virtual table arguments", "CREATE VIRTUAL TABLE f USING fts5(x, tokenize = 'porter ascii')",
       "CREATE VIRTUAL TABLE f USING fts5(x)", "table f: sql"},
      {"virtual vs ordinary", "CREATE VIRTUAL TABLE f USING fts5(x)", "CREATE TABLE f(x)",
       "table f: type virtual vs table"},
  };
  for (const DiffCase& c : cases) {
    SCOPED_TRACE(c.what);
    ExpectDifferent(c.a, c.b, c.needle);
  }
}

TEST(SchemaOracle, NamesCompareCaseInsensitively) {
  ExpectSame(
      "CREATE TABLE Users(Id INTEGER PRIMARY KEY, Name TEXT); CREATE INDEX IDX ON Users(Name)",
      "CREATE TABLE USERS(id INTEGER PRIMARY KEY, NAME TEXT); CREATE INDEX idx ON users(name)");
}

TEST(SchemaOracle, UnreadableDatabaseIsNeverEqual) {
  TestDb db(TestDb::Kind::kMemory, /*load_extension=*/false);
  std::vector<std::string> d = SchemaDifferences(nullptr, db.db());
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].find("cannot read the schema of a"), std::string::npos) << Lines(d);
}

}  // namespace
}  // namespace automigrate::testing
