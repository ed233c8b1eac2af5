#include "tools/run_component.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "component/ast.h"
#include "component/core_modules.h"
#include "component/decoder.h"
#include "component/instance.h"
#include "component/linker.h"
#include "component/wasip2/wasi_p2.h"
#include "component/wave.h"
#include "engine/engine.h"
#include "engine/preflight.h"
#include "tools/compile_feedback.h"
#include "tools/tool_engine.h"

namespace arcella::tools {
namespace {

namespace comp = arcella::component;

int Fail(const std::string& msg) {
  fprintf(stderr, "arcella run: %s\n", msg.c_str());
  return kExitLoadError;
}

int ReportTrap(const engine::Trap& trap, const std::string& what) {
  if (trap.kind == engine::TrapKind::kExit) return trap.exit_code;
  fprintf(stderr, "arcella run: %s: trap: %s\n", what.c_str(), trap.ToString().c_str());
  return kExitTrap;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "none" : out;
}

// --tier auto for a component: the AOT tier if the cache holds every core
// module, or if their code is small enough to compile now; else the
// interpreter (the user is told how to get the AOT tier for the next runs).
// Returns the tier and, for --verbose, where the code comes from.
std::pair<engine::Tier, std::string> ChooseComponentTier(
    const RunOptions& o, engine::Engine& eng, const std::vector<std::span<const uint8_t>>& mods,
    bool tell) {
  if (o.tier == engine::Tier::kInterp) return {o.tier, "as asked"};
  if (!eng.AotAvailable()) {
    if (o.tier == engine::Tier::kAot) return {o.tier, "no AOT tier available"};  // Compile says why
    return {engine::Tier::kInterp, "no AOT tier available"};
  }
  bool all_cached = true;
  uint64_t code_bytes = 0;
  for (auto bytes : mods) {
    auto pf = engine::PreflightModule(bytes);
    if (!pf.ok() || !pf->features.empty()) {
      // Features the AOT tier cannot run: the engine decides (and explains).
      return {o.tier, o.tier == engine::Tier::kAot ? "as asked" : "the engine's choice"};
    }
    code_bytes += pf->code_bytes;
    engine::CompileOptions probe;
    probe.cached_only = true;
    if (all_cached && !eng.Compile(bytes, probe).ok()) all_cached = false;
  }
  if (all_cached) return {engine::Tier::kAot, "compiled code from the cache"};
  if (o.tier == engine::Tier::kAot || code_bytes <= o.tier_up_bytes)
    return {engine::Tier::kAot, "compiled now"};
  if (tell)
    fprintf(stderr,
            "arcella: %s is not compiled yet: running it on the interpreter (`arcella run "
            "--tier aot` compiles it once, for the next runs)\n",
            o.file.c_str());
  return {engine::Tier::kInterp, "not compiled yet; `--tier aot` compiles it"};
}

}  // namespace

int RunComponent(RunOptions o, std::vector<uint8_t> bytes) {
  auto decoded = comp::DecodeComponent(bytes);
  if (!decoded.ok()) return Fail(o.file + ": " + decoded.status().message());
  std::shared_ptr<const comp::Component> component = *decoded;

  // WASI: argv[0] is the file name, like a core command.
  o.wasi.args.clear();
  o.wasi.args.push_back(o.file);
  for (const auto& a : o.args) o.wasi.args.push_back(a);
  o.wasi.stdin_fd = 0;
  o.wasi.stdout_stream.host_fd = 1;
  o.wasi.stderr_stream.host_fd = 2;
  // Blocking WASI calls (sleep, poll, stdin) give up once the deadline has
  // passed, so that the engine's deadline check can stop the guest.
  auto deadline = std::make_shared<std::atomic<int64_t>>(0);  // steady ns; 0: none
  if (o.timeout.count() > 0) {
    o.wasi.interrupted = [deadline] {
      int64_t d = deadline->load(std::memory_order_relaxed);
      return d != 0 && std::chrono::steady_clock::now().time_since_epoch().count() >= d;
    };
  }
  auto wasi = comp::WasiP2::Create(o.wasi);
  if (!wasi.ok()) return Fail(wasi.status().message());
  comp::Linker linker;
  if (auto st = (*wasi)->AddToLinker(linker); !st.ok()) return Fail(st.message());

  auto eng = ToolEngine(o.metering);
  if (!eng.ok()) return Fail(eng.status().message());

  // Compile the core modules before instantiating, with progress and
  // Ctrl-C/SIGTERM cancellation; the instance then finds them in the
  // engine (its registry, or the AOT cache).
  std::vector<std::span<const uint8_t>> mods = comp::CoreModuleBytes(*component);
  const bool show = o.progress.value_or(CompileFeedback::DefaultShowProgress());
  auto [tier, how] = ChooseComponentTier(o, **eng, mods, show);
  std::vector<std::shared_ptr<const engine::Module>> keep;
  if (tier == engine::Tier::kAot) {
    for (size_t i = 0; i < mods.size(); ++i) {
      std::string label = mods.size() == 1 ? o.file
                                           : o.file + " (core module " + std::to_string(i + 1) +
                                                 "/" + std::to_string(mods.size()) + ")";
      CompileFeedback feedback(label, show, "arcella run", "compiling");
      engine::CompileOptions copts;
      copts.tier = engine::Tier::kAot;
      copts.cancel = feedback.cancel();
      copts.on_progress = [&feedback](const engine::CompileProgress& p) { feedback.OnProgress(p); };
      auto mod = (*eng)->Compile(mods[i], copts);
      if (int cancelled = feedback.Finish()) return cancelled;
      if (!mod.ok()) return Fail(label + ": " + mod.status().message());
      keep.push_back(*mod);
    }
  }
  if (o.verbose)
    fprintf(stderr, "arcella run: %s: component, %zu core modules, %s tier (%s)\n", o.file.c_str(),
            mods.size(), tier == engine::Tier::kInterp ? "interpreter" : engine::TierName(tier),
            how.c_str());

  comp::ComponentOptions copts;
  copts.tier = tier;
  copts.limits.fuel = o.fuel;
  copts.limits.max_memory_bytes = o.max_memory;
  copts.limits.max_stack_depth = o.max_stack;
  copts.limits.deadline = o.timeout;
  auto inst = comp::ComponentInstance::Create(*eng, component, linker, copts);
  if (!inst.ok()) return Fail(o.file + ": " + inst.status().message());
  keep.clear();
  const std::vector<std::string> exports = (*inst)->ExportedFuncs();

  std::string export_name;
  std::vector<comp::Val> args;
  const comp::FuncType* ftype = nullptr;
  if (!o.invoke) {
    export_name = comp::FindRunExport(exports);
    if (export_name.empty())
      return Fail(o.file +
                  " exports no wasi:cli/run@0.2.x#run (not a WASI 0.2 command); use --invoke "
                  "'NAME(ARGS)' (functions: " +
                  JoinNames(exports) + ")");
  } else {
    // The call's name may hold `#` (IFACE#f), which WAVE names do not:
    // resolve it here and hand the parser the text with `#` as `.` (same
    // length, so error positions stay those of the user's text).
    std::string text = *o.invoke;
    size_t nb = text.find_first_not_of(" \t\r\n");
    size_t ne = text.find('(', nb == std::string::npos ? 0 : nb);
    if (nb == std::string::npos || ne == std::string::npos) {
      fprintf(stderr,
              "arcella run: --invoke \"%s\": expected NAME(ARGS), e.g. 'greet(\"world\")'\n",
              text.c_str());
      return kExitUsage;
    }
    size_t name_end = text.find_last_not_of(" \t\r\n", ne - 1) + 1;
    std::string written = text.substr(nb, name_end - nb);
    if (written.size() > 1 && written[0] == '%') written.erase(0, 1);
    ExportMatch m = ResolveInvokeName(written, exports);
    if (m.name.empty()) return Fail(o.file + " " + m.error);
    export_name = m.name;
    ftype = (*inst)->FuncTypeOf(export_name);
    if (ftype == nullptr) return Fail(o.file + ": no type for export " + export_name);
    for (size_t i = nb; i < name_end; ++i)
      if (text[i] == '#') text[i] = '.';
    auto call = comp::ParseWaveCall(text, [ftype](std::string_view) { return ftype; });
    if (!call.ok()) {
      fprintf(stderr, "arcella run: --invoke: %s\n", call.status().message().c_str());
      return kExitUsage;
    }
    args = std::move(call->args);
  }

  if (o.timeout.count() > 0)
    deadline->store((std::chrono::steady_clock::now() + o.timeout).time_since_epoch().count(),
                    std::memory_order_relaxed);
  auto out = (*inst)->Call(export_name, std::move(args));
  if (!out.ok()) return Fail(o.file + ": " + export_name + ": " + out.status().message());
  if (out->trap) {
    // A wait the WASI host cut short because the deadline passed traps as
    // "interrupted": the cause is the deadline, say so.
    int64_t d = deadline->load(std::memory_order_relaxed);
    if (out->trap->kind == engine::TrapKind::kInterrupted && d != 0 &&
        std::chrono::steady_clock::now().time_since_epoch().count() >= d)
      out->trap->kind = engine::TrapKind::kDeadline;
    return ReportTrap(*out->trap, export_name);
  }
  fflush(stdout);

  if (!o.invoke) {
    // run: func() -> result; an exit the guest called came as a kExit trap.
    if (auto code = (*wasi)->exit_code()) return *code;
    if (out->results.size() == 1 && out->results[0].kind == comp::TypeKind::kResult)
      return out->results[0].index == 0 ? 0 : 1;
    return 0;
  }
  if (ftype->result && !out->results.empty())
    printf("%s\n", comp::PrintWave(out->results[0], *ftype->result).c_str());
  return 0;
}

}  // namespace arcella::tools
