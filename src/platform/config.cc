#include "platform/config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <set>

#include "platform/toml_reader.h"

namespace arcella::platform {
namespace {

using toml_internal::Reader;

std::string Ms(std::chrono::milliseconds t) { return "\"" + std::to_string(t.count()) + "ms\""; }

Status UInt(const Reader& r, const toml::node& n, const std::string& key, uint64_t min,
            uint64_t max, uint64_t* out) {
  std::string want = "expected an integer from " + std::to_string(min) + " to " +
                     std::to_string(max);
  if (!n.is_integer()) return r.Bad(n, key, want);
  int64_t v = *n.value<int64_t>();
  if (v < 0 || static_cast<uint64_t>(v) < min || static_cast<uint64_t>(v) > max)
    return r.Bad(n, key, want);
  *out = static_cast<uint64_t>(v);
  return Status::Ok();
}

Status Size(const Reader& r, const toml::node& n, const std::string& key, uint64_t min,
            uint64_t max, uint64_t* out) {
  std::optional<uint64_t> v;
  ARCELLA_RETURN_IF_ERROR(r.ByteSize(n, key, &v));
  if (*v < min || *v > max)
    return r.Bad(n, key,
                 "expected a size from " + std::to_string(min) + " to " + std::to_string(max) +
                     " bytes");
  *out = *v;
  return Status::Ok();
}

// A list of absolute directories (policy keys); "" and relative paths are refused.
Status DirList(const Reader& r, const toml::node& n, const std::string& key,
               std::vector<std::string>* out) {
  std::vector<std::string> v;
  ARCELLA_RETURN_IF_ERROR(r.StringArray(n, key, &v));
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i][0] != '/')
      return r.Bad(*n.as_array()->get(i), key + "[" + std::to_string(i) + "]",
                   "expected an absolute host directory, e.g. \"/srv/data\"");
  *out = std::move(v);
  return Status::Ok();
}

std::string ShowList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", \"" : "\"") + v[i] + "\"";
  return out + "]";
}

// A duration such as "10s"; "0", "0s" or "0ms" is zero.
Status DurationOrZero(const Reader& r, const toml::node& n, const std::string& key,
                      std::chrono::milliseconds* out) {
  if (n.is_string() && (*n.value<std::string>() == "0s" || *n.value<std::string>() == "0ms" ||
                        *n.value<std::string>() == "0")) {
    *out = std::chrono::milliseconds(0);
    return Status::Ok();
  }
  std::optional<std::chrono::milliseconds> t;
  ARCELLA_RETURN_IF_ERROR(r.Duration(n, key, &t));
  *out = *t;
  return Status::Ok();
}

// One configuration key: where it lives, how to read it, how to print it.
struct KeyDef {
  const char* section;
  const char* key;
  const char* doc;
  Status (*apply)(const Reader&, const toml::node&, const std::string&, Config*);
  std::string (*show)(const Config&);
};

