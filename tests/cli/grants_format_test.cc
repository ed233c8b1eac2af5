// arcella-cli shows what each deployment was granted (issue 6, grants):
// status, inspect and the deploy confirmation.
#include <gtest/gtest.h>

#include "cli/format.h"

namespace arcella::cli {
namespace {

Json Grants() {
  return Json{{"origin", "operator"},
              {"dirs", Json::array({Json{{"host", "/srv/link"},
                                         {"resolved", "/srv/data"},
                                         {"guest", "/data"},
                                         {"read_only", true}},
                                    Json{{"host", "/tmp/w"},
                                         {"resolved", "/tmp/w"},
                                         {"guest", "/w"},
                                         {"read_only", false}}})},
              {"env", Json::array({"MODE", "TOKEN"})},
              {"requested_not_granted", Json::array({"/::/host"})}};
}

Json Deployment(Json grants) {
  return Json{{"id", "m@1.0.0/web"},
              {"module_id", "m@1.0.0"},
              {"group", "web"},
              {"replicas", 1},
              {"ready", 0},
              {"desired", "stopped"},
              {"state", "resolved"},
              {"isolation", "worker"},
              {"replicas_detail", Json::array()},
              {"grants", grants}};
}

TEST(GrantsFormat, StatusListsGrantsAndUngrantedRequests) {
  std::string out = FormatStatus(Json{{"deployments", Json::array({Deployment(Grants())})}}, false);
  EXPECT_NE(out.find("grants of m@1.0.0/web (made by the operator):\n"
                     "  dir /srv/link (/srv/data) -> /data read-only\n"
                     "  dir /tmp/w -> /w read-write\n"
                     "  env MODE, TOKEN\n"
                     "  not granted (requested by the module): dir /::/host\n"),
            std::string::npos)
      << out;
}

TEST(GrantsFormat, NothingGrantedNothingPrintedAndRefusalShown) {
  Json none = {{"origin", "operator"},
               {"dirs", Json::array()},
               {"env", Json::array()},
               {"requested_not_granted", Json::array()}};
  std::string out = FormatStatus(Json{{"deployments", Json::array({Deployment(none)})}}, false);
  EXPECT_EQ(out.find("grants of"), std::string::npos) << out;
  none["refused"] = "deploy: --dir /::/h: refused: / contains the daemon home /root/.arcella";
  out = FormatStatus(Json{{"deployments", Json::array({Deployment(none)})}}, false);
  EXPECT_NE(out.find("  refused: deploy: --dir /::/h: refused: / contains the daemon home"),
            std::string::npos)
      << out;
}

TEST(GrantsFormat, InspectShowsRequestsAndDeploymentGrants) {
  Json m = {{"id", "m@1.0.0"},
            {"manifest",
             {{"exports", Json::array()},
              {"imports", Json::array()},
              {"requests", {{"dirs", Json::array({"/::/host"})}, {"env", Json::object()}}}}},
            {"deployments", Json::array({"m@1.0.0/web"})},
            {"deployment_grants", {{"m@1.0.0/web", Grants()}}}};
  std::string out = FormatInspect(m);
  EXPECT_NE(out.find("requested dirs:"), std::string::npos) << out;
  EXPECT_NE(out.find("/::/host"), std::string::npos) << out;
  EXPECT_NE(out.find("grants of m@1.0.0/web (made by the operator):"), std::string::npos) << out;
}

TEST(GrantsFormat, InstallSaysRequestsAreNotGrants) {
  Invocation inv;
  inv.command = "install";
  Json r = {{"id", "m@1.0.0"},
            {"kind", "core"},
            {"size", 10},
            {"tier", "aot"},
            {"manifest", {{"requests", {{"dirs", Json::array({"/::/host"})}}}}}};
  std::string out = FormatResult(inv, r);
  EXPECT_NE(out.find("its manifest requests dirs /::/host: not granted"), std::string::npos) << out;
  r["manifest"]["requests"]["dirs"] = Json::array();
  EXPECT_EQ(FormatResult(inv, r).find("requests"), std::string::npos);
}

}  // namespace
}  // namespace arcella::cli
