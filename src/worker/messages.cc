#include "worker/messages.h"

#include <limits>
#include <string_view>
#include <utility>

#include "platform/spec.h"
#include "worker/channel.h"

namespace arcella::worker {
namespace {

using nlohmann::json;

// Reads the fields of one map of a message, naming the message and the
// field's path in every error: `apply: "started" must be a boolean`.
class Fields {
 public:
  Fields(const json& j, const char* msg, std::string prefix = {})
      : j_(j), msg_(msg), prefix_(std::move(prefix)) {}

  Status Object() const {
    if (j_.is_object()) return Status::Ok();
    if (prefix_.empty()) return Status::InvalidArgument(std::string(msg_) + ": not a map");
    return Status::InvalidArgument(std::string(msg_) + ": \"" +
                                   prefix_.substr(0, prefix_.size() - 1) + "\" must be a map");
  }
  // The message type must be `t` (a decoder fed another message's body).
  Status Type(const char* t) const {
    ARCELLA_RETURN_IF_ERROR(Object());
    auto it = j_.find("t");
    if (it != j_.end() && it->is_string() && it->get_ref<const std::string&>() == t)
      return Status::Ok();
    return Status::InvalidArgument(std::string(msg_) + ": \"t\" must be \"" + t + "\"");
  }

  const json* Find(const char* key) const {
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  Status Missing(const char* key) const {
    return Status::InvalidArgument(std::string(msg_) + ": missing \"" + prefix_ + key + "\"");
  }
  Status Wrong(const char* key, const char* must) const {
    return Status::InvalidArgument(std::string(msg_) + ": \"" + prefix_ + key + "\" must be " +
                                   must);
  }

  Status Str(const char* key, std::string* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_string()) return Wrong(key, "a string");
    *out = v->get<std::string>();
    return Status::Ok();
  }
  Status Bool(const char* key, bool* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_boolean()) return Wrong(key, "a boolean");
    *out = v->get<bool>();
    return Status::Ok();
  }
  Status U64(const char* key, uint64_t* out, uint64_t max = UINT64_MAX,
             const char* must = "an unsigned 64-bit integer") const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    // MessagePack gives non-negative integers as unsigned; a json built in
    // this process may hold them as signed.
    bool fits = v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0);
    if (!fits || v->get<uint64_t>() > max) return Wrong(key, must);
    *out = v->get<uint64_t>();
    return Status::Ok();
  }
  Status U32(const char* key, uint32_t* out) const {
    uint64_t v = 0;
    ARCELLA_RETURN_IF_ERROR(U64(key, &v, UINT32_MAX, "an unsigned 32-bit integer"));
    *out = static_cast<uint32_t>(v);
    return Status::Ok();
  }
  Status I64(const char* key, int64_t* out, int64_t min = INT64_MIN, int64_t max = INT64_MAX,
             const char* must = "a 64-bit integer") const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    bool fits = v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(max)
                                        : v->is_number_integer() && v->get<int64_t>() >= min &&
                                              v->get<int64_t>() <= max;
    if (!fits) return Wrong(key, must);
    *out = v->get<int64_t>();
    return Status::Ok();
  }
  Status I32(const char* key, int32_t* out) const {
    int64_t v = 0;
    ARCELLA_RETURN_IF_ERROR(I64(key, &v, INT32_MIN, INT32_MAX, "a 32-bit integer"));
    *out = static_cast<int32_t>(v);
    return Status::Ok();
  }
  Status StrList(const char* key, std::vector<std::string>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_array()) return Wrong(key, "an array of strings");
    out->clear();
    out->reserve(v->size());
    for (const json& e : *v) {
      if (!e.is_string()) return Wrong(key, "an array of strings");
      out->push_back(e.get<std::string>());
    }
    return Status::Ok();
  }
  Status Bin(const char* key, std::vector<uint8_t>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    if (!v->is_binary()) return Wrong(key, "MessagePack binary");
    const auto& b = v->get_binary();
    out->assign(b.begin(), b.end());
    return Status::Ok();
  }
  // The map at `key` (its fields' errors name "key.field").
  Result<Fields> Sub(const char* key) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    Fields f(*v, msg_, prefix_ + key + ".");
    ARCELLA_RETURN_IF_ERROR(f.Object());
    return f;
  }
  const char* msg() const { return msg_; }
  const std::string& prefix() const { return prefix_; }

 private:
  const json& j_;
  const char* msg_;
  std::string prefix_;
};

