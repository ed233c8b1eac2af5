// libFuzzer target for the AOT cache's metadata record decoder
// (engine/module_meta.cc). Records are HMAC-checked before they are decoded,
// so only a holder of the cache secret can feed one; the decoder must still
// refuse any malformed bytes cleanly: no crash, no overread, no huge
// allocation from a length field. A record that decodes must encode back to
// the same bytes (the format has one encoding).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/module_meta.h"

using namespace arcella::engine;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ModuleMeta meta;
  if (!DecodeModuleMeta(std::span<const uint8_t>(data, size), &meta)) return 0;
  const std::vector<uint8_t> again = EncodeModuleMeta(meta);
  if (again.size() != size || !std::equal(again.begin(), again.end(), data)) __builtin_trap();
  return 0;
}
