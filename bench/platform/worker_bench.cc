// worker_bench: what the worker boundary costs (issue 9). The same reactor
// (tests/fixtures/wat/reactor_counter.wat, `add(2,40)`) served by an
// InProcessHost (replicas in this process, as in the daemon) and by a
// WorkerHost (replicas in a sandboxed `arcella-worker`), side by side:
//
//   1. call round trip, p50/p99/mean, 1 caller and 16 concurrent callers
//      (16 replicas), and a fork'd socketpair echo as the IPC floor;
//   2. calls/s with 16 callers for a fixed duration;
//   (1 and 2 for the worker twice: calls through the shared-memory call
//   ring, the default, and with the ring off, every call on the socket)
//   3. kill -9 of a worker with 100 replicas: time until all are active;
//   4. RSS per idle replica: (RSS with 1,001 replicas - with 1) / 1,000;
//   5. scale 0 -> 1,000 replicas: Apply until all are active.
//
//   worker_bench [--quick] [--json FILE] [--wasm FILE] [--worker PATH]
//                [--caller-spin US] [--worker-spin US] [--spinners N]
//                [--only-calls]
//
// bench/platform/run_worker.sh builds arcella-worker and this, and runs it.
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"
#include "engine/portable_code.h"
#include "platform/inprocess_host.h"
#include "platform/replica_host.h"
#include "platform/run_plan.h"
#include "worker/channel.h"
#include "worker/messages.h"
#include "worker/worker_host.h"

