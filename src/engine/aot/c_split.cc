// Streaming split of wasm2c 1.0.32 output (see c_split.h).
//
// The shape relied on, at column 0 (bodies are indented):
//   prelude ... "static bool s_module_initialized = false;"
//   "static u32 func_types[N];"       "static void init_func_types(void) {" ... "}"
//   "static RET w2c_f<i>(...);"       prototypes
//   "static void init_<what>(...) {" ... "}"
//   "static const u8 data_segment_data_w2c_d<i>[] = {" ... "};"
//   "static const wasm_elem_segment_expr_t elem_segment_exprs_<e>[] = {" ... "};"
//   "static RET w2c_f<i>(...) {" ... "}"   function definitions
//   exports, init_instance_import, Z_m_init_module, Z_m_instantiate, Z_m_free.
#include "engine/aot/c_split.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace arcella::engine::aot {
namespace {

constexpr std::string_view kInitFlag = "static bool s_module_initialized = false;";
constexpr std::string_view kStatic = "static ";
constexpr std::string_view kHidden = "ARCELLA_HIDDEN ";
constexpr std::string_view kData = "static const u8 data_segment_data_w2c_d";
constexpr std::string_view kElem = "static const wasm_elem_segment_expr_t elem_segment_exprs_";
constexpr std::string_view kFuncTypes = "static u32 func_types[";

bool Starts(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool Ends(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool IsIdent(char ch) { return isalnum(static_cast<unsigned char>(ch)) || ch == '_'; }

// True if `line` declares or defines a module function "w2c_f<digits>(".
bool NamesFunction(std::string_view line) {
  size_t p = line.find(" w2c_f");
  if (p == std::string_view::npos) return false;
  p += 6;
  size_t d = p;
  while (d < line.size() && isdigit(static_cast<unsigned char>(line[d]))) ++d;
  return d > p && d < line.size() && line[d] == '(';
}

// The <digits> of the first " w2c_f<digits>(" in `line` (NamesFunction true).
uint32_t FunctionIndex(std::string_view line) {
  size_t p = line.find(" w2c_f") + 6;
  uint64_t v = 0;
  for (; p < line.size() && isdigit(static_cast<unsigned char>(line[p])); ++p)
    v = std::min<uint64_t>(v * 10 + (line[p] - '0'), UINT32_MAX);
  return static_cast<uint32_t>(v);
}

bool IsFuncStart(std::string_view line) {
  return Starts(line, kStatic) && Ends(line, ") {") && NamesFunction(line);
}
bool IsPrototype(std::string_view line) {
  return Starts(line, kStatic) && Ends(line, ");") && NamesFunction(line);
}

// "static X" -> "ARCELLA_HIDDEN X"
std::string Hidden(std::string_view line) {
  std::string s(kHidden);
  s.append(line.substr(kStatic.size()));
  return s;
}

std::string HexDigest(EVP_MD_CTX* ctx) {
  uint8_t d[32];
  unsigned int n = 32;
  EVP_DigestFinal_ex(ctx, d, &n);
  static const char* k = "0123456789abcdef";
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    s += k[d[i] >> 4];
    s += k[d[i] & 15];
  }
  return s;
}

Status WriteFile(const std::string& path, std::string_view a) {
  FILE* f = fopen(path.c_str(), "we");
  if (f == nullptr) return Status::IoError("aot: writing " + path + ": " + strerror(errno));
  bool ok = a.empty() || fwrite(a.data(), 1, a.size(), f) == a.size();
  ok = fclose(f) == 0 && ok;
  if (!ok) return Status::IoError("aot: writing " + path + ": " + strerror(errno));
  return Status::Ok();
}

}  // namespace

std::string MakeVolatile(const std::string& c, const std::string& field) {
  std::string pat = "instance->" + field;
  size_t p = c.find(pat);
  if (p == std::string::npos) return c;
  std::string out;
  out.reserve(c.size() + 1024);
  size_t pos = 0;
  for (; p != std::string::npos; p = c.find(pat, pos)) {
    bool word_end = p + pat.size() >= c.size() || !IsIdent(c[p + pat.size()]);
    bool word_start = p == 0 || !IsIdent(c[p - 1]);
    bool addr = p > 0 && c[p - 1] == '&';
    out.append(c, pos, p - pos);
    if (word_end && word_start && !addr) {
      out += "(*(volatile u32*)&" + pat + ")";
    } else {
      out += pat;
    }
    pos = p + pat.size();
  }
  out.append(c, pos, std::string::npos);
  return out;
}

// Replaces wasm2c's CALL_INDIRECT (one trap for every failure) with one that
// tells an out-of-range index, a null element and a signature mismatch apart,
// and makes the table helpers report table (not memory) out-of-bounds.
Status RefineTraps(std::string* c) {
  size_t p = c->find("#define CALL_INDIRECT(");
  if (p == std::string::npos) return Status::Internal("wasm2c output has no CALL_INDIRECT macro");
  size_t e = p;
  for (;;) {
    size_t nl = c->find('\n', e);
    if (nl == std::string::npos) return Status::Internal("unterminated CALL_INDIRECT macro");
    bool cont = nl > 0 && (*c)[nl - 1] == '\\';
    e = nl + 1;
    if (!cont) break;
  }
  c->replace(p, e - p,
             "#define CALL_INDIRECT(table, t, ft, x, ...)                   \\\n"
             "  ((LIKELY((x) < table.size) || TRAP(TABLE_OOB)),              \\\n"
             "   (LIKELY(table.data[x].func != NULL) || TRAP(INDIRECT_NULL)), \\\n"
             "   (LIKELY(table.data[x].func_type == func_types[ft]) ||        \\\n"
             "    TRAP(CALL_INDIRECT)),                                       \\\n"
             "   ((t)table.data[x].func)(__VA_ARGS__))\n");
  size_t begin = c->find("static inline void funcref_table_init(");
  size_t end = c->find("DEFINE_TABLE_FILL(externref)");
  if (begin == std::string::npos || end == std::string::npos || end < begin)
    return Status::Internal("wasm2c output lacks the table helpers");
  const std::string from = "TRAP(OOB)", to = "TRAP(TABLE_OOB)";
  for (size_t q = c->find(from, begin); q != std::string::npos && q < end;
       q = c->find(from, q + to.size())) {
    c->replace(q, from.size(), to);
    end += to.size() - from.size();
  }
  return Status::Ok();
}

CSplitter::CSplitter(SplitConfig config,
                     std::function<Status(const std::string& header_digest)> on_header,
                     std::function<Status(const CUnit&)> on_unit)
    : config_(std::move(config)), on_header_(std::move(on_header)), on_unit_(std::move(on_unit)) {
  if (config_.unit_budget == 0) config_.unit_budget = 1;
}

CSplitter::~CSplitter() {
  if (unit_file_ != nullptr) fclose(unit_file_);
  if (unit_hash_ != nullptr) EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(unit_hash_));
}

