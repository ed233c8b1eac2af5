// path_*: every operation resolves its path(s) beneath a directory fd with
// ResolvePath, then acts on (parent dirfd, single final name) with *at()
// calls that never follow a symlink themselves.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "wasi/blocking.h"
#include "wasi/handlers.h"
#include "wasi/path.h"

namespace arcella::wasi {
namespace {

// Checks `fd` is a directory with `rights`, reads the guest path and resolves it.
Errno Resolve(HostCall& c, uint32_t fd, uint64_t rights, uint32_t ptr, uint32_t len, bool follow,
              ResolvedPath* rp, FdEntry** dir_out = nullptr) {
  Errno err;
  FdEntry* dir = c.st.GetWithRights(fd, rights, &err);
  if (!dir) return err;
  if (dir->kind != FdEntry::Kind::kDir) return kNotdir;
  std::string_view path;
  if (!c.mem.Str(ptr, len, &path)) return kFault;
  if (dir_out) *dir_out = dir;
  return ResolvePath(dir->host_fd(), path, follow, rp);
}

Errno Host(int r) { return r == 0 ? kSuccess : FromHostErrno(errno); }

}  // namespace

Errno PathCreateDirectory(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathCreateDirectory, c.u32(1), c.u32(2), false, &rp);
  if (err) return err;
  if (rp.name == ".") return kExist;
  return Host(mkdirat(rp.dirfd, rp.name.c_str(), 0777));
}

Errno PathFilestatGet(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathFilestatGet, c.u32(2), c.u32(3),
                      c.u32(1) & kLookupSymlinkFollow, &rp);
  if (err) return err;
  uint32_t out = c.u32(4);
  if (!c.mem.Ok(out, kFilestatSize)) return kFault;
  struct stat st;
  if (fstatat(rp.dirfd, rp.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return FromHostErrno(errno);
  if (rp.trailing_slash && !S_ISDIR(st.st_mode)) return kNotdir;
  StoreFilestat(c.mem, out, st);
  return kSuccess;
}

Errno PathFilestatSetTimes(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathFilestatSetTimes, c.u32(2), c.u32(3),
                      c.u32(1) & kLookupSymlinkFollow, &rp);
  if (err) return err;
  struct timespec ts[2];
  if ((err = TimesFromFlags(c.u64(4), c.u64(5), c.u32(6), ts))) return err;
  return Host(utimensat(rp.dirfd, rp.name.c_str(), ts, AT_SYMLINK_NOFOLLOW));
}

Errno PathLink(HostCall& c) {
  ResolvedPath from, to;
  Errno err = Resolve(c, c.u32(0), right::kPathLinkSource, c.u32(2), c.u32(3),
                      c.u32(1) & kLookupSymlinkFollow, &from);
  if (err) return err;
  if ((err = Resolve(c, c.u32(4), right::kPathLinkTarget, c.u32(5), c.u32(6), false, &to)))
    return err;
  return Host(linkat(from.dirfd, from.name.c_str(), to.dirfd, to.name.c_str(), 0));
}

