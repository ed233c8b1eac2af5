// Sandboxed path resolution beneath a directory fd. Internal to src/wasi.
//
// The path is walked one component at a time with
// openat(O_PATH|O_DIRECTORY|O_NOFOLLOW) relative to the directory reached so
// far, so no kernel-side lookup ever crosses a symlink or `..`. Symlinks are
// expanded here (relative targets only, at most 40), `..` pops our own stack
// and is refused at the root. A concurrent rename cannot lead outside: every
// step is relative to an fd already known to be inside.
#pragma once

#include <string>
#include <string_view>

#include "wasi/abi.h"
#include "wasi/state.h"

namespace arcella::wasi {

struct ResolvedPath {
  UniqueFd owned;               // the parent directory if it is not the base fd
  int dirfd = -1;               // the parent directory (owned or the base fd)
  std::string name;             // final component: never empty, no '/', may be "." or ".."
  bool trailing_slash = false;  // the path ended in '/'
};

// Resolves `path` beneath `base_fd`. With `follow_final`, a symlink as the
// last component is followed too. Errors: kNoent (empty), kNotcapable
// (absolute path, `..` above the base, absolute symlink), kLoop, kNotdir,
// kIlseq (NUL in path), or the host's error for a missing component.
Errno ResolvePath(int base_fd, std::string_view path, bool follow_final, ResolvedPath* out);

}  // namespace arcella::wasi
