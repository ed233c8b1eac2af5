// arcella-cli: the command-line client of a running arcella daemon.
#include <iostream>
#include <string>
#include <vector>

#include "cli/run.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  int code = arcella::cli::Run(args, std::cout, std::cerr);
  std::cout.flush();
  return code;
}
