// The wasi:io streams of a wasi:filesystem descriptor (read-via-stream,
// write-via-stream, append-via-stream). Internal to src/component/wasip2.
//
// A stream keeps its descriptor alive and its own offset. Regular files
// (and directories, which fail on I/O) are always ready, as in wasmtime:
// a read returns what is there (nothing more at the end: closed), a write
// takes at most the permit (64 KiB) and completes before returning, flush
// does nothing. A FIFO, socket or character device is non-blocking: a read
// or write takes what is ready now, blocking ones wait in slices of about
// 10 ms and end with EINTR (last-operation-failed) once `interrupted` says
// so. After a failure a stream is closed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "component/wasip2/filesystem.h"
#include "component/wasip2/streams.h"

namespace arcella::component {

// Reads from `offset` on (ignored for what may block: read(2) in order).
std::shared_ptr<InputStreamImpl> MakeFileInputStream(std::shared_ptr<Descriptor> d, uint64_t offset,
                                                     std::function<bool()> interrupted);
// Writes from `offset` on; with `append`, each write goes to the end of
// the file as it is then.
std::shared_ptr<OutputStreamImpl> MakeFileOutputStream(std::shared_ptr<Descriptor> d,
                                                       uint64_t offset, bool append,
                                                       std::function<bool()> interrupted);

}  // namespace arcella::component
