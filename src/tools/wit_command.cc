#include "tools/wit_command.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "component/ast.h"
#include "component/decoder.h"
#include "component/wit_print.h"
#include "tools/run_command.h"

namespace arcella::tools {

namespace {

constexpr const char* kUsage =
    "usage: arcella wit [--packages] FILE.wasm\n"
    "  prints the component's world as WIT (like `jco wit`)\n"
    "  --packages   also print the interfaces it imports/exports by qualified name\n";

bool IsCoreModule(const std::vector<uint8_t>& b) {
  return b.size() >= 8 && b[0] == 0 && b[1] == 'a' && b[2] == 's' && b[3] == 'm' && b[4] == 1 &&
         b[5] == 0 && b[6] == 0 && b[7] == 0;
}

}  // namespace

int WitCommand(int argc, char** argv) {
  component::WitPrintOptions options;
  std::string file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--packages") {
      options.foreign_packages = true;
    } else if (a.size() > 1 && a[0] == '-') {
      fprintf(stderr, "arcella wit: unknown option %s\n%s", a.c_str(), kUsage);
      return kExitUsage;
    } else if (!file.empty()) {
      fprintf(stderr, "arcella wit: one file only (got \"%s\" and \"%s\")\n%s", file.c_str(),
              a.c_str(), kUsage);
      return kExitUsage;
    } else {
      file = a;
    }
  }
  if (file.empty()) {
    fprintf(stderr, "arcella wit: no file given\n%s", kUsage);
    return kExitUsage;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    fprintf(stderr, "arcella wit: %s: cannot open the file\n", file.c_str());
    return kExitLoadError;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad()) {
    fprintf(stderr, "arcella wit: %s: read error\n", file.c_str());
    return kExitLoadError;
  }
  if (!component::IsComponentBinary(bytes)) {
    if (IsCoreModule(bytes)) {
      fprintf(stderr,
              "arcella wit: %s: a core WebAssembly module, not a component (a module has no "
              "WIT world; `jco new` or `wasm-tools component new` makes a component of it)\n",
              file.c_str());
    } else {
      fprintf(stderr,
              "arcella wit: %s: not a WebAssembly component (no \\0asm preamble with version "
              "0x0d, layer 1)\n",
              file.c_str());
    }
    return kExitLoadError;
  }
  auto c = component::DecodeComponent(bytes);
  if (!c.ok()) {
    fprintf(stderr, "arcella wit: %s: %s\n", file.c_str(), c.status().message().c_str());
    return kExitLoadError;
  }
  auto wit = component::PrintComponentWit(**c, options);
  if (!wit.ok()) {
    fprintf(stderr, "arcella wit: %s: %s\n", file.c_str(), wit.status().message().c_str());
    return kExitLoadError;
  }
  fputs(wit->c_str(), stdout);
  return 0;
}

}  // namespace arcella::tools
