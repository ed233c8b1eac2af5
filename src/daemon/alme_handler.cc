#include "daemon/alme_handler.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>

#include "alme/val_msgpack.h"
#include "platform/manifest.h"

namespace arcella::daemon {
namespace {

// Open `logs -f` / `events.watch` streams each hold a handler thread until
// cancelled. Capped well below the server's handler-pool limit, so streams can
// never starve ordinary requests.
constexpr int kMaxOpenStreams = 256;
std::atomic<int> g_open_streams{0};

// Counts an open stream for its lifetime; false if the cap is reached.
class StreamSlot {
 public:
  StreamSlot() : ok_(g_open_streams.fetch_add(1) < kMaxOpenStreams) {}
  ~StreamSlot() { g_open_streams.fetch_sub(1); }
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

using alme::ErrorCode;
using Json = alme::Json;

// A parameter problem, answered as invalid_params.
struct ParamError {
  std::string message;
};

ErrorCode CodeFor(const Status& st, ErrorCode invalid) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return invalid;
    case StatusCode::kNotFound: return ErrorCode::kNotFound;
    case StatusCode::kAlreadyExists: return ErrorCode::kAlreadyExists;
    case StatusCode::kFailedPrecondition:
    case StatusCode::kUnsupported: return ErrorCode::kFailedPrecondition;
    case StatusCode::kIoError:
    case StatusCode::kCorruption: return ErrorCode::kIoError;
    case StatusCode::kCancelled: return ErrorCode::kFailedPrecondition;
    case StatusCode::kUnavailable: return ErrorCode::kUnavailable;
    default: return ErrorCode::kInternal;
  }
}

// Streams an install's compile progress as {"stage": "compile", "units_done",
// "units_total", "elapsed_ms", "estimate_ms"} items: at most one per
// kInterval, plus the first and the last (Flush).
class CompileProgressStream {
 public:
  static constexpr std::chrono::milliseconds kInterval{200};

  explicit CompileProgressStream(std::shared_ptr<alme::Responder> r) : r_(std::move(r)) {}

  void Report(const engine::CompileProgress& p) {
    std::lock_guard<std::mutex> lock(mu_);
    auto now = std::chrono::steady_clock::now();
    bool last = p.units_total != 0 && p.units_done >= p.units_total;
    if (sent_any_ && !last && now - sent_at_ < kInterval) {
      pending_ = p;
      return;
    }
    Send(p, now);
  }

  void Flush() {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_) Send(*pending_, std::chrono::steady_clock::now());
  }

 private:
  void Send(const engine::CompileProgress& p, std::chrono::steady_clock::time_point now) {
    r_->Stream(Json{{"stage", "compile"},
                    {"units_done", p.units_done},
                    {"units_total", p.units_total},
                    {"elapsed_ms", p.elapsed.count()},
                    {"estimate_ms", p.estimate.count()}});
    sent_any_ = true;
    sent_at_ = now;
    pending_.reset();
  }

  std::shared_ptr<alme::Responder> r_;
  std::mutex mu_;
  bool sent_any_ = false;                           // guarded by mu_
  std::chrono::steady_clock::time_point sent_at_;   // guarded by mu_
  std::optional<engine::CompileProgress> pending_;  // guarded by mu_
};

void FailWith(const std::shared_ptr<alme::Responder>& r, const Status& st,
              ErrorCode invalid = ErrorCode::kInvalidParams) {
  r->Fail(CodeFor(st, invalid), st.message());
}

const Json* Field(const Json& p, const char* key) {
  if (!p.is_object()) return nullptr;
  auto it = p.find(key);
  return it == p.end() || it->is_null() ? nullptr : &*it;
}

std::string Str(const Json& p, const char* key, bool required, const std::string& def = "") {
  const Json* v = Field(p, key);
  if (!v) {
    if (required) throw ParamError{std::string("params.") + key + " is required"};
    return def;
  }
  if (!v->is_string()) throw ParamError{std::string("params.") + key + ": expected a string"};
  return v->get<std::string>();
}

bool Bool(const Json& p, const char* key, bool def) {
  const Json* v = Field(p, key);
  if (!v) return def;
  if (!v->is_boolean()) throw ParamError{std::string("params.") + key + ": expected true or false"};
  return v->get<bool>();
}

