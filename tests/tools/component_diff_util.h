// Helpers of the component differential tests (run_component_test.cc): the
// same calls made by Arcella (WAVE text) and by node on the `jco
// transpile`d component (tools/npm/call-component.mjs, JS expressions),
// with values converted between the two forms through the function types of
// the fixture's WIT, so both results can be compared as Vals.
//
// JS forms follow jco's bindings: s64/u64 as BigInt, records and flags as
// objects with camel-case keys, variants as {tag, val}, enums as their case
// name, option<T> as T or undefined (not nested), result<T, E> arguments as
// {tag, val} and results returned (ok) or thrown (err, "throws PAYLOAD"),
// lists of numbers as typed arrays, other lists and tuples as arrays.
// call-component.mjs prints results in its own notation (show()): BigInt
// `7n`, strings JSON-quoted, `Uint16Array[1, 2]`, `{k: v}`, `undefined`.
#pragma once

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"

namespace arcella::tools::component_diff {

namespace cm = arcella::component;

// "echo-u8" -> "echoU8".
inline std::string Camel(std::string_view kebab) {
  std::string out;
  bool up = false;
  for (char c : kebab) {
    if (c == '-') {
      up = true;
    } else {
      out += up && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      up = false;
    }
  }
  return out;
}

inline std::string JsString(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

inline std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

inline std::string JsNumber(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  snprintf(buf, sizeof buf, "%.17g", d);
  return buf;
}

// The typed array jco uses for a list of `elem`, or nullptr.
inline const char* TypedArray(cm::TypeKind elem) {
  switch (elem) {
    case cm::TypeKind::kU8: return "Uint8Array";
    case cm::TypeKind::kS8: return "Int8Array";
    case cm::TypeKind::kU16: return "Uint16Array";
    case cm::TypeKind::kS16: return "Int16Array";
    case cm::TypeKind::kU32: return "Uint32Array";
    case cm::TypeKind::kS32: return "Int32Array";
    case cm::TypeKind::kU64: return "BigUint64Array";
    case cm::TypeKind::kS64: return "BigInt64Array";
    case cm::TypeKind::kF32: return "Float32Array";
    case cm::TypeKind::kF64: return "Float64Array";
    default: return nullptr;
  }
}

// A JS expression for `v` of `type` as an argument of a transpiled export.
inline std::string JsArg(const cm::Val& v, const cm::ValueType& t) {
  using K = cm::TypeKind;
  switch (t.kind) {
    case K::kBool: return v.b ? "true" : "false";
    case K::kS8:
    case K::kS16:
    case K::kS32: return std::to_string(v.s);
    case K::kU8:
    case K::kU16:
    case K::kU32: return std::to_string(v.u);
    case K::kS64: return std::to_string(v.s) + "n";
    case K::kU64: return std::to_string(v.u) + "n";
    case K::kF32: return JsNumber(v.f32);
    case K::kF64: return JsNumber(v.f64);
    case K::kChar: return JsString(Utf8(v.c));
    case K::kString: return JsString(v.str);
    case K::kList:
    case K::kTuple: {
      std::string out;
      for (size_t i = 0; i < v.items.size(); ++i)
        out += (i ? ", " : "") +
               JsArg(v.items[i], t.kind == K::kList ? *t.elem : *t.fields[i].type);
      const char* typed = t.kind == K::kList ? TypedArray(t.elem->kind) : nullptr;
      return typed ? std::string("new ") + typed + "([" + out + "])" : "[" + out + "]";
    }
    case K::kRecord: {
      std::string out;
      for (size_t i = 0; i < t.fields.size(); ++i)
        out += (i ? ", " : "") + Camel(t.fields[i].name) + ": " +
               JsArg(v.items[i], *t.fields[i].type);
      return "{" + out + "}";
    }
    case K::kVariant: {
      const cm::Case& c = t.cases[v.index];
      std::string out = "{tag: " + JsString(c.name);
      if (c.type) out += ", val: " + JsArg(v.items[0], *c.type);
      return out + "}";
    }
    case K::kEnum: return JsString(t.labels[v.index]);
    case K::kOption: return v.index == 0 ? "undefined" : JsArg(v.items[0], *t.elem);
    case K::kResult: {
      const cm::TypeRef& side = v.index == 0 ? t.ok : t.err;
      std::string out = std::string("{tag: \"") + (v.index == 0 ? "ok" : "err") + "\"";
      if (side) out += ", val: " + JsArg(v.items[0], *side);
      return out + "}";
    }
    case K::kFlags: {
      std::string out;
      for (size_t i = 0; i < t.labels.size(); ++i)
        out += (i ? ", " : "") + Camel(t.labels[i]) + ": " + ((v.u >> i) & 1 ? "true" : "false");
      return "{" + out + "}";
    }
    default: return "/* no JS form */ undefined";
  }
}

// A parser of call-component.mjs's show() notation, guided by the type.
class JsShowParser {
 public:
  explicit JsShowParser(std::string_view text) : s_(text) {}

  Result<cm::Val> ParseAll(const cm::ValueType& t) {
    cm::Val v;
    if (t.kind == cm::TypeKind::kResult) {
      // ok: the value returned; err: "throws PAYLOAD".
      constexpr std::string_view kThrows = "throws ";
      bool err = s_.substr(0, kThrows.size()) == kThrows;
      if (err) pos_ = kThrows.size();
      const cm::TypeRef& side = err ? t.err : t.ok;
      std::vector<cm::Val> payload;
      if (side) {
        auto p = Value(*side);
        if (!p.ok()) return p.status();
        payload.push_back(std::move(*p));
      } else if (!Word("undefined") && err) {
        return Fail("a payload-less err");
      }
      v = err ? cm::Val::ResultErr(std::move(payload)) : cm::Val::ResultOk(std::move(payload));
    } else {
      auto p = Value(t);
      if (!p.ok()) return p.status();
      v = std::move(*p);
    }
    Space();
    if (pos_ != s_.size()) return Fail("end of text");
    return v;
  }

 private:
  Status Fail(const std::string& what) const {
    return Status::InvalidArgument("JS result `" + std::string(s_) + "`: expected " + what +
                                   " at byte " + std::to_string(pos_));
  }
  void Space() {
    while (pos_ < s_.size() && s_[pos_] == ' ') ++pos_;
  }
  bool Lit(std::string_view w) {
    Space();
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  bool Word(std::string_view w) { return Lit(w); }
  // A number token (digits, sign, dot, exponent, or a word like NaN).
  std::string NumberToken() {
    Space();
    size_t b = pos_;
    while (pos_ < s_.size() && (isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '-' ||
                                s_[pos_] == '+' || s_[pos_] == '.'))
      ++pos_;
    return std::string(s_.substr(b, pos_ - b));
  }
  Result<std::string> String() {
    Space();
    if (pos_ >= s_.size() || s_[pos_] != '"') return Fail("a string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return Fail("an escape");
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          auto hex4 = [&]() -> long {
            if (pos_ + 4 > s_.size()) return -1;
            long v = strtol(std::string(s_.substr(pos_, 4)).c_str(), nullptr, 16);
            pos_ += 4;
            return v;
          };
          long hi = hex4();
          if (hi < 0) return Fail("four hex digits");
          char32_t cp = static_cast<char32_t>(hi);
          if (hi >= 0xD800 && hi < 0xDC00 && s_.substr(pos_, 2) == "\\u") {
            pos_ += 2;
            long lo = hex4();
            cp = static_cast<char32_t>(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00));
          }
          out += Utf8(cp);
          break;
        }
        default: out += e;
      }
    }
    if (pos_ >= s_.size()) return Fail("a closing quote");
    ++pos_;
    return out;
  }
  static char32_t FirstCodePoint(const std::string& s) {
    unsigned char c = s.empty() ? 0 : static_cast<unsigned char>(s[0]);
    int n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (int i = 1; i < n && i < static_cast<int>(s.size()); ++i)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
    return cp;
  }
  // `[a, b]` or `TypedArray[a, b]`: the items, parsed with `each`.
  template <typename F>
  Status Items(F each) {
    Space();
    while (pos_ < s_.size() && isalnum(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    if (!Lit("[")) return Fail("`[`");
    if (Lit("]")) return Status::Ok();
    for (size_t i = 0;; ++i) {
      ARCELLA_RETURN_IF_ERROR(each(i));
      if (Lit("]")) return Status::Ok();
      if (!Lit(",")) return Fail("`,` or `]`");
    }
  }
  // `{key: value, ...}`: each(key) parses the value.
  template <typename F>
  Status Object(F each) {
    if (!Lit("{")) return Fail("`{`");
    if (Lit("}")) return Status::Ok();
    for (;;) {
      Space();
      size_t b = pos_;
      while (pos_ < s_.size() && s_[pos_] != ':') ++pos_;
      std::string key(s_.substr(b, pos_ - b));
      if (!Lit(":")) return Fail("`:`");
      ARCELLA_RETURN_IF_ERROR(each(key));
      if (Lit("}")) return Status::Ok();
      if (!Lit(",")) return Fail("`,` or `}`");
    }
  }

  Result<cm::Val> Value(const cm::ValueType& t) {
    using K = cm::TypeKind;
    switch (t.kind) {
      case K::kBool:
        if (Word("true")) return cm::Val::Bool(true);
        if (Word("false")) return cm::Val::Bool(false);
        return Fail("true or false");
      case K::kS8:
      case K::kS16:
      case K::kS32:
      case K::kS64:
      case K::kU8:
      case K::kU16:
      case K::kU32:
      case K::kU64: {
        std::string n = NumberToken();
        if (!n.empty() && n.back() == 'n') n.pop_back();
        if (n.empty()) return Fail("an integer");
        cm::Val v;
        v.kind = t.kind;
        bool is_signed = t.kind == K::kS8 || t.kind == K::kS16 || t.kind == K::kS32 ||
                         t.kind == K::kS64;
        if (is_signed) v.s = strtoll(n.c_str(), nullptr, 10);
        else v.u = strtoull(n.c_str(), nullptr, 10);
        return v;
      }
      case K::kF32:
      case K::kF64: {
        std::string n = NumberToken();
        double d = n == "NaN"         ? NAN
                   : n == "Infinity"  ? INFINITY
                   : n == "-Infinity" ? -INFINITY
                                      : strtod(n.c_str(), nullptr);
        if (n.empty()) return Fail("a number");
        return t.kind == K::kF32 ? cm::Val::F32(static_cast<float>(d)) : cm::Val::F64(d);
      }
      case K::kChar: {
        auto s = String();
        if (!s.ok()) return s.status();
        return cm::Val::Char(FirstCodePoint(*s));
      }
      case K::kString: {
        auto s = String();
        if (!s.ok()) return s.status();
        return cm::Val::String(std::move(*s));
      }
      case K::kList:
      case K::kTuple: {
        std::vector<cm::Val> items;
        Status st = Items([&](size_t i) -> Status {
          if (t.kind == K::kTuple && i >= t.fields.size()) return Fail("fewer tuple items");
          auto v = Value(t.kind == K::kList ? *t.elem : *t.fields[i].type);
          if (!v.ok()) return v.status();
          items.push_back(std::move(*v));
          return Status::Ok();
        });
        if (!st.ok()) return st;
        if (t.kind == K::kList) return cm::Val::List(std::move(items));
        if (items.size() != t.fields.size()) return Fail("more tuple items");
        return cm::Val::Tuple(std::move(items));
      }
      case K::kRecord: {
        std::vector<cm::Val> fields(t.fields.size());
        std::vector<bool> seen(t.fields.size());
        Status st = Object([&](const std::string& key) -> Status {
          for (size_t i = 0; i < t.fields.size(); ++i) {
            if (Camel(t.fields[i].name) != key) continue;
            auto v = Value(*t.fields[i].type);
            if (!v.ok()) return v.status();
            fields[i] = std::move(*v);
            seen[i] = true;
            return Status::Ok();
          }
          return Fail("a field of the record, not `" + key + "`");
        });
        if (!st.ok()) return st;
        for (size_t i = 0; i < seen.size(); ++i)
          if (!seen[i]) return Fail("field " + t.fields[i].name);
        return cm::Val::Record(std::move(fields));
      }
      case K::kFlags: {
        uint64_t bits = 0;
        Status st = Object([&](const std::string& key) -> Status {
          bool on = Word("true");
          if (!on && !Word("false")) return Fail("true or false");
          for (size_t i = 0; i < t.labels.size(); ++i)
            if (Camel(t.labels[i]) == key) {
              if (on) bits |= uint64_t{1} << i;
              return Status::Ok();
            }
          return Fail("a flag, not `" + key + "`");
        });
        if (!st.ok()) return st;
        return cm::Val::Flags(bits);
      }
      case K::kEnum: {
        auto s = String();
        if (!s.ok()) return s.status();
        for (size_t i = 0; i < t.labels.size(); ++i)
          if (t.labels[i] == *s) return cm::Val::Enum(static_cast<uint32_t>(i));
        return Fail("an enum case, not " + *s);
      }
      case K::kVariant: {
        std::optional<uint32_t> index;
        std::vector<cm::Val> payload;
        Status st = Object([&](const std::string& key) -> Status {
          if (key == "tag") {
            auto s = String();
            if (!s.ok()) return s.status();
            for (size_t i = 0; i < t.cases.size(); ++i)
              if (t.cases[i].name == *s) index = static_cast<uint32_t>(i);
            return index ? Status::Ok() : Fail("a case, not " + *s);
          }
          if (key != "val" || !index || !t.cases[*index].type) return Fail("tag before val");
          auto v = Value(*t.cases[*index].type);
          if (!v.ok()) return v.status();
          payload.push_back(std::move(*v));
          return Status::Ok();
        });
        if (!st.ok()) return st;
        if (!index) return Fail("a tag");
        return cm::Val::Variant(*index, std::move(payload));
      }
      case K::kOption: {
        if (Word("undefined")) return cm::Val::None();
        auto v = Value(*t.elem);
        if (!v.ok()) return v.status();
        return cm::Val::Some(std::move(*v));
      }
      default:
        return Fail(std::string("a value of a type with a JS form, not ") +
                    cm::TypeKindName(t.kind));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// Parses call-component.mjs's rendering of a result of `type` (for a
// result<T, E> type: the returned value, or "throws PAYLOAD").
inline Result<cm::Val> ParseJsShow(std::string_view text, const cm::ValueType& type) {
  return JsShowParser(text).ParseAll(type);
}

}  // namespace arcella::tools::component_diff
