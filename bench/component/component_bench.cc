// Component calls and instantiation through the public component API
// (component/instance.h): what bench/component/run.py sets beside the same
// operations on the `jco transpile`d component under node (node_bench.mjs).
//
//   component_bench --calls DIR [--metering none|fuel] [--n N] [--rounds R]
//   component_bench --inst DIR [--metering none|fuel] [--n N] [--rounds R]
//
// DIR holds the fixtures (build/fixtures/components). --calls times
// arcella:bench/api#f("the quick brown fox ...") -> record and #sum of a
// list<s64> of 1,000 elements on the AOT tier; --inst times
// ComponentInstance::Create, warm (the core modules compiled and in the
// engine), of host_import (3 core modules, its host interface defined here)
// and bench_api (2 core modules). Prints one JSON object per line:
//   {"kind":"call","engine":"aot","case":"f","n":..,"ns":..}
//   {"kind":"inst","engine":"aot","component":"host_import","modules":3,"n":..,"us":..}
// Times are wall-clock (steady_clock), the minimum over R rounds of N.
// The AOT cache is $ARCELLA_HOME/cache (run.py warms it before timing).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "component/ast.h"
#include "component/decoder.h"
#include "component/instance.h"
#include "component/linker.h"
#include "component/value.h"
#include "engine/engine.h"

namespace ac = arcella::component;
namespace ae = arcella::engine;

namespace {

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "component_bench: %s\n", what.c_str());
  exit(1);
}

double NowNs() {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count());
}

std::shared_ptr<const ac::Component> Load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.empty()) Die("cannot read " + path + " (build the target component_fixtures)");
  auto c = ac::DecodeComponent(bytes);
  if (!c.ok()) Die(path + ": " + c.status().message());
  return *c;
}

std::shared_ptr<ae::Engine> MakeEngine(ae::Metering metering) {
  const char* home = getenv("ARCELLA_HOME");
  if (home == nullptr || home[0] != '/') Die("set ARCELLA_HOME to an absolute folder");
  const char* cc = getenv("CC");
  auto eng = ae::Engine::Create({.cache_dir = std::string(home) + "/cache",
                                 .cc = cc && *cc ? cc : "cc",
                                 .metering = metering});
  if (!eng.ok()) Die("engine: " + eng.status().message());
  return *eng;
}

size_t CoreModules(const ac::Component& c) {
  size_t n = c.core_modules.size();
  for (const auto& nested : c.components) n += CoreModules(*nested);
  return n;
}

// arcella:fixtures/host for host_import: log (kept, not printed) and add.
ac::Linker HostLinker() {
  ac::Linker linker;
  const char* iface = "arcella:fixtures/host@0.1.0";
  arcella::Status st =
      linker.DefineFunc(iface, "log", ac::FuncType{{{"msg", ac::ValueType::String()}}, {}},
                        [](std::vector<ac::Val>) -> ac::TrapOr<std::vector<ac::Val>> {
                          return std::vector<ac::Val>{};
                        });
  if (!st.ok()) Die(st.message());
  st = linker.DefineFunc(iface, "add",
                         ac::FuncType{{{"a", ac::ValueType::U32()}, {"b", ac::ValueType::U32()}},
                                      ac::ValueType::U32()},
                         [](std::vector<ac::Val> args) -> ac::TrapOr<std::vector<ac::Val>> {
                           return std::vector<ac::Val>{
                               ac::Val::U32(static_cast<uint32_t>(args[0].u + args[1].u))};
                         });
  if (!st.ok()) Die(st.message());
  return linker;
}

std::shared_ptr<ac::ComponentInstance> Instantiate(const std::shared_ptr<ae::Engine>& eng,
                                                   std::shared_ptr<const ac::Component> c,
                                                   const ac::Linker& linker) {
  ac::ComponentOptions opts;
  opts.tier = ae::Tier::kAot;
  auto inst = ac::ComponentInstance::Create(eng, std::move(c), linker, opts);
  if (!inst.ok()) Die("instantiate: " + inst.status().message());
  return *inst;
}

constexpr const char* kText = "the quick brown fox jumps over the lazy dog";