namespace {

using arcella::Result;
using arcella::Status;
using arcella::platform::CodeRef;
using arcella::platform::DeploymentPlan;
using arcella::platform::ReplicaHost;
using arcella::platform::State;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

struct Options {
  bool quick = false;
  std::string json_out;
  std::string wasm = WORKER_BENCH_FIXTURE;
  std::string worker = WORKER_BENCH_WORKER;
  std::optional<int> caller_spin_us, worker_spin_us, spinners;  // ring tuning (default: host's)
  bool only_calls = false;                                      // sections 1 and 2 only
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "worker_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
double Us(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// The compiled reactor, handed out as the platform hands out installed code.
class BenchCode : public arcella::platform::CodeProvider {
 public:
  BenchCode(std::shared_ptr<const arcella::engine::Module> m, std::vector<uint8_t> wasm)
      : module_(std::move(m)), wasm_(std::move(wasm)) {}
  Result<std::shared_ptr<const arcella::engine::Module>> Load(const CodeRef& code) override {
    if (code != Ref()) return Status::NotFound("no bench code " + code.module_hash);
    return module_;
  }
  Result<arcella::engine::PortableCode> Export(const CodeRef& code) override {
    if (code != Ref()) return Status::NotFound("no bench code " + code.module_hash);
    return arcella::engine::ExportCode(*module_, wasm_);
  }
  CodeRef Ref() const { return {module_->hash(), module_->tier(), module_->metering()}; }

 private:
  std::shared_ptr<const arcella::engine::Module> module_;
  std::vector<uint8_t> wasm_;
};

// Which host a measurement runs on, and how to make a fresh one.
struct HostKind {
  std::string name;  // "in-daemon" or "worker"
  std::function<std::unique_ptr<ReplicaHost>()> make;
};

DeploymentPlan Plan(const BenchCode& code, const std::string& id, uint32_t replicas) {
  DeploymentPlan p;
  p.id = id;
  p.module_id = id.substr(0, id.find('/'));
  p.group = id.substr(id.find('/') + 1);
  p.isolation = arcella::platform::Isolation::kWorker;
  p.code = code.Ref();
  p.replicas = replicas;
  return p;
}

bool AllActive(const ReplicaHost& host, const std::string& id, size_t n) {
  auto st = host.GetStatus(id);
  if (!st.ok() || st->replicas.size() != n) return false;
  return std::all_of(st->replicas.begin(), st->replicas.end(),
                     [](const auto& r) { return r.state == State::kActive; });
}

// Polls every 1 ms until all `n` replicas of `id` are active (and `also`
// holds, if given); the time since `t0`. Dies after 60 s.
double WaitActive(const ReplicaHost& host, const std::string& id, size_t n, Clock::time_point t0,
                  const std::function<bool()>& also = nullptr) {
  while (!((!also || also()) && AllActive(host, id, n))) {
    if (Clock::now() - t0 > std::chrono::seconds(60)) Die(id + ": replicas never became active");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Ms(Clock::now() - t0);
}

void Start(ReplicaHost& host, const BenchCode& code, const std::string& id, uint32_t n) {
  Check(host.Apply(Plan(code, id, n), true), "apply " + id);
  WaitActive(host, id, n, Clock::now());
}

void CallAdd(ReplicaHost& host, const std::string& id) {
  auto r = host.Call(id, "add", {"2", "40"});
  if (!r.ok()) Die("call: " + r.status().ToString());
  if (r->trap || r->results.size() != 1 || r->results[0] != "42") Die("call: wrong result");
}

uint64_t Rss(pid_t pid) {
  std::ifstream in("/proc/" + (pid ? std::to_string(pid) : std::string("self")) + "/statm");
  uint64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

struct Latency {
  double p50 = 0, p99 = 0, mean = 0;
  size_t n = 0;
};

Latency Summarize(std::vector<double> us) {
  Latency l;
  if (us.empty()) return l;
  std::sort(us.begin(), us.end());
  l.n = us.size();
  l.p50 = us[us.size() / 2];
  l.p99 = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  double sum = 0;
  for (double v : us) sum += v;
  l.mean = sum / static_cast<double>(us.size());
  return l;
}

Json ToJson(const Latency& l) {
  return {{"p50_us", l.p50}, {"p99_us", l.p99}, {"mean_us", l.mean}, {"calls", l.n}};
}

// `threads` callers, each timing `per_thread` calls of its own.
Latency CallLatency(ReplicaHost& host, const std::string& id, int threads, int per_thread) {
  std::vector<std::vector<double>> samples(threads);
  std::atomic<int> ready{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      samples[t].reserve(per_thread);
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      for (int i = 0; i < per_thread; ++i) {
        auto t0 = Clock::now();
        CallAdd(host, id);
        samples[t].push_back(Us(Clock::now() - t0));
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (auto& s : samples) all.insert(all.end(), s.begin(), s.end());
  return Summarize(std::move(all));
}

// CPU time and context switches of a process so far (`pid` 0: this one).
struct Usage {
  double cpu_s = 0;
  uint64_t switches = 0;  // voluntary + involuntary, all threads
};

Usage UsageOf(pid_t pid) {
  Usage u;
  if (pid == 0) {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    u.cpu_s = static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
              static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
    u.switches = static_cast<uint64_t>(r.ru_nvcsw + r.ru_nivcsw);
    return u;
  }
  std::string proc = "/proc/" + std::to_string(pid);
  std::ifstream stat(proc + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  u.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::error_code ec;
  for (const auto& t : std::filesystem::directory_iterator(proc + "/task", ec)) {
    std::ifstream st(t.path() / "status");
    std::string line;
    while (std::getline(st, line))
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 ||
          line.rfind("nonvoluntary_ctxt_switches:", 0) == 0)
        u.switches += std::stoull(line.substr(line.find(':') + 1));
  }
  return u;
}

struct Rate {
  double calls_per_s = 0;
  double cpu_us_per_call = 0;         // this process (callers, and in-daemon replicas)
  double worker_cpu_us_per_call = 0;  // the worker process
  double switches_per_call = 0;       // both processes
};

// Calls/s of `threads` callers for `duration`; `worker` (0: none) is the
// worker process whose CPU time the calls also use.
Rate Throughput(ReplicaHost& host, const std::string& id, int threads,
                std::chrono::milliseconds duration, pid_t worker) {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> calls{0};
  std::vector<std::thread> pool;
  Usage self0 = UsageOf(0), w0 = worker ? UsageOf(worker) : Usage{};
  auto t0 = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        CallAdd(host, id);
        ++n;
      }
      calls.fetch_add(n);
    });
  }
  std::this_thread::sleep_for(duration);
  stop.store(true);
  for (auto& th : pool) th.join();
  double secs = Ms(Clock::now() - t0) / 1000.0;
  Usage self1 = UsageOf(0), w1 = worker ? UsageOf(worker) : Usage{};
  auto n = static_cast<double>(std::max<uint64_t>(calls.load(), 1));
  Rate r;
  r.calls_per_s = n / secs;
  r.cpu_us_per_call = (self1.cpu_s - self0.cpu_s) * 1e6 / n;
  r.worker_cpu_us_per_call = (w1.cpu_s - w0.cpu_s) * 1e6 / n;
  r.switches_per_call = static_cast<double>(self1.switches - self0.switches + w1.switches -
                                            w0.switches) /
                        n;
  return r;
}

// The floor under a worker call: one 64-byte message to a fork'd process
// over a socketpair and back (what the worker protocol does at least).
Latency SocketpairFloor(int rounds) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) Die("socketpair");
  pid_t child = fork();
  if (child < 0) Die("fork");
  if (child == 0) {
    close(sv[0]);
    char buf[64];
    for (;;) {
      ssize_t n = read(sv[1], buf, sizeof buf);
      if (n <= 0 || write(sv[1], buf, static_cast<size_t>(n)) != n) _exit(0);
    }
  }
  close(sv[1]);
  std::vector<double> us;
  us.reserve(rounds);
  char buf[64] = {};
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    if (write(sv[0], buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) Die("write");
    size_t got = 0;
    while (got < sizeof buf) {
      ssize_t n = read(sv[0], buf + got, sizeof buf - got);
      if (n <= 0) Die("read");
      got += static_cast<size_t>(n);
    }
    us.push_back(Us(Clock::now() - t0));
  }
  close(sv[0]);
  waitpid(child, nullptr, 0);
  return Summarize(std::move(us));
}

// One hop between threads and back (a condition variable each way), as
// between a caller and a connection's reader thread.
Latency HandoffFloor(int rounds) {
  std::mutex mu;
  std::condition_variable cv;
  int turn = 0;  // 0: main's, 1: the echo thread's, 2: stop
  std::thread echo([&] {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return turn != 0; });
      if (turn == 2) return;
      turn = 0;
      cv.notify_all();
    }
  });
  std::vector<double> us;
  us.reserve(rounds);
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    std::unique_lock<std::mutex> lock(mu);
    turn = 1;
    cv.notify_all();
    cv.wait(lock, [&] { return turn == 0; });
    lock.unlock();
    us.push_back(Us(Clock::now() - t0));
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    turn = 2;
  }
  cv.notify_all();
  echo.join();
  return Summarize(std::move(us));
}

