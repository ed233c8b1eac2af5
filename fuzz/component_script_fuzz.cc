// libFuzzer target for the Component Model .wast reader
// (wast/component_script.cc): s-expression tokenizer, commands, value
// constants. Any bytes must parse or be refused with a line:column error; no
// crash, no unbounded recursion (nesting is capped), no overread. Every value
// read is also resolved against a few types, which must answer or refuse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "component/types.h"
#include "wast/component_script.h"

using namespace arcella;
using component::ValueType;

namespace {

void ResolveAll(const wast::ScriptValue& v) {
  static const component::TypeRef kTypes[] = {
      ValueType::U32(),
      ValueType::String(),
      ValueType::List(ValueType::S64()),
      ValueType::Record({{"a", ValueType::U8()}, {"b", ValueType::Option(ValueType::Char())}}),
      ValueType::Variant({{"x", nullptr}, {"y", ValueType::Tuple({ValueType::F32()})}}),
      ValueType::Enum({"a", "b"}),
      ValueType::Flags({"a", "b", "c"}),
      ValueType::Result(ValueType::Bool(), nullptr),
  };
  for (const auto& t : kTypes) (void)v.Resolve(*t);
  for (const auto& item : v.items) ResolveAll(item);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto script = wast::ParseComponentScript(text, "fuzz.wast");
  if (!script.ok()) {
    if (script.status().message().rfind("fuzz.wast:", 0) != 0) __builtin_trap();  // no position
    return 0;
  }
  for (const auto& c : script->commands) {
    for (const auto& v : c.invoke.args) ResolveAll(v);
    for (const auto& v : c.expected) ResolveAll(v);
  }
  return 0;
}
