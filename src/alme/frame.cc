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
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override { return Open("an array"); }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // nlohmann counts from 1; report the 0-based offset of the bad byte (the
    // frame length when the input ended early).
    error = "invalid MessagePack at byte " + std::to_string(position == 0 ? 0 : position - 1) +
            " of the frame: " + Reason(ex.what());
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

uint64_t ReadBE(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// Estimated heap bytes of nlohmann's tree, per kind of MessagePack item.
// A json node is 16 bytes; an array keeps its nodes in a std::vector that
// doubles while it is built (old and new buffers live at once: 3 x 16); a
// map entry is a std::map node (header, key std::string, node, malloc
// overhead); strings and containers live on the heap behind the node.
namespace {
constexpr uint64_t kArraySlot = 48;
constexpr uint64_t kMapEntry = 96;
constexpr uint64_t kHeapObject = 48;  // std::string / vector / map object + malloc
constexpr uint64_t kLongTail = 17;    // a string past the small-string buffer: len+1 + malloc
}  // namespace

FrameScan ScanFrameBody(const uint8_t* data, size_t size) {
  FrameScan r;
  // Items still to read in each open container (a map counts 2 per entry);
  // whether that container is a map (so every other item is a key).
  std::vector<uint64_t> left;
  std::vector<uint8_t> is_map;
  size_t i = 0;
  auto need = [&](uint64_t n) { return size - i >= n; };
  for (;;) {
    if (i >= size) {
      r.status = FrameScan::kMalformed;
      return r;
    }
    bool in_array = !left.empty() && !is_map.back();
    bool is_key = !left.empty() && is_map.back() && (left.back() % 2 == 0);
    uint64_t slot = is_key ? kMapEntry : (in_array ? kArraySlot : (left.empty() ? 16 : 0));
    uint8_t b = data[i++];
    uint64_t container = 0;  // items of a container opened here
    bool opens = false, map = false;
    uint64_t str = UINT64_MAX, bin = UINT64_MAX;  // payload lengths
    if (b <= 0x7f || b >= 0xe0) {
    } else if (b <= 0x8f) {
      opens = map = true, container = uint64_t{b & 0x0fu} * 2;
    } else if (b <= 0x9f) {
      opens = true, container = b & 0x0fu;
    } else if (b <= 0xbf) {
      str = b & 0x1fu;
    } else {
      switch (b) {
        case 0xc0:
        case 0xc2:
        case 0xc3: break;
        case 0xc4:
        case 0xc5:
        case 0xc6: {
          int n = b == 0xc4 ? 1 : b == 0xc5 ? 2 : 4;
          if (!need(n)) {
            r.status = FrameScan::kMalformed;
            return r;
          }
          bin = ReadBE(data + i, n), i += n;
          break;
        }
        case 0xc7:
        case 0xc8:
        case 0xc9: {
          int n = b == 0xc7 ? 1 : b == 0xc8 ? 2 : 4;
          if (!need(n + 1)) {
            r.status = FrameScan::kMalformed;
            return r;
          }
          bin = ReadBE(data + i, n), i += n + 1;
          break;
        }
        case 0xca:
        case 0xcb:
        case 0xcc:
        case 0xcd:
        case 0xce:
        case 0xcf:
        case 0xd0:
        case 0xd1:
        case 0xd2:
        case 0xd3: {
          static const int kLen[] = {4, 8, 1, 2, 4, 8, 1, 2, 4, 8};
          int n = kLen[b - 0xca];
          if (!need(n)) {
            r.status = FrameScan::kMalformed;
            return r;
          }
          i += n;
          break;
        }
        case 0xd4:
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8: bin = uint64_t{1} << (b - 0xd4), i += 1; break;
        case 0xd9:
        case 0xda:
        case 0xdb: {
          int n = b == 0xd9 ? 1 : b == 0xda ? 2 : 4;
          if (!need(n)) {
            r.status = FrameScan::kMalformed;
            return r;
          }
          str = ReadBE(data + i, n), i += n;
          break;
        }
        case 0xdc:
        case 0xdd:
        case 0xde:
        case 0xdf: {
          int n = (b == 0xdc || b == 0xde) ? 2 : 4;
          if (!need(n)) {
            r.status = FrameScan::kMalformed;
            return r;
          }
          opens = true, map = b >= 0xde;
          container = ReadBE(data + i, n) * (map ? 2 : 1), i += n;
          break;
        }
        default:  // 0xc1: never used
          r.status = FrameScan::kMalformed;
          return r;
      }
    }
    if (!r.root) {
      r.root = opens ? (map ? "a map" : "an array") : "a scalar";
    }
    ++r.items;
    r.cost += slot;
    if (str != UINT64_MAX || bin != UINT64_MAX) {
      uint64_t n = str != UINT64_MAX ? str : bin;
      if (!need(n)) {
        r.status = FrameScan::kMalformed;
        return r;
      }
      i += n;
      // A key's std::string is inside the map node; a value's is on the heap.
      if (!is_key) r.cost += kHeapObject;
      if (bin != UINT64_MAX || n > 15) r.cost += n + kLongTail;
    }
    if (opens) {
      r.cost += kHeapObject;
      if (static_cast<int>(left.size()) + 1 > kMaxFrameDepth) {
        r.status = FrameScan::kTooDeep;
        return r;
      }
      // Each item takes at least one byte: a larger count cannot be satisfied.
      if (container > size - i + 1) container = size - i + 1;
      left.push_back(container);
      is_map.push_back(map);
    } else if (!left.empty()) {
      --left.back();
    }
    while (!left.empty() && left.back() == 0) {
      left.pop_back();
      is_map.pop_back();
      if (!left.empty()) --left.back();
    }
    if (left.empty()) break;
  }
  r.status = i == size ? FrameScan::kOk : FrameScan::kMalformed;
  return r;
}

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

bool DecodeFrameBody(const uint8_t* data, size_t size, Json* out, std::string* error,
                     bool bound_memory) {
  // A cheap walk first: nesting and what the tree would cost, before
  // anything is built (a frame of 16 MiB of nils is 16 million nodes).
  FrameScan scan = ScanFrameBody(data, size);
  if (scan.status == FrameScan::kTooDeep) {
    *error = "MessagePack nested deeper than " + std::to_string(kMaxFrameDepth) + " levels";
    return false;
  }
  uint64_t budget = kDecodeBytesPerFrameByte * uint64_t{size} + kDecodeBytesBase;
  if (bound_memory && scan.status == FrameScan::kOk && scan.cost > budget) {
    *error = "the frame's " + std::to_string(scan.items) + " MessagePack items would take about " +
             std::to_string(scan.cost >> 10) + " KiB decoded, more than " +
             std::to_string(kDecodeBytesPerFrameByte) + " times the frame's " +
             std::to_string(size) + " bytes + " + std::to_string(kDecodeBytesBase >> 10) +
             " KiB; send fewer, larger values";
    return false;
  }
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
  if (!DecodeFrameBody(p + 4, n, frame, &err, bound_memory_)) {
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