const KeyDef kKeys[] = {
    {"daemon", "log_level", "trace, debug, info, warn, error or off",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       std::string s;
       ARCELLA_RETURN_IF_ERROR(r.String(n, k, &s));
       static const char* kLevels[] = {"trace", "debug", "info", "warn", "error", "off"};
       for (const char* l : kLevels)
         if (s == l) {
           c->daemon.log_level = s;
           return Status::Ok();
         }
       return r.Bad(n, k,
                    "expected \"trace\", \"debug\", \"info\", \"warn\", \"error\" or \"off\"");
     },
     [](const Config& c) { return "\"" + c.daemon.log_level + "\""; }},
    {"daemon", "executor_threads", "threads running replicas; 0 = one per CPU",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 0, 1024, &v));
       c->daemon.executor_threads = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.daemon.executor_threads); }},
    {"daemon", "shutdown_grace",
     "on SIGTERM, how long replicas get to stop before the daemon exits anyway (\"10s\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       ARCELLA_RETURN_IF_ERROR(DurationOrZero(r, n, k, &c->daemon.shutdown_grace));
       if (c->daemon.shutdown_grace > std::chrono::hours(1))
         return r.Bad(n, k, "expected a duration up to 1h");
       return Status::Ok();
     },
     [](const Config& c) { return Ms(c.daemon.shutdown_grace); }},
    {"alme", "max_frame_bytes", "largest ALME frame accepted (bytes or \"16MiB\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return Size(r, n, k, 1024, 1ull << 30, &c->alme.max_frame_bytes);
     },
     [](const Config& c) { return std::to_string(c.alme.max_frame_bytes); }},
    {"alme", "max_connections", "concurrent ALME clients; more are refused",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 65536, &v));
       c->alme.max_connections = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.alme.max_connections); }},
    {"alme", "max_calls",
     "guest calls in flight (queued or running) over all clients; more get "
     "`unavailable`",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 1'000'000, &v));
       c->alme.max_calls = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.alme.max_calls); }},
    {"alme", "max_calls_per_connection",
     "guest calls in flight on one connection; more get "
     "`unavailable`",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 1'000'000, &v));
       c->alme.max_calls_per_connection = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.alme.max_calls_per_connection); }},
    {"alme", "call_threads", "threads running guest calls (apart from management requests)",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 4096, &v));
       c->alme.call_threads = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.alme.call_threads); }},
    {"alme", "idle_timeout",
     "close a connection with nothing in flight for this long (\"60s\"); \"0s\" = never",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return DurationOrZero(r, n, k, &c->alme.idle_timeout);
     },
     [](const Config& c) { return Ms(c.alme.idle_timeout); }},
    {"limits", "fuel", "default fuel per run/call; 0 = unlimited",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return UInt(r, n, k, 0, INT64_MAX, &c->limits.fuel);
     },
     [](const Config& c) { return std::to_string(c.limits.fuel); }},
    {"limits", "max_memory", "default linear-memory cap per replica (bytes or \"256MiB\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return Size(r, n, k, 65536, 1ull << 48, &c->limits.max_memory_bytes);
     },
     [](const Config& c) { return std::to_string(c.limits.max_memory_bytes); }},
    {"limits", "timeout", "default wall-clock deadline per call/run (\"2s\"); \"0s\" = none",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       if (n.is_string() && (*n.value<std::string>() == "0s" || *n.value<std::string>() == "0ms" ||
                             *n.value<std::string>() == "0")) {
         c->limits.timeout = std::chrono::milliseconds(0);
         return Status::Ok();
       }
       std::optional<std::chrono::milliseconds> t;
       ARCELLA_RETURN_IF_ERROR(r.Duration(n, k, &t));
       c->limits.timeout = *t;
       return Status::Ok();
     },
     [](const Config& c) { return Ms(c.limits.timeout); }},
    {"limits", "max_replicas_per_deployment", "upper bound for replicas of one deployment",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 1000000, &v));
       c->limits.max_replicas_per_deployment = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.limits.max_replicas_per_deployment); }},
    {"limits", "total_guest_memory",
     "platform budget: guest memory of all started replicas (bytes or \"8GiB\"); 0 = the "
     "physical RAM, at least 8GiB",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       if ((n.is_integer() && *n.value<int64_t>() == 0) ||
           (n.is_string() && *n.value<std::string>() == "0")) {
         c->limits.total_guest_memory = 0;
         return Status::Ok();
       }
       return Size(r, n, k, 64ull << 20, 1ull << 50, &c->limits.total_guest_memory);
     },
     [](const Config& c) { return std::to_string(c.limits.total_guest_memory); }},
    {"limits", "total_replicas", "platform budget: replicas started at once, all deployments",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 8192, &v));
       c->limits.total_replicas = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.limits.total_replicas); }},
    {"limits", "total_threads", "platform budget: threads of command replicas (one each)",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 0, 100000, &v));
       c->limits.total_threads = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.limits.total_threads); }},
    {"limits", "max_module_bytes",
     "largest module binary install and deploy/ read (bytes or \"256MiB\"); larger files are refused",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return Size(r, n, k, 1024, 1ull << 40, &c->limits.max_module_bytes);
     },
     [](const Config& c) { return std::to_string(c.limits.max_module_bytes); }},
    {"logs", "ring_lines", "guest output lines kept in memory per replica",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 1000000, &v));
       c->logs.ring_lines = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.logs.ring_lines); }},
    {"logs", "ring_bytes", "bytes of guest output kept in memory per replica (\"256KiB\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return Size(r, n, k, 4096, 64ull << 20, &c->logs.ring_bytes);
     },
     [](const Config& c) { return std::to_string(c.logs.ring_bytes); }},
    {"logs", "file_max_bytes", "size at which a log file is rotated (bytes or \"10MiB\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return Size(r, n, k, 4096, 1ull << 40, &c->logs.file_max_bytes);
     },
     [](const Config& c) { return std::to_string(c.logs.file_max_bytes); }},
    {"logs", "file_count", "rotated log files kept per log",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 1000, &v));
       c->logs.file_count = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.logs.file_count); }},
    {"http", "listen",
     "the HTTP ingress's \"ADDRESS:PORT\" (port 0: any free one); \"\" = no ingress",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       std::string s;
       ARCELLA_RETURN_IF_ERROR(r.String(n, k, &s));
       size_t colon = s.rfind(':');
       if (!s.empty() && (colon == std::string::npos || colon == 0 || colon + 1 == s.size() ||
                          s.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
                          s.size() - colon - 1 > 5 || std::stoul(s.substr(colon + 1)) > 65535))
         return r.Bad(n, k, "expected \"ADDRESS:PORT\" (e.g. \"127.0.0.1:8080\") or \"\"");
       c->http.listen = s;
       return Status::Ok();
     },
     [](const Config& c) { return "\"" + c.http.listen + "\""; }},
    {"http", "max_connections", "HTTP connections open at once; more wait to be accepted",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 1, 65536, &v));
       c->http.max_connections = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.http.max_connections); }},
    {"http", "read_timeout", "how long reading one request (header and body) may take",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       ARCELLA_RETURN_IF_ERROR(DurationOrZero(r, n, k, &c->http.read_timeout));
       if (c->http.read_timeout < std::chrono::milliseconds(100) ||
           c->http.read_timeout > std::chrono::minutes(10))
         return r.Bad(n, k, "expected a duration from 100ms to 10min");
       return Status::Ok();
     },
     [](const Config& c) { return Ms(c.http.read_timeout); }},
    {"worker", "path", "the arcella-worker executable; \"\" = the one beside the daemon",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       std::string s;
       ARCELLA_RETURN_IF_ERROR(r.String(n, k, &s));
       if (!s.empty() && s[0] != '/') return r.Bad(n, k, "expected an absolute path or \"\"");
       c->worker.path = s;
       return Status::Ok();
     },
     [](const Config& c) { return "\"" + c.worker.path + "\""; }},
    {"worker", "uid", "user id workers drop to when the daemon runs as root",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 0, 4294967294ull, &v));
       c->worker.uid = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.worker.uid); }},
    {"worker", "gid", "group id workers drop to when the daemon runs as root",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 0, 4294967294ull, &v));
       c->worker.gid = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.worker.gid); }},
    {"worker", "memory_cap", "linear-memory budget cap per worker; 0 = half the physical RAM",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       if (n.is_integer() && *n.value<int64_t>() == 0) {
         c->worker.memory_cap = 0;
         return Status::Ok();
       }
       return Size(r, n, k, 1ull << 20, 1ull << 50, &c->worker.memory_cap);
     },
     [](const Config& c) { return std::to_string(c.worker.memory_cap); }},
    {"worker", "grace", "how long past a deadline or stop a worker may take before it is killed",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       ARCELLA_RETURN_IF_ERROR(DurationOrZero(r, n, k, &c->worker.grace));
       if (c->worker.grace < std::chrono::milliseconds(10) ||
           c->worker.grace > std::chrono::minutes(10))
         return r.Bad(n, k, "expected a duration from 10ms to 10min");
       return Status::Ok();
     },
     [](const Config& c) { return Ms(c.worker.grace); }},
    {"deploy", "hot_deploy", "watch deploy/ and install/deploy/start what is dropped there",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       std::optional<bool> b;
       ARCELLA_RETURN_IF_ERROR(r.Bool(n, k, &b));
       c->deploy.hot_deploy = *b;
       return Status::Ok();
     },
     [](const Config& c) { return std::string(c.deploy.hot_deploy ? "true" : "false"); }},
    {"deploy", "scan_interval_ms", "how often deploy/ is scanned (milliseconds)",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       uint64_t v;
       ARCELLA_RETURN_IF_ERROR(UInt(r, n, k, 10, 3600000, &v));
       c->deploy.scan_interval_ms = static_cast<uint32_t>(v);
       return Status::Ok();
     },
     [](const Config& c) { return std::to_string(c.deploy.scan_interval_ms); }},
    {"policy", "allow_dirs",
     "host directories (and what is below them) deployments may be granted, read-write or\n"
     "# read-only; empty: none. Never the daemon home, a directory inside it or one containing it",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return DirList(r, n, k, &c->policy.allow_dirs);
     },
     [](const Config& c) { return ShowList(c.policy.allow_dirs); }},
    {"policy", "allow_dirs_ro", "host directories deployments may be granted read-only (\":ro\")",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return DirList(r, n, k, &c->policy.allow_dirs_ro);
     },
     [](const Config& c) { return ShowList(c.policy.allow_dirs_ro); }},
    {"policy", "hot_deploy_allow_dirs",
     "directories a *.deployment.toml in deploy/ may grant (within the lists above); empty: none",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       return DirList(r, n, k, &c->policy.hot_deploy_allow_dirs);
     },
     [](const Config& c) { return ShowList(c.policy.hot_deploy_allow_dirs); }},
    {"policy", "hot_deploy_allow_env", "a *.deployment.toml in deploy/ may set env",
     [](const Reader& r, const toml::node& n, const std::string& k, Config* c) {
       std::optional<bool> b;
       ARCELLA_RETURN_IF_ERROR(r.Bool(n, k, &b));
       c->policy.hot_deploy_allow_env = *b;
       return Status::Ok();
     },
     [](const Config& c) { return std::string(c.policy.hot_deploy_allow_env ? "true" : "false"); }},
};

