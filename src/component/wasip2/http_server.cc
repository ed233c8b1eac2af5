// The server side of wasi:http/types@0.2.12: an incoming-request the host
// made (WasiP2::NewIncomingRequest), its body as an input stream, trailers
// (always none), and the outgoing-response a handler builds and gives to its
// response-outparam, whose body stream the host keeps (up to a limit) and
// WasiP2::TakeResponse hands back. One request at a time per WasiP2 (the
// replica serves one call at a time).
#include <algorithm>

#include "component/wasip2/http_state.h"
#include "component/wasip2/wasi_p2.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

constexpr uint32_t kInternalError = 38;  // types.error-code.internal-error (the last case)

Ret One(TrapOr<Val> v) {
  if (!v.ok()) return v.take_trap();
  return Vals{std::move(v).value()};
}

// A request body, read once from the start.
class BodyInput : public InputStreamImpl {
 public:
  explicit BodyInput(std::shared_ptr<const std::string> body) : body_(std::move(body)) {}
  StreamStatus Read(uint64_t len, bool, std::string* out, IoError*) override {
    if (pos_ >= body_->size()) return StreamStatus::kClosed;
    size_t n = static_cast<size_t>(
        std::min<uint64_t>({len, kMaxStreamChunk, body_->size() - pos_}));
    out->append(*body_, pos_, n);
    pos_ += n;
    return StreamStatus::kOk;
  }
  std::shared_ptr<PollSource> Subscribe() override { return ReadyPollable(); }

 private:
  std::shared_ptr<const std::string> body_;
  size_t pos_ = 0;
};

// types.method: its cases in WIT order; anything else is other(string).
Val MethodVal(const std::string& m) {
  static const char* const kCases[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                       "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (uint32_t i = 0; i < 9; ++i)
    if (m == kCases[i]) return Val::Variant(i);
  return Val::Variant(9, {Val::String(m)});
}

Val SchemeVal(const std::string& s) {
  if (s == "http") return Val::Variant(0);
  if (s == "https") return Val::Variant(1);
  return Val::Variant(2, {Val::String(s)});
}

Val OptString(const std::string& s) { return s.empty() ? Val::None() : Val::Some(Val::String(s)); }

// A fresh immutable copy of `f` as an own<fields> (a child handle: its
// parent's headers cannot change through it).
TrapOr<Val> ImmutableCopy(HttpState& h, const HttpFields& f) {
  auto copy = std::make_shared<HttpFields>(f);
  copy->immutable = true;
  return HttpOwn(h.fields, std::move(copy), h.fields_t);
}

void AddIncoming(const std::shared_ptr<HttpState>& h, HostImpls* f) {
  auto get = [h](const Val& v) { return HttpGet(h->incoming, v, "incoming-request"); };
  f->emplace_back("[method]incoming-request.method", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return Vals{MethodVal(r.value()->method)};
  });
  f->emplace_back("[method]incoming-request.path-with-query", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return Vals{OptString(r.value()->path)};
  });
  f->emplace_back("[method]incoming-request.scheme", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return Vals{Val::Some(SchemeVal(r.value()->scheme))};
  });
  f->emplace_back("[method]incoming-request.authority", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return Vals{OptString(r.value()->authority)};
  });
  f->emplace_back("[method]incoming-request.headers", [h, get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return One(ImmutableCopy(*h, *r.value()->headers));
  });
  f->emplace_back("[method]incoming-request.consume", [h, get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    if (r.value()->consumed) return Vals{Val::ResultErr()};
    r.value()->consumed = true;
    auto body = std::make_shared<HttpIncomingBody>();
    body->body = r.value()->body;
    TrapOr<Val> b = HttpOwn(h->incoming_bodies, std::move(body), h->incoming_body_t);
    if (!b.ok()) return b.take_trap();
    return Vals{Val::ResultOk({std::move(b).value()})};
  });
  f->emplace_back("[method]incoming-body.stream", [h](Vals a) -> Ret {
    auto b = HttpGet(h->incoming_bodies, a[0], "incoming-body");
    if (!b.ok()) return b.take_trap();
    if (b.value()->stream_taken) return Vals{Val::ResultErr()};
    b.value()->stream_taken = true;
    TrapOr<Val> s = OwnInputStream(*h->st, std::make_shared<BodyInput>(b.value()->body));
    if (!s.ok()) return s.take_trap();
    return Vals{Val::ResultOk({std::move(s).value()})};
  });
  f->emplace_back("[static]incoming-body.finish", [h](Vals a) -> Ret {
    if (!h->incoming_bodies.Remove(static_cast<uint32_t>(a[0].u)))
      return WasiTrap("wasi:http/types: unknown incoming-body handle");
    return One(HttpOwn(h->trailers, std::make_shared<HttpFutureTrailers>(), h->trailers_t));
  });
  f->emplace_back("[method]future-trailers.subscribe", [h](Vals a) -> Ret {
    auto t = HttpGet(h->trailers, a[0], "future-trailers");
    if (!t.ok()) return t.take_trap();
    return One(OwnPollable(*h->st, ReadyPollable()));
  });
  // Ready at once with no trailers; a second get is err (already taken).
  f->emplace_back("[method]future-trailers.get", [h](Vals a) -> Ret {
    auto t = HttpGet(h->trailers, a[0], "future-trailers");
    if (!t.ok()) return t.take_trap();
    if (t.value()->taken) return Vals{Val::Some(Val::ResultErr())};
    t.value()->taken = true;
    return Vals{Val::Some(Val::ResultOk({Val::ResultOk({Val::None()})}))};
  });
}

