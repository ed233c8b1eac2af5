// libFuzzer target for the loader and the preflight: any input is either
// rejected cleanly or decodes; a decoded module must instrument (fuel), encode and decode again.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "engine/instrument.h"
#include "engine/loader.h"
#include "engine/preflight.h"
#include "wabt/ir.h"

using namespace arcella;
using namespace arcella::engine;

namespace {
[[noreturn]] void Fail(const char* what, const Status& st) {
  std::fprintf(stderr, "loader_fuzz: %s: %s\n", what, st.ToString().c_str());
  __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The header-only preflight must accept or refuse any input cleanly too.
  auto pf = PreflightModule(std::span<const uint8_t>(data, size));
  if (!pf.ok() && pf.status().message().empty()) Fail("preflight: empty error", pf.status());
  auto decoded = Decode(std::span<const uint8_t>(data, size));
  if (!decoded.ok()) {
    if (decoded.status().message().empty()) Fail("empty error message", decoded.status());
    return 0;
  }
  // The module may legitimately be refused by metering (reserved export names).
  Status st = Instrument(decoded->ir.get(), Metering::kFuel);
  if (!st.ok()) {
    if (st.code() == StatusCode::kInternal) Fail("instrument", st);
    return 0;
  }
  auto bytes = Encode(*decoded->ir);
  if (!bytes.ok()) Fail("encode", bytes.status());
  auto again = Decode(*bytes);
  if (!again.ok()) Fail("re-decode of instrumented module", again.status());
  return 0;
}
