#include "alme/responder.h"

#include "alme/connection.h"
#include "alme/frame.h"

namespace arcella::alme {

std::string IdKey(const Json& id) {
  if (id.is_string()) return "s:" + id.get<std::string>();
  if (id.is_number_unsigned()) return "u:" + std::to_string(id.get<uint64_t>());
  if (id.is_number_integer()) return "u:" + std::to_string(id.get<int64_t>());
  return "?";
}

Json ErrorMessage(const Json& id, ErrorCode code, const std::string& message) {
  return Json{
      {"id", id},
      {"error",
       {{"code", static_cast<int>(code)}, {"name", ErrorCodeName(code)}, {"message", message}}}};
}

RequestResponder::~RequestResponder() {
  std::lock_guard<std::recursive_mutex> send(send_mu_);
  bool unanswered;
  {
    std::lock_guard<std::mutex> lock(mu_);
    unanswered = !finished_;
    finished_ = true;
  }
  if (unanswered) {
    SendFinal(ErrorMessage(id_, ErrorCode::kInternal,
                           "the handler dropped the request without answering it"));
  }
}

bool RequestResponder::Stream(const Json& item) {
  std::lock_guard<std::recursive_mutex> send(send_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_ || cancelled_) return false;
  }
  auto conn = conn_.lock();
  if (!conn) return false;
  return conn->Send(EncodeFrame(Json{{"id", id_}, {"stream", item}}));
}

void RequestResponder::SendFinal(const Json& msg) {
  if (auto conn = conn_.lock()) {
    std::string frame;
    try {
      frame = EncodeFrame(msg);
    } catch (const std::exception& e) {
      frame = EncodeFrame(ErrorMessage(id_, ErrorCode::kInternal,
                                       std::string("cannot encode the response: ") + e.what()));
    }
    conn->Send(std::move(frame));
    conn->Done(key_, this);
  }
}

void RequestResponder::Finish(const Json& result) {
  std::lock_guard<std::recursive_mutex> send(send_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  SendFinal(Json{{"id", id_}, {"result", result}});
}

void RequestResponder::Fail(ErrorCode code, const std::string& message) {
  std::lock_guard<std::recursive_mutex> send(send_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
  }
  SendFinal(ErrorMessage(id_, code, message));
}

bool RequestResponder::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool RequestResponder::finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

void RequestResponder::OnCancel(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!cancelled_) {
      on_cancel_.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

bool RequestResponder::Cancel(bool answer) {
  std::vector<std::function<void()>> fns;
  bool was_open;
  {
    std::lock_guard<std::recursive_mutex> send(send_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_open = !finished_;
      if (answer) finished_ = true;
      if (cancelled_) return false;
      cancelled_ = true;
      fns.swap(on_cancel_);
    }
    if (answer && was_open) SendFinal(Json{{"id", id_}, {"result", {{"cancelled", true}}}});
  }
  for (auto& fn : fns) fn();  // outside send_mu_: they may Finish from other threads
  return was_open;
}

}  // namespace arcella::alme
