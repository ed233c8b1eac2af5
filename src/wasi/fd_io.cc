// fd_read, fd_write, fd_pread, fd_pwrite, fd_seek, fd_tell, fd_close, fd_renumber.
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "wasi/blocking.h"
#include "wasi/handlers.h"

namespace arcella::wasi {

Errno LoadIovecs(GuestMem& mem, uint32_t iovs, uint32_t count, std::vector<struct iovec>* out) {
  if (!mem.Ok(iovs, uint64_t{count} * kIovecSize)) return kFault;
  // More than IOV_MAX buffers: use the first IOV_MAX (a short transfer is legal).
  uint32_t n = count > IOV_MAX ? IOV_MAX : count;
  out->clear();
  out->reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t buf = 0, len = 0;
    mem.Load(iovs + i * kIovecSize, &buf);
    mem.Load(iovs + i * kIovecSize + 4, &len);
    if (!mem.Ok(buf, len)) return kFault;
    out->push_back({mem.At(buf), len});
  }
  return kSuccess;
}

namespace {

// The errno for byte I/O on an entry that is not a plain stream.
Errno NotStream(const FdEntry& e) { return e.kind == FdEntry::Kind::kDir ? kIsdir : kSuccess; }

size_t Total(const std::vector<struct iovec>& v) {
  size_t t = 0;
  for (auto& i : v) t += i.iov_len;
  return t;
}

// Shortens `v` to at most `max` bytes in total.
void TruncateIovecs(std::vector<struct iovec>* v, size_t max) {
  size_t left = max;
  for (size_t i = 0; i < v->size(); ++i) {
    if ((*v)[i].iov_len >= left) {
      (*v)[i].iov_len = left;
      v->resize(i + 1);
      return;
    }
    left -= (*v)[i].iov_len;
  }
}

}  // namespace

Errno FdRead(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdRead, &err);
  if (!e) return err;
  uint32_t out = c.u32(3);
  if (!c.mem.Ok(out, 4)) return kFault;
  if ((err = NotStream(*e))) return err;
  std::vector<struct iovec> v;
  if ((err = LoadIovecs(c.mem, c.u32(1), c.u32(2), &v))) return err;
  size_t got = 0;
  if (e->kind == FdEntry::Kind::kStdin && e->stdio_fd < 0) {
    const std::string& data = c.st.stdin_data();
    size_t& pos = c.st.stdin_pos();
    for (auto& io : v) {
      size_t n = std::min(io.iov_len, data.size() - pos);
      std::memcpy(io.iov_base, data.data() + pos, n);
      pos += n;
      got += n;
    }
  } else if (e->host_fd() >= 0) {
    // A FIFO, pipe, socket or tty waits interruptibly (blocking.h).
    ssize_t r = 0;
    int fd = e->host_fd();
    err = BlockingIo(
        c.st, *e, POLLIN, [&] { return readv(fd, v.data(), static_cast<int>(v.size())); }, &r);
    if (err) return err;
    got = static_cast<size_t>(r);
  }
  c.mem.Store(out, static_cast<uint32_t>(got));
  return kSuccess;
}

Errno FdWrite(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdWrite, &err);
  if (!e) return err;
  uint32_t out = c.u32(3);
  if (!c.mem.Ok(out, 4)) return kFault;
  if ((err = NotStream(*e))) return err;
  std::vector<struct iovec> v;
  if ((err = LoadIovecs(c.mem, c.u32(1), c.u32(2), &v))) return err;
  size_t total = Total(v);
  const OutputStream* os = e->kind == FdEntry::Kind::kStdout   ? &c.st.config().stdout_stream
                           : e->kind == FdEntry::Kind::kStderr ? &c.st.config().stderr_stream
                                                               : nullptr;
  if (os && os->sink) {
    std::string joined;
    joined.reserve(total);
    for (auto& io : v) joined.append(static_cast<const char*>(io.iov_base), io.iov_len);
    os->sink(joined);
  } else if (e->host_fd() >= 0) {
    // A borrowed host fd that can block stays blocking: after it polls
    // writable, write at most PIPE_BUF bytes (which a ready pipe takes at
    // once); a short write is legal and the guest's libc writes the rest.
    if (e->may_block && !e->fd) TruncateIovecs(&v, PIPE_BUF);
    ssize_t r = 0;
    int fd = e->host_fd();
    err = BlockingIo(
        c.st, *e, POLLOUT, [&] { return writev(fd, v.data(), static_cast<int>(v.size())); }, &r);
    if (err) return err;
    total = static_cast<size_t>(r);
  }  // else: discarded, reported as written
  c.mem.Store(out, static_cast<uint32_t>(total));
  return kSuccess;
}

