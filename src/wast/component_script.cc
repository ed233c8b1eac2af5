#include "wast/component_script.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

namespace arcella::wast {
namespace {

using component::TypeKind;
using component::Val;

// ------------------------------------------------------------ s-expressions

struct Node {
  enum Type { kList, kAtom, kString } type = kAtom;
  std::string text;  // kAtom: as written; kString: the decoded bytes
  std::vector<Node> items;
  SourcePos pos;
  size_t begin = 0, end = 0;  // source offsets; for a list '(' .. one past ')'

  bool IsAtom(std::string_view a) const { return type == kAtom && text == a; }
  bool IsId() const { return type == kAtom && text.size() > 1 && text[0] == '$'; }
  // The head keyword of a list, or "".
  std::string_view Head() const {
    if (type != kList || items.empty() || items[0].type != kAtom) return {};
    return items[0].text;
  }
};

class Reader {
 public:
  Reader(std::string_view src, const std::string& file) : src_(src), file_(file) {}

  Result<std::vector<Node>> ReadAll() {
    std::vector<Node> top;
    for (;;) {
      Status s = SkipSpace();
      if (!s.ok()) return s;
      if (i_ >= src_.size()) return top;
      Node n;
      s = ReadNode(0, &n);
      if (!s.ok()) return s;
      if (n.type != Node::kList) return Error(n.pos, "expected '(' at the top level");
      top.push_back(std::move(n));
    }
  }

  Status Error(SourcePos p, const std::string& what) const {
    return Status::InvalidArgument(file_ + ":" + std::to_string(p.line) + ":" +
                                   std::to_string(p.column) + ": " + what);
  }

 private:
  SourcePos Here() const { return {line_, static_cast<int>(i_ - line_start_) + 1}; }
  void Advance() {
    if (src_[i_] == '\n') {
      ++line_;
      line_start_ = i_ + 1;
    }
    ++i_;
  }
  bool At(std::string_view s) const { return src_.substr(i_, s.size()) == s; }

