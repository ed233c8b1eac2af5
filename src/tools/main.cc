// `arcella`: the Arcella command. Subcommands:
//   arcella run [OPTIONS] FILE.wasm [ARGS...]   one-shot execution
//   arcella wast FILE.wast... [--tier T]        run spec-test scripts
//   arcella version
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/run_command.h"
#include "tools/wast_command.h"

namespace {

constexpr const char* kHelp =
    "Arcella — a modular WebAssembly application platform\n"
    "\n"
    "usage:\n"
    "  arcella run [OPTIONS] FILE.wasm [ARGS...]   run a module once (see arcella run --help)\n"
    "  arcella wast FILE.wast... [--tier T]        run WebAssembly spec-test scripts\n"
    "  arcella version                             print the version\n"
    "\n"
    "environment:\n"
    "  ARCELLA_HOME   state directory (default ~/.arcella); AOT code is cached in $ARCELLA_HOME/cache\n"
    "  CC             C compiler used by the AOT tier (default cc)\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
      !strcmp(argv[1], "help")) {
    fputs(kHelp, stdout);
    return argc < 2 ? arcella::tools::kExitUsage : 0;
  }
  std::string cmd = argv[1];
  if (cmd == "run") return arcella::tools::RunCommand(argc - 1, argv + 1);
  if (cmd == "wast") return arcella::tools::WastCommand(argc - 1, argv + 1);
  if (cmd == "version" || cmd == "--version") {
    printf("arcella %s (engine %s)\n", ARCELLA_VERSION, ARCELLA_ENGINE_VERSION);
    return 0;
  }
  fprintf(stderr, "arcella: unknown command \"%s\"\n\n%s", cmd.c_str(), kHelp);
  return arcella::tools::kExitUsage;
}
