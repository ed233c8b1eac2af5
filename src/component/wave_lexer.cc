#include "component/wave_lexer.h"

#include <array>
#include <vector>

namespace arcella::component {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

}  // namespace

void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

bool DecodeUtf8(std::string_view s, size_t* i, char32_t* c) {
  auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    *c = b0;
    ++*i;
    return true;
  }
  size_t n;
  char32_t v;
  char32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, v = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, v = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, v = b0 & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if (s.size() - *i < n) return false;
  for (size_t k = 1; k < n; ++k) {
    auto b = static_cast<unsigned char>(s[*i + k]);
    if ((b & 0xC0) != 0x80) return false;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *c = v;
  *i += n;
  return true;
}

bool IsWaveKeyword(std::string_view label) {
  static constexpr std::array<std::string_view, 8> kKeywords = {"true", "false", "inf", "nan",
                                                                "some", "none",  "ok",  "err"};
  for (auto k : kKeywords) {
    if (k == label) return true;
  }
  return false;
}

std::string DescribeWaveToken(const WaveToken& t) {
  switch (t.kind) {
    case WaveTok::kEnd: return "end of input";
    case WaveTok::kParenOpen: return "`(`";
    case WaveTok::kParenClose: return "`)`";
    case WaveTok::kBracketOpen: return "`[`";
    case WaveTok::kBracketClose: return "`]`";
    case WaveTok::kBraceOpen: return "`{`";
    case WaveTok::kBraceClose: return "`}`";
    case WaveTok::kComma: return "`,`";
    case WaveTok::kColon: return "`:`";
    case WaveTok::kNumber: return "number `" + t.text + "`";
    case WaveTok::kChar: return "a char";
    case WaveTok::kString: return "a string";
    case WaveTok::kLabel: return std::string("label `") + (t.escaped ? "%" : "") + t.text + "`";
  }
  return "?";
}

Status WaveError(std::string_view src, size_t begin, size_t end, const std::string& what) {
  if (begin > src.size()) begin = src.size();
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < begin; ++i) {
    if (src[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(src[i]) & 0xC0) != 0x80) {
      ++col;  // count characters, not UTF-8 continuation bytes
    }
  }
  return Status::InvalidArgument("line " + std::to_string(line) + ", column " +
                                 std::to_string(col) + " (bytes " + std::to_string(begin) + ".." +
                                 std::to_string(end) + "): " + what);
}

size_t WaveLexer::SkipSpace() {
  while (pos_ < src_.size()) {
    char c = src_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++pos_;
    } else if (c == '/' && pos_ + 1 < src_.size() && src_[pos_ + 1] == '/') {
      while (pos_ < src_.size() && src_[pos_] != '\n') ++pos_;
    } else {
      break;
    }
  }
  return pos_;
}

Status WaveLexer::Next(WaveToken* t) {
  SkipSpace();
  t->begin = pos_;
  t->text.clear();
  t->escaped = false;
  t->ch = 0;
  if (pos_ >= src_.size()) {
    t->kind = WaveTok::kEnd;
    t->end = pos_;
    return Status::Ok();
  }
  char c = src_[pos_];
  auto punct = [&](WaveTok k) {
    t->kind = k;
    t->end = ++pos_;
    return Status::Ok();
  };
  switch (c) {
    case '(': return punct(WaveTok::kParenOpen);
    case ')': return punct(WaveTok::kParenClose);
    case '[': return punct(WaveTok::kBracketOpen);
    case ']': return punct(WaveTok::kBracketClose);
    case '{': return punct(WaveTok::kBraceOpen);
    case '}': return punct(WaveTok::kBraceClose);
    case ',': return punct(WaveTok::kComma);
    case ':': return punct(WaveTok::kColon);
    case '\'': return LexChar(t);
    case '"': return LexString(t);
    default: break;
  }
  if (c == '-' || IsDigit(c)) return LexNumber(t);
  if (c == '%' || IsLower(c) || IsUpper(c)) return LexLabel(t);
  size_t i = pos_;
  char32_t ch = 0;
  if (!DecodeUtf8(src_, &i, &ch)) return WaveError(src_, pos_, pos_ + 1, "invalid UTF-8");
  std::string shown;
  AppendUtf8(ch, &shown);
  if (ch < 0x20 || ch == 0x7F) shown = "\\u{" + std::to_string(ch) + "}";
  return WaveError(src_, pos_, i, "invalid token: unexpected character `" + shown + "`");
}

