// Direct calls of the preview1 host functions: args, environ, stdio, clocks,
// random, poll, proc, sockets, bounds checks.
#include <unistd.h>

#include <chrono>
#include <set>
#include <string>

#include "wasi_harness.h"

namespace arcella::wasi::test {
namespace {

using engine::TrapKind;
using engine::ValType;

TEST(Preview1, SignaturesCoverWitx) {
  auto sigs = Preview1Signatures();
  EXPECT_EQ(sigs.size(), 46u);
  std::set<std::string> names;
  for (auto& s : sigs) names.insert(s.name);
  EXPECT_EQ(names.size(), sigs.size());
  for (auto& s : sigs) {
    if (std::string(s.name) == "proc_exit") {
      EXPECT_TRUE(s.type.results.empty());
    } else {
      EXPECT_EQ(s.type.results, std::vector<ValType>{ValType::kI32}) << s.name;
    }
  }
  auto find = [&](const char* n) {
    for (auto& s : sigs)
      if (std::string(s.name) == n) return s.type;
    return engine::FuncType{};
  };
  EXPECT_EQ(find("path_open").ToString(), "(i32, i32, i32, i32, i32, i64, i64, i32, i32) -> (i32)");
  EXPECT_EQ(find("fd_seek").ToString(), "(i32, i64, i32, i32) -> (i32)");
  EXPECT_EQ(find("sock_recv").params.size(), 6u);
}

TEST(Preview1, ArgsAndEnv) {
  WasiConfig cfg;
  cfg.args = {"prog", "hello", ""};
  cfg.env = {{"A", "1"}, {"PATH", "/x"}};
  Harness h(cfg);
  ASSERT_EQ(h.Call("args_sizes_get", {I(0), I(4)}), 0u);
  EXPECT_EQ(h.U32(0), 3u);
  EXPECT_EQ(h.U32(4), 5u + 6u + 1u);
  ASSERT_EQ(h.Call("args_get", {I(100), I(200)}), 0u);
  EXPECT_EQ(h.U32(100), 200u);
  EXPECT_EQ(h.Str(200, 5), std::string("prog\0", 5));
  EXPECT_EQ(h.U32(104), 205u);
  EXPECT_EQ(h.Str(h.U32(104), 6), std::string("hello\0", 6));
  EXPECT_EQ(h.mem[h.U32(108)], 0);
  ASSERT_EQ(h.Call("environ_sizes_get", {I(0), I(4)}), 0u);
  EXPECT_EQ(h.U32(0), 2u);
  EXPECT_EQ(h.U32(4), 4u + 8u);
  ASSERT_EQ(h.Call("environ_get", {I(100), I(200)}), 0u);
  EXPECT_EQ(h.Str(h.U32(104), 7), "PATH=/x");
  // The string buffer ending past memory: EFAULT, nothing written out of bounds.
  EXPECT_EQ(h.Call("args_get", {I(100), I(65536 - 3)}), (uint32_t)kFault);
  EXPECT_EQ(h.Call("args_sizes_get", {I(65534), I(0)}), (uint32_t)kFault);
}

TEST(Preview1, NothingGrantedByDefault) {
  Harness h(WasiConfig{});
  ASSERT_EQ(h.Call("args_sizes_get", {I(0), I(4)}), 0u);
  EXPECT_EQ(h.U32(0), 0u);
  ASSERT_EQ(h.Call("environ_sizes_get", {I(0), I(4)}), 0u);
  EXPECT_EQ(h.U32(0), 0u);
  EXPECT_EQ(h.Call("fd_prestat_get", {I(3), I(0)}), (uint32_t)kBadf);
  EXPECT_EQ(h.Open(3, "x"), (uint32_t)kBadf);
  std::string got = "junk";
  ASSERT_EQ(h.Read(0, 100, &got), 0u);
  EXPECT_EQ(got, "");  // stdin is empty
  EXPECT_EQ(h.Write(1, "dropped"), 0u);
  EXPECT_EQ(h.U32(Harness::kOut), 7u);
}

TEST(Preview1, InvalidConfigRejected) {
  WasiConfig a;
  a.env = {{"A=B", "1"}};
  EXPECT_FALSE(WasiCtx::Create(a).ok());
  WasiConfig b;
  b.args = {std::string("a\0b", 3)};
  EXPECT_FALSE(WasiCtx::Create(b).ok());
  WasiConfig c;
  c.preopens.push_back({"/nonexistent/arcella", "/x", false});
  auto r = WasiCtx::Create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(Preview1, StdioThroughSinksAndStdinData) {
  std::string out, err;
  WasiConfig cfg;
  cfg.stdout_stream.sink = [&](std::string_view s) { out += s; };
  cfg.stderr_stream.sink = [&](std::string_view s) { err += s; };
  cfg.stdin_data = "line one\nline two\n";
  Harness h(cfg);
  // Two iovecs in one fd_write.
  h.Put(8192, "Hello, ");
  h.Put(9000, "world");
  h.PutU32(256, 8192);
  h.PutU32(260, 7);
  h.PutU32(264, 9000);
  h.PutU32(268, 5);
  ASSERT_EQ(h.Call("fd_write", {I(1), I(256), I(2), I(512)}), 0u);
  EXPECT_EQ(h.U32(512), 12u);
  EXPECT_EQ(out, "Hello, world");
  ASSERT_EQ(h.Write(2, "oops"), 0u);
  EXPECT_EQ(err, "oops");
  std::string got;
  ASSERT_EQ(h.Read(0, 5, &got), 0u);
  EXPECT_EQ(got, "line ");
  ASSERT_EQ(h.Read(0, 100, &got), 0u);
  EXPECT_EQ(got, "one\nline two\n");
  ASSERT_EQ(h.Read(0, 100, &got), 0u);
  EXPECT_EQ(got, "");
  // Rights: stdin is not writable, stdout not readable.
  EXPECT_EQ(h.Write(0, "x"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Read(1, 1, &got), (uint32_t)kNotcapable);
  // Seeking a stream.
  // Streams carry no seek/tell rights (that is how libc's isatty() tells a tty).
  EXPECT_EQ(h.Call("fd_seek", {I(1), L(0), I(kWhenceCur), I(512)}), (uint32_t)kNotcapable);
  // fdstat: character device, write right only.
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(1), I(600)}), 0u);
  EXPECT_EQ(h.mem[600], kFtCharDevice);
  EXPECT_TRUE(h.U64(608) & right::kFdWrite);
  EXPECT_FALSE(h.U64(608) & right::kFdRead);
  // filestat of a stream reveals only its type.
  ASSERT_EQ(h.Call("fd_filestat_get", {I(1), I(700)}), 0u);
  EXPECT_EQ(h.mem[716], kFtCharDevice);
  EXPECT_EQ(h.U64(700), 0u);
  EXPECT_EQ(h.U64(708), 0u);
}

TEST(Preview1, IovecBoundsChecked) {
  std::string out;
  WasiConfig cfg;
  cfg.stdout_stream.sink = [&](std::string_view s) { out += s; };
  Harness h(cfg);
  // Buffer runs past the end of memory.
  h.PutU32(256, 65530);
  h.PutU32(260, 100);
  EXPECT_EQ(h.Call("fd_write", {I(1), I(256), I(1), I(512)}), (uint32_t)kFault);
  // iovec array itself out of bounds / huge count.
  EXPECT_EQ(h.Call("fd_write", {I(1), I(65532), I(1), I(512)}), (uint32_t)kFault);
  EXPECT_EQ(h.Call("fd_write", {I(1), I(256), I(0x7fffffff), I(512)}), (uint32_t)kFault);
  // Result pointer out of bounds.
  h.PutU32(260, 1);
  EXPECT_EQ(h.Call("fd_write", {I(1), I(256), I(1), I(0xfffffffe)}), (uint32_t)kFault);
  EXPECT_EQ(out, "");
  // Zero-length memory: everything faults, nothing crashes.
  Harness z(WasiConfig{}, 0);
  EXPECT_EQ(z.Call("args_sizes_get", {I(0), I(4)}), (uint32_t)kFault);
  EXPECT_EQ(z.Call("random_get", {I(0), I(1)}), (uint32_t)kFault);
  EXPECT_EQ(z.Call("random_get", {I(0), I(0)}), 0u);
}

TEST(Preview1, Clocks) {
  WasiConfig cfg;
  cfg.clock_granularity_ns = 1000;
  Harness h(cfg);
  ASSERT_EQ(h.Call("clock_time_get", {I(kClockMonotonic), L(1), I(0)}), 0u);
  uint64_t a = h.U64(0);
  ASSERT_EQ(h.Call("clock_time_get", {I(kClockMonotonic), L(1), I(0)}), 0u);
  EXPECT_GE(h.U64(0), a);
  EXPECT_EQ(a % 1000, 0u);
  ASSERT_EQ(h.Call("clock_time_get", {I(kClockRealtime), L(1), I(8)}), 0u);
  uint64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  EXPECT_LT(now - h.U64(8), 5'000'000'000ull);
  ASSERT_EQ(h.Call("clock_res_get", {I(kClockMonotonic), I(16)}), 0u);
  EXPECT_GE(h.U64(16), 1000u);
  ASSERT_EQ(h.Call("clock_time_get", {I(kClockProcessCpu), L(1), I(0)}), 0u);
  EXPECT_EQ(h.Call("clock_time_get", {I(9), L(1), I(0)}), (uint32_t)kInval);
  EXPECT_EQ(h.Call("clock_time_get", {I(kClockMonotonic), L(1), I(65530)}), (uint32_t)kFault);
}

TEST(Preview1, RandomFillsBuffer) {
  Harness h(WasiConfig{});
  ASSERT_EQ(h.Call("random_get", {I(100), I(4096)}), 0u);
  int zeros = 0;
  for (int i = 0; i < 4096; ++i) zeros += h.mem[100 + i] == 0;
  EXPECT_LT(zeros, 64);
  EXPECT_EQ(h.mem[99], 0);
  EXPECT_EQ(h.mem[100 + 4096], 0);
  EXPECT_EQ(h.Call("random_get", {I(65000), I(1000)}), (uint32_t)kFault);
}

// One subscription at `at`: clock (relative ns) or fd readiness.
void PutClockSub(Harness& h, uint32_t at, uint64_t userdata, uint64_t ns, uint16_t flags = 0) {
  std::memset(h.mem.data() + at, 0, kSubscriptionSize);
  h.PutU64(at, userdata);
  h.mem[at + 8] = kEventClock;
  h.PutU32(at + 16, kClockMonotonic);
  h.PutU64(at + 24, ns);
  std::memcpy(h.mem.data() + at + 40, &flags, 2);
}
void PutFdSub(Harness& h, uint32_t at, uint64_t userdata, uint8_t type, uint32_t fd) {
  std::memset(h.mem.data() + at, 0, kSubscriptionSize);
  h.PutU64(at, userdata);
  h.mem[at + 8] = type;
  h.PutU32(at + 16, fd);
}

TEST(Preview1, PollClockSleeps) {
  Harness h(WasiConfig{});
  PutClockSub(h, 1000, 77, 20'000'000);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), 0u);
  auto el = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(el, std::chrono::milliseconds(20));
  EXPECT_LT(el, std::chrono::seconds(2));
  ASSERT_EQ(h.U32(3000), 1u);
  EXPECT_EQ(h.U64(2000), 77u);
  EXPECT_EQ(h.mem[2000 + 10], kEventClock);
  EXPECT_EQ(h.mem[2000 + 8], 0);
  // Absolute deadline in the past: immediate.
  PutClockSub(h, 1000, 5, 1, kSubclockAbstime);
  ASSERT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), 0u);
  EXPECT_EQ(h.U32(3000), 1u);
}

