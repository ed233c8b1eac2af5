// WAVE parsing in two steps, like the grammar (wave_ebnf.md), which is
// untyped: the text is first parsed into a syntax tree (so syntax errors are
// reported where they are, whatever the type), then the tree is converted
// against the expected type.
#include "component/wave.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "component/wave_lexer.h"

namespace arcella::component {
namespace {

// An untyped WAVE value.
struct Node {
  enum Kind : uint8_t { kNumber, kChar, kString, kLabel, kTuple, kList, kFlags, kRecord };
  Kind kind = kNumber;
  size_t begin = 0, end = 0;
  std::string text;  // number literal, string, label (without %)
  char32_t ch = 0;
  bool escaped = false;      // label written with %
  bool has_payload = false;  // label(payload): kids[0]
  // tuple/list: elements; flags: labels; record: labels, each with its
  // value in kids[0].
  std::vector<Node> kids;
};

class SyntaxParser {
 public:
  explicit SyntaxParser(std::string_view src, size_t start = 0) : lex_(src) { lex_.set_pos(start); }

  Status Start() { return lex_.Next(&tok_); }
  const WaveToken& tok() const { return tok_; }
  Status Advance() { return lex_.Next(&tok_); }
  std::string_view src() const { return lex_.src(); }

  Status Unexpected(const std::string& expected) {
    return WaveError(src(), tok_.begin, tok_.end,
                     "unexpected " + DescribeWaveToken(tok_) + "; expected " + expected);
  }

  // True if the token after the current one is `:`.
  bool NextIsColon() const {
    WaveLexer copy = lex_;
    WaveToken t;
    return copy.Next(&t).ok() && t.kind == WaveTok::kColon;
  }

  Status Expect(WaveTok k, const char* what) {
    if (tok_.kind != k) return Unexpected(what);
    return Advance();
  }

  Status Value(Node* n, int depth) {
    if (depth > kWaveMaxDepth) {
      return WaveError(src(), tok_.begin, tok_.end,
                       "value nested deeper than " + std::to_string(kWaveMaxDepth) + " levels");
    }
    n->begin = tok_.begin;
    switch (tok_.kind) {
      case WaveTok::kNumber:
      case WaveTok::kChar:
      case WaveTok::kString:
        n->kind = tok_.kind == WaveTok::kNumber ? Node::kNumber
                  : tok_.kind == WaveTok::kChar ? Node::kChar
                                                : Node::kString;
        n->text = std::move(tok_.text);
        n->ch = tok_.ch;
        n->end = tok_.end;
        return Advance();
      case WaveTok::kLabel: return Label(n, depth);
      case WaveTok::kParenOpen:
        n->kind = Node::kTuple;
        ARCELLA_RETURN_IF_ERROR(Advance());
        return Seq(n, WaveTok::kParenClose, "`)`", /*allow_empty=*/false, depth);
      case WaveTok::kBracketOpen:
        n->kind = Node::kList;
        ARCELLA_RETURN_IF_ERROR(Advance());
        return Seq(n, WaveTok::kBracketClose, "`]`", /*allow_empty=*/true, depth);
      case WaveTok::kBraceOpen: return Braces(n, depth);
      default: return Unexpected("a value");
    }
  }

  // Values separated by commas (a trailing one allowed) up to `close`.
  Status Seq(Node* n, WaveTok close, const char* close_text, bool allow_empty, int depth) {
    if (tok_.kind == close && allow_empty) {
      n->end = tok_.end;
      return Advance();
    }
    while (true) {
      n->kids.emplace_back();
      ARCELLA_RETURN_IF_ERROR(Value(&n->kids.back(), depth + 1));
      if (tok_.kind == WaveTok::kComma) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        if (tok_.kind == close) break;
        continue;
      }
      if (tok_.kind == close) break;
      return Unexpected(std::string("`,` or ") + close_text);
    }
    n->end = tok_.end;
    return Advance();
  }

