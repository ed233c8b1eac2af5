// fake_worker: a lying arcella-worker for hostile_worker_test.cc. WorkerHost
// starts it like the real one (WorkerHostOptions::worker_path). For a group
// named "hostile-<mode>" it says hello correctly and then misbehaves as
// <mode> says; for any other group it execs the real arcella-worker with the
// same arguments, so one host runs hostile and real workers side by side.
//
// Modes (what happens at the first request, usually the group's apply):
//   garbage          a frame whose bytes are not MessagePack
//   oversize         a length prefix over kMaxFrameBytes
//   unknown-id       a reply to a request id that was never sent
//   wrong-type       a reply whose "code" is a string
//   silent           no answer, ever
//   close-mid-frame  half a frame, then the socket is shut down
//   partial-hello    (before any request) two bytes of the hello, then nothing
//   log-flood        answers like a worker, then 256 MiB of log lines
//   stderr-flood     answers like a worker, then 64 MiB on stderr without a newline
//   foreign          answers like a worker, after log lines and events naming
//                    other groups' deployments and replica indices it cannot have
//   link-ring-length (with the link ring mapped, hello says so) instead of
//                    answering, posts slot 0 of the link ring with a length
//                    past the slot
//   link-ring-prefix likewise, a frame whose length prefix disagrees with the slot's
//   link-ring-junk   likewise, bytes that are not MessagePack
//   link-ring-type   likewise, a well-formed frame that is not a link-call
//   link-ring-spill  answers like a worker; after the first apply, posts in
//                    slot 0 of the link ring a link-call that fits the slot
//                    but whose refusal does not (a calling deployment's name
//                    of ~3,970 bytes): logs the reply from the socket and
//                    whether the slot said `spilled`
//   forge-handles    answers like a worker; after each apply, link-calls and
//                    link-drops naming resource handle tokens it was never
//                    given (handle 1 in scopes 1..3 of its counters import),
//                    logging each link-reply
// A well-behaved answer: ok to apply/remove/ping, every planned replica
// `active` to status, "42" to calls. The process never exits on its own
// while the daemon keeps the socket open (the daemon has to end it).
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <linux/futex.h>
#include <sys/syscall.h>

#include <memory>

#include "worker/call_ring.h"
#include "worker/channel.h"
#include "worker/messages.h"

