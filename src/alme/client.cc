#include "alme/client.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange under C++20
#include <boost/asio.hpp>

#include "alme/frame.h"

namespace arcella::alme {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

// Responses may be larger than requests (status of many replicas, logs).
constexpr uint32_t kClientMaxFrameBytes = 256u << 20;

class SocketClient : public Client {
 public:
  explicit SocketClient(std::string path)
      : path_(std::move(path)), socket_(io_), decoder_(kClientMaxFrameBytes) {}

  Status Open() {
    boost::system::error_code ec;
    socket_.connect(Local::endpoint(path_), ec);
    if (!ec) return Status::Ok();
    std::string msg = "cannot connect to " + path_ + ": " + ec.message() +
                      " — is the daemon running? (start it with `arcella`)";
    if (ec == asio::error::not_found || ec.value() == ENOENT || ec.value() == ECONNREFUSED) {
      return Status::NotFound(msg);
    }
    return Status::IoError(msg);
  }

  Result<Json> Call(const std::string& method, const Json& params, RemoteError* remote,
                    const std::function<bool(const Json&)>& on_item) override {
    if (broken_) return Status::IoError("connection to " + path_ + " is closed");
    uint64_t id = next_id_++;
    Json req{{"id", id}, {"method", method}};
    if (!params.is_null()) req["params"] = params;
    ARCELLA_RETURN_IF_ERROR(Write(req));
    bool cancel_sent = false;
    for (;;) {
      Json msg;
      ARCELLA_RETURN_IF_ERROR(Read(&msg));
      const Json& rid = msg.contains("id") ? msg["id"] : Json();
      bool mine = rid.is_number_unsigned() && rid.get<uint64_t>() == id;
      if (!mine && !(rid.is_null() && msg.contains("error"))) continue;  // e.g. a cancel's reply
      if (mine && msg.contains("stream")) {
        if (on_item && !cancel_sent && !on_item(msg["stream"])) {
          cancel_sent = true;
          Json cancel{{"id", next_id_++}, {"method", "cancel"}, {"params", {{"target", id}}}};
          ARCELLA_RETURN_IF_ERROR(Write(cancel));
        }
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
  Status Write(const Json& msg) {
    std::string frame = EncodeFrame(msg);
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(frame), ec);
    if (ec) {
      broken_ = true;
      return Status::IoError("writing to " + path_ + ": " + ec.message());
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
      boost::system::error_code ec;
      size_t n = socket_.read_some(asio::buffer(buf_), ec);
      if (ec) {
        broken_ = true;
        if (ec == asio::error::eof) {
          return Status::IoError("the daemon at " + path_ + " closed the connection");
        }
        return Status::IoError("reading from " + path_ + ": " + ec.message());
      }
      decoder_.Feed(buf_, n);
    }
  }

  std::string path_;
  asio::io_context io_;
  Local::socket socket_;
  FrameDecoder decoder_;
  uint8_t buf_[64 * 1024];
  uint64_t next_id_ = 1;
  bool broken_ = false;
};

}  // namespace

Result<std::unique_ptr<Client>> Client::Connect(const std::string& socket_path) {
  auto c = std::make_unique<SocketClient>(socket_path);
  ARCELLA_RETURN_IF_ERROR(c->Open());
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
