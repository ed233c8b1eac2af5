// Parsing and validation of module manifests (component.toml) and deployment
// specs (*.deployment.toml, CLI flags, ALME params). Formats: docs/MANIFESTS.md.
//
// Every error names the file, the dotted key, the line:column when known and
// what is allowed, e.g.
//   web.deployment.toml:7:13: deployment.overrides.isolation = "mian":
//   expected "main" or "worker"
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "platform/spec.h"

namespace arcella::platform {

// "name@x.y.z": name [A-Za-z0-9_-]{1,128}; version three decimal numbers
// without leading zeros ("1.0" and "1.0.0-rc1" are refused).
Status ValidateModuleId(std::string_view id);
Result<ModuleId> ParseModuleId(std::string_view id);
Status ValidateModuleName(std::string_view name);
Status ValidateVersion(std::string_view version);
// Group names use the module-name charset.
Status ValidateGroup(std::string_view group);
// A deployment id "name@x.y.z/group". InvalidArgument naming the bad part.
Status ValidateDeploymentId(std::string_view id);
// A link: `import` an interface name ("ns:pkg/iface[@version]") or a
// function label, `provider` a deployment id. InvalidArgument naming it.
Status ValidateLink(std::string_view import, std::string_view provider);
inline constexpr size_t kMaxLinks = 64;  // per deployment
// An HTTP route ("/", "/api", "/a/b"): why it is not one (it must start with
// '/', hold 1..256 visible ASCII characters without '?', '#' or "//", and
// not end in '/' unless it is "/"), or nullopt.
std::optional<std::string> HttpRouteError(std::string_view route);

// "64MiB", "512KiB", "1GiB", "1MB", "4096", "4096B" -> bytes.
Result<uint64_t> ParseByteSize(std::string_view text);
// "250ms", "2s", "5m", "1h" -> milliseconds (a unit is required).
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);
// "HOST::GUEST" or "HOST::GUEST:ro" (both paths non-empty).
Status ValidateDirGrant(std::string_view grant);

// component.toml. `file` names the source in error messages.
Result<ComponentManifest> ParseComponentManifest(std::string_view toml_text,
                                                 const std::string& file);
Result<ComponentManifest> LoadComponentManifest(const std::string& path);

// A manifest derived from a binary named "name@x.y.z.wasm" (any directory).
Result<ComponentManifest> ManifestFromFileName(const std::string& wasm_path);

// The manifest for a binary being installed: "<stem>.component.toml" beside
// it (stem = file name without ".wasm"; for "n@v.wasm" also "n.component.toml"),
// else derived from the file name, else an error saying what to provide.
// `manifest_path` receives the manifest file used ("" when derived).
Result<ComponentManifest> ResolveManifestForBinary(const std::string& wasm_path,
                                                   std::string* manifest_path = nullptr);

// *.deployment.toml.
Result<DeploymentSpec> ParseDeploymentSpec(std::string_view toml_text, const std::string& file);
Result<DeploymentSpec> LoadDeploymentSpec(const std::string& path);

// How keys are named in messages from ValidateDeploymentSpec.
enum class KeyStyle {
  kToml,        // deployment.overrides.isolation
  kCliFlags,    // --isolation
  kAlmeParams,  // params.overrides.isolation
};

// The seed rules: module id and group well-formed, replicas >= 1, isolation
// "main" requires replicas = 1, trusted only with isolation "main", dirs and
// env well-formed. `origin` prefixes messages (a file name, "deploy", ...).
Status ValidateDeploymentSpec(const DeploymentSpec& spec, KeyStyle style,
                              const std::string& origin);

// Canonical TOML text; Parse*(ToToml(x)) yields x again.
std::string ToToml(const DeploymentSpec& spec);
std::string ToToml(const ComponentManifest& manifest);

}  // namespace arcella::platform
