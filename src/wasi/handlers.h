// The preview1 host functions, one C++ function per WASI import, all with one
// signature: raw wasm arguments in, a WASI errno out. Internal to src/wasi.
#pragma once

#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <span>
#include <vector>

#include "engine/types.h"
#include "wasi/abi.h"
#include "wasi/fs_ops.h"
#include "wasi/state.h"

namespace arcella::wasi {

struct HostCall {
  WasiState& st;
  GuestMem mem;
  std::span<const engine::Value> args;
  uint32_t u32(size_t i) const { return args[i].i32; }
  uint64_t u64(size_t i) const { return args[i].i64; }
};

using Handler = Errno (*)(HostCall&);

// Reads `count` iovecs at `iovs` into host iovecs (each buffer bounds-checked).
Errno LoadIovecs(GuestMem& mem, uint32_t iovs, uint32_t count, std::vector<struct iovec>* out);
// Writes a filestat (64 bytes) for `st` at `ptr`.
bool StoreFilestat(GuestMem& mem, uint32_t ptr, const struct stat& st);
// Converts WASI atim/mtim/fstflags to a host timespec pair; kInval on bad flags.
Errno TimesFromFlags(uint64_t atim, uint64_t mtim, uint32_t fst, struct timespec ts[2]);

// misc_ops.cc
Errno ArgsGet(HostCall&);
Errno ArgsSizesGet(HostCall&);
Errno EnvironGet(HostCall&);
Errno EnvironSizesGet(HostCall&);
Errno ClockResGet(HostCall&);
Errno ClockTimeGet(HostCall&);
Errno RandomGet(HostCall&);
Errno SchedYield(HostCall&);
Errno ProcRaise(HostCall&);
Errno ProcExit(HostCall&);  // records the code; the caller turns it into a trap
Errno SockAccept(HostCall&);
Errno SockRecv(HostCall&);
Errno SockSend(HostCall&);
Errno SockShutdown(HostCall&);

// fd_ops.cc / fd_meta.cc
Errno FdAdvise(HostCall&);
Errno FdAllocate(HostCall&);
Errno FdClose(HostCall&);
Errno FdDatasync(HostCall&);
Errno FdFdstatGet(HostCall&);
Errno FdFdstatSetFlags(HostCall&);
Errno FdFdstatSetRights(HostCall&);
Errno FdFilestatGet(HostCall&);
Errno FdFilestatSetSize(HostCall&);
Errno FdFilestatSetTimes(HostCall&);
Errno FdPread(HostCall&);
Errno FdPrestatGet(HostCall&);
Errno FdPrestatDirName(HostCall&);
Errno FdPwrite(HostCall&);
Errno FdRead(HostCall&);
Errno FdReaddir(HostCall&);
Errno FdRenumber(HostCall&);
Errno FdSeek(HostCall&);
Errno FdSync(HostCall&);
Errno FdTell(HostCall&);
Errno FdWrite(HostCall&);

// path_ops.cc
Errno PathCreateDirectory(HostCall&);
Errno PathFilestatGet(HostCall&);
Errno PathFilestatSetTimes(HostCall&);
Errno PathLink(HostCall&);
Errno PathOpen(HostCall&);
Errno PathReadlink(HostCall&);
Errno PathRemoveDirectory(HostCall&);
Errno PathRename(HostCall&);
Errno PathSymlink(HostCall&);
Errno PathUnlinkFile(HostCall&);

// poll.cc
Errno PollOneoff(HostCall&);

}  // namespace arcella::wasi
