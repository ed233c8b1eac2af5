#include "platform/deployment_plan.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace arcella::platform {
namespace {

using nlohmann::json;

// Reads field `key` of object `j` as T; InvalidArgument naming it otherwise.
template <typename T>
Status Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) return Status::InvalidArgument(std::string("plan: missing \"") + key + "\"");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    bool fits = std::is_unsigned_v<T>
                    ? it->is_number_unsigned() &&
                          it->template get<uint64_t>() <= std::numeric_limits<T>::max()
                    : it->is_number_integer();
    if (!fits)
      return Status::InvalidArgument(std::string("plan: \"") + key + "\" must be " +
                                     (std::is_unsigned_v<T> ? "a non-negative" : "an") +
                                     " integer in range, not " + it->dump());
  }
  try {
    *out = it->template get<T>();
  } catch (const json::exception&) {
    return Status::InvalidArgument(std::string("plan: \"") + key + "\" has the wrong type (" +
                                   it->type_name() + ")");
  }
  return Status::Ok();
}

Result<engine::Tier> TierOf(const std::string& s) {
  if (s == "aot") return engine::Tier::kAot;
  if (s == "interp") return engine::Tier::kInterp;
  return Status::InvalidArgument("plan: code.tier must be \"aot\" or \"interp\", not \"" + s +
                                 "\"");
}

const char* MeteringName(engine::Metering m) {
  switch (m) {
    case engine::Metering::kNone: return "none";
    case engine::Metering::kInterrupt: return "interrupt";
    case engine::Metering::kFuel: return "fuel";
  }
  return "?";
}

Result<engine::Metering> MeteringOf(const std::string& s) {
  if (s == "none") return engine::Metering::kNone;
  if (s == "interrupt") return engine::Metering::kInterrupt;
  if (s == "fuel") return engine::Metering::kFuel;
  return Status::InvalidArgument("plan: code.metering \"" + s + "\" is not none/interrupt/fuel");
}

Result<RestartPolicy> RestartOf(const std::string& s) {
  for (auto p : {RestartPolicy::kNever, RestartPolicy::kOnFailure, RestartPolicy::kAlways})
    if (s == RestartPolicyName(p)) return p;
  return Status::InvalidArgument("plan: restart \"" + s + "\" is not never/on-failure/always");
}

}  // namespace

std::string CodeRefName(const CodeRef& ref) {
  return ref.module_hash + " (" + engine::TierName(ref.tier) + ", " + MeteringName(ref.metering) +
         ")";
}

bool SameRuntime(const DeploymentPlan& a, const DeploymentPlan& b) {
  DeploymentPlan x = a;
  x.replicas = b.replicas;
  return x == b;
}

json PlanToJson(const DeploymentPlan& p) {
  json dirs = json::array();
  for (const PlanDir& d : p.dirs)
    dirs.push_back({{"host", d.host_path}, {"guest", d.guest_path}, {"ro", d.read_only}});
  json env = json::array();
  for (const auto& [k, v] : p.env) env.push_back(json::array({k, v}));
  json j = {{"id", p.id},
            {"module_id", p.module_id},
            {"group", p.group},
            {"isolation", IsolationName(p.isolation)},
            {"code",
             {{"hash", p.code.module_hash},
              {"tier", engine::TierName(p.code.tier)},
              {"metering", MeteringName(p.code.metering)},
              {"component", p.code.component}}},
            {"command", p.command},
            {"replicas", p.replicas},
            {"max_memory_bytes", p.max_memory_bytes},
            {"timeout_ms", static_cast<int64_t>(p.timeout.count())},
            {"dirs", std::move(dirs)},
            {"env", std::move(env)},
            {"restart", RestartPolicyName(p.restart)}};
  if (p.fuel) j["fuel"] = *p.fuel;
  json links = json::array();
  for (const PlanLink& l : p.links)
    links.push_back({{"import", l.import}, {"provider", l.provider}, {"export", l.export_name}});
  j["links"] = std::move(links);
  return j;
}

