// Value validators, spec validation (for every key style) and TOML output.
// The TOML readers are in manifest_parse.cc.
#include "platform/manifest.h"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>

#include "component/names.h"

namespace arcella::platform {
namespace {

bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// Parses a decimal integer without sign; false on overflow or empty.
bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// Any type: a FIFO or directory in a manifest's place is refused by the
// bounded reader with its type, not silently skipped.
bool FileExists(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0;
}

std::string Basename(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Dirname(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Status ValidateModuleName(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return Status::InvalidArgument("expected 1 to 128 characters from [A-Za-z0-9_-], got " +
                                   std::to_string(name.size()) + " characters");
  for (char c : name)
    if (!NameChar(c))
      return Status::InvalidArgument(Quote(std::string(1, c)) +
                                     " is not allowed: expected characters from [A-Za-z0-9_-]");
  return Status::Ok();
}

Status ValidateVersion(std::string_view v) {
  const std::string want = "expected a version x.y.z of three decimal numbers, e.g. \"1.0.0\"";
  int parts = 0;
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    std::string_view part = v.substr(start, dot == std::string_view::npos ? v.npos : dot - start);
    ++parts;
    if (part.empty() || part.size() > 9) return Status::InvalidArgument(want);
    for (char c : part)
      if (c < '0' || c > '9') return Status::InvalidArgument(want);
    if (part.size() > 1 && part[0] == '0')
      return Status::InvalidArgument("leading zeros are not allowed: " + want);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts != 3)
    return Status::InvalidArgument(want + " (got " + std::to_string(parts) + " number" +
                                   (parts == 1 ? "" : "s") + ")");
  return Status::Ok();
}

Result<ModuleId> ParseModuleId(std::string_view id) {
  size_t at = id.find('@');
  if (at == std::string_view::npos)
    return Status::InvalidArgument("module id " + Quote(id) +
                                   ": expected name@x.y.z, e.g. \"http-logger@0.1.0\"");
  ModuleId m{std::string(id.substr(0, at)), std::string(id.substr(at + 1))};
  Status s = ValidateModuleName(m.name);
  if (!s.ok()) return s.WithContext("module id " + Quote(id) + ": name");
  s = ValidateVersion(m.version);
  if (!s.ok()) return s.WithContext("module id " + Quote(id) + ": version");
  return m;
}

Status ValidateModuleId(std::string_view id) { return ParseModuleId(id).status(); }

Status ValidateDeploymentId(std::string_view id) {
  size_t slash = id.find('/');
  if (slash == std::string_view::npos)
    return Status::InvalidArgument("\"" + std::string(id) +
                                   "\" is not a deployment id (name@x.y.z/group)");
  ARCELLA_RETURN_IF_ERROR(ValidateModuleId(id.substr(0, slash)));
  return ValidateGroup(id.substr(slash + 1));
}

std::optional<std::string> HttpRouteError(std::string_view route) {
  if (route.empty() || route[0] != '/') return "a route starts with '/', e.g. \"/api\"";
  if (route.size() > 256) return "a route is at most 256 characters";
  for (char c : route)
    if (c <= ' ' || c >= 127 || c == '?' || c == '#')
      return "a route holds visible ASCII characters other than '?' and '#'";
  if (route.find("//") != std::string_view::npos) return "a route has no empty segment (\"//\")";
  if (route.size() > 1 && route.back() == '/') return "a route does not end in '/' (except \"/\")";
  return std::nullopt;
}

Status ValidateLink(std::string_view import, std::string_view provider) {
  component::ExternName name;
  std::string why = import.size() > 512 ? "longer than 512 bytes"
                                        : component::ParseExternName(import, &name);
  if (!why.empty())
    return Status::InvalidArgument("link \"" + std::string(import.substr(0, 512)) +
                                   "\": not an import name (ns:pkg/iface@x.y.z or a "
                                   "function name): " +
                                   why);
  if (Status s = ValidateDeploymentId(provider); !s.ok())
    return Status::InvalidArgument("link \"" + std::string(import) + "\" = \"" +
                                   std::string(provider.substr(0, 512)) + "\": " + s.message());
  return Status::Ok();
}

Status ValidateGroup(std::string_view group) {
  Status s = ValidateModuleName(group);
  return s.ok() ? s : s.WithContext("group " + Quote(group));
}

Result<uint64_t> ParseByteSize(std::string_view text) {
  static const struct {
    const char* suffix;
    uint64_t mult;
  } kUnits[] = {{"KiB", 1ull << 10},
                {"MiB", 1ull << 20},
                {"GiB", 1ull << 30},
                {"KB", 1000},
                {"MB", 1000000},
                {"GB", 1000000000},
                {"B", 1}};
  const std::string want =
      "expected a byte size: a number of bytes or a number with B, KiB, MiB, GiB, KB, MB or GB "
      "(e.g. \"64MiB\")";
  std::string_view num = text;
  uint64_t mult = 1;
  for (const auto& u : kUnits) {
    std::string_view suf = u.suffix;
    if (text.size() > suf.size() && text.substr(text.size() - suf.size()) == suf) {
      num = text.substr(0, text.size() - suf.size());
      mult = u.mult;
      break;
    }
  }
  while (!num.empty() && num.back() == ' ') num.remove_suffix(1);
  uint64_t v;
  if (!ParseU64(num, &v)) return Status::InvalidArgument(want);
  if (v > (1ull << 48) / mult) return Status::InvalidArgument("byte size too large (max 256TiB)");
  if (v == 0) return Status::InvalidArgument("expected a byte size > 0");
  return v * mult;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  static const struct {
    const char* suffix;
    uint64_t ms;
  } kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  const std::string want = "expected a duration: a number with ms, s, m or h (e.g. \"2s\")";
  for (const auto& u : kUnits) {
    std::string_view suf = u.suffix;
    if (text.size() <= suf.size() || text.substr(text.size() - suf.size()) != suf) continue;
    std::string_view num = text.substr(0, text.size() - suf.size());
    uint64_t v;
    if (!ParseU64(num, &v)) return Status::InvalidArgument(want);
    if (v > (1ull << 40) / u.ms) return Status::InvalidArgument("duration too large");
    if (v == 0) return Status::InvalidArgument("expected a duration > 0");
    return std::chrono::milliseconds(v * u.ms);
  }
  return Status::InvalidArgument(want);
}

Status ValidateDirGrant(std::string_view grant) {
  const std::string want = "expected \"HOST::GUEST\" or \"HOST::GUEST:ro\"";
  size_t sep = grant.find("::");
  if (sep == std::string_view::npos || sep == 0) return Status::InvalidArgument(want);
  std::string_view guest = grant.substr(sep + 2);
  if (guest.size() >= 3 && guest.substr(guest.size() - 3) == ":ro") guest.remove_suffix(3);
  if (guest.empty()) return Status::InvalidArgument(want + " (the guest path is empty)");
  return Status::Ok();
}

// ---------------------------------------------------------------- validation

namespace {

// Key `id` ("replicas", "overrides.isolation") as written in `style`.
std::string KeyName(KeyStyle style, const std::string& id) {
  switch (style) {
    case KeyStyle::kToml: return "deployment." + id;
    case KeyStyle::kAlmeParams: return "params." + id;
    case KeyStyle::kCliFlags: break;
  }
  if (id == "module_id") return "MODULE_ID";
  if (id == "overrides.dirs") return "--dir";
  std::string flag = id.rfind("overrides.", 0) == 0 ? id.substr(10) : id;
  for (char& c : flag)
    if (c == '_') c = '-';
  return "--" + flag;
}

// "deployment.replicas = 0" / "--replicas 0".
std::string KeyValue(KeyStyle style, const std::string& id, const std::string& value,
                     bool is_string) {
  if (style == KeyStyle::kCliFlags)
    return id == "module_id" ? value : KeyName(style, id) + " " + value;
  return KeyName(style, id) + " = " + (is_string ? Quote(value) : value);
}

}  // namespace

Status ValidateDeploymentSpec(const DeploymentSpec& spec, KeyStyle style,
                              const std::string& origin) {
  auto fail = [&](const std::string& msg) {
    return Status::InvalidArgument(origin.empty() ? msg : origin + ": " + msg);
  };
  auto bad = [&](const std::string& id, const std::string& value, bool is_string,
                 const Status& why) {
    return fail(KeyValue(style, id, value, is_string) + ": " + why.message());
  };
  if (spec.module_id.empty()) return fail(KeyName(style, "module_id") + " is required");
  if (Status s = ValidateModuleId(spec.module_id); !s.ok())
    return bad("module_id", spec.module_id, true, s);
  if (Status s = ValidateGroup(spec.group); !s.ok()) return bad("group", spec.group, true, s);
  if (spec.replicas < 1)
    return bad("replicas", std::to_string(spec.replicas), false,
               Status::InvalidArgument("expected an integer >= 1"));
  const DeploymentOverrides& o = spec.overrides;
  Isolation iso = o.isolation.value_or(Isolation::kWorker);
  if (iso == Isolation::kMain && spec.replicas != 1)
    return fail(KeyValue(style, "overrides.isolation", "main", true) + " requires " +
                KeyValue(style, "replicas", "1", false) + " (got " + std::to_string(spec.replicas) +
                ")");
  if (o.trusted.value_or(false) && iso != Isolation::kMain)
    return fail(KeyValue(style, "overrides.trusted", "true", false) + " is only allowed with " +
                KeyValue(style, "overrides.isolation", "main", true) + " (isolation is " +
                Quote(IsolationName(iso)) + ")");
  if (o.fuel && (*o.fuel == 0 || *o.fuel > static_cast<uint64_t>(INT64_MAX)))
    return bad("overrides.fuel", std::to_string(*o.fuel), false,
               Status::InvalidArgument("expected an integer from 1 to 2^63-1"));
  if (o.max_memory_bytes && (*o.max_memory_bytes == 0 || *o.max_memory_bytes > (1ull << 48)))
    return bad("overrides.max_memory", std::to_string(*o.max_memory_bytes), false,
               Status::InvalidArgument("expected a byte size from 1 to 256TiB"));
  if (o.timeout && o.timeout->count() <= 0)
    return bad("overrides.timeout", std::to_string(o.timeout->count()) + "ms", true,
               Status::InvalidArgument("expected a duration > 0"));
  for (const std::string& d : o.dirs)
    if (Status s = ValidateDirGrant(d); !s.ok()) return bad("overrides.dirs", d, true, s);
  for (const auto& [k, v] : o.env)
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos ||
        v.find('\0') != std::string::npos)
      return bad("overrides.env", k + "=" + v, true,
                 Status::InvalidArgument("expected a non-empty name without '=' or NUL"));
  return Status::Ok();
}

// ---------------------------------------------------------------- manifests from files

Result<ComponentManifest> ManifestFromFileName(const std::string& wasm_path) {
  std::string base = Basename(wasm_path);
  const std::string help = ": provide a component.toml beside it or name the file name@x.y.z.wasm "
                           "(e.g. http-logger@0.1.0.wasm)";
  if (base.size() <= 5 || base.substr(base.size() - 5) != ".wasm")
    return Status::InvalidArgument("cannot derive a module id from " + Quote(base) + help);
  std::string id = base.substr(0, base.size() - 5);
  if (id.find('@') == std::string::npos)
    return Status::InvalidArgument("cannot derive a module id from " + Quote(base) + help);
  auto parsed = ParseModuleId(id);
  if (!parsed.ok())
    return Status::InvalidArgument(wasm_path + ": " + parsed.status().message() + help);
  ComponentManifest m;
  m.name = parsed->name;
  m.version = parsed->version;
  return m;
}

Result<ComponentManifest> ResolveManifestForBinary(const std::string& wasm_path,
                                                   std::string* manifest_path) {
  if (manifest_path) manifest_path->clear();
  std::string base = Basename(wasm_path), dir = Dirname(wasm_path);
  std::string stem = base.size() > 5 && base.substr(base.size() - 5) == ".wasm"
                         ? base.substr(0, base.size() - 5)
                         : base;
  std::vector<std::string> candidates = {dir + "/" + stem + ".component.toml"};
  if (size_t at = stem.find('@'); at != std::string::npos && at > 0)
    candidates.push_back(dir + "/" + stem.substr(0, at) + ".component.toml");
  for (const std::string& c : candidates) {
    if (!FileExists(c)) continue;
    if (manifest_path) *manifest_path = c;
    return LoadComponentManifest(c);
  }
  auto derived = ManifestFromFileName(wasm_path);
  if (derived.ok()) return derived;
  return Status::InvalidArgument(
      "no manifest for " + wasm_path + ": expected " + candidates[0] +
      " ([component] name and version) beside the binary, or a file named name@x.y.z.wasm");
}

// ---------------------------------------------------------------- TOML output

namespace {

std::string StringArray(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Quote(v[i]);
  return out + "]";
}

std::string InlineEnv(const std::map<std::string, std::string>& env) {
  std::string out = "{ ";
  bool first = true;
  for (const auto& [k, v] : env) {
    out += (first ? "" : ", ") + Quote(k) + " = " + Quote(v);
    first = false;
  }
  return out + " }";
}

std::string Ms(std::chrono::milliseconds t) { return Quote(std::to_string(t.count()) + "ms"); }

}  // namespace

std::string ToToml(const DeploymentSpec& spec) {
  std::string out = "x-arcella-origin = " + Quote(GrantOriginName(spec.origin)) + "\n\n";
  out += "[deployment]\n";
  out += "module_id = " + Quote(spec.module_id) + "\n";
  out += "group = " + Quote(spec.group) + "\n";
  out += "replicas = " + std::to_string(spec.replicas) + "\n";
  const DeploymentOverrides& o = spec.overrides;
  std::string ov;
  if (o.isolation) ov += "isolation = " + Quote(IsolationName(*o.isolation)) + "\n";
  if (o.trusted) ov += std::string("trusted = ") + (*o.trusted ? "true" : "false") + "\n";
  if (o.async) ov += std::string("async = ") + (*o.async ? "true" : "false") + "\n";
  if (o.fuel) ov += "fuel = " + std::to_string(*o.fuel) + "\n";
  if (o.max_memory_bytes) ov += "max_memory = " + std::to_string(*o.max_memory_bytes) + "\n";
  if (o.timeout) ov += "timeout = " + Ms(*o.timeout) + "\n";
  if (!o.dirs.empty()) ov += "dirs = " + StringArray(o.dirs) + "\n";
  if (!o.env.empty()) ov += "env = " + InlineEnv(o.env) + "\n";
  if (o.restart) ov += "restart = " + Quote(RestartPolicyName(*o.restart)) + "\n";
  if (!ov.empty()) out += "\n[deployment.overrides]\n" + ov;
  if (o.http_route) out += "\n[deployment.overrides.http]\nroute = " + Quote(*o.http_route) + "\n";
  if (!spec.links.empty()) {
    out += "\n[deployment.links]\n";
    for (const auto& [import, provider] : spec.links)
      out += Quote(import) + " = " + Quote(provider) + "\n";
  }
  return out;
}

std::string ToToml(const ComponentManifest& m) {
  std::string out = "[component]\n";
  out += "name = " + Quote(m.name) + "\n";
  out += "version = " + Quote(m.version) + "\n";
  if (!m.description.empty()) out += "description = " + Quote(m.description) + "\n";
  out += "exports = " + StringArray(m.exports) + "\n";
  out += "imports = " + StringArray(m.imports) + "\n";
  if (!m.requested_dirs.empty() || !m.env.empty()) {
    out += "\n[component.capabilities]\n";
    if (!m.requested_dirs.empty()) out += "dirs = " + StringArray(m.requested_dirs) + "\n";
    if (!m.env.empty()) out += "env = " + InlineEnv(m.env) + "\n";
  }
  if (m.fuel || m.max_memory_bytes || m.timeout) {
    out += "\n[component.resources]\n";
    if (m.fuel) out += "fuel = " + std::to_string(*m.fuel) + "\n";
    if (m.max_memory_bytes) out += "max_memory = " + std::to_string(*m.max_memory_bytes) + "\n";
    if (m.timeout) out += "timeout = " + Ms(*m.timeout) + "\n";
  }
  return out;
}

}  // namespace arcella::platform
