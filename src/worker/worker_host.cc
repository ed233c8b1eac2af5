#include "worker/worker_host.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <thread>
#include <utility>

#include "common/open_dir.h"
#include "component/export_names.h"
#include "component/wave.h"
#include "platform/portable_component.h"
#include "worker/call_ring.h"
#include "worker/channel.h"
#include "worker/messages.h"
#include "worker/pool.h"

namespace arcella::worker {

using platform::CallResult;
using platform::DeploymentPlan;
using platform::DeploymentStatus;
using Clock = std::chrono::steady_clock;

namespace {

std::string Errno(int e) { return strerror(e); }

// "killed by signal 9 (SIGKILL)" / "exited with code 3".
std::string ExitText(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (abbrev ? " (SIG" + std::string(abbrev) + ")" : std::string());
  }
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  return "ended (wait status " + std::to_string(status) + ")";
}

// A granted directory opened for a worker: the resolved path, refusing any
// symlink in it (the grant was checked on the path as it was then).
Result<UniqueFd> OpenGrant(const std::string& path) {
  UniqueFd fd = OpenDirNoSymlinks(path, O_PATH);
  if (!fd) {
    int e = errno;
    return Status::FailedPrecondition("granted directory " + path + " cannot be opened: " +
                                      (e == ELOOP ? "a component is a symlink" : Errno(e)));
  }
  return fd;
}

// Whether a process with ids uid/gid (no supplementary groups, no
// capabilities: a worker after its drop) may list and open files in the
// directory `fd` (and write there unless read-only). Unix permissions
// still apply beneath Landlock, so a grant the worker cannot use is refused
// here, with a message, rather than failing inside the guest.
Status CheckAccess(int fd, const std::string& path, bool read_only, uid_t uid, gid_t gid) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::IoError("stat " + path + ": " + Errno(errno));
  unsigned bits = st.st_uid == uid   ? (st.st_mode >> 6) & 7
                  : st.st_gid == gid ? (st.st_mode >> 3) & 7
                                     : st.st_mode & 7;
  unsigned need = read_only ? 5u : 7u;  // r-x / rwx
  if ((bits & need) == need) return Status::Ok();
  char mode[8];
  snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return Status::FailedPrecondition(
      "granted directory " + path + " is not " + (read_only ? "readable" : "writable") +
      " by the worker's uid " + std::to_string(uid) + " (owner uid " + std::to_string(st.st_uid) +
      ", mode " + mode + "): make it accessible to that uid, or set [worker] uid in arcella.toml");
}

// The daemon's own cgroup directory for the memory controller: cgroup v1
// ("N:memory:/path") or v2 ("0::/path" where the unified hierarchy has a
// memory controller). "" if there is none.
std::string OwnMemoryCgroup(bool* v2) {
  std::ifstream in("/proc/self/cgroup");
  std::string line, unified;
  while (std::getline(in, line)) {
    auto a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (ctrls == "memory" || ctrls.find("memory,") == 0 ||
        ctrls.find(",memory") != std::string::npos) {
      *v2 = false;
      return "/sys/fs/cgroup/memory" + (path == "/" ? std::string() : path);
    }
    if (ctrls.empty() && line.compare(0, 2, "0:") == 0) unified = path;
  }
  std::ifstream ctl("/sys/fs/cgroup" + (unified == "/" ? std::string() : unified) +
                    "/cgroup.subtree_control");
  std::string controllers;
  std::getline(ctl, controllers);
  if (!unified.empty() && controllers.find("memory") != std::string::npos) {
    *v2 = true;
    return "/sys/fs/cgroup" + (unified == "/" ? std::string() : unified);
  }
  return "";
}

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

// Puts `pid` in a memory cgroup of its own, limited to `limit` bytes, below
// the daemon's cgroup. Returns its directory, or "" with `*why` set where the
// daemon cannot create one (no memory controller, no permission).
std::string JoinMemoryCgroup(pid_t pid, const std::string& group, uint64_t limit,
                             std::string* why) {
  bool v2 = false;
  std::string base = OwnMemoryCgroup(&v2);
  if (base.empty()) {
    *why = "no memory cgroup controller is available to the daemon";
    return "";
  }
  std::string name = "arcella-worker-";
  for (char c : group) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '-';
  name += "-" + std::to_string(pid);
  std::string dir = base + "/" + name;
  if (mkdir(dir.c_str(), 0755) != 0) {
    *why = "cannot create " + dir + ": " + Errno(errno);
    return "";
  }
  const std::string value = std::to_string(limit);
  bool ok = v2 ? WriteFile(dir + "/memory.max", value) && WriteFile(dir + "/memory.swap.max", "0")
               : WriteFile(dir + "/memory.limit_in_bytes", value);
  if (ok) ok = WriteFile(dir + "/cgroup.procs", std::to_string(pid));
  if (!ok) {
    *why = "cannot set up " + dir + ": " + Errno(errno);
    rmdir(dir.c_str());
    return "";
  }
  return dir;
}

uint64_t RssOf(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in("/proc/" + std::to_string(pid) + "/statm");
  uint64_t size = 0, resident = 0;
  if (!(in >> size >> resident)) return 0;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// One request waiting for its reply. `done` is set once, under `mu`, with
// `body` or `error`; from then on nobody writes them (the waiter reads them
// without the lock).
struct Pending {  // NOLINT(bugprone-exception-escape): std::condition_variable
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  nlohmann::json body;
  Status error;
};

using Grants = std::map<std::string, bool>;  // host path -> read-only

constexpr size_t kMaxErrLine = 4096;  // bytes of one stderr line of a worker

// Waits for a worker's hello up to `timeout`, however the worker sends its
// bytes (none, part of a frame, a frame trickled out slowly): past it the
// channel is closed, which ends the Receive().
Result<Message> ReceiveHello(Channel& ch, std::chrono::milliseconds timeout, bool* timed_out) {
  std::mutex mu;
  std::condition_variable cv;
  bool got = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return got; })) {
      *timed_out = true;
      ch.Close();
    }
  });
  auto m = ch.Receive();
  {
    std::lock_guard<std::mutex> lock(mu);
    got = true;
  }
  cv.notify_all();
  watchdog.join();
  return m;
}

}  // namespace

struct WorkerHost::Worker {
  pid_t pid = 0;
  UniqueFd pidfd;
  std::unique_ptr<Channel> ch;
  std::unique_ptr<RingClient> ring;  // null: calls on the socket only
  // The link ring's daemon end (null: link calls on the socket only); its
  // threads (LinkRingLoop) run until it is stopped (WorkerDied, Shutdown).
  std::unique_ptr<RingServer> link_ring;
  std::atomic<uint32_t> link_ring_threads{0};
  std::thread err_reader;
  Clock::time_point started;
  std::string sandbox;
  Grants grants;
  std::string group;
  std::atomic<bool> stopping{false};  // a planned stop: no restart

  std::mutex mu;
  std::condition_variable cv;  // dead
  std::map<uint64_t, std::shared_ptr<Pending>> pending;
  uint64_t next_id = 1;
  bool dead = false;
  std::string exit_text;
  std::string err_tail;  // the last stderr bytes (start failures)
  std::string fault;     // how it broke the protocol ("" if it did not)
  std::string cgroup;    // its memory cgroup directory ("" if none)
  uint64_t epoch = 0;    // this incarnation (ReplicaPin::epoch), never 0
  // The worker's handle scopes -> the daemon's (LinkHandles), at most
  // kMaxScopes.
  std::map<uint64_t, uint64_t> link_scopes;
  // Per deployment, the plan of its last successful apply (g.op_mu held).
  // The worker keeps the code and the directories of every plan it runs, so
  // an apply needs to send only what no other plan brought (HoldsCode,
  // HoldsDir); a failed apply forgets its deployment's entry, which at worst
  // sends something again.
  std::map<std::string, DeploymentPlan> applied;

  bool HoldsCode(const platform::CodeRef& ref) const {
    for (const auto& [id, plan] : applied)
      if (plan.code == ref) return true;
    return false;
  }
  // A descriptor for `path`, checked for at least the access `read_only` needs.
  bool HoldsDir(const std::string& path, bool read_only) const {
    for (const auto& [id, plan] : applied)
      for (const auto& d : plan.dirs)
        if (d.host_path == path && (read_only || !d.read_only)) return true;
    return false;
  }

  std::string Name() const {
    return "worker of group " + group + " (pid " + std::to_string(pid) + ")";
  }

  void Kill() {
    std::lock_guard<std::mutex> lock(mu);
    if (dead || !pidfd) return;
    syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  }

