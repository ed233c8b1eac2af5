#include "test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

namespace arcella::test {

std::string FixturePath(const std::string& name) {
  const char* dir = getenv("ARCELLA_FIXTURES");
  return std::string(dir ? dir : ARCELLA_FIXTURES) + "/" + name;
}

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  char* d = mkdtemp(tmpl.data());
  EXPECT_NE(d, nullptr);
  return tmpl;
}

std::vector<uint8_t> Wat(const std::string& wat_text) {
  std::string dir = TempDir("wat");
  std::string in = dir + "/m.wat", out = dir + "/m.wasm";
  {
    std::ofstream f(in);
    f << wat_text;
  }
  std::string cmd = "wat2wasm --enable-all --debug-names -o " + out + " " + in + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string msg;
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) msg += buf;
  int rc = p ? pclose(p) : -1;
  EXPECT_EQ(rc, 0) << "wat2wasm failed: " << msg;
  auto bytes = rc == 0 ? ReadFile(out) : std::vector<uint8_t>{};
  std::string rm = "rm -rf " + dir;
  (void)system(rm.c_str());
  return bytes;
}

std::shared_ptr<engine::Engine> TestEngine(engine::Metering metering,
                                           const std::string& cache_dir) {
  static std::mutex mu;
  static std::map<std::pair<int, std::string>, std::shared_ptr<engine::Engine>> engines;
  std::string dir = cache_dir;
  if (dir.empty()) {
    const char* home = getenv("ARCELLA_HOME");
    dir = home && *home ? std::filesystem::absolute(home).string() + "/cache"
                        : TempDir("test-engine-cache");
  }
  std::lock_guard<std::mutex> lock(mu);
  auto& e = engines[{static_cast<int>(metering), dir}];
  if (!e) {
    const char* cc = getenv("CC");
    auto made = engine::Engine::Create(
        {.cache_dir = dir, .cc = cc && *cc ? cc : "cc", .metering = metering});
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    if (made.ok()) e = *made;
  }
  return e;
}

}  // namespace arcella::test
