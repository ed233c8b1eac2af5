// Runs Component Model reference test scripts (component-model/test/*.wast)
// as far as this stop goes: decoding and validation.
//
//   ComponentWastOptions opts{.tools = DefaultTools(...)};
//   auto counts = RunComponentWastFile("binary.wast", opts, std::cout);
//   bool ok = counts.ok() && counts->failed == 0;
//
// Semantics (docs/SPEC_TESTS.md, "Component Model reference tests"):
// - component text is turned into binaries by jco's parser (component_text.h),
//   all of a file's texts in one node process, cached;
// - (component ...) and (component definition ...) must decode
//   (component::DecodeComponent): otherwise a failure;
// - assert_malformed / assert_invalid must be refused, by jco's text parser
//   or by the decoder: a component that decodes is a failure;
// - a decoder answer of Unsupported (async features) is counted as
//   "unsupported", neither passed nor failed;
// - without an engine (ComponentWastOptions::engine null), component
//   instance, invoke, assert_return, assert_trap and register are counted,
//   not run; the component of an assert_trap (component ...) must still
//   decode, and the ids they name must have been defined before;
// - with an engine, every (component ...) that is not a definition and every
//   (component instance ...) is instantiated (ComponentInstance, on
//   options.tier; no host imports: a component that imports anything is
//   "unsupported", as is one the instantiation refuses as Unsupported, and
//   so are the commands that use such an instance); invoke must not trap;
//   assert_return compares the results (ValEquals, floats bit for bit);
//   assert_trap must trap (the message is not compared: ours are worded
//   differently), and an assert_trap (component ...) must fail to
//   instantiate.
// Prints one line per failure and a summary line per file to `log`.
// Errors: the file cannot be read or parsed (InvalidArgument with
// file:line:col), or the text tools cannot run (Unsupported / IoError).
// Threads: independent calls may run in parallel.
#pragma once

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "wast/component_text.h"

namespace arcella::wast {

struct ComponentWastOptions {
  ComponentTextTools tools;
  // Null: decode and validate only. Else instantiate and run on `tier`.
  std::shared_ptr<engine::Engine> engine = nullptr;
  engine::Tier tier = engine::Tier::kInterp;
  engine::InstanceLimits limits = {};  // for every instance (e.g. a deadline)
};

struct ComponentWastCounts {
  int valid_decoded = 0;        // components and definitions that decoded
  int invalid_refused = 0;      // assert_invalid refused
  int malformed_refused = 0;    // assert_malformed refused
  int refused_by_text = 0;      // of the two above: by jco's text parser
  int unsupported = 0;          // the decoder said Unsupported (async features)
  int needs_instantiation = 0;  // instance, invoke, assert_return, assert_trap, register
  // With an engine (the commands above run instead of being counted there):
  int instantiated = 0;     // components and instances created
  int invoked = 0;          // plain invokes that returned
  int returns_passed = 0;   // assert_return
  int traps_passed = 0;     // assert_trap
  int run_unsupported = 0;  // commands that could not run (imports, Unsupported)
  int failed = 0;
  std::vector<std::string> failures;  // "file:line:col: command: why"

  int passed() const {
    return valid_decoded + invalid_refused + malformed_refused + instantiated + invoked +
           returns_passed + traps_passed;
  }
};

Result<ComponentWastCounts> RunComponentWastFile(const std::string& path,
                                                 const ComponentWastOptions& options,
                                                 std::ostream& log);

// Same, on script text in memory; `name` is used in messages.
Result<ComponentWastCounts> RunComponentWastText(const std::string& name, std::string_view text,
                                                 const ComponentWastOptions& options,
                                                 std::ostream& log);

// "12 valid decoded, 30 invalid refused (4 by the text parser), ..." for reports.
std::string FormatComponentWastCounts(const ComponentWastCounts& c);

}  // namespace arcella::wast
