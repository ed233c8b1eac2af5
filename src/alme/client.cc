#include "alme/client.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "alme/frame.h"

namespace arcella::alme {

namespace {

using Clock = std::chrono::steady_clock;

// Responses may be larger than requests (status of many replicas, logs).
constexpr uint32_t kClientMaxFrameBytes = 256u << 20;

std::string Seconds(std::chrono::milliseconds d) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

class SocketClient : public Client {
 public:
  explicit SocketClient(std::string path)
      : path_(std::move(path)), decoder_(kClientMaxFrameBytes, /*bound_memory=*/false) {}
  ~SocketClient() override {
    if (fd_ >= 0) ::close(fd_);
  }

  Status Open(std::chrono::milliseconds timeout) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr.sun_path))
      return Status::InvalidArgument("socket path " + path_ + " is too long");
    std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
    // A Unix-socket connect blocks while the daemon's listen queue is full;
    // SO_SNDTIMEO bounds that wait (EAGAIN when it runs out).
    if (timeout.count() > 0) {
      timeval tv{static_cast<time_t>(timeout.count() / 1000),
                 static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    int rc;
    do {
      rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) {
      timeval zero{0, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &zero, sizeof zero);
      return Status::Ok();
    }
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    if (timeout.count() > 0 && (e == EAGAIN || e == EINPROGRESS || e == ETIMEDOUT)) {
      timed_out_ = true;
      return Status::IoError("timed out after " + Seconds(timeout) + " connecting to " + path_ +
                             " (the daemon does not accept connections)");
    }
    std::string msg = "cannot connect to " + path_ + ": " + std::strerror(e) +
                      " — is the daemon running? (start it with `arcella`)";
    if (e == ENOENT || e == ECONNREFUSED) return Status::NotFound(msg);
    return Status::IoError(msg);
  }

  void SetCallTimeout(std::chrono::milliseconds timeout) override { timeout_ = timeout; }
  bool timed_out() const override { return timed_out_; }
  void SetInterruptFd(int fd) override { interrupt_fd_ = fd; }
  bool interrupted() const override { return interrupted_; }

  Result<Json> Call(const std::string& method, const Json& params, RemoteError* remote,
                    const std::function<bool(const Json&)>& on_item) override {
    if (broken_) return Status::IoError("connection to " + path_ + " is closed");
    deadline_ = timeout_.count() > 0 ? Clock::now() + timeout_ : Clock::time_point::max();
    method_ = method;
    uint64_t id = next_id_++;
    Json req{{"id", id}, {"method", method}};
    if (!params.is_null()) req["params"] = params;
    ARCELLA_RETURN_IF_ERROR(Write(req));
    call_id_ = id;
    cancel_sent_ = false;
    for (;;) {
      Json msg;
      ARCELLA_RETURN_IF_ERROR(Read(&msg));
      const Json& rid = msg.contains("id") ? msg["id"] : Json();
      bool mine = rid.is_number_unsigned() && rid.get<uint64_t>() == id;
      if (!mine && !(rid.is_null() && msg.contains("error"))) continue;  // e.g. a cancel's reply
      if (mine && msg.contains("stream")) {
        if (on_item && !cancel_sent_ && !on_item(msg["stream"]))
          ARCELLA_RETURN_IF_ERROR(SendCancel());
        continue;
      }
      if (mine && msg.contains("result")) return std::move(msg["result"]);
      if (msg.contains("error") && msg["error"].is_object()) {
        const Json& e = msg["error"];
        int code = e.value("code", static_cast<int>(ErrorCode::kInternal));
        std::string name = e.contains("name") && e["name"].is_string()
                               ? e["name"].get<std::string>()
                               : ErrorCodeName(static_cast<ErrorCode>(code));
        std::string text = e.contains("message") && e["message"].is_string()
                               ? e["message"].get<std::string>()
                               : "";
        if (remote) *remote = RemoteError{static_cast<ErrorCode>(code), text};
        return Status::FailedPrecondition(name + ": " + text);
      }
      if (mine) return Status::Internal("daemon answered " + method + " without result or error");
    }
  }

 private:
  // Asks the daemon to cancel the call in flight (once).
  Status SendCancel() {
    cancel_sent_ = true;
    Json cancel{{"id", next_id_++}, {"method", "cancel"}, {"params", {{"target", call_id_}}}};
    return Write(cancel);
  }

  // Reads what is in the (readable) interrupt fd; false at its end or on an
  // error, and then stops watching it.
  bool ReadInterrupt() {
    char buf[64];
    ssize_t n;
    do {
      n = ::read(interrupt_fd_, buf, sizeof buf);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) interrupt_fd_ = -1;
    return n > 0;
  }

  // Waits until `fd_` is ready for `events` or the call's deadline passes.
  // Notes an interrupt (interrupt_fd_ readable) in interrupted_.
  Status Wait(short events) {
    for (;;) {
      int ms = -1;
      if (deadline_ != Clock::time_point::max()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
        if (left.count() <= 0) return TimedOut();
        ms = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
      }
      pollfd p[2] = {{fd_, events, 0}, {interrupt_fd_, POLLIN, 0}};
      bool watch = interrupt_fd_ >= 0 && !interrupted_;
      int rc = ::poll(p, watch ? 2 : 1, ms);
      if (rc > 0 && watch && p[1].revents) {
        interrupted_ = ReadInterrupt();
        return Status::Ok();  // the caller finds its fd not ready yet and looks again
      }
      if (rc > 0 && p[0].revents) return Status::Ok();
      if (rc < 0 && errno != EINTR) {
        broken_ = true;
        return Status::IoError(std::string("poll: ") + std::strerror(errno));
      }
    }
  }

  Status TimedOut() {
    broken_ = true;
    timed_out_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // the daemon cancels what this connection started
    return Status::IoError("timed out after " + Seconds(timeout_) + " waiting for the answer to " +
                           method_ + " from " + path_);
  }

  Status Write(const Json& msg) {
    std::string frame = EncodeFrame(msg);
    size_t off = 0;
    while (off < frame.size()) {
      ARCELLA_RETURN_IF_ERROR(Wait(POLLOUT));
      ssize_t n = ::send(fd_, frame.data() + off, frame.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        broken_ = true;
        return Status::IoError("writing to " + path_ + ": " + std::strerror(errno));
      }
      off += static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Read(Json* msg) {
    for (;;) {
      ErrorCode code;
      std::string message;
      switch (decoder_.Next(msg, &code, &message)) {
        case FrameDecoder::Event::kFrame: return Status::Ok();
        case FrameDecoder::Event::kError:
          broken_ = true;
          return Status::IoError("bad frame from the daemon at " + path_ + ": " + message);
        case FrameDecoder::Event::kNone: break;
      }
      if (interrupted_ && !cancel_sent_ && call_id_ != 0) ARCELLA_RETURN_IF_ERROR(SendCancel());
      ARCELLA_RETURN_IF_ERROR(Wait(POLLIN));
      ssize_t n = ::recv(fd_, buf_, sizeof buf_, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        broken_ = true;
        if (n == 0) return Status::IoError("the daemon at " + path_ + " closed the connection");
        return Status::IoError("reading from " + path_ + ": " + std::strerror(errno));
      }
      decoder_.Feed(buf_, static_cast<size_t>(n));
    }
  }

  std::string path_;
  int fd_ = -1;
  FrameDecoder decoder_;
  uint8_t buf_[64 * 1024];
  uint64_t next_id_ = 1;
  bool broken_ = false;
  bool timed_out_ = false;
  int interrupt_fd_ = -1;
  bool interrupted_ = false;
  uint64_t call_id_ = 0;      // the request in flight
  bool cancel_sent_ = false;  // for call_id_
  std::chrono::milliseconds timeout_{0};
  Clock::time_point deadline_ = Clock::time_point::max();
  std::string method_;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& socket_path,
                                                std::chrono::milliseconds connect_timeout) {
  auto c = std::make_unique<SocketClient>(socket_path);
  ARCELLA_RETURN_IF_ERROR(c->Open(connect_timeout));
  return std::unique_ptr<Client>(std::move(c));
}

std::string DefaultSocketPath() {
  if (const char* home = std::getenv("ARCELLA_HOME"); home && *home) {
    return std::string(home) + "/alme";
  }
  std::string user_home;
  if (const char* h = std::getenv("HOME"); h && *h) {
    user_home = h;
  } else if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_dir) {
    user_home = pw->pw_dir;
  }
  return user_home + "/.arcella/alme";
}

}  // namespace arcella::alme
