// OpenDirNoSymlinks: opens a directory by a path that must not contain a
// symlink anywhere (openat2 with RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS).
// Used wherever a granted directory is opened after the grant was checked on
// its path (WASI preopens in the daemon, a worker's granted directories): a
// component that became a symlink since is refused instead of followed.
//
// Errors: an empty UniqueFd with errno set — ELOOP: a component of the path
// is a symlink; ENOSYS: the kernel has no openat2 (before 5.6; the caller
// decides whether a weaker fallback is acceptable); otherwise what openat2
// gives (ENOENT, ENOTDIR, EACCES, ...).
//
// Thread-safety: a plain function.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace arcella {

// `flags`: O_RDONLY or O_PATH (O_DIRECTORY and O_CLOEXEC are always added).
UniqueFd OpenDirNoSymlinks(const std::string& path, int flags);

}  // namespace arcella
