// A WIT reader: parses WIT text (../shared/component-model/design/mvp/WIT.md)
// into the shared type model (types.h), for WAVE tests and host interface
// definitions (docs/COMPONENTS.md "WIT text").
//
//   WitSource src{"ui.wit", text};
//   Result<std::vector<WitPackage>> pkgs = ParseWit({&src, 1});
//   const WitFunction* f = (*pkgs)[0].FindInterface("ui")->FindFunction("nullary");
//
// Supported: package declarations (with versions) and nested packages,
// interfaces, worlds (import/export of functions, interfaces by path or
// inline, `include ... with { a as b }`), top-level and item `use`, type
// aliases, record, variant, enum, flags, resources (methods, static
// functions, constructors), every value type of types.h (tuple, list,
// fixed-length list, option, result, borrow), %-escaped identifiers, line and
// nested block comments, and feature gates (@since, @unstable, @deprecated,
// @external-id: read and ignored). Refused with a clear error: async
// functions, future, stream, error-context, map.
//
// Names are resolved across all the sources given together, in any order:
// `use wasi:io/streams@0.2.12.{input-stream}` finds that package if one of
// the sources declares it (a path without a version matches the only
// package of that name).
//
// Named types: every reference to a named type is the same TypeRef as its
// definition (pointer identity), so a printer can map types back to names
// through WitInterface::types; an alias (`type a = b;`) is a distinct node
// equal in structure to its target. A resource is one ResourceType per
// definition; `r` in a type is own<r>.
//
// Errors: InvalidArgument "FILE:LINE:COL: <what>" (columns count characters
// from 1). Nesting is bounded (kWitMaxDepth), never crashes on any input.
//
// Threads: pure functions; the results are immutable values.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"

namespace arcella::component {

inline constexpr int kWitMaxDepth = 100;

struct WitTypeDef {
  std::string name;
  TypeRef type;          // null for a resource
  ResourceRef resource;  // set for a resource
};

enum class WitFuncKind : uint8_t { kFreestanding, kMethod, kStatic, kConstructor };

struct WitFunction {
  // The name as in a component: "get", "[method]file.read",
  // "[static]file.open", "[constructor]file".
  std::string name;
  WitFuncKind kind = WitFuncKind::kFreestanding;
  std::string resource;  // the resource of a method, static function or constructor
  // A method's first parameter is `self: borrow<resource>`; a constructor
  // returns own<resource> (or its declared result<own<resource>, E>).
  FuncType type;
};

struct WitInterface {
  std::string name;               // "streams"; empty for an inline world interface
  std::string package;            // "wasi:io@0.2.12"
  std::vector<WitTypeDef> types;  // `use`d names first, then definitions in source order
  std::vector<WitFunction> functions;
  // The interfaces this one `use`s types from (a world importing or
  // exporting this interface imports them too, first).
  std::vector<std::shared_ptr<const WitInterface>> deps;

  std::string QualifiedName() const;  // "wasi:io/streams@0.2.12"
  const WitTypeDef* FindType(std::string_view name) const;
  const WitFunction* FindFunction(std::string_view name) const;
};
using WitInterfaceRef = std::shared_ptr<const WitInterface>;

struct WitWorldItem {
  // A plain name (`run`, `primary`) or, for an interface imported by path,
  // its qualified name ("wasi:io/streams@0.2.12").
  std::string name;
  WitInterfaceRef iface;  // an interface item
  bool is_function = false;
  WitFunction function;  // a function item (is_function)
};

// A world after `include`s, with the interfaces its items depend on
// (WitInterface::deps, transitively) imported before them by qualified name.
struct WitWorld {
  std::string name;
  std::vector<WitTypeDef> types;
  std::vector<WitWorldItem> imports;
  std::vector<WitWorldItem> exports;
};

struct WitPackage {
  std::string ns;       // "wasi"
  std::string name;     // "io"
  std::string version;  // "0.2.12", or empty
  std::vector<WitInterfaceRef> interfaces;
  std::vector<WitWorld> worlds;

  std::string Id() const;  // "wasi:io@0.2.12"
  const WitInterface* FindInterface(std::string_view name) const;
  const WitWorld* FindWorld(std::string_view name) const;
};

struct WitSource {
  std::string filename;  // for messages
  std::string text;
};

// Parses and resolves `sources` together; the packages in source order.
Result<std::vector<WitPackage>> ParseWit(std::span<const WitSource> sources);

}  // namespace arcella::component
