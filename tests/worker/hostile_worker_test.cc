// WorkerHost against a lying worker (tests/worker/fake_worker.cc): for every
// way a worker can break the protocol, the daemon neither crashes nor hangs,
// the apply fails naming the worker and what it did, supervision restarts
// it until the crash-loop limit, and a group served by the real
// arcella-worker in the same host keeps serving throughout. Floods of log
// lines and stderr stay within bounded daemon memory; log lines and events
// naming other deployments are dropped. Also the real worker refusing an
// apply that names code it does not hold.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "../platform/runtime_test_util.h"
#include "worker/channel.h"
#include "worker/messages.h"
#include "worker/worker_host.h"

namespace arcella::worker {
namespace {

using namespace platform::testing;  // NOLINT
using platform::State;
using std::chrono::milliseconds;

constexpr char kWeb[] = "counter@1.0.0/web";  // served by the real arcella-worker

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // quarantines and shadow memory: RSS says nothing
#else
constexpr bool kSanitized = false;
#endif

// The peak resident set of this process (the daemon side) since the last
// ResetPeakRss(); 0 if the kernel does not say.
bool ResetPeakRss() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return clear.good();
}
uint64_t PeakRss() {
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t kb = 0;
  while (in >> key) {
    if (key == "VmHWM:" && in >> kb) return kb << 10;
  }
  return 0;
}

class HostileWorkerTest : public ::testing::Test {
 protected:
  HostileWorkerTest() : logs_dir_(test::TempDir("hostile-logs")), logs_(logs_dir_) {}
  void SetUp() override {
    counter_ = LoadFixture("reactor_counter.wasm");
    ASSERT_NE(counter_, nullptr);
    WorkerHostOptions o;
    o.worker_path = ARCELLA_FAKE_WORKER_PATH;
    // Room for sanitizer-built real workers on a loaded machine: an apply
    // unanswered for 5 x grace ends the worker, and so does no hello in time.
    o.grace = milliseconds(500);
    o.start_timeout = milliseconds(5000);
    o.max_quick_crashes = 2;
    o.backoff.initial = milliseconds(5);
    host_ = std::make_unique<WorkerHost>(&TestCode(), &logs_, &events_, o);
    Status st = host_->Apply(MakePlan(kWeb, counter_, 1), true);
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(WaitFor([&] { return AllInState(*host_, kWeb, State::kActive, 1); }));
    web_pid_ = host_->WorkerPid("web");
    ASSERT_GT(web_pid_, 0);
    ASSERT_TRUE(WebServes());
  }
  void TearDown() override {
    host_.reset();
    std::filesystem::remove_all(logs_dir_);
  }
  // One call to the real worker's group; counts failures.
  bool WebServes() {
    auto r = host_->Call(kWeb, "add", {"2", "40"});
    bool ok = r.ok() && !r->trap && r->results == std::vector<std::string>{"42"};
    if (!ok) ++web_failures_;
    return ok;
  }
  bool TailHas(const std::string& target, const std::string& text) {
    for (const auto& l : logs_.Tail(target, 100'000))
      if (l.line.find(text) != std::string::npos) return true;
    return false;
  }
  // Waits for `pred`, calling the real worker's group all the while.
  bool WaitServing(const std::function<bool()>& pred,
                   milliseconds limit = std::chrono::seconds(60)) {
    return WaitFor(
        [&] {
          WebServes();
          return pred();
        },
        limit);
  }

  std::string logs_dir_;
  platform::EventBus events_;
  platform::LogHub logs_;
  std::unique_ptr<WorkerHost> host_;
  std::shared_ptr<const engine::Module> counter_;
  pid_t web_pid_ = 0;
  int web_failures_ = 0;
};

struct BreakCase {
  const char* mode;
  const char* reason;  // in the failed apply's message
};

class ProtocolBreak : public HostileWorkerTest, public ::testing::WithParamInterface<BreakCase> {};

TEST_P(ProtocolBreak, FailsTheApplyEndsTheWorkerAndSparesTheOtherGroup) {
  const std::string group = std::string("hostile-") + GetParam().mode;
  const std::string id = "counter@1.0.0/" + group;
  Status st = host_->Apply(MakePlan(id, counter_, 1), true);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  const std::string who = GetParam().mode == std::string("partial-hello")
                              ? "arcella-worker for group " + group + " did not start"
                              : "worker of group " + group + " (pid ";
  EXPECT_NE(st.message().find(who), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(GetParam().reason), std::string::npos) << st.message();
  // Supervision restarts it; it breaks again each time, until the group fails.
  ASSERT_TRUE(WaitServing([&] {
    auto s = host_->GetStatus(id);
    return s.ok() && s->state == State::kFailed;
  }));
  auto s = host_->GetStatus(id);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->replicas.size(), 1u);
  if (GetParam().mode != std::string("partial-hello")) {
    EXPECT_NE(s->replicas[0].last_error.find("crashed 3 times in a row"), std::string::npos)
        << s->replicas[0].last_error;
  }
  EXPECT_NE(s->replicas[0].last_error.find(GetParam().reason), std::string::npos)
      << s->replicas[0].last_error;
  EXPECT_EQ(host_->WorkerPid(group), 0);
  EXPECT_EQ(host_->Call(id, "add", {"1", "2"}).status().code(), StatusCode::kUnavailable);
  // The real worker's group never noticed.
  EXPECT_TRUE(WebServes());
  EXPECT_EQ(web_failures_, 0);
  EXPECT_EQ(host_->WorkerPid("web"), web_pid_);
}

INSTANTIATE_TEST_SUITE_P(
    HostileWorker, ProtocolBreak,
    ::testing::Values(
        BreakCase{"garbage", "broke the protocol (frame: "},
        BreakCase{"oversize",
                  "broke the protocol (frame: length 4294967295 is over the cap of 67108864)"},
        BreakCase{"unknown-id",
                  "broke the protocol (a reply to request 1001, which is not waiting for one)"},
        BreakCase{"wrong-type",
                  "broke the protocol (reply: \"code\" must be an unsigned 32-bit integer)"},
        BreakCase{"silent", "killed by signal 9 (SIGKILL)"},
        BreakCase{"close-mid-frame", "killed by signal 9 (SIGKILL)"},
        BreakCase{"partial-hello", "no hello within 5000 ms"},
        // The link ring: what a worker posts there is copied out once and
        // checked like a frame from the socket.
        BreakCase{"link-ring-length",
                  "broke the protocol (link ring: slot 0 frame length 4033 out of range 4..4032)"},
        BreakCase{"link-ring-prefix", "broke the protocol (link ring: slot 0 frame says "},
        BreakCase{"link-ring-junk", "broke the protocol (link ring: slot 0: "},
        BreakCase{"link-ring-type",
                  "broke the protocol (link ring: slot 0 holds a \"reply\" frame, not a "
                  "link-call)"}),
    [](const ::testing::TestParamInfo<BreakCase>& info) {
      std::string name = info.param.mode;
      std::erase(name, '-');
      return name;
    });

// 256 MiB of log lines: the daemon reads them one frame at a time (the
// socket holds the worker back), keeps a bounded ring and rotated files, and
// still answers the flooding group's requests and the other group's calls.
TEST_F(HostileWorkerTest, ALogFloodStaysBounded) {
  const std::string id = "counter@1.0.0/hostile-log-flood";
  ASSERT_TRUE(ResetPeakRss() || kSanitized);
  uint64_t before = PeakRss();
  ASSERT_TRUE(host_->Apply(MakePlan(id, counter_, 1), true).ok());
  ASSERT_TRUE(
      WaitServing([&] { return TailHas(id, "log flood done"); }, std::chrono::seconds(300)));
  if (!kSanitized && before > 0) {
    EXPECT_LT(PeakRss(), before + (64ull << 20)) << "the daemon buffered the flood";
  }
  EXPECT_LE(logs_.Tail(id, 1'000'000).size(), 1000u);
  uint64_t on_disk = 0;
  for (const auto& e : std::filesystem::directory_iterator(logs_dir_))
    if (e.path().filename().string().find("hostile-log-flood") != std::string::npos)
      on_disk += e.file_size();
  EXPECT_LE(on_disk, 3 * (10ull << 20) + (64 << 10));
  EXPECT_TRUE(AllInState(*host_, id, State::kActive, 1));
  EXPECT_TRUE(WebServes());
  EXPECT_EQ(web_failures_, 0);
}

// 64 MiB on stderr without a newline: the daemon cuts the worker's stderr
// into lines of at most 4 KiB instead of buffering it.
TEST_F(HostileWorkerTest, AnEndlessStderrLineStaysBounded) {
  const std::string id = "counter@1.0.0/hostile-stderr-flood";
  ASSERT_TRUE(ResetPeakRss() || kSanitized);
  uint64_t before = PeakRss();
  ASSERT_TRUE(host_->Apply(MakePlan(id, counter_, 1), true).ok());
  ASSERT_TRUE(
      WaitServing([&] { return TailHas(id, "stderr flood done"); }, std::chrono::seconds(300)));
  if (!kSanitized && before > 0) {
    EXPECT_LT(PeakRss(), before + (32ull << 20)) << "the daemon buffered the line";
  }
  EXPECT_TRUE(WebServes());
  EXPECT_EQ(web_failures_, 0);
}

// A worker writes log lines and events naming another group's deployment,
// a deployment that does not exist, and replica indices its deployment
// cannot have: all dropped; its own lines arrive.
TEST_F(HostileWorkerTest, LinesAndEventsAboutOtherDeploymentsAreDropped) {
  std::mutex mu;
  std::vector<std::string> injected;
  uint64_t token = events_.Subscribe([&](const platform::Event& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (e.message == "INJECTED") injected.push_back(e.kind + " " + e.id);
  });
  const std::string id = "counter@1.0.0/hostile-foreign";
  ASSERT_TRUE(host_->Apply(MakePlan(id, counter_, 1), true).ok());
  // The apply's reply came after every frame the worker sent before it.
  EXPECT_TRUE(TailHas(id, "foreign done"));
  EXPECT_FALSE(TailHas(kWeb, "INJECTED"));
  EXPECT_TRUE(logs_.Tail("nobody@1.0.0/nowhere", 10).empty());
  EXPECT_TRUE(logs_.Tail(id + "#4000000000", 10).empty());
  events_.Unsubscribe(token);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(injected.empty()) << injected.front();
  }
  for (const auto& e : std::filesystem::directory_iterator(logs_dir_))
    EXPECT_EQ(e.path().filename().string().find("nowhere"), std::string::npos) << e.path();
  EXPECT_TRUE(AllInState(*host_, kWeb, State::kActive, 1));
  EXPECT_TRUE(WebServes());
}

// A worker's link-calls name only its own group's deployments and their
// links: a call for another group's deployment, or through an import its
// deployment has not linked, is answered `not found` (and reaches nobody).
TEST_F(HostileWorkerTest, LinkCallsOutsideTheWorkersOwnLinksAreRefused) {
  const std::string id = "counter@1.0.0/hostile-foreign-link";
  ASSERT_TRUE(host_->Apply(MakePlan(id, counter_, 1), true).ok());
  EXPECT_TRUE(WaitServing(
      [&] {
        return TailHas(id, "link-reply 1: not found: link call from deployment counter@1.0.0/web, "
                           "which is not in group hostile-foreign-link");
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(WaitServing(
      [&] {
        return TailHas(id, "link-reply 2: not found: deployment " + id +
                               " has no link for import example:logger/log@0.1.0");
      },
      std::chrono::seconds(10)));
  EXPECT_FALSE(TailHas(kWeb, "INJECTED"));
  EXPECT_TRUE(AllInState(*host_, kWeb, State::kActive, 1));
  EXPECT_TRUE(WebServes());
}

// A link-call that fits a link ring slot but whose answer does not: the
// daemon sends the answer on the socket and marks the slot `spilled`.
TEST_F(HostileWorkerTest, ALinkRingAnswerTooBigForItsSlotComesOnTheSocket) {
  const std::string id = "counter@1.0.0/hostile-link-ring-spill";
  ASSERT_TRUE(host_->Apply(MakePlan(id, counter_, 1), true).ok());
  EXPECT_TRUE(WaitServing([&] { return TailHas(id, "link ring slot 0: spilled (call frame "); },
                          std::chrono::seconds(10)));
  EXPECT_TRUE(WaitServing(
      [&] {
        return TailHas(id, "link-reply 1: not found: link call from deployment ddddd") &&
               TailHas(id, "ddd, which is not in group hostile-link-ring-spill");
      },
      std::chrono::seconds(10)));
  EXPECT_TRUE(AllInState(*host_, kWeb, State::kActive, 1));
  EXPECT_TRUE(WebServes());
}

// The real worker, driven over a raw channel: an apply without code for a
// CodeRef the worker does not hold is refused naming it, and so is an apply
// whose descriptors do not match what it says it carries.
TEST(WorkerProtocol, AnApplyNamingCodeTheWorkerDoesNotHoldIsRefused) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  std::string parent = std::to_string(getpid());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(sv[1], 3);  // dup2 clears close-on-exec
    execl(ARCELLA_WORKER_BIN_PATH, ARCELLA_WORKER_BIN_PATH, "--socket-fd", "3", "--parent",
          parent.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(sv[1]);
  Channel ch(sv[0]);
  auto hello = ch.Receive();
  ASSERT_TRUE(hello.ok()) << hello.status().ToString();
  ASSERT_EQ(hello->type(), "hello");
  auto counter = LoadFixture("reactor_counter.wasm");
  ASSERT_NE(counter, nullptr);
  ApplyRequest r;
  r.id = 1;
  r.plan = MakePlan("counter@1.0.0/raw", counter, 1);
  r.started = true;
  r.with_code = false;
  ASSERT_TRUE(ch.Send(EncodeApply(r)).ok());
  auto reply = ch.Receive();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  Status st = ReplyStatus(reply->body);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(st.message(), "apply counter@1.0.0/raw: the worker holds no code for " +
                              platform::CodeRefName(r.plan.code) + " and none was sent");
  r.id = 2;
  r.with_code = true;  // but no descriptor
  ASSERT_TRUE(ch.Send(EncodeApply(r)).ok());
  reply = ch.Receive();
  ASSERT_TRUE(reply.ok()) << reply.status().ToString();
  st = ReplyStatus(reply->body);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_NE(st.message().find("expected 1 descriptors"), std::string::npos) << st.message();
  ASSERT_TRUE(ch.Send(EncodeShutdown()).ok());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

}  // namespace
}  // namespace arcella::worker
