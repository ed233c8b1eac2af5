// ALME framing (docs/ALME.md "Transport"): a 4-byte big-endian length, then
// that many bytes holding one MessagePack map. Internal to src/alme.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "alme/protocol.h"

namespace arcella::alme {

using Json = nlohmann::json;

// Maximum nesting of arrays/maps inside a frame (deeper is a parse_error;
// it bounds the decoder's recursion).
inline constexpr int kMaxFrameDepth = 128;

// Decoding a frame may use at most this many bytes of heap per frame byte,
// plus a base (estimated by ScanFrameBody before anything is built).
inline constexpr uint64_t kDecodeBytesPerFrameByte = 8;
inline constexpr uint64_t kDecodeBytesBase = 1u << 20;

// What a frame body would cost to decode, found by a walk over its bytes
// that allocates only a stack of open containers (<= kMaxFrameDepth).
struct FrameScan {
  enum Status { kOk, kMalformed, kTooDeep } status = kOk;
  const char* root = nullptr;  // "a map", "an array", "a scalar"
  uint64_t items = 0;          // values and keys
  uint64_t cost = 0;           // estimated heap bytes of the decoded tree
};
FrameScan ScanFrameBody(const uint8_t* data, size_t size);

// Length prefix + MessagePack encoding of `msg`.
std::string EncodeFrame(const Json& msg);

// Decodes one frame body (without the length prefix). On failure returns
// false and sets `*error` to a message naming the byte offset. Refuses a
// frame that is nested too deep or would take more than
// kDecodeBytesPerFrameByte x its size (+ base) decoded, unless
// `bound_memory` is false (the client reading its own daemon's responses,
// e.g. inspect of a module with thousands of exports). Never throws.
bool DecodeFrameBody(const uint8_t* data, size_t size, Json* out, std::string* error,
                     bool bound_memory = true);

// Incremental decoder: Feed() bytes as they arrive, then Next() until it
// returns kNone. Never throws, never buffers more than cap + 4 bytes.
class FrameDecoder {
 public:
  enum class Event { kNone, kFrame, kError };

  // `bound_memory`: see DecodeFrameBody.
  explicit FrameDecoder(uint32_t max_frame_bytes, bool bound_memory = true)
      : max_(max_frame_bytes), bound_memory_(bound_memory) {}

  void Feed(const uint8_t* data, size_t size);

  // kFrame: `*frame` holds a map. kError: `*code`/`*message` describe the
  // bad frame; if `fatal()` is then true the stream cannot be resynchronised
  // (frame_too_large) and nothing more will be decoded.
  Event Next(Json* frame, ErrorCode* code, std::string* message);

  bool fatal() const { return fatal_; }
  size_t buffered() const { return buf_.size() - pos_; }
  uint64_t frames() const { return frames_; }  // frames seen so far

 private:
  uint32_t max_;
  bool bound_memory_;
  std::vector<uint8_t> buf_;
  size_t pos_ = 0;         // start of unconsumed data in buf_
  uint64_t consumed_ = 0;  // stream offset of buf_[pos_]
  uint64_t frames_ = 0;
  bool fatal_ = false;
};

}  // namespace arcella::alme