  Status SkipSpace() {
    while (i_ < src_.size()) {
      char c = src_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (At(";;")) {
        while (i_ < src_.size() && src_[i_] != '\n') Advance();
      } else if (At("(;")) {
        SourcePos start = Here();
        int depth = 0;
        do {
          if (i_ >= src_.size()) return Error(start, "unterminated block comment");
          if (At("(;")) {
            ++depth;
            Advance();
            Advance();
          } else if (At(";)")) {
            --depth;
            Advance();
            Advance();
          } else {
            Advance();
          }
        } while (depth > 0);
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status ReadNode(int depth, Node* out) {
    out->pos = Here();
    out->begin = i_;
    char c = src_[i_];
    if (c == ')') return Error(out->pos, "unexpected ')'");
    if (c == '(') {
      if (depth >= kMaxScriptDepth) {
        return Error(out->pos, "nesting deeper than " + std::to_string(kMaxScriptDepth));
      }
      out->type = Node::kList;
      Advance();
      for (;;) {
        Status s = SkipSpace();
        if (!s.ok()) return s;
        if (i_ >= src_.size()) return Error(out->pos, "unclosed '('");
        if (src_[i_] == ')') {
          Advance();
          out->end = i_;
          return Status::Ok();
        }
        Node child;
        s = ReadNode(depth + 1, &child);
        if (!s.ok()) return s;
        out->items.push_back(std::move(child));
      }
    }
    if (c == '"') return ReadString(out);
    out->type = Node::kAtom;
    while (i_ < src_.size()) {
      char d = src_[i_];
      if (d == ' ' || d == '\t' || d == '\n' || d == '\r' || d == '(' || d == ')' || d == '"' ||
          At(";;"))
        break;
      Advance();
    }
    out->text = std::string(src_.substr(out->begin, i_ - out->begin));
    out->end = i_;
    return Status::Ok();
  }

  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Status ReadString(Node* out) {
    out->type = Node::kString;
    Advance();  // '"'
    std::string& s = out->text;
    for (;;) {
      if (i_ >= src_.size() || src_[i_] == '\n') return Error(out->pos, "unterminated string");
      char c = src_[i_];
      if (c == '"') {
        Advance();
        out->end = i_;
        return Status::Ok();
      }
      if (c != '\\') {
        s.push_back(c);
        Advance();
        continue;
      }
      SourcePos esc = Here();
      Advance();
      if (i_ >= src_.size()) return Error(esc, "unterminated string");
      char e = src_[i_];
      Advance();
      switch (e) {
        case 'n': s.push_back('\n'); break;
        case 't': s.push_back('\t'); break;
        case 'r': s.push_back('\r'); break;
        case '"': s.push_back('"'); break;
        case '\'': s.push_back('\''); break;
        case '\\': s.push_back('\\'); break;
        case 'u': {
          if (i_ >= src_.size() || src_[i_] != '{') return Error(esc, "bad \\u escape");
          Advance();
          uint32_t cp = 0;
          int digits = 0;
          while (i_ < src_.size() && HexDigit(src_[i_]) >= 0) {
            cp = cp * 16 + HexDigit(src_[i_]);
            if (++digits > 6) return Error(esc, "bad \\u escape");
            Advance();
          }
          if (digits == 0 || i_ >= src_.size() || src_[i_] != '}' || cp > 0x10FFFF ||
              (cp >= 0xD800 && cp < 0xE000))
            return Error(esc, "bad \\u escape");
          Advance();
          AppendUtf8(cp, &s);
          break;
        }
        default: {
          int hi = HexDigit(e);
          int lo = i_ < src_.size() ? HexDigit(src_[i_]) : -1;
          if (hi < 0 || lo < 0) return Error(esc, "bad string escape");
          Advance();
          s.push_back(static_cast<char>(hi * 16 + lo));
        }
      }
    }
  }

  static void AppendUtf8(uint32_t cp, std::string* s) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view src_;
  const std::string& file_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

// ------------------------------------------------------------ values

// Decodes one UTF-8 scalar value spanning all of `s`; false if it is not one.
bool DecodeSingleChar(const std::string& s, char32_t* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  if (n == 0) return false;
  uint32_t cp;
  size_t len;
  if (p[0] < 0x80) {
    cp = p[0], len = 1;
  } else if ((p[0] & 0xE0) == 0xC0) {
    cp = p[0] & 0x1F, len = 2;
  } else if ((p[0] & 0xF0) == 0xE0) {
    cp = p[0] & 0x0F, len = 3;
  } else if ((p[0] & 0xF8) == 0xF0) {
    cp = p[0] & 0x07, len = 4;
  } else {
    return false;
  }
  if (n != len) return false;
  for (size_t k = 1; k < len; ++k) {
    if ((p[k] & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (p[k] & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return false;
  *out = cp;
  return true;
}

struct IntKind {
  std::string_view keyword;
  TypeKind kind;
  bool is_signed;
  int bits;
};
constexpr IntKind kIntKinds[] = {
    {"s8.const", TypeKind::kS8, true, 8},    {"u8.const", TypeKind::kU8, false, 8},
    {"s16.const", TypeKind::kS16, true, 16}, {"u16.const", TypeKind::kU16, false, 16},
    {"s32.const", TypeKind::kS32, true, 32}, {"u32.const", TypeKind::kU32, false, 32},
    {"s64.const", TypeKind::kS64, true, 64}, {"u64.const", TypeKind::kU64, false, 64},
};

// Parses a wat-style integer (sign, decimal or 0x hex, '_' separators) into
// magnitude and sign; false on syntax error or overflow of 64 bits.
bool ParseIntText(std::string_view t, bool* negative, uint64_t* magnitude) {
  *negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    *negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  if (t.empty()) return false;
  uint64_t v = 0;
  bool any = false;
  for (char c : t) {
    if (c == '_') continue;
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return false;
    if (v > (std::numeric_limits<uint64_t>::max() - d) / base) return false;
    v = v * base + d;
    any = true;
  }
  *magnitude = v;
  return any;
}

bool ParseFloatText(std::string_view t, double* out) {
  std::string s;
  for (char c : t)
    if (c != '_') s.push_back(c);
  std::string_view body = s;
  bool neg = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  if (body == "inf") {
    *out = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (body == "nan" || body.substr(0, 4) == "nan:") {
    *out = neg ? -NAN : NAN;
    return true;
  }
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  *out = std::strtod(s.c_str(), &end);
  if (errno == ERANGE && std::isinf(*out)) return false;  // overflows f64
  return end == s.c_str() + s.size();
}

class ValueReader {
 public:
  explicit ValueReader(const Reader& reader) : reader_(reader) {}

  // `n` is a list (kw args...). Inline field values reuse the same path on a
  // synthetic list.
  Status Read(const Node& n, ScriptValue* out) {
    if (n.type != Node::kList || n.Head().empty()) return reader_.Error(n.pos, "expected a value");
    return ReadForm(n.pos, n.items[0].text, n.items, 1, out);
  }

 private:
  Status ReadForm(SourcePos pos, const std::string& kw, const std::vector<Node>& items,
                  size_t first, ScriptValue* out) {
    out->pos = pos;
    size_t nargs = items.size() - first;
    auto arg = [&](size_t k) -> const Node& { return items[first + k]; };
    auto want = [&](size_t count) -> Status {
      if (nargs != count) {
        return reader_.Error(pos, kw + " takes " + std::to_string(count) + " argument" +
                                      (count == 1 ? "" : "s") + ", got " + std::to_string(nargs));
      }
      return Status::Ok();
    };
    for (const IntKind& ik : kIntKinds) {
      if (kw != ik.keyword) continue;
      if (Status s = want(1); !s.ok()) return s;
      bool neg;
      uint64_t mag;
      if (arg(0).type != Node::kAtom || !ParseIntText(arg(0).text, &neg, &mag))
        return reader_.Error(arg(0).pos, "bad integer for " + kw);
      out->val.kind = ik.kind;
      if (ik.is_signed) {
        uint64_t limit = uint64_t{1} << (ik.bits - 1);  // |min|
        if ((neg && mag > limit) || (!neg && mag >= limit))
          return reader_.Error(arg(0).pos, "integer out of range for " + kw);
        out->val.s = neg ? static_cast<int64_t>(0 - mag) : static_cast<int64_t>(mag);
      } else {
        uint64_t max = ik.bits == 64 ? ~uint64_t{0} : (uint64_t{1} << ik.bits) - 1;
        if ((neg && mag != 0) || mag > max)
          return reader_.Error(arg(0).pos, "integer out of range for " + kw);
        out->val.u = mag;
      }
      return Status::Ok();
    }
    if (kw == "f32.const" || kw == "f64.const") {
      if (Status s = want(1); !s.ok()) return s;
      double d;
      if (arg(0).type != Node::kAtom || !ParseFloatText(arg(0).text, &d))
        return reader_.Error(arg(0).pos, "bad float for " + kw);
      if (kw == "f32.const") {
        if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
          return reader_.Error(arg(0).pos, "f32.const out of range");
        out->val.kind = TypeKind::kF32;
        out->val.f32 = static_cast<float>(d);
      } else {
        out->val.kind = TypeKind::kF64;
        out->val.f64 = d;
      }
      return Status::Ok();
    }
    if (kw == "bool.const") {
      if (Status s = want(1); !s.ok()) return s;
      if (!arg(0).IsAtom("true") && !arg(0).IsAtom("false"))
        return reader_.Error(arg(0).pos, "bool.const takes true or false");
      out->val.kind = TypeKind::kBool;
      out->val.b = arg(0).text == "true";
      return Status::Ok();
    }
    if (kw == "char.const" || kw == "str.const") {
      if (Status s = want(1); !s.ok()) return s;
      if (arg(0).type != Node::kString) return reader_.Error(arg(0).pos, kw + " takes a string");
      if (kw == "str.const") {
        out->val.kind = TypeKind::kString;
        out->val.str = arg(0).text;
        return Status::Ok();
      }
      out->val.kind = TypeKind::kChar;
      if (!DecodeSingleChar(arg(0).text, &out->val.c))
        return reader_.Error(arg(0).pos, "char.const takes exactly one Unicode scalar value");
      return Status::Ok();
    }
    if (kw == "list.const" || kw == "tuple.const") {
      out->val.kind = kw == "list.const" ? TypeKind::kList : TypeKind::kTuple;
      return ReadItems(items, first, out);
    }
    if (kw == "record.const") {
      out->val.kind = TypeKind::kRecord;
      for (size_t k = first; k < items.size(); ++k) {
        const Node& f = items[k];
        if (f.Head() != "field" || f.items.size() < 3 || f.items[1].type != Node::kString)
          return reader_.Error(f.pos, "record.const takes (field \"name\" value) items");
        ScriptValue v;
        Status s = f.items[2].type == Node::kList && f.items.size() == 3
                       ? Read(f.items[2], &v)
                       : (f.items[2].type == Node::kAtom
                              ? ReadForm(f.items[2].pos, f.items[2].text, f.items, 3, &v)
                              : reader_.Error(f.items[2].pos, "expected a value"));
        if (!s.ok()) return s;
        out->names.push_back(f.items[1].text);
        out->items.push_back(std::move(v));
      }
      return Status::Ok();
    }
    if (kw == "variant.const") {
      out->val.kind = TypeKind::kVariant;
      if (nargs < 1 || nargs > 2 || arg(0).type != Node::kString)
        return reader_.Error(pos, "variant.const takes \"case\" and an optional value");
      out->name = arg(0).text;
      return ReadItems(items, first + 1, out);
    }
    if (kw == "enum.const") {
      if (Status s = want(1); !s.ok()) return s;
      if (arg(0).type != Node::kString) return reader_.Error(pos, "enum.const takes \"label\"");
      out->val.kind = TypeKind::kEnum;
      out->name = arg(0).text;
      return Status::Ok();
    }
    if (kw == "option.none") {
      if (Status s = want(0); !s.ok()) return s;
      out->val.kind = TypeKind::kOption;
      out->val.index = 0;
      return Status::Ok();
    }
    if (kw == "option.some" || kw == "result.ok" || kw == "result.err") {
      if (kw == "option.some") {
        if (Status s = want(1); !s.ok()) return s;
      } else if (nargs > 1) {
        return reader_.Error(pos, kw + " takes an optional value");
      }
      out->val.kind = kw == "option.some" ? TypeKind::kOption : TypeKind::kResult;
      out->val.index = kw == "result.ok" ? 0 : 1;
      return ReadItems(items, first, out);
    }
    if (kw == "flags.const") {
      out->val.kind = TypeKind::kFlags;
      for (size_t k = 0; k < nargs; ++k) {
        if (arg(k).type != Node::kString)
          return reader_.Error(arg(k).pos, "flags.const takes labels");
        out->names.push_back(arg(k).text);
      }
      return Status::Ok();
    }
    return reader_.Error(pos, "unknown value '" + kw + "'");
  }

  Status ReadItems(const std::vector<Node>& items, size_t first, ScriptValue* out) {
    for (size_t k = first; k < items.size(); ++k) {
      ScriptValue v;
      if (Status s = Read(items[k], &v); !s.ok()) return s;
      out->items.push_back(std::move(v));
    }
    return Status::Ok();
  }

  const Reader& reader_;
};

// ------------------------------------------------------------ commands

class CommandReader {
 public:
  CommandReader(std::string_view src, const Reader& reader) : src_(src), reader_(reader) {}

  Status Component(const Node& n, ScriptComponent* out) {
    out->pos = n.pos;
    size_t k = 1;
    size_t definition_at = 0;
    if (k < n.items.size() && n.items[k].IsAtom("definition")) {
      out->definition = true;
      definition_at = k++;
    }
    if (k < n.items.size() && n.items[k].IsId()) out->id = n.items[k++].text;
    bool binary = k < n.items.size() && n.items[k].IsAtom("binary");
    bool quote = k < n.items.size() && n.items[k].IsAtom("quote");
    if (binary || quote) {
      std::string bytes;
      for (size_t j = k + 1; j < n.items.size(); ++j) {
        if (n.items[j].type != Node::kString)
          return reader_.Error(n.items[j].pos, "expected a string");
        bytes += n.items[j].text;
      }
      if (binary) {
        out->form = ComponentForm::kBinary;
        out->binary.assign(bytes.begin(), bytes.end());
      } else {
        out->form = ComponentForm::kQuote;
        out->text = "(component " + bytes + "\n)";
      }
      return Status::Ok();
    }
    out->form = ComponentForm::kText;
    std::string text(static_cast<size_t>(n.pos.line - 1), '\n');
    text.append(static_cast<size_t>(n.pos.column - 1), ' ');
    size_t base = text.size();
    text.append(src_.substr(n.begin, n.end - n.begin));
    if (out->definition) {
      const Node& d = n.items[definition_at];
      text.replace(base + (d.begin - n.begin), d.end - d.begin, d.end - d.begin, ' ');
    }
    out->text = std::move(text);
    return Status::Ok();
  }

  Status Invoke(const Node& n, ScriptInvoke* out) {
    if (n.Head() != "invoke") return reader_.Error(n.pos, "expected (invoke ...)");
    size_t k = 1;
    if (k < n.items.size() && n.items[k].IsId()) out->instance = n.items[k++].text;
    if (k >= n.items.size() || n.items[k].type != Node::kString)
      return reader_.Error(n.pos, "invoke needs an export name");
    out->name = n.items[k++].text;
    ValueReader values(reader_);
    for (; k < n.items.size(); ++k) {
      ScriptValue v;
      if (Status s = values.Read(n.items[k], &v); !s.ok()) return s;
      out->args.push_back(std::move(v));
    }
    return Status::Ok();
  }

  // The expected-message string at items[k] (optional for assertions).
  static std::string Message(const Node& n, size_t k) {
    return k < n.items.size() && n.items[k].type == Node::kString ? n.items[k].text : "";
  }

  Status Command(const Node& n, ScriptCommand* c) {
    c->pos = n.pos;
    std::string_view head = n.Head();
    if (head == "component") {
      if (n.items.size() >= 2 && n.items[1].IsAtom("instance")) {
        c->kind = CommandKind::kInstance;
        std::vector<std::string> ids;
        for (size_t k = 2; k < n.items.size(); ++k) {
          if (!n.items[k].IsId()) return reader_.Error(n.items[k].pos, "expected $id");
          ids.push_back(n.items[k].text);
        }
        if (ids.empty() || ids.size() > 2)
          return reader_.Error(n.pos, "component instance takes [$instance] $definition");
        c->definition_id = ids.back();
        if (ids.size() == 2) c->instance_id = ids[0];
        return Status::Ok();
      }
      c->kind = CommandKind::kComponent;
      c->has_component = true;
      return Component(n, &c->component);
    }
    if (head == "invoke") {
      c->kind = CommandKind::kInvoke;
      return Invoke(n, &c->invoke);
    }
    if (head == "register") {
      c->kind = CommandKind::kRegister;
      if (n.items.size() < 2 || n.items[1].type != Node::kString)
        return reader_.Error(n.pos, "register takes \"name\" [$instance]");
      c->register_name = n.items[1].text;
      if (n.items.size() > 2 && n.items[2].IsId()) c->instance_id = n.items[2].text;
      return Status::Ok();
    }
    if (head == "assert_return") {
      c->kind = CommandKind::kAssertReturn;
      if (n.items.size() < 2) return reader_.Error(n.pos, "assert_return needs (invoke ...)");
      if (Status s = Invoke(n.items[1], &c->invoke); !s.ok()) return s;
      ValueReader values(reader_);
      for (size_t k = 2; k < n.items.size(); ++k) {
        ScriptValue v;
        if (Status s = values.Read(n.items[k], &v); !s.ok()) return s;
        c->expected.push_back(std::move(v));
      }
      return Status::Ok();
    }
    if (head == "assert_trap" || head == "assert_invalid" || head == "assert_malformed") {
      c->kind = head == "assert_trap"      ? CommandKind::kAssertTrap
                : head == "assert_invalid" ? CommandKind::kAssertInvalid
                                           : CommandKind::kAssertMalformed;
      if (n.items.size() < 2 || n.items[1].type != Node::kList)
        return reader_.Error(n.pos, std::string(head) + " needs a component or an action");
      c->message = Message(n, 2);
      const Node& what = n.items[1];
      if (what.Head() == "component" &&
          !(what.items.size() >= 2 && what.items[1].IsAtom("instance"))) {
        c->has_component = true;
        return Component(what, &c->component);
      }
      if (c->kind != CommandKind::kAssertTrap)
        return reader_.Error(what.pos, std::string(head) + " needs a (component ...)");
      return Invoke(what, &c->invoke);
    }
    return reader_.Error(n.pos, "unknown command '" + std::string(head) + "'");
  }

 private:
  std::string_view src_;
  const Reader& reader_;
};

}  // namespace

const char* CommandKindName(CommandKind k) {
  switch (k) {
    case CommandKind::kComponent: return "component";
    case CommandKind::kInstance: return "component instance";
    case CommandKind::kInvoke: return "invoke";
    case CommandKind::kRegister: return "register";
    case CommandKind::kAssertReturn: return "assert_return";
    case CommandKind::kAssertTrap: return "assert_trap";
    case CommandKind::kAssertInvalid: return "assert_invalid";
    case CommandKind::kAssertMalformed: return "assert_malformed";
  }
  return "?";
}

Result<ComponentScript> ParseComponentScript(std::string_view source, const std::string& file) {
  Reader reader(source, file);
  auto top = reader.ReadAll();
  if (!top.ok()) return top.status();
  ComponentScript script;
  script.file = file;
  CommandReader commands(source, reader);
  for (const Node& n : *top) {
    ScriptCommand c;
    if (Status s = commands.Command(n, &c); !s.ok()) return s;
    script.commands.push_back(std::move(c));
  }
  return script;
}

// ------------------------------------------------------------ Resolve

Result<Val> ScriptValue::Resolve(const component::ValueType& type) const {
  auto err = [&](const std::string& what) {
    return Status::InvalidArgument(std::to_string(pos.line) + ":" + std::to_string(pos.column) +
                                   ": " + what);
  };
  auto mismatch = [&]() {
    return err(std::string("expected a ") + component::TypeKindName(type.kind) + " value, got " +
               component::TypeKindName(val.kind));
  };
  if (val.kind != component::ValKindOf(type)) return mismatch();  // a map takes a list.const
  auto resolve_payload = [&](const component::TypeRef& t, const char* what) -> Result<Val> {
    if (!t) return err(std::string(what) + " has no payload type");
    return items.front().Resolve(*t);
  };
  Val out;
  switch (type.kind) {
    case TypeKind::kMap:  // list.const of (key, value) tuples
    case TypeKind::kList:
    case TypeKind::kTuple: {
      if (type.kind == TypeKind::kTuple && items.size() != type.fields.size())
        return err("tuple of " + std::to_string(type.fields.size()) + " elements, got " +
                   std::to_string(items.size()));
      if (type.kind == TypeKind::kList && type.length != 0 && items.size() != type.length)
        return err("list of " + std::to_string(type.length) + " elements, got " +
                   std::to_string(items.size()));
      std::vector<Val> vs;
      for (size_t k = 0; k < items.size(); ++k) {
        auto v = items[k].Resolve(type.kind == TypeKind::kTuple ? *type.fields[k].type
                                                                : *type.elem);
        if (!v.ok()) return v.status();
        vs.push_back(std::move(*v));
      }
      return type.kind == TypeKind::kTuple ? Val::Tuple(std::move(vs)) : Val::List(std::move(vs));
    }
    case TypeKind::kRecord: {
      if (items.size() != type.fields.size())
        return err("record of " + std::to_string(type.fields.size()) + " fields, got " +
                   std::to_string(items.size()));
      std::vector<Val> vs;
      for (const component::Field& f : type.fields) {
        size_t k = 0;
        while (k < names.size() && names[k] != f.name) ++k;
        if (k == names.size()) return err("record field '" + f.name + "' missing");
        auto v = items[k].Resolve(*f.type);
        if (!v.ok()) return v.status();
        vs.push_back(std::move(*v));
      }
      return Val::Record(std::move(vs));
    }
    case TypeKind::kVariant: {
      for (uint32_t k = 0; k < type.cases.size(); ++k) {
        if (type.cases[k].name != name) continue;
        if (items.empty() != !type.cases[k].type)
          return err("variant case '" + name + "' payload does not match its type");
        if (items.empty()) return Val::Variant(k);
        auto v = resolve_payload(type.cases[k].type, "case");
        if (!v.ok()) return v.status();
        return Val::Variant(k, {std::move(*v)});
      }
      return err("no variant case '" + name + "'");
    }
    case TypeKind::kEnum:
      for (uint32_t k = 0; k < type.labels.size(); ++k)
        if (type.labels[k] == name) return Val::Enum(k);
      return err("no enum case '" + name + "'");
    case TypeKind::kFlags: {
      uint64_t bits = 0;
      for (const std::string& l : names) {
        size_t k = 0;
        while (k < type.labels.size() && type.labels[k] != l) ++k;
        if (k == type.labels.size() || k >= 64) return err("no flag '" + l + "'");
        bits |= uint64_t{1} << k;
      }
      return Val::Flags(bits);
    }
    case TypeKind::kOption: {
      if (val.index == 0) return Val::None();
      auto v = resolve_payload(type.elem, "option");
      if (!v.ok()) return v.status();
      return Val::Some(std::move(*v));
    }
    case TypeKind::kResult: {
      const component::TypeRef& side = val.index == 0 ? type.ok : type.err;
      if (items.empty() != !side) return err("result payload does not match its type");
      std::vector<Val> payload;
      if (!items.empty()) {
        auto v = resolve_payload(side, "result");
        if (!v.ok()) return v.status();
        payload.push_back(std::move(*v));
      }
      return val.index == 0 ? Val::ResultOk(std::move(payload))
                            : Val::ResultErr(std::move(payload));
    }
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return err("handles have no script constants");
    default: out = val; return out;  // scalars
  }
}

}  // namespace arcella::wast
