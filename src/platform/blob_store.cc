#include "platform/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/sha256.h"

namespace arcella::platform {
namespace {

constexpr const char* kTempPrefix = ".tmp-";

std::string Errno() { return std::strerror(errno); }

bool IsHash(const std::string& h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

Status CheckHash(const std::string& h) {
  return IsHash(h) ? Status::Ok()
                   : Status::InvalidArgument("\"" + h + "\" is not a sha256 hex digest");
}

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + dir + ": " + Errno());
  int rc = ::fsync(fd);
  std::string err = Errno();
  ::close(fd);
  return rc == 0 ? Status::Ok() : Status::IoError("fsync " + dir + ": " + err);
}

}  // namespace

Result<BlobStore> BlobStore::Open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return Status::IoError("cannot create " + dir + ": " + Errno());
  BlobStore store(dir);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::IoError("cannot list " + dir + ": " + Errno());
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(kTempPrefix, 0) != 0) continue;
    if (::unlink((dir + "/" + n).c_str()) == 0) ++store.cleaned_;
  }
  ::closedir(d);
  return store;
}

Result<std::string> BlobStore::Put(std::span<const uint8_t> data) {
  std::string hash = Sha256Hex(data);
  std::string final_path = PathOf(hash);
  if (Contains(hash)) {
    // Already stored; make sure it is intact, else rewrite it.
    if (Get(hash).ok()) return hash;
  }
  static std::atomic<uint64_t> counter{0};
  std::string tmp = dir_ + "/" + kTempPrefix + std::to_string(::getpid()) + "-" +
                    std::to_string(counter++);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot create " + tmp + ": " + Errno());
  auto fail = [&](const std::string& what) {
    Status s = Status::IoError(what + " " + tmp + ": " + Errno());
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  };
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    fd = -1;
    Status s = Status::IoError("cannot close " + tmp + ": " + Errno());
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    Status s = Status::IoError("cannot rename " + tmp + " to " + final_path + ": " + Errno());
    ::unlink(tmp.c_str());
    return s;
  }
  ARCELLA_RETURN_IF_ERROR(FsyncDir(dir_));
  return hash;
}

Result<std::vector<uint8_t>> BlobStore::Get(const std::string& hash) const {
  ARCELLA_RETURN_IF_ERROR(CheckHash(hash));
  std::string path = PathOf(hash);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("module blob " + path + " is missing");
    return Status::IoError("cannot open " + path + ": " + Errno());
  }
  std::vector<uint8_t> out;
  uint8_t buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::IoError("cannot read " + path + ": " + Errno());
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
  }
  ::close(fd);
  std::string actual = Sha256Hex(out);
  if (actual != hash)
    return Status::Corruption("module blob " + path + " is damaged: its sha256 is " + actual);
  return out;
}

bool BlobStore::Contains(const std::string& hash) const {
  struct stat st;
  return IsHash(hash) && ::stat(PathOf(hash).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status BlobStore::Remove(const std::string& hash) {
  ARCELLA_RETURN_IF_ERROR(CheckHash(hash));
  std::string path = PathOf(hash);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::NotFound("module blob " + path + " is missing");
    return Status::IoError("cannot remove " + path + ": " + Errno());
  }
  return FsyncDir(dir_);
}

Result<std::vector<std::string>> BlobStore::List() const {
  DIR* d = ::opendir(dir_.c_str());
  if (!d) return Status::IoError("cannot list " + dir_ + ": " + Errno());
  std::vector<std::string> out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() == 69 && n.substr(64) == ".wasm" && IsHash(n.substr(0, 64)))
      out.push_back(n.substr(0, 64));
  }
  ::closedir(d);
  return out;
}

}  // namespace arcella::platform