void AddOutgoing(const std::shared_ptr<HttpState>& h, HostImpls* f) {
  auto get = [h](const Val& v) { return HttpGet(h->responses, v, "outgoing-response"); };
  f->emplace_back("[constructor]outgoing-response", [h](Vals a) -> Ret {
    auto fl = HttpGet(h->fields, a[0], "fields");
    if (!fl.ok()) return fl.take_trap();
    h->fields.Remove(static_cast<uint32_t>(a[0].u));  // the response owns them now
    auto r = std::make_shared<HttpOutgoingResponse>();
    r->headers = std::make_shared<HttpFields>(*fl.value());
    r->headers->immutable = true;
    return One(HttpOwn(h->responses, std::move(r), h->response_t));
  });
  f->emplace_back("[method]outgoing-response.status-code", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return Vals{Val::U16(r.value()->status)};
  });
  // 100..999, as a response's status line allows (RFC 9110 §15).
  f->emplace_back("[method]outgoing-response.set-status-code", [get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    if (a[1].u < 100 || a[1].u > 999) return Vals{Val::ResultErr()};
    r.value()->status = static_cast<uint16_t>(a[1].u);
    return Vals{Val::ResultOk()};
  });
  f->emplace_back("[method]outgoing-response.headers", [h, get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    return One(ImmutableCopy(*h, *r.value()->headers));
  });
  f->emplace_back("[method]outgoing-response.body", [h, get](Vals a) -> Ret {
    auto r = get(a[0]);
    if (!r.ok()) return r.take_trap();
    if (r.value()->body) return Vals{Val::ResultErr()};
    r.value()->body = std::make_shared<HttpBodyData>();
    r.value()->body->keep = true;
    r.value()->body->limit = h->max_response_body;
    auto body = std::make_shared<HttpOutgoingBody>();
    body->data = r.value()->body;
    TrapOr<Val> b = HttpOwn(h->bodies, std::move(body), h->body_t);
    if (!b.ok()) return b.take_trap();
    return Vals{Val::ResultOk({std::move(b).value()})};
  });
  f->emplace_back("[static]response-outparam.set", [h](Vals a) -> Ret {
    auto p = HttpGet(h->outparams, a[0], "response-outparam");
    if (!p.ok()) return p.take_trap();
    h->outparams.Remove(static_cast<uint32_t>(a[0].u));
    HttpOutparam& out = *p.value();
    if (out.set) return WasiTrap("wasi:http/types: response-outparam.set called twice");
    out.set = true;
    const Val& result = a[1];
    if (result.index == 0) {
      auto r = HttpGet(h->responses, result.payload(), "outgoing-response");
      if (!r.ok()) return r.take_trap();
      h->responses.Remove(static_cast<uint32_t>(result.payload().u));
      out.response = r.value();
    } else {
      const Val& code = result.payload();
      out.error = "error-code case " + std::to_string(code.index);
      if (code.index == kInternalError && code.has_payload() && code.payload().has_payload())
        out.error = "internal-error(\"" + code.payload().payload().str + "\")";
    }
    return Vals{};
  });
}

}  // namespace

