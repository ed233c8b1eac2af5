// The shared file system layer (fs_ops.h): resolve beneath a directory
// entry, then act on (parent dirfd, final name) without following symlinks.
#include "wasi/fs_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>

#include "wasi/blocking.h"
#include "wasi/path.h"

namespace arcella::wasi {
namespace {

Errno Host(int r) { return r == 0 ? kSuccess : FromHostErrno(errno); }

bool IsFsEntry(const FdEntry& e) {
  return e.kind == FdEntry::Kind::kFile || e.kind == FdEntry::Kind::kDir;
}

// Checks `dir` is a directory (and writable if `mutate`), then resolves.
Errno Resolve(const FdEntry& dir, std::string_view path, bool follow, bool mutate,
              ResolvedPath* rp) {
  if (!IsFsEntry(dir)) return kBadf;
  if (dir.kind != FdEntry::Kind::kDir) return kNotdir;
  if (Errno err = ResolvePath(dir.host_fd(), path, follow, rp)) return err;
  if (mutate && dir.read_only) return kRofs;
  return kSuccess;
}

unsigned FromDtype(unsigned char t) {
  switch (t) {
    case DT_REG: return S_IFREG;
    case DT_DIR: return S_IFDIR;
    case DT_LNK: return S_IFLNK;
    case DT_CHR: return S_IFCHR;
    case DT_BLK: return S_IFBLK;
    case DT_SOCK: return S_IFSOCK;
    case DT_FIFO: return S_IFIFO;
    default: return 0;
  }
}

}  // namespace

FileType FileTypeOf(unsigned mode) {
  if (S_ISREG(mode)) return kFtRegularFile;
  if (S_ISDIR(mode)) return kFtDirectory;
  if (S_ISLNK(mode)) return kFtSymlink;
  if (S_ISCHR(mode)) return kFtCharDevice;
  if (S_ISBLK(mode)) return kFtBlockDevice;
  if (S_ISSOCK(mode)) return kFtSocketStream;
  return kFtUnknown;
}

Errno OpenAt(const FdEntry& dir, std::string_view path, const OpenFlags& f,
             std::unique_ptr<FdEntry>* out) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, f.follow, false, &rp)) return err;
  const bool write = f.write || f.append;
  if (dir.read_only && (write || f.create || f.truncate)) return kRofs;

  int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  flags |= write ? (f.read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (f.create) flags |= O_CREAT;
  if (f.exclusive) flags |= O_EXCL;
  if (f.truncate) flags |= O_TRUNC;
  if (f.directory || rp.trailing_slash) flags |= O_DIRECTORY;
  if (f.append) flags |= O_APPEND;
  if (f.dsync) flags |= O_DSYNC;
  if (f.sync) flags |= O_SYNC;
  if (f.rsync) flags |= O_RSYNC;

  // O_NONBLOCK while opening so a FIFO cannot block the host thread. A FIFO,
  // socket or character device keeps it: blocking reads and writes are
  // emulated with interruptible waits (blocking.h); for anything else it is
  // cleared unless the guest asked for it.
  int fd = openat(rp.dirfd, rp.name.c_str(), flags, 0666);
  if (fd < 0) return FromHostErrno(errno);
  UniqueFd owned(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) return FromHostErrno(errno);
  const bool may_block = ModeMayBlock(st.st_mode);
  if (!f.nonblock && !may_block) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);

  auto e = std::make_unique<FdEntry>();
  e->fd = std::move(owned);
  e->filetype = FileTypeOf(st.st_mode);
  e->kind = S_ISDIR(st.st_mode) ? FdEntry::Kind::kDir : FdEntry::Kind::kFile;
  e->read_only = dir.read_only;
  e->fdflags = static_cast<uint16_t>((f.append ? kFdflagAppend : 0) | (f.dsync ? kFdflagDsync : 0) |
                                     (f.nonblock ? kFdflagNonblock : 0) |
                                     (f.rsync ? kFdflagRsync : 0) | (f.sync ? kFdflagSync : 0));
  e->may_block = may_block;
  *out = std::move(e);
  return kSuccess;
}

Errno StatAt(const FdEntry& dir, std::string_view path, bool follow, struct stat* out) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, follow, false, &rp)) return err;
  if (fstatat(rp.dirfd, rp.name.c_str(), out, AT_SYMLINK_NOFOLLOW) != 0)
    return FromHostErrno(errno);
  if (rp.trailing_slash && !S_ISDIR(out->st_mode)) return kNotdir;
  return kSuccess;
}

Errno StatFd(const FdEntry& e, struct stat* out) {
  *out = {};
  if (IsFsEntry(e)) return Host(fstat(e.host_fd(), out));
  out->st_mode = e.filetype == kFtRegularFile    ? S_IFREG
                 : e.filetype == kFtUnknown      ? S_IFIFO
                 : e.filetype == kFtSocketStream ? S_IFSOCK
                                                 : S_IFCHR;
  return kSuccess;
}

Errno CreateDirectoryAt(const FdEntry& dir, std::string_view path) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, false, true, &rp)) return err;
  if (rp.name == ".") return kExist;
  return Host(mkdirat(rp.dirfd, rp.name.c_str(), 0777));
}

Errno RemoveDirectoryAt(const FdEntry& dir, std::string_view path) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, false, true, &rp)) return err;
  if (rp.name == ".") return kInval;
  return Host(unlinkat(rp.dirfd, rp.name.c_str(), AT_REMOVEDIR));
}