  // Registers a request; nullptr with `*err` set if the worker is gone.
  std::shared_ptr<Pending> Begin(uint64_t* id, Status* err) {
    std::lock_guard<std::mutex> lock(mu);
    if (dead) {
      *err = Status::Unavailable(Name() + " " + exit_text);
      return nullptr;
    }
    *id = next_id++;
    auto p = std::make_shared<Pending>();
    pending[*id] = p;
    return p;
  }
  void End(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu);
    pending.erase(id);
  }

  // How Wait() waits for one request.
  struct WaitOptions {
    std::string_view what;               // for the log: "apply", or a call's export
    std::string_view dep;                // a call's deployment
    std::chrono::milliseconds limit{0};  // past it (0: no limit) the worker is ended
    // Steady-clock ticks when the request was cancelled (0: not); `grace`
    // past it the worker is ended.
    const std::atomic<int64_t>* cancelled_at = nullptr;
    std::chrono::milliseconds grace{0};
    int slot = -1;    // the ring slot the reply comes in (-1: the socket)
    uint64_t id = 0;  // the request's id (a ring reply must carry it)
  };

  // Waits until `p` is done: its reply arrived (from the reader, or read
  // here from the ring slot) or the worker died. A request unanswered past
  // its limit, or `grace` past its cancel, ends the worker (a worker that
  // cannot answer in time never will), which then fails it Unavailable; so
  // does a ring slot holding what the worker must not write there.
  void Wait(Pending& p, const WaitOptions& o) {
    constexpr std::chrono::milliseconds kTick{50};
    const auto began = Clock::now();
    bool killed = false;
    int slot = o.slot;
    thread_local std::vector<uint8_t> bytes;
    for (;;) {
      if (slot >= 0) {
        std::string why;
        auto r = ring->Wait(slot, kTick, &bytes, &why);
        if (r == RingClient::Poll::kReply) {
          auto body = DecodeRingReply(bytes, o.id, &why);
          if (body) {
            std::lock_guard<std::mutex> lock(p.mu);
            if (!p.done) {
              p.body = std::move(*body);
              p.done = true;
            }
            return;
          }
          r = RingClient::Poll::kBroken;
        }
        // Spilled: the reply comes on the socket. Closed: the worker is gone
        // and its death completes `p` (waiting on the ring would not block).
        if (r == RingClient::Poll::kSpilled || ring->closed()) slot = -1;
        if (r == RingClient::Poll::kBroken) {
          spdlog::error("{}: call ring: {}; ending the worker", Name(), why);
          Kill();
          killed = true;
          slot = -1;  // its death completes `p`
        }
        std::lock_guard<std::mutex> lock(p.mu);
        if (p.done) return;
      } else {
        std::unique_lock<std::mutex> lock(p.mu);
        if (p.cv.wait_for(lock, kTick, [&] { return p.done; })) return;
      }
      if (killed) continue;
      const auto now = Clock::now();
      const int64_t c = o.cancelled_at ? o.cancelled_at->load() : 0;
      const bool runaway = o.limit.count() > 0 && now - began > o.limit;
      const bool stuck = c != 0 && now - Clock::time_point(Clock::duration(c)) > o.grace;
      if (runaway || stuck) {
        const std::string what = o.dep.empty() ? std::string(o.what)
                                               : fmt::format("call {} of {}", o.what, o.dep);
        if (runaway) {
          spdlog::warn("{}: no answer to {} within {} ms; ending the worker", Name(), what,
                       o.limit.count());
        } else {
          spdlog::warn("{}: {} still running {} ms past its cancel; ending the worker", Name(),
                       what, o.grace.count());
        }
        Kill();
        killed = true;
      }
    }
  }

  // A reply frame copied from the ring: a `reply` to request `id`, or
  // nullopt with `*why` set.
  static std::optional<nlohmann::json> DecodeRingReply(const std::vector<uint8_t>& frame,
                                                       uint64_t id, std::string* why) {
    auto body = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
    if (!body.ok()) {
      *why = body.status().message();
      return std::nullopt;
    }
    auto got = ReplyId(*body);
    if ((*body)["t"] != "reply" || !got.ok() || *got != id) {
      *why = "a \"" + (*body)["t"].get<std::string>() + "\" frame for request " +
             (got.ok() ? std::to_string(*got) : std::string("?")) + " in the slot of request " +
             std::to_string(id);
      return std::nullopt;
    }
    return std::move(*body);
  }

  // Sends a request and waits for its reply up to `timeout` (zero: no
  // limit); past it the worker is killed (the reply will never come from a
  // worker that cannot answer in time) and the call fails Unavailable.
  Result<nlohmann::json> Request(nlohmann::json body, std::span<const int> fds,
                                 std::chrono::milliseconds timeout) {
    uint64_t id = 0;
    Status err;
    auto p = Begin(&id, &err);
    if (!p) return err;
    body["id"] = id;
    Status st = ch->Send(body, fds);
    if (!st.ok()) {
      End(id);
      return Status::Unavailable(Name() + ": " + st.message());
    }
    const std::string what = body.value("t", std::string("?"));
    WaitOptions o;
    o.what = what;
    o.limit = timeout;
    o.id = id;
    Wait(*p, o);
    End(id);
    if (!p->error.ok()) return p->error;
    return std::move(p->body);
  }
};

namespace {
// Link-calls the host answers at once, over all workers.
constexpr size_t kMaxLinkCalls = 256;

// A replica's name "<deployment>#<index>" split; false if `name` is not one
// (no '#', no digits after it, or an index past u32).
bool SplitReplicaName(const std::string& name, std::string* dep, uint32_t* index) {
  auto hash = name.rfind('#');
  if (hash == std::string::npos || hash + 1 == name.size()) return false;
  uint64_t n = 0;
  for (size_t i = hash + 1; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i]))) return false;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
    if (n > UINT32_MAX) return false;
  }
  *dep = name.substr(0, hash);
  *index = static_cast<uint32_t>(n);
  return true;
}
// Handle scopes (importing instances holding resources through links) per worker.
constexpr size_t kMaxScopes = 4096;
// The answer to a link-call past kMaxLinkCalls (socket or link ring).
Status TooManyLinkCalls() {
  return Status::Unavailable("the daemon answers at most " + std::to_string(kMaxLinkCalls) +
                             " link calls from workers at once");
}
}  // namespace

struct WorkerHost::Group {
  std::string name;
  std::mutex op_mu;  // one Apply/Remove/restart/stop at a time
  mutable std::mutex mu;
  struct Entry {
    DeploymentPlan plan;
    bool started = false;
    // The most replicas the deployment was planned with: the worker's log
    // lines name replica indices below it (or replica 0).
    uint32_t most_replicas = 0;
    // A component plan's code in the daemon: its types check the values
    // that cross to and from the worker (CallValues, link-calls).
    std::shared_ptr<const platform::LoadedComponent> component;
  };
  std::map<std::string, Entry> deps;
  std::shared_ptr<Worker> worker;
  // False while a restarted worker brings its replicas back: calls fail
  // `unavailable` (restarting) rather than "no active replica".
  bool serving = false;
  std::string phase = "stopped";  // running, restarting, failed, stopped
  std::string failure;
  std::string last_exit;
  uint32_t restarts = 0;
  platform::Backoff backoff;
  uint64_t generation = 0;  // bumped by every planned change; stale restarts do nothing
  WorkerHost::Sent sent;    // to every worker of the group

  explicit Group(std::string n, platform::BackoffOptions b) : name(std::move(n)), backoff(b) {}

  bool Wanted() const {
    for (const auto& [id, e] : deps)
      if (e.started && e.plan.replicas > 0) return true;
    return false;
  }
  Grants WantedGrants() const {
    Grants out;
    for (const auto& [id, e] : deps)
      for (const auto& d : e.plan.dirs) {
        auto [it, fresh] = out.emplace(d.host_path, d.read_only);
        if (!fresh) it->second = it->second && d.read_only;
      }
    return out;
  }
};

namespace {

// Every grant of `want` is in `have` with at least the access it needs.
bool Covers(const Grants& have, const Grants& want) {
  for (const auto& [path, ro] : want) {
    auto it = have.find(path);
    if (it == have.end() || (it->second && !ro)) return false;
  }
  return true;
}

}  // namespace

WorkerHost::WorkerHost(platform::CodeProvider* code, platform::LogHub* logs,
                       platform::EventBus* events, WorkerHostOptions options)
    : code_(code),
      logs_(logs),
      events_(events),
      options_(std::move(options)),
      link_pool_(std::make_unique<Pool>(kMaxLinkCalls)) {
  if (geteuid() == 0 && !options_.uid) options_.uid = 65534;
  // spdlog's default logger is made on first use inside libspdlog, where
  // ThreadSanitizer cannot see it published: make it here, before any of
  // this host's threads logs (two threads logging first at once is reported).
  (void)spdlog::default_logger_raw();
  supervisor_ = std::thread([this] { SupervisorLoop(); });
}

