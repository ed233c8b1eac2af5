// WAVE, the WebAssembly Value Encoding: component values as text, parsed
// against their expected type and printed canonically (docs/COMPONENTS.md
// "WAVE values"; the format: ../shared/wave/README.md and wave_ebnf.md).
//
//   auto t = ValueType::Record({{"name", ValueType::String()},
//                               {"age", ValueType::Option(ValueType::U8())}});
//   Result<Val> v = ParseWave(R"({name: "ann", age: 7})", *t);
//   PrintWave(*v, *t);   // {name: "ann", age: some(7)}
//
// Errors (parsing only) are InvalidArgument
//   "line L, column C (bytes B..E): <what>"
// naming where the offending token starts (bytes are offsets in the text,
// columns count characters from 1). Hostile text never crashes: nesting is
// limited to kWaveMaxDepth and every allocation is bounded by the text's size.
//
// Resource handles (own/borrow) have no WAVE form: ParseWave refuses them
// and PrintWave shows them as `own<NAME>(HANDLE)` / `borrow<NAME>(HANDLE)`,
// which does not parse back.
//
// Threads: pure functions; safe to call concurrently.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"

namespace arcella::component {

// Values nested deeper than this (lists in lists, payloads in payloads, ...)
// are refused by the parser.
inline constexpr int kWaveMaxDepth = 100;

// Not WAVE: the worker protocol's extension (docs/WORKER.md "Protocol").
// With `handles`, a resource handle (own/borrow, at any depth) is written as
// the decimal u32 its holder knows it by (`7`) and parsed back as such (a
// Val with no resource type). Never used on text a user gives.
struct WaveOptions {
  bool handles = false;
};

// Parses exactly one WAVE value of `type` (whitespace and `//` comments
// allowed around it). The result satisfies ValMatches(v, type).
Result<Val> ParseWave(std::string_view text, const ValueType& type);
Result<Val> ParseWave(std::string_view text, const ValueType& type, const WaveOptions& options);

// The canonical WAVE text of `v`, which must match `type` (ValMatches); a
// part that does not, or that nests deeper than 4 * kWaveMaxDepth levels, is
// printed as `<?...>` rather than crashing. Canonical:
// options and results in their variant form (`some(1)`, `ok`), record
// fields in type order with `none` fields omitted (`{:}` if all are),
// flags in type order, keyword enum/variant cases escaped (`%true`), floats
// as the shortest decimal that reads back to the same value without an
// exponent (`nan`, `inf`, `-inf`, `-0`), chars and strings with `\\`,
// `\'`, `\"`, `\t`, `\n`, `\r` and `\u{x}` for other control characters.
std::string PrintWave(const Val& v, const ValueType& type);
std::string PrintWave(const Val& v, const ValueType& type, const WaveOptions& options);

// A call's arguments as one WAVE text per parameter of `f` (how values
// cross to and from a worker). PrintWaveArgs: `args` match f.params one to
// one. ParseWaveArgs: exactly one text per parameter, else InvalidArgument
// "takes N argument(s), got M"; a text that does not parse is
// InvalidArgument "argument I (NAME): <ParseWave's error>".
std::vector<std::string> PrintWaveArgs(const FuncType& f, std::span<const Val> args,
                                       const WaveOptions& options = {});
Result<std::vector<Val>> ParseWaveArgs(const FuncType& f, std::span<const std::string> texts,
                                       const WaveOptions& options = {});

// A function call, as in `arcella run --invoke 'greet("world")'`.
struct WaveCall {
  std::string name;       // as written (`greet`, `ns:pkg/iface.f@1.0.0`, `[method]r.f`)
  std::vector<Val> args;  // one per parameter of the function found
};

// Parses `name(arg, ...)`: `name` is a run of ASCII letters, digits and
// `-%:/.@[]+` (a leading `%` on a plain label is dropped before lookup); the
// arguments are parsed against the function `lookup(name)` returns
// (nullptr: NotFound "unknown function `name`"). Trailing option-typed
// arguments may be omitted (none). A trailing comma is allowed.
Result<WaveCall> ParseWaveCall(std::string_view text,
                               const std::function<const FuncType*(std::string_view)>& lookup);

// `name(param: value, ...)`, e.g. `f(a: 1, b: "x")`; `args` must match
// f.params one to one.
std::string PrintWaveCall(std::string_view name, const FuncType& f, std::span<const Val> args);

}  // namespace arcella::component
