// LogHub: captured guest output and platform messages, per replica.
//
// Every replica ("<deployment id>#<index>") has a ring buffer of its last
// lines; every deployment appends to `<dir>/<sanitised id>.log`, rotated by
// size into .log.1, .log.2, ... Output arrives as bytes (Write) and is cut
// into lines; a partial line waits for its newline (or Flush at exit).
//
// A target selects replicas: "<deployment id>#<index>", a deployment id
// ("m@1.0.0/web"), or a module id ("m@1.0.0", all its deployments).
// Thread-safe. Subscribers are called on the writing thread, outside the
// hub's lock, in the order lines were recorded per replica.
#pragma once

#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace arcella::platform {

enum class LogStream { kStdout, kStderr, kPlatform };
const char* LogStreamName(LogStream s);  // "stdout", "stderr", "platform"

struct LogLine {
  std::string replica;  // "<deployment id>#<index>"
  LogStream stream = LogStream::kStdout;
  int64_t ts_ms = 0;  // Unix epoch milliseconds
  std::string line;   // without the newline
  uint64_t seq = 0;   // global order of recording
};

struct LogHubOptions {
  size_t ring_lines = 1000;               // kept per replica for Tail()
  uint64_t max_file_bytes = 10ull << 20;  // rotate the deployment's file past this
  int max_files = 3;                      // .log plus .log.1 .. .log.(max_files-1)
  size_t max_line_bytes = 16 * 1024;      // longer lines are cut here
  // Bytes of lines kept per replica (oldest dropped first; the newest line
  // always stays). With the partial-line buffers (one per stream, each at
  // most max_line_bytes) this bounds the host memory a replica's output
  // can take: RingBytesBound().
  size_t ring_bytes = 256 * 1024;
  size_t RingBytesBound() const { return ring_bytes + 3 * max_line_bytes; }
};

class LogHub {
 public:
  // `dir` is created if missing; empty: no files, rings only.
  explicit LogHub(std::string dir, LogHubOptions options = {});
  ~LogHub();
  LogHub(const LogHub&) = delete;
  LogHub& operator=(const LogHub&) = delete;

  // Output bytes of replica `index` of `deployment`.
  void Write(const std::string& deployment, uint32_t index, LogStream stream,
             std::string_view bytes);
  // One whole line (e.g. a platform message: "exited with code 1").
  void Line(const std::string& deployment, uint32_t index, LogStream stream, std::string_view line);
  // Records any buffered partial lines of the replica (call when it exits).
  void Flush(const std::string& deployment, uint32_t index);
  // Drops the rings of a deployment's replicas with index >= `from` (the
  // file stays). Forget(d, 0) after undeploy.
  void Forget(const std::string& deployment, uint32_t from = 0);

  // The last `n` lines of `target`, oldest first.
  std::vector<LogLine> Tail(const std::string& target, size_t n) const;

  using Callback = std::function<void(const LogLine&)>;
  uint64_t Subscribe(const std::string& target, Callback cb);
  void Unsubscribe(uint64_t token);

  // The log file of `deployment` (whether or not it exists yet).
  std::string FilePath(const std::string& deployment) const;
  // True if `replica` ("d#i") is selected by `target`.
  static bool Matches(const std::string& target, const std::string& replica);

 private:
  struct Ring {
    std::deque<LogLine> lines;
    size_t bytes = 0;        // sum of lines[i].line.size()
    std::string partial[2];  // stdout, stderr
  };
  struct File {
    FILE* f = nullptr;
    uint64_t size = 0;
  };
  // Records `line` under mu_ (held); returns it for delivery.
  LogLine RecordLocked(const std::string& deployment, uint32_t index, LogStream stream,
                       std::string_view line);
  void AppendFileLocked(const std::string& deployment, const LogLine& l);
  void Deliver(const std::vector<LogLine>& lines);

  const std::string dir_;
  const LogHubOptions opt_;
  mutable std::mutex mu_;
  uint64_t seq_ = 0;
  std::map<std::string, Ring> rings_;  // by replica "d#i"
  std::map<std::string, File> files_;  // by deployment id
  uint64_t next_token_ = 1;
  std::map<uint64_t, std::pair<std::string, std::shared_ptr<Callback>>> subs_;
};

}  // namespace arcella::platform
