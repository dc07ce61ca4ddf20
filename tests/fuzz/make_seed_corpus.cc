// tests/fuzz/make_seed_corpus.cc -- writes the fuzz targets' seed corpora.
//
//   make_seed_corpus <repo root> <shared dir> <out dir>
//
// <out dir>/ddl, <out dir>/plan and <out dir>/options receive one file per
// distinct seed (named by a hash of its bytes, so re-running adds nothing):
//   - tests/sql/**/*.test: each block's SQL (ddl), the string literals passed
//     to migrate_* functions (plan: desired schemas), the JSON objects in
//     string literals (options);
//   - tests/conformance/** and <shared dir>/conformance/*.yml: every case's
//     `current` and `desired` schema (plan and ddl) and each of their
//     statements on its own (ddl);
//   - sql/examples/*.sql (plan, ddl);
//   - one options object per documented key, so every setter is reached.
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Corpus {
  fs::path dir;
  std::set<std::string> seen;
  int written = 0;

  void Add(const std::string& seed) {
    if (seed.empty() || seed.size() > 64 * 1024 || !seen.insert(seed).second) return;
    char name[32];
    std::snprintf(name, sizeof name, "seed-%016zx", std::hash<std::string>{}(seed));
    fs::path p = dir / name;
    if (fs::exists(p)) return;
    std::ofstream(p, std::ios::binary) << seed;
    ++written;
  }
};

// Statements of a DDL text, split at ';' outside quotes and BEGIN...END
// (triggers): good enough for seeds, which only need to be plausible.
std::vector<std::string> Statements(const std::string& sql) {
  std::vector<std::string> out;
  std::string cur;
  char quote = 0;
  int depth = 0;  // BEGIN nesting, counted crudely by words
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    cur += c;
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '[') {
      quote = ']';
    } else if (isalpha(static_cast<unsigned char>(c)) &&
               (i == 0 || !isalnum(static_cast<unsigned char>(sql[i - 1])))) {
      std::string word;
      for (size_t j = i; j < sql.size() && isalnum(static_cast<unsigned char>(sql[j])); ++j)
        word += static_cast<char>(toupper(static_cast<unsigned char>(sql[j])));
      if (word == "BEGIN") ++depth;
      if (word == "END" && depth > 0) --depth;
    } else if (c == ';' && depth == 0) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (cur.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(cur);
  return out;
}

void AddSchema(const std::string& sql, Corpus& ddl, Corpus& plan) {
  plan.Add(sql);
  ddl.Add(sql);
  for (const std::string& st : Statements(sql)) ddl.Add(st);
}

void AddGoldenFile(const std::string& text, Corpus& ddl, Corpus& plan, Corpus& options) {
  // Blocks: a directive line, SQL lines, optionally "----" and expected output.
  std::istringstream in(text);
  std::string line, block;
  bool in_sql = false;
  auto flush = [&] {
    if (!block.empty()) ddl.Add(block);
    block.clear();
  };
  while (std::getline(in, line)) {
    if (line.rfind("statement", 0) == 0 || line.rfind("query", 0) == 0) {
      flush();
      in_sql = true;
    } else if (line == "----" || line.empty()) {
      flush();
      in_sql = false;
    } else if (in_sql && line[0] != '#') {
      block += line + "\n";
    }
  }
  flush();
  static const std::regex literal("'((?:[^']|'')*)'");
  for (std::sregex_iterator it(text.begin(), text.end(), literal), end; it != end; ++it) {
    std::string s = std::regex_replace((*it)[1].str(), std::regex("''"), "'");
    if (!s.empty() && s.front() == '{') {
      options.Add(s);
    } else if (s.find("CREATE") != std::string::npos || s.find("create") != std::string::npos) {
      plan.Add(s);
      ddl.Add(s);
    }
  }
}

void AddYaml(const fs::path& path, Corpus& ddl, Corpus& plan) {
  YAML::Node doc;
  try {
    doc = YAML::LoadFile(path.string());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_seed_corpus: %s: %s\n", path.c_str(), e.what());
    return;
  }
  if (!doc.IsSequence()) return;
  for (const YAML::Node& c : doc) {
    for (const char* key : {"current", "desired", "expected_up", "expected_down"}) {
      if (c[key] && c[key].IsScalar()) AddSchema(c[key].as<std::string>(), ddl, plan);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: make_seed_corpus <repo root> <shared dir> <out dir>\n");
    return 2;
  }
  const fs::path root = argv[1], shared = argv[2], out = argv[3];
  Corpus ddl{out / "ddl"}, plan{out / "plan"}, options{out / "options"};
  for (Corpus* c : {&ddl, &plan, &options}) fs::create_directories(c->dir);

  if (fs::exists(root / "tests/sql")) {
    for (const auto& e : fs::recursive_directory_iterator(root / "tests/sql"))
      if (e.is_regular_file() && e.path().extension() == ".test")
        AddGoldenFile(ReadFile(e.path()), ddl, plan, options);
  }
  for (const fs::path& dir : {root / "tests/conformance", shared / "conformance"}) {
    if (!fs::exists(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string ext = e.path().extension().string();
      if (ext == ".yml" || ext == ".yaml") AddYaml(e.path(), ddl, plan);
      if (ext == ".sql") AddSchema(ReadFile(e.path()), ddl, plan);
    }
  }
  if (fs::exists(root / "sql/examples")) {
    for (const auto& e : fs::directory_iterator(root / "sql/examples"))
      if (e.path().extension() == ".sql") AddSchema(ReadFile(e.path()), ddl, plan);
  }
  for (const char* o :
       {"{}", R"({"dry_run": true, "allow_destructive": false})", R"({"backup": "always"})",
        R"({"backup_dir": "/tmp/b", "backup": "never"})", R"({"max_execution_time_ms": 0})",
        R"({"expected_plan_hash": "0123456789abcdef0123456789abcdef"})",
        R"({"rename": {"users.fullname": "name", "old_table": "new_table"}})",
        R"({"column_order": "strict", "schema": "aux"})", R"({"schema": "main", "force": true})",
        R"({"method": "backup", "max_age_days": 1.5})", R"({"full_integrity": true, "recent_batches": 5})",
        R"({"backup_dir": null, "expected_plan_hash": null})"})
    options.Add(o);

  std::printf("seed corpus: %d ddl, %d plan, %d options seeds written to %s\n", ddl.written,
              plan.written, options.written, out.c_str());
  return 0;
}
