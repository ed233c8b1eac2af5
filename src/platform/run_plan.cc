#include "platform/run_plan.h"

#include "component/export_names.h"

namespace arcella::platform {

Status CheckRunnable(const DeploymentPlan& p, const engine::Module& m) {
  if (p.id.empty()) return Status::InvalidArgument("deployment plan: empty id");
  if (p.code.component)
    return Status::InvalidArgument("deployment " + p.id + ": the plan names a component but " +
                                   p.module_id + " is a core module");
  if (m.metering() == engine::Metering::kNone)
    return Status::InvalidArgument("deployment " + p.id + ": module " + p.module_id +
                                   " was compiled without metering; replicas need an engine "
                                   "with Metering::kInterrupt or kFuel so they can be stopped");
  if (p.fuel && m.metering() != engine::Metering::kFuel)
    return Status::InvalidArgument("deployment " + p.id + ": fuel is set but module " +
                                   p.module_id +
                                   " was compiled by an engine without Metering::kFuel");
  const auto* start = m.FindExport("_start");
  bool command = start && start->desc.kind == engine::ExternKind::kFunc;
  if (command != p.command)
    return Status::InvalidArgument("deployment " + p.id + ": the plan says the module is " +
                                   (p.command ? "a command" : "a reactor") +
                                   " but its code says otherwise");
  return Status::Ok();
}

Result<std::shared_ptr<const LoadedComponent>> CodeProvider::LoadComponent(const CodeRef& code) {
  return Status::Unsupported("component " + code.module_hash.substr(0, 12) +
                             ": this host does not run components");
}

bool IsCommandComponent(const component::Component& c, std::string* run_export) {
  std::string run = component::FindRunExport(component::ExportedFuncNames(c));
  if (run_export) *run_export = run;
  return !run.empty();
}

Status CheckRunnable(const DeploymentPlan& p, const LoadedComponent& c) {
  if (p.id.empty()) return Status::InvalidArgument("deployment plan: empty id");
  if (!p.code.component)
    return Status::InvalidArgument("deployment " + p.id + ": the plan names a core module but " +
                                   p.module_id + " is a component");
  if (c.metering == engine::Metering::kNone)
    return Status::InvalidArgument("deployment " + p.id + ": component " + p.module_id +
                                   " was compiled without metering; replicas need "
                                   "Metering::kInterrupt or kFuel so they can be stopped");
  if (p.fuel && c.metering != engine::Metering::kFuel)
    return Status::InvalidArgument("deployment " + p.id + ": fuel is set but component " +
                                   p.module_id + " was compiled without Metering::kFuel");
  if (IsCommandComponent(*c.component) != p.command)
    return Status::InvalidArgument("deployment " + p.id + ": the plan says the component is " +
                                   (p.command ? "a command" : "a reactor") +
                                   " but its code says otherwise");
  return Status::Ok();
}

PlanLoader LocalPlanLoader(CodeProvider* provider) {
  return [provider](const DeploymentPlan& plan) -> Result<std::shared_ptr<const RunPlan>> {
    auto run = std::make_shared<RunPlan>();
    run->plan = plan;
    if (plan.code.component) {
      auto c = provider->LoadComponent(plan.code);
      if (!c.ok()) return c.status().WithContext("deployment " + plan.id);
      run->component = *c;
      ARCELLA_RETURN_IF_ERROR(CheckRunnable(plan, *run->component));
    } else {
      auto mod = provider->Load(plan.code);
      if (!mod.ok()) return mod.status().WithContext("deployment " + plan.id);
      run->module = *mod;
      ARCELLA_RETURN_IF_ERROR(CheckRunnable(plan, *run->module));
    }
    for (const PlanDir& d : plan.dirs)
      run->preopens.push_back({d.host_path, d.guest_path, d.read_only, /*no_symlinks=*/true});
    return std::shared_ptr<const RunPlan>(std::move(run));
  };
}

}  // namespace arcella::platform
