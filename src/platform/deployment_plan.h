// DeploymentPlan: everything a ReplicaHost needs to run one deployment, as
// plain values. The platform resolves it from the desired state (manifest,
// overrides, grants, configuration); hosts never read the state database.
//
// A plan is host-agnostic: it names the module by its content hash and the
// compiled code by CodeRef (the engine's cache key for it), and carries
// limits, grants and environment as values, so the same plan runs in the
// daemon (InProcessHost) or in a worker process (docs/WORKER.md), which
// loads the verified compiled code itself. Plans compare by value and
// serialise to JSON (and from it to MessagePack on the worker protocol).
//
// Thread-safety: plain values; PlanToJson/PlanFromJson are pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "platform/spec.h"

namespace arcella::platform {

// Names compiled code: the module's bytes (sha256 hex, also its name in the
// blob store) and how they were compiled. Together, the engine's cache key.
struct CodeRef {
  std::string module_hash;
  engine::Tier tier = engine::Tier::kAot;  // kAot or kInterp
  engine::Metering metering = engine::Metering::kFuel;
  // A component: module_hash names the component's bytes; its core modules
  // are compiled with `tier` and `metering`.
  bool component = false;
  bool operator==(const CodeRef&) const = default;
};
// "<module hash> (<tier>, <metering>)": names a CodeRef in messages; two refs
// have the same name exactly when they are equal (a key for maps).
std::string CodeRefName(const CodeRef& ref);

// A granted directory: `host_path` is resolved (realpath) and was checked
// against the grant policy; hosts open it refusing symlinks (the daemon) or
// receive it as an open descriptor (a worker).
struct PlanDir {
  std::string host_path;
  std::string guest_path;  // the name the guest sees, e.g. "/data"
  bool read_only = false;
  bool operator==(const PlanDir&) const = default;
};

// A linked import (docs/COMPONENTS.md "Links"): calls to the importer's `import` go to
// the provider deployment's export `export_name` (type-checked when made).
struct PlanLink {
  std::string import;       // as in the importer's binary: "example:logger/log@0.1.0", "f"
  std::string provider;     // deployment id
  std::string export_name;  // the provider's interface (or top-level function)
  bool operator==(const PlanLink&) const = default;
};

struct DeploymentPlan {
  std::string id;         // "<module id>/<group>"
  std::string module_id;  // "name@x.y.z"; argv[0] of commands is the name
  std::string group = "default";
  Isolation isolation = Isolation::kMain;  // which host runs it (RoutingHost)
  CodeRef code;
  bool command = false;  // exports `_start` (core) or wasi:cli/run (component)
  uint32_t replicas = 1;
  std::optional<uint64_t> fuel;          // per call (reactor) / per run (command)
  uint64_t max_memory_bytes = 0;         // per linear memory; 0 = engine default
  std::chrono::milliseconds timeout{0};  // per call / per run; 0 = none
  std::vector<PlanDir> dirs;
  std::vector<std::pair<std::string, std::string>> env;
  RestartPolicy restart = RestartPolicy::kOnFailure;  // commands only
  std::vector<PlanLink> links;                        // components only
  bool operator==(const DeploymentPlan&) const = default;
};

// True if replicas made from `a` behave as those made from `b` would (the
// plans differ at most in their replica count).
bool SameRuntime(const DeploymentPlan& a, const DeploymentPlan& b);

nlohmann::json PlanToJson(const DeploymentPlan& plan);
// InvalidArgument naming the field that is missing or of the wrong type.
Result<DeploymentPlan> PlanFromJson(const nlohmann::json& j);

}  // namespace arcella::platform