TEST(Preview1, PollFdsReadyAndErrors) {
  WasiConfig cfg;
  cfg.stdin_data = "abc";
  cfg.stdout_stream.sink = [](std::string_view) {};
  Harness h(cfg);
  PutFdSub(h, 1000, 1, kEventFdRead, 0);
  PutFdSub(h, 1048, 2, kEventFdWrite, 1);
  PutFdSub(h, 1096, 3, kEventFdRead, 42);
  PutClockSub(h, 1144, 4, 10'000'000'000ull);  // must not wait: fds are ready
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(4), I(3000)}), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  ASSERT_EQ(h.U32(3000), 3u);
  EXPECT_EQ(h.U64(2000), 1u);
  EXPECT_EQ(h.U64(2000 + 16), 3u);  // nbytes of stdin
  EXPECT_EQ(h.U64(2032), 2u);
  EXPECT_EQ(h.U64(2064), 3u);
  EXPECT_EQ(h.mem[2064 + 8], kBadf);
  EXPECT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(0), I(3000)}), (uint32_t)kInval);
  EXPECT_EQ(h.Call("poll_oneoff", {I(65500), I(2000), I(2), I(3000)}), (uint32_t)kFault);
  EXPECT_EQ(h.Call("poll_oneoff", {I(1000), I(65500), I(2), I(3000)}), (uint32_t)kFault);
}

