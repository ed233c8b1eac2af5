#include "cli/format.h"

#include <cstdio>
#include <ctime>
#include <optional>

#include "cli/table.h"

namespace arcella::cli {
std::string DumpJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

namespace {

// A scalar as text: strings as-is, numbers and booleans printed, else "-".
std::string Str(const Json& j, const char* key) {
  if (!j.is_object()) return "-";
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return DumpJson(*it);
}

const Json& Arr(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  if (!j.is_object()) return kEmpty;
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : kEmpty;
}

std::string Join(const Json& arr, const char* sep) {
  std::string s;
  for (const Json& e : arr) {
    if (!s.empty()) s += sep;
    s += e.is_string() ? e.get<std::string>() : DumpJson(e);
  }
  return s.empty() ? "-" : s;
}

// A non-negative integer member (MessagePack may decode it signed or not).
std::optional<uint64_t> UInt(const Json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  if (it == j.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  int64_t v = it->get<int64_t>();
  if (v < 0) return std::nullopt;
  return static_cast<uint64_t>(v);
}

std::string SizeOf(const Json& j, const char* key) {
  if (auto v = UInt(j, key)) return FormatSize(*v);
  return Str(j, key);
}

std::string UptimeOf(const Json& j) {
  if (auto v = UInt(j, "uptime_ms")) return FormatUptime(*v);
  return "-";
}

size_t ReadyReplicas(const Json& d) {
  if (auto ready = UInt(d, "ready")) return *ready;  // the daemon's own count, if sent
  size_t n = 0;
  for (const Json& r : Arr(d, "replicas_detail"))
    if (Str(r, "state") == "active") ++n;
  return n;
}

bool HasFailure(const Json& d) {
  if (Str(d, "state") == "failed") return true;
  for (const Json& r : Arr(d, "replicas_detail"))
    if (Str(r, "state") == "failed") return true;
  return false;
}

std::string ReplicaDetail(const Json& d) {
  Table t({"REPLICA", "STATE", "RESTARTS", "EXIT", "LAST ERROR"});
  for (const Json& r : Arr(d, "replicas_detail"))
    t.AddRow({"#" + Str(r, "index"), Str(r, "state"), Str(r, "restarts"), Str(r, "exit_code"),
              Str(r, "last_error")});
  if (t.empty()) return "  (no replicas)\n";
  return t.Render("  ");
}

bool True(const Json& j, const char* key) {
  auto it = j.is_object() ? j.find(key) : j.end();
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

// A deployment's grants (docs/ALME.md "grants"), one per line, each line
// starting with `indent`; "" when it was granted and requested nothing.
std::string GrantLines(const Json& g, const std::string& indent) {
  std::string out;
  for (const Json& dir : Arr(g, "dirs")) {
    std::string line = indent + "dir " + Str(dir, "host");
    if (Str(dir, "resolved") != Str(dir, "host")) line += " (" + Str(dir, "resolved") + ")";
    out += line + " -> " + Str(dir, "guest") +
           (True(dir, "read_only") ? " read-only" : " read-write") + "\n";
  }
  if (!Arr(g, "env").empty()) out += indent + "env " + Join(Arr(g, "env"), ", ") + "\n";
  for (const Json& r : Arr(g, "requested_not_granted"))
    out += indent + "not granted (requested by the module): dir " +
           (r.is_string() ? r.get<std::string>() : r.dump()) + "\n";
  if (std::string why = Str(g, "refused"); why != "-") out += indent + "refused: " + why + "\n";
  return out;
}

const Json& Member(const Json& j, const char* key) {
  static const Json kNone = Json::object();
  return j.is_object() && j.contains(key) ? j[key] : kNone;
}

// "grants of ID (origin operator):" and its lines, or "".
std::string GrantBlock(const std::string& id, const Json& g) {
  std::string lines = GrantLines(g, "  ");
  if (lines.empty()) return "";
  return "grants of " + id + " (made by the " + Str(g, "origin") + "):\n" + lines;
}

// "started http-logger@0.1.0/web: active, 10/10 replicas ready"
std::string DeploymentLine(const std::string& verb, const Json& d) {
  return verb + " " + Str(d, "id") + ": " + Str(d, "state") + ", " +
         std::to_string(ReadyReplicas(d)) + "/" + Str(d, "replicas") + " replicas ready\n";
}

std::string Ts(const Json& item) {
  auto it = item.is_object() ? item.find("ts_ms") : item.end();
  if (it == item.end() || !it->is_number()) return "-";
  int64_t ms = it->get<int64_t>();
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  localtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

std::string FormatSize(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string FormatUptime(uint64_t ms) {
  char buf[32];
  uint64_t s = ms / 1000;
  if (s == 0) return std::to_string(ms) + "ms";
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lum%02lus", (unsigned long)(s / 60), (unsigned long)(s % 60));
  else if (s < 86400)
    std::snprintf(buf, sizeof buf, "%luh%02lum", (unsigned long)(s / 3600),
                  (unsigned long)(s / 60 % 60));
  else
    std::snprintf(buf, sizeof buf, "%lud%02luh", (unsigned long)(s / 86400),
                  (unsigned long)(s / 3600 % 24));
  return buf;
}

std::string FormatStatus(const Json& result, bool verbose) {
  const Json& deps = Arr(result, "deployments");
  std::string out;
  if (verbose && result.contains("daemon")) {
    const Json& d = result["daemon"];
    out += "daemon: pid " + Str(d, "pid") + ", up " + UptimeOf(d) + ", home " + Str(d, "home") +
           "\n";
  }
  if (deps.empty()) return out + "no deployments\n";
  Table t({"DEPLOYMENT", "MODULE", "GROUP", "STATE", "REPLICAS", "ISOLATION"});
  for (const Json& d : deps) {
    std::string state = Str(d, "state");
    std::string desired = Str(d, "desired");
    // Show where the deployment is heading while it is not there yet.
    if ((state == "starting" && desired == "stopped") ||
        (state == "stopping" && desired == "started"))
      state += " (desired " + desired + ")";
    t.AddRow({Str(d, "id"), Str(d, "module_id"), Str(d, "group"), state,
              std::to_string(ReadyReplicas(d)) + "/" + Str(d, "replicas"), Str(d, "isolation")});
  }
  out += t.Render();
  // Links: import -> provider (the provider's state).
  Table links({"DEPLOYMENT", "IMPORT", "PROVIDER", "PROVIDER STATE"});
  for (const Json& d : deps)
    for (const Json& l : Arr(d, "links"))
      links.AddRow({Str(d, "id"), Str(l, "import"), Str(l, "provider"), Str(l, "state")});
  if (!links.empty()) out += "\nlinks:\n" + links.Render("  ");
  // HTTP: the route each started deployment serving HTTP is served under.
  Table http({"DEPLOYMENT", "HTTP ROUTE"});
  for (const Json& d : deps)
    if (d.contains("http_route")) http.AddRow({Str(d, "id"), Str(d, "http_route")});
  if (!http.empty()) out += "\nhttp (docs/HTTP.md):\n" + http.Render("  ");
  for (const Json& d : deps)
    if (std::string g = GrantBlock(Str(d, "id"), Member(d, "grants")); !g.empty()) out += "\n" + g;
  for (const Json& d : deps) {
    if (!verbose && !HasFailure(d)) continue;
    out += "\n" + Str(d, "id") + " replicas:\n" + ReplicaDetail(d);
  }
  // One line per group with a worker process: where its replicas run.
  const Json& workers = Arr(result, "workers");
  if (!workers.empty()) {
    Table w({"GROUP", "WORKER PID", "STATE", "RESTARTS", "RSS", "REPLICAS", "LAST EXIT"});
    for (const Json& x : workers) {
      auto rss = UInt(x, "rss_bytes");
      std::string pid = Str(x, "pid");
      std::string exit = Str(x, "last_exit");
      w.AddRow({Str(x, "group"), pid == "0" ? "-" : pid, Str(x, "state"), Str(x, "restarts"),
                rss && *rss ? FormatSize(*rss) : "-", Str(x, "replicas"),
                exit.empty() ? "-" : exit});
    }
    out += "\n" + w.Render();
  }
  return out;
}

std::string FormatModuleList(const Json& result) {
  const Json& mods = Arr(result, "modules");
  if (mods.empty()) return "no modules installed\n";
  Table t({"ID", "KIND", "TIER", "SIZE", "DEPLOYMENTS"});
  for (const Json& m : mods)
    t.AddRow(
        {Str(m, "id"), Str(m, "kind"), Str(m, "tier"), SizeOf(m, "size"), Str(m, "deployments")});
  return t.Render();
}

std::string FormatInspect(const Json& m) {
  Table kv({"", ""});
  std::string size = SizeOf(m, "size");
  if (auto bytes = UInt(m, "size"); bytes && *bytes >= 1024)
    size += " (" + std::to_string(*bytes) + " bytes)";
  kv.AddRow({"id:", Str(m, "id")});
  kv.AddRow({"kind:", Str(m, "kind")});
  kv.AddRow({"tier:", Str(m, "tier")});
  kv.AddRow({"size:", size});
  kv.AddRow({"hash:", Str(m, "hash")});
  const Json& man = m.is_object() && m.contains("manifest") ? m["manifest"] : Json::object();
  kv.AddRow({"manifest exports:", Join(Arr(man, "exports"), ", ")});
  kv.AddRow({"manifest imports:", Join(Arr(man, "imports"), ", ")});
  const Json& req = Member(man, "requests");
  kv.AddRow({"requested dirs:", Join(Arr(req, "dirs"), ", ")});
  kv.AddRow({"deployments:", Join(Arr(m, "deployments"), ", ")});
  std::string out = kv.Render();
  out.erase(0, out.find('\n') + 1);  // drop the blank header line
  const Json& dg = Member(m, "deployment_grants");
  if (dg.is_object())
    for (auto it = dg.begin(); it != dg.end(); ++it)
      if (std::string g = GrantBlock(it.key(), *it); !g.empty()) out += "\n" + g;

  // A component's imports are interfaces and functions (no module column).
  const bool component = Str(m, "kind") == "component";
  Table imports = component ? Table({"NAME", "KIND", "TYPE"})
                            : Table({"MODULE", "NAME", "KIND", "TYPE"});
  for (const Json& i : Arr(m, "imports")) {
    if (component) imports.AddRow({Str(i, "name"), Str(i, "kind"), Str(i, "type")});
    else imports.AddRow({Str(i, "module"), Str(i, "name"), Str(i, "kind"), Str(i, "type")});
  }
  out += "\nimports:\n" + (imports.empty() ? "  (none)\n" : imports.Render("  "));
  Table exports({"NAME", "KIND", "TYPE"});
  for (const Json& e : Arr(m, "exports"))
    exports.AddRow({Str(e, "name"), Str(e, "kind"), Str(e, "type")});
  out += "\nexports:\n" + (exports.empty() ? "  (none)\n" : exports.Render("  "));
  if (m.is_object() && m.contains("wit") && m["wit"].is_string()) {
    out += "\nwit:\n" + m["wit"].get<std::string>();
    if (out.back() != '\n') out += '\n';
  }
  return out;
}

std::string FormatStreamItem(const std::string& command, const Json& item) {
  if (command == "install") {
    std::string stage = Str(item, "stage");
    if (stage == "validate") return "validating...\n";
    if (stage == "store") return "storing...\n";
    if (stage == "compile") return "compiling...\n";
    if (stage == "done") return "";
    return stage + "...\n";
  }
  if (command == "logs") {
    std::string stream = Str(item, "stream");
    std::string tag = Str(item, "replica");
    if (stream != "stdout") tag += " " + stream;
    return "[" + tag + "] " + Str(item, "line") + "\n";
  }
  if (command == "events") {
    std::string line = Ts(item) + "  " + Str(item, "kind") + "  " + Str(item, "id") + "  " +
                       Str(item, "state");
    if (std::string msg = Str(item, "message"); msg != "-" && !msg.empty()) line += "  " + msg;
    return line + "\n";
  }
  return DumpJson(item) + "\n";
}

std::string FormatResult(const Invocation& inv, const Json& r) {
  const std::string& c = inv.command;
  bool quiet = inv.global.quiet;
  if (c == "status") return FormatStatus(r, inv.verbose);
  if (c == "list") return FormatModuleList(r);
  if (c == "inspect") return FormatInspect(r);
  if (c == "call") {
    std::string out;
    for (const Json& v : Arr(r, "results"))
      out += (v.is_string() ? v.get<std::string>() : DumpJson(v)) + "\n";
    return out;
  }
  if (c == "ping") {
    return "arcella " + Str(r, "version") + " (protocol " + Str(r, "protocol") + "), pid " +
           Str(r, "pid") + ", up " + UptimeOf(r) + "\n";
  }
  if (quiet) return "";
  if (c == "install") {
    std::string out = "installed " + Str(r, "id") + " (" + Str(r, "kind") + ", " +
                      SizeOf(r, "size") + ", tier " + Str(r, "tier") + ")\n";
    const Json& req = Arr(Member(Member(r, "manifest"), "requests"), "dirs");
    if (!req.empty())
      out += "  its manifest requests dirs " + Join(req, ", ") +
             ": not granted unless you grant them (deploy --dir HOST::GUEST[:ro])\n";
    return out;
  }
  if (c == "remove") return "removed " + Str(r, "removed") + "\n";
  if (c == "deploy") {
    std::string out = "deployed " + Str(r, "id") + " (" + Str(r, "replicas") + " replicas, " +
                      Str(r, "state") + "); start it with `arcella-cli start " + Str(r, "id") +
                      "`\n" + GrantLines(Member(r, "grants"), "  ");
    for (const Json& l : Arr(r, "links"))
      out += "  link " + Str(l, "import") + " -> " + Str(l, "provider") + "\n";
    return out;
  }
  if (c == "start" || c == "stop" || c == "scale") {
    std::string verb = c == "start" ? "started" : c == "stop" ? "stopped" : "scaled";
    std::string out;
    for (const Json& d : Arr(r, "deployments")) out += DeploymentLine(verb, d);
    return out.empty() ? "no deployments matched\n" : out;
  }
  if (c == "undeploy") {
    std::string out;
    for (const Json& id : Arr(r, "removed"))
      out += "undeployed " + (id.is_string() ? id.get<std::string>() : DumpJson(id)) + "\n";
    return out.empty() ? "no deployments matched\n" : out;
  }
  if (c == "link" || c == "unlink") {
    std::string out = (c == "link" ? "linked " : "unlinked ") + Str(r, "id") + "\n";
    for (const Json& l : Arr(r, "links"))
      out += "  " + Str(l, "import") + " -> " + Str(l, "provider") + " (" + Str(l, "state") + ")\n";
    return out;
  }
  if (c == "shutdown") return "daemon shutting down\n";
  if (c == "logs" || c == "events") return "";
  return DumpJson(r) + "\n";
}

}  // namespace arcella::cli
