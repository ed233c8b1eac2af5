// libFuzzer target for the worker protocol's frame bodies and messages
// (src/worker/channel.cc DecodeFrameBody, src/worker/messages.cc).
//
// The input is a frame body. DecodeFrameBody must refuse it with a non-empty
// InvalidArgument or return a map with a string "t" (and a "fds" within the
// cap). Every message decoder is then run on that map: each must refuse with
// an InvalidArgument naming its message, or decode a value that encodes,
// survives MessagePack bytes and decodes to the same value. Nothing throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "worker/channel.h"
#include "worker/messages.h"

namespace w = arcella::worker;
using nlohmann::json;

static void Check(bool ok) {
  if (!ok) std::abort();
}

// A refusal must be InvalidArgument starting with the message's name.
template <typename R>
static bool Refused(const R& r, const std::string& name) {
  if (r.ok()) return false;
  Check(r.status().code() == arcella::StatusCode::kInvalidArgument);
  Check(r.status().message().rfind(name, 0) == 0);
  return true;
}

// `body` through real frame bytes.
static json Wire(const json& body) {
  auto frame = w::EncodeFrame(body);
  Check(frame.ok());
  auto back = w::DecodeFrameBody(std::span<const uint8_t>(frame->data() + 4, frame->size() - 4));
  Check(back.ok());
  return *back;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto body = w::DecodeFrameBody(std::span<const uint8_t>(data, size));
  if (!body.ok()) {
    Check(body.status().code() == arcella::StatusCode::kInvalidArgument);
    Check(body.status().message().rfind("frame: ", 0) == 0);
    return 0;
  }
  const json& j = *body;
  Check(j.is_object() && j.contains("t") && j["t"].is_string());
  if (j.contains("fds")) Check(j["fds"].get<uint64_t>() <= w::kMaxFdsPerFrame);

  if (auto h = w::DecodeHello(j); !Refused(h, "hello")) {
    auto again = w::DecodeHello(Wire(w::EncodeHello(*h)));
    Check(again.ok() && again->version == h->version && again->pid == h->pid &&
          again->sandbox == h->sandbox);
  }
  if (auto a = w::DecodeApply(j); !Refused(a, "apply")) {
    auto again = w::DecodeApply(Wire(w::EncodeApply(*a)));
    Check(again.ok() && again->id == a->id && again->plan == a->plan &&
          again->started == a->started && again->with_code == a->with_code &&
          again->meta == a->meta && again->metas == a->metas && again->with_dirs == a->with_dirs &&
          again->FdCount() == a->FdCount());
  }
  if (auto c = w::DecodeLinkCall(j); !Refused(c, "link-call")) {
    auto again = w::DecodeLinkCall(Wire(w::EncodeLinkCall(*c)));
    Check(again.ok() && again->id == c->id && again->dep == c->dep &&
          again->import_name == c->import_name && again->func == c->func &&
          again->args == c->args && again->scope == c->scope);
  }
  const bool is_end = j["t"] == "link-end";
  if (auto d = w::DecodeLinkDrop(j); !Refused(d, is_end ? "link-end" : "link-drop")) {
    auto again = w::DecodeLinkDrop(Wire(w::EncodeLinkDrop(*d)));
    Check(again.ok() && again->scope == d->scope && again->handle == d->handle);
  }
  if (auto r = w::DecodeLinkReply(j); !Refused(r, "link-reply")) {
    auto again = w::DecodeLinkReply(Wire(w::EncodeLinkReply(*r)));
    Check(again.ok() && again->id == r->id && again->status.code() == r->status.code() &&
          again->status.message() == r->status.message() && again->value == r->value &&
          again->trap == r->trap);
  }
  bool is_status = j["t"] == "status";  // else the error says "remove" or "remove/status"
  if (auto d = w::DecodeDeploymentRequest(j); !Refused(d, is_status ? "status" : "remove")) {
    bool remove = j["t"] == "remove";
    json enc = remove ? w::EncodeRemove(*d) : w::EncodeStatus(*d);
    auto again = w::DecodeDeploymentRequest(Wire(enc));
    Check(again.ok() && again->id == d->id && again->dep == d->dep);
  }
  if (auto st = w::DecodeStatuses(j); !Refused(st, "statuses")) {
    auto again = w::DecodeStatuses(Wire(w::EncodeStatuses(*st)));
    Check(again.ok() && again->id == st->id && again->deps == st->deps);
  }
  if (auto c = w::DecodeCall(j); !Refused(c, "call")) {
    auto again = w::DecodeCall(Wire(w::EncodeCall(*c)));
    Check(again.ok() && again->id == c->id && again->dep == c->dep &&
          again->export_name == c->export_name && again->args == c->args &&
          again->handles == c->handles && again->replica == c->replica &&
          again->instance == c->instance && again->drop == c->drop);
  }
  if (auto c = w::DecodeCancel(j); !Refused(c, "cancel")) {
    auto again = w::DecodeCancel(Wire(w::EncodeCancel(*c)));
    Check(again.ok() && *again == *c);
  }
  if (auto id = w::ReplyId(j); !Refused(id, "reply")) {
    arcella::Status st = w::ReplyStatus(j);
    if (st.code() != arcella::StatusCode::kInternal) {
      arcella::Status again = w::ReplyStatus(Wire(w::EncodeReply(*id, st)));
      Check(again.code() == st.code() && again.message() == st.message());
    }
  }
  if (auto s = w::DecodeStatusReply(j); !Refused(s, "reply")) {
    auto again = w::DecodeStatusReply(Wire(w::EncodeStatusReply(1, *s)));
    Check(again.ok() && again->id == s->id && again->state == s->state &&
          again->replicas.size() == s->replicas.size());
    for (size_t i = 0; i < s->replicas.size(); ++i) {
      const auto& x = s->replicas[i];
      const auto& y = again->replicas[i];
      Check(x.index == y.index && x.state == y.state && x.restarts == y.restarts &&
            x.exit_code == y.exit_code && x.last_error == y.last_error);
    }
  }
  if (auto r = w::DecodeCallReply(j); !Refused(r, "reply")) {
    auto again = w::DecodeCallReply(Wire(w::EncodeCallReply(1, *r)));
    Check(again.ok() && again->replica == r->replica && again->results == r->results &&
          again->error() == r->error());
  }
  if (auto l = w::DecodeLog(j); !Refused(l, "log")) {
    auto again = w::DecodeLog(Wire(w::EncodeLog(*l)));
    Check(again.ok() && again->dep == l->dep && again->index == l->index &&
          again->stream == l->stream && again->line == l->line);
  }
  if (auto e = w::DecodeEvent(j); !Refused(e, "event")) {
    auto again = w::DecodeEvent(Wire(w::EncodeEvent(*e)));
    Check(again.ok() && again->ts_ms == e->ts_ms && again->kind == e->kind && again->id == e->id &&
          again->state == e->state && again->message == e->message);
  }
  return 0;
}
