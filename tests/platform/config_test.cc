#include "platform/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "test_util.h"

namespace arcella::platform {
namespace {

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(Config, MissingFileGivesDefaults) {
  auto c = LoadConfig(test::TempDir() + "/nope.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->daemon.log_level, "info");
  EXPECT_EQ(c->alme.max_frame_bytes, 16u << 20);
  EXPECT_TRUE(c->deploy.hot_deploy);
  EXPECT_TRUE(c->sources.empty());
}

TEST(Config, DefaultFileIsWrittenOnceAndParsesToDefaults) {
  std::string path = test::TempDir() + "/arcella.toml";
  bool written = false;
  ASSERT_TRUE(WriteDefaultConfigIfMissing(path, &written).ok());
  EXPECT_TRUE(written);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->sources.size(), 1u);
  EXPECT_TRUE(c->origin.empty());  // everything commented out
  // Every key appears in the file, so uncommenting it is all a user does.
  std::string text = DefaultConfigText();
  for (const char* k :
       {"log_level", "executor_threads", "max_frame_bytes", "max_connections", "fuel", "max_memory",
        "timeout", "max_replicas_per_deployment", "ring_lines", "file_max_bytes", "file_count",
        "hot_deploy", "scan_interval_ms", "includes"})
    EXPECT_NE(text.find(std::string("# ") + k + " = "), std::string::npos) << k;
  // Uncommented, the defaults parse and equal the built-ins.
  std::string uncommented;
  size_t keys = 0;
  for (size_t i = 0; i < text.size();) {
    size_t nl = text.find('\n', i);
    std::string line = text.substr(i, nl - i);
    if (std::regex_match(line, std::regex("# [a-z_]+ = .*")) &&
        line.find("includes") == std::string::npos)
      line = line.substr(2), ++keys;
    uncommented += line + "\n";
    i = nl + 1;
  }
  auto full = ApplyConfigText(Config(), uncommented, "uncommented.toml");
  ASSERT_TRUE(full.ok()) << full.status().ToString() << "\n" << uncommented;
  EXPECT_EQ(full->origin.size(), keys);  // every key of the file was applied
  EXPECT_GE(keys, 17u);
  EXPECT_EQ(full->limits.max_memory_bytes, Config().limits.max_memory_bytes);
  // Not overwritten the second time.
  Write(path, "[daemon]\nlog_level = \"debug\"\n");
  ASSERT_TRUE(WriteDefaultConfigIfMissing(path, &written).ok());
  EXPECT_FALSE(written);
  EXPECT_EQ(LoadConfig(path)->daemon.log_level, "debug");
}

TEST(Config, IncludesFilesAndDirectoriesInOrder) {
  std::string dir = test::TempDir();
  ::mkdir((dir + "/conf.d").c_str(), 0700);
  Write(
      dir + "/arcella.toml",
      "includes = [\"extra.toml\", \"conf.d/\"]\n[daemon]\nlog_level = \"warn\"\nexecutor_threads = 2\n"
      "[limits]\nmax_memory = \"64MiB\"\ntimeout = \"2s\"\n");
  Write(dir + "/extra.toml", "[daemon]\nexecutor_threads = 4\n[alme]\nmax_connections = 10\n");
  Write(dir + "/conf.d/20-b.toml", "[alme]\nmax_connections = 30\n");
  Write(dir + "/conf.d/10-a.toml", "[alme]\nmax_connections = 20\n[deploy]\nhot_deploy = false\n");
  Write(dir + "/conf.d/ignored.txt", "garbage");
  auto c = LoadConfig(dir + "/arcella.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->daemon.log_level, "warn");
  EXPECT_EQ(c->daemon.executor_threads, 4u);
  EXPECT_EQ(c->alme.max_connections, 30u);
  EXPECT_FALSE(c->deploy.hot_deploy);
  EXPECT_EQ(c->limits.max_memory_bytes, 64u << 20);
  EXPECT_EQ(c->limits.timeout.count(), 2000);
  ASSERT_EQ(c->sources.size(), 4u);
  EXPECT_EQ(c->sources[3], dir + "/conf.d/20-b.toml");
  EXPECT_EQ(c->origin.at("alme.max_connections"), dir + "/conf.d/20-b.toml");
}

TEST(Config, CyclesAreDetected) {
  std::string dir = test::TempDir();
  Write(dir + "/a.toml", "includes = [\"b.toml\"]\n");
  Write(dir + "/b.toml", "includes = [\"a.toml\"]\n");
  auto c = LoadConfig(dir + "/a.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("include cycle"), std::string::npos) << c.status().message();
  Write(dir + "/self.toml", "includes = [\".\"]\n");
  EXPECT_FALSE(LoadConfig(dir + "/self.toml").ok());
}

TEST(Config, ErrorsNameFileKeyAndAllowed) {
  std::string dir = test::TempDir();
  Write(dir + "/arcella.toml", "includes = [\"bad.toml\"]\n");
  Write(dir + "/bad.toml", "[daemon]\nlog_levl = \"info\"\n");
  auto c = LoadConfig(dir + "/arcella.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir + "/bad.toml:2:1: unknown key daemon.log_levl; allowed: "
                                            "log_level, executor_threads"),
            std::string::npos)
      << c.status().message();
  auto check = [](const std::string& text, const std::string& want) {
    auto r = ApplyConfigText(Config(), text, "t.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  check("[daemon]\nlog_level = \"loud\"\n",
        "t.toml:2:13: daemon.log_level = \"loud\": expected \"trace\"");
  check("[alme]\nmax_connections = 0\n",
        "alme.max_connections = 0: expected an integer from 1 to 65536");
  check("[deploy]\nhot_deploy = \"yes\"\n", "deploy.hot_deploy = \"yes\": expected true or false");
  check("[limits]\nmax_memory = \"lots\"\n", "limits.max_memory = \"lots\": expected a byte size");
  check("[limits]\ntimeout = 3\n", "limits.timeout = 3: expected a duration");
  check("[server]\nport = 1\n", "unknown key server");
  check("[logs\n", "t.toml:1:");
  Write(dir + "/missing.toml", "includes = [\"nowhere.toml\"]\n");
  auto m = LoadConfig(dir + "/missing.toml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("includes[0] = \"nowhere.toml\": cannot open"),
            std::string::npos)
      << m.status().message();
  // "0s" turns the default deadline off.
  auto z = ApplyConfigText(Config(), "[limits]\ntimeout = \"0s\"\n", "z.toml");
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->limits.timeout.count(), 0);
}

}  // namespace
}  // namespace arcella::platform

