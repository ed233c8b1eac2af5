// The worker protocol's messages (docs/WORKER.md), as typed values and
// their MessagePack bodies (Channel frames). Version kProtocolVersion.
//
// Daemon -> worker (requests carry a u64 "id", unique per connection; each
// gets exactly one Reply with that id, in any order):
//   apply    {id, plan, started, with_code, meta, metas, with_dirs}
//                                        fds: [code if sent, dirs sent]
//   remove   {id, dep}
//   status   {id, dep}
//   statuses {id, deps}                  (several deployments' status at once)
//   call     {id, dep, export, args}
//   cancel   {call}                      (no reply; cancels call `call`)
//   ping     {id}                        (reply: ok; health and benchmarks)
//   shutdown {}                          (no reply; the worker exits 0)
// Worker -> daemon:
//   hello    {v, pid, sandbox, ring, link_ring}  first frame, once (ring, link_ring:
//                                        optional bools)
//   reply    {id, code, msg, ...}        code 0: ok (plus the request's result)
//   link-call {id, dep, import, func, args}  a replica's call through a link
//                                        (ids the worker's own; answered by link-reply;
//                                        on the socket or in a link ring slot, whose
//                                        reply comes in the slot or, if too big, here)
// Daemon -> worker, answering a link-call:
//   link-reply {id, code, msg, value?, trap?}
//   log      {dep, idx, stream, line}    one captured line of a replica
//   event    {ts, kind, id, state, detail}  a state change (platform::Event)
//
// Every decoder checks types and ranges and names the field that is wrong
// (InvalidArgument); nothing throws.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/portable_code.h"
#include "platform/deployment_plan.h"
#include "platform/events.h"
#include "platform/log_hub.h"
#include "platform/replica_host.h"

