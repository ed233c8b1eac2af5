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
#include <span>
#include <vector>

#include "common/status.h"
#include "component/ast.h"
#include "engine/engine.h"
#include "engine/portable_code.h"
#include "platform/deployment_plan.h"
#include "wasi/wasi.h"

namespace arcella::platform {

// A component's code in this process: decoded, with every core module
// compiled by `engine` (kept alive here, so instantiation finds them there).
struct LoadedComponent {
  std::shared_ptr<const component::Component> component;
  std::shared_ptr<engine::Engine> engine;
  std::vector<std::shared_ptr<const engine::Module>> modules;
  engine::Tier tier = engine::Tier::kAot;
  engine::Metering metering = engine::Metering::kFuel;
};

struct RunPlan {
  DeploymentPlan plan;
  // Exactly one is set, as plan.code.component says.
  std::shared_ptr<const engine::Module> module;
  std::shared_ptr<const LoadedComponent> component;
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
  // A component's code (code.component). NotFound as Load; Unsupported
  // where components are not supported.
  virtual Result<std::shared_ptr<const LoadedComponent>> LoadComponent(const CodeRef& code);
};

// The daemon's loader: code from `provider` (must outlive the loader);
// directories opened by path at instantiation, refusing a path any of whose
// components has become a symlink since the grant was checked.
PlanLoader LocalPlanLoader(CodeProvider* provider);

// Checks that `module` can run `plan` (metering for stop and fuel; the
// command flag matches). InvalidArgument naming the deployment otherwise.
Status CheckRunnable(const DeploymentPlan& plan, const engine::Module& module);
Status CheckRunnable(const DeploymentPlan& plan, const LoadedComponent& component);

// True if the component is a WASI command (exports wasi:cli/run@0.2.x#run);
// *run_export (if given) receives that export's name.
bool IsCommandComponent(const component::Component& c, std::string* run_export = nullptr);

}  // namespace arcella::platform
