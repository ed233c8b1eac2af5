// The call ring's two ends in one process (two mappings of the same memfd,
// as the daemon and the worker have): calls and replies go through, and
// everything a hostile worker can write is caught by the daemon's checks.
#include "worker/call_ring.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <set>
#include <thread>

#include "worker/channel.h"
#include "worker/messages.h"

namespace arcella::worker {
namespace {

using std::chrono::milliseconds;
using Poll = RingClient::Poll;

std::vector<uint8_t> RingCallFrame(uint64_t id) {
  std::vector<uint8_t> f;
  EXPECT_TRUE(AppendCallFrame({id, "dep", "add", {"2", "40"}}, &f).ok());
  return f;
}

std::vector<uint8_t> RingReplyFrame(uint64_t id) {
  std::vector<uint8_t> f;
  platform::CallResult r{.replica = "dep#0", .results = {"42"}, .trap = std::nullopt};
  EXPECT_TRUE(AppendCallReplyFrame(id, r, &f).ok());
  return f;
}

// A daemon end and a worker end over one ring of `slots`.
struct RingPair {
  explicit RingPair(uint32_t slots, RingClient::Options o = {}) {
    auto ring = CallRing::Create(slots, std::chrono::microseconds(0));
    EXPECT_TRUE(ring.ok()) << ring.status().ToString();
    UniqueFd fd = (*ring)->TakeFd();
    auto mapped = CallRing::Map(dup(fd.get()));
    EXPECT_TRUE(mapped.ok()) << mapped.status().ToString();
    client = std::make_unique<RingClient>(std::move(*ring), o);
    server = std::make_unique<RingServer>(std::move(*mapped));
  }
  RingSlot* WorkerSlot(int i) { return server->ring().slot(static_cast<uint32_t>(i)); }
  std::unique_ptr<RingClient> client;
  std::unique_ptr<RingServer> server;
};

TEST(CallRingTest, ACallAndItsReplyGoThroughTheSharedMapping) {
  RingPair p(4);
  auto slot = p.client->Acquire();
  ASSERT_TRUE(slot.ok());
  ASSERT_GE(*slot, 0);
  auto call = RingCallFrame(7);
  p.client->Post(*slot, call);
  EXPECT_EQ(p.server->Take(false), *slot);
  auto in = p.server->Frame(*slot);
  ASSERT_EQ(std::vector<uint8_t>(in.begin(), in.end()), call);
  auto body = DecodeFrameBody(in.subspan(4));
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(DecodeCall(*body)->id, 7u);
  EXPECT_FALSE(p.server->Cancelled(*slot));
  p.client->Cancel(*slot);
  EXPECT_TRUE(p.server->Cancelled(*slot));
  std::vector<uint8_t> reply;
  std::string why;
  EXPECT_EQ(p.client->Wait(*slot, milliseconds(1), &reply, &why), Poll::kWaiting);
  p.server->Reply(*slot, RingReplyFrame(7));
  ASSERT_EQ(p.client->Wait(*slot, milliseconds(1000), &reply, &why), Poll::kReply) << why;
  EXPECT_EQ(reply, RingReplyFrame(7));
  p.client->Release(*slot);
}

TEST(CallRingTest, ASleepingWorkerThreadAndASleepingCallerAreWoken) {
  RingPair p(2);
  auto taken = std::async(std::launch::async, [&] { return p.server->Take(false); });
  std::this_thread::sleep_for(
      milliseconds(20));  // asleep on the doorbell by now (or not: either works)
  int slot = *p.client->Acquire();
  p.client->Post(slot, RingCallFrame(1));
  EXPECT_EQ(taken.get(), slot);
  auto answer = std::async(std::launch::async, [&] {
    std::this_thread::sleep_for(milliseconds(20));
    p.server->Reply(slot, RingReplyFrame(1));
  });
  std::vector<uint8_t> reply;
  std::string why;
  Poll r = Poll::kWaiting;
  while (r == Poll::kWaiting) r = p.client->Wait(slot, milliseconds(1000), &reply, &why);
  EXPECT_EQ(r, Poll::kReply) << why;
  answer.get();
}

// Two calls posted while one worker thread spins (so the daemon wakes
// nobody) and another sleeps: the spinner takes one and, since it keeps it,
// wakes the sleeper for the other.
TEST(CallRingTest, ACallPostedWhileAThreadSpinsIsNotLeftForItAlone) {
  auto ring = CallRing::Create(4, std::chrono::milliseconds(10));  // the longest spin allowed
  ASSERT_TRUE(ring.ok());
  auto mapped = CallRing::Map(dup((*ring)->TakeFd().get()));
  ASSERT_TRUE(mapped.ok());
  RingClient client(std::move(*ring), {});
  RingServer server(std::move(*mapped));
  RingHeader* h = server.ring().header();
  auto spinner = std::async(std::launch::async, [&] { return server.Take(true); });
  while (h->spinning.load() == 0) std::this_thread::yield();
  auto sleeper = std::async(std::launch::async, [&] { return server.Take(false); });
  while (h->sleepers.load() == 0) std::this_thread::yield();
  // Both posted at once, as Post() does with a thread spinning: no wake-up.
  int a = *client.Acquire(), b = *client.Acquire();
  for (int slot : {a, b}) {
    auto frame = RingCallFrame(static_cast<uint64_t>(slot));
    RingSlot* s = client.ring().slot(static_cast<uint32_t>(slot));
    std::memcpy(s->data, frame.data(), frame.size());
    s->len.store(static_cast<uint32_t>(frame.size()));
    s->state.store(kRingCall);
  }
  client.ring().header()->posted.fetch_or((uint64_t{1} << a) | (uint64_t{1} << b));
  auto ready = [](std::future<int>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  };
  // A hang guard (10 s), not a timing check: with the bug, one call stays
  // posted while the other thread sleeps forever.
  for (int i = 0; i < 1000 && !(ready(spinner) && ready(sleeper)); ++i)
    std::this_thread::sleep_for(milliseconds(10));
  if (!(ready(spinner) && ready(sleeper))) {
    const bool both_asleep = h->sleepers.load() == 2;
    server.Stop();
    spinner.get();
    sleeper.get();
    if (both_asleep) GTEST_SKIP() << "the spinner stopped before the calls were posted";
    FAIL() << "a posted call was left to a thread that sleeps";
  }
  std::set<int> taken = {spinner.get(), sleeper.get()};
  EXPECT_EQ(taken, (std::set<int>{a, b}));
}

TEST(CallRingTest, SlotsAreHandedOutFirstInFirstOutAndRunOut) {
  RingPair p(3);
  std::vector<int> got;
  for (int i = 0; i < 3; ++i) got.push_back(*p.client->Acquire());
  EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(*p.client->Acquire(), -1);  // every slot busy: the caller uses the socket
  p.client->Release(1);
  p.client->Release(0);
  EXPECT_EQ(*p.client->Acquire(), 1);
  EXPECT_EQ(*p.client->Acquire(), 0);
}

TEST(CallRingTest, AReplyTooBigForTheSlotIsSpilledToTheSocket) {
  RingPair p(1);
  int slot = *p.client->Acquire();
  p.client->Post(slot, RingCallFrame(3));
  ASSERT_EQ(p.server->Take(false), slot);
  p.server->Spilled(slot);
  std::vector<uint8_t> reply;
  std::string why;
  EXPECT_EQ(p.client->Wait(slot, milliseconds(1000), &reply, &why), Poll::kSpilled);
}

// What a hostile worker can write, one thing at a time: the daemon reports
// it (kBroken, with the reason) and reads nothing past the slot.
TEST(CallRingTest, GarbageFromTheWorkerIsCaughtByTheBoundsChecks) {
  struct Case {
    const char* name;
    std::function<void(RingSlot*)> scribble;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"length over the slot",
       [](RingSlot* s) {
         s->len.store(kRingSlotBytes + 1);
         s->state.store(kRingReply);
       },
       "reply length 4033 out of range 4..4032"},
      {"length huge",
       [](RingSlot* s) {
         s->len.store(0xFFFFFFFFu);
         s->state.store(kRingReply);
       },
       "out of range"},
      {"length under a prefix",
       [](RingSlot* s) {
         s->len.store(3);
         s->state.store(kRingReply);
       },
       "reply length 3 out of range"},
      {"prefix disagrees",
       [](RingSlot* s) {
         s->data[0] = 0x7F;  // says ~2 GiB
         s->len.store(16);
         s->state.store(kRingReply);
       },
       "frame says"},
      {"unknown state", [](RingSlot* s) { s->state.store(0xDEAD); }, "has state 57005"},
      {"free again", [](RingSlot* s) { s->state.store(kRingFree); }, "has state 0"},
      {"closed by the worker", [](RingSlot* s) { s->state.store(kRingClosed); }, "marked closed"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    RingPair p(2);
    int slot = *p.client->Acquire();
    p.client->Post(slot, RingCallFrame(9));
    ASSERT_EQ(p.server->Take(false), slot);
    c.scribble(p.WorkerSlot(slot));
    std::vector<uint8_t> reply;
    std::string why;
    EXPECT_EQ(p.client->Wait(slot, milliseconds(1000), &reply, &why), Poll::kBroken);
    EXPECT_NE(why.find(c.why), std::string::npos) << why;
    EXPECT_LE(reply.size(), kRingSlotBytes);
  }
}

TEST(CallRingTest, AStateWrittenIntoASlotWithoutACallIsRefusedWhenTheSlotIsTaken) {
  RingPair p(2);
  p.WorkerSlot(1)->state.store(kRingReply);  // "a reply" to a call never asked
  EXPECT_EQ(*p.client->Acquire(), 0);
  auto bad = p.client->Acquire();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_NE(bad.status().message().find("slot 1 had no call"), std::string::npos);
}

TEST(CallRingTest, ClosingWakesEveryWaiterAndStopsHandingOutSlots) {
  RingClient::Options o;
  o.spin = std::chrono::microseconds(100);
  RingPair p(4, o);
  std::vector<std::future<Poll>> waiters;
  for (int i = 0; i < 4; ++i) {
    int slot = *p.client->Acquire();
    p.client->Post(slot, RingCallFrame(static_cast<uint64_t>(i)));
    waiters.push_back(std::async(std::launch::async, [&p, slot] {
      std::vector<uint8_t> reply;
      std::string why;
      // An hour: only Close() ends this wait.
      return p.client->Wait(slot, milliseconds(3'600'000), &reply, &why);
    }));
  }
  std::this_thread::sleep_for(milliseconds(20));
  p.client->Close();
  for (auto& w : waiters) EXPECT_EQ(w.get(), Poll::kWaiting);
  EXPECT_EQ(*p.client->Acquire(), -1);
}

// The link ring puts the untrusted side at the client's end: the server
// (the daemon) copies a slot's frame out once and checks it, and never
// serves a slot twice at once however often the client posts it.
TEST(CallRingTest, AnUntrustedClientsFramesAreCopiedOutAndChecked) {
  RingPair p(2);
  RingSlot* s = p.WorkerSlot(0);
  auto post = [&](uint32_t len, const std::vector<uint8_t>& bytes) {
    std::memcpy(s->data, bytes.data(), std::min<size_t>(bytes.size(), kRingSlotBytes));
    s->len.store(len);
    s->state.store(kRingCall);
    p.server->ring().header()->posted.fetch_or(1);
  };
  std::vector<uint8_t> frame;
  auto call = RingCallFrame(9);
  post(static_cast<uint32_t>(call.size()), call);
  ASSERT_EQ(p.server->Take(false), 0);
  ASSERT_TRUE(p.server->CopyFrame(0, &frame).ok());
  EXPECT_EQ(frame, call);
  // Posted again before its answer: not taken a second time (Take finds
  // nothing to take and sleeps until Stop).
  post(static_cast<uint32_t>(call.size()), call);
  auto again = std::async(std::launch::async, [&p] { return p.server->Take(false); });
  EXPECT_EQ(again.wait_for(milliseconds(50)), std::future_status::timeout);
  p.server->Stop();
  EXPECT_EQ(again.get(), -1);
  // Lengths out of the slot, and a prefix that disagrees with the length.
  post(kRingSlotBytes + 1, call);
  Status st = p.server->CopyFrame(0, &frame);
  EXPECT_EQ(st.message(), "slot 0 frame length 4033 out of range 4..4032");
  post(3, call);
  EXPECT_EQ(p.server->CopyFrame(0, &frame).message(), "slot 0 frame length 3 out of range 4..4032");
  post(static_cast<uint32_t>(call.size() - 1), call);
  EXPECT_EQ(p.server->CopyFrame(0, &frame).message(),
            "slot 0 frame says " + std::to_string(call.size() - 4) + " bytes, the slot holds " +
                std::to_string(call.size() - 5));
  // Answered: the slot can be taken again.
  p.server->Reply(0, RingReplyFrame(9));
  RingPair q(2);
  RingSlot* t = q.WorkerSlot(1);
  std::memcpy(t->data, call.data(), call.size());
  t->len.store(static_cast<uint32_t>(call.size()));
  for (int round = 0; round < 2; ++round) {
    q.server->ring().header()->posted.fetch_or(2);
    ASSERT_EQ(q.server->Take(false), 1);
    q.server->Reply(1, RingReplyFrame(9));
  }
  // Bits past the ring's slots are not slots.
  q.server->ring().header()->posted.fetch_or(uint64_t{1} << 40);
  auto past = std::async(std::launch::async, [&q] { return q.server->Take(false); });
  EXPECT_EQ(past.wait_for(milliseconds(50)), std::future_status::timeout);
  q.server->Stop();
  EXPECT_EQ(past.get(), -1);
}

TEST(CallRingTest, StopEndsEveryTake) {
  RingPair p(4);
  std::vector<std::future<int>> takers;
  for (int i = 0; i < 3; ++i)
    takers.push_back(std::async(std::launch::async, [&p] { return p.server->Take(true); }));
  std::this_thread::sleep_for(milliseconds(20));
  p.server->Stop();
  for (auto& t : takers) EXPECT_EQ(t.get(), -1);
}

TEST(CallRingTest, TheSpinBudgetFollowsWhetherSpinningPays) {
  SpinBudget b(50'000);
  EXPECT_EQ(b.Next(), 50'000);
  b.Paid(false);
  EXPECT_EQ(b.Next(), 25'000);
  for (int i = 0; i < 8; ++i) b.Paid(false);
  EXPECT_EQ(b.Next(), 0);  // no spinning while it does not pay...
  int probes = 0;
  for (int i = 0; i < 64; ++i) probes += b.Next() == 50'000;
  EXPECT_EQ(probes, 2);  // ...but every 32nd wait tries the full bound again
  b.Paid(true);
  EXPECT_EQ(b.Next(), 50'000);
  SpinBudget none(0);
  EXPECT_EQ(none.Next(), 0);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(none.Next(), 0);
}

TEST(CallRingTest, MapRefusesARingThatIsNotOurs) {
  {
    auto ring = CallRing::Create(2, std::chrono::microseconds(0));
    ASSERT_TRUE(ring.ok());
    (*ring)->header()->version = kRingVersion + 1;
    auto mapped = CallRing::Map((*ring)->TakeFd().release());
    ASSERT_FALSE(mapped.ok());
    EXPECT_NE(mapped.status().message().find("version 2, expected 1"), std::string::npos);
  }
  {
    auto ring = CallRing::Create(2, std::chrono::microseconds(0));
    ASSERT_TRUE(ring.ok());
    (*ring)->header()->slots = 3;  // more than the file holds
    auto mapped = CallRing::Map((*ring)->TakeFd().release());
    ASSERT_FALSE(mapped.ok());
    EXPECT_NE(mapped.status().message().find("geometry"), std::string::npos);
  }
  // The size is sealed: the worker can neither shrink nor grow the file.
  auto ring = CallRing::Create(2, std::chrono::microseconds(0));
  ASSERT_TRUE(ring.ok());
  UniqueFd fd = (*ring)->TakeFd();
  EXPECT_NE(ftruncate(fd.get(), 4096), 0);
  EXPECT_NE(ftruncate(fd.get(), 1 << 20), 0);
  EXPECT_FALSE(CallRing::Create(0, std::chrono::microseconds(0)).ok());
  EXPECT_FALSE(CallRing::Create(kRingMaxSlots + 1, std::chrono::microseconds(0)).ok());
}

}  // namespace
}  // namespace arcella::worker
