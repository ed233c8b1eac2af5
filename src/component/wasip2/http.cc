// wasi:http@0.2.12 types (the client side) and outgoing-handler, so
// components that import them (componentize-js does) instantiate and a fetch
// fails politely. Outgoing HTTP is denied: outgoing-handler.handle answers
// error-code HTTP-request-denied. What a guest builds before that works
// simply: fields (a list of pairs, names lower-cased), outgoing-request,
// request-options and outgoing-body (whose stream discards). The server side
// (incoming requests, responses) is http_server.cc; what neither implements
// (incoming-response, future-incoming-response: never produced here) traps
// naming the function.
#include <optional>

#include "component/wasip2/http_state.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

constexpr uint32_t kHttpRequestDenied = 15;             // types.error-code.HTTP-request-denied
constexpr uint32_t kInvalidSyntax = 0, kImmutable = 2;  // types.header-error

using Http = HttpState;
using Fields = HttpFields;
using Request = HttpOutgoingRequest;
using Options = HttpOptions;

bool TokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

Ret One(TrapOr<Val> v) {
  if (!v.ok()) return v.take_trap();
  return Vals{std::move(v).value()};
}

// Appends to an outgoing body's data, keeping at most its limit.
class BodyOutput : public OutputStreamImpl {
 public:
  explicit BodyOutput(std::shared_ptr<HttpBodyData> d) : d_(std::move(d)) {}
  StreamStatus CheckWrite(uint64_t* permit, IoError* error) override {
    if (d_->overflow) return Failed(error);
    *permit = kMaxStreamChunk;
    return StreamStatus::kOk;
  }
  StreamStatus Write(std::string_view bytes, IoError* error) override {
    if (d_->finished) return StreamStatus::kClosed;
    if (!d_->keep) return StreamStatus::kOk;
    if (d_->overflow || bytes.size() > d_->limit - d_->bytes.size()) {
      d_->overflow = true;
      return Failed(error);
    }
    d_->bytes.append(bytes);
    return StreamStatus::kOk;
  }
  StreamStatus Flush(bool, IoError*) override { return StreamStatus::kOk; }
  std::shared_ptr<PollSource> Subscribe() override { return ReadyPollable(); }

 private:
  StreamStatus Failed(IoError* error) const {
    error->debug = "the response body is larger than the limit of " + std::to_string(d_->limit) +
                   " bytes";
    return StreamStatus::kFailed;
  }
  std::shared_ptr<HttpBodyData> d_;
};

Val HeaderError(uint32_t which) { return Val::ResultErr({Val::Variant(which)}); }

void AddFields(const std::shared_ptr<Http>& h, HostImpls* f) {
  f->emplace_back("[constructor]fields", [h](Vals) {
    return One(HttpOwn(h->fields, std::make_shared<Fields>(), h->fields_t));
  });
  f->emplace_back("[static]fields.from-list", [h](Vals a) -> Ret {
    auto fl = std::make_shared<Fields>();
    for (const Val& e : a[0].items) {
      auto name = HttpFieldName(e.items[0].str);
      auto value = HttpFieldValue(e.items[1]);
      if (!name || !value) return Vals{HeaderError(kInvalidSyntax)};
      fl->entries.emplace_back(*name, *value);
    }
    TrapOr<Val> v = HttpOwn(h->fields, std::move(fl), h->fields_t);
    if (!v.ok()) return v.take_trap();
    return Vals{Val::ResultOk({std::move(v).value()})};
  });
  f->emplace_back("[method]fields.get", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    std::vector<Val> out;
    if (auto name = HttpFieldName(a[1].str))
      for (const auto& [n, v] : fl.value()->entries)
        if (n == *name) out.push_back(HttpByteList(v));
    return Vals{Val::List(std::move(out))};
  });
  f->emplace_back("[method]fields.has", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    bool has = false;
    if (auto name = HttpFieldName(a[1].str))
      for (const auto& e : fl.value()->entries) has |= e.first == *name;
    return Vals{Val::Bool(has)};
  });
  // set (replace all), delete, append.
  auto edit = [h](const Vals& a, bool remove, bool add_all, bool append) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    Fields& fs = *fl.value();
    auto name = HttpFieldName(a[1].str);
    if (!name) return Vals{HeaderError(kInvalidSyntax)};
    if (fs.immutable) return Vals{HeaderError(kImmutable)};
    std::vector<std::string> values;
    if (add_all || append) {
      const std::vector<Val>& in = add_all ? a[2].items : std::vector<Val>{a[2]};
      for (const Val& v : in) {
        auto value = HttpFieldValue(v);
        if (!value) return Vals{HeaderError(kInvalidSyntax)};
        values.push_back(*value);
      }
    }
    if (remove) std::erase_if(fs.entries, [&](const auto& e) { return e.first == *name; });
    for (auto& v : values) fs.entries.emplace_back(*name, std::move(v));
    return Vals{Val::ResultOk()};
  };
  f->emplace_back("[method]fields.set", [edit](Vals a) { return edit(a, true, true, false); });
  f->emplace_back("[method]fields.delete", [edit](Vals a) { return edit(a, true, false, false); });
  f->emplace_back("[method]fields.append", [edit](Vals a) { return edit(a, false, false, true); });
  f->emplace_back("[method]fields.entries", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    std::vector<Val> out;
    for (const auto& [n, v] : fl.value()->entries)
      out.push_back(Val::Tuple({Val::String(n), HttpByteList(v)}));
    return Vals{Val::List(std::move(out))};
  });
  f->emplace_back("[method]fields.clone", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    auto copy = std::make_shared<Fields>(*fl.value());
    copy->immutable = false;
    return One(HttpOwn(h->fields, std::move(copy), h->fields_t));
  });
}

