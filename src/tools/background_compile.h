// Tier-up of `arcella run`: the AOT compile of a module started as a
// detached `arcella compile -q --metering M FILE` process while the run goes
// on on the interpreter, so that the next run of the file is a warm AOT hit.
//
// The process is this program again (/proc/self/exe), started by a double
// fork: it is not a child of the run (nothing to reap, it outlives the run),
// it is in a session and process group of its own (a Ctrl-C at the run's
// terminal does not reach it), at nice 10 (the interpreted run keeps a core),
// with stdin, stdout and stderr on /dev/null and no other descriptor of the
// run open (a pipe reading the run's output sees its end when the run ends).
// Its environment is the run's: the same cache folder and compiler.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/status.h"
#include "engine/engine.h"

namespace arcella::tools {

// The absolute path by which another process can read the module the run
// read from `file`: nullopt if there is none (a /proc/self/fd or /dev/stdin
// path, which means something else in another process; not a regular file).
std::optional<std::string> ReopenablePath(const std::string& file);

// Starts `arcella compile -q --metering <metering> <path>` as described
// above. Returns its pid once it runs the program (exec succeeded), or an
// IoError naming what failed.
Result<pid_t> StartBackgroundCompile(const std::string& path, engine::Metering metering);

}  // namespace arcella::tools