int64_t Int(const Json& p, const char* key, bool required, int64_t def, int64_t min, int64_t max) {
  const Json* v = Field(p, key);
  if (!v) {
    if (required) throw ParamError{std::string("params.") + key + " is required"};
    return def;
  }
  if (!v->is_number_integer())
    throw ParamError{std::string("params.") + key + ": expected an integer"};
  int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                  ? INT64_MAX
                  : v->get<int64_t>();
  if (x < min || x > max)
    throw ParamError{std::string("params.") + key + " = " + std::to_string(x) + ": expected " +
                     std::to_string(min) + ".." + std::to_string(max)};
  return x;
}

Json ModuleJson(const platform::ModuleRecord& m) {
  return Json{{"id", m.id},           {"name", m.name},
              {"version", m.version}, {"kind", m.kind},
              {"size", m.size},       {"hash", m.hash},
              {"tier", m.tier},       {"installed_at", m.installed_at_ms}};
}

std::string ExternType(const engine::ExternDesc& d) {
  switch (d.kind) {
    case engine::ExternKind::kFunc: return d.func.ToString();
    case engine::ExternKind::kGlobal:
      return std::string(d.mut ? "mut " : "") + engine::ValTypeName(d.value_type);
    case engine::ExternKind::kMemory:
    case engine::ExternKind::kTable: {
      std::string s = std::to_string(d.limits.min);
      if (d.limits.has_max) s += ".." + std::to_string(d.limits.max);
      return d.kind == engine::ExternKind::kTable
                 ? std::string(engine::ValTypeName(d.value_type)) + " " + s
                 : s + " pages";
    }
    default: return "";
  }
}

// What a deployment was granted (docs/ALME.md "grants"). Env values may be
// secrets: only names are shown.
Json GrantsJson(const platform::Grants& g) {
  Json dirs = Json::array(), env = Json::array();
  for (const auto& d : g.dirs)
    dirs.push_back({{"host", d.host},
                    {"resolved", d.real_host},
                    {"guest", d.guest},
                    {"read_only", d.read_only}});
  for (const auto& [k, v] : g.env) env.push_back(k);
  Json j = {{"origin", platform::GrantOriginName(g.origin)},
            {"dirs", dirs},
            {"env", env},
            {"requested_not_granted", g.ungranted_requests}};
  if (!g.refused.empty()) j["refused"] = g.refused;
  return j;
}

Json InfoJson(const platform::ModuleInfo& info) {
  Json j = ModuleJson(info.record);
  j["manifest"] = Json{{"name", info.manifest.name},
                       {"version", info.manifest.version},
                       {"exports", info.manifest.exports},
                       {"imports", info.manifest.imports},
                       {"description", info.manifest.description},
                       {"requests",
                        {{"dirs", info.manifest.requested_dirs}, {"env", info.manifest.env}}},
                       {"toml", info.record.manifest_toml}};
  Json imports = Json::array(), exports = Json::array();
  for (const auto& i : info.imports)
    imports.push_back({{"module", i.module},
                       {"name", i.name},
                       {"kind", engine::ExternKindName(i.desc.kind)},
                       {"type", ExternType(i.desc)}});
  for (const auto& e : info.exports)
    exports.push_back({{"name", e.name},
                       {"kind", engine::ExternKindName(e.desc.kind)},
                       {"type", ExternType(e.desc)}});
  for (const auto& i : info.world_imports)
    imports.push_back({{"module", ""}, {"name", i.name}, {"kind", i.kind}, {"type", i.type}});
  for (const auto& e : info.world_exports)
    exports.push_back({{"name", e.name}, {"kind", e.kind}, {"type", e.type}});
  j["imports"] = imports;
  j["exports"] = exports;
  if (!info.wit.empty()) j["wit"] = info.wit;
  j["deployments"] = info.deployments;
  return j;
}