Errno PathOpen(HostCall& c) {
  uint32_t dirflags = c.u32(1), oflags = c.u32(4), fdflags = c.u32(7), out = c.u32(8);
  uint64_t base = c.u64(5), inh = c.u64(6);
  if (oflags & ~0xFu || fdflags & ~0x1Fu) return kInval;
  uint64_t need = right::kPathOpen;
  if (oflags & kOflagCreat) need |= right::kPathCreateFile;
  if (oflags & kOflagTrunc) need |= right::kPathFilestatSetSize;
  ResolvedPath rp;
  FdEntry* dir = nullptr;
  Errno err = Resolve(c, c.u32(0), need, c.u32(2), c.u32(3), dirflags & kLookupSymlinkFollow, &rp,
                      &dir);
  if (err) return err;
  if (!c.mem.Ok(out, 4)) return kFault;

  bool write = (base & right::kOpenForWrite) || (fdflags & kFdflagAppend);
  if (dir->read_only && (write || (oflags & (kOflagCreat | kOflagTrunc)))) return kRofs;
  if (base & ~dir->rights_inheriting) return kNotcapable;
  inh &= dir->rights_inheriting;
  bool read = base & (right::kFdRead | right::kFdReaddir);

  int flags = O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
  flags |= write ? (read ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (oflags & kOflagCreat) flags |= O_CREAT;
  if (oflags & kOflagExcl) flags |= O_EXCL;
  if (oflags & kOflagTrunc) flags |= O_TRUNC;
  if ((oflags & kOflagDirectory) || rp.trailing_slash) flags |= O_DIRECTORY;
  if (fdflags & kFdflagAppend) flags |= O_APPEND;
  if (fdflags & kFdflagDsync) flags |= O_DSYNC;
  if (fdflags & kFdflagSync) flags |= O_SYNC;
  if (fdflags & kFdflagRsync) flags |= O_RSYNC;
  if (c.st.size() >= c.st.max_open_fds) return kMfile;

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
  if (!(fdflags & kFdflagNonblock) && !may_block)
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);

  auto e = std::make_unique<FdEntry>();
  e->fd = std::move(owned);
  e->filetype = FileTypeOf(st.st_mode);
  e->kind = S_ISDIR(st.st_mode) ? FdEntry::Kind::kDir : FdEntry::Kind::kFile;
  e->rights_base = base & (S_ISDIR(st.st_mode) ? right::kDir : right::kFile);
  e->rights_inheriting = inh;
  e->read_only = dir->read_only;
  if (e->read_only) {
    e->rights_base &= ~right::kWriting;
    e->rights_inheriting &= right::kReadOnlyInheriting;
  }
  e->fdflags = static_cast<uint16_t>(fdflags);
  e->may_block = may_block;
  c.mem.Store(out, c.st.Insert(std::move(e)));
  return kSuccess;
}

Errno PathReadlink(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathReadlink, c.u32(1), c.u32(2), false, &rp);
  if (err) return err;
  uint32_t buf = c.u32(3), len = c.u32(4), used = c.u32(5);
  if (!c.mem.Ok(buf, len) || !c.mem.Ok(used, 4)) return kFault;
  char tmp[PATH_MAX];
  ssize_t n = readlinkat(rp.dirfd, rp.name.c_str(), tmp, sizeof tmp);
  if (n < 0) return FromHostErrno(errno);
  uint32_t copy = std::min<uint32_t>(len, static_cast<uint32_t>(n));
  c.mem.Write(buf, tmp, copy);
  c.mem.Store(used, copy);
  return kSuccess;
}

Errno PathRemoveDirectory(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathRemoveDirectory, c.u32(1), c.u32(2), false, &rp);
  if (err) return err;
  if (rp.name == ".") return kInval;
  return Host(unlinkat(rp.dirfd, rp.name.c_str(), AT_REMOVEDIR));
}

Errno PathRename(HostCall& c) {
  ResolvedPath from, to;
  Errno err = Resolve(c, c.u32(0), right::kPathRenameSource, c.u32(1), c.u32(2), false, &from);
  if (err) return err;
  if ((err = Resolve(c, c.u32(3), right::kPathRenameTarget, c.u32(4), c.u32(5), false, &to)))
    return err;
  if (from.name == "." || to.name == ".") return kInval;
  return Host(renameat(from.dirfd, from.name.c_str(), to.dirfd, to.name.c_str()));
}

Errno PathSymlink(HostCall& c) {
  std::string_view target;
  if (!c.mem.Str(c.u32(0), c.u32(1), &target)) return kFault;
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(2), right::kPathSymlink, c.u32(3), c.u32(4), false, &rp);
  if (err) return err;
  if (target.empty()) return kNoent;
  if (target.find('\0') != std::string_view::npos) return kIlseq;
  // Policy: no absolute targets. Such a link could never be followed inside
  // the sandbox, and it would be a trap for host tools walking the tree.
  if (target[0] == '/') return kNotcapable;
  std::string t(target);
  return Host(symlinkat(t.c_str(), rp.dirfd, rp.name.c_str()));
}

Errno PathUnlinkFile(HostCall& c) {
  ResolvedPath rp;
  Errno err = Resolve(c, c.u32(0), right::kPathUnlinkFile, c.u32(1), c.u32(2), false, &rp);
  if (err) return err;
  if (rp.name == ".") return kIsdir;
  struct stat st;
  if (rp.trailing_slash) {
    if (fstatat(rp.dirfd, rp.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return FromHostErrno(errno);
    return S_ISDIR(st.st_mode) ? kIsdir : kNotdir;
  }
  return Host(unlinkat(rp.dirfd, rp.name.c_str(), 0));
}

}  // namespace arcella::wasi
