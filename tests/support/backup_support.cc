#include "support/backup_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "support/apply_support.h"

extern char** environ;

namespace automigrate::testing {
namespace {

// A scratch directory, removed with everything in it when the owner goes.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "automigrate-backup-XXXXXX").string();
    if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  bool ok() const { return !path_.empty(); }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// An executable called `name` on PATH, or "".
std::string FindOnPath(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + std::string(name);
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Runs argv with stdin from `in_path` (or /dev/null) and stdout/stderr into
// files of `scratch`; returns the exit status (-1 when it could not run or
// was killed) and fills out/err.
int Run(const std::vector<std::string>& args, const std::string& in_path, const ScratchDir& scratch,
        std::string* out, std::string* err) {
  const std::string out_path = scratch.File("stdout.txt");
  const std::string err_path = scratch.File("stderr.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.empty() ? "/dev/null" : in_path.c_str(),
                                   O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<std::string> owned = args;
  std::vector<char*> argv;
  for (std::string& a : owned) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, owned[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    *err = "cannot start " + args[0] + ": " + std::generic_category().message(rc);
    return -1;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  *out = ReadBytes(out_path);
  *err = ReadBytes(err_path);
  if (WIFSIGNALED(status)) *err += "\n(killed by signal " + std::to_string(WTERMSIG(status)) + ")";
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '/' || c == '.' || c == '_' || c == '-' || c == '~') {
      uri += static_cast<char>(c);
    } else {
      uri += '%';
      uri += kHex[c >> 4];
      uri += kHex[c & 15];
    }
  }
  return uri + "?immutable=1";
}

struct ReadOnlyDb {
  sqlite3* db = nullptr;
  explicit ReadOnlyDb(const std::string& path) {
    if (sqlite3_open_v2(ImmutableUri(path).c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                        nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path << ": " << sqlite3_errmsg(db);
      sqlite3_close_v2(db);
      db = nullptr;
    }
  }
  ~ReadOnlyDb() { sqlite3_close_v2(db); }
  ReadOnlyDb(const ReadOnlyDb&) = delete;
  ReadOnlyDb& operator=(const ReadOnlyDb&) = delete;
};

}  // namespace

std::string Xxh128sum(const std::string& path) {
  const std::string binary = FindOnPath("xxh128sum");
  if (binary.empty()) {
    ADD_FAILURE() << "xxh128sum is not on PATH: install the Debian package xxhash "
                     "(scripts/setup.sh does)";
    return "";
  }
  ScratchDir scratch;
  if (!scratch.ok()) {
    ADD_FAILURE() << "cannot create a temporary directory";
    return "";
  }
  std::string out, err;
  int code = Run({binary, "--", path}, "", scratch, &out, &err);
  if (code != 0) {
    ADD_FAILURE() << "xxh128sum " << path << " exited with " << code << ": " << err;
    return "";
  }
  // "<digest>  <file>"; a name with special characters gets a leading '\'.
  std::string digest = out.substr(0, out.find_first_of(" \n"));
  if (!digest.empty() && digest[0] == '\\') digest.erase(0, 1);
  return digest;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

void FlipByte(const std::string& path, int64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(offset);
  char c = 0;
  if (!f.get(c)) {
    ADD_FAILURE() << "cannot read byte " << offset << " of " << path;
    return;
  }
  c = static_cast<char>(c ^ 0xFF);
  f.seekp(offset);
  f.put(c);
  if (!f) ADD_FAILURE() << "cannot write byte " << offset << " of " << path;
}

int64_t FileBytes(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_size);
}

std::vector<std::string> FilesIn(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string DumpFile(const std::string& path) {
  ReadOnlyDb f(path);
  return f.db ? DumpDatabase(f.db) : "";
}

std::string QueryFile(const std::string& path, std::string_view sql) {
  ReadOnlyDb f(path);
  return f.db ? QueryString(f.db, sql) : "";
}

ShellResult RunShellScriptWithFileSizeLimit(const std::string& db_path, std::string_view script,
                                            int64_t limit_kb) {
  ShellResult result;
  ScratchDir scratch;
  if (!scratch.ok()) {
    result.err = "cannot create a temporary directory";
    return result;
  }
  const std::string script_path = scratch.File("script.sql");
  WriteBytes(script_path, script);
  // bash counts `ulimit -f` in 1024-byte blocks; an ignored SIGXFSZ stays
  // ignored across exec, so the write fails with EFBIG instead.
  result.exit_code =
      Run({"/bin/bash", "-c", "trap '' XFSZ; ulimit -f \"$1\" && exec \"$2\" -bail \"$3\"", "bash",
           std::to_string(limit_kb), AUTOMIGRATE_SQLITE3_SHELL, db_path},
          script_path, scratch, &result.out, &result.err);
  return result;
}

}  // namespace automigrate::testing
