// Instantiation time, RSS per instance and host->guest call cost through the
// public engine API (Module::Compile, Instance::Create, Instance::Call).
//
//   instantiate_bench --inst [--tier aot|interp] [--module mem1|mem1_data] [--n N] [--rounds R]
//   instantiate_bench --call [--tier aot|interp] [--calls M]
//   instantiate_bench --emit DIR
//
// Run one case per process so RSS deltas are not skewed by memory that an
// earlier case freed.
//
// Times are process CPU time (user+sys). Prints one JSON object per line:
//   {"kind":"inst","engine":"aot","module":"mem1","n":1000,"us":..,"free_us":..,"rss_kib":..}
//   {"kind":"call","engine":"aot","export":"nop","calls":..,"ns":..}
//   {"kind":"call","engine":"aot","export":"nop/invoke","calls":..,"ns":..}
// "<export>/invoke" is the pre-resolved fast path: Instance::GetFunc once,
// then Instance::Invoke with caller-owned argument and result arrays.
// --emit DIR writes the two modules (mem1.wasm, mem1_data.wasm) for node.
// The AOT compile happens before any timing (and is cached across runs).
#include <unistd.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench_modules.h"
#include "engine/engine.h"

namespace ae = arcella::engine;

namespace {

long RssKib() {
  long pages_total = 0, pages_res = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  if (fscanf(f, "%ld %ld", &pages_total, &pages_res) != 2) pages_res = 0;
  fclose(f);
  return pages_res * (sysconf(_SC_PAGESIZE) / 1024);
}

// Process CPU time in µs: robust against other load on a shared machine.
double CpuUs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "instantiate_bench: %s\n", what.c_str());
  exit(1);
}

ae::Linker MakeLinker() {
  ae::Linker linker;
  linker.DefineFunc("env", "host", {{ae::ValType::kI32}, {ae::ValType::kI32}},
                    [](ae::Caller&, std::span<const ae::Value> args,
                       std::span<ae::Value> results) -> std::optional<ae::Trap> {
                      results[0] = ae::Value::I32(args[0].i32 + 1);
                      return std::nullopt;
                    });
  return linker;
}

std::shared_ptr<const ae::Module> Compile(const std::vector<uint8_t>& bytes, ae::Tier tier) {
  // Uninstrumented, as the numbers in bench/README.md were taken. The cache
  // folder comes from the caller ($ARCELLA_HOME/cache, set by run.py).
  const char* home = getenv("ARCELLA_HOME");
  if (home == nullptr || home[0] != '/') Die("set ARCELLA_HOME to an absolute folder");
  const char* cc = getenv("CC");
  auto eng = ae::Engine::Create({.cache_dir = std::string(home) + "/cache",
                                 .cc = cc && *cc ? cc : "cc",
                                 .metering = ae::Metering::kNone});
  if (!eng.ok()) Die("engine: " + eng.status().message());
  ae::CompileOptions options;
  options.tier = tier;
  auto mod = (*eng)->Compile(bytes, options);
  if (!mod.ok()) Die("compile: " + mod.status().message());
  if ((*mod)->tier() != tier) Die("module did not get the requested tier");
  return *mod;
}

// N live instances at once: time per Create, RSS growth per instance, time per free.
void BenchInstantiate(const char* engine, const char* name, std::shared_ptr<const ae::Module> mod,
                      int n, int rounds) {
  ae::Linker linker = MakeLinker();
  double best_us = 1e30, best_free_us = 1e30, cold_us = 0;
  long rss_kib = -1;
  {  // warm-up: first-touch costs of the allocator and the code
    std::vector<std::shared_ptr<ae::Instance>> warm;
    for (int i = 0; i < 16; i++) {
      auto inst = ae::Instance::Create(mod, linker, {});
      if (!inst.ok()) Die(std::string("instantiate: ") + inst.status().message());
      warm.push_back(*inst);
    }
  }
  for (int r = 0; r < rounds; r++) {
    std::vector<std::shared_ptr<ae::Instance>> live;
    live.reserve(n);
    long rss0 = RssKib();
    double t0 = CpuUs();
    for (int i = 0; i < n; i++) {
      auto inst = ae::Instance::Create(mod, linker, {});
      if (!inst.ok()) Die(std::string("instantiate: ") + inst.status().message());
      live.push_back(std::move(*inst));
    }
    double t1 = CpuUs();
    long rss1 = RssKib();
    // Sanity: every instance really has its own initialized memory.
    auto mem = live.back()->memory();
    if (mem.size() != 16 * 65536) Die("unexpected memory size");
    live.clear();
    double t2 = CpuUs();
    best_us = std::min(best_us, (t1 - t0) / n);
    if (r == 0) cold_us = (t1 - t0) / n;  // nothing pooled yet
    best_free_us = std::min(best_free_us, (t2 - t1) / n);
    if (r == 0) rss_kib = rss1 - rss0;  // first round: nothing recycled yet
  }
  printf("{\"kind\":\"inst\",\"engine\":\"%s\",\"module\":\"%s\",\"n\":%d,\"us\":%.3f,"
         "\"cold_us\":%.3f,\"free_us\":%.3f,\"rss_kib\":%.2f}\n",
         engine, name, n, best_us, cold_us, best_free_us, static_cast<double>(rss_kib) / n);
  fflush(stdout);
}