Result<platform::DeploymentStatus> DeploymentStatusOf(const Fields& f);

Result<platform::State> StateOf(const Fields& f, const char* key) {
  std::string name;
  ARCELLA_RETURN_IF_ERROR(f.Str(key, &name));
  auto s = platform::ParseState(name);
  if (!s) return f.Wrong(key, "a state (installed, resolved, starting, active, stopping, failed)");
  return *s;
}

std::optional<engine::TrapKind> TrapKindOf(const std::string& name) {
  for (int k = 0; k <= static_cast<int>(engine::TrapKind::kExit); ++k) {
    auto kind = static_cast<engine::TrapKind>(k);
    if (name == engine::TrapKindName(kind)) return kind;
  }
  return std::nullopt;
}

std::optional<platform::LogStream> LogStreamOf(const std::string& name) {
  for (auto s :
       {platform::LogStream::kStdout, platform::LogStream::kStderr, platform::LogStream::kPlatform})
    if (name == platform::LogStreamName(s)) return s;
  return std::nullopt;
}

json DeploymentStatusToJson(const platform::DeploymentStatus& s) {
  json replicas = json::array();
  for (const platform::ReplicaStatus& r : s.replicas) {
    json e = {{"index", r.index},
              {"state", platform::StateName(r.state)},
              {"restarts", r.restarts},
              {"last_error", r.last_error}};
    if (r.exit_code) e["exit_code"] = *r.exit_code;
    replicas.push_back(std::move(e));
  }
  return {{"id", s.id},
          {"started", s.started},
          {"command", s.command},
          {"state", platform::StateName(s.state)},
          {"replicas", std::move(replicas)}};
}

json CallResultToJson(const platform::CallResult& r) {
  json j = {{"replica", r.replica}, {"results", r.results}};
  if (r.instance) j["instance"] = r.instance;
  if (r.trap) {
    j["trap"] = {{"kind", engine::TrapKindName(r.trap->kind)},
                 {"function", r.trap->function},
                 {"message", r.trap->message},
                 {"exit_code", r.trap->exit_code}};
  }
  return j;
}

json Request(const char* t, uint64_t id) { return {{"t", t}, {"id", id}}; }

// Writes MessagePack the way nlohmann::json::to_msgpack does (the smallest
// form of each value), for the fixed shapes of AppendCall*Frame. A map's keys
// must come in the order json's std::map keeps them (sorted).
class PackWriter {
 public:
  explicit PackWriter(std::vector<uint8_t>* out) : out_(out), start_(out->size()) {
    out_->resize(start_ + 4);  // the length, set by Finish()
  }
  void Map(uint8_t n) { out_->push_back(static_cast<uint8_t>(0x80 | n)); }  // n <= 15
  void Array(size_t n) {
    if (n <= 15) {
      out_->push_back(static_cast<uint8_t>(0x90 | n));
    } else if (n <= 0xffff) {
      Head(0xdc, n, 2);
    } else {
      Head(0xdd, n, 4);
    }
  }
  void Str(std::string_view s) {
    const size_t n = s.size();
    if (n > kMaxFrameBytes) {
      too_big_ = true;
      return;
    }
    if (n <= 31) {
      out_->push_back(static_cast<uint8_t>(0xa0 | n));
    } else if (n <= 0xff) {
      Head(0xd9, n, 1);
    } else if (n <= 0xffff) {
      Head(0xda, n, 2);
    } else {
      Head(0xdb, n, 4);
    }
    out_->insert(out_->end(), s.begin(), s.end());
  }
  void Uint(uint64_t v) {
    if (v <= 0x7f) {
      out_->push_back(static_cast<uint8_t>(v));
    } else if (v <= 0xff) {
      Head(0xcc, v, 1);
    } else if (v <= 0xffff) {
      Head(0xcd, v, 2);
    } else if (v <= 0xffffffff) {
      Head(0xce, v, 4);
    } else {
      Head(0xcf, v, 8);
    }
  }
  Status Finish() {
    const size_t n = out_->size() - start_ - 4;
    if (too_big_ || n > kMaxFrameBytes) {
      out_->resize(start_);
      return Status::InvalidArgument("frame: body is over the cap of " +
                                     std::to_string(kMaxFrameBytes) + " bytes");
    }
    uint8_t* p = out_->data() + start_;
    p[0] = static_cast<uint8_t>(n >> 24);
    p[1] = static_cast<uint8_t>(n >> 16);
    p[2] = static_cast<uint8_t>(n >> 8);
    p[3] = static_cast<uint8_t>(n);
    return Status::Ok();
  }