WorkerHost::~WorkerHost() {
  Shutdown();
  {
    std::lock_guard<std::mutex> lock(sup_mu_);
    sup_stop_ = true;
  }
  sup_cv_.notify_all();
  if (supervisor_.joinable()) supervisor_.join();
  std::unique_lock<std::mutex> lock(threads_mu_);
  threads_cv_.wait(lock, [this] { return threads_live_ == 0; });
}

void WorkerHost::Detach(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(threads_mu_);
    ++threads_live_;
  }
  std::thread([this, fn = std::move(fn)] {
    fn();
    std::lock_guard<std::mutex> lock(threads_mu_);
    --threads_live_;
    threads_cv_.notify_all();
  }).detach();
}

void WorkerHost::SupervisorLoop() {
  std::unique_lock<std::mutex> lock(sup_mu_);
  for (;;) {
    if (sup_stop_ && sup_tasks_.empty()) return;
    if (!sup_tasks_.empty()) {
      auto task = std::move(sup_tasks_.front());
      sup_tasks_.pop_front();
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (!sup_timers_.empty() && sup_timers_.begin()->first <= Clock::now()) {
      auto task = std::move(sup_timers_.begin()->second);
      sup_timers_.erase(sup_timers_.begin());
      lock.unlock();
      task();
      lock.lock();
      continue;
    }
    if (sup_timers_.empty()) {
      sup_cv_.wait(lock);
    } else {
      sup_cv_.wait_until(lock, sup_timers_.begin()->first);
    }
  }
}

void WorkerHost::OnSupervisor(const std::function<void()>& fn) {
  if (std::this_thread::get_id() == supervisor_.get_id()) return fn();
  auto done = std::make_shared<Pending>();
  {
    std::lock_guard<std::mutex> lock(sup_mu_);
    sup_tasks_.push_back([fn, done] {
      fn();
      std::lock_guard<std::mutex> l(done->mu);
      done->done = true;
      done->cv.notify_all();
    });
  }
  sup_cv_.notify_all();
  std::unique_lock<std::mutex> lock(done->mu);
  done->cv.wait(lock, [&] { return done->done; });
}

std::shared_ptr<WorkerHost::Group> WorkerHost::FindGroup(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second;
}

std::shared_ptr<WorkerHost::Group> WorkerHost::GroupOf(const std::string& deployment) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = group_of_.find(deployment);
  if (it == group_of_.end()) return nullptr;
  auto g = groups_.find(it->second);
  return g == groups_.end() ? nullptr : g->second;
}

Result<std::shared_ptr<WorkerHost::Worker>> WorkerHost::Spawn(Group& g) {
  Result<std::shared_ptr<Worker>> out = Status::Internal("not spawned");
  Grants grants;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    grants = g.WantedGrants();
  }
  OnSupervisor([&] {
    auto w = std::make_shared<Worker>();
    w->group = g.name;
    w->epoch = next_epoch_.fetch_add(1, std::memory_order_relaxed);
    w->grants = grants;
    std::vector<UniqueFd> dirs;
    std::vector<bool> ro;
    for (const auto& [path, read_only] : grants) {
      auto fd = OpenGrant(path);
      if (!fd.ok()) {
        out = fd.status();
        return;
      }
      if (Status st = CheckWorkerAccess(fd->get(), path, read_only); !st.ok()) {
        out = st;
        return;
      }
      dirs.push_back(std::move(*fd));
      ro.push_back(read_only);
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      out = Status::IoError("socketpair: " + Errno(errno));
      return;
    }
    UniqueFd mine(sv[0]), theirs(sv[1]);
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) != 0) {
      out = Status::IoError("pipe2: " + Errno(errno));
      return;
    }
    UniqueFd err_r(ep[0]), err_w(ep[1]);
    UniqueFd devnull(open("/dev/null", O_RDWR | O_CLOEXEC));
    // A ring that cannot be made leaves its calls on the socket.
    auto make_ring = [&](uint32_t slots, std::chrono::nanoseconds spin, const char* what,
                         std::unique_ptr<CallRing>* ring, UniqueFd* fd) {
      auto r = CallRing::Create(slots, spin);
      if (r.ok()) {
        *ring = std::move(*r);
        *fd = (*ring)->TakeFd();
      } else {
        spdlog::warn("group {}: no {} ring ({}); {} calls use the socket", g.name, what,
                     r.status().ToString(), what);
      }
    };
    std::unique_ptr<CallRing> ring, link_ring;
    UniqueFd ring_fd, link_ring_fd;
    if (options_.call_ring)
      make_ring(options_.max_calls_per_worker == 0
                    ? kRingMaxSlots
                    : std::min(options_.max_calls_per_worker, kRingMaxSlots),
                options_.ring_worker_spin, "call", &ring, &ring_fd);
    if (options_.link_ring)
      make_ring(std::clamp<uint32_t>(options_.link_ring_slots, 1, kRingMaxSlots),
                options_.link_ring_spin, "link", &link_ring, &link_ring_fd);
    // Sources above every target slot, so no dup2 clobbers a later source.
    const int floor = 4 + static_cast<int>(dirs.size()) + 8;
    auto lift = [&](UniqueFd& fd) {
      if (fd) fd.reset(fcntl(fd.get(), F_DUPFD_CLOEXEC, floor));
    };
    lift(theirs);
    lift(err_w);
    lift(devnull);
    lift(ring_fd);
    lift(link_ring_fd);
    for (auto& d : dirs) lift(d);
    if (!theirs || !err_w || !devnull) {
      out = Status::IoError("cannot prepare the worker's descriptors: " + Errno(errno));
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, devnull.get(), 0);
    posix_spawn_file_actions_adddup2(&fa, devnull.get(), 1);
    posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
    posix_spawn_file_actions_adddup2(&fa, theirs.get(), 3);
    std::vector<std::string> args = {options_.worker_path,     "--socket-fd", "3",   "--parent",
                                     std::to_string(getpid()), "--group",     g.name};
    for (size_t i = 0; i < dirs.size(); ++i) {
      posix_spawn_file_actions_adddup2(&fa, dirs[i].get(), 4 + static_cast<int>(i));
      args.push_back(ro[i] ? "--ro-dir-fd" : "--rw-dir-fd");
      args.push_back(std::to_string(4 + i));
    }
    if (ring_fd) {
      const int at = 4 + static_cast<int>(dirs.size());
      posix_spawn_file_actions_adddup2(&fa, ring_fd.get(), at);
      args.push_back("--ring-fd");
      args.push_back(std::to_string(at));
    }
    if (link_ring_fd) {
      const int at = 5 + static_cast<int>(dirs.size());
      posix_spawn_file_actions_adddup2(&fa, link_ring_fd.get(), at);
      args.push_back("--link-ring-fd");
      args.push_back(std::to_string(at));
    }
    if (geteuid() == 0 && options_.uid) {
      args.push_back("--uid");
      args.push_back(std::to_string(*options_.uid));
      args.push_back("--gid");
      args.push_back(std::to_string(options_.gid ? *options_.gid : *options_.uid));
    }
    if (options_.max_calls_per_worker) {
      args.push_back("--max-calls");
      args.push_back(std::to_string(options_.max_calls_per_worker));
    }
    if (options_.memory_cap_bytes) {
      args.push_back("--memory-cap");
      args.push_back(std::to_string(options_.memory_cap_bytes));
    }
    if (!options_.seccomp) args.push_back("--no-seccomp");
    if (!options_.landlock) args.push_back("--no-landlock");
    if (!options_.new_netns) args.push_back("--no-netns");
    for (const auto& a : options_.worker_args) args.push_back(a);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    char* envp[] = {nullptr};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, options_.worker_path.c_str(), &fa, &attr, argv.data(), envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      out = Status::Unavailable("cannot start " + options_.worker_path + ": " + Errno(rc));
      return;
    }
    theirs.reset();
    err_w.reset();
    ring_fd.reset();
    link_ring_fd.reset();
    dirs.clear();
    w->pid = pid;
    w->pidfd.reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    w->started = Clock::now();
    if (options_.memory_cap_bytes != 0) {
      // Host memory too, where the daemon can create a cgroup: the guests'
      // budget plus room for the worker itself (code, stacks, buffers).
      std::string why;
      w->cgroup = JoinMemoryCgroup(pid, g.name, options_.memory_cap_bytes + (512ull << 20), &why);
      if (w->cgroup.empty()) {
        static std::atomic<bool> said{false};
        if (!said.exchange(true)) spdlog::info("worker memory cgroups: none ({})", why);
      }
    }
    w->ch = std::make_unique<Channel>(mine.release());
    Worker* raw = w.get();
    w->err_reader = std::thread([raw, fd = std::move(err_r)] {
      std::string buf;
      bool cutting = false;  // dropping the rest of an overlong line
      char chunk[4096];
      for (;;) {
        ssize_t n = read(fd.get(), chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
        size_t nl;
        // A line is cut at kMaxErrLine bytes and the rest of it dropped: a
        // worker writing without newlines grows neither this buffer nor the
        // daemon's log without bound.
        while ((nl = buf.find('\n')) != std::string::npos || buf.size() >= kMaxErrLine) {
          const size_t cut = std::min(nl, kMaxErrLine);
          std::string line = buf.substr(0, cut);
          buf.erase(0, cut == nl ? cut + 1 : cut);
          const bool was_cutting = cutting;
          cutting = cut != nl;
          if (was_cutting) continue;  // the rest of a line already cut
          if (cutting) line += " [cut at " + std::to_string(kMaxErrLine) + " bytes]";
          spdlog::warn("{}: {}", raw->Name(), line);
          std::lock_guard<std::mutex> lock(raw->mu);
          raw->err_tail += line + "\n";
          if (raw->err_tail.size() > 4096) raw->err_tail.erase(0, raw->err_tail.size() - 4096);
        }
      }
    });
    // The worker says hello once sandboxed.
    auto fail = [&](const std::string& why) {
      syscall(SYS_pidfd_send_signal, w->pidfd.get(), SIGKILL, nullptr, 0);
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      w->err_reader.join();
      if (!w->cgroup.empty()) rmdir(w->cgroup.c_str());
      std::string tail;
      {
        std::lock_guard<std::mutex> lock(w->mu);
        tail = w->err_tail;
        w->dead = true;
      }
      while (!tail.empty() && tail.back() == '\n') tail.pop_back();
      out = Status::Unavailable("arcella-worker for group " + g.name + " did not start: " + why +
                                (tail.empty() ? std::string() : " (" + tail + ")"));
    };
    bool timed_out = false;
    auto hello = ReceiveHello(*w->ch, options_.start_timeout, &timed_out);
    if (timed_out)
      return fail("no hello within " + std::to_string(options_.start_timeout.count()) + " ms");
    if (!hello.ok()) return fail(hello.status().message());
    if (hello->type() != "hello") return fail("first message was \"" + hello->type() + "\"");
    auto h = DecodeHello(hello->body);
    if (!h.ok()) return fail(h.status().message());
    if (h->version != kProtocolVersion)
      return fail("protocol version " + std::to_string(h->version) + ", expected " +
                  std::to_string(kProtocolVersion));
    w->sandbox = h->sandbox;
    if (ring && h->ring)
      w->ring = std::make_unique<RingClient>(std::move(ring),
                                             RingClient::Options{options_.ring_caller_spin,
                                                                 options_.ring_spinners});
    if (link_ring && h->link_ring)
      w->link_ring = std::make_unique<RingServer>(std::move(link_ring));
    out = w;
  });
  return out;
}

