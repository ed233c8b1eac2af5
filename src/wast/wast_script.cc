#include "wast/wast_script.h"

#include <algorithm>

#include "wabt/cast.h"
#include "wabt/ir.h"
#include "wast/wast_modules.h"
#include "wast/wast_values.h"

namespace arcella::wast {
namespace {

using engine::Instance;
using engine::Tier;
using engine::TrapKind;

std::string KindsText(const std::vector<TrapKind>& kinds) {
  std::string s;
  for (TrapKind k : kinds) s += (s.empty() ? "" : " or ") + std::string(engine::TrapKindName(k));
  return s;
}

std::string ValuesText(const std::vector<engine::Value>& values) {
  std::string s = "(";
  for (size_t i = 0; i < values.size(); ++i) s += (i ? " " : "") + FormatValue(values[i]);
  return s + ")";
}

std::string ActionText(const wabt::Action& action) {
  return (action.type() == wabt::ActionType::Invoke ? "invoke \"" : "get \"") + action.name + "\"";
}

}  // namespace

ScriptRunner::ScriptRunner(std::string file, const WastOptions& options, std::ostream& log)
    : file_(std::move(file)),
      options_(options),
      log_(log),
      engine_(engine::Engine::Create(
          {.cache_dir = options.cache_dir, .cc = options.cc, .metering = engine::Metering::kNone})),
      spectest_(engine_.ok() ? *engine_ : nullptr) {}

void ScriptRunner::Fail(int line, const std::string& what, const std::string& why) {
  ++summary_.failed;
  std::string msg = file_ + ":" + std::to_string(line) + ": " + what + ": " + why;
  log_ << msg << "\n";
  summary_.failures.push_back(std::move(msg));
}

void ScriptRunner::Skip(int line, const std::string& what, const std::string& why) {
  ++summary_.skipped;
  if (options_.verbose) log_ << file_ << ":" << line << ": skipped " << what << ": " << why << "\n";
}

void ScriptRunner::Run(wabt::Script& script) {
  for (size_t i = 0; i < script.commands.size(); ++i) {
    RunCommand(static_cast<uint32_t>(i), *script.commands[i]);
  }
}

void ScriptRunner::RunCommand(uint32_t index, wabt::Command& command) {
  switch (command.type) {
    case wabt::CommandType::Module: {
      auto& m = wabt::cast<wabt::ModuleCommand>(&command)->module;
      DoModule(index, m.loc.line, m.name, command);
      return;
    }
    case wabt::CommandType::ScriptModule: {
      auto& m = wabt::cast<wabt::ScriptModuleCommand>(&command)->module;
      DoModule(index, m.loc.line, m.name, command);
      return;
    }
    case wabt::CommandType::Action: {
      auto& action = *wabt::cast<wabt::ActionCommand>(&command)->action;
      ActionResult r = Perform(action);
      if (!r.error.empty()) return Fail(action.loc.line, ActionText(action), r.error);
      if (r.trap)
        return Fail(action.loc.line, ActionText(action), "trapped: " + r.trap->ToString());
      return Pass();
    }
    case wabt::CommandType::Register: return DoRegister(command);
    case wabt::CommandType::AssertReturn: return DoAssertReturn(command);
    case wabt::CommandType::AssertTrap: {
      auto* c = wabt::cast<wabt::AssertTrapCommand>(&command);
      return DoAssertTrap(c->action->loc.line, "assert_trap", *c->action, c->text);
    }
    case wabt::CommandType::AssertExhaustion: {
      auto* c = wabt::cast<wabt::AssertExhaustionCommand>(&command);
      return DoAssertTrap(c->action->loc.line, "assert_exhaustion", *c->action, c->text);
    }
    case wabt::CommandType::AssertMalformed: return DoAssertRejected(command, "assert_malformed");
    case wabt::CommandType::AssertInvalid: return DoAssertRejected(command, "assert_invalid");
    case wabt::CommandType::AssertUnlinkable: return DoAssertUnlinkable(command);
    case wabt::CommandType::AssertUninstantiable: return DoAssertUninstantiable(command);
    case wabt::CommandType::AssertException: {
      // Exception handling runs on the interpreter, where an exception that
      // leaves the call is a trap "uncaught exception".
      auto* c = wabt::cast<wabt::AssertExceptionCommand>(&command);
      const int line = c->action->loc.line;
      const std::string what = "assert_exception " + ActionText(*c->action);
      ActionResult r = Perform(*c->action);
      if (!r.error.empty()) return Fail(line, what, r.error);
      if (!r.trap || r.trap->message != "uncaught exception")
        return Fail(line, what,
                    "expected an uncaught exception, got " +
                        (r.trap ? r.trap->ToString() : ValuesText(r.values)));
      return Pass();
    }
  }
  Skip(0, "command", "unknown command type");
}

const ScriptRunner::Compiled& ScriptRunner::CompileCached(const std::vector<uint8_t>& wasm,
                                                          Tier tier) {
  std::string key(1, static_cast<char>(tier));
  key.append(wasm.begin(), wasm.end());
  auto it = compiled_.find(key);
  if (it != compiled_.end()) return it->second;
  engine::CompileOptions options;
  options.tier = tier;
  auto result = engine_.ok() ? (*engine_)->Compile(wasm, options)
                             : Result<std::shared_ptr<const engine::Module>>(engine_.status());
  Compiled c;
  if (result.ok()) {
    c.module = *result;
  } else {
    c.status = result.status();
  }
  return compiled_.emplace(std::move(key), std::move(c)).first->second;
}

Result<std::shared_ptr<Instance>> ScriptRunner::Instantiate(
    std::shared_ptr<const engine::Module> module) {
  engine::Linker linker;
  ARCELLA_RETURN_IF_ERROR(spectest_.AddTo(&linker, module->tier()));
  for (const auto& [name, instance] : registered_) {
    // Instances link only into modules of their own tier.
    if (instance->module().tier() == module->tier()) linker.DefineInstance(name, instance);
  }
  // One store per script and tier, as in the spec's script semantics: a
  // module may import memories from two instances on the interpreter tier.
  ARCELLA_ASSIGN_OR_RETURN(std::shared_ptr<Instance> spectest,
                           spectest_.InstanceFor(module->tier()));
  engine::InstanceOptions options;
  options.store_with = spectest.get();
  return Instance::Create(std::move(module), linker, options);
}

void ScriptRunner::DoModule(uint32_t index, int line, const std::string& name,
                            wabt::Command& command) {
  current_ = nullptr;  // a failed module must not leave a stale current one
  by_command_.erase(index);
  ModuleBytes bytes;
  if (command.type == wabt::CommandType::ScriptModule) {
    auto* c = wabt::cast<wabt::ScriptModuleCommand>(&command);
    bytes = c->script_module ? ScriptModuleBytes(c->script_module.get(), options_.multi_memory)
                             : EncodeTextModule(&c->module, options_.multi_memory);
  } else {
    bytes = EncodeTextModule(&wabt::cast<wabt::ModuleCommand>(&command)->module,
                             options_.multi_memory);
  }
  if (!bytes.ok()) return Fail(line, "module", bytes.rejected);
  const Compiled& c = CompileCached(bytes.wasm, options_.tier);
  if (!c.module) return Fail(line, "module", "compile failed: " + c.status.ToString());
  auto instance = Instantiate(c.module);
  if (!instance.ok())
    return Fail(line, "module", "instantiation failed: " + instance.status().ToString());
  current_ = *instance;
  if (options_.verbose) {
    log_ << file_ << ":" << line << ": module" << (name.empty() ? "" : " " + name) << " on "
         << engine::TierName(c.module->tier()) << "\n";
  }
  by_command_[index] = current_;
  if (!name.empty()) by_name_[name] = current_;
  Pass();
}

std::shared_ptr<Instance> ScriptRunner::Lookup(const wabt::Var& var) {
  if (var.is_name()) {
    auto it = by_name_.find(var.name());
    return it == by_name_.end() ? nullptr : it->second;
  }
  if (var.index() == wabt::kInvalidIndex) return current_;
  auto it = by_command_.find(var.index());
  return it == by_command_.end() ? nullptr : it->second;
}

void ScriptRunner::DoRegister(wabt::Command& command) {
  auto* c = wabt::cast<wabt::RegisterCommand>(&command);
  auto instance = Lookup(c->var);
  if (!instance)
    return Fail(c->var.loc.line, "register \"" + c->module_name + "\"", "no such module");
  registered_[c->module_name] = instance;
}

ScriptRunner::ActionResult ScriptRunner::Perform(wabt::Action& action) {
  ActionResult r;
  auto instance = Lookup(action.module_var);
  if (!instance) {
    r.error = "no module instance (an earlier module failed?)";
    return r;
  }
  if (action.type() == wabt::ActionType::Get) {
    auto v = instance->GetGlobal(action.name);
    if (!v.ok()) {
      r.error = v.status().ToString();
    } else {
      r.values.push_back(*v);
    }
    return r;
  }
  auto& invoke = *wabt::cast<wabt::InvokeAction>(&action);
  std::vector<engine::Value> args;
  for (const wabt::Const& c : invoke.args) {
    auto v = ConstToValue(c);
    if (!v.ok()) {
      r.error = "unsupported argument: " + v.status().message();
      return r;
    }
    args.push_back(*v);
  }
  auto outcome = instance->Call(action.name, args);
  if (!outcome.ok()) {
    r.error = outcome.status().ToString();
  } else if (outcome->trap) {
    r.trap = outcome->trap;
  } else {
    r.values = std::move(outcome->results);
  }
  return r;
}

void ScriptRunner::DoAssertReturn(wabt::Command& command) {
  auto* c = wabt::cast<wabt::AssertReturnCommand>(&command);
  wabt::Action& action = *c->action;
  const std::string what = "assert_return " + ActionText(action);
  const int line = action.loc.line;
  ActionResult r = Perform(action);
  if (!r.error.empty()) return Fail(line, what, r.error);
  if (r.trap) return Fail(line, what, "unexpected trap: " + r.trap->ToString());
  const wabt::ConstVector& expected = c->expected->expected;
  std::string want;
  for (const auto& e : expected) want += (want.empty() ? "" : " ") + FormatConst(e);
  bool ok;
  if (c->expected->type() == wabt::ExpectationType::Either) {
    ok = r.values.size() == 1 &&
         std::any_of(expected.begin(), expected.end(),
                     [&](const wabt::Const& e) { return MatchesExpected(e, r.values[0]); });
    want = "either " + want;
  } else {
    ok = r.values.size() == expected.size();
    for (size_t i = 0; ok && i < expected.size(); ++i)
      ok = MatchesExpected(expected[i], r.values[i]);
  }
  if (!ok) return Fail(line, what, "expected (" + want + "), got " + ValuesText(r.values));
  Pass();
}

void ScriptRunner::DoAssertTrap(int line, const char* what_kind, wabt::Action& action,
                                const std::string& text) {
  const std::string what = std::string(what_kind) + " " + ActionText(action);
  ActionResult r = Perform(action);
  if (!r.error.empty()) return Fail(line, what, r.error);
  if (!r.trap)
    return Fail(line, what, "expected trap \"" + text + "\", got " + ValuesText(r.values));
  std::vector<TrapKind> kinds = TrapKindsForText(text);
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), r.trap->kind) == kinds.end()) {
    return Fail(line, what,
                "expected trap " + KindsText(kinds) + " (\"" + text + "\"), got " +
                    r.trap->ToString());
  }
  Pass();
}