void AddRequest(const std::shared_ptr<Http>& h, HostImpls* f) {
  f->emplace_back("[constructor]outgoing-request", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    h->fields.Remove(static_cast<uint32_t>(a[0].u));  // the request owns them now
    auto r = std::make_shared<Request>();
    r->headers = std::make_shared<Fields>(*fl.value());
    r->headers->immutable = true;
    return One(HttpOwn(h->requests, std::move(r), h->request_t));
  });
  f->emplace_back("[method]outgoing-request.body", [h](Vals a) -> Ret {
    auto r = HttpGet(h->requests, a[0], "outgoing-request");
    if (!r.ok()) return r.take_trap();
    if (r.value()->body_taken) return Vals{Val::ResultErr()};
    r.value()->body_taken = true;
    auto body = std::make_shared<HttpOutgoingBody>();
    body->data = std::make_shared<HttpBodyData>();  // discards: never sent
    TrapOr<Val> b = HttpOwn(h->bodies, std::move(body), h->body_t);
    if (!b.ok()) return b.take_trap();
    return Vals{Val::ResultOk({std::move(b).value()})};
  });
  f->emplace_back("[method]outgoing-request.headers", [h](Vals a) -> Ret {
    auto r = HttpGet(h->requests, a[0], "outgoing-request");
    if (!r.ok()) return r.take_trap();
    return One(HttpOwn(h->fields, std::make_shared<Fields>(*r.value()->headers), h->fields_t));
  });
  // Getters and setters of the plain properties.
  struct Prop {
    const char* name;
    Val Request::*member;
  };
  for (Prop p : {Prop{"method", &Request::method}, Prop{"path-with-query", &Request::path},
                 Prop{"scheme", &Request::scheme}, Prop{"authority", &Request::authority}}) {
    auto member = p.member;
    f->emplace_back(std::string("[method]outgoing-request.") + p.name, [h, member](Vals a) -> Ret {
      auto r = HttpGet(h->requests, a[0], "outgoing-request");
      if (!r.ok()) return r.take_trap();
      return Vals{(*r.value()).*member};
    });
    f->emplace_back(std::string("[method]outgoing-request.set-") + p.name,
                    [h, member](Vals a) -> Ret {
                      auto r = HttpGet(h->requests, a[0], "outgoing-request");
                      if (!r.ok()) return r.take_trap();
                      (*r.value()).*member = a[1];
                      return Vals{Val::ResultOk()};
                    });
  }
}

