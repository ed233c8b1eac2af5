// wasi:io@0.2.12: error, poll and streams, once for every InputStreamImpl and
// OutputStreamImpl (stdio, files). Blocking calls wait through WaitAny, so
// WasiConfig::interrupted ends them (host.h).
#include <algorithm>
#include <unordered_map>

#include "component/wasip2/host.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

constexpr const char* kStreams = "wasi:io/streams@0.2.12";

Vals One(Val v) { return Vals{std::move(v)}; }

std::string Bytes(const Val& list) {
  std::string s;
  s.reserve(list.items.size());
  for (const Val& b : list.items) s.push_back(static_cast<char>(b.u));
  return s;
}

Val ByteList(const std::string& s) {
  std::vector<Val> items;
  items.reserve(s.size());
  for (unsigned char c : s) items.push_back(Val::U8(c));
  return Val::List(std::move(items));
}

uint32_t Rep(const Val& handle) { return static_cast<uint32_t>(handle.u); }

// The I/O layer over one state: the tables, plus the check-write permit
// each output-stream handle was last given.
class Io {
 public:
  explicit Io(std::shared_ptr<WasiP2State> st) : st_(std::move(st)) {}

  WasiP2State& st() { return *st_; }

  TrapOr<std::shared_ptr<InputStreamImpl>> In(const Val& h) {
    auto s = st_->input_streams.Get(Rep(h));
    if (!s) return WasiTrap(std::string(kStreams) + ": unknown input-stream handle");
    return s;
  }
  TrapOr<std::shared_ptr<OutputStreamImpl>> Out(const Val& h) {
    auto s = st_->output_streams.Get(Rep(h));
    if (!s) return WasiTrap(std::string(kStreams) + ": unknown output-stream handle");
    return s;
  }

  // ok(payload) or err(stream-error).
  Ret Result(StreamStatus status, IoError error, std::vector<Val> payload) {
    if (status == StreamStatus::kOk) return One(Val::ResultOk(std::move(payload)));
    TrapOr<Val> e = StreamErrorVal(*st_, status, std::move(error));
    if (!e.ok()) return e.take_trap();
    return One(Val::ResultErr({std::move(e).value()}));
  }

  // Waits for `p` (interruptible).
  MaybeTrap Wait(const std::shared_ptr<PollSource>& p) {
    std::vector<uint32_t> ready;
    return WaitAny(*st_, {p.get()}, &ready);
  }

  // Reads up to `len` (clamped); blocking: at least one byte or the end.
  StreamStatus Read(InputStreamImpl& s, uint64_t len, bool blocking, std::string* out,
                    IoError* error, MaybeTrap* trap) {
    len = std::min(len, kMaxStreamChunk);
    StreamStatus r = s.Read(len, false, out, error);
    if (!blocking || r != StreamStatus::kOk || !out->empty() || len == 0) return r;
    if ((*trap = Wait(s.Subscribe()))) return StreamStatus::kOk;
    return s.Read(len, true, out, error);
  }

  Ret ReadMethod(const Vals& a, bool blocking, bool skip) {
    auto s = In(a[0]);
    if (!s.ok()) return s.take_trap();
    std::string data;
    IoError err;
    MaybeTrap trap;
    StreamStatus r = Read(*s.value(), a[1].u, blocking, &data, &err, &trap);
    if (trap) return *trap;
    if (skip) return Result(r, std::move(err), {Val::U64(data.size())});
    return Result(r, std::move(err), {ByteList(data)});
  }

  Ret CheckWrite(const Vals& a) {
    auto s = Out(a[0]);
    if (!s.ok()) return s.take_trap();
    uint64_t permit = 0;
    IoError err;
    StreamStatus r = s.value()->CheckWrite(&permit, &err);
    permit = std::min(permit, kMaxStreamChunk);
    permits_[Rep(a[0])] = r == StreamStatus::kOk ? permit : 0;
    return Result(r, std::move(err), {Val::U64(permit)});
  }

  // write / write-zeroes: within the last check-write permit.
  Ret Write(const Vals& a, const std::string& bytes, const char* fn) {
    auto s = Out(a[0]);
    if (!s.ok()) return s.take_trap();
    uint64_t& permit = permits_[Rep(a[0])];
    if (bytes.size() > permit)
      return WasiTrap(std::string(kStreams) + ": " + fn + " of " + std::to_string(bytes.size()) +
                      " bytes exceeds the permit of " + std::to_string(permit) +
                      " bytes given by check-write");
    permit -= bytes.size();
    IoError err;
    StreamStatus r = s.value()->Write(bytes, &err);
    return Result(r, std::move(err), {});
  }