void ScriptRunner::DoAssertRejected(wabt::Command& command, const char* what) {
  // Two distinct types (AssertModuleCommand<T>): cast to the real one
  // (a static_cast to the other is undefined behaviour; UBSan reported it).
  wabt::ScriptModule* module = nullptr;
  const std::string* text = nullptr;
  if (command.type == wabt::CommandType::AssertMalformed) {
    auto* m = wabt::cast<wabt::AssertMalformedCommand>(&command);
    module = m->module.get();
    text = &m->text;
  } else {
    auto* v = wabt::cast<wabt::AssertInvalidCommand>(&command);
    module = v->module.get();
    text = &v->text;
  }
  const int line = module->location().line;
  ModuleBytes bytes = ScriptModuleBytes(module, options_.multi_memory);
  if (!bytes.ok()) return Pass();  // the text front-end refused it: correctly rejected
  // Rejection happens while decoding/validating, before any tier compiles;
  // the interpreter tier keeps an (erroneously) accepted module cheap.
  const Compiled& compiled = CompileCached(bytes.wasm, Tier::kInterp);
  if (compiled.module) return Fail(line, what, "module was accepted (expected \"" + *text + "\")");
  Pass();
}

void ScriptRunner::DoAssertUnlinkable(wabt::Command& command) {
  auto* c = wabt::cast<wabt::AssertUnlinkableCommand>(&command);
  const int line = c->module->location().line;
  ModuleBytes bytes = ScriptModuleBytes(c->module.get(), options_.multi_memory);
  if (!bytes.ok()) return Fail(line, "assert_unlinkable", bytes.rejected);
  const Compiled& compiled = CompileCached(bytes.wasm, options_.tier);
  if (!compiled.module)
    return Fail(line, "assert_unlinkable", "compile failed: " + compiled.status.ToString());
  auto instance = Instantiate(compiled.module);
  if (instance.ok())
    return Fail(line, "assert_unlinkable", "module linked (expected \"" + c->text + "\")");
  Pass();
}