Status WorkerHost::CheckWorkerAccess(int fd, const std::string& path, bool read_only) const {
  if (geteuid() != 0 || !options_.uid) return Status::Ok();  // the worker keeps the daemon's ids
  return CheckAccess(fd, path, read_only, *options_.uid,
                     options_.gid ? *options_.gid : static_cast<gid_t>(*options_.uid));
}

void WorkerHost::ReaderLoop(std::shared_ptr<Worker> w, std::shared_ptr<Group> g) {
  // A worker that breaks the protocol is ended: what it says can no longer be
  // matched to requests. Its requests in flight fail naming why (WorkerDied).
  auto broke = [&](const std::string& why) {
    spdlog::error("{} broke the protocol: {}; ending it", w->Name(), why);
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->fault.empty()) w->fault = why;
  };
  for (;;) {
    auto m = w->ch->Receive();
    if (!m.ok()) {
      if (m.status().code() != StatusCode::kUnavailable) broke(m.status().message());
      break;
    }
    const std::string& t = m->type();
    if (t == "reply") {
      if (Status st = CheckReply(m->body); !st.ok()) {
        broke(st.message());
        break;
      }
      uint64_t id = *ReplyId(m->body);
      std::shared_ptr<Pending> p;
      {
        std::lock_guard<std::mutex> lock(w->mu);
        auto it = w->pending.find(id);
        if (it != w->pending.end()) p = it->second;
      }
      if (!p) {
        // Every request waits for its reply (or for the worker's end), so an
        // id with no waiter was never sent or was answered already.
        broke("a reply to request " + std::to_string(id) + ", which is not waiting for one");
        break;
      }
      {
        // Once done (a ring reply, or the worker's end), the waiter reads
        // the request without the lock: never written again.
        std::lock_guard<std::mutex> lock(p->mu);
        if (!p->done) {
          p->body = std::move(m->body);
          p->done = true;
        }
      }
      p->cv.notify_all();  // `p` is ours too; outside the lock the waiter need not block on it
    } else if (t == "log") {
      auto l = DecodeLog(m->body);
      if (!l.ok()) {
        broke(l.status().message());
        break;
      }
      // Only lines of the group's own deployments, of replicas it may have:
      // a worker cannot write into other deployments' logs or make the hub
      // keep a ring for any index it names.
      if (logs_ && OwnReplica(*g, l->dep, l->index))
        logs_->Line(l->dep, l->index, l->stream, l->line);
    } else if (t == "event") {
      auto e = DecodeEvent(m->body);
      if (!e.ok()) {
        broke(e.status().message());
        break;
      }
      if (events_ && OwnEvent(*g, *e)) events_->Publish(std::move(*e));
    } else if (t == "link-drop" || t == "link-end") {
      auto d = DecodeLinkDrop(m->body);
      if (!d.ok()) {
        broke(d.status().message());
        break;
      }
      uint64_t scope = 0;
      {
        std::lock_guard<std::mutex> lock(w->mu);
        auto it = w->link_scopes.find(d->scope);
        if (it != w->link_scopes.end()) {
          scope = it->second;
          if (!d->handle) w->link_scopes.erase(it);
        }
      }
      // A scope the worker never used through a link holds nothing.
      std::unique_lock<std::mutex> lock(link_mu_);
      if (scope == 0 || !links_ || !link_pool_) continue;
      ++link_calls_;  // counted, never refused: a drop has no answer to refuse with
      link_pool_->Post([this, scope, handle = d->handle] {
        if (handle) {
          links_->DropLinkHandle(scope, *handle);
        } else {
          links_->EndLinkScope(scope);
        }
        std::lock_guard<std::mutex> l(link_mu_);
        --link_calls_;
      });
    } else if (t == "link-call") {
      auto r = DecodeLinkCall(m->body);
      if (!r.ok()) {
        broke(r.status().message());
        break;
      }
      std::unique_lock<std::mutex> lock(link_mu_);
      if (!link_pool_ || link_calls_ >= kMaxLinkCalls) {
        const bool shut = !link_pool_;
        lock.unlock();
        LinkReply busy;
        busy.id = r->id;
        busy.status = shut ? Status::Unavailable("the daemon is shutting down")
                           : TooManyLinkCalls();
        (void)w->ch->Send(EncodeLinkReply(busy));
        continue;
      }
      ++link_calls_;
      link_pool_->Post([this, w, g, req = std::move(*r)] {
        (void)w->ch->Send(EncodeLinkReply(AnswerLinkCall(w, g, req)));
        std::lock_guard<std::mutex> l(link_mu_);
        --link_calls_;
      });
    }
  }
  WorkerDied(g, w);
}

void WorkerHost::LinkRingLoop(std::shared_ptr<Worker> w, std::shared_ptr<Group> g) {
  bool spin = false;
  for (;;) {
    const int slot = w->link_ring->Take(spin);
    if (slot < 0) break;
    // Another thread takes the next call while this one answers (up to one
    // per slot): a link call never waits behind another.
    if (w->link_ring->idle() == 0) {
      uint32_t n = w->link_ring_threads.load();
      while (n < w->link_ring->slots() && !w->link_ring_threads.compare_exchange_weak(n, n + 1)) {
      }
      if (n < w->link_ring->slots()) Detach([this, w, g] { LinkRingLoop(w, g); });
    }
    ServeLinkSlot(w, g, slot);
    spin = true;
  }
  w->link_ring_threads.fetch_sub(1);
}