void AddHttpServerImpls(const std::shared_ptr<HttpState>& h, WasiInterfaceDef* types) {
  AddIncoming(h, &types->impls);
  AddOutgoing(h, &types->impls);
  types->dtors["incoming-request"] = [h](uint32_t rep) { h->incoming.Remove(rep); };
  types->dtors["incoming-body"] = [h](uint32_t rep) { h->incoming_bodies.Remove(rep); };
  types->dtors["future-trailers"] = [h](uint32_t rep) { h->trailers.Remove(rep); };
  types->dtors["outgoing-response"] = [h](uint32_t rep) { h->responses.Remove(rep); };
  types->dtors["response-outparam"] = [h](uint32_t rep) { h->outparams.Remove(rep); };
}

Result<std::vector<Val>> NewIncomingHttpRequest(WasiP2State& st, HttpRequest request,
                                                size_t max_body) {
  std::shared_ptr<HttpState> h = st.http.lock();
  if (!h) return Status::FailedPrecondition("wasi:http is not in this instance's linker");
  auto in = std::make_shared<HttpIncomingRequest>();
  in->method = std::move(request.method);
  in->path = std::move(request.path_with_query);
  in->scheme = std::move(request.scheme);
  in->authority = std::move(request.authority);
  in->headers = std::make_shared<HttpFields>();
  in->headers->immutable = true;
  for (auto& [name, value] : request.headers) {
    auto n = HttpFieldName(name);
    if (!n) return Status::InvalidArgument("header name \"" + name + "\" is not an HTTP token");
    in->headers->entries.emplace_back(*n, std::move(value));
  }
  in->body = std::make_shared<const std::string>(std::move(request.body));
  h->max_response_body = max_body;
  h->current = std::make_shared<HttpOutparam>();
  uint32_t req = h->incoming.Insert(std::move(in));
  uint32_t out = h->outparams.Insert(h->current);
  if (req == 0 || out == 0) {
    h->incoming.Remove(req);
    return Status::FailedPrecondition("too many open wasi:http requests in this instance");
  }
  return std::vector<Val>{Val::Own(h->incoming_t, req), Val::Own(h->outparam_t, out)};
}

Result<HttpResponse> TakeHttpResponse(WasiP2State& st, const Val& outparam) {
  std::shared_ptr<HttpState> h = st.http.lock();
  if (!h || !h->current) return Status::FailedPrecondition("no HTTP request is being served");
  std::shared_ptr<HttpOutparam> p = std::move(h->current);
  h->outparams.Remove(static_cast<uint32_t>(outparam.u));  // if the guest kept it
  if (!p->set)
    return Status::FailedPrecondition(
        "the handler returned without setting a response (response-outparam.set)");
  if (!p->response)
    return Status::FailedPrecondition("the handler answered with an error: " + p->error);
  HttpResponse r;
  r.status = p->response->status;
  r.headers = p->response->headers->entries;
  if (const auto& body = p->response->body) {
    if (body->overflow)
      return Status::FailedPrecondition("the handler's response body is larger than " +
                                        std::to_string(body->limit) + " bytes");
    if (!body->finished)
      return Status::FailedPrecondition(
          "the handler did not finish the response body (outgoing-body.finish)");
    r.body = std::move(body->bytes);
  }
  return r;
}

Result<std::vector<Val>> WasiP2::NewIncomingRequest(HttpRequest request, size_t max_body) {
  return NewIncomingHttpRequest(*state_, std::move(request), max_body);
}

Result<HttpResponse> WasiP2::TakeResponse(const Val& outparam) {
  return TakeHttpResponse(*state_, outparam);
}

}  // namespace arcella::component
