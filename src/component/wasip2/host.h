// What the WASI 0.2 host functions share: traps, the resource types of the
// embedded WIT, handles in the state's tables, stream errors, the sliced
// wait behind wasi:io/poll, and each interface's definitions. Internal to
// src/component/wasip2 (filesystem*.cc uses it too).
//
// Threads: like WasiP2, one thread at a time per state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "component/abi_result.h"
#include "component/value.h"
#include "component/wasip2/state.h"
#include "component/wasip2/streams.h"
#include "component/wasip2/wit_host.h"

namespace arcella::component {

// Reads are clamped to this many bytes per call (a list<u8> becomes one Val
// per byte on the way to the guest); check-write never permits more.
inline constexpr uint64_t kMaxStreamChunk = 64 * 1024;
// blocking-write-and-flush / blocking-write-zeroes-and-flush take at most
// this many bytes (the WIT's limit; more traps, as in wasmtime).
inline constexpr uint64_t kMaxBlockingWrite = 4096;
// get-random-bytes and get-insecure-random-bytes: more traps (a list<u8>
// is one Val per byte on the host).
inline constexpr uint64_t kMaxRandomBytes = 1024 * 1024;

// A kHostError trap with `message` ("wasi:io/streams: ...").
engine::Trap WasiTrap(std::string message);
// The trap ending a wait that WasiConfig::interrupted cut short.
engine::Trap InterruptedTrap(std::string_view where);

// The resource types of the embedded WIT (identity = the WIT's own).
struct WasiResources {
  ResourceRef error, pollable, input_stream, output_stream;
  ResourceRef terminal_input, terminal_output;
  ResourceRef network;
};
const WasiResources& Resources();
// Resource `name` declared by interface `qualified` (null if none).
ResourceRef WitResource(std::string_view qualified, std::string_view name);

// New own handles: the object goes into the state's table; a full table
// traps ("too many open <what>").
TrapOr<Val> OwnPollable(WasiP2State& st, std::shared_ptr<PollSource> p);
TrapOr<Val> OwnInputStream(WasiP2State& st, std::shared_ptr<InputStreamImpl> s);
TrapOr<Val> OwnOutputStream(WasiP2State& st, std::shared_ptr<OutputStreamImpl> s);
TrapOr<Val> OwnError(WasiP2State& st, IoError e);

// wasi:io/streams.stream-error for a kClosed or kFailed status.
TrapOr<Val> StreamErrorVal(WasiP2State& st, StreamStatus status, IoError error);

// Waits until at least one of `sources` is ready; *ready gets the indices
// of the ready ones (ascending). Waits on their fds with poll(2) and on the
// earliest deadline, in slices of about 10 ms asking
// WasiConfig::interrupted (true: InterruptedTrap). Nothing to wait for and
// nothing ready traps instead of hanging.
MaybeTrap WaitAny(const WasiP2State& st, const std::vector<PollSource*>& sources,
                  std::vector<uint32_t>* ready);

// Pollables the host makes.
std::shared_ptr<PollSource> ReadyPollable();                         // always ready
std::shared_ptr<PollSource> DeadlinePollable(uint64_t deadline_ns);  // CLOCK_MONOTONIC
std::shared_ptr<PollSource> FdPollable(int fd, short events);        // fd not owned
uint64_t MonotonicNowNs();  // CLOCK_MONOTONIC, full precision

// One interface's definitions for DefineWitInterface.
struct WasiInterfaceDef {
  std::string name;  // "wasi:io/streams@0.2.12"
  HostImpls impls;
  std::map<std::string, HostResourceDtor> dtors;
};
using WasiDefs = std::vector<WasiInterfaceDef>;

// Each module's interfaces (wasi:io, clocks, random, cli, sockets, http).
void AddIoDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
void AddClockDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
void AddRandomDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
void AddCliDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
void AddSocketDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
void AddHttpDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out);
// All of the above, in that order.
WasiDefs AllWasiDefs(const std::shared_ptr<WasiP2State>& st);

// Every function of interface `qualified` that `impls` leaves out, as a
// trap "<qualified>: <function> <why>" (for interfaces whose resources a
// guest can never obtain, e.g. a socket).
void FillWithTraps(std::string_view qualified, std::string_view why, HostImpls* impls);

}  // namespace arcella::component