  // Writes all of `bytes`, waiting for permits, then flushes (blocking).
  Ret BlockingWriteAndFlush(const Vals& a, const std::string& bytes, const char* fn) {
    auto s = Out(a[0]);
    if (!s.ok()) return s.take_trap();
    if (bytes.size() > kMaxBlockingWrite)
      return WasiTrap(std::string(kStreams) + ": " + fn + " of " + std::to_string(bytes.size()) +
                      " bytes (at most " + std::to_string(kMaxBlockingWrite) + ")");
    OutputStreamImpl& out = *s.value();
    IoError err;
    size_t done = 0;
    while (done < bytes.size()) {
      uint64_t permit = 0;
      StreamStatus r = out.CheckWrite(&permit, &err);
      if (r != StreamStatus::kOk) return Result(r, std::move(err), {});
      if (permit == 0) {
        if (MaybeTrap t = Wait(out.Subscribe())) return *t;
        continue;
      }
      size_t n = std::min<uint64_t>(permit, bytes.size() - done);
      r = out.Write(std::string_view(bytes).substr(done, n), &err);
      if (r != StreamStatus::kOk) return Result(r, std::move(err), {});
      done += n;
    }
    StreamStatus r = out.Flush(true, &err);
    permits_[Rep(a[0])] = 0;
    return Result(r, std::move(err), {});
  }

  Ret Flush(const Vals& a, bool blocking) {
    auto s = Out(a[0]);
    if (!s.ok()) return s.take_trap();
    IoError err;
    StreamStatus r = s.value()->Flush(blocking, &err);
    permits_[Rep(a[0])] = 0;
    return Result(r, std::move(err), {});
  }

  Ret Splice(const Vals& a, bool blocking) {
    auto out = Out(a[0]);
    if (!out.ok()) return out.take_trap();
    auto in = In(a[1]);
    if (!in.ok()) return in.take_trap();
    uint64_t len = std::min(a[2].u, kMaxStreamChunk);
    IoError err;
    uint64_t permit = 0;
    for (;;) {
      StreamStatus r = out.value()->CheckWrite(&permit, &err);
      if (r != StreamStatus::kOk) return Result(r, std::move(err), {});
      if (permit > 0 || !blocking || len == 0) break;
      if (MaybeTrap t = Wait(out.value()->Subscribe())) return *t;
    }
    len = std::min(len, permit);
    if (len == 0) return One(Val::ResultOk({Val::U64(0)}));
    std::string data;
    MaybeTrap trap;
    StreamStatus r = Read(*in.value(), len, blocking, &data, &err, &trap);
    if (trap) return *trap;
    if (r != StreamStatus::kOk) return Result(r, std::move(err), {});
    if (!data.empty()) {
      r = out.value()->Write(data, &err);
      if (r != StreamStatus::kOk) return Result(r, std::move(err), {});
    }
    uint64_t& p = permits_[Rep(a[0])];
    p -= std::min<uint64_t>(p, data.size());
    return One(Val::ResultOk({Val::U64(data.size())}));
  }

  void DropOutput(uint32_t rep) {
    st_->output_streams.Remove(rep);
    permits_.erase(rep);
  }

 private:
  std::shared_ptr<WasiP2State> st_;
  std::unordered_map<uint32_t, uint64_t> permits_;
};

}  // namespace

void AddIoDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  auto io = std::make_shared<Io>(st);

  WasiInterfaceDef error{"wasi:io/error@0.2.12", {}, {}};
  error.impls.emplace_back("[method]error.to-debug-string", [st](Vals a) -> Ret {
    auto e = st->errors.Get(Rep(a[0]));
    if (!e) return WasiTrap("wasi:io/error: unknown error handle");
    return One(Val::String(e->debug));
  });
  error.dtors["error"] = [st](uint32_t rep) { st->errors.Remove(rep); };
  out->push_back(std::move(error));

  WasiInterfaceDef poll{"wasi:io/poll@0.2.12", {}, {}};
  auto source = [st](const Val& h) { return st->pollables.Get(Rep(h)); };
  poll.impls.emplace_back("[method]pollable.ready", [source](Vals a) -> Ret {
    auto p = source(a[0]);
    if (!p) return WasiTrap("wasi:io/poll: unknown pollable handle");
    return One(Val::Bool(p->Ready()));
  });
  poll.impls.emplace_back("[method]pollable.block", [st, source](Vals a) -> Ret {
    auto p = source(a[0]);
    if (!p) return WasiTrap("wasi:io/poll: unknown pollable handle");
    std::vector<uint32_t> ready;
    if (MaybeTrap t = WaitAny(*st, {p.get()}, &ready)) return *t;
    return Vals{};
  });
  poll.impls.emplace_back("poll", [st, source](Vals a) -> Ret {
    const auto& list = a[0].items;
    if (list.empty()) return WasiTrap("wasi:io/poll: poll of an empty list");
    std::vector<std::shared_ptr<PollSource>> keep;
    std::vector<PollSource*> sources;
    for (const Val& h : list) {
      auto p = source(h);
      if (!p) return WasiTrap("wasi:io/poll: unknown pollable handle");
      sources.push_back(p.get());
      keep.push_back(std::move(p));
    }
    std::vector<uint32_t> ready;
    if (MaybeTrap t = WaitAny(*st, sources, &ready)) return *t;
    std::vector<Val> items;
    for (uint32_t i : ready) items.push_back(Val::U32(i));
    return One(Val::List(std::move(items)));
  });
  poll.dtors["pollable"] = [st](uint32_t rep) { st->pollables.Remove(rep); };
  out->push_back(std::move(poll));

  WasiInterfaceDef streams{kStreams, {}, {}};
  auto& f = streams.impls;
  f.emplace_back("[method]input-stream.read",
                 [io](Vals a) { return io->ReadMethod(a, false, false); });
  f.emplace_back("[method]input-stream.blocking-read",
                 [io](Vals a) { return io->ReadMethod(a, true, false); });
  f.emplace_back("[method]input-stream.skip",
                 [io](Vals a) { return io->ReadMethod(a, false, true); });
  f.emplace_back("[method]input-stream.blocking-skip",
                 [io](Vals a) { return io->ReadMethod(a, true, true); });
  f.emplace_back("[method]input-stream.subscribe", [io](Vals a) -> Ret {
    auto s = io->In(a[0]);
    if (!s.ok()) return s.take_trap();
    TrapOr<Val> p = OwnPollable(io->st(), s.value()->Subscribe());
    if (!p.ok()) return p.take_trap();
    return One(std::move(p).value());
  });
  f.emplace_back("[method]output-stream.check-write", [io](Vals a) { return io->CheckWrite(a); });
  f.emplace_back("[method]output-stream.write",
                 [io](Vals a) { return io->Write(a, Bytes(a[1]), "write"); });
  f.emplace_back("[method]output-stream.blocking-write-and-flush", [io](Vals a) {
    return io->BlockingWriteAndFlush(a, Bytes(a[1]), "blocking-write-and-flush");
  });
  f.emplace_back("[method]output-stream.flush", [io](Vals a) { return io->Flush(a, false); });
  f.emplace_back("[method]output-stream.blocking-flush",
                 [io](Vals a) { return io->Flush(a, true); });
  f.emplace_back("[method]output-stream.subscribe", [io](Vals a) -> Ret {
    auto s = io->Out(a[0]);
    if (!s.ok()) return s.take_trap();
    TrapOr<Val> p = OwnPollable(io->st(), s.value()->Subscribe());
    if (!p.ok()) return p.take_trap();
    return One(std::move(p).value());
  });
  f.emplace_back("[method]output-stream.write-zeroes", [io](Vals a) -> Ret {
    if (a[1].u > kMaxStreamChunk)  // beyond any permit
      return WasiTrap(std::string(kStreams) + ": write-zeroes of " + std::to_string(a[1].u) +
                      " bytes exceeds the permit given by check-write");
    return io->Write(a, std::string(a[1].u, '\0'), "write-zeroes");
  });
  f.emplace_back("[method]output-stream.blocking-write-zeroes-and-flush", [io](Vals a) -> Ret {
    if (a[1].u > kMaxBlockingWrite)
      return WasiTrap(std::string(kStreams) + ": blocking-write-zeroes-and-flush of " +
                      std::to_string(a[1].u) + " bytes (at most " +
                      std::to_string(kMaxBlockingWrite) + ")");
    return io->BlockingWriteAndFlush(a, std::string(a[1].u, '\0'),
                                     "blocking-write-zeroes-and-flush");
  });
  f.emplace_back("[method]output-stream.splice", [io](Vals a) { return io->Splice(a, false); });
  f.emplace_back("[method]output-stream.blocking-splice",
                 [io](Vals a) { return io->Splice(a, true); });
  streams.dtors["input-stream"] = [st](uint32_t rep) { st->input_streams.Remove(rep); };
  streams.dtors["output-stream"] = [io](uint32_t rep) { io->DropOutput(rep); };
  out->push_back(std::move(streams));
}

}  // namespace arcella::component
