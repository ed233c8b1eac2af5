#include "worker/channel.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <exception>

namespace arcella::worker {
namespace {

using nlohmann::json;

constexpr size_t kChunk = 64 << 10;  // bytes asked of the kernel per read
constexpr size_t kMaxPendingFds = size_t{kMaxFdsPerFrame} * 4;
constexpr size_t kSendBufferKeep = 1 << 20;  // larger send buffers are freed after use

// Builds the json tree of a MessagePack body from nlohmann's SAX events,
// refusing bodies nested too deep (the reader recurses) or with more values
// than the frame's size allows, so a hostile frame cannot make a tree much
// larger than itself. No exception leaves it.
class BoundedBuilder {
 public:
  BoundedBuilder(json* root, uint64_t max_values) : root_(root), max_values_(max_values) {}

  bool null() { return Put(json(nullptr)); }
  bool boolean(bool v) { return Put(json(v)); }
  bool number_integer(json::number_integer_t v) { return Put(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return Put(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return Put(json(v)); }
  bool string(std::string& v) { return Put(json(std::move(v))); }
  bool binary(json::binary_t& v) { return Put(json(std::move(v))); }
  bool start_object(size_t) { return Open(json::value_t::object); }
  bool start_array(size_t) { return Open(json::value_t::array); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(std::string& k) {
    if (!Count()) return false;
    slot_ = &(*stack_[depth_ - 1])[std::move(k)];
    return true;
  }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception& e) {
    error_ = std::string("undecodable MessagePack (") + e.what() + ")";
    return false;
  }

  const std::string& error() const { return error_; }

 private:
  bool Count() {
    if (++values_ <= max_values_) return true;
    error_ = "more than " + std::to_string(max_values_) + " values for its size";
    return false;
  }
  json* Place(json&& v) {
    if (!Count()) return nullptr;
    if (depth_ == 0) {
      *root_ = std::move(v);
      return root_;
    }
    json* top = stack_[depth_ - 1];
    if (top->is_array()) {
      top->get_ref<json::array_t&>().push_back(std::move(v));
      return &top->get_ref<json::array_t&>().back();
    }
    *slot_ = std::move(v);
    return slot_;
  }
  bool Put(json&& v) { return Place(std::move(v)) != nullptr; }
  bool Open(json::value_t t) {
    if (depth_ == kMaxFrameDepth) {
      error_ = "nested deeper than " + std::to_string(kMaxFrameDepth) + " levels";
      return false;
    }
    json* v = Place(json(t));
    if (v == nullptr) return false;
    stack_[depth_++] = v;
    return true;
  }
  bool Close() {
    --depth_;
    return true;
  }

  json* root_;
  uint64_t max_values_;
  uint64_t values_ = 0;
  std::array<json*, kMaxFrameDepth> stack_{};
  uint32_t depth_ = 0;
  json* slot_ = nullptr;  // the value of the last key read
  std::string error_;
};

// Appends the frame of `body` (which must be an object with a string "t")
// to `out`: length prefix, then MessagePack.
Status AppendFrame(const json& body, std::vector<uint8_t>* out) {
  if (!body.is_object()) return Status::InvalidArgument("frame: body is not a map");
  auto t = body.find("t");
  if (t == body.end() || !t->is_string())
    return Status::InvalidArgument("frame: body has no string \"t\"");
  size_t start = out->size();
  out->resize(start + 4);
  try {
    json::to_msgpack(body, *out);
  } catch (const std::exception& e) {
    out->resize(start);
    return Status::InvalidArgument(std::string("frame: cannot encode the body: ") + e.what());
  }
  size_t n = out->size() - start - 4;
  if (n > kMaxFrameBytes) {
    out->resize(start);
    return Status::InvalidArgument("frame: body of " + std::to_string(n) +
                                   " bytes is over the cap of " + std::to_string(kMaxFrameBytes));
  }
  uint8_t* p = out->data() + start;
  p[0] = static_cast<uint8_t>(n >> 24);
  p[1] = static_cast<uint8_t>(n >> 16);
  p[2] = static_cast<uint8_t>(n >> 8);
  p[3] = static_cast<uint8_t>(n);
  return Status::Ok();
}

Status SendError(int err, bool closed) {
  if (closed) return Status::Unavailable("worker channel: closed");
  if (err == EPIPE || err == ECONNRESET || err == ENOTCONN || err == ESHUTDOWN)
    return Status::Unavailable(std::string("worker channel: peer is gone (") + strerror(err) + ")");
  return Status::IoError(std::string("worker channel: send: ") + strerror(err));
}

// Waits until `fd` is ready for `events` (a non-blocking socket said EAGAIN).
void WaitFor(int fd, short events) {
  pollfd p{fd, events, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<json> DecodeFrameBody(std::span<const uint8_t> bytes) {
  json body;
  BoundedBuilder builder(&body, MaxFrameValues(bytes.size()));
  bool ok = false;
  try {
    ok = json::sax_parse(bytes.begin(), bytes.end(), &builder, json::input_format_t::msgpack);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("frame: cannot decode the body: ") + e.what());
  }
  if (!ok) return Status::InvalidArgument("frame: " + builder.error());
  if (!body.is_object())
    return Status::InvalidArgument(std::string("frame: body is ") + body.type_name() +
                                   ", not a map");
  auto t = body.find("t");
  if (t == body.end()) return Status::InvalidArgument("frame: body has no \"t\"");
  if (!t->is_string()) return Status::InvalidArgument("frame: \"t\" must be a string");
  auto fds = body.find("fds");
  if (fds != body.end()) {
    if (!fds->is_number_integer() || (!fds->is_number_unsigned() && fds->get<int64_t>() < 0))
      return Status::InvalidArgument("frame: \"fds\" must be a non-negative integer");
    if (fds->get<uint64_t>() > kMaxFdsPerFrame)
      return Status::InvalidArgument("frame: \"fds\" is " + std::to_string(fds->get<uint64_t>()) +
                                     ", over the cap of " + std::to_string(kMaxFdsPerFrame));
  }
  return body;
}

Result<std::vector<uint8_t>> EncodeFrame(const json& body) {
  std::vector<uint8_t> out;
  ARCELLA_RETURN_IF_ERROR(AppendFrame(body, &out));
  return out;
}

Channel::Channel(int fd) : fd_(fd) {}

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

void Channel::Close() {
  if (!closed_.exchange(true)) ::shutdown(fd_, SHUT_RDWR);
}

Status Channel::Send(const json& body, std::span<const int> fds) {
  if (fds.size() > kMaxFdsPerFrame)
    return Status::InvalidArgument("frame: " + std::to_string(fds.size()) +
                                   " descriptors, over the cap of " +
                                   std::to_string(kMaxFdsPerFrame));
  // The frame is built in a buffer of this thread's, reused across frames.
  thread_local std::vector<uint8_t> buf;
  buf.clear();
  Status st;
  bool has_fds_key = body.is_object() && body.contains("fds");
  if (!fds.empty() || has_fds_key) {
    // Rare (apply): "fds" must say exactly how many descriptors travel.
    json copy = body;
    if (fds.empty()) copy.erase("fds");
    else if (copy.is_object()) copy["fds"] = fds.size();
    st = AppendFrame(copy, &buf);
  } else {
    st = AppendFrame(body, &buf);
  }
  if (!st.ok()) return st;
  st = Write(buf, fds);
  if (buf.capacity() > kSendBufferKeep) std::vector<uint8_t>().swap(buf);
  return st;
}

Status Channel::SendFrame(std::span<const uint8_t> frame) {
  if (frame.size() < 4) return Status::InvalidArgument("frame: no length prefix");
  const uint8_t* h = frame.data();
  uint32_t n = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  if (n != frame.size() - 4 || n > kMaxFrameBytes)
    return Status::InvalidArgument("frame: length prefix " + std::to_string(n) + " for a body of " +
                                   std::to_string(frame.size() - 4) + " bytes (cap " +
                                   std::to_string(kMaxFrameBytes) + ")");
  return Write(frame, {});
}

Status Channel::Write(std::span<const uint8_t> buf, std::span<const int> fds) {
  std::lock_guard<std::mutex> lock(send_mu_);
  if (closed_.load()) return SendError(0, true);
  size_t off = 0;
  if (!fds.empty()) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerFrame)];
    iovec iov{const_cast<uint8_t*>(buf.data()), buf.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
    for (;;) {
      ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n >= 0) {
        off = static_cast<size_t>(n);
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WaitFor(fd_, POLLOUT);
        continue;
      }
      if (errno == EBADF) return Status::InvalidArgument("frame: a descriptor to send is not open");
      return SendError(errno, closed_.load());
    }
  }
  while (off < buf.size()) {
    ssize_t n = ::send(fd_, buf.data() + off, buf.size() - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitFor(fd_, POLLOUT);
      continue;
    }
    // Part of a frame went out: the stream cannot carry another one.
    int err = errno;
    bool closed = closed_.load();
    if (off > 0) Close();
    return SendError(err, closed);
  }
  return Status::Ok();
}

Status Channel::Fill(size_t n) {
  if (rend_ - rpos_ >= n) return Status::Ok();
  // Room for the whole frame (and at least a chunk) after the unread bytes.
  size_t want = std::max(n, kChunk);
  if (rbuf_.size() - rpos_ < want) {
    if (rbuf_.size() < want) {
      std::vector<uint8_t> bigger(want);
      std::copy(rbuf_.begin() + static_cast<ptrdiff_t>(rpos_),
                rbuf_.begin() + static_cast<ptrdiff_t>(rend_), bigger.begin());
      rbuf_.swap(bigger);
    } else {
      std::memmove(rbuf_.data(), rbuf_.data() + rpos_, rend_ - rpos_);
    }
    rend_ -= rpos_;
    rpos_ = 0;
  }
  while (rend_ - rpos_ < n) {
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerFrame)];
    iovec iov{rbuf_.data() + rend_, rbuf_.size() - rend_};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t got = ::recvmsg(fd_, &msg, MSG_CMSG_CLOEXEC);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WaitFor(fd_, POLLIN);
        continue;
      }
      if (closed_.load()) return Status::Unavailable("worker channel: closed");
      if (errno == ECONNRESET || errno == ENOTCONN)
        return Status::Unavailable(std::string("worker channel: peer is gone (") + strerror(errno) +
                                   ")");
      return Status::IoError(std::string("worker channel: recvmsg: ") + strerror(errno));
    }
    // Descriptors first: even on a protocol error they are owned (and closed).
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        pending_fds_.emplace_back(fd);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC)
      return Status::InvalidArgument("frame: the peer sent more than " +
                                     std::to_string(kMaxFdsPerFrame) +
                                     " descriptors at once (control data truncated)");
    if (pending_fds_.size() > kMaxPendingFds)
      return Status::InvalidArgument("frame: " + std::to_string(pending_fds_.size()) +
                                     " descriptors received that no frame claims (cap " +
                                     std::to_string(kMaxPendingFds) + ")");
    if (got == 0) {
      if (closed_.load()) return Status::Unavailable("worker channel: closed");
      return Status::Unavailable(
          rend_ == rpos_ ? "worker channel: closed by the peer"
                         : "worker channel: closed by the peer in the middle of a frame");
    }
    rend_ += static_cast<size_t>(got);
  }
  return Status::Ok();
}

