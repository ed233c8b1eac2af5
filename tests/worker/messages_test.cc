// The worker protocol's messages: each survives encoding, a real frame
// (MessagePack bytes) and decoding; each decoder refuses a field of the
// wrong type or out of range, naming the message and the field.
#include "worker/messages.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "worker/channel.h"

namespace arcella::worker {
namespace {

using nlohmann::json;

// Through the bytes a Channel would carry.
json ThroughFrame(const json& body) {
  auto frame = EncodeFrame(body);
  EXPECT_TRUE(frame.ok()) << frame.status().ToString();
  if (!frame.ok()) return json();
  auto back = DecodeFrameBody(std::span<const uint8_t>(frame->data() + 4, frame->size() - 4));
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return back.ok() ? *back : json();
}

platform::DeploymentPlan SamplePlan() {
  platform::DeploymentPlan p;
  p.id = "shop@1.2.0/web";
  p.module_id = "shop@1.2.0";
  p.group = "web";
  p.isolation = platform::Isolation::kWorker;
  p.code = {std::string(64, 'a'), engine::Tier::kInterp, engine::Metering::kInterrupt};
  p.command = true;
  p.replicas = 3;
  p.fuel = 1000000;
  p.max_memory_bytes = 1 << 20;
  p.timeout = std::chrono::milliseconds(2500);
  p.dirs = {{"/srv/data", "/data", true}, {"/tmp/x", "/x", false}};
  p.env = {{"A", "1"}, {"B", "two"}};
  p.restart = platform::RestartPolicy::kAlways;
  return p;
}

// `decode(body with field `key` set to `bad`)` must fail with `message`.
template <typename Decode>
void ExpectRefused(Decode decode, json body, const std::string& key, const json& bad,
                   const std::string& message) {
  body[key] = bad;
  auto r = decode(body);
  ASSERT_FALSE(r.ok()) << key << " = " << bad.dump() << " accepted";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), message);
}

