// The ALME server: a Unix stream socket (0600, in a 0700 directory) that
// checks peers with SO_PEERCRED, reads length-prefixed MessagePack frames,
// and dispatches requests to a Handler on a pool of threads. Many clients,
// many concurrent requests per connection, streamed replies.
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

// Which executor runs a request. Each lane has its own threads and bounds,
// so guest calls, compiles and streams never delay management requests.
enum class Lane {
  kManagement,  // ping, status, stop, ...: short, never behind the others
  kCall,        // guest calls: bounded per connection and in total
  kInstall,     // compiles (seconds): a few threads of their own
  kStream,      // long-lived streams (`logs -f`, `events.watch`)
  kInline,      // answered on the I/O thread itself (e.g. `ping`): must never block
};

// Implemented by the platform. Called on a pool thread of the request's
// lane; may block (e.g. `logs -f` streams until cancelled).
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(const std::string& method, const Json& params,
                      std::shared_ptr<Responder> responder) = 0;
  // The lane of a request (called on the I/O thread: must not block).
  virtual Lane LaneOf(const std::string& method, const Json& params) const {
    (void)method;
    (void)params;
    return Lane::kManagement;
  }
};

struct ServerOptions {
  std::string socket_path;  // $ARCELLA_HOME/alme
  uint32_t max_frame_bytes = kDefaultMaxFrameBytes;
  int worker_threads = 4;  // management pool (grows to 64 if requests block)
  // At max_connections the longest-idle connection (nothing in flight) is
  // closed to make room; if none is idle the newcomer gets `unavailable`.
  int max_connections = 256;
  int call_threads = 64;    // threads running guest calls
  int install_threads = 2;  // threads running installs (compiles)
  // In-flight `call`s (queued or running); past a bound: `unavailable`.
  int max_calls_per_connection = 64;
  int max_calls = 1024;
  // In-flight requests of the other lanes per connection (management, install).
  int max_requests_per_connection = 256;
  // Open streams per connection, and in total.
  int max_streams_per_connection = 32;
  int max_streams = 256;
  // A connection with no request in flight and no open stream for this long
  // is closed (zero: never).
  std::chrono::milliseconds idle_timeout{60'000};
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
