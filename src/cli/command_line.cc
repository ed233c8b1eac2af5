#include "cli/command_line.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <CLI/CLI.hpp>

#include "cli/exit_codes.h"

namespace arcella::cli {
namespace {

namespace fs = std::filesystem;

// A failure while turning parsed options into a request.
struct BuildError : std::runtime_error {
  BuildError(int code, const std::string& m) : std::runtime_error(m), exit_code(code) {}
  int exit_code;
};

std::string Absolute(const std::string& path) {
  std::error_code ec;
  fs::path abs = fs::absolute(path, ec);
  if (ec) throw BuildError(kExitInvalid, path + ": " + ec.message());
  return abs.lexically_normal().string();
}

// Reads a local file the daemon gets as text (deployment or manifest TOML).
// Reads a small local file (a manifest or deployment file) for the request.
// Only regular files, at most kMaxLocalFile bytes: /dev/zero, a FIFO or a
// huge file gets a clear error instead of filling the CLI's memory or hanging.
constexpr size_t kMaxLocalFile = 1u << 20;  // the daemon's TOML cap

std::string ReadLocalFile(const std::string& path, const char* what) {
  const std::string name = std::string(what) + " " + path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    if (errno == ENOENT) throw BuildError(kExitInvalid, name + ": no such file");
    throw BuildError(kExitInvalid, "cannot open " + name + ": " + strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0)
    throw BuildError(kExitInvalid, "cannot stat " + name + ": " + strerror(errno));
  if (S_ISDIR(st.st_mode)) throw BuildError(kExitInvalid, name + ": is a directory");
  if (!S_ISREG(st.st_mode))
    throw BuildError(kExitInvalid, name + ": not a regular file (" +
                                       (S_ISCHR(st.st_mode)    ? "a character device"
                                        : S_ISFIFO(st.st_mode) ? "a FIFO"
                                        : S_ISSOCK(st.st_mode) ? "a socket"
                                        : S_ISBLK(st.st_mode)  ? "a block device"
                                                               : "a special file") +
                                       ")");
  auto too_big = [&](uint64_t n) {
    return BuildError(kExitInvalid, name + ": " + std::to_string(n) + " bytes; at most " +
                                        std::to_string(kMaxLocalFile) + " bytes are accepted");
  };
  if (static_cast<uint64_t>(st.st_size) > kMaxLocalFile) throw too_big(st.st_size);
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw BuildError(kExitInvalid, "cannot read " + name + ": " + strerror(errno));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxLocalFile) throw too_big(out.size());  // grew while read
  }
  return out;
}

// Subcommand-local option values. CLI11 binds options to these addresses.
struct Values {
  // install
  std::string path, manifest, tier;
  bool force = false;
  bool wit = false;                // inspect --wit
  std::vector<std::string> links;  // deploy --link IMPORT=DEPLOYMENT
  std::string import, provider;    // link / unlink
  // deploy / lifecycle
  std::string target, file, group, isolation, max_memory, timeout, restart, http_route;
  int64_t replicas = 0;
  uint64_t fuel = 0;
  bool trusted = false;
  std::vector<std::string> dirs, env;
  // call
  std::string export_name;
  std::vector<std::string> call_args;
  // logs
  bool follow = false;
  int64_t tail = 100;
  // status
  bool verbose = false;
};

Json MemoryValue(const std::string& s) {
  // Plain digits are bytes (an integer on the wire); "64MiB" goes as text.
  if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    try {
      return Json(std::stoull(s));
    } catch (const std::exception&) {
      throw BuildError(kExitUsage, "--max-memory: " + s + " is out of range");
    }
  }
  return Json(s);
}

