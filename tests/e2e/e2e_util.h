// End-to-end helpers: a real `arcella` daemon process in a temporary home,
// and `arcella-cli` runs with captured output and exit codes.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "alme/client.h"
#include "test_util.h"

namespace arcella::e2e {

inline std::string Bin(const char* env, const char* fallback) {
  const char* p = getenv(env);
  return p ? p : fallback;
}
#ifndef ARCELLA_BIN_PATH
#define ARCELLA_BIN_PATH "arcella"
#endif
#ifndef ARCELLA_CLI_BIN_PATH
#define ARCELLA_CLI_BIN_PATH "arcella-cli"
#endif
inline std::string DaemonBin() { return Bin("ARCELLA_BIN", ARCELLA_BIN_PATH); }
inline std::string CliBin() { return Bin("ARCELLA_CLI_BIN", ARCELLA_CLI_BIN_PATH); }

struct CmdResult {
  int code = -1;
  std::string out;  // stdout and stderr together
};

inline std::string ShellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command line; returns exit code and combined output.
inline CmdResult Sh(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A daemon in its own ARCELLA_HOME. Started in the constructor, SIGTERMed in
// the destructor (or killed with Kill9()).
class Daemon {
 public:
  explicit Daemon(std::string home = test::TempDir("arcella-e2e")) : home_(std::move(home)) {
    Start();
  }
  ~Daemon() { Stop(); }

  const std::string& home() const { return home_; }
  std::string socket() const { return home_ + "/alme"; }
  pid_t pid() const { return pid_; }

  // Waits up to `wait_s` seconds for the daemon to answer (it reconciles,
  // compiling what is not in the AOT cache, before it listens).
  void Start(int wait_s = 15) {
    fflush(nullptr);  // the child must not flush the test's buffered output again
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = home_ + "/daemon.out";
      FILE* f = freopen(log.c_str(), "a", stdout);
      (void)f;
      dup2(fileno(stdout), 2);
      setenv("ARCELLA_HOME", home_.c_str(), 1);
      execl(DaemonBin().c_str(), "arcella", "--home", home_.c_str(), (char*)nullptr);
      _exit(127);
    }
    // Wait for the socket to accept a ping.
    for (int i = 0; i < wait_s * 20; ++i) {
      if (Cli("ping").code == 0) return;
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "daemon exited early:\n" << Sh("cat " + home_ + "/daemon.out").out;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "daemon did not answer ping in " << wait_s << " s";
  }

  // Graceful stop (SIGTERM); returns the exit status.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  void Kill9() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

  // The process was reaped by the caller (e.g. after `arcella-cli shutdown`).
  void Forget() { pid_ = -1; }

  // arcella-cli with this home; `args` is a shell-ready argument string.
  CmdResult Cli(const std::string& args) const {
    return Sh(CliBin() + " --home " + ShellQuote(home_) + " " + args);
  }

 private:
  std::string home_;
  pid_t pid_ = -1;
};

// ---- Additions used by the e2e tests (files, JSON, waiting, clients).

using Json = nlohmann::json;

// build/examples (beside build/fixtures), or $ARCELLA_EXAMPLES.
inline std::string ExamplesDir() {
  if (const char* e = getenv("ARCELLA_EXAMPLES")) return e;
  std::string f = test::FixturePath("");
  while (!f.empty() && f.back() == '/') f.pop_back();
  return f.substr(0, f.rfind('/')) + "/examples";
}

// build/fixtures/http-logger-core: the seed's http-logger as a core-module
// reactor (log_request, count) with the seed's manifests, the module the
// platform tests use (the example examples/http-logger is a component).
inline std::string CoreLoggerDir() { return test::FixturePath("http-logger-core"); }

inline void CopyFile(const std::string& from, const std::string& to) {
  auto r = Sh("cp " + ShellQuote(from) + " " + ShellQuote(to));
  ASSERT_EQ(r.code, 0) << r.out;
}

inline void WriteText(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr) << path;
  fwrite(text.data(), 1, text.size(), f);
  fclose(f);
}

inline bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// Every line of `out` that parses as JSON (for `--json` outputs).
inline std::vector<Json> JsonLines(const std::string& out) {
  std::vector<Json> v;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t nl = out.find('\n', pos);
    if (nl == std::string::npos) nl = out.size();
    std::string line = out.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty()) continue;
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) v.push_back(std::move(j));
  }
  return v;
}

