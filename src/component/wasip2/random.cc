// wasi:random@0.2.12: random and insecure from the kernel (getrandom(2));
// insecure-seed is fixed per WasiP2, drawn when it is defined.
#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include "component/wasip2/host.h"

namespace arcella::component {

namespace {

using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

MaybeTrap Fill(void* buf, size_t len) {
  auto* p = static_cast<uint8_t*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t r = getrandom(p + done, len - done, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return WasiTrap(std::string("wasi:random: getrandom failed: ") + strerror(errno));
    }
    done += static_cast<size_t>(r);
  }
  return std::nullopt;
}

Ret Bytes(const char* iface, uint64_t len) {
  if (len > kMaxRandomBytes)
    return WasiTrap(std::string(iface) + ": " + std::to_string(len) +
                    " random bytes asked (at most " + std::to_string(kMaxRandomBytes) + ")");
  std::string buf(len, '\0');
  if (MaybeTrap t = Fill(buf.data(), buf.size())) return *t;
  std::vector<Val> items;
  items.reserve(buf.size());
  for (unsigned char c : buf) items.push_back(Val::U8(c));
  return Vals{Val::List(std::move(items))};
}

Ret U64() {
  uint64_t v = 0;
  if (MaybeTrap t = Fill(&v, sizeof v)) return *t;
  return Vals{Val::U64(v)};
}

}  // namespace

void AddRandomDefs(const std::shared_ptr<WasiP2State>& st, WasiDefs* out) {
  (void)st;
  WasiInterfaceDef random{"wasi:random/random@0.2.12", {}, {}};
  random.impls.emplace_back("get-random-bytes",
                            [](Vals a) { return Bytes("wasi:random/random", a[0].u); });
  random.impls.emplace_back("get-random-u64", [](Vals) { return U64(); });
  out->push_back(std::move(random));

  WasiInterfaceDef insecure{"wasi:random/insecure@0.2.12", {}, {}};
  insecure.impls.emplace_back("get-insecure-random-bytes",
                              [](Vals a) { return Bytes("wasi:random/insecure", a[0].u); });
  insecure.impls.emplace_back("get-insecure-random-u64", [](Vals) { return U64(); });
  out->push_back(std::move(insecure));

  uint64_t seed[2] = {0, 0};
  (void)Fill(seed, sizeof seed);  // a failure leaves zeros: still a valid (insecure) seed
  WasiInterfaceDef seed_def{"wasi:random/insecure-seed@0.2.12", {}, {}};
  seed_def.impls.emplace_back("insecure-seed", [a = seed[0], b = seed[1]](Vals) -> Ret {
    return Vals{Val::Tuple({Val::U64(a), Val::U64(b)})};
  });
  out->push_back(std::move(seed_def));
}

}  // namespace arcella::component
