// tests/support/backup_support.h -- helpers for the backup tests: the
// `xxh128sum` binary as an independent checksum, byte-level tampering with
// files, the files of a directory, a read-only dump of a backup file, and
// the sqlite3 shell run under a file-size limit (`ulimit -f`), which makes
// every write past the limit fail with EFBIG, as a full disk would.
//
// Written on the raw sqlite3 API, POSIX and test_util, not on core/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "support/test_util.h"

namespace automigrate::testing {

// What `xxh128sum FILE` prints as the digest (32 hex digits). A missing
// binary or a failed run fails the current test and returns "".
std::string Xxh128sum(const std::string& path);

// The whole file as bytes ("" if it cannot be read) / replaces it with `bytes`.
std::string ReadBytes(const std::string& path);
void WriteBytes(const std::string& path, std::string_view bytes);

// XORs the byte at `offset` with 0xFF, in place (the file's size is kept).
// Fails the test if the file is shorter.
void FlipByte(const std::string& path, int64_t offset);

// Size of a file in bytes (-1 if it does not exist).
int64_t FileBytes(const std::string& path);

// Names (not paths) of the entries of `dir`, sorted; empty when `dir` does
// not exist.
std::vector<std::string> FilesIn(const std::string& dir);

// A read-only, immutable connection to a backup file (nothing is created
// beside it, whatever journal mode its header says) and DumpDatabase of it.
// Opening failures fail the test and return "".
std::string DumpFile(const std::string& path);
// Runs a one-value query on such a connection ("" and a test failure on error).
std::string QueryFile(const std::string& path, std::string_view sql);

// `AUTOMIGRATE_SQLITE3_SHELL -bail db_path` with `script` on stdin, run by
// bash after `trap '' XFSZ; ulimit -f <limit_kb>`: every file the shell
// writes is limited to limit_kb KiB, a write past it fails with EFBIG
// (instead of the default SIGXFSZ killing the process).
ShellResult RunShellScriptWithFileSizeLimit(const std::string& db_path, std::string_view script,
                                            int64_t limit_kb);

}  // namespace automigrate::testing