// The worker protocol's encoding of one call and its reply, both ways
// (typed -> JSON -> MessagePack frame -> JSON -> typed), in this thread.
Latency CodecCost(int rounds) {
  namespace w = arcella::worker;
  w::CallRequest req{.id = 7,
                     .dep = "counter@1.0.0/bench",
                     .export_name = "add",
                     .args = {"2", "40"}};
  arcella::platform::CallResult res{.replica = "counter@1.0.0/bench#3",
                                    .results = {"42"},
                                    .trap = std::nullopt};
  auto round = [](const nlohmann::json& body) {
    auto frame = w::EncodeFrame(body);
    if (!frame.ok()) Die("encode: " + frame.status().ToString());
    auto back = w::DecodeFrameBody(std::span<const uint8_t>(*frame).subspan(4));
    if (!back.ok()) Die("decode: " + back.status().ToString());
    return std::move(*back);
  };
  std::vector<double> us;
  us.reserve(rounds);
  for (int i = 0; i < rounds; ++i) {
    auto t0 = Clock::now();
    auto call = w::DecodeCall(round(w::EncodeCall(req)));
    auto reply = w::DecodeCallReply(round(w::EncodeCallReply(req.id, res)));
    if (!call.ok() || !reply.ok() || reply->results != res.results) Die("codec round trip");
    us.push_back(Us(Clock::now() - t0));
  }
  return Summarize(std::move(us));
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string Verdict(bool ok) { return ok ? "met" : "MISSED"; }

}  // namespace

