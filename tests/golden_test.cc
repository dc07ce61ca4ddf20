// tests/golden_test.cc -- the SQL golden harness: every tests/sql/**/*.test file
// is one test (ctest shows it as Sql/GoldenTest.Run/<dir>_<name>), run against
// the built extension exactly as a user would load it.
//
// A .test file keeps input and expected output together, sqllogictest-like
// (tests/sql/README.md has the full description):
//
//   # a comment: lines starting with '#' outside expected output
//   statement ok
//   CREATE TABLE t(a);              <- SQL, may span lines and hold several statements
//
//   statement error
//   SELECT automigrate_version(1);
//   ----
//   wrong number of arguments to function automigrate_version()
//
//   query T                         <- anything after "query" is free text, except
//   SELECT a, NULL FROM t;             the word "rowsort": sort the rows before comparing
//   ----
//   1<TAB>NULL                      <- one row per line, columns tab-separated
//
// Blocks are separated by blank lines. Values print as SQLite's text for them;
// NULL as "NULL", an empty string as "(empty)", a blob as X'hex'. A value that
// holds newlines prints across lines; a query's expected output therefore ends
// at a blank line that is followed by the end of the file, a '#' line or a new
// "statement"/"query" directive (a blank line followed by anything else is part
// of the output). Trailing whitespace on a line is not significant.
//
// Database. Each file gets a fresh connection to ":memory:" with the extension
// loaded through sqlite3_load_extension(AUTOMIGRATE_EXT_PATH), and its own
// temporary directory. A file whose first line is exactly "# file" runs on a
// database file instead: ${TESTDIR}/test.db (for what needs a real file:
// backups, WAL, a second connection). In SQL, ${TESTDIR} is replaced by that
// directory's path; in actual output (rows and error messages) the path is
// replaced back by ${TESTDIR}, so expected output does not depend on the machine.
// The directory is removed when the test ends.
//
// MIGRATE_GOLDEN_UPDATE=1 rewrites the expected parts ("----" sections of
// queries and statement errors) in place with the actual output, adding a
// "----" section where one is missing; a failing "statement ok" or a
// "statement error" that succeeds is still a failure.
//
// MIGRATE_GOLDEN_DIR=<dir> runs the *.test files under <dir> instead of
// tests/sql (to try the harness itself on scratch files).
//
// ctest learns the file list from gtest discovery, which runs when the test
// binary is linked; scripts/build.sh relinks it when a .test file was added,
// removed or renamed. Any file can also be run directly:
//   build/tests/automigrate_tests --gtest_filter='Sql/GoldenTest.Run/<name>'
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kSeparator = "----";
constexpr std::string_view kFileDirective = "# file";
constexpr std::string_view kTestDirVar = "${TESTDIR}";

// MIGRATE_GOLDEN_DIR points the harness at another tree (to try the harness itself).
fs::path GoldenRoot() {
  const char* dir = std::getenv("MIGRATE_GOLDEN_DIR");
  if (dir != nullptr && *dir != '\0') return dir;
  return fs::path(AUTOMIGRATE_SOURCE_DIR) / "tests" / "sql";
}

bool UpdateMode() {
  const char* v = std::getenv("MIGRATE_GOLDEN_UPDATE");
  return v != nullptr && std::string_view(v) == "1";
}

std::string_view RStrip(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsBlank(std::string_view line) { return RStrip(line).empty(); }
bool IsComment(std::string_view line) { return line.starts_with('#'); }

bool IsWordPrefix(std::string_view line, std::string_view word) {
  return line.starts_with(word) &&
         (line.size() == word.size() || line[word.size()] == ' ' || line[word.size()] == '\t');
}

bool IsDirective(std::string_view line) {
  return IsWordPrefix(line, "statement") || IsWordPrefix(line, "query");
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  if (from.empty()) return s;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      std::string_view line = text.substr(start);
      if (line.ends_with('\r')) line.remove_suffix(1);
      if (start < text.size()) lines.emplace_back(line);
      break;
    }
    std::string_view line = text.substr(start, nl - start);
    if (line.ends_with('\r')) line.remove_suffix(1);
    lines.emplace_back(line);
    start = nl + 1;
  }
  return lines;
}

