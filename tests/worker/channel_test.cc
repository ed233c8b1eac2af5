// The worker channel over real socketpairs: frames of every size, descriptor
// passing (checked by the inode of what arrives), concurrent senders, peer
// loss, Close() from another thread, and malformed frames written raw.
#include "worker/channel.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace arcella::worker {
namespace {

using nlohmann::json;

struct Pair {
  std::unique_ptr<Channel> a, b;
};

Pair MakePair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {std::make_unique<Channel>(sv[0]), std::make_unique<Channel>(sv[1])};
}

// A socketpair with a Channel on one end and the raw socket on the other,
// for writing frames a Channel would never send.
struct RawPair {
  std::unique_ptr<Channel> ch;
  UniqueFd raw;
};

RawPair MakeRawPair() {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  return {std::make_unique<Channel>(sv[0]), UniqueFd(sv[1])};
}

// Writes `bytes` to `fd` until done or the peer goes (no SIGPIPE).
void WriteAll(int fd, const std::vector<uint8_t>& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::vector<uint8_t> RawFrame(const std::vector<uint8_t>& body) {
  std::vector<uint8_t> f(4 + body.size());
  for (int i = 0; i < 4; ++i) f[i] = static_cast<uint8_t>(body.size() >> (24 - 8 * i));
  std::copy(body.begin(), body.end(), f.begin() + 4);
  return f;
}

// Sends `bytes` with `fds` attached by SCM_RIGHTS, as a hostile peer could.
void SendRawWithFds(int sock, const std::vector<uint8_t>& bytes, const std::vector<int>& fds) {
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
  std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  ASSERT_EQ(::sendmsg(sock, &msg, 0), static_cast<ssize_t>(bytes.size())) << strerror(errno);
}

ino_t Inode(int fd) {
  struct stat st {};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

size_t OpenFds() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n;
}

// A pipe whose write end got `text`; the read end is what travels.
struct TextPipe {
  UniqueFd r, w;
  explicit TextPipe(const std::string& text) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC), 0);
    r.reset(p[0]);
    w.reset(p[1]);
    EXPECT_EQ(::write(w.get(), text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
};

std::string ReadSome(int fd) {
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(Channel, SmallFrameRoundTrip) {
  Pair p = MakePair();
  json body = {{"t", "ping"}, {"id", 7}, {"s", "héllo"}, {"neg", -3}, {"f", 1.5}};
  ASSERT_TRUE(p.a->Send(body).ok());
  auto m = p.b->Receive();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->body, body);
  EXPECT_EQ(m->type(), "ping");
  EXPECT_TRUE(m->fds.empty());
  // And back the other way.
  ASSERT_TRUE(p.b->Send({{"t", "reply"}, {"id", 7}}).ok());
  auto r = p.a->Receive();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body["id"], 7);
}

TEST(Channel, LargeFrameRoundTripThenSmallOnes) {
  Pair p = MakePair();
  std::vector<uint8_t> blob(60u << 20);
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  json big = {{"t", "apply"}, {"meta", json::binary(blob)}};
  Status sent;
  std::thread writer([&] {
    sent = p.a->Send(big);
    if (sent.ok()) sent = p.a->Send({{"t", "after"}, {"n", 1}});
  });
  auto m = p.b->Receive();
  auto after = p.b->Receive();
  writer.join();
  ASSERT_TRUE(sent.ok()) << sent.ToString();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_TRUE(m->body["meta"].is_binary());
  EXPECT_TRUE(static_cast<const std::vector<uint8_t>&>(m->body["meta"].get_binary()) == blob);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->type(), "after");
}

TEST(Channel, FrameOverTheCapIsRefusedBySend) {
  Pair p = MakePair();
  json big = {{"t", "x"}, {"b", json::binary(std::vector<uint8_t>(kMaxFrameBytes))}};
  Status st = p.a->Send(big);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("over the cap"), std::string::npos) << st.message();
  // Nothing went out: the next frame is the first the peer sees.
  ASSERT_TRUE(p.a->Send({{"t", "ok"}}).ok());
  auto m = p.b->Receive();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->type(), "ok");
}