namespace arcella::worker {

struct Hello {
  uint32_t version = 0;
  int64_t pid = 0;
  std::string sandbox;     // DescribeSandbox() of the worker, for logs and status
  bool ring = false;       // the worker mapped the call ring it was given (call_ring.h)
  bool link_ring = false;  // the worker mapped the link ring it was given (call_ring.h)
};
nlohmann::json EncodeHello(const Hello& h);
Result<Hello> DecodeHello(const nlohmann::json& body);

// apply: the code's tier/metering/hash are those of plan.code. The daemon
// sends the code only to a worker that does not hold code for plan.code yet
// (`with_code`: fds[0] is the code, `meta` is PortableCode::meta; otherwise
// `meta` is empty and the worker uses the code it holds, an error naming the
// CodeRef if it holds none). Likewise for directories: `with_dirs` lists,
// ascending, the indices i of plan.dirs whose descriptors follow (after the
// code, in that order); every other directory the worker must hold already.
// fds: [code if with_code] + [dir plan.dirs[i] for i in with_dirs].
// A component's code (plan.code.component) is its bytes followed by each
// of its core modules' code (platform/portable_component.h): `meta` is
// empty, `metas` has one PortableCode::meta per core module, and the code
// is 1 + metas.size() descriptors (bytes first); `metas` is empty
// otherwise.
struct ApplyRequest {
  uint64_t id = 0;
  platform::DeploymentPlan plan;
  bool started = false;
  bool with_code = true;
  std::vector<uint8_t> meta;
  std::vector<std::vector<uint8_t>> metas;
  std::vector<uint32_t> with_dirs;
  // The descriptors of the code, and of the whole request.
  size_t CodeFdCount() const {
    return with_code ? (plan.code.component ? 1 + metas.size() : 1) : 0;
  }
  size_t FdCount() const { return CodeFdCount() + with_dirs.size(); }
};
nlohmann::json EncodeApply(const ApplyRequest& r);
Result<ApplyRequest> DecodeApply(const nlohmann::json& body);

// remove / status: {id, dep}.
struct DeploymentRequest {
  uint64_t id = 0;
  std::string dep;
};
nlohmann::json EncodeRemove(const DeploymentRequest& r);
nlohmann::json EncodeStatus(const DeploymentRequest& r);
Result<DeploymentRequest> DecodeDeploymentRequest(const nlohmann::json& body);

// statuses: the status of several deployments in one round trip. The reply's
// "statuses" has one entry per dep, in order: {code, msg, status (if code
// 0)}; DecodeStatusesReply checks there are `count` of them.
struct StatusesRequest {
  uint64_t id = 0;
  std::vector<std::string> deps;
};
nlohmann::json EncodeStatuses(const StatusesRequest& r);
Result<StatusesRequest> DecodeStatuses(const nlohmann::json& body);
nlohmann::json EncodeStatusesReply(uint64_t id,
                                   const std::vector<Result<platform::DeploymentStatus>>& s);
Result<std::vector<Result<platform::DeploymentStatus>>> DecodeStatusesReply(
    const nlohmann::json& body, size_t count);

struct CallRequest {
  uint64_t id = 0;
  std::string dep;
  std::string export_name;
  std::vector<std::string> args;
  // Resource handles across links (docs/WORKER.md "Resource handles"); all
  // absent from an ordinary call. `handles`: the args and the result are in
  // the handle form (component::WaveOptions::handles). `replica` and
  // `instance` (both or neither): only that replica's instance with that id
  // may serve the call. `drop`: no call; the own handle args[0] (a u32) of
  // exported resource `export` ("IFACE#name") is dropped in the pinned
  // instance.
  bool handles = false;
  std::optional<uint32_t> replica{};
  uint64_t instance = 0;
  bool drop = false;
};
nlohmann::json EncodeCall(const CallRequest& r);
Result<CallRequest> DecodeCall(const nlohmann::json& body);

nlohmann::json EncodeCancel(uint64_t call_id);
Result<uint64_t> DecodeCancel(const nlohmann::json& body);

nlohmann::json EncodePing(uint64_t id);
nlohmann::json EncodeShutdown();

// reply: `code` is the StatusCode as an integer (0 = ok), `msg` its message.
// Results ride in the same map: "status" (DeploymentStatus) for status
// requests, "result" (CallResult) for calls.
nlohmann::json EncodeReply(uint64_t id, const Status& st);
nlohmann::json EncodeStatusReply(uint64_t id, const platform::DeploymentStatus& s);
nlohmann::json EncodeCallReply(uint64_t id, const platform::CallResult& r);
// The request id of a reply (InvalidArgument if none).
Result<uint64_t> ReplyId(const nlohmann::json& body);
// Whether a reply is well formed, as the daemon checks every reply before
// matching it to its request: "id" u64, "code" u32, "msg" a string if
// present, "status" a whole DeploymentStatus if present, "result" a map if
// present (its fields are checked by DecodeCallReply, on the caller's
// thread), "statuses" an array if present (DecodeStatusesReply). InvalidArgument naming the field
// otherwise.
Status CheckReply(const nlohmann::json& body);
// The reply's Status (an unknown code decodes as Internal naming it).
Status ReplyStatus(const nlohmann::json& body);
Result<platform::DeploymentStatus> DecodeStatusReply(const nlohmann::json& body);
Result<platform::CallResult> DecodeCallReply(const nlohmann::json& body);

// The hot frames of the call path written straight to MessagePack, without
// a JSON tree: appended to `out` is, byte for byte, what
// EncodeFrame(EncodeCall(r)) and EncodeFrame(EncodeCallReply(id, r)) give
// (messages_test checks), ready for Channel::SendFrame. InvalidArgument (and
// `out` unchanged) for a body over kMaxFrameBytes. Receiving is unchanged:
// such frames decode through DecodeFrameBody like any other.
Status AppendCallFrame(const CallRequest& r, std::vector<uint8_t>* out);
Status AppendCallReplyFrame(uint64_t id, const platform::CallResult& r, std::vector<uint8_t>* out);

// link-call: replica of deployment `dep` (of the worker's group) calls
// function `func` of its linked import `import` ("" for an import that is
// a function itself) with one WAVE text per parameter, typed by the
// import. The daemon resolves the link itself (a worker names only its own
// deployments' imports) and answers with a LinkReply of the same id.
struct LinkCallRequest {
  uint64_t id = 0;
  std::string dep;
  std::string import_name;
  std::string func;
  std::vector<std::string> args;
  // The importing instance's handle scope in the worker (0: none). Args and
  // value carry resource handles in the handle form when the function
  // passes them (tokens the daemon gave within that scope).
  uint64_t scope = 0;
};
nlohmann::json EncodeLinkCall(const LinkCallRequest& r);
Result<LinkCallRequest> DecodeLinkCall(const nlohmann::json& body);

// link-reply: `code`/`msg` as a reply (non-zero: the call could not be
// made, e.g. the link is gone); on success either `value` (the result as
// WAVE text; absent for a function without result) or `trap` (what
// trapped: the provider's guest, or the provider being unavailable).
struct LinkReply {
  uint64_t id = 0;
  Status status;
  std::optional<std::string> value;
  std::optional<std::string> trap;
};
nlohmann::json EncodeLinkReply(const LinkReply& r);
Result<LinkReply> DecodeLinkReply(const nlohmann::json& body);

// link-drop (worker -> daemon, no reply): the importing instance of scope
// `scope` (LinkCallRequest::scope) dropped the handle `handle` it held
// through a link. link-end: that instance is gone; every handle it still
// held is dropped.
struct LinkDrop {
  uint64_t scope = 0;
  std::optional<uint32_t> handle{};  // absent: link-end
};
nlohmann::json EncodeLinkDrop(const LinkDrop& d);
Result<LinkDrop> DecodeLinkDrop(const nlohmann::json& body);  // link-drop or link-end

struct LogMessage {
  std::string dep;
  uint32_t index = 0;
  platform::LogStream stream = platform::LogStream::kStdout;
  std::string line;
};
nlohmann::json EncodeLog(const LogMessage& m);
Result<LogMessage> DecodeLog(const nlohmann::json& body);

nlohmann::json EncodeEvent(const platform::Event& e);
Result<platform::Event> DecodeEvent(const nlohmann::json& body);

}  // namespace arcella::worker
