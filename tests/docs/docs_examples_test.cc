// tests/docs/docs_examples_test.cc -- keeps the examples in docs/SQL.md and
// docs/GUIDE.md true: every example is run through the sqlite3 shell with the
// built extension, and its output must be the one the document shows.
//
// Fence format (in the Markdown files; other fences are prose and ignored):
//
//   ```sql file=schema.sql        a file written into the example's directory
//   CREATE TABLE ...;             before the next example runs (any language
//   ```                           word works: ```text file=notes.txt)
//
//   ```sql setup                  SQL run on app.db before the next example, in
//   CREATE TABLE users(...);      a shell of its own with -bail: it must succeed
//   ```                           (what it prints is not compared)
//
//   ```sql example=plan-basic     the example: run as
//   SELECT ...;                     cd DIR; sqlite3 -init /dev/null
//   ```                               -cmd '.load <built extension>' app.db < example
//                                 with stdout and stderr in one stream, so an
//   ```output                     error message appears where it happens. The
//   ...                           ```output fence must follow (blank lines may
//   ```                           come between); it is the expected output.
//
// A fence may be indented (inside a list item): its body lines lose that
// indentation.
//
// Each example runs in a fresh temporary directory DIR, unless it says
// `db=NAME`: examples with the same db=NAME share one directory (and app.db),
// in document order, so a story (apply, then roll back) can be told in steps.
// Files and setup blocks belong to the next example after them.
//
// Comparison rule (documented in docs/SQL.md, "How the examples are checked"):
//   1. in the actual output, DIR's absolute path is replaced by /srv/app
//      (documents show the example's directory as /srv/app);
//   2. on both sides, values that change from run to run are masked:
//      timestamps (2026-11-24T06:25:33.091Z, 2026-11-24 06:25:33,
//      20261124T062533.091Z) -> <time>; 32-digit lower-case hex tokens
//      (checksums, schema and plan hashes) -> <hash>; the number after a JSON
//      key ending in "duration_ms" or "elapsed_ms" -> <ms>; the elapsed
//      milliseconds at the end of a progress-file line -> <ms>;
//   3. trailing whitespace on each line and trailing blank lines are ignored.
// Everything else must match exactly. A mismatch fails with the example's
// name, its line in the document, and a unified diff (expected, actual).
//
// DOCS_EXAMPLES_UPDATE=1 rewrites each ```output block in place with the
// actual output (rule 1 applied, nothing masked): that is how the documents'
// outputs are produced. Review the diff before keeping it.
//
// A second test checks that docs/SQL.md has an example for every SQL
// function and virtual-table module the extension registers (the names the
// sqlite3 shell lists after `.load` that it did not list before).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kShownDir = "/srv/app";

struct Example {
  std::string doc;                           // "SQL.md"
  std::string name;                          // example=NAME
  std::string db;                            // db=NAME, or the example's own name
  int line = 0;                              // 1-based line of the ```sql example= fence
  std::string sql;                           // the example's statements
  std::map<std::string, std::string> files;  // file=PATH blocks before it
  std::vector<std::string> setup;            // setup blocks before it
  std::string expected;                      // the ```output block
  size_t output_begin = 0, output_end = 0;   // line range of the output body
  bool has_output = false;
};

fs::path DocsDir() { return fs::path(AUTOMIGRATE_SOURCE_DIR) / "docs"; }

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

std::string RStrip(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  return s;
}

// Spaces before a fence (a fence inside a list item is indented).
size_t Indent(const std::string& line) {
  size_t n = 0;
  while (n < line.size() && line[n] == ' ') ++n;
  return n;
}

bool IsFence(const std::string& line) { return line.compare(Indent(line), 3, "```") == 0; }

// A line of a fence's body without the fence's indentation.
std::string Unindent(const std::string& line, size_t indent) {
  return line.substr(std::min(indent, Indent(line)));
}