TEST(Preview1, BlockingWaitsEndWhenInterrupted) {
  auto start = std::chrono::steady_clock::now();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  WasiConfig cfg;
  cfg.stdin_fd = pipefd[0];  // nobody ever writes: a read would block forever
  cfg.interrupted = [&] {
    return std::chrono::steady_clock::now() - start > std::chrono::milliseconds(50);
  };
  Harness h(cfg);
  PutClockSub(h, 1000, 1, 3'600'000'000'000ull);  // an hour
  ASSERT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), (uint32_t)kIntr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  PutFdSub(h, 1000, 1, kEventFdRead, 0);
  ASSERT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), (uint32_t)kIntr);
  std::string got;
  EXPECT_EQ(h.Read(0, 10, &got), (uint32_t)kIntr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // Data present: the read completes.
  ASSERT_EQ(write(pipefd[1], "xy", 2), 2);
  ASSERT_EQ(h.Read(0, 10, &got), 0u);
  EXPECT_EQ(got, "xy");
  close(pipefd[0]);
  close(pipefd[1]);
}

TEST(Preview1, ProcExitTraps) {
  Harness h(WasiConfig{});
  EXPECT_EQ(h.Call("proc_exit", {I(3)}), 0xFFFFu);
  ASSERT_TRUE(h.last_trap);
  EXPECT_EQ(h.last_trap->kind, TrapKind::kExit);
  EXPECT_EQ(h.last_trap->exit_code, 3);
  EXPECT_EQ(h.ctx->exit_code(), 3);
  EXPECT_EQ(h.Call("proc_raise", {I(9)}), (uint32_t)kNosys);
  EXPECT_EQ(h.Call("sched_yield", {}), 0u);
}

