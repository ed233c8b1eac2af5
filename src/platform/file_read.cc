#include "platform/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace arcella::platform {
namespace {

std::string Errno(int e) { return std::strerror(e); }

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
  out->clear();
  out->reserve(static_cast<size_t>(st.st_size));
  // Read at most cap + 1 bytes: one byte past the cap proves it grew.
  char buf[1 << 16];
  uint64_t total = 0;
  while (total <= cap) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, cap + 1 - total));
    ssize_t n = ::read(fd, buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("error reading " + path + ": " + Errno(errno));
    }
    if (n == 0) return Status::Ok();
    total += static_cast<uint64_t>(n);
    if (total > cap)
      return Status::InvalidArgument(path + " grew past the limit of " + std::to_string(cap) +
                                     " bytes" + named + " while being read");
    out->insert(out->end(), buf, buf + n);
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
