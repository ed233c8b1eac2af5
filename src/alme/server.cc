#include "alme/server.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
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
        mgmt_pool_(options_.worker_threads, options_.worker_threads + 124),
        call_pool_(std::min(4, std::max(1, options_.call_threads)), options_.call_threads,
                   /*nice=*/19),
        install_pool_(1, options_.install_threads),
        stream_pool_(1, options_.max_streams + 4),
        acceptor_(io_),
        work_(asio::make_work_guard(io_)) {
    shared_.pools[static_cast<int>(Lane::kManagement)] = &mgmt_pool_;
    shared_.pools[static_cast<int>(Lane::kCall)] = &call_pool_;
    shared_.pools[static_cast<int>(Lane::kInstall)] = &install_pool_;
    shared_.pools[static_cast<int>(Lane::kStream)] = &stream_pool_;
    shared_.options = &options_;
  }

  ~ServerImpl() override { Stop(); }

  Status Listen();
  void Stop() override;

 private:
  void Accept();
  void OnAccepted(Local::socket socket);

  ServerOptions options_;
  std::shared_ptr<Handler> handler_;
  // One pool per Lane: guest calls, compiles and streams each have their
  // own threads, so management requests never queue behind them.
  ElasticPool mgmt_pool_, call_pool_, install_pool_, stream_pool_;
  ServerShared shared_;
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
  // Never re-mode a directory the daemon did not create (it may be shared):
  // refuse one that others could write (they could replace the socket).
  if (st.st_uid != ::geteuid()) {
    return Status::FailedPrecondition("ALME socket directory " + dir + " is owned by uid " +
                                      std::to_string(st.st_uid) + ", not by uid " +
                                      std::to_string(::geteuid()) + "; use a private directory");
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::FailedPrecondition("ALME socket directory " + dir +
                                      " is writable by others (mode " + mode +
                                      "); use a private directory (mode 0700)");
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
  // Close-on-exec: a child (the AOT compiler) must never hold the listening
  // socket, or a restarted daemon would find "another daemon" listening.
  if (!ec) ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);
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
  bool have_cred = ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
  // Asio does not ask for SOCK_CLOEXEC on accept: a compiler or any other
  // child must not inherit a client's connection.
  ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
  ConnectionConfig config{options_.max_frame_bytes, options_.max_write_queue_bytes, handler_,
                          &shared_, nullptr};
  auto conn = std::make_shared<Connection>(std::move(socket), config);
  if (!have_cred) {
    return conn->Reject(ErrorCode::kPermissionDenied,
                        "cannot read the peer's credentials (SO_PEERCRED): " + Errno(errno));
  }
  uid_t me = ::geteuid();
  if (cred.uid != me && cred.uid != 0) {
    return conn->Reject(ErrorCode::kPermissionDenied, "uid " + std::to_string(cred.uid) +
                                                          " may not use this daemon (only uid " +
                                                          std::to_string(me) + " and root may)");
  }
  std::shared_ptr<Connection> evicted;
  std::weak_ptr<Connection> weak = conn;
  conn->SetOnClosed([this, weak] {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto c = weak.lock()) conns_.erase(c);
  });
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return conn->Reject(ErrorCode::kUnavailable, "the daemon is shutting down");
    if (static_cast<int>(conns_.size()) >= options_.max_connections) {
      // Make room by closing the connection idle the longest; refuse the
      // newcomer only if every connection has work in flight.
      std::shared_ptr<Connection> oldest;
      for (const auto& c : conns_) {
        if (c->idle() && (!oldest || c->last_active() < oldest->last_active())) oldest = c;
      }
      if (!oldest) {
        return conn->Reject(ErrorCode::kUnavailable,
                            "too many connections (the limit is " +
                                std::to_string(options_.max_connections) +
                                ", alme.max_connections, and every one has a request in flight)");
      }
      conns_.erase(oldest);
      evicted = std::move(oldest);
    }
    conns_.insert(conn);
  }
  if (evicted) {
    evicted->Reject(ErrorCode::kUnavailable,
                    "closed to make room for a new client: the daemon is at its connection "
                    "limit (" +
                        std::to_string(options_.max_connections) +
                        ", alme.max_connections) and this connection was idle the longest");
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
  for (ElasticPool* p : shared_.pools) p->Stop();
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
