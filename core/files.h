// core/files.h -- the file-system side of backups: an owned descriptor,
// whole-file reads and writes that report errno as a Status, streaming
// XXH3-128 of a file, and percent-encoded SQLite URIs.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace automigrate {

// A POSIX file descriptor, closed when the owner goes.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& o) noexcept : fd_(o.release()) {}
  FileDescriptor& operator=(FileDescriptor&& o) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  Status Close();  // reports the close error (NFS may report write errors here)

 private:
  int fd_ = -1;
};

// open(2) with O_CLOEXEC; errors name the path and errno's text.
Result<FileDescriptor> OpenFile(const std::string& path, int flags, int mode = 0600);

bool PathExists(const std::string& path);  // anything: file, directory, dangling link
Result<int64_t> FileSize(const std::string& path);

// Creates `dir` and its missing parents with `mode`.
Status MakeDirectories(const std::string& dir, int mode = 0700);
// fsync of a directory, so a new entry in it survives a power loss.
Status SyncDirectory(const std::string& dir);

// The absolute form of `path` (relative to the working directory), without
// resolving symbolic links; "." and ".." are folded.
std::string AbsolutePath(std::string_view path);
std::string DirName(std::string_view path);
std::string BaseName(std::string_view path);

// Streaming XXH3-128 of a whole file as 32 hex digits, the form `xxh128sum`
// prints. `bytes` receives the size read.
Result<std::string> FileChecksum(const std::string& path, int64_t* bytes = nullptr);

// A source of bytes: reads exactly `n` bytes at `offset` into `buf`.
using ReadAt = std::function<Status(char* buf, size_t n, int64_t offset)>;
// Reads `path` with pread(2). Never use it on a database file SQLite has
// open in this process: closing any descriptor of a file drops every POSIX
// lock the process holds on it. Read those through the VFS instead.
ReadAt FileReader(const FileDescriptor& fd, std::string path);

// Copies `size` bytes from `read` to the open descriptor `to`, hashing
// while it copies; then fsyncs `to`. `keep_going` is asked between chunks
// (a time limit): false stops with SQLITE_INTERRUPT.
struct CopyResult {
  int64_t bytes = 0;
  std::string checksum;  // XXH3-128 hex of the bytes copied
};
Result<CopyResult> CopyAndHash(const ReadAt& read, int64_t size, const FileDescriptor& to,
                               const std::string& to_name,
                               const std::function<bool()>& keep_going = {});

// Writes `text` to a new file `path` (never replaces one) and fsyncs it. The
// file appears whole or not at all: it is written as NewFileTemporary(path)
// and linked into place; a writer killed before that leaves only the
// temporary.
Status WriteNewFile(const std::string& path, std::string_view text, int mode = 0600);
std::string NewFileTemporary(const std::string& path);
Result<std::string> ReadSmallFile(const std::string& path, int64_t limit = 1 << 20);

// Removes a file; a missing one is not an error.
Status RemoveFile(const std::string& path);

// The entries of `dir` (not "." and ".."), sorted by name; `regular` is
// true for a regular file (after symbolic links). opendir(3)/readdir(3)
// rather than std::filesystem::directory_iterator, whose noexcept
// increment(error_code&) ends the process when it runs out of memory.
struct DirEntry {
  std::string name;
  bool regular = false;
};
Result<std::vector<DirEntry>> ListDirectory(const std::string& dir);

// Seconds since `path` was last modified (errors as FileSize).
Result<double> FileAgeSeconds(const std::string& path);

// This machine's host name ("" when it cannot be read).
std::string HostName();
// False only when no process `pid` exists on this host (kill(pid, 0) fails
// with ESRCH); a process of another user counts as alive.
bool ProcessAlive(int64_t pid);

// The writer's mark on a file being written: an exclusive flock(2) held on
// `fd` until it is closed or its process dies (BSD locks are separate from
// the POSIX locks SQLite takes, so neither disturbs the other).
Status MarkWriting(const FileDescriptor& fd, const std::string& path);
// True while some process holds MarkWriting's lock on `path`.
Result<bool> BeingWritten(const std::string& path);
// Removes `path` unless some process holds MarkWriting's lock on it; true
// when removed. The lock is held across the unlink, so a writer that opened
// the file just before cannot take it afterwards (its MarkWriting fails).
Result<bool> RemoveUnlessBeingWritten(const std::string& path);

// "file:/abs/path%3Fx?immutable=1": an SQLite URI for `path` with `query`
// (without '?'); every byte outside [A-Za-z0-9/._~-] is percent-encoded.
std::string FileUri(std::string_view path, std::string_view query = {});

// An XXH3-128 value as 32 hex digits, the canonical (big-endian) form that
// `xxh128sum` prints.
std::string Hex128(uint64_t high64, uint64_t low64);

// 32 lower-case hex digits.
bool IsChecksumText(std::string_view text);

}  // namespace automigrate
