// Canonical WAVE printing (wave.h).
#include <charconv>
#include <cmath>
#include <cstdio>

#include "component/wave.h"
#include "component/wave_lexer.h"

namespace arcella::component {
namespace {

void PrintLabel(std::string_view name, bool escape_keywords, std::string* out) {
  if (escape_keywords && IsWaveKeyword(name)) out->push_back('%');
  out->append(name);
}

void PrintChar(char32_t c, std::string* out) {
  switch (c) {
    case '\\': out->append("\\\\"); return;
    case '\'': out->append("\\'"); return;
    case '"': out->append("\\\""); return;
    case '\t': out->append("\\t"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    default: break;
  }
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u{%x}", static_cast<unsigned>(c));
    out->append(buf);
    return;
  }
  AppendUtf8(c, out);
}

void PrintString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    // A run of printable ASCII that needs no escape goes out as it is.
    size_t run = i;
    while (run < s.size()) {
      const auto b = static_cast<unsigned char>(s[run]);
      if (b < 0x20 || b > 0x7E || b == '\\' || b == '\'' || b == '"') break;
      ++run;
    }
    if (run > i) {
      out->append(s.data() + i, run - i);
      i = run;
      continue;
    }
    char32_t c = 0;
    if (!DecodeUtf8(s, &i, &c)) {
      c = 0xFFFD;  // not UTF-8 (the value model requires it): shown, not crashed on
      ++i;
    }
    PrintChar(c, out);
  }
  out->push_back('"');
}

template <typename F>
void PrintFloat(F v, std::string* out) {
  if (std::isnan(v)) {
    out->append("nan");
  } else if (std::isinf(v)) {
    out->append(v < 0 ? "-inf" : "inf");
  } else {
    // The shortest digits that read back exactly (scientific form), then
    // written out without an exponent: 3.4028235e+38 -> 340282350000...
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
    size_t e = sci.find('e');
    std::string digits;
    for (char c : sci.substr(0, e)) {
      if (c >= '0' && c <= '9') digits.push_back(c);
    }
    int exp = std::stoi(std::string(sci.substr(e + 1)));
    if (sci.front() == '-') out->push_back('-');
    if (exp >= 0) {
      size_t int_len = static_cast<size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out->append(digits).append(int_len - digits.size(), '0');
      } else {
        out->append(digits, 0, int_len).append(".").append(digits, int_len);
      }
    } else {
      out->append("0.").append(static_cast<size_t>(-exp - 1), '0').append(digits);
    }
  }
}

class Printer {
 public:
  explicit Printer(bool handles = false) : handles_(handles) {}
  void Print(const Val& v, const ValueType& t, int depth) {
    if (depth > kWaveMaxDepth * 4) return Bad("too deep");  // values nest as their types
    if (v.kind != ValKindOf(t) && !Compatible(v, t)) return Bad("mismatch");
    switch (t.kind) {
      case TypeKind::kBool: out_.append(v.b ? "true" : "false"); return;
      case TypeKind::kS8:
      case TypeKind::kS16:
      case TypeKind::kS32:
      case TypeKind::kS64: out_.append(std::to_string(v.s)); return;
      case TypeKind::kU8:
      case TypeKind::kU16:
      case TypeKind::kU32:
      case TypeKind::kU64: out_.append(std::to_string(v.u)); return;
      case TypeKind::kF32: PrintFloat(v.f32, &out_); return;
      case TypeKind::kF64: PrintFloat(v.f64, &out_); return;
      case TypeKind::kChar:
        out_.push_back('\'');
        PrintChar(v.c, &out_);
        out_.push_back('\'');
        return;
      case TypeKind::kString: PrintString(v.str, &out_); return;
      case TypeKind::kMap:  // WAVE has no map syntax: a list of (key, value) tuples
      case TypeKind::kList:
        out_.push_back('[');
        for (size_t i = 0; i < v.items.size(); ++i) {
          if (i) out_.append(", ");
          Print(v.items[i], *t.elem, depth + 1);
        }
        out_.push_back(']');
        return;
      case TypeKind::kTuple:
        if (v.items.size() != t.fields.size()) return Bad("tuple arity");
        out_.push_back('(');
        for (size_t i = 0; i < v.items.size(); ++i) {
          if (i) out_.append(", ");
          Print(v.items[i], *t.fields[i].type, depth + 1);
        }
        out_.push_back(')');
        return;
      case TypeKind::kRecord: return Record(v, t, depth);
      case TypeKind::kFlags: {
        out_.push_back('{');
        bool first = true;
        for (size_t i = 0; i < t.labels.size() && i < 64; ++i) {
          if (!(v.u & (uint64_t{1} << i))) continue;
          if (!first) out_.append(", ");
          first = false;
          PrintLabel(t.labels[i], false, &out_);
        }
        out_.push_back('}');
        return;
      }
      case TypeKind::kEnum:
        if (v.index >= t.labels.size()) return Bad("enum case");
        PrintLabel(t.labels[v.index], true, &out_);
        return;
      case TypeKind::kVariant:
        if (v.index >= t.cases.size()) return Bad("variant case");
        PrintLabel(t.cases[v.index].name, true, &out_);
        Payload(v, t.cases[v.index].type, depth);
        return;
      case TypeKind::kOption:
        if (v.index == 0) {
          out_.append("none");
        } else {
          out_.append("some");
          Payload(v, t.elem, depth);
        }
        return;
      case TypeKind::kResult:
        out_.append(v.index == 0 ? "ok" : "err");
        Payload(v, v.index == 0 ? t.ok : t.err, depth);
        return;
      case TypeKind::kOwn:
      case TypeKind::kBorrow: {
        if (handles_) {
          out_.append(std::to_string(v.u));
          return;
        }
        out_.append(t.kind == TypeKind::kOwn ? "own<" : "borrow<");
        out_.append(t.resource ? t.resource->name : "?");
        out_.append(">(" + std::to_string(v.u) + ")");
        return;
      }
    }
  }