static Errno PositionalIo(HostCall& c, bool write) {
  Errno err;
  uint64_t need = (write ? right::kFdWrite : right::kFdRead) | right::kFdSeek;
  FdEntry* e = c.st.GetWithRights(c.u32(0), need, &err);
  if (!e) return err;
  uint32_t out = c.u32(4);
  if (!c.mem.Ok(out, 4)) return kFault;
  if (e->kind == FdEntry::Kind::kDir) return kIsdir;
  if (e->kind != FdEntry::Kind::kFile) return kSpipe;
  uint64_t off = c.u64(3);
  if (off > static_cast<uint64_t>(INT64_MAX)) return kInval;
  std::vector<struct iovec> v;
  if ((err = LoadIovecs(c.mem, c.u32(1), c.u32(2), &v))) return err;
  ssize_t r = 0;
  int fd = e->host_fd();
  err = BlockingIo(
      c.st, *e, write ? POLLOUT : POLLIN,
      [&] {
        return write ? pwritev(fd, v.data(), static_cast<int>(v.size()), static_cast<off_t>(off))
                     : preadv(fd, v.data(), static_cast<int>(v.size()), static_cast<off_t>(off));
      },
      &r);
  if (err) return err;
  c.mem.Store(out, static_cast<uint32_t>(r));
  return kSuccess;
}

Errno FdPread(HostCall& c) { return PositionalIo(c, false); }
Errno FdPwrite(HostCall& c) { return PositionalIo(c, true); }

Errno FdSeek(HostCall& c) {
  int64_t off = static_cast<int64_t>(c.u64(1));
  uint32_t whence = c.u32(2), out = c.u32(3);
  uint64_t need = (off == 0 && whence == kWhenceCur) ? right::kFdTell : right::kFdSeek;
  FdEntry* e = c.st.Get(c.u32(0));
  if (!e) return kBadf;
  if (!(e->rights_base & need) && !(e->rights_base & right::kFdSeek)) return RightsErrno(*e, need);
  if (!c.mem.Ok(out, 8)) return kFault;
  if (e->kind != FdEntry::Kind::kFile) return kSpipe;
  int w = whence == kWhenceSet   ? SEEK_SET
          : whence == kWhenceCur ? SEEK_CUR
          : whence == kWhenceEnd ? SEEK_END
                                 : -1;
  if (w < 0) return kInval;
  off_t r = lseek(e->host_fd(), off, w);
  if (r < 0) return FromHostErrno(errno);
  c.mem.Store(out, static_cast<uint64_t>(r));
  return kSuccess;
}

Errno FdTell(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdTell, &err);
  if (!e) return err;
  if (!c.mem.Ok(c.u32(1), 8)) return kFault;
  if (e->kind != FdEntry::Kind::kFile) return kSpipe;
  off_t r = lseek(e->host_fd(), 0, SEEK_CUR);
  if (r < 0) return FromHostErrno(errno);
  c.mem.Store(c.u32(1), static_cast<uint64_t>(r));
  return kSuccess;
}

Errno FdClose(HostCall& c) { return c.st.Close(c.u32(0)) ? kSuccess : kBadf; }

Errno FdRenumber(HostCall& c) {
  uint32_t from = c.u32(0), to = c.u32(1);
  if (!c.st.Get(from) || !c.st.Get(to)) return kBadf;
  if (from == to) return kSuccess;
  c.st.Set(to, c.st.Take(from));
  return kSuccess;
}

}  // namespace arcella::wasi
