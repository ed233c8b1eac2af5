// The WAVE lexer: splits WAVE text (docs/COMPONENTS.md "WAVE values",
// ../shared/wave/wave_ebnf.md) into tokens, decoding chars and strings
// (escapes, multiline strings) as it goes. Used by wave.cc.
//
//   WaveLexer lex(text);
//   WaveToken t;
//   ARCELLA_RETURN_IF_ERROR(lex.Next(&t));   // t.kind == WaveTok::kEnd at the end
//
// Whitespace and `//` comments between tokens are skipped. Errors are
// InvalidArgument "line L, column C (bytes B..E): <what>" (WaveError below),
// with B the byte offset where the offending token or escape starts.
//
// Threads: a lexer is used by one thread; the text must outlive it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace arcella::component {

enum class WaveTok : uint8_t {
  kEnd,
  kParenOpen,
  kParenClose,
  kBracketOpen,
  kBracketClose,
  kBraceOpen,
  kBraceClose,
  kComma,
  kColon,
  kNumber,  // text: the literal as written ("-12", "1.5e3", "-inf")
  kChar,    // ch: the decoded character
  kString,  // text: the decoded UTF-8 string (plain or multiline)
  kLabel,   // text: the label without `%`; escaped: it had one
};

struct WaveToken {
  WaveTok kind = WaveTok::kEnd;
  size_t begin = 0;  // byte range in the source
  size_t end = 0;
  std::string text;
  char32_t ch = 0;
  bool escaped = false;
};

// "`)`", "label `foo`", "end of input": a token for messages.
std::string DescribeWaveToken(const WaveToken& t);

// True for the WAVE keywords: true false inf nan some none ok err.
bool IsWaveKeyword(std::string_view label);

// The error for bytes [begin, end) of `src`: InvalidArgument
// "line L, column C (bytes B..E): what". Lines and columns count from 1;
// columns count Unicode characters.
Status WaveError(std::string_view src, size_t begin, size_t end, const std::string& what);

class WaveLexer {
 public:
  explicit WaveLexer(std::string_view src) : src_(src) {}

  // Reads the next token into *t (kEnd at the end of the text).
  Status Next(WaveToken* t);
  // Skips whitespace and comments; returns the offset of what follows.
  size_t SkipSpace();
  size_t pos() const { return pos_; }
  void set_pos(size_t p) { pos_ = p; }
  std::string_view src() const { return src_; }

 private:
  Status LexNumber(WaveToken* t);
  Status LexLabel(WaveToken* t);
  Status LexChar(WaveToken* t);
  Status LexString(WaveToken* t);
  Status LexMultiline(WaveToken* t);
  // Decodes one raw character or escape at pos_ into *c (the callers stop
  // at delimiters and line breaks before calling it).
  Status DecodeOne(char32_t* c);
  // Decodes the escape whose backslash is at esc_begin (pos_ just after it).
  Status Escape(size_t esc_begin, char32_t* c);

  std::string_view src_;
  size_t pos_ = 0;
};

// Appends the UTF-8 encoding of `c` (a Unicode scalar value) to *out.
void AppendUtf8(char32_t c, std::string* out);
// Decodes one UTF-8 character at s[*i], advancing *i; false if the bytes are
// not valid UTF-8 (overlong, surrogate, truncated, > U+10FFFF).
bool DecodeUtf8(std::string_view s, size_t* i, char32_t* c);

}  // namespace arcella::component
