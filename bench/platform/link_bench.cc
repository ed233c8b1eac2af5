// link_bench: what a link between deployments costs (issue 10). Two
// components: bench_api (tests/fixtures/components) exports
// arcella:bench/api with f(s: string) -> stats (a record), and bench_link
// imports that interface, linked to a bench_api deployment, and exports
// relay.f, which calls api.f through the link. The platform's host is the
// daemon's (a RoutingHost: an InProcessHost for `isolation = "main"`, a
// WorkerHost running each group's replicas in an `arcella-worker`), so the
// same two modules are deployed several times, in groups that put importer
// and provider where each case needs them. Per call, through
// Platform::Call (WAVE text in, text out, as `arcella call`):
//
//   daemon direct        api/d                     (isolation main)
//   daemon linked        relay/d  -> api/d         both in the daemon
//   worker direct        api/wa                    the worker call round trip
//   linked, one worker   relay/wa -> api/wa        importer and provider in worker wa
//   linked, two workers  relay/wb -> api/wa        importer in wb, provider in wa
//   worker -> daemon     relay/wd -> api/d         importer in worker wd, provider in the daemon
//   daemon -> worker     relay/dw -> api/wa        importer in the daemon, provider in wa
//
// A link from a worker is a `link-call` frame on the worker's socket, a
// daemon pool thread, Platform::CallLink, the host's CallValues to the
// provider (in the daemon, or in a worker through the call ring with WAVE
// text), and a `link-reply` (docs/WORKER.md "Links from a worker"). The last
// two rows split that: `worker -> daemon - worker direct` is about the
// worker -> daemon hop, `daemon -> worker - daemon linked` the daemon ->
// provider-in-a-worker hop. Then the same through the platform's value path
// (Platform::CallValues: no WAVE at the top, no database read), where
// `linked - direct` in the daemon is the link alone. Times are means over
// all calls after a warm-up, with p50/p99 of single calls; the cases of a
// table run interleaved in 5 rounds (1 with --quick).
//
//   link_bench [--quick] [--no-link-ring] [--fixtures DIR] [--worker PATH]
//              [--loop TARGET [--loop-len N] [--loop-values [--loop-times N]]]
//
// --no-link-ring: link calls from workers go on the socket (docs/WORKER.md
// "The link ring"), for a side-by-side run.
//
// --loop TARGET calls only TARGET (a deployment, e.g. relay@0.1.0/wd) with a
// string of N bytes (default 11) for 5 s, for a profiler: through
// Platform::Call, or with --loop-values through Platform::CallValues; it
// prints the wall and the thread CPU time per call. --loop-times N (a relay
// target, with --loop-values) calls relay.f-times(s, N) instead: N calls
// through the link per call.
//
// bench/platform/run_link.sh builds the fixtures, arcella-worker and this,
// and runs it.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "platform/inprocess_host.h"
#include "platform/platform.h"
#include "platform/run_plan.h"
#include "worker/routing_host.h"
#include "worker/worker_host.h"

namespace {

using arcella::platform::Config;
using arcella::platform::EventBus;
using arcella::platform::GrantOrigin;
using arcella::platform::Home;
using arcella::platform::KeyStyle;
using arcella::platform::LogHub;
using arcella::platform::Platform;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "link_bench: %s\n", what.c_str());
  exit(1);
}

struct Stats {
  double mean_ns = 0, p50_ns = 0, p99_ns = 0;
};

// One measured call: returns "" or what went wrong; `calls` per run.
struct Case {
  std::function<std::string()> call;
  int calls = 0;
};

// Warms every case up, then times them in `rounds` interleaved rounds of
// calls/rounds each (so a change of the machine's load during the run falls
// on every case alike): per case the mean over all its calls, and p50/p99 of
// single calls.
std::vector<Stats> Measure(const std::vector<Case>& cases, int rounds) {
  for (const Case& c : cases)
    for (int i = 0; i < c.calls / 10 + 10; ++i)
      if (std::string e = c.call(); !e.empty()) Die(e);
  std::vector<std::vector<double>> single(cases.size());
  std::vector<double> total_ns(cases.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t k = 0; k < cases.size(); ++k) {
      const int n = std::max(1, cases[k].calls / rounds);
      auto t0 = Clock::now();
      for (int i = 0; i < n; ++i) {
        auto a = Clock::now();
        std::string e = cases[k].call();
        single[k].push_back(std::chrono::duration<double, std::nano>(Clock::now() - a).count());
        if (!e.empty()) Die(e);
      }
      total_ns[k] += std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    }
  }
  std::vector<Stats> out(cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    std::vector<double>& v = single[k];
    std::sort(v.begin(), v.end());
    out[k].mean_ns = total_ns[k] / static_cast<double>(v.size());
    out[k].p50_ns = v[v.size() / 2];
    out[k].p99_ns = v[v.size() * 99 / 100];
  }
  return out;
}