void AddOptionsAndBody(const std::shared_ptr<Http>& h, HostImpls* f) {
  f->emplace_back("[constructor]request-options", [h](Vals) {
    return One(HttpOwn(h->options, std::make_shared<Options>(), h->options_t));
  });
  const char* names[3] = {"connect-timeout", "first-byte-timeout", "between-bytes-timeout"};
  for (int i = 0; i < 3; ++i) {
    f->emplace_back(std::string("[method]request-options.") + names[i], [h, i](Vals a) -> Ret {
      auto o = HttpGet(h->options, a[0], "request-options");
      if (!o.ok()) return o.take_trap();
      return Vals{o.value()->timeouts[i]};
    });
    f->emplace_back(std::string("[method]request-options.set-") + names[i], [h, i](Vals a) -> Ret {
      auto o = HttpGet(h->options, a[0], "request-options");
      if (!o.ok()) return o.take_trap();
      o.value()->timeouts[i] = a[1];
      return Vals{Val::ResultOk()};
    });
  }
  f->emplace_back("[method]outgoing-body.write", [h](Vals a) -> Ret {
    auto b = HttpGet(h->bodies, a[0], "outgoing-body");
    if (!b.ok()) return b.take_trap();
    if (b.value()->stream_taken) return Vals{Val::ResultErr()};
    b.value()->stream_taken = true;
    TrapOr<Val> s = OwnOutputStream(*h->st, MakeHttpBodyOutput(b.value()->data));
    if (!s.ok()) return s.take_trap();
    return Vals{Val::ResultOk({std::move(s).value()})};
  });
  f->emplace_back("[static]outgoing-body.finish", [h](Vals a) -> Ret {
    auto b = HttpGet(h->bodies, a[0], "outgoing-body");
    if (!b.ok()) return b.take_trap();
    h->bodies.Remove(static_cast<uint32_t>(a[0].u));
    if (a[1].index == 1) h->fields.Remove(static_cast<uint32_t>(a[1].payload().u));
    b.value()->data->finished = true;
    return Vals{Val::ResultOk()};
  });
}

}  // namespace

std::optional<std::string> HttpFieldName(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::string out;
  for (unsigned char c : s) {
    if (!TokenChar(c)) return std::nullopt;
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
  return out;
}

std::optional<std::string> HttpFieldValue(const Val& bytes) {
  std::string v;
  for (const Val& b : bytes.items) {
    if (b.u == '\r' || b.u == '\n' || b.u == 0) return std::nullopt;
    v.push_back(static_cast<char>(b.u));
  }
  return v;
}

Val HttpByteList(const std::string& s) {
  std::vector<Val> items;
  items.reserve(s.size());
  for (unsigned char c : s) items.push_back(Val::U8(c));
  return Val::List(std::move(items));
}

std::shared_ptr<OutputStreamImpl> MakeHttpBodyOutput(std::shared_ptr<HttpBodyData> data) {
  return std::make_shared<BodyOutput>(std::move(data));
}

void AddHttpDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  auto h = std::make_shared<Http>(st);
  st->http = h;  // the server side's entry (WasiP2::NewIncomingRequest)
  WasiInterfaceDef types{kHttpTypes, {}, {}};
  types.impls.emplace_back("http-error-code", [](Vals) -> Ret { return Vals{Val::None()}; });
  AddFields(h, &types.impls);
  AddRequest(h, &types.impls);
  AddOptionsAndBody(h, &types.impls);
  AddHttpServerImpls(h, &types);
  FillWithTraps(types.name, "is not available in this host (outgoing HTTP is denied)",
                &types.impls);
  types.dtors["fields"] = [h](uint32_t rep) { h->fields.Remove(rep); };
  types.dtors["outgoing-request"] = [h](uint32_t rep) { h->requests.Remove(rep); };
  types.dtors["request-options"] = [h](uint32_t rep) { h->options.Remove(rep); };
  types.dtors["outgoing-body"] = [h](uint32_t rep) { h->bodies.Remove(rep); };
  out->push_back(std::move(types));

  WasiInterfaceDef handler{"wasi:http/outgoing-handler@0.2.12", {}, {}};
  handler.impls.emplace_back("handle", [h](Vals a) -> Ret {
    // The request (and options) moved to the host: dropped, never sent.
    h->requests.Remove(static_cast<uint32_t>(a[0].u));
    if (a[1].index == 1) h->options.Remove(static_cast<uint32_t>(a[1].payload().u));
    return Vals{Val::ResultErr({Val::Variant(kHttpRequestDenied)})};
  });
  out->push_back(std::move(handler));
}

}  // namespace arcella::component