 private:
  void Head(uint8_t tag, uint64_t v, int bytes) {
    out_->push_back(tag);
    for (int i = bytes - 1; i >= 0; --i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t>* out_;
  const size_t start_;
  bool too_big_ = false;
};

}  // namespace

json EncodeHello(const Hello& h) {
  json j = {{"t", "hello"}, {"v", h.version}, {"pid", h.pid}, {"sandbox", h.sandbox}};
  if (h.ring) j["ring"] = true;
  if (h.link_ring) j["link_ring"] = true;
  return j;
}

Result<Hello> DecodeHello(const json& body) {
  Fields f(body, "hello");
  ARCELLA_RETURN_IF_ERROR(f.Type("hello"));
  Hello h;
  ARCELLA_RETURN_IF_ERROR(f.U32("v", &h.version));
  ARCELLA_RETURN_IF_ERROR(f.I64("pid", &h.pid, 1, INT32_MAX, "a positive process id"));
  ARCELLA_RETURN_IF_ERROR(f.Str("sandbox", &h.sandbox));
  if (body.contains("ring")) ARCELLA_RETURN_IF_ERROR(f.Bool("ring", &h.ring));
  if (body.contains("link_ring")) ARCELLA_RETURN_IF_ERROR(f.Bool("link_ring", &h.link_ring));
  return h;
}

json EncodeApply(const ApplyRequest& r) {
  json j = Request("apply", r.id);
  j["plan"] = platform::PlanToJson(r.plan);
  j["started"] = r.started;
  j["with_code"] = r.with_code;
  j["meta"] = json::binary(r.meta);
  json metas = json::array();
  for (const auto& m : r.metas) metas.push_back(json::binary(m));
  j["metas"] = std::move(metas);
  j["with_dirs"] = r.with_dirs;
  return j;
}

Result<ApplyRequest> DecodeApply(const json& body) {
  Fields f(body, "apply");
  ARCELLA_RETURN_IF_ERROR(f.Type("apply"));
  ApplyRequest r;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &r.id));
  const json* plan = f.Find("plan");
  if (plan == nullptr) return f.Missing("plan");
  if (!plan->is_object()) return f.Wrong("plan", "a map");
  auto p = platform::PlanFromJson(*plan);
  if (!p.ok()) return p.status().WithContext("apply");
  r.plan = std::move(p).value();
  ARCELLA_RETURN_IF_ERROR(f.Bool("started", &r.started));
  ARCELLA_RETURN_IF_ERROR(f.Bool("with_code", &r.with_code));
  ARCELLA_RETURN_IF_ERROR(f.Bin("meta", &r.meta));
  if (!r.with_code && !r.meta.empty())
    return Status::InvalidArgument("apply: \"meta\" must be empty without code");
  const json* metas = f.Find("metas");
  if (metas == nullptr) return f.Missing("metas");
  if (!metas->is_array()) return f.Wrong("metas", "an array of binaries");
  for (const json& m : *metas) {
    if (!m.is_binary()) return f.Wrong("metas", "an array of binaries");
    r.metas.emplace_back(m.get_binary().begin(), m.get_binary().end());
  }
  if (!(r.with_code && r.plan.code.component) && !r.metas.empty())
    return Status::InvalidArgument(
        "apply: \"metas\" must be empty but for a component's code that is sent");
  if (r.plan.code.component && !r.meta.empty())
    return Status::InvalidArgument("apply: \"meta\" must be empty for a component");
  const json* dirs = f.Find("with_dirs");
  if (dirs == nullptr) return f.Missing("with_dirs");
  const char* must = "an ascending array of indices into plan.dirs";
  if (!dirs->is_array()) return f.Wrong("with_dirs", must);
  for (const json& e : *dirs) {
    bool fits = e.is_number_unsigned() || (e.is_number_integer() && e.get<int64_t>() >= 0);
    if (!fits || e.get<uint64_t>() >= r.plan.dirs.size() ||
        (!r.with_dirs.empty() && e.get<uint64_t>() <= r.with_dirs.back()))
      return f.Wrong("with_dirs", must);
    r.with_dirs.push_back(static_cast<uint32_t>(e.get<uint64_t>()));
  }
  return r;
}

