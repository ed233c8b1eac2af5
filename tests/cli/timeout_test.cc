// arcella-cli's timeout: --timeout / ARCELLA_TIMEOUT parsing, per-command
// defaults, and what a timeout does against a daemon that never answers.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sstream>

#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/run.h"
#include "test_util.h"

namespace arcella::cli {
namespace {

using std::chrono::milliseconds;

ParseOutcome Parse(const std::vector<std::string>& args, std::string* err = nullptr) {
  std::ostringstream o, e;
  ParseOutcome p = ParseCommandLine(args, o, e);
  if (err) *err = e.str();
  return p;
}

TEST(CliTimeout, ParsesDurations) {
  EXPECT_EQ(ParseTimeout("30s"), milliseconds(30'000));
  EXPECT_EQ(ParseTimeout("500ms"), milliseconds(500));
  EXPECT_EQ(ParseTimeout("2m"), milliseconds(120'000));
  EXPECT_EQ(ParseTimeout("1h"), milliseconds(3'600'000));
  EXPECT_EQ(ParseTimeout("45"), milliseconds(45'000));
  EXPECT_EQ(ParseTimeout("0"), milliseconds(0));
  EXPECT_FALSE(ParseTimeout(""));
  EXPECT_FALSE(ParseTimeout("soon"));
  EXPECT_FALSE(ParseTimeout("-1s"));
  EXPECT_FALSE(ParseTimeout("10x"));
  EXPECT_FALSE(ParseTimeout("99999999999999s"));
}

TEST(CliTimeout, DefaultsFlagAndEnvironment) {
  unsetenv("ARCELLA_TIMEOUT");
  auto p = Parse({"status"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), kDefaultTimeout);
  p = Parse({"install", "/bin/sh"});  // exists; the daemon would refuse it
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), kDefaultInstallTimeout);
  // Streams run until interrupted; only the connect is bounded.
  p = Parse({"logs", "-f", "x"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), milliseconds(0));
  EXPECT_EQ(p.invocation->ConnectTimeout(), kDefaultTimeout);
  p = Parse({"events"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), milliseconds(0));

  p = Parse({"--timeout", "2s", "status"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), milliseconds(2000));
  setenv("ARCELLA_TIMEOUT", "750ms", 1);
  p = Parse({"status"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), milliseconds(750));
  p = Parse({"--timeout", "0", "status"});  // the flag wins
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->CallTimeout(), milliseconds(0));
  setenv("ARCELLA_TIMEOUT", "later", 1);
  std::string err;
  p = Parse({"status"}, &err);
  EXPECT_FALSE(p.invocation);
  EXPECT_EQ(p.exit_code, kExitUsage);
  EXPECT_NE(err.find("ARCELLA_TIMEOUT"), std::string::npos) << err;
  unsetenv("ARCELLA_TIMEOUT");
  // `deploy --timeout` is still the deployment's call deadline.
  p = Parse({"deploy", "m@1.0.0", "--timeout", "5s"});
  ASSERT_TRUE(p.invocation);
  EXPECT_EQ(p.invocation->params["overrides"]["timeout"], "5s") << p.invocation->params.dump();
}

// A "daemon" that accepts and never answers: the CLI gives up after
// --timeout with exit code 8 and says so.
TEST(CliTimeout, SilentDaemonTimesOut) {
  std::string path = arcella::test::TempDir("cli-timeout") + "/alme";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  std::ostringstream out, err;
  auto t0 = std::chrono::steady_clock::now();
  int code = cli::Run({"--socket", path, "--timeout", "300ms", "status"}, out, err);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(code, kExitTimeout) << err.str();
  EXPECT_NE(err.str().find("timed out after 0.3 s"), std::string::npos) << err.str();
  EXPECT_LT(took, std::chrono::seconds(10));
  ::close(fd);
}

}  // namespace
}  // namespace arcella::cli
