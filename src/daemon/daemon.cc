#include "daemon/daemon.h"

#include <signal.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "alme/server.h"
#include "daemon/alme_handler.h"
#include "daemon/hot_deploy.h"
#include "daemon/http_ingress.h"
#include "platform/config.h"
#include "platform/home.h"
#include "platform/inprocess_host.h"
#include "platform/platform.h"
#include "platform/run_plan.h"
#include "worker/routing_host.h"
#include "worker/worker_host.h"

namespace arcella::daemon {
namespace {

// The arcella-worker executable installed beside this program.
std::string WorkerBeside() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "arcella-worker";
  std::string self(buf, static_cast<size_t>(n));
  auto slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) +
         "/arcella-worker";
}

std::atomic<bool> g_shutdown_requested{false};

int Fail(const std::string& msg) {
  fprintf(stderr, "arcella: %s\n", msg.c_str());
  return 1;
}

void SetUpLogging(const platform::Home& home, const platform::Config& cfg) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  try {
    sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
        home.log_dir() + "/arcella.log", cfg.logs.file_max_bytes, cfg.logs.file_count));
  } catch (const spdlog::spdlog_ex& e) {
    fprintf(stderr, "arcella: cannot open the log file: %s\n", e.what());
  }
  auto logger = std::make_shared<spdlog::logger>("arcella", sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::from_str(cfg.daemon.log_level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

// Ends the process if the shutdown has not finished within the grace period
// (plus a margin for the ALME server and the state store to close).
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(std::chrono::milliseconds grace)
      : grace_(grace), thread_([this] { Run(); }) {}
  ~ShutdownWatchdog() { Done(); }
  void Done() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  // Polls every 100 ms: done, past the deadline, or a second SIGTERM/SIGINT
  // (signals are blocked in every thread; this one takes them now).
  void Run() {
    auto limit = grace_ + kMargin;
    auto deadline = std::chrono::steady_clock::now() + limit;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; })) return;
      }
      timespec zero{0, 0};
      int sig = sigtimedwait(&sigs, nullptr, &zero);
      if (sig == SIGTERM || sig == SIGINT) {
        Force(std::string("received a second ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
              " during the shutdown");
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        Force("shutdown did not finish within " + std::to_string(limit.count()) +
              " ms (daemon.shutdown_grace " + std::to_string(grace_.count()) + " ms + " +
              std::to_string(kMargin.count()) + " ms)");
      }
    }
  }

  [[noreturn]] static void Force(const std::string& why) {
    spdlog::error("{}; exiting now, abandoning the replicas and requests still running", why);
    spdlog::default_logger()->flush();
    std::_Exit(kForcedExitCode);
  }

  static constexpr std::chrono::milliseconds kMargin{2000};
  std::chrono::milliseconds grace_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