void WorkerHost::ServeLinkSlot(const std::shared_ptr<Worker>& w, const std::shared_ptr<Group>& g,
                               int slot) {
  RingServer& ring = *w->link_ring;
  thread_local std::vector<uint8_t> frame;  // reused: no allocation per call
  // The worker wrote the slot and may rewrite it at any time: copied out
  // once, checked, decoded like a frame from the socket. A slot that is not
  // a well-formed link-call is a broken protocol: the worker is ended.
  auto broke = [&](const std::string& why) {
    spdlog::error("{} broke the protocol: link ring: {}; ending it", w->Name(), why);
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->fault.empty()) w->fault = "link ring: " + why;
    }
    w->Kill();
  };
  if (Status st = ring.CopyFrame(slot, &frame); !st.ok()) return broke(st.message());
  auto body = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
  if (!body.ok()) return broke("slot " + std::to_string(slot) + ": " + body.status().message());
  if ((*body)["t"] != "link-call")
    return broke("slot " + std::to_string(slot) + " holds a \"" + (*body)["t"].get<std::string>() +
                 "\" frame, not a link-call");
  auto req = DecodeLinkCall(*body);
  if (!req.ok()) return broke("slot " + std::to_string(slot) + ": " + req.status().message());
  LinkReply reply;
  {
    std::unique_lock<std::mutex> lock(link_mu_);
    if (link_calls_ >= kMaxLinkCalls) {
      lock.unlock();
      reply.id = req->id;
      reply.status = TooManyLinkCalls();
    } else {
      ++link_calls_;
      lock.unlock();
      reply = AnswerLinkCall(w, g, *req);
      lock.lock();
      --link_calls_;
    }
  }
  auto out = EncodeFrame(EncodeLinkReply(reply));
  if (out.ok() && out->size() <= kRingSlotBytes) {
    ring.Reply(slot, *out);
    return;
  }
  // Too big for the slot: on the socket, then the slot says so.
  (void)w->ch->Send(EncodeLinkReply(reply));
  ring.Spilled(slot);
}

LinkReply WorkerHost::AnswerLinkCall(const std::shared_ptr<Worker>& w,
                                     const std::shared_ptr<Group>& g, const LinkCallRequest& req) {
  LinkReply reply;
  reply.id = req.id;
  auto answer = [&](Status st) {
    reply.status = std::move(st);
    return reply;
  };
  std::optional<platform::PlanLink> link;
  std::shared_ptr<const platform::LoadedComponent> c;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    auto it = g->deps.find(req.dep);
    if (it == g->deps.end())
      return answer(Status::NotFound("link call from deployment " + req.dep +
                                     ", which is not in group " + g->name));
    for (const auto& l : it->second.plan.links)
      if (l.import == req.import_name) link = l;
    c = it->second.component;
  }
  if (!link || !c)
    return answer(
        Status::NotFound("deployment " + req.dep + " has no link for import " + req.import_name));
  const component::FuncType* f = component::ImportedFuncType(*c->component, req.import_name,
                                                             req.func);
  if (!f)
    return answer(Status::NotFound("deployment " + req.dep + ": import " + req.import_name +
                                   " has no function " + req.func));
  // Resource handles cross as the tokens of the importing instance's scope
  // (docs/WORKER.md "Resource handles").
  const bool handles = component::HasHandles(*f);
  component::WaveOptions form{handles};
  uint64_t scope = 0;
  if (handles) {
    if (req.scope == 0)
      return answer(
          Status::InvalidArgument(req.import_name + " " + req.func +
                                  " passes resource handles: the link-call needs a scope"));
    scope = ScopeOf(*w, req.scope);
    if (scope == 0)
      return answer(Status::Unavailable("the worker has " + std::to_string(kMaxScopes) +
                                        " instances holding resources through links, the most "
                                        "allowed"));
  }
  auto args = component::ParseWaveArgs(*f, req.args, form);
  if (!args.ok())
    return answer(
        Status::InvalidArgument(req.import_name + " " + req.func + ": " + args.status().message()));
  if (!links_) return answer(Status::Unsupported("no link caller in the daemon"));
  platform::LinkCall call;
  call.importer = req.dep;
  call.import_name = req.import_name;
  call.func = req.func;
  call.provider = link->provider;
  call.export_name = req.func.empty() ? link->export_name : link->export_name + "#" + req.func;
  call.type = f;
  call.scope = scope;
  call.handles = handles;
  auto out = links_->CallLink(call, std::move(*args));
  if (!out.ok()) {
    const engine::Trap& t = out.trap();
    reply.trap = t.message.empty() ? t.ToString() : t.message;
  } else if (f->result) {
    if (out.value().size() != 1)
      return answer(Status::Internal("the provider returned " + std::to_string(out.value().size()) +
                                     " results"));
    reply.value = component::PrintWave(out.value()[0], *f->result, form);
  }
  return answer(Status::Ok());
}

uint64_t WorkerHost::ScopeOf(Worker& w, uint64_t worker_scope) {
  std::lock_guard<std::mutex> lock(w.mu);
  if (w.dead) return 0;
  auto it = w.link_scopes.find(worker_scope);
  if (it != w.link_scopes.end()) return it->second;
  if (w.link_scopes.size() >= kMaxScopes) return 0;
  uint64_t scope = links_->NewLinkScope();
  w.link_scopes.emplace(worker_scope, scope);
  return scope;
}

void WorkerHost::EndScopes(Worker& w) {
  std::map<uint64_t, uint64_t> scopes;
  {
    std::lock_guard<std::mutex> lock(w.mu);
    scopes.swap(w.link_scopes);
  }
  if (scopes.empty() || !links_) return;
  std::lock_guard<std::mutex> lock(link_mu_);
  if (!link_pool_) return;  // shutting down: the providers go too
  ++link_calls_;
  link_pool_->Post([this, scopes = std::move(scopes)] {
    for (const auto& [mine, scope] : scopes) links_->EndLinkScope(scope);
    std::lock_guard<std::mutex> l(link_mu_);
    --link_calls_;
  });
}

bool WorkerHost::OwnReplica(const Group& g, const std::string& dep, uint32_t index) {
  std::lock_guard<std::mutex> lock(g.mu);
  auto it = g.deps.find(dep);
  return it != g.deps.end() && (index == 0 || index < it->second.most_replicas);
}

bool WorkerHost::OwnEvent(const Group& g, const platform::Event& e) {
  if (e.kind == "deployment") return OwnReplica(g, e.id, 0);
  if (e.kind != "replica") return false;
  std::string dep;
  uint32_t index = 0;
  return SplitReplicaName(e.id, &dep, &index) && OwnReplica(g, dep, index);
}

void WorkerHost::WorkerDied(const std::shared_ptr<Group>& g, const std::shared_ptr<Worker>& w) {
  w->ch->Close();
  w->Kill();  // a worker that broke the protocol is ended too
  int status = 0;
  while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (w->err_reader.joinable()) w->err_reader.join();
  if (!w->cgroup.empty()) rmdir(w->cgroup.c_str());
  std::map<uint64_t, std::shared_ptr<Pending>> pending;
  std::string exit;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    exit = (w->fault.empty() ? "" : "broke the protocol (" + w->fault + "); ") + ExitText(status);
    w->dead = true;
    w->exit_text = exit;
    pending.swap(w->pending);
  }
  w->cv.notify_all();
  EndScopes(*w);  // the handles its instances held through links
  for (auto& [id, p] : pending) {
    // A request answered already (its waiter may be reading it now, without
    // the lock) keeps its answer.
    std::lock_guard<std::mutex> lock(p->mu);
    if (p->done) continue;
    p->error = Status::Unavailable(w->Name() + " " + exit);
    p->done = true;
    p->cv.notify_all();
  }
  if (w->ring) w->ring->Close();           // after the above: a woken caller finds its request done
  if (w->link_ring) w->link_ring->Stop();  // its threads end after the calls they answer
  if (w->stopping) return;
  spdlog::warn("{} {}", w->Name(), exit);
  std::chrono::milliseconds delay{0};
  uint64_t gen = 0;
  bool failed = false;
  std::string failure;            // copied under g->mu: an Apply may change it at once
  std::vector<std::string> deps;  // likewise
  {
    std::lock_guard<std::mutex> lock(g->mu);
    if (g->worker != w) return;
    g->worker = nullptr;
    g->last_exit = exit;
    delay = g->backoff.Next(w->started);
    if (g->backoff.failures() > options_.max_quick_crashes) {
      g->phase = "failed";
      g->failure = "the worker of group " + g->name + " crashed " +
                   std::to_string(g->backoff.failures()) + " times in a row, each within " +
                   std::to_string(options_.backoff.healthy_after.count()) +
                   " ms of starting; last: " + exit + "; not restarted until the next deploy";
      failed = true;
      failure = g->failure;
    } else {
      g->phase = "restarting";
      gen = g->generation;
    }
    for (const auto& [id, e] : g->deps) deps.push_back(id);
  }
  if (failed) {
    spdlog::error("{}", failure);
    for (const auto& id : deps) {
      if (events_) events_->Publish({0, "deployment", id, "failed", failure});
      if (logs_) logs_->Line(id, 0, platform::LogStream::kPlatform, failure);
    }
    return;
  }
  for (const auto& id : deps) {
    if (logs_)
      logs_->Line(id, 0, platform::LogStream::kPlatform,
                  w->Name() + " " + exit + "; restarting in " + std::to_string(delay.count()) +
                      " ms");
  }
  {
    std::lock_guard<std::mutex> lock(sup_mu_);
    if (sup_stop_) return;
    sup_timers_.emplace(Clock::now() + delay, [this, g, gen] {
      Detach([this, g, gen] {
        std::lock_guard<std::mutex> op(g->op_mu);
        {
          std::lock_guard<std::mutex> lock(g->mu);
          if (g->generation != gen || g->phase != "restarting") return;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (shut_down_) return;
        }
        Restart(g);
      });
    });
  }
  sup_cv_.notify_all();
}