namespace {

using arcella::Status;
using namespace arcella::worker;  // NOLINT

[[noreturn]] void Hang() {
  for (;;) pause();
}

void WriteAll(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void SendLog(Channel& ch, const std::string& dep, uint32_t index, const std::string& line) {
  (void)ch.Send(EncodeLog({dep, index, arcella::platform::LogStream::kStdout, line}));
}

// Posts slot 0 of the link ring with `len` and `bytes` (what a link-call
// would be, or not), as a worker's replica would.
void PostLinkSlot(CallRing& ring, uint32_t len, const std::vector<uint8_t>& bytes) {
  RingSlot* s = ring.slot(0);
  std::memcpy(s->data, bytes.data(), std::min<size_t>(bytes.size(), kRingSlotBytes));
  s->len.store(len);
  s->state.store(kRingCall);
  RingHeader* h = ring.header();
  h->posted.fetch_or(1);
  h->doorbell.fetch_add(1);
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(&h->doorbell), FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

void BreakLinkRing(CallRing& ring, const std::string& mode) {
  auto frame = [](const nlohmann::json& body) {
    auto f = EncodeFrame(body);
    return f.ok() ? *f : std::vector<uint8_t>{};
  };
  if (mode == "link-ring-length") {
    auto f = frame(EncodeLinkCall({1, "x", "y", "f", {}}));
    PostLinkSlot(ring, kRingSlotBytes + 1, f);
  } else if (mode == "link-ring-prefix") {
    auto f = frame(EncodeLinkCall({1, "x", "y", "f", {}}));
    PostLinkSlot(ring, static_cast<uint32_t>(f.size() - 1), f);
  } else if (mode == "link-ring-junk") {
    PostLinkSlot(ring, 8, {0, 0, 0, 4, 0xc1, 0xc1, 0xc1, 0xc1});
  } else if (mode == "link-ring-type") {
    auto f = frame(EncodeReply(7, Status::Ok()));
    PostLinkSlot(ring, static_cast<uint32_t>(f.size()), f);
  }
}

int Serve(int fd, const std::string& mode, std::unique_ptr<CallRing> link_ring) {
  if (mode == "partial-hello") {
    WriteAll(fd, "\0\0", 2);
    Hang();
  }
  Channel ch(fd);
  if (!ch.Send(EncodeHello(
                   {kProtocolVersion, getpid(), "none (fake_worker)", false, link_ring != nullptr}))
           .ok())
    return 1;
  std::map<std::string, uint32_t> replicas;  // planned, per deployment
  bool spilled_posted = false;               // mode link-ring-spill
  std::vector<std::thread> floods;
  for (;;) {
    auto m = ch.Receive();
    if (!m.ok() || m->type() == "shutdown") break;
    const std::string t = m->type();
    if (t == "cancel") continue;
    if (t == "link-reply") {  // answers to the link-calls of mode foreign-link, logged
      auto r = DecodeLinkReply(m->body);
      if (r.ok() && !replicas.empty())
        SendLog(ch, replicas.begin()->first, 0,
                "link-reply " + std::to_string(r->id) + ": " + r->status.ToString() +
                    (r->trap ? " trap: " + *r->trap : std::string()) +
                    (r->value ? " value: " + *r->value : std::string()));
      continue;
    }
    uint64_t id = m->body.value("id", uint64_t{0});
    if (mode == "garbage") {
      const uint8_t junk[] = {0, 0, 0, 8, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1};
      WriteAll(fd, junk, sizeof junk);
      Hang();
    } else if (mode == "oversize") {
      const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 0x81, 0xa1, 't'};
      WriteAll(fd, huge, sizeof huge);
      Hang();
    } else if (mode == "unknown-id") {
      (void)ch.Send(EncodeReply(id + 1000, Status::Ok()));
      continue;
    } else if (mode == "wrong-type") {
      (void)ch.Send({{"t", "reply"}, {"id", id}, {"code", "zero"}, {"msg", ""}});
      continue;
    } else if (mode == "silent") {
      continue;
    } else if (mode == "close-mid-frame") {
      const uint8_t half[] = {0, 0, 0, 100, 0x83, 0xa1, 't', 0xa5, 'r', 'e', 'p'};
      WriteAll(fd, half, sizeof half);
      shutdown(fd, SHUT_RDWR);
      Hang();
    }
    if (mode == "link-ring-spill" && t == "apply") {
      auto a = DecodeApply(m->body);
      if (a.ok()) replicas[a->plan.id] = a->plan.replicas;
      (void)ch.Send(EncodeReply(id, Status::Ok()));
      if (!link_ring || spilled_posted) continue;
      spilled_posted = true;
      // The longest calling deployment whose link-call still fits a slot.
      LinkCallRequest req{1, "", "example:logger/log@0.1.0", "log", {"\"x\""}};
      std::vector<uint8_t> f;
      for (size_t len = kRingSlotBytes; len > 0; --len) {
        req.dep.assign(len, 'd');
        auto e = EncodeFrame(EncodeLinkCall(req));
        if (e.ok() && e->size() <= kRingSlotBytes) {
          f = std::move(*e);
          break;
        }
      }
      PostLinkSlot(*link_ring, static_cast<uint32_t>(f.size()), f);
      std::string state = "no answer";
      for (int i = 0; i < 5000; ++i) {
        const uint32_t st = link_ring->slot(0)->state.load();
        if (st != kRingCall) {
          state = st == kRingSpilled ? "spilled" : "state " + std::to_string(st);
          break;
        }
        usleep(1000);
      }
      SendLog(ch, a.ok() ? a->plan.id : "", 0,
              "link ring slot 0: " + state + " (call frame " + std::to_string(f.size()) +
                  " bytes)");
      continue;
    }
    if (mode.starts_with("link-ring-") && t == "apply") {
      if (link_ring) BreakLinkRing(*link_ring, mode);
      continue;  // no answer: the daemon has to end this worker
    }
    // Well-behaved answers (the flood and foreign modes misbehave elsewhere).
    if (t == "apply") {
      auto a = DecodeApply(m->body);
      if (!a.ok()) {
        (void)ch.Send(EncodeReply(id, a.status()));
        continue;
      }
      const std::string dep = a->plan.id;
      replicas[dep] = a->plan.replicas;
      if (mode == "foreign") {
        SendLog(ch, "counter@1.0.0/web", 0, "INJECTED into another group");
        SendLog(ch, "nobody@1.0.0/nowhere", 0, "INJECTED into no deployment");
        SendLog(ch, dep, 4'000'000'000u, "a replica index the deployment cannot have");
        for (const char* kind : {"deployment", "replica", "module"}) {
          std::string target = kind == std::string("replica") ? "counter@1.0.0/web#0"
                                                              : "counter@1.0.0/web";
          (void)ch.Send(EncodeEvent({0, kind, target, "failed", "INJECTED"}));
        }
        (void)ch.Send(EncodeEvent({0, "replica", dep + "#4000000000", "failed", "INJECTED"}));
        SendLog(ch, dep, 0, "foreign done");
      }
      (void)ch.Send(EncodeReply(id, Status::Ok()));
      if (mode == "foreign-link") {
        // Calls through links its deployments do not have: another group's
        // deployment, and its own deployment's import that is not linked.
        (void)ch.Send(EncodeLinkCall(
            {1, "counter@1.0.0/web", "example:logger/log@0.1.0", "log", {"\"INJECTED\""}}));
        (void)ch.Send(EncodeLinkCall({2, dep, "example:logger/log@0.1.0", "log", {"\"x\""}}));
      }
      if (mode == "forge-handles") {
        // Another importer (a real one) holds handle 1 in its own scope:
        // the daemon keeps scopes per worker, so these name nothing.
        const std::string counters = "arcella:fixtures/counters@0.1.0";
        for (uint64_t scope = 1; scope <= 3; ++scope) {
          (void)ch.Send(
              EncodeLinkCall({10 + scope, dep, counters, "[method]counter.get", {"1"}, scope}));
          (void)ch.Send(EncodeLinkDrop({scope, 1}));
        }
        (void)ch.Send(EncodeLinkCall({20, dep, counters, "[static]counter.consume", {"1"}, 1}));
        (void)ch.Send(EncodeLinkDrop({2, std::nullopt}));  // link-end of a scope
        (void)ch.Send(EncodeLinkCall({21, dep, counters, "live", {}, 0}));
      }
      if (mode == "log-flood" && floods.empty()) {
        floods.emplace_back([&ch, dep] {
          const std::string line(8192, 'f');
          for (int i = 0; i < 32768; ++i) SendLog(ch, dep, 0, line);  // 256 MiB
          SendLog(ch, dep, 0, "log flood done");
        });
      } else if (mode == "stderr-flood" && floods.empty()) {
        floods.emplace_back([&ch, dep] {
          const std::string chunk(1 << 20, 'e');
          for (int i = 0; i < 64; ++i) WriteAll(2, chunk.data(), chunk.size());
          WriteAll(2, "\n", 1);
          SendLog(ch, dep, 0, "stderr flood done");
        });
      }
    } else if (t == "status") {
      auto r = DecodeDeploymentRequest(m->body);
      if (!r.ok()) continue;
      arcella::platform::DeploymentStatus s;
      s.id = r->dep;
      s.started = true;
      s.state = arcella::platform::State::kActive;
      for (uint32_t i = 0; i < replicas[r->dep]; ++i) {
        arcella::platform::ReplicaStatus rs;
        rs.index = i;
        rs.state = arcella::platform::State::kActive;
        s.replicas.push_back(rs);
      }
      (void)ch.Send(EncodeStatusReply(id, s));
    } else if (t == "call") {
      auto c = DecodeCall(m->body);
      if (!c.ok()) continue;
      (void)ch.Send(EncodeCallReply(id, {c->dep + "#0", {"42"}, std::nullopt}));
    } else {
      (void)ch.Send(EncodeReply(id, Status::Ok()));
    }
  }
  ch.Close();
  for (auto& f : floods) f.join();
  _exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  int fd = -1;
  int link_ring_fd = -1;
  std::string group;
  for (int i = 1; i + 1 < argc; ++i) {
    if (strcmp(argv[i], "--socket-fd") == 0) fd = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--link-ring-fd") == 0) link_ring_fd = atoi(argv[i + 1]);
    if (strcmp(argv[i], "--group") == 0) group = argv[i + 1];
  }
  const std::string prefix = "hostile-";
  if (group.compare(0, prefix.size(), prefix) != 0) {
    argv[0] = const_cast<char*>(ARCELLA_WORKER_BIN_PATH);
    execv(ARCELLA_WORKER_BIN_PATH, argv);
    perror("fake_worker: execv " ARCELLA_WORKER_BIN_PATH);
    return 127;
  }
  if (fd < 3) return 2;
  std::unique_ptr<CallRing> link_ring;
  if (link_ring_fd >= 3) {
    auto mapped = CallRing::Map(link_ring_fd);
    if (mapped.ok()) link_ring = std::move(*mapped);
  }
  return Serve(fd, group.substr(prefix.size()), std::move(link_ring));
}