Errno UnlinkFileAt(const FdEntry& dir, std::string_view path) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, false, true, &rp)) return err;
  if (rp.name == ".") return kIsdir;
  if (rp.trailing_slash) {
    struct stat st;
    if (fstatat(rp.dirfd, rp.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return FromHostErrno(errno);
    return S_ISDIR(st.st_mode) ? kIsdir : kNotdir;
  }
  return Host(unlinkat(rp.dirfd, rp.name.c_str(), 0));
}

Errno RenameAt(const FdEntry& from_dir, std::string_view from, const FdEntry& to_dir,
               std::string_view to) {
  ResolvedPath a, b;
  if (Errno err = Resolve(from_dir, from, false, true, &a)) return err;
  if (Errno err = Resolve(to_dir, to, false, true, &b)) return err;
  if (a.name == "." || b.name == ".") return kInval;
  return Host(renameat(a.dirfd, a.name.c_str(), b.dirfd, b.name.c_str()));
}

Errno LinkAt(const FdEntry& from_dir, std::string_view from, bool follow, const FdEntry& to_dir,
             std::string_view to) {
  // The source tree must be writable too: a link in a writable tree to a
  // file of a read-only one would let the guest modify that file.
  ResolvedPath a, b;
  if (Errno err = Resolve(from_dir, from, follow, true, &a)) return err;
  if (Errno err = Resolve(to_dir, to, false, true, &b)) return err;
  return Host(linkat(a.dirfd, a.name.c_str(), b.dirfd, b.name.c_str(), 0));
}

Errno SymlinkAt(std::string_view target, const FdEntry& dir, std::string_view path) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, false, true, &rp)) return err;
  if (target.empty()) return kNoent;
  if (target.find('\0') != std::string_view::npos) return kIlseq;
  if (target[0] == '/') return kNotcapable;
  std::string t(target);
  return Host(symlinkat(t.c_str(), rp.dirfd, rp.name.c_str()));
}

Errno ReadlinkAt(const FdEntry& dir, std::string_view path, std::string* target) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, false, false, &rp)) return err;
  char buf[PATH_MAX];
  ssize_t n = readlinkat(rp.dirfd, rp.name.c_str(), buf, sizeof buf);
  if (n < 0) return FromHostErrno(errno);
  target->assign(buf, static_cast<size_t>(n));
  return kSuccess;
}

Errno SetTimesAt(const FdEntry& dir, std::string_view path, bool follow,
                 const struct timespec ts[2]) {
  ResolvedPath rp;
  if (Errno err = Resolve(dir, path, follow, true, &rp)) return err;
  return Host(utimensat(rp.dirfd, rp.name.c_str(), ts, AT_SYMLINK_NOFOLLOW));
}

Errno SetTimes(const FdEntry& e, const struct timespec ts[2]) {
  if (!IsFsEntry(e)) return kNotsup;
  if (e.read_only) return kRofs;
  return Host(futimens(e.host_fd(), ts));
}

Errno SetSize(const FdEntry& e, uint64_t size) {
  if (e.kind == FdEntry::Kind::kDir) return kIsdir;
  if (e.kind != FdEntry::Kind::kFile) return kInval;
  if (e.read_only) return kRofs;
  if (size > static_cast<uint64_t>(INT64_MAX)) return kInval;
  return Host(ftruncate(e.host_fd(), static_cast<off_t>(size)));
}

Errno Advise(const FdEntry& e, uint64_t offset, uint64_t len, uint32_t advice) {
  static const int kHost[] = {POSIX_FADV_NORMAL,   POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                              POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED,   POSIX_FADV_NOREUSE};
  if (advice > 5) return kInval;
  if (e.kind == FdEntry::Kind::kDir) return kIsdir;
  if (e.kind != FdEntry::Kind::kFile) return kSpipe;
  if (offset > static_cast<uint64_t>(INT64_MAX) || len > static_cast<uint64_t>(INT64_MAX))
    return kInval;
  return FromHostErrno(posix_fadvise(e.host_fd(), static_cast<off_t>(offset),
                                     static_cast<off_t>(len), kHost[advice]));
}

Errno Sync(const FdEntry& e, bool data_only) {
  if (!IsFsEntry(e)) return kInval;
  return Host(data_only ? fdatasync(e.host_fd()) : fsync(e.host_fd()));
}

Errno ListDirectory(const FdEntry& dir, std::vector<DirEntryInfo>* out) {
  if (!IsFsEntry(dir)) return kBadf;
  if (dir.kind != FdEntry::Kind::kDir) return kNotdir;
  int fd = openat(dir.host_fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return FromHostErrno(errno);
  DIR* d = fdopendir(fd);
  if (!d) {
    int err = errno;
    close(fd);
    return FromHostErrno(err);
  }
  out->clear();
  errno = 0;
  while (struct dirent* de = readdir(d)) {
    DirEntryInfo info{de->d_name, de->d_ino, kFtUnknown, FromDtype(de->d_type)};
    if (de->d_type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        info.host_type = st.st_mode & S_IFMT;
    }
    info.type = info.host_type ? FileTypeOf(info.host_type) : kFtUnknown;
    out->push_back(std::move(info));
    errno = 0;
  }
  int err = errno;
  closedir(d);
  return FromHostErrno(err);
}

}  // namespace arcella::wasi
