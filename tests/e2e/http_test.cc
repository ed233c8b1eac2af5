// The HTTP ingress (docs/HTTP.md) against a real daemon: components that
// export wasi:http/incoming-handler served under their routes, in workers
// and in the daemon, load-balanced over replicas; bad requests, limits and
// slow or greedy clients answered with clear errors while it keeps serving;
// a killed worker's requests fail cleanly, then recover.
#include <sys/socket.h>

#include <regex>
#include <set>

#include "e2e/e2e_util.h"

namespace arcella::e2e {
namespace {

// Installs the example http-logger (a component; examples/http-logger) from
// a copy with its seed manifest; false (and a skip) if it was not built.
bool InstallHttpLogger(const Daemon& d) {
  std::string ex = ExamplesDir();
  if (!Exists(ex + "/http-logger.wasm")) return false;
  std::string work = test::TempDir("http-work");
  CopyFile(ex + "/http-logger.wasm", work + "/http-logger.wasm");
  CopyFile(ex + "/http-logger.component.toml", work + "/http-logger.component.toml");
  auto r = d.Cli("install " + ShellQuote(work + "/http-logger.wasm"));
  EXPECT_EQ(r.code, 0) << r.out;
  return r.code == 0;
}

#define REQUIRE_HTTP_LOGGER(d) \
  if (!InstallHttpLogger(d))   \
  GTEST_SKIP() << "the component examples were not built (npm tools; examples/components.cmake)"

TEST(HttpIngress, ServesTheHttpLoggerInAWorkerBalancedAndInTheDaemonUnderItsOwnRoute) {
  Daemon d(HomeWithHttp());
  REQUIRE_HTTP_LOGGER(d);
  ASSERT_GT(HttpPort(d), 0) << Sh("cat " + d.home() + "/daemon.out").out;
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group web --replicas 3").code, 0);
  ASSERT_EQ(d.Cli("start http-logger@0.1.0/web").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "http-logger@0.1.0/web", 3); }, 15'000));

