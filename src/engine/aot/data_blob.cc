#include "engine/aot/data_blob.h"

#include <wabt/ir.h>

#include <cstring>

namespace arcella::engine::aot {
namespace {

void Put64(std::vector<uint8_t>* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

std::vector<uint8_t> EncodeDataBlob(const wabt::Module& module) {
  std::vector<uint8_t> out;
  const uint64_t n = module.data_segments.size();
  uint64_t total = 0;
  for (const wabt::DataSegment* ds : module.data_segments) total += ds->data.size();
  out.reserve(8 + 16 * n + total);
  Put64(&out, n);  // u32 count + u32 0
  uint64_t off = 0;
  for (const wabt::DataSegment* ds : module.data_segments) {
    Put64(&out, off);
    Put64(&out, ds->data.size());
    off += ds->data.size();
  }
  for (const wabt::DataSegment* ds : module.data_segments)
    out.insert(out.end(), ds->data.begin(), ds->data.end());
  return out;
}

bool DecodeDataBlob(std::span<const uint8_t> blob, uint32_t count,
                    std::vector<const uint8_t*>* segments) {
  segments->clear();
  if (blob.size() < 8 || Get64(blob.data()) != count) return false;
  const uint64_t table_end = 8 + 16ull * count;
  if (blob.size() < table_end) return false;
  const uint64_t bytes = blob.size() - table_end;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t off = Get64(blob.data() + 8 + 16ull * i);
    const uint64_t size = Get64(blob.data() + 16 + 16ull * i);
    if (off > bytes || size > bytes - off) return false;
    segments->push_back(blob.data() + table_end + off);
  }
  return true;
}

}  // namespace arcella::engine::aot
