#include "engine/interp/wabt_store.h"

#include <atomic>
#include <cstring>

namespace arcella::engine::interp::glue {

namespace {

constexpr int kRefShift = 40;
constexpr uint64_t kRefIndexMask = (uint64_t{1} << kRefShift) - 1;
constexpr size_t kGcThreshold = 4096;  // garbage objects tolerated between collections

std::atomic<uint64_t> g_next_group_id{1};

}  // namespace

StoreGroup::StoreGroup() : id(g_next_group_id.fetch_add(1) & 0xffffff) {
  objects_after_gc = store.object_count();
}

void StoreGroup::MaybeCollect(bool force) {
  if (!store.threads().empty()) return;  // a call is running in this group
  size_t n = store.object_count();
  if (!force && n < objects_after_gc + kGcThreshold) return;
  store.Collect();
  objects_after_gc = store.object_count();
}

GType FromWabtType(wabt::Type t) {
  switch (t) {
    case wabt::Type::I32: return GType::kI32;
    case wabt::Type::I64: return GType::kI64;
    case wabt::Type::F32: return GType::kF32;
    case wabt::Type::F64: return GType::kF64;
    case wabt::Type::V128: return GType::kV128;
    case wabt::Type::FuncRef: return GType::kFuncRef;
    case wabt::Type::ExternRef: return GType::kExternRef;
    default: return GType::kI32;  // not reachable for validated 2.0 modules
  }
}

wabt::Type ToWabtType(GType t) {
  switch (t) {
    case GType::kI32: return wabt::Type::I32;
    case GType::kI64: return wabt::Type::I64;
    case GType::kF32: return wabt::Type::F32;
    case GType::kF64: return wabt::Type::F64;
    case GType::kV128: return wabt::Type::V128;
    case GType::kFuncRef: return wabt::Type::FuncRef;
    case GType::kExternRef: return wabt::Type::ExternRef;
  }
  return wabt::Type::I32;
}

namespace {

uint32_t U32(const GValue& v) {
  uint32_t x;
  std::memcpy(&x, v.bits, 4);
  return x;
}
uint64_t U64(const GValue& v) {
  uint64_t x;
  std::memcpy(&x, v.bits, 8);
  return x;
}
void Put32(GValue* v, uint32_t x) { std::memcpy(v->bits, &x, 4); }
void Put64(GValue* v, uint64_t x) { std::memcpy(v->bits, &x, 8); }

}  // namespace

GValue FromWabt(StoreGroup& g, wabt::Type t, const wi::Value& v) {
  GValue out;
  out.type = FromWabtType(t);
  switch (out.type) {
    case GType::kI32:
    case GType::kF32:  // raw bits: NaN payloads preserved
      Put32(&out, v.Get<wi::u32>());
      break;
    case GType::kI64:
    case GType::kF64: Put64(&out, v.Get<wi::u64>()); break;
    case GType::kV128: {
      ::v128 x = v.Get<::v128>();
      std::memcpy(out.bits, &x, 16);
      break;
    }
    case GType::kFuncRef: {
      wi::Ref r = v.Get<wi::Ref>();
      if (r == wi::Ref::Null) out.null = true;
      else Put64(&out, (g.id << kRefShift) | (r.index & kRefIndexMask));
      break;
    }
    case GType::kExternRef: {
      wi::Ref r = v.Get<wi::Ref>();
      if (r == wi::Ref::Null) {
        out.null = true;
      } else if (g.store.Is<wi::Foreign>(r)) {
        Put64(&out, reinterpret_cast<uint64_t>(g.store.UnsafeGet<wi::Foreign>(r)->ptr()));
      } else {
        Put64(&out, r.index);  // an object the host did not create: opaque
      }
      break;
    }
  }
  return out;
}

std::optional<std::string> ToWabt(StoreGroup& g, const GValue& v, wi::Value* out) {
  switch (v.type) {
    case GType::kI32:
    case GType::kF32:
      *out = wi::Value::Make(wi::u32{U32(v)});  // bit-exact
      return std::nullopt;
    case GType::kI64:
    case GType::kF64: *out = wi::Value::Make(wi::u64{U64(v)}); return std::nullopt;
    case GType::kV128: {
      ::v128 x;
      std::memcpy(&x, v.bits, 16);
      *out = wi::Value::Make(x);
      return std::nullopt;
    }
    case GType::kFuncRef: {
      if (v.null) {
        *out = wi::Value::Make(wi::Ref::Null);
        return std::nullopt;
      }
      uint64_t h = U64(v);
      if ((h >> kRefShift) != g.id)
        return std::string("funcref belongs to another interpreter store group");
      wi::Ref r{static_cast<size_t>(h & kRefIndexMask)};
      if (!g.store.IsValid(r) || !g.store.Is<wi::Func>(r))
        return std::string("stale or invalid funcref handle");
      *out = wi::Value::Make(r);
      return std::nullopt;
    }
    case GType::kExternRef: {
      if (v.null) {
        *out = wi::Value::Make(wi::Ref::Null);
        return std::nullopt;
      }
      auto foreign = wi::Foreign::New(g.store, reinterpret_cast<void*>(U64(v)));
      *out = wi::Value::Make(foreign.ref());
      return std::nullopt;
    }
  }
  return std::string("unknown value type");
}

namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// "kind: detail" -> detail; exact kind -> "".
std::string Detail(const std::string& msg, const char* prefix) {
  std::string rest = msg.substr(std::strlen(prefix));
  if (StartsWith(rest, ": ")) rest = rest.substr(2);
  return rest;
}

}  // namespace

Trap TrapFromMessage(const std::string& msg) {
  struct Rule {
    const char* prefix;
    TrapKind kind;
  };
  static const Rule kRules[] = {
      {"unreachable executed", TrapKind::kUnreachable},
      {"unreachable", TrapKind::kUnreachable},
      {"out of bounds memory access", TrapKind::kMemoryOutOfBounds},
      {"out of bounds table access", TrapKind::kTableOutOfBounds},
      {"undefined table index", TrapKind::kIndirectCallNull},
      {"uninitialized table element", TrapKind::kIndirectCallNull},
      {"indirect call signature mismatch", TrapKind::kIndirectCallTypeMismatch},
      {"call stack exhausted", TrapKind::kStackExhausted},
      {"value stack exhausted", TrapKind::kStackExhausted},
      {"integer divide by zero", TrapKind::kIntegerDivideByZero},
      {"integer overflow", TrapKind::kIntegerOverflow},
      {"invalid conversion to integer", TrapKind::kBadConversion},
      {"null", TrapKind::kNullReference},
  };
  Trap t;
  for (const Rule& r : kRules) {
    if (StartsWith(msg, r.prefix)) {
      t.kind = r.kind;
      t.message = Detail(msg, r.prefix);
      return t;
    }
  }
  t.kind = TrapKind::kHostError;
  t.message = msg;
  return t;
}

}  // namespace arcella::engine::interp::glue
