// The host side of wasi:io streams and pollables, which stdio (cli),
// files (filesystem) and clocks implement. Internal to src/component/wasip2.
//
// Blocking: every wait is sliced (about 10 ms) and asks
// WasiConfig::interrupted between slices, so Interrupt(), a deadline or a
// stop ends a guest blocked in a read, write, flush or poll (the call then
// traps); see wasi/blocking.h for the preview-1 twin.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace arcella::component {

// A wasi:io/error.error: what failed, and the host errno when there is one
// (wasi:filesystem/types.filesystem-error-code maps it).
struct IoError {
  std::string debug;  // to-debug-string
  int host_errno = 0;
};

enum class StreamStatus : uint8_t {
  kOk,
  kClosed,  // stream-error.closed
  kFailed,  // stream-error.last-operation-failed(error): *error set
};

// Something a guest can wait for (wasi:io/poll.pollable).
class PollSource {
 public:
  virtual ~PollSource() = default;
  // Ready now? Never blocks.
  virtual bool Ready() = 0;
  // How to wait for it: a host fd and poll(2) events (-1: none) ...
  virtual int WaitFd(short* events) {
    (void)events;
    return -1;
  }
  // ... and/or an absolute CLOCK_MONOTONIC deadline in ns (0: none). A
  // source with neither is ready or never becomes ready by waiting.
  virtual uint64_t WaitDeadlineNs() { return 0; }
};

class InputStreamImpl {
 public:
  virtual ~InputStreamImpl() = default;
  // Reads at most `len` bytes, appended to *out. Not blocking: what is
  // there now (maybe nothing). Blocking: waits until at least one byte or
  // the end. kClosed only when nothing was read and the stream has ended.
  virtual StreamStatus Read(uint64_t len, bool blocking, std::string* out, IoError* error) = 0;
  // Ready when a read would not block (data or end).
  virtual std::shared_ptr<PollSource> Subscribe() = 0;
};

class OutputStreamImpl {
 public:
  virtual ~OutputStreamImpl() = default;
  // How many bytes Write takes now without blocking (0: none yet).
  virtual StreamStatus CheckWrite(uint64_t* permit, IoError* error) = 0;
  // Writes all of `bytes` (at most the last permit).
  virtual StreamStatus Write(std::string_view bytes, IoError* error) = 0;
  // Starts (not blocking) or completes (blocking) a flush.
  virtual StreamStatus Flush(bool blocking, IoError* error) = 0;
  // Ready when CheckWrite would give a non-zero permit (or fail).
  virtual std::shared_ptr<PollSource> Subscribe() = 0;
};

}  // namespace arcella::component
