// Finding a component export from the name a user wrote (`arcella run
// --invoke`, `arcella-cli call`). Exports are named as
// ComponentInstance::Call takes them: "f" at the top level, "IFACE#f" for a
// function of an exported interface ("my:app/api@1.0.0#greet").
//
// Accepted, in this order:
//   the exact name ("greet", "my:app/api@1.0.0#greet");
//   IFACE#f or IFACE.f (WAVE/wasmtime style: "example:app/greeter.greet")
//     where IFACE is the full interface, the interface without its version
//     ("my:app/api#greet") or its bare name ("api.greet"), if unique;
//   a bare function name of an exported interface ("greet"), if unique.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "component/ast.h"

namespace arcella::component {

// On failure `error` says why (unknown, listing the exports; or ambiguous,
// listing the candidates) and `name` is empty.
struct ExportMatch {
  std::string name;
  std::string error;
};
ExportMatch ResolveExportName(std::string_view written, const std::vector<std::string>& exports);

// The `wasi:cli/run@0.2.x#run` export (any 0.2.x) among `exports`, or "":
// what makes a component a WASI command.
std::string FindRunExport(const std::vector<std::string>& exports);

// Every exported function of `c` by the names above ("f", "IFACE#f"), in
// export order, read from its type (no instance needed).
std::vector<std::string> ExportedFuncNames(const Component& c);

// The exported function type of `name` (an exact name from
// ExportedFuncNames), or null.
const FuncType* ExportedFuncType(const Component& c, std::string_view name);

// Its twin on the import side: the type of function `func` of `c`'s import
// `import` (an interface), or of the import itself when `func` is empty (a
// function import); null if there is none.
const FuncType* ImportedFuncType(const Component& c, std::string_view import,
                                 std::string_view func);

// The resource types interface import `import` of `c` declares (its
// `resource` items), by name, in declaration order: the objects its
// functions' own/borrow types point to. Empty for a function import.
std::vector<std::pair<std::string, ResourceRef>> ImportedResources(const Component& c,
                                                                   std::string_view import);

}  // namespace arcella::component
