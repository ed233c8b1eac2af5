// Reads Component Model reference test scripts (.wast files of
// component-model/test): an s-expression tokenizer and the script commands,
// with component value constants read into ScriptValue trees.
//
//   auto script = ParseComponentScript(text, "strings.wast");
//   for (const ScriptCommand& c : script->commands) ...
//
// Commands read (anything else is an error naming its line:column):
//   (component $id? ...)                     a component in text
//   (component definition $id? ...)          same, defined but not instantiated
//   (component $id? binary "..."*)           bytes (also after `definition`)
//   (component $id? quote "..."*)            text given as strings
//   (component instance $i? $C)              instantiates definition $C
//   (invoke $i? "name" value*)               calls an export
//   (register "name" $i?)                    makes an instance importable
//   (assert_return (invoke ...) value*)      expected results
//   (assert_trap (invoke ...) "msg")         expected trap of a call
//   (assert_trap (component ...) "msg")      expected trap while instantiating
//   (assert_invalid (component ...) "msg")   must not validate
//   (assert_malformed (component ...) "msg") must not decode / parse
//
// Values: bool.const, s8..u64.const, f32.const, f64.const, char.const,
// str.const, list.const, record.const (field "name" value) (the value in a
// field may be written unparenthesised: (field "x" u8.const 1)),
// tuple.const, variant.const "case" value?, enum.const "label",
// option.none, option.some value, result.ok value?, result.err value?,
// flags.const "label"*. A ScriptValue knows its kind but not its type: case,
// label and field names stay names until Resolve() meets the type.
//
// Errors: InvalidArgument "file:line:col: ..." for malformed script text.
// Bounded: nesting deeper than kMaxScriptDepth is refused.
// Threads: plain values; no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"

namespace arcella::wast {

inline constexpr int kMaxScriptDepth = 1000;

struct SourcePos {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

// A component value constant as written in a script.
struct ScriptValue {
  // kind, and for scalars their value (bool b, s/u, f32/f64, char c, str);
  // compound payloads are in `items` below, not in val.items.
  component::Val val;
  // variant.const / enum.const: the case name; record fields: in `names`.
  std::string name;
  // record.const: field names (parallel to items); flags.const: the labels.
  std::vector<std::string> names;
  // list/tuple elements, record fields, the payload of a variant, option or
  // result (0 or 1 item).
  std::vector<ScriptValue> items;
  SourcePos pos;

  // The typed value: names become case/label indices, record fields are
  // matched by name in the type's order, flags become bits. InvalidArgument
  // "line:col: ..." if the value does not fit `type`.
  Result<component::Val> Resolve(const component::ValueType& type) const;
};

enum class ComponentForm { kText, kBinary, kQuote };

struct ScriptComponent {
  std::string id;           // "$C" or empty
  bool definition = false;  // (component definition ...)
  ComponentForm form = ComponentForm::kText;
  // kText: "(component $id ...)" as in the file, `definition` blanked out and
  // preceded by newlines and spaces so that line:column positions inside it
  // are the file's; kQuote: "(component " + the strings + ")".
  std::string text;
  std::vector<uint8_t> binary;  // kBinary: the concatenated strings
  SourcePos pos;
};

enum class CommandKind {
  kComponent,
  kInstance,
  kInvoke,
  kRegister,
  kAssertReturn,
  kAssertTrap,
  kAssertInvalid,
  kAssertMalformed,
};
const char* CommandKindName(CommandKind k);  // "component", "assert_return", ...

struct ScriptInvoke {
  std::string instance;  // "$i" or empty: the latest instance
  std::string name;      // the export called
  std::vector<ScriptValue> args;
};

struct ScriptCommand {
  CommandKind kind = CommandKind::kComponent;
  SourcePos pos;
  // kComponent; kAssertInvalid/kAssertMalformed; kAssertTrap when
  // has_component (a trap while instantiating it).
  ScriptComponent component;
  bool has_component = false;
  // kInstance: instance id (may be empty) and the definition instantiated.
  std::string instance_id, definition_id;
  // kRegister
  std::string register_name;
  // kInvoke, kAssertReturn, kAssertTrap (unless has_component)
  ScriptInvoke invoke;
  std::vector<ScriptValue> expected;  // kAssertReturn
  std::string message;                // the assertion's expected error text
};

struct ComponentScript {
  std::string file;
  std::vector<ScriptCommand> commands;
};

// Parses a whole script; `file` names it in messages.
Result<ComponentScript> ParseComponentScript(std::string_view source, const std::string& file);

}  // namespace arcella::wast
