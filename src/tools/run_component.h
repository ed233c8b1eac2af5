// The component path of `arcella run` (run_command.h): a WASI 0.2 command
// (its `wasi:cli/run@0.2.x#run` export) or, with --invoke, any exported
// function called with WAVE arguments (component/wave.h) and its result
// printed in WAVE. WASI 0.2 (component/wasip2/wasi_p2.h) gets the same
// capabilities as preview 1: --dir/--dir-ro, --env, the arguments (argv[0]
// is the file name) and the process's stdio; the limits (--fuel,
// --max-memory, --max-stack, --timeout) apply to the component instance as
// a whole (component/instance.h, "Limits").
//
// Exit codes (docs/CLI.md): the code given to wasi:cli/exit (0 for ok, 1
// for err), else the result of run (0 ok, 1 err); 0 after --invoke; 1 the
// component could not be decoded, linked or instantiated, or has no such
// export; 2 an --invoke call that does not parse (the message names the
// line, column and bytes); 134 a trap (kind and function on stderr).
//
// Threads: runs on the calling thread; installs no signal handler while the
// guest runs (Ctrl-C ends the process, as for a core module).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "component/export_names.h"
#include "tools/run_command.h"

namespace arcella::tools {

// Runs the component binary `bytes` (component::IsComponentBinary) read
// from o.file; returns the process exit code.
int RunComponent(RunOptions o, std::vector<uint8_t> bytes);

// The export an --invoke name designates (component/export_names.h).
using component::ExportMatch;
inline ExportMatch ResolveInvokeName(std::string_view written,
                                     const std::vector<std::string>& exports) {
  return component::ResolveExportName(written, exports);
}

}  // namespace arcella::tools
