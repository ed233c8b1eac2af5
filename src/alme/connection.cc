#include "alme/connection.h"

#include <cstdio>
#include <vector>

#include "alme/responder.h"
#include "alme/utf8.h"

namespace arcella::alme {

namespace asio = boost::asio;

namespace {

// A non-negative integer or a string: the ids ALME accepts.
bool ValidId(const Json& id) {
  if (id.is_string() || id.is_number_unsigned()) return true;
  return id.is_number_integer() && id.get<int64_t>() >= 0;
}

const char* TypeName(const Json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return "a negative integer";
  if (v.is_number_float()) return "a float";
  if (v.is_binary()) return "binary data";
  if (v.is_null()) return "nil";
  if (v.is_object()) return "a map";
  if (v.is_array()) return "an array";
  if (v.is_boolean()) return "a boolean";
  return v.type_name();
}

}  // namespace

Connection::Connection(LocalSocket socket, ConnectionConfig config)
    : socket_(std::move(socket)),
      config_(std::move(config)),
      decoder_(config_.max_frame_bytes),
      idle_timer_(socket_.get_executor()) {
  Touch();
}

Connection::~Connection() = default;

void Connection::Start() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] {
    self->ReadMore();
    auto idle = self->config_.shared->options->idle_timeout;
    if (idle.count() > 0) self->ArmIdleTimer(idle);
  });
}

void Connection::Touch() {
  last_active_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::chrono::steady_clock::time_point Connection::last_active() const {
  return std::chrono::steady_clock::time_point(
      std::chrono::steady_clock::duration(last_active_ns_.load()));
}

bool Connection::idle() const {
  for (const auto& c : lane_count_) {
    if (c.load() != 0) return false;
  }
  return true;
}

void Connection::ArmIdleTimer(std::chrono::steady_clock::duration after) {
  idle_timer_.expires_after(after);
  idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->closed_ || self->close_after_flush_) return;
    }
    auto limit = self->config_.shared->options->idle_timeout;
    auto quiet = std::chrono::steady_clock::now() - self->last_active();
    if (self->idle() && quiet >= limit) {
      auto secs = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count() / 1000.0;
      char buf[32];
      snprintf(buf, sizeof buf, "%g", secs);
      return self->Reject(ErrorCode::kUnavailable,
                          std::string("connection idle for ") + buf +
                              " s with no request in flight and no open stream; closed "
                              "(alme.idle_timeout)");
    }
    self->ArmIdleTimer(self->idle() ? limit - quiet : limit);
  });
}

std::string Connection::Admit(Lane lane) {
  const ServerOptions& o = *config_.shared->options;
  auto& mine = lane_count_[static_cast<int>(lane)];
  switch (lane) {
    case Lane::kCall:
      if (mine.load() >= o.max_calls_per_connection)
        return "too many calls in flight on this connection (the bound is " +
               std::to_string(o.max_calls_per_connection) +
               ", alme.max_calls_per_connection); wait for some to finish or open "
               "another connection";
      if (config_.shared->calls.fetch_add(1) >= o.max_calls) {
        config_.shared->calls.fetch_sub(1);
        return "too many calls in flight in the daemon (the bound is " +
               std::to_string(o.max_calls) + ", alme.max_calls); retry later";
      }
      break;
    case Lane::kStream:
      if (mine.load() >= o.max_streams_per_connection)
        return "too many open streams on this connection (the bound is " +
               std::to_string(o.max_streams_per_connection) +
               "); cancel some `logs -f` or `events` first";
      if (config_.shared->streams.fetch_add(1) >= o.max_streams) {
        config_.shared->streams.fetch_sub(1);
        return "too many open streams in the daemon (the bound is " +
               std::to_string(o.max_streams) + "); cancel some `logs -f` or `events` first";
      }
      break;
    default:
      if (lane == Lane::kInline) break;  // answered before the next frame is read
      if (lane_count_[static_cast<int>(Lane::kManagement)].load() +
              lane_count_[static_cast<int>(Lane::kInstall)].load() >=
          o.max_requests_per_connection)
        return "too many requests in flight on this connection (the bound is " +
               std::to_string(o.max_requests_per_connection) +
               " besides calls and streams); wait for some to finish";
      break;
  }
  mine.fetch_add(1);
  return {};
}

