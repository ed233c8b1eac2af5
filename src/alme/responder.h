// The Responder of one in-flight request. Internal to src/alme.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alme/server.h"

namespace arcella::alme {

class Connection;

// Key of a request id within its connection ("u:7", "s:abc").
std::string IdKey(const Json& id);

class RequestResponder : public Responder {
 public:
  RequestResponder(std::weak_ptr<Connection> conn, Json id, std::string key)
      : conn_(std::move(conn)), id_(std::move(id)), key_(std::move(key)) {}
  ~RequestResponder() override;  // unanswered -> `internal`

  bool Stream(const Json& item) override;
  void Finish(const Json& result) override;
  void Fail(ErrorCode code, const std::string& message) override;
  bool cancelled() const override;
  void OnCancel(std::function<void()> fn) override;

  // Cancels the request. With `answer`, finishes it with
  // {"cancelled": true} (the `cancel` method); returns false if it had
  // already finished.
  bool Cancel(bool answer);
  bool finished() const;

 private:
  void SendFinal(const Json& msg);

  std::weak_ptr<Connection> conn_;
  const Json id_;
  const std::string key_;
  mutable std::mutex mu_;
  // Held across "still open?" and the send of a frame, so no stream item can
  // follow the final response. Never held while calling the connection back
  // into a responder (Connection::Send only queues); recursive because a
  // send may close the connection inline on the I/O thread.
  std::recursive_mutex send_mu_;
  bool finished_ = false;
  bool cancelled_ = false;
  std::vector<std::function<void()>> on_cancel_;
};

Json ErrorMessage(const Json& id, ErrorCode code, const std::string& message);

}  // namespace arcella::alme
