// Canonical ABI layout: alignment, size and flattening of value types
// (CanonicalABI.md "Alignment", "Element Size", "Flattening").
#include <algorithm>

#include "component/abi_internal.h"
#include "component/canonical_abi.h"

namespace arcella::component {

using engine::ValType;

namespace abi {

void CaseTypes(const ValueType& t, std::vector<const ValueType*>* out) {
  out->clear();
  switch (t.kind) {
    case TypeKind::kVariant:
      for (const auto& c : t.cases) out->push_back(c.type.get());
      break;
    case TypeKind::kEnum: out->assign(t.labels.size(), nullptr); break;
    case TypeKind::kOption:
      out->push_back(nullptr);
      out->push_back(t.elem.get());
      break;
    case TypeKind::kResult:
      out->push_back(t.ok.get());
      out->push_back(t.err.get());
      break;
    default: break;
  }
}

uint32_t MaxCaseAlignment(const std::vector<const ValueType*>& cases) {
  uint32_t a = 1;
  for (const ValueType* c : cases)
    if (c) a = std::max(a, AlignOf(*c));
  return a;
}

}  // namespace abi

uint32_t DiscriminantSize(size_t n) {
  if (n <= (size_t{1} << 8)) return 1;
  if (n <= (size_t{1} << 16)) return 2;
  return 4;
}

namespace {

uint32_t FlagsSize(size_t n) {
  if (n <= 8) return 1;
  if (n <= 16) return 2;
  return 4;  // at most 32 labels (the decoder refuses more)
}

bool IsVariantLike(TypeKind k) {
  return k == TypeKind::kVariant || k == TypeKind::kEnum || k == TypeKind::kOption ||
         k == TypeKind::kResult;
}

// Flattening stops past this many values: any count past 16 spills to
// memory anyway, and a hostile list<u8, 2^32-1> or a type DAG that doubles at
// every level must not allocate gigabytes here.
constexpr size_t kFlattenCap = 4096;

struct Layout {
  uint32_t align, size, flat;
};

uint32_t Saturate(uint64_t s) { return s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s); }

uint32_t CapFlat(uint64_t n) {
  return n > kFlattenCap + 1 ? kFlattenCap + 1 : static_cast<uint32_t>(n);
}

Layout LayoutOf(const ValueType& t);

// The spec's alignment, elem_size and len(flatten_type) of `t` from its
// children's (cached) layouts.
Layout ComputeLayout(const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kBool:
    case TypeKind::kS8:
    case TypeKind::kU8: return {1, 1, 1};
    case TypeKind::kS16:
    case TypeKind::kU16: return {2, 2, 1};
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kF32:
    case TypeKind::kChar:
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return {4, 4, 1};
    case TypeKind::kS64:
    case TypeKind::kU64:
    case TypeKind::kF64: return {8, 8, 1};
    case TypeKind::kString: return {4, 8, 2};
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      if (!t.length) return {4, 8, 2};
      Layout e = LayoutOf(*t.elem);
      return {e.align, Saturate(uint64_t{t.length} * e.size), CapFlat(uint64_t{t.length} * e.flat)};
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      uint32_t a = 1;
      uint64_t s = 0, n = 0;
      for (const auto& f : t.fields) {
        Layout l = LayoutOf(*f.type);
        a = std::max(a, l.align);
        s = abi::AlignTo(s, l.align) + l.size;
        n += l.flat;
      }
      return {a, Saturate(abi::AlignTo(s, a)), CapFlat(n)};
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      std::vector<const ValueType*> cases;
      abi::CaseTypes(t, &cases);
      uint32_t a = DiscriminantSize(cases.size()), ca = 1, cs = 0, cn = 0;
      for (const ValueType* c : cases) {
        if (!c) continue;
        Layout l = LayoutOf(*c);
        ca = std::max(ca, l.align);
        cs = std::max(cs, l.size);
        cn = std::max(cn, l.flat);  // the cases' flat values are joined position by position
      }
      a = std::max(a, ca);
      uint64_t s = abi::AlignTo(DiscriminantSize(cases.size()), ca) + cs;
      return {a, Saturate(abi::AlignTo(s, a)), CapFlat(uint64_t{cn} + 1)};
    }
    case TypeKind::kFlags: return {FlagsSize(t.labels.size()), FlagsSize(t.labels.size()), 1};
  }
  return {1, 1, 1};
}