TEST(Messages, HelloRoundTrips) {
  Hello h{kProtocolVersion, 4242, "landlock+seccomp"};
  auto back = DecodeHello(ThroughFrame(EncodeHello(h)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->version, kProtocolVersion);
  EXPECT_EQ(back->pid, 4242);
  EXPECT_EQ(back->sandbox, "landlock+seccomp");
  EXPECT_FALSE(back->ring);
  EXPECT_FALSE(back->link_ring);
  Hello rings{kProtocolVersion, 4242, "none", true, true};
  back = DecodeHello(ThroughFrame(EncodeHello(rings)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->ring);
  EXPECT_TRUE(back->link_ring);
  ExpectRefused(DecodeHello, EncodeHello(rings), "link_ring", 1,
                "hello: \"link_ring\" must be a boolean");
  json body = EncodeHello(h);
  ExpectRefused(DecodeHello, body, "v", -1, "hello: \"v\" must be an unsigned 32-bit integer");
  ExpectRefused(DecodeHello, body, "v", uint64_t{1} << 32,
                "hello: \"v\" must be an unsigned 32-bit integer");
  ExpectRefused(DecodeHello, body, "pid", 0, "hello: \"pid\" must be a positive process id");
  ExpectRefused(DecodeHello, body, "sandbox", true, "hello: \"sandbox\" must be a string");
  body.erase("sandbox");
  EXPECT_EQ(DecodeHello(body).status().message(), "hello: missing \"sandbox\"");
}

TEST(Messages, ApplyRoundTripsWithBinaryMeta) {
  ApplyRequest r;
  r.id = 9;
  r.plan = SamplePlan();
  r.started = true;
  r.meta = {0, 1, 2, 255, 128};
  json wire = ThroughFrame(EncodeApply(r));
  ASSERT_TRUE(wire["meta"].is_binary());  // MessagePack bin, not an array of numbers
  auto back = DecodeApply(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, 9u);
  EXPECT_TRUE(back->plan == r.plan);
  EXPECT_TRUE(back->started);
  EXPECT_EQ(back->meta, r.meta);

  json body = EncodeApply(r);
  ExpectRefused(DecodeApply, body, "started", "yes", "apply: \"started\" must be a boolean");
  ExpectRefused(DecodeApply, body, "id", -4, "apply: \"id\" must be an unsigned 64-bit integer");
  ExpectRefused(DecodeApply, body, "meta", json::array({1, 2}),
                "apply: \"meta\" must be MessagePack binary");
  ExpectRefused(DecodeApply, body, "plan", "x", "apply: \"plan\" must be a map");
  json bad_plan = body;
  bad_plan["plan"]["replicas"] = "three";
  auto r2 = DecodeApply(bad_plan);
  ASSERT_FALSE(r2.ok());
  EXPECT_NE(r2.status().message().find("apply: plan: \"replicas\""), std::string::npos)
      << r2.status().message();
  // Another message's body is refused by type.
  EXPECT_EQ(DecodeApply(EncodePing(1)).status().message(), "apply: \"t\" must be \"apply\"");
}

// Code and directories the worker holds are not sent again (protocol 2).
TEST(Messages, ApplyNamesTheCodeAndDirectoriesItCarries) {
  ApplyRequest r;
  r.id = 3;
  r.plan = SamplePlan();  // two dirs
  r.with_code = false;
  r.with_dirs = {1};
  EXPECT_EQ(r.FdCount(), 1u);
  auto back = DecodeApply(ThroughFrame(EncodeApply(r)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_FALSE(back->with_code);
  EXPECT_TRUE(back->meta.empty());
  EXPECT_EQ(back->with_dirs, std::vector<uint32_t>{1});
  r.with_code = true;
  r.with_dirs = {0, 1};
  EXPECT_EQ(r.FdCount(), 3u);
  back = DecodeApply(ThroughFrame(EncodeApply(r)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->with_code);
  EXPECT_EQ(back->with_dirs, (std::vector<uint32_t>{0, 1}));

  json body = EncodeApply(r);
  ExpectRefused(DecodeApply, body, "with_code", 1, "apply: \"with_code\" must be a boolean");
  const std::string must = "apply: \"with_dirs\" must be an ascending array of indices into "
                           "plan.dirs";
  ExpectRefused(DecodeApply, body, "with_dirs", json::array({2}), must);  // only 2 dirs
  ExpectRefused(DecodeApply, body, "with_dirs", json::array({1, 0}), must);
  ExpectRefused(DecodeApply, body, "with_dirs", json::array({0, 0}), must);
  ExpectRefused(DecodeApply, body, "with_dirs", json::array({-1}), must);
  ExpectRefused(DecodeApply, body, "with_dirs", "0", must);
  body.erase("with_dirs");
  EXPECT_EQ(DecodeApply(body).status().message(), "apply: missing \"with_dirs\"");
  body = EncodeApply(r);
  body["with_code"] = false;
  body["meta"] = json::binary({1, 2});
  EXPECT_EQ(DecodeApply(body).status().message(), "apply: \"meta\" must be empty without code");
}

TEST(Messages, RemoveAndStatusRoundTrip) {
  auto rm = DecodeDeploymentRequest(ThroughFrame(EncodeRemove({5, "a@1.0.0/default"})));
  ASSERT_TRUE(rm.ok()) << rm.status().ToString();
  EXPECT_EQ(rm->id, 5u);
  EXPECT_EQ(rm->dep, "a@1.0.0/default");
  auto st = DecodeDeploymentRequest(ThroughFrame(EncodeStatus({6, "b@2.0.0/x"})));
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->id, 6u);
  EXPECT_EQ(st->dep, "b@2.0.0/x");
  ExpectRefused(DecodeDeploymentRequest, EncodeStatus({6, "d"}), "dep", 3,
                "status: \"dep\" must be a string");
  ExpectRefused(DecodeDeploymentRequest, EncodeRemove({6, "d"}), "id", 1.5,
                "remove: \"id\" must be an unsigned 64-bit integer");
  EXPECT_FALSE(DecodeDeploymentRequest(EncodePing(1)).ok());
}

TEST(Messages, CallAndCancelRoundTrip) {
  CallRequest c{11, "calc@1.0.0/default", "add", {"1", "2", "\"s\""}};
  auto back = DecodeCall(ThroughFrame(EncodeCall(c)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, 11u);
  EXPECT_EQ(back->dep, c.dep);
  EXPECT_EQ(back->export_name, "add");
  EXPECT_EQ(back->args, c.args);
  json body = EncodeCall(c);
  ExpectRefused(DecodeCall, body, "args", json::array({"1", 2}),
                "call: \"args\" must be an array of strings");
  ExpectRefused(DecodeCall, body, "export", nullptr, "call: \"export\" must be a string");

  auto cancel = DecodeCancel(ThroughFrame(EncodeCancel(11)));
  ASSERT_TRUE(cancel.ok());
  EXPECT_EQ(*cancel, 11u);
  ExpectRefused(DecodeCancel, EncodeCancel(1), "call", "11",
                "cancel: \"call\" must be an unsigned 64-bit integer");
}

// The call path's hand-written frames are byte for byte the JSON path's, at
// every MessagePack size boundary (fixstr/str8/16/32, fixarray/array16/32,
// each unsigned width), and decode like it.
TEST(Messages, CallFramesAreTheJsonPathsBytes) {
  const std::vector<size_t> lengths = {0, 1, 31, 32, 255, 256, 65535, 65536};
  const std::vector<uint64_t> ids = {0,     1,     127,        128,         255,       256,
                                     65535, 65536, 0xffffffff, 0x100000000, UINT64_MAX};
  const std::vector<size_t> counts = {0, 1, 15, 16, 65535, 65536};
  auto same_call = [](const CallRequest& c) {
    std::vector<uint8_t> fast = {0xee};  // appended after what is there
    ASSERT_TRUE(AppendCallFrame(c, &fast).ok());
    auto slow = EncodeFrame(EncodeCall(c));
    ASSERT_TRUE(slow.ok());
    EXPECT_EQ(std::vector<uint8_t>(fast.begin() + 1, fast.end()), *slow);
  };
  auto same_reply = [](uint64_t id, const platform::CallResult& r) {
    std::vector<uint8_t> fast;
    ASSERT_TRUE(AppendCallReplyFrame(id, r, &fast).ok());
    auto slow = EncodeFrame(EncodeCallReply(id, r));
    ASSERT_TRUE(slow.ok());
    EXPECT_EQ(fast, *slow);
  };
  for (size_t n : lengths) {
    std::string s(n, 'x');
    same_call({7, s, "add", {s, "2"}});
    same_call({7, "d", s, {}});
    same_reply(7, {s, {s}, std::nullopt});
  }
  for (uint64_t id : ids) {
    same_call({id, "calc@1.0.0/default", "add", {"1"}});
    same_reply(id, {"calc@1.0.0/default#0", {"3"}, std::nullopt});
  }
  for (size_t n : counts) {
    std::vector<std::string> v(n, "a");
    same_call({1, "d", "e", v});
    same_reply(1, {"d#0", v, std::nullopt});
  }
  same_call({1, "d\xff\x00", "\xc1", {std::string("\0", 1)}});  // bytes, not checked UTF-8
  same_reply(3, {"d#1", {}, engine::Trap{engine::TrapKind::kInterrupted, "f", "m", 0}});

  CallRequest c{11, "calc@1.0.0/default", "add", {"1", "2"}};
  std::vector<uint8_t> frame;
  ASSERT_TRUE(AppendCallFrame(c, &frame).ok());
  auto body = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  auto back = DecodeCall(*body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->args, c.args);

  CallRequest huge{1, std::string(kMaxFrameBytes, 'x'), "e", {}};
  std::vector<uint8_t> out = {1, 2};
  EXPECT_EQ(AppendCallFrame(huge, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out, (std::vector<uint8_t>{1, 2}));
}

TEST(Messages, PingAndShutdownAreTyped) {
  json ping = ThroughFrame(EncodePing(77));
  EXPECT_EQ(ping["t"], "ping");
  EXPECT_EQ(ping["id"], 77);
  EXPECT_EQ(ThroughFrame(EncodeShutdown())["t"], "shutdown");
}

TEST(Messages, ReplyCarriesEveryStatusCode) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kUnavailable); ++c) {
    Status st = c == 0 ? Status::Ok()
                       : Status(static_cast<StatusCode>(c), "why " + std::to_string(c));
    json wire = ThroughFrame(EncodeReply(40 + c, st));
    auto id = ReplyId(wire);
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, static_cast<uint64_t>(40 + c));
    Status back = ReplyStatus(wire);
    EXPECT_EQ(back.code(), st.code());
    EXPECT_EQ(back.message(), st.message());
  }
  json unknown = EncodeReply(1, Status::Ok());
  unknown["code"] = 99;
  unknown["msg"] = "from the future";
  Status st = ReplyStatus(unknown);
  EXPECT_EQ(st.code(), StatusCode::kInternal);
  EXPECT_EQ(st.message(), "reply: unknown status code 99: from the future");
  unknown["code"] = "1";
  EXPECT_EQ(ReplyStatus(unknown).message(), "reply: \"code\" must be an unsigned 32-bit integer");
  json no_id = EncodeReply(1, Status::Ok());
  no_id.erase("id");
  EXPECT_EQ(ReplyId(no_id).status().message(), "reply: missing \"id\"");
}

// Several deployments' status in one round trip.
TEST(Messages, StatusesRoundTripWithPerDeploymentErrors) {
  auto req = DecodeStatuses(ThroughFrame(EncodeStatuses({7, {"a@1.0.0/w", "b@1.0.0/w"}})));
  ASSERT_TRUE(req.ok()) << req.status().ToString();
  EXPECT_EQ(req->id, 7u);
  EXPECT_EQ(req->deps, (std::vector<std::string>{"a@1.0.0/w", "b@1.0.0/w"}));
  ExpectRefused(DecodeStatuses, EncodeStatuses({7, {}}), "deps", json::array({1}),
                "statuses: \"deps\" must be an array of strings");
  platform::DeploymentStatus a;
  a.id = "a@1.0.0/w";
  a.started = true;
  a.state = platform::State::kActive;
  a.replicas.push_back({0, platform::State::kActive, 2, std::nullopt, ""});
  std::vector<Result<platform::DeploymentStatus>> in = {a, Status::NotFound("no b")};
  json wire = ThroughFrame(EncodeStatusesReply(7, in));
  EXPECT_TRUE(CheckReply(wire).ok());
  auto back = DecodeStatusesReply(wire, 2);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->size(), 2u);
  ASSERT_TRUE((*back)[0].ok());
  EXPECT_EQ((*back)[0]->id, a.id);
  EXPECT_EQ((*back)[0]->replicas.at(0).restarts, 2u);
  EXPECT_EQ((*back)[1].status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*back)[1].status().message(), "no b");
  EXPECT_EQ(DecodeStatusesReply(wire, 3).status().message(),
            "reply: \"statuses\" has 2 entries for 3 deployments");
  json bad = wire;
  bad["statuses"][0]["status"]["state"] = "asleep";
  EXPECT_NE(DecodeStatusesReply(bad, 2).status().message().find("\"statuses[0].status.state\""),
            std::string::npos)
      << DecodeStatusesReply(bad, 2).status().message();
  bad = wire;
  bad["statuses"][1]["code"] = "two";
  EXPECT_EQ(DecodeStatusesReply(bad, 2).status().message(),
            "reply: \"statuses[1].code\" must be an unsigned 32-bit integer");
}

