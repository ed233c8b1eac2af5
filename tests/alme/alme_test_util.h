// Helpers for the ALME tests: a test Handler and a raw socket peer that
// builds frames by hand (no src/alme code), as an independent client would.
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "alme/server.h"

namespace arcella::alme::test {

// echo: result = params. slow {ms}: sleeps, result {"slept": ms}.
// stream {interval_ms}: items {"n": i} until cancelled, then Finish.
// flood {bytes}: items of `bytes` bytes as fast as Stream accepts them.
// fail: invalid_params. drop: never answers. Anything else: unknown_method.
class TestHandler : public Handler {
 public:
  std::atomic<int> cancels{0};        // OnCancel callbacks fired
  std::atomic<int> streams_ended{0};  // stream/flood loops that ended
  std::atomic<bool> flood_refused{false};

  void Handle(const std::string& method, const Json& params,
              std::shared_ptr<Responder> r) override {
    if (method == "echo") return r->Finish(params);
    if (method == "slow") {
      int ms = params.value("ms", 100);
      // The behaviour under test: a method that takes `ms` to answer.
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      return r->Finish(Json{{"slept", ms}});
    }
    if (method == "stream") {
      r->OnCancel([this] { ++cancels; });
      int interval = params.value("interval_ms", 2);
      int n = 0;
      while (r->Stream(Json{{"n", n}})) {
        ++n;
        // The stream's pace (behaviour under test), not a synchronisation.
        std::this_thread::sleep_for(std::chrono::milliseconds(interval));
      }
      ++streams_ended;
      return r->Finish(Json{{"items", n}});
    }
    if (method == "flood") {
      std::string blob(params.value("bytes", 65536), 'x');
      for (int i = 0; i < 100000; ++i) {
        if (!r->Stream(Json{{"blob", blob}})) {
          flood_refused = true;
          break;
        }
      }
      ++streams_ended;
      return r->Finish(Json{{"done", true}});
    }
    if (method == "fail") return r->Fail(ErrorCode::kInvalidParams, "fail: asked to fail");
    if (method == "drop") return;
    r->Fail(ErrorCode::kUnknownMethod, "no method \"" + method + "\"");
  }
};

// A peer on a raw Unix socket. Frames are built here by hand: 4-byte
// big-endian length + MessagePack (nlohmann's encoder).
class RawPeer {
 public:
  explicit RawPeer(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawPeer() { Close(); }
  bool ok() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  static std::string Header(uint32_t n) {
    std::string h(4, '\0');
    h[0] = char(n >> 24), h[1] = char(n >> 16), h[2] = char(n >> 8), h[3] = char(n);
    return h;
  }
  static std::string Frame(const std::string& body) { return Header(body.size()) + body; }
  static std::string Pack(const nlohmann::json& v) {
    auto bytes = nlohmann::json::to_msgpack(v);
    return std::string(bytes.begin(), bytes.end());
  }

  bool SendRaw(const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += size_t(n);
    }
    return true;
  }
  bool Send(const nlohmann::json& msg) { return SendRaw(Frame(Pack(msg))); }

  // Reads one frame; false on timeout, EOF or error (eof() tells which).
  bool Read(nlohmann::json* out, int timeout_ms = 5000) {
    uint8_t h[4];
    if (!ReadExact(h, 4, timeout_ms)) return false;
    uint32_t n = (uint32_t(h[0]) << 24) | (uint32_t(h[1]) << 16) | (uint32_t(h[2]) << 8) | h[3];
    std::string body(n, '\0');
    if (!ReadExact(reinterpret_cast<uint8_t*>(body.data()), n, timeout_ms)) return false;
    *out = nlohmann::json::from_msgpack(body);
    return true;
  }
  // True if the server closes the connection within the timeout.
  bool WaitClosed(int timeout_ms = 5000) {
    uint8_t b[4096];
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (std::chrono::steady_clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, b, sizeof(b), 0);
      if (n <= 0) return true;
    }
    return false;
  }
  bool eof() const { return eof_; }
  int fd() const { return fd_; }

 private:
  bool ReadExact(uint8_t* p, size_t n, int timeout_ms) {
    size_t got = 0;
    while (got < n) {
      pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, timeout_ms) <= 0) return false;
      ssize_t r = ::recv(fd_, p + got, n - got, 0);
      if (r <= 0) {
        eof_ = true;
        return false;
      }
      got += size_t(r);
    }
    return true;
  }
  int fd_ = -1;
  bool eof_ = false;
};

}  // namespace arcella::alme::test