// The words of a fence's info string: "```sql example=a db=b" -> {sql, example=a, db=b}.
std::vector<std::string> InfoWords(const std::string& fence_line) {
  std::vector<std::string> words;
  std::stringstream ss(fence_line.substr(Indent(fence_line) + 3));
  for (std::string w; ss >> w;) words.push_back(w);
  return words;
}

std::string WordValue(const std::vector<std::string>& words, std::string_view key) {
  for (const std::string& w : words)
    if (w.size() > key.size() && w.starts_with(key) && w[key.size()] == '=')
      return w.substr(key.size() + 1);
  return "";
}

bool HasWord(const std::vector<std::string>& words, std::string_view word) {
  for (const std::string& w : words)
    if (w == word) return true;
  return false;
}

// Parses one document. Format errors are returned in `errors`.
std::vector<Example> ParseDoc(const std::string& doc, std::vector<std::string>* errors) {
  const std::vector<std::string> lines = SplitLines(ReadFile(DocsDir() / doc));
  std::vector<Example> examples;
  std::map<std::string, std::string> pending_files;
  std::vector<std::string> pending_setup;
  std::set<std::string> names;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!IsFence(lines[i])) continue;
    const std::vector<std::string> words = InfoWords(lines[i]);
    const size_t open = i, indent = Indent(lines[i]);
    std::string body;
    size_t j = i + 1;
    for (; j < lines.size() && !IsFence(lines[j]); ++j) body += Unindent(lines[j], indent) + "\n";
    if (j >= lines.size()) {
      errors->push_back(doc + ":" + std::to_string(open + 1) + ": unclosed fence");
      break;
    }
    i = j;  // the closing fence
    const std::string file = WordValue(words, "file");
    const std::string name = WordValue(words, "example");
    if (!file.empty()) {
      pending_files[file] = body;
    } else if (HasWord(words, "setup")) {
      pending_setup.push_back(body);
    } else if (!name.empty()) {
      Example ex;
      ex.doc = doc;
      ex.name = name;
      ex.db = WordValue(words, "db");
      if (ex.db.empty()) ex.db = "example:" + name;
      ex.line = static_cast<int>(open + 1);
      ex.sql = body;
      ex.files = std::move(pending_files);
      ex.setup = std::move(pending_setup);
      pending_files.clear();
      pending_setup.clear();
      if (!names.insert(name).second)
        errors->push_back(doc + ":" + std::to_string(open + 1) + ": duplicate example " + name);
      // The ```output fence: the next non-blank line.
      size_t k = i + 1;
      while (k < lines.size() && RStrip(lines[k]).empty()) ++k;
      if (k < lines.size() && RStrip(lines[k]).substr(Indent(lines[k])) == "```output") {
        const size_t out_indent = Indent(lines[k]);
        size_t e = k + 1;
        std::string expected;
        for (; e < lines.size() && !IsFence(lines[e]); ++e)
          expected += Unindent(lines[e], out_indent) + "\n";
        if (e >= lines.size()) {
          errors->push_back(doc + ":" + std::to_string(k + 1) + ": unclosed output fence");
          break;
        }
        ex.expected = expected;
        ex.output_begin = k + 1;
        ex.output_end = e;
        ex.has_output = true;
        i = e;
      } else {
        errors->push_back(doc + ":" + std::to_string(open + 1) + ": example " + name +
                          " has no ```output block after it");
      }
      examples.push_back(std::move(ex));
    }
  }
  if (!pending_files.empty() || !pending_setup.empty())
    errors->push_back(doc + ": a file= or setup block after the last example belongs to none");
  return examples;
}

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved as written
};

