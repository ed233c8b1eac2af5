// Canonical ABI loading and storing of values in linear memory
// (CanonicalABI.md "Loading" and "Storing").
#include <string>
#include <vector>

#include "component/abi_internal.h"

namespace arcella::component {

namespace abi {
namespace {

// Moves a lifted value (or its trap) into *out.
MaybeTrap Assign(TrapOr<Val> v, Val* out) {
  if (!v.ok()) return v.take_trap();
  *out = std::move(v).value();
  return std::nullopt;
}

MaybeTrap LoadRecordInto(LiftLowerContext& cx, uint32_t ptr, const ValueType& t, Val* out) {
  out->kind = t.kind;  // kRecord or kTuple
  out->items.reserve(t.fields.size());
  uint64_t p = ptr;
  for (const auto& f : t.fields) {
    p = AlignTo(p, AlignOf(*f.type));
    if (auto tr = LoadInto(cx, static_cast<uint32_t>(p), *f.type, &out->items.emplace_back()))
      return tr;
    p += SizeOf(*f.type);
  }
  return std::nullopt;
}

TrapOr<Val> LoadVariant(LiftLowerContext& cx, uint32_t ptr, const ValueType& t) {
  std::vector<const ValueType*> cases;
  CaseTypes(t, &cases);
  uint32_t disc_size = DiscriminantSize(cases.size());
  auto mem = cx.opts->memory->Bytes();
  uint64_t index = LoadInt(mem, ptr, disc_size);
  if (index >= cases.size())
    return AbiTrap(std::string(TypeKindName(t.kind)) + " case index " + std::to_string(index) +
                   " out of range (" + std::to_string(cases.size()) + " cases)");
  uint64_t p = AlignTo(uint64_t{ptr} + disc_size, MaxCaseAlignment(cases));
  std::vector<Val> payload;
  if (const ValueType* c = cases[index]) {
    auto v = LoadAt(cx, static_cast<uint32_t>(p), *c);
    if (!v.ok()) return v.take_trap();
    payload.push_back(std::move(v).value());
  }
  return abi::MakeCase(t, static_cast<uint32_t>(index), std::move(payload));
}

}  // namespace

// Fills *out (a default Val) in place, as the Val factories would make it:
// no intermediate Val to move for records, lists, strings and scalars.
MaybeTrap LoadInto(LiftLowerContext& cx, uint32_t ptr, const ValueType& t, Val* out) {
  if (auto tr = CountNodes(cx, 1)) return tr;
  auto mem = cx.opts->memory->Bytes();
  out->kind = t.kind;
  switch (t.kind) {
    case TypeKind::kBool: out->b = mem[ptr] != 0; return std::nullopt;
    case TypeKind::kU8: out->u = mem[ptr]; return std::nullopt;
    case TypeKind::kU16: out->u = static_cast<uint16_t>(LoadInt(mem, ptr, 2)); return std::nullopt;
    case TypeKind::kU32: out->u = static_cast<uint32_t>(LoadInt(mem, ptr, 4)); return std::nullopt;
    case TypeKind::kU64: out->u = LoadInt(mem, ptr, 8); return std::nullopt;
    case TypeKind::kS8:  // sign-extended without a signed char (bugprone-signed-char-misuse)
      out->s = static_cast<int64_t>(mem[ptr] ^ 0x80u) - 0x80;
      return std::nullopt;
    case TypeKind::kS16: out->s = static_cast<int16_t>(LoadInt(mem, ptr, 2)); return std::nullopt;
    case TypeKind::kS32: out->s = static_cast<int32_t>(LoadInt(mem, ptr, 4)); return std::nullopt;
    case TypeKind::kS64: out->s = static_cast<int64_t>(LoadInt(mem, ptr, 8)); return std::nullopt;
    case TypeKind::kF32:
      out->f32 = CanonF32(BitsF32(static_cast<uint32_t>(LoadInt(mem, ptr, 4))));
      return std::nullopt;
    case TypeKind::kF64: out->f64 = CanonF64(BitsF64(LoadInt(mem, ptr, 8))); return std::nullopt;
    case TypeKind::kChar: {
      auto c = static_cast<uint32_t>(LoadInt(mem, ptr, 4));
      if (auto tr = CheckChar(c)) return tr;
      out->c = c;
      return std::nullopt;
    }
    case TypeKind::kString: {
      auto begin = static_cast<uint32_t>(LoadInt(mem, ptr, 4));
      auto units = static_cast<uint32_t>(LoadInt(mem, ptr + 4, 4));
      return LoadStringInto(cx, begin, units, out);
    }
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      out->kind = TypeKind::kList;
      if (t.length) {
        if (cx.lift_nodes + t.length > cx.max_lift_nodes) return CountNodes(cx, t.length);
        out->items.reserve(t.length);
        uint32_t size = SizeOf(*t.elem);
        for (uint32_t i = 0; i < t.length; ++i)
          if (auto tr = LoadInto(cx, ptr + i * size, *t.elem, &out->items.emplace_back()))
            return tr;
        return std::nullopt;
      }
      auto begin = static_cast<uint32_t>(LoadInt(mem, ptr, 4));
      auto length = static_cast<uint32_t>(LoadInt(mem, ptr + 4, 4));
      return Assign(LoadListFromRange(cx, begin, length, *t.elem), out);
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: return LoadRecordInto(cx, ptr, t, out);
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: return Assign(LoadVariant(cx, ptr, t), out);
    case TypeKind::kFlags:
      out->u = LoadInt(mem, ptr, SizeOf(t)) & abi::FlagsMask(t.labels.size());
      return std::nullopt;
    case TypeKind::kOwn:
      return Assign(LiftOwn(cx, static_cast<uint32_t>(LoadInt(mem, ptr, 4)), t), out);
    case TypeKind::kBorrow:
      return Assign(LiftBorrow(cx, static_cast<uint32_t>(LoadInt(mem, ptr, 4)), t), out);
  }
  return AbiTrap("unknown type kind");
}

TrapOr<Val> LoadAt(LiftLowerContext& cx, uint32_t ptr, const ValueType& t) {
  Val v;
  if (auto tr = LoadInto(cx, ptr, t, &v)) return *std::move(tr);
  return v;
}

namespace {

// Writes through a fresh view of memory (realloc may have moved it).
void Put(LiftLowerContext& cx, uint32_t ptr, uint64_t v, uint32_t n) {
  StoreInt(cx.opts->memory->Bytes(), ptr, v, n);
}

MaybeTrap CheckIntRange(const Val& v, const ValueType& t) {
  bool ok = true;
  switch (t.kind) {
    case TypeKind::kU8: ok = v.u <= UINT8_MAX; break;
    case TypeKind::kU16: ok = v.u <= UINT16_MAX; break;
    case TypeKind::kU32: ok = v.u <= UINT32_MAX; break;
    case TypeKind::kS8: ok = v.s >= INT8_MIN && v.s <= INT8_MAX; break;
    case TypeKind::kS16: ok = v.s >= INT16_MIN && v.s <= INT16_MAX; break;
    case TypeKind::kS32: ok = v.s >= INT32_MIN && v.s <= INT32_MAX; break;
    default: break;
  }
  if (!ok) return ShapeTrap(v, t, "integer out of range");
  return std::nullopt;
}

MaybeTrap StoreVariant(LiftLowerContext& cx, const Val& v, const ValueType& t, uint32_t ptr) {
  std::vector<const ValueType*> cases;
  CaseTypes(t, &cases);
  if (v.index >= cases.size()) return ShapeTrap(v, t, "case index out of range");
  const ValueType* c = cases[v.index];
  if ((c != nullptr) != v.has_payload() || v.items.size() > 1)
    return ShapeTrap(v, t, "payload does not match the case");
  uint32_t disc_size = DiscriminantSize(cases.size());
  Put(cx, ptr, v.index, disc_size);
  uint64_t p = AlignTo(uint64_t{ptr} + disc_size, MaxCaseAlignment(cases));
  if (c) return StoreAt(cx, v.items[0], *c, static_cast<uint32_t>(p));
  return std::nullopt;
}

}  // namespace

MaybeTrap StoreAt(LiftLowerContext& cx, const Val& v, const ValueType& t, uint32_t ptr) {
  if (v.kind != ValKindOf(t)) return ShapeTrap(v, t);
  if (auto tr = CheckIntRange(v, t)) return tr;
  switch (t.kind) {
    case TypeKind::kBool: Put(cx, ptr, v.b ? 1 : 0, 1); return std::nullopt;
    case TypeKind::kU8:
    case TypeKind::kU16:
    case TypeKind::kU32:
    case TypeKind::kU64: Put(cx, ptr, v.u, SizeOf(t)); return std::nullopt;
    case TypeKind::kS8:
    case TypeKind::kS16:
    case TypeKind::kS32:
    case TypeKind::kS64: Put(cx, ptr, static_cast<uint64_t>(v.s), SizeOf(t)); return std::nullopt;
    case TypeKind::kF32: Put(cx, ptr, F32Bits(CanonF32(v.f32)), 4); return std::nullopt;
    case TypeKind::kF64: Put(cx, ptr, F64Bits(CanonF64(v.f64)), 8); return std::nullopt;
    case TypeKind::kChar:
      if (auto tr = CheckChar(v.c)) return tr;
      Put(cx, ptr, v.c, 4);
      return std::nullopt;
    case TypeKind::kString: {
      auto r = StoreStringIntoRange(cx, v);
      if (!r.ok()) return r.take_trap();
      Put(cx, ptr, r.value().first, 4);
      Put(cx, ptr + 4, r.value().second, 4);
      return std::nullopt;
    }
    case TypeKind::kMap:  // despecialises to list<tuple<k, v>>
    case TypeKind::kList: {
      if (t.length) {
        if (v.items.size() != t.length) return ShapeTrap(v, t, "wrong number of elements");
        uint32_t size = SizeOf(*t.elem);
        for (uint32_t i = 0; i < t.length; ++i)
          if (auto tr = StoreAt(cx, v.items[i], *t.elem, ptr + i * size)) return tr;
        return std::nullopt;
      }
      auto r = StoreListIntoRange(cx, v, *t.elem);
      if (!r.ok()) return r.take_trap();
      Put(cx, ptr, r.value().first, 4);
      Put(cx, ptr + 4, r.value().second, 4);
      return std::nullopt;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      if (v.items.size() != t.fields.size()) return ShapeTrap(v, t, "wrong number of fields");
      uint64_t p = ptr;
      for (size_t i = 0; i < t.fields.size(); ++i) {
        const ValueType& ft = *t.fields[i].type;
        p = AlignTo(p, AlignOf(ft));
        if (auto tr = StoreAt(cx, v.items[i], ft, static_cast<uint32_t>(p))) return tr;
        p += SizeOf(ft);
      }
      return std::nullopt;
    }
    case TypeKind::kVariant:
    case TypeKind::kEnum:
    case TypeKind::kOption:
    case TypeKind::kResult: return StoreVariant(cx, v, t, ptr);
    case TypeKind::kFlags:
      if (v.u & ~abi::FlagsMask(t.labels.size()))
        return ShapeTrap(v, t, "flag bit past the labels");
      Put(cx, ptr, v.u, SizeOf(t));
      return std::nullopt;
    case TypeKind::kOwn: {
      auto i = LowerOwn(cx, v, t);
      if (!i.ok()) return i.take_trap();
      Put(cx, ptr, i.value(), 4);
      return std::nullopt;
    }
    case TypeKind::kBorrow: {
      auto i = LowerBorrow(cx, v, t);
      if (!i.ok()) return i.take_trap();
      Put(cx, ptr, i.value(), 4);
      return std::nullopt;
    }
  }
  return AbiTrap("unknown type kind");
}

TrapOr<Val> LoadListFromRange(LiftLowerContext& cx, uint32_t ptr, uint32_t length,
                              const ValueType& elem) {
  uint32_t size = SizeOf(elem);
  uint64_t bytes = uint64_t{length} * size;
  if (bytes > kMaxListByteLength)
    return AbiTrap("list of " + std::to_string(length) + " elements (" + std::to_string(bytes) +
                   " bytes) is longer than 2^28-1 bytes");
  if (auto tr = CheckAlign(ptr, AlignOf(elem), "list")) return *tr;
  if (auto tr = CheckBounds(cx, ptr, bytes, "list")) return *tr;
  if (cx.lift_nodes + length > cx.max_lift_nodes) return CountNodes(cx, length).value();
  Val list = Val::List({});
  list.items.reserve(length);
  for (uint32_t i = 0; i < length; ++i)
    if (auto tr = LoadInto(cx, ptr + i * size, elem, &list.items.emplace_back()))
      return *std::move(tr);
  return list;
}

TrapOr<std::pair<uint32_t, uint32_t>> StoreListIntoRange(LiftLowerContext& cx, const Val& v,
                                                         const ValueType& elem) {
  if (v.kind != TypeKind::kList) return ShapeTrap(v, elem, "expected a list");
  uint32_t size = SizeOf(elem);
  uint32_t align = AlignOf(elem);
  uint64_t bytes = uint64_t{v.items.size()} * size;
  if (bytes > UINT32_MAX) return AbiTrap("list of " + std::to_string(bytes) + " bytes is too long");
  auto p = Reallocate(cx, 0, 0, align, static_cast<uint32_t>(bytes));
  if (!p.ok()) return p.take_trap();
  uint32_t ptr = p.value();
  if (auto tr = CheckReallocResult(cx, ptr, align, bytes)) return *tr;
  for (size_t i = 0; i < v.items.size(); ++i)
    if (auto tr = StoreAt(cx, v.items[i], elem, ptr + static_cast<uint32_t>(i) * size)) return *tr;
  return std::pair<uint32_t, uint32_t>{ptr, static_cast<uint32_t>(v.items.size())};
}

}  // namespace abi

TrapOr<Val> Load(LiftLowerContext& cx, uint32_t ptr, const ValueType& t) {
  if (auto tr = abi::CheckAlign(ptr, AlignOf(t), "load")) return *tr;
  if (auto tr = abi::CheckBounds(cx, ptr, SizeOf(t), "load")) return *tr;
  return abi::LoadAt(cx, ptr, t);
}

MaybeTrap Store(LiftLowerContext& cx, const Val& v, const ValueType& t, uint32_t ptr) {
  if (auto tr = abi::CheckAlign(ptr, AlignOf(t), "store")) return tr;
  if (auto tr = abi::CheckBounds(cx, ptr, SizeOf(t), "store")) return tr;
  return abi::StoreAt(cx, v, t, ptr);
}

}  // namespace arcella::component
