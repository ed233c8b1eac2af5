// Preflight: a fast look at a core wasm binary before anything is compiled.
//
//   ARCELLA_ASSIGN_OR_RETURN(Preflight pf, PreflightModule(bytes));
//   ARCELLA_RETURN_IF_ERROR(CheckImports(pf, linker));   // every problem at once
//   ... Module::Compile(bytes, options) ...
//
// PreflightModule reads only the section headers and the type, import,
// memory, tag and export sections (no code is decoded or validated): a 30 MB
// module takes a few milliseconds. It names the post-2.0 proposals it can see
// there (tag section, shared or 64-bit memories, GC types; several memories are
// WebAssembly as both tiers run it, not a proposal named here).
// Proposals that live only in function bodies (tail calls, relaxed SIMD,
// extended constant expressions, atomics) are named by Decode (loader.h) when
// the strict 2.0 decode fails.
//
// Threads: pure functions, no state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/types.h"

namespace arcella::engine {

// WebAssembly proposals beyond 2.0 that wabt 1.0.32 can read.
enum class Feature : uint8_t {
  kExceptions,          // legacy exception handling: tags, try/catch/throw/rethrow/delegate
  kTailCall,            // return_call, return_call_indirect
  kThreads,             // shared memories, atomics
  kMemory64,            // 64-bit memories
  kMultiMemory,         // more than one memory (both tiers; not named by PreflightModule)
  kExtendedConst,       // i32/i64 add/sub/mul in constant expressions
  kRelaxedSimd,         // relaxed SIMD instructions
  kFunctionReferences,  // typed function references, call_ref
  kGc,                  // struct/array/recursive types
};

// "the exception-handling proposal", "the tail-call proposal", ...
const char* FeatureName(Feature f);

// True if the interpreter tier runs modules using `f` (exceptions, tail
// calls, several memories).
bool InterpreterSupports(Feature f);

// True if the AOT tier runs modules using `f` (several memories only).
bool AotSupports(Feature f);

// One place a feature is used: `offset` is the byte offset in the binary,
// `where` says what was found ("tag section", "memory 0 is shared").
struct FeatureUse {
  Feature feature;
  size_t offset = 0;
  std::string where;
};

// "uses the exception-handling proposal (tag section at offset 0x1c), not
// supported by this engine" / "... on the AOT tier".
std::string DescribeFeatureUse(const FeatureUse& use, const char* not_supported_by);

struct Preflight {
  // Every import in order, with its type (function signatures from the type
  // section). If a type cannot be told (a GC type), `typed` is false for it.
  std::vector<ImportDesc> imports;
  std::vector<bool> typed;
  // Export names and kinds (types are not filled in).
  std::vector<ExportDesc> exports;
  std::vector<FeatureUse> features;  // in binary order
  size_t code_bytes = 0;             // size of the code section
};

// Reads the headers of a core module. Errors (InvalidArgument) name the byte
// offset: bad magic/version, a section running past the end, a malformed
// import entry. Components and non-wasm input are errors too.
Result<Preflight> PreflightModule(std::span<const uint8_t> wasm);

// Checks every import of `pf` against `linker` the way Instance::Create
// resolves them (host functions by module and name with the exact type, then
// exports of linked instances). Lists every unresolved or mistyped import in
// one FailedPrecondition error:
//   "3 imports cannot be resolved:\n  env.foo (func (param i32) (result i32)): not provided\n ..."
// Imports of the engine's reserved module are left to Module::Compile.
Status CheckImports(const Preflight& pf, const Linker& linker);

// "(func (param i32 i64) (result i32))", "(memory 1 2)", "(global (mut i32))",
// "(table 0 funcref)", "(tag)".
std::string DescribeImportType(const ExternDesc& desc);

}  // namespace arcella::engine
