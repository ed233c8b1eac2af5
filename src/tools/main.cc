// `arcella`: the Arcella command.
//   arcella [--home DIR] [--safe-mode]          start the daemon (foreground)
//   arcella run [OPTIONS] FILE.wasm [ARGS...]   one-shot execution
//   arcella compile [OPTIONS] FILE.wasm         AOT compile into the user's cache
//   arcella wast FILE.wast... [--tier T]        run spec-test scripts
//   arcella wit [--packages] FILE.wasm          print a component's WIT world
//   arcella version
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/daemon.h"
#include "engine/aot/compiler.h"
#include "tools/compile_command.h"
#include "tools/run_command.h"
#include "tools/wast_command.h"
#include "tools/wit_command.h"

namespace {

constexpr const char* kHelp =
    "Arcella — a modular WebAssembly application platform\n"
    "\n"
    "usage:\n"
    "  arcella [--home DIR] [--safe-mode]          start the daemon in the foreground\n"
    "                                              (manage it with arcella-cli); --safe-mode\n"
    "                                              starts no deployment (desired states kept)\n"
    "  arcella run [OPTIONS] FILE.wasm [ARGS...]   run a module once (see arcella run --help)\n"
    "  arcella compile [OPTIONS] FILE.wasm         compile a module on the AOT tier into the\n"
    "                                              user's cache, for arcella run (see --help)\n"
    "  arcella wast FILE.wast... [--tier T]        run WebAssembly spec-test scripts\n"
    "  arcella wit [--packages] FILE.wasm          print a component's world as WIT\n"
    "  arcella version                             print the version\n"
    "\n"
    "environment:\n"
    "  ARCELLA_HOME   state directory (default ~/.arcella); AOT code is cached in $ARCELLA_HOME/cache\n"
    "                 (arcella run without ARCELLA_HOME: $XDG_CACHE_HOME/arcella or ~/.cache/arcella)\n"
    "  CC             C compiler used by the AOT tier (default cc)\n";

// Tests only (docs/TESTING.md): ARCELLA_TEST_UNIT_BYTES=N makes the AOT tier
// split generated C into units of N bytes, so that the compile progress and
// cancellation tests get several units from a small module. Not in --help.
void ApplyTestSettings() {
  const char* unit = getenv("ARCELLA_TEST_UNIT_BYTES");
  if (unit == nullptr || *unit == '\0') return;
  char* end = nullptr;
  unsigned long long bytes = strtoull(unit, &end, 10);
  if (*end != '\0' || bytes < 1024) {
    fprintf(stderr, "arcella: ARCELLA_TEST_UNIT_BYTES=\"%s\" ignored (a byte count >= 1024)\n",
            unit);
    return;
  }
  arcella::engine::aot::SetUnitBudgetForTesting(bytes);
}

}  // namespace

int main(int argc, char** argv) {
  ApplyTestSettings();
  if (argc < 2 || !strcmp(argv[1], "--home") || !strncmp(argv[1], "--home=", 7) ||
      !strcmp(argv[1], "--safe-mode")) {
    arcella::daemon::DaemonOptions o;
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--home" && i + 1 < argc) {
        o.home = argv[++i];
      } else if (a.rfind("--home=", 0) == 0) {
        o.home = a.substr(7);
      } else if (a == "--safe-mode") {
        o.safe_mode = true;
      } else {
        fprintf(stderr, "arcella: unexpected argument \"%s\"\n\n%s", a.c_str(), kHelp);
        return arcella::tools::kExitUsage;
      }
    }
    return arcella::daemon::RunDaemon(o);
  }
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    fputs(kHelp, stdout);
    return 0;
  }
  std::string cmd = argv[1];
  if (cmd == "run") return arcella::tools::RunCommand(argc - 1, argv + 1);
  if (cmd == "compile") return arcella::tools::CompileCommand(argc - 1, argv + 1);
  if (cmd == "wast") return arcella::tools::WastCommand(argc - 1, argv + 1);
  if (cmd == "wit") return arcella::tools::WitCommand(argc - 1, argv + 1);
  if (cmd == "version" || cmd == "--version") {
    printf("arcella %s (engine %s)\n", ARCELLA_VERSION, ARCELLA_ENGINE_VERSION);
    return 0;
  }
  fprintf(stderr, "arcella: unknown command \"%s\"\n\n%s", cmd.c_str(), kHelp);
  return arcella::tools::kExitUsage;
}