Json DeploymentJson(const platform::DeploymentView& v) {
  const auto& o = v.spec.overrides;
  Json reps = Json::array();
  int ready = 0;
  for (const auto& r : v.replicas) {
    Json x = {{"index", r.index},
              {"state", platform::StateName(r.state)},
              {"restarts", r.restarts}};
    if (r.exit_code) x["exit_code"] = *r.exit_code;
    if (!r.last_error.empty()) x["last_error"] = r.last_error;
    if (r.state == platform::State::kActive) ++ready;
    reps.push_back(std::move(x));
  }
  Json j = {{"id", v.record.id},
            {"module_id", v.record.module_id},
            {"group", v.record.group},
            {"replicas", v.record.replicas},
            {"ready", ready},
            {"desired", platform::DesiredName(v.record.desired)},
            {"state", platform::StateName(v.state)},
            {"isolation",
             platform::IsolationName(o.isolation.value_or(platform::Isolation::kWorker))},
            {"trusted", o.trusted.value_or(false)},
            {"async", o.async.value_or(false)},
            {"replicas_detail", reps},
            {"grants", GrantsJson(v.grants)}};
  if (!v.links.empty()) {
    Json links = Json::array();
    for (const auto& l : v.links)
      links.push_back({{"import", l.import}, {"provider", l.provider}, {"state", l.state}});
    j["links"] = std::move(links);
  }
  if (!v.http_route.empty()) j["http_route"] = v.http_route;
  if (!v.error.empty()) j["error"] = v.error;
  return j;
}

Json DeploymentsJson(const std::vector<platform::DeploymentView>& vs) {
  Json a = Json::array();
  for (const auto& v : vs) a.push_back(DeploymentJson(v));
  return Json{{"deployments", a}};
}

// Overrides from ALME params (docs/ALME.md deployment.create).
platform::DeploymentSpec SpecFromParams(const Json& p) {
  platform::DeploymentSpec s;
  s.module_id = Str(p, "module_id", true);
  s.group = Str(p, "group", false, "default");
  s.replicas = static_cast<uint32_t>(Int(p, "replicas", false, 1, 0, UINT32_MAX));
  if (const Json* links = Field(p, "links")) {
    if (!links->is_object())
      throw ParamError{"params.links: expected a map IMPORT -> PROVIDER DEPLOYMENT"};
    for (auto it = links->begin(); it != links->end(); ++it) {
      if (!it->is_string()) throw ParamError{"params.links." + it.key() + ": expected a string"};
      s.links[it.key()] = it->get<std::string>();
    }
  }
  const Json* o = Field(p, "overrides");
  if (!o) return s;
  if (!o->is_object()) throw ParamError{"params.overrides: expected a map"};
  auto& ov = s.overrides;
  std::string iso = Str(*o, "isolation", false);
  if (!iso.empty()) {
    if (iso == "main") ov.isolation = platform::Isolation::kMain;
    else if (iso == "worker") ov.isolation = platform::Isolation::kWorker;
    else
      throw ParamError{"params.overrides.isolation = \"" + iso +
                       "\": expected \"main\" or \"worker\""};
  }
  if (Field(*o, "trusted")) ov.trusted = Bool(*o, "trusted", false);
  if (Field(*o, "async")) ov.async = Bool(*o, "async", false);
  if (Field(*o, "fuel")) ov.fuel = static_cast<uint64_t>(Int(*o, "fuel", false, 0, 1, INT64_MAX));
  if (const Json* m = Field(*o, "max_memory")) {
    if (m->is_number_integer()) {
      ov.max_memory_bytes = static_cast<uint64_t>(Int(*o, "max_memory", false, 0, 1, INT64_MAX));
    } else {
      auto b = platform::ParseByteSize(Str(*o, "max_memory", false));
      if (!b.ok()) throw ParamError{"params.overrides.max_memory: " + b.status().message()};
      ov.max_memory_bytes = *b;
    }
  }
  if (Field(*o, "timeout")) {
    auto d = platform::ParseDuration(Str(*o, "timeout", false));
    if (!d.ok()) throw ParamError{"params.overrides.timeout: " + d.status().message()};
    ov.timeout = *d;
  }
  if (const Json* dirs = Field(*o, "dirs")) {
    if (!dirs->is_array()) throw ParamError{"params.overrides.dirs: expected a list of strings"};
    for (const auto& d : *dirs) {
      if (!d.is_string()) throw ParamError{"params.overrides.dirs: expected a list of strings"};
      ov.dirs.push_back(d.get<std::string>());
    }
  }
  if (const Json* env = Field(*o, "env")) {
    if (!env->is_object()) throw ParamError{"params.overrides.env: expected a map of strings"};
    for (auto it = env->begin(); it != env->end(); ++it) {
      if (!it->is_string())
        throw ParamError{"params.overrides.env." + it.key() + ": expected a string"};
      ov.env[it.key()] = it->get<std::string>();
    }
  }
  std::string restart = Str(*o, "restart", false);
  if (!restart.empty()) {
    if (restart == "never") ov.restart = platform::RestartPolicy::kNever;
    else if (restart == "on-failure") ov.restart = platform::RestartPolicy::kOnFailure;
    else if (restart == "always") ov.restart = platform::RestartPolicy::kAlways;
    else
      throw ParamError{"params.overrides.restart = \"" + restart +
                       "\": expected \"never\", \"on-failure\" or \"always\""};
  }
  if (Field(*o, "http_route")) {
    std::string route = Str(*o, "http_route", false);
    if (auto why = platform::HttpRouteError(route))
      throw ParamError{"params.overrides.http_route = \"" + route + "\": " + *why};
    ov.http_route = route;
  }
  return s;
}

}  // namespace

