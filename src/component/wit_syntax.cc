// WIT text to syntax trees (wit_ast.h): a lexer and a recursive-descent
// parser following WIT.md's grammar.
#include <array>

#include "component/wit_ast.h"

namespace arcella::component::wit {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

constexpr std::string_view kKeywords[] = {
    "as",  "async",  "bool",   "borrow",  "char",   "constructor", "enum",    "export",    "f32",
    "f64", "flags",  "from",   "func",    "future", "import",      "include", "interface", "list",
    "map", "option", "own",    "package", "record", "resource",    "result",  "s16",       "s32",
    "s64", "s8",     "static", "stream",  "string", "tuple",       "type",    "u16",       "u32",
    "u64", "u8",     "use",    "variant", "with",   "world"};

bool IsKeyword(std::string_view s) {
  for (auto k : kKeywords) {
    if (k == s) return true;
  }
  return false;
}

struct Token {
  enum Kind : uint8_t { kEnd, kId, kPunct, kArrow, kString, kInt };
  Kind kind = kEnd;
  std::string text;  // id (without %), punctuation character, string contents, digits
  bool escaped = false;
  size_t begin = 0;
};

class Parser {
 public:
  Parser(const std::string& file, std::string_view text) : file_(file), text_(text) {}

  Result<std::vector<Package>> File() {
    ARCELLA_RETURN_IF_ERROR(Advance());
    std::vector<Package> out;
    Package top;
    top.pos = PosAt(tok_.begin);
    bool has_top = false;
    ARCELLA_RETURN_IF_ERROR(SkipGates());
    if (IsWord("package")) {
      Pos p = PosAt(tok_.begin);
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(PackageName(&top));
      top.pos = p;
      if (IsPunct('{')) {  // the file holds only nested packages
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(PackageItems(&top, &out, /*nested=*/true));
        out.insert(out.begin(), std::move(top));
        return Rest(std::move(out));
      }
      ARCELLA_RETURN_IF_ERROR(ExpectPunct(';'));
      has_top = true;
    }
    ARCELLA_RETURN_IF_ERROR(PackageItems(&top, &out, /*nested=*/false));
    if (!has_top && (!top.interfaces.empty() || !top.worlds.empty() || !top.uses.empty())) {
      return ErrorAt(top.pos, "missing `package ns:name;` declaration before the first item");
    }
    if (has_top) out.insert(out.begin(), std::move(top));
    return out;
  }

 private:
  Result<std::vector<Package>> Rest(std::vector<Package> out) {
    Package none;
    ARCELLA_RETURN_IF_ERROR(PackageItems(&none, &out, false));
    if (!none.interfaces.empty() || !none.worlds.empty() || !none.uses.empty()) {
      return ErrorAt(none.pos, "items outside any package");
    }
    return out;
  }

  // ------------------------------------------------------------ lexing
  Pos PosAt(size_t off) const { return Pos{&file_, text_, off}; }
  Status Err(const std::string& what) { return ErrorAt(PosAt(tok_.begin), what); }

