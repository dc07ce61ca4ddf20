// tests/planner_equivalence_test.cc -- no false differences: the same schema
// spelled another way (whitespace, keyword case, comments, quoting, column
// order, DEFAULT 1 vs DEFAULT (1), constraint spellings, `.schema` output)
// plans nothing; and the negative controls, differences that look small but
// are real, do plan a step.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/migrate_check.h"
#include "support/test_util.h"

namespace automigrate::testing {
namespace {

struct Spelling {
  const char* name;
  const char* current;
  const char* desired;
};

void PrintTo(const Spelling& s, std::ostream* os) { *os << s.name; }

class PlannerEquivalent : public ::testing::TestWithParam<Spelling> {};

TEST_P(PlannerEquivalent, PlansNothing) {
  const Spelling& s = GetParam();
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(s.current));
  std::vector<PlanRow> plan = db.PlanRows(s.desired);
  EXPECT_TRUE(plan.empty()) << "current:\n" << s.current << "\ndesired:\n" << s.desired << "\n"
                            << FormatPlan(plan);
  // And the other way round.
  TestDb back;
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back.Exec(s.desired));
  std::vector<PlanRow> reverse = back.PlanRows(s.current);
  EXPECT_TRUE(reverse.empty()) << "current:\n" << s.desired << "\ndesired:\n" << s.current << "\n"
                               << FormatPlan(reverse);
}

INSTANTIATE_TEST_SUITE_P(
    PlannerSpellings, PlannerEquivalent,
    ::testing::Values(
        Spelling{"WhitespaceCaseAndComments",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT 'x', "
                 "b REAL CHECK (b > 0), c VARCHAR(10) COLLATE NOCASE);"
                 "CREATE INDEX t_a ON t(a, b DESC) WHERE b > 1;"
                 "CREATE VIEW v AS SELECT a, b FROM t WHERE b > 2;"
                 "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET b = 1 WHERE id = new.id; "
                 "END;",
                 "-- the schema\n"
                 "create   table t (\n"
                 "  id integer primary key, /* the key */\n"
                 "  a  text not null default 'x',\n"
                 "  b  real check( b>0 ),\n"
                 "  c  varchar ( 10 ) collate nocase\n"
                 ") ;\n"
                 "create index t_a on t (a,b desc) where b>1;\n"
                 "create view v as\n  select a,b from t -- filtered\n  where b>2;\n"
                 "create trigger tr after insert on t begin\n"
                 "  update t set b=1 where id=new.id;\n"
                 "end;"},
        Spelling{"QuotingStyles",
                 "CREATE TABLE \"q\"(\"x\" INTEGER PRIMARY KEY, [y] TEXT, `z` INT);"
                 "CREATE INDEX \"q_y\" ON \"q\"([y]);",
                 "CREATE TABLE q(x INTEGER PRIMARY KEY, y TEXT, z INT);"
                 "CREATE INDEX q_y ON q(y);"},
        Spelling{"ColumnOrder",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INT, c BLOB);",
                 "CREATE TABLE t(c BLOB, b INT, id INTEGER PRIMARY KEY, a TEXT);"},
        Spelling{"ParenthesizedDefaults",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT DEFAULT 1, b TEXT DEFAULT 'x', "
                 "c REAL DEFAULT -1.5);",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT DEFAULT (1), b TEXT DEFAULT ('x'), "
                 "c REAL DEFAULT (-1.5));"},
        Spelling{"InlineAndTableUnique",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT UNIQUE);",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, UNIQUE (a));"},
        Spelling{"InlineAndTablePrimaryKey",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                 "CREATE TABLE t(id INTEGER, a TEXT, PRIMARY KEY (id));"},
        Spelling{"NamedConstraintKeywordCase",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a INT CONSTRAINT pos CHECK (a > 0));",
                 "create table t(id integer primary key, a int constraint \"pos\" check (a > 0));"},
        Spelling{"ForeignKeySpelling",
                 "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                 "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT REFERENCES p(id) ON DELETE "
                 "CASCADE);",
                 "CREATE TABLE p(id INTEGER PRIMARY KEY);"
                 "CREATE TABLE c(id INTEGER PRIMARY KEY, pid INT,\n"
                 "  FOREIGN KEY (pid) REFERENCES \"p\" (\"id\") on delete cascade);"},
        Spelling{"IfNotExistsAndAscending",
                 "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT); CREATE INDEX t_a ON t(a);",
                 "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, a TEXT);"
                 "CREATE INDEX IF NOT EXISTS t_a ON t(a ASC);"},
        Spelling{"WithoutRowidAndStrictCase",
                 "CREATE TABLE t(k TEXT PRIMARY KEY, v INT) WITHOUT ROWID, STRICT;",
                 "create table t(k text primary key, v int) strict, without rowid;"},
        Spelling{"GeneratedColumnSpelling",
                 "CREATE TABLE t(a INT, g INT GENERATED ALWAYS AS (a * 2) VIRTUAL);",
                 "CREATE TABLE t(a INT, g INT AS (a*2));"},
        Spelling{"RedundantParenthesesInCheck",
                 "CREATE TABLE t(a INT, CHECK (a > 0));",
                 "CREATE TABLE t(a INT, CHECK ((a > 0)));"}),
    [](const ::testing::TestParamInfo<Spelling>& info) { return std::string(info.param.name); });

