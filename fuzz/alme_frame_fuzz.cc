// libFuzzer target for the ALME frame decoder (src/alme/frame.cc).
//
// The input is fed to a FrameDecoder in chunks whose sizes come from the
// first byte, as a socket would deliver it. The decoder must never throw or
// crash; every event must be a map or a non-empty error; after a fatal error
// nothing more is decoded; the buffer never exceeds the cap + 4 bytes; and
// every decoded frame must re-encode and decode to the same value. A frame
// of many tiny items is refused by the pre-decode scan (ScanFrameBody)
// before any tree is built; the scan must agree with the decoder that the
// bytes are well formed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "alme/frame.h"

using arcella::alme::ErrorCode;
using arcella::alme::FrameDecoder;
using arcella::alme::Json;

static void Check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr uint32_t kCap = 1 << 16;
  size_t chunk = 1 + data[0] % 64;
  ++data;
  --size;
  FrameDecoder d(kCap);
  for (size_t off = 0; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    d.Feed(data + off, n);
    Check(d.buffered() <= kCap + 4 + chunk);
    for (;;) {
      Json frame;
      ErrorCode code{};
      std::string message;
      auto ev = d.Next(&frame, &code, &message);
      if (ev == FrameDecoder::Event::kNone) break;
      if (ev == FrameDecoder::Event::kError) {
        Check(!message.empty());
        Check(code == ErrorCode::kParseError || code == ErrorCode::kFrameTooLarge);
        Check((code == ErrorCode::kFrameTooLarge) == d.fatal());
        continue;
      }
      Check(frame.is_object());
      std::string again = arcella::alme::EncodeFrame(frame);
      Json back;
      std::string err;
      // The re-encoding may be smaller than the input (shorter length
      // forms), so only the decode budget may refuse it.
      if (!arcella::alme::DecodeFrameBody(reinterpret_cast<const uint8_t*>(again.data()) + 4,
                                          again.size() - 4, &back, &err)) {
        Check(err.find("decoded") != std::string::npos);
        continue;
      }
      Check(back == frame || frame.dump(-1, ' ', false, Json::error_handler_t::replace) ==
                                 back.dump(-1, ' ', false, Json::error_handler_t::replace));
    }
    if (d.fatal()) break;
  }
  return 0;
}
