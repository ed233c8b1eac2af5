#include "engine/module_meta.h"

#include <atomic>
#include <cstring>

namespace arcella::engine {
namespace {

constexpr char kMagic[8] = {'A', 'R', 'C', 'M', 'E', 'T', 'A', '1'};
std::atomic<uint64_t> g_decodes{0};

class Writer {
 public:
  void U8(uint8_t v) { out.push_back(v); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void Types(const std::vector<ValType>& ts) {
    U32(static_cast<uint32_t>(ts.size()));
    for (ValType t : ts) U8(static_cast<uint8_t>(t));
  }
  void Extern(const ExternDesc& d) {
    U8(static_cast<uint8_t>(d.kind));
    Types(d.func.params);
    Types(d.func.results);
    U64(d.limits.min);
    U8(d.limits.has_max ? 1 : 0);
    U64(d.limits.max);
    U8(static_cast<uint8_t>(d.value_type));
    U8(d.mut ? 1 : 0);
  }
  void Imports(const std::vector<ImportDesc>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (const auto& i : v) {
      Str(i.module);
      Str(i.name);
      Extern(i.desc);
    }
  }
  void Exports(const std::vector<ExportDesc>& v) {
    U32(static_cast<uint32_t>(v.size()));
    for (const auto& e : v) {
      Str(e.name);
      Extern(e.desc);
    }
  }
  std::vector<uint8_t> out;
};

// Every read checks the remaining length; after the first failure `ok` is
// false and reads return zeros.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}
  bool ok = true;
  bool Need(size_t n) {
    if (!ok || in_.size() - pos_ < n) ok = false;
    return ok;
  }
  uint8_t U8() { return Need(1) ? in_[pos_++] : 0; }
  uint32_t U32() {
    if (!Need(4)) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  uint64_t U64() {
    if (!Need(8)) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in_[pos_++]) << (8 * i);
    return v;
  }
  std::string Str() {
    uint32_t n = U32();
    if (!Need(n)) return {};
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  // A count of items of at least `min_item` bytes each: bounded by the input.
  uint32_t Count(size_t min_item) {
    uint32_t n = U32();
    if (ok && static_cast<uint64_t>(n) * min_item > in_.size() - pos_) ok = false;
    return ok ? n : 0;
  }
  ValType Type() {
    uint8_t t = U8();
    if (t > static_cast<uint8_t>(ValType::kExternRef)) ok = false;
    return static_cast<ValType>(t);
  }
  std::vector<ValType> Types() {
    std::vector<ValType> ts(Count(1));
    for (auto& t : ts) t = Type();
    return ts;
  }
  bool Bool() {
    uint8_t b = U8();
    if (b > 1) ok = false;
    return b == 1;
  }
  ExternDesc Extern() {
    ExternDesc d;
    uint8_t k = U8();
    if (k > static_cast<uint8_t>(ExternKind::kTag)) ok = false;
    d.kind = static_cast<ExternKind>(k);
    d.func.params = Types();
    d.func.results = Types();
    d.limits.min = U64();
    d.limits.has_max = Bool();
    d.limits.max = U64();
    d.value_type = Type();
    d.mut = Bool();
    return d;
  }
  static constexpr size_t kMinExtern = 1 + 4 + 4 + 8 + 1 + 8 + 1 + 1;
  std::vector<ImportDesc> Imports() {
    std::vector<ImportDesc> v(Count(4 + 4 + kMinExtern));
    for (auto& i : v) {
      i.module = Str();
      i.name = Str();
      i.desc = Extern();
    }
    return v;
  }
  std::vector<ExportDesc> Exports() {
    std::vector<ExportDesc> v(Count(4 + kMinExtern));
    for (auto& e : v) {
      e.name = Str();
      e.desc = Extern();
    }
    return v;
  }
  bool AtEnd() const { return ok && pos_ == in_.size(); }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

}  // namespace

std::vector<uint8_t> EncodeModuleMeta(const ModuleMeta& meta) {
  Writer w;
  // Byte by byte: GCC 12's -Wstringop-overflow misfires on a range insert into
  // the empty vector at -O1 with -fsanitize=thread.
  for (char c : kMagic) w.U8(static_cast<uint8_t>(c));
  w.U32(static_cast<uint32_t>(meta.metering));
  w.Imports(meta.imports);
  w.Exports(meta.exports);
  w.U32(static_cast<uint32_t>(meta.func_names.size()));
  for (const auto& n : meta.func_names) w.Str(n);
  w.Imports(meta.layout.imports);
  w.Exports(meta.layout.exports);
  w.U32(meta.layout.func_shift);
  w.Str(meta.aot_key);
  return std::move(w.out);
}

bool DecodeModuleMeta(std::span<const uint8_t> bytes, ModuleMeta* out) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return false;
  Reader r(bytes.subspan(sizeof kMagic));
  const uint32_t metering = r.U32();
  if (metering > static_cast<uint32_t>(Metering::kFuel)) return false;
  out->metering = static_cast<Metering>(metering);
  out->imports = r.Imports();
  out->exports = r.Exports();
  out->func_names.resize(r.Count(4));
  for (auto& n : out->func_names) n = r.Str();
  out->layout.imports = r.Imports();
  out->layout.exports = r.Exports();
  out->layout.func_shift = r.U32();
  out->aot_key = r.Str();
  return r.AtEnd() && out->aot_key.size() == 64 &&
         out->layout.imports.size() >= out->imports.size() &&
         out->layout.exports.size() >= out->exports.size();
}

uint64_t ModuleDecodeCount() { return g_decodes.load(std::memory_order_relaxed); }
void CountModuleDecode() { g_decodes.fetch_add(1, std::memory_order_relaxed); }

}  // namespace arcella::engine
