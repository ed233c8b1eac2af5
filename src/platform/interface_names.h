// Interface names of a manifest (`exports`, `imports` of component.toml)
// checked against a component binary.
//
// A manifest names an interface as in WIT, `ns:pkg/iface@x.y.z`, and may
// leave parts out: `ns:pkg` (any interface of the package; the seed's
// `logger:log@1.0`), no version (any), or a partial version (`@1`, `@1.0`:
// every version with those leading numbers). A full version matches the
// binary's versions on the same semver track that are not older — the rule
// of the component linker (component/linker.h): `@1.2.0` takes 1.2.0..1.x.y,
// `@0.2.1` takes 0.2.1..0.2.z. A top-level function is named by its plain
// name (`greet`).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "component/ast.h"
#include "platform/manifest.h"

namespace arcella::platform {

// True if the binary's import/export `actual` ("logger:log/api@1.0.3", or a
// plain name) is what the manifest's `listed` names.
bool InterfaceNameMatches(std::string_view listed, std::string_view actual);

// InvalidArgument if a name the manifest lists in `exports` (`imports`) is
// not among the component's exports (imports), naming both lists.
Status CheckManifestInterfaces(const ComponentManifest& m, const component::Component& c);

}  // namespace arcella::platform
