// Tiny hand-encoded wasm modules for the instantiation / call-cost benchmark.
//
// Both modules: 1 MiB memory (16 pages, exported "memory"), an import
// env.host : (i32) -> i32, and exports
//   nop       : () -> ()          empty body
//   inc       : (i32) -> i32      x + 1
//   call_host : (i32) -> i32      calls env.host(x)
// The "data" variant also has a 64 KiB active data segment at offset 1024.
#pragma once

#include <cstdint>
#include <vector>

namespace arcella::bench {

constexpr uint32_t kDataSegmentBytes = 64 * 1024;

std::vector<uint8_t> BuildBenchModule(bool with_data_segment);

}  // namespace arcella::bench
