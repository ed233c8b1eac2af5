#include "wast/component_wast.h"

#include <fstream>
#include <iterator>
#include <set>
#include <span>

#include "component/decoder.h"
#include "wast/component_script.h"

namespace arcella::wast {
namespace {

std::string Where(const std::string& file, SourcePos p) {
  return file + ":" + std::to_string(p.line) + ":" + std::to_string(p.column);
}

class ComponentWastRun {
 public:
  ComponentWastRun(const ComponentScript& script, std::vector<ComponentBinaryOrError> converted,
                   std::ostream& log)
      : script_(script), converted_(std::move(converted)), log_(log) {}

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

  // Decodes the command's component; `refused` receives the refusal (text
  // parser or decoder), empty when it decoded. Returns the decoder's status.
  Status Decode(const ScriptCommand& c, const ComponentBinaryOrError* text, bool* by_text) {
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
    return decoded.ok() ? Status::Ok() : decoded.status();
  }

  void RunCommand(const ScriptCommand& c, const ComponentBinaryOrError* text) {
    bool by_text = false;
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
  std::ostream& log_;
  ComponentWastCounts counts_;
};

}  // namespace

std::string FormatComponentWastCounts(const ComponentWastCounts& c) {
  return std::to_string(c.valid_decoded) + " valid decoded, " + std::to_string(c.invalid_refused) +
         " invalid refused, " + std::to_string(c.malformed_refused) + " malformed refused (" +
         std::to_string(c.refused_by_text) + " of these by the text parser), " +
         std::to_string(c.unsupported) + " unsupported, " + std::to_string(c.needs_instantiation) +
         " need instantiation (next stop), " + std::to_string(c.failed) + " failed";
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
  ComponentWastCounts counts = ComponentWastRun(*script, std::move(converted), log).Run();
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