void CSplitter::Fail(const std::string& what, std::string_view line) {
  if (!status_.ok()) return;
  std::string msg = "aot: unexpected wasm2c output: " + what;
  if (!line.empty()) msg += " at \"" + std::string(line.substr(0, 120)) + "\"";
  status_ = Status::Internal(msg);
}

wabt::Result CSplitter::MoveDataImpl(size_t, size_t, size_t) {
  Fail("the writer moved data in the C stream");
  return wabt::Result::Error;
}

wabt::Result CSplitter::TruncateImpl(size_t) {
  Fail("the writer truncated the C stream");
  return wabt::Result::Error;
}

wabt::Result CSplitter::WriteDataImpl(size_t, const void* data, size_t size) {
  if (!status_.ok()) return wabt::Result::Error;
  const char* p = static_cast<const char*>(data);
  const char* end = p + size;
  while (p < end && status_.ok()) {
    const char* nl = static_cast<const char*>(memchr(p, '\n', end - p));
    if (nl == nullptr) {
      pending_.append(p, end);
      break;
    }
    if (!pending_.empty()) {
      pending_.append(p, nl);
      std::string line = std::move(pending_);
      pending_.clear();
      Line(line);
    } else {
      Line(std::string_view(p, nl - p));
    }
    p = nl + 1;
  }
  return status_.ok() ? wabt::Result::Ok : wabt::Result::Error;
}

void CSplitter::Line(std::string_view line) {
  // wasm2c wraps long signatures: "static RET w2c_f1(..., " + indented lines
  // up to ") {" or ");". Joined (newlines kept) and handled as one line.
  if (state_ != State::kPrelude && !in_func_ && block_ == Block::kNone) {
    if (!join_.empty()) {
      join_.push_back('\n');
      join_.append(line);
      if (Ends(line, "{") || Ends(line, ";")) {
        std::string joined = std::move(join_);
        join_.clear();
        Dispatch(joined);
      }
      return;
    }
    if (Starts(line, kStatic) && !Ends(line, "{") && !Ends(line, ";")) {
      join_.assign(line);
      return;
    }
  }
  Dispatch(line);
}

