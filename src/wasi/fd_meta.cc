// Descriptor metadata: fdstat, filestat, prestat, advise/allocate/sync.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "wasi/fs_ops.h"
#include "wasi/handlers.h"

namespace arcella::wasi {

static uint64_t Ns(const struct timespec& t) {
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(t.tv_nsec);
}

bool StoreFilestat(GuestMem& mem, uint32_t ptr, const struct stat& st) {
  if (!mem.Ok(ptr, kFilestatSize)) return false;
  uint8_t buf[kFilestatSize] = {};
  auto put = [&](size_t off, uint64_t v) { std::memcpy(buf + off, &v, 8); };
  put(0, st.st_dev);
  put(8, st.st_ino);
  buf[16] = FileTypeOf(st.st_mode);
  put(24, st.st_nlink);
  put(32, static_cast<uint64_t>(st.st_size));
  put(40, Ns(st.st_atim));
  put(48, Ns(st.st_mtim));
  put(56, Ns(st.st_ctim));
  return mem.Write(ptr, buf, sizeof buf);
}

Errno TimesFromFlags(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]) {
  if (fst & ~0xFu) return kInval;
  if ((fst & kFstAtim) && (fst & kFstAtimNow)) return kInval;
  if ((fst & kFstMtim) && (fst & kFstMtimNow)) return kInval;
  auto set = [](struct timespec* t, bool value, bool now, uint64_t ns) {
    if (now) {
      t->tv_sec = 0;
      t->tv_nsec = UTIME_NOW;
    } else if (value) {
      t->tv_sec = static_cast<time_t>(ns / 1'000'000'000ull);
      t->tv_nsec = static_cast<long>(ns % 1'000'000'000ull);
    } else {
      t->tv_sec = 0;
      t->tv_nsec = UTIME_OMIT;
    }
  };
  set(&ts[0], fst & kFstAtim, fst & kFstAtimNow, atim);
  set(&ts[1], fst & kFstMtim, fst & kFstMtimNow, mtim);
  return kSuccess;
}

Errno FdFdstatGet(HostCall& c) {
  FdEntry* e = c.st.Get(c.u32(0));
  if (!e) return kBadf;
  uint8_t buf[kFdstatSize] = {};
  buf[0] = e->filetype;
  std::memcpy(buf + 2, &e->fdflags, 2);
  std::memcpy(buf + 8, &e->rights_base, 8);
  std::memcpy(buf + 16, &e->rights_inheriting, 8);
  return c.mem.Write(c.u32(1), buf, sizeof buf) ? kSuccess : kFault;
}

Errno FdFdstatSetFlags(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdFdstatSetFlags, &err);
  if (!e) return err;
  uint32_t flags = c.u32(1);
  if (flags & ~0x1Fu) return kInval;
  if ((flags & (kFdflagDsync | kFdflagRsync | kFdflagSync)) !=
      (e->fdflags & (kFdflagDsync | kFdflagRsync | kFdflagSync)))
    return kNotsup;  // Linux cannot change O_*SYNC on an open file
  if (e->kind != FdEntry::Kind::kFile) {
    // Never change the flags of a borrowed host stdio fd behind the host's back.
    if (flags != e->fdflags) return kNotsup;
    return kSuccess;
  }
  int fl = fcntl(e->host_fd(), F_GETFL);
  if (fl < 0) return FromHostErrno(errno);
  fl &= ~(O_APPEND | O_NONBLOCK);
  if (flags & kFdflagAppend) fl |= O_APPEND;
  // What may block stays O_NONBLOCK on the host (blocking.h); the guest's
  // choice is kept in fdflags.
  if ((flags & kFdflagNonblock) || e->may_block) fl |= O_NONBLOCK;
  if (fcntl(e->host_fd(), F_SETFL, fl) < 0) return FromHostErrno(errno);
  e->fdflags = static_cast<uint16_t>(flags);
  return kSuccess;
}

Errno FdFdstatSetRights(HostCall& c) {
  FdEntry* e = c.st.Get(c.u32(0));
  if (!e) return kBadf;
  uint64_t base = c.u64(1), inh = c.u64(2);
  // Rights can only be dropped, never gained.
  if ((base & ~e->rights_base) || (inh & ~e->rights_inheriting)) return kNotcapable;
  e->rights_base = base;
  e->rights_inheriting = inh;
  return kSuccess;
}

Errno FdFilestatGet(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdFilestatGet, &err);
  if (!e) return err;
  uint32_t ptr = c.u32(1);
  if (!c.mem.Ok(ptr, kFilestatSize)) return kFault;
  struct stat st;
  if ((err = StatFd(*e, &st))) return err;
  StoreFilestat(c.mem, ptr, st);
  return kSuccess;
}

Errno FdFilestatSetSize(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdFilestatSetSize, &err);
  if (!e) return err;
  return SetSize(*e, c.u64(1));
}

Errno FdFilestatSetTimes(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdFilestatSetTimes, &err);
  if (!e) return err;
  struct timespec ts[2];
  if ((err = TimesFromFlags(c.u64(1), c.u64(2), c.u32(3), ts))) return err;
  return SetTimes(*e, ts);
}

Errno FdPrestatGet(HostCall& c) {
  FdEntry* e = c.st.Get(c.u32(0));
  if (!e || !e->preopen_name) return kBadf;
  uint8_t buf[kPrestatSize] = {};
  uint32_t len = static_cast<uint32_t>(e->preopen_name->size());
  std::memcpy(buf + 4, &len, 4);  // tag 0 = dir
  return c.mem.Write(c.u32(1), buf, sizeof buf) ? kSuccess : kFault;
}

Errno FdPrestatDirName(HostCall& c) {
  FdEntry* e = c.st.Get(c.u32(0));
  if (!e || !e->preopen_name) return kBadf;
  const std::string& name = *e->preopen_name;
  uint32_t ptr = c.u32(1), len = c.u32(2);
  if (!c.mem.Ok(ptr, len)) return kFault;
  if (len < name.size()) return kNametoolong;
  c.mem.Write(ptr, name.data(), name.size());
  return kSuccess;
}

Errno FdAdvise(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdAdvise, &err);
  if (!e) return err;
  return Advise(*e, c.u64(1), c.u64(2), c.u32(3));
}

Errno FdAllocate(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdAllocate, &err);
  if (!e) return err;
  if (e->kind == FdEntry::Kind::kDir) return kIsdir;
  if (e->kind != FdEntry::Kind::kFile) return kSpipe;
  uint64_t off = c.u64(1), len = c.u64(2);
  if (off > static_cast<uint64_t>(INT64_MAX) || len > static_cast<uint64_t>(INT64_MAX) || len == 0)
    return kInval;
  int r = posix_fallocate(e->host_fd(), static_cast<off_t>(off), static_cast<off_t>(len));
  return FromHostErrno(r);
}

static Errno SyncCall(HostCall& c, bool data_only) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), data_only ? right::kFdDatasync : right::kFdSync, &err);
  if (!e) return err;
  return Sync(*e, data_only);
}

Errno FdDatasync(HostCall& c) { return SyncCall(c, true); }
Errno FdSync(HostCall& c) { return SyncCall(c, false); }

}  // namespace arcella::wasi