void ScriptRunner::DoAssertUninstantiable(wabt::Command& command) {
  auto* c = wabt::cast<wabt::AssertUninstantiableCommand>(&command);
  const int line = c->module->location().line;
  const char* what = "assert_trap (module)";
  ModuleBytes bytes = ScriptModuleBytes(c->module.get(), options_.multi_memory);
  if (!bytes.ok()) return Fail(line, what, bytes.rejected);
  const Compiled& compiled = CompileCached(bytes.wasm, options_.tier);
  if (!compiled.module) return Fail(line, what, "compile failed: " + compiled.status.ToString());
  auto instance = Instantiate(compiled.module);
  if (instance.ok()) return Fail(line, what, "instantiated (expected trap \"" + c->text + "\")");
  // The error names the trap; check it is the expected kind.
  std::vector<TrapKind> kinds = TrapKindsForText(c->text);
  const std::string& msg = instance.status().message();
  bool kind_ok = kinds.empty() || std::any_of(kinds.begin(), kinds.end(), [&](TrapKind k) {
                   return msg.find(engine::TrapKindName(k)) != std::string::npos;
                 });
  if (!kind_ok) {
    return Fail(line, what, "expected trap " + KindsText(kinds) + ", got error: " + msg);
  }
  Pass();
}

}  // namespace arcella::wast