// g.op_mu held.
void WorkerHost::Restart(const std::shared_ptr<Group>& g) {
  {
    std::lock_guard<std::mutex> lock(g->mu);
    ++g->restarts;
  }
  Status st = Ensure(*g, true);
  if (!st.ok()) spdlog::error("group {}: restart failed: {}", g->name, st.ToString());
}

// g.op_mu held. Starts (or restarts, or stops) the group's worker as its
// plans need; a fresh worker gets every plan of the group.
Status WorkerHost::Ensure(Group& g, bool restart) {
  std::shared_ptr<Worker> cur;
  bool wanted;
  Grants want;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    cur = g.worker;
    wanted = g.Wanted();
    want = g.WantedGrants();
  }
  if (!wanted) {
    StopWorker(g);
    return Status::Ok();
  }
  if (cur && !restart && Covers(cur->grants, want)) return Status::Ok();
  if (cur) StopWorker(g);
  std::shared_ptr<Group> self = FindGroup(g.name);
  auto w = Spawn(g);
  if (!w.ok()) {
    std::vector<std::string> ids;
    {
      std::lock_guard<std::mutex> lock(g.mu);
      g.phase = "failed";
      g.failure = w.status().message();
      for (const auto& [id, e] : g.deps) ids.push_back(id);
    }
    for (const auto& id : ids)
      if (events_) events_->Publish({0, "deployment", id, "failed", w.status().message()});
    return w.status();
  }
  std::vector<Group::Entry> entries;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.worker = *w;
    g.serving = !restart;
    g.phase = "running";
    g.failure.clear();
    for (const auto& [id, e] : g.deps) entries.push_back(e);
  }
  Detach([this, w = *w, self] { ReaderLoop(w, self); });
  if ((*w)->link_ring) {
    (*w)->link_ring_threads.fetch_add(1);
    Detach([this, w = *w, self] { LinkRingLoop(w, self); });
  }
  Status first;
  for (const auto& e : entries) {
    Status st = SendApply(g, **w, e.plan, e.started);
    if (!st.ok()) {
      spdlog::warn("group {}: apply {}: {}", g.name, e.plan.id, st.ToString());
      if (first.ok()) first = st;
    }
  }
  if (restart) {
    // Calls resume once every started replica is back (or 10 s passed).
    auto until = Clock::now() + std::chrono::seconds(10);
    for (const auto& e : entries) {
      if (!e.started || e.plan.replicas == 0) continue;
      while (Clock::now() < until) {
        auto reply = (*w)->Request(EncodeStatus({0, e.plan.id}), {}, options_.grace * 5);
        if (!reply.ok()) break;
        auto st = DecodeStatusReply(*reply);
        if (!st.ok()) break;
        bool settled = st->replicas.size() >= e.plan.replicas;
        for (const auto& r : st->replicas)
          settled = settled && r.state != platform::State::kStarting;
        if (settled) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    std::lock_guard<std::mutex> lock(g.mu);
    if (g.worker == *w) g.serving = true;
  }
  return first;
}

// g.op_mu held.
Status WorkerHost::SendApply(Group& g, Worker& w, const DeploymentPlan& plan, bool started) {
  ApplyRequest req;
  req.plan = plan;
  req.started = started;
  req.with_code = !w.HoldsCode(plan.code);
  std::vector<int> fds;
  engine::PortableCode code;
  platform::PortableComponent component;
  if (req.with_code && plan.code.component) {
    std::shared_ptr<const platform::LoadedComponent> loaded;
    {
      std::lock_guard<std::mutex> lock(g.mu);
      if (auto it = g.deps.find(plan.id); it != g.deps.end()) loaded = it->second.component;
    }
    if (!loaded) return Status::Internal("deployment " + plan.id + ": its component is not loaded");
    auto exported = platform::ExportComponent(*loaded);
    if (!exported.ok()) return exported.status().WithContext("deployment " + plan.id);
    component = std::move(*exported);
    fds.push_back(component.bytes.get());
    for (const engine::PortableCode& m : component.modules) {
      req.metas.push_back(m.meta);
      fds.push_back(m.fd.get());
    }
  } else if (req.with_code) {
    auto exported = code_->Export(plan.code);
    if (!exported.ok()) return exported.status().WithContext("deployment " + plan.id);
    code = std::move(*exported);
    req.meta = code.meta;
    fds.push_back(code.fd.get());
  }
  std::vector<UniqueFd> dirs;
  for (size_t i = 0; i < plan.dirs.size(); ++i) {
    const platform::PlanDir& d = plan.dirs[i];
    if (w.HoldsDir(d.host_path, d.read_only)) continue;
    auto fd = OpenGrant(d.host_path);
    if (!fd.ok()) return fd.status().WithContext("deployment " + plan.id);
    ARCELLA_RETURN_IF_ERROR(CheckWorkerAccess(fd->get(), d.host_path, d.read_only)
                                .WithContext("deployment " + plan.id));
    fds.push_back(fd->get());
    dirs.push_back(std::move(*fd));
    req.with_dirs.push_back(static_cast<uint32_t>(i));
  }
  if (fds.size() > kMaxFdsPerFrame)
    return Status::FailedPrecondition(
        "deployment " + plan.id + ": its code and directories are " + std::to_string(fds.size()) +
        " descriptors; a worker takes at most " + std::to_string(kMaxFdsPerFrame) +
        " per apply (a component of that many core modules runs with --isolation main)");
  w.applied.erase(plan.id);  // until the worker confirms
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.sent.code += req.with_code ? 1 : 0;
    g.sent.dirs += dirs.size();
  }
  // The worker validates and instruments interpreter code again before it
  // answers (AOT code is only mapped): its answer may take a while for a
  // big module (a 12 MB componentize-js core module: ~6 s here, several
  // times that under a sanitizer), which is no sign of a stuck worker.
  uint64_t interp_bytes = 0;
  auto count_interp = [&](const engine::PortableCode& c) {
    struct stat st;
    if (c.tier == engine::Tier::kInterp && fstat(c.fd.get(), &st) == 0)
      interp_bytes += static_cast<uint64_t>(st.st_size);
  };
  if (req.with_code) {
    if (plan.code.component) {
      for (const engine::PortableCode& m : component.modules) count_interp(m);
    } else {
      count_interp(code);
    }
  }
  const auto limit = options_.grace * 5 +
                     std::chrono::milliseconds(interp_bytes / 100);  // 10 s/MiB
  auto reply = w.Request(EncodeApply(req), fds, limit);
  if (!reply.ok()) return reply.status();
  Status st = ReplyStatus(*reply);
  if (st.ok()) w.applied[plan.id] = plan;
  return st;
}

// g.op_mu held.
void WorkerHost::StopWorker(Group& g) {
  std::shared_ptr<Worker> w;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    w = std::move(g.worker);
    g.worker = nullptr;
    if (g.phase != "failed") g.phase = "stopped";
    ++g.generation;
  }
  if (!w) return;
  w->stopping = true;
  (void)w->ch->Send(EncodeShutdown());
  std::unique_lock<std::mutex> lock(w->mu);
  if (!w->cv.wait_for(lock, options_.grace, [&] { return w->dead; })) {
    lock.unlock();
    spdlog::warn("{} did not stop within {} ms; killing it", w->Name(), options_.grace.count());
    w->Kill();
    lock.lock();
    w->cv.wait(lock, [&] { return w->dead; });
  }
}

