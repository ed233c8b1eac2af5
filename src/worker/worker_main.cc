// arcella-worker: a sandboxed process that runs the worker-isolated replicas
// of one group for the daemon (docs/WORKER.md). Started only by the daemon
// (WorkerHost), never by users:
//
//   arcella-worker --socket-fd 3 --parent PID [--group NAME] [--uid U --gid G]
//                  [--ro-dir-fd N]... [--rw-dir-fd N]... [--memory-cap BYTES]
//                  [--max-calls N] [--ring-fd N] [--link-ring-fd N]
//
// --ring-fd: the daemon's call ring (call_ring.h), a sealed memfd mapped
// after the sandbox is entered; a ring that does not map is logged and not
// used (the hello says so and every call comes on the socket).
// --link-ring-fd: likewise the link ring, where the worker posts its
// replicas' calls through links for the daemon to answer (else the socket).
// The process enters its sandbox (sandbox.h) before it reads a single
// message, then serves the protocol on the socket until the daemon closes it.
//
// Test-only: `--selftest-escape` enters the same sandbox, then tries execve
// and socket creation and says on stderr what happened; exit 0 if both were
// refused, 1 otherwise. `--selftest-ring-garbage MODE` makes the worker
// write garbage into the call ring when a call's export is "garbage"
// (worker_server.h), for the daemon's hostile-worker tests.
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "worker/call_ring.h"
#include "worker/channel.h"
#include "worker/sandbox.h"
#include "worker/worker_server.h"

namespace {

bool ParseNumber(const char* s, uint64_t* out) {
  if (s == nullptr || *s == '\0') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = v;
  return true;
}

// The ring `name` passed as `fd` (-1: none), mapped; null (logged) if it
// does not map: then `what` use the socket.
std::unique_ptr<arcella::worker::CallRing> MapRing(int fd, const char* name, const char* what) {
  if (fd < 0) return nullptr;
  auto mapped = arcella::worker::CallRing::Map(fd);
  if (mapped.ok()) return std::move(*mapped);
  fprintf(stderr, "arcella-worker: the %s does not map (%s); %s use the socket\n", name,
          mapped.status().ToString().c_str(), what);
  return nullptr;
}

int Usage(const std::string& why) {
  fprintf(stderr,
          "arcella-worker: %s\n"
          "usage: arcella-worker --socket-fd N --parent PID [--group NAME] [--uid U] [--gid G] "
          "[--ro-dir-fd N]... [--rw-dir-fd N]... [--memory-cap BYTES] [--max-calls N] "
          "[--ring-fd N] [--no-seccomp] "
          "[--no-landlock] [--no-netns] [--selftest-escape] [--selftest-ring-garbage MODE]\n"
          "(started by the arcella daemon; not a user command)\n",
          why.c_str());
  return 2;
}

int SelftestEscape() {
  char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
  char* const envp[] = {nullptr};
  int rc = execve("/bin/true", argv, envp);
  int exec_errno = errno;
  fprintf(stderr, "arcella-worker: selftest: execve: %s\n",
          rc == 0 ? "allowed" : strerror(exec_errno));
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int sock_errno = errno;
  fprintf(stderr, "arcella-worker: selftest: socket: %s\n",
          s >= 0 ? "allowed" : strerror(sock_errno));
  if (s >= 0) close(s);
  return (rc != 0 && s < 0) ? 0 : 1;
}

}  // namespace

namespace {

int Main(int argc, char** argv) {
  using arcella::worker::SandboxOptions;
  SandboxOptions sandbox;
  arcella::worker::WorkerServerOptions server;
  int socket_fd = -1;
  int ring_fd = -1;
  int link_ring_fd = -1;
  bool selftest = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](uint64_t* out) {
      if (i + 1 >= argc || !ParseNumber(argv[i + 1], out)) return false;
      ++i;
      return true;
    };
    uint64_t v = 0;
    if (a == "--socket-fd" && value(&v) && v <= 1 << 20) {
      socket_fd = static_cast<int>(v);
    } else if (a == "--parent" && value(&v) && v > 0 && v < (1u << 31)) {
      sandbox.expected_parent = static_cast<pid_t>(v);
    } else if (a == "--group" && i + 1 < argc) {
      ++i;  // the group served: shown by ps, otherwise unused
    } else if (a == "--uid" && value(&v) && v < (1ull << 32) - 1) {
      sandbox.uid = static_cast<uid_t>(v);
    } else if (a == "--gid" && value(&v) && v < (1ull << 32) - 1) {
      sandbox.gid = static_cast<gid_t>(v);
    } else if (a == "--ro-dir-fd" && value(&v) && v >= 3 && v <= 1 << 20) {
      sandbox.ro_dir_fds.push_back(static_cast<int>(v));
    } else if (a == "--rw-dir-fd" && value(&v) && v >= 3 && v <= 1 << 20) {
      sandbox.rw_dir_fds.push_back(static_cast<int>(v));
    } else if (a == "--memory-cap" && value(&v)) {
      server.memory_cap_bytes = v;
    } else if (a == "--max-calls" && value(&v) && v >= 1 && v <= 4096) {
      server.max_call_threads = static_cast<size_t>(v);
    } else if (a == "--ring-fd" && value(&v) && v >= 3 && v <= 1 << 20) {
      ring_fd = static_cast<int>(v);
    } else if (a == "--link-ring-fd" && value(&v) && v >= 3 && v <= 1 << 20) {
      link_ring_fd = static_cast<int>(v);
    } else if (a == "--selftest-ring-garbage" && i + 1 < argc) {
      server.ring_garbage = argv[++i];
    } else if (a == "--no-seccomp") {
      sandbox.seccomp = false;
    } else if (a == "--no-landlock") {
      sandbox.landlock = false;
    } else if (a == "--no-netns") {
      sandbox.new_netns = false;
    } else if (a == "--selftest-escape") {
      selftest = true;
    } else {
      return Usage("bad argument \"" + a + "\"" +
                   (i + 1 < argc ? " \"" + std::string(argv[i + 1]) + "\"" : ""));
    }
  }
  if (socket_fd < 3 && !selftest) return Usage("--socket-fd N (N >= 3) is required");
  if (socket_fd >= 0) sandbox.keep_fds.push_back(socket_fd);
  if (ring_fd >= 0) sandbox.keep_fds.push_back(ring_fd);
  if (link_ring_fd >= 0) sandbox.keep_fds.push_back(link_ring_fd);
  auto report = arcella::worker::EnterSandbox(sandbox);
  if (!report.ok()) {
    fprintf(stderr, "arcella-worker: sandbox: %s\n", report.status().ToString().c_str());
    return 3;
  }
  for (const auto& note : report->notes)
    fprintf(stderr, "arcella-worker: sandbox: %s\n", note.c_str());
  if (selftest) {
    // _exit like the server: exit handlers (a sanitizer's leak check) would
    // make system calls the sandbox refuses.
    int code = SelftestEscape();
    fflush(stderr);
    _exit(code);
  }
  server.sandbox = arcella::worker::DescribeSandbox(*report);
  auto ring = MapRing(ring_fd, "call ring", "calls");
  auto link_ring = MapRing(link_ring_fd, "link ring", "link calls");
  arcella::worker::Channel channel(socket_fd);
  int code = arcella::worker::RunWorkerServer(&channel, std::move(ring), server,
                                              std::move(link_ring));
  fflush(stderr);
  _exit(code);  // replicas' threads are gone or abandoned with the process
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "arcella-worker: %s\n", e.what());
    return 2;
  }
}
