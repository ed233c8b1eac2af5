#include "alme/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include <utility>  // before Asio: Boost 1.74 needs std::exchange under C++20
#include <boost/asio.hpp>

#include "alme/connection.h"
#include "alme/pool.h"

namespace arcella::alme {

namespace asio = boost::asio;
using Local = asio::local::stream_protocol;

namespace {

std::string Errno(int e) { return std::strerror(e); }

// True if a server answers a connect() on `path`.
bool SomeoneListens(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

class ServerImpl : public Server {
 public:
  ServerImpl(ServerOptions options, std::shared_ptr<Handler> handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        pool_(options_.worker_threads, options_.worker_threads + 512),
        acceptor_(io_),
        work_(asio::make_work_guard(io_)) {}

  ~ServerImpl() override { Stop(); }

  Status Listen();
  void Stop() override;

 private:
  void Accept();
  void OnAccepted(Local::socket socket);

  ServerOptions options_;
  std::shared_ptr<Handler> handler_;
  ElasticPool pool_;
  asio::io_context io_;
  Local::acceptor acceptor_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread io_thread_;
  ino_t socket_ino_ = 0;

  std::mutex mu_;
  bool stopped_ = false;
  std::set<std::shared_ptr<Connection>> conns_;
};

Status ServerImpl::Listen() {
  const std::string& path = options_.socket_path;
  if (path.empty()) return Status::InvalidArgument("ALME socket path is empty");
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    return Status::InvalidArgument("ALME socket path " + path + " is too long (" +
                                   std::to_string(path.size()) + " bytes; a Unix socket path " +
                                   "holds at most " +
                                   std::to_string(sizeof(sockaddr_un::sun_path) - 1) + ")");
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::IoError("ALME socket directory " + dir + ": " + Errno(errno));
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::IoError("ALME socket directory " + dir + " is not a directory");
  }
  if (::chmod(dir.c_str(), 0700) != 0) {
    return Status::IoError("cannot chmod 0700 " + dir + ": " + Errno(errno));
  }
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition(path + " exists and is not a socket; remove it or " +
                                        "choose another home");
    }
    if (SomeoneListens(path)) {
      return Status::FailedPrecondition("another daemon is listening on " + path);
    }
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {  // stale socket
      return Status::IoError("cannot remove stale socket " + path + ": " + Errno(errno));
    }
  }
  boost::system::error_code ec;
  acceptor_.open(Local(), ec);
  if (!ec) acceptor_.bind(Local::endpoint(path), ec);
  if (ec) return Status::IoError("cannot bind " + path + ": " + ec.message());
  if (::chmod(path.c_str(), 0600) != 0) {
    int e = errno;
    ::unlink(path.c_str());
    return Status::IoError("cannot chmod 0600 " + path + ": " + Errno(e));
  }
  if (::stat(path.c_str(), &st) == 0) socket_ino_ = st.st_ino;
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    ::unlink(path.c_str());
    return Status::IoError("cannot listen on " + path + ": " + ec.message());
  }
  Accept();
  io_thread_ = std::thread([this] { io_.run(); });
  return Status::Ok();
}

void ServerImpl::Accept() {
  acceptor_.async_accept(asio::make_strand(io_),
                         [this](boost::system::error_code ec, Local::socket socket) {
                           if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
                           if (!ec) OnAccepted(std::move(socket));
                           Accept();
                         });
}

void ServerImpl::OnAccepted(Local::socket socket) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  bool have_cred =
      ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
  ConnectionConfig config{options_.max_frame_bytes, options_.max_write_queue_bytes, handler_,
                          &pool_, nullptr};
  auto conn = std::make_shared<Connection>(std::move(socket), config);
  if (!have_cred) {
    return conn->Reject(ErrorCode::kPermissionDenied,
                        "cannot read the peer's credentials (SO_PEERCRED): " + Errno(errno));
  }
  uid_t me = ::geteuid();
  if (cred.uid != me && cred.uid != 0) {
    return conn->Reject(ErrorCode::kPermissionDenied,
                        "uid " + std::to_string(cred.uid) + " may not use this daemon (only uid " +
                            std::to_string(me) + " and root may)");
  }
  std::weak_ptr<Connection> weak = conn;
  conn->SetOnClosed([this, weak] {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto c = weak.lock()) conns_.erase(c);
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return conn->Reject(ErrorCode::kUnavailable, "the daemon is shutting down");
    if (static_cast<int>(conns_.size()) >= options_.max_connections) {
      return conn->Reject(ErrorCode::kUnavailable,
                          "too many connections (the limit is " +
                              std::to_string(options_.max_connections) + ")");
    }
    conns_.insert(conn);
  }
  conn->Start();
}

void ServerImpl::Stop() {
  std::set<std::shared_ptr<Connection>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    conns = conns_;
  }
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
  for (auto& c : conns) c->Close();
  conns.clear();
  work_.reset();
  if (io_thread_.joinable()) io_thread_.join();
  pool_.Stop();
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_.clear();
  }
  struct stat st;
  if (socket_ino_ != 0 && ::stat(options_.socket_path.c_str(), &st) == 0 &&
      st.st_ino == socket_ino_) {
    ::unlink(options_.socket_path.c_str());
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                              std::shared_ptr<Handler> handler) {
  if (!handler) return Status::InvalidArgument("ALME server needs a handler");
  auto server = std::make_unique<ServerImpl>(std::move(options), std::move(handler));
  Status st = server->Listen();
  if (!st.ok()) return st;
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace arcella::alme
