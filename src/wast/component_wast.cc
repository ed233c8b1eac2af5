#include "wast/component_wast.h"

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <span>

#include "component/decoder.h"
#include "component/instance.h"
#include "wast/component_script.h"

namespace arcella::wast {
namespace {

std::string Where(const std::string& file, SourcePos p) {
  return file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

class ComponentWastRun {
 public:
  ComponentWastRun(const ComponentScript& script, std::vector<ComponentBinaryOrError> converted,
                   const ComponentWastOptions& options, std::ostream& log)
      : script_(script), converted_(std::move(converted)), options_(options), log_(log) {}

  ComponentWastCounts Run() {
    size_t next_text = 0;
    for (const ScriptCommand& c : script_.commands) {
      const ComponentBinaryOrError* text = nullptr;
      if (c.has_component && c.component.form != ComponentForm::kBinary)
        text = &converted_[next_text++];
      RunCommand(c, text);
    }
    return counts_;
  }

 private:
  void Fail(const ScriptCommand& c, const std::string& why) {
    std::string line = Where(script_.file, c.pos) + ": " + CommandKindName(c.kind) + ": " + why;
    log_ << line << "\n";
    counts_.failures.push_back(std::move(line));
    ++counts_.failed;
  }

  // Decodes the command's component; `by_text` tells whether jco's text
  // parser refused it. Returns the decoder's status; `out` (if given)
  // receives the component.
  Status Decode(const ScriptCommand& c, const ComponentBinaryOrError* text, bool* by_text,
                std::shared_ptr<const component::Component>* out = nullptr) {
    *by_text = false;
    std::span<const uint8_t> bytes;
    if (text) {
      if (!text->ok()) {
        *by_text = true;
        return text->status();
      }
      bytes = **text;
    } else {
      bytes = c.component.binary;
    }
    auto decoded = component::DecodeComponent(bytes);
    if (!decoded.ok()) return decoded.status();
    if (out) *out = decoded.value();
    return Status::Ok();
  }

  void Unsupported(const ScriptCommand& c, const std::string& why) {
    ++counts_.run_unsupported;
    log_ << Where(script_.file, c.pos) << ": unsupported: " << why << "\n";
  }

  // Instantiates `comp` as instance `id` (and the latest one). Unsupported
  // components and components with imports make the instance unavailable.
  void Instantiate(const ScriptCommand& c, const std::shared_ptr<const component::Component>& comp,
                   const std::string& id) {
    latest_.reset();
    if (!id.empty()) live_.erase(id);
    if (!comp->imports.empty()) {
      Unsupported(c, "the component imports " + comp->imports[0].name.text +
                         " (no host imports in the reference tests)");
      return;
    }
    component::ComponentOptions o;
    o.tier = options_.tier;
    o.limits = options_.limits;
    auto inst = component::ComponentInstance::Create(options_.engine, comp, component::Linker(), o);
    if (!inst.ok()) {
      if (inst.status().code() == StatusCode::kUnsupported) Unsupported(c, inst.status().message());
      else Fail(c, "instantiation failed: " + inst.status().ToString());
      return;
    }
    ++counts_.instantiated;
    latest_ = inst.value();
    if (!id.empty()) live_[id] = latest_;
  }

  // Runs the command's invoke. Returns false (having counted it) if it could
  // not run.
  bool Invoke(const ScriptCommand& c, const component::FuncType** type,
              Result<component::CallResult>* out) {
    std::shared_ptr<component::ComponentInstance> inst = latest_;
    if (!c.invoke.instance.empty()) {
      auto it = live_.find(c.invoke.instance);
      inst = it == live_.end() ? nullptr : it->second;
    }
    if (!inst) {
      Unsupported(c, "its instance was not created");
      return false;
    }
    const component::FuncType* ft = inst->FuncTypeOf(c.invoke.name);
    if (!ft) {
      Fail(c, "no exported function \"" + c.invoke.name + "\"");
      return false;
    }
    if (ft->params.size() != c.invoke.args.size()) {
      Fail(c, "\"" + c.invoke.name + "\" takes " + std::to_string(ft->params.size()) +
                  " arguments, the script gives " + std::to_string(c.invoke.args.size()));
      return false;
    }
    std::vector<component::Val> args;
    for (size_t i = 0; i < c.invoke.args.size(); ++i) {
      auto v = c.invoke.args[i].Resolve(*ft->params[i].type);
      if (!v.ok()) {
        Fail(c, "argument " + std::to_string(i) + ": " + v.status().message());
        return false;
      }
      args.push_back(std::move(v).value());
    }
    *type = ft;
    *out = inst->Call(c.invoke.name, std::move(args));
    if (!out->ok()) {
      Fail(c, "call refused: " + out->status().ToString());
      return false;
    }
    return true;
  }

  void RunInstantiation(const ScriptCommand& c, const ComponentBinaryOrError* text) {
    switch (c.kind) {
      case CommandKind::kComponent: {
        bool by_text = false;
        std::shared_ptr<const component::Component> comp;
        Status s = Decode(c, text, &by_text, &comp);
        if (!s.ok()) {
          if (s.code() == StatusCode::kUnsupported && !by_text) {
            ++counts_.unsupported;
            log_ << Where(script_.file, c.pos) << ": unsupported: " << s.message() << "\n";
          } else {
            Fail(c, std::string(by_text ? "jco's text parser" : "the decoder") +
                        " refused a valid component: " + s.message());
          }
          if (!c.component.definition) latest_.reset();
          return;
        }
        ++counts_.valid_decoded;
        if (!c.component.id.empty()) definitions_[c.component.id] = comp;
        if (!c.component.definition) Instantiate(c, comp, c.component.id);
        return;
      }
      case CommandKind::kInstance: {
        auto it = definitions_.find(c.definition_id);
        if (it == definitions_.end()) {
          if (components_.count(c.definition_id))
            Unsupported(c, "component " + c.definition_id + " did not decode");
          else Fail(c, "no component " + c.definition_id + " defined before");
          latest_.reset();
          return;
        }
        Instantiate(c, it->second, c.instance_id);
        return;
      }
      case CommandKind::kRegister:
        Unsupported(c, "register (no linking between instances)");
        return;
      case CommandKind::kInvoke: {
        const component::FuncType* ft = nullptr;
        Result<component::CallResult> out = component::CallResult{};
        if (!Invoke(c, &ft, &out)) return;
        if (!out->ok()) Fail(c, "trapped: " + out->trap->ToString());
        else ++counts_.invoked;
        return;
      }
      case CommandKind::kAssertReturn: {
        const component::FuncType* ft = nullptr;
        Result<component::CallResult> out = component::CallResult{};
        if (!Invoke(c, &ft, &out)) return;
        if (!out->ok()) {
          Fail(c, "trapped: " + out->trap->ToString());
          return;
        }
        const std::vector<component::Val>& got = out->results;
        if (got.size() != c.expected.size()) {
          Fail(c, "returned " + std::to_string(got.size()) + " values, expected " +
                      std::to_string(c.expected.size()));
          return;
        }
        for (size_t i = 0; i < got.size(); ++i) {
          auto want = c.expected[i].Resolve(*ft->result);
          if (!want.ok()) {
            Fail(c, "expected value: " + want.status().message());
            return;
          }
          if (!component::ValEquals(got[i], *want)) {
            Fail(c, "result differs from the expected value");
            return;
          }
        }
        ++counts_.returns_passed;
        return;
      }
      case CommandKind::kAssertTrap: {
        if (c.has_component) {
          bool by_text = false;
          std::shared_ptr<const component::Component> comp;
          Status s = Decode(c, text, &by_text, &comp);
          if (!s.ok()) {
            if (s.code() == StatusCode::kUnsupported && !by_text) Unsupported(c, s.message());
            else Fail(c, "the component of an assert_trap does not decode: " + s.message());
            return;
          }
          if (!comp->imports.empty()) {
            Unsupported(c, "the component imports " + comp->imports[0].name.text);
            return;
          }
          component::ComponentOptions o;
          o.tier = options_.tier;
          o.limits = options_.limits;
          auto inst = component::ComponentInstance::Create(options_.engine, comp,
                                                           component::Linker(), o);
          if (inst.ok()) Fail(c, "instantiated; expected a trap \"" + c.message + "\"");
          else if (inst.status().code() == StatusCode::kUnsupported)
            Unsupported(c, inst.status().message());
          else ++counts_.traps_passed;
          return;
        }
        const component::FuncType* ft = nullptr;
        Result<component::CallResult> out = component::CallResult{};
        if (!Invoke(c, &ft, &out)) return;
        if (out->ok()) Fail(c, "returned; expected a trap \"" + c.message + "\"");
        else ++counts_.traps_passed;
        return;
      }
      default: return;
    }
  }

  void RunCommand(const ScriptCommand& c, const ComponentBinaryOrError* text) {
    bool by_text = false;
    if (options_.engine && c.kind != CommandKind::kAssertInvalid &&
        c.kind != CommandKind::kAssertMalformed) {
      if (c.kind == CommandKind::kComponent && !c.component.id.empty())
        components_.insert(c.component.id);
      RunInstantiation(c, text);
      return;
    }
    // Script consistency, checked now although the commands run next stop.
    if (c.kind == CommandKind::kComponent && !c.component.id.empty()) {
      components_.insert(c.component.id);
      if (!c.component.definition) instances_.insert(c.component.id);
    }
    const std::string& target = c.kind == CommandKind::kRegister ? c.instance_id
                                                                 : c.invoke.instance;
    if (!target.empty() && !instances_.count(target) &&
        (c.kind == CommandKind::kRegister || !c.has_component))
      Fail(c, "no instance " + target + " before");
    switch (c.kind) {
      case CommandKind::kComponent:
      case CommandKind::kAssertTrap: {
        if (c.kind == CommandKind::kAssertTrap) ++counts_.needs_instantiation;
        if (!c.has_component) return;
        Status s = Decode(c, text, &by_text);
        if (s.ok()) {
          if (c.kind == CommandKind::kComponent) ++counts_.valid_decoded;
        } else if (s.code() == StatusCode::kUnsupported && !by_text) {
          ++counts_.unsupported;
          log_ << Where(script_.file, c.pos) << ": unsupported: " << s.message() << "\n";
        } else {
          Fail(c, std::string(by_text ? "jco's text parser" : "the decoder") +
                      " refused a valid component: " + s.message());
        }
        return;
      }
      case CommandKind::kAssertInvalid:
      case CommandKind::kAssertMalformed: {
        Status s = Decode(c, text, &by_text);
        if (s.ok()) {
          Fail(c, "decoded a component that must be refused (expected: \"" + c.message + "\")");
        } else if (s.code() == StatusCode::kUnsupported && !by_text) {
          ++counts_.unsupported;
          log_ << Where(script_.file, c.pos) << ": unsupported: " << s.message() << "\n";
        } else {
          ++(c.kind == CommandKind::kAssertInvalid ? counts_.invalid_refused
                                                   : counts_.malformed_refused);
          if (by_text) ++counts_.refused_by_text;
        }
        return;
      }
      case CommandKind::kInstance:
        ++counts_.needs_instantiation;
        if (!components_.count(c.definition_id))
          Fail(c, "no component " + c.definition_id + " defined before");
        else if (!c.instance_id.empty()) instances_.insert(c.instance_id);
        return;
      case CommandKind::kRegister:
      case CommandKind::kInvoke:
      case CommandKind::kAssertReturn: ++counts_.needs_instantiation; return;
    }
  }

  const ComponentScript& script_;
  std::set<std::string> components_;  // ids of components and definitions so far
  std::set<std::string> instances_;   // ids of instances so far (named components too)
  std::vector<ComponentBinaryOrError> converted_;
  const ComponentWastOptions& options_;
  std::ostream& log_;
  std::map<std::string, std::shared_ptr<const component::Component>> definitions_;
  std::map<std::string, std::shared_ptr<component::ComponentInstance>> live_;
  std::shared_ptr<component::ComponentInstance> latest_;
  ComponentWastCounts counts_;
};

}  // namespace

std::string FormatComponentWastCounts(const ComponentWastCounts& c) {
  return std::to_string(c.valid_decoded) + " valid decoded, " + std::to_string(c.invalid_refused) +
         " invalid refused, " + std::to_string(c.malformed_refused) + " malformed refused (" +
         std::to_string(c.refused_by_text) + " of these by the text parser), " +
         std::to_string(c.unsupported) + " unsupported, " + std::to_string(c.needs_instantiation) +
         " need instantiation (not run), " + std::to_string(c.instantiated) + " instantiated, " +
         std::to_string(c.invoked) + " invoked, " + std::to_string(c.returns_passed) +
         " assert_return passed, " + std::to_string(c.traps_passed) + " assert_trap passed, " +
         std::to_string(c.run_unsupported) + " could not run, " + std::to_string(c.failed) +
         " failed";
}

Result<ComponentWastCounts> RunComponentWastText(const std::string& name, std::string_view text,
                                                 const ComponentWastOptions& options,
                                                 std::ostream& log) {
  auto script = ParseComponentScript(text, name);
  if (!script.ok()) return script.status();
  std::vector<std::string> texts;
  for (const ScriptCommand& c : script->commands)
    if (c.has_component && c.component.form != ComponentForm::kBinary)
      texts.push_back(c.component.text);
  std::vector<ComponentBinaryOrError> converted;
  if (!texts.empty()) {
    auto r = ConvertComponentTexts(texts, options.tools);
    if (!r.ok()) return r.status().WithContext(name);
    converted = std::move(*r);
  }
  ComponentWastCounts counts = ComponentWastRun(*script, std::move(converted), options, log).Run();
  log << name << ": " << FormatComponentWastCounts(counts) << "\n";
  return counts;
}

Result<ComponentWastCounts> RunComponentWastFile(const std::string& path,
                                                 const ComponentWastOptions& options,
                                                 std::ostream& log) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return RunComponentWastText(path, text, options, log);
}

}  // namespace arcella::wast
