// Component Model names: kebab-case labels, import/export names (plain names
// with [constructor]/[method]/[static] annotations, interface names
// `ns:pkg/iface@version`), semantic versions and strong uniqueness
// (Explainer.md, "Import and Export Definitions" and "Name Uniqueness").
//
// Pure functions over strings; thread-safe. Errors are returned as a short
// reason ("`Foo-bar` is not in kebab case") for the caller to place.
#pragma once

#include <string>
#include <string_view>

namespace arcella::component {

// label ::= first-fragment ('-' fragment)*, fragments all-lowercase words or
// all-uppercase acronyms (digits allowed after the first character).
bool IsKebabLabel(std::string_view s);
// semver 2.0: MAJOR.MINOR.PATCH(-pre)?(+build)?; "" on success, else why not.
std::string CheckSemver(std::string_view s);
// canonversion: "1", "0.2", "0.0.3", "0.0.0" (no suffix).
bool IsCanonVersion(std::string_view s);

// An import or export name, parsed.
struct ExternName {
  enum class Kind { kLabel, kConstructor, kMethod, kStatic, kInterface };
  Kind kind = Kind::kLabel;
  std::string text;  // the name exactly as in the binary
  // kLabel: the label. kConstructor: the resource label. kMethod/kStatic:
  // the function label (after the '.').
  std::string label;
  std::string resource;  // kConstructor/kMethod/kStatic: the resource label
  // kInterface: "wasi:http/types@0.2.0" -> ns "wasi", package "http",
  // interface "types", version "0.2.0" (empty when absent).
  std::string ns, package, interface, version;
  // Attributes (binary nameattributes 0x02): "" when absent.
  std::string implements;   // (implements "a:b/c")
  std::string external_id;  // (external-id "...")
  std::string version_suffix;
  bool has_external_id = false;

  bool is_interface() const { return kind == Kind::kInterface; }
};

// Parses `text` into `out` (attributes untouched). Returns "" or the reason.
std::string ParseExternName(std::string_view text, ExternName* out);
// Parses an interface name only (for `implements`). "" or the reason.
std::string ParseInterfaceName(std::string_view text, ExternName* out);

// The key under which two names conflict (Name Uniqueness): acronyms
// lowercased, `[method]r.r`/`[static]r.r` -> `r`, `[method]`/`[static]`
// prefixes stripped, `[constructor]` kept.
std::string StrongUniqueKey(const ExternName& n);

}  // namespace arcella::component
