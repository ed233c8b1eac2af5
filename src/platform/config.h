// The daemon's configuration: built-in defaults, then config/arcella.toml,
// then the files it includes. Every key is documented in docs/CONFIG.md.
//
//   includes = ["extra.toml", "conf.d/"]   # files, or directories of *.toml
//
// Includes are relative to the including file and applied after it, in
// order (a directory's *.toml files in name order); included files may
// include more. Cycles, missing includes, unknown keys and bad values are
// errors naming the file, the key and what is allowed.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::platform {

struct Config {
  struct Daemon {
    std::string log_level = "info";  // trace|debug|info|warn|error|off
    uint32_t executor_threads = 0;   // 0: one per CPU
    // SIGTERM: how long replicas get to stop before the daemon exits anyway.
    std::chrono::milliseconds shutdown_grace{10'000};
  } daemon;
  struct Alme {
    uint64_t max_frame_bytes = 16u << 20;
    uint32_t max_connections = 256;
    uint32_t max_calls = 1024;                       // in-flight calls, all clients
    uint32_t max_calls_per_connection = 64;          // in-flight calls, one client
    uint32_t call_threads = 64;                      // threads running guest calls
    std::chrono::milliseconds idle_timeout{60'000};  // 0: never
  } alme;
  // Defaults for deployments that set nothing (manifest and overrides win).
  struct Limits {
    uint64_t fuel = 0;  // 0: unlimited
    uint64_t max_memory_bytes = 256ull << 20;
    std::chrono::milliseconds timeout{0};  // 0: no deadline
    uint32_t max_replicas_per_deployment = 10000;
    // Platform budgets (docs/LIMITS.md "Budgets"), checked before a start or
    // scale changes anything. Guest memory counts every started replica at
    // its cap (max_memory x its linear memories) plus the host memory it
    // can cause (log ring). 0 = half the physical RAM.
    uint64_t total_guest_memory = 0;
    // Each AOT memory reserves 8 GiB of address space: 8192 keep the 128 TiB
    // user address space half free (the highest value allowed).
    uint32_t total_replicas = 8192;
    uint32_t total_threads = 2048;  // command replicas hold one thread each
    // Largest module binary `install` and the hot-deploy folder read.
    uint64_t max_module_bytes = 256ull << 20;
  } limits;
  struct Logs {
    uint32_t ring_lines = 1000;           // per replica, in memory
    uint64_t ring_bytes = 256u << 10;     // per replica, in memory (lines cut at 16 KiB)
    uint64_t file_max_bytes = 10u << 20;  // per log file before rotation
    uint32_t file_count = 3;              // rotated files kept
  } logs;
  // Worker processes (docs/WORKER.md): where `isolation = "worker"`
  // deployments run, one process per group.
  struct Worker {
    std::string path;  // the arcella-worker executable; empty: beside the daemon's
    // Ids a worker drops to when the daemon runs as root (else ignored).
    uint32_t uid = 65534;
    uint32_t gid = 65534;
    // Linear-memory budget cap per worker (its replicas' caps summed, then
    // capped by this). 0 = half the physical RAM.
    uint64_t memory_cap = 0;
    // A call this long past its deadline (or cancel) ends its worker; a
    // worker that does not stop within it is killed.
    std::chrono::milliseconds grace{2000};
  } worker;
  // The HTTP ingress (docs/HTTP.md): serves the deployments whose
  // components export wasi:http/incoming-handler.
  struct Http {
    // "ADDRESS:PORT" (port 0: any free one); "" = no ingress. Loopback by
    // default, as Spin's; a port in use is logged and HTTP not served.
    std::string listen = "127.0.0.1:8080";
    uint32_t max_connections = 256;
    // Reading one request (its header and body) must finish within this.
    std::chrono::milliseconds read_timeout{10'000};
  } http;
  struct Deploy {
    bool hot_deploy = true;
    uint32_t scan_interval_ms = 1000;
  } deploy;
  // What any deployment may be granted (grants.h, docs/SECURITY.md).
  // Deny by default: no directory may be granted until listed here. Entries
  // are absolute host directories; a grant must lie at or below one (both
  // compared after resolving symlinks). No grant may ever contain or lie
  // inside the daemon home, whatever is listed.
  struct Policy {
    std::vector<std::string> allow_dirs;             // grantable read-write or read-only
    std::vector<std::string> allow_dirs_ro;          // grantable read-only only
    std::vector<std::string> hot_deploy_allow_dirs;  // what deploy/ files may grant (also
                                                     // bounded by the two lists above)
    bool hot_deploy_allow_env = false;               // deploy/ files may set env
  } policy;

  // Files applied, in order (for `status` and debugging).
  std::vector<std::string> sources;
  // "section.key" -> file that set it last (keys left at defaults absent).
  std::map<std::string, std::string> origin;
};

// Loads `path` and its includes over the defaults. A missing `path` yields
// the defaults (sources empty).
Result<Config> LoadConfig(const std::string& path);

// Applies one TOML text (no includes allowed) over `base`; for tests and
// ALME-supplied snippets. `file` names the text in messages.
Result<Config> ApplyConfigText(const Config& base, std::string_view text, const std::string& file);

// The commented default arcella.toml (every key, at its default).
std::string DefaultConfigText();

// Writes DefaultConfigText() to `path` (0600) if it does not exist yet;
// sets *written accordingly.
Status WriteDefaultConfigIfMissing(const std::string& path, bool* written = nullptr);

}  // namespace arcella::platform