// Lines as compared: trailing whitespace and trailing blank lines dropped.
std::string Canonical(const std::vector<std::string>& lines) {
  std::vector<std::string_view> kept;
  for (const std::string& l : lines) kept.push_back(RStrip(l));
  while (!kept.empty() && kept.back().empty()) kept.pop_back();
  std::string out;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i) out += '\n';
    out += kept[i];
  }
  return out;
}

struct Block {
  enum class Kind { kStatementOk, kStatementError, kQuery };
  Kind kind;
  size_t line = 0;     // index of the directive line (0-based)
  size_t sql_end = 0;  // index of the "----" line, or one past the SQL
  size_t end = 0;      // one past the block's last line
  bool rowsort = false;
  bool has_expected = false;
  std::string sql;
  std::vector<std::string> expected;
};

struct ParsedFile {
  std::vector<std::string> lines;
  bool trailing_newline = true;
  std::vector<Block> blocks;
  std::vector<std::string> errors;  // format errors, with line numbers
};

// A blank line ends a query's output only when what follows it (after more
// blank lines) is the end of the file, a comment or a new directive.
bool EndsOutput(const std::vector<std::string>& lines, size_t i) {
  if (!IsBlank(lines[i])) return false;
  size_t j = i;
  while (j < lines.size() && IsBlank(lines[j])) ++j;
  return j == lines.size() || IsComment(lines[j]) || IsDirective(lines[j]);
}

ParsedFile Parse(const std::string& text) {
  ParsedFile f;
  f.lines = SplitLines(text);
  f.trailing_newline = text.empty() || text.back() == '\n';
  const std::vector<std::string>& lines = f.lines;
  size_t i = 0;
  while (i < lines.size()) {
    std::string_view line = lines[i];
    if (IsBlank(line) || IsComment(line)) {
      ++i;
      continue;
    }
    Block b;
    b.line = i;
    std::string_view directive = RStrip(line);
    if (directive == "statement ok") {
      b.kind = Block::Kind::kStatementOk;
    } else if (directive == "statement error") {
      b.kind = Block::Kind::kStatementError;
    } else if (IsWordPrefix(directive, "query")) {
      b.kind = Block::Kind::kQuery;
      std::istringstream words{std::string(directive)};
      for (std::string w; words >> w;) b.rowsort = b.rowsort || w == "rowsort";
    } else {
      f.errors.push_back("line " + std::to_string(i + 1) +
                         ": expected \"statement ok\", \"statement error\" or \"query\", got: " +
                         std::string(line));
      while (i < lines.size() && !IsBlank(lines[i])) ++i;
      continue;
    }
    ++i;
    while (i < lines.size() && !IsBlank(lines[i]) && RStrip(lines[i]) != kSeparator) {
      if (!IsComment(lines[i])) b.sql += lines[i] + "\n";
      ++i;
    }
    b.sql_end = i;
    if (b.sql.empty()) {
      f.errors.push_back("line " + std::to_string(b.line + 1) + ": block has no SQL");
    }
    if (i < lines.size() && RStrip(lines[i]) == kSeparator) {
      b.has_expected = true;
      if (b.kind == Block::Kind::kStatementOk) {
        f.errors.push_back("line " + std::to_string(i + 1) +
                           ": \"statement ok\" takes no \"----\" section");
      }
      ++i;
      if (b.kind == Block::Kind::kQuery) {
        while (i < lines.size() && !EndsOutput(lines, i)) b.expected.push_back(lines[i++]);
      } else {
        while (i < lines.size() && !IsBlank(lines[i])) b.expected.push_back(lines[i++]);
      }
    }
    b.end = i;
    f.blocks.push_back(std::move(b));
  }
  return f;
}

