#include "tools/run_command.h"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "component/decoder.h"
#include "engine/engine.h"
#include "engine/preflight.h"
#include "engine/value_text.h"
#include "platform/manifest.h"
#include "tools/background_compile.h"
#include "tools/compile_feedback.h"
#include "tools/run_component.h"
#include "tools/tool_engine.h"
#include "wasi/wasi.h"

namespace arcella::tools {
namespace {

constexpr const char* kUsage =
    "usage: arcella run [OPTIONS] FILE.wasm [ARGS...]\n"
    "\n"
    "Runs a WebAssembly module or component once: a module's _start (WASI command),\n"
    "a component's wasi:cli/run (WASI 0.2 command), or the export --invoke names.\n"
    "\n"
    "options:\n"
    "  --dir HOST[::GUEST]     grant a host directory (read-write) as GUEST (default: HOST)\n"
    "  --dir-ro HOST[::GUEST]  grant a host directory read-only\n"
    "  --env KEY=VALUE         set a guest environment variable (repeatable)\n"
    "  --fuel N                stop after N executed instructions\n"
    "  --max-memory SIZE       cap each linear memory (e.g. 64MiB)\n"
    "  --max-stack N           cap the wasm call depth (default 10000)\n"
    "  --timeout DURATION      wall-clock limit for the call (e.g. 500ms, 2s)\n"
    "  --tier aot|interp|auto  execution tier (default auto: the AOT tier if the module\n"
    "                          is in the cache or small, else the interpreter now while\n"
    "                          an `arcella compile` in the background prepares the\n"
    "                          AOT tier for the next runs)\n"
    "  --tier-up-bytes SIZE    with --tier auto, modules with more code than SIZE are\n"
    "                          compiled in the background (default 128KiB; 0: always)\n"
    "  --metering fuel|interrupt|none  instrumentation (default fuel: one cached\n"
    "                          artefact serves runs with and without --fuel/--timeout;\n"
    "                          none: no limits, for benchmarks)\n"
    "  --invoke NAME           call export NAME; ARGS are its typed arguments\n"
    "  --invoke 'NAME(ARGS)'   (a component) call export NAME with WAVE arguments, e.g.\n"
    "                          'greet(\"world\")' or 'my:app/api#f([1, 2])'; prints the\n"
    "                          result in WAVE\n"
    "  --progress              show compile progress on stderr even if it is not a terminal\n"
    "  -q, --quiet             no compile progress (default: shown when stderr is a terminal)\n"
    "  -v, --verbose           say on stderr which tier runs the module and where its code\n"
    "                          comes from\n"
    "  -h, --help              show this help\n";

int Usage(const std::string& msg) {
  fprintf(stderr, "arcella run: %s\n\n%s", msg.c_str(), kUsage);
  return kExitUsage;
}

Status ParsePreopen(const std::string& spec, bool read_only, wasi::WasiConfig* cfg) {
  if (spec.empty()) return Status::InvalidArgument("--dir needs HOST[::GUEST]");
  size_t sep = spec.find("::");
  wasi::WasiConfig::Preopen p;
  p.host_path = sep == std::string::npos ? spec : spec.substr(0, sep);
  p.guest_path = sep == std::string::npos ? spec : spec.substr(sep + 2);
  p.read_only = read_only;
  if (p.host_path.empty() || p.guest_path.empty())
    return Status::InvalidArgument("--dir \"" + spec + "\": empty host or guest path");
  cfg->preopens.push_back(std::move(p));
  return Status::Ok();
}

// Returns -1 on success, else the exit code for a usage error.
int ParseCommandLine(int argc, char** argv, RunOptions* o) {
  int i = 1;
  auto need = [&](const std::string& opt) -> std::optional<std::string> {
    if (i + 1 >= argc) return std::nullopt;
    (void)opt;
    return std::string(argv[++i]);
  };
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;  // FILE
    std::string val;
    size_t eq = a.find('=');
    bool inline_val = a.rfind("--", 0) == 0 && eq != std::string::npos;
    std::string name = inline_val ? a.substr(0, eq) : a;
    auto value = [&]() -> std::optional<std::string> {
      if (inline_val) return a.substr(eq + 1);
      return need(name);
    };
    std::optional<std::string> v;
    if (name == "--progress" || name == "--quiet" || name == "-q") {
      if (inline_val) return Usage(name + " takes no value");
      o->progress = name == "--progress";
    } else if (name == "-v" || name == "--verbose") {
      if (inline_val) return Usage(name + " takes no value");
      o->verbose = true;
    } else if (name == "--tier-up-bytes") {
      if (!(v = value())) return Usage("--tier-up-bytes needs a size");
      auto s = *v == "0" ? Result<uint64_t>(uint64_t{0}) : platform::ParseByteSize(*v);
      if (!s.ok()) return Usage("--tier-up-bytes: " + s.status().message());
      o->tier_up_bytes = *s;
    } else if (name == "--dir" || name == "--dir-ro") {
      if (!(v = value())) return Usage(name + " needs a value");
      if (auto st = ParsePreopen(*v, name == "--dir-ro", &o->wasi); !st.ok())
        return Usage(st.message());
    } else if (name == "--env") {
      if (!(v = value())) return Usage("--env needs KEY=VALUE");
      size_t e = v->find('=');
      if (e == std::string::npos || e == 0)
        return Usage("--env \"" + *v + "\": expected KEY=VALUE");
      o->wasi.env.emplace_back(v->substr(0, e), v->substr(e + 1));
    } else if (name == "--fuel") {
      if (!(v = value())) return Usage("--fuel needs a number");
      auto f = engine::ParseValue(engine::ValType::kI64, *v);
      if (!f.ok() || static_cast<int64_t>(f->i64) < 0)
        return Usage("--fuel \"" + *v + "\": expected a non-negative integer");
      o->fuel = f->i64;
    } else if (name == "--max-memory") {
      if (!(v = value())) return Usage("--max-memory needs a size");
      auto s = platform::ParseByteSize(*v);
      if (!s.ok()) return Usage("--max-memory: " + s.status().message());
      o->max_memory = *s;
    } else if (name == "--max-stack") {
      if (!(v = value())) return Usage("--max-stack needs a number");
      auto s = engine::ParseValue(engine::ValType::kI32, *v);
      if (!s.ok() || s->i32 == 0 || static_cast<int32_t>(s->i32) < 0)
        return Usage("--max-stack \"" + *v + "\": expected a positive integer");
      o->max_stack = s->i32;
    } else if (name == "--timeout") {
      if (!(v = value())) return Usage("--timeout needs a duration");
      auto d = platform::ParseDuration(*v);
      if (!d.ok()) return Usage("--timeout: " + d.status().message());
      o->timeout = *d;
    } else if (name == "--tier") {
      if (!(v = value())) return Usage("--tier needs aot, interp or auto");
      if (*v == "aot") o->tier = engine::Tier::kAot;
      else if (*v == "interp") o->tier = engine::Tier::kInterp;
      else if (*v == "auto") o->tier = engine::Tier::kAuto;
      else return Usage("--tier \"" + *v + "\": expected aot, interp or auto");
    } else if (name == "--metering") {
      if (!(v = value())) return Usage("--metering needs fuel, interrupt or none");
      auto m = ParseMetering(*v);
      if (!m) return Usage("--metering \"" + *v + "\": expected fuel, interrupt or none");
      o->metering = *m;
    } else if (name == "--invoke") {
      if (!(v = value())) return Usage("--invoke needs an export name");
      o->invoke = *v;
    } else {
      return Usage("unknown option " + name);
    }
  }
  if (i >= argc) return Usage("missing FILE.wasm");
  o->file = argv[i++];
  for (; i < argc; ++i) o->args.push_back(argv[i]);
  return -1;
}

int ReportTrap(const engine::Trap& trap, const std::string& what) {
  if (trap.kind == engine::TrapKind::kExit) return trap.exit_code;
  fprintf(stderr, "arcella run: %s: trap: %s\n", what.c_str(), trap.ToString().c_str());
  return kExitTrap;
}

// Reads the module's headers and resolves its imports against `linker`.
// Returns -1 if the module may be compiled, else the exit code. `out` gets
// the headers if they parse.
int Preflight(const std::string& file, std::span<const uint8_t> bytes, const engine::Linker& linker,
              std::optional<engine::Preflight>* out) {
  auto pf = engine::PreflightModule(bytes);
  if (!pf.ok()) return -1;  // malformed, or a component: Module::Compile explains
  *out = *pf;
  Status st = engine::CheckImports(*pf, linker);
  if (st.ok()) {
    for (const engine::FeatureUse& u : pf->features) {
      if (!engine::InterpreterSupports(u.feature)) {
        st = Status::Unsupported(engine::DescribeFeatureUse(u, "by this engine"));
        break;
      }
    }
  }
  if (st.ok()) return -1;
  fprintf(stderr, "arcella run: %s: %s\n", file.c_str(), st.message().c_str());
  return kExitLoadError;
}

// Where the module's code comes from (--verbose) and what the user is told.
struct TierChoice {
  engine::Tier tier = engine::Tier::kAuto;       // what to compile on
  std::shared_ptr<const engine::Module> cached;  // an AOT cache hit
  std::string how;                               // for --verbose
};

// --tier auto: the AOT tier if the cache has the module; else, for a module
// with more than o.tier_up_bytes of code, the interpreter now and an AOT
// compile in the background (unless one runs already); else a compile.
TierChoice ChooseTier(const RunOptions& o, engine::Engine& eng, std::span<const uint8_t> bytes,
                      const std::optional<engine::Preflight>& pf, bool tell) {
  TierChoice c;
  c.tier = o.tier;
  if (o.tier != engine::Tier::kAuto || !eng.AotAvailable() || !pf || !pf->features.empty())
    return c;  // features the AOT tier cannot run: kAuto picks the interpreter
  engine::CompileOptions probe;
  probe.cached_only = true;
  auto hit = eng.Compile(bytes, probe);
  if (hit.ok()) {
    c.cached = *hit;
    c.how = "compiled code from the cache";
    return c;
  }
  const StatusCode code = hit.status().code();
  if ((code != StatusCode::kNotFound && code != StatusCode::kAlreadyExists) ||
      pf->code_bytes <= o.tier_up_bytes)
    return c;  // small: compile now (a few seconds)
  c.tier = engine::Tier::kInterp;
  std::string line;
  if (code == StatusCode::kAlreadyExists) {
    c.how = "being compiled by another process";
    line = o.file + " is being compiled by another process: running it on the interpreter";
  } else if (auto path = ReopenablePath(o.file); !path) {
    c.how = "no background compile: not a file another process can open";
    line = o.file +
           " is not compiled yet and cannot be compiled in the background (not a file another "
           "process can open): running it on the interpreter";
  } else if (auto pid = StartBackgroundCompile(*path, o.metering); !pid.ok()) {
    c.how = "no background compile: " + pid.status().message();
    line = o.file + " is not compiled yet: running it on the interpreter (" +
           pid.status().message() + ")";
  } else {
    c.how = "compiling in the background, pid " + std::to_string(*pid);
    line = o.file +
           " is not compiled yet: running it on the interpreter; compiling it in the background "
           "(pid " +
           std::to_string(*pid) + ") for the next runs";
  }
  if (tell) fprintf(stderr, "arcella: %s\n", line.c_str());
  return c;
}

}  // namespace