// What the daemon checks of every reply before it matches it to a request.
TEST(Messages, CheckReplyRefusesAMalformedEnvelope) {
  EXPECT_TRUE(CheckReply(ThroughFrame(EncodeReply(4, Status::NotFound("x")))).ok());
  platform::DeploymentStatus ds;
  ds.id = "a@1.0.0/w";
  EXPECT_TRUE(CheckReply(ThroughFrame(EncodeStatusReply(5, ds))).ok());
  EXPECT_TRUE(CheckReply(ThroughFrame(EncodeCallReply(6, {"a#0", {"1"}, std::nullopt}))).ok());
  json body = EncodeReply(4, Status::Ok());
  auto refused = [&](const std::string& key, const json& bad, const std::string& message) {
    json b = body;
    b[key] = bad;
    Status st = CheckReply(b);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_EQ(st.message(), message);
  };
  refused("id", "4", "reply: \"id\" must be an unsigned 64-bit integer");
  refused("code", "zero", "reply: \"code\" must be an unsigned 32-bit integer");
  refused("msg", 5, "reply: \"msg\" must be a string");
  refused("result", json::array(), "reply: \"result\" must be a map");
  refused("status", json::object({{"id", 1}}), "reply: \"status.id\" must be a string");
  EXPECT_EQ(CheckReply(EncodePing(1)).message(), "reply: \"t\" must be \"reply\"");
}

