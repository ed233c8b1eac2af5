// Canonical ABI flat lifting and lowering: values to and from core wasm
// values, and whole parameter / result lists with spilling to memory
// (CanonicalABI.md "Flat Lifting", "Flat Lowering", "Lifting and Lowering
// Values").
#include <algorithm>
#include <string>
#include <vector>

#include "component/abi_internal.h"

namespace arcella::component {

using engine::ValType;
using engine::Value;

TrapOr<Value> FlatReader::Next(ValType want) {
  if (i_ >= values_.size())
    return AbiTrap("expected another core value of type " + std::string(engine::ValTypeName(want)) +
                   ", got only " + std::to_string(values_.size()));
  const Value& v = values_[i_];
  if (v.type != want)
    return AbiTrap("core value " + std::to_string(i_) + " is " + engine::ValTypeName(v.type) +
                   ", expected " + engine::ValTypeName(want));
  ++i_;
  return v;
}

namespace {

Value Zero(ValType t) {
  switch (t) {
    case ValType::kI64: return Value::I64(0);
    case ValType::kF32: return Value::F32Bits(0);
    case ValType::kF64: return Value::F64Bits(0);
    default: return Value::I32(0);
  }
}

// Reinterprets a joined slot `have` as the case's own type `want`.
Value Coerce(const Value& x, ValType want) {
  if (x.type == want) return x;
  if (x.type == ValType::kI32 && want == ValType::kF32)
    return Value::F32(abi::CanonF32(abi::BitsF32(x.i32)));
  if (x.type == ValType::kI64 && want == ValType::kI32)
    return Value::I32(static_cast<uint32_t>(x.i64));
  if (x.type == ValType::kI64 && want == ValType::kF32)
    return Value::F32(abi::CanonF32(abi::BitsF32(static_cast<uint32_t>(x.i64))));
  return Value::F64(abi::CanonF64(abi::BitsF64(x.i64)));  // (i64, f64)
}

TrapOr<Val> LiftVariant(LiftLowerContext& cx, FlatReader& in, const ValueType& t) {
  std::vector<ValType> flat;
  Flatten(t, &flat);
  auto disc = in.Next(ValType::kI32);
  if (!disc.ok()) return disc.take_trap();
  std::vector<Value> slots;
  for (size_t k = 1; k < flat.size(); ++k) {
    auto x = in.Next(flat[k]);
    if (!x.ok()) return x.take_trap();
    slots.push_back(x.value());
  }
  std::vector<const ValueType*> cases;
  abi::CaseTypes(t, &cases);
  uint32_t index = disc.value().i32;
  if (index >= cases.size())
    return AbiTrap(std::string(TypeKindName(t.kind)) + " case index " + std::to_string(index) +
                   " out of range (" + std::to_string(cases.size()) + " cases)");
  std::vector<Val> payload;
  if (const ValueType* c = cases[index]) {
    std::vector<ValType> want;
    Flatten(*c, &want);
    std::vector<Value> coerced;
    for (size_t k = 0; k < want.size() && k < slots.size(); ++k)
      coerced.push_back(Coerce(slots[k], want[k]));
    FlatReader sub(coerced);
    auto v = LiftFlat(cx, sub, *c);
    if (!v.ok()) return v.take_trap();
    payload.push_back(std::move(v).value());
  }
  return abi::MakeCase(t, index, std::move(payload));
}

MaybeTrap LowerVariant(LiftLowerContext& cx, const Val& v, const ValueType& t,
                       std::vector<Value>* out) {
  std::vector<const ValueType*> cases;
  abi::CaseTypes(t, &cases);
  if (v.index >= cases.size()) return abi::ShapeTrap(v, t, "case index out of range");
  const ValueType* c = cases[v.index];
  if ((c != nullptr) != v.has_payload() || v.items.size() > 1)
    return abi::ShapeTrap(v, t, "payload does not match the case");
  std::vector<ValType> flat;
  Flatten(t, &flat);
  out->push_back(Value::I32(v.index));
  std::vector<Value> payload;
  if (c)
    if (auto tr = LowerFlat(cx, v.items[0], *c, &payload)) return tr;
  for (size_t k = 1; k < flat.size(); ++k) {
    ValType want = flat[k];
    if (k - 1 >= payload.size()) {
      out->push_back(Zero(want));
      continue;
    }
    const Value& x = payload[k - 1];
    if (x.type == want) {
      out->push_back(x);
    } else if (x.type == ValType::kF32 && want == ValType::kI32) {
      out->push_back(Value::I32(abi::F32Bits(x.f32)));
    } else if (x.type == ValType::kI32) {  // into i64
      out->push_back(Value::I64(x.i32));
    } else if (x.type == ValType::kF32) {  // into i64
      out->push_back(Value::I64(abi::F32Bits(x.f32)));
    } else {  // f64 into i64
      out->push_back(Value::I64(abi::F64Bits(x.f64)));
    }
  }
  return std::nullopt;
}

TrapOr<uint32_t> NextI32(FlatReader& in) {
  auto x = in.Next(ValType::kI32);
  if (!x.ok()) return x.take_trap();
  return x.value().i32;
}

}  // namespace

TrapOr<Val> LiftFlat(LiftLowerContext& cx, FlatReader& in, const ValueType& t) {
  if (auto tr = abi::CountNodes(cx, 1)) return *tr;
  switch (t.kind) {
    case TypeKind::kS64:
    case TypeKind::kU64: {
      auto x = in.Next(ValType::kI64);
      if (!x.ok()) return x.take_trap();
      if (t.kind == TypeKind::kU64) return Val::U64(x.value().i64);
      return Val::S64(static_cast<int64_t>(x.value().i64));
    }
    case TypeKind::kF32: {
      auto x = in.Next(ValType::kF32);
      if (!x.ok()) return x.take_trap();
      return Val::F32(abi::CanonF32(x.value().f32));
    }
    case TypeKind::kF64: {
      auto x = in.Next(ValType::kF64);
      if (!x.ok()) return x.take_trap();
      return Val::F64(abi::CanonF64(x.value().f64));
    }
    case TypeKind::kString: {
      auto p = NextI32(in);
      if (!p.ok()) return p.take_trap();
      auto n = NextI32(in);
      if (!n.ok()) return n.take_trap();
      return abi::LoadStringFromRange(cx, p.value(), n.value());
    }
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      if (t.length) {
        if (cx.lift_nodes + t.length > cx.max_lift_nodes)
          return abi::CountNodes(cx, t.length).value();
        std::vector<Val> items;
        items.reserve(t.length);
        for (uint32_t i = 0; i < t.length; ++i) {
          auto v = LiftFlat(cx, in, *t.elem);
          if (!v.ok()) return v.take_trap();
          items.push_back(std::move(v).value());
        }
        return Val::List(std::move(items));
      }
      auto p = NextI32(in);
      if (!p.ok()) return p.take_trap();
      auto n = NextI32(in);
      if (!n.ok()) return n.take_trap();
      return abi::LoadListFromRange(cx, p.value(), n.value(), *t.elem);
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      std::vector<Val> items;
      items.reserve(t.fields.size());
      for (const auto& f : t.fields) {
        auto v = LiftFlat(cx, in, *f.type);
        if (!v.ok()) return v.take_trap();
        items.push_back(std::move(v).value());
      }
      return t.kind == TypeKind::kTuple ? Val::Tuple(std::move(items))
                                        : Val::Record(std::move(items));
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: return LiftVariant(cx, in, t);
    default: break;
  }
  auto x = NextI32(in);
  if (!x.ok()) return x.take_trap();
  uint32_t i = x.value();
  switch (t.kind) {
    case TypeKind::kBool: return Val::Bool(i != 0);
    case TypeKind::kU8: return Val::U8(static_cast<uint8_t>(i));
    case TypeKind::kU16: return Val::U16(static_cast<uint16_t>(i));
    case TypeKind::kU32: return Val::U32(i);
    case TypeKind::kS8: return Val::S8(static_cast<int8_t>(i));
    case TypeKind::kS16: return Val::S16(static_cast<int16_t>(i));
    case TypeKind::kS32: return Val::S32(static_cast<int32_t>(i));
    case TypeKind::kChar:
      if (auto tr = abi::CheckChar(i)) return *tr;
      return Val::Char(i);
    case TypeKind::kFlags: return Val::Flags(i & abi::FlagsMask(t.labels.size()));
    case TypeKind::kOwn: return abi::LiftOwn(cx, i, t);
    case TypeKind::kBorrow: return abi::LiftBorrow(cx, i, t);
    default: return AbiTrap("unknown type kind");
  }
}

MaybeTrap LowerFlat(LiftLowerContext& cx, const Val& v, const ValueType& t,
                    std::vector<Value>* out) {
  if (v.kind != ValKindOf(t)) return abi::ShapeTrap(v, t);
  switch (t.kind) {
    case TypeKind::kBool: out->push_back(Value::I32(v.b ? 1 : 0)); return std::nullopt;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32: {
      uint64_t max = t.kind == TypeKind::kU8    ? UINT8_MAX
                     : t.kind == TypeKind::kU16 ? UINT16_MAX
                                                : UINT32_MAX;
      if (v.u > max) return abi::ShapeTrap(v, t, "integer out of range");
      out->push_back(Value::I32(static_cast<uint32_t>(v.u)));
      return std::nullopt;
    }
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32: {
      int64_t bits = t.kind == TypeKind::kS8 ? 8 : t.kind == TypeKind::kS16 ? 16 : 32;
      int64_t lo = -(int64_t{1} << (bits - 1)), hi = (int64_t{1} << (bits - 1)) - 1;
      if (v.s < lo || v.s > hi) return abi::ShapeTrap(v, t, "integer out of range");
      out->push_back(Value::I32(static_cast<uint32_t>(v.s)));
      return std::nullopt;
    }
    case TypeKind::kU64: out->push_back(Value::I64(v.u)); return std::nullopt;
    case TypeKind::kS64:
      out->push_back(Value::I64(static_cast<uint64_t>(v.s)));
      return std::nullopt;
    case TypeKind::kF32: out->push_back(Value::F32(abi::CanonF32(v.f32))); return std::nullopt;
    case TypeKind::kF64: out->push_back(Value::F64(abi::CanonF64(v.f64))); return std::nullopt;
    case TypeKind::kChar:
      if (auto tr = abi::CheckChar(v.c)) return tr;
      out->push_back(Value::I32(v.c));
      return std::nullopt;
    case TypeKind::kString: {
      auto r = abi::StoreStringIntoRange(cx, v);
      if (!r.ok()) return r.take_trap();
      out->push_back(Value::I32(r.value().first));
      out->push_back(Value::I32(r.value().second));
      return std::nullopt;
    }
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      if (t.length) {
        if (v.items.size() != t.length) return abi::ShapeTrap(v, t, "wrong number of elements");
        for (const Val& e : v.items)
          if (auto tr = LowerFlat(cx, e, *t.elem, out)) return tr;
        return std::nullopt;
      }
      auto r = abi::StoreListIntoRange(cx, v, *t.elem);
      if (!r.ok()) return r.take_trap();
      out->push_back(Value::I32(r.value().first));
      out->push_back(Value::I32(r.value().second));
      return std::nullopt;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple:
      if (v.items.size() != t.fields.size()) return abi::ShapeTrap(v, t, "wrong number of fields");
      for (size_t i = 0; i < t.fields.size(); ++i)
        if (auto tr = LowerFlat(cx, v.items[i], *t.fields[i].type, out)) return tr;
      return std::nullopt;
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: return LowerVariant(cx, v, t, out);
    case TypeKind::kFlags:
      if (v.u & ~abi::FlagsMask(t.labels.size()))
        return abi::ShapeTrap(v, t, "flag bit past the labels");
      out->push_back(Value::I32(static_cast<uint32_t>(v.u)));
      return std::nullopt;
    case TypeKind::kOwn: {
      auto i = abi::LowerOwn(cx, v, t);
      if (!i.ok()) return i.take_trap();
      out->push_back(Value::I32(i.value()));
      return std::nullopt;
    }
    case TypeKind::kBorrow: {
      auto i = abi::LowerBorrow(cx, v, t);
      if (!i.ok()) return i.take_trap();
      out->push_back(Value::I32(i.value()));
      return std::nullopt;
    }
  }
  return AbiTrap("unknown type kind");
}

namespace {

// The types of a parameter list (fields) or of values (TypeRefs), read in
// place.
class TypeList {
 public:
  explicit TypeList(std::span<const TypeRef> refs) : refs_(refs.data()), n_(refs.size()) {}
  explicit TypeList(std::span<const Field> fields) : fields_(fields.data()), n_(fields.size()) {}
  size_t size() const { return n_; }
  const ValueType& operator[](size_t i) const { return refs_ ? *refs_[i] : *fields_[i].type; }

