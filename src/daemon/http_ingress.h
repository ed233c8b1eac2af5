// HttpIngress: the daemon's HTTP server (docs/HTTP.md). It serves the
// started deployments whose components export wasi:http/incoming-handler,
// each under its route (Platform::ServeHttp), load-balanced over their
// replicas, in the daemon or in workers alike.
//
// HTTP/1.1 (keep-alive) parsed by Boost.Beast. Every request is bounded
// (header, body, the time to read it: platform/http_call.h, Config::Http);
// a malformed one gets a 400 naming what is wrong, too large a body a 413,
// no route a 404, a stopped or failing deployment a 503, a guest trap or a
// handler that sets no response a 500 (the message in the body), a reply a
// worker garbled a 502. Nothing a client sends stops the ingress.
//
// Threads: Start and Stop from one thread. Connections run on two I/O
// threads; guest calls on a pool of their own, so a slow handler never
// holds up reading or writing other connections.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "platform/config.h"
#include "platform/platform.h"

namespace arcella::daemon {

class HttpIngress {
 public:
  // Listens on `config.listen` (must be set). `platform` must outlive the
  // ingress. IoError naming the address if it cannot listen.
  static Result<std::unique_ptr<HttpIngress>> Start(platform::Platform* platform,
                                                    const platform::Config::Http& config);
  ~HttpIngress();  // Stop()

  // The address it listens on, "ADDRESS:PORT" (the real port for port 0).
  const std::string& address() const;

  // Closes the listener and every connection, waits for the calls in flight
  // (the platform's Shutdown ends them) and the threads. Idempotent.
  void Stop();

  class Impl;

 private:
  explicit HttpIngress(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace arcella::daemon
