// flatten_functype (CanonicalABI.md "Flattening"): the core signature a
// lifted or lowered component function has, for validating `canon`.
// Counting stops past the limits, so a huge fixed-length list costs nothing.
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

namespace {

using engine::ValType;

constexpr size_t kMaxFlatParams = 16;
constexpr size_t kMaxFlatResults = 1;
constexpr size_t kCap = kMaxFlatParams + 1;  // past this we only need "too many"

ValType Join(ValType a, ValType b) {
  if (a == b) return a;
  if ((a == ValType::kI32 && b == ValType::kF32) || (a == ValType::kF32 && b == ValType::kI32)) {
    return ValType::kI32;
  }
  return ValType::kI64;
}

struct Flattener {
  bool needs_memory = false;

  // Appends the flat types of `t` to `out`, stopping once out has kCap.
  void Flat(const ValueType& t, std::vector<ValType>* out) {
    if (out->size() >= kCap) return;
    switch (t.kind) {
      case TypeKind::kS64:
      case TypeKind::kU64: out->push_back(ValType::kI64); return;
      case TypeKind::kF32: out->push_back(ValType::kF32); return;
      case TypeKind::kF64: out->push_back(ValType::kF64); return;
      case TypeKind::kString:
        needs_memory = true;
        out->push_back(ValType::kI32);
        out->push_back(ValType::kI32);
        return;
      case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
      case TypeKind::kList:
        if (t.length == 0) {
          needs_memory = true;
          out->push_back(ValType::kI32);
          out->push_back(ValType::kI32);
          return;
        }
        for (uint32_t i = 0; i < t.length && out->size() < kCap; ++i) Flat(*t.elem, out);
        return;
      case TypeKind::kRecord:
      case TypeKind::kTuple:
        for (const auto& f : t.fields) Flat(*f.type, out);
        return;
      case TypeKind::kFlags:
        if (!t.labels.empty()) out->push_back(ValType::kI32);
        return;
      case TypeKind::kVariant:
      case TypeKind::kOption:
      case TypeKind::kResult: {
        std::vector<const ValueType*> cases;
        if (t.kind == TypeKind::kVariant) {
          for (const auto& c : t.cases) cases.push_back(c.type.get());
        } else if (t.kind == TypeKind::kOption) {
          cases = {nullptr, t.elem.get()};
        } else {
          cases = {t.ok.get(), t.err.get()};
        }
        std::vector<ValType> joined;
        for (const ValueType* c : cases) {
          if (c == nullptr) continue;
          std::vector<ValType> ct;
          Flat(*c, &ct);
          for (size_t i = 0; i < ct.size(); ++i) {
            if (i < joined.size()) {
              joined[i] = Join(joined[i], ct[i]);
            } else {
              joined.push_back(ct[i]);
            }
          }
        }
        out->push_back(ValType::kI32);  // discriminant
        for (ValType v : joined) {
          if (out->size() >= kCap) return;
          out->push_back(v);
        }
        return;
      }
      default: out->push_back(ValType::kI32); return;  // bool..u32, char, enum, own, borrow
    }
  }
};

}  // namespace

FlatSig FlattenFuncType(const FuncType& ft, bool lift) {
  FlatSig sig;
  Flattener pf;
  std::vector<ValType> params;
  for (const auto& p : ft.params) pf.Flat(*p.type, &params);
  sig.params_need_memory = pf.needs_memory;
  Flattener rf;
  std::vector<ValType> results;
  if (ft.result) rf.Flat(*ft.result, &results);
  sig.result_needs_memory = rf.needs_memory;
  if (params.size() > kMaxFlatParams) {
    sig.params_spilled = true;
    params = {ValType::kI32};
  }
  if (results.size() > kMaxFlatResults) {
    sig.result_spilled = true;
    if (lift) {
      results = {ValType::kI32};
    } else {
      params.push_back(ValType::kI32);
      results.clear();
    }
  }
  sig.type.params = std::move(params);
  sig.type.results = std::move(results);
  return sig;
}

}  // namespace arcella::component::decoding