 private:
  Status Label(Node* n, int depth) {
    n->kind = Node::kLabel;
    n->text = std::move(tok_.text);
    n->escaped = tok_.escaped;
    n->end = tok_.end;
    ARCELLA_RETURN_IF_ERROR(Advance());
    bool keyword = !n->escaped && IsWaveKeyword(n->text);
    if (keyword && n->text == "some" && tok_.kind != WaveTok::kParenOpen) {
      return Unexpected("`(` after `some`");
    }
    if (tok_.kind != WaveTok::kParenOpen) return Status::Ok();
    if (keyword && n->text != "some" && n->text != "ok" && n->text != "err") {
      return WaveError(src(), tok_.begin, tok_.end,
                       "unexpected `(`: `" + n->text + "` takes no payload");
    }
    ARCELLA_RETURN_IF_ERROR(Advance());
    n->has_payload = true;
    n->kids.emplace_back();
    ARCELLA_RETURN_IF_ERROR(Value(&n->kids.back(), depth + 1));
    if (tok_.kind != WaveTok::kParenClose) return Unexpected("`)`");
    n->end = tok_.end;
    return Advance();
  }

  // `{}` / `{a, b}` (flags), `{:}` / `{a: 1, b: 2}` (record).
  Status Braces(Node* n, int depth) {
    ARCELLA_RETURN_IF_ERROR(Advance());
    n->kind = Node::kFlags;
    if (tok_.kind == WaveTok::kColon) {
      n->kind = Node::kRecord;
      ARCELLA_RETURN_IF_ERROR(Advance());
      if (tok_.kind != WaveTok::kBraceClose) return Unexpected("`}` after `{:`");
      n->end = tok_.end;
      return Advance();
    }
    if (tok_.kind == WaveTok::kBraceClose) {
      n->end = tok_.end;
      return Advance();
    }
    bool first = true;
    while (true) {
      if (tok_.kind != WaveTok::kLabel)
        return Unexpected(first ? "a label, `:` or `}`" : "a label");
      Node label;
      label.kind = Node::kLabel;
      label.begin = tok_.begin;
      label.end = tok_.end;
      label.text = std::move(tok_.text);
      label.escaped = tok_.escaped;
      ARCELLA_RETURN_IF_ERROR(Advance());
      if (first) n->kind = tok_.kind == WaveTok::kColon ? Node::kRecord : Node::kFlags;
      first = false;
      if (n->kind == Node::kRecord) {
        ARCELLA_RETURN_IF_ERROR(Expect(WaveTok::kColon, "`:` after a record field label"));
        label.kids.emplace_back();
        ARCELLA_RETURN_IF_ERROR(Value(&label.kids.back(), depth + 1));
      }
      n->kids.push_back(std::move(label));
      if (tok_.kind == WaveTok::kComma) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        if (tok_.kind == WaveTok::kBraceClose) break;
        continue;
      }
      if (tok_.kind == WaveTok::kBraceClose) break;
      return Unexpected("`,` or `}`");
    }
    n->end = tok_.end;
    return Advance();
  }

  WaveLexer lex_;
  WaveToken tok_;
};

// ---------------------------------------------------------------- typing

std::string TypeName(const ValueType& t) {
  std::string s = TypeToString(t);
  if (s.size() > 60) s = TypeKindName(t.kind);
  return s;
}

std::string DescribeNode(const Node& n) {
  switch (n.kind) {
    case Node::kNumber: return "number `" + n.text + "`";
    case Node::kChar: return "a char";
    case Node::kString: return "a string";
    case Node::kLabel:
      return std::string("`") + (n.escaped ? "%" : "") + n.text + (n.has_payload ? "(...)`" : "`");
    case Node::kTuple: return "a tuple";
    case Node::kList: return "a list";
    case Node::kFlags: return n.kids.empty() ? "`{}` (empty flags)" : "flags";
    case Node::kRecord: return "a record";
  }
  return "?";
}

bool IsOptionOrResult(const TypeRef& t) {
  return t && (t->kind == TypeKind::kOption || t->kind == TypeKind::kResult);
}