Json EnvMap(const std::vector<std::string>& env) {
  Json m = Json::object();
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      throw BuildError(kExitUsage, "--env: expected KEY=VALUE, got '" + kv + "'");
    m[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return m;
}

void CheckDirs(const std::vector<std::string>& dirs) {
  for (const std::string& d : dirs) {
    size_t sep = d.find("::");
    if (sep == std::string::npos || sep == 0 || sep + 2 >= d.size())
      throw BuildError(kExitUsage,
                       "--dir: expected HOST::GUEST or HOST::GUEST:ro, got '" + d + "'");
  }
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  if (i == 0 || i > 12) return std::nullopt;
  int64_t n = std::stoll(text.substr(0, i));
  std::string unit = text.substr(i);
  int64_t ms;
  if (unit.empty() || unit == "s") ms = n * 1000;
  else if (unit == "ms") ms = n;
  else if (unit == "m" || unit == "min") ms = n * 60'000;
  else if (unit == "h") ms = n * 3'600'000;
  else return std::nullopt;
  if (ms > int64_t{365} * 24 * 3'600'000) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

std::chrono::milliseconds Invocation::CallTimeout() const {
  if (stream) return std::chrono::milliseconds(0);
  if (global.timeout) return *global.timeout;
  return method == "module.install" ? kDefaultInstallTimeout : kDefaultTimeout;
}

std::chrono::milliseconds Invocation::ConnectTimeout() const {
  if (global.timeout) return *global.timeout;
  return kDefaultTimeout;
}

std::string ResolveSocketPath(const GlobalOptions& global) {
  if (!global.socket.empty()) return global.socket;
  if (!global.home.empty()) return (fs::path(global.home) / "alme").string();
  if (const char* h = std::getenv("ARCELLA_HOME"); h != nullptr && *h != '\0')
    return (fs::path(h) / "alme").string();
  const char* home = std::getenv("HOME");
  return (fs::path(home != nullptr ? home : "") / ".arcella" / "alme").string();
}

ParseOutcome ParseCommandLine(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err) {
  CLI::App app{"arcella-cli: manage a running arcella daemon over ALME", "arcella-cli"};
  app.require_subcommand(1, 1);
  app.fallthrough();  // global options also after the command
#ifdef ARCELLA_VERSION
  bool version = false;
  app.add_flag("--version", version, "print the version and exit");
#endif
  GlobalOptions g;
  Values v;
  app.add_option("--home", g.home,
                 "Arcella home (socket DIR/alme); default $ARCELLA_HOME or ~/.arcella");
  app.add_option("--socket", g.socket, "ALME socket path (overrides --home)");
  app.add_flag("--json", g.json, "print raw results as JSON, one object per line");
  app.add_flag("-q,--quiet", g.quiet, "no progress or confirmation messages");
  std::string timeout_text;
  app.add_option("--timeout", timeout_text,
                 "wait at most DURATION for the daemon (\"30s\", \"500ms\", \"2m\"; 0 = "
                 "forever); default $ARCELLA_TIMEOUT, else 30s (install: 10m). Give it before "
                 "the command: `deploy --timeout` is the deployment's call deadline");

  const std::vector<std::string> kTargetCmds = {"start", "stop", "scale", "undeploy"};
  std::map<std::string, CLI::App*> sub;
  auto add = [&](const std::string& name, const std::string& help) {
    CLI::App* s = app.add_subcommand(name, help);
    sub[name] = s;
    return s;
  };

  CLI::App* install = add("install", "install a module (.wasm) from a file");
  install->add_option("PATH", v.path, "the .wasm file")->required();
  install->add_flag("--force", v.force, "replace an installed module with the same id");
  install->add_option("--manifest", v.manifest,
                      "component manifest TOML (default: NAME.component.toml beside PATH)");
  install
      ->add_option("--tier", v.tier,
                   "auto (default: AOT unless the module needs the interpreter) | aot | interp")
      ->check(CLI::IsMember({"auto", "aot", "interp"}));

  add("list", "list installed modules");
  CLI::App* inspect = add("inspect", "show a module: manifest, imports, exports, hash");
  inspect->add_option("ID", v.target, "module id (name@x.y.z)")->required();
  inspect->add_flag("--wit", v.wit, "also print a component's world as WIT");
  add("remove", "remove an installed module (refused while deployed)")
      ->add_option("ID", v.target, "module id")
      ->required();

  CLI::App* deploy = add("deploy", "create a deployment (stopped) of an installed module");
  CLI::Option* module_opt = deploy->add_option("MODULE_ID", v.target, "module id (name@x.y.z)");
  CLI::Option* file_opt = deploy->add_option("-f,--file", v.file, "a *.deployment.toml file");
  std::vector<CLI::Option*> deploy_flags = {
      deploy->add_option("--group", v.group, "group (default \"default\")"),
      deploy->add_option("--replicas", v.replicas, "number of replicas (default 1)"),
      deploy->add_option("--isolation", v.isolation, "main | worker")
          ->check(CLI::IsMember({"main", "worker"})),
      deploy->add_flag("--trusted", v.trusted, "trusted (isolation main only)"),
      deploy->add_option("--fuel", v.fuel, "fuel (instructions) per run or call"),
      deploy->add_option("--max-memory", v.max_memory, "linear memory cap (bytes, 64MiB, 1GiB)"),
      deploy->add_option("--timeout", v.timeout, "wall-clock limit per run or call (500ms, 2s)"),
      deploy->add_option("--dir", v.dirs, "preopen HOST::GUEST[:ro] (repeatable)")
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
      deploy->add_option("--env", v.env, "guest environment KEY=VALUE (repeatable)")
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
      deploy->add_option("--restart", v.restart, "never | on-failure | always")
          ->check(CLI::IsMember({"never", "on-failure", "always"})),
      deploy->add_option("--http-route", v.http_route,
                         "the path the HTTP ingress serves it under (default /MODULE_NAME)"),
      deploy
          ->add_option("--link", v.links,
                       "link an import to a deployment: IMPORT=DEPLOYMENT (repeatable)")
          ->allow_extra_args(false)
          ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll),
  };

  std::map<std::string, CLI::Option*> group_opts;
  for (const std::string& name : kTargetCmds) {
    CLI::App* s = add(name, name == "start"   ? "start a deployment, or all deployments of a module"
                            : name == "stop"  ? "stop a deployment, or all deployments of a module"
                            : name == "scale" ? "change the number of replicas"
                                              : "stop and delete deployments");
    s->add_option("TARGET", v.target, "deployment id (module@x.y.z/group) or module id")
        ->required();
    group_opts[name] = s->add_option("--group", v.group,
                                     "only the module's deployment in this group");
    if (name == "scale")
      s->add_option("--replicas", v.replicas, "new number of replicas")->required();
    if (name == "stop" || name == "undeploy")
      s->add_flag("--force", v.force, "also stop the deployments that link to it");
  }

  CLI::App* link = add("link", "link a deployment's import to another deployment's export");
  link->add_option("DEPLOYMENT", v.target, "the importing deployment (module@x.y.z/group)")
      ->required();
  link->add_option("IMPORT", v.import, "its import, e.g. example:logger/log@0.1.0")->required();
  link->add_option("PROVIDER", v.provider, "the deployment that exports it")->required();
  CLI::App* unlink = add("unlink", "remove a link of a deployment");
  unlink->add_option("DEPLOYMENT", v.target, "the importing deployment")->required();
  unlink->add_option("IMPORT", v.import, "the linked import")->required();

  CLI::App* status = add("status", "show deployments and their replicas");
  status->add_option("TARGET", v.target, "deployment id or module id");
  status->add_flag("-v,--verbose", v.verbose, "show every replica");

  CLI::App* call = add("call", "call an export of a deployment (one replica, round robin)");
  call->add_option("TARGET", v.target, "deployment id or module id")->required();
  call->add_option("EXPORT", v.export_name, "exported function")->required();
  call->add_option("ARGS", v.call_args, "arguments, typed by the export's signature");
  call->positionals_at_end();

  CLI::App* logs = add("logs", "show captured guest output");
  logs->add_option("TARGET", v.target, "deployment id or module id")->required();
  logs->add_flag("-f,--follow", v.follow, "keep streaming new lines");
  logs->add_option("--tail", v.tail, "lines of history (default 100)")
      ->check(CLI::NonNegativeNumber);

  add("events", "watch state changes (until interrupted)");
  add("ping", "check that the daemon answers");
  add("shutdown", "stop the daemon gracefully");

  if (args.empty()) {
    err << app.help();
    return {std::nullopt, kExitUsage};
  }
  // CLI11 splits a vector argument written as "[a,b]" into a and b; call
  // arguments are WAVE values, where "[1,2]" is one list: such an argument
  // of `call` is marked here and unmarked after parsing.
  constexpr char kVerbatim = '\x1f';
  std::vector<std::string> marked = args;
  for (size_t i = 0, seen_call = 0; i < marked.size(); ++i) {
    const std::string& a = marked[i];
    if (!seen_call && (a == "--home" || a == "--socket" || a == "--timeout")) {
      ++i;  // its value
    } else if (!seen_call && a == "call") {
      seen_call = 1;
    } else if (seen_call && a.size() >= 2 && a.front() == '[' && a.back() == ']') {
      marked[i].insert(marked[i].begin(), kVerbatim);
    }
  }
  std::vector<std::string> reversed(marked.rbegin(), marked.rend());
  try {
#ifdef ARCELLA_VERSION
    app.parse(reversed);
    if (version) {
      out << "arcella-cli " << ARCELLA_VERSION << "\n";
      return {std::nullopt, kExitOk};
    }
#else
    app.parse(reversed);
#endif
  } catch (const CLI::CallForHelp& e) {
    app.exit(e, out, err);
    return {std::nullopt, kExitOk};
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e, out, err);
    return {std::nullopt, kExitOk};
  } catch (const CLI::ParseError& e) {
#ifdef ARCELLA_VERSION
    if (version) {  // `--version` alone: no command needed
      out << "arcella-cli " << ARCELLA_VERSION << "\n";
      return {std::nullopt, kExitOk};
    }
#endif
    err << "arcella-cli: " << e.what() << "\n"
        << "run `arcella-cli --help` (or `arcella-cli COMMAND --help`) for usage\n";
    return {std::nullopt, kExitUsage};
  }

  const char* env_timeout = std::getenv("ARCELLA_TIMEOUT");
  if (timeout_text.empty() && env_timeout && *env_timeout) timeout_text = env_timeout;
  if (!timeout_text.empty()) {
    g.timeout = ParseTimeout(timeout_text);
    if (!g.timeout) {
      err << "arcella-cli: --timeout"
          << (env_timeout && timeout_text == env_timeout ? " (from ARCELLA_TIMEOUT)" : "")
          << " = \"" << timeout_text
          << "\": expected a duration such as 30s, 500ms, 2m or 0 (no timeout)\n";
      return {std::nullopt, kExitUsage};
    }
  }

  Invocation inv;
  inv.global = g;
  inv.verbose = v.verbose;
  std::string name = app.get_subcommands().front()->get_name();
  inv.command = name;
  Json& p = inv.params;
  try {
    if (name == "install") {
      std::error_code ec;
      if (!fs::exists(v.path, ec)) throw BuildError(kExitInvalid, v.path + ": no such file");
      inv.method = "module.install";
      p["path"] = Absolute(v.path);
      p["force"] = v.force;
      if (!v.manifest.empty()) p["manifest"] = ReadLocalFile(v.manifest, "manifest");
      if (!v.tier.empty()) p["tier"] = v.tier;
    } else if (name == "list") {
      inv.method = "module.list";
    } else if (name == "inspect" || name == "remove") {
      inv.method = name == "inspect" ? "module.inspect" : "module.remove";
      p["id"] = v.target;
      if (name == "inspect" && v.wit) p["wit"] = true;
    } else if (name == "deploy") {
      inv.method = "deployment.create";
      bool has_file = file_opt->count() > 0, has_module = module_opt->count() > 0;
      if (has_file == has_module)
        throw BuildError(kExitUsage, "deploy: give either MODULE_ID or -f FILE.deployment.toml");
      if (has_file) {
        for (CLI::Option* o : deploy_flags)
          if (o->count() > 0)
            throw BuildError(kExitUsage,
                             "deploy -f: " + o->get_name() +
                                 " cannot be combined with a deployment file; put it in the file");
        p["toml"] = ReadLocalFile(v.file, "deployment file");
        p["file"] = Absolute(v.file);
      } else {
        p["module_id"] = v.target;
        if (deploy_flags[0]->count()) p["group"] = v.group;
        if (deploy_flags[1]->count()) p["replicas"] = v.replicas;
        Json o = Json::object();
        if (!v.isolation.empty()) o["isolation"] = v.isolation;
        if (v.trusted) o["trusted"] = true;
        if (deploy_flags[4]->count()) o["fuel"] = v.fuel;
        if (!v.max_memory.empty()) o["max_memory"] = MemoryValue(v.max_memory);
        if (!v.timeout.empty()) o["timeout"] = v.timeout;
        if (!v.dirs.empty()) {
          CheckDirs(v.dirs);
          o["dirs"] = v.dirs;
        }
        if (!v.env.empty()) o["env"] = EnvMap(v.env);
        if (!v.restart.empty()) o["restart"] = v.restart;
        if (!v.http_route.empty()) o["http_route"] = v.http_route;
        if (!o.empty()) p["overrides"] = o;
        if (!v.links.empty()) {
          Json links = Json::object();
          for (const std::string& l : v.links) {
            size_t eq = l.rfind('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == l.size())
              throw BuildError(kExitUsage, "deploy --link \"" + l +
                                               "\": expected IMPORT=DEPLOYMENT, e.g. "
                                               "example:logger/log@0.1.0=logger@0.1.0/core");
            links[l.substr(0, eq)] = l.substr(eq + 1);
          }
          p["links"] = links;
        }
      }
    } else if (std::find(kTargetCmds.begin(), kTargetCmds.end(), name) != kTargetCmds.end()) {
      inv.method = name == "undeploy" ? "deployment.remove" : "deployment." + name;
      p["target"] = v.target;
      if (group_opts[name]->count()) p["group"] = v.group;
      if (name == "scale") p["replicas"] = v.replicas;
      if ((name == "stop" || name == "undeploy") && v.force) p["force"] = true;
    } else if (name == "link" || name == "unlink") {
      inv.method = "deployment." + name;
      p["id"] = v.target;
      p["import"] = v.import;
      if (name == "link") p["provider"] = v.provider;
    } else if (name == "status") {
      inv.method = "status";
      if (!v.target.empty()) p["target"] = v.target;
    } else if (name == "call") {
      inv.method = "call";
      p["target"] = v.target;
      p["export"] = v.export_name;
      // CLI11 keeps a "--" separator among the positionals; it is not an argument.
      if (auto dd = std::find(v.call_args.begin(), v.call_args.end(), "--");
          dd != v.call_args.end())
        v.call_args.erase(dd);
      // Global flags written after the arguments (no value starts with "--").
      std::vector<std::string> call_args;
      for (std::string& a : v.call_args) {
        if (a == "--json") inv.global.json = true;
        else if (a == "-q" || a == "--quiet") inv.global.quiet = true;
        else call_args.push_back(!a.empty() && a[0] == kVerbatim ? a.substr(1) : std::move(a));
      }
      v.call_args = std::move(call_args);
      p["args"] = v.call_args;
    } else if (name == "logs") {
      inv.method = "logs";
      p["target"] = v.target;
      p["follow"] = v.follow;
      p["tail"] = v.tail;
      inv.stream = v.follow;
    } else if (name == "events") {
      inv.method = "events.watch";
      inv.stream = true;
    } else if (name == "ping") {
      inv.method = "ping";
    } else if (name == "shutdown") {
      inv.method = "daemon.shutdown";
    }
  } catch (const BuildError& e) {
    err << "arcella-cli: " << e.what() << "\n";
    return {std::nullopt, e.exit_code};
  }
  return {std::move(inv), kExitOk};
}

}  // namespace arcella::cli
