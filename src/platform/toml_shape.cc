#include "platform/toml_shape.h"

#include <vector>

namespace arcella::platform {
namespace {

class Scanner {
 public:
  Scanner(std::string_view text, const std::string& file) : t_(text), file_(file) {}

  Status Run() {
    bool key_ctx = true;  // expecting a key (or a [header] at top level)
    int header_depth = 0, cur = 0;
    struct Frame {
      char kind;  // '[' or '{'
      int depth;  // depth of the values directly inside
    };
    std::vector<Frame> stack;  // at most kMaxTomlDepth frames
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r') {
        Next();
        continue;
      }
      if (c == '#') {
        while (!AtEnd() && Peek() != '\n') Next();
        continue;
      }
      if (c == '\n') {
        Next();
        if (stack.empty()) key_ctx = true;
        continue;
      }
      if (key_ctx) {
        if (stack.empty() && c == '[') {  // [table] or [[array.of.tables]]
          Next();
          int base = 0;
          if (Peek() == '[') {
            Next();
            base = 1;
          }
          int segs = 0;
          ARCELLA_RETURN_IF_ERROR(Key(base, &segs));
          header_depth = base + segs;
          while (Peek() == ']') Next();
          continue;
        }
        if (c == '}' && !stack.empty() && stack.back().kind == '{') {  // {} or trailing
          key_ctx = false;
          continue;  // closed below, in value context
        }
        int base = stack.empty() ? header_depth : stack.back().depth;
        size_t before = pos_;
        int segs = 0;
        ARCELLA_RETURN_IF_ERROR(Key(base, &segs));
        cur = base + segs;
        if (Peek() == '=') Next();
        else if (pos_ == before) Next();  // not a key: the parser will say so
        key_ctx = false;
        continue;
      }
      // A value.
      if (c == '"' || c == '\'') {
        SkipString();
        continue;
      }
      if (c == '[' || c == '{') {
        int d = cur + 1;
        if (d > kMaxTomlDepth) return DepthError();
        stack.push_back({c, d});
        Next();
        cur = d;
        if (c == '{') key_ctx = true;
        continue;
      }
      if (c == ']' || c == '}') {
        Next();
        if (!stack.empty()) stack.pop_back();
        cur = stack.empty() ? 0 : stack.back().depth;
        continue;
      }
      if (c == ',') {
        Next();
        if (!stack.empty()) {
          cur = stack.back().depth;
          if (stack.back().kind == '{') key_ctx = true;
        }
        continue;
      }
      Next();
    }
    return Status::Ok();
  }

 private:
  bool AtEnd() const { return pos_ >= t_.size(); }
  char Peek(size_t k = 0) const { return pos_ + k < t_.size() ? t_[pos_ + k] : '\0'; }
  void Next() {
    if (t_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }
  Status Error(const std::string& what) const {
    return Status::InvalidArgument(file_ + ":" + std::to_string(line_) + ":" +
                                   std::to_string(col_) + ": " + what + "; refused before parsing");
  }
  Status DepthError() const {
    return Error("TOML nested deeper than " + std::to_string(kMaxTomlDepth) +
                 " levels (table header and dotted key segments, arrays and inline tables count)");
  }
  Status CountKey() {
    if (++keys_ > kMaxTomlKeys)
      return Error("more than " + std::to_string(kMaxTomlKeys) + " TOML keys");
    return Status::Ok();
  }
  static bool IsBare(char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || u >= 0x80;
  }

  // A (dotted) key; stops before '=', ']' or anything else that is not part
  // of a key. *segs receives the number of segments.
  Status Key(int base, int* segs) {
    *segs = 1;
    ARCELLA_RETURN_IF_ERROR(CountKey());
    if (base + 1 > kMaxTomlDepth) return DepthError();
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t') {
        Next();
      } else if (c == '"' || c == '\'') {
        SkipString();
      } else if (c == '.') {
        ++*segs;
        ARCELLA_RETURN_IF_ERROR(CountKey());
        if (base + *segs > kMaxTomlDepth) return DepthError();
        Next();
      } else if (IsBare(c)) {
        Next();
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  // Skips a basic, literal or multi-line string starting at the quote. An
  // unterminated single-line string ends at the newline (the parser reports it).
  void SkipString() {
    const char q = Peek();
    const bool basic = q == '"';
    if (Peek(1) == q && Peek(2) == q) {  // multi-line
      Next(), Next(), Next();
      while (!AtEnd()) {
        if (basic && Peek() == '\\') {
          Next();
          if (!AtEnd()) Next();
          continue;
        }
        if (Peek() == q && Peek(1) == q && Peek(2) == q) {
          Next(), Next(), Next();
          while (Peek() == q) Next();  // up to two quotes may end the content
          return;
        }
        Next();
      }
      return;
    }
    Next();
    while (!AtEnd() && Peek() != '\n') {
      if (basic && Peek() == '\\') {
        Next();
        if (!AtEnd() && Peek() != '\n') Next();
        continue;
      }
      if (Peek() == q) {
        Next();
        return;
      }
      Next();
    }
  }

  std::string_view t_;
  const std::string& file_;
  size_t pos_ = 0;
  size_t line_ = 1, col_ = 1;
  size_t keys_ = 0;
};

}  // namespace

Status CheckTomlShape(std::string_view text, const std::string& file) {
  if (text.size() > kMaxTomlBytes)
    return Status::InvalidArgument(file + ": TOML text is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " + std::to_string(kMaxTomlBytes) +
                                   " bytes; refused before parsing");
  return Scanner(text, file).Run();
}

}  // namespace arcella::platform