int RunDaemon(const DaemonOptions& options) {
  // Signals are handled by this thread only (sigtimedwait below): block them
  // before any other thread starts, so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  umask(077);  // everything the daemon creates is private to its user

  auto root = platform::Home::ResolvePath(options.home);
  if (!root.ok()) return Fail(root.status().message());
  platform::Home home(*root);
  if (auto st = home.Create(); !st.ok()) return Fail(st.message());
  auto lock = platform::HomeLock::Acquire(home);
  if (!lock.ok()) return Fail(lock.status().message());

  bool wrote = false;
  if (auto st = platform::WriteDefaultConfigIfMissing(home.config_file(), &wrote); !st.ok())
    return Fail(st.message());
  auto cfg = platform::LoadConfig(home.config_file());
  if (!cfg.ok()) return Fail(cfg.status().message());
  SetUpLogging(home, *cfg);
  spdlog::info("arcella {} starting in {} (pid {})", ARCELLA_VERSION_STRING, home.root(), getpid());
  if (wrote) spdlog::info("wrote the default configuration to {}", home.config_file());

  platform::EventBus events;
  platform::LogHubOptions lo;
  lo.ring_lines = cfg->logs.ring_lines;
  lo.ring_bytes = cfg->logs.ring_bytes;
  lo.max_file_bytes = cfg->logs.file_max_bytes;
  lo.max_files = static_cast<int>(cfg->logs.file_count);
  platform::LogHub logs(home.log_dir() + "/deployments", lo);
  // The engine's AOT cache lives in this home; the C compiler is $CC or "cc".
  const char* cc = getenv("CC");
  // Replicas run in the daemon (isolation = "main") or in their group's
  // arcella-worker process (isolation = "worker", the default).
  worker::WorkerHostOptions wo;
  wo.worker_path = cfg->worker.path.empty() ? WorkerBeside() : cfg->worker.path;
  wo.uid = cfg->worker.uid;
  wo.gid = cfg->worker.gid;
  wo.memory_cap_bytes = cfg->worker.memory_cap != 0
                            ? cfg->worker.memory_cap
                            : static_cast<uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                                  static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) / 2;
  wo.grace = cfg->worker.grace;
  spdlog::info("worker processes: {} (uid {} when root)", wo.worker_path, *wo.uid);
  auto make_host =
      [&](platform::CodeProvider* code) -> Result<std::unique_ptr<platform::ReplicaHost>> {
    platform::InProcessHostOptions ho;
    ho.executor_threads = cfg->daemon.executor_threads;
    auto main = std::make_unique<platform::InProcessHost>(platform::LocalPlanLoader(code), &logs,
                                                          &events, ho);
    auto workers = std::make_unique<worker::WorkerHost>(code, &logs, &events, wo);
    return std::unique_ptr<platform::ReplicaHost>(
        std::make_unique<worker::RoutingHost>(std::move(main), std::move(workers)));
  };
  auto platform = platform::Platform::Open(home, *cfg, &events, &logs,
                                           cc != nullptr && *cc ? cc : "cc", make_host);
  if (!platform.ok()) {
    spdlog::error("{}", platform.status().message());
    return 1;
  }
  if (options.safe_mode) (*platform)->EnterSafeMode();
  {
    // Reconcile may compile (a module whose cache entry is gone): a SIGTERM
    // or SIGINT meanwhile cancels those compiles and ends the daemon.
    std::atomic<bool> reconciled{false};
    std::thread signals([&] {
      timespec tick{0, 100'000'000};
      while (!reconciled) {
        int sig = sigtimedwait(&sigs, nullptr, &tick);
        if (sig == SIGTERM || sig == SIGINT) {
          spdlog::info("received {} while reconciling, shutting down",
                       sig == SIGTERM ? "SIGTERM" : "SIGINT");
          g_shutdown_requested = true;
          (*platform)->CancelCompiles();
          return;
        }
      }
    });
    if (auto st = (*platform)->Reconcile(); !st.ok()) spdlog::error("reconcile: {}", st.message());
    reconciled = true;
    signals.join();
  }

  auto handler = std::make_shared<AlmeHandler>(platform->get(), home.root(),
                                               [] { g_shutdown_requested = true; });
  alme::ServerOptions so;
  so.socket_path = home.alme_socket();
  so.max_frame_bytes = static_cast<uint32_t>(cfg->alme.max_frame_bytes);
  so.max_connections = static_cast<int>(cfg->alme.max_connections);
  so.max_calls = static_cast<int>(cfg->alme.max_calls);
  so.max_calls_per_connection = static_cast<int>(cfg->alme.max_calls_per_connection);
  so.call_threads = static_cast<int>(cfg->alme.call_threads);
  so.idle_timeout = cfg->alme.idle_timeout;
  auto server = alme::Server::Start(so, handler);
  if (!server.ok()) {
    spdlog::error("{}", server.status().message());
    (*platform)->Shutdown();
    return 1;
  }
  spdlog::info("ALME listening on {}", so.socket_path);

  // The HTTP ingress, if configured ([http] listen); its address (the real
  // port for port 0) goes to HOME/http.address for scripts and tests.
  std::unique_ptr<HttpIngress> ingress;
  const std::string address_file = home.root() + "/http.address";
  ::unlink(address_file.c_str());
  if (!cfg->http.listen.empty()) {
    // A port in use does not stop the daemon: management works without HTTP.
    auto in = HttpIngress::Start(platform->get(), cfg->http);
    if (!in.ok()) {
      spdlog::warn("{}; HTTP is not served (set [http] listen in arcella.toml)",
                   in.status().message());
    } else {
      ingress = std::move(*in);
      spdlog::info("HTTP ingress listening on {}", ingress->address());
      std::ofstream(address_file) << ingress->address() << "\n";
    }
  }

  std::unique_ptr<HotDeploy> hot;
  // --safe-mode also leaves deploy/ alone: a file there may be what kills the daemon.
  if (cfg->deploy.hot_deploy && !options.safe_mode && !g_shutdown_requested) {
    hot = std::make_unique<HotDeploy>(platform->get(), home.deploy_dir(),
                                      cfg->deploy.scan_interval_ms, home.state_db());
    if (auto st = hot->Start(); !st.ok()) spdlog::error("{}", st.message());
  }

  timespec tick{0, 200'000'000};
  while (!g_shutdown_requested) {
    int sig = sigtimedwait(&sigs, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("received {}, shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (sig == SIGHUP) spdlog::info("SIGHUP ignored (restart the daemon to reload arcella.toml)");
  }
  // From here the shutdown is bounded: if replicas do not stop within the
  // grace period (a guest blocked where an interrupt cannot reach it), the
  // watchdog logs what it abandons and ends the process.
  ShutdownWatchdog watchdog(cfg->daemon.shutdown_grace);
  // Compiles in flight (installs over ALME, the hot-deploy folder's) are
  // cancelled first: nothing joined below waits for one.
  (*platform)->CancelCompiles();
  if (hot) hot->Stop();
  // Replicas first: running calls are interrupted, so the ALME handlers
  // waiting on them return and the server can join its threads.
  (*platform)->Shutdown();  // replicas stop gracefully; new requests are refused
  (*server)->Stop();        // connections close, open streams end
  if (ingress) ingress->Stop();
  ::unlink(address_file.c_str());
  watchdog.Done();
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace arcella::daemon
