// control_bench: the control plane under load (issue 6), against a running
// `arcella` daemon over ALME. bench/platform/run_control.sh starts the
// daemon in a temporary home (alme.max_calls and alme.call_threads raised so
// 1,200 calls can be in flight) and runs this.
//
//   control_bench --socket PATH --work DIR [--samples N] [--json FILE]
//
// (a) `call` and `status` p99 while another module of >= 0.5 MB of code is
//     installed (compiled) on another connection, in a loop;
// (b) `ping` p99 with 200 guests spinning in calls and 1,000 more calls in
//     flight.
// Guests are generated here as WAT and built with wat2wasm (on PATH).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "alme/client.h"
#include "alme/frame.h"

namespace {

using arcella::alme::Client;
using arcella::alme::Json;
using arcella::alme::RemoteError;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string socket, work, json_out;
  int samples = 2000;
};

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "control_bench: %s\n", what.c_str());
  std::exit(1);
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::unique_ptr<Client> Connect(const Options& o) {
  auto c = Client::Connect(o.socket, std::chrono::seconds(10));
  if (!c.ok()) Die("connecting to " + o.socket + ": " + c.status().ToString());
  return std::move(*c);
}

Json Must(Client& c, const std::string& method, const Json& params) {
  RemoteError remote;
  auto r = c.Call(method, params, &remote);
  if (!r.ok()) Die(method + " " + params.dump() + " failed: " + r.status().ToString());
  return std::move(*r);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  if (!f) Die("cannot write " + path);
}

// WAT -> wasm with wat2wasm; returns the wasm path.
std::string Build(const std::string& dir, const std::string& file, const std::string& wat) {
  std::string src = dir + "/" + file + ".wat", out = dir + "/" + file + ".wasm";
  WriteFile(src, wat);
  std::string cmd = "wat2wasm '" + src + "' -o '" + out + "'";
  if (std::system(cmd.c_str()) != 0) Die("`" + cmd + "` failed");
  return out;
}

const char* kReactor = R"((module
  (func (export "spin") (loop $l (br $l)))
  (func (export "work") (param $n i32) (result i32) (local $i i32)
    (local.set $i (local.get $n))
    (block $d (loop $l (br_if $d (i32.eqz (local.get $i)))
      (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br $l)))
    (local.get $n))
  (func (export "fast") (result i32) (i32.const 7))))";

// A reactor with `funcs` functions of straight-line arithmetic: about
// 0.6 MB of code for 2,000 functions. `seed` makes each build distinct (a
// new hash, so nothing is reused from a compile cache).
std::string BigModule(int funcs, int seed) {
  std::ostringstream w;
  w << "(module\n";
  for (int f = 0; f < funcs; ++f) {
    w << "(func (export \"f" << f << "\") (param i32) (result i32) (local.get 0)";
    for (int k = 0; k < 60; ++k)
      w << " (i32.const " << (seed * 7919 + f * 61 + k) % 100000 + 1000 << ") (i32.add)"
        << " (i32.const " << (k % 13) + 1 << ") (i32.mul)";
    w << ")\n";
  }
  w << ")\n";
  return w.str();
}

struct Stats {
  double p50 = 0, p99 = 0, max = 0;
  size_t n = 0;
};

Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size())))]; };
  s.p50 = at(0.5), s.p99 = at(0.99), s.max = v.back(), s.n = v.size();
  return s;
}

Json report = Json::object();

void Row(const std::string& key, const std::string& what, const Stats& s, double target) {
  const char* verdict = s.n == 0 ? "n/a" : s.p99 <= target ? "PASS" : "MISS";
  std::printf("%-58s p50 %8.3f ms  p99 %8.3f ms  max %9.2f ms  n %6zu  target p99 <= %.0f ms  %s\n",
              what.c_str(), s.p50, s.p99, s.max, s.n, target, verdict);
  report[key] = {{"p50_ms", s.p50}, {"p99_ms", s.p99},         {"max_ms", s.max},
                 {"n", s.n},        {"target_p99_ms", target}, {"verdict", verdict}};
}

// A raw connection that pipelines calls without waiting (the client library
// runs one request at a time). Closing it cancels its calls.
class Pipeline {
 public:
  explicit Pipeline(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      Die("connect " + path + " failed");
  }
  ~Pipeline() { ::close(fd_); }
  void Send(const Json& msg) {
    std::string f = arcella::alme::EncodeFrame(msg);
    if (::send(fd_, f.data(), f.size(), MSG_NOSIGNAL) != ssize_t(f.size())) Die("send failed");
  }
  // True if the daemon answered anything (a refusal) within `ms`.
  bool Answered(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0;
  }

 private:
  int fd_ = -1;
};

Json CallMsg(uint64_t id, const std::string& target, const std::string& fn, const Json& args) {
  return Json{{"id", id},
              {"method", "call"},
              {"params", {{"target", target}, {"export", fn}, {"args", args}}}};
}