json EncodeRemove(const DeploymentRequest& r) {
  json j = Request("remove", r.id);
  j["dep"] = r.dep;
  return j;
}

json EncodeStatus(const DeploymentRequest& r) {
  json j = Request("status", r.id);
  j["dep"] = r.dep;
  return j;
}

Result<DeploymentRequest> DecodeDeploymentRequest(const json& body) {
  Fields f(body, "remove/status");
  ARCELLA_RETURN_IF_ERROR(f.Object());
  const json* t = f.Find("t");
  if (t == nullptr || !t->is_string() || (*t != "remove" && *t != "status"))
    return f.Wrong("t", "\"remove\" or \"status\"");
  Fields g(body, t->get_ref<const std::string&>() == "remove" ? "remove" : "status");
  DeploymentRequest r;
  ARCELLA_RETURN_IF_ERROR(g.U64("id", &r.id));
  ARCELLA_RETURN_IF_ERROR(g.Str("dep", &r.dep));
  return r;
}

json EncodeCall(const CallRequest& r) {
  json j = Request("call", r.id);
  j["dep"] = r.dep;
  j["export"] = r.export_name;
  j["args"] = r.args;
  if (r.handles) j["handles"] = true;
  if (r.replica) {
    j["replica"] = *r.replica;
    j["instance"] = r.instance;
  }
  if (r.drop) j["drop"] = true;
  return j;
}

Result<CallRequest> DecodeCall(const json& body) {
  Fields f(body, "call");
  ARCELLA_RETURN_IF_ERROR(f.Type("call"));
  CallRequest r;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &r.id));
  ARCELLA_RETURN_IF_ERROR(f.Str("dep", &r.dep));
  ARCELLA_RETURN_IF_ERROR(f.Str("export", &r.export_name));
  ARCELLA_RETURN_IF_ERROR(f.StrList("args", &r.args));
  if (f.Find("handles")) ARCELLA_RETURN_IF_ERROR(f.Bool("handles", &r.handles));
  if (f.Find("drop")) ARCELLA_RETURN_IF_ERROR(f.Bool("drop", &r.drop));
  if (f.Find("replica") || f.Find("instance")) {
    uint32_t replica = 0;
    ARCELLA_RETURN_IF_ERROR(f.U32("replica", &replica));
    ARCELLA_RETURN_IF_ERROR(f.U64("instance", &r.instance));
    if (r.instance == 0) return f.Wrong("instance", "a non-zero instance id");
    r.replica = replica;
  }
  if (r.drop && (!r.replica || r.args.size() != 1))
    return f.Wrong("drop", "set only on a pinned call with one argument (the handle)");
  return r;
}

json EncodeCancel(uint64_t call_id) { return {{"t", "cancel"}, {"call", call_id}}; }

Result<uint64_t> DecodeCancel(const json& body) {
  Fields f(body, "cancel");
  ARCELLA_RETURN_IF_ERROR(f.Type("cancel"));
  uint64_t id = 0;
  ARCELLA_RETURN_IF_ERROR(f.U64("call", &id));
  return id;
}