Result<Message> Channel::Receive() {
  if (!broken_.ok()) return broken_;
  auto fail = [this](Status st) -> Status {
    // A malformed frame leaves the stream unusable; a closed one stays closed.
    broken_ = st;
    return st;
  };
  if (Status st = Fill(4); !st.ok()) return fail(st);
  const uint8_t* h = rbuf_.data() + rpos_;
  uint32_t n = (uint32_t{h[0]} << 24) | (uint32_t{h[1]} << 16) | (uint32_t{h[2]} << 8) | h[3];
  if (n > kMaxFrameBytes)
    return fail(Status::InvalidArgument("frame: length " + std::to_string(n) +
                                        " is over the cap of " + std::to_string(kMaxFrameBytes)));
  if (Status st = Fill(4 + size_t{n}); !st.ok()) return fail(st);
  auto body = DecodeFrameBody(std::span<const uint8_t>(rbuf_.data() + rpos_ + 4, n));
  rpos_ += 4 + size_t{n};
  if (rpos_ == rend_) rpos_ = rend_ = 0;
  // Do not keep a huge buffer for the small frames that follow a large one.
  if (rbuf_.size() > 16 * kChunk && rend_ - rpos_ <= kChunk) {
    std::vector<uint8_t> small(kChunk);
    std::copy(rbuf_.begin() + static_cast<ptrdiff_t>(rpos_),
              rbuf_.begin() + static_cast<ptrdiff_t>(rend_), small.begin());
    rbuf_.swap(small);
    rend_ -= rpos_;
    rpos_ = 0;
  }
  if (!body.ok()) return fail(body.status());
  Message m;
  m.body = std::move(body).value();
  auto fds = m.body.find("fds");
  if (fds != m.body.end()) {
    size_t want = fds->get<size_t>();
    if (want > pending_fds_.size())
      return fail(Status::InvalidArgument("frame \"" + m.type() + "\": announces " +
                                          std::to_string(want) + " descriptors but " +
                                          std::to_string(pending_fds_.size()) + " arrived"));
    m.fds.reserve(want);
    for (size_t i = 0; i < want; ++i) m.fds.push_back(std::move(pending_fds_[i]));
    pending_fds_.erase(pending_fds_.begin(), pending_fds_.begin() + static_cast<ptrdiff_t>(want));
  }
  return m;
}

}  // namespace arcella::worker
