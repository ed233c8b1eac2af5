#include "platform/file_read.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace arcella::platform {
namespace {

std::string Errno(int e) { return std::strerror(e); }

// Asks for transparent huge pages for a large buffer not yet touched: a
// 30 MB module then costs about 15 page faults instead of 7500 (on a VM each
// costs microseconds; yosys's warm start spent a third of its CPU there).
// Best effort: only whole 2 MiB pages inside the buffer; ignored if THP is off.
void HugePagesFor(void* data, size_t size) {
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (size < 2 * kHuge) return;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(data) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(data) + size) & ~(kHuge - 1);
  if (hi > lo) (void)::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
}

// Reads `path` into `out` (a byte container), bounded by `limit`.
template <typename Buf>
Status ReadInto(const std::string& path, const FileReadLimit& limit, Buf* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound("cannot open " + path + ": " + Errno(e));
    return Status::IoError("cannot open " + path + ": " + Errno(e));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::IoError("cannot stat " + path + ": " + Errno(errno));
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument(path + " is " + FileTypeName(st.st_mode) +
                                   ", not a regular file");
  const uint64_t cap = limit.max_bytes;
  const std::string named = limit.name.empty() ? "" : " (" + limit.name + ")";
  if (static_cast<uint64_t>(st.st_size) > cap)
    return Status::InvalidArgument(path + " is " + std::to_string(st.st_size) +
                                   " bytes, over the limit of " + std::to_string(cap) + " bytes" +
                                   named);
  // Read straight into `out` (no bounce buffer: a 30 MB module is copied once),
  // at most cap + 1 bytes: one byte past the cap proves it grew.
  out->clear();
  const size_t first = static_cast<size_t>(
                           std::min<uint64_t>(static_cast<uint64_t>(st.st_size), cap)) +
                       1;
  out->reserve(first);
  HugePagesFor(out->data(), first);
  out->resize(first);
  uint64_t total = 0;
  while (total <= cap) {
    if (total == out->size())  // it grew since fstat: room for more, up to cap + 1
      out->resize(static_cast<size_t>(std::min<uint64_t>(cap + 1, total + (1 << 16) + total / 2)));
    ssize_t n = ::read(fd, out->data() + total, out->size() - static_cast<size_t>(total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("error reading " + path + ": " + Errno(errno));
    }
    if (n == 0) {
      out->resize(static_cast<size_t>(total));
      return Status::Ok();
    }
    total += static_cast<uint64_t>(n);
    if (total > cap)
      return Status::InvalidArgument(path + " grew past the limit of " + std::to_string(cap) +
                                     " bytes" + named + " while being read");
  }
  return Status::Ok();
}

}  // namespace

const char* FileTypeName(unsigned mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISREG(mode)) return "a regular file";
  return "a special file";
}

Result<std::vector<uint8_t>> ReadRegularFile(const std::string& path, const FileReadLimit& limit) {
  std::vector<uint8_t> out;
  ARCELLA_RETURN_IF_ERROR(ReadInto(path, limit, &out));
  return out;
}

Result<std::string> ReadRegularFileText(const std::string& path, const FileReadLimit& limit) {
  std::string out;
  ARCELLA_RETURN_IF_ERROR(ReadInto(path, limit, &out));
  return out;
}

bool OpenForWritingElsewhere(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return false;
  // A read lease is refused with EAGAIN while anyone has the file open for
  // writing. It is dropped at once; no owner is set (F_SETOWN), so a lease
  // break in between sends no signal.
  bool writing = false;
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    (void)::fcntl(fd, F_SETLEASE, F_UNLCK);
  } else {
    writing = (errno == EAGAIN);
  }
  ::close(fd);
  return writing;
}

}  // namespace arcella::platform
