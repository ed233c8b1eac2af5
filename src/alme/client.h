// A synchronous ALME client (used by arcella-cli and the tests). One request
// at a time per Client; open several Clients for concurrency.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "alme/protocol.h"
#include "common/status.h"

namespace arcella::alme {

using Json = nlohmann::json;

// An error answered by the daemon (as opposed to a transport failure).
struct RemoteError {
  ErrorCode code;
  std::string message;
};

class Client {
 public:
  // Connects to the socket. NotFound / IoError("is the daemon running?")
  // when nothing listens there. A positive `connect_timeout` bounds the
  // connect (a daemon whose listen queue is full); then timed_out().
  static Result<std::unique_ptr<Client>> Connect(
      const std::string& socket_path,
      std::chrono::milliseconds connect_timeout = std::chrono::milliseconds(0));
  virtual ~Client() = default;

  // Bounds each later Call (zero: none): past it the call fails with an
  // IoError, timed_out() is true and the connection is closed (the daemon
  // then cancels the request).
  virtual void SetCallTimeout(std::chrono::milliseconds timeout) = 0;
  // True once a connect or call failed because its time ran out.
  virtual bool timed_out() const = 0;

  // While a Call waits: once `fd` is readable (e.g. a signal handler wrote
  // to a pipe; the Client reads it empty), the request in flight is
  // cancelled with the `cancel` method and the Call goes on to return the
  // daemon's final answer (`{"cancelled": true}` if it was still running).
  // interrupted() then stays true. -1 (the default): no such fd. The fd
  // stays the caller's.
  virtual void SetInterruptFd(int fd) = 0;
  virtual bool interrupted() const = 0;

  // Sends a request and waits for its result. On a daemon error, returns a
  // Status with code kFailedPrecondition and fills `*remote` (if given).
  // Stream items, if any, go to `on_item`; returning false from it cancels
  // the stream (the call then returns the final, cancelled result).
  virtual Result<Json> Call(const std::string& method, const Json& params,
                            RemoteError* remote = nullptr,
                            const std::function<bool(const Json&)>& on_item = {}) = 0;
};

// $ARCELLA_HOME (or ~/.arcella) + "/alme".
std::string DefaultSocketPath();

}  // namespace arcella::alme