void Row(const std::string& what, const Stats& s, const std::string& note = "") {
  printf("  %-34s %11.0f %11.0f %11.0f  %s\n", what.c_str(), s.mean_ns, s.p50_ns, s.p99_ns,
         note.c_str());
}

// A per-call difference of two means (and of two medians): no p99.
void RowPerCall(const std::string& what, const Stats& s, const std::string& note = "") {
  printf("  %-34s %11.0f %11.0f %11s  %s\n", what.c_str(), s.mean_ns, s.p50_ns, "", note.c_str());
}

void Diff(const std::string& what, const Stats& a, const Stats& b, const std::string& note = "") {
  printf("  %-34s %11.0f %11.0f %11s  %s\n", what.c_str(), a.mean_ns - b.mean_ns,
         a.p50_ns - b.p50_ns, "", note.c_str());
}

void Ratio(const std::string& what, const Stats& a, const Stats& b, const std::string& note = "") {
  printf("  %-34s %10.2fx %10.2fx %11s  %s\n", what.c_str(), a.mean_ns / b.mean_ns,
         a.p50_ns / b.p50_ns, "", note.c_str());
}

const char* LoadAverage() {
  static char buf[64] = "?";
  if (FILE* f = fopen("/proc/loadavg", "r")) {
    if (!fgets(buf, sizeof buf, f)) strcpy(buf, "?");
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
  }
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string fixtures = LINK_BENCH_FIXTURES;
  std::string worker = LINK_BENCH_WORKER;
  std::string loop;          // --loop TARGET: only call TARGET's f for 5 s (perf)
  size_t loop_len = 11;      // --loop-len N: with a string of N bytes
  bool loop_values = false;  // --loop-values: through Platform::CallValues
  uint32_t loop_times = 0;   // --loop-times N: relay.f-times(s, N) (with --loop-values)
  bool link_ring = true;     // --no-link-ring: link calls from workers on the socket
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quick")) quick = true;
    else if (!strcmp(argv[i], "--fixtures") && i + 1 < argc) fixtures = argv[++i];
    else if (!strcmp(argv[i], "--worker") && i + 1 < argc) worker = argv[++i];
    else if (!strcmp(argv[i], "--loop") && i + 1 < argc) loop = argv[++i];
    else if (!strcmp(argv[i], "--loop-len") && i + 1 < argc) loop_len = std::stoul(argv[++i]);
    else if (!strcmp(argv[i], "--loop-values")) loop_values = true;
    else if (!strcmp(argv[i], "--no-link-ring")) link_ring = false;
    else if (!strcmp(argv[i], "--loop-times") && i + 1 < argc) loop_times = std::stoul(argv[++i]);
    else
      Die(std::string("unknown argument ") + argv[i] +
          " (usage: link_bench [--quick] [--no-link-ring] [--fixtures DIR] [--worker PATH] "
          "[--loop TARGET [--loop-len N] [--loop-values [--loop-times N]]])");
  }
  signal(SIGPIPE, SIG_IGN);
  std::string root = std::filesystem::temp_directory_path() /
                     ("link-bench-" + std::to_string(getpid()));
  Home home(root);
  if (auto st = home.Create(); !st.ok()) Die(st.message());
  EventBus events;
  LogHub logs(home.log_dir());
  // The daemon's host (src/daemon/daemon.cc): isolation = "main" in this
  // process, "worker" in the group's arcella-worker.
  arcella::worker::WorkerHostOptions wo;
  wo.worker_path = worker;
  wo.link_ring = link_ring;
  auto make_host = [&](arcella::platform::CodeProvider* code)
      -> arcella::Result<std::unique_ptr<arcella::platform::ReplicaHost>> {
    auto main = std::make_unique<arcella::platform::InProcessHost>(
        arcella::platform::LocalPlanLoader(code), &logs, &events);
    auto workers = std::make_unique<arcella::worker::WorkerHost>(code, &logs, &events, wo);
    return std::unique_ptr<arcella::platform::ReplicaHost>(
        std::make_unique<arcella::worker::RoutingHost>(std::move(main), std::move(workers)));
  };
  auto opened = Platform::Open(home, Config{}, &events, &logs, "cc", make_host);
  if (!opened.ok()) Die(opened.status().message());
  Platform& p = **opened;
  auto install = [&](const std::string& fixture, const std::string& name) {
    std::string manifest = "[component]\nname = \"" + name + "\"\nversion = \"0.1.0\"\n";
    auto r = p.Install(fixtures + "/" + fixture + ".component.wasm", false, manifest);
    if (!r.ok()) Die("install " + fixture + ": " + r.status().message());
  };
  install("bench_api", "api");
  install("bench_link", "relay");
  // Group d and dw: in the daemon; wa, wb, wd: one worker each.
  auto deploy = [&](const std::string& module, const std::string& group,
                    const std::string& isolation, const std::string& provider) {
    std::string toml = "[deployment]\nmodule_id = \"" + module + "@0.1.0\"\ngroup = \"" + group +
                       "\"\n[deployment.overrides]\nisolation = \"" + isolation + "\"\n";
    if (!provider.empty())
      toml += "[deployment.links]\n\"arcella:bench/api@0.1.0\" = \"" + provider + "\"\n";
    auto spec = arcella::platform::ParseDeploymentSpec(toml, "bench");
    if (!spec.ok()) Die(spec.status().message());
    auto v = p.Deploy(*spec, KeyStyle::kToml, "bench", GrantOrigin::kOperator);
    if (!v.ok()) Die(module + "/" + group + ": " + v.status().message());
  };
  deploy("api", "d", "main", "");
  deploy("api", "wa", "worker", "");
  deploy("relay", "d", "main", "api@0.1.0/d");
  deploy("relay", "wa", "worker", "api@0.1.0/wa");
  deploy("relay", "wb", "worker", "api@0.1.0/wa");
  deploy("relay", "wd", "worker", "api@0.1.0/d");
  deploy("relay", "dw", "main", "api@0.1.0/wa");
  const size_t deployments = 7;
  for (const char* id : {"api@0.1.0", "relay@0.1.0"})
    if (auto r = p.Start(id, ""); !r.ok()) Die(r.status().message());
  bool ready = false;
  for (int i = 0; i < 3000 && !ready; ++i) {
    auto s = p.StatusOf("");
    ready = s.ok() && s->size() == deployments;
    for (const auto& d : s.ok() ? *s : std::vector<arcella::platform::DeploymentView>{})
      ready = ready && d.state == arcella::platform::State::kActive;
    if (!ready) usleep(10'000);
  }
  if (!ready) Die("the deployments did not become active in 30 s");
  if (!loop.empty()) {
    // For a profiler: one deployment (e.g. relay@0.1.0/wd), 5 s of calls.
    const bool relay = loop.starts_with("relay@");
    const bool times = relay && loop_values && loop_times > 0;
    const std::string fn = loop_values ? (times   ? "arcella:bench/relay@0.1.0#f-times"
                                          : relay ? "arcella:bench/relay@0.1.0#f"
                                                  : "arcella:bench/api@0.1.0#f")
                                       : (relay ? "relay.f" : "api.f");
    const std::string s(loop_len, 'x');
    const std::vector<std::string> args = {"\"" + s + "\""};
    auto cpu_ns = [] {
      timespec ts;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec * 1e9 + static_cast<double>(ts.tv_nsec);
    };
    int calls = 0;
    const auto t0 = Clock::now();
    const double c0 = cpu_ns();
    while (Clock::now() - t0 < std::chrono::seconds(5)) {
      if (loop_values) {
        std::vector<arcella::component::Val> vals = {arcella::component::Val::String(s)};
        if (times) vals.push_back(arcella::component::Val::U32(loop_times));
        auto r = p.CallValues(loop, fn, std::move(vals));
        if (!r.ok() || r->trap)
          Die(loop + " " + fn + ": " + (r.ok() ? r->trap->ToString() : r.status().message()));
      } else {
        auto r = p.Call(loop, fn, args);
        if (!r.ok() || r->trap)
          Die(loop + " " + fn + ": " + (r.ok() ? r->error() : r.status().message()));
      }
      ++calls;
    }
    printf("%s %s: %d calls, %.0f ns each, %.0f ns CPU (load average %s)\n", loop.c_str(),
           fn.c_str(), calls,
           std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / calls,
           (cpu_ns() - c0) / calls, LoadAverage());
    p.Shutdown();
    std::filesystem::remove_all(root);
    return 0;
  }
  // Calls per case in the daemon, and (slower) per case with a worker.
  const int n = quick ? 1'000 : 20'000;
  const int nw = quick ? 500 : 5'000;
  const int rounds = quick ? 1 : 5;  // interleaved
  printf("link_bench: a call through a link vs a direct call, in the daemon and in "
         "arcella-worker processes (%d calls per case in the daemon, %d with a worker%s; "
         "link calls from workers %s)\n",
         n, nw, quick ? ", --quick" : "", link_ring ? "through the link ring" : "on the socket");
  printf("  %-34s %11s %11s %11s\n", "Platform::Call (WAVE text)", "mean ns", "p50 ns", "p99 ns");
  for (const std::string& s : {std::string("hello world"), std::string(1000, 'x')}) {
    std::vector<std::string> args = {"\"" + s + "\""};
    auto text = [&](const std::string& group, bool relay) {
      const std::string target = (relay ? "relay@0.1.0/" : "api@0.1.0/") + group;
      const std::string fn = relay ? "relay.f" : "api.f";
      return Case{[&p, &args, target, fn]() -> std::string {
                    auto r = p.Call(target, fn, args);
                    if (!r.ok()) return target + " " + fn + ": " + r.status().message();
                    return r->trap ? target + " " + fn + ": " + r->error() : "";
                  },
                  group == "d" ? n : nw};
    };
    printf("f(string[%zu]) -> record\n", s.size());
    auto t = Measure({text("d", false), text("d", true), text("wa", false), text("wa", true),
                      text("wb", true), text("wd", true), text("dw", true)},
                     rounds);
    const Stats &d = t[0], &dl = t[1], &w = t[2], &w1 = t[3], &w2 = t[4], &wd = t[5], &dw = t[6];
    Row("daemon direct", d, "api/d");
    Row("daemon linked", dl, "relay/d -> api/d");
    Row("worker direct (round trip)", w, "api/wa");
    Row("linked, one worker", w1, "relay/wa -> api/wa");
    Row("linked, two workers", w2, "relay/wb -> api/wa");
    Row("linked, worker -> daemon", wd, "relay/wd -> api/d");
    Row("linked, daemon -> worker", dw, "relay/dw -> api/wa");
    Diff("link in daemon adds", dl, d, "target <= 1000 ns");
    Ratio("two workers / worker direct", w2, w, "target <= 2x");
    Ratio("one worker / worker direct", w1, w);
    Diff("worker -> daemon hop", wd, w, "(worker -> daemon) - (worker direct)");
    Diff("daemon -> worker hop", dw, dl, "(daemon -> worker) - (daemon linked)");
  }
  // The same through the platform's value path (what a link itself uses):
  // no WAVE at the top, no database read; in the daemon `linked - direct` is
  // the link alone. A value call into a worker prints the arguments as WAVE
  // and parses the result (what a link to a provider in a worker pays).
  printf("\nPlatform::CallValues (as a link calls its provider)\n");
  for (size_t len : {11u, 1000u}) {
    auto values = [&](const std::string& id, const std::string& fn) {
      return Case{[&p, id, fn, len]() -> std::string {
                    auto r = p.CallValues(id, fn,
                                          {arcella::component::Val::String(std::string(len, 'x'))});
                    if (!r.ok()) return id + " " + fn + ": " + r.status().message();
                    return r->trap ? id + " " + fn + ": " + r->trap->ToString() : "";
                  },
                  id.ends_with("/d") ? n : nw};
    };
    printf("f(string[%zu]) -> record\n", len);
    const std::string api = "arcella:bench/api@0.1.0#f";
    const std::string relay = "arcella:bench/relay@0.1.0#f";
    auto t = Measure({values("api@0.1.0/d", api), values("relay@0.1.0/d", relay),
                      values("api@0.1.0/wa", api), values("relay@0.1.0/wb", relay)},
                     rounds);
    const Stats &d = t[0], &dl = t[1], &w = t[2], &w2 = t[3];
    Row("daemon direct", d, "api/d");
    Row("daemon linked", dl, "relay/d -> api/d");
    Row("worker direct (round trip)", w, "api/wa");
    Row("linked, two workers", w2, "relay/wb -> api/wa");
    Diff("link in daemon adds", dl, d, "target <= 1000 ns");
    Ratio("two workers / worker direct", w2, w, "target <= 2x");
  }
  // One call through the link as the importer makes it. The rows above call
  // relay.f from the platform, so "linked" pays a second component call (into
  // relay) besides the link. relay.f-times(s, n) calls api.f n times through
  // the link inside one call of relay: (T(1 + N) - T(1)) / N is one call
  // through the link (relay's lowering of the import, the link's dispatch,
  // the provider's call) without the outer call. Compared with api.f called
  // directly through Platform::CallValues (the provider's call alone), the
  // difference is what the link adds; with workers, the ratio to the worker
  // round trip.
  const uint32_t loop_daemon = 100, loop_worker = 20;
  printf("\nOne call through the link from inside the importer: (relay.f-times(s, 1 + N) - "
         "relay.f-times(s, 1)) / N, N = %u in the daemon, %u with workers\n",
         loop_daemon, loop_worker);
  for (size_t len : {11u, 1000u}) {
    auto times = [&](const std::string& id, uint32_t count) {
      const bool daemon = id.ends_with("/d");
      const int per = daemon ? n / static_cast<int>(loop_daemon) * 2 : nw / 4;
      return Case{[&p, id, count, len]() -> std::string {
                    auto r = p.CallValues(id, "arcella:bench/relay@0.1.0#f-times",
                                          {arcella::component::Val::String(std::string(len, 'x')),
                                           arcella::component::Val::U32(count)});
                    if (!r.ok()) return id + " f-times: " + r.status().message();
                    return r->trap ? id + " f-times: " + r->trap->ToString() : "";
                  },
                  std::max(per, 20)};
    };
    auto direct = [&](const std::string& id) {
      return Case{[&p, id, len]() -> std::string {
                    auto r = p.CallValues(id, "arcella:bench/api@0.1.0#f",
                                          {arcella::component::Val::String(std::string(len, 'x'))});
                    if (!r.ok()) return id + " f: " + r.status().message();
                    return r->trap ? id + " f: " + r->trap->ToString() : "";
                  },
                  id.ends_with("/d") ? n : nw};
    };
    const uint32_t nd = loop_daemon, nwk = loop_worker;
    printf("f(string[%zu]) -> record\n", len);
    auto t = Measure({direct("api@0.1.0/d"), times("relay@0.1.0/d", 1),
                      times("relay@0.1.0/d", 1 + nd), direct("api@0.1.0/wa"),
                      times("relay@0.1.0/wb", 1), times("relay@0.1.0/wb", 1 + nwk),
                      times("relay@0.1.0/wa", 1), times("relay@0.1.0/wa", 1 + nwk),
                      times("relay@0.1.0/wd", 1), times("relay@0.1.0/wd", 1 + nwk),
                      times("relay@0.1.0/dw", 1), times("relay@0.1.0/dw", 1 + nwk)},
                     rounds);
    auto per_call = [](const Stats& one, const Stats& many, uint32_t k) {
      return Stats{(many.mean_ns - one.mean_ns) / k, (many.p50_ns - one.p50_ns) / k, 0};
    };
    const Stats &d = t[0], &w = t[3];
    const Stats dl = per_call(t[1], t[2], nd), w2 = per_call(t[4], t[5], nwk),
                w1 = per_call(t[6], t[7], nwk), wd = per_call(t[8], t[9], nwk),
                dw = per_call(t[10], t[11], nwk);
    Row("daemon direct", d, "api/d");
    RowPerCall("through the link, in the daemon", dl, "relay/d -> api/d");
    Row("worker direct (round trip)", w, "api/wa");
    RowPerCall("through the link, two workers", w2, "relay/wb -> api/wa");
    RowPerCall("through the link, one worker", w1, "relay/wa -> api/wa");
    RowPerCall("through the link, worker -> daemon", wd, "relay/wd -> api/d");
    RowPerCall("through the link, daemon -> worker", dw, "relay/dw -> api/wa");
    Diff("link in daemon adds", dl, d, "target <= 1000 ns");
    Ratio("two workers / worker direct", w2, w, "target <= 2x");
    Ratio("one worker / worker direct", w1, w);
  }
  printf("(%ld CPUs; load average %s)\n", sysconf(_SC_NPROCESSORS_ONLN), LoadAverage());
  p.Shutdown();
  std::filesystem::remove_all(root);
  return 0;
}
