// path_*: the preview-1 rights checks and guest-memory plumbing around the
// shared file system layer (fs_ops.h), which resolves every path beneath
// the directory fd and never follows a symlink out of it.
#include <algorithm>
#include <string>

#include "wasi/fs_ops.h"
#include "wasi/handlers.h"

namespace arcella::wasi {
namespace {

// Checks `fd` holds `rights` and reads the guest path (ptr, len).
Errno Dir(HostCall& c, uint32_t fd, uint64_t rights, uint32_t ptr, uint32_t len, FdEntry** dir,
          std::string_view* path) {
  Errno err;
  *dir = c.st.GetWithRights(fd, rights, &err);
  if (!*dir) return err;
  if ((*dir)->kind != FdEntry::Kind::kDir) return kNotdir;
  if (!c.mem.Str(ptr, len, path)) return kFault;
  return kSuccess;
}

}  // namespace

Errno PathCreateDirectory(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathCreateDirectory, c.u32(1), c.u32(2), &dir, &path))
    return err;
  return CreateDirectoryAt(*dir, path);
}

Errno PathFilestatGet(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathFilestatGet, c.u32(2), c.u32(3), &dir, &path))
    return err;
  uint32_t out = c.u32(4);
  if (!c.mem.Ok(out, kFilestatSize)) return kFault;
  struct stat st;
  if (Errno err = StatAt(*dir, path, c.u32(1) & kLookupSymlinkFollow, &st)) return err;
  return StoreFilestat(c.mem, out, st) ? kSuccess : kFault;
}

Errno PathFilestatSetTimes(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathFilestatSetTimes, c.u32(2), c.u32(3), &dir, &path))
    return err;
  struct timespec ts[2];
  if (Errno err = TimesFromFlags(c.u64(4), c.u64(5), c.u32(6), ts)) return err;
  return SetTimesAt(*dir, path, c.u32(1) & kLookupSymlinkFollow, ts);
}

Errno PathLink(HostCall& c) {
  FdEntry *from, *to;
  std::string_view from_path, to_path;
  if (Errno err = Dir(c, c.u32(0), right::kPathLinkSource, c.u32(2), c.u32(3), &from, &from_path))
    return err;
  if (Errno err = Dir(c, c.u32(4), right::kPathLinkTarget, c.u32(5), c.u32(6), &to, &to_path))
    return err;
  return LinkAt(*from, from_path, c.u32(1) & kLookupSymlinkFollow, *to, to_path);
}

Errno PathOpen(HostCall& c) {
  uint32_t dirflags = c.u32(1), oflags = c.u32(4), fdflags = c.u32(7), out = c.u32(8);
  uint64_t base = c.u64(5), inh = c.u64(6);
  if (oflags & ~0xFu || fdflags & ~0x1Fu) return kInval;
  uint64_t need = right::kPathOpen;
  if (oflags & kOflagCreat) need |= right::kPathCreateFile;
  if (oflags & kOflagTrunc) need |= right::kPathFilestatSetSize;
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), need, c.u32(2), c.u32(3), &dir, &path)) return err;
  if (!c.mem.Ok(out, 4)) return kFault;

  OpenFlags f;
  f.follow = dirflags & kLookupSymlinkFollow;
  f.create = oflags & kOflagCreat;
  f.directory = oflags & kOflagDirectory;
  f.exclusive = oflags & kOflagExcl;
  f.truncate = oflags & kOflagTrunc;
  f.write = base & right::kOpenForWrite;
  f.read = base & (right::kFdRead | right::kFdReaddir);
  f.append = fdflags & kFdflagAppend;
  f.dsync = fdflags & kFdflagDsync;
  f.sync = fdflags & kFdflagSync;
  f.rsync = fdflags & kFdflagRsync;
  f.nonblock = fdflags & kFdflagNonblock;
  if (base & ~dir->rights_inheriting) return kNotcapable;
  inh &= dir->rights_inheriting;
  if (c.st.size() >= c.st.max_open_fds) return kMfile;

  std::unique_ptr<FdEntry> e;
  if (Errno err = OpenAt(*dir, path, f, &e)) return err;
  e->rights_base = base & (e->kind == FdEntry::Kind::kDir ? right::kDir : right::kFile);
  e->rights_inheriting = inh;
  if (e->read_only) {
    e->rights_base &= ~right::kWriting;
    e->rights_inheriting &= right::kReadOnlyInheriting;
  }
  c.mem.Store(out, c.st.Insert(std::move(e)));
  return kSuccess;
}

Errno PathReadlink(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathReadlink, c.u32(1), c.u32(2), &dir, &path))
    return err;
  uint32_t buf = c.u32(3), len = c.u32(4), used = c.u32(5);
  if (!c.mem.Ok(buf, len) || !c.mem.Ok(used, 4)) return kFault;
  std::string target;
  if (Errno err = ReadlinkAt(*dir, path, &target)) return err;
  uint32_t copy = std::min<uint32_t>(len, static_cast<uint32_t>(target.size()));
  c.mem.Write(buf, target.data(), copy);
  c.mem.Store(used, copy);
  return kSuccess;
}

Errno PathRemoveDirectory(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathRemoveDirectory, c.u32(1), c.u32(2), &dir, &path))
    return err;
  return RemoveDirectoryAt(*dir, path);
}

Errno PathRename(HostCall& c) {
  FdEntry *from, *to;
  std::string_view from_path, to_path;
  if (Errno err = Dir(c, c.u32(0), right::kPathRenameSource, c.u32(1), c.u32(2), &from, &from_path))
    return err;
  if (Errno err = Dir(c, c.u32(3), right::kPathRenameTarget, c.u32(4), c.u32(5), &to, &to_path))
    return err;
  return RenameAt(*from, from_path, *to, to_path);
}

Errno PathSymlink(HostCall& c) {
  std::string_view target;
  if (!c.mem.Str(c.u32(0), c.u32(1), &target)) return kFault;
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(2), right::kPathSymlink, c.u32(3), c.u32(4), &dir, &path))
    return err;
  return SymlinkAt(target, *dir, path);
}

Errno PathUnlinkFile(HostCall& c) {
  FdEntry* dir;
  std::string_view path;
  if (Errno err = Dir(c, c.u32(0), right::kPathUnlinkFile, c.u32(1), c.u32(2), &dir, &path))
    return err;
  return UnlinkFileAt(*dir, path);
}

}  // namespace arcella::wasi