Status WorkerHost::Apply(const DeploymentPlan& plan, bool started) {
  std::shared_ptr<Group> g;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return Status::FailedPrecondition("the worker host is shut down");
    auto it = group_of_.find(plan.id);
    if (it != group_of_.end() && it->second != plan.group)
      return Status::InvalidArgument("deployment " + plan.id + " is in group " + it->second +
                                     ", not " + plan.group);
    auto& slot = groups_[plan.group];
    if (!slot) slot = std::make_shared<Group>(plan.group, options_.backoff);
    g = slot;
    group_of_[plan.id] = plan.group;
  }
  std::shared_ptr<const platform::LoadedComponent> component;
  if (plan.code.component) {
    auto c = code_->LoadComponent(plan.code);
    if (!c.ok()) return c.status().WithContext("deployment " + plan.id);
    component = *c;
  }
  std::lock_guard<std::mutex> op(g->op_mu);
  std::shared_ptr<Worker> before;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    auto& entry = g->deps[plan.id];
    entry.most_replicas = std::max(entry.most_replicas, plan.replicas);
    entry.plan = plan;
    entry.component = component;
    entry.started = started;
    ++g->generation;
    if (g->phase == "failed" || g->phase == "restarting") {
      g->phase = "stopped";  // an operator's apply retries at once
      g->failure.clear();
      g->backoff.Reset();
    }
    before = g->worker;
  }
  ARCELLA_RETURN_IF_ERROR(Ensure(*g, false));
  std::shared_ptr<Worker> now;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    now = g->worker;
  }
  // A fresh worker got every plan in Ensure; a running one gets this plan.
  if (now && now == before) return SendApply(*g, *now, plan, started);
  return Status::Ok();
}

Status WorkerHost::Remove(const std::string& id) {
  auto g = GroupOf(id);
  if (!g) return Status::NotFound("deployment " + id + " not found");
  std::lock_guard<std::mutex> op(g->op_mu);
  std::shared_ptr<Worker> w;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    w = g->worker;
  }
  if (w) {
    DeploymentRequest r{0, id};
    w->applied.erase(id);
    auto reply = w->Request(EncodeRemove(r), {}, options_.grace * 5);
    if (reply.ok() && ReplyStatus(*reply).code() != StatusCode::kNotFound &&
        !ReplyStatus(*reply).ok())
      spdlog::warn("{}: remove {}: {}", w->Name(), id, ReplyStatus(*reply).ToString());
  }
  {
    std::lock_guard<std::mutex> lock(g->mu);
    g->deps.erase(id);
    ++g->generation;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    group_of_.erase(id);
  }
  if (logs_) logs_->Forget(id);
  return Ensure(*g, false);
}

DeploymentStatus WorkerHost::LocalStatus(const Group& g, const std::string& id) const {
  DeploymentStatus s;
  s.id = id;
  auto it = g.deps.find(id);
  if (it == g.deps.end()) return s;
  s.started = it->second.started;
  s.command = it->second.plan.command;
  if (!s.started || it->second.plan.replicas == 0) return s;
  platform::State st = platform::State::kResolved;
  std::string why;
  if (g.phase == "failed") {
    st = platform::State::kFailed;
    why = g.failure;
  } else if (g.phase == "restarting" || g.phase == "running") {
    st = platform::State::kStarting;
    why = g.last_exit.empty() ? std::string() : "worker " + g.last_exit + "; restarting";
  }
  s.state = st;
  for (uint32_t i = 0; i < it->second.plan.replicas; ++i) {
    platform::ReplicaStatus r;
    r.index = i;
    r.state = st;
    r.last_error = why;
    s.replicas.push_back(r);
  }
  return s;
}

Result<DeploymentStatus> WorkerHost::GetStatus(const std::string& id) const {
  auto g = GroupOf(id);
  if (!g) return Status::NotFound("deployment " + id + " not found");
  std::shared_ptr<Worker> w;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    if (!g->deps.count(id)) return Status::NotFound("deployment " + id + " not found");
    // A restarted worker's replicas show `starting` until it serves calls.
    if (g->serving) w = g->worker;
  }
  if (w) {
    {
      std::lock_guard<std::mutex> lock(g->mu);
      ++g->sent.status_requests;
    }
    DeploymentRequest r{0, id};
    auto reply = w->Request(EncodeStatus(r), {}, options_.grace * 5);
    if (reply.ok()) {
      Status st = ReplyStatus(*reply);
      if (st.ok()) return DecodeStatusReply(*reply);
      if (st.code() != StatusCode::kNotFound) return st;
    }
  }
  std::lock_guard<std::mutex> lock(g->mu);
  return LocalStatus(*g, id);
}

std::vector<Result<DeploymentStatus>> WorkerHost::GetStatuses(
    const std::vector<std::string>& ids) const {
  std::vector<Result<DeploymentStatus>> out(ids.size(), Status::NotFound("not asked"));
  std::map<std::shared_ptr<Group>, std::vector<size_t>> by_group;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto g = GroupOf(ids[i]);
    if (g) {
      by_group[g].push_back(i);
    } else {
      out[i] = Status::NotFound("deployment " + ids[i] + " not found");
    }
  }
  for (const auto& [g, idx] : by_group) {
    std::shared_ptr<Worker> w;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      // A restarted worker's replicas show `starting` until it serves calls.
      if (g->serving) w = g->worker;
      if (w) ++g->sent.status_requests;
    }
    std::vector<Result<DeploymentStatus>> got;
    if (w) {
      StatusesRequest r;
      for (size_t i : idx) r.deps.push_back(ids[i]);
      auto reply = w->Request(EncodeStatuses(r), {}, options_.grace * 5);
      if (reply.ok() && ReplyStatus(*reply).ok()) {
        auto all = DecodeStatusesReply(*reply, idx.size());
        if (all.ok()) got = std::move(*all);
      }
    }
    // As GetStatus: the worker's answer unless it does not know the
    // deployment (or did not answer): then what the host knows.
    std::lock_guard<std::mutex> lock(g->mu);
    for (size_t k = 0; k < idx.size(); ++k) {
      const std::string& id = ids[idx[k]];
      if (!g->deps.count(id)) {
        out[idx[k]] = Status::NotFound("deployment " + id + " not found");
      } else if (!got.empty() && (got[k].ok() || got[k].status().code() != StatusCode::kNotFound)) {
        out[idx[k]] = std::move(got[k]);
      } else {
        out[idx[k]] = LocalStatus(*g, id);
      }
    }
  }
  return out;
}

std::vector<std::string> WorkerHost::Deployments() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [id, group] : group_of_) out.push_back(id);
  return out;
}

Result<platform::ValCallResult> WorkerHost::CallValues(const std::string& id,
                                                       const std::string& export_name,
                                                       std::vector<component::Val> args,
                                                       const platform::ReplicaPin* pin) {
  auto g = GroupOf(id);
  if (!g) return Status::NotFound("deployment " + id + " not found");
  std::shared_ptr<const platform::LoadedComponent> c;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    if (auto it = g->deps.find(id); it != g->deps.end()) c = it->second.component;
  }
  if (!c) return Status::FailedPrecondition("deployment " + id + " does not run a component");
  const component::FuncType* f = component::ExportedFuncType(*c->component, export_name);
  if (!f) return Status::NotFound("deployment " + id + " exports no function " + export_name);
  if (args.size() != f->params.size())
    return Status::InvalidArgument(export_name + " takes " + std::to_string(f->params.size()) +
                                   " arguments, got " + std::to_string(args.size()));
  CallRequest extra;
  extra.handles = component::HasHandles(*f);
  if (pin) {
    if (pin->epoch == 0)
      return Status::Unavailable("replica " + id + "#" + std::to_string(pin->replica) +
                                 " that held the resource is gone");
    extra.replica = pin->replica;
    extra.instance = pin->instance;
  }
  component::WaveOptions form{extra.handles};
  std::vector<std::string> text = component::PrintWaveArgs(*f, args, form);
  uint64_t epoch = 0;
  ARCELLA_ASSIGN_OR_RETURN(platform::CallResult r,
                           CallImpl(id, export_name, text, nullptr, /*typed=*/false, &extra,
                                    pin ? pin->epoch : 0, &epoch));
  platform::ValCallResult out;
  out.replica = std::move(r.replica);
  out.trap = std::move(r.trap);
  // Who served it, for a handle it returns: the replica index the worker
  // named (of this deployment), its instance, this incarnation.
  std::string named_dep;
  uint32_t index = 0;
  const bool named = SplitReplicaName(out.replica, &named_dep, &index) && named_dep == id;
  if (extra.handles && !out.trap && (!named || r.instance == 0))
    return Status::Internal("deployment " + id + ": its worker did not say which instance served " +
                            export_name + " (\"" + out.replica + "\")");
  out.served = platform::ReplicaPin{index, r.instance, epoch};
  if (out.trap || !f->result) return out;
  if (r.results.size() != 1)
    return Status::Internal("deployment " + id + ": its worker answered " + export_name + " with " +
                            std::to_string(r.results.size()) + " results");
  auto v = component::ParseWave(r.results[0], *f->result, form);
  if (!v.ok())
    return Status::Internal("deployment " + id + ": its worker's result of " + export_name +
                            " does not parse: " + v.status().message());
  out.results.push_back(std::move(*v));
  return out;
}

