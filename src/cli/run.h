// arcella-cli's whole program as a function, so tests can run it in-process:
// parse the command line, send one ALME request, print the reply.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace arcella::cli {

// `args` excludes the program name. Human output (or --json lines) goes to
// `out`; progress and "arcella-cli: <message>" errors go to `err`. Returns
// the exit code (exit_codes.h).
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace arcella::cli
