#include "bench_modules.h"

#include <string_view>

namespace arcella::bench {
namespace {

void Leb(std::vector<uint8_t>& out, uint32_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    out.push_back(v ? (b | 0x80) : b);
  } while (v);
}

void Name(std::vector<uint8_t>& out, std::string_view s) {
  Leb(out, static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

void Section(std::vector<uint8_t>& out, uint8_t id, const std::vector<uint8_t>& body) {
  out.push_back(id);
  Leb(out, static_cast<uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

constexpr uint8_t kI32 = 0x7f;

}  // namespace

std::vector<uint8_t> BuildBenchModule(bool with_data_segment) {
  std::vector<uint8_t> m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  // type: 0 = () -> (), 1 = (i32) -> (i32)
  Section(m, 1, {2, 0x60, 0, 0, 0x60, 1, kI32, 1, kI32});
  // import env.host : type 1
  std::vector<uint8_t> imp = {1};
  Name(imp, "env");
  Name(imp, "host");
  imp.insert(imp.end(), {0x00, 1});
  Section(m, 2, imp);
  // functions 1..3 (0 is the import)
  Section(m, 3, {3, 0, 1, 1});
  // memory: min 16 pages, no max
  Section(m, 5, {1, 0x00, 16});
  std::vector<uint8_t> exp = {4};
  Name(exp, "memory");
  exp.insert(exp.end(), {0x02, 0});
  Name(exp, "nop");
  exp.insert(exp.end(), {0x00, 1});
  Name(exp, "inc");
  exp.insert(exp.end(), {0x00, 2});
  Name(exp, "call_host");
  exp.insert(exp.end(), {0x00, 3});
  Section(m, 7, exp);
  Section(m, 10,
          {3, 2, 0, 0x0b,                       // nop
           7, 0, 0x20, 0, 0x41, 1, 0x6a, 0x0b,  // local.get 0; i32.const 1; i32.add
           6, 0, 0x20, 0, 0x10, 0, 0x0b});      // local.get 0; call 0
  if (with_data_segment) {
    std::vector<uint8_t> data = {1, 0x00, 0x41, 0x80, 0x08, 0x0b};  // active, i32.const 1024
    Leb(data, kDataSegmentBytes);
    for (uint32_t i = 0; i < kDataSegmentBytes; i++)
      data.push_back(static_cast<uint8_t>(i * 131 + 7));
    Section(m, 11, data);
  }
  return m;
}

}  // namespace arcella::bench
