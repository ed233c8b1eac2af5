// wasi:filesystem@0.2.12 (types, preopens) for the WASI 0.2 host, on the
// capability layer shared with preview 1 (wasi/fs_ops.h): the same
// preopens (WasiConfig::preopens, preview-1 fds 3, 4, ...), the same
// escape-proof resolution beneath a directory, the same read-only trees.
// Internal to src/component/wasip2.
//
//   auto state = ...;  // WasiP2State
//   Status s = DefineWasiFilesystem(linker, state);  // from WasiP2::AddToLinker
//
// Permissions. A preopen descriptor has flags read + mutate-directory
// (read only, for a read-only preopen). open-at gives a child at most its
// parent's access: write, create, truncate and mutate-directory need a
// parent with mutate-directory (else not-permitted) in a writable tree
// (else read-only). A directory inherits its parent's read and
// mutate-directory (as in wasmtime; the preview-1 adapter never asks for
// mutate-directory). Reading needs the read flag, writing the write flag
// (else bad-descriptor). Path escapes (absolute paths, `..` above the
// descriptor, symlinks leading out) are not-permitted.
//
// Errors: every wasi errno maps to one error-code (ErrorCodeOf, table in
// docs/WASI.md); an unknown handle rep is a trap. Host functions run on the
// thread calling into the component, like the rest of the WasiP2.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "component/linker.h"
#include "component/wasip2/state.h"
#include "component/wasip2/wit_host.h"
#include "wasi/abi.h"
#include "wasi/state.h"

namespace arcella::component {

// descriptor-flags bits, in WIT order.
namespace dflag {
constexpr uint32_t kRead = 1, kWrite = 2, kFileIntegritySync = 4, kDataIntegritySync = 8,
                   kRequestedWriteSync = 16, kMutateDirectory = 32;
}  // namespace dflag

// wasi:filesystem/types.descriptor: an open file or directory.
struct Descriptor {
  wasi::FdEntry entry;  // the host fd, its kind and whether its tree is read-only
  uint32_t flags = 0;   // dflag:: bits granted at open
};

// wasi:filesystem/types.directory-entry-stream: a listing read at
// read-directory (without `.` and `..`), handed out one entry at a time.
struct DirEntryStream {
  std::vector<wasi::DirEntryInfo> entries;
  size_t next = 0;
};

// The error-code case index (WIT enum order) for a WASI errno.
uint32_t ErrorCodeOf(wasi::Errno err);

// The host functions of wasi:filesystem/types ("[method]descriptor.stat",
// "filesystem-error-code", ...) and wasi:filesystem/preopens
// ("get-directories"), by their WIT names, over `state`.
HostImpls FilesystemTypesImpls(std::shared_ptr<WasiP2State> state);
HostImpls FilesystemPreopensImpls(std::shared_ptr<WasiP2State> state);

// Defines wasi:filesystem/types@0.2.12 and wasi:filesystem/preopens@0.2.12
// in `linker` (resources descriptor and directory-entry-stream with
// destructors that close them). The functions keep `state` alive.
Status DefineWasiFilesystem(Linker& linker, std::shared_ptr<WasiP2State> state);

}  // namespace arcella::component
