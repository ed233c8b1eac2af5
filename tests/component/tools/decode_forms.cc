// Throwaway driver (manual use, not built by CMake): decodes every
// OUTDIR/<file>/<NNN>-<kind>.wasm written by wast_forms.py and prints, per
// file, how many forms behaved as the .wast says (valid decodes, invalid and
// malformed are refused), with the failures listed (-v: also the refusals
// whose message differs from the expected text, and the Unsupported ones).
//
//   cd test && python3 .../wast_forms.py /tmp/forms validation/*.wast binary/binary.wast
//   g++ -std=c++20 -Isrc tests/component/tools/decode_forms.cc -o /tmp/decode_forms \
//     build/libarcella_component.a build/libarcella_wasi.a build/libarcella_engine.a \
//     build/libarcella_common.a -lwabt -lcrypto -lpthread -ldl
//   /tmp/decode_forms /tmp/forms [-v]
#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "component/decoder.h"

using arcella::component::DecodeComponent;

static std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

static bool Exists(const std::string& p) { return std::ifstream(p).good(); }

int main(int argc, char** argv) {
  std::string root = argv[1];
  bool verbose = argc > 2;
  int tp = 0, tf = 0, tj = 0, tu = 0;
  for (const auto& file : List(root)) {
    int pass = 0, fail = 0, jco = 0, unsup = 0;
    std::string failures;
    for (const auto& f : List(root + "/" + file)) {
      if (f.size() < 5 || f.substr(f.size() - 4) != ".wat" && f.substr(f.size() - 5) != ".wasm")
        continue;
      std::string base = root + "/" + file + "/" + f.substr(0, f.rfind('.'));
      if (f.substr(f.size() - 4) == ".wat") {
        if (Exists(base + ".jcofail")) {
          ++jco;
          if (base.find("valid") != std::string::npos &&
              base.find("invalid") == std::string::npos) {
            failures += "  " + base + ": jco refused a valid form\n";
          }
        }
        continue;
      }
      std::ifstream in(base + ".wasm", std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
      auto r = DecodeComponent(bytes);
      bool want_ok = base.find("-valid") != std::string::npos;
      std::string msg;
      if (Exists(base + ".msg")) {
        std::ifstream m(base + ".msg");
        msg.assign((std::istreambuf_iterator<char>(m)), {});
      }
      if (!r.ok() && r.status().code() == arcella::StatusCode::kUnsupported) {
        ++unsup;
        if (verbose) failures += "  " + base + ": unsupported: " + r.status().message() + "\n";
        continue;
      }
      if (r.ok() == want_ok) {
        ++pass;
        if (verbose && !r.ok() && r.status().message().find(msg) == std::string::npos) {
          failures += "  " + base + ": (ok) want \"" + msg + "\" got: " + r.status().message() +
                      "\n";
        }
      } else {
        ++fail;
        failures += "  " + base + ": " +
                    (r.ok() ? "accepted, want \"" + msg + "\"" : r.status().message()) + "\n";
      }
    }
    std::printf("%-22s pass %3d  fail %3d  unsupported %3d  jco-refused %3d\n", file.c_str(), pass,
                fail, unsup, jco);
    std::fputs(failures.c_str(), stdout);
    tp += pass;
    tf += fail;
    tj += jco;
    tu += unsup;
  }
  std::printf("TOTAL pass %d fail %d unsupported %d jco-refused %d\n", tp, tf, tu, tj);
}