int RunCommand(int argc, char** argv) {
  RunOptions o;
  if (int rc = ParseCommandLine(argc, argv, &o); rc >= 0) return rc;

  // Regular files only, bounded: /dev/zero or a FIFO is an error, not a hang
  // or an out-of-memory kill.
  auto read = ReadModuleFile(o.file);
  if (!read.ok()) {
    fprintf(stderr, "arcella run: %s\n", read.status().message().c_str());
    return kExitLoadError;
  }
  std::vector<uint8_t> bytes = std::move(*read);
  if (component::IsComponentBinary(bytes)) return RunComponent(std::move(o), std::move(bytes));

  // WASI: argv[0] is the file name (or the invoked function), like wasmtime.
  o.wasi.args.clear();
  o.wasi.args.push_back(o.invoke ? *o.invoke : o.file);
  if (!o.invoke)
    for (const auto& a : o.args) o.wasi.args.push_back(a);
  o.wasi.stdin_fd = 0;
  o.wasi.stdout_stream.host_fd = 1;
  o.wasi.stderr_stream.host_fd = 2;
  // Blocking WASI calls (sleep, poll, stdin) give up when the deadline passes.
  // (A weak reference: the instance owns the WASI context through its imports.)
  auto current = std::make_shared<std::weak_ptr<engine::Instance>>();
  o.wasi.interrupted = [current] {
    auto i = current->lock();
    return i && i->InterruptPending();
  };
  auto ctx = wasi::WasiCtx::Create(o.wasi);
  if (!ctx.ok()) {
    fprintf(stderr, "arcella run: %s\n", ctx.status().message().c_str());
    return kExitLoadError;
  }
  engine::Linker linker;
  if (auto st = (*ctx)->AddToLinker(linker); !st.ok()) {
    fprintf(stderr, "arcella run: %s\n", st.message().c_str());
    return kExitLoadError;
  }
  // Every unresolved import and unsupported proposal is reported before
  // anything is compiled.
  std::optional<engine::Preflight> pf;
  if (int rc = Preflight(o.file, bytes, linker, &pf); rc >= 0) return rc;

  // One artefact serves runs with and without --fuel / --timeout.
  auto eng = ToolEngine(o.metering);
  if (!eng.ok()) {
    fprintf(stderr, "arcella run: %s\n", eng.status().message().c_str());
    return kExitLoadError;
  }
  const bool show = o.progress.value_or(CompileFeedback::DefaultShowProgress());
  TierChoice choice = ChooseTier(o, **eng, bytes, pf, show);
  Result<std::shared_ptr<const engine::Module>> mod = choice.cached;
  if (!choice.cached) {
    engine::CompileOptions copts;
    copts.tier = choice.tier;
    // Progress on a terminal; Ctrl-C or SIGTERM cancels the compile (exit 130/143).
    CompileFeedback feedback(o.file, show, "arcella run",
                             choice.tier == engine::Tier::kInterp ? "loading" : "compiling");
    copts.cancel = feedback.cancel();
    copts.on_progress = [&feedback](const engine::CompileProgress& p) { feedback.OnProgress(p); };
    mod = (*eng)->Compile(bytes, copts);
    if (int cancelled = feedback.Finish()) return cancelled;
    if (!mod.ok()) {
      fprintf(stderr, "arcella run: %s: %s\n", o.file.c_str(), mod.status().message().c_str());
      return kExitLoadError;
    }
    if (choice.how.empty()) choice.how = "compiled now";
  }
  if (o.verbose)
    fprintf(stderr, "arcella run: %s: %s tier (%s)\n", o.file.c_str(),
            (*mod)->tier() == engine::Tier::kAot ? "aot" : "interpreter", choice.how.c_str());

  engine::InstanceOptions iopts;
  iopts.limits.fuel = o.fuel;
  iopts.limits.max_memory_bytes = o.max_memory;
  iopts.limits.max_stack_depth = o.max_stack;
  iopts.limits.deadline = o.timeout;
  auto inst = engine::Instance::Create(*mod, linker, iopts);
  if (!inst.ok()) {
    fprintf(stderr, "arcella run: %s: %s\n", o.file.c_str(), inst.status().message().c_str());
    return kExitLoadError;
  }
  *current = *inst;

  if (!o.invoke) {
    const engine::ExportDesc* start = (*mod)->FindExport("_start");
    if (!start || start->desc.kind != engine::ExternKind::kFunc) {
      fprintf(stderr,
              "arcella run: %s has no _start function (not a WASI command); use --invoke NAME\n",
              o.file.c_str());
      return kExitLoadError;
    }
    auto out = (*inst)->Call("_start", {});
    if (!out.ok()) {
      fprintf(stderr, "arcella run: %s\n", out.status().message().c_str());
      return kExitLoadError;
    }
    if (out->trap) return ReportTrap(*out->trap, o.file);
    return 0;
  }

  // Reactors are initialised before their exports are called.
  if (const auto* init = (*mod)->FindExport("_initialize");
      init && init->desc.kind == engine::ExternKind::kFunc) {
    auto out = (*inst)->Call("_initialize", {});
    if (out.ok() && out->trap) return ReportTrap(*out->trap, "_initialize");
  }
  const engine::ExportDesc* fn = (*mod)->FindExport(*o.invoke);
  if (!fn || fn->desc.kind != engine::ExternKind::kFunc) {
    std::string names;
    for (const auto& e : (*mod)->exports())
      if (e.desc.kind == engine::ExternKind::kFunc) names += (names.empty() ? "" : ", ") + e.name;
    fprintf(stderr, "arcella run: %s exports no function \"%s\" (functions: %s)\n", o.file.c_str(),
            o.invoke->c_str(), names.empty() ? "none" : names.c_str());
    return kExitLoadError;
  }
  auto args = engine::ParseArgs(*o.invoke, fn->desc.func, o.args);
  if (!args.ok()) {
    fprintf(stderr, "arcella run: %s\n", args.status().message().c_str());
    return kExitUsage;
  }
  auto out = (*inst)->Call(*o.invoke, *args);
  if (!out.ok()) {
    fprintf(stderr, "arcella run: %s\n", out.status().message().c_str());
    return kExitLoadError;
  }
  if (out->trap) return ReportTrap(*out->trap, *o.invoke);
  for (const auto& r : out->results) printf("%s\n", engine::FormatValue(r).c_str());
  return 0;
}

}  // namespace arcella::tools