  Status SkipSpace() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++pos_;
      } else if (text_.substr(pos_, 2) == "//") {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (text_.substr(pos_, 2) == "/*") {
        size_t start = pos_;
        int depth = 0;
        while (true) {
          if (pos_ >= text_.size()) return ErrorAt(PosAt(start), "unterminated block comment");
          if (text_.substr(pos_, 2) == "/*") {
            ++depth;
            pos_ += 2;
          } else if (text_.substr(pos_, 2) == "*/") {
            pos_ += 2;
            if (--depth == 0) break;
          } else {
            ++pos_;
          }
        }
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status Advance() {
    ARCELLA_RETURN_IF_ERROR(SkipSpace());
    tok_ = Token{};
    tok_.begin = pos_;
    if (pos_ >= text_.size()) return Status::Ok();
    char c = text_[pos_];
    if (c == '%' || IsLower(c) || IsUpper(c)) return Ident();
    if (IsDigit(c)) {
      tok_.kind = Token::kInt;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) tok_.text.push_back(text_[pos_++]);
      return Status::Ok();
    }
    if (c == '-' && text_.substr(pos_, 2) == "->") {
      tok_.kind = Token::kArrow;
      pos_ += 2;
      return Status::Ok();
    }
    if (c == '"') {
      tok_.kind = Token::kString;
      ++pos_;
      while (true) {
        if (pos_ >= text_.size() || text_[pos_] == '\n') {
          return ErrorAt(PosAt(tok_.begin), "unterminated string literal");
        }
        char s = text_[pos_++];
        if (s == '"') break;
        if (s == '\\' && pos_ < text_.size()) s = text_[pos_++];
        tok_.text.push_back(s);
      }
      return Status::Ok();
    }
    static constexpr std::string_view kPunct = "=,:;(){}<>*/.@_";
    if (kPunct.find(c) != std::string_view::npos) {
      tok_.kind = Token::kPunct;
      tok_.text.assign(1, c);
      ++pos_;
      return Status::Ok();
    }
    return Err(std::string("unexpected character `") +
               (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F
                    ? "\\x" + std::to_string(static_cast<unsigned char>(c))
                    : std::string(1, c)) +
               "`");
  }

  Status Ident() {
    tok_.kind = Token::kId;
    if (text_[pos_] == '%') {
      tok_.escaped = true;
      ++pos_;
      if (pos_ >= text_.size() || !(IsLower(text_[pos_]) || IsUpper(text_[pos_]))) {
        return Err("`%` must be followed by an identifier");
      }
    }
    size_t start = pos_;
    while (true) {
      if (pos_ >= text_.size() || !(IsLower(text_[pos_]) || IsUpper(text_[pos_]))) {
        return ErrorAt(PosAt(pos_), "identifier words start with a letter");
      }
      bool lower = IsLower(text_[pos_++]);
      while (pos_ < text_.size() &&
             (IsDigit(text_[pos_]) || (lower ? IsLower(text_[pos_]) : IsUpper(text_[pos_])))) {
        ++pos_;
      }
      if (pos_ < text_.size() && (IsLower(text_[pos_]) || IsUpper(text_[pos_]))) {
        return ErrorAt(PosAt(pos_),
                       "a word of an identifier mixes lower and upper case (use kebab-case)");
      }
      if (pos_ < text_.size() && text_[pos_] == '-' && text_.substr(pos_, 2) != "->") {
        ++pos_;
        continue;
      }
      break;
    }
    tok_.text.assign(text_.substr(start, pos_ - start));
    return Status::Ok();
  }

  // A semver right after `@` (the lexer is positioned on it).
  Status Version(std::string* out, bool skip_space = false) {
    if (!(tok_.kind == Token::kPunct && tok_.text == "@")) return Err("expected `@`");
    if (skip_space) ARCELLA_RETURN_IF_ERROR(SkipSpace());
    size_t start = pos_;
    auto alnum = [&](size_t k) {
      return k < text_.size() &&
             (IsDigit(text_[k]) || IsLower(text_[k]) || IsUpper(text_[k]) || text_[k] == '-');
    };
    // major.minor.patch: three numbers without leading zeros.
    bool ok = true;
    for (int part = 0; part < 3 && ok; ++part) {
      if (part > 0) {
        ok = pos_ < text_.size() && text_[pos_] == '.';
        if (!ok) break;
        ++pos_;
      }
      size_t b = pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_])) ++pos_;
      ok = ok && pos_ > b && (pos_ - b == 1 || text_[b] != '0');
    }
    // -prerelease and +build: dot-separated identifiers (a `.` followed by
    // anything else ends the version, as in `@1.0.0.{name}`).
    while (ok && pos_ < text_.size() && (text_[pos_] == '-' || text_[pos_] == '+')) {
      ++pos_;
      ok = alnum(pos_);
      while (ok) {
        while (alnum(pos_)) ++pos_;
        if (pos_ < text_.size() && text_[pos_] == '.' && alnum(pos_ + 1)) {
          ++pos_;
          continue;
        }
        break;
      }
    }
    if (pos_ > text_.size()) pos_ = text_.size();
    out->assign(text_.substr(start, pos_ - start));
    if (!ok) {
      return ErrorAt(PosAt(start), "invalid version `" + *out + "` (expected major.minor.patch)");
    }
    return Advance();
  }

  // ------------------------------------------------------------ helpers
  bool IsPunct(char c) const {
    return tok_.kind == Token::kPunct && tok_.text.size() == 1 && tok_.text[0] == c;
  }
  bool IsWord(std::string_view w) const {
    return tok_.kind == Token::kId && !tok_.escaped && tok_.text == w;
  }
  std::string Describe() const {
    switch (tok_.kind) {
      case Token::kEnd: return "end of file";
      case Token::kId: return std::string("`") + (tok_.escaped ? "%" : "") + tok_.text + "`";
      case Token::kPunct: return "`" + tok_.text + "`";
      case Token::kArrow: return "`->`";
      case Token::kString: return "a string";
      case Token::kInt: return "`" + tok_.text + "`";
    }
    return "?";
  }
  Status Unexpected(const std::string& expected) {
    return Err("expected " + expected + ", found " + Describe());
  }
  Status ExpectPunct(char c) {
    if (!IsPunct(c)) return Unexpected(std::string("`") + c + "`");
    return Advance();
  }
  Status ExpectWord(std::string_view w) {
    if (!IsWord(w)) return Unexpected("`" + std::string(w) + "`");
    return Advance();
  }
  // An identifier that is not a bare keyword.
  Status Id(std::string* out, const char* what = "an identifier") {
    if (tok_.kind != Token::kId) return Unexpected(what);
    if (!tok_.escaped && IsKeyword(tok_.text)) {
      return Err("`" + tok_.text + "` is a keyword; write `%" + tok_.text +
                 "` to use it as a name");
    }
    *out = tok_.text;
    return Advance();
  }

  Status SkipGates() {
    while (IsPunct('@')) {
      ARCELLA_RETURN_IF_ERROR(Advance());
      std::string gate;
      if (tok_.kind != Token::kId) return Unexpected("a gate name after `@`");
      gate = tok_.text;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('('));
      if (gate == "since" || gate == "deprecated") {
        ARCELLA_RETURN_IF_ERROR(ExpectWord("version"));
        if (!IsPunct('=')) return Unexpected("`=`");
        // The version follows `=`: reuse Version() by treating `=` as `@`.
        tok_.text = "@";
        std::string v;
        ARCELLA_RETURN_IF_ERROR(Version(&v, /*skip_space=*/true));
      } else if (gate == "unstable") {
        ARCELLA_RETURN_IF_ERROR(ExpectWord("feature"));
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('='));
        if (tok_.kind != Token::kId) return Unexpected("a feature name");
        ARCELLA_RETURN_IF_ERROR(Advance());
      } else if (gate == "external-id") {
        if (tok_.kind != Token::kString) return Unexpected("a string");
        ARCELLA_RETURN_IF_ERROR(Advance());
      } else {
        return Err("unknown gate `@" + gate +
                   "` (expected since, unstable, deprecated or external-id)");
      }
      ARCELLA_RETURN_IF_ERROR(ExpectPunct(')'));
    }
    return Status::Ok();
  }

  // ------------------------------------------------------------ packages
  // ns:name[/...]@version (after `package`).
  Status PackageName(Package* p) {
    ARCELLA_RETURN_IF_ERROR(Id(&p->ns, "a package namespace"));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct(':'));
    ARCELLA_RETURN_IF_ERROR(Id(&p->name, "a package name"));
    if (IsPunct(':') || IsPunct('/'))
      return Err("nested namespaces and packages are not supported");
    if (IsPunct('@')) ARCELLA_RETURN_IF_ERROR(Version(&p->version));
    return Status::Ok();
  }

  Status PackageItems(Package* p, std::vector<Package>* nested_out, bool nested) {
    while (true) {
      if (nested && IsPunct('}')) return Advance();
      if (tok_.kind == Token::kEnd) {
        if (nested)
          return Err("unexpected end of file: missing `}` of package " + p->ns + ":" + p->name);
        return Status::Ok();
      }
      ARCELLA_RETURN_IF_ERROR(SkipGates());
      if (IsWord("interface")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        Interface i;
        i.pos = PosAt(tok_.begin);
        ARCELLA_RETURN_IF_ERROR(Id(&i.name));
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
        ARCELLA_RETURN_IF_ERROR(InterfaceItems(&i));
        p->interfaces.push_back(std::move(i));
      } else if (IsWord("world")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        World w;
        w.pos = PosAt(tok_.begin);
        ARCELLA_RETURN_IF_ERROR(Id(&w.name));
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
        ARCELLA_RETURN_IF_ERROR(WorldItems(&w));
        p->worlds.push_back(std::move(w));
      } else if (IsWord("use")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        TopUse u;
        ARCELLA_RETURN_IF_ERROR(Path(&u.path));
        u.as = u.path.iface;
        if (IsWord("as")) {
          ARCELLA_RETURN_IF_ERROR(Advance());
          ARCELLA_RETURN_IF_ERROR(Id(&u.as));
        }
        ARCELLA_RETURN_IF_ERROR(ExpectPunct(';'));
        p->uses.push_back(std::move(u));
      } else if (IsWord("package") && !nested) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        Package n;
        n.pos = PosAt(tok_.begin);
        ARCELLA_RETURN_IF_ERROR(PackageName(&n));
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
        ARCELLA_RETURN_IF_ERROR(PackageItems(&n, nested_out, true));
        nested_out->push_back(std::move(n));
      } else {
        return Unexpected(nested ? "`interface`, `world`, `use` or `}`"
                                 : "`interface`, `world`, `use` or `package`");
      }
    }
  }

  // id | ns:pkg/id[@version]
  Status Path(UsePath* u) {
    u->pos = PosAt(tok_.begin);
    std::string first;
    ARCELLA_RETURN_IF_ERROR(Id(&first, "an interface name"));
    if (!IsPunct(':')) {
      u->iface = std::move(first);
      return Status::Ok();
    }
    u->ns = std::move(first);
    ARCELLA_RETURN_IF_ERROR(Advance());
    ARCELLA_RETURN_IF_ERROR(Id(&u->pkg, "a package name"));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('/'));
    ARCELLA_RETURN_IF_ERROR(Id(&u->iface, "an interface name"));
    if (IsPunct('@')) ARCELLA_RETURN_IF_ERROR(Version(&u->version));
    return Status::Ok();
  }

  // use path.{a, b as c};  (after `use`)
  Status UseItem(Use* u) {
    u->pos = PosAt(tok_.begin);
    ARCELLA_RETURN_IF_ERROR(Path(&u->path));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('.'));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
    do {
      if (IsPunct('}') && !u->names.empty()) break;
      std::string n;
      ARCELLA_RETURN_IF_ERROR(Id(&n, "a type name"));
      std::string as = n;
      if (IsWord("as")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(Id(&as));
      }
      u->names.emplace_back(std::move(n), std::move(as));
      if (!IsPunct(',')) break;
      ARCELLA_RETURN_IF_ERROR(Advance());
    } while (true);
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('}'));
    return ExpectPunct(';');
  }

  // ------------------------------------------------------------ interfaces
  Status InterfaceItems(Interface* i) {
    while (!IsPunct('}')) {
      if (tok_.kind == Token::kEnd) return Err("unexpected end of file: missing `}`");
      ARCELLA_RETURN_IF_ERROR(SkipGates());
      if (IsWord("use")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        Use u;
        ARCELLA_RETURN_IF_ERROR(UseItem(&u));
        i->uses.push_back(std::move(u));
        continue;
      }
      bool is_typedef = false;
      ARCELLA_RETURN_IF_ERROR(MaybeTypeDef(&i->types, &is_typedef));
      if (is_typedef) continue;
      Func f;
      ARCELLA_RETURN_IF_ERROR(FuncItem(&f));
      i->funcs.push_back(std::move(f));
    }
    return Advance();
  }

  // name: func(...) [-> T];
  Status FuncItem(Func* f) {
    f->pos = PosAt(tok_.begin);
    ARCELLA_RETURN_IF_ERROR(Id(&f->name, "a type definition or `name: func(...)`"));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct(':'));
    ARCELLA_RETURN_IF_ERROR(FuncType(f));
    return ExpectPunct(';');
  }

  // [async] func(params) [-> T]
  Status FuncType(Func* f) {
    if (IsWord("async")) return Err("async functions are not supported yet (WASI 0.3)");
    ARCELLA_RETURN_IF_ERROR(ExpectWord("func"));
    return Signature(f, /*allow_result=*/true);
  }

  Status Signature(Func* f, bool allow_result) {
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('('));
    while (!IsPunct(')')) {
      NamedType p;
      p.pos = PosAt(tok_.begin);
      ARCELLA_RETURN_IF_ERROR(Id(&p.name, "a parameter name"));
      ARCELLA_RETURN_IF_ERROR(ExpectPunct(':'));
      ARCELLA_RETURN_IF_ERROR(Ty(&p.type, 0));
      f->params.push_back(std::move(p));
      if (!IsPunct(',')) break;
      ARCELLA_RETURN_IF_ERROR(Advance());
    }
    ARCELLA_RETURN_IF_ERROR(ExpectPunct(')'));
    if (tok_.kind == Token::kArrow && allow_result) {
      ARCELLA_RETURN_IF_ERROR(Advance());
      f->has_result = true;
      if (IsPunct('(')) return Err("named or multiple results are not supported; use one type");
      ARCELLA_RETURN_IF_ERROR(Ty(&f->result, 0));
    }
    return Status::Ok();
  }

  // If the current item is a type definition, parses it into *defs.
  Status MaybeTypeDef(std::vector<TypeDef>* defs, bool* matched) {
    *matched = true;
    TypeDef d;
    d.pos = PosAt(tok_.begin);
    if (IsWord("type")) {
      d.kind = TypeDef::kAlias;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(Id(&d.name));
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('='));
      ARCELLA_RETURN_IF_ERROR(Ty(&d.alias, 0));
      ARCELLA_RETURN_IF_ERROR(ExpectPunct(';'));
    } else if (IsWord("record") || IsWord("variant")) {
      d.kind = IsWord("record") ? TypeDef::kRecord : TypeDef::kVariant;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(Id(&d.name));
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
      while (!IsPunct('}')) {
        NamedType m;
        m.pos = PosAt(tok_.begin);
        ARCELLA_RETURN_IF_ERROR(
            Id(&m.name, d.kind == TypeDef::kRecord ? "a field name" : "a case name"));
        if (d.kind == TypeDef::kRecord) {
          ARCELLA_RETURN_IF_ERROR(ExpectPunct(':'));
          ARCELLA_RETURN_IF_ERROR(Ty(&m.type, 0));
        } else if (IsPunct('(')) {
          ARCELLA_RETURN_IF_ERROR(Advance());
          ARCELLA_RETURN_IF_ERROR(Ty(&m.type, 0));
          ARCELLA_RETURN_IF_ERROR(ExpectPunct(')'));
        } else {
          m.has_type = false;
        }
        d.members.push_back(std::move(m));
        if (!IsPunct(',')) break;
        ARCELLA_RETURN_IF_ERROR(Advance());
      }
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('}'));
      if (d.members.empty()) {
        return ErrorAt(d.pos, std::string(d.kind == TypeDef::kRecord ? "record" : "variant") +
                                  " `" + d.name + "` needs at least one " +
                                  (d.kind == TypeDef::kRecord ? "field" : "case"));
      }
    } else if (IsWord("enum") || IsWord("flags")) {
      d.kind = IsWord("enum") ? TypeDef::kEnum : TypeDef::kFlags;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(Id(&d.name));
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
      while (!IsPunct('}')) {
        std::string l;
        ARCELLA_RETURN_IF_ERROR(Id(&l, "a label"));
        d.labels.push_back(std::move(l));
        if (!IsPunct(',')) break;
        ARCELLA_RETURN_IF_ERROR(Advance());
      }
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('}'));
      if (d.labels.empty() && d.kind == TypeDef::kEnum) {
        return ErrorAt(d.pos, "enum `" + d.name + "` needs at least one case");
      }
    } else if (IsWord("resource")) {
      d.kind = TypeDef::kResource;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(Id(&d.name));
      if (IsPunct(';')) {
        ARCELLA_RETURN_IF_ERROR(Advance());
      } else {
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
        while (!IsPunct('}')) {
          if (tok_.kind == Token::kEnd) return Err("unexpected end of file: missing `}`");
          ARCELLA_RETURN_IF_ERROR(SkipGates());
          Func f;
          f.pos = PosAt(tok_.begin);
          if (IsWord("constructor")) {
            f.kind = Func::kConstructor;
            f.name = d.name;
            ARCELLA_RETURN_IF_ERROR(Advance());
            ARCELLA_RETURN_IF_ERROR(Signature(&f, /*allow_result=*/true));
          } else {
            ARCELLA_RETURN_IF_ERROR(Id(&f.name, "a method, `static` function or `constructor`"));
            ARCELLA_RETURN_IF_ERROR(ExpectPunct(':'));
            f.kind = Func::kMethod;
            if (IsWord("static")) {
              f.kind = Func::kStatic;
              ARCELLA_RETURN_IF_ERROR(Advance());
            }
            ARCELLA_RETURN_IF_ERROR(FuncType(&f));
          }
          ARCELLA_RETURN_IF_ERROR(ExpectPunct(';'));
          d.funcs.push_back(std::move(f));
        }
        ARCELLA_RETURN_IF_ERROR(Advance());
      }
    } else {
      *matched = false;
      return Status::Ok();
    }
    defs->push_back(std::move(d));
    return Status::Ok();
  }

  // ------------------------------------------------------------ types
  Status Ty(Type* t, int depth) {
    if (depth > kMaxDepth)
      return Err("type nested deeper than " + std::to_string(kMaxDepth) + " levels");
    t->pos = PosAt(tok_.begin);
    if (tok_.kind != Token::kId) return Unexpected("a type");
    static constexpr std::array<std::pair<std::string_view, TypeKind>, 13> kPrims = {{
        {"bool", TypeKind::kBool},
        {"s8", TypeKind::kS8},
        {"u8", TypeKind::kU8},
        {"s16", TypeKind::kS16},
        {"u16", TypeKind::kU16},
        {"s32", TypeKind::kS32},
        {"u32", TypeKind::kU32},
        {"s64", TypeKind::kS64},
        {"u64", TypeKind::kU64},
        {"f32", TypeKind::kF32},
        {"f64", TypeKind::kF64},
        {"char", TypeKind::kChar},
        {"string", TypeKind::kString},
    }};
    if (!tok_.escaped) {
      for (const auto& [name, kind] : kPrims) {
        if (tok_.text == name) {
          t->kind = Type::kPrim;
          t->prim = kind;
          return Advance();
        }
      }
      std::string w = tok_.text;
      if (w == "list" || w == "option" || w == "tuple" || w == "borrow" || w == "own") {
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('<'));
        if (w == "borrow" || w == "own") {
          t->kind = w == "borrow" ? Type::kBorrow : Type::kOwn;
          ARCELLA_RETURN_IF_ERROR(Id(&t->name, "a resource name"));
          return ExpectPunct('>');
        }
        t->kind = w == "list" ? Type::kList : w == "option" ? Type::kOption : Type::kTuple;
        do {
          t->args.emplace_back();
          ARCELLA_RETURN_IF_ERROR(Ty(&t->args.back(), depth + 1));
          if (!IsPunct(',')) break;
          ARCELLA_RETURN_IF_ERROR(Advance());
          if (t->kind == Type::kTuple && IsPunct('>')) break;
          if (t->kind == Type::kList) {
            if (tok_.kind != Token::kInt) return Unexpected("a list length");
            if (tok_.text.size() > 9 || tok_.text[0] == '0')
              return Err("invalid list length " + tok_.text);
            t->length = static_cast<uint32_t>(std::stoul(tok_.text));
            ARCELLA_RETURN_IF_ERROR(Advance());
            break;
          }
        } while (t->kind == Type::kTuple);
        return ExpectPunct('>');
      }
      if (w == "map") {  // 🗺️ map<kt, ty>; kt: bool, an integer, char or string
        t->kind = Type::kMap;
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(ExpectPunct('<'));
        t->args.resize(2);
        Pos kpos = PosAt(tok_.begin);
        ARCELLA_RETURN_IF_ERROR(Ty(&t->args[0], depth + 1));
        if (t->args[0].kind != Type::kPrim || !IsMapKey(t->args[0].prim)) {
          return ErrorAt(kpos, "map key type must be bool, an integer type, char or string");
        }
        ARCELLA_RETURN_IF_ERROR(ExpectPunct(','));
        ARCELLA_RETURN_IF_ERROR(Ty(&t->args[1], depth + 1));
        return ExpectPunct('>');
      }
      if (w == "result") {
        t->kind = Type::kResult;
        ARCELLA_RETURN_IF_ERROR(Advance());
        if (!IsPunct('<')) return Status::Ok();
        ARCELLA_RETURN_IF_ERROR(Advance());
        t->args.emplace_back();
        if (IsPunct('_')) {
          t->args.back().kind = Type::kNone;
          ARCELLA_RETURN_IF_ERROR(Advance());
          if (!IsPunct(',')) return Unexpected("`,` after `_`");
        } else {
          ARCELLA_RETURN_IF_ERROR(Ty(&t->args.back(), depth + 1));
        }
        if (IsPunct(',')) {
          ARCELLA_RETURN_IF_ERROR(Advance());
          t->args.emplace_back();
          ARCELLA_RETURN_IF_ERROR(Ty(&t->args.back(), depth + 1));
        }
        return ExpectPunct('>');
      }
      if (w == "future" || w == "stream" || w == "error-context") {
        return Err("`" + w + "` is not supported yet (async, WASI 0.3)");
      }
      if (w == "map") return Err("`map` is not supported");
    }
    t->kind = Type::kNamed;
    return Id(&t->name, "a type");
  }

  // ------------------------------------------------------------ worlds
  Status WorldItems(World* w) {
    while (!IsPunct('}')) {
      if (tok_.kind == Token::kEnd) return Err("unexpected end of file: missing `}`");
      ARCELLA_RETURN_IF_ERROR(SkipGates());
      if (IsWord("use")) {
        ARCELLA_RETURN_IF_ERROR(Advance());
        Use u;
        ARCELLA_RETURN_IF_ERROR(UseItem(&u));
        w->uses.push_back(std::move(u));
        continue;
      }
      WorldItem item;
      item.pos = PosAt(tok_.begin);
      if (IsWord("include")) {
        item.kind = WorldItem::kInclude;
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(Path(&item.path));
        if (IsWord("with")) {
          ARCELLA_RETURN_IF_ERROR(Advance());
          ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
          while (!IsPunct('}')) {
            std::string a, b;
            ARCELLA_RETURN_IF_ERROR(Id(&a));
            ARCELLA_RETURN_IF_ERROR(ExpectWord("as"));
            ARCELLA_RETURN_IF_ERROR(Id(&b));
            item.renames.emplace_back(std::move(a), std::move(b));
            if (!IsPunct(',')) break;
            ARCELLA_RETURN_IF_ERROR(Advance());
          }
          ARCELLA_RETURN_IF_ERROR(ExpectPunct('}'));
        } else {
          ARCELLA_RETURN_IF_ERROR(ExpectPunct(';'));
        }
        w->items.push_back(std::move(item));
        continue;
      }
      if (IsWord("import") || IsWord("export")) {
        item.is_import = IsWord("import");
        ARCELLA_RETURN_IF_ERROR(Advance());
        ARCELLA_RETURN_IF_ERROR(ExternItem(&item));
        w->items.push_back(std::move(item));
        continue;
      }
      bool is_typedef = false;
      ARCELLA_RETURN_IF_ERROR(MaybeTypeDef(&w->types, &is_typedef));
      if (!is_typedef)
        return Unexpected("`import`, `export`, `include`, `use` or a type definition");
    }
    return Advance();
  }

  // After import/export: `path;` | `name: func...;` | `name: interface {...}` | `name: path;`
  Status ExternItem(WorldItem* item) {
    Pos start = PosAt(tok_.begin);
    std::string first;
    ARCELLA_RETURN_IF_ERROR(Id(&first, "a name or an interface path"));
    if (!IsPunct(':')) {  // `import iface;`
      item->kind = WorldItem::kInterfacePath;
      item->path.iface = std::move(first);
      item->path.pos = start;
      return ExpectPunct(';');
    }
    ARCELLA_RETURN_IF_ERROR(Advance());  // ':'
    if (IsWord("func") || IsWord("async")) {
      item->name = std::move(first);
      item->kind = WorldItem::kFunc;
      item->func.name = item->name;
      item->func.pos = item->pos;
      ARCELLA_RETURN_IF_ERROR(FuncType(&item->func));
      return ExpectPunct(';');
    }
    if (IsWord("interface")) {
      item->name = std::move(first);
      item->kind = WorldItem::kInlineInterface;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(ExpectPunct('{'));
      item->inline_iface.pos = item->pos;
      return InterfaceItems(&item->inline_iface);
    }
    item->kind = WorldItem::kInterfacePath;
    Pos second_pos = PosAt(tok_.begin);
    std::string second;
    ARCELLA_RETURN_IF_ERROR(Id(&second, "`func`, `interface` or an interface path"));
    if (IsPunct('/')) {  // `import ns:pkg/iface[@v];`
      item->path.ns = std::move(first);
      item->path.pkg = std::move(second);
      item->path.pos = start;
      ARCELLA_RETURN_IF_ERROR(Advance());
      ARCELLA_RETURN_IF_ERROR(Id(&item->path.iface, "an interface name"));
      if (IsPunct('@')) ARCELLA_RETURN_IF_ERROR(Version(&item->path.version));
      return ExpectPunct(';');
    }
    item->name = std::move(first);  // `import name: iface;` or `import name: ns:pkg/iface;`
    item->path.pos = second_pos;
    if (!IsPunct(':')) {
      item->path.iface = std::move(second);
      return ExpectPunct(';');
    }
    item->path.ns = std::move(second);
    ARCELLA_RETURN_IF_ERROR(Advance());
    ARCELLA_RETURN_IF_ERROR(Id(&item->path.pkg, "a package name"));
    ARCELLA_RETURN_IF_ERROR(ExpectPunct('/'));
    ARCELLA_RETURN_IF_ERROR(Id(&item->path.iface, "an interface name"));
    if (IsPunct('@')) ARCELLA_RETURN_IF_ERROR(Version(&item->path.version));
    return ExpectPunct(';');
  }

  static constexpr int kMaxDepth = 100;
  const std::string& file_;
  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
};

}  // namespace

Status ErrorAt(const Pos& p, const std::string& what) {
  size_t line = 1;
  size_t col = 1;
  for (size_t i = 0; i < p.offset && i < p.text.size(); ++i) {
    if (p.text[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(p.text[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return Status::InvalidArgument((p.file ? *p.file : std::string("<wit>")) + ":" +
                                 std::to_string(line) + ":" + std::to_string(col) + ": " + what);
}

std::string UsePath::ToString() const {
  if (ns.empty()) return iface;
  return ns + ":" + pkg + "/" + iface + (version.empty() ? "" : "@" + version);
}

Result<std::vector<Package>> ParseFile(const std::string& file, std::string_view text) {
  return Parser(file, text).File();
}

}  // namespace arcella::component::wit
