// WasiP2::AddToLinker and DefineWitInterface: what a Linker holds after
// them (interfaces at 0.2.12 with their resources and WIT types, found for
// imports of older 0.2.x), and the refusals of DefineWitInterface.
#include <gtest/gtest.h>

#include "component/wasip2/wasi_p2.h"
#include "component/wasip2/wit_host.h"

namespace arcella::component {
namespace {

TEST(WasiP2Linker, AddToLinkerDefinesEveryInterfaceAt0212) {
  auto p2 = WasiP2::Create({});
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  Linker linker;
  ASSERT_TRUE((*p2)->AddToLinker(linker).ok());
  for (const char* iface : {"wasi:io/error@0.2.12",
                            "wasi:io/poll@0.2.12",
                            "wasi:io/streams@0.2.12",
                            "wasi:clocks/monotonic-clock@0.2.12",
                            "wasi:clocks/wall-clock@0.2.12",
                            "wasi:random/random@0.2.12",
                            "wasi:random/insecure@0.2.12",
                            "wasi:random/insecure-seed@0.2.12",
                            "wasi:cli/environment@0.2.12",
                            "wasi:cli/exit@0.2.12",
                            "wasi:cli/stdin@0.2.12",
                            "wasi:cli/stdout@0.2.12",
                            "wasi:cli/stderr@0.2.12",
                            "wasi:cli/terminal-input@0.2.12",
                            "wasi:cli/terminal-stderr@0.2.12",
                            "wasi:filesystem/types@0.2.12",
                            "wasi:filesystem/preopens@0.2.12",
                            "wasi:sockets/network@0.2.12",
                            "wasi:sockets/instance-network@0.2.12",
                            "wasi:sockets/tcp@0.2.12",
                            "wasi:sockets/udp-create-socket@0.2.12",
                            "wasi:sockets/ip-name-lookup@0.2.12",
                            "wasi:http/types@0.2.12",
                            "wasi:http/outgoing-handler@0.2.12"})
    EXPECT_TRUE(linker.interfaces().count(iface)) << iface;
  // Resources are defined where the WIT declares them (not where `use`d).
  const auto& streams = linker.interfaces().at("wasi:io/streams@0.2.12");
  EXPECT_TRUE(streams.resources.count("input-stream"));
  EXPECT_TRUE(streams.resources.count("output-stream"));
  EXPECT_FALSE(streams.resources.count("error"));
  EXPECT_TRUE(linker.interfaces().at("wasi:cli/stdin@0.2.12").resources.empty());
  EXPECT_EQ(streams.funcs.at("[method]output-stream.check-write").type.ToString(),
            "func(self: borrow<output-stream>) -> result<u64, variant { "
            "last-operation-failed(own<error>), closed }>");
  // Older 0.2.x imports find the 0.2.12 definitions.
  std::string matched;
  EXPECT_EQ(linker.FindInterface("wasi:io/streams@0.2.0", &matched), &streams);
  EXPECT_EQ(matched, "wasi:io/streams@0.2.12");
  EXPECT_NE(linker.FindInterface("wasi:http/types@0.2.10"), nullptr);
  EXPECT_EQ(linker.FindInterface("wasi:io/streams@0.3.0"), nullptr);
  // Twice in one linker: a duplicate, refused.
  EXPECT_FALSE((*p2)->AddToLinker(linker).ok());
}

TEST(WasiP2Linker, DefineWitInterfaceRefusesWhatTheWitLacks) {
  Linker linker;
  auto nop = [](std::vector<Val>) -> TrapOr<std::vector<Val>> { return std::vector<Val>{}; };
  Status s = DefineWitInterface(linker, "wasi:io/nope@0.2.12", {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("wasi:io/nope@0.2.12"), std::string::npos) << s.message();
  s = DefineWitInterface(linker, "wasi:random/random@0.2.12", {{"get-random-u32", nop}});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("get-random-u32"), std::string::npos) << s.message();
  s = DefineWitInterface(linker, "wasi:io/streams@0.2.12", {}, {{"error", [](uint32_t) {}}});
  EXPECT_FALSE(s.ok());  // `use`d there, declared in wasi:io/error
  EXPECT_NE(s.message().find("no resource \"error\""), std::string::npos) << s.message();
  EXPECT_TRUE(linker.interfaces().empty());
  // A partial definition: what is given, with the WIT's type.
  ASSERT_TRUE(
      DefineWitInterface(linker, "wasi:random/random@0.2.12", {{"get-random-u64", nop}}).ok());
  const auto& random = linker.interfaces().at("wasi:random/random@0.2.12");
  EXPECT_EQ(random.funcs.size(), 1u);
  EXPECT_EQ(random.funcs.at("get-random-u64").type.ToString(), "func() -> u64");
}

TEST(WasiP2Linker, CreateRefusesABadPreopen) {
  wasi::WasiConfig cfg;
  cfg.preopens.push_back({.host_path = "/no/such/dir", .guest_path = "/data"});
  auto p2 = WasiP2::Create(std::move(cfg));
  ASSERT_FALSE(p2.ok());
  EXPECT_NE(p2.status().message().find("/no/such/dir"), std::string::npos)
      << p2.status().ToString();
}

}  // namespace
}  // namespace arcella::component
