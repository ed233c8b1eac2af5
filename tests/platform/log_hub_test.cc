#include "platform/log_hub.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace arcella::platform {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogHub, SplitsLinesAndBuffersPartials) {
  LogHub hub(test::TempDir("loghub"));
  hub.Write("m@1.0.0/web", 0, LogStream::kStdout, "one\ntw");
  hub.Write("m@1.0.0/web", 0, LogStream::kStdout, "o\r\nthr");
  auto t = hub.Tail("m@1.0.0/web", 10);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].line, "one");
  EXPECT_EQ(t[1].line, "two");
  EXPECT_EQ(t[1].replica, "m@1.0.0/web#0");
  EXPECT_EQ(t[1].stream, LogStream::kStdout);
  EXPECT_GT(t[1].ts_ms, 1600000000000);
  hub.Flush("m@1.0.0/web", 0);
  t = hub.Tail("m@1.0.0/web", 10);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[2].line, "thr");
}

TEST(LogHub, StdoutAndStderrPartialsAreSeparate) {
  LogHub hub("");
  hub.Write("d", 1, LogStream::kStdout, "out-");
  hub.Write("d", 1, LogStream::kStderr, "err-");
  hub.Write("d", 1, LogStream::kStdout, "tail\n");
  hub.Write("d", 1, LogStream::kStderr, "tail\n");
  auto t = hub.Tail("d#1", 10);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].line, "out-tail");
  EXPECT_EQ(t[1].line, "err-tail");
  EXPECT_EQ(t[1].stream, LogStream::kStderr);
}

TEST(LogHub, TargetsSelectReplicaDeploymentOrModule) {
  LogHub hub("");
  hub.Line("a@1.0.0/web", 0, LogStream::kPlatform, "w0");
  hub.Line("a@1.0.0/web", 1, LogStream::kPlatform, "w1");
  hub.Line("a@1.0.0/batch", 0, LogStream::kPlatform, "b0");
  hub.Line("a@1.0.01/web", 0, LogStream::kPlatform, "other module");
  hub.Line("a@1.0.0/web2", 0, LogStream::kPlatform, "other group");
  hub.Line("a@1.0.0/web", 10, LogStream::kPlatform, "w10");
  EXPECT_EQ(hub.Tail("a@1.0.0/web", 100).size(), 3u);
  EXPECT_EQ(hub.Tail("a@1.0.0/web#1", 100).size(), 1u);
  EXPECT_EQ(hub.Tail("a@1.0.0/web#1", 100)[0].line, "w1");
  EXPECT_EQ(hub.Tail("a@1.0.0", 100).size(), 5u);
  // Interleaved replicas come back in recording order.
  auto all = hub.Tail("a@1.0.0/web", 2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].line, "w1");
  EXPECT_EQ(all[1].line, "w10");
  EXPECT_TRUE(hub.Tail("nothing", 10).empty());
}

TEST(LogHub, RingKeepsLastLines) {
  LogHubOptions o;
  o.ring_lines = 5;
  LogHub hub("", o);
  for (int i = 0; i < 20; ++i) hub.Line("d", 0, LogStream::kStdout, std::to_string(i));
  auto t = hub.Tail("d", 100);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t.front().line, "15");
  EXPECT_EQ(t.back().line, "19");
  EXPECT_EQ(hub.Tail("d", 2).front().line, "18");
}

TEST(LogHub, FileAppendAndRotation) {
  std::string dir = test::TempDir("loghub");
  LogHubOptions o;
  o.max_file_bytes = 2000;
  o.max_files = 3;
  LogHub hub(dir, o);
  std::string path = hub.FilePath("m@1.0.0/web");
  EXPECT_EQ(path, dir + "/m@1.0.0_web.log");
  for (int i = 0; i < 200; ++i)
    hub.Write("m@1.0.0/web", i % 3, LogStream::kStdout,
              "line number " + std::to_string(i) + " with some padding text\n");
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  EXPECT_LE(std::filesystem::file_size(path), 2100u);
  std::string last = Slurp(path);
  EXPECT_NE(last.find("m@1.0.0/web#1 stdout line number 199 with some padding text\n"),
            std::string::npos)
      << last;
}

TEST(LogHub, SubscribersReceiveMatchingLines) {
  LogHub hub("");
  std::vector<std::string> got;
  std::mutex mu;
  uint64_t tok = hub.Subscribe("d@1.0.0/g", [&](const LogLine& l) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(l.replica + ":" + l.line);
  });
  hub.Write("d@1.0.0/g", 2, LogStream::kStdout, "a\nb");
  hub.Write("d@1.0.0/other", 0, LogStream::kStdout, "x\n");
  hub.Flush("d@1.0.0/g", 2);
  hub.Unsubscribe(tok);
  hub.Write("d@1.0.0/g", 2, LogStream::kStdout, "after\n");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "d@1.0.0/g#2:a");
  EXPECT_EQ(got[1], "d@1.0.0/g#2:b");
}

TEST(LogHub, ConcurrentWritersKeepEveryLine) {
  LogHub hub(test::TempDir("loghub"));
  std::atomic<int> seen{0};
  hub.Subscribe("d", [&](const LogLine&) { seen++; });
  std::vector<std::thread> ts;
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) hub.Write("d", t, LogStream::kStdout, "x\n");
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(seen.load(), 4000);
  EXPECT_EQ(hub.Tail("d", 100000).size(), 4000u);
}

TEST(LogHub, ForgetDropsRingsFromIndex) {
  LogHub hub("");
  for (uint32_t i = 0; i < 12; ++i) hub.Line("d", i, LogStream::kStdout, "x");
  hub.Forget("d", 2);
  auto t = hub.Tail("d", 100);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].replica, "d#1");
}

}  // namespace
}  // namespace arcella::platform