const char* kSections[] = {"daemon", "alme",   "limits", "logs",
                           "worker", "deploy", "policy", "http"};

// Applies the keys of `doc` (not `includes`) to `cfg`.
Status ApplyTable(const Reader& r, const toml::table& doc, Config* cfg) {
  for (auto&& [k, v] : doc) {
    std::string sec(k.str());
    if (sec == "includes") continue;
    bool known = std::find_if(std::begin(kSections), std::end(kSections),
                              [&](const char* s) { return sec == s; }) != std::end(kSections);
    if (!known)
      return Status::InvalidArgument(
          r.Where(k.source()) + ": unknown key " + sec +
          "; allowed: includes, [daemon], [alme], [limits], [logs], [worker], [deploy], [policy], "
          "[http]");
    const toml::table* t = v.as_table();
    if (!t) return r.Bad(v, sec, "expected a table [" + sec + "]");
    for (auto&& [kk, vv] : *t) {
      std::string key(kk.str());
      const KeyDef* def = nullptr;
      std::string allowed;
      for (const KeyDef& d : kKeys) {
        if (sec != d.section) continue;
        allowed += (allowed.empty() ? "" : ", ") + std::string(d.key);
        if (key == d.key) def = &d;
      }
      if (!def)
        return Status::InvalidArgument(r.Where(kk.source()) + ": unknown key " + sec + "." + key +
                                       "; allowed: " + allowed);
      ARCELLA_RETURN_IF_ERROR(def->apply(r, vv, sec + "." + key, cfg));
      cfg->origin[sec + "." + key] = r.file();
    }
  }
  return Status::Ok();
}

