// Internal state of a WasiCtx: the guest's descriptor table. Internal to src/wasi.
#pragma once

#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "wasi/abi.h"
#include "wasi/wasi.h"

namespace arcella::wasi {

using UniqueFd = arcella::UniqueFd;  // common/unique_fd.h

// One directory entry (fs_ops.h ListDirectory; cached for fd_readdir).
struct DirEntryInfo {
  std::string name;
  uint64_t ino = 0;
  uint8_t type = kFtUnknown;
  unsigned host_type = 0;  // S_IFMT bits of the entry (0: unknown)
};

struct FdEntry {
  enum class Kind { kStdin, kStdout, kStderr, kFile, kDir };
  Kind kind = Kind::kFile;
  UniqueFd fd;        // owned host fd for files and directories
  int stdio_fd = -1;  // borrowed host fd for stdio (-1: none)
  FileType filetype = kFtUnknown;
  uint64_t rights_base = 0;
  uint64_t rights_inheriting = 0;
  uint16_t fdflags = 0;
  bool read_only = false;                   // inside a read-only preopen
  bool may_block = false;                   // FIFO, pipe, socket or char device (blocking.h)
  std::optional<std::string> preopen_name;  // set for preopened directories
  std::vector<DirEntryInfo> readdir_cache;  // filled when fd_readdir starts at cookie 0
  bool readdir_cached = false;

  // The host fd to use for I/O, or -1.
  int host_fd() const { return fd ? fd.get() : stdio_fd; }
};

class WasiState {
 public:
  explicit WasiState(WasiConfig config) : config_(std::move(config)) {}

  const WasiConfig& config() const { return config_; }
  // Entry for guest fd `fd`, or nullptr.
  FdEntry* Get(uint32_t fd);
  // Entry for `fd` holding all of `rights` (base). On failure *err is set:
  // kBadf, or kRofs when a read-only tree lacks a writing right, else kNotcapable.
  FdEntry* GetWithRights(uint32_t fd, uint64_t rights, Errno* err);
  // Inserts at the lowest free number; returns the guest fd.
  uint32_t Insert(std::unique_ptr<FdEntry> entry);
  void Set(uint32_t fd, std::unique_ptr<FdEntry> entry) { fds_[fd] = std::move(entry); }
  size_t size() const { return fds_.size(); }
  bool Close(uint32_t fd);  // false if not open
  std::unique_ptr<FdEntry> Take(uint32_t fd);

  // stdin bytes when configured with stdin_data.
  std::string& stdin_data() { return stdin_data_; }
  size_t& stdin_pos() { return stdin_pos_; }

  std::optional<int32_t> exit_code;
  size_t max_open_fds = 1024;

 private:
  WasiConfig config_;
  std::map<uint32_t, std::unique_ptr<FdEntry>> fds_;
  std::string stdin_data_;
  size_t stdin_pos_ = 0;
};

// Rights needed for a missing-rights errno on `e`.
Errno RightsErrno(const FdEntry& e, uint64_t missing);

}  // namespace arcella::wasi