void Connection::Release(Lane lane) {
  if (lane == Lane::kCall) config_.shared->calls.fetch_sub(1);
  if (lane == Lane::kStream) config_.shared->streams.fetch_sub(1);
  Touch();
  lane_count_[static_cast<int>(lane)].fetch_sub(1);
}

void Connection::ReadMore() {
  socket_.async_read_some(asio::buffer(read_buf_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            if (ec) {  // EOF or error: the peer is gone, cancel its requests
                              self->CloseOnStrand();
                              return;
                            }
                            self->decoder_.Feed(self->read_buf_, n);
                            for (;;) {
                              {
                                std::lock_guard<std::mutex> lock(self->mu_);
                                if (self->closed_ || self->close_after_flush_) return;
                              }
                              Json msg;
                              ErrorCode code;
                              std::string message;
                              auto ev = self->decoder_.Next(&msg, &code, &message);
                              if (ev == FrameDecoder::Event::kNone) break;
                              if (ev == FrameDecoder::Event::kFrame) {
                                self->OnFrame(std::move(msg));
                                continue;
                              }
                              if (self->decoder_.fatal()) {
                                self->Reject(code, message);
                                return;
                              }
                              self->SendError(nullptr, code, message);
                            }
                            self->ReadMore();
                          });
}

void Connection::SendError(const Json& id, ErrorCode code, const std::string& message) {
  Send(EncodeFrame(ErrorMessage(id, code, message)));
}

void Connection::OnFrame(Json msg) {
  Touch();
  Json id = nullptr;
  auto it = msg.find("id");
  if (it == msg.end()) {
    return SendError(nullptr, ErrorCode::kInvalidRequest,
                     "the request has no \"id\" (an unsigned integer or a string)");
  }
  if (!ValidId(*it)) {
    return SendError(nullptr, ErrorCode::kInvalidRequest,
                     std::string("\"id\" must be an unsigned integer or a string, not ") +
                         TypeName(*it));
  }
  if (std::string bad = FindInvalidUtf8(*it, "id"); !bad.empty())
    return SendError(nullptr, ErrorCode::kInvalidRequest, bad);
  id = *it;
  auto m = msg.find("method");
  if (m == msg.end()) {
    return SendError(id, ErrorCode::kInvalidRequest, "the request has no \"method\" (a string)");
  }
  if (!m->is_string()) {
    return SendError(id, ErrorCode::kInvalidRequest,
                     std::string("\"method\" must be a string, not ") + TypeName(*m));
  }
  std::string method = m->get<std::string>();
  if (std::string bad = FindInvalidUtf8(*m, "method"); !bad.empty())
    return SendError(id, ErrorCode::kInvalidRequest, bad);
  Json params = Json::object();
  auto p = msg.find("params");
  if (p != msg.end() && !p->is_null()) {
    if (!p->is_object()) {
      return SendError(id, ErrorCode::kInvalidRequest,
                       std::string("\"params\" must be a map, not ") + TypeName(*p));
    }
    params = std::move(*p);
  }
  if (std::string bad = FindInvalidUtf8(params, "params"); !bad.empty())
    return SendError(id, ErrorCode::kInvalidParams, method + ": " + bad);
  if (method == "cancel") return Cancel(id, params);

  std::string key = IdKey(id);
  std::shared_ptr<RequestResponder> responder, cur;  // released outside mu_
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto f = inflight_.find(key);
    if (f != inflight_.end()) cur = f->second.lock();
    if (!cur || cur->finished()) {
      responder = std::make_shared<RequestResponder>(weak_from_this(), id, key);
      inflight_[key] = responder;
    }
  }
  if (!responder) {
    return SendError(id, ErrorCode::kInvalidRequest,
                     "id " +
                         (id.is_string() ? "\"" + id.get<std::string>() + "\"" : key.substr(2)) +
                         " is already used by a request in flight on this connection");
  }
  auto handler = config_.handler;
  Lane lane = Lane::kManagement;
  try {
    lane = handler->LaneOf(method, params);
  } catch (...) {
  }
  if (std::string refused = Admit(lane); !refused.empty())
    return responder->Fail(ErrorCode::kUnavailable, method + ": " + refused);
  if (lane == Lane::kInline) {  // no thread hop: e.g. `ping` stays fast under any load
    try {
      handler->Handle(method, params, responder);
    } catch (const std::exception& e) {
      responder->Fail(ErrorCode::kInternal, "handler of " + method + " threw: " + e.what());
    }
    responder.reset();
    return Release(lane);
  }
  bool queued = config_.shared->pools[static_cast<int>(lane)]->Submit(
      [self = shared_from_this(), lane, handler, method = std::move(method),
       params = std::move(params), responder]() mutable {
        if (responder->cancelled()) {  // cancelled (or disconnected) while queued
          responder->Fail(ErrorCode::kUnavailable, method + ": cancelled before it started");
        } else {
          try {
            handler->Handle(method, params, responder);
          } catch (const std::exception& e) {
            responder->Fail(ErrorCode::kInternal, "handler of " + method + " threw: " + e.what());
          } catch (...) {
            responder->Fail(ErrorCode::kInternal, "handler of " + method + " threw");
          }
        }
        responder.reset();
        self->Release(lane);
      });
  if (!queued) {
    Release(lane);
    responder->Fail(ErrorCode::kUnavailable, "the daemon is shutting down");
  }
}