void WaitReady(Client& c, const std::string& target, int want) {
  auto t0 = Clock::now();
  for (;;) {
    Json s = Must(c, "status", {{"target", target}});
    if (s["deployments"][0].value("ready", 0) == want) return;
    if (Ms(Clock::now() - t0) > 120'000) Die(target + ": not ready after 120 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--socket") o.socket = value();
    else if (a == "--work") o.work = value();
    else if (a == "--samples") o.samples = std::max(100, std::atoi(value().c_str()));
    else if (a == "--json") o.json_out = value();
    else Die("unknown argument " + a);
  }
  if (o.socket.empty() || o.work.empty()) Die("--socket and --work are required");
  auto c = Connect(o);

  std::string reactor = Build(o.work, "ctlbench@1.0.0", kReactor);
  Must(*c, "module.install", {{"path", reactor}});
  Must(*c, "deployment.create",
       {{"module_id", "ctlbench@1.0.0"}, {"group", "fast"}, {"replicas", 2}});
  Must(*c, "deployment.start", {{"target", "ctlbench@1.0.0/fast"}});
  WaitReady(*c, "ctlbench@1.0.0/fast", 2);

  // ---- (a) call and status while a big module compiles.
  std::fprintf(stderr, "  (a) generating a big module ...\n");
  std::string big = Build(o.work, "big@1.0.0", BigModule(2000, 1));
  std::ifstream bf(big, std::ios::binary | std::ios::ate);
  double big_mb = double(bf.tellg()) / 1e6;
  std::atomic<bool> installing{false}, stop{false};
  std::atomic<int> installs{0};
  std::thread installer([&] {
    auto ic = Connect(o);
    ic->SetCallTimeout(std::chrono::seconds(0));
    for (int round = 1; !stop; ++round) {
      std::string path = round == 1 ? big : Build(o.work, "big@1.0.0", BigModule(2000, round));
      installing = true;
      Must(*ic, "module.install", {{"path", path}, {"force", true}});
      installing = false;
      ++installs;
    }
  });
  while (!installing) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // into the compile
  std::vector<double> call_lat, status_lat;
  auto mc = Connect(o);
  auto t_end = Clock::now() + std::chrono::seconds(60);
  while ((int)call_lat.size() < o.samples && Clock::now() < t_end) {
    if (!installing) {  // only samples taken while a compile runs count
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    auto t0 = Clock::now();
    Must(*mc, "call", {{"target", "ctlbench@1.0.0/fast"}, {"export", "fast"}});
    auto t1 = Clock::now();
    Must(*mc, "status", {});
    auto t2 = Clock::now();
    if (installing) {
      call_lat.push_back(Ms(t1 - t0));
      status_lat.push_back(Ms(t2 - t1));
    }
  }
  stop = true;
  installer.join();
  std::printf("big module: %.2f MB of wasm (2,000 functions); installs completed during the "
              "run: %d\n",
              big_mb, installs.load());
  Row("call_during_compile", "(a) call p99 while a big module compiles", Summarize(call_lat), 2);
  Row("status_during_compile", "(a) status p99 while a big module compiles", Summarize(status_lat),
      2);
  report["big_module_mb"] = big_mb;

  // ---- (b) ping with 200 spinning guests and 1,000 slow calls in flight.
  std::fprintf(stderr, "  (b) 200 spinning guests + 1,000 calls in flight ...\n");
  c = Connect(o);  // the first one may have been idle longer than alme.idle_timeout
  Must(*c, "deployment.create",
       {{"module_id", "ctlbench@1.0.0"}, {"group", "spin"}, {"replicas", 200}});
  Must(*c, "deployment.start", {{"target", "ctlbench@1.0.0/spin"}});
  WaitReady(*c, "ctlbench@1.0.0/spin", 200);
  std::vector<std::unique_ptr<Pipeline>> pipes;
  uint64_t id = 1;
  for (int p = 0; p < 4; ++p) {  // 4 x 50 spinning calls: every replica busy
    pipes.push_back(std::make_unique<Pipeline>(o.socket));
    for (int i = 0; i < 50; ++i)
      pipes.back()->Send(CallMsg(id++, "ctlbench@1.0.0/spin", "spin", {}));
  }
  for (int p = 0; p < 20; ++p) {  // 20 x 50 more: queued behind the spinners
    pipes.push_back(std::make_unique<Pipeline>(o.socket));
    for (int i = 0; i < 50; ++i)
      pipes.back()->Send(CallMsg(id++, "ctlbench@1.0.0/spin", "work", {"100000000"}));
  }
  for (auto& p : pipes)
    if (p->Answered(0)) Die("a call was answered (refused?) instead of staying in flight");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<double> ping_lat;
  auto pc = Connect(o);
  for (int i = 0; i < o.samples; ++i) {
    auto t0 = Clock::now();
    Must(*pc, "ping", {});
    ping_lat.push_back(Ms(Clock::now() - t0));
  }
  int still = 0;
  for (auto& p : pipes) still += p->Answered(0) ? 0 : 1;
  Row("ping_under_load", "(b) ping p99, 200 spinning + 1,000 calls in flight", Summarize(ping_lat),
      5);
  std::printf("connections whose calls were all still in flight after the pings: %d of %zu\n",
              still, pipes.size());
  auto t0 = Clock::now();
  pipes.clear();  // disconnect: every call is cancelled, spinning guests interrupted
  Must(*c, "deployment.stop", {{"target", "ctlbench@1.0.0/spin"}});
  std::printf("disconnect + stop of the 200 spinning replicas: %.1f ms\n", Ms(Clock::now() - t0));

  if (!o.json_out.empty()) std::ofstream(o.json_out) << report.dump(2) << "\n";
  return 0;
}
