// arcella-cli: the command-line client of a running arcella daemon.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "cli/run.h"
#include "common/status_line.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  arcella::cli::Console console;
  console.err_is_terminal = isatty(2) == 1;
  if (console.err_is_terminal) console.columns = arcella::TerminalColumns(2);
  int code = arcella::cli::Run(args, std::cout, std::cerr, console);
  std::cout.flush();
  return code;
}
