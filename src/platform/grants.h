// Grants: what a deployment may reach on the host (directories, environment).
// The trust model (docs/SECURITY.md, "Capabilities and grants"):
//   - a module's component.toml only REQUESTS directories; nothing it says is
//     ever granted by itself (its env values are defaults: they carry no host
//     authority, a module could compile them in);
//   - the operator grants, per deployment: `arcella-cli deploy --dir/--env`
//     or `deploy -f FILE` (origin kOperator, over the owner-only ALME socket);
//   - a *.deployment.toml dropped in the hot-deploy folder (origin
//     kHotDeploy) grants only what [policy] hot_deploy_allow_dirs /
//     hot_deploy_allow_env allow: by default nothing;
//   - every directory grant must lie within [policy] allow_dirs (read-write or
//     read-only) or allow_dirs_ro (read-only), compared after resolving
//     symlinks: by default no directory may be granted;
//   - no grant may contain, equal or lie inside the daemon home (state
//     database, AOT cache, deploy/), whatever the policy says.
// ResolveGrants runs at deploy time (the refusal is the deploy's error) and
// again every time a deployment is applied (a symlink may have changed since).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "platform/config.h"
#include "platform/manifest.h"
#include "platform/spec.h"

namespace arcella::platform {

struct DirGrant {
  std::string host;       // as the operator wrote it
  std::string real_host;  // realpath() of `host` when resolved: what is opened
  std::string guest;      // the guest's name for it
  bool read_only = false;
};

// The effective grants of one deployment, and what was requested but not granted.
struct Grants {
  GrantOrigin origin = GrantOrigin::kHotDeploy;
  std::vector<DirGrant> dirs;
  // Manifest defaults, then the deployment's values (which win), by name.
  std::vector<std::pair<std::string, std::string>> env;
  // The module's requested dirs ("HOST::GUEST[:ro]") that no grant matches.
  std::vector<std::string> ungranted_requests;
  // Why the deployment's own grants were refused ("" if they were not); then
  // nothing at all is granted.
  std::string refused;
};

// Resolves the grants of deployment `spec` of the module with `manifest`,
// made by `origin`, under `policy`, for the daemon whose home is `home`.
// InvalidArgument naming the grant (as `style` spells the key), the rule and,
// for the home rule, the home. `where` prefixes messages (a file, "deploy").
Result<Grants> ResolveGrants(const ComponentManifest& manifest, const DeploymentSpec& spec,
                             const Config::Policy& policy, const std::string& home,
                             GrantOrigin origin, KeyStyle style, const std::string& where);

// What a deployment whose grants could not be resolved shows: nothing
// granted, every request ungranted, `why` as the refusal.
Grants NothingGranted(const ComponentManifest& manifest, const DeploymentSpec& spec,
                      const std::string& why);

// True if `path` equals `dir` or lies below it (both absolute, normalised).
bool PathWithin(const std::string& path, const std::string& dir);

}  // namespace arcella::platform
