// File streams for wasi:filesystem descriptors (filesystem_streams.h).
#include "component/wasip2/filesystem_streams.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "component/wasip2/host.h"

namespace arcella::component {
namespace {

constexpr uint64_t kMaxChunk = kMaxStreamChunk;  // largest read or write permit
constexpr int kSliceMs = 10;

IoError HostError(const char* what, int err) {
  return IoError{std::string(what) + ": " + std::strerror(err), err};
}

// A regular file is always ready; what may block is polled.
class FdReady : public PollSource {
 public:
  FdReady(std::shared_ptr<Descriptor> d, short events) : d_(std::move(d)), events_(events) {}
  bool Ready() override {
    if (!d_->entry.may_block) return true;
    struct pollfd p = {d_->entry.host_fd(), events_, 0};
    return poll(&p, 1, 0) != 0;  // ready, hang-up, error (the I/O says which)
  }
  int WaitFd(short* events) override {
    if (!d_->entry.may_block) return -1;
    *events = events_;
    return d_->entry.host_fd();
  }

 private:
  std::shared_ptr<Descriptor> d_;
  short events_;
};

// Waits until fd is ready for `events`; false on interrupt (errno EINTR).
bool Wait(int fd, short events, const std::function<bool()>& interrupted) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, interrupted ? kSliceMs : -1);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return true;  // the I/O reports the error
    if (interrupted && interrupted()) {
      errno = EINTR;
      return false;
    }
  }
}

class FileInput : public InputStreamImpl {
 public:
  FileInput(std::shared_ptr<Descriptor> d, uint64_t offset, std::function<bool()> interrupted)
      : d_(std::move(d)), offset_(offset), interrupted_(std::move(interrupted)) {}

  StreamStatus Read(uint64_t len, bool blocking, std::string* out, IoError* error) override {
    if (closed_) return StreamStatus::kClosed;
    if (len == 0) return StreamStatus::kOk;
    size_t n = static_cast<size_t>(std::min(len, kMaxChunk));
    std::string buf(n, '\0');
    const int fd = d_->entry.host_fd();
    ssize_t r;
    for (;;) {
      if (d_->entry.may_block) {
        r = read(fd, buf.data(), n);
      } else {
        if (offset_ > static_cast<uint64_t>(INT64_MAX)) return Fail(EINVAL, error);
        r = pread(fd, buf.data(), n, static_cast<off_t>(offset_));
      }
      if (r >= 0) break;
      if (errno == EINTR) continue;
      if (errno == EAGAIN && d_->entry.may_block) {
        if (!blocking) return StreamStatus::kOk;
        if (!Wait(fd, POLLIN, interrupted_)) return Fail(EINTR, error);
        continue;
      }
      return Fail(errno, error);
    }
    if (r == 0) {
      closed_ = true;
      return StreamStatus::kClosed;
    }
    out->append(buf.data(), static_cast<size_t>(r));
    offset_ += static_cast<uint64_t>(r);
    return StreamStatus::kOk;
  }

  std::shared_ptr<PollSource> Subscribe() override { return std::make_shared<FdReady>(d_, POLLIN); }

 private:
  StreamStatus Fail(int err, IoError* error) {
    closed_ = true;
    *error = HostError("read", err);
    return StreamStatus::kFailed;
  }

  std::shared_ptr<Descriptor> d_;
  uint64_t offset_;
  std::function<bool()> interrupted_;
  bool closed_ = false;
};

class FileOutput : public OutputStreamImpl {
 public:
  FileOutput(std::shared_ptr<Descriptor> d, uint64_t offset, bool append,
             std::function<bool()> interrupted)
      : d_(std::move(d)), offset_(offset), append_(append), interrupted_(std::move(interrupted)) {}

  StreamStatus CheckWrite(uint64_t* permit, IoError* error) override {
    (void)error;
    if (closed_) return StreamStatus::kClosed;
    *permit = kMaxChunk;
    if (d_->entry.may_block) {
      struct pollfd p = {d_->entry.host_fd(), POLLOUT, 0};
      *permit = poll(&p, 1, 0) > 0 ? PIPE_BUF : 0;
    }
    return StreamStatus::kOk;
  }

  StreamStatus Write(std::string_view bytes, IoError* error) override {
    if (closed_) return StreamStatus::kClosed;
    const int fd = d_->entry.host_fd();
    while (!bytes.empty()) {
      ssize_t r;
      if (d_->entry.may_block) {
        r = write(fd, bytes.data(), bytes.size());
      } else {
        if (append_) {
          struct stat st;
          if (fstat(fd, &st) != 0) return Fail(errno, error);
          offset_ = static_cast<uint64_t>(st.st_size);
        }
        if (offset_ > static_cast<uint64_t>(INT64_MAX)) return Fail(EFBIG, error);
        r = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset_));
      }
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN && d_->entry.may_block) {
          if (!Wait(fd, POLLOUT, interrupted_)) return Fail(EINTR, error);
          continue;
        }
        return Fail(errno, error);
      }
      offset_ += static_cast<uint64_t>(r);
      bytes.remove_prefix(static_cast<size_t>(r));
    }
    return StreamStatus::kOk;
  }

  StreamStatus Flush(bool blocking, IoError* error) override {
    (void)blocking;
    (void)error;
    return closed_ ? StreamStatus::kClosed : StreamStatus::kOk;
  }

  std::shared_ptr<PollSource> Subscribe() override {
    return std::make_shared<FdReady>(d_, POLLOUT);
  }

 private:
  StreamStatus Fail(int err, IoError* error) {
    closed_ = true;
    *error = HostError("write", err);
    return StreamStatus::kFailed;
  }

  std::shared_ptr<Descriptor> d_;
  uint64_t offset_;
  bool append_;
  std::function<bool()> interrupted_;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<InputStreamImpl> MakeFileInputStream(std::shared_ptr<Descriptor> d, uint64_t offset,
                                                     std::function<bool()> interrupted) {
  return std::make_shared<FileInput>(std::move(d), offset, std::move(interrupted));
}

std::shared_ptr<OutputStreamImpl> MakeFileOutputStream(std::shared_ptr<Descriptor> d,
                                                       uint64_t offset, bool append,
                                                       std::function<bool()> interrupted) {
  return std::make_shared<FileOutput>(std::move(d), offset, append, std::move(interrupted));
}

}  // namespace arcella::component
