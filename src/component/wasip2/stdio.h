// The streams behind wasi:cli stdin, stdout and stderr, over the same
// WasiConfig fields as preview 1: stdin from `stdin_data` (shared with the
// preview-1 reader's position), else the borrowed host fd `stdin_fd`, else
// empty; output to `sink`, else the borrowed `host_fd`, else discarded.
// Host fds are never changed (no O_NONBLOCK): a FIFO, pipe, socket or
// terminal is polled before it is read or written, in slices that ask
// WasiConfig::interrupted (wasi/blocking.h). Internal to src/component/wasip2.
#pragma once

#include <memory>

#include "component/wasip2/state.h"
#include "component/wasip2/streams.h"

namespace arcella::component {

std::shared_ptr<InputStreamImpl> MakeStdin(WasiP2State& st);
// `err`: stderr (else stdout).
std::shared_ptr<OutputStreamImpl> MakeStdout(WasiP2State& st, bool err);
// An output stream that takes everything and keeps nothing.
std::shared_ptr<OutputStreamImpl> MakeDiscardOutput();

}  // namespace arcella::component
