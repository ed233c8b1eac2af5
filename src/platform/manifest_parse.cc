// TOML readers for component.toml and *.deployment.toml (toml++). Every
// error is "FILE:LINE:COL: KEY = VALUE: what is allowed".
#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <sstream>

#include "platform/manifest.h"
#include "platform/toml_reader.h"

namespace arcella::platform {
namespace {

using toml_internal::Reader;
using toml_internal::ReadText;

Status ReadCapabilitiesAndResources(const Reader& r, const toml::table& comp,
                                    ComponentManifest* m) {
  if (const toml::node* caps = comp.get("capabilities")) {
    const toml::table* t = caps->as_table();
    if (!t) return r.Bad(*caps, "component.capabilities", "expected a table");
    ARCELLA_RETURN_IF_ERROR(r.CheckKeys(*t, "component.capabilities.", {"dirs", "env"}));
    if (auto* n = t->get("dirs"))
      ARCELLA_RETURN_IF_ERROR(r.Dirs(*n, "component.capabilities.dirs", &m->requested_dirs));
    if (auto* n = t->get("env"))
      ARCELLA_RETURN_IF_ERROR(r.Env(*n, "component.capabilities.env", &m->env));
  }
  if (const toml::node* res = comp.get("resources")) {
    const toml::table* t = res->as_table();
    if (!t) return r.Bad(*res, "component.resources", "expected a table");
    ARCELLA_RETURN_IF_ERROR(
        r.CheckKeys(*t, "component.resources.", {"fuel", "max_memory", "timeout"}));
    if (auto* n = t->get("fuel")) {
      uint64_t v;
      ARCELLA_RETURN_IF_ERROR(r.PositiveInt(*n, "component.resources.fuel", INT64_MAX, &v));
      m->fuel = v;
    }
    if (auto* n = t->get("max_memory"))
      ARCELLA_RETURN_IF_ERROR(
          r.ByteSize(*n, "component.resources.max_memory", &m->max_memory_bytes));
    if (auto* n = t->get("timeout"))
      ARCELLA_RETURN_IF_ERROR(r.Duration(*n, "component.resources.timeout", &m->timeout));
  }
  return Status::Ok();
}

}  // namespace

Result<ComponentManifest> ParseComponentManifest(std::string_view text, const std::string& file) {
  Reader r(file);
  ARCELLA_ASSIGN_OR_RETURN(toml::table doc, r.Parse(text));
  ARCELLA_RETURN_IF_ERROR(r.CheckKeys(doc, "", {"component"}));
  const toml::node* cn = doc.get("component");
  if (!cn)
    return Status::InvalidArgument(file + ": missing [component] table (with name and version)");
  const toml::table* comp = cn->as_table();
  if (!comp) return r.Bad(*cn, "component", "expected a table");
  ARCELLA_RETURN_IF_ERROR(r.CheckKeys(*comp, "component.",
                                      {"name", "version", "description", "exports", "imports",
                                       "capabilities", "resources"},
                                      {"metadata"}));
  ComponentManifest m;
  const toml::node* n = comp->get("name");
  if (!n) return r.Missing(*comp, "component.name", "[A-Za-z0-9_-]{1,128}");
  ARCELLA_RETURN_IF_ERROR(r.String(*n, "component.name", &m.name));
  if (Status s = ValidateModuleName(m.name); !s.ok())
    return r.Bad(*n, "component.name", s.message());
  n = comp->get("version");
  if (!n) return r.Missing(*comp, "component.version", "x.y.z, e.g. \"0.1.0\"");
  ARCELLA_RETURN_IF_ERROR(r.String(*n, "component.version", &m.version));
  if (Status s = ValidateVersion(m.version); !s.ok())
    return r.Bad(*n, "component.version", s.message());
  if ((n = comp->get("description")))
    ARCELLA_RETURN_IF_ERROR(r.String(*n, "component.description", &m.description));
  if ((n = comp->get("exports")))
    ARCELLA_RETURN_IF_ERROR(r.StringArray(*n, "component.exports", &m.exports));
  if ((n = comp->get("imports")))
    ARCELLA_RETURN_IF_ERROR(r.StringArray(*n, "component.imports", &m.imports));
  ARCELLA_RETURN_IF_ERROR(ReadCapabilitiesAndResources(r, *comp, &m));
  return m;
}

Result<ComponentManifest> LoadComponentManifest(const std::string& path) {
  ARCELLA_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  return ParseComponentManifest(text, path);
}

namespace {

Status ReadOverrides(const Reader& r, const toml::table& t, DeploymentOverrides* o) {
  const std::string p = "deployment.overrides.";
  ARCELLA_RETURN_IF_ERROR(r.CheckKeys(t, p,
                                      {"isolation", "trusted", "async", "fuel", "max_memory",
                                       "timeout", "dirs", "env", "restart"},
                                      {"http"}));
  if (auto* n = t.get("isolation")) {
    std::string s;
    ARCELLA_RETURN_IF_ERROR(r.String(*n, p + "isolation", &s));
    if (s == "main") o->isolation = Isolation::kMain;
    else if (s == "worker") o->isolation = Isolation::kWorker;
    else return r.Bad(*n, p + "isolation", "expected \"main\" or \"worker\"");
  }
  if (auto* n = t.get("trusted")) ARCELLA_RETURN_IF_ERROR(r.Bool(*n, p + "trusted", &o->trusted));
  if (auto* n = t.get("async")) ARCELLA_RETURN_IF_ERROR(r.Bool(*n, p + "async", &o->async));
  if (auto* n = t.get("fuel")) {
    uint64_t v;
    ARCELLA_RETURN_IF_ERROR(r.PositiveInt(*n, p + "fuel", INT64_MAX, &v));
    o->fuel = v;
  }
  if (auto* n = t.get("max_memory"))
    ARCELLA_RETURN_IF_ERROR(r.ByteSize(*n, p + "max_memory", &o->max_memory_bytes));
  if (auto* n = t.get("timeout"))
    ARCELLA_RETURN_IF_ERROR(r.Duration(*n, p + "timeout", &o->timeout));
  if (auto* n = t.get("dirs")) ARCELLA_RETURN_IF_ERROR(r.Dirs(*n, p + "dirs", &o->dirs));
  if (auto* n = t.get("env")) ARCELLA_RETURN_IF_ERROR(r.Env(*n, p + "env", &o->env));
  if (auto* n = t.get("restart")) {
    std::string s;
    ARCELLA_RETURN_IF_ERROR(r.String(*n, p + "restart", &s));
    if (s == "never") o->restart = RestartPolicy::kNever;
    else if (s == "on-failure") o->restart = RestartPolicy::kOnFailure;
    else if (s == "always") o->restart = RestartPolicy::kAlways;
    else return r.Bad(*n, p + "restart", "expected \"never\", \"on-failure\" or \"always\"");
  }
  if (auto* n = t.get("http")) {
    const std::string h = p + "http.";
    const toml::table* ht = n->as_table();
    if (!ht) return r.Bad(*n, p + "http", "expected a table ([deployment.overrides.http])");
    ARCELLA_RETURN_IF_ERROR(r.CheckKeys(*ht, h, {"route"}));
    if (auto* rn = ht->get("route")) {
      std::string route;
      ARCELLA_RETURN_IF_ERROR(r.String(*rn, h + "route", &route));
      if (auto why = HttpRouteError(route)) return r.Bad(*rn, h + "route", *why);
      o->http_route = route;
    }
  }
  return Status::Ok();
}

}  // namespace

Result<DeploymentSpec> ParseDeploymentSpec(std::string_view text, const std::string& file) {
  Reader r(file);
  ARCELLA_ASSIGN_OR_RETURN(toml::table doc, r.Parse(text));
  ARCELLA_RETURN_IF_ERROR(r.CheckKeys(doc, "", {"deployment"}));
  const toml::node* dn = doc.get("deployment");
  if (!dn) return Status::InvalidArgument(file + ": missing [deployment] table (with module_id)");
  const toml::table* dep = dn->as_table();
  if (!dep) return r.Bad(*dn, "deployment", "expected a table");
  ARCELLA_RETURN_IF_ERROR(r.CheckKeys(*dep, "deployment.",
                                      {"module_id", "group", "replicas", "overrides", "links"},
                                      {"metadata"}));
  DeploymentSpec spec;
  // The daemon's stored form records who made the deployment; in a file the
  // key is overridden by Platform::Deploy (a file cannot promote itself).
  if (const toml::node* o = doc.get("x-arcella-origin"); o && o->is_string())
    spec.origin = *o->value<std::string>() == "operator" ? GrantOrigin::kOperator
                                                         : GrantOrigin::kHotDeploy;
  const toml::node* n = dep->get("module_id");
  if (!n) return r.Missing(*dep, "deployment.module_id", "name@x.y.z, e.g. \"http-logger@0.1.0\"");
  ARCELLA_RETURN_IF_ERROR(r.String(*n, "deployment.module_id", &spec.module_id));
  if (Status s = ValidateModuleId(spec.module_id); !s.ok())
    return r.Bad(*n, "deployment.module_id", s.message());
  if ((n = dep->get("group"))) {
    ARCELLA_RETURN_IF_ERROR(r.String(*n, "deployment.group", &spec.group));
    if (Status s = ValidateGroup(spec.group); !s.ok())
      return r.Bad(*n, "deployment.group", s.message());
  }
  const toml::node* replicas = dep->get("replicas");
  if (replicas) {
    uint64_t v;
    ARCELLA_RETURN_IF_ERROR(r.PositiveInt(*replicas, "deployment.replicas", INT32_MAX, &v));
    spec.replicas = static_cast<uint32_t>(v);
  }
  const toml::table* ov = nullptr;
  if ((n = dep->get("overrides"))) {
    ov = n->as_table();
    if (!ov) return r.Bad(*n, "deployment.overrides", "expected a table");
    ARCELLA_RETURN_IF_ERROR(ReadOverrides(r, *ov, &spec.overrides));
  }
  if ((n = dep->get("links"))) {
    const toml::table* lt = n->as_table();
    if (!lt)
      return r.Bad(*n, "deployment.links",
                   "expected a table of \"IMPORT\" = \"PROVIDER DEPLOYMENT\" strings");
    if (lt->size() > kMaxLinks)
      return r.Bad(*n, "deployment.links", "at most " + std::to_string(kMaxLinks) + " links");
    for (auto&& [k, v] : *lt) {
      std::string import(k.str()), key = "deployment.links.\"" + import + "\"", provider;
      ARCELLA_RETURN_IF_ERROR(r.String(v, key, &provider));
      if (Status s = ValidateLink(import, provider); !s.ok()) return r.Bad(v, key, s.message());
      spec.links[import] = provider;
    }
  }
  // Cross-key rules, located at the key that breaks them.
  const toml::node* iso = ov ? ov->get("isolation") : nullptr;
  std::string where = file;
  if (spec.overrides.isolation == Isolation::kMain && spec.replicas != 1 && replicas)
    where = r.Where(replicas->source());
  else if (spec.overrides.trusted.value_or(false) && ov)
    where = r.Where(ov->get("trusted")->source());
  else if (iso) where = r.Where(iso->source());
  ARCELLA_RETURN_IF_ERROR(ValidateDeploymentSpec(spec, KeyStyle::kToml, where));
  return spec;
}

Result<DeploymentSpec> LoadDeploymentSpec(const std::string& path) {
  ARCELLA_ASSIGN_OR_RETURN(std::string text, ReadText(path));
  return ParseDeploymentSpec(text, path);
}

}  // namespace arcella::platform