Result<DeploymentPlan> PlanFromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("plan: not an object");
  DeploymentPlan p;
  std::string isolation, restart;
  ARCELLA_RETURN_IF_ERROR(Get(j, "id", &p.id));
  ARCELLA_RETURN_IF_ERROR(Get(j, "module_id", &p.module_id));
  ARCELLA_RETURN_IF_ERROR(Get(j, "group", &p.group));
  ARCELLA_RETURN_IF_ERROR(Get(j, "isolation", &isolation));
  if (isolation == "main") p.isolation = Isolation::kMain;
  else if (isolation == "worker") p.isolation = Isolation::kWorker;
  else return Status::InvalidArgument("plan: isolation \"" + isolation + "\" is not main/worker");
  auto code = j.find("code");
  if (code == j.end() || !code->is_object())
    return Status::InvalidArgument("plan: missing \"code\" object");
  std::string tier, metering;
  ARCELLA_RETURN_IF_ERROR(Get(*code, "hash", &p.code.module_hash));
  ARCELLA_RETURN_IF_ERROR(Get(*code, "tier", &tier));
  ARCELLA_RETURN_IF_ERROR(Get(*code, "metering", &metering));
  ARCELLA_ASSIGN_OR_RETURN(p.code.tier, TierOf(tier));
  ARCELLA_ASSIGN_OR_RETURN(p.code.metering, MeteringOf(metering));
  ARCELLA_RETURN_IF_ERROR(Get(*code, "component", &p.code.component));
  ARCELLA_RETURN_IF_ERROR(Get(j, "command", &p.command));
  ARCELLA_RETURN_IF_ERROR(Get(j, "replicas", &p.replicas));
  ARCELLA_RETURN_IF_ERROR(Get(j, "max_memory_bytes", &p.max_memory_bytes));
  int64_t timeout_ms = 0;
  ARCELLA_RETURN_IF_ERROR(Get(j, "timeout_ms", &timeout_ms));
  if (timeout_ms < 0) return Status::InvalidArgument("plan: timeout_ms is negative");
  p.timeout = std::chrono::milliseconds(timeout_ms);
  if (j.contains("fuel")) {
    uint64_t fuel = 0;
    ARCELLA_RETURN_IF_ERROR(Get(j, "fuel", &fuel));
    p.fuel = fuel;
  }
  auto dirs = j.find("dirs");
  if (dirs == j.end() || !dirs->is_array())
    return Status::InvalidArgument("plan: missing \"dirs\" array");
  for (const json& d : *dirs) {
    if (!d.is_object()) return Status::InvalidArgument("plan: a dirs entry is not an object");
    PlanDir pd;
    ARCELLA_RETURN_IF_ERROR(Get(d, "host", &pd.host_path));
    ARCELLA_RETURN_IF_ERROR(Get(d, "guest", &pd.guest_path));
    ARCELLA_RETURN_IF_ERROR(Get(d, "ro", &pd.read_only));
    p.dirs.push_back(std::move(pd));
  }
  auto env = j.find("env");
  if (env == j.end() || !env->is_array())
    return Status::InvalidArgument("plan: missing \"env\" array");
  for (const json& e : *env) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string())
      return Status::InvalidArgument("plan: an env entry is not a [name, value] pair of strings");
    p.env.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
  }
  ARCELLA_RETURN_IF_ERROR(Get(j, "restart", &restart));
  ARCELLA_ASSIGN_OR_RETURN(p.restart, RestartOf(restart));
  auto links = j.find("links");
  if (links == j.end() || !links->is_array())
    return Status::InvalidArgument("plan: missing \"links\" array");
  for (const json& l : *links) {
    if (!l.is_object()) return Status::InvalidArgument("plan: a links entry is not an object");
    PlanLink pl;
    ARCELLA_RETURN_IF_ERROR(Get(l, "import", &pl.import));
    ARCELLA_RETURN_IF_ERROR(Get(l, "provider", &pl.provider));
    ARCELLA_RETURN_IF_ERROR(Get(l, "export", &pl.export_name));
    p.links.push_back(std::move(pl));
  }
  return p;
}

}  // namespace arcella::platform
