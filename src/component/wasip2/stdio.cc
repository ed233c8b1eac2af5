// stdin, stdout and stderr streams (stdio.h).
#include "component/wasip2/stdio.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "component/wasip2/host.h"
#include "wasi/blocking.h"
#include "wasi/state.h"

namespace arcella::component {

namespace {

IoError HostError(const char* what, int err) {
  return IoError{std::string(what) + ": " + strerror(err), err};
}

class EmptyInput : public InputStreamImpl {
 public:
  StreamStatus Read(uint64_t, bool, std::string*, IoError*) override {
    return StreamStatus::kClosed;
  }
  std::shared_ptr<PollSource> Subscribe() override { return ReadyPollable(); }
};

// The configured stdin bytes, at the preview-1 context's position.
class DataInput : public InputStreamImpl {
 public:
  explicit DataInput(wasi::WasiState& p1) : p1_(p1) {}
  StreamStatus Read(uint64_t len, bool, std::string* out, IoError*) override {
    const std::string& data = p1_.stdin_data();
    size_t& pos = p1_.stdin_pos();
    if (pos >= data.size()) return StreamStatus::kClosed;
    size_t n = static_cast<size_t>(std::min<uint64_t>(len, data.size() - pos));
    out->append(data, pos, n);
    pos += n;
    return StreamStatus::kOk;
  }
  std::shared_ptr<PollSource> Subscribe() override { return ReadyPollable(); }

 private:
  wasi::WasiState& p1_;
};

// A borrowed host fd.
class FdInput : public InputStreamImpl {
 public:
  explicit FdInput(int fd) : fd_(fd), may_block_(wasi::FdMayBlock(fd)) {}
  StreamStatus Read(uint64_t len, bool blocking, std::string* out, IoError* error) override {
    if (len == 0) return StreamStatus::kOk;
    if (may_block_ && !blocking) {
      struct pollfd p = {fd_, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0) return StreamStatus::kOk;  // nothing yet
    }
    std::string buf(len, '\0');
    ssize_t r;
    do {
      r = read(fd_, buf.data(), buf.size());
    } while (r < 0 && errno == EINTR && blocking);
    if (r > 0) {
      out->append(buf, 0, static_cast<size_t>(r));
      return StreamStatus::kOk;
    }
    if (r == 0) return StreamStatus::kClosed;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return StreamStatus::kOk;
    *error = HostError("reading stdin", errno);
    return StreamStatus::kFailed;
  }
  std::shared_ptr<PollSource> Subscribe() override {
    return may_block_ ? FdPollable(fd_, POLLIN) : ReadyPollable();
  }

 private:
  int fd_;
  bool may_block_;
};

class SinkOutput : public OutputStreamImpl {
 public:
  explicit SinkOutput(const std::function<void(std::string_view)>* sink) : sink_(sink) {}
  StreamStatus CheckWrite(uint64_t* permit, IoError*) override {
    *permit = kMaxStreamChunk;
    return StreamStatus::kOk;
  }
  StreamStatus Write(std::string_view bytes, IoError*) override {
    if (sink_ != nullptr && *sink_ && !bytes.empty()) (*sink_)(bytes);
    return StreamStatus::kOk;
  }
  StreamStatus Flush(bool, IoError*) override { return StreamStatus::kOk; }
  std::shared_ptr<PollSource> Subscribe() override { return ReadyPollable(); }

 private:
  const std::function<void(std::string_view)>* sink_;  // in the config; null: discard
};

// A borrowed host fd: every write completes (waiting in slices while a pipe
// is full); an interrupted wait fails the write.
class FdOutput : public OutputStreamImpl {
 public:
  FdOutput(wasi::WasiState& p1, int fd) : p1_(p1), fd_(fd), may_block_(wasi::FdMayBlock(fd)) {}
  StreamStatus CheckWrite(uint64_t* permit, IoError* error) override {
    if (closed_) return StreamStatus::kClosed;
    if (!failed_.debug.empty()) {
      *error = failed_;
      return StreamStatus::kFailed;
    }
    *permit = kMaxStreamChunk;
    if (may_block_) {
      struct pollfd p = {fd_, POLLOUT, 0};
      if (poll(&p, 1, 0) == 0) *permit = 0;
    }
    return StreamStatus::kOk;
  }
  StreamStatus Write(std::string_view bytes, IoError* error) override {
    if (closed_) return StreamStatus::kClosed;
    while (!bytes.empty()) {
      if (may_block_) {
        wasi::Errno e = wasi::WaitReady(p1_, fd_, POLLOUT);
        if (e == wasi::kIntr) {
          *error = IoError{"writing: interrupted", EINTR};
          return StreamStatus::kFailed;
        }
      }
      // At most PIPE_BUF bytes at a time to a pipe that polled writable.
      size_t n = may_block_ ? std::min<size_t>(bytes.size(), PIPE_BUF) : bytes.size();
      ssize_t r = write(fd_, bytes.data(), n);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        if (errno == EPIPE) {
          closed_ = true;
          return StreamStatus::kClosed;
        }
        failed_ = HostError("writing", errno);
        *error = failed_;
        return StreamStatus::kFailed;
      }
      bytes.remove_prefix(static_cast<size_t>(r));
    }
    return StreamStatus::kOk;
  }
  StreamStatus Flush(bool, IoError*) override {
    return closed_ ? StreamStatus::kClosed : StreamStatus::kOk;
  }
  std::shared_ptr<PollSource> Subscribe() override {
    return may_block_ ? FdPollable(fd_, POLLOUT) : ReadyPollable();
  }

 private:
  wasi::WasiState& p1_;
  int fd_;
  bool may_block_;
  bool closed_ = false;
  IoError failed_;  // a failure is sticky (later calls report it)
};

}  // namespace

std::shared_ptr<InputStreamImpl> MakeStdin(WasiP2State& st) {
  const wasi::WasiConfig& cfg = st.config();
  if (cfg.stdin_data) return std::make_shared<DataInput>(st.p1().state());
  if (cfg.stdin_fd >= 0) return std::make_shared<FdInput>(cfg.stdin_fd);
  return std::make_shared<EmptyInput>();
}

std::shared_ptr<OutputStreamImpl> MakeStdout(WasiP2State& st, bool err) {
  const wasi::OutputStream& os = err ? st.config().stderr_stream : st.config().stdout_stream;
  if (os.sink) return std::make_shared<SinkOutput>(&os.sink);
  if (os.host_fd >= 0) return std::make_shared<FdOutput>(st.p1().state(), os.host_fd);
  return MakeDiscardOutput();
}

std::shared_ptr<OutputStreamImpl> MakeDiscardOutput() {
  return std::make_shared<SinkOutput>(nullptr);
}

}  // namespace arcella::component
