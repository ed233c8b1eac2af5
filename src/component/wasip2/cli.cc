// wasi:cli@0.2.12: environment, exit, stdin/stdout/stderr and the terminal
// interfaces (no terminal is ever granted).
#include "component/wasip2/host.h"
#include "component/wasip2/stdio.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

engine::Trap ExitTrap(WasiP2State& st, int32_t code, const char* fn) {
  st.exit_code = code;
  engine::Trap t;
  t.kind = engine::TrapKind::kExit;
  t.function = fn;
  t.exit_code = code;
  return t;
}

// The three stdio streams, made on first use and shared by every handle
// get-stdin/get-stdout/get-stderr gives out (one position, one sink).
struct Stdio {
  std::shared_ptr<InputStreamImpl> in;
  std::shared_ptr<OutputStreamImpl> out, err;
};

}  // namespace

void AddCliDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  WasiInterfaceDef env{"wasi:cli/environment@0.2.12", {}, {}};
  env.impls.emplace_back("get-environment", [st](Vals) -> Ret {
    std::vector<Val> items;
    for (const auto& [k, v] : st->config().env)
      items.push_back(Val::Tuple({Val::String(k), Val::String(v)}));
    return Vals{Val::List(std::move(items))};
  });
  env.impls.emplace_back("get-arguments", [st](Vals) -> Ret {
    std::vector<Val> items;
    for (const auto& a : st->config().args) items.push_back(Val::String(a));
    return Vals{Val::List(std::move(items))};
  });
  // Preview 1 has no working directory: none (relative paths resolve
  // against the preopens, as in wasi-libc).
  env.impls.emplace_back("initial-cwd", [](Vals) -> Ret { return Vals{Val::None()}; });
  out->push_back(std::move(env));

  WasiInterfaceDef exit{"wasi:cli/exit@0.2.12", {}, {}};
  exit.impls.emplace_back("exit", [st](Vals a) -> Ret {
    return ExitTrap(*st, a[0].index == 0 ? 0 : 1, "wasi:cli/exit#exit");
  });
  exit.impls.emplace_back("exit-with-code", [st](Vals a) -> Ret {
    return ExitTrap(*st, static_cast<int32_t>(a[0].u), "wasi:cli/exit#exit-with-code");
  });
  out->push_back(std::move(exit));

  auto stdio = std::make_shared<Stdio>();
  WasiInterfaceDef in{"wasi:cli/stdin@0.2.12", {}, {}};
  in.impls.emplace_back("get-stdin", [st, stdio](Vals) -> Ret {
    if (!stdio->in) stdio->in = MakeStdin(*st);
    TrapOr<Val> h = OwnInputStream(*st, stdio->in);
    if (!h.ok()) return h.take_trap();
    return Vals{std::move(h).value()};
  });
  out->push_back(std::move(in));
  for (bool is_err : {false, true}) {
    WasiInterfaceDef o{is_err ? "wasi:cli/stderr@0.2.12" : "wasi:cli/stdout@0.2.12", {}, {}};
    o.impls.emplace_back(is_err ? "get-stderr" : "get-stdout", [st, stdio, is_err](Vals) -> Ret {
      auto& s = is_err ? stdio->err : stdio->out;
      if (!s) s = MakeStdout(*st, is_err);
      TrapOr<Val> h = OwnOutputStream(*st, s);
      if (!h.ok()) return h.take_trap();
      return Vals{std::move(h).value()};
    });
    out->push_back(std::move(o));
  }

  // Resources without functions; a guest never receives one.
  out->push_back({"wasi:cli/terminal-input@0.2.12", {}, {}});
  out->push_back({"wasi:cli/terminal-output@0.2.12", {}, {}});
  for (const char* which : {"stdin", "stdout", "stderr"}) {
    WasiInterfaceDef t{std::string("wasi:cli/terminal-") + which + "@0.2.12", {}, {}};
    t.impls.emplace_back(std::string("get-terminal-") + which,
                         [](Vals) -> Ret { return Vals{Val::None()}; });
    out->push_back(std::move(t));
  }
}

}  // namespace arcella::component
