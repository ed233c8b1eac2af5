// RunPlan: a DeploymentPlan made ready to run in this process — its
// compiled module loaded and its granted directories ready to open. What a
// Replica runs. A PlanLoader makes one; the daemon and a worker process
// load plans differently (code from the platform's registry or from the
// read-only AOT cache; directories by path or as inherited descriptors).
//
// Thread-safety: a RunPlan is immutable once made and shared by replicas.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "common/status.h"
#include "engine/engine.h"
#include "engine/portable_code.h"
#include "platform/deployment_plan.h"
#include "wasi/wasi.h"

namespace arcella::platform {

struct RunPlan {
  DeploymentPlan plan;
  std::shared_ptr<const engine::Module> module;     // never null
  std::vector<wasi::WasiConfig::Preopen> preopens;  // from plan.dirs, in order
  // Keeps alive what the preopens use (e.g. directory descriptors).
  std::shared_ptr<void> resources;
};

// Makes a plan runnable. Errors name the deployment and what is missing.
using PlanLoader = std::function<Result<std::shared_ptr<const RunPlan>>(const DeploymentPlan&)>;

// Compiled code in the daemon: the platform keeps every installed module's
// compiled code alive and hands it out by CodeRef. Thread-safe.
class CodeProvider {
 public:
  virtual ~CodeProvider() = default;
  // NotFound if no installed module has this code.
  virtual Result<std::shared_ptr<const engine::Module>> Load(const CodeRef& code) = 0;
  // The same code made portable for a worker process (engine/portable_code.h):
  // AOT code as a sealed copy of its verified object, interpreter code as
  // the module's bytes. NotFound as Load.
  virtual Result<engine::PortableCode> Export(const CodeRef& code) = 0;
};

// The daemon's loader: code from `provider` (must outlive the loader);
// directories opened by path at instantiation, refusing a path any of whose
// components has become a symlink since the grant was checked.
PlanLoader LocalPlanLoader(CodeProvider* provider);

// Checks that `module` can run `plan` (metering for stop and fuel; the
// command flag matches). InvalidArgument naming the deployment otherwise.
Status CheckRunnable(const DeploymentPlan& plan, const engine::Module& module);

}  // namespace arcella::platform