TEST(Channel, SendRefusesBadBodiesAndTooManyDescriptors) {
  Pair p = MakePair();
  Status st = p.a->Send(json::array({1, 2}));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  st = p.a->Send({{"id", 1}});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("\"t\""), std::string::npos) << st.message();
  std::vector<int> many(kMaxFdsPerFrame + 1, 0);
  st = p.a->Send({{"t", "x"}}, many);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("descriptors"), std::string::npos) << st.message();
}

TEST(Channel, DescriptorsArriveWithTheirFrame) {
  Pair p = MakePair();
  TextPipe one("one"), two("two"), three("three");
  // Written back to back before the reader reads: the receiver gets them in
  // few reads, with descriptors of later frames already queued.
  ASSERT_TRUE(p.a->Send({{"t", "a"}}).ok());
  int b_fds[] = {one.r.get(), two.r.get()};
  ASSERT_TRUE(p.a->Send({{"t", "b"}}, b_fds).ok());
  ASSERT_TRUE(p.a->Send({{"t", "c"}}).ok());
  int d_fds[] = {three.r.get()};
  ASSERT_TRUE(p.a->Send({{"t", "d"}}, d_fds).ok());
  int e_fds[] = {one.r.get()};
  ASSERT_TRUE(p.a->Send({{"t", "e"}, {"fds", 99}}, e_fds).ok());  // "fds" is set by Send
  ASSERT_TRUE(p.a->Send({{"t", "f"}}).ok());

  std::map<std::string, std::vector<UniqueFd>> got;
  for (int i = 0; i < 6; ++i) {
    auto m = p.b->Receive();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    got[m->type()] = std::move(m->fds);
  }
  EXPECT_TRUE(got["a"].empty());
  ASSERT_EQ(got["b"].size(), 2u);
  EXPECT_EQ(Inode(got["b"][0].get()), Inode(one.r.get()));
  EXPECT_EQ(Inode(got["b"][1].get()), Inode(two.r.get()));
  EXPECT_EQ(ReadSome(got["b"][1].get()), "two");
  EXPECT_TRUE(got["c"].empty());
  ASSERT_EQ(got["d"].size(), 1u);
  EXPECT_EQ(ReadSome(got["d"][0].get()), "three");
  ASSERT_EQ(got["e"].size(), 1u);
  EXPECT_EQ(ReadSome(got["e"][0].get()), "one");
  EXPECT_TRUE(got["f"].empty());
  // Received descriptors are close-on-exec (MSG_CMSG_CLOEXEC).
  EXPECT_TRUE(::fcntl(got["d"][0].get(), F_GETFD) & FD_CLOEXEC);
}

TEST(Channel, ConcurrentSendersNeverInterleaveFrames) {
  Pair p = MakePair();
  constexpr int kThreads = 8;
  constexpr int kFrames = 150;
  std::vector<std::unique_ptr<TextPipe>> pipes;
  std::vector<ino_t> inodes;
  for (int t = 0; t < kThreads; ++t) {
    pipes.push_back(std::make_unique<TextPipe>(""));
    inodes.push_back(Inode(pipes.back()->r.get()));
  }
  std::vector<Status> results(kThreads);
  std::vector<std::thread> senders;
  for (int t = 0; t < kThreads; ++t) {
    senders.emplace_back([&, t] {
      int fd = pipes[t]->r.get();
      for (int i = 0; i < kFrames; ++i) {
        // Sizes from a few bytes to 200 KiB, so that sends are partial.
        size_t size = (static_cast<size_t>(i) * 7919u * (t + 1)) % (200u << 10);
        json body = {{"t", "x"}, {"th", t}, {"seq", i}, {"pad", std::string(size, 'a' + t)}};
        Status st = i % 5 == 0 ? p.a->Send(body, std::span<const int>(&fd, 1)) : p.a->Send(body);
        if (!st.ok()) {
          results[t] = st;
          return;
        }
      }
    });
  }
  std::vector<int> next(kThreads, 0);
  for (int n = 0; n < kThreads * kFrames; ++n) {
    auto m = p.b->Receive();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    int t = m->body["th"].get<int>();
    int seq = m->body["seq"].get<int>();
    ASSERT_TRUE(t >= 0 && t < kThreads);
    EXPECT_EQ(seq, next[t]);
    next[t] = seq + 1;
    const std::string& pad = m->body["pad"].get_ref<const std::string&>();
    EXPECT_EQ(pad.find_first_not_of(static_cast<char>('a' + t)), std::string::npos);
    if (seq % 5 == 0) {
      ASSERT_EQ(m->fds.size(), 1u) << "frame " << t << "/" << seq;
      EXPECT_EQ(Inode(m->fds[0].get()), inodes[t]) << "frame " << t << "/" << seq;
    } else {
      EXPECT_TRUE(m->fds.empty()) << "frame " << t << "/" << seq;
    }
  }
  for (auto& s : senders) s.join();
  for (const Status& st : results) EXPECT_TRUE(st.ok()) << st.ToString();
}