std::string RenderValue(sqlite3_stmt* stmt, int col) {
  switch (sqlite3_column_type(stmt, col)) {
    case SQLITE_NULL:
      return "NULL";
    case SQLITE_BLOB: {
      const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(stmt, col));
      int n = sqlite3_column_bytes(stmt, col);
      static constexpr char kHex[] = "0123456789ABCDEF";
      std::string out = "X'";
      for (int k = 0; k < n; ++k) {
        out += kHex[p[k] >> 4];
        out += kHex[p[k] & 15];
      }
      return out + "'";
    }
    default: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
      std::string s(p ? p : "", sqlite3_column_bytes(stmt, col));
      return s.empty() ? "(empty)" : s;
    }
  }
}

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// The outcome of running one block's SQL: the error of the first statement
// that failed, or the rows of every statement.
struct Outcome {
  bool ok = true;
  std::string error;
  std::vector<std::string> rows;
};

Outcome RunSql(sqlite3* db, const std::string& sql) {
  Outcome out;
  const char* tail = sql.c_str();
  while (tail != nullptr && *tail != '\0') {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, tail, -1, &raw, &tail) != SQLITE_OK) {
      out.ok = false;
      out.error = sqlite3_errmsg(db);
      return out;
    }
    StmtPtr stmt(raw);
    if (!stmt) continue;  // whitespace or a comment
    int rc;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
        if (c) row += '\t';
        row += RenderValue(stmt.get(), c);
      }
      out.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_DONE) {
      out.ok = false;
      out.error = sqlite3_errmsg(db);
      return out;
    }
  }
  return out;
}

// A directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "automigrate-golden-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string Indent(std::string_view text) {
  if (text.empty()) return "    (nothing)";
  std::string out = "    ";
  for (char c : text) {
    out += c;
    if (c == '\n') out += "    ";
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == '\n')) out.pop_back();
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes the file back with every block's expected section replaced.
void Rewrite(const fs::path& path, const ParsedFile& f,
             const std::vector<std::vector<std::string>>& actual) {
  std::vector<std::string> out;
  size_t next = 0;
  for (size_t k = 0; k < f.blocks.size(); ++k) {
    const Block& b = f.blocks[k];
    if (b.kind == Block::Kind::kStatementOk) continue;
    for (; next < b.sql_end; ++next) out.push_back(f.lines[next]);
    out.emplace_back(kSeparator);
    for (const std::string& l : actual[k]) out.push_back(l);
    next = b.end;
  }
  for (; next < f.lines.size(); ++next) out.push_back(f.lines[next]);
  std::string text;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) text += '\n';
    text += out[i];
  }
  if (f.trailing_newline) text += '\n';
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    o << text;
  }
  fs::rename(tmp, path);
}

