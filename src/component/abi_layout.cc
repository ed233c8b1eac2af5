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

}  // namespace

uint32_t AlignOf(const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kBool:
    case TypeKind::kS8:
    case TypeKind::kU8: return 1;
    case TypeKind::kS16:
    case TypeKind::kU16: return 2;
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kF32:
    case TypeKind::kChar:
    case TypeKind::kString:
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return 4;
    case TypeKind::kS64:
    case TypeKind::kU64:
    case TypeKind::kF64: return 8;
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: return t.length ? AlignOf(*t.elem) : 4;
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      uint32_t a = 1;
      for (const auto& f : t.fields) a = std::max(a, AlignOf(*f.type));
      return a;
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      std::vector<const ValueType*> cases;
      abi::CaseTypes(t, &cases);
      return std::max(DiscriminantSize(cases.size()), abi::MaxCaseAlignment(cases));
    }
    case TypeKind::kFlags: return FlagsSize(t.labels.size());
  }
  return 1;
}

uint32_t SizeOf(const ValueType& t) {
  switch (t.kind) {
    case TypeKind::kBool:
    case TypeKind::kS8:
    case TypeKind::kU8: return 1;
    case TypeKind::kS16:
    case TypeKind::kU16: return 2;
    case TypeKind::kS32:
    case TypeKind::kU32:
    case TypeKind::kF32:
    case TypeKind::kChar:
    case TypeKind::kOwn:
    case TypeKind::kBorrow: return 4;
    case TypeKind::kS64:
    case TypeKind::kU64:
    case TypeKind::kF64:
    case TypeKind::kString: return 8;
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      if (!t.length) return 8;
      uint64_t s = uint64_t{t.length} * SizeOf(*t.elem);
      return s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s);
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      uint64_t s = 0;
      for (const auto& f : t.fields) {
        s = abi::AlignTo(s, AlignOf(*f.type));
        s += SizeOf(*f.type);
      }
      s = abi::AlignTo(s, AlignOf(t));
      return s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s);
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: {
      std::vector<const ValueType*> cases;
      abi::CaseTypes(t, &cases);
      uint64_t s = DiscriminantSize(cases.size());
      s = abi::AlignTo(s, abi::MaxCaseAlignment(cases));
      uint32_t cs = 0;
      for (const ValueType* c : cases)
        if (c) cs = std::max(cs, SizeOf(*c));
      s += cs;
      s = abi::AlignTo(s, AlignOf(t));
      return s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s);
    }
    case TypeKind::kFlags: return FlagsSize(t.labels.size());
  }
  return 1;
}

namespace {

// Flattening stops past this many values: any count past 16 spills to
// memory anyway, and a hostile list<u8, 2^32-1> or a type DAG that doubles at
// every level must not allocate gigabytes here.
constexpr size_t kFlattenCap = 4096;

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