std::string Dirname(const std::string& p) {
  size_t s = p.find_last_of('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

std::string RealPath(const std::string& p) {
  char buf[PATH_MAX];
  return ::realpath(p.c_str(), buf) ? std::string(buf) : p;
}

// Applies `path` then its includes. `stack` holds the files being applied
// (cycle detection).
Status ApplyFile(const std::string& path, Config* cfg, std::vector<std::string>* stack) {
  std::string real = RealPath(path);
  if (std::find(stack->begin(), stack->end(), real) != stack->end()) {
    std::string chain;
    for (const std::string& s : *stack) chain += s + " -> ";
    return Status::InvalidArgument("include cycle: " + chain + real);
  }
  ARCELLA_ASSIGN_OR_RETURN(std::string text, toml_internal::ReadText(path));
  Reader r(path);
  ARCELLA_ASSIGN_OR_RETURN(toml::table doc, r.Parse(text));
  ARCELLA_RETURN_IF_ERROR(ApplyTable(r, doc, cfg));
  cfg->sources.push_back(path);
  const toml::node* inc = doc.get("includes");
  if (!inc) return Status::Ok();
  std::vector<std::string> includes;
  ARCELLA_RETURN_IF_ERROR(r.StringArray(*inc, "includes", &includes));
  stack->push_back(real);
  for (size_t i = 0; i < includes.size(); ++i) {
    std::string target = includes[i][0] == '/' ? includes[i] : Dirname(path) + "/" + includes[i];
    struct stat st;
    if (::stat(target.c_str(), &st) != 0)
      return r.Bad(*inc->as_array()->get(i), "includes[" + std::to_string(i) + "]",
                   "cannot open " + target + ": " + std::strerror(errno));
    std::vector<std::string> files;
    if (S_ISDIR(st.st_mode)) {
      DIR* d = ::opendir(target.c_str());
      if (!d) return Status::IoError("cannot list " + target + ": " + std::strerror(errno));
      while (dirent* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n.size() > 5 && n.substr(n.size() - 5) == ".toml" && n[0] != '.')
          files.push_back(target + (target.back() == '/' ? "" : "/") + n);
      }
      ::closedir(d);
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(target);
    }
    for (const std::string& f : files) ARCELLA_RETURN_IF_ERROR(ApplyFile(f, cfg, stack));
  }
  stack->pop_back();
  return Status::Ok();
}

}  // namespace

