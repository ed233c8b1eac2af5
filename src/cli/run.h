// arcella-cli's whole program as a function, so tests can run it in-process:
// parse the command line, send one ALME request, print the reply.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace arcella::cli {

// Where `err` goes. On a terminal, `install` shows its progress as one
// updating line (progress_view.h).
struct Console {
  bool err_is_terminal = false;
  int columns = 80;
};

// `args` excludes the program name. Human output (or --json lines) goes to
// `out`; progress and "arcella-cli: <message>" errors go to `err`. Returns
// the exit code (exit_codes.h). During `install`, the first Ctrl-C or
// SIGTERM cancels the install in the daemon (exit 130 or 143); a second one
// ends the process.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const Console& console);
inline int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  return Run(args, out, err, Console{});
}

}  // namespace arcella::cli
