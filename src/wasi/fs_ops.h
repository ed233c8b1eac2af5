// File system operations beneath a directory descriptor: the one capability
// layer WASI preview 1 (path_*, fd_* in this directory) and WASI 0.2
// (wasi:filesystem, src/component/wasip2/filesystem*.cc) both call.
// Internal to src/wasi and src/component/wasip2.
//
//   std::unique_ptr<FdEntry> file;
//   OpenFlags f;
//   f.create = f.write = true;
//   Errno err = OpenAt(*preopen, "logs/today.txt", f, &file);
//
// Every path is resolved with ResolvePath (path.h) beneath `dir`: absolute
// paths, `..` above `dir` and absolute symlinks are kNotcapable, symlinks
// leading out are refused the same way, and each step is relative to a
// descriptor already known to be inside, so a concurrent rename cannot lead
// out. The operation itself then acts on (parent directory, final name) with
// *at() calls that never follow a symlink.
//
// What this layer enforces: `dir` must be a directory (kNotdir, or kBadf
// for a stdio entry); anything that creates, modifies or removes refuses a
// read-only tree (FdEntry::read_only) with kRofs, including opening for
// write, create or truncate. The interface-specific permissions (preview-1
// rights, WASI 0.2 descriptor flags) are checked by the callers before.
//
// Errors are WASI preview-1 errnos (abi.h); WASI 0.2 maps them to its
// error-code. Not thread-safe beyond what the host calls are: an FdEntry is
// used by one thread at a time.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wasi/abi.h"
#include "wasi/state.h"

namespace arcella::wasi {

struct OpenFlags {
  bool follow = false;  // follow a symlink as the last component
  // How to open.
  bool create = false, directory = false, exclusive = false, truncate = false;
  // Access and file status flags.
  bool read = false, write = false, append = false;
  bool dsync = false, sync = false, rsync = false, nonblock = false;
};

// Opens `path` beneath `dir`. On success *out is a new entry: the host fd
// (O_CLOEXEC; O_NONBLOCK kept only for what may block or when `nonblock`),
// kind/filetype from the opened object, may_block, fdflags from the flags,
// read_only inherited from `dir`. Rights are left 0 for the caller to set.
// A read-only `dir` refuses write, append, create and truncate (kRofs).
Errno OpenAt(const FdEntry& dir, std::string_view path, const OpenFlags& flags,
             std::unique_ptr<FdEntry>* out);

// stat of `path` beneath `dir` (the link itself unless `follow`).
Errno StatAt(const FdEntry& dir, std::string_view path, bool follow, struct stat* out);
// stat of the open entry; for stdio only the file type (never the host's
// device, inode or times).
Errno StatFd(const FdEntry& e, struct stat* out);

Errno CreateDirectoryAt(const FdEntry& dir, std::string_view path);
Errno RemoveDirectoryAt(const FdEntry& dir, std::string_view path);
Errno UnlinkFileAt(const FdEntry& dir, std::string_view path);
// Both directories may differ (and must each be writable).
Errno RenameAt(const FdEntry& from_dir, std::string_view from, const FdEntry& to_dir,
               std::string_view to);
// A hard link `to` beneath `to_dir` to `from` beneath `from_dir`.
Errno LinkAt(const FdEntry& from_dir, std::string_view from, bool follow, const FdEntry& to_dir,
             std::string_view to);
// A symlink `path` pointing at `target`. Policy: absolute targets are
// refused (kNotcapable): such a link can never be followed inside the
// sandbox and would be a trap for host tools walking the tree.
Errno SymlinkAt(std::string_view target, const FdEntry& dir, std::string_view path);
Errno ReadlinkAt(const FdEntry& dir, std::string_view path, std::string* target);
// ts[0] access, ts[1] modification (UTIME_NOW / UTIME_OMIT allowed).
Errno SetTimesAt(const FdEntry& dir, std::string_view path, bool follow,
                 const struct timespec ts[2]);

// Operations on an open file or directory entry (stdio: kBadf or as noted).
Errno SetTimes(const FdEntry& e, const struct timespec ts[2]);  // stdio: kNotsup
Errno SetSize(const FdEntry& e, uint64_t size);                 // dir: kIsdir
// advice: the preview-1 / WASI 0.2 advice number 0..5.
Errno Advise(const FdEntry& e, uint64_t offset, uint64_t len, uint32_t advice);  // dir: kIsdir
Errno Sync(const FdEntry& e, bool data_only);                                    // stdio: kInval

// Every entry of directory `dir` (`.` and `..` included), in the host's
// order, read through a fresh descriptor so `dir` keeps its position.
Errno ListDirectory(const FdEntry& dir, std::vector<DirEntryInfo>* out);

// The preview-1 file type of a host st_mode.
FileType FileTypeOf(unsigned mode);

}  // namespace arcella::wasi