int Run(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--json") {
      o.json_out = value();
    } else if (a == "--wasm") {
      o.wasm = value();
    } else if (a == "--worker") {
      o.worker = value();
    } else if (a == "--caller-spin") {
      o.caller_spin_us = std::stoi(value());
    } else if (a == "--worker-spin") {
      o.worker_spin_us = std::stoi(value());
    } else if (a == "--spinners") {
      o.spinners = std::stoi(value());
    } else if (a == "--only-calls") {
      o.only_calls = true;
    } else {
      Die("usage: worker_bench [--quick] [--json FILE] [--wasm FILE] [--worker PATH] "
          "[--caller-spin US] [--worker-spin US] [--spinners N] [--only-calls]");
    }
  }
  signal(SIGPIPE, SIG_IGN);

  // The reactor, AOT-compiled with fuel metering (the daemon's defaults).
  std::ifstream in(o.wasm, std::ios::binary);
  std::vector<uint8_t> wasm(std::istreambuf_iterator<char>(in), {});
  if (wasm.empty()) Die("cannot read " + o.wasm);
  std::string cache = std::filesystem::temp_directory_path() /
                      ("arcella-worker-bench-" + std::to_string(getpid()));
  auto engine = arcella::engine::Engine::Create({.cache_dir = cache});
  if (!engine.ok()) Die("engine: " + engine.status().ToString());
  auto module = (*engine)->Compile(wasm);
  if (!module.ok()) Die("compile " + o.wasm + ": " + module.status().ToString());
  BenchCode code(*module, wasm);

  arcella::platform::InProcessHostOptions in_opts;
  arcella::worker::WorkerHostOptions w_opts;
  w_opts.worker_path = o.worker;
  if (o.caller_spin_us) w_opts.ring_caller_spin = std::chrono::microseconds(*o.caller_spin_us);
  if (o.worker_spin_us) w_opts.ring_worker_spin = std::chrono::microseconds(*o.worker_spin_us);
  if (o.spinners) w_opts.ring_spinners = static_cast<uint32_t>(*o.spinners);
  arcella::worker::WorkerHostOptions socket_opts = w_opts;
  socket_opts.call_ring = false;
  std::vector<HostKind> kinds = {
      {"in-daemon",
       [&] {
         return std::make_unique<arcella::platform::InProcessHost>(
             arcella::platform::LocalPlanLoader(&code), nullptr, nullptr, in_opts);
       }},
      {"worker",
       [&] {
         return std::make_unique<arcella::worker::WorkerHost>(&code, nullptr, nullptr, w_opts);
       }},
      {"socket",  // the worker with the call ring off: every call on the socket
       [&] {
         return std::make_unique<arcella::worker::WorkerHost>(&code, nullptr, nullptr, socket_opts);
       }},
  };
  auto worker_pid = [](ReplicaHost& h, const std::string& group) {
    return static_cast<arcella::worker::WorkerHost&>(h).WorkerPid(group);
  };

  const int single_calls = o.quick ? 2000 : 20000;
  const int per_caller = o.quick ? 200 : 2000;
  const int callers = 16;
  const auto duration = std::chrono::milliseconds(o.quick ? 500 : 2000);
  const int kill_reps = o.quick ? 2 : 5;
  const int scale_reps = o.quick ? 1 : 3;
  Json report = {{"quick", o.quick}, {"cpus", std::thread::hardware_concurrency()}};

  std::printf("worker_bench: reactor_counter add(2,40), %s tier, %s; %u CPUs%s\n",
              arcella::engine::TierName((*module)->tier()),
              (*module)->metering() == arcella::engine::Metering::kFuel ? "fuel metering"
                                                                        : "metering",
              std::thread::hardware_concurrency(), o.quick ? " (--quick)" : "");

  // 5 and 4 first, while this process's heap is fresh (the in-daemon RSS
  // delta is this process's).
  std::map<std::string, Json> scale, rss;
  for (const auto& k : kinds) {
    if (k.name == "socket" || o.only_calls) continue;
    auto host = k.make();
    Start(*host, code, "one@1.0.0/bench", 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    pid_t pid = k.name != "in-daemon" ? worker_pid(*host, "bench") : 0;
    uint64_t rss1 = Rss(pid);
    auto t0 = Clock::now();
    Check(host->Apply(Plan(code, "scale@1.0.0/bench", 1000), true), "apply 1000");
    double warm = WaitActive(*host, "scale@1.0.0/bench", 1000, t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    uint64_t rss1001 = Rss(pid);
    host->Shutdown();
    host.reset();
    std::vector<double> cold, cold_apply;
    for (int r = 0; r < scale_reps; ++r) {
      auto host = k.make();
      auto t0 = Clock::now();
      Check(host->Apply(Plan(code, "scale@1.0.0/bench", 1000), true), "apply 1000");
      cold_apply.push_back(Ms(Clock::now() - t0));
      cold.push_back(WaitActive(*host, "scale@1.0.0/bench", 1000, t0));
      host->Shutdown();
    }
    scale[k.name] = {{"cold_ms_median", Median(cold)},
                     {"cold_ms", cold},
                     {"cold_apply_returned_ms", cold_apply},
                     {"warm_ms", warm}};
    rss[k.name] = {{"rss_1_replica_bytes", rss1},
                   {"rss_1001_replicas_bytes", rss1001},
                   {"per_replica_bytes", (static_cast<double>(rss1001) - rss1) / 1000.0}};
  }

  // 1. Call round trip.
  Latency floor = SocketpairFloor(single_calls);
  Latency handoff = HandoffFloor(single_calls);
  Latency codec = CodecCost(single_calls);
  std::map<std::string, Latency> one, many;
  std::map<std::string, Rate> cps;
  std::map<std::string, double> idle_cpu;  // worker CPU ms per s, idle after the calls
  for (const auto& k : kinds) {
    auto host = k.make();
    Start(*host, code, "counter@1.0.0/bench", callers);
    for (int i = 0; i < 1000; ++i) CallAdd(*host, "counter@1.0.0/bench");
    one[k.name] = CallLatency(*host, "counter@1.0.0/bench", 1, single_calls);
    many[k.name] = CallLatency(*host, "counter@1.0.0/bench", callers, per_caller);
    pid_t pid = k.name != "in-daemon" ? worker_pid(*host, "bench") : 0;
    cps[k.name] = Throughput(*host, "counter@1.0.0/bench", callers, duration, pid);
    if (pid != 0) {  // spinning stops soon after the last call: an idle worker uses no CPU
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Usage u0 = UsageOf(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      idle_cpu[k.name] = (UsageOf(pid).cpu_s - u0.cpu_s) / 0.5 * 1000;
    }
    host->Shutdown();
  }
  auto row = [&](const char* what, const Latency& a, const Latency& b) {
    std::printf("  %-22s %8.1f %8.1f %8.1f  | %8.1f %8.1f %8.1f  | %6.1fx %6.1fx %6.1fx\n", what,
                a.p50, a.p99, a.mean, b.p50, b.p99, b.mean, b.p50 / a.p50, b.p99 / a.p99,
                b.mean / a.mean);
  };
  std::printf("\n1. call round trip (us)    in-daemon p50/p99/mean |    worker p50/p99/mean"
              "     | worker/in-daemon\n");
  row("1 caller", one["in-daemon"], one["worker"]);
  row("16 callers, 16 repl.", many["in-daemon"], many["worker"]);
  row("1 caller, socket", one["in-daemon"], one["socket"]);
  row("16 callers, socket", many["in-daemon"], many["socket"]);
  std::printf("  IPC floor (fork'd socketpair echo, 64 B): p50 %.1f  p99 %.1f  mean %.1f us\n",
              floor.p50, floor.p99, floor.mean);
  std::printf("  thread handoff and back (condition variables): p50 %.1f  p99 %.1f  mean %.1f us\n",
              handoff.p50, handoff.p99, handoff.mean);
  std::printf("  protocol codec, call + reply (MessagePack): p50 %.1f  p99 %.1f  mean %.1f us\n",
              codec.p50, codec.p99, codec.mean);
  std::printf("  worker p50 - in-daemon p50 = %.1f us; IPC echo + 1 handoff + codec = %.1f us\n",
              one["worker"].p50 - one["in-daemon"].p50, floor.p50 + handoff.p50 + codec.p50);
  std::printf("  target: worker p50 (1 caller) <= 10 us: %.1f us, %s\n", one["worker"].p50,
              Verdict(one["worker"].p50 <= 10).c_str());
  report["call_round_trip"] = {
      {"one_caller", {{"in_daemon", ToJson(one["in-daemon"])}, {"worker", ToJson(one["worker"])}}},
      {"sixteen_callers",
       {{"in_daemon", ToJson(many["in-daemon"])}, {"worker", ToJson(many["worker"])}}},
      {"socket_path",
       {{"one_caller", ToJson(one["socket"])}, {"sixteen_callers", ToJson(many["socket"])}}},
      {"socketpair_floor", ToJson(floor)},
      {"thread_handoff_floor", ToJson(handoff)},
      {"codec", ToJson(codec)}};

  // 2. Calls/s.
  const Rate& cd = cps["in-daemon"];
  const Rate& cw = cps["worker"];
  const Rate& cs = cps["socket"];
  std::printf("\n2. calls/s, 16 callers, %.1f s        in-daemon     worker  worker/in-daemon"
              "  | socket\n",
              duration.count() / 1000.0);
  std::printf("  calls/s                          %10.0f %10.0f  %8.3f         | %8.0f\n",
              cd.calls_per_s, cw.calls_per_s, cw.calls_per_s / cd.calls_per_s, cs.calls_per_s);
  std::printf("  CPU us/call, calling process     %10.2f %10.2f                   | %8.2f\n",
              cd.cpu_us_per_call, cw.cpu_us_per_call, cs.cpu_us_per_call);
  std::printf("  CPU us/call, worker process      %10s %10.2f                   | %8.2f\n", "-",
              cw.worker_cpu_us_per_call, cs.worker_cpu_us_per_call);
  std::printf("  context switches/call            %10.2f %10.2f                   | %8.2f\n",
              cd.switches_per_call, cw.switches_per_call, cs.switches_per_call);
  std::printf("  worker CPU when idle (ms/s)      %10s %10.1f                   | %8.1f\n", "-",
              idle_cpu["worker"], idle_cpu["socket"]);
  std::printf("  target: worker >= 100,000 calls/s: %s\n",
              Verdict(cw.calls_per_s >= 100000).c_str());
  auto rate_json = [](const Rate& r) {
    return Json{{"calls_per_s", r.calls_per_s},
                {"cpu_us_per_call", r.cpu_us_per_call},
                {"worker_cpu_us_per_call", r.worker_cpu_us_per_call},
                {"switches_per_call", r.switches_per_call}};
  };
  report["calls_per_second"] = {{"in_daemon", rate_json(cd)},
                                {"worker", rate_json(cw)},
                                {"socket_path", rate_json(cs)},
                                {"worker_idle_cpu_ms_per_s", idle_cpu["worker"]},
                                {"duration_ms", duration.count()}};

  if (o.only_calls) {
    std::error_code ec;
    std::filesystem::remove_all(cache, ec);
    if (!o.json_out.empty()) std::ofstream(o.json_out) << report.dump(2) << "\n";
    return 0;
  }

  // 3. kill -9 recovery: a fresh host each time, so every kill is the
  // first crash of a healthy worker (no backoff series).
  std::vector<double> gone, respawned, recovered;
  for (int r = 0; r < kill_reps; ++r) {
    auto host = kinds[1].make();
    Start(*host, code, "counter@1.0.0/bench", 100);
    pid_t old = worker_pid(*host, "bench");
    double t_gone = -1, t_new = -1;
    auto t0 = Clock::now();
    if (kill(old, SIGKILL) != 0) Die("kill");
    double all = WaitActive(*host, "counter@1.0.0/bench", 100, t0, [&] {
      pid_t p = worker_pid(*host, "bench");
      if (p != old && t_gone < 0) t_gone = Ms(Clock::now() - t0);
      if (p > 0 && p != old && t_new < 0) t_new = Ms(Clock::now() - t0);
      return p > 0 && p != old;
    });
    gone.push_back(t_gone);
    respawned.push_back(t_new);
    recovered.push_back(all);
    host->Shutdown();
  }
  auto mmm = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::vector<double>{v.front(), v[v.size() / 2], v.back()};
  };
  auto rec = mmm(recovered), gn = mmm(gone), rs = mmm(respawned);
  std::printf("\n3. kill -9 recovery, 100 replicas, %d runs (ms)  min / median / max\n", kill_reps);
  std::printf("  all 100 active again             %7.1f %7.1f %7.1f\n", rec[0], rec[1], rec[2]);
  std::printf("  old pid gone from the host       %7.1f %7.1f %7.1f\n", gn[0], gn[1], gn[2]);
  std::printf("  new worker pid known             %7.1f %7.1f %7.1f\n", rs[0], rs[1], rs[2]);
  std::printf("  target: <= 200 ms: %s\n", Verdict(rec[2] <= 200).c_str());
  report["kill9_recovery_ms"] = {{"all_active", recovered},
                                 {"old_pid_gone", gone},
                                 {"new_pid_known", respawned}};

  // 4. RSS per idle replica.
  auto kib = [&](const std::string& k, const char* f) { return rss[k][f].get<double>() / 1024; };
  std::printf("\n4. RSS per idle replica (KiB)   RSS 1 replica  RSS 1,001   per replica\n");
  std::printf("  worker process                 %10.0f %11.0f %11.1f\n",
              kib("worker", "rss_1_replica_bytes"), kib("worker", "rss_1001_replicas_bytes"),
              kib("worker", "per_replica_bytes"));
  std::printf("  in-daemon (this process)       %10.0f %11.0f %11.1f\n",
              kib("in-daemon", "rss_1_replica_bytes"), kib("in-daemon", "rss_1001_replicas_bytes"),
              kib("in-daemon", "per_replica_bytes"));
  report["rss_per_replica"] = {{"in_daemon", rss["in-daemon"]}, {"worker", rss["worker"]}};

  // 5. Scale 0 -> 1,000.
  auto ms = [&](const std::string& k, const char* f) { return scale[k][f].get<double>(); };
  std::printf("\n5. scale 0 -> 1,000 replicas (ms)       in-daemon    worker\n");
  std::printf("  cold (median of %d; worker spawned)  %9.1f %9.1f\n", scale_reps,
              ms("in-daemon", "cold_ms_median"), ms("worker", "cold_ms_median"));
  std::printf("  warm (another deployment running)    %9.1f %9.1f\n", ms("in-daemon", "warm_ms"),
              ms("worker", "warm_ms"));
  std::printf("  target: worker <= 200 ms: cold %s, warm %s\n",
              Verdict(ms("worker", "cold_ms_median") <= 200).c_str(),
              Verdict(ms("worker", "warm_ms") <= 200).c_str());
  report["scale_0_to_1000"] = {{"in_daemon", scale["in-daemon"]}, {"worker", scale["worker"]}};

  std::error_code ec;
  std::filesystem::remove_all(cache, ec);
  if (!o.json_out.empty()) {
    std::ofstream out(o.json_out);
    out << report.dump(2) << "\n";
    if (!out) Die("cannot write " + o.json_out);
  }
  return 0;
}

int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::exception& e) {
    Die(std::string("unexpected exception: ") + e.what());
  }
}
