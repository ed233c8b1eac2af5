// Links between deployments (docs/COMPONENTS.md "Links"): resolving and type-checking a
// deployment's [deployment.links], refusing cycles and the removal of a
// provider others depend on, and carrying a linked call to the provider.
#include <spdlog/spdlog.h>

#include <functional>
#include <optional>
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
  if (!call.handles) {
    auto out = host_->CallValues(call.provider, call.export_name, std::move(args));
    if (out.ok()) {
      if (out->trap) return trap("trapped: " + out->trap->ToString());
      return std::move(out->results);
    }
    return trap(out.status().ToString());  // "unavailable: the worker of group ... is restarting"
  }

  // Resource handles (docs/COMPONENTS.md "Resources across links"): the
  // importer's tokens become the provider's representations, and the call
  // goes to the replica instance that holds them.
  if (call.scope == 0) return trap("resource handles cannot cross this link (no handle scope)");
  std::string iface = call.export_name.substr(0, call.export_name.find('#'));
  std::optional<ReplicaPin> pin;
  std::vector<LinkHandle> moved;  // own handles the importer gave away in this call
  auto translate = [&](comp::Val& v, const comp::ValueType& t) -> Status {
    std::string name = t.resource ? t.resource->name : "";
    if (v.u > UINT32_MAX) return Status::InvalidArgument("handle " + std::to_string(v.u));
    auto token = static_cast<uint32_t>(v.u);
    auto h = t.kind == comp::TypeKind::kOwn ? link_handles_.Take(call.scope, token)
                                            : link_handles_.Get(call.scope, token);
    if (!h.ok()) return h.status();
    if (t.kind == comp::TypeKind::kOwn) moved.push_back(*h);
    if (h->provider != call.provider || h->import_name != call.import_name || h->resource != name)
      return Status::InvalidArgument("handle " + std::to_string(token) + " is a " + h->resource +
                                     " of " + h->provider + ", not a " + name + " of " +
                                     call.provider);
    if (pin && (pin->replica != h->pin.replica || pin->instance != h->pin.instance ||
                pin->epoch != h->pin.epoch))
      return Status::InvalidArgument("the call passes handles held by two different replicas of " +
                                     call.provider + " (#" + std::to_string(pin->replica) +
                                     " and #" + std::to_string(h->pin.replica) + ")");
    pin = h->pin;
    v.u = h->rep;
    v.resource = nullptr;
    return Status::Ok();
  };
  for (size_t i = 0; i < args.size() && i < call.type->params.size(); ++i) {
    if (Status st = comp::ForEachHandle(args[i], *call.type->params[i].type, translate); !st.ok()) {
      // The call is not made: what the importer gave away goes back to its provider.
      for (const LinkHandle& h : moved) DropAtProvider(h);
      return trap("argument " + call.type->params[i].name + ": " + st.message());
    }
  }
  auto out = host_->CallValues(call.provider, call.export_name, std::move(args),
                               pin ? &*pin : nullptr);
  if (!out.ok()) return trap(out.status().ToString());
  if (out->trap) return trap("trapped: " + out->trap->ToString());
  if (!call.type->result || out->results.empty()) return std::move(out->results);
  // Returned own handles stay with the platform; the importer gets tokens.
  std::vector<LinkHandle> kept;
  auto keep = [&](comp::Val& v, const comp::ValueType& t) -> Status {
    if (t.kind != comp::TypeKind::kOwn || v.u > UINT32_MAX)
      return Status::Internal("the provider returned a " + std::string(comp::TypeKindName(t.kind)) +
                              " handle " + std::to_string(v.u));
    LinkHandle h{call.provider, call.import_name, t.resource ? t.resource->name : "",
                 iface,         out->served,      static_cast<uint32_t>(v.u)};
    auto token = link_handles_.Add(call.scope, h);
    if (!token.ok()) {
      DropAtProvider(h);
      return token.status();
    }
    kept.push_back(std::move(h));
    v.u = *token;
    v.resource = nullptr;
    return Status::Ok();
  };
  if (Status st = comp::ForEachHandle(out->results[0], *call.type->result, keep); !st.ok()) {
    // Handles already swapped for tokens stay in the scope: the importer's
    // instance traps, and its scope's end drops them.
    return trap(st.ToString());
  }
  return std::move(out->results);
}

void Platform::DropAtProvider(const LinkHandle& h) {
  Status st = host_->DropResource(h.provider, h.pin, h.export_name + "#" + h.resource, h.rep);
  if (!st.ok())
    spdlog::warn("link: dropping a {} held by {}: {}", h.resource, h.provider, st.ToString());
}

void Platform::DropLinkHandle(uint64_t scope, uint32_t token) {
  auto h = link_handles_.Take(scope, token);
  if (h.ok()) DropAtProvider(*h);
}

void Platform::EndLinkScope(uint64_t scope) {
  for (const LinkHandle& h : link_handles_.EndScope(scope)) DropAtProvider(h);
}

}  // namespace arcella::platform
