#include "platform/run_plan.h"

namespace arcella::platform {

Status CheckRunnable(const DeploymentPlan& p, const engine::Module& m) {
  if (p.id.empty()) return Status::InvalidArgument("deployment plan: empty id");
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

PlanLoader LocalPlanLoader(CodeProvider* provider) {
  return [provider](const DeploymentPlan& plan) -> Result<std::shared_ptr<const RunPlan>> {
    auto run = std::make_shared<RunPlan>();
    run->plan = plan;
    auto mod = provider->Load(plan.code);
    if (!mod.ok()) return mod.status().WithContext("deployment " + plan.id);
    run->module = *mod;
    ARCELLA_RETURN_IF_ERROR(CheckRunnable(plan, *run->module));
    for (const PlanDir& d : plan.dirs)
      run->preopens.push_back({d.host_path, d.guest_path, d.read_only, /*no_symlinks=*/true});
    return std::shared_ptr<const RunPlan>(std::move(run));
  };
}

}  // namespace arcella::platform