class Typer {
 public:
  explicit Typer(std::string_view src, bool handles = false) : src_(src), handles_(handles) {}

  Status Err(const Node& n, const std::string& what) {
    return WaveError(src_, n.begin, n.end, what);
  }
  Status Mismatch(const Node& n, const ValueType& t) {
    std::string hint;
    if (n.kind == Node::kFlags && n.kids.empty() && t.kind == TypeKind::kRecord) {
      hint = " (a record whose fields are all omitted is written `{:}`)";
    } else if (n.kind == Node::kLabel && !n.escaped && IsWaveKeyword(n.text) &&
               (t.kind == TypeKind::kEnum || t.kind == TypeKind::kVariant)) {
      hint = " (a case named like a keyword is written `%" + n.text + "`)";
    }
    return Err(n, "expected " + TypeName(t) + ", found " + DescribeNode(n) + hint);
  }

  Status Convert(const Node& n, const ValueType& t, Val* out) {
    switch (t.kind) {
      case TypeKind::kBool:
        if (n.kind != Node::kLabel || n.escaped || n.has_payload ||
            (n.text != "true" && n.text != "false")) {
          return Mismatch(n, t);
        }
        *out = Val::Bool(n.text == "true");
        return Status::Ok();
      case TypeKind::kS8:
      case TypeKind::kS16:
      case TypeKind::kS32:
      case TypeKind::kS64:
      case TypeKind::kU8:
      case TypeKind::kU16:
      case TypeKind::kU32:
      case TypeKind::kU64: return Integer(n, t, out);
      case TypeKind::kF32:
      case TypeKind::kF64: return Float(n, t, out);
      case TypeKind::kChar:
        if (n.kind != Node::kChar) return Mismatch(n, t);
        *out = Val::Char(n.ch);
        return Status::Ok();
      case TypeKind::kString:
        if (n.kind != Node::kString) return Mismatch(n, t);
        *out = Val::String(n.text);
        return Status::Ok();
      case TypeKind::kMap:  // WAVE has no map syntax: a list of (key, value) tuples
      case TypeKind::kList: {
        if (n.kind != Node::kList) return Mismatch(n, t);
        if (t.length != 0 && n.kids.size() != t.length) {
          return Err(n, "expected " + std::to_string(t.length) + " elements for " + TypeName(t) +
                            ", found " + std::to_string(n.kids.size()));
        }
        std::vector<Val> items(n.kids.size());
        for (size_t i = 0; i < n.kids.size(); ++i) {
          ARCELLA_RETURN_IF_ERROR(Convert(n.kids[i], *t.elem, &items[i]));
        }
        *out = Val::List(std::move(items));
        return Status::Ok();
      }
      case TypeKind::kTuple: {
        if (n.kind != Node::kTuple) return Mismatch(n, t);
        if (n.kids.size() != t.fields.size()) {
          return Err(n, "expected " + std::to_string(t.fields.size()) + " elements for " +
                            TypeName(t) + ", found " + std::to_string(n.kids.size()));
        }
        std::vector<Val> items(n.kids.size());
        for (size_t i = 0; i < n.kids.size(); ++i) {
          ARCELLA_RETURN_IF_ERROR(Convert(n.kids[i], *t.fields[i].type, &items[i]));
        }
        *out = Val::Tuple(std::move(items));
        return Status::Ok();
      }
      case TypeKind::kRecord: return Record(n, t, out);
      case TypeKind::kFlags: return Flags(n, t, out);
      case TypeKind::kEnum: {
        if (n.kind != Node::kLabel || n.has_payload) return Mismatch(n, t);
        int i = CaseIndex(n, t.labels);
        if (i < 0) return UnknownCase(n, t);
        *out = Val::Enum(static_cast<uint32_t>(i));
        return Status::Ok();
      }
      case TypeKind::kVariant: return Variant(n, t, out);
      case TypeKind::kOption: return Option(n, t, out);
      case TypeKind::kResult: return ResultValue(n, t, out);
      case TypeKind::kOwn:
      case TypeKind::kBorrow: {
        if (!handles_)
          return Err(n, "resource handles (" + TypeName(t) +
                            ") have no WAVE form; they cannot be given as text");
        Val h;
        ARCELLA_RETURN_IF_ERROR(Integer(n, *ValueType::U32(), &h));
        *out = t.kind == TypeKind::kOwn ? Val::Own(nullptr, h.u) : Val::Borrow(nullptr, h.u);
        return Status::Ok();
      }
    }
    return Mismatch(n, t);
  }

