// Preflight: section headers, types, imports, memories, tags and exports of a
// core module, read by hand without decoding any code (preflight.h).
#include "engine/preflight.h"

#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/byte_reader.h"
#include "engine/loader.h"

namespace arcella::engine {
namespace {

std::string Hex(size_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%zx", v);
  return buf;
}

Status Malformed(size_t at, const std::string& what) {
  return Status::InvalidArgument("invalid module at byte " + Hex(at) + ": " + what);
}

using Reader = ByteReader;

// A 2.0 value type, or nullopt (a typed reference or other post-2.0 type).
std::optional<ValType> CoreValType(uint8_t code) {
  switch (code) {
    case 0x7f: return ValType::kI32;
    case 0x7e: return ValType::kI64;
    case 0x7d: return ValType::kF32;
    case 0x7c: return ValType::kF64;
    case 0x7b: return ValType::kV128;
    case 0x70: return ValType::kFuncRef;
    case 0x6f: return ValType::kExternRef;
    default: return std::nullopt;
  }
}

// What the type section holds at each index: a function type, or not.
struct TypeEntry {
  bool is_func = false;
  FuncType func;
};

class Parser {
 public:
  explicit Parser(std::span<const uint8_t> wasm) : wasm_(wasm) {}

  Result<Preflight> Run() {
    if (wasm_.size() < 8 || std::memcmp(wasm_.data(), "\0asm", 4) != 0)
      return Status::InvalidArgument("not a wasm module: bad magic number");
    if (IsComponentBinary(wasm_))
      return Status::InvalidArgument("this is a WebAssembly component, not a core module");
    if (wasm_[4] != 1 || wasm_[5] != 0 || wasm_[6] != 0 || wasm_[7] != 0)
      return Malformed(4, "unsupported version (expected 01 00 00 00)");
    Reader r{wasm_, 8, wasm_.size()};
    while (r.pos < r.end) {
      size_t header = r.pos;
      uint8_t id = 0;
      uint32_t size = 0;
      if (!r.Byte(&id) || !r.U32(&size)) return Malformed(header, "truncated section header");
      if (r.end - r.pos < size)
        return Malformed(header, "section " + std::to_string(id) + " of " + std::to_string(size) +
                                     " bytes runs past the end of the module");
      Reader s{wasm_, r.pos, r.pos + size};
      r.pos += size;
      switch (id) {
        case 1: ARCELLA_RETURN_IF_ERROR(Types(s)); break;
        case 2: ARCELLA_RETURN_IF_ERROR(Imports(s)); break;
        case 5: ARCELLA_RETURN_IF_ERROR(Memories(s)); break;
        case 7: ARCELLA_RETURN_IF_ERROR(Exports(s)); break;
        case 10: out_.code_bytes = size; break;
        case 13: Use(Feature::kExceptions, header, "tag section"); break;
        default: break;  // others are decoded by the loader
      }
    }
    return std::move(out_);
  }

 private:
  void Use(Feature f, size_t at, std::string where) {
    out_.features.push_back({f, at, std::move(where)});
  }