Status WorkerHost::DropResource(const std::string& id, const platform::ReplicaPin& pin,
                                const std::string& resource, uint32_t rep) {
  if (pin.epoch == 0) return Status::Ok();
  CallRequest extra;
  extra.drop = true;
  extra.replica = pin.replica;
  extra.instance = pin.instance;
  auto r = CallImpl(id, resource, {std::to_string(rep)}, nullptr, /*typed=*/false, &extra,
                    pin.epoch);
  // Gone (the worker, the replica, the instance): the resource went with it.
  if (!r.ok() && r.status().code() == StatusCode::kUnavailable) return Status::Ok();
  return r.status();
}

Result<CallResult> WorkerHost::Call(const std::string& id, const std::string& export_name,
                                    const std::vector<std::string>& args,
                                    platform::CallControl* control) {
  return CallImpl(id, export_name, args, control, /*typed=*/true);
}

Result<CallResult> WorkerHost::CallImpl(const std::string& id, const std::string& export_name,
                                        const std::vector<std::string>& args,
                                        platform::CallControl* control, bool typed,
                                        const CallRequest* extra, uint64_t epoch,
                                        uint64_t* served_epoch) {
  auto g = GroupOf(id);
  if (!g) return Status::NotFound("deployment " + id + " not found");
  std::shared_ptr<Worker> w;
  std::chrono::milliseconds timeout{0};
  std::shared_ptr<const platform::LoadedComponent> component;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    auto it = g->deps.find(id);
    if (it == g->deps.end()) return Status::NotFound("deployment " + id + " not found");
    if (!it->second.started) return Status::FailedPrecondition("deployment " + id + " is stopped");
    component = it->second.component;
    w = g->worker;
    if (!w || !g->serving) {
      if (g->phase == "failed") return Status::Unavailable(g->failure);
      return Status::Unavailable(
          "the worker of group " + g->name + " is restarting" +
          (g->last_exit.empty() ? "" : " (last exit: " + g->last_exit + ")"));
    }
    if (it->second.plan.timeout.count() > 0) timeout = it->second.plan.timeout + options_.grace;
  }
  if (epoch != 0 && w->epoch != epoch)
    return Status::Unavailable("the " + w->Name() +
                               " is not the one that held the resource: that worker is gone");
  if (served_epoch) *served_epoch = w->epoch;
  CallRequest req;
  if (extra) req = *extra;
  req.dep = id;
  req.export_name = export_name;
  req.args = args;
  uint64_t call_id = 0;
  Status err;
  auto p = w->Begin(&call_id, &err);
  if (!p) return err;
  req.id = call_id;
  thread_local std::vector<uint8_t> frame;  // reused: no allocation per call
  frame.clear();
  Status sent = AppendCallFrame(req, &frame);
  int slot = -1;
  bool doomed = false;  // the worker broke the ring: it is being ended
  if (sent.ok() && w->ring && frame.size() <= kRingSlotBytes) {
    auto s = w->ring->Acquire();  // -1: every slot busy, the socket takes it
    if (s.ok()) {
      slot = *s;
    } else {
      spdlog::error("{}: {}; ending the worker", w->Name(), s.status().message());
      w->Kill();
      doomed = true;
    }
  }
  if (slot >= 0) {
    w->ring->Post(slot, frame);
  } else if (!doomed) {
    if (sent.ok()) sent = w->ch->SendFrame(frame);
    if (!sent.ok()) {
      w->End(call_id);
      return Status::Unavailable(w->Name() + ": " + sent.message());
    }
  }
  std::atomic<int64_t> cancelled_at{0};
  if (control) {
    control->Arm([&, call_id, slot] {
      cancelled_at = Clock::now().time_since_epoch().count();
      if (slot >= 0) w->ring->Cancel(slot);  // before the socket's cancel: see RingCall
      (void)w->ch->Send(EncodeCancel(call_id));
    });
  }
  Worker::WaitOptions wait;
  wait.what = export_name;
  wait.dep = id;
  wait.limit = timeout;
  wait.cancelled_at = &cancelled_at;
  wait.grace = options_.grace;
  wait.slot = slot;
  wait.id = call_id;
  w->Wait(*p, wait);
  if (control) control->Disarm();
  w->End(call_id);
  if (slot >= 0) w->ring->Release(slot);
  if (!p->error.ok()) return p->error;
  Status st = ReplyStatus(p->body);
  if (!st.ok()) return st;
  ARCELLA_ASSIGN_OR_RETURN(CallResult r, DecodeCallReply(p->body));
  if (typed && component && !r.trap && r.results.size() == 1) {
    // The typed value (`call --json`), parsed by the daemon's own copy of
    // the export's type: what the worker printed must be a value of it.
    const auto& c = *component->component;
    component::ExportMatch m = component::ResolveExportName(export_name,
                                                            component::ExportedFuncNames(c));
    const component::FuncType* f = m.name.empty() ? nullptr
                                                  : component::ExportedFuncType(c, m.name);
    if (f && f->result) {
      auto v = component::ParseWave(r.results[0], *f->result);
      if (!v.ok())
        return Status::Internal("deployment " + id + ": its worker's result of " + export_name +
                                " does not parse: " + v.status().message());
      r.value = std::move(*v);
      r.type = f->result;
    }
  }
  return r;
}

void WorkerHost::Shutdown() {
  std::vector<std::shared_ptr<Group>> groups;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (auto& [name, g] : groups_) groups.push_back(g);
  }
  std::vector<std::shared_ptr<Worker>> workers;
  for (auto& g : groups) {
    std::lock_guard<std::mutex> op(g->op_mu);
    {
      std::lock_guard<std::mutex> lock(g->mu);
      if (g->worker) workers.push_back(g->worker);
    }
    StopWorker(*g);
    std::lock_guard<std::mutex> lock(g->mu);
    g->deps.clear();
  }
  // The link ring threads end once the link calls they answer do (their
  // providers are gone or going too).
  for (auto& w : workers) {
    if (!w->link_ring) continue;
    w->link_ring->Stop();
    while (w->link_ring_threads.load() != 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    group_of_.clear();
  }
  std::unique_ptr<Pool> pool;
  {
    std::lock_guard<std::mutex> lock(link_mu_);
    pool = std::move(link_pool_);
  }
  pool.reset();  // the link-calls still being answered end (their workers are gone)
}

std::vector<platform::WorkerInfo> WorkerHost::Workers() const {
  std::vector<std::shared_ptr<Group>> groups;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, g] : groups_) groups.push_back(g);
  }
  std::vector<platform::WorkerInfo> out;
  for (const auto& g : groups) {
    platform::WorkerInfo i;
    std::lock_guard<std::mutex> lock(g->mu);
    if (g->deps.empty()) continue;
    i.group = g->name;
    i.state = g->phase;
    i.restarts = g->restarts;
    i.last_exit = g->last_exit;
    for (const auto& [id, e] : g->deps)
      if (e.started) i.replicas += e.plan.replicas;
    if (g->worker) {
      i.pid = g->worker->pid;
      i.sandbox = g->worker->sandbox;
      i.cgroup = g->worker->cgroup;
      i.rss_bytes = RssOf(g->worker->pid);
    }
    out.push_back(std::move(i));
  }
  return out;
}

WorkerHost::Sent WorkerHost::SentTo(const std::string& group) const {
  auto g = FindGroup(group);
  if (!g) return {};
  std::lock_guard<std::mutex> lock(g->mu);
  return g->sent;
}

pid_t WorkerHost::WorkerPid(const std::string& group) const {
  auto g = FindGroup(group);
  if (!g) return 0;
  std::lock_guard<std::mutex> lock(g->mu);
  return g->worker ? g->worker->pid : 0;
}

}  // namespace arcella::worker