Status WaveLexer::LexNumber(WaveToken* t) {
  size_t b = pos_;
  size_t i = pos_;
  if (src_[i] == '-') {
    ++i;
    if (src_.substr(i, 3) == "inf") {
      t->kind = WaveTok::kNumber;
      t->text = "-inf";
      t->end = pos_ = i + 3;
      return Status::Ok();
    }
    if (i >= src_.size() || !IsDigit(src_[i])) {
      return WaveError(src_, b, b + 1, "invalid token: `-` must be followed by digits or `inf`");
    }
  }
  if (src_[i] == '0') {
    ++i;  // no leading zeros: "01" is the number 0 followed by 1
  } else {
    while (i < src_.size() && IsDigit(src_[i])) ++i;
  }
  if (i < src_.size() && src_[i] == '.') {
    size_t dot = i++;
    if (i >= src_.size() || !IsDigit(src_[i])) {
      return WaveError(src_, dot, dot + 1, "invalid number: expected digits after `.`");
    }
    while (i < src_.size() && IsDigit(src_[i])) ++i;
  }
  if (i < src_.size() && (src_[i] == 'e' || src_[i] == 'E')) {
    size_t e = i++;
    if (i < src_.size() && (src_[i] == '+' || src_[i] == '-')) ++i;
    if (i >= src_.size() || !IsDigit(src_[i])) {
      return WaveError(src_, e, i, "invalid number: expected exponent digits");
    }
    while (i < src_.size() && IsDigit(src_[i])) ++i;
  }
  t->kind = WaveTok::kNumber;
  t->text.assign(src_.substr(b, i - b));
  t->end = pos_ = i;
  return Status::Ok();
}

Status WaveLexer::LexLabel(WaveToken* t) {
  size_t i = pos_;
  if (src_[i] == '%') {
    t->escaped = true;
    ++i;
    if (i >= src_.size() || !(IsLower(src_[i]) || IsUpper(src_[i]))) {
      return WaveError(src_, pos_, pos_ + 1, "invalid token: `%` must be followed by a label");
    }
  }
  size_t start = i;
  while (true) {
    // One word: [a-z][a-z0-9]* or [A-Z][A-Z0-9]*.
    bool lower = IsLower(src_[i]);
    ++i;
    while (i < src_.size() && (IsDigit(src_[i]) || (lower ? IsLower(src_[i]) : IsUpper(src_[i])))) {
      ++i;
    }
    if (i + 1 < src_.size() && src_[i] == '-' && (IsLower(src_[i + 1]) || IsUpper(src_[i + 1]))) {
      ++i;
      continue;
    }
    break;
  }
  t->kind = WaveTok::kLabel;
  t->text.assign(src_.substr(start, i - start));
  t->end = pos_ = i;
  return Status::Ok();
}

Status WaveLexer::Escape(size_t esc_begin, char32_t* c) {
  // pos_ is just past the backslash.
  if (pos_ >= src_.size()) return WaveError(src_, esc_begin, pos_, "unterminated escape");
  char e = src_[pos_++];
  switch (e) {
    case '\'': *c = '\''; return Status::Ok();
    case '"': *c = '"'; return Status::Ok();
    case '\\': *c = '\\'; return Status::Ok();
    case 't': *c = '\t'; return Status::Ok();
    case 'n': *c = '\n'; return Status::Ok();
    case 'r': *c = '\r'; return Status::Ok();
    case 'u': break;
    default:
      return WaveError(src_, esc_begin, pos_,
                       "invalid character escape: use \\', \\\", \\\\, \\t, \\n, \\r or \\u{...}");
  }
  if (pos_ >= src_.size() || src_[pos_] != '{') {
    return WaveError(src_, esc_begin, pos_, "invalid character escape: expected `{` after \\u");
  }
  ++pos_;
  size_t digits = pos_;
  uint64_t v = 0;
  while (pos_ < src_.size() && IsHex(src_[pos_])) {
    char h = src_[pos_++];
    int d = IsDigit(h) ? h - '0' : (h | 0x20) - 'a' + 10;
    if (v <= 0x10FFFF) v = v * 16 + d;  // saturates past the range; digits still consumed
  }
  if (pos_ == digits || pos_ >= src_.size() || src_[pos_] != '}') {
    return WaveError(src_, esc_begin, pos_,
                     "invalid character escape: \\u{...} needs hexadecimal digits and `}`");
  }
  ++pos_;
  if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
    return WaveError(src_, esc_begin, pos_,
                     "invalid character escape: not a Unicode scalar value (surrogate or above "
                     "U+10FFFF)");
  }
  *c = static_cast<char32_t>(v);
  return Status::Ok();
}

Status WaveLexer::DecodeOne(char32_t* c) {
  if (src_[pos_] == '\\') {
    size_t b = pos_++;
    return Escape(b, c);
  }
  size_t i = pos_;
  if (!DecodeUtf8(src_, &i, c)) return WaveError(src_, pos_, pos_ + 1, "invalid UTF-8");
  pos_ = i;
  return Status::Ok();
}

