// The ALME server: a Unix stream socket (0600, in a 0700 directory) that
// checks peers with SO_PEERCRED, reads length-prefixed MessagePack frames,
// and dispatches requests to a Handler on a pool of threads. Many clients,
// many concurrent requests per connection, streamed replies.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "alme/protocol.h"
#include "common/status.h"

namespace arcella::alme {

using Json = nlohmann::json;

// One in-flight request. Thread-safe; exactly one of Finish/Fail must be
// called (further calls are ignored). Dropping the last reference without
// finishing answers `internal`.
class Responder {
 public:
  virtual ~Responder() = default;
  // Sends {"id", "stream": item}. Returns false once the stream is cancelled
  // or the connection is gone: the handler should then stop and Finish.
  virtual bool Stream(const Json& item) = 0;
  virtual void Finish(const Json& result) = 0;
  virtual void Fail(ErrorCode code, const std::string& message) = 0;
  virtual bool cancelled() const = 0;
  // Runs `fn` once when the request is cancelled or its connection closes.
  virtual void OnCancel(std::function<void()> fn) = 0;
};

// Implemented by the platform. Called on a pool thread; may block (e.g.
// `logs -f` streams until cancelled) — the pool grows for streaming calls.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(const std::string& method, const Json& params,
                      std::shared_ptr<Responder> responder) = 0;
};

struct ServerOptions {
  std::string socket_path;                 // $ARCELLA_HOME/alme
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  int worker_threads = 4;                  // request pool (streams get their own)
  int max_connections = 256;               // more get one `unavailable` frame
  // A connection whose unsent responses exceed this (the peer does not read)
  // is dropped, so a stuck client cannot hold the daemon's memory.
  size_t max_write_queue_bytes = 32u << 20;
};

class Server {
 public:
  // Creates the socket (replacing a stale one), mode 0600; the parent
  // directory must exist and is chmod 0700. Errors name the path.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options,
                                               std::shared_ptr<Handler> handler);
  virtual ~Server() = default;
  // Stops accepting, closes every connection (ending streams), joins threads,
  // removes the socket file.
  virtual void Stop() = 0;
};

}  // namespace arcella::alme