void BenchCalls(const std::string& dir, ae::Metering metering, const char* engine_name, long n,
                int rounds) {
  auto eng = MakeEngine(metering);
  auto inst = Instantiate(eng, Load(dir + "/bench_api.component.wasm"), ac::Linker{});
  const std::string f = "arcella:bench/api@0.1.0#f";
  const std::string sum = "arcella:bench/api@0.1.0#sum";

  std::vector<ac::Val> xs;
  int64_t want_sum = 0;
  for (int i = 0; i < 1000; ++i) {
    int64_t x = (i % 2 ? -1 : 1) * int64_t{i} * 1'000'003;
    xs.push_back(ac::Val::S64(x));
    want_sum += x;
  }
  // Check the results once, then time.
  auto r = inst->Call(f, {ac::Val::String(kText)});
  if (!r.ok() || !r->ok() || r->results.size() != 1 || r->results[0].items.size() != 3 ||
      r->results[0].items[0].str != "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG" ||
      r->results[0].items[2].u != 9)
    Die("f returned something unexpected");
  r = inst->Call(sum, {ac::Val::List(xs)});
  if (!r.ok() || !r->ok() || r->results.size() != 1 || r->results[0].s != want_sum)
    Die("sum returned something unexpected");

  struct Case {
    const char* name;
    const std::string* export_name;
    std::vector<ac::Val> args;
  };
  const Case cases[] = {{"f", &f, {ac::Val::String(kText)}}, {"sum", &sum, {ac::Val::List(xs)}}};
  for (const Case& c : cases) {
    double best = 1e300;
    for (int round = 0; round < rounds; ++round) {
      double t0 = NowNs();
      for (long i = 0; i < n; ++i) {
        // The arguments are moved into Call; copying them is part of the
        // host's cost, as building them is part of node's.
        auto out = inst->Call(*c.export_name, c.args);
        if (!out.ok() || !out->ok()) Die(std::string("call ") + c.name + " failed");
      }
      best = std::min(best, (NowNs() - t0) / static_cast<double>(n));
    }
    printf("{\"kind\":\"call\",\"engine\":\"%s\",\"case\":\"%s\",\"n\":%ld,\"ns\":%.1f}\n",
           engine_name, c.name, n, best);
    fflush(stdout);
  }
}

void BenchInstantiate(const std::string& dir, ae::Metering metering, const char* engine_name,
                      long n, int rounds) {
  auto eng = MakeEngine(metering);
  struct Case {
    const char* name;
    ac::Linker linker;
  };
  const Case cases[] = {{"host_import", HostLinker()}, {"bench_api", ac::Linker{}}};
  for (const Case& c : cases) {
    auto component = Load(dir + "/" + c.name + ".component.wasm");
    // Warm: the first instance compiles (or loads from the cache) the core
    // modules; later ones find them in the engine.
    for (int i = 0; i < 8; ++i) Instantiate(eng, component, c.linker);
    double best = 1e300;
    for (int round = 0; round < rounds; ++round) {
      double t0 = NowNs();
      for (long i = 0; i < n; ++i) Instantiate(eng, component, c.linker);
      best = std::min(best, (NowNs() - t0) / static_cast<double>(n) / 1000.0);
    }
    printf("{\"kind\":\"inst\",\"engine\":\"%s\",\"component\":\"%s\",\"modules\":%zu,"
           "\"n\":%ld,\"us\":%.2f}\n",
           engine_name, c.name, CoreModules(*component), n, best);
    fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string what, dir, metering_name = "none";
  long n = 0;
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--calls" || a == "--inst") {
      what = a.substr(2);
      dir = next();
    } else if (a == "--metering") {
      metering_name = next();
    } else if (a == "--n") {
      n = std::atol(next().c_str());
    } else if (a == "--rounds") {
      rounds = std::atoi(next().c_str());
    } else {
      Die("unknown argument " + a);
    }
  }
  if (what.empty()) Die("usage: component_bench --calls|--inst DIR [--metering none|fuel]");
  ae::Metering metering = ae::Metering::kNone;
  if (metering_name == "fuel") metering = ae::Metering::kFuel;
  else if (metering_name != "none") Die("--metering: none or fuel");
  const char* engine_name = metering == ae::Metering::kNone ? "aot" : "aot+fuel";
  if (rounds < 1) rounds = 1;
  if (what == "calls") BenchCalls(dir, metering, engine_name, n > 0 ? n : 100'000, rounds);
  else BenchInstantiate(dir, metering, engine_name, n > 0 ? n : 2'000, rounds);
  return 0;
}
