// A synchronous ALME client (used by arcella-cli and the tests). One request
// at a time per Client; open several Clients for concurrency.
#pragma once

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
  // when nothing listens there.
  static Result<std::unique_ptr<Client>> Connect(const std::string& socket_path);
  virtual ~Client() = default;

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