TEST(Channel, PeerCloseIsUnavailable) {
  Pair p = MakePair();
  ASSERT_TRUE(p.a->Send({{"t", "last"}}).ok());
  p.a.reset();
  auto m = p.b->Receive();
  ASSERT_TRUE(m.ok());  // what was sent before the close still arrives
  EXPECT_EQ(m->type(), "last");
  auto gone = p.b->Receive();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kUnavailable) << gone.status().ToString();
  Status st = p.b->Send({{"t", "x"}});
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
}

TEST(Channel, PeerCloseInTheMiddleOfAFrameIsUnavailable) {
  RawPair p = MakeRawPair();
  WriteAll(p.raw.get(), {0, 0, 0, 10, 0x81});
  p.raw.reset();
  auto m = p.ch->Receive();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(m.status().message().find("middle of a frame"), std::string::npos);
}

TEST(Channel, CloseFromAnotherThreadUnblocksReceive) {
  Pair p = MakePair();
  Result<Message> got = Status::Internal("not run");
  std::thread reader([&] { got = p.b->Receive(); });
  p.b->Close();
  reader.join();
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kUnavailable) << got.status().ToString();
  p.b->Close();  // idempotent
  EXPECT_EQ(p.b->Send({{"t", "x"}}).code(), StatusCode::kUnavailable);
  // The peer sees the connection end.
  auto peer = p.a->Receive();
  EXPECT_EQ(peer.status().code(), StatusCode::kUnavailable);
}

// One malformed frame written raw; the Channel must refuse it naming `what`.
void ExpectFrameRefused(const std::vector<uint8_t>& bytes, const std::string& what) {
  RawPair p = MakeRawPair();
  // Frames larger than the socket's buffer need a reader while written.
  std::thread writer([&] { WriteAll(p.raw.get(), bytes); });
  auto m = p.ch->Receive();
  p.ch->Close();  // a writer still blocked sees the connection end
  writer.join();
  ASSERT_FALSE(m.ok()) << "accepted: " << what;
  EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << m.status().ToString();
  EXPECT_NE(m.status().message().find(what), std::string::npos) << m.status().message();
  // The stream is unusable afterwards: the same error again.
  auto again = p.ch->Receive();
  EXPECT_EQ(again.status().message(), m.status().message());
}

std::vector<uint8_t> Msgpack(const json& j) { return json::to_msgpack(j); }