// Polls `pred` every 50 ms for up to `ms`; true once it holds.
template <typename Pred>
bool WaitFor(Pred pred, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// An ALME client on the daemon's socket (fails the test if it cannot connect).
inline std::unique_ptr<alme::Client> Connect(const Daemon& d) {
  auto c = alme::Client::Connect(d.socket());
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : nullptr;
}

// One request through a fresh client; the result, or {"error": {code, message}}.
inline Json Request(const Daemon& d, const std::string& method,
                    const Json& params = Json::object()) {
  auto c = Connect(d);
  if (!c) return Json{{"error", {{"code", -1}, {"message", "connect failed"}}}};
  alme::RemoteError remote{};
  auto r = c->Call(method, params, &remote);
  if (r.ok()) return *r;
  if (remote.code != alme::ErrorCode{})
    return Json{{"error", {{"code", int(remote.code)}, {"message", remote.message}}}};
  return Json{{"error", {{"code", -1}, {"message", r.status().message()}}}};
}

// The desired-and-observed state of every deployment, without pids, times
// and restart counters: what must survive a daemon restart.
inline Json StateOf(const Json& status) {
  Json out = Json::array();
  for (const auto& d : status.value("deployments", Json::array())) {
    Json reps = Json::array();
    for (const auto& r : d.value("replicas_detail", Json::array()))
      reps.push_back({r.value("index", -1), r.value("state", "")});
    out.push_back({{"id", d.value("id", "")},
                   {"replicas", d.value("replicas", 0)},
                   {"desired", d.value("desired", "")},
                   {"state", d.value("state", "")},
                   {"isolation", d.value("isolation", "")},
                   {"replicas_detail", reps}});
  }
  return out;
}

// Components and workers (the component e2e suites share these).

// Copies component fixture `fixture` (tests/fixtures/components, built into
// ARCELLA_COMPONENT_FIXTURES) into a fresh directory as `file`, e.g.
// "prov@0.1.0.wasm" (the name gives its identity), and returns its path.
inline std::string StageComponent(const std::string& fixture, const std::string& file) {
  std::string dir = test::TempDir("comp-" + fixture);
  CopyFile(std::string(ARCELLA_COMPONENT_FIXTURES) + "/" + fixture + ".component.wasm",
           dir + "/" + file);
  return dir + "/" + file;
}

// Deployment `id`'s entry in `status` (an empty object if there is none).
inline Json DeploymentEntry(const Daemon& d, const std::string& id) {
  const Json status = Request(d, "status");
  for (const auto& x : status["deployments"])
    if (x.value("id", "") == id) return x;
  return Json::object();
}

// At least `n` replicas of `id` are ready.
inline bool ReadyAtLeast(const Daemon& d, const std::string& id, int n = 1) {
  return DeploymentEntry(d, id).value("ready", 0) >= n;
}

// The pid of `group`'s worker process (0: none running).
inline int64_t WorkerPidOf(const Daemon& d, const std::string& group) {
  const Json status = Request(d, "status");
  for (const auto& w : status["workers"])
    if (w.value("group", "") == group) return w.value("pid", int64_t{0});
  return 0;
}

// ---- The HTTP ingress (docs/HTTP.md).

// A fresh home whose arcella.toml puts the HTTP ingress on a free loopback
// port (`extra`: more TOML appended).
inline std::string HomeWithHttp(const std::string& extra = "") {
  std::string home = test::TempDir("arcella-e2e-http");
  Sh("mkdir -p " + ShellQuote(home + "/config"));
  std::ofstream(home + "/config/arcella.toml") << "[http]\nlisten = \"127.0.0.1:0\"\n" << extra;
  return home;
}

// The ingress's port (HOME/http.address, written once it listens); 0 if none.
inline int HttpPort(const Daemon& d) {
  std::string addr;
  for (int i = 0; i < 100 && addr.empty(); ++i) {
    std::ifstream in(d.home() + "/http.address");
    std::getline(in, addr);
    if (addr.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  size_t colon = addr.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(addr.c_str() + colon + 1);
}

struct HttpReply {
  int status = 0;  // 0: no response (connection failed or closed)
  std::string raw, body;
  std::string Header(const std::string& lower_name) const {
    size_t end = raw.find("\r\n\r\n");
    std::string head = raw.substr(0, end);
    for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t at = head.find("\r\n" + lower_name + ":");
    if (at == std::string::npos) return "";
    size_t v = at + 3 + lower_name.size();
    size_t eol = raw.find("\r\n", v);
    std::string value = raw.substr(v, eol - v);
    return value.substr(value.find_first_not_of(' '));
  }
};

// A TCP connection to 127.0.0.1:`port` (the caller closes it), or -1.
inline int ConnectLoopback(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends `bytes` to 127.0.0.1:`port` and reads until the peer closes (or
// `timeout_ms`); the first response's status and body (by Content-Length).
inline HttpReply HttpRaw(int port, const std::string& bytes, int timeout_ms = 10'000) {
  HttpReply r;
  int fd = ConnectLoopback(port);
  if (fd < 0) return r;
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  char buf[65536];
  for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;)
    r.raw.append(buf, static_cast<size_t>(n));
  close(fd);
  if (r.raw.rfind("HTTP/1.", 0) == 0 && r.raw.size() > 12) r.status = std::atoi(r.raw.c_str() + 9);
  size_t end = r.raw.find("\r\n\r\n");
  if (end != std::string::npos) {
    std::string len = r.Header("content-length");
    r.body = r.raw.substr(end + 4, len.empty() ? std::string::npos : std::stoul(len));
  }
  return r;
}

// One request (Connection: close) through `d`'s ingress; `timeout_ms` bounds
// the wait for the answer (the multi-MB bodies take long under sanitizers).
inline HttpReply HttpGet(const Daemon& d, const std::string& path,
                         const std::string& method = "GET", const std::string& body = "",
                         int timeout_ms = 10'000) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST" || method == "PUT")
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return HttpRaw(HttpPort(d), req + "\r\n" + body, timeout_ms);
}

}  // namespace arcella::e2e
