#include "platform/grants.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace arcella::platform {
namespace {

struct ParsedDir {
  std::string host, guest;
  bool read_only = false;
};

// "HOST::GUEST" or "HOST::GUEST:ro" (shape checked by ValidateDirGrant).
ParsedDir ParseDir(const std::string& g) {
  ParsedDir p;
  size_t sep = g.find("::");
  p.host = g.substr(0, sep);
  std::string guest = sep == std::string::npos ? g : g.substr(sep + 2);
  if (guest.size() > 3 && guest.compare(guest.size() - 3, 3, ":ro") == 0) {
    p.read_only = true;
    guest.resize(guest.size() - 3);
  }
  p.guest = guest;
  return p;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// How the i-th directory grant is named in messages, in the caller's style.
std::string DirKey(KeyStyle style, size_t i, const std::string& value) {
  switch (style) {
    case KeyStyle::kCliFlags: return "--dir " + value;
    case KeyStyle::kAlmeParams:
      return "params.overrides.dirs[" + std::to_string(i) + "] = " + Quote(value);
    case KeyStyle::kToml: break;
  }
  return "deployment.overrides.dirs[" + std::to_string(i) + "] = " + Quote(value);
}

std::string EnvKey(KeyStyle style, const std::string& name) {
  switch (style) {
    case KeyStyle::kCliFlags: return "--env " + name;
    case KeyStyle::kAlmeParams: return "params.overrides.env." + name;
    case KeyStyle::kToml: break;
  }
  return "deployment.overrides.env." + name;
}

// realpath(), or "" with *err set.
std::string Real(const std::string& p, int* err) {
  char buf[PATH_MAX];
  if (::realpath(p.c_str(), buf)) return buf;
  *err = errno;
  return "";
}

// A policy entry, resolved when it exists (else taken as written, without
// trailing slashes: nothing below a missing directory can be granted anyway).
std::string PolicyDir(const std::string& p) {
  int err = 0;
  std::string r = Real(p, &err);
  if (!r.empty()) return r;
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

bool WithinAny(const std::string& real, const std::vector<std::string>& dirs) {
  for (const std::string& d : dirs)
    if (PathWithin(real, PolicyDir(d))) return true;
  return false;
}

std::string List(const std::vector<std::string>& v) {
  if (v.empty()) return "[] (none)";
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Quote(v[i]);
  return out + "]";
}

}  // namespace

bool PathWithin(const std::string& path, const std::string& dir) {
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

Grants NothingGranted(const ComponentManifest& manifest, const DeploymentSpec& spec,
                      const std::string& why) {
  Grants g;
  g.origin = spec.origin;
  g.ungranted_requests = manifest.requested_dirs;
  g.refused = why;
  return g;
}

Result<Grants> ResolveGrants(const ComponentManifest& manifest, const DeploymentSpec& spec,
                             const Config::Policy& policy, const std::string& home,
                             GrantOrigin origin, KeyStyle style, const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& why) {
    return Status::InvalidArgument((where.empty() ? "" : where + ": ") + key + ": " + why);
  };
  const bool hot = origin == GrantOrigin::kHotDeploy;
  Grants g;
  g.origin = origin;

  int err = 0;
  const std::string home_real = Real(home, &err);
  if (home_real.empty())
    return Status::FailedPrecondition("cannot resolve the daemon home " + home + ": " +
                                      std::strerror(err));

  if (hot && spec.overrides.trusted.value_or(false))
    return fail(style == KeyStyle::kToml ? "deployment.overrides.trusted = true" : "trusted",
                "a file in the hot-deploy folder may not make a deployment trusted; only the "
                "operator may (arcella-cli deploy --trusted)");

  const auto& dirs = spec.overrides.dirs;
  for (size_t i = 0; i < dirs.size(); ++i) {
    const std::string key = DirKey(style, i, dirs[i]);
    if (Status s = ValidateDirGrant(dirs[i]); !s.ok()) return fail(key, s.message());
    ParsedDir p = ParseDir(dirs[i]);
    if (p.host.empty() || p.host[0] != '/')
      return fail(key, "expected an absolute host path (got " + Quote(p.host) + ")");
    std::string real = Real(p.host, &err);
    if (real.empty())
      return fail(key, "cannot resolve host directory " + p.host + ": " + std::strerror(err));
    struct stat st;
    if (::stat(real.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return fail(key, p.host + " is not a directory");
    const std::string resolved = real == p.host ? "" : " (resolves to " + real + ")";
    // The home rule first: it holds whatever the policy says.
    if (PathWithin(home_real, real))
      return fail(key, "refused: " + p.host + resolved + " contains the daemon home " + home_real +
                           "; a guest must never reach the daemon's state, AOT "
                           "cache or deploy folder (grant a directory outside it)");
    if (PathWithin(real, home_real))
      return fail(key, "refused: " + p.host + resolved + " lies inside the daemon home " +
                           home_real +
                           "; a guest must never reach the daemon's state, AOT "
                           "cache or deploy folder");
    bool rw_ok = WithinAny(real, policy.allow_dirs);
    bool ro_ok = rw_ok || WithinAny(real, policy.allow_dirs_ro);
    if (!ro_ok)
      return fail(key, "refused by policy: " + p.host + resolved +
                           " is not within [policy] allow_dirs " + List(policy.allow_dirs) +
                           " or allow_dirs_ro " + List(policy.allow_dirs_ro) +
                           " of arcella.toml (docs/CONFIG.md)");
    if (!p.read_only && !rw_ok)
      return fail(key, "refused by policy: " + p.host + resolved +
                           " may only be granted read-only ([policy] allow_dirs_ro); add \":ro\"");
    if (hot && !WithinAny(real, policy.hot_deploy_allow_dirs))
      return fail(key, "refused by policy: a file in the hot-deploy folder may only grant "
                       "directories within [policy] hot_deploy_allow_dirs " +
                           List(policy.hot_deploy_allow_dirs) +
                           "; grant it as the operator (arcella-cli deploy --dir) instead");
    g.dirs.push_back({p.host, real, p.guest, p.read_only});
  }

  if (hot && !spec.overrides.env.empty() && !policy.hot_deploy_allow_env)
    return fail(EnvKey(style, spec.overrides.env.begin()->first),
                "refused by policy: a file in the hot-deploy folder may not set env "
                "([policy] hot_deploy_allow_env = false)");
  std::map<std::string, std::string> env = manifest.env;
  for (const auto& [k, v] : spec.overrides.env) env[k] = v;
  g.env.assign(env.begin(), env.end());

  for (const std::string& r : manifest.requested_dirs) {
    ParsedDir p = ParseDir(r);
    int e2 = 0;
    std::string real = p.host.empty() || p.host[0] != '/' ? "" : Real(p.host, &e2);
    bool granted = false;
    for (const DirGrant& d : g.dirs)
      granted |= d.guest == p.guest && (d.host == p.host || (!real.empty() && d.real_host == real));
    if (!granted) g.ungranted_requests.push_back(r);
  }
  return g;
}

}  // namespace arcella::platform
