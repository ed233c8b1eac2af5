// The platform's side of the HTTP ingress (docs/HTTP.md): routes of started
// deployments whose components serve wasi:http/incoming-handler, and one
// request served as a kHttpCall call.
#include "platform/http_call.h"
#include "platform/manifest.h"
#include "platform/platform.h"

namespace arcella::platform {

std::string Platform::HttpRouteOf(const std::string& id) {
  if (!RefreshHttpRoutes().ok()) return "";
  std::lock_guard<std::recursive_mutex> lock(mu_);
  for (const auto& [route, ids] : routes_)
    for (const std::string& d : ids)
      if (d == id) return route;
  return "";
}

Status Platform::RefreshHttpRoutes() {
  const uint64_t gen = store_->generation();
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (gen == routes_generation_) return Status::Ok();
  }
  // Built without the platform lock: ShapeOf may load a component.
  std::map<std::string, std::vector<std::string>> routes;
  ARCELLA_ASSIGN_OR_RETURN(auto deps, store_->ListDeployments());
  for (const DeploymentRecord& d : deps) {
    if (d.desired != Desired::kStarted) continue;
    auto m = store_->GetModule(d.module_id);
    if (!m.ok() || m->kind != "component") continue;
    auto shape = ShapeOf(*m);
    if (!shape.ok() || !shape->http) continue;  // one that cannot load serves nothing
    auto spec = ParseDeploymentSpec(d.spec_toml, d.id);
    if (!spec.ok()) continue;
    std::string route = spec->overrides.http_route ? *spec->overrides.http_route : "/" + m->name;
    routes[route].push_back(d.id);
  }
  std::lock_guard<std::recursive_mutex> lock(mu_);
  routes_ = std::move(routes);
  routes_generation_ = gen;
  return Status::Ok();
}

Result<HttpServed> Platform::ServeHttp(std::string_view path, const std::string& request_text,
                                       CallControl* control) {
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (shut_down_) return Status::FailedPrecondition("the daemon is shutting down");
  }
  ARCELLA_RETURN_IF_ERROR(RefreshHttpRoutes());
  // The longest route that is `path` or a prefix of it ending at a '/'
  // ("/api" serves "/api", "/api/x" and "/api?q", not "/apix"); matched and
  // taken in turn under the lock, without copying the table per request.
  std::string_view p = path.substr(0, path.find('?'));
  std::string id;
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    const std::vector<std::string>* ids = nullptr;
    const std::string* matched = nullptr;
    for (const auto& [route, deps] : routes_) {
      bool match = route == "/" ||
                   (p.rfind(route, 0) == 0 && (p.size() == route.size() || p[route.size()] == '/'));
      if (match && (!matched || route.size() >= matched->size())) {
        matched = &route;
        ids = &deps;
      }
    }
    if (!ids) return Status::NotFound("no deployment serves " + std::string(p));
    id = (*ids)[call_turn_["http " + *matched]++ % ids->size()];
  }
  HttpServed served;
  served.deployment = id;
  ARCELLA_ASSIGN_OR_RETURN(served.call,
                           host_->Call(id, std::string(kHttpCall), {request_text}, control));
  return served;
}

}  // namespace arcella::platform
