// libFuzzer target for the component decoder and validator: any input is
// either decoded or refused with a non-empty "offset ..." message; a decoded
// component's index spaces and definitions must be consistent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>

#include "component/ast.h"
#include "component/decoder.h"

using namespace arcella;
using namespace arcella::component;

namespace {
[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "component_decode_fuzz: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

void CheckComponent(const Component& c, int depth) {
  if (depth > static_cast<int>(kMaxNesting)) Fail("nesting", "deeper than the limit");
  for (const Def& d : c.defs) {
    if (d.offset < c.begin || d.offset > c.end) Fail("def offset", std::to_string(d.offset));
  }
  for (const auto& m : c.core_modules) {
    if (m.bytes.data() < c.bytes->data() ||
        m.bytes.data() + m.bytes.size() > c.bytes->data() + c.bytes->size()) {
      Fail("core module span", "outside the input");
    }
  }
  for (const auto& nested : c.components) CheckComponent(*nested, depth + 1);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto r = DecodeComponent(std::span<const uint8_t>(data, size));
  if (!r.ok()) {
    const std::string& m = r.status().message();
    if (m.rfind("offset ", 0) != 0) Fail("error without an offset", m);
    if (r.status().code() != StatusCode::kInvalidArgument &&
        r.status().code() != StatusCode::kUnsupported) {
      Fail("unexpected status code", r.status().ToString());
    }
    return 0;
  }
  CheckComponent(**r, 0);
  return 0;
}