TEST(Messages, StatusReplyRoundTrips) {
  platform::DeploymentStatus s;
  s.id = "job@1.0.0/default";
  s.started = true;
  s.command = true;
  s.state = platform::State::kActive;
  s.replicas.push_back({0, platform::State::kActive, 2, -3, "exit(-3)"});
  s.replicas.push_back({1, platform::State::kFailed, 0, std::nullopt, "out of fuel"});
  json wire = ThroughFrame(EncodeStatusReply(8, s));
  EXPECT_TRUE(ReplyStatus(wire).ok());
  auto back = DecodeStatusReply(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, s.id);
  EXPECT_TRUE(back->started);
  EXPECT_TRUE(back->command);
  EXPECT_EQ(back->state, platform::State::kActive);
  ASSERT_EQ(back->replicas.size(), 2u);
  EXPECT_EQ(back->replicas[0].restarts, 2u);
  EXPECT_EQ(back->replicas[0].exit_code, -3);
  EXPECT_EQ(back->replicas[0].last_error, "exit(-3)");
  EXPECT_EQ(back->replicas[1].index, 1u);
  EXPECT_EQ(back->replicas[1].state, platform::State::kFailed);
  EXPECT_FALSE(back->replicas[1].exit_code.has_value());

  json body = EncodeStatusReply(8, s);
  json bad = body;
  bad["status"]["state"] = "sleeping";
  EXPECT_EQ(DecodeStatusReply(bad).status().message(),
            "reply: \"status.state\" must be a state (installed, resolved, starting, active, "
            "stopping, failed)");
  bad = body;
  bad["status"]["replicas"][1]["restarts"] = -1;
  EXPECT_EQ(DecodeStatusReply(bad).status().message(),
            "reply: \"status.replicas[1].restarts\" must be an unsigned 32-bit integer");
  bad = body;
  bad["status"]["replicas"][0]["exit_code"] = int64_t{1} << 40;
  EXPECT_EQ(DecodeStatusReply(bad).status().message(),
            "reply: \"status.replicas[0].exit_code\" must be a 32-bit integer");
  ExpectRefused(DecodeStatusReply, body, "status", json::array(),
                "reply: \"status\" must be a map");
  EXPECT_EQ(DecodeStatusReply(EncodeReply(8, Status::Ok())).status().message(),
            "reply: missing \"status\"");
}