// sqlite3 -init /dev/null [-bail] [-cmd '.load EXT'] app.db < input, in `dir`.
RunResult RunShell(const fs::path& dir, const std::string& input, bool load, bool bail) {
  RunResult r;
  const fs::path in_path = dir / ".docs-input.sql";
  const fs::path out_path = dir / ".docs-output.txt";
  {
    std::ofstream in(in_path, std::ios::binary);
    in << input;
  }
  std::vector<std::string> args = {AUTOMIGRATE_SQLITE3_SHELL, "-init", "/dev/null"};
  if (bail) args.push_back("-bail");
  if (load) {
    args.push_back("-cmd");
    args.push_back(std::string(".load ") + AUTOMIGRATE_EXT_PATH);
  }
  args.push_back("app.db");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    r.output = "cannot start the sqlite3 shell: " + std::generic_category().message(rc);
    return r;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.output = ReadFile(out_path);
  std::error_code ec;
  fs::remove(in_path, ec);
  fs::remove(out_path, ec);
  return r;
}

std::string ReplaceAll(std::string s, const std::string& from, std::string_view to) {
  if (from.empty()) return s;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
    s.replace(pos, from.size(), to);
  return s;
}

// Rule 2 of the header, then rule 3.
std::string Masked(const std::string& text) {
  static const std::regex kIsoTime(R"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?)");
  static const std::regex kCompactTime(R"(\d{8}T\d{6}(\.\d+)?Z)");
  static const std::regex kHash(R"(\b[0-9a-f]{32}\b)");
  static const std::regex kDuration(R"(("[a-z_]*(duration|elapsed)_ms"\s*:\s*)-?[0-9][0-9.eE+-]*)");
  static const std::regex kProgressLine(R"(^(\d+/\d+ \S+ .+ )\d+\.\d$)");
  std::string s = std::regex_replace(text, kIsoTime, "<time>");
  s = std::regex_replace(s, kCompactTime, "<time>");
  s = std::regex_replace(s, kHash, "<hash>");
  s = std::regex_replace(s, kDuration, "$1<ms>");
  std::vector<std::string> lines;
  for (std::string& line : SplitLines(s))
    lines.push_back(std::regex_replace(RStrip(line), kProgressLine, "$1<ms>"));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

std::string UnifiedDiff(const fs::path& dir, const std::string& expected,
                        const std::string& actual) {
  const fs::path e = dir / ".expected", a = dir / ".actual", d = dir / ".diff";
  std::ofstream(e, std::ios::binary) << expected;
  std::ofstream(a, std::ios::binary) << actual;
  const std::string cmd = "diff -u --label expected --label actual '" + e.string() + "' '" +
                          a.string() + "' > '" + d.string() + "' 2>&1";
  if (std::system(cmd.c_str()) == -1) return "(diff could not run)";
  return ReadFile(d);
}

bool UpdateMode() {
  const char* v = std::getenv("DOCS_EXAMPLES_UPDATE");
  return v != nullptr && std::string_view(v) == "1";
}

fs::path MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "am-docs-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) return {};
  return fs::path(tmpl);
}

// Writes the actual outputs into the document's ```output blocks.
void UpdateDoc(const std::string& doc, const std::vector<Example>& examples,
               const std::vector<std::string>& actual) {
  std::vector<std::string> lines = SplitLines(ReadFile(DocsDir() / doc));
  // From the last example backwards, so earlier line numbers stay valid.
  for (size_t n = examples.size(); n-- > 0;) {
    const Example& ex = examples[n];
    if (!ex.has_output) continue;
    const std::string indent(Indent(lines[ex.output_begin - 1]), ' ');
    std::vector<std::string> body;
    for (const std::string& l : SplitLines(actual[n]))
      body.push_back(RStrip(l).empty() ? "" : indent + RStrip(l));
    while (!body.empty() && body.back().empty()) body.pop_back();
    lines.erase(lines.begin() + static_cast<long>(ex.output_begin),
                lines.begin() + static_cast<long>(ex.output_end));
    lines.insert(lines.begin() + static_cast<long>(ex.output_begin), body.begin(), body.end());
  }
  std::ofstream out(DocsDir() / doc, std::ios::binary);
  for (const std::string& l : lines) out << l << "\n";
}

