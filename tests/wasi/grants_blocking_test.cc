// Every blocking WASI operation is interruptible (issue 6, item 3): reads and
// writes of FIFOs inside a grant, poll_oneoff on them, borrowed host pipes;
// and a grant whose path became a symlink is not opened.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "engine/engine.h"
#include "test_util.h"
#include "wasi/wasi.h"
#include "wasi_harness.h"

namespace arcella::wasi {
namespace {

using test::Harness;
using test::I;
using test::L;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRw = right::kFdRead | right::kFdWrite | right::kPollFdReadwrite |
                         right::kFdFdstatSetFlags;

struct FifoDir {
  std::string dir = arcella::test::TempDir("wasi-fifo");
  FifoDir() { EXPECT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0); }
};

// A config whose `interrupted` answers true once `after` has passed since it
// was first asked (so set-up time, slow under sanitizers, does not count).
WasiConfig InterruptAfter(const std::string& dir, std::chrono::milliseconds after) {
  WasiConfig cfg;
  cfg.preopens.push_back({dir, "/data", false});
  auto start = std::make_shared<std::optional<Clock::time_point>>();
  cfg.interrupted = [start, after] {
    if (!*start) *start = Clock::now();
    return Clock::now() - **start > after;
  };
  return cfg;
}

TEST(GrantsBlocking, FifoReadWriteAndPollEndWhenInterrupted) {
  FifoDir f;
  Harness h(InterruptAfter(f.dir, std::chrono::milliseconds(100)), 1 << 20);
  uint32_t fd = 0;
  // Read-write: the guest is its own writer, so no EOF ever ends the read.
  ASSERT_EQ(h.Open(3, "fifo", 0, kRw, 0, &fd), 0u);
  auto t0 = Clock::now();
  std::string got;
  EXPECT_EQ(h.Read(fd, 16, &got), (uint32_t)kIntr);
  auto read_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  EXPECT_GE(read_ms, 90);    // it did block until interrupted
  EXPECT_LT(read_ms, 2000);  // and no longer
  std::printf("blocked fd_read on a FIFO ended %lld ms after start\n", (long long)read_ms);

  // poll_oneoff on the FIFO waits (it used to report a FIFO always ready).
  h.PutU64(1000, 7);           // userdata
  h.mem[1008] = kEventFdRead;  // tag
  h.PutU32(1016, fd);
  EXPECT_EQ(h.Call("poll_oneoff", {I(1000), I(2000), I(1), I(3000)}), (uint32_t)kIntr);

  // A full FIFO blocks writers too.
  std::string chunk(65536, 'x');
  uint32_t r = 0;
  int writes = 0;
  while ((r = h.Write(fd, chunk)) == 0 && ++writes < 1000) {
  }
  EXPECT_EQ(r, (uint32_t)kIntr);
  EXPECT_LT(writes, 1000);
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
}

TEST(GrantsBlocking, FifoStillBehavesAsABlockingFile) {
  FifoDir f;
  WasiConfig cfg;
  cfg.preopens.push_back({f.dir, "/data", false});
  cfg.interrupted = [] { return false; };
  Harness h(cfg, 1 << 20);
  uint32_t fd = 0;
  ASSERT_EQ(h.Open(3, "fifo", 0, kRw, 0, &fd), 0u);
  // The guest sees a blocking descriptor (the host fd is O_NONBLOCK).
  ASSERT_EQ(h.Call("fd_fdstat_get", {I(fd), I(4000)}), 0u);
  uint16_t flags;
  std::memcpy(&flags, h.mem.data() + 4002, 2);
  EXPECT_EQ(flags & kFdflagNonblock, 0);
  // Data written by another process after the read started is received.
  int w = open((f.dir + "/fifo").c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(w, 0);
  std::thread writer([w] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the read block first
    EXPECT_EQ(write(w, "hello", 5), 5);
  });
  std::string got;
  EXPECT_EQ(h.Read(fd, 16, &got), 0u);
  EXPECT_EQ(got, "hello");
  writer.join();
  close(w);
  // A guest that asks for non-blocking I/O gets EAGAIN at once.
  ASSERT_EQ(h.Call("fd_fdstat_set_flags", {I(fd), I(kFdflagNonblock)}), 0u);
  EXPECT_EQ(h.Read(fd, 16, &got), (uint32_t)kAgain);
  ASSERT_EQ(h.Call("fd_fdstat_set_flags", {I(fd), I(0)}), 0u);
  // pread/pwrite on a FIFO: ESPIPE, never a block.
  uint32_t fd2 = 0;
  ASSERT_EQ(h.Open(3, "fifo", 0, kRw | right::kFdSeek, 0, &fd2), 0u);
  h.PutU32(Harness::kIov, Harness::kData);
  h.PutU32(Harness::kIov + 4, 4);
  EXPECT_EQ(h.Call("fd_pread", {I(fd2), I(Harness::kIov), I(1), L(0), I(Harness::kOut)}),
            (uint32_t)kSpipe);
  EXPECT_EQ(h.Call("fd_pwrite", {I(fd2), I(Harness::kIov), I(1), L(0), I(Harness::kOut)}),
            (uint32_t)kSpipe);
}

TEST(GrantsBlocking, BorrowedHostPipeWriteEndsWhenInterrupted) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  auto start = Clock::now();
  WasiConfig cfg;
  cfg.stdout_stream.host_fd = p[1];  // nobody reads: the pipe fills
  cfg.interrupted = [start] { return Clock::now() - start > std::chrono::milliseconds(100); };
  Harness h(cfg, 1 << 20);
  std::string chunk(60000, 'y');
  uint32_t r = 0;
  int n = 0;
  while ((r = h.Write(1, chunk)) == 0 && ++n < 10000) {
  }
  EXPECT_EQ(r, (uint32_t)kIntr);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  // The host's descriptor was not made non-blocking behind its back.
  EXPECT_EQ(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
  close(p[0]);
  close(p[1]);
}

TEST(GrantsBlocking, ResolvedPreopenRefusesASymlinkSwappedIn) {
  std::string dir = arcella::test::TempDir("wasi-nosym");
  ASSERT_EQ(mkdir((dir + "/real").c_str(), 0700), 0);
  ASSERT_EQ(symlink((dir + "/real").c_str(), (dir + "/link").c_str()), 0);
  WasiConfig cfg;
  cfg.preopens.push_back({dir + "/link", "/d", false, /*no_symlinks=*/true});
  auto ctx = WasiCtx::Create(cfg);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("became a symlink"), std::string::npos)
      << ctx.status().message();
  cfg.preopens[0].host_path = dir + "/real";
  EXPECT_TRUE(WasiCtx::Create(cfg).ok());
}

