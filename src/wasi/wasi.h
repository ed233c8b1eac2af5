// WASI preview 1 (`wasi_snapshot_preview1`) for core modules.
//
//   WasiConfig cfg;
//   cfg.args = {"prog", "x"};
//   cfg.preopens.push_back({.host_path = "/srv/data", .guest_path = "/data", .read_only = true});
//   cfg.stdout_stream.sink = [](std::string_view s) { log(s); };
//   auto ctx = WasiCtx::Create(std::move(cfg));
//   (*ctx)->AddToLinker(linker);            // before Instance::Create
//   ... call "_start"; a TrapKind::kExit trap carries the exit code.
//
// Capability model, deny-by-default: the guest sees only what the config
// grants. No preopens: no file system at all. No args/env unless listed.
// stdin is empty (EOF) unless configured; stdout/stderr are discarded unless
// a sink or host fd is given. Paths never escape a preopen (absolute paths,
// `..` above it, symlinks leading out, rename races are all refused).
// See docs/WASI.md for the errno choices.
//
// A WasiCtx belongs to one instance and is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace arcella::engine {
class Linker;
}

namespace arcella::wasi {

// Where guest output goes. `sink` wins over `host_fd`; neither: discarded.
struct OutputStream {
  std::function<void(std::string_view)> sink;
  int host_fd = -1;  // not owned; e.g. 1 or 2 to pass through
};

struct WasiConfig {
  std::vector<std::string> args;                         // argv, argv[0] included
  std::vector<std::pair<std::string, std::string>> env;  // KEY, VALUE
  struct Preopen {
    std::string host_path;   // an existing directory on the host
    std::string guest_path;  // the name the guest sees, e.g. "/data" or "."
    bool read_only = false;  // refuse every write, create, unlink, rename
    // host_path is already resolved (realpath) and was checked: opening it
    // fails if any component has become a symlink since (openat2
    // RESOLVE_NO_SYMLINKS), so a swapped link cannot redirect the grant.
    bool no_symlinks = false;
    // If >= 0: the directory, already open (O_DIRECTORY or O_PATH; not
    // owned, duplicated per context); host_path then only names it in
    // messages. A worker process gets its grants this way (docs/WORKER.md).
    int host_fd = -1;
  };
  std::vector<Preopen> preopens;  // become guest fds 3, 4, ... in order

  // stdin: `stdin_data` bytes if set, else `stdin_fd` (host fd, not owned),
  // else empty.
  std::optional<std::string> stdin_data;
  int stdin_fd = -1;
  OutputStream stdout_stream;
  OutputStream stderr_stream;

  // Clock readings are rounded down to a multiple of this (>= 1). The
  // default grants microseconds, not the host's full precision.
  uint64_t clock_granularity_ns = 1000;

  // Polled (about every 10 ms) while the guest blocks: poll_oneoff (sleeps
  // included) and fd_read/fd_write/fd_pread/fd_pwrite on anything that can
  // block (FIFOs, pipes, sockets, character devices, host stdio); returning
  // true ends the wait with EINTR so the engine's deadline/interrupt check
  // can stop the guest (blocking.h). Unset: waits are not sliced.
  std::function<bool()> interrupted;
};

class WasiState;  // internal

class WasiCtx : public std::enable_shared_from_this<WasiCtx> {
 public:
  // Opens the preopened directories. Errors name the offending entry.
  static Result<std::shared_ptr<WasiCtx>> Create(WasiConfig config);
  ~WasiCtx();

  // Defines every wasi_snapshot_preview1 function in `linker`. The linker's
  // functions keep this context alive.
  Status AddToLinker(engine::Linker& linker);

  // The code passed to proc_exit, once the guest has called it.
  std::optional<int32_t> exit_code() const;

  // Internal state, for the host functions and tests.
  WasiState& state() { return *state_; }

 private:
  explicit WasiCtx(std::unique_ptr<WasiState> state);
  std::unique_ptr<WasiState> state_;
};

}  // namespace arcella::wasi
