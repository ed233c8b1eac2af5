// wasi:io@0.2.12 over the stdio streams: reads (non-blocking and blocking,
// from configured bytes and from a pipe), writes within the check-write
// permit, splice, poll with deadlines and ready streams, interruption,
// errors and handle lifetimes.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "wasip2_test_util.h"

namespace arcella::component {
namespace {

constexpr const char* kStreams = "wasi:io/streams";
constexpr const char* kPoll = "wasi:io/poll";

struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    r = fds[0];
    w = fds[1];
  }
  ~Pipe() {
    if (r >= 0) close(r);
    CloseWrite();
  }
  void CloseWrite() {
    if (w >= 0) close(w);
    w = -1;
  }
};

bool IsOk(const Val& result) { return result.kind == TypeKind::kResult && result.index == 0; }
bool IsClosed(const Val& result) {
  return result.index == 1 && result.payload().index == 1;  // err(closed)
}

TEST(WasiP2Io, StdinDataNonBlockingAndBlockingReadsThenClosed) {
  wasi::WasiConfig cfg;
  cfg.stdin_data = "hello world";
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  ASSERT_EQ(in.kind, TypeKind::kOwn);
  Val r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(5)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Str(r.payload()), "hello");
  r = h.Get(kStreams, "[method]input-stream.skip", {Borrow(in), Val::U64(1)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.payload().u, 1u);
  r = h.Get(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(100)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Str(r.payload()), "world");
  r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(100)});
  EXPECT_TRUE(IsClosed(r));
  r = h.Get(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(100)});
  EXPECT_TRUE(IsClosed(r));
  // A second get-stdin shares the position.
  Val in2 = h.Get("wasi:cli/stdin", "get-stdin");
  EXPECT_NE(in2.u, in.u);
  EXPECT_TRUE(IsClosed(h.Get(kStreams, "[method]input-stream.read", {Borrow(in2), Val::U64(1)})));
}

TEST(WasiP2Io, NoStdinIsClosedAtOnce) {
  P2Host h;
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  EXPECT_TRUE(
      IsClosed(h.Get(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(8)})));
}

TEST(WasiP2Io, ReadsAreClampedToTheChunkSize) {
  wasi::WasiConfig cfg;
  cfg.stdin_data = std::string(kMaxStreamChunk + 10, 'x');
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  Val r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(UINT64_MAX)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.payload().items.size(), kMaxStreamChunk);
}

TEST(WasiP2Io, StdinPipeNonBlockingPollAndBlockingRead) {
  Pipe p;
  wasi::WasiConfig cfg;
  cfg.stdin_fd = p.r;
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  // Nothing there yet: an empty ok, and the pollable is not ready.
  Val r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(10)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_TRUE(r.payload().items.empty());
  Val pollable = h.Get(kStreams, "[method]input-stream.subscribe", {Borrow(in)});
  EXPECT_FALSE(h.Get(kPoll, "[method]pollable.ready", {Borrow(pollable)}).b);
  // A writer 30 ms later: blocking-read waits for it.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    EXPECT_EQ(write(p.w, "abc", 3), 3);
  });
  r = h.Get(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(10)});
  writer.join();
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(Str(r.payload()), "abc");
  EXPECT_EQ(write(p.w, "d", 1), 1);
  EXPECT_TRUE(h.Get(kPoll, "[method]pollable.ready", {Borrow(pollable)}).b);
  r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(10)});
  EXPECT_EQ(Str(r.payload()), "d");
  p.CloseWrite();
  EXPECT_TRUE(
      IsClosed(h.Get(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(10)})));
}

