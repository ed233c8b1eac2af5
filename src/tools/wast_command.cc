#include "tools/wast_command.h"

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "tools/run_command.h"
#include "tools/user_cache_dir.h"
#include "wast/wast_runner.h"

namespace arcella::tools {

int WastCommand(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: arcella wast [--tier aot|interp|auto] [--multi-memory] [--verbose] FILE.wast...\n";
  wast::WastOptions opts;
  opts.cache_dir = UserCacheDir();
  opts.cc = CompilerFromEnv();
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    } else if (a == "--tier" || a.rfind("--tier=", 0) == 0) {
      std::string v = a == "--tier" ? (i + 1 < argc ? argv[++i] : "") : a.substr(7);
      if (v == "aot") opts.tier = engine::Tier::kAot;
      else if (v == "interp") opts.tier = engine::Tier::kInterp;
      else if (v == "auto") opts.tier = engine::Tier::kAuto;
      else {
        fprintf(stderr, "arcella wast: --tier \"%s\": expected aot, interp or auto\n%s", v.c_str(),
                kUsage);
        return kExitUsage;
      }
    } else if (a == "--multi-memory") {  // scripts of the multi-memory proposal
      opts.multi_memory = true;
    } else if (a == "--verbose" || a == "-v") {
      opts.verbose = true;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "arcella wast: unknown option %s\n%s", a.c_str(), kUsage);
      return kExitUsage;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    fprintf(stderr, "arcella wast: no script given\n%s", kUsage);
    return kExitUsage;
  }
  wast::WastSummary s = wast::RunWastFiles(files, opts, std::cout);
  std::cout.flush();
  return (s.failed == 0 && s.files_failed == 0) ? 0 : 1;
}

}  // namespace arcella::tools