json EncodePing(uint64_t id) { return Request("ping", id); }

json EncodeShutdown() { return {{"t", "shutdown"}}; }

json EncodeReply(uint64_t id, const Status& st) {
  json j = Request("reply", id);
  j["code"] = static_cast<int>(st.code());
  j["msg"] = st.message();
  return j;
}

json EncodeStatusReply(uint64_t id, const platform::DeploymentStatus& s) {
  json j = EncodeReply(id, Status::Ok());
  j["status"] = DeploymentStatusToJson(s);
  return j;
}

json EncodeCallReply(uint64_t id, const platform::CallResult& r) {
  json j = EncodeReply(id, Status::Ok());
  j["result"] = CallResultToJson(r);
  return j;
}

Status AppendCallFrame(const CallRequest& r, std::vector<uint8_t>* out) {
  if (r.handles || r.replica || r.drop) {  // rare: the JSON path
    auto frame = EncodeFrame(EncodeCall(r));
    if (!frame.ok()) return frame.status();
    out->insert(out->end(), frame->begin(), frame->end());
    return Status::Ok();
  }
  PackWriter w(out);
  w.Map(5);
  w.Str("args");
  w.Array(r.args.size());
  for (const auto& a : r.args) w.Str(a);
  w.Str("dep");
  w.Str(r.dep);
  w.Str("export");
  w.Str(r.export_name);
  w.Str("id");
  w.Uint(r.id);
  w.Str("t");
  w.Str("call");
  return w.Finish();
}

Status AppendCallReplyFrame(uint64_t id, const platform::CallResult& r, std::vector<uint8_t>* out) {
  if (r.trap || r.instance) {  // rare: the JSON path
    auto frame = EncodeFrame(EncodeCallReply(id, r));
    if (!frame.ok()) return frame.status();
    out->insert(out->end(), frame->begin(), frame->end());
    return Status::Ok();
  }
  PackWriter w(out);
  w.Map(5);
  w.Str("code");
  w.Uint(0);
  w.Str("id");
  w.Uint(id);
  w.Str("msg");
  w.Str("");
  w.Str("result");
  w.Map(2);
  w.Str("replica");
  w.Str(r.replica);
  w.Str("results");
  w.Array(r.results.size());
  for (const auto& v : r.results) w.Str(v);
  w.Str("t");
  w.Str("reply");
  return w.Finish();
}

Result<uint64_t> ReplyId(const json& body) {
  Fields f(body, "reply");
  ARCELLA_RETURN_IF_ERROR(f.Type("reply"));
  uint64_t id = 0;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &id));
  return id;
}

Status CheckReply(const json& body) {
  Fields f(body, "reply");
  ARCELLA_RETURN_IF_ERROR(f.Type("reply"));
  uint64_t id = 0;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &id));
  uint32_t code = 0;
  ARCELLA_RETURN_IF_ERROR(f.U32("code", &code));
  if (const json* m = f.Find("msg"); m != nullptr && !m->is_string())
    return f.Wrong("msg", "a string");
  if (f.Find("status") != nullptr) ARCELLA_RETURN_IF_ERROR(DecodeStatusReply(body).status());
  if (f.Find("result") != nullptr) ARCELLA_RETURN_IF_ERROR(f.Sub("result").status());
  if (const json* all = f.Find("statuses"); all != nullptr && !all->is_array())
    return f.Wrong("statuses", "an array");
  return Status::Ok();
}

Status ReplyStatus(const json& body) {
  Fields f(body, "reply");
  if (Status st = f.Type("reply"); !st.ok()) return Status::Internal(st.message());
  uint32_t code = 0;
  if (Status st = f.U32("code", &code); !st.ok()) return Status::Internal(st.message());
  std::string msg;
  if (const json* m = f.Find("msg"); m != nullptr) {
    if (!m->is_string()) return Status::Internal("reply: \"msg\" must be a string");
    msg = m->get<std::string>();
  }
  if (code == 0) return Status::Ok();
  if (code > static_cast<uint32_t>(StatusCode::kUnavailable))
    return Status::Internal("reply: unknown status code " + std::to_string(code) + ": " + msg);
  return Status(static_cast<StatusCode>(code), std::move(msg));
}