TEST(WasiP2Io, InterruptedBlockingReadAndPollTrap) {
  Pipe p;
  std::atomic<int> asked{0};
  wasi::WasiConfig cfg;
  cfg.stdin_fd = p.r;
  cfg.interrupted = [&] { return ++asked > 3; };
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  auto start = std::chrono::steady_clock::now();
  auto r = h.Call(kStreams, "[method]input-stream.blocking-read", {Borrow(in), Val::U64(10)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap().kind, engine::TrapKind::kInterrupted);
  // A 10-second sleep ends at the first slice that sees the interrupt.
  asked = 3;
  Val sleep = h.Get("wasi:clocks/monotonic-clock", "subscribe-duration",
                    {Val::U64(10'000'000'000)});
  r = h.Call(kPoll, "poll", {Val::List({Borrow(sleep)})});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap().kind, engine::TrapKind::kInterrupted);
  r = h.Call(kPoll, "[method]pollable.block", {Borrow(sleep)});
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(WasiP2Io, StdoutSinkWritesWithinThePermit) {
  std::string out;
  wasi::WasiConfig cfg;
  cfg.stdout_stream.sink = [&](std::string_view s) { out.append(s); };
  P2Host h(std::move(cfg));
  Val o = h.Get("wasi:cli/stdout", "get-stdout");
  // No permit yet: a write traps.
  auto t = h.Call(kStreams, "[method]output-stream.write", {Borrow(o), Bytes("x")});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.trap().message.find("exceeds the permit of 0"), std::string::npos)
      << t.trap().message;
  Val permit = h.Get(kStreams, "[method]output-stream.check-write", {Borrow(o)});
  ASSERT_TRUE(IsOk(permit));
  EXPECT_EQ(permit.payload().u, kMaxStreamChunk);
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.write", {Borrow(o), Bytes("hi ")})));
  EXPECT_TRUE(
      IsOk(h.Get(kStreams, "[method]output-stream.write-zeroes", {Borrow(o), Val::U64(2)})));
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.flush", {Borrow(o)})));
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.blocking-write-and-flush",
                         {Borrow(o), Bytes("there")})));
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.blocking-write-zeroes-and-flush",
                         {Borrow(o), Val::U64(1)})));
  EXPECT_EQ(out, std::string("hi \0\0there\0", 11));
  // A flush used the permit up; more than 4096 bytes at once traps.
  EXPECT_FALSE(h.Call(kStreams, "[method]output-stream.write", {Borrow(o), Bytes("y")}).ok());
  t = h.Call(kStreams, "[method]output-stream.blocking-write-and-flush",
             {Borrow(o), Bytes(std::string(4097, 'z'))});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.trap().message.find("at most 4096"), std::string::npos) << t.trap().message;
  EXPECT_EQ(out.size(), 11u);
  // stderr with nothing configured: discarded, and fine.
  Val e = h.Get("wasi:cli/stderr", "get-stderr");
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.blocking-write-and-flush",
                         {Borrow(e), Bytes("lost")})));
  Val ready = h.Get(kStreams, "[method]output-stream.subscribe", {Borrow(e)});
  EXPECT_TRUE(h.Get(kPoll, "[method]pollable.ready", {Borrow(ready)}).b);
}

TEST(WasiP2Io, StdoutHostFdAndClosedReader) {
  Pipe p;
  wasi::WasiConfig cfg;
  cfg.stdout_stream.host_fd = p.w;
  P2Host h(std::move(cfg));
  Val o = h.Get("wasi:cli/stdout", "get-stdout");
  EXPECT_TRUE(IsOk(h.Get(kStreams, "[method]output-stream.blocking-write-and-flush",
                         {Borrow(o), Bytes("to the pipe")})));
  char buf[64] = {};
  EXPECT_EQ(read(p.r, buf, sizeof buf), 11);
  EXPECT_STREQ(buf, "to the pipe");
  // The reader goes away: the stream is closed (EPIPE, not a signal).
  close(p.r);
  p.r = -1;
  signal(SIGPIPE, SIG_IGN);
  Val r = h.Get(kStreams, "[method]output-stream.blocking-write-and-flush",
                {Borrow(o), Bytes("x")});
  EXPECT_TRUE(IsClosed(r));
}

