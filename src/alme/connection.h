// One accepted ALME connection: reads frames, validates requests, dispatches
// them to the Handler on the pool, and writes responses through a bounded,
// never-interleaving write queue. Internal to src/alme.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <utility>  // before Asio: Boost 1.74 needs std::exchange under C++20

#include <boost/asio.hpp>

#include "alme/frame.h"
#include "alme/pool.h"
#include "alme/server.h"

namespace arcella::alme {

using LocalSocket = boost::asio::local::stream_protocol::socket;
class RequestResponder;

// What all connections of a server share: one pool per Lane, the totals
// over all connections, and the bounds (ServerOptions).
struct ServerShared {
  ElasticPool* pools[4] = {};   // indexed by Lane (kInline has none)
  std::atomic<int> calls{0};    // in-flight calls, all connections
  std::atomic<int> streams{0};  // open streams, all connections
  const ServerOptions* options = nullptr;
};

struct ConnectionConfig {
  uint32_t max_frame_bytes;
  size_t max_write_queue_bytes;
  std::shared_ptr<Handler> handler;
  ServerShared* shared;
  std::function<void()> on_closed;  // called once, on the connection's strand
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(LocalSocket socket, ConnectionConfig config);
  ~Connection();

  void SetOnClosed(std::function<void()> fn) { config_.on_closed = std::move(fn); }
  void Start();  // begins reading
  // Sends one error frame (id null) and closes once it is written.
  void Reject(ErrorCode code, const std::string& message);
  // Closes now (from any thread): in-flight requests are cancelled.
  void Close();

  // Queues an encoded frame (any thread). False if the connection is closed,
  // or the queue is over its limit (the connection is then dropped).
  bool Send(std::string frame);
  void Done(const std::string& key, const RequestResponder* r);  // r finished

  // Nothing in flight and no open stream.
  bool idle() const;
  std::chrono::steady_clock::time_point last_active() const;

 private:
  void ReadMore();
  void OnFrame(Json msg);
  void SendError(const Json& id, ErrorCode code, const std::string& message);
  void Cancel(const Json& id, const Json& params);
  void WriteNext();
  void CloseOnStrand();
  // Admits a request to `lane` (counting it) or returns why not.
  std::string Admit(Lane lane);
  void Release(Lane lane);  // the handler of a `lane` request returned
  void Touch();
  void ArmIdleTimer(std::chrono::steady_clock::duration after);

  LocalSocket socket_;
  ConnectionConfig config_;
  FrameDecoder decoder_;
  uint8_t read_buf_[64 * 1024];

  std::mutex mu_;  // guards everything below
  bool closed_ = false;
  bool close_after_flush_ = false;
  bool writing_ = false;
  size_t queued_bytes_ = 0;
  std::deque<std::shared_ptr<std::string>> queue_;
  std::map<std::string, std::weak_ptr<RequestResponder>> inflight_;

  // Handlers running or queued, by lane (see Admit/Release).
  std::atomic<int> lane_count_[5] = {};
  std::atomic<int64_t> last_active_ns_{0};  // steady clock
  boost::asio::steady_timer idle_timer_;
};

}  // namespace arcella::alme
