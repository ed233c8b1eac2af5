// Links between deployments (docs/COMPONENTS.md "Links"): resolving and type-checking a
// deployment's [deployment.links], refusing cycles and the removal of a
// provider others depend on, and carrying a linked call to the provider.
#include <spdlog/spdlog.h>

#include <functional>
#include <set>

#include "platform/link_check.h"
#include "platform/platform.h"
#include "platform/state_store.h"

namespace arcella::platform {
namespace {

namespace comp = arcella::component;

std::map<std::string, std::string> LinksOf(const DeploymentRecord& d) {
  auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
  return spec.ok() ? spec->links : std::map<std::string, std::string>{};
}

}  // namespace

Result<std::vector<PlanLink>> Platform::ResolveLinks(
    const std::string& id, const std::map<std::string, std::string>& links,
    const LoadedComponent& importer) {
  std::vector<PlanLink> out;
  for (const auto& [import, provider] : links) {
    std::string what = "deployment " + id + ": link " + import + " -> " + provider;
    if (provider == id)
      return Status::FailedPrecondition(what + ": a deployment cannot link to itself");
    auto rec = store_->GetDeployment(provider);
    if (!rec.ok())
      return Status::FailedPrecondition(what + ": no deployment " + provider +
                                        " (deploy the provider first)");
    ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(rec->module_id));
    if (m.kind != "component")
      return Status::FailedPrecondition(what + ": " + provider +
                                        " runs a core module, which exports no interfaces");
    ARCELLA_ASSIGN_OR_RETURN(auto pc, CompiledComponent(m));
    auto match = CheckLink(*importer.component, import, *pc->component, provider);
    if (!match.ok()) return Status(match.status().code(), what + ": " + match.status().message());
    out.push_back({match->import, provider, match->export_name});
  }
  ARCELLA_RETURN_IF_ERROR(CheckNoCycle(id, links));
  return out;
}

Status Platform::CheckNoCycle(const std::string& id,
                              const std::map<std::string, std::string>& links) {
  // Depth-first from id's providers through the stored links; reaching id
  // again is a cycle (reported as the path).
  std::set<std::string> seen;
  std::vector<std::string> path = {id};
  std::function<Status(const std::string&)> visit = [&](const std::string& dep) -> Status {
    path.push_back(dep);
    if (dep == id) {
      std::string p;
      for (const auto& x : path) p += (p.empty() ? "" : " -> ") + x;
      return Status::FailedPrecondition("deployment " + id + ": links would make a cycle: " + p);
    }
    if (seen.insert(dep).second) {
      auto rec = store_->GetDeployment(dep);
      if (rec.ok())
        for (const auto& [imp, next] : LinksOf(*rec)) ARCELLA_RETURN_IF_ERROR(visit(next));
    }
    path.pop_back();
    return Status::Ok();
  };
  for (const auto& [imp, provider] : links) ARCELLA_RETURN_IF_ERROR(visit(provider));
  return Status::Ok();
}

std::vector<std::pair<std::string, std::string>> Platform::DependentsOf(
    const std::set<std::string>& providers, bool started_only) {
  std::vector<std::pair<std::string, std::string>> out;  // (dependent, import)
  auto all = store_->ListDeployments();
  if (!all.ok()) return out;
  for (const auto& d : *all) {
    if (providers.count(d.id) || (started_only && d.desired != Desired::kStarted)) continue;
    for (const auto& [imp, provider] : LinksOf(d))
      if (providers.count(provider)) out.emplace_back(d.id, imp);
  }
  return out;
}

Status Platform::RefuseIfDepended(const std::string& verb,
                                  const std::vector<DeploymentRecord>& deps, bool started_only,
                                  bool force) {
  std::set<std::string> ids;
  for (const auto& d : deps) ids.insert(d.id);
  auto dependents = DependentsOf(ids, started_only);
  if (dependents.empty()) return Status::Ok();
  std::string list;
  std::set<std::string> to_stop;
  for (const auto& [dep, imp] : dependents) {
    list += (list.empty() ? "" : ", ") + dep + " (" + imp + ")";
    to_stop.insert(dep);
  }
  if (!force)
    return Status::FailedPrecondition("cannot " + verb + ": linked to by " + list +
                                      "; stop or unlink them first, or use --force (which stops "
                                      "them too)");
  for (const auto& dep : to_stop) {
    spdlog::info("{}: stopping {}, which links to it (--force)", verb, dep);
    ARCELLA_RETURN_IF_ERROR(Stop(dep, "", /*force=*/true).status());
  }
  return Status::Ok();
}

Result<DeploymentView> Platform::SetLink(const std::string& id, const std::string& import,
                                         const std::optional<std::string>& provider) {
  if (ShuttingDown()) return Status::FailedPrecondition("the daemon is shutting down");
  ARCELLA_ASSIGN_OR_RETURN(DeploymentRecord d, store_->GetDeployment(id));
  ARCELLA_ASSIGN_OR_RETURN(DeploymentSpec spec, ParseDeploymentSpec(d.spec_toml, d.id));
  if (provider) {
    ARCELLA_RETURN_IF_ERROR(ValidateLink(import, *provider));
    spec.links[import] = *provider;
    if (spec.links.size() > kMaxLinks)
      return Status::InvalidArgument("deployment " + id + ": at most " + std::to_string(kMaxLinks) +
                                     " links");
    ARCELLA_ASSIGN_OR_RETURN(ModuleRecord m, store_->GetModule(d.module_id));
    if (m.kind != "component")
      return Status::FailedPrecondition(
          "deployment " + id + " runs a core module: only components have imports to link");
    ARCELLA_ASSIGN_OR_RETURN(auto c, CompiledComponent(m));
    ARCELLA_RETURN_IF_ERROR(ResolveLinks(id, spec.links, *c).status());
  } else if (spec.links.erase(import) == 0) {
    return Status::NotFound("deployment " + id + " has no link for " + import);
  }
  {
    std::lock_guard<std::mutex> commit(commit_mu_);
    ARCELLA_RETURN_IF_ERROR(store_->UpdateDeployment(id, std::nullopt, std::nullopt, ToToml(spec)));
  }
  Publish("deployment", id, provider ? "linked" : "unlinked",
          import + (provider ? " -> " + *provider : ""));
  (void)ApplyLatest(id);
  ARCELLA_ASSIGN_OR_RETURN(d, store_->GetDeployment(id));
  return ViewOf(d);
}

std::vector<LinkView> Platform::LinkViews(const DeploymentSpec& spec) {
  std::vector<LinkView> out;
  for (const auto& [import, provider] : spec.links) {
    LinkView v{import, provider, "missing"};
    auto rec = store_->GetDeployment(provider);
    if (rec.ok()) {
      auto st = host_->GetStatus(provider);
      v.state = rec->desired != Desired::kStarted ? "stopped"
                : st.ok()                         ? StateName(st->state)
                                                  : "installed";
    }
    out.push_back(std::move(v));
  }
  return out;
}

comp::TrapOr<std::vector<comp::Val>> Platform::CallLink(const LinkCall& call,
                                                        std::vector<comp::Val> args) {
  auto trap = [&](const std::string& why) {
    return engine::Trap{engine::TrapKind::kHostError, call.export_name,
                        "link to " + call.provider + ": " + why, 0};
  };
  auto out = host_->CallValues(call.provider, call.export_name, std::move(args));
  if (out.ok()) {
    if (out->trap) return trap("trapped: " + out->trap->ToString());
    return std::move(out->results);
  }
  return trap(out.status().ToString());  // "unavailable: the worker of group ... is restarting"
}

}  // namespace arcella::platform
