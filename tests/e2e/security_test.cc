// Who may talk to the daemon: the home is 0700, the socket 0600, and a peer
// of another uid is refused by the daemon's SO_PEERCRED check even when the
// file modes would let it connect.
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

constexpr uid_t kNobody = 65534;

// In a child running as uid/gid 65534: connects to `path` and reports
// "connect: <errno text>" or the first frame's bytes (hex-free: the raw
// MessagePack, decoded by the parent).
std::string TryAsNobody(const std::string& path) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    auto say = [&](const std::string& s) {
      (void)!write(pipefd[1], s.data(), s.size());
      _exit(0);
    };
    if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 || setuid(kNobody) != 0)
      say("setuid failed");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      say(std::string("connect: ") + strerror(errno));
    // Ask for something: the daemon must not answer it.
    auto req = Json::to_msgpack(Json{{"id", 1}, {"method", "status"}});
    uint32_t n = req.size();
    unsigned char hdr[4] = {uint8_t(n >> 24), uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    // The daemon may already have closed: no SIGPIPE.
    (void)!send(fd, hdr, 4, MSG_NOSIGNAL);
    (void)!send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string got = "frame:";
    char buf[4096];
    pollfd p{fd, POLLIN, 0};
    while (poll(&p, 1, 5000) > 0) {
      ssize_t k = read(fd, buf, sizeof buf);
      if (k <= 0) break;
      got.append(buf, size_t(k));
    }
    say(got);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  ssize_t k;
  while ((k = read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, size_t(k));
  close(pipefd[0]);
  int st;
  waitpid(pid, &st, 0);
  return out;
}

TEST(Security, ModesOfHomeAndSocket) {
  Daemon d;
  struct stat st;
  ASSERT_EQ(stat(d.home().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(lstat(d.socket().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, getuid());
  // What the daemon writes is private too.
  ASSERT_EQ(stat((d.home() + "/state.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
  ASSERT_EQ(stat((d.home() + "/config/arcella.toml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);
}

TEST(Security, OtherUidRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to uid 65534";
  Daemon d;
  // With the daemon's modes the other uid cannot even reach the socket.
  std::string r = TryAsNobody(d.socket());
  EXPECT_EQ(r, "connect: Permission denied");

  // Loosen the modes by hand: the daemon's SO_PEERCRED check still refuses,
  // with one permission_denied frame naming the uid, and closes.
  ASSERT_EQ(chmod(d.home().c_str(), 0711), 0);
  ASSERT_EQ(chmod(d.socket().c_str(), 0666), 0);
  r = TryAsNobody(d.socket());
  ASSERT_EQ(chmod(d.home().c_str(), 0700), 0);
  ASSERT_EQ(chmod(d.socket().c_str(), 0600), 0);
  ASSERT_EQ(r.rfind("frame:", 0), 0u) << "child said: " << r;
  std::string bytes = r.substr(6);
  ASSERT_GE(bytes.size(), 5u) << "no error frame";
  uint32_t n = (uint32_t(uint8_t(bytes[0])) << 24) | (uint32_t(uint8_t(bytes[1])) << 16) |
               (uint32_t(uint8_t(bytes[2])) << 8) | uint8_t(bytes[3]);
  ASSERT_EQ(bytes.size(), 4 + size_t(n)) << "exactly one frame, then closed";
  Json e = Json::from_msgpack(bytes.substr(4));
  EXPECT_TRUE(e["id"].is_null()) << e.dump();
  EXPECT_EQ(e["error"]["name"], "permission_denied") << e.dump();
  EXPECT_NE(e["error"]["message"].get<std::string>().find("65534"), std::string::npos) << e.dump();
  EXPECT_FALSE(e.contains("result"));

  // The daemon's own uid is still served.
  EXPECT_EQ(d.Cli("ping").code, 0);
}

}  // namespace
}  // namespace arcella::e2e