void CheckDoc(const std::string& doc) {
  std::vector<std::string> errors;
  const std::vector<Example> examples = ParseDoc(doc, &errors);
  for (const std::string& e : errors) ADD_FAILURE() << e;
  ASSERT_FALSE(examples.empty()) << doc << " has no examples";
  std::map<std::string, fs::path> dirs;  // db=NAME -> directory
  std::vector<std::string> actual_outputs;
  for (const Example& ex : examples) {
    SCOPED_TRACE(doc + ":" + std::to_string(ex.line) + ": example " + ex.name);
    fs::path& dir = dirs[ex.db];
    if (dir.empty()) dir = MakeTempDir();
    ASSERT_FALSE(dir.empty()) << "cannot create a temporary directory";
    for (const auto& [path, content] : ex.files) {
      fs::create_directories((dir / path).parent_path());
      std::ofstream(dir / path, std::ios::binary) << content;
    }
    for (const std::string& setup : ex.setup) {
      const RunResult r = RunShell(dir, setup, /*load=*/true, /*bail=*/true);
      EXPECT_EQ(r.exit_code, 0) << "setup failed:\n" << r.output;
    }
    const auto t0 = std::chrono::steady_clock::now();
    const RunResult r = RunShell(dir, ex.sql, /*load=*/true, /*bail=*/false);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    // The whole test has a budget of 20 s: name an example that eats it.
    if (ms > 1000)
      std::cerr << doc << ":" << ex.line << ": example " << ex.name << " took " << ms << " ms\n";
    const std::string actual = ReplaceAll(r.output, dir.string(), kShownDir);
    actual_outputs.push_back(actual);
    if (UpdateMode()) continue;
    const std::string want = Masked(ex.expected), got = Masked(actual);
    if (want != got)
      ADD_FAILURE() << doc << ":" << ex.line << ": example " << ex.name
                    << ": the output differs from the document:\n"
                    << UnifiedDiff(dir, want, got);
  }
  if (UpdateMode()) UpdateDoc(doc, examples, actual_outputs);
  for (const auto& [db, dir] : dirs) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
}

TEST(DocsExamples, SqlReference) { CheckDoc("SQL.md"); }

TEST(DocsExamples, Guide) { CheckDoc("GUIDE.md"); }

// Names listed by `SELECT name FROM <pragma>` in the shell, with or without the extension.
std::set<std::string> ShellNames(const fs::path& dir, const std::string& pragma, bool load) {
  const RunResult r =
      RunShell(dir, "SELECT DISTINCT name FROM " + pragma + " ORDER BY 1;\n", load, true);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::set<std::string> names;
  for (const std::string& l : SplitLines(r.output)) names.insert(RStrip(l));
  return names;
}

TEST(DocsExamples, EveryRegisteredNameHasAnExampleInTheSqlReference) {
  const fs::path dir = MakeTempDir();
  ASSERT_FALSE(dir.empty());
  std::vector<std::string> errors;
  const std::vector<Example> examples = ParseDoc("SQL.md", &errors);
  std::string all_sql;
  for (const Example& ex : examples) all_sql += ex.sql;
  int registered = 0;
  for (const std::string pragma : {"pragma_function_list", "pragma_module_list"}) {
    const std::set<std::string> before = ShellNames(dir, pragma, false);
    const std::set<std::string> after = ShellNames(dir, pragma, true);
    for (const std::string& name : after) {
      if (before.count(name)) continue;
      ++registered;
      const std::regex used("\\b" + name + "\\b");
      EXPECT_TRUE(std::regex_search(all_sql, used))
          << name << " (from " << pragma << ") has no example in docs/SQL.md";
    }
  }
  EXPECT_GE(registered, 16) << "the extension registered fewer names than the 16 documented";
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