Result<Config> LoadConfig(const std::string& path) {
  Config cfg;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return cfg;
    return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  std::vector<std::string> stack;
  ARCELLA_RETURN_IF_ERROR(ApplyFile(path, &cfg, &stack));
  return cfg;
}

Result<Config> ApplyConfigText(const Config& base, std::string_view text, const std::string& file) {
  Config cfg = base;
  Reader r(file);
  ARCELLA_ASSIGN_OR_RETURN(toml::table doc, r.Parse(text));
  if (doc.contains("includes"))
    return Status::InvalidArgument(file + ": includes are only allowed in files (LoadConfig)");
  ARCELLA_RETURN_IF_ERROR(ApplyTable(r, doc, &cfg));
  cfg.sources.push_back(file);
  return cfg;
}

std::string DefaultConfigText() {
  Config defaults;
  std::string out =
      "# Arcella daemon configuration (docs/CONFIG.md).\n"
      "# Every key is shown at its built-in default, commented out; uncomment to change.\n"
      "# Sizes take bytes or units (\"64MiB\", \"1GB\"); durations take ms/s/m/h (\"2s\").\n"
      "#\n"
      "# More files or directories of *.toml, relative to this file, applied after it:\n"
      "# includes = [\"conf.d/\"]\n";
  std::string section;
  for (const KeyDef& d : kKeys) {
    if (section != d.section) {
      section = d.section;
      out += "\n[" + section + "]\n";
    }
    out += "# " + std::string(d.doc) + "\n# " + d.key + " = " + d.show(defaults) + "\n";
  }
  return out;
}

Status WriteDefaultConfigIfMissing(const std::string& path, bool* written) {
  if (written) *written = false;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();
    return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  }
  std::string text = DefaultConfigText();
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int e = errno;
  ok = (::fsync(fd) == 0) && ok;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Status::IoError("cannot write " + path + ": " + std::strerror(e));
  }
  if (written) *written = true;
  return Status::Ok();
}

}  // namespace arcella::platform