Result<platform::DeploymentStatus> DecodeStatusReply(const json& body) {
  Fields top(body, "reply");
  ARCELLA_RETURN_IF_ERROR(top.Type("reply"));
  ARCELLA_ASSIGN_OR_RETURN(Fields f, top.Sub("status"));
  return DeploymentStatusOf(f);
}

json EncodeStatuses(const StatusesRequest& r) {
  json j = Request("statuses", r.id);
  j["deps"] = r.deps;
  return j;
}

Result<StatusesRequest> DecodeStatuses(const json& body) {
  Fields f(body, "statuses");
  ARCELLA_RETURN_IF_ERROR(f.Type("statuses"));
  StatusesRequest r;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &r.id));
  ARCELLA_RETURN_IF_ERROR(f.StrList("deps", &r.deps));
  return r;
}

json EncodeStatusesReply(uint64_t id,
                         const std::vector<Result<platform::DeploymentStatus>>& statuses) {
  json j = EncodeReply(id, Status::Ok());
  json all = json::array();
  for (const auto& s : statuses) {
    const Status& st = s.status();
    json e = {{"code", static_cast<int>(st.code())}, {"msg", st.message()}};
    if (s.ok()) e["status"] = DeploymentStatusToJson(*s);
    all.push_back(std::move(e));
  }
  j["statuses"] = std::move(all);
  return j;
}

Result<std::vector<Result<platform::DeploymentStatus>>> DecodeStatusesReply(const json& body,
                                                                            size_t count) {
  Fields top(body, "reply");
  ARCELLA_RETURN_IF_ERROR(top.Type("reply"));
  const json* all = top.Find("statuses");
  if (all == nullptr) return top.Missing("statuses");
  if (!all->is_array()) return top.Wrong("statuses", "an array");
  if (all->size() != count)
    return Status::InvalidArgument("reply: \"statuses\" has " + std::to_string(all->size()) +
                                   " entries for " + std::to_string(count) + " deployments");
  std::vector<Result<platform::DeploymentStatus>> out;
  out.reserve(count);
  for (size_t i = 0; i < all->size(); ++i) {
    Fields e((*all)[i], "reply", "statuses[" + std::to_string(i) + "].");
    ARCELLA_RETURN_IF_ERROR(e.Object());
    uint32_t code = 0;
    ARCELLA_RETURN_IF_ERROR(e.U32("code", &code));
    std::string msg;
    ARCELLA_RETURN_IF_ERROR(e.Str("msg", &msg));
    if (code == 0) {
      ARCELLA_ASSIGN_OR_RETURN(Fields f, e.Sub("status"));
      ARCELLA_ASSIGN_OR_RETURN(platform::DeploymentStatus s, DeploymentStatusOf(f));
      out.emplace_back(std::move(s));
    } else if (code > static_cast<uint32_t>(StatusCode::kUnavailable)) {
      out.emplace_back(
          Status::Internal("reply: unknown status code " + std::to_string(code) + ": " + msg));
    } else {
      out.emplace_back(Status(static_cast<StatusCode>(code), std::move(msg)));
    }
  }
  return out;
}