  std::string Take() { return std::move(out_); }

 private:
  // Variants built with Val::Variant for an option/result payload slot.
  static bool Compatible(const Val& v, const ValueType& t) {
    return v.kind == TypeKind::kVariant &&
           (t.kind == TypeKind::kOption || t.kind == TypeKind::kResult);
  }

  void Bad(const char* what) { out_.append("<?").append(what).append(">"); }

  void Payload(const Val& v, const TypeRef& pt, int depth) {
    if (!pt) {
      if (v.has_payload()) Bad("unexpected payload");
      return;
    }
    if (!v.has_payload()) return Bad("missing payload");
    out_.push_back('(');
    Print(v.payload(), *pt, depth + 1);
    out_.push_back(')');
  }

  void Record(const Val& v, const ValueType& t, int depth) {
    if (v.items.size() != t.fields.size()) return Bad("record arity");
    out_.push_back('{');
    bool first = true;
    for (size_t i = 0; i < t.fields.size(); ++i) {
      const Val& f = v.items[i];
      if (t.fields[i].type->kind == TypeKind::kOption && f.index == 0) continue;  // none
      if (!first) out_.append(", ");
      first = false;
      PrintLabel(t.fields[i].name, false, &out_);
      out_.append(": ");
      Print(f, *t.fields[i].type, depth + 1);
    }
    if (first) out_.push_back(':');
    out_.push_back('}');
  }

  std::string out_;
  bool handles_ = false;
};

}  // namespace

std::string PrintWave(const Val& v, const ValueType& type) {
  Printer p;
  p.Print(v, type, 0);
  return p.Take();
}

std::string PrintWave(const Val& v, const ValueType& type, const WaveOptions& options) {
  Printer p(options.handles);
  p.Print(v, type, 0);
  return p.Take();
}

std::vector<std::string> PrintWaveArgs(const FuncType& f, std::span<const Val> args,
                                       const WaveOptions& options) {
  std::vector<std::string> out;
  out.reserve(args.size());
  for (size_t i = 0; i < args.size() && i < f.params.size(); ++i)
    out.push_back(PrintWave(args[i], *f.params[i].type, options));
  return out;
}

std::string PrintWaveCall(std::string_view name, const FuncType& f, std::span<const Val> args) {
  std::string out(name);
  out.push_back('(');
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (i) out.append(", ");
    out.append(f.params[i].name).append(": ");
    out.append(i < args.size() ? PrintWave(args[i], *f.params[i].type) : "<?missing>");
  }
  out.push_back(')');
  return out;
}

}  // namespace arcella::component
