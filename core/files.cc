#include "core/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
// libxxhash's run-time dispatch picks the widest SIMD the CPU has (AVX2,
// AVX-512): backups are hashed at the speed of `xxh128sum`.
#include <xxh_x86dispatch.h>
#include <xxhash.h>

#include <fmt/format.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

namespace automigrate {
namespace {

// What xxhsum reads at a time: the syscalls are lost next to the copy, the
// buffer stays in L2 while XXH3 reads it, and on the reference VM writes of
// 256 KiB and more slowed down 3-5x whenever its memory was under pressure
// while 64 KiB ones did not (scripts/bench.sh backup, docs/BENCHMARKS.md).
constexpr size_t kChunk = 64 << 10;
// How often the copy asks the kernel to start writing back (a multiple of kChunk).
constexpr int64_t kWritebackEvery = 8 << 20;

Status Errno(int code, std::string_view what, std::string_view path) {
  // SQLITE_FULL for a full disk or a file-size limit, SQLITE_IOERR otherwise,
  // so callers and tests can tell them apart.
  int rc = (code == ENOSPC || code == EFBIG || code == EDQUOT) ? SQLITE_FULL : SQLITE_IOERR;
  return {rc, fmt::format("{} {}: {}", what, path, std::strerror(code))};
}

Status WriteAll(int fd, const char* p, size_t n, std::string_view path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot write", path);
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

struct XxhStateDeleter {
  void operator()(XXH3_state_t* s) const noexcept { XXH3_freeState(s); }
};

std::string Digest(XXH3_state_t* state) {
  XXH128_hash_t h = XXH3_128bits_digest(state);
  return Hex128(h.high64, h.low64);
}

}  // namespace

std::string Hex128(uint64_t high64, uint64_t low64) {
  return fmt::format("{:016x}{:016x}", high64, low64);
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileDescriptor::Close() {
  if (fd_ < 0) return Status::Ok();
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Errno(errno, "cannot close", "file");
  return Status::Ok();
}

Result<FileDescriptor> OpenFile(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Errno(errno, "cannot open", path);
  return FileDescriptor(fd);
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<int64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(errno, "cannot stat", path);
  return static_cast<int64_t>(st.st_size);
}

Status MakeDirectories(const std::string& dir, int mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return Status::Ok();
  std::string parent = DirName(dir);
  if (parent != dir && !parent.empty()) AM_RETURN_IF_ERROR(MakeDirectories(parent, mode));
  if (::mkdir(dir.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
    return Errno(errno, "cannot create directory", dir);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return Status(SQLITE_CANTOPEN, fmt::format("{} exists and is not a directory", dir));
  return Status::Ok();
}

Status SyncDirectory(const std::string& dir) {
  AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (::fsync(fd.get()) != 0 && errno != EINVAL) return Errno(errno, "cannot sync", dir);
  return Status::Ok();
}

std::string AbsolutePath(std::string_view path) {
  std::filesystem::path p{std::string(path)};
  if (p.is_relative()) {
    // getcwd into a buffer: current_path(error_code&) is noexcept and
    // allocates, so running out of memory there would end the process.
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd)) p = std::filesystem::path(cwd) / p;
  }
  return p.lexically_normal().string();
}

std::string DirName(std::string_view path) {
  std::filesystem::path p{std::string(path)};
  std::string parent = p.parent_path().string();
  return parent.empty() ? std::string(".") : parent;
}

std::string BaseName(std::string_view path) {
  return std::filesystem::path{std::string(path)}.filename().string();
}

Result<std::string> FileChecksum(const std::string& path, int64_t* bytes) {
  AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(path, O_RDONLY));
  (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::unique_ptr<XXH3_state_t, XxhStateDeleter> state(XXH3_createState());
  if (!state) return Status(SQLITE_NOMEM, "out of memory");
  XXH3_128bits_reset(state.get());
  std::vector<char> buf(kChunk);
  int64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot read", path);
    }
    if (n == 0) break;
    XXH3_128bits_update_dispatch(state.get(), buf.data(), static_cast<size_t>(n));
    total += n;
  }
  if (bytes) *bytes = total;
  return Digest(state.get());
}

ReadAt FileReader(const FileDescriptor& fd, std::string path) {
  const int f = fd.get();
  return [f, path = std::move(path)](char* buf, size_t n, int64_t offset) -> Status {
    while (n > 0) {
      ssize_t r = ::pread(f, buf, n, offset);
      if (r < 0) {
        if (errno == EINTR) continue;
        return Errno(errno, "cannot read", path);
      }
      if (r == 0) return Status(SQLITE_IOERR_SHORT_READ, fmt::format("{} is shorter than expected", path));
      buf += r;
      n -= static_cast<size_t>(r);
      offset += r;
    }
    return Status::Ok();
  };
}

Result<CopyResult> CopyAndHash(const ReadAt& read, int64_t size, const FileDescriptor& to,
                               const std::string& to_name,
                               const std::function<bool()>& keep_going) {
  if (size > 0) {
    // Reserve the space up front: a full disk fails here, before the copy.
    int rc = ::posix_fallocate(to.get(), 0, size);
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) return Errno(rc, "cannot allocate", to_name);
  }
  std::unique_ptr<XXH3_state_t, XxhStateDeleter> state(XXH3_createState());
  if (!state) return Status(SQLITE_NOMEM, "out of memory");
  XXH3_128bits_reset(state.get());
  std::vector<char> buf(kChunk);
  CopyResult out;
  while (out.bytes < size) {
    if (keep_going && !keep_going()) return Status(SQLITE_INTERRUPT, "interrupted");
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), size - out.bytes));
    AM_RETURN_IF_ERROR(read(buf.data(), n, out.bytes));
    XXH3_128bits_update_dispatch(state.get(), buf.data(), n);
    AM_RETURN_IF_ERROR(WriteAll(to.get(), buf.data(), n, to_name));
    out.bytes += static_cast<int64_t>(n);