namespace {

Result<platform::DeploymentStatus> DeploymentStatusOf(const Fields& f) {
  platform::DeploymentStatus s;
  ARCELLA_RETURN_IF_ERROR(f.Str("id", &s.id));
  ARCELLA_RETURN_IF_ERROR(f.Bool("started", &s.started));
  ARCELLA_RETURN_IF_ERROR(f.Bool("command", &s.command));
  ARCELLA_ASSIGN_OR_RETURN(s.state, StateOf(f, "state"));
  const json* reps = f.Find("replicas");
  if (reps == nullptr) return f.Missing("replicas");
  if (!reps->is_array()) return f.Wrong("replicas", "an array");
  s.replicas.reserve(reps->size());
  for (size_t i = 0; i < reps->size(); ++i) {
    Fields r((*reps)[i], "reply", f.prefix() + "replicas[" + std::to_string(i) + "].");
    ARCELLA_RETURN_IF_ERROR(r.Object());
    platform::ReplicaStatus rs;
    ARCELLA_RETURN_IF_ERROR(r.U32("index", &rs.index));
    ARCELLA_ASSIGN_OR_RETURN(rs.state, StateOf(r, "state"));
    ARCELLA_RETURN_IF_ERROR(r.U32("restarts", &rs.restarts));
    if (r.Find("exit_code") != nullptr) {
      int32_t code = 0;
      ARCELLA_RETURN_IF_ERROR(r.I32("exit_code", &code));
      rs.exit_code = code;
    }
    ARCELLA_RETURN_IF_ERROR(r.Str("last_error", &rs.last_error));
    s.replicas.push_back(std::move(rs));
  }
  return s;
}

}  // namespace

Result<platform::CallResult> DecodeCallReply(const json& body) {
  Fields top(body, "reply");
  ARCELLA_RETURN_IF_ERROR(top.Type("reply"));
  ARCELLA_ASSIGN_OR_RETURN(Fields f, top.Sub("result"));
  platform::CallResult r;
  ARCELLA_RETURN_IF_ERROR(f.Str("replica", &r.replica));
  ARCELLA_RETURN_IF_ERROR(f.StrList("results", &r.results));
  if (f.Find("instance") != nullptr) ARCELLA_RETURN_IF_ERROR(f.U64("instance", &r.instance));
  if (f.Find("trap") != nullptr) {
    ARCELLA_ASSIGN_OR_RETURN(Fields t, f.Sub("trap"));
    engine::Trap trap;
    std::string kind;
    ARCELLA_RETURN_IF_ERROR(t.Str("kind", &kind));
    auto k = TrapKindOf(kind);
    if (!k) return t.Wrong("kind", "a trap kind (e.g. \"out of fuel\")");
    trap.kind = *k;
    ARCELLA_RETURN_IF_ERROR(t.Str("function", &trap.function));
    ARCELLA_RETURN_IF_ERROR(t.Str("message", &trap.message));
    ARCELLA_RETURN_IF_ERROR(t.I32("exit_code", &trap.exit_code));
    r.trap = std::move(trap);
  }
  return r;
}

json EncodeLinkCall(const LinkCallRequest& r) {
  json j = Request("link-call", r.id);
  j["dep"] = r.dep;
  j["import"] = r.import_name;
  j["func"] = r.func;
  j["args"] = r.args;
  if (r.scope) j["scope"] = r.scope;
  return j;
}

Result<LinkCallRequest> DecodeLinkCall(const json& body) {
  Fields f(body, "link-call");
  ARCELLA_RETURN_IF_ERROR(f.Type("link-call"));
  LinkCallRequest r;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &r.id));
  ARCELLA_RETURN_IF_ERROR(f.Str("dep", &r.dep));
  ARCELLA_RETURN_IF_ERROR(f.Str("import", &r.import_name));
  ARCELLA_RETURN_IF_ERROR(f.Str("func", &r.func));
  ARCELLA_RETURN_IF_ERROR(f.StrList("args", &r.args));
  if (f.Find("scope") != nullptr) ARCELLA_RETURN_IF_ERROR(f.U64("scope", &r.scope));
  return r;
}

json EncodeLinkDrop(const LinkDrop& d) {
  json j = {{"t", d.handle ? "link-drop" : "link-end"}, {"scope", d.scope}};
  if (d.handle) j["handle"] = *d.handle;
  return j;
}

Result<LinkDrop> DecodeLinkDrop(const json& body) {
  const json* t = body.is_object() ? &body : nullptr;
  bool end = t && t->contains("t") && (*t)["t"] == "link-end";
  Fields f(body, end ? "link-end" : "link-drop");
  ARCELLA_RETURN_IF_ERROR(f.Type(end ? "link-end" : "link-drop"));
  LinkDrop d;
  ARCELLA_RETURN_IF_ERROR(f.U64("scope", &d.scope));
  if (d.scope == 0) return f.Wrong("scope", "a non-zero scope");
  if (!end) {
    uint32_t h = 0;
    ARCELLA_RETURN_IF_ERROR(f.U32("handle", &h));
    d.handle = h;
  }
  return d;
}

