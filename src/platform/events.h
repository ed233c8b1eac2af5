// EventBus: a small thread-safe publish/subscribe hub for state changes
// (modules, deployments, replicas). ALME's `events.watch` subscribes to it.
//
//   EventBus bus;
//   auto token = bus.Subscribe([](const Event& e) { ... });
//   bus.Publish({.kind = "replica", .id = "m@1.0.0/web#3", .state = "active"});
//   bus.Unsubscribe(token);
//
// Callbacks run on the publishing thread, outside the bus's lock, and must
// not block for long. Unsubscribe() waits for nothing: a callback may still
// be running on another thread when it returns.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace arcella::platform {

struct Event {
  int64_t ts_ms = 0;    // set by Publish() if zero (Unix epoch milliseconds)
  std::string kind;     // "module", "deployment" or "replica"
  std::string id;       // module id, deployment id, or "<deployment id>#<index>"
  std::string state;    // a StateName(), e.g. "active"
  std::string message;  // optional detail, e.g. the trap that failed a replica
};

class EventBus {
 public:
  using Callback = std::function<void(const Event&)>;

  uint64_t Subscribe(Callback cb);
  void Unsubscribe(uint64_t token);
  void Publish(Event e);
  size_t subscribers() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  // Copy-on-write so Publish() calls callbacks without holding mu_.
  std::shared_ptr<const std::map<uint64_t, std::shared_ptr<Callback>>> subs_ =
      std::make_shared<std::map<uint64_t, std::shared_ptr<Callback>>>();
};

// Milliseconds since the Unix epoch.
int64_t NowMs();

}  // namespace arcella::platform
