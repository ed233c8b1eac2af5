// libFuzzer target for WAVE text (component/wave.cc, wave_lexer.cc) and the
// WIT reader (component/wit_*.cc). Every input is parsed as a WAVE value
// against a fixed set of types, as a call `name(args)`, and as a WIT file.
// Errors must be clean (a message naming the position); a value that parses
// must print canonically, parse back to an equal value and print the same.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "component/wave.h"
#include "component/wit_parser.h"

using namespace arcella::component;
using arcella::Result;

namespace {

const std::vector<TypeRef>& FuzzTypes() {
  static const std::vector<TypeRef> types = [] {
    auto ou8 = ValueType::Option(ValueType::U8());
    auto rec = ValueType::Record({{"name", ValueType::String()},
                                  {"age", ou8},
                                  {"true", ValueType::Bool()},
                                  {"tags", ValueType::List(ValueType::Char())}});
    auto var = ValueType::Variant(
        {{"none", nullptr},
         {"num", ValueType::F64()},
         {"pair", ValueType::Tuple({ValueType::S64(), ValueType::F32()})}});
    return std::vector<TypeRef>{
        ValueType::String(),
        ValueType::List(ValueType::U64()),
        rec,
        ValueType::List(var),
        ValueType::Option(ValueType::Option(ValueType::Result(ValueType::U8(), ValueType::S8()))),
        ValueType::Result(ValueType::List(rec), ValueType::Enum({"ok", "err", "other"})),
        ValueType::Tuple({ValueType::Flags({"read", "write"}), ValueType::FixedList(ou8, 2),
                          ValueType::Char(), ValueType::S16()}),
    };
  }();
  return types;
}

void CheckError(const arcella::Status& s) {
  if (s.ok() || s.message().rfind("line ", 0) != 0) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const TypeRef& t : FuzzTypes()) {
    Result<Val> v = ParseWave(text, *t);
    if (!v.ok()) {
      CheckError(v.status());
      continue;
    }
    if (!ValMatches(*v, *t)) __builtin_trap();
    std::string printed = PrintWave(*v, *t);
    Result<Val> again = ParseWave(printed, *t);
    if (!again.ok() || !ValEquals(*v, *again) || PrintWave(*again, *t) != printed) {
      __builtin_trap();
    }
  }
  // The worker protocol's handle form (WaveOptions::handles): handles at depth.
  static const TypeRef kHandles = [] {
    auto r = std::make_shared<ResourceType>(ResourceType{"counter"});
    return ValueType::Result(ValueType::Tuple(
                                 {ValueType::Own(r), ValueType::List(ValueType::Borrow(r))}),
                             ValueType::String());
  }();
  const WaveOptions form{true};
  Result<Val> h = ParseWave(text, *kHandles, form);
  if (h.ok()) {
    std::string printed = PrintWave(*h, *kHandles, form);
    Result<Val> again = ParseWave(printed, *kHandles, form);
    if (!again.ok() || PrintWave(*again, *kHandles, form) != printed) __builtin_trap();
  } else {
    CheckError(h.status());
  }
  static const FuncType kF{{{"a", FuzzTypes()[2]}, {"b", ValueType::Option(ValueType::U8())}},
                           nullptr};
  auto lookup = [](std::string_view name) -> const FuncType* {
    return name == "f" || name == "ns:pkg/iface.f@1.0.0" ? &kF : nullptr;
  };
  Result<WaveCall> call = ParseWaveCall(text, lookup);
  if (call.ok()) {
    std::string printed = PrintWaveCall(call->name, kF, call->args);
    Result<WaveCall> again = ParseWaveCall(printed, lookup);
    if (!again.ok() || PrintWaveCall(again->name, kF, again->args) != printed) __builtin_trap();
  } else if (call.status().code() != arcella::StatusCode::kNotFound) {
    CheckError(call.status());
  }
  WitSource src{"fuzz.wit", std::string(text)};
  Result<std::vector<WitPackage>> wit = ParseWit({&src, 1});
  if (!wit.ok() && wit.status().message().rfind("fuzz.wit:", 0) != 0) __builtin_trap();
  return 0;
}