AlmeHandler::AlmeHandler(platform::Platform* platform, std::string home,
                         std::function<void()> request_shutdown)
    : platform_(platform),
      home_(std::move(home)),
      request_shutdown_(std::move(request_shutdown)),
      started_(std::chrono::steady_clock::now()) {}

alme::Lane AlmeHandler::LaneOf(const std::string& method, const Json& params) const {
  if (method == "ping") return alme::Lane::kInline;  // reads two fields, never blocks
  if (method == "call") return alme::Lane::kCall;
  if (method == "module.install") return alme::Lane::kInstall;
  if (method == "events.watch") return alme::Lane::kStream;
  if (method == "logs" && params.is_object()) {
    auto f = params.find("follow");
    if (f != params.end() && f->is_boolean() && f->get<bool>()) return alme::Lane::kStream;
  }
  return alme::Lane::kManagement;
}

void AlmeHandler::Handle(const std::string& method, const Json& params, Reply r) {
  try {
    if (!params.is_null() && !params.is_object()) throw ParamError{"params: expected a map"};
    if (method == "ping") Ping(params, r);
    else if (method == "module.install") Install(params, r);
    else if (method == "module.list") ModuleList(params, r);
    else if (method == "module.inspect") ModuleInspect(params, r);
    else if (method == "module.remove") ModuleRemove(params, r);
    else if (method == "deployment.create") DeploymentCreate(params, r);
    else if (method == "deployment.start" || method == "deployment.stop" ||
             method == "deployment.scale")
      Lifecycle(method, params, r);
    else if (method == "deployment.remove") DeploymentRemove(params, r);
    else if (method == "deployment.link" || method == "deployment.unlink") Link(method, params, r);
    else if (method == "status") StatusMethod(params, r);
    else if (method == "call") Call(params, r);
    else if (method == "logs") Logs(params, r);
    else if (method == "events.watch") Watch(params, r);
    else if (method == "daemon.shutdown") {
      r->Finish(Json{{"shutting_down", true}});
      if (request_shutdown_) request_shutdown_();
    } else {
      r->Fail(ErrorCode::kUnknownMethod, "unknown method \"" + method + "\" (see docs/ALME.md)");
    }
  } catch (const ParamError& e) {
    r->Fail(ErrorCode::kInvalidParams, e.message);
  } catch (const std::exception& e) {
    r->Fail(ErrorCode::kInternal, std::string("internal error: ") + e.what());
  }
}

void AlmeHandler::Ping(const Json&, const Reply& r) {
  auto up = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started_)
                .count();
  r->Finish(Json{{"protocol", alme::kProtocolVersion},
                 {"version", ARCELLA_VERSION_STRING},
                 {"pid", getpid()},
                 {"uptime_ms", up},
                 {"home", home_}});
}