 private:
  // The index of label `n` among `names`, or -1. An unescaped keyword
  // never names a case (it must be written with %).
  static int CaseIndex(const Node& n, const std::vector<std::string>& names) {
    if (!n.escaped && IsWaveKeyword(n.text)) return -1;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == n.text) return static_cast<int>(i);
    }
    return -1;
  }

  Status UnknownCase(const Node& n, const ValueType& t) {
    bool known = false;
    const auto& names = t.kind == TypeKind::kEnum ? t.labels : std::vector<std::string>{};
    for (const auto& s : names) known |= s == n.text;
    for (const auto& c : t.cases) known |= c.name == n.text;
    if (known) return Mismatch(n, t);  // a keyword written without %
    return Err(n, "unknown case `" + n.text + "` of " + TypeName(t));
  }

  Status Integer(const Node& n, const ValueType& t, Val* out) {
    if (n.kind != Node::kNumber) return Mismatch(n, t);
    std::string_view s = n.text;
    if (s.find_first_of(".eEi") != std::string_view::npos) {
      return Err(n, "expected an integer (" + TypeName(t) + "), found " + DescribeNode(n));
    }
    bool neg = s.front() == '-';
    if (neg) s.remove_prefix(1);
    uint64_t mag = 0;
    bool overflow = false;
    for (char c : s) {
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (mag > (std::numeric_limits<uint64_t>::max() - d) / 10) {
        overflow = true;
        break;
      }
      mag = mag * 10 + d;
    }
    int bits = 0;
    bool is_signed = false;
    switch (t.kind) {
      case TypeKind::kS8: bits = 8, is_signed = true; break;
      case TypeKind::kS16: bits = 16, is_signed = true; break;
      case TypeKind::kS32: bits = 32, is_signed = true; break;
      case TypeKind::kS64: bits = 64, is_signed = true; break;
      case TypeKind::kU8: bits = 8; break;
      case TypeKind::kU16: bits = 16; break;
      case TypeKind::kU32: bits = 32; break;
      default: bits = 64; break;
    }
    uint64_t max = is_signed    ? (uint64_t{1} << (bits - 1)) - 1
                   : bits == 64 ? std::numeric_limits<uint64_t>::max()
                                : (uint64_t{1} << bits) - 1;
    uint64_t limit = neg ? (is_signed ? max + 1 : 0) : max;
    if (overflow || mag > limit) {
      return Err(n, "number " + n.text + " out of range for " + TypeKindName(t.kind));
    }
    out->kind = t.kind;
    if (is_signed) {
      out->s = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
    } else {
      out->u = mag;
    }
    return Status::Ok();
  }

  Status Float(const Node& n, const ValueType& t, Val* out) {
    double d = 0;
    float f = 0;
    bool is32 = t.kind == TypeKind::kF32;
    if (n.kind == Node::kLabel && !n.escaped && !n.has_payload &&
        (n.text == "nan" || n.text == "inf")) {
      d = n.text == "nan" ? std::numeric_limits<double>::quiet_NaN()
                          : std::numeric_limits<double>::infinity();
      f = static_cast<float>(d);
    } else if (n.kind == Node::kNumber && n.text == "-inf") {
      d = -std::numeric_limits<double>::infinity();
      f = static_cast<float>(d);
    } else if (n.kind == Node::kNumber) {
      const char* b = n.text.data();
      const char* e = b + n.text.size();
      std::from_chars_result r = is32 ? std::from_chars(b, e, f, std::chars_format::general)
                                      : std::from_chars(b, e, d, std::chars_format::general);
      if (r.ec == std::errc::result_out_of_range) {
        // Too large rounds to infinity, too small to zero (keeping the sign).
        bool neg = n.text.front() == '-';
        bool huge = DecimalExponent(n.text) > 0;
        d = huge ? std::numeric_limits<double>::infinity() : 0.0;
        if (neg) d = -d;
        f = static_cast<float>(d);
      } else if (r.ec != std::errc() || r.ptr != e) {
        return Err(n, "invalid number " + n.text);
      }
    } else {
      return Mismatch(n, t);
    }
    *out = is32 ? Val::F32(f) : Val::F64(d);
    return Status::Ok();
  }

  // The power of ten of the leading nonzero digit of a decimal literal.
  static long DecimalExponent(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    size_t epos = s.find_first_of("eE");
    long exp = 0;
    if (epos != std::string_view::npos) {
      std::string_view es = s.substr(epos + 1);
      bool eneg = !es.empty() && es.front() == '-';
      if (!es.empty() && (es.front() == '-' || es.front() == '+')) es.remove_prefix(1);
      for (char c : es) {
        if (exp < 100000) exp = exp * 10 + (c - '0');
      }
      if (eneg) exp = -exp;
      s = s.substr(0, epos);
    }
    size_t dot = s.find('.');
    std::string_view ip = s.substr(0, dot);
    std::string_view fp = dot == std::string_view::npos ? "" : s.substr(dot + 1);
    size_t lead = ip.find_first_not_of('0');
    if (lead != std::string_view::npos) return exp + static_cast<long>(ip.size() - lead) - 1;
    size_t flead = fp.find_first_not_of('0');
    if (flead == std::string_view::npos) return std::numeric_limits<long>::min() / 2;
    return exp - static_cast<long>(flead) - 1;
  }

  Status Record(const Node& n, const ValueType& t, Val* out) {
    if (n.kind != Node::kRecord) return Mismatch(n, t);
    std::vector<Val> items(t.fields.size());
    std::vector<bool> seen(t.fields.size(), false);
    for (const Node& f : n.kids) {
      size_t i = 0;
      while (i < t.fields.size() && t.fields[i].name != f.text) ++i;
      if (i == t.fields.size()) return Err(f, "unknown field `" + f.text + "` of " + TypeName(t));
      if (seen[i]) return Err(f, "duplicate field `" + f.text + "`");
      seen[i] = true;
      ARCELLA_RETURN_IF_ERROR(Convert(f.kids[0], *t.fields[i].type, &items[i]));
    }
    for (size_t i = 0; i < t.fields.size(); ++i) {
      if (seen[i]) continue;
      if (t.fields[i].type->kind != TypeKind::kOption) {
        return Err(n, "missing field `" + t.fields[i].name + "` (" + TypeName(*t.fields[i].type) +
                          ")");
      }
      items[i] = Val::None();
    }
    *out = Val::Record(std::move(items));
    return Status::Ok();
  }

  Status Flags(const Node& n, const ValueType& t, Val* out) {
    if (n.kind != Node::kFlags) return Mismatch(n, t);
    uint64_t bits = 0;
    for (const Node& l : n.kids) {
      size_t i = 0;
      while (i < t.labels.size() && t.labels[i] != l.text) ++i;
      if (i == t.labels.size()) return Err(l, "unknown flag `" + l.text + "` of " + TypeName(t));
      if (i >= 64) return Err(l, "flag index past 64");
      if (bits & (uint64_t{1} << i)) return Err(l, "duplicate flag `" + l.text + "`");
      bits |= uint64_t{1} << i;
    }
    *out = Val::Flags(bits);
    return Status::Ok();
  }

  Status Variant(const Node& n, const ValueType& t, Val* out) {
    if (n.kind != Node::kLabel) return Mismatch(n, t);
    int i = -1;
    if (n.escaped || !IsWaveKeyword(n.text)) {
      for (size_t k = 0; k < t.cases.size(); ++k) {
        if (t.cases[k].name == n.text) i = static_cast<int>(k);
      }
    }
    if (i < 0) return UnknownCase(n, t);
    const Case& c = t.cases[static_cast<size_t>(i)];
    return Payload(n, c.type, "case `" + c.name + "`", static_cast<uint32_t>(i), out);
  }

  // Case `index` of a variant/result with payload type `pt` (null: none).
  Status Payload(const Node& n, const TypeRef& pt, const std::string& what, uint32_t index,
                 Val* out) {
    out->kind = TypeKind::kVariant;
    out->index = index;
    out->items.clear();
    if (!pt) {
      if (n.has_payload) return Err(n, "unexpected payload for " + what);
      return Status::Ok();
    }
    if (!n.has_payload) {
      return Err(n, "missing payload (" + TypeName(*pt) + ") for " + what);
    }
    out->items.emplace_back();
    return Convert(n.kids[0], *pt, &out->items[0]);
  }

  Status Option(const Node& n, const ValueType& t, Val* out) {
    if (n.kind == Node::kLabel && !n.escaped && (n.text == "none" || n.text == "some")) {
      if (n.text == "none") {
        *out = Val::None();
        return Status::Ok();
      }
      Val v;
      ARCELLA_RETURN_IF_ERROR(Convert(n.kids[0], *t.elem, &v));
      *out = Val::Some(std::move(v));
      return Status::Ok();
    }
    if (IsOptionOrResult(t.elem)) return Mismatch(n, t);  // no flat form
    Val v;
    ARCELLA_RETURN_IF_ERROR(Convert(n, *t.elem, &v));
    *out = Val::Some(std::move(v));
    return Status::Ok();
  }

  Status ResultValue(const Node& n, const ValueType& t, Val* out) {
    if (n.kind == Node::kLabel && !n.escaped && (n.text == "ok" || n.text == "err")) {
      bool ok = n.text == "ok";
      ARCELLA_RETURN_IF_ERROR(Payload(n, ok ? t.ok : t.err, "`" + n.text + "`", ok ? 0 : 1, out));
      out->kind = TypeKind::kResult;
      return Status::Ok();
    }
    if (!t.ok || IsOptionOrResult(t.ok)) return Mismatch(n, t);  // no flat form
    Val v;
    ARCELLA_RETURN_IF_ERROR(Convert(n, *t.ok, &v));
    *out = Val::ResultOk({std::move(v)});
    return Status::Ok();
  }

  std::string_view src_;
  bool handles_ = false;
};