TEST(WasiP2Io, AFullStdoutPipeGivesNoPermitAndAnInterruptibleWait) {
  Pipe p;
  // Fill the pipe (non-blocking for a moment, as the test's own writer).
  int fl = fcntl(p.w, F_GETFL);
  ASSERT_EQ(fcntl(p.w, F_SETFL, fl | O_NONBLOCK), 0);
  std::string chunk(4096, 'f');
  while (write(p.w, chunk.data(), chunk.size()) > 0) {
  }
  ASSERT_EQ(fcntl(p.w, F_SETFL, fl), 0);
  std::atomic<int> asked{0};
  wasi::WasiConfig cfg;
  cfg.stdout_stream.host_fd = p.w;
  cfg.interrupted = [&] { return ++asked > 3; };
  P2Host h(std::move(cfg));
  Val o = h.Get("wasi:cli/stdout", "get-stdout");
  Val permit = h.Get(kStreams, "[method]output-stream.check-write", {Borrow(o)});
  ASSERT_TRUE(IsOk(permit));
  EXPECT_EQ(permit.payload().u, 0u);
  Val writable = h.Get(kStreams, "[method]output-stream.subscribe", {Borrow(o)});
  EXPECT_FALSE(h.Get(kPoll, "[method]pollable.ready", {Borrow(writable)}).b);
  auto r = h.Call(kStreams, "[method]output-stream.blocking-write-and-flush",
                  {Borrow(o), Bytes("x")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.trap().kind, engine::TrapKind::kInterrupted);
  // Drained: writable again, and the write goes through.
  std::string buf(1 << 20, '\0');
  int rfl = fcntl(p.r, F_GETFL);
  ASSERT_EQ(fcntl(p.r, F_SETFL, rfl | O_NONBLOCK), 0);
  while (read(p.r, buf.data(), buf.size()) > 0) {
  }
  EXPECT_TRUE(h.Get(kPoll, "[method]pollable.ready", {Borrow(writable)}).b);
  EXPECT_TRUE(IsOk(
      h.Get(kStreams, "[method]output-stream.blocking-write-and-flush", {Borrow(o), Bytes("x")})));
  EXPECT_EQ(read(p.r, buf.data(), buf.size()), 1);
}

TEST(WasiP2Io, SpliceStdinToStdout) {
  std::string out;
  wasi::WasiConfig cfg;
  cfg.stdin_data = "spliced bytes";
  cfg.stdout_stream.sink = [&](std::string_view s) { out.append(s); };
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  Val o = h.Get("wasi:cli/stdout", "get-stdout");
  Val r = h.Get(kStreams, "[method]output-stream.splice", {Borrow(o), Borrow(in), Val::U64(7)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.payload().u, 7u);
  r = h.Get(kStreams, "[method]output-stream.blocking-splice",
            {Borrow(o), Borrow(in), Val::U64(100)});
  ASSERT_TRUE(IsOk(r));
  EXPECT_EQ(r.payload().u, 6u);
  EXPECT_EQ(out, "spliced bytes");
  EXPECT_TRUE(IsClosed(h.Get(kStreams, "[method]output-stream.blocking-splice",
                             {Borrow(o), Borrow(in), Val::U64(100)})));
}

TEST(WasiP2Io, PollWaitsForTheFirstReadyAndTimesOut) {
  Pipe p;
  wasi::WasiConfig cfg;
  cfg.stdin_fd = p.r;
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  Val readable = h.Get(kStreams, "[method]input-stream.subscribe", {Borrow(in)});
  Val soon = h.Get("wasi:clocks/monotonic-clock", "subscribe-duration", {Val::U64(30'000'000)});
  Val later = h.Get("wasi:clocks/monotonic-clock", "subscribe-duration",
                    {Val::U64(60'000'000'000)});
  auto start = std::chrono::steady_clock::now();
  Val ready = h.Get(kPoll, "poll", {Val::List({Borrow(readable), Borrow(later), Borrow(soon)})});
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(ready.items.size(), 1u);
  EXPECT_EQ(ready.items[0].u, 2u);
  EXPECT_GE(waited, std::chrono::milliseconds(29));
  EXPECT_LT(waited, std::chrono::seconds(5));
  // Data on the pipe: the stream is ready with the passed deadline.
  EXPECT_EQ(write(p.w, "x", 1), 1);
  ready = h.Get(kPoll, "poll", {Val::List({Borrow(later), Borrow(readable), Borrow(soon)})});
  ASSERT_EQ(ready.items.size(), 2u);
  EXPECT_EQ(ready.items[0].u, 1u);
  EXPECT_EQ(ready.items[1].u, 2u);
  // An empty list traps, as in wasmtime.
  auto t = h.Call(kPoll, "poll", {Val::List({})});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.trap().message.find("empty"), std::string::npos);
}

TEST(WasiP2Io, FailedReadGivesAnErrorWithItsDebugString) {
  int dir = open("/", O_RDONLY | O_DIRECTORY);
  ASSERT_GE(dir, 0);
  wasi::WasiConfig cfg;
  cfg.stdin_fd = dir;
  P2Host h(std::move(cfg));
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  Val r = h.Get(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(4)});
  ASSERT_EQ(r.index, 1u);
  ASSERT_EQ(r.payload().index, 0u);  // last-operation-failed(error)
  Val err = r.payload().payload();
  EXPECT_EQ(err.resource, Resources().error);
  Val text = h.Get("wasi:io/error", "[method]error.to-debug-string", {Borrow(err)});
  EXPECT_NE(text.str.find("reading stdin"), std::string::npos) << text.str;
  EXPECT_EQ(h.st->errors.size(), 1u);
  h.Drop("wasi:io/error", "error", static_cast<uint32_t>(err.u));
  EXPECT_EQ(h.st->errors.size(), 0u);
  close(dir);
}

TEST(WasiP2Io, DestructorsEmptyTheTables) {
  P2Host h;
  Val in = h.Get("wasi:cli/stdin", "get-stdin");
  Val out = h.Get("wasi:cli/stdout", "get-stdout");
  Val p = h.Get(kStreams, "[method]output-stream.subscribe", {Borrow(out)});
  EXPECT_EQ(h.st->input_streams.size(), 1u);
  EXPECT_EQ(h.st->output_streams.size(), 1u);
  EXPECT_EQ(h.st->pollables.size(), 1u);
  h.Drop(kPoll, "pollable", static_cast<uint32_t>(p.u));
  h.Drop(kStreams, "input-stream", static_cast<uint32_t>(in.u));
  h.Drop(kStreams, "output-stream", static_cast<uint32_t>(out.u));
  EXPECT_EQ(h.st->input_streams.size(), 0u);
  EXPECT_EQ(h.st->output_streams.size(), 0u);
  EXPECT_EQ(h.st->pollables.size(), 0u);
  // A stale handle traps instead of finding something else.
  auto t = h.Call(kStreams, "[method]input-stream.read", {Borrow(in), Val::U64(1)});
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.trap().message.find("unknown input-stream"), std::string::npos);
}

}  // namespace
}  // namespace arcella::component