void AlmeHandler::Install(const Json& p, const Reply& r) {
  std::string path = Str(p, "path", true);
  if (path.empty() || path[0] != '/')
    throw ParamError{"params.path = \"" + path + "\": expected an absolute path"};
  bool force = Bool(p, "force", false);
  std::string manifest = Str(p, "manifest", false);
  std::string tier = Str(p, "tier", false, "auto");
  engine::Tier t = engine::Tier::kAuto;
  if (tier == "aot") t = engine::Tier::kAot;
  else if (tier == "interp") t = engine::Tier::kInterp;
  else if (tier != "auto")
    throw ParamError{"params.tier = \"" + tier + "\": expected \"auto\", \"aot\" or \"interp\""};
  // Cancelling the request (or closing its connection) stops the compile.
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  r->OnCancel([cancel] { cancel->store(true); });
  CompileProgressStream compile(r);
  platform::Platform::CompileHooks hooks;
  hooks.cancel = cancel.get();
  hooks.tier = t;
  hooks.on_progress = [&](const engine::CompileProgress& cp) { compile.Report(cp); };
  auto info = platform_->Install(
      path, force, manifest,
      [&](const std::string& stage) {
        compile.Flush();  // the last compile item goes before the next stage
        r->Stream(Json{{"stage", stage}});
      },
      hooks);
  compile.Flush();
  if (!info.ok() && info.status().code() == StatusCode::kCancelled)
    return r->Fail(ErrorCode::kUnavailable, "install " + path + ": cancelled");
  if (!info.ok()) return FailWith(r, info.status(), ErrorCode::kInvalidInput);
  r->Finish(InfoJson(*info));
}

void AlmeHandler::ModuleList(const Json&, const Reply& r) {
  auto mods = platform_->ListModules();
  if (!mods.ok()) return FailWith(r, mods.status());
  auto deps = platform_->StatusOf("");
  Json a = Json::array();
  for (const auto& m : *mods) {
    Json j = ModuleJson(m);
    int n = 0;
    if (deps.ok())
      for (const auto& d : *deps) n += d.record.module_id == m.id;
    j["deployments"] = n;
    a.push_back(std::move(j));
  }
  r->Finish(Json{{"modules", a}});
}

void AlmeHandler::ModuleInspect(const Json& p, const Reply& r) {
  auto info = platform_->Inspect(Str(p, "id", true), Bool(p, "wit", false));
  if (!info.ok()) return FailWith(r, info.status());
  Json j = InfoJson(*info);
  Json grants = Json::object();
  if (!info->deployments.empty())
    if (auto deps = platform_->StatusOf(info->record.id); deps.ok())
      for (const auto& d : *deps) grants[d.record.id] = GrantsJson(d.grants);
  j["deployment_grants"] = grants;
  r->Finish(j);
}

void AlmeHandler::ModuleRemove(const Json& p, const Reply& r) {
  std::string id = Str(p, "id", true);
  Status st = platform_->RemoveModule(id);
  if (!st.ok()) return FailWith(r, st);
  r->Finish(Json{{"removed", id}});
}

void AlmeHandler::DeploymentCreate(const Json& p, const Reply& r) {
  Result<platform::DeploymentView> v = Status::Internal("unset");
  if (Field(p, "toml")) {
    std::string file = Str(p, "file", false, "deployment.toml");
    auto spec = platform::ParseDeploymentSpec(Str(p, "toml", true), file);
    if (!spec.ok()) return FailWith(r, spec.status(), ErrorCode::kInvalidInput);
    v = platform_->Deploy(*spec, platform::KeyStyle::kToml, file, platform::GrantOrigin::kOperator);
    if (!v.ok()) return FailWith(r, v.status(), ErrorCode::kInvalidInput);
  } else {
    platform::DeploymentSpec spec = SpecFromParams(p);
    v = platform_->Deploy(spec, platform::KeyStyle::kAlmeParams, "deploy",
                          platform::GrantOrigin::kOperator);
    if (!v.ok()) return FailWith(r, v.status(), ErrorCode::kInvalidParams);
  }
  r->Finish(DeploymentJson(*v));
}

