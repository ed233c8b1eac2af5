// WIT text of a decoded component: its world, as `jco wit` (wasm-tools
// `component wit`) prints it.
//
//   auto c = DecodeComponent(bytes);
//   auto wit = PrintComponentWit(**c);   // "package root:component;\n\nworld root {\n..."
//
// The world is `root` in package `root:component`. Imports and exports of
// interfaces named `ns:pkg/iface@version` print as `import ns:pkg/iface@version;`;
// instances with plain names print their body inline (`import a: interface
// { ... }`); functions as `import f: func(...)`; imported types as world
// types (`use ns:pkg/iface.{t}` when they are an interface's type). Types
// are named by the decoded type node (ast.h, types.h): a record, variant,
// enum, flags or resource is named where an instance type, or the world,
// exports/imports it; a type equal to one named elsewhere becomes a `use`.
// With `foreign_packages`, the interfaces named by qualified name are also
// printed, grouped by package (`package wasi:io@0.2.0 { interface streams
// { ... } }`), which `jco wit` leaves out.
//
// Errors: InvalidArgument naming the import/export when the component has
// no WIT form (a core module, component or value import; an anonymous
// record/variant/enum/flags in a signature). Thread-safe (no shared state).
#pragma once

#include <string>

#include "common/status.h"

namespace arcella::component {

struct Component;  // ast.h

struct WitPrintOptions {
  bool foreign_packages = false;  // also print the interfaces named by `ns:pkg/iface`
};

Result<std::string> PrintComponentWit(const Component& c, const WitPrintOptions& options = {});

}  // namespace arcella::component