void CSplitter::Dispatch(std::string_view line) {
  switch (state_) {
    case State::kPrelude:
      if (line == kInitFlag) {
        saw_init_flag_ = true;
        Status st = RefineTraps(&prelude_);
        if (!st.ok()) return Fail(st.message());
        main_.append(line).push_back('\n');
        state_ = State::kDecls;
        return;
      }
      if (Starts(line, kData) || IsFuncStart(line))
        return Fail("declarations before the prelude ended", line);
      prelude_.append(line).push_back('\n');
      return;
    case State::kDecls: return DeclLine(line);
    case State::kFuncs:
      if (in_func_) {
        func_.append(line).push_back('\n');
        if (line == "}") EndFunction();
        return;
      }
      if (line.empty()) return;
      if (IsFuncStart(line)) return StartFunction(line);
      CloseUnit();
      state_ = State::kTail;
      main_.append(line).push_back('\n');
      return;
    case State::kTail:
      if (IsFuncStart(line) || IsPrototype(line) || Starts(line, kData) || Starts(line, kElem))
        return Fail("a function or segment after the exports", line);
      main_.append(line).push_back('\n');
      return;
  }
}

void CSplitter::DeclLine(std::string_view line) {
  if (block_ != Block::kNone) {
    const bool end = block_ == Block::kMain ? line == "}" : line == "};";
    if (block_ != Block::kDrop) main_.append(line).push_back('\n');
    if (end) block_ = Block::kNone;
    return;
  }
  if (line.empty()) {
    main_.push_back('\n');
    return;
  }
  if (header_done_ && (Starts(line, kElem) || Starts(line, kFuncTypes) || IsPrototype(line)))
    return Fail("a shared declaration after the first function", line);
  if (Starts(line, kFuncTypes) && Ends(line, "];")) {
    header_ += "extern " + Hidden(line) + "\n";
    main_ += Hidden(line) + "\n";
  } else if (IsPrototype(line)) {
    header_ += Hidden(line) + "\n";
  } else if (Starts(line, kData) && Ends(line, "[] = {")) {
    // data_segment_data_w2c_d<i>: bytes come from the data blob instead.
    size_t p = kData.size(), d = p;
    while (d < line.size() && isdigit(static_cast<unsigned char>(line[d]))) ++d;
    if (d == p || line.substr(d) != "[] = {" ||
        std::stoull(std::string(line.substr(p, d - p))) >= config_.data_segments)
      return Fail("an unknown data segment", line);
    block_ = Block::kDrop;
  } else if (Starts(line, kElem) && Ends(line, "[] = {")) {
    std::string decl = Hidden(line.substr(0, line.size() - 4));
    header_ += "extern " + decl + ";\n";
    main_ += Hidden(line) + "\n";
    block_ = Block::kElem;
  } else if (IsFuncStart(line)) {
    FlushHeader();
    state_ = State::kFuncs;
    StartFunction(line);
  } else if (Starts(line, "static void init_") && Ends(line, "{")) {
    main_.append(line).push_back('\n');
    block_ = Block::kMain;
  } else if (Starts(line, kStatic) || line[0] == ' ') {
    Fail("an unknown declaration", line);
  } else {  // the exports and instance functions: no function definitions
    FlushHeader();
    state_ = State::kTail;
    main_.append(line).push_back('\n');
  }
}

void CSplitter::FlushHeader() {
  if (header_done_ || !status_.ok()) return;
  header_done_ = true;
  if (config_.module_header == nullptr || config_.module_header->empty())
    return Fail("the C header was not written before the source");
  std::string h = "/* shared.h: generated by arcella from wasm2c's prelude */\n#pragma once\n";
  h += prelude_;
  h += "\n#define ARCELLA_HIDDEN __attribute__((visibility(\"hidden\")))\n";
  h += "extern const u8* arcella_data_segments[];\n";
  for (uint32_t i = 0; i < config_.data_segments; ++i)
    h += "#define data_segment_data_w2c_d" + std::to_string(i) + " (arcella_data_segments[" +
         std::to_string(i) + "])\n";
  h += header_;
  prelude_.clear();
  header_.clear();
  const auto& mh = *config_.module_header;
  std::string_view mhv(reinterpret_cast<const char*>(mh.data()), mh.size());
  Status st = WriteFile(config_.dir + "/m.h", mhv);
  if (st.ok()) st = WriteFile(config_.dir + "/shared.h", h);
  if (!st.ok()) {
    status_ = st;
    return;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, mh.data(), mh.size());
  EVP_DigestUpdate(ctx, "\0", 1);
  EVP_DigestUpdate(ctx, h.data(), h.size());
  std::string digest = HexDigest(ctx);
  EVP_MD_CTX_free(ctx);
  if (on_header_) {
    st = on_header_(digest);
    if (!st.ok()) status_ = st;
  }
}