TEST(Preview1, BadArgumentTypesTrap) {
  Harness h(WasiConfig{});
  EXPECT_EQ(h.Call("fd_close", {L(1)}), 0xFFFFu);
  EXPECT_EQ(h.last_trap->kind, TrapKind::kHostError);
  EXPECT_EQ(h.Call("fd_close", {}), 0xFFFFu);
  EXPECT_EQ(h.Call("no_such_function", {}), 0xFFFFu);
}

TEST(Preview1, SocketsAnswerErrno) {
  Harness h(WasiConfig{});
  EXPECT_EQ(h.Call("sock_accept", {I(1), I(0), I(0)}), (uint32_t)kNotsock);
  EXPECT_EQ(h.Call("sock_accept", {I(99), I(0), I(0)}), (uint32_t)kBadf);
  EXPECT_EQ(h.Call("sock_recv", {I(0), I(0), I(0), I(0), I(0), I(0)}), (uint32_t)kNotsock);
  EXPECT_EQ(h.Call("sock_send", {I(1), I(0), I(0), I(0), I(0)}), (uint32_t)kNotsock);
  EXPECT_EQ(h.Call("sock_shutdown", {I(2), I(3)}), (uint32_t)kNotsock);
}

TEST(Preview1, CloseRenumberRights) {
  Harness h(WasiConfig{});
  EXPECT_EQ(h.Call("fd_renumber", {I(2), I(1)}), 0u);
  EXPECT_EQ(h.Call("fd_fdstat_get", {I(2), I(0)}), (uint32_t)kBadf);
  EXPECT_EQ(h.Call("fd_renumber", {I(1), I(7)}), (uint32_t)kBadf);
  // Rights only shrink.
  EXPECT_EQ(h.Call("fd_fdstat_set_rights", {I(1), L(right::kFdRead), L(0)}), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("fd_fdstat_set_rights", {I(1), L(0), L(0)}), 0u);
  EXPECT_EQ(h.Write(1, "x"), (uint32_t)kNotcapable);
  EXPECT_EQ(h.Call("fd_close", {I(1)}), 0u);
  EXPECT_EQ(h.Call("fd_close", {I(1)}), (uint32_t)kBadf);
  EXPECT_EQ(h.Write(1, "x"), (uint32_t)kBadf);
}

}  // namespace
}  // namespace arcella::wasi::test