  // The default route is /<module name>: six requests, three replicas.
  std::set<std::string> replicas;
  for (int i = 0; i < 6; ++i) {
    HttpReply r = HttpGet(d, "/http-logger/x?i=" + std::to_string(i));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body.rfind("http-logger: GET /http-logger/x?i=" + std::to_string(i), 0), 0u)
        << r.body;
    replicas.insert(r.Header("x-arcella-replica"));
  }
  EXPECT_EQ(replicas, (std::set<std::string>{"http-logger@0.1.0/web#0", "http-logger@0.1.0/web#1",
                                             "http-logger@0.1.0/web#2"}));
  EXPECT_EQ(HttpGet(d, "/http-logger").status, 200);   // the route itself
  EXPECT_EQ(HttpGet(d, "/http-loggerx").status, 404);  // not at a '/' boundary
  HttpReply none = HttpGet(d, "/nothing/here?q");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.body, "no deployment serves /nothing/here\n");

  // The same module in the daemon (isolation main) under a route of its own.
  std::string file = test::TempDir("http-dep") + "/core.deployment.toml";
  std::ofstream(file) << "[deployment]\nmodule_id = \"http-logger@0.1.0\"\ngroup = \"core\"\n"
                         "[deployment.overrides]\nisolation = \"main\"\n"
                         "[deployment.overrides.http]\nroute = \"/main\"\n";
  auto dep = d.Cli("deploy -f " + ShellQuote(file));
  ASSERT_EQ(dep.code, 0) << dep.out;
  ASSERT_EQ(d.Cli("start http-logger@0.1.0/core").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "http-logger@0.1.0/core"); }, 15'000));
  HttpReply main = HttpGet(d, "/main/y", "POST", "a body");
  EXPECT_EQ(main.status, 200) << main.raw;
  EXPECT_EQ(main.Header("x-arcella-replica"), "http-logger@0.1.0/core#0");
  EXPECT_EQ(main.body, "http-logger: POST /main/y (line 1 of this instance)\n");
  EXPECT_EQ(
      HttpGet(d, "/http-logger/z").Header("x-arcella-replica").rfind("http-logger@0.1.0/web#", 0),
      0u);
  // Each replica logged what it served.
  EXPECT_TRUE(WaitFor(
      [&] {
        return d.Cli("logs http-logger@0.1.0/core").out.find("[INFO] POST /main/y") !=
               std::string::npos;
      },
      5'000));

  // status shows where each started deployment is served; `call` cannot
  // name the ingress's reserved export.
  Json web = DeploymentEntry(d, "http-logger@0.1.0/web");
  EXPECT_EQ(web["http_route"], "/http-logger") << web.dump();
  EXPECT_EQ(DeploymentEntry(d, "http-logger@0.1.0/core")["http_route"], "/main");
  auto st = d.Cli("status");
  EXPECT_NE(st.out.find("http (docs/HTTP.md):"), std::string::npos) << st.out;
  EXPECT_TRUE(std::regex_search(st.out, std::regex(R"(http-logger@0\.1\.0/core\s+/main)")))
      << st.out;
  // Only deployments served over HTTP are in that table.
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group quiet").code, 0);
  st = d.Cli("status");
  size_t table = st.out.find("http (docs/HTTP.md):");
  ASSERT_NE(table, std::string::npos) << st.out;
  std::string http_rows = st.out.substr(table, st.out.find("\n\n", table) - table);
  EXPECT_NE(http_rows.find("/web"), std::string::npos) << http_rows;
  EXPECT_EQ(http_rows.find("quiet"), std::string::npos) << http_rows;
  auto reserved = d.Cli("call http-logger@0.1.0/web '!http' x");
  EXPECT_NE(reserved.code, 0);
  EXPECT_NE(reserved.out.find("no export named !http"), std::string::npos) << reserved.out;

  // A stopped deployment serves nothing: its route is gone.
  ASSERT_EQ(d.Cli("stop http-logger@0.1.0/web").code, 0);
  EXPECT_EQ(HttpGet(d, "/http-logger/x").status, 404);
  EXPECT_EQ(HttpGet(d, "/main").status, 200);
  EXPECT_FALSE(DeploymentEntry(d, "http-logger@0.1.0/web").contains("http_route"));
}

TEST(HttpIngress, BadRequestsSlowAndGreedyClientsGetClearErrorsAndTheIngressKeepsServing) {
  Daemon d(HomeWithHttp("read_timeout = \"500ms\"\nmax_connections = 4\n"));
  REQUIRE_HTTP_LOGGER(d);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group web").code, 0);
  ASSERT_EQ(d.Cli("start http-logger@0.1.0/web").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "http-logger@0.1.0/web"); }, 15'000));
  const int port = HttpPort(d);

  HttpReply r = HttpRaw(port, "GARBAGE\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "bad request: bad method\n");
  r = HttpRaw(port, "GET / HTTP/1.1\r\nBad Field: x\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "bad request: bad field\n");
  r = HttpRaw(port, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("the target must be a path"), std::string::npos) << r.body;
  // An absolute-form target is served (RFC 9112 §3.2.2).
  r = HttpRaw(port,
              "GET http://example.test/http-logger/abs HTTP/1.1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200) << r.raw;
  // A body over 8 MiB is refused from its Content-Length, before it is sent.
  r = HttpRaw(port, "POST /http-logger HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000\r\n\r\n");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "the request body is larger than 8388608 bytes\n");
  r = HttpRaw(port, "GET / HTTP/1.1\r\nHost: x\r\nx-big: " + std::string(70'000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);
  // A client that stops half way through its header, or sends nothing, is
  // closed when the read times out (500 ms here), not waited for.
  for (const char* slow : {"GET /http-logger HTTP/1.1\r\nHost: x\r\n", ""}) {
    auto t0 = std::chrono::steady_clock::now();
    r = HttpRaw(port, slow, /*timeout_ms=*/8'000);
    EXPECT_EQ(r.status, 0) << r.raw;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5)) << slow;
  }

  // Keep-alive: two requests on one connection, both answered.
  r = HttpRaw(port, "GET /http-logger/1 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /http-logger/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.raw.find("GET /http-logger/2"), std::string::npos) << r.raw;

  // Four idle connections fill max_connections: a fifth is answered 503.
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  r = HttpGet(d, "/http-logger");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.body, "too many HTTP connections (at most 4)\n");
  for (int fd : idle) close(fd);

  // After all that the ingress serves, and the daemon answers.
  EXPECT_TRUE(WaitFor([&] { return HttpGet(d, "/http-logger/ok").status == 200; }, 5'000));
  EXPECT_EQ(d.Cli("ping").code, 0);
}

TEST(HttpIngress, RequestsToAKilledWorkerFailCleanlyThenTheyRecoverAndADaemonRestartServesAgain) {
  Daemon d(HomeWithHttp());
  REQUIRE_HTTP_LOGGER(d);
  ASSERT_EQ(d.Cli("deploy http-logger@0.1.0 --group web --replicas 2").code, 0);
  ASSERT_EQ(d.Cli("start http-logger@0.1.0/web").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "http-logger@0.1.0/web", 2); }, 15'000));
  ASSERT_EQ(HttpGet(d, "/http-logger").status, 200);
  int64_t pid = WorkerPidOf(d, "web");
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  // Until the worker is back, requests are refused as unavailable (503),
  // never hang or reach the wrong process.
  std::set<int> seen;
  bool back = WaitFor(
      [&] {
        HttpReply r = HttpGet(d, "/http-logger/after");
        seen.insert(r.status);
        if (r.status != 200 && r.status != 503) ADD_FAILURE() << r.raw;
        return r.status == 200;
      },
      20'000);
  EXPECT_TRUE(back);
  EXPECT_NE(WorkerPidOf(d, "web"), pid);
  EXPECT_EQ(d.Cli("ping").code, 0);

  // kill -9 of the daemon itself: once it is back (and has reconciled), the
  // route serves again, on the new daemon's port.
  d.Kill9();
  unlink((d.home() + "/http.address").c_str());
  d.Start();
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "http-logger@0.1.0/web", 2); }, 15'000));
  HttpReply again = HttpGet(d, "/http-logger/restarted");
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(DeploymentEntry(d, "http-logger@0.1.0/web")["http_route"], "/http-logger");
}

// The HTTP fixture (tests/fixtures/components/http_echo.c), installed as
// echo@0.1.0 (route /echo), deployed with `flags`; false if not built.
bool DeployEcho(const Daemon& d, const std::string& flags, const std::string& id) {
  std::string wasm = std::string(ARCELLA_COMPONENT_FIXTURES) + "/http_echo.component.wasm";
  if (!Exists(wasm)) return false;
  if (d.Cli("inspect echo@0.1.0").code != 0) {
    auto r = d.Cli("install " + ShellQuote(StageComponent("http_echo", "echo@0.1.0.wasm")));
    EXPECT_EQ(r.code, 0) << r.out;
  }
  auto r = d.Cli("deploy echo@0.1.0 " + flags);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(d.Cli("start " + id).code, 0);
  EXPECT_TRUE(WaitFor([&] { return ReadyAtLeast(d, id); }, 15'000)) << id;
  return true;
}

#define REQUIRE_ECHO(d, flags, id) \
  if (!DeployEcho(d, flags, id)) GTEST_SKIP() << "the component fixtures were not built (npm tools)"

TEST(HttpIngress, TheComponentSeesMethodPathAuthorityHeadersAndBodyAndChoosesStatusAndFields) {
  Daemon d(HomeWithHttp());
  REQUIRE_ECHO(d, "--group web --replicas 2", "echo@0.1.0/web");
  std::string body("bin\0ary\xff\r\n", 10);
  HttpReply r = HttpRaw(HttpPort(d),
                        "POST /echo/a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.test:81\r\n"
                        "X-Test: Hello World\r\nx-test: second\r\nConnection: close\r\n"
                        "Content-Length: 10\r\n\r\n" +
                            body);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.Header("x-echo"), "yes");
  EXPECT_EQ(r.Header("content-type"), "text/plain");
  EXPECT_EQ(r.body, "method=POST\npath=/echo/a/b?x=1&y=%20\nauthority=example.test:81\n"
                    "header host=example.test:81\nheader x-test=Hello World\n"
                    "header x-test=second\nheader connection=close\nheader content-length=10\n"
                    "body-bytes=10\nbody=" +
                        body);
  // Any method reaches the guest; the guest picks the status.
  r = HttpGet(d, "/echo/m", "PURGE");
  EXPECT_EQ(r.body.rfind("method=PURGE\npath=/echo/m\n", 0), 0u) << r.raw;
  r = HttpGet(d, "/echo/status?code=404");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, "status 404\n");
  r = HttpGet(d, "/echo/status?code=42");  // refused by set-status-code
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "bad status 42\n");
  // HEAD: the length a GET gets, no body.
  HttpReply head = HttpGet(d, "/echo/status?code=404", "HEAD");  // GET's body: "status 404\n"
  EXPECT_EQ(head.status, 404);
  EXPECT_EQ(head.Header("content-length"), "11") << head.raw;
  EXPECT_EQ(head.raw.substr(head.raw.find("\r\n\r\n") + 4), "");
  // deploy --http-route: the same module under a route of its own; a bad
  // route is refused naming the rule.
  auto bad = d.Cli("deploy echo@0.1.0 --group v2 --http-route api");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("http_route = \"api\": a route starts with '/'"), std::string::npos)
      << bad.out;
  auto v2 = d.Cli("deploy echo@0.1.0 --group v2 --http-route /v2");
  ASSERT_EQ(v2.code, 0) << v2.out;
  ASSERT_EQ(d.Cli("start echo@0.1.0/v2").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "echo@0.1.0/v2"); }, 15'000));
  r = HttpGet(d, "/v2/a");
  EXPECT_EQ(r.Header("x-arcella-replica"), "echo@0.1.0/v2#0") << r.raw;
  EXPECT_EQ(r.body.rfind("method=GET\npath=/v2/a\n", 0), 0u) << r.body;

  // Expect: 100-continue: the interim 100 comes after the header, then the
  // body is read; too large a Content-Length gets the 413 instead.
  {
    int fd = ConnectLoopback(HttpPort(d));
    ASSERT_GE(fd, 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string head =
        "PUT /echo/up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
        "Connection: close\r\n\r\n";
    ASSERT_EQ(send(fd, head.data(), head.size(), MSG_NOSIGNAL), ssize_t(head.size()));
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, n), "HTTP/1.1 100 Continue\r\n\r\n");
    ASSERT_EQ(send(fd, "hello", 5, MSG_NOSIGNAL), 5);
    std::string rest;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) rest.append(buf, n);
    close(fd);
    EXPECT_EQ(rest.rfind("HTTP/1.1 200 OK", 0), 0u) << rest;
    EXPECT_NE(rest.find("body-bytes=5\nbody=hello"), std::string::npos) << rest;
    r = HttpRaw(HttpPort(d), "PUT /echo/up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                             "Content-Length: 9000000\r\n\r\n");
    EXPECT_EQ(r.raw.rfind("HTTP/1.1 413", 0), 0u) << r.raw;
  }

  // A 5 MB response crosses from the worker (past the call ring's slots).
  r = HttpGet(d, "/echo/big?n=5000000", "GET", "", /*timeout_ms=*/180'000);
  ASSERT_EQ(r.status, 200) << r.raw.substr(0, 300);
  EXPECT_EQ(r.body.size(), 5'000'000u);
  EXPECT_TRUE(r.body == std::string(5'000'000, 'x'));
}