json EncodeLinkReply(const LinkReply& r) {
  json j = Request("link-reply", r.id);
  j["code"] = static_cast<int>(r.status.code());
  j["msg"] = r.status.message();
  if (r.value) j["value"] = *r.value;
  if (r.trap) j["trap"] = *r.trap;
  return j;
}

Result<LinkReply> DecodeLinkReply(const json& body) {
  Fields f(body, "link-reply");
  ARCELLA_RETURN_IF_ERROR(f.Type("link-reply"));
  LinkReply r;
  ARCELLA_RETURN_IF_ERROR(f.U64("id", &r.id));
  uint32_t code = 0;
  ARCELLA_RETURN_IF_ERROR(f.U32("code", &code));
  if (code > static_cast<uint32_t>(StatusCode::kUnavailable))
    return f.Wrong("code", "a status code");
  std::string msg;
  ARCELLA_RETURN_IF_ERROR(f.Str("msg", &msg));
  r.status = code == 0 ? Status::Ok() : Status(static_cast<StatusCode>(code), std::move(msg));
  if (f.Find("value") != nullptr) {
    std::string v;
    ARCELLA_RETURN_IF_ERROR(f.Str("value", &v));
    r.value = std::move(v);
  }
  if (f.Find("trap") != nullptr) {
    std::string t;
    ARCELLA_RETURN_IF_ERROR(f.Str("trap", &t));
    r.trap = std::move(t);
  }
  if (r.value && r.trap) return Status::InvalidArgument("link-reply: both \"value\" and \"trap\"");
  return r;
}

json EncodeLog(const LogMessage& m) {
  return {{"t", "log"},
          {"dep", m.dep},
          {"idx", m.index},
          {"stream", platform::LogStreamName(m.stream)},
          {"line", m.line}};
}

Result<LogMessage> DecodeLog(const json& body) {
  Fields f(body, "log");
  ARCELLA_RETURN_IF_ERROR(f.Type("log"));
  LogMessage m;
  ARCELLA_RETURN_IF_ERROR(f.Str("dep", &m.dep));
  ARCELLA_RETURN_IF_ERROR(f.U32("idx", &m.index));
  std::string stream;
  ARCELLA_RETURN_IF_ERROR(f.Str("stream", &stream));
  auto s = LogStreamOf(stream);
  if (!s) return f.Wrong("stream", "\"stdout\", \"stderr\" or \"platform\"");
  m.stream = *s;
  ARCELLA_RETURN_IF_ERROR(f.Str("line", &m.line));
  return m;
}

json EncodeEvent(const platform::Event& e) {
  return {{"t", "event"}, {"ts", e.ts_ms},    {"kind", e.kind},
          {"id", e.id},   {"state", e.state}, {"detail", e.message}};
}

Result<platform::Event> DecodeEvent(const json& body) {
  Fields f(body, "event");
  ARCELLA_RETURN_IF_ERROR(f.Type("event"));
  platform::Event e;
  if (f.Find("ts") != nullptr)
    ARCELLA_RETURN_IF_ERROR(f.I64("ts", &e.ts_ms, 0, INT64_MAX, "a non-negative integer"));
  ARCELLA_RETURN_IF_ERROR(f.Str("kind", &e.kind));
  if (e.kind != "module" && e.kind != "deployment" && e.kind != "replica")
    return f.Wrong("kind", "\"module\", \"deployment\" or \"replica\"");
  ARCELLA_RETURN_IF_ERROR(f.Str("id", &e.id));
  ARCELLA_ASSIGN_OR_RETURN(platform::State state, StateOf(f, "state"));
  e.state = platform::StateName(state);
  ARCELLA_RETURN_IF_ERROR(f.Str("detail", &e.message));
  return e;
}

}  // namespace arcella::worker