void AlmeHandler::Lifecycle(const std::string& method, const Json& p, const Reply& r) {
  std::string target = Str(p, "target", true);
  std::string group = Str(p, "group", false);
  Result<std::vector<platform::DeploymentView>> out = Status::Internal("unset");
  if (method == "deployment.start") {
    out = platform_->Start(target, group);
  } else if (method == "deployment.stop") {
    out = platform_->Stop(target, group, Bool(p, "force", false));
  } else {
    auto n = Int(p, "replicas", true, 0, 1, UINT32_MAX);
    out = platform_->Scale(target, group, static_cast<uint32_t>(n));
  }
  if (!out.ok()) return FailWith(r, out.status());
  r->Finish(DeploymentsJson(*out));
}

void AlmeHandler::DeploymentRemove(const Json& p, const Reply& r) {
  auto out = platform_->Undeploy(Str(p, "target", true), Str(p, "group", false),
                                 Bool(p, "force", false));
  if (!out.ok()) return FailWith(r, out.status());
  r->Finish(Json{{"removed", *out}});
}

void AlmeHandler::Link(const std::string& method, const Json& p, const Reply& r) {
  std::string id = Str(p, "id", true);
  std::string import = Str(p, "import", true);
  std::optional<std::string> provider;
  if (method == "deployment.link") provider = Str(p, "provider", true);
  auto out = platform_->SetLink(id, import, provider);
  if (!out.ok()) return FailWith(r, out.status());
  r->Finish(DeploymentJson(*out));
}

void AlmeHandler::StatusMethod(const Json& p, const Reply& r) {
  auto out = platform_->StatusOf(Str(p, "target", false));
  if (!out.ok()) return FailWith(r, out.status());
  Json j = DeploymentsJson(*out);
  auto up = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started_)
                .count();
  j["daemon"] = Json{{"pid", getpid()},
                     {"uptime_ms", up},
                     {"home", home_},
                     {"version", ARCELLA_VERSION_STRING}};
  Json workers = Json::array();
  for (const auto& w : platform_->Workers())
    workers.push_back(Json{{"group", w.group},
                           {"pid", w.pid},
                           {"state", w.state},
                           {"restarts", w.restarts},
                           {"rss_bytes", w.rss_bytes},
                           {"replicas", w.replicas},
                           {"last_exit", w.last_exit}});
  j["workers"] = std::move(workers);
  r->Finish(j);
}

void AlmeHandler::Call(const Json& p, const Reply& r) {
  std::string target = Str(p, "target", true);
  std::string fn = Str(p, "export", true);
  std::vector<std::string> args;
  if (const Json* a = Field(p, "args")) {
    if (!a->is_array()) throw ParamError{"params.args: expected a list of strings"};
    for (const auto& x : *a) {
      if (x.is_string()) args.push_back(x.get<std::string>());
      else if (x.is_number() || x.is_boolean()) args.push_back(x.dump());
      else throw ParamError{"params.args: expected a list of strings"};
    }
  }
  // Cancelling the request (or closing its connection) cancels the call: a
  // call still waiting for its replica gives up, a running guest is
  // interrupted, and the replica is free for the next call.
  auto control = std::make_shared<platform::CallControl>();
  r->OnCancel([control] { control->Cancel(); });
  auto out = platform_->Call(target, fn, args, control.get());
  if (control->cancelled())
    return r->Fail(ErrorCode::kUnavailable, "call " + target + " " + fn + ": cancelled");
  if (!out.ok()) return FailWith(r, out.status());
  // kInterrupted only comes from the platform stopping the replica (stop,
  // scale down, shutdown) while the call ran: not the guest's fault.
  if (out->trap && out->trap->kind == engine::TrapKind::kInterrupted)
    return r->Fail(ErrorCode::kFailedPrecondition,
                   out->replica + " was stopped during the call (stop, scale down or shutdown)");
  if (out->trap) return r->Fail(ErrorCode::kTrapped, out->replica + ": " + out->trap->ToString());
  Json reply{{"replica", out->replica}, {"results", out->results}};
  // A component's result also as a typed value (docs/ALME.md, "Component values").
  if (out->value && out->type) {
    auto typed = alme::EncodeVal(*out->value, *out->type, "result");
    if (typed.ok()) reply["value"] = std::move(*typed);
  }
  r->Finish(reply);
}