struct RealDifference {
  const char* name;
  const char* current;
  const char* desired;
};

void PrintTo(const RealDifference& d, std::ostream* os) { *os << d.name; }

class PlannerNotEquivalent : public ::testing::TestWithParam<RealDifference> {};

TEST_P(PlannerNotEquivalent, PlansAStep) {
  const RealDifference& d = GetParam();
  MigrateResult r = MigrateAndCheck(d.current, "", d.desired);
  EXPECT_FALSE(r.plan.empty()) << d.name << r.Describe();
}

INSTANTIATE_TEST_SUITE_P(
    PlannerSpellings, PlannerNotEquivalent,
    ::testing::Values(
        RealDifference{"StringCaseInDefault", "CREATE TABLE t(a TEXT DEFAULT 'x');",
                       "CREATE TABLE t(a TEXT DEFAULT 'X');"},
        RealDifference{"StringCaseInCheck", "CREATE TABLE t(a TEXT CHECK (a <> 'x'));",
                       "CREATE TABLE t(a TEXT CHECK (a <> 'X'));"},
        RealDifference{"StringVersusIdentifierInView", "CREATE TABLE t(a); CREATE VIEW v AS SELECT 'a' FROM t;",
                       "CREATE TABLE t(a); CREATE VIEW v AS SELECT \"a\" FROM t;"},
        RealDifference{"StringCaseInIndexWhere",
                       "CREATE TABLE t(a TEXT); CREATE INDEX ix ON t(a) WHERE a <> 'x';",
                       "CREATE TABLE t(a TEXT); CREATE INDEX ix ON t(a) WHERE a <> 'X';"},
        RealDifference{"NumberInDefault", "CREATE TABLE t(a INT DEFAULT 1);",
                       "CREATE TABLE t(a INT DEFAULT 10);"},
        RealDifference{"TypeLength", "CREATE TABLE t(a VARCHAR(10));",
                       "CREATE TABLE t(a VARCHAR(20));"}),
    [](const ::testing::TestParamInfo<RealDifference>& info) { return std::string(info.param.name); });

