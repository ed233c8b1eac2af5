// arcella-cli's human output: tables, confirmations, stream items, exit codes.
#include "cli/format.h"

#include <gtest/gtest.h>

#include "cli/exit_codes.h"
#include "cli/table.h"

namespace arcella::cli {
namespace {

Json Replica(int index, const char* state, int restarts = 0) {
  return Json{{"index", index}, {"state", state}, {"restarts", restarts}};
}

TEST(Table, AlignsColumnsWithoutTrailingBlanks) {
  Table t({"ID", "STATE", "N"});
  t.AddRow({"a", "active", "1"});
  t.AddRow({"long-name", "", "10"});
  t.AddRow({"b"});
  EXPECT_EQ(t.Render(), "ID         STATE   N\n"
                        "a          active  1\n"
                        "long-name          10\n"
                        "b\n");
  EXPECT_EQ(t.Render("  ").substr(0, 4), "  ID");
}

TEST(Table, WidthCountsCodePoints) {
  EXPECT_EQ(DisplayWidth("h\xc3\xa9llo"), 5u);
  Table t({"X", "Y"});
  t.AddRow({"\xc3\xa9", "1"});
  EXPECT_EQ(t.Render(), "X  Y\n\xc3\xa9  1\n");
}

TEST(Format, StatusTable) {
  Json r = {{"daemon", {{"pid", 42}, {"uptime_ms", 65000}, {"home", "/h"}}},
            {"deployments",
             {{{"id", "http-logger@0.1.0/web"},
               {"module_id", "http-logger@0.1.0"},
               {"group", "web"},
               {"replicas", 3},
               {"desired", "started"},
               {"state", "active"},
               {"isolation", "worker"},
               {"replicas_detail",
                {Replica(0, "active"), Replica(1, "active"), Replica(2, "starting")}}},
              {{"id", "db@2.0.0/core"},
               {"module_id", "db@2.0.0"},
               {"group", "core"},
               {"replicas", 1},
               {"desired", "stopped"},
               {"state", "resolved"},
               {"isolation", "main"},
               {"replicas_detail", Json::array()}}}}};
  EXPECT_EQ(FormatStatus(r, false),
            "DEPLOYMENT             MODULE             GROUP  STATE     REPLICAS  ISOLATION\n"
            "http-logger@0.1.0/web  http-logger@0.1.0  web    active    2/3       worker\n"
            "db@2.0.0/core          db@2.0.0           core   resolved  0/1       main\n");
  std::string v = FormatStatus(r, true);
  EXPECT_EQ(v.rfind("daemon: pid 42, up 1m05s, home /h\n", 0), 0u) << v;
  EXPECT_NE(v.find("http-logger@0.1.0/web replicas:\n"
                   "  REPLICA  STATE     RESTARTS  EXIT  LAST ERROR\n"
                   "  #0       active    0         -     -\n"),
            std::string::npos)
      << v;
  EXPECT_NE(v.find("db@2.0.0/core replicas:\n  (no replicas)\n"), std::string::npos) << v;
}

TEST(Format, StatusShowsFailedReplicasWithoutVerbose) {
  Json failed = Replica(1, "failed", 3);
  failed["exit_code"] = 1;
  failed["last_error"] = "trap: out of fuel in run";
  Json r = {{"deployments",
             {{{"id", "a@1.0.0/default"},
               {"module_id", "a@1.0.0"},
               {"group", "default"},
               {"replicas", 2},
               {"state", "failed"},
               {"isolation", "worker"},
               {"replicas_detail", {Replica(0, "active"), failed}}}}}};
  std::string s = FormatStatus(r, false);
  EXPECT_NE(s.find("a@1.0.0/default  a@1.0.0  default  failed  1/2       worker\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  #1       failed  3         1     trap: out of fuel in run\n"),
            std::string::npos)
      << s;
  EXPECT_EQ(FormatStatus(Json{{"deployments", Json::array()}}, false), "no deployments\n");
  r["deployments"][0]["ready"] = 2;  // the daemon's count wins when sent
  EXPECT_NE(FormatStatus(r, false).find("failed  2/2"), std::string::npos);
}

TEST(Format, ModuleList) {
  Json r = {{"modules",
             {{{"id", "http-logger@0.1.0"},
               {"kind", "core"},
               {"tier", "aot"},
               {"size", 12634},
               {"deployments", 1}},
              {{"id", "c@1.0.0"},
               {"kind", "component"},
               {"tier", "-"},
               {"size", 300},
               {"deployments", 0}}}}};
  EXPECT_EQ(FormatModuleList(r), "ID                 KIND       TIER  SIZE      DEPLOYMENTS\n"
                                 "http-logger@0.1.0  core       aot   12.3 KiB  1\n"
                                 "c@1.0.0            component  -     300 B     0\n");
  EXPECT_EQ(FormatModuleList(Json{{"modules", Json::array()}}), "no modules installed\n");
}

TEST(Format, Inspect) {
  Json m = {{"id", "a@1.0.0"},
            {"kind", "core"},
            {"tier", "aot"},
            {"size", 2048},
            {"hash", "ab12"},
            {"manifest", {{"exports", {"logger:log@1.0"}}, {"imports", Json::array()}}},
            {"imports",
             {{{"module", "wasi_snapshot_preview1"},
               {"name", "fd_write"},
               {"kind", "func"},
               {"type", "(i32 i32 i32 i32) -> i32"}}}},
            {"exports", {{{"name", "_start"}, {"kind", "func"}, {"type", "() -> ()"}}}},
            {"deployments", {"a@1.0.0/web"}}};
  std::string s = FormatInspect(m);
  EXPECT_EQ(s.rfind("id:                a@1.0.0\n", 0), 0u) << s;
  EXPECT_NE(s.find("size:              2.0 KiB (2048 bytes)\n"), std::string::npos) << s;
  EXPECT_NE(s.find("manifest exports:  logger:log@1.0\n"), std::string::npos) << s;
  EXPECT_NE(s.find("manifest imports:  -\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  wasi_snapshot_preview1  fd_write  func  (i32 i32 i32 i32) -> i32\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("exports:\n  NAME    KIND  TYPE\n  _start  func  () -> ()\n"), std::string::npos)
      << s;
}

TEST(Format, Confirmations) {
  Invocation inv;
  inv.command = "deploy";
  Json d = {{"id", "h@0.1.0/web"},
            {"replicas", 10},
            {"state", "resolved"},
            {"replicas_detail", Json::array()}};
  EXPECT_EQ(
      FormatResult(inv, d),
      "deployed h@0.1.0/web (10 replicas, resolved); start it with `arcella-cli start h@0.1.0/web`\n");
  inv.command = "start";
  d["state"] = "active";
  d["replicas_detail"] = {Replica(0, "active"), Replica(1, "starting")};
  EXPECT_EQ(FormatResult(inv, Json{{"deployments", {d}}}),
            "started h@0.1.0/web: active, 1/10 replicas ready\n");
  inv.command = "undeploy";
  EXPECT_EQ(FormatResult(inv, Json{{"removed", {"x@1.0.0/a", "x@1.0.0/b"}}}),
            "undeployed x@1.0.0/a\nundeployed x@1.0.0/b\n");
  inv.command = "call";
  EXPECT_EQ(FormatResult(inv, Json{{"replica", "c@1.0.0/default#0"}, {"results", {"5", "-1.5"}}}),
            "5\n-1.5\n");
  inv.command = "install";
  EXPECT_EQ(FormatResult(inv,
                         Json{{"id", "h@0.1.0"}, {"kind", "core"}, {"size", 100}, {"tier", "aot"}}),
            "installed h@0.1.0 (core, 100 B, tier aot)\n");
  inv.global.quiet = true;
  EXPECT_EQ(FormatResult(inv, Json{{"id", "h@0.1.0"}}), "");
  inv.command = "ping";
  EXPECT_EQ(FormatResult(
                inv, Json{{"protocol", 1}, {"version", "0.1.0"}, {"pid", 7}, {"uptime_ms", 3000}}),
            "arcella 0.1.0 (protocol 1), pid 7, up 3s\n");
}

TEST(Format, StreamItems) {
  EXPECT_EQ(FormatStreamItem("install", Json{{"stage", "compile"}}), "compiling...\n");
  EXPECT_EQ(FormatStreamItem("install", Json{{"stage", "done"}}), "");
  EXPECT_EQ(FormatStreamItem(
                "logs", Json{{"replica", "a@1.0.0/web#2"}, {"stream", "stdout"}, {"line", "hi"}}),
            "[a@1.0.0/web#2] hi\n");
  EXPECT_EQ(FormatStreamItem(
                "logs", Json{{"replica", "a@1.0.0/web#2"}, {"stream", "stderr"}, {"line", "oops"}}),
            "[a@1.0.0/web#2 stderr] oops\n");
  std::string e = FormatStreamItem("events", Json{{"ts_ms", 1000},
                                                  {"kind", "replica"},
                                                  {"id", "a#0"},
                                                  {"state", "failed"},
                                                  {"message", "exit 1"}});
  EXPECT_NE(e.find("  replica  a#0  failed  exit 1\n"), std::string::npos) << e;
  std::string quiet = FormatStreamItem(
      "events", Json{{"kind", "deployment"}, {"id", "d"}, {"state", "active"}, {"message", ""}});
  EXPECT_EQ(quiet, "-  deployment  d  active\n");  // no trailing blanks for an empty message
}

TEST(Format, SizesAndUptimes) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(64ull << 20), "64.0 MiB");
  EXPECT_EQ(FormatSize(3ull << 30), "3.0 GiB");
  EXPECT_EQ(FormatUptime(850), "850ms");
  EXPECT_EQ(FormatUptime(303000), "5m03s");
  EXPECT_EQ(FormatUptime(7620000), "2h07m");
  EXPECT_EQ(FormatUptime(100800000), "1d04h");
}

TEST(ExitCodes, DocumentedTable) {
  using alme::ErrorCode;
  EXPECT_EQ(ExitCodeFor(ErrorCode::kNotFound), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidParams), 4);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidInput), 4);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kAlreadyExists), 5);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kFailedPrecondition), 5);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kTrapped), 6);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kUnavailable), 7);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInternal), 1);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kIoError), 1);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kPermissionDenied), 1);
}

}  // namespace
}  // namespace arcella::cli
