#include "tools/compile_command.h"

#include <cstdio>
#include <optional>
#include <string>

#include "engine/engine.h"
#include "tools/compile_feedback.h"
#include "tools/run_command.h"
#include "tools/tool_engine.h"

namespace arcella::tools {
namespace {

constexpr const char* kUsage =
    "usage: arcella compile [OPTIONS] FILE.wasm\n"
    "\n"
    "Compiles a WebAssembly module on the AOT tier into the user's cache (where\n"
    "arcella run looks), so that the next `arcella run FILE.wasm` starts at once.\n"
    "A module already in the cache is not compiled again.\n"
    "\n"
    "options:\n"
    "  --metering fuel|interrupt|none  instrumentation (default fuel); must match\n"
    "                          the --metering of the runs that should find it\n"
    "  --progress              show compile progress on stderr even if it is not a terminal\n"
    "  -q, --quiet             no compile progress (default: shown when stderr is a terminal)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Ctrl-C or SIGTERM cancels the compile (exit 130 / 143), leaving no compiler\n"
    "process or temporary file behind.\n";

int Usage(const std::string& msg) {
  fprintf(stderr, "arcella compile: %s\n\n%s", msg.c_str(), kUsage);
  return kExitUsage;
}

}  // namespace

int CompileCommand(int argc, char** argv) {
  engine::Metering metering = engine::Metering::kFuel;
  std::optional<bool> progress;
  std::optional<std::string> file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--") {
      if (i + 1 < argc) file = argv[++i];
      if (i + 1 < argc) return Usage(std::string("unexpected argument \"") + argv[i + 1] + "\"");
      break;
    }
    if (a == "-q" || a == "--quiet" || a == "--progress") {
      progress = a == "--progress";
    } else if (a == "--metering" || a.rfind("--metering=", 0) == 0) {
      std::string v;
      if (a == "--metering") {
        if (i + 1 >= argc) return Usage("--metering needs fuel, interrupt or none");
        v = argv[++i];
      } else {
        v = a.substr(11);
      }
      auto m = ParseMetering(v);
      if (!m) return Usage("--metering \"" + v + "\": expected fuel, interrupt or none");
      metering = *m;
    } else if (a.size() > 1 && a[0] == '-') {
      return Usage("unknown option " + a);
    } else if (file) {
      return Usage("unexpected argument \"" + a + "\" (one FILE.wasm)");
    } else {
      file = a;
    }
  }
  if (!file) return Usage("missing FILE.wasm");

  auto bytes = ReadModuleFile(*file);
  if (!bytes.ok()) {
    fprintf(stderr, "arcella compile: %s\n", bytes.status().message().c_str());
    return kExitLoadError;
  }
  auto eng = ToolEngine(metering);
  if (!eng.ok()) {
    fprintf(stderr, "arcella compile: %s: %s\n", file->c_str(), eng.status().message().c_str());
    return kExitLoadError;
  }
  if (!(*eng)->AotAvailable()) {
    fprintf(stderr,
            "arcella compile: %s: the AOT tier is not available (no C compiler \"%s\" or no "
            "cache folder; set CC or ARCELLA_HOME)\n",
            file->c_str(), (*eng)->config().cc.c_str());
    return kExitLoadError;
  }
  engine::CompileOptions copts;
  copts.tier = engine::Tier::kAot;
  CompileFeedback feedback(*file, progress.value_or(CompileFeedback::DefaultShowProgress()),
                           "arcella compile");
  copts.cancel = feedback.cancel();
  copts.on_progress = [&feedback](const engine::CompileProgress& p) { feedback.OnProgress(p); };
  auto mod = (*eng)->Compile(*bytes, copts);
  if (int cancelled = feedback.Finish()) return cancelled;
  if (!mod.ok()) {
    fprintf(stderr, "arcella compile: %s: %s\n", file->c_str(), mod.status().message().c_str());
    return kExitLoadError;
  }
  return 0;
}

}  // namespace arcella::tools
