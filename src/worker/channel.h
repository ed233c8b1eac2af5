// Channel: the framed connection between the daemon and one arcella-worker,
// over an inherited AF_UNIX SOCK_STREAM socketpair (docs/WORKER.md).
//
// A frame is a 4-byte big-endian length N, then N bytes of MessagePack that
// decode to a map with a string "t" (the message type) and, if descriptors
// travel with the frame, an unsigned "fds" = how many. Descriptors are sent
// with SCM_RIGHTS on the frame's first bytes; the receiver queues every
// descriptor it is handed in arrival order and gives a frame the next "fds"
// of them, so descriptors always belong to the frame they were sent with.
//
// Limits: a frame is at most kMaxFrameBytes; at most kMaxFdsPerFrame
// descriptors per frame; anything else is a protocol error (the connection
// is then unusable: the caller closes it).
//
// Thread-safety: Send() may be called from many threads at once (frames are
// never interleaved); Receive() from one thread at a time. Close() from any
// thread: a blocked Receive() returns, later Send()s fail.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/unique_fd.h"

namespace arcella::worker {

inline constexpr uint32_t kProtocolVersion = 5;  // docs/WORKER.md "Protocol"
inline constexpr uint32_t kMaxFrameBytes = 64u << 20;
inline constexpr uint32_t kMaxFdsPerFrame = 64;
// Nesting of maps/arrays in a frame body (the MessagePack reader recurses).
inline constexpr uint32_t kMaxFrameDepth = 64;
// Values (and map keys) a frame body of `bytes` bytes may hold.
constexpr uint64_t MaxFrameValues(uint64_t bytes) { return (uint64_t{1} << 20) + bytes / 64; }

// One received frame: its decoded body and the descriptors that came with it
// (owned; closed with the Message unless released).
struct Message {        // NOLINT(bugprone-exception-escape): json members
  nlohmann::json body;  // an object; body["t"] is a string
  std::vector<UniqueFd> fds;
  const std::string& type() const { return body["t"].get_ref<const std::string&>(); }
};

class Channel {
 public:
  // Takes ownership of `fd` (a connected AF_UNIX SOCK_STREAM socket).
  explicit Channel(int fd);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Sends `body` (an object with a string "t"; "fds" is set here when `fds`
  // is not empty) with copies of `fds` (the caller keeps its descriptors).
  // Blocks while the peer's buffer is full; never raises SIGPIPE.
  // Unavailable once the peer is gone or Close() was called; InvalidArgument
  // if the body is not an object with "t", encodes to more than
  // kMaxFrameBytes, or there are more than kMaxFdsPerFrame descriptors.
  Status Send(const nlohmann::json& body, std::span<const int> fds = {});

  // Sends a whole frame built by Append*Frame (messages.h): the 4-byte
  // length, then that many bytes of body; no descriptors. InvalidArgument if
  // the length does not match or is over kMaxFrameBytes; otherwise as Send().
  Status SendFrame(std::span<const uint8_t> frame);

  // Blocks for the next frame. Unavailable when the peer closed the
  // connection (or Close() was called); InvalidArgument naming what is wrong
  // for a malformed frame (length over the cap, undecodable MessagePack, not
  // a map, no string "t", a bad "fds", fewer descriptors than announced, a
  // control message with more than kMaxFdsPerFrame descriptors, more than
  // 4 * kMaxFdsPerFrame descriptors that no frame claims). After an error
  // every later call returns the same error. Descriptors that arrive are
  // close-on-exec; those of a failed or unclaimed frame are closed with the
  // Channel.
  Result<Message> Receive();

  // Shuts the socket down both ways (idempotent).
  void Close();

  int fd() const { return fd_; }

 private:
  // Writes one whole frame (under send_mu_).
  Status Write(std::span<const uint8_t> frame, std::span<const int> fds);
  // Reads until at least `n` bytes are buffered (n <= kMaxFrameBytes + 4).
  Status Fill(size_t n);

  const int fd_;
  std::atomic<bool> closed_{false};
  std::mutex send_mu_;  // serialises whole frames on the socket
  // Receive side: touched only by the one thread in Receive(), no lock.
  std::vector<UniqueFd> pending_fds_;  // received, not yet given to a frame
  std::vector<uint8_t> rbuf_;          // rbuf_[rpos_, rend_) is read, not consumed
  size_t rpos_ = 0;
  size_t rend_ = 0;
  Status broken_;  // once a frame was malformed, every later Receive() fails so too
};

// Decodes one frame body (MessagePack bytes, without the length prefix):
// an object with a string "t" and, optionally, an unsigned "fds" <=
// kMaxFdsPerFrame. InvalidArgument naming the problem otherwise, including a
// body nested deeper than kMaxFrameDepth or holding more than
// MaxFrameValues(size) values (what a hostile peer would use to make the
// decoded tree far larger than the frame). Pure, never throws; the fuzz
// target drives it.
Result<nlohmann::json> DecodeFrameBody(std::span<const uint8_t> bytes);

// Encodes `body` into a whole frame (length prefix + MessagePack).
Result<std::vector<uint8_t>> EncodeFrame(const nlohmann::json& body);

}  // namespace arcella::worker