namespace arcella::platform {
namespace {

TEST(Config, TheHttpIngressListensOnLoopbackByDefaultAndTakesAddressesOrNothing) {
  Config c;
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  for (const char* ok : {"\"0.0.0.0:80\"", "\"127.0.0.1:0\"", "\"[::1]:8443\"", "\"\""}) {
    auto r = ApplyConfigText(Config(), std::string("[http]\nlisten = ") + ok + "\n", "h.toml");
    ASSERT_TRUE(r.ok()) << ok << ": " << r.status().ToString();
  }
  EXPECT_EQ(ApplyConfigText(Config(), "[http]\nlisten = \"\"\n", "h.toml")->http.listen, "");
  for (const char* bad : {"\"8080\"", "\"host:\"", "\":80\"", "\"h:99999\"", "\"h:8x\"", "80"}) {
    auto r = ApplyConfigText(Config(), std::string("[http]\nlisten = ") + bad + "\n", "h.toml");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("h.toml:2:10: http.listen"), std::string::npos)
        << r.status().message();
  }
  auto t = ApplyConfigText(Config(), "[http]\nread_timeout = \"1ms\"\n", "h.toml");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("expected a duration from 100ms to 10min"),
            std::string::npos);
  auto k = ApplyConfigText(Config(), "[http]\nport = 80\n", "h.toml");
  ASSERT_FALSE(k.ok());
  EXPECT_NE(k.status().message().find("unknown key http.port; allowed: listen, max_connections, "
                                      "read_timeout"),
            std::string::npos)
      << k.status().message();
  // The default file lists the keys and parses back to the defaults.
  EXPECT_NE(DefaultConfigText().find("[http]"), std::string::npos);
}

}  // namespace
}  // namespace arcella::platform
