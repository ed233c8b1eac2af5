// The server side of wasi:http/types (src/component/wasip2/http_server.cc):
// a request the host made, read by the guest's calls, and the response the
// guest builds and sets, taken back by the host (what the HTTP ingress does
// around `handle`, docs/HTTP.md).
#include <gtest/gtest.h>

#include <functional>

#include "component/wasip2/http_state.h"
#include "wasip2_test_util.h"

namespace arcella::component {
namespace {

constexpr const char* kHttpT = "wasi:http/types";
constexpr const char* kIoS = "wasi:io/streams";

HttpRequest Sample() {
  HttpRequest r;
  r.method = "PURGE";
  r.path_with_query = "/a?b=1";
  r.authority = "example.test";
  r.headers = {{"Host", "example.test"}, {"X-Test", "one"}, {"x-test", "two"}};
  r.body = std::string(100'000, 'b') + "end";
  return r;
}

// A response with status `status` and body `body`, set on `outparam`.
void Respond(P2Host& h, const Val& outparam, uint16_t status, const std::string& body,
             bool finish = true) {
  Val fields = h.Get(kHttpT, "[static]fields.from-list",
                     {Val::List({Val::Tuple({Val::String("Content-Type"), Bytes("text/plain")})})});
  ASSERT_EQ(fields.index, 0u);
  Val resp = h.Get(kHttpT, "[constructor]outgoing-response", {fields.payload()});
  EXPECT_EQ(h.Get(kHttpT, "[method]outgoing-response.set-status-code",
                  {Borrow(resp), Val::U16(status)})
                .index,
            0u);
  Val body_r = h.Get(kHttpT, "[method]outgoing-response.body", {Borrow(resp)});
  ASSERT_EQ(body_r.index, 0u);
  Val b = body_r.payload();
  EXPECT_EQ(h.Get(kHttpT, "[method]outgoing-response.body", {Borrow(resp)}).index, 1u);  // once
  Val s = h.Get(kHttpT, "[method]outgoing-body.write", {Borrow(b)});
  ASSERT_EQ(s.index, 0u);
  for (size_t off = 0; off < body.size(); off += 4096) {
    Val w = h.Get(kIoS, "[method]output-stream.blocking-write-and-flush",
                  {Borrow(s.payload()), Bytes(std::string_view(body).substr(off, 4096))});
    if (w.index != 0) break;  // over the limit: the write fails, the test checks the result
  }
  h.Drop(kIoS, "output-stream", static_cast<uint32_t>(s.payload().u));
  if (finish) {
    EXPECT_EQ(h.Get(kHttpT, "[static]outgoing-body.finish", {b, Val::None()}).index, 0u);
  }
  auto set = h.Call(kHttpT, "[static]response-outparam.set", {outparam, Val::ResultOk({resp})});
  ASSERT_TRUE(set.ok()) << set.trap().ToString();
}

TEST(WasiP2HttpServer, TheGuestReadsTheRequestTheHostMadeAndTheHostTakesItsResponse) {
  P2Host h;
  auto handles = NewIncomingHttpRequest(*h.st, Sample(), 1 << 20);
  ASSERT_TRUE(handles.ok()) << handles.status().ToString();
  const Val req = (*handles)[0], out = (*handles)[1];
  Val m = h.Get(kHttpT, "[method]incoming-request.method", {Borrow(req)});
  EXPECT_EQ(m.index, 9u);  // other(...)
  EXPECT_EQ(m.payload().str, "PURGE");
  EXPECT_EQ(h.Get(kHttpT, "[method]incoming-request.path-with-query", {Borrow(req)}).payload().str,
            "/a?b=1");
  EXPECT_EQ(h.Get(kHttpT, "[method]incoming-request.authority", {Borrow(req)}).payload().str,
            "example.test");
  EXPECT_EQ(h.Get(kHttpT, "[method]incoming-request.scheme", {Borrow(req)}).payload().index, 0u);
  // Headers: names lower-cased, in order, immutable.
  Val hdrs = h.Get(kHttpT, "[method]incoming-request.headers", {Borrow(req)});
  Val entries = h.Get(kHttpT, "[method]fields.entries", {Borrow(hdrs)});
  ASSERT_EQ(entries.items.size(), 3u);
  EXPECT_EQ(entries.items[1].items[0].str, "x-test");
  EXPECT_EQ(Str(entries.items[2].items[1]), "two");
  Val app = h.Get(kHttpT, "[method]fields.append", {Borrow(hdrs), Val::String("x"), Bytes("y")});
  EXPECT_EQ(app.index, 1u);
  EXPECT_EQ(app.payload().index, 2u);  // header-error.immutable
  // The body, once, through a stream: every byte, then closed.
  Val body = h.Get(kHttpT, "[method]incoming-request.consume", {Borrow(req)});
  ASSERT_EQ(body.index, 0u);
  EXPECT_EQ(h.Get(kHttpT, "[method]incoming-request.consume", {Borrow(req)}).index, 1u);
  Val stream = h.Get(kHttpT, "[method]incoming-body.stream", {Borrow(body.payload())});
  ASSERT_EQ(stream.index, 0u);
  std::string got;
  for (;;) {
    Val chunk = h.Get(kIoS, "[method]input-stream.blocking-read",
                      {Borrow(stream.payload()), Val::U64(1 << 20)});
    if (chunk.index != 0) {
      EXPECT_EQ(chunk.payload().index, 1u);  // closed
      break;
    }
    got += Str(chunk.payload());
  }
  EXPECT_EQ(got, Sample().body);
  Val trailers = h.Get(kHttpT, "[static]incoming-body.finish", {body.payload()});
  Val t = h.Get(kHttpT, "[method]future-trailers.get", {Borrow(trailers)});
  ASSERT_EQ(t.index, 1u);                                // some
  EXPECT_EQ(t.payload().payload().payload().index, 0u);  // ok(none)
  EXPECT_EQ(h.Get(kHttpT, "[method]future-trailers.get", {Borrow(trailers)}).payload().index, 1u);

  Respond(h, out, 404, "not here");
  auto res = TakeHttpResponse(*h.st, out);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 404);
  ASSERT_EQ(res->headers.size(), 1u);
  EXPECT_EQ(res->headers[0].first, "content-type");
  EXPECT_EQ(res->body, "not here");
  // One request at a time: a second take finds none.
  EXPECT_FALSE(TakeHttpResponse(*h.st, out).ok());
}

TEST(WasiP2HttpServer, WhatAGuestGetsWrongIsNamed) {
  auto fails = [](const std::function<void(P2Host&, const Val&)>& guest, size_t limit,
                  const std::string& want) {
    P2Host h;
    auto handles = NewIncomingHttpRequest(*h.st, Sample(), limit);
    ASSERT_TRUE(handles.ok());
    guest(h, (*handles)[1]);
    auto res = TakeHttpResponse(*h.st, (*handles)[1]);
    ASSERT_FALSE(res.ok()) << want;
    EXPECT_NE(res.status().message().find(want), std::string::npos) << res.status().message();
  };
  fails([](P2Host&, const Val&) {}, 100, "returned without setting a response");
  fails([](P2Host& h, const Val& out) { Respond(h, out, 200, "abc", /*finish=*/false); }, 100,
        "did not finish the response body");
  fails([](P2Host& h, const Val& out) { Respond(h, out, 200, std::string(9000, 'x')); }, 8192,
        "larger than 8192 bytes");
  fails(
      [](P2Host& h, const Val& out) {
        Val code = Val::Variant(38, {Val::Some(Val::String("boom"))});  // internal-error
        ASSERT_TRUE(
            h.Call(kHttpT, "[static]response-outparam.set", {out, Val::ResultErr({code})}).ok());
      },
      100, "internal-error(\"boom\")");

  // set twice traps; a status outside 100..999 is refused.
  P2Host h;
  auto handles = NewIncomingHttpRequest(*h.st, Sample(), 100);
  ASSERT_TRUE(handles.ok());
  Val f = h.Get(kHttpT, "[constructor]fields");
  Val resp = h.Get(kHttpT, "[constructor]outgoing-response", {f});
  EXPECT_EQ(h.Get(kHttpT, "[method]outgoing-response.set-status-code", {Borrow(resp), Val::U16(42)})
                .index,
            1u);
  EXPECT_EQ(h.Get(kHttpT, "[method]outgoing-response.status-code", {Borrow(resp)}).u, 200u);
  Val out = (*handles)[1];
  ASSERT_TRUE(h.Call(kHttpT, "[static]response-outparam.set", {out, Val::ResultOk({resp})}).ok());
  auto again = h.Call(kHttpT, "[static]response-outparam.set", {out, Val::ResultOk({resp})});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.trap().message.find("unknown response-outparam handle"), std::string::npos);
  auto ok = TakeHttpResponse(*h.st, out);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "");

  // A header name that is no HTTP token is refused before the guest runs.
  HttpRequest bad = Sample();
  bad.headers.push_back({"bad name", "x"});
  auto refused = NewIncomingHttpRequest(*h.st, bad, 100);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("\"bad name\""), std::string::npos);
}

}  // namespace
}  // namespace arcella::component
