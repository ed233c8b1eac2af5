#include "wasi/blocking.h"

#include <poll.h>
#include <sys/stat.h>

#include <cerrno>

namespace arcella::wasi {
namespace {

constexpr int kSliceMs = 10;  // how often `interrupted` is asked while waiting

}  // namespace

bool ModeMayBlock(unsigned mode) { return S_ISFIFO(mode) || S_ISSOCK(mode) || S_ISCHR(mode); }

bool FdMayBlock(int fd) {
  struct stat st;
  return fd >= 0 && fstat(fd, &st) == 0 && ModeMayBlock(st.st_mode);
}

Errno WaitReady(const WasiState& st, int fd, short events) {
  const auto& interrupted = st.config().interrupted;
  // Ready now wins over an interrupt (data present is read); then wait in slices.
  for (int timeout = 0;; timeout = interrupted ? kSliceMs : -1) {
    struct pollfd p = {fd, events, 0};
    int r = poll(&p, 1, timeout);
    if (r > 0) return kSuccess;  // ready, or POLLERR/POLLHUP/POLLNVAL: the I/O says which
    if (r < 0 && errno != EINTR) return FromHostErrno(errno);
    if (interrupted && interrupted()) return kIntr;
  }
}

Errno BlockingIo(const WasiState& st, const FdEntry& e, short events,
                 const std::function<ssize_t()>& io, ssize_t* done) {
  const bool guest_nonblock = e.fdflags & kFdflagNonblock;
  const bool borrowed = !e.fd;  // a host stdio fd: blocking, not ours to change
  const int fd = e.host_fd();
  for (;;) {
    if (e.may_block && borrowed && !guest_nonblock)
      if (Errno err = WaitReady(st, fd, events)) return err;
    ssize_t r = io();
    if (r >= 0) {
      *done = r;
      return kSuccess;
    }
    int err = errno;
    if (err == EINTR) {
      if (st.config().interrupted && st.config().interrupted()) return kIntr;
      continue;
    }
    if ((err == EAGAIN || err == EWOULDBLOCK) && e.may_block && !guest_nonblock && !borrowed) {
      if (Errno w = WaitReady(st, fd, events)) return w;
      continue;
    }
    return FromHostErrno(err);
  }
}

}  // namespace arcella::wasi