Status ExpectEnd(SyntaxParser& p) {
  if (p.tok().kind != WaveTok::kEnd) return p.Unexpected("end of input");
  return Status::Ok();
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '%' || c == ':' || c == '/' || c == '.' || c == '@' || c == '[' || c == ']' ||
         c == '+';
}

}  // namespace

Result<Val> ParseWave(std::string_view text, const ValueType& type) {
  return ParseWave(text, type, WaveOptions{});
}

Result<Val> ParseWave(std::string_view text, const ValueType& type, const WaveOptions& options) {
  if (!options.handles && (type.kind == TypeKind::kOwn || type.kind == TypeKind::kBorrow)) {
    return WaveError(text, 0, text.size(),
                     "resource handles (" + TypeToString(type) + ") have no WAVE form");
  }
  SyntaxParser p(text);
  ARCELLA_RETURN_IF_ERROR(p.Start());
  Node n;
  ARCELLA_RETURN_IF_ERROR(p.Value(&n, 0));
  ARCELLA_RETURN_IF_ERROR(ExpectEnd(p));
  Val v;
  ARCELLA_RETURN_IF_ERROR(Typer(text, options.handles).Convert(n, type, &v));
  return v;
}

Result<std::vector<Val>> ParseWaveArgs(const FuncType& f, std::span<const std::string> texts,
                                       const WaveOptions& options) {
  if (texts.size() != f.params.size())
    return Status::InvalidArgument("takes " + std::to_string(f.params.size()) +
                                   " argument(s), got " + std::to_string(texts.size()));
  std::vector<Val> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto v = ParseWave(texts[i], *f.params[i].type, options);
    if (!v.ok())
      return Status::InvalidArgument("argument " + std::to_string(i + 1) + " (" + f.params[i].name +
                                     "): " + v.status().message());
    out.push_back(std::move(*v));
  }
  return out;
}