 private:
  const TypeRef* refs_ = nullptr;
  const Field* fields_ = nullptr;
  size_t n_;
};

// A function's result types: none or one.
TypeList ResultTypes(const FuncType& ft) {
  return TypeList(std::span<const TypeRef>(&ft.result, ft.result ? 1 : 0));
}

uint64_t FlatCount(const TypeList& types) {
  uint64_t n = 0;
  for (size_t i = 0; i < types.size(); ++i) n += FlatCount(types[i]);
  return n;
}

// Alignment and size of tuple<types...>, the spilled values' layout.
struct TupleLayout {
  uint32_t align = 1;
  uint32_t size = 0;
};

TupleLayout TupleLayoutOf(const TypeList& types) {
  TupleLayout l;
  uint64_t s = 0;
  for (size_t i = 0; i < types.size(); ++i) {
    uint32_t a = AlignOf(types[i]);
    l.align = std::max(l.align, a);
    s = abi::AlignTo(s, a) + SizeOf(types[i]);
  }
  s = abi::AlignTo(s, l.align);
  l.size = s > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(s);
  return l;
}

TrapOr<std::vector<Val>> LiftValues(LiftLowerContext& cx, uint32_t max_flat, FlatReader& in,
                                    const TypeList& types) {
  std::vector<Val> out;
  out.reserve(types.size());
  if (FlatCount(types) > max_flat) {
    // A tuple of the values in memory, loaded element by element.
    auto p = NextI32(in);
    if (!p.ok()) return p.take_trap();
    TupleLayout tuple = TupleLayoutOf(types);
    if (auto tr = abi::CheckAlign(p.value(), tuple.align, "spilled values")) return *tr;
    if (auto tr = abi::CheckBounds(cx, p.value(), tuple.size, "spilled values")) return *tr;
    if (auto tr = abi::CountNodes(cx, 1)) return *tr;  // the tuple
    uint64_t at = p.value();
    for (size_t i = 0; i < types.size(); ++i) {
      at = abi::AlignTo(at, AlignOf(types[i]));
      if (auto tr = abi::LoadInto(cx, static_cast<uint32_t>(at), types[i], &out.emplace_back()))
        return *std::move(tr);
      at += SizeOf(types[i]);
    }
    return out;
  }
  for (size_t i = 0; i < types.size(); ++i) {
    auto v = LiftFlat(cx, in, types[i]);
    if (!v.ok()) return v.take_trap();
    out.push_back(std::move(v).value());
  }
  return out;
}

MaybeTrap LowerValues(LiftLowerContext& cx, uint32_t max_flat, std::span<const Val> vals,
                      const TypeList& types, std::vector<Value>* out, FlatReader* out_param) {
  if (vals.size() != types.size())
    return AbiTrap(std::to_string(vals.size()) + " values given for " +
                   std::to_string(types.size()) + " types");
  if (FlatCount(types) > max_flat) {
    // A tuple of the values in memory, stored element by element.
    TupleLayout tuple = TupleLayoutOf(types);
    uint32_t ptr;
    if (!out_param) {
      auto p = abi::Reallocate(cx, 0, 0, tuple.align, tuple.size);
      if (!p.ok()) return p.take_trap();
      ptr = p.value();
      out->push_back(Value::I32(ptr));
      if (auto tr = abi::CheckReallocResult(cx, ptr, tuple.align, tuple.size)) return tr;
    } else {
      auto p = NextI32(*out_param);
      if (!p.ok()) return p.take_trap();
      ptr = p.value();
      if (auto tr = abi::CheckAlign(ptr, tuple.align, "return area")) return tr;
      if (auto tr = abi::CheckBounds(cx, ptr, tuple.size, "return area")) return tr;
    }
    uint64_t at = ptr;
    for (size_t i = 0; i < types.size(); ++i) {
      at = abi::AlignTo(at, AlignOf(types[i]));
      if (auto tr = abi::StoreAt(cx, vals[i], types[i], static_cast<uint32_t>(at))) return tr;
      at += SizeOf(types[i]);
    }
    return std::nullopt;
  }
  for (size_t i = 0; i < vals.size(); ++i)
    if (auto tr = LowerFlat(cx, vals[i], types[i], out)) return tr;
  return std::nullopt;
}

}  // namespace

TrapOr<std::vector<Val>> LiftFlatValues(LiftLowerContext& cx, uint32_t max_flat, FlatReader& in,
                                        std::span<const TypeRef> types) {
  return LiftValues(cx, max_flat, in, TypeList(types));
}

MaybeTrap LowerFlatValues(LiftLowerContext& cx, uint32_t max_flat, std::span<const Val> vals,
                          std::span<const TypeRef> types, std::vector<Value>* out,
                          FlatReader* out_param) {
  return LowerValues(cx, max_flat, vals, TypeList(types), out, out_param);
}

MaybeTrap LowerFuncArgs(LiftLowerContext& cx, const FuncType& ft, std::span<const Val> args,
                        std::vector<Value>* flat_args) {
  return LowerValues(cx, kMaxFlatParams, args, TypeList(ft.params), flat_args, nullptr);
}

TrapOr<std::vector<Val>> LiftFuncResults(LiftLowerContext& cx, const FuncType& ft,
                                         std::span<const Value> flat_results) {
  FlatReader in(flat_results);
  auto r = LiftValues(cx, kMaxFlatResults, in, ResultTypes(ft));
  if (r.ok() && !in.done())
    return AbiTrap("the core function returned " + std::to_string(flat_results.size()) +
                   " values, more than its type has");
  return r;
}

TrapOr<std::vector<Val>> LiftFuncArgs(LiftLowerContext& cx, const FuncType& ft,
                                      FlatReader& flat_args) {
  return LiftValues(cx, kMaxFlatParams, flat_args, TypeList(ft.params));
}

MaybeTrap LowerFuncResults(LiftLowerContext& cx, const FuncType& ft, std::span<const Val> results,
                           FlatReader& flat_args, std::vector<Value>* flat_results) {
  return LowerValues(cx, kMaxFlatResults, results, ResultTypes(ft), flat_results, &flat_args);
}

}  // namespace arcella::component