void Connection::Cancel(const Json& id, const Json& params) {
  auto t = params.find("target");
  if (t == params.end() || !ValidId(*t)) {
    return SendError(id, ErrorCode::kInvalidParams,
                     "cancel: \"target\" (the id of a request in flight on this connection, "
                     "an unsigned integer or a string) is " +
                         std::string(t == params.end() ? "missing" : TypeName(*t)));
  }
  std::shared_ptr<RequestResponder> target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto f = inflight_.find(IdKey(*t));
    if (f != inflight_.end()) target = f->second.lock();
  }
  bool cancelled = target && target->Cancel(/*answer=*/true);
  Send(EncodeFrame(Json{{"id", id}, {"result", {{"cancelled", cancelled}}}}));
}

void Connection::Done(const std::string& key, const RequestResponder* r) {
  std::shared_ptr<RequestResponder> cur;  // released outside mu_
  std::lock_guard<std::mutex> lock(mu_);
  auto f = inflight_.find(key);
  // Only drop the entry if it is not a newer request reusing the id.
  if (f != inflight_.end()) {
    cur = f->second.lock();
    if (!cur || cur.get() == r) inflight_.erase(f);
  }
}

bool Connection::Send(std::string frame) {
  auto buf = std::make_shared<std::string>(std::move(frame));
  bool start = false, overflow = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return false;
    if (!queue_.empty() && queued_bytes_ + buf->size() > config_.max_write_queue_bytes) {
      overflow = true;
    } else {
      queued_bytes_ += buf->size();
      queue_.push_back(std::move(buf));
      start = !writing_;
      writing_ = true;
    }
  }
  if (overflow) {  // the peer does not read: drop it rather than buffer forever
    Close();
    return false;
  }
  if (start) asio::post(socket_.get_executor(), [self = shared_from_this()] { self->WriteNext(); });
  return true;
}

void Connection::WriteNext() {
  std::shared_ptr<std::string> front;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_ || queue_.empty()) {
      writing_ = false;
      return;
    }
    front = queue_.front();
  }
  asio::async_write(socket_, asio::buffer(*front),
                    [self = shared_from_this(), front](boost::system::error_code ec, size_t) {
                      if (ec) return self->CloseOnStrand();
                      bool more, close;
                      {
                        std::lock_guard<std::mutex> lock(self->mu_);
                        if (!self->queue_.empty()) self->queue_.pop_front();
                        self->queued_bytes_ -= front->size();
                        more = !self->queue_.empty();
                        if (!more) self->writing_ = false;
                        close = !more && self->close_after_flush_;
                      }
                      if (more) return self->WriteNext();
                      if (close) self->CloseOnStrand();
                    });
}

void Connection::Reject(ErrorCode code, const std::string& message) {
  bool close_now;
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_after_flush_ = true;
  }
  SendError(nullptr, code, message);
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_now = !writing_ && !closed_;
  }
  if (close_now) Close();
}

void Connection::Close() {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this()] { self->CloseOnStrand(); });
}

void Connection::CloseOnStrand() {
  std::vector<std::shared_ptr<RequestResponder>> inflight;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    for (auto& [key, weak] : inflight_) {
      if (auto r = weak.lock()) inflight.push_back(std::move(r));
    }
    inflight_.clear();
  }
  boost::system::error_code ignored;
  idle_timer_.cancel();
  socket_.shutdown(LocalSocket::shutdown_both, ignored);
  socket_.close(ignored);
  for (auto& r : inflight) r->Cancel(/*answer=*/false);
  if (config_.on_closed) config_.on_closed();
}

}  // namespace arcella::alme