void AlmeHandler::Logs(const Json& p, const Reply& r) {
  std::string target = Str(p, "target", true);
  bool follow = Bool(p, "follow", false);
  auto tail = static_cast<size_t>(Int(p, "tail", false, 100, 0, 1'000'000));
  auto known = platform_->StatusOf(target);  // validates the target
  if (!known.ok()) return FailWith(r, known.status());
  platform::LogHub* hub = platform_->logs();
  auto item = [](const platform::LogLine& l) {
    return Json{{"replica", l.replica},
                {"stream", platform::LogStreamName(l.stream)},
                {"ts_ms", l.ts_ms},
                {"line", l.line}};
  };
  size_t sent = 0;
  if (!hub) return r->Finish(Json{{"lines", 0}});
  if (!follow) {
    for (const auto& l : hub->Tail(target, tail)) {
      if (!r->Stream(item(l))) break;
      ++sent;
    }
    return r->Finish(Json{{"lines", sent}});
  }
  StreamSlot slot;
  if (!slot.ok())
    return r->Fail(ErrorCode::kUnavailable, "too many open streams (" +
                                                std::to_string(kMaxOpenStreams) +
                                                "); cancel some `logs -f` or `events` first");
  // Follow: subscribe first, then send the tail, so nothing falls between.
  // The state is shared: callbacks may outlive this frame by a little.
  struct Follow {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::vector<platform::LogLine> pending;
  };
  auto f = std::make_shared<Follow>();
  uint64_t token = hub->Subscribe(target, [f](const platform::LogLine& l) {
    std::lock_guard<std::mutex> lock(f->mu);
    if (f->pending.size() < 100'000) f->pending.push_back(l);  // a stuck client loses lines
    f->cv.notify_one();
  });
  r->OnCancel([f] {
    std::lock_guard<std::mutex> lock(f->mu);
    f->done = true;
    f->cv.notify_one();
  });
  // Lines up to the tail's last one were sent by the tail; later ones come
  // from the subscription. Writers deliver outside the hub's lock, so a batch
  // may be out of order: sort it, and never drop a line for being late.
  uint64_t tail_seq = 0;
  for (const auto& l : hub->Tail(target, tail)) {
    if (!r->Stream(item(l))) break;
    tail_seq = l.seq;
  }
  std::unique_lock<std::mutex> lock(f->mu);
  while (!f->done && !r->cancelled()) {
    f->cv.wait_for(lock, std::chrono::milliseconds(500));
    auto batch = std::move(f->pending);
    f->pending.clear();
    lock.unlock();
    std::sort(batch.begin(), batch.end(),
              [](const platform::LogLine& a, const platform::LogLine& b) { return a.seq < b.seq; });
    for (const auto& l : batch) {
      if (l.seq <= tail_seq) continue;
      if (!r->Stream(item(l))) break;
    }
    lock.lock();
  }
  lock.unlock();
  hub->Unsubscribe(token);
  r->Finish(Json{{"cancelled", true}});
}

void AlmeHandler::Watch(const Json&, const Reply& r) {
  platform::EventBus* bus = platform_->events();
  if (!bus) return r->Finish(Json{{"cancelled", true}});
  StreamSlot slot;
  if (!slot.ok())
    return r->Fail(ErrorCode::kUnavailable, "too many open streams (" +
                                                std::to_string(kMaxOpenStreams) +
                                                "); cancel some `logs -f` or `events` first");
  auto state = std::make_shared<std::pair<std::mutex, std::condition_variable>>();
  auto done = std::make_shared<bool>(false);
  std::weak_ptr<alme::Responder> weak = r;
  uint64_t token = bus->Subscribe([weak](const platform::Event& e) {
    if (auto resp = weak.lock())
      resp->Stream(Json{{"ts_ms", e.ts_ms},
                        {"kind", e.kind},
                        {"id", e.id},
                        {"state", e.state},
                        {"message", e.message}});
  });
  r->OnCancel([state, done] {
    std::lock_guard<std::mutex> lock(state->first);
    *done = true;
    state->second.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(state->first);
    state->second.wait(lock, [&] { return *done || r->cancelled(); });
  }
  bus->Unsubscribe(token);
  r->Finish(Json{{"cancelled", true}});
}

}  // namespace arcella::daemon
