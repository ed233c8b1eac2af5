// The module's data segments as one binary blob stored with its code.
//
// Data segments never go through the C compiler: the generated code names
// segment i as `arcella_data_segments[i]` (see c_split.h), an array the
// loader fills with pointers into this blob before the module is
// initialised. Layout (little-endian): u32 count, u32 0, then per segment
// u64 offset and u64 size (offsets relative to the end of this table),
// then the bytes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace wabt {
struct Module;
}

namespace arcella::engine::aot {

// The blob of every data segment of `module`, in index order.
std::vector<uint8_t> EncodeDataBlob(const wabt::Module& module);

// Pointers to each segment inside `blob` (which must outlive them), or
// false if `blob` is malformed or does not hold `count` segments.
bool DecodeDataBlob(std::span<const uint8_t> blob, uint32_t count,
                    std::vector<const uint8_t*>* segments);

}  // namespace arcella::engine::aot
