// The component examples (examples/http-logger, examples/app; issue 10) as
// the README uses them: the seed's http-logger (a component serving
// wasi:http/incoming-handler and exporting logger:log/log@1.0.0) deployed
// and started, a request through the HTTP ingress, then the README's
// "Components" lines read from README.md and run verbatim in a directory
// holding build/examples/app@0.1.0.wasm and build/arcella-cli, against a
// real daemon: app's greet logs through its import, linked to http-logger's
// deployment; the line must show in http-logger's replica log.
// scripts/start.sh runs the same commands (too slow to test here: it
// bootstraps and builds). Skipped when the examples were not built (no npm
// tools: examples/components.cmake).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "e2e/e2e_util.h"

#ifndef ARCELLA_SOURCE_DIR
#define ARCELLA_SOURCE_DIR "."
#endif

namespace arcella::e2e {
namespace {

// The indented lines of the paragraph after the one starting with `heading`
// in README.md.
std::vector<std::string> ReadmeBlock(const std::string& heading) {
  std::ifstream in(std::string(ARCELLA_SOURCE_DIR) + "/README.md");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line) && line.rfind(heading, 0) != 0) {
  }
  while (std::getline(in, line) && !line.empty()) {
  }
  while (std::getline(in, line) && !line.empty())
    lines.push_back(line.substr(line.find_first_not_of(' ')));
  return lines;
}

bool ExampleReady(const Daemon& d, const std::string& id) {
  Json status = Request(d, "status");
  for (const auto& x : status["deployments"])
    if (x.value("id", "") == id) return x.value("ready", 0) >= 1;
  return false;
}

TEST(Examples, HttpLoggerServesHttpAndTheReadmeComponentLinesLinkAppToIt) {
  std::string ex = ExamplesDir();
  for (const char* f : {"http-logger.wasm", "app@0.1.0.wasm"}) {
    if (!Exists(ex + "/" + f)) {
      GTEST_SKIP() << ex << "/" << f
                   << " was not built: the component examples need the npm tools "
                      "(scripts/bootstrap.sh; examples/components.cmake)";
    }
  }
  std::vector<std::string> lines = ReadmeBlock(
      "Components, and a link from one deployment's import to another's export");
  ASSERT_EQ(lines.size(), 7u) << "README.md's Components block changed; update this test";

  // The user's directory: the examples and build/arcella-cli.
  std::string work = test::TempDir("examples-work");
  for (const char* f : {"http-logger.wasm", "http-logger.component.toml", "app@0.1.0.wasm"})
    CopyFile(ex + "/" + f, work + "/" + f);
  ASSERT_EQ(Sh("mkdir -p " + ShellQuote(work + "/build") + " && ln -s " + ShellQuote(CliBin()) +
               " " + ShellQuote(work + "/build/arcella-cli"))
                .code,
            0);
  Daemon d(HomeWithHttp());
  auto run = [&](const std::string& line) {
    return Sh("cd " + ShellQuote(work) + " && export ARCELLA_HOME=" + ShellQuote(d.home()) +
              " && " + line);
  };

  // http-logger as the seed installs it (one replica here, so that its
  // count below is the count of the one instance app's calls reach).
  auto r = run("build/arcella-cli install ./http-logger.wasm");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("installed http-logger@0.1.0 (component"), std::string::npos) << r.out;
  ASSERT_EQ(run("build/arcella-cli deploy http-logger@0.1.0 --group web").code, 0);
  ASSERT_EQ(run("build/arcella-cli start http-logger@0.1.0").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ExampleReady(d, "http-logger@0.1.0/web"); }, 10'000))
      << Request(d, "status").dump();
  HttpReply get = HttpGet(d, "/http-logger/hello?x=1");
  EXPECT_EQ(get.status, 200) << get.raw;
  EXPECT_EQ(get.body, "http-logger: GET /http-logger/hello?x=1 (line 1 of this instance)\n");
  EXPECT_EQ(get.Header("content-type"), "text/plain") << get.raw;

  // install, inspect --wit, deploy app --link, start.
  for (size_t i = 0; i < 4; ++i) {
    r = run(lines[i]);
    ASSERT_EQ(r.code, 0) << lines[i] << "\n" << r.out;
    if (i == 0) {
      EXPECT_NE(r.out.find("installed app@0.1.0 (component"), std::string::npos) << r.out;
    }
    if (i == 1) {
      EXPECT_NE(r.out.find("import logger:log/log@1.0.0;"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("export example:app/greeter@0.1.0;"), std::string::npos) << r.out;
    }
    if (i == 2) {
      EXPECT_NE(r.out.find("link logger:log/log@1.0.0 -> http-logger@0.1.0/web"), std::string::npos)
          << r.out;
    }
  }
  ASSERT_TRUE(WaitFor([&] { return ExampleReady(d, "app@0.1.0/default"); }, 10'000))
      << Request(d, "status").dump();

  // call ... example:app/greeter.greet '"world"': WAVE in, WAVE out.
  r = run(lines[4]);
  EXPECT_EQ(r.code, 0) << lines[4] << "\n" << r.out;
  EXPECT_EQ(r.out, "\"Hello, world!\"\n") << lines[4];
  // call ... greet '"world"' --json: the WAVE text and the typed value.
  r = run(lines[5]);
  ASSERT_EQ(r.code, 0) << lines[5] << "\n" << r.out;
  Json j = Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["results"][0], "\"Hello, world!\"") << r.out;
  EXPECT_EQ(j["value"], "Hello, world!") << r.out;

  // logs http-logger@0.1.0: the request, then both greetings, which crossed
  // the link; http-logger's replica printed them.
  ASSERT_TRUE(WaitFor(
      [&] {
        r = run(lines[6]);
        size_t first = r.out.find("[info] greeting world");
        return r.code == 0 && first != std::string::npos &&
               r.out.find("[info] greeting world", first + 1) != std::string::npos &&
               r.out.find("[INFO] GET /http-logger/hello?x=1") != std::string::npos;
      },
      5'000))
      << lines[6] << "\n"
      << r.out;
  // logged() returns http-logger's count, through the link: the request and
  // the two greetings; HTTP and the link reach the same instance.
  EXPECT_EQ(d.Cli("call app@0.1.0 logged").out, "3\n");
  get = HttpGet(d, "/http-logger/again");
  EXPECT_EQ(get.body, "http-logger: GET /http-logger/again (line 4 of this instance)\n");
  Json app, status = Request(d, "status");
  for (const auto& x : status["deployments"])
    if (x.value("id", "") == "app@0.1.0/default") app = x;
  ASSERT_EQ(app["links"].size(), 1u) << app.dump();
  EXPECT_EQ(app["links"][0]["import"], "logger:log/log@1.0.0");
  EXPECT_EQ(app["links"][0]["provider"], "http-logger@0.1.0/web");
  EXPECT_EQ(app["links"][0]["state"], "active");
  // Both run in worker processes (the default isolation), in two groups: the
  // link crossed from one worker to the other.
  EXPECT_EQ(app["isolation"], "worker") << app.dump();
  Json workers = status["workers"];
  EXPECT_EQ(workers.size(), 2u) << status.dump();
}

}  // namespace
}  // namespace arcella::e2e