void CSplitter::StartFunction(std::string_view line) {
  in_func_ = true;
  func_index_ = FunctionIndex(line);
  func_ = Hidden(line);
  func_.push_back('\n');
}

void CSplitter::EndFunction() {
  in_func_ = false;
  std::string f = config_.volatile_field.empty() ? std::move(func_)
                                                 : MakeVolatile(func_, config_.volatile_field);
  func_.clear();
  // The fuel metering's statements, one C statement each (c_peephole.h).
  if (!config_.volatile_field.empty()) f = FoldFuel(f, config_.volatile_field, &fold_stats_);
  if (config_.on_function) config_.on_function(func_index_);
  if (cur_.functions > 0 && cur_.bytes + f.size() > config_.unit_budget) CloseUnit();
  f.push_back('\n');
  WriteUnit(f);
  cur_.functions++;
  cur_.largest_function = std::max<uint64_t>(cur_.largest_function, f.size());
  if (cur_.bytes >= config_.unit_budget) CloseUnit();
}

void CSplitter::WriteUnit(const std::string& text) {
  if (!status_.ok()) return;
  auto* ctx = static_cast<EVP_MD_CTX*>(unit_hash_);
  if (unit_file_ == nullptr) {
    cur_.index = static_cast<uint32_t>(units_.size());
    cur_.path = config_.dir + "/u" + std::to_string(cur_.index) + ".c";
    unit_file_ = fopen(cur_.path.c_str(), "we");
    if (unit_file_ == nullptr) {
      status_ = Status::IoError("aot: writing " + cur_.path + ": " + strerror(errno));
      return;
    }
    ctx = EVP_MD_CTX_new();
    unit_hash_ = ctx;
    EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
    static const char kInclude[] = "#include \"shared.h\"\n\n";
    fputs(kInclude, unit_file_);
    EVP_DigestUpdate(ctx, kInclude, sizeof kInclude - 1);
  }
  if (fwrite(text.data(), 1, text.size(), unit_file_) != text.size()) {
    status_ = Status::IoError("aot: writing " + cur_.path + ": " + strerror(errno));
    return;
  }
  EVP_DigestUpdate(ctx, text.data(), text.size());
  cur_.bytes += text.size();
}

void CSplitter::CloseUnit() {
  if (unit_file_ == nullptr) return;
  bool ok = fclose(unit_file_) == 0;
  unit_file_ = nullptr;
  auto* ctx = static_cast<EVP_MD_CTX*>(unit_hash_);
  cur_.digest = HexDigest(ctx);
  EVP_MD_CTX_free(ctx);
  unit_hash_ = nullptr;
  if (!ok && status_.ok()) status_ = Status::IoError("aot: writing " + cur_.path);
  units_.push_back(cur_);
  cur_ = CUnit{};
  if (status_.ok() && on_unit_) {
    Status st = on_unit_(units_.back());
    if (!st.ok()) status_ = st;
  }
}

Status CSplitter::Finish() {
  if (status_.ok() && !pending_.empty()) Fail("an unterminated last line", pending_);
  if (status_.ok() && (!saw_init_flag_ || in_func_ || block_ != Block::kNone || !join_.empty()))
    Fail(saw_init_flag_ ? "the output ended inside a definition" : "the prelude never ended");
  if (status_.ok()) {
    CloseUnit();
    FlushHeader();
  }
  if (status_.ok() && config_.module_header != nullptr) {
    // m.h must not have grown after it was written for the units.
    FILE* f = fopen((config_.dir + "/m.h").c_str(), "re");
    long n = -1;
    if (f != nullptr && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (f != nullptr) fclose(f);
    if (n != static_cast<long>(config_.module_header->size()))
      Fail("the C header changed after the source began");
  }
  return status_;
}

}  // namespace arcella::engine::aot