#ifdef __linux__
    // Start writing back what is copied so far, so the final fsync finds
    // little left to do and the disk works while the copy goes on.
    if (out.bytes % kWritebackEvery == 0)
      (void)::sync_file_range(to.get(), out.bytes - kWritebackEvery, kWritebackEvery,
                              SYNC_FILE_RANGE_WRITE);
#endif
  }
  if (::fsync(to.get()) != 0) return Errno(errno, "cannot sync", to_name);
  out.checksum = Digest(state.get());
  return out;
}

std::string NewFileTemporary(const std::string& path) { return path + ".tmp"; }

// Written under the temporary name and linked into place once complete: a
// process killed mid-write leaves no `path` with part of `text` (link, unlike
// rename, fails when `path` exists).
Status WriteNewFile(const std::string& path, std::string_view text, int mode) {
  const std::string tmp = NewFileTemporary(path);
  Status s = [&]() -> Status {
    AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode));
    AM_RETURN_IF_ERROR(WriteAll(fd.get(), text.data(), text.size(), tmp));
    if (::fsync(fd.get()) != 0) return Errno(errno, "cannot sync", tmp);
    AM_RETURN_IF_ERROR(fd.Close());
    if (::link(tmp.c_str(), path.c_str()) != 0) return Errno(errno, "cannot create", path);
    return Status::Ok();
  }();
  (void)::unlink(tmp.c_str());
  return s;
}

Result<std::string> ReadSmallFile(const std::string& path, int64_t limit) {
  AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(path, O_RDONLY));
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "cannot read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > limit)
      return Status(SQLITE_TOOBIG, fmt::format("{} is larger than {} bytes", path, limit));
  }
  return out;
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Errno(errno, "cannot remove", path);
  return Status::Ok();
}

Result<std::vector<DirEntry>> ListDirectory(const std::string& dir) {
  struct DirCloser {
    void operator()(DIR* d) const noexcept { ::closedir(d); }
  };
  std::unique_ptr<DIR, DirCloser> d(::opendir(dir.c_str()));
  if (!d) return Errno(errno, "cannot list", dir);
  std::vector<DirEntry> out;
  for (;;) {
    errno = 0;
    const struct dirent* e = ::readdir(d.get());
    if (!e) {
      if (errno != 0) return Errno(errno, "cannot list", dir);
      break;
    }
    const std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    DirEntry entry{std::string(name), false};
    struct stat st;
    const std::string path = dir + "/" + entry.name;
    entry.regular = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

Result<double> FileAgeSeconds(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(errno, "cannot stat", path);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const double now_s = std::chrono::duration<double>(now).count();
  return now_s - (static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9);
}

std::string HostName() {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) return {};
  return name;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0 || pid > INT32_MAX) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;
}

Status MarkWriting(const FileDescriptor& fd, const std::string& path) {
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    return Errno(errno, "cannot lock", path);
  }
  return Status::Ok();
}

Result<bool> BeingWritten(const std::string& path) {
  AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(path, O_RDONLY));
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;  // released on close
    if (errno == EWOULDBLOCK) return true;
    if (errno != EINTR) return Errno(errno, "cannot lock", path);
  }
}

Result<bool> RemoveUnlessBeingWritten(const std::string& path) {
  AM_ASSIGN_OR_RETURN(FileDescriptor fd, OpenFile(path, O_RDONLY));
  for (;;) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) break;
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) return Errno(errno, "cannot lock", path);
  }
  AM_RETURN_IF_ERROR(RemoveFile(path));
  return true;
}

std::string FileUri(std::string_view path, std::string_view query) {
  std::string out = "file:";
  for (unsigned char c : path) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '/' || c == '.' || c == '_' || c == '~' || c == '-';
    if (plain)
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  if (!query.empty()) {
    out += '?';
    out += query;
  }
  return out;
}

bool IsChecksumText(std::string_view text) {
  if (text.size() != 32) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace automigrate
