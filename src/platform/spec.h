// The platform's vocabulary as plain structs: module manifests, deployment
// specs and their overrides (BRIEF §2, docs/MANIFESTS.md). Parsing and
// validation live in manifest.h; persistence in state_store.h.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace arcella::platform {

// "name@x.y.z": name [A-Za-z0-9_-]{1,128}, version strict x.y.z.
struct ModuleId {
  std::string name;
  std::string version;
  std::string str() const { return name + "@" + version; }
};

// component.toml ([component] table), seed format plus documented extensions.
struct ComponentManifest {
  std::string name;
  std::string version;
  std::vector<std::string> exports;  // e.g. "logger:log@1.0"
  std::vector<std::string> imports;  // e.g. "wasi:http/incoming-handler@0.2.0"
  std::string description;
  // Extensions ([component.capabilities], [component.resources]): defaults
  // for every deployment of the module; deployment overrides win.
  // Directories are only REQUESTS: a module never grants itself anything;
  // the operator grants (grants.h, docs/SECURITY.md). Env values are
  // defaults (they carry no host authority).
  std::vector<std::string> requested_dirs;  // "HOST::GUEST" or "HOST::GUEST:ro"
  std::map<std::string, std::string> env;
  std::optional<uint64_t> fuel;  // per call / per run
  std::optional<uint64_t> max_memory_bytes;
  std::optional<std::chrono::milliseconds> timeout;
};

enum class Isolation { kMain, kWorker };

// Who made a deployment, which decides what it may be granted (grants.h):
// the operator (ALME: CLI flags, `deploy -f`) or a file in the hot-deploy
// folder (which anyone able to write that folder controls).
enum class GrantOrigin { kOperator, kHotDeploy };
const char* GrantOriginName(GrantOrigin o);  // "operator" / "hot-deploy"

enum class RestartPolicy { kNever, kOnFailure, kAlways };

const char* IsolationName(Isolation i);          // "main" / "worker"
const char* RestartPolicyName(RestartPolicy p);  // "never" / "on-failure" / "always"

// [deployment.overrides]: anything unset falls back to the manifest, then to
// the platform defaults (arcella.toml).
struct DeploymentOverrides {
  std::optional<Isolation> isolation;  // default: worker
  std::optional<bool> trusted;         // only with isolation = main
  std::optional<bool> async;
  std::optional<uint64_t> fuel;
  std::optional<uint64_t> max_memory_bytes;
  std::optional<std::chrono::milliseconds> timeout;
  std::vector<std::string> dirs;  // "HOST::GUEST[:ro]"
  std::map<std::string, std::string> env;
  std::optional<RestartPolicy> restart;  // command modules; default on-failure
  // [deployment.overrides.http] route: the path prefix the HTTP ingress
  // serves with this deployment (components exporting
  // wasi:http/incoming-handler); default "/<module name>". docs/HTTP.md.
  std::optional<std::string> http_route;
};

// A *.deployment.toml ([deployment] table) or the CLI's deploy flags.
struct DeploymentSpec {
  std::string module_id;  // "name@x.y.z"
  std::string group = "default";
  uint32_t replicas = 1;
  DeploymentOverrides overrides;
  // [deployment.links]: an import of the component ("example:logger/log@0.1.0",
  // or a top-level function's name) -> the deployment that provides it
  // ("logger@0.1.0/core"). docs/COMPONENTS.md "Links".
  std::map<std::string, std::string> links;
  // Set by Platform::Deploy from its caller, never from a file's contents;
  // stored as `x-arcella-origin` in the canonical TOML. The default is the
  // least trusted origin.
  GrantOrigin origin = GrantOrigin::kHotDeploy;
  // "<module_id>/<group>"
  std::string id() const { return module_id + "/" + group; }
};

// Lifecycle states, in the spirit of OSGi/Karaf bundles.
enum class State { kInstalled, kResolved, kStarting, kActive, kStopping, kFailed };
const char* StateName(State s);  // "installed", "resolved", ...
// The State named `name` (a StateName()), or nullopt.
std::optional<State> ParseState(std::string_view name);

}  // namespace arcella::platform
