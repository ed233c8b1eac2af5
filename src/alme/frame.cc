#include "alme/frame.h"

#include <cstring>
#include <exception>

namespace arcella::alme {

namespace {

// First pass over a frame body: checks syntax, nesting depth and that the
// top-level value is a map, without building anything. Stopping at the
// depth limit keeps the recursive MessagePack reader's stack bounded.
class CheckSax : public nlohmann::json_sax<Json> {
 public:
  std::string error;
  const char* root = nullptr;  // kind of the top-level value

  bool null() override { return Scalar("nil"); }
  bool boolean(bool) override { return Scalar("a boolean"); }
  bool number_integer(number_integer_t) override { return Scalar("an integer"); }
  bool number_unsigned(number_unsigned_t) override { return Scalar("an integer"); }
  bool number_float(number_float_t, const string_t&) override { return Scalar("a float"); }
  bool string(string_t&) override { return Scalar("a string"); }
  bool binary(binary_t&) override { return Scalar("binary data"); }
  bool start_object(std::size_t) override { return Open("a map"); }
  bool key(string_t&) override { return true; }
  bool end_object() override { --depth_; return true; }
  bool start_array(std::size_t) override { return Open("an array"); }
  bool end_array() override { --depth_; return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // nlohmann counts from 1; report the 0-based offset of the bad byte (the
    // frame length when the input ended early).
    error = "invalid MessagePack at byte " + std::to_string(position == 0 ? 0 : position - 1) +
            " of the frame: " +
            Reason(ex.what());
    return false;
  }

 private:
  bool Scalar(const char* kind) {
    if (!root) root = kind;
    return true;
  }
  bool Open(const char* kind) {
    if (!root) root = kind;
    if (++depth_ > kMaxFrameDepth) {
      error = "MessagePack nested deeper than " + std::to_string(kMaxFrameDepth) + " levels";
      return false;
    }
    return true;
  }
  // "[json.exception.parse_error.110] parse error at byte 3: syntax error
  // while parsing MessagePack value: unexpected end of input" -> the part
  // after the last "parse error ...: " prefix.
  static std::string Reason(const char* what) {
    std::string s = what;
    size_t p = s.find("] ");
    if (p != std::string::npos) s = s.substr(p + 2);
    if (s.rfind("parse error", 0) == 0) {
      size_t c = s.find(": ");
      if (c != std::string::npos) s = s.substr(c + 2);
    }
    return s;
  }
  int depth_ = 0;
};

uint32_t ReadBE32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

std::string EncodeFrame(const Json& msg) {
  std::string out(4, '\0');
  Json::to_msgpack(msg, nlohmann::detail::output_adapter<char>(out));
  uint32_t n = static_cast<uint32_t>(out.size() - 4);
  out[0] = static_cast<char>(n >> 24);
  out[1] = static_cast<char>(n >> 16);
  out[2] = static_cast<char>(n >> 8);
  out[3] = static_cast<char>(n);
  return out;
}

bool DecodeFrameBody(const uint8_t* data, size_t size, Json* out, std::string* error) {
  try {
    CheckSax check;
    bool ok = Json::sax_parse(data, data + size, &check, Json::input_format_t::msgpack,
                              /*strict=*/true);
    if (!ok) {
      *error = check.error.empty() ? "invalid MessagePack in the frame" : check.error;
      return false;
    }
    if (!check.root || std::strcmp(check.root, "a map") != 0) {
      *error = std::string("the frame holds ") + (check.root ? check.root : "nothing") +
               ", not a map";
      return false;
    }
    *out = Json::from_msgpack(data, data + size, /*strict=*/true);
    return true;
  } catch (const std::exception& e) {
    *error = std::string("invalid MessagePack in the frame: ") + e.what();
  } catch (...) {
    *error = "invalid MessagePack in the frame";
  }
  return false;
}

void FrameDecoder::Feed(const uint8_t* data, size_t size) {
  if (fatal_ || size == 0) return;
  if (pos_ > 0 && pos_ * 2 >= buf_.size()) {  // compact
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data, data + size);
}

FrameDecoder::Event FrameDecoder::Next(Json* frame, ErrorCode* code, std::string* message) {
  if (fatal_ || buffered() < 4) return Event::kNone;
  const uint8_t* p = buf_.data() + pos_;
  uint32_t n = ReadBE32(p);
  uint64_t offset = consumed_;
  if (n > max_) {
    fatal_ = true;
    buf_.clear();
    pos_ = 0;
    *code = ErrorCode::kFrameTooLarge;
    *message = "frame at stream offset " + std::to_string(offset) + " declares " +
               std::to_string(n) + " bytes; the cap is " + std::to_string(max_) +
               " (connection closed)";
    return Event::kError;
  }
  if (buffered() - 4 < n) return Event::kNone;
  ++frames_;
  pos_ += 4 + size_t{n};
  consumed_ += 4 + uint64_t{n};
  if (n == 0) {
    *code = ErrorCode::kParseError;
    *message = "frame at stream offset " + std::to_string(offset) +
               " has length 0; a frame holds one MessagePack map";
    return Event::kError;
  }
  std::string err;
  if (!DecodeFrameBody(p + 4, n, frame, &err)) {
    *code = ErrorCode::kParseError;
    *message = "frame at stream offset " + std::to_string(offset) + ": " + err;
    return Event::kError;
  }
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  }
  return Event::kFrame;
}

}  // namespace arcella::alme
