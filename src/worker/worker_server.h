// WorkerServer: the inside of an `arcella-worker` process. It serves the
// worker protocol (messages.h, docs/WORKER.md) on one Channel: applies plans
// to an InProcessHost of its own (replicas run here exactly as they would in
// the daemon), answers status and calls, and forwards every captured log
// line and state event upstream.
//
// Code arrives as engine::PortableCode (adopted, never compiled: the worker
// has no AOT cache and no compiler) and directories as open descriptors.
// The linear-memory budget of the worker's Engine is the sum of its
// replicas' memory caps, capped by `memory_cap_bytes`.
//
// Threads: up to max_call_threads + 1 call threads take turns reading the
// channel (leader/follower): a call runs on the thread that read it, status,
// cancel and ping are answered by the reader at once (never queued behind
// calls); applies and removes run on one control thread in arrival order.
// At most max_call_threads calls run at once, later ones wait. Run() returns
// when the daemon closes the connection or sends shutdown.
//
// With a call ring (call_ring.h), calls also arrive there: up to one thread
// per ring slot, started on demand, takes posted calls and answers them in
// the slot (a reply too big for it goes on the channel). Ring calls are
// cancellable like socket calls; they count against the ring's slots, not
// max_call_threads.
//
// With a link ring (call_ring.h), a replica's call through a link that the
// daemon answers goes there (a `link-call` frame in a free slot; the caller
// spins briefly, then sleeps on the slot) instead of the socket; when every
// slot is busy or the frame does not fit a slot, on the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "worker/call_ring.h"
#include "worker/channel.h"

namespace arcella::worker {

struct WorkerServerOptions {
  std::string sandbox;                         // DescribeSandbox() text, sent in hello
  uint64_t memory_cap_bytes = 0;               // budget cap of the worker; 0: none
  uint64_t default_memory_bytes = 4ull << 30;  // a replica without a cap counts this much
  size_t max_call_threads = 64;                // calls run at once
  // Test only: how to misbehave on the ring when a call's export is
  // "garbage" (length, state, frame, id, unasked, noise; docs/WORKER.md).
  std::string ring_garbage;
};

// Serves `channel` until the daemon goes away or says shutdown. Returns the
// process exit code (0: shutdown or daemon gone; 2: protocol error, logged
// to stderr).
// `ring` (may be null: calls come on the channel only) is the mapped call
// ring, `link_ring` (may be null: link calls go on the channel) the mapped
// link ring; the hello says which there are.
int RunWorkerServer(Channel* channel, std::unique_ptr<CallRing> ring,
                    const WorkerServerOptions& options,
                    std::unique_ptr<CallRing> link_ring = nullptr);

}  // namespace arcella::worker
