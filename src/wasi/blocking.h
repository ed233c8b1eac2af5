// Interruptible waits for host descriptors that can block: FIFOs, pipes,
// sockets and character devices (regular files and directories never do).
// Internal to src/wasi.
//
// A descriptor the guest opened (path_open) is an open file description of
// its own: the host keeps it O_NONBLOCK and emulates blocking by waiting in
// slices. A borrowed host stdio descriptor is never changed behind the
// host's back: it is waited on first, then read or written (a write of at
// most PIPE_BUF bytes, which a ready pipe takes without blocking). Either
// way, while WasiConfig::interrupted is set, every wait polls it about every
// 10 ms and ends with EINTR once it answers true, so stop, deadline and
// shutdown end a guest blocked in I/O (the engine then traps).
#pragma once

#include <sys/types.h>

#include <functional>

#include "wasi/abi.h"
#include "wasi/state.h"

namespace arcella::wasi {

// True for file types whose I/O can block: FIFO/pipe, socket, character device.
bool ModeMayBlock(unsigned mode);
// The same for an open host descriptor (fstat); false if fstat fails.
bool FdMayBlock(int fd);

// Waits until `fd` is ready for `events` (POLLIN or POLLOUT), or reports an
// error or hang-up (the I/O that follows reports those). kIntr once
// `st.config().interrupted()` answers true.
Errno WaitReady(const WasiState& st, int fd, short events);

// Runs `io` (one read or write syscall: >= 0 or -1 with errno) on entry `e`
// with blocking semantics for the guest unless it set FDFLAGS_NONBLOCK, and
// interruptible as above. *done receives the syscall's result.
Errno BlockingIo(const WasiState& st, const FdEntry& e, short events,
                 const std::function<ssize_t()>& io, ssize_t* done);

}  // namespace arcella::wasi