void BenchCalls(const char* engine, std::shared_ptr<const ae::Module> mod, long calls) {
  ae::Linker linker = MakeLinker();
  auto inst_r = ae::Instance::Create(mod, linker, {});
  if (!inst_r.ok()) Die("instantiate: " + inst_r.status().message());
  auto inst = *inst_r;
  struct Case {
    const char* name;
    std::vector<ae::Value> args;
  };
  const Case cases[] = {{"nop", {}},
                        {"inc", {ae::Value::I32(41)}},
                        {"call_host", {ae::Value::I32(41)}}};
  for (const Case& c : cases) {
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = CpuUs();
      for (long i = 0; i < calls; i++) {
        auto out = inst->Call(c.name, c.args);
        if (!out.ok() || !out->ok()) Die(std::string("call ") + c.name + " failed");
        if (!c.args.empty() && out->results[0].i32 != 42) Die("wrong result");
      }
      best = std::min(best, (CpuUs() - t0) * 1000.0 / calls);
    }
    printf("{\"kind\":\"call\",\"engine\":\"%s\",\"export\":\"%s\",\"calls\":%ld,\"ns\":%.1f}\n",
           engine, c.name, calls, best);
    fflush(stdout);
  }
  for (const Case& c : cases) {
    auto fn = inst->GetFunc(c.name);
    if (!fn.ok()) Die(std::string("GetFunc ") + c.name + ": " + fn.status().message());
    ae::Value results[1];
    std::span<ae::Value> out(results, fn->type().results.size());
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
      double t0 = CpuUs();
      for (long i = 0; i < calls; i++) {
        if (inst->Invoke(*fn, c.args, out)) Die(std::string("invoke ") + c.name + " trapped");
        if (!c.args.empty() && results[0].i32 != 42) Die("wrong result");
      }
      best = std::min(best, (CpuUs() - t0) * 1000.0 / calls);
    }
    printf("{\"kind\":\"call\",\"engine\":\"%s\",\"export\":\"%s/invoke\",\"calls\":%ld,"
           "\"ns\":%.1f}\n",
           engine, c.name, calls, best);
    fflush(stdout);
  }
}

void Emit(const std::string& dir) {
  for (bool data : {false, true}) {
    auto bytes = arcella::bench::BuildBenchModule(data);
    std::string path = dir + (data ? "/mem1_data.wasm" : "/mem1.wasm");
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    if (!f) Die("cannot write " + path);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int n = 1000, rounds = 3;
  long calls = 1'000'000;
  std::string what = "inst", tier_name = "aot", module = "mem1";
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--n") n = std::atoi(next().c_str());
    else if (a == "--rounds") rounds = std::atoi(next().c_str());
    else if (a == "--calls") calls = std::atol(next().c_str());
    else if (a == "--tier") tier_name = next();
    else if (a == "--module") module = next();
    else if (a == "--inst") what = "inst";
    else if (a == "--call") what = "call";
    else if (a == "--emit") {
      Emit(next());
      return 0;
    } else Die("unknown option " + a);
  }
  if (n <= 0 || rounds <= 0 || calls <= 0) Die("counts must be positive");
  if (module != "mem1" && module != "mem1_data") Die("--module is mem1 or mem1_data");
  ae::Tier tier;
  if (tier_name == "aot") tier = ae::Tier::kAot;
  else if (tier_name == "interp") tier = ae::Tier::kInterp;
  else Die("--tier is aot or interp");
  if (tier == ae::Tier::kAot && !ae::AotAvailable()) Die("no C compiler for the aot tier");
  auto mod = Compile(arcella::bench::BuildBenchModule(module == "mem1_data"), tier);
  if (what == "inst") BenchInstantiate(tier_name.c_str(), module.c_str(), mod, n, rounds);
  else BenchCalls(tier_name.c_str(), mod, calls);
  return 0;
}