// A real wasi-libc guest blocked reading a FIFO, on both tiers: the
// instance's deadline ends it (as `--timeout` and the daemon's stop do).
class GrantsBlockingGuest : public ::testing::TestWithParam<engine::Tier> {
 protected:
  void SetUp() override {
    if (GetParam() == engine::Tier::kAot && !engine::AotAvailable())
      GTEST_SKIP() << "no C compiler";
  }
};

TEST_P(GrantsBlockingGuest, DeadlineEndsABlockedFifoRead) {
  for (const char* mode : {"read", "write"}) {
    FifoDir f;
    auto bytes = arcella::test::ReadFile(arcella::test::FixturePath("grants_fifo.wasm"));
    engine::CompileOptions co;
    co.tier = GetParam();
    auto mod = arcella::test::TestEngine(engine::Metering::kInterrupt,
                                         arcella::test::TempDir("grants-blocking-cache"))
                   ->Compile(bytes, co);
    ASSERT_TRUE(mod.ok()) << mod.status().ToString();
    WasiConfig cfg;
    cfg.args = {"grants_fifo"};
    cfg.env = {{"FIFO", "/data/fifo"}, {"MODE", mode}};
    cfg.preopens.push_back({f.dir, "/data", false});
    auto out = std::make_shared<std::string>();
    cfg.stdout_stream.sink = [out](std::string_view s) { *out += s; };
    auto current = std::make_shared<std::weak_ptr<engine::Instance>>();
    cfg.interrupted = [current] {
      auto i = current->lock();
      return i && i->InterruptPending();
    };
    auto ctx = WasiCtx::Create(cfg);
    ASSERT_TRUE(ctx.ok());
    engine::Linker linker;
    ASSERT_TRUE((*ctx)->AddToLinker(linker).ok());
    engine::InstanceOptions io;
    io.limits.deadline = std::chrono::milliseconds(300);
    auto inst = engine::Instance::Create(*mod, linker, io);
    ASSERT_TRUE(inst.ok()) << inst.status().ToString();
    *current = *inst;
    auto t0 = Clock::now();
    auto res = (*inst)->Call("_start", {});
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    ASSERT_TRUE(res->trap.has_value()) << mode << ": " << *out;
    EXPECT_EQ(res->trap->kind, engine::TrapKind::kDeadline) << res->trap->ToString();
    EXPECT_NE(out->find("fifo opened, blocking"), std::string::npos) << *out;
    EXPECT_LT(ms, 3000) << mode;
    std::printf("%s tier, blocked %s: deadline trap after %lld ms\n", engine::TierName(GetParam()),
                mode, (long long)ms);
  }
}

INSTANTIATE_TEST_SUITE_P(Tiers, GrantsBlockingGuest,
                         ::testing::Values(engine::Tier::kAot, engine::Tier::kInterp),
                         [](const auto& info) {
                           return std::string(engine::TierName(info.param));
                         });

}  // namespace
}  // namespace arcella::wasi
