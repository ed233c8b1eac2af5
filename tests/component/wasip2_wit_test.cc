// The embedded WASI 0.2.12 WIT (src/component/wasip2/wit) and the host's
// coverage of it: every function of every defined interface has an
// implementation, and nothing is implemented that the WIT does not declare.
#include <gtest/gtest.h>

#include <set>

#include "component/wasip2/wit_host.h"
#include "wasip2_test_util.h"

namespace arcella::component {
namespace {

TEST(WasiP2Wit, EmbeddedPackagesParse) {
  auto pkgs = WasiWitPackages();
  ASSERT_TRUE(pkgs.ok()) << pkgs.status().ToString();
  std::set<std::string> ids;
  for (const auto& p : **pkgs) ids.insert(p.Id());
  for (const char* want : {"wasi:io@0.2.12", "wasi:clocks@0.2.12", "wasi:random@0.2.12",
                           "wasi:cli@0.2.12", "wasi:sockets@0.2.12", "wasi:http@0.2.12"})
    EXPECT_TRUE(ids.count(want)) << want;
  // Parsed once: the same packages every time.
  EXPECT_EQ(*WasiWitPackages(), *pkgs);
}

TEST(WasiP2Wit, InterfacesHaveTheSpecSignatures) {
  auto streams = WasiInterface("wasi:io/streams@0.2.12");
  ASSERT_TRUE(streams.ok()) << streams.status().ToString();
  const WitFunction* read = (*streams)->FindFunction("[method]input-stream.read");
  ASSERT_NE(read, nullptr);
  EXPECT_EQ(read->type.ToString(),
            "func(self: borrow<input-stream>, len: u64) -> result<list<u8>, variant { "
            "last-operation-failed(own<error>), closed }>");
  auto stdin_iface = WasiInterface("wasi:cli/stdin@0.2.12");
  ASSERT_TRUE(stdin_iface.ok());
  // The stream types are the same resource across interfaces.
  EXPECT_EQ((*stdin_iface)->FindFunction("get-stdin")->type.result->resource,
            Resources().input_stream);
  auto wall = WasiInterface("wasi:clocks/wall-clock@0.2.12");
  ASSERT_TRUE(wall.ok());
  EXPECT_EQ((*wall)->FindFunction("now")->type.ToString(),
            "func() -> record { seconds: u64, nanoseconds: u32 }");
  auto handle = WasiInterface("wasi:http/outgoing-handler@0.2.12");
  ASSERT_TRUE(handle.ok());
  EXPECT_EQ((*handle)->FindFunction("handle")->type.params.size(), 2u);
  EXPECT_FALSE(WasiInterface("wasi:io/streams@0.2.0").ok());
  EXPECT_FALSE(WasiInterface("wasi:nope/x@0.2.12").ok());
}

TEST(WasiP2Wit, EveryFunctionOfEveryDefinedInterfaceIsImplemented) {
  P2Host h;
  std::set<std::string> defined;
  size_t funcs = 0;
  for (const auto& d : h.defs) {
    defined.insert(d.name);
    auto iface = WasiInterface(d.name);
    ASSERT_TRUE(iface.ok()) << d.name;
    std::set<std::string> impls;
    for (const auto& [name, fn] : d.impls) {
      EXPECT_TRUE(impls.insert(name).second) << d.name << " " << name << " twice";
      EXPECT_NE((*iface)->FindFunction(name), nullptr) << d.name << " " << name;
      EXPECT_TRUE(static_cast<bool>(fn)) << name;
    }
    for (const auto& f : (*iface)->functions) {
      EXPECT_TRUE(impls.count(f.name)) << d.name << " lacks " << f.name;
      ++funcs;
    }
  }
  // Every interface of the embedded WIT but the exported ones (and the
  // filesystem, defined by filesystem.cc).
  for (const auto& p : **WasiWitPackages())
    for (const auto& i : p.interfaces) {
      std::string q = i->QualifiedName();
      if (q == "wasi:cli/run@0.2.12" || q == "wasi:http/incoming-handler@0.2.12" ||
          q.rfind("wasi:filesystem/", 0) == 0)
        continue;
      EXPECT_TRUE(defined.count(q)) << q << " is not defined";
    }
  EXPECT_EQ(funcs, 145u);  // the stable functions defined
}

}  // namespace
}  // namespace arcella::component