// The cached word: bit 63 set (computed); bits 48-55 the alignment (<= 8),
// 32-47 the flat count, 0-31 the size.
uint32_t AlignBits(uint64_t b) { return static_cast<uint32_t>(b >> 48) & 0xff; }
uint32_t FlatBits(uint64_t b) { return static_cast<uint32_t>(b >> 32) & 0xffff; }
uint32_t SizeBits(uint64_t b) { return static_cast<uint32_t>(b); }

// The cached word of `t`, computed on first use.
uint64_t LayoutBits(const ValueType& t) {
  uint64_t b = t.abi_layout.Load();
  if (b) return b;
  Layout l = ComputeLayout(t);
  b = uint64_t{1} << 63 | uint64_t{l.align} << 48 | uint64_t{l.flat} << 32 | l.size;
  t.abi_layout.Store(b);
  return b;
}

Layout LayoutOf(const ValueType& t) {
  uint64_t b = LayoutBits(t);
  return {AlignBits(b), SizeBits(b), FlatBits(b)};
}

}  // namespace

uint32_t AlignOf(const ValueType& t) {
  uint64_t b = t.abi_layout.Load();
  return AlignBits(b ? b : LayoutBits(t));
}
uint32_t SizeOf(const ValueType& t) {
  uint64_t b = t.abi_layout.Load();
  return SizeBits(b ? b : LayoutBits(t));
}
uint32_t FlatCount(const ValueType& t) {
  uint64_t b = t.abi_layout.Load();
  return FlatBits(b ? b : LayoutBits(t));
}

namespace {

ValType Join(ValType a, ValType b) {
  if (a == b) return a;
  if ((a == ValType::kI32 && b == ValType::kF32) || (a == ValType::kF32 && b == ValType::kI32))
    return ValType::kI32;
  return ValType::kI64;
}

}  // namespace

void Flatten(const ValueType& t, std::vector<ValType>* out) {
  if (out->size() > kFlattenCap) return;  // spills anyway; bounds hostile types
  switch (t.kind) {
    case TypeKind::kS64:
    case TypeKind::kU64: out->push_back(ValType::kI64); return;
    case TypeKind::kF32: out->push_back(ValType::kF32); return;
    case TypeKind::kF64: out->push_back(ValType::kF64); return;
    case TypeKind::kString:
      out->push_back(ValType::kI32);
      out->push_back(ValType::kI32);
      return;
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList:
      if (t.length) {
        std::vector<ValType> one;
        Flatten(*t.elem, &one);
        for (uint32_t i = 0; i < t.length && out->size() <= kFlattenCap; ++i)
          out->insert(out->end(), one.begin(), one.end());
      } else {
        out->push_back(ValType::kI32);
        out->push_back(ValType::kI32);
      }
      return;
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      for (const auto& f : t.fields) Flatten(*f.type, out);
      return;
    default: break;
  }
  if (!IsVariantLike(t.kind)) {  // bool, small ints, char, flags, handles
    out->push_back(ValType::kI32);
    return;
  }
  std::vector<const ValueType*> cases;
  abi::CaseTypes(t, &cases);
  std::vector<ValType> flat, one;
  for (const ValueType* c : cases) {
    if (!c) continue;
    one.clear();
    Flatten(*c, &one);
    for (size_t i = 0; i < one.size(); ++i) {
      if (i < flat.size()) flat[i] = Join(flat[i], one[i]);
      else flat.push_back(one[i]);
    }
  }
  out->push_back(ValType::kI32);  // the discriminant
  out->insert(out->end(), flat.begin(), flat.end());
}

engine::FuncType FlattenFuncType(const FuncType& ft, FlattenContext context) {
  engine::FuncType core;
  for (const auto& p : ft.params) Flatten(*p.type, &core.params);
  if (ft.result) Flatten(*ft.result, &core.results);
  if (core.params.size() > kMaxFlatParams) core.params = {ValType::kI32};
  if (core.results.size() > kMaxFlatResults) {
    if (context == FlattenContext::kLift) {
      core.results = {ValType::kI32};
    } else {
      core.params.push_back(ValType::kI32);
      core.results.clear();
    }
  }
  return core;
}

}  // namespace arcella::component
