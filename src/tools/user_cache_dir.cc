#include "tools/user_cache_dir.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace arcella::tools {

std::string UserCacheDir() {
  if (const char* h = getenv("ARCELLA_HOME"); h != nullptr && *h) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(h, ec);  // the engine wants an absolute folder
    return (ec ? std::string(h) : abs.string()) + "/cache";
  }
  if (const char* x = getenv("XDG_CACHE_HOME"); x != nullptr && x[0] == '/')
    return std::string(x) + "/arcella";
  std::string home;
  if (const char* h = getenv("HOME"); h != nullptr && h[0] == '/') home = h;
  if (home.empty()) {
    char buf[4096];
    passwd pw;
    passwd* res = nullptr;
    if (getpwuid_r(geteuid(), &pw, buf, sizeof buf, &res) == 0 && res != nullptr &&
        res->pw_dir != nullptr && res->pw_dir[0] == '/')
      home = res->pw_dir;
  }
  if (home.empty()) return "";
  return home + "/.cache/arcella";
}

std::string CompilerFromEnv() {
  if (const char* cc = getenv("CC"); cc != nullptr && *cc) return cc;
  return "cc";
}

}  // namespace arcella::tools