TEST(HttpIngress, GuestFailuresAre500sNamingThemInWorkersAndInTheDaemonWhichKeepServing) {
  Daemon d(HomeWithHttp());
  REQUIRE_ECHO(d, "--group web", "echo@0.1.0/web");
  std::string file = test::TempDir("http-dep") + "/main.deployment.toml";
  std::ofstream(file) << "[deployment]\nmodule_id = \"echo@0.1.0\"\ngroup = \"core\"\n"
                         "[deployment.overrides]\nisolation = \"main\"\nfuel = 200000\n"
                         "[deployment.overrides.http]\nroute = \"/in-daemon\"\n";
  ASSERT_EQ(d.Cli("deploy -f " + ShellQuote(file)).code, 0);
  ASSERT_EQ(d.Cli("start echo@0.1.0/core").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "echo@0.1.0/core"); }, 15'000));
  for (const char* route : {"/echo", "/in-daemon"}) {
    SCOPED_TRACE(route);
    const std::string p = route;
    struct Case {
      std::string path, want;
    } cases[] = {
        {"/trap", "unreachable"},
        {"/no-response", "the handler returned without setting a response"},
        {"/error", "the handler answered with an error: internal-error(\"boom\")"},
        {"/unfinished", "the handler did not finish the response body"},
        {"/big?n=9000000", "larger than 8388608 bytes"},
    };
    for (const Case& c : cases) {
      HttpReply r = HttpGet(d, p + c.path, "GET", "", /*timeout_ms=*/180'000);  // /big: slow
      EXPECT_EQ(r.status, 500) << c.path << "\n" << r.raw.substr(0, 300);
      EXPECT_NE(r.body.find(c.want), std::string::npos) << c.path << "\n" << r.body.substr(0, 300);
      // The next request is served (a trapped instance is replaced).
      EXPECT_EQ(HttpGet(d, p + "/ok").status, 200) << "after " << c.path;
    }
  }
  // The in-daemon deployment's fuel bounds each request: a large echo runs out.
  HttpReply r = HttpGet(d, "/in-daemon/x", "POST", std::string(1'000'000, 'z'), 180'000);
  EXPECT_EQ(r.status, 500) << r.raw.substr(0, 300);
  EXPECT_NE(r.body.find("fuel"), std::string::npos) << r.body;
  EXPECT_EQ(HttpGet(d, "/in-daemon/ok").status, 200);
  EXPECT_EQ(d.Cli("ping").code, 0);
}

// Sends `bytes` to 127.0.0.1:`port`, waits `ms` without reading, hangs up.
void HangUpAfter(int port, const std::string& bytes, int ms) {
  int fd = ConnectLoopback(port);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  close(fd);
}

// A client that hangs up while its request runs cancels the guest call (as
// nginx aborts the upstream request): the one replica, held by a request
// that would never end, serves the next one at once; in a worker and in the
// daemon. A client that keeps its connection open is not cancelled.
TEST(HttpIngress, AClientHangingUpCancelsItsGuestCallAndFreesTheReplica) {
  Daemon d(HomeWithHttp());
  REQUIRE_ECHO(d, "--group web", "echo@0.1.0/web");
  ASSERT_EQ(d.Cli("deploy echo@0.1.0 --group core --isolation main --http-route /in-daemon").code,
            0);
  ASSERT_EQ(d.Cli("start echo@0.1.0/core").code, 0);
  ASSERT_TRUE(WaitFor([&] { return ReadyAtLeast(d, "echo@0.1.0/core"); }, 15'000));
  const int port = HttpPort(d);
  for (const char* route : {"/echo", "/in-daemon"}) {
    SCOPED_TRACE(route);
    const std::string p = route;
    HangUpAfter(port, "GET " + p + "/spin HTTP/1.1\r\nHost: t\r\n\r\n", 300);
    HttpReply r = HttpGet(d, p + "/ok", "GET", "", 20'000);
    EXPECT_EQ(r.status, 200) << r.raw.substr(0, 300);
    // A patient client is not cancelled: its request is still spinning
    // when it gives up after a second (no answer at all), and only its own
    // hang-up frees the replica.
    HttpReply patient = HttpRaw(port, "GET " + p + "/spin HTTP/1.1\r\nHost: t\r\n\r\n", 1000);
    EXPECT_EQ(patient.status, 0) << patient.raw.substr(0, 300);
    EXPECT_EQ(HttpGet(d, p + "/ok", "GET", "", 20'000).status, 200);
  }
  EXPECT_EQ(d.Cli("ping").code, 0);
}

TEST(HttpIngress, ManyClientsAtOnceAreAllServedOverKeepAliveConnections) {
  Daemon d(HomeWithHttp());
  REQUIRE_ECHO(d, "--group web --replicas 4", "echo@0.1.0/web");
  const int port = HttpPort(d);
  constexpr int kClients = 8, kRequests = 20;
  std::vector<std::thread> clients;
  std::vector<int> ok(kClients, 0);
  std::vector<std::set<std::string>> replicas(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::string pipeline;
      for (int i = 0; i < kRequests; ++i)
        pipeline += "GET /echo/c" + std::to_string(c) + "/" + std::to_string(i) +
                    " HTTP/1.1\r\nHost: x\r\n" +
                    (i + 1 == kRequests ? "Connection: close\r\n" : "") + "\r\n";
      HttpReply r = HttpRaw(port, pipeline, 30'000);
      for (size_t at = 0; (at = r.raw.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at)
        ++ok[c];
      for (size_t at = 0; (at = r.raw.find("x-arcella-replica: ", at)) != std::string::npos; ++at)
        replicas[c].insert(r.raw.substr(at + 19, r.raw.find("\r\n", at) - at - 19));
      EXPECT_NE(r.raw.find("path=/echo/c" + std::to_string(c) + "/" +
                           std::to_string(kRequests - 1)),
                std::string::npos);
    });
  }
  for (auto& t : clients) t.join();
  std::set<std::string> all;
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(ok[c], kRequests) << "client " << c;
    all.insert(replicas[c].begin(), replicas[c].end());
  }
  EXPECT_EQ(all.size(), 4u);
}

}  // namespace
}  // namespace arcella::e2e
