// link_bench: what a link between deployments costs (issue 10). Two
// components in one Platform (replicas in this process, as `isolation =
// "main"` in the daemon): bench_api (tests/fixtures/components) exports
// arcella:bench/api with f(s: string) -> stats (a record), and bench_link
// imports that interface, linked to the bench_api deployment, and exports
// relay.f, which calls api.f through the link. Side by side, per call:
//
//   direct   Platform::Call(bench_api, "api.f", "\"...\"")
//   linked   Platform::Call(bench_link, "relay.f", "\"...\"")
//
// Both pay the same WAVE parse and print at the top; `linked - direct` is
// what the link adds (the importer's lift/lower of the argument and the
// record, the host function, the provider's call). Times are means over
// timed batches after a warm-up, with p50/p99 of single calls.
//
//   link_bench [--quick] [--fixtures DIR]
//
// bench/platform/run_link.sh builds the fixtures and this, and runs it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "platform/platform.h"

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

// Times `call` n times after a warm-up: the batch's mean, and p50/p99 of
// single calls. `call` returns "" or what went wrong.
Stats Time(const std::function<std::string()>& call, int n) {
  for (int i = 0; i < n / 10 + 10; ++i)
    if (std::string e = call(); !e.empty()) Die(e);
  std::vector<double> single;
  single.reserve(n);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    auto a = Clock::now();
    std::string e = call();
    single.push_back(std::chrono::duration<double, std::nano>(Clock::now() - a).count());
    if (!e.empty()) Die(e);
  }
  Stats s;
  s.mean_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
  std::sort(single.begin(), single.end());
  s.p50_ns = single[single.size() / 2];
  s.p99_ns = single[single.size() * 99 / 100];
  return s;
}

void Print(const std::string& what, const Stats& d, const Stats& l) {
  printf("%-36s %12.0f %12.0f %12.0f\n", ("direct " + what).c_str(), d.mean_ns, d.p50_ns, d.p99_ns);
  printf("%-36s %12.0f %12.0f %12.0f\n", ("linked " + what).c_str(), l.mean_ns, l.p50_ns, l.p99_ns);
  printf("%-36s %12.0f %12.0f %12s   (target <= 1000 ns)\n", "  the link adds",
         l.mean_ns - d.mean_ns, l.p50_ns - d.p50_ns, "");
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string fixtures = LINK_BENCH_FIXTURES;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--quick")) quick = true;
    else if (!strcmp(argv[i], "--fixtures") && i + 1 < argc) fixtures = argv[++i];
    else
      Die(std::string("unknown argument ") + argv[i] +
          " (usage: link_bench [--quick] [--fixtures DIR])");
  }
  std::string root = std::filesystem::temp_directory_path() /
                     ("link-bench-" + std::to_string(getpid()));
  Home home(root);
  if (auto st = home.Create(); !st.ok()) Die(st.message());
  EventBus events;
  LogHub logs(home.log_dir());
  auto opened = Platform::Open(home, Config{}, &events, &logs);
  if (!opened.ok()) Die(opened.status().message());
  Platform& p = **opened;
  auto install = [&](const std::string& fixture, const std::string& name) {
    std::string manifest = "[component]\nname = \"" + name + "\"\nversion = \"0.1.0\"\n";
    auto r = p.Install(fixtures + "/" + fixture + ".component.wasm", false, manifest);
    if (!r.ok()) Die("install " + fixture + ": " + r.status().message());
  };
  install("bench_api", "api");
  install("bench_link", "relay");
  auto deploy = [&](const std::string& toml) {
    auto spec = arcella::platform::ParseDeploymentSpec(toml, "bench");
    if (!spec.ok()) Die(spec.status().message());
    auto v = p.Deploy(*spec, KeyStyle::kToml, "bench", GrantOrigin::kOperator);
    if (!v.ok()) Die(v.status().message());
  };
  deploy("[deployment]\nmodule_id = \"api@0.1.0\"\n[deployment.overrides]\nisolation = \"main\"\n");
  deploy("[deployment]\nmodule_id = \"relay@0.1.0\"\n[deployment.overrides]\nisolation = \"main\"\n"
         "[deployment.links]\n\"arcella:bench/api@0.1.0\" = \"api@0.1.0/default\"\n");
  for (const char* id : {"api@0.1.0", "relay@0.1.0"})
    if (auto r = p.Start(id, ""); !r.ok()) Die(r.status().message());
  for (int i = 0; i < 500; ++i) {
    auto s = p.StatusOf("");
    bool ready = s.ok() && s->size() == 2;
    for (const auto& d : s.ok() ? *s : std::vector<arcella::platform::DeploymentView>{})
      ready = ready && d.state == arcella::platform::State::kActive;
    if (ready) break;
    usleep(10'000);
  }
  const int n = quick ? 2'000 : 20'000;
  printf(
      "link_bench: a call through a link vs a direct call, in-process replicas (%d calls each)\n",
      n);
  printf("%-36s %12s %12s %12s\n", "call", "mean ns", "p50 ns", "p99 ns");
  for (const std::string& s : {std::string("hello world"), std::string(1000, 'x')}) {
    std::vector<std::string> args = {"\"" + s + "\""};
    auto text = [&](const std::string& target, const std::string& fn) {
      return Time(
          [&]() -> std::string {
            auto r = p.Call(target, fn, args);
            if (!r.ok()) return target + " " + fn + ": " + r.status().message();
            return r->trap ? target + " " + fn + ": " + r->error() : "";
          },
          n);
    };
    Print("f(string[" + std::to_string(s.size()) + "]) -> record", text("api@0.1.0", "api.f"),
          text("relay@0.1.0", "relay.f"));
  }
  // The same through the platform's value path (what a link itself uses):
  // no WAVE, no database read; `linked - direct` is the link alone.
  printf("\nwith values (Platform::CallValues, as a link calls its provider):\n");
  for (size_t len : {11u, 1000u}) {
    auto values = [&](const std::string& id, const std::string& fn) {
      return Time(
          [&]() -> std::string {
            auto r = p.CallValues(id, fn, {arcella::component::Val::String(std::string(len, 'x'))});
            if (!r.ok()) return id + " " + fn + ": " + r.status().message();
            return r->trap ? id + " " + fn + ": " + r->trap->ToString() : "";
          },
          n);
    };
    Print("f(string[" + std::to_string(len) + "]) -> record",
          values("api@0.1.0/default", "arcella:bench/api@0.1.0#f"),
          values("relay@0.1.0/default", "arcella:bench/relay@0.1.0#f"));
  }
  printf("(%ld CPUs; load average %s)\n", sysconf(_SC_NPROCESSORS_ONLN), [] {
    static char buf[64] = "?";
    if (FILE* f = fopen("/proc/loadavg", "r")) {
      if (!fgets(buf, sizeof buf, f)) strcpy(buf, "?");
      fclose(f);
      buf[strcspn(buf, "\n")] = 0;
    }
    return buf;
  }());
  p.Shutdown();
  std::filesystem::remove_all(root);
  return 0;
}