Status WaveLexer::LexChar(WaveToken* t) {
  size_t b = pos_++;
  auto bad = [&](const std::string& what) {
    size_t e = pos_ < src_.size() ? pos_ + 1 : pos_;
    return WaveError(src_, b, e, "invalid char literal: " + what);
  };
  if (pos_ >= src_.size()) return bad("unterminated");
  char c0 = src_[pos_];
  if (c0 == '\'') return bad("empty (write \\' for a quote)");
  if (c0 == '\n') return bad("a line break must be written \\n");
  char32_t c = 0;
  ARCELLA_RETURN_IF_ERROR(DecodeOne(&c));
  if (pos_ >= src_.size()) return bad("unterminated (missing `'`)");
  if (src_[pos_] != '\'') return bad("more than one character, or missing `'`");
  ++pos_;
  t->kind = WaveTok::kChar;
  t->ch = c;
  t->end = pos_;
  return Status::Ok();
}

Status WaveLexer::LexString(WaveToken* t) {
  if (src_.substr(pos_, 3) == "\"\"\"") return LexMultiline(t);
  size_t b = pos_++;
  t->kind = WaveTok::kString;
  while (true) {
    if (pos_ >= src_.size()) {
      return WaveError(src_, b, pos_, "invalid string: unterminated (missing `\"`)");
    }
    char c = src_[pos_];
    if (c == '"') break;
    if (c == '\n') {
      return WaveError(src_, b, pos_,
                       "invalid string: unterminated on its line (a line break must be written "
                       "\\n)");
    }
    // A run of printable ASCII without quote or escape is taken as it is.
    size_t run = pos_;
    while (run < src_.size()) {
      const auto b = static_cast<unsigned char>(src_[run]);
      if (b < 0x20 || b > 0x7E || b == '"' || b == '\\') break;
      ++run;
    }
    if (run > pos_) {
      t->text.append(src_.data() + pos_, run - pos_);
      pos_ = run;
      continue;
    }
    char32_t ch = 0;
    ARCELLA_RETURN_IF_ERROR(DecodeOne(&ch));
    AppendUtf8(ch, &t->text);
  }
  t->end = ++pos_;
  return Status::Ok();
}

Status WaveLexer::LexMultiline(WaveToken* t) {
  size_t b = pos_;
  pos_ += 3;
  if (src_.substr(pos_, 1) == "\n") {
    pos_ += 1;
  } else if (src_.substr(pos_, 2) == "\r\n") {
    pos_ += 2;
  } else {
    return WaveError(src_, pos_, pos_ + (pos_ < src_.size() ? 1 : 0),
                     "invalid multiline string: the opening \"\"\" must be followed immediately by "
                     "a line break");
  }
  // Split into raw lines up to the closing line `<spaces>"""`.
  struct Line {
    size_t begin, end;  // content, without the line break
  };
  std::vector<Line> lines;
  size_t indent = 0;
  while (true) {
    if (pos_ >= src_.size()) {
      return WaveError(src_, b, pos_, "invalid multiline string: unterminated (missing \"\"\")");
    }
    size_t lb = pos_;
    size_t nl = src_.find('\n', lb);
    size_t le = nl == std::string_view::npos ? src_.size() : nl;
    std::string_view raw = src_.substr(lb, le - lb);
    size_t spaces = 0;
    while (spaces < raw.size() && raw[spaces] == ' ') ++spaces;
    if (raw.substr(spaces, 3) == "\"\"\"") {  // the closing delimiter
      indent = spaces;
      pos_ = lb + spaces + 3;
      break;
    }
    size_t triple = raw.find("\"\"\"");
    if (triple != std::string_view::npos) {
      return WaveError(src_, lb + triple, lb + triple + 3,
                       "invalid multiline string: \"\"\" inside the string (break it up as "
                       "\"\"\\\"); the closing \"\"\" must be on a line of its own, after spaces "
                       "only");
    }
    if (nl == std::string_view::npos) {
      return WaveError(src_, b, src_.size(),
                       "invalid multiline string: unterminated (missing \"\"\")");
    }
    if (!raw.empty() && raw.back() == '\r') --le;  // \r\n line break
    lines.push_back({lb, le});
    pos_ = nl + 1;
  }
  size_t after = pos_;
  t->kind = WaveTok::kString;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) t->text.push_back('\n');
    size_t i = lines[k].begin;
    for (size_t s = 0; s < indent; ++s, ++i) {
      if (i >= lines[k].end || src_[i] != ' ') {
        return WaveError(src_, lines[k].begin, lines[k].end,
                         "invalid multiline string: line indented by fewer than the " +
                             std::to_string(indent) + " spaces before the closing \"\"\"");
      }
    }
    pos_ = i;
    while (pos_ < lines[k].end) {
      char32_t ch = 0;
      ARCELLA_RETURN_IF_ERROR(DecodeOne(&ch));
      AppendUtf8(ch, &t->text);
    }
  }
  t->end = pos_ = after;
  return Status::Ok();
}

}  // namespace arcella::component