  Status Types(Reader s) {
    uint32_t n = 0;
    if (!s.U32(&n)) return Malformed(s.pos, "type section: bad count");
    for (uint32_t i = 0; i < n; ++i) {
      size_t at = s.pos;
      uint8_t form = 0;
      if (!s.Byte(&form)) return Malformed(at, "type section: truncated");
      if (form != 0x60) {
        // struct (0x5f), array (0x5e), sub (0x50/0x4f), rec (0x4e): GC types.
        // Their layout is not read here; later indices stay unknown.
        Use(Feature::kGc, at, "type " + std::to_string(i) + " is not a function type");
        return Status::Ok();
      }
      TypeEntry t;
      t.is_func = true;
      bool core = true;
      for (int part = 0; part < 2; ++part) {
        uint32_t count = 0;
        if (!s.U32(&count)) return Malformed(s.pos, "type " + std::to_string(i) + ": truncated");
        for (uint32_t k = 0; k < count; ++k) {
          size_t vat = s.pos;
          uint8_t code = 0;
          if (!s.Byte(&code)) return Malformed(vat, "type " + std::to_string(i) + ": truncated");
          std::optional<ValType> vt = CoreValType(code);
          if (!vt) {
            if (core)
              Use(code == 0x63 || code == 0x64 ? Feature::kFunctionReferences : Feature::kGc, vat,
                  "type " + std::to_string(i) + " uses value type " + Hex(code));
            core = false;
            // A typed reference carries a heap type: skip it (s33 LEB).
            if (code == 0x63 || code == 0x64) {
              uint64_t ht = 0;
              if (!s.Leb(5, &ht))
                return Malformed(vat, "type " + std::to_string(i) + ": truncated");
            }
            continue;
          }
          (part == 0 ? t.func.params : t.func.results).push_back(*vt);
        }
      }
      t.is_func = core;
      types_.push_back(std::move(t));
    }
    return Status::Ok();
  }

  // Limits of a memory (or table); notes shared and 64-bit memories.
  Status MemLimits(Reader* s, const std::string& what, bool memory, Limits* out) {
    size_t at = s->pos;
    uint8_t flags = 0;
    if (!s->Byte(&flags)) return Malformed(at, what + ": truncated limits");
    if (flags > 0x07) return Malformed(at, what + ": bad limits flags " + Hex(flags));
    bool is64 = (flags & 0x04) != 0;
    if (memory && (flags & 0x02)) Use(Feature::kThreads, at, what + " is shared");
    if (is64) Use(Feature::kMemory64, at, what + " is 64-bit");
    unsigned max_bytes = is64 ? 10 : 5;
    if (!s->Leb(max_bytes, &out->min)) return Malformed(s->pos, what + ": bad minimum size");
    out->has_max = (flags & 0x01) != 0;
    if (out->has_max && !s->Leb(max_bytes, &out->max))
      return Malformed(s->pos, what + ": bad maximum size");
    return Status::Ok();
  }

  Status Imports(Reader s) {
    uint32_t n = 0;
    if (!s.U32(&n)) return Malformed(s.pos, "import section: bad count");
    for (uint32_t i = 0; i < n; ++i) {
      size_t at = s.pos;
      std::string what = "import " + std::to_string(i);
      ImportDesc d;
      bool typed = true;
      uint8_t kind = 0;
      if (!s.Name(&d.module) || !s.Name(&d.name) || !s.Byte(&kind))
        return Malformed(at, what + ": truncated");
      switch (kind) {
        case 0: {  // function
          uint32_t type = 0;
          if (!s.U32(&type)) return Malformed(s.pos, what + ": bad type index");
          d.desc.kind = ExternKind::kFunc;
          if (type < types_.size() && types_[type].is_func) {
            d.desc.func = types_[type].func;
          } else {
            typed = false;
          }
          break;
        }
        case 1: {  // table
          uint8_t elem = 0;
          if (!s.Byte(&elem)) return Malformed(s.pos, what + ": truncated");
          d.desc.kind = ExternKind::kTable;
          if (auto vt = CoreValType(elem)) {
            d.desc.value_type = *vt;
          } else {
            typed = false;
            Use(Feature::kFunctionReferences, s.pos - 1, what + " is a table of typed references");
            uint64_t ht = 0;
            if ((elem == 0x63 || elem == 0x64) && !s.Leb(5, &ht))
              return Malformed(s.pos, what + ": truncated");
          }
          ARCELLA_RETURN_IF_ERROR(MemLimits(&s, what, false, &d.desc.limits));
          break;
        }
        case 2:  // memory
          d.desc.kind = ExternKind::kMemory;
          ARCELLA_RETURN_IF_ERROR(MemLimits(&s, what + " (memory)", true, &d.desc.limits));
          break;
        case 3: {  // global
          uint8_t vt = 0, mut = 0;
          if (!s.Byte(&vt)) return Malformed(s.pos, what + ": truncated");
          d.desc.kind = ExternKind::kGlobal;
          if (auto core = CoreValType(vt)) {
            d.desc.value_type = *core;
          } else {
            typed = false;
            Use(Feature::kFunctionReferences, s.pos - 1, what + " has a typed reference type");
            uint64_t ht = 0;
            if ((vt == 0x63 || vt == 0x64) && !s.Leb(5, &ht))
              return Malformed(s.pos, what + ": truncated");
          }
          if (!s.Byte(&mut) || mut > 1) return Malformed(s.pos, what + ": bad mutability");
          d.desc.mut = mut == 1;
          break;
        }
        case 4: {  // tag
          uint8_t attr = 0;
          uint32_t type = 0;
          if (!s.Byte(&attr) || !s.U32(&type)) return Malformed(s.pos, what + ": truncated tag");
          d.desc.kind = ExternKind::kTag;
          if (type < types_.size() && types_[type].is_func) d.desc.func = types_[type].func;
          Use(Feature::kExceptions, at, what + " is a tag");
          break;
        }
        default: return Malformed(at, what + ": unknown import kind " + Hex(kind));
      }
      out_.imports.push_back(std::move(d));
      out_.typed.push_back(typed);
    }
    return Status::Ok();
  }

