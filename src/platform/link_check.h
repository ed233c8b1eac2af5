// Type-checking a link: an import of one component satisfied by an export
// of another (docs/COMPONENTS.md "Links"). Static: reads the two components' types, no
// instance needed.
//
// The provider must export the interface the importer imports (same
// `ns:pkg/iface`, a version on the same semver track, as the component
// linker matches: component/linker.h), with every function the importer's
// import names, each of identical type. Types compare structurally: record
// fields, variant cases, enum and flags labels by name and order. Links
// whose functions carry resource handles are refused for now.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/ast.h"

namespace arcella::platform {

struct LinkMatch {
  std::string import;                  // the importer's import name, as in its binary
  std::string export_name;             // the provider's export it binds to
  std::vector<std::string> functions;  // the functions the importer uses
};

// `import` as written in a link (exact name, or an interface name matching
// one import by the linker's rule). FailedPrecondition naming the first
// problem: "the component imports no example:logger/log (imports: ...)";
// "logger@0.1.0/core exports no example:logger/log@0.1.x (exports: ...)";
// "function log: parameter msg: expected string, found u32".
Result<LinkMatch> CheckLink(const component::Component& importer, std::string_view import,
                            const component::Component& provider, const std::string& provider_id);

// The name of the importer's import that a link written as `import`
// designates (the exact name, or an interface of the same semver track), or
// "" if none.
std::string LinkedImport(const component::Component& importer, std::string_view import);

}  // namespace arcella::platform