Result<WaveCall> ParseWaveCall(std::string_view text,
                               const std::function<const FuncType*(std::string_view)>& lookup) {
  WaveLexer pre(text);
  size_t nb = pre.SkipSpace();
  size_t ne = nb;
  while (ne < text.size() && IsNameChar(text[ne])) ++ne;
  if (ne == nb) return WaveError(text, nb, nb, "expected a function name");
  WaveCall call;
  call.name.assign(text.substr(nb, ne - nb));
  std::string key = call.name;
  if (key.size() > 1 && key[0] == '%' && key.find_first_of(":/.@[]%", 1) == std::string::npos) {
    key.erase(0, 1);
  }
  const FuncType* f = lookup(key);
  if (f == nullptr) return Status::NotFound("unknown function `" + call.name + "`");

  SyntaxParser p(text, ne);
  ARCELLA_RETURN_IF_ERROR(p.Start());
  if (p.tok().kind != WaveTok::kParenOpen) return p.Unexpected("`(` after the function name");
  ARCELLA_RETURN_IF_ERROR(p.Advance());
  // Arguments, each optionally named as PrintWaveCall writes them
  // (`f(a: 1, b: "x")`); names must follow the parameter order.
  Node args;
  args.kind = Node::kTuple;
  std::vector<Node> names;  // kLabel nodes; empty text when unnamed
  while (p.tok().kind != WaveTok::kParenClose) {
    Node name;
    if (p.tok().kind == WaveTok::kLabel && p.NextIsColon()) {
      name.kind = Node::kLabel;
      name.begin = p.tok().begin;
      name.end = p.tok().end;
      name.text = p.tok().text;
      ARCELLA_RETURN_IF_ERROR(p.Advance());
      ARCELLA_RETURN_IF_ERROR(p.Advance());  // `:`
    }
    names.push_back(std::move(name));
    args.kids.emplace_back();
    ARCELLA_RETURN_IF_ERROR(p.Value(&args.kids.back(), 1));
    if (p.tok().kind == WaveTok::kComma) {
      ARCELLA_RETURN_IF_ERROR(p.Advance());
    } else if (p.tok().kind != WaveTok::kParenClose) {
      return p.Unexpected("`,` or `)`");
    }
  }
  size_t close = p.tok().begin;  // the `)`
  ARCELLA_RETURN_IF_ERROR(p.Advance());
  ARCELLA_RETURN_IF_ERROR(ExpectEnd(p));
  if (args.kids.size() > f->params.size()) {
    const Node& extra = args.kids[f->params.size()];
    return WaveError(text, extra.begin, args.kids.back().end,
                     "too many arguments: `" + call.name + "` takes " +
                         std::to_string(f->params.size()));
  }
  Typer typer(text);
  call.args.resize(f->params.size());
  for (size_t i = 0; i < f->params.size(); ++i) {
    const Field& param = f->params[i];
    if (i < args.kids.size() && !names[i].text.empty() && names[i].text != param.name) {
      return WaveError(text, names[i].begin, names[i].end,
                       "argument `" + names[i].text + "` given where parameter `" + param.name +
                           "` is expected (arguments follow the parameter order)");
    }
    if (i < args.kids.size()) {
      ARCELLA_RETURN_IF_ERROR(typer.Convert(args.kids[i], *param.type, &call.args[i]));
    } else if (param.type->kind == TypeKind::kOption) {
      call.args[i] = Val::None();
    } else {
      return WaveError(text, close, close + 1,
                       "missing argument `" + param.name + "` (" + TypeName(*param.type) + ")");
    }
  }
  return call;
}

}  // namespace arcella::component