TEST(Messages, CallReplyRoundTripsWithAndWithoutTrap) {
  platform::CallResult ok;
  ok.replica = "calc@1.0.0/default#0";
  ok.results = {"3", "\"x\""};
  auto back = DecodeCallReply(ThroughFrame(EncodeCallReply(3, ok)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->replica, ok.replica);
  EXPECT_EQ(back->results, ok.results);
  EXPECT_FALSE(back->trap.has_value());

  platform::CallResult trapped;
  trapped.replica = "calc@1.0.0/default#1";
  trapped.trap = engine::Trap{engine::TrapKind::kOutOfFuel, "add", "", 0};
  back = DecodeCallReply(ThroughFrame(EncodeCallReply(4, trapped)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_TRUE(back->trap.has_value());
  EXPECT_EQ(back->trap->kind, engine::TrapKind::kOutOfFuel);
  EXPECT_EQ(back->error(), trapped.error());
  // Every trap kind survives by name.
  for (int k = 0; k <= static_cast<int>(engine::TrapKind::kExit); ++k) {
    trapped.trap = engine::Trap{static_cast<engine::TrapKind>(k), "f", "m", -7};
    auto b = DecodeCallReply(ThroughFrame(EncodeCallReply(5, trapped)));
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->trap->kind, trapped.trap->kind);
    EXPECT_EQ(b->trap->exit_code, -7);
    EXPECT_EQ(b->trap->message, "m");
  }
  json bad = EncodeCallReply(4, trapped);
  bad["result"]["trap"]["kind"] = "exploded";
  EXPECT_EQ(DecodeCallReply(bad).status().message(),
            "reply: \"result.trap.kind\" must be a trap kind (e.g. \"out of fuel\")");
  bad = EncodeCallReply(4, ok);
  bad["result"]["results"] = "3";
  EXPECT_EQ(DecodeCallReply(bad).status().message(),
            "reply: \"result.results\" must be an array of strings");
}

TEST(Messages, LogRoundTrips) {
  LogMessage m{"job@1.0.0/default", 2, platform::LogStream::kStderr, "boom"};
  auto back = DecodeLog(ThroughFrame(EncodeLog(m)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->dep, m.dep);
  EXPECT_EQ(back->index, 2u);
  EXPECT_EQ(back->stream, platform::LogStream::kStderr);
  EXPECT_EQ(back->line, "boom");
  json body = EncodeLog(m);
  ExpectRefused(DecodeLog, body, "stream", "stdin",
                "log: \"stream\" must be \"stdout\", \"stderr\" or \"platform\"");
  ExpectRefused(DecodeLog, body, "idx", uint64_t{1} << 33,
                "log: \"idx\" must be an unsigned 32-bit integer");
  ExpectRefused(DecodeLog, body, "line", json::binary({1}), "log: \"line\" must be a string");
}

TEST(Messages, EventRoundTrips) {
  platform::Event e{1700000000123, "replica", "job@1.0.0/default#0", "failed", "trap: out of fuel"};
  auto back = DecodeEvent(ThroughFrame(EncodeEvent(e)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ts_ms, e.ts_ms);
  EXPECT_EQ(back->kind, "replica");
  EXPECT_EQ(back->id, e.id);
  EXPECT_EQ(back->state, "failed");
  EXPECT_EQ(back->message, e.message);
  json body = EncodeEvent(e);
  ExpectRefused(DecodeEvent, body, "state", "melted",
                "event: \"state\" must be a state (installed, resolved, starting, active, "
                "stopping, failed)");
  ExpectRefused(DecodeEvent, body, "kind", "planet",
                "event: \"kind\" must be \"module\", \"deployment\" or \"replica\"");
  ExpectRefused(DecodeEvent, body, "ts", -1, "event: \"ts\" must be a non-negative integer");
}

TEST(Messages, UnknownFieldsAreIgnored) {
  json body = EncodeCall({1, "d", "f", {}});
  body["future"] = {{"nested", true}};
  auto r = DecodeCall(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->export_name, "f");
}

TEST(Messages, DecodersRefuseNonMaps) {
  json arr = json::array();
  EXPECT_EQ(DecodeHello(arr).status().message(), "hello: not a map");
  EXPECT_EQ(DecodeEvent(json(3)).status().message(), "event: not a map");
  EXPECT_EQ(ReplyStatus(arr).code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace arcella::worker

namespace arcella::worker {
namespace {

TEST(Messages, AComponentsApplyCarriesItsBytesAndEachCoreModulesCode) {
  ApplyRequest r;
  r.id = 4;
  r.plan = SamplePlan();  // two dirs
  r.plan.code.component = true;
  r.metas = {{1, 2, 3}, {}, {255}};
  r.with_dirs = {0};
  EXPECT_EQ(r.CodeFdCount(), 4u);  // the component's bytes + three modules
  EXPECT_EQ(r.FdCount(), 5u);
  json wire = ThroughFrame(EncodeApply(r));
  ASSERT_TRUE(wire["metas"][0].is_binary());
  auto back = DecodeApply(wire);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->metas, r.metas);
  EXPECT_EQ(back->FdCount(), 5u);
  // Without code, only the directories travel.
  r.with_code = false;
  r.metas.clear();
  EXPECT_EQ(r.FdCount(), 1u);

  ApplyRequest plain;
  plain.id = 1;
  plain.plan = SamplePlan();
  json body = EncodeApply(plain);
  ExpectRefused(DecodeApply, body, "metas", "x", "apply: \"metas\" must be an array of binaries");
  ExpectRefused(DecodeApply, body, "metas", json::array({1}),
                "apply: \"metas\" must be an array of binaries");
  body.erase("metas");
  EXPECT_EQ(DecodeApply(body).status().message(), "apply: missing \"metas\"");
  // metas belong to a component's code only.
  ApplyRequest core;
  core.plan = SamplePlan();
  core.metas = {{1}};
  EXPECT_NE(DecodeApply(EncodeApply(core)).status().message().find("\"metas\" must be empty"),
            std::string::npos);
  ApplyRequest comp;
  comp.plan = SamplePlan();
  comp.plan.code.component = true;
  comp.meta = {1};
  EXPECT_EQ(DecodeApply(EncodeApply(comp)).status().message(),
            "apply: \"meta\" must be empty for a component");
}

TEST(Messages, LinkCallAndLinkReplyRoundTrip) {
  LinkCallRequest c{7, "app@0.1.0/web", "arcella:fixtures/host@0.1.0", "add", {"1", "2"}};
  auto back = DecodeLinkCall(ThroughFrame(EncodeLinkCall(c)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->id, 7u);
  EXPECT_EQ(back->dep, c.dep);
  EXPECT_EQ(back->import_name, c.import_name);
  EXPECT_EQ(back->func, "add");
  EXPECT_EQ(back->args, c.args);
  json body = EncodeLinkCall(c);
  ExpectRefused(DecodeLinkCall, body, "import", 3, "link-call: \"import\" must be a string");
  ExpectRefused(DecodeLinkCall, body, "args", json::array({1}),
                "link-call: \"args\" must be an array of strings");
  ExpectRefused(DecodeLinkCall, body, "id", "x",
                "link-call: \"id\" must be an unsigned 64-bit integer");

  LinkReply value{7, Status::Ok(), std::string("3"), std::nullopt};
  auto v = DecodeLinkReply(ThroughFrame(EncodeLinkReply(value)));
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->status.ok());
  EXPECT_EQ(v->value, std::optional<std::string>("3"));
  EXPECT_FALSE(v->trap);
  LinkReply trap{8, Status::Ok(), std::nullopt, std::string("link to p: unavailable: gone")};
  auto t = DecodeLinkReply(ThroughFrame(EncodeLinkReply(trap)));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->trap, trap.trap);
  LinkReply refused{9, Status::NotFound("no link for import x"), std::nullopt, std::nullopt};
  auto n = DecodeLinkReply(ThroughFrame(EncodeLinkReply(refused)));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->status.code(), StatusCode::kNotFound);
  EXPECT_EQ(n->status.message(), "no link for import x");
  json both = EncodeLinkReply(value);
  both["trap"] = "x";
  EXPECT_EQ(DecodeLinkReply(both).status().message(), "link-reply: both \"value\" and \"trap\"");
  ExpectRefused(DecodeLinkReply, EncodeLinkReply(value), "code", 99,
                "link-reply: \"code\" must be a status code");
}

// Resource handles across links (docs/WORKER.md "Resource handles"): the
// handle form, pins and drops ride on call frames; the worker's scopes on
// link-call, link-drop and link-end.
TEST(Messages, PinnedCallsDropsAndHandleScopesRoundTrip) {
  CallRequest c{3,
                "prov@0.1.0/p",
                "arcella:fixtures/counters@0.1.0#[method]counter.add",
                {"7", "5"}};
  c.handles = true;
  c.replica = 2;
  c.instance = 99;
  std::vector<uint8_t> frame;
  ASSERT_TRUE(AppendCallFrame(c, &frame).ok());
  auto body = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
  ASSERT_TRUE(body.ok()) << body.status().ToString();
  auto back = DecodeCall(*body);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->handles);
  EXPECT_EQ(back->replica, std::optional<uint32_t>(2));
  EXPECT_EQ(back->instance, 99u);
  EXPECT_FALSE(back->drop);
  // An ordinary call carries none of them.
  auto plain = DecodeCall(EncodeCall({4, "d", "f", {}}));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->handles || plain->replica || plain->drop);

  json pinned = EncodeCall(c);
  ExpectRefused(DecodeCall, pinned, "instance", 0,
                "call: \"instance\" must be a non-zero instance id");
  json unpinned_drop = EncodeCall({5, "d", "IFACE#counter", {"7"}});
  unpinned_drop["drop"] = true;
  EXPECT_FALSE(DecodeCall(unpinned_drop).ok());
  CallRequest drop{6, "d", "IFACE#counter", {"7"}};
  drop.drop = true;
  drop.replica = 0;
  drop.instance = 1;
  auto d = DecodeCall(EncodeCall(drop));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->drop);

  platform::CallResult served;
  served.replica = "prov@0.1.0/p#2";
  served.results = {"1"};
  served.instance = 99;
  frame.clear();
  ASSERT_TRUE(AppendCallReplyFrame(8, served, &frame).ok());
  auto reply = DecodeFrameBody(std::span<const uint8_t>(frame).subspan(4));
  ASSERT_TRUE(reply.ok());
  auto r = DecodeCallReply(*reply);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->instance, 99u);

  LinkCallRequest lc{
      7, "user@0.1.0/u", "arcella:fixtures/counters@0.1.0", "[method]counter.get", {"3"}};
  lc.scope = 12;
  auto lb = DecodeLinkCall(ThroughFrame(EncodeLinkCall(lc)));
  ASSERT_TRUE(lb.ok());
  EXPECT_EQ(lb->scope, 12u);

  auto ld = DecodeLinkDrop(ThroughFrame(EncodeLinkDrop({12, 3})));
  ASSERT_TRUE(ld.ok()) << ld.status().ToString();
  EXPECT_EQ(ld->scope, 12u);
  EXPECT_EQ(ld->handle, std::optional<uint32_t>(3));
  auto le = DecodeLinkDrop(ThroughFrame(EncodeLinkDrop({12, std::nullopt})));
  ASSERT_TRUE(le.ok()) << le.status().ToString();
  EXPECT_FALSE(le->handle);
  ExpectRefused(DecodeLinkDrop, EncodeLinkDrop({12, 3}), "scope", 0,
                "link-drop: \"scope\" must be a non-zero scope");
  ExpectRefused(DecodeLinkDrop, EncodeLinkDrop({12, 3}), "handle", "x",
                "link-drop: \"handle\" must be an unsigned 32-bit integer");
}

}  // namespace
}  // namespace arcella::worker