TEST(Channel, MalformedFramesAreRefusedNamingTheProblem) {
  ExpectFrameRefused({0x04, 0x00, 0x00, 0x01}, "length 67108865 is over the cap");
  ExpectFrameRefused(RawFrame({0xc1}), "undecodable MessagePack");
  ExpectFrameRefused(RawFrame({0x82, 0xa1, 't'}), "undecodable MessagePack");  // truncated map
  ExpectFrameRefused(RawFrame(Msgpack(json::array({1, 2}))), "body is array, not a map");
  ExpectFrameRefused(RawFrame(Msgpack({{"id", 1}})), "body has no \"t\"");
  ExpectFrameRefused(RawFrame(Msgpack({{"t", 5}})), "\"t\" must be a string");
  ExpectFrameRefused(RawFrame(Msgpack({{"t", "x"}, {"fds", 2}})),
                     "frame \"x\": announces 2 descriptors but 0 arrived");
  ExpectFrameRefused(RawFrame(Msgpack({{"t", "x"}, {"fds", 65}})),
                     "\"fds\" is 65, over the cap of 64");
  ExpectFrameRefused(RawFrame(Msgpack({{"t", "x"}, {"fds", -1}})),
                     "\"fds\" must be a non-negative integer");
  // Trailing bytes after the map.
  std::vector<uint8_t> trailing = Msgpack({{"t", "x"}});
  trailing.push_back(0xc0);
  ExpectFrameRefused(RawFrame(trailing), "undecodable MessagePack");
  // 10,000 nested arrays would recurse in the reader.
  std::vector<uint8_t> deep = {0x81, 0xa1, 't'};
  deep.insert(deep.end(), 10000, 0x91);
  deep.push_back(0xc0);
  ExpectFrameRefused(RawFrame(deep), "nested deeper than 64 levels");
  // 4 MiB of nils in one array: far more values than such a frame may hold.
  std::vector<uint8_t> wide = {0x82, 0xa1, 't', 0xa1, 'x', 0xa1, 'a', 0xdd, 0x00, 0x40, 0x00, 0x00};
  wide.insert(wide.end(), 4u << 20, 0xc0);
  ExpectFrameRefused(RawFrame(wide), "values for its size");
}

TEST(Channel, TooManyDescriptorsAtOnceIsRefusedAndClosed) {
  size_t before = OpenFds();
  {
    RawPair p = MakeRawPair();
    TextPipe pipe("x");
    std::vector<int> fds(kMaxFdsPerFrame + 10, pipe.r.get());
    SendRawWithFds(p.raw.get(), RawFrame(Msgpack({{"t", "x"}, {"fds", 0}})), fds);
    auto m = p.ch->Receive();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find("control data truncated"), std::string::npos)
        << m.status().message();
  }
  EXPECT_EQ(OpenFds(), before);
}

TEST(Channel, UnclaimedDescriptorsAreBounded) {
  size_t before = OpenFds();
  {
    RawPair p = MakeRawPair();
    TextPipe pipe("x");
    std::vector<int> fds(kMaxFdsPerFrame, pipe.r.get());
    std::thread writer([&] {
      for (int i = 0; i < 6; ++i) SendRawWithFds(p.raw.get(), RawFrame(Msgpack({{"t", "x"}})), fds);
    });
    Status st;
    for (int i = 0; i < 6 && st.ok(); ++i) st = p.ch->Receive().status();
    writer.join();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(st.message().find("descriptors received that no frame claims"), std::string::npos)
        << st.message();
  }
  EXPECT_EQ(OpenFds(), before);
}

TEST(Channel, DroppedMessagesAndChannelsCloseTheirDescriptors) {
  size_t before = OpenFds();
  {
    Pair p = MakePair();
    TextPipe pipe("x");
    int fds[] = {pipe.r.get(), pipe.w.get(), pipe.r.get()};
    ASSERT_TRUE(p.a->Send({{"t", "with"}}, fds).ok());
    ASSERT_TRUE(p.a->Send({{"t", "with"}}, fds).ok());
    {
      auto m = p.b->Receive();
      ASSERT_TRUE(m.ok());
      ASSERT_EQ(m->fds.size(), 3u);
    }  // the Message goes: its descriptors close
    // The second frame's descriptors may be queued in the channel, unread:
    // the channel closes them when it goes.
  }
  EXPECT_EQ(OpenFds(), before);
}

TEST(Channel, EncodeFrameAndDecodeFrameBodyAgree) {
  json body = {{"t", "call"}, {"id", 3}, {"args", {"1", "2"}}};
  auto frame = EncodeFrame(body);
  ASSERT_TRUE(frame.ok());
  ASSERT_GT(frame->size(), 4u);
  uint32_t n = (uint32_t{(*frame)[0]} << 24) | (uint32_t{(*frame)[1]} << 16) |
               (uint32_t{(*frame)[2]} << 8) | (*frame)[3];
  EXPECT_EQ(n, frame->size() - 4);
  auto back = DecodeFrameBody(std::span<const uint8_t>(frame->data() + 4, n));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, body);
  EXPECT_FALSE(EncodeFrame(json(5)).ok());
}

}  // namespace
}  // namespace arcella::worker
