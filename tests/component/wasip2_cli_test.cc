// wasi:cli@0.2.12 (environment, exit, terminals) and the denied interfaces:
// wasi:sockets and wasi:http.
#include "wasip2_test_util.h"

namespace arcella::component {
namespace {

TEST(WasiP2Cli, EnvironmentAndArgumentsAsConfigured) {
  wasi::WasiConfig cfg;
  cfg.args = {"prog", "a b", ""};
  cfg.env = {{"K", "v"}, {"EMPTY", ""}};
  P2Host h(std::move(cfg));
  Val args = h.Get("wasi:cli/environment", "get-arguments");
  ASSERT_EQ(args.items.size(), 3u);
  EXPECT_EQ(args.items[1].str, "a b");
  EXPECT_EQ(args.items[2].str, "");
  Val env = h.Get("wasi:cli/environment", "get-environment");
  ASSERT_EQ(env.items.size(), 2u);
  EXPECT_EQ(env.items[0].items[0].str, "K");
  EXPECT_EQ(env.items[0].items[1].str, "v");
  EXPECT_EQ(env.items[1].items[0].str, "EMPTY");
  EXPECT_EQ(h.Get("wasi:cli/environment", "initial-cwd").index, 0u);  // none
}

TEST(WasiP2Cli, NothingConfiguredNothingSeen) {
  P2Host h;
  EXPECT_TRUE(h.Get("wasi:cli/environment", "get-arguments").items.empty());
  EXPECT_TRUE(h.Get("wasi:cli/environment", "get-environment").items.empty());
  for (const char* t : {"stdin", "stdout", "stderr"})
    EXPECT_EQ(h.Get(std::string("wasi:cli/terminal-") + t, std::string("get-terminal-") + t).index,
              0u);
}

TEST(WasiP2Cli, ExitTrapsWithTheCode) {
  struct Case {
    const char* fn;
    Val arg;
    int32_t code;
  };
  for (const Case& c : {Case{"exit", Val::ResultOk(), 0}, Case{"exit", Val::ResultErr(), 1},
                        Case{"exit-with-code", Val::U8(42), 42}}) {
    P2Host h;
    EXPECT_FALSE(h.st->exit_code.has_value());
    auto r = h.Call("wasi:cli/exit", c.fn, {c.arg});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.trap().kind, engine::TrapKind::kExit);
    EXPECT_EQ(r.trap().exit_code, c.code);
    EXPECT_EQ(h.st->exit_code, c.code);
  }
}

TEST(WasiP2Sockets, EverythingIsDenied) {
  P2Host h;
  Val net = h.Get("wasi:sockets/instance-network", "instance-network");
  ASSERT_EQ(net.kind, TypeKind::kOwn);
  EXPECT_EQ(net.resource, Resources().network);
  constexpr uint32_t kAccessDenied = 1;
  for (auto [iface, fn] : {std::pair{"wasi:sockets/tcp-create-socket", "create-tcp-socket"},
                           std::pair{"wasi:sockets/udp-create-socket", "create-udp-socket"}}) {
    Val r = h.Get(iface, fn, {Val::Enum(0)});
    EXPECT_EQ(r.index, 1u) << fn;
    EXPECT_EQ(r.payload().index, kAccessDenied) << fn;
  }
  Val r = h.Get("wasi:sockets/ip-name-lookup", "resolve-addresses",
                {Borrow(net), Val::String("example.com")});
  EXPECT_EQ(r.index, 1u);
  EXPECT_EQ(r.payload().index, kAccessDenied);
  // Methods of sockets nobody can have trap, naming themselves.
  auto t = h.Call("wasi:sockets/tcp", "[method]tcp-socket.start-connect", {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.trap().message,
            "wasi:sockets/tcp: [method]tcp-socket.start-connect is unreachable: this host grants "
            "no sockets");
}

TEST(WasiP2Http, AFetchIsBuiltThenDenied) {
  P2Host h;
  constexpr const char* kTypes = "wasi:http/types";
  // Headers: from a list (names lower-cased), appended, read back.
  Val made = h.Get(kTypes, "[static]fields.from-list",
                   {Val::List({Val::Tuple({Val::String("Content-Type"), Bytes("text/plain")})})});
  ASSERT_EQ(made.index, 0u);
  Val fields = made.payload();
  EXPECT_EQ(h.Get(kTypes, "[method]fields.append", {Borrow(fields), Val::String("x-a"), Bytes("1")})
                .index,
            0u);
  EXPECT_TRUE(h.Get(kTypes, "[method]fields.has", {Borrow(fields), Val::String("CONTENT-type")}).b);
  Val got = h.Get(kTypes, "[method]fields.get", {Borrow(fields), Val::String("content-type")});
  ASSERT_EQ(got.items.size(), 1u);
  EXPECT_EQ(Str(got.items[0]), "text/plain");
  Val bad = h.Get(kTypes, "[static]fields.from-list",
                  {Val::List({Val::Tuple({Val::String("bad name"), Bytes("v")})})});
  EXPECT_EQ(bad.index, 1u);
  EXPECT_EQ(bad.payload().index, 0u);  // invalid-syntax
  // The request takes the headers; its own copy is immutable.
  Val req = h.Get(kTypes, "[constructor]outgoing-request", {fields});
  Val hdrs = h.Get(kTypes, "[method]outgoing-request.headers", {Borrow(req)});
  Val imm = h.Get(kTypes, "[method]fields.delete", {Borrow(hdrs), Val::String("x-a")});
  EXPECT_EQ(imm.index, 1u);
  EXPECT_EQ(imm.payload().index, 2u);  // immutable
  EXPECT_EQ(h.Get(kTypes, "[method]fields.entries", {Borrow(hdrs)}).items.size(), 2u);
  EXPECT_EQ(
      h.Get(kTypes, "[method]outgoing-request.set-method", {Borrow(req), Val::Variant(2)}).index,
      0u);
  EXPECT_EQ(h.Get(kTypes, "[method]outgoing-request.method", {Borrow(req)}).index, 2u);  // post
  h.Get(kTypes, "[method]outgoing-request.set-authority",
        {Borrow(req), Val::Some(Val::String("example.com"))});
  EXPECT_EQ(h.Get(kTypes, "[method]outgoing-request.authority", {Borrow(req)}).payload().str,
            "example.com");
  // A body whose stream takes bytes (and drops them).
  Val body = h.Get(kTypes, "[method]outgoing-request.body", {Borrow(req)}).payload();
  EXPECT_EQ(h.Get(kTypes, "[method]outgoing-request.body", {Borrow(req)}).index, 1u);  // once
  Val stream = h.Get(kTypes, "[method]outgoing-body.write", {Borrow(body)}).payload();
  EXPECT_EQ(h.Get("wasi:io/streams", "[method]output-stream.blocking-write-and-flush",
                  {Borrow(stream), Bytes("payload")})
                .index,
            0u);
  EXPECT_EQ(h.Get(kTypes, "[static]outgoing-body.finish", {body, Val::None()}).index, 0u);
  Val opts = h.Get(kTypes, "[constructor]request-options");
  h.Get(kTypes, "[method]request-options.set-connect-timeout",
        {Borrow(opts), Val::Some(Val::U64(5))});
  EXPECT_EQ(h.Get(kTypes, "[method]request-options.connect-timeout", {Borrow(opts)}).payload().u,
            5u);
  // Sending: denied.
  Val r = h.Get("wasi:http/outgoing-handler", "handle", {req, Val::Some(opts)});
  ASSERT_EQ(r.index, 1u);
  EXPECT_EQ(r.payload().index, 15u);  // HTTP-request-denied
  // Responses never exist: their functions trap, naming themselves.
  auto t = h.Call(kTypes, "[method]incoming-response.status", {Val::Borrow(nullptr, 1)});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.trap().message,
            "wasi:http/types: [method]incoming-response.status is not available in this host "
            "(outgoing HTTP is denied)");
  EXPECT_EQ(h.Get(kTypes, "http-error-code", {Val::Borrow(nullptr, 1)}).index, 0u);
}

}  // namespace
}  // namespace arcella::component