std::vector<fs::path> GoldenFiles() {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(GoldenRoot(), ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".test") {
      files.push_back(fs::relative(it->path(), GoldenRoot()));
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// "plan/add_column.test" -> "plan_add_column": gtest names are [A-Za-z0-9_].
std::string TestName(const fs::path& rel) {
  fs::path p = rel;
  p.replace_extension();
  std::string name;
  for (char c : p.generic_string()) {
    name += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  }
  return name;
}

class GoldenTest : public ::testing::TestWithParam<fs::path> {};

TEST_P(GoldenTest, Run) {
  const fs::path path = GoldenRoot() / GetParam();
  const std::string where = path.string();
  std::string text = ReadFile(path);
  ParsedFile file = Parse(text);
  for (const std::string& e : file.errors) ADD_FAILURE() << where << ": " << e;
  if (!file.errors.empty()) return;

  TempDir dir;
  ASSERT_FALSE(dir.path().empty()) << "cannot create a temporary directory";
  const std::string test_dir = dir.path().string();
  const bool on_file = !file.lines.empty() && RStrip(file.lines[0]) == kFileDirective;
  const std::string db_name = on_file ? (dir.path() / "test.db").string() : ":memory:";

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_name.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           nullptr);
  DbPtr db(raw);
  ASSERT_EQ(rc, SQLITE_OK) << "cannot open " << db_name;
  sqlite3_enable_load_extension(db.get(), 1);
  char* err = nullptr;
  rc = sqlite3_load_extension(db.get(), AUTOMIGRATE_EXT_PATH, nullptr, &err);
  std::string load_error = err ? err : "";
  sqlite3_free(err);
  ASSERT_EQ(rc, SQLITE_OK) << "cannot load " << AUTOMIGRATE_EXT_PATH << ": " << load_error;

  const bool update = UpdateMode();
  bool changed = false;
  std::vector<std::vector<std::string>> actual_sections(file.blocks.size());
  for (size_t k = 0; k < file.blocks.size(); ++k) {
    const Block& b = file.blocks[k];
    Outcome o = RunSql(db.get(), ReplaceAll(b.sql, kTestDirVar, test_dir));
    const std::string header = where + ":" + std::to_string(b.line + 1) + ": " +
                               std::string(RStrip(file.lines[b.line]));
    const std::string sql_shown = "\n  SQL:\n" + Indent(b.sql);

    if (b.kind == Block::Kind::kStatementOk) {
      if (!o.ok) {
        ADD_FAILURE() << header << sql_shown << "\n  expected: ok\n  actual error:\n"
                      << Indent(ReplaceAll(o.error, test_dir, kTestDirVar));
      }
      continue;
    }

    std::vector<std::string> actual;
    if (b.kind == Block::Kind::kStatementError) {
      if (o.ok) {
        ADD_FAILURE() << header << sql_shown << "\n  expected an error:\n"
                      << Indent(Canonical(b.expected)) << "\n  actual: ok";
        actual_sections[k] = b.expected;
        continue;
      }
      actual = SplitLines(ReplaceAll(o.error, test_dir, kTestDirVar));
    } else {
      if (!o.ok) {
        ADD_FAILURE() << header << sql_shown << "\n  expected rows:\n"
                      << Indent(Canonical(b.expected)) << "\n  actual error:\n"
                      << Indent(ReplaceAll(o.error, test_dir, kTestDirVar));
        actual_sections[k] = b.expected;
        continue;
      }
      if (b.rowsort) std::sort(o.rows.begin(), o.rows.end());
      for (const std::string& row : o.rows) {
        for (std::string& l : SplitLines(ReplaceAll(row, test_dir, kTestDirVar))) {
          actual.push_back(std::move(l));
        }
      }
    }
    // Written back without trailing blank lines: a blank line ends the block.
    std::string canonical_actual = Canonical(actual);
    actual_sections[k] = canonical_actual.empty() ? std::vector<std::string>{}
                                                  : SplitLines(canonical_actual + "\n");
    if (canonical_actual == Canonical(b.expected) &&
        (b.has_expected || b.kind == Block::Kind::kQuery)) {
      continue;
    }
    if (update) {
      changed = true;
      continue;
    }
    if (!b.has_expected && b.kind == Block::Kind::kStatementError) {
      ADD_FAILURE() << header << sql_shown
                    << "\n  \"statement error\" has no \"----\" section with the expected "
                       "message (MIGRATE_GOLDEN_UPDATE=1 writes it)\n  actual error:\n"
                    << Indent(canonical_actual);
      continue;
    }
    ADD_FAILURE() << header << sql_shown << "\n  expected:\n"
                  << Indent(Canonical(b.expected)) << "\n  actual:\n"
                  << Indent(canonical_actual);
  }
  if (update && changed) {
    Rewrite(path, file, actual_sections);
    std::cout << "[golden] updated " << where << "\n";
  }
}

std::string ParamName(const ::testing::TestParamInfo<fs::path>& info) {
  return TestName(info.param);
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(GoldenTest);
INSTANTIATE_TEST_SUITE_P(Sql, GoldenTest, ::testing::ValuesIn(GoldenFiles()), ParamName);

}  // namespace
