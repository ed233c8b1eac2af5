// `arcella wit`: the built binary prints a component's WIT world, with the
// foreign interfaces under --packages, and refuses core modules, other files
// and bad usage with a clear message and exit status.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/e2e_util.h"
#include "test_util.h"

namespace arcella::tools {
namespace {

using e2e::CmdResult;
using e2e::ShellQuote;

// jco parse of:
//   (component
//     (import "x:y/a@1.0.0" (instance $a
//       (type $p (record (field "x" u32) (field "y" u32)))
//       (export "point" (type (eq $p)))
//       (export "f" (func (param "p" 1)))))
//     (alias export $a "point" (type $point))
//     (import "point" (type $wp (eq $point)))
//     (import "g" (func (param "p" $wp) (result string))))
const std::vector<uint8_t> kComponent = {
    0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, 0x07, 0x25, 0x01, 0x42, 0x04, 0x01, 0x72,
    0x02, 0x01, 0x78, 0x79, 0x01, 0x79, 0x79, 0x04, 0x00, 0x05, 0x70, 0x6f, 0x69, 0x6e, 0x74,
    0x03, 0x00, 0x00, 0x01, 0x40, 0x01, 0x01, 0x70, 0x01, 0x01, 0x00, 0x04, 0x00, 0x01, 0x66,
    0x01, 0x02, 0x0a, 0x10, 0x01, 0x00, 0x0b, 0x78, 0x3a, 0x79, 0x2f, 0x61, 0x40, 0x31, 0x2e,
    0x30, 0x2e, 0x30, 0x05, 0x00, 0x06, 0x0a, 0x01, 0x03, 0x00, 0x00, 0x05, 0x70, 0x6f, 0x69,
    0x6e, 0x74, 0x0a, 0x0b, 0x01, 0x00, 0x05, 0x70, 0x6f, 0x69, 0x6e, 0x74, 0x03, 0x00, 0x01,
    0x07, 0x08, 0x01, 0x40, 0x01, 0x01, 0x70, 0x02, 0x00, 0x73, 0x0a, 0x06, 0x01, 0x00, 0x01,
    0x67, 0x01, 0x03, 0x00, 0x25, 0x0e, 0x63, 0x6f, 0x6d, 0x70, 0x6f, 0x6e, 0x65, 0x6e, 0x74,
    0x2d, 0x6e, 0x61, 0x6d, 0x65, 0x01, 0x0d, 0x03, 0x02, 0x01, 0x05, 0x70, 0x6f, 0x69, 0x6e,
    0x74, 0x02, 0x02, 0x77, 0x70, 0x01, 0x05, 0x05, 0x01, 0x00, 0x01, 0x61,
};

std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = test::TempDir("arcella-wit") + "/" + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

CmdResult Wit(const std::string& args) {
  return e2e::Sh(ShellQuote(e2e::DaemonBin()) + " wit " + args + " </dev/null");
}

TEST(WitCommandTest, PrintsTheWorld) {
  CmdResult r = Wit(ShellQuote(WriteFile("small.wasm", kComponent)));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out, "package root:component;\n"
                   "\n"
                   "world root {\n"
                   "  import x:y/a@1.0.0;\n"
                   "  use x:y/a@1.0.0.{point};\n"
                   "  import g: func(p: point) -> string;\n"
                   "}\n");
}

TEST(WitCommandTest, PackagesPrintsTheImportedInterfaces) {
  CmdResult r = Wit("--packages " + ShellQuote(WriteFile("small.wasm", kComponent)));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("package x:y@1.0.0 {\n"
                       "  interface a {\n"
                       "    record point {\n"
                       "      x: u32,\n"
                       "      y: u32,\n"
                       "    }\n"
                       "\n"
                       "    f: func(p: point);\n"
                       "  }\n"
                       "}\n"),
            std::string::npos)
      << r.out;
}

TEST(WitCommandTest, RefusesCoreModulesAndOtherFiles) {
  CmdResult core = Wit(ShellQuote(WriteFile("core.wasm", {0, 'a', 's', 'm', 1, 0, 0, 0})));
  EXPECT_EQ(core.code, 1) << core.out;
  EXPECT_NE(core.out.find("a core WebAssembly module, not a component"), std::string::npos)
      << core.out;

  CmdResult text = Wit(ShellQuote(WriteFile("notes.txt", {'h', 'i', '\n'})));
  EXPECT_EQ(text.code, 1) << text.out;
  EXPECT_NE(text.out.find("not a WebAssembly component"), std::string::npos) << text.out;

  std::vector<uint8_t> truncated(kComponent.begin(), kComponent.begin() + 40);
  CmdResult bad = Wit(ShellQuote(WriteFile("truncated.wasm", truncated)));
  EXPECT_EQ(bad.code, 1) << bad.out;
  EXPECT_NE(bad.out.find("truncated.wasm: offset "), std::string::npos) << bad.out;

  CmdResult missing = Wit("/nonexistent/x.wasm");
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("cannot open"), std::string::npos) << missing.out;
}

TEST(WitCommandTest, UsageErrors) {
  CmdResult none = Wit("");
  EXPECT_EQ(none.code, 2) << none.out;
  EXPECT_NE(none.out.find("usage: arcella wit"), std::string::npos) << none.out;
  CmdResult opt = Wit("--bogus x.wasm");
  EXPECT_EQ(opt.code, 2) << opt.out;
  EXPECT_NE(opt.out.find("unknown option --bogus"), std::string::npos) << opt.out;
}

}  // namespace
}  // namespace arcella::tools
