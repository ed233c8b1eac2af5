#include "engine/types.h"

#include <cinttypes>
#include <cstdio>

#include "engine/engine.h"

namespace arcella::engine {

const char* ValTypeName(ValType t) {
  switch (t) {
    case ValType::kI32: return "i32";
    case ValType::kI64: return "i64";
    case ValType::kF32: return "f32";
    case ValType::kF64: return "f64";
    case ValType::kV128: return "v128";
    case ValType::kFuncRef: return "funcref";
    case ValType::kExternRef: return "externref";
  }
  return "?";
}

const char* ExternKindName(ExternKind k) {
  switch (k) {
    case ExternKind::kFunc: return "func";
    case ExternKind::kTable: return "table";
    case ExternKind::kMemory: return "memory";
    case ExternKind::kGlobal: return "global";
    case ExternKind::kTag: return "tag";
  }
  return "?";
}

const char* TierName(Tier t) {
  switch (t) {
    case Tier::kAuto: return "auto";
    case Tier::kAot: return "aot";
    case Tier::kInterp: return "interp";
  }
  return "?";
}

std::string Value::ToString() const {
  char buf[96];
  switch (type) {
    case ValType::kI32: snprintf(buf, sizeof buf, "i32:%" PRId32, static_cast<int32_t>(i32)); break;
    case ValType::kI64: snprintf(buf, sizeof buf, "i64:%" PRId64, static_cast<int64_t>(i64)); break;
    case ValType::kF32: snprintf(buf, sizeof buf, "f32:%.9g", static_cast<double>(f32)); break;
    case ValType::kF64: snprintf(buf, sizeof buf, "f64:%.17g", f64); break;
    case ValType::kV128: {
      std::string s = "v128:0x";
      for (int i = 15; i >= 0; --i) {
        snprintf(buf, sizeof buf, "%02x", v128[i]);
        s += buf;
      }
      return s;
    }
    case ValType::kFuncRef:
      if (ref_null) return "funcref:null";
      snprintf(buf, sizeof buf, "funcref:%" PRIu64, ref);
      break;
    case ValType::kExternRef:
      if (ref_null) return "externref:null";
      snprintf(buf, sizeof buf, "externref:%" PRIu64, ref);
      break;
  }
  return buf;
}

static std::string TypeList(const std::vector<ValType>& ts) {
  std::string s = "(";
  for (size_t i = 0; i < ts.size(); ++i) {
    if (i) s += ", ";
    s += ValTypeName(ts[i]);
  }
  return s + ")";
}

std::string FuncType::ToString() const { return TypeList(params) + " -> " + TypeList(results); }

}  // namespace arcella::engine