TEST(PlannerEquivalence, ShellSchemaOutputPlansNothing) {
  // `.schema` prints CREATE TABLE sqlite_sequence(name,seq); for AUTOINCREMENT.
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(
      "CREATE TABLE users(id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL COLLATE NOCASE,"
      " email TEXT UNIQUE, CHECK (length(name) > 0));"
      "CREATE TABLE posts(id INTEGER PRIMARY KEY, user_id INT REFERENCES users(id) ON DELETE "
      "CASCADE, body TEXT, g INT GENERATED ALWAYS AS (length(body)) STORED) STRICT;"
      "CREATE INDEX posts_user ON posts(user_id) WHERE user_id IS NOT NULL;"
      "CREATE VIEW recent AS SELECT * FROM posts ORDER BY id DESC LIMIT 10;"
      "CREATE TRIGGER users_del BEFORE DELETE ON users BEGIN DELETE FROM posts WHERE user_id = "
      "old.id; END;"
      "INSERT INTO users(name) VALUES ('a'); ANALYZE;"));
  db.Close();
  ShellResult schema = db.RunShellScript(".schema\n");
  ASSERT_TRUE(db.Reopen());
  ASSERT_EQ(schema.exit_code, 0) << schema.err;
  ASSERT_TRUE(Contains(schema.out, "CREATE TABLE sqlite_sequence(name,seq);")) << schema.out;
  ASSERT_TRUE(Contains(schema.out, "CREATE TABLE sqlite_stat1(tbl,idx,stat);")) << schema.out;
  std::vector<PlanRow> plan = db.PlanRows(schema.out);
  EXPECT_TRUE(plan.empty()) << schema.out << FormatPlan(plan);
  std::string status = db.QueryString("SELECT migrate_status(?1)", {schema.out});
  EXPECT_TRUE(Contains(status, "\"migration_needed\":false")) << status;
}

TEST(PlannerEquivalence, ReadingTheLiveSchemaBackPlansNothing) {
  TestDb db;
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE(db.Exec(
      "CREATE TABLE \"we\"\"ird\"(\"a b\" TEXT DEFAULT (upper('x')), [c] INT PRIMARY KEY DESC, "
      "d ANY) WITHOUT ROWID;"
      "CREATE TABLE v2(x REAL DEFAULT 0x10, y BLOB DEFAULT x'00ff', z DEFAULT CURRENT_DATE);"
      "CREATE UNIQUE INDEX \"ix \"\"1\"\"\" ON \"we\"\"ird\"(\"a b\" COLLATE RTRIM, d);"));
  std::string desired;
  for (const Row& r : db.QueryRows("SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL"))
    desired += r[0] + ";\n";
  std::vector<PlanRow> plan = db.PlanRows(desired);
  EXPECT_TRUE(plan.empty()) << desired << FormatPlan(plan);
}

struct TrailingComment {
  const char* name;
  const char* desired;
};

void PrintTo(const TrailingComment& t, std::ostream* os) { *os << t.name; }

class PlannerScriptText : public ::testing::TestWithParam<TrailingComment> {};

TEST_P(PlannerScriptText, TrailingCommentDoesNotSwallowTheStatementEnd) {
  // The last statement of a schema file often has no ';' and may end in a
  // comment; SQLite keeps that comment in sqlite_schema.sql for views and
  // indexes. The script must still be runnable.
  MigrateResult r = MigrateAndCheck("CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);",
                                    "INSERT INTO t VALUES (1, 'x');", GetParam().desired);
  ASSERT_TRUE(r.db);
  EXPECT_FALSE(r.plan.empty()) << r.Describe();
}

INSTANTIATE_TEST_SUITE_P(
    PlannerScriptTexts, PlannerScriptText,
    ::testing::Values(
        TrailingComment{"ViewLineComment",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n"
                        "CREATE VIEW v AS SELECT a FROM t -- the view"},
        TrailingComment{"ViewLineCommentAndNewline",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n"
                        "CREATE VIEW v AS SELECT a FROM t -- the view\n"},
        TrailingComment{"IndexLineComment",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n"
                        "CREATE INDEX t_a ON t(a) -- the index"},
        TrailingComment{"IndexOfARebuiltTable",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT NOT NULL DEFAULT '');\n"
                        "CREATE INDEX t_a ON t(a) -- the index"},
        TrailingComment{"TriggerLineComment",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n"
                        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END -- the trigger"},
        TrailingComment{"NewTableLineComment",
                        "CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT);\n"
                        "CREATE TABLE u(x) -- the table"}),
    [](const ::testing::TestParamInfo<TrailingComment>& info) {
      return std::string(info.param.name);
    });

}  // namespace
}  // namespace automigrate::testing