  Status Memories(Reader s) {
    uint32_t n = 0;
    if (!s.U32(&n)) return Malformed(s.pos, "memory section: bad count");
    for (uint32_t i = 0; i < n; ++i) {
      Limits l;
      ARCELLA_RETURN_IF_ERROR(MemLimits(&s, "memory " + std::to_string(i), true, &l));
    }
    return Status::Ok();
  }

  Status Exports(Reader s) {
    uint32_t n = 0;
    if (!s.U32(&n)) return Malformed(s.pos, "export section: bad count");
    for (uint32_t i = 0; i < n; ++i) {
      size_t at = s.pos;
      ExportDesc d;
      uint8_t kind = 0;
      uint32_t index = 0;
      if (!s.Name(&d.name) || !s.Byte(&kind) || !s.U32(&index))
        return Malformed(at, "export " + std::to_string(i) + ": truncated");
      if (kind > 4)
        return Malformed(at, "export " + std::to_string(i) + ": unknown kind " + Hex(kind));
      d.desc.kind = static_cast<ExternKind>(kind);  // same order as the binary format
      out_.exports.push_back(std::move(d));
    }
    return Status::Ok();
  }

  std::span<const uint8_t> wasm_;
  Preflight out_;
  std::vector<TypeEntry> types_;
};

}  // namespace

const char* FeatureName(Feature f) {
  switch (f) {
    case Feature::kExceptions: return "the exception-handling proposal";
    case Feature::kTailCall: return "the tail-call proposal";
    case Feature::kThreads: return "the threads proposal";
    case Feature::kMemory64: return "the memory64 proposal";
    case Feature::kMultiMemory: return "the multi-memory proposal";
    case Feature::kExtendedConst: return "the extended-const proposal";
    case Feature::kRelaxedSimd: return "the relaxed-SIMD proposal";
    case Feature::kFunctionReferences: return "the typed function references proposal";
    case Feature::kGc: return "the GC proposal";
  }
  return "an unknown proposal";
}

bool InterpreterSupports(Feature f) {
  return f == Feature::kExceptions || f == Feature::kTailCall || f == Feature::kMultiMemory;
}

bool AotSupports(Feature f) { return f == Feature::kMultiMemory; }

std::string DescribeFeatureUse(const FeatureUse& use, const char* not_supported_by) {
  return std::string("uses ") + FeatureName(use.feature) + " (" + use.where + " at offset " +
         Hex(use.offset) + "), not supported " + not_supported_by;
}

Result<Preflight> PreflightModule(std::span<const uint8_t> wasm) { return Parser(wasm).Run(); }

}  // namespace arcella::engine
