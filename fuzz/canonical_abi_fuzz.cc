// libFuzzer target for the canonical ABI's lifting of guest data
// (component/abi_*.cc): the input chooses a type (nested, every type
// constructor, handles), a string encoding, core values and the bytes of a
// linear memory. The value is loaded from memory and lifted from the core
// values; a trap must be clean ("canonical ABI: ..."), a lifted value must
// match its type, and storing it into a second memory (with a bump realloc,
// in another encoding) and loading it back must give an equal value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "component/canonical_abi.h"

using namespace arcella::component;
using arcella::engine::ValType;
using arcella::engine::Value;

namespace {

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  uint8_t Byte() { return i_ < n_ ? d_[i_++] : 0; }
  uint32_t U32() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= uint32_t{Byte()} << (8 * k);
    return v;
  }
  std::vector<uint8_t> Rest() { return {d_ + (i_ < n_ ? i_ : n_), d_ + n_}; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t i_ = 0;
};

const ResourceRef& Res(int i) {
  static const ResourceRef r[2] = {std::make_shared<ResourceType>(ResourceType{"a"}),
                                   std::make_shared<ResourceType>(ResourceType{"b"})};
  return r[i & 1];
}

std::vector<std::string> Labels(uint32_t n) {
  std::vector<std::string> l;
  for (uint32_t i = 0; i < n; ++i) l.push_back("l" + std::to_string(i));
  return l;
}

TypeRef MakeType(Input& in, int depth) {
  uint8_t b = in.Byte();
  uint8_t k = depth <= 0 ? b % 13 : b % 23;
  if (k < 13) return ValueType::Prim(static_cast<TypeKind>(k));
  uint8_t n = 1 + (in.Byte() % 4);
  switch (k) {
    case 13: {
      if (b & 0x80) return ValueType::FixedList(MakeType(in, depth - 1), n);
      if (b & 0x40) {  // map<k, v>: k a <keytype> primitive (not a float)
        auto key = static_cast<TypeKind>(in.Byte() % 13);
        if (!IsMapKey(key)) key = TypeKind::kString;
        return ValueType::Map(ValueType::Prim(key), MakeType(in, depth - 1));
      }
      return ValueType::List(MakeType(in, depth - 1));
    }
    case 14: {
      std::vector<Field> f;
      for (uint8_t i = 0; i < n; ++i)
        f.push_back({"f" + std::to_string(i), MakeType(in, depth - 1)});
      return ValueType::Record(f);
    }
    case 15: {
      std::vector<TypeRef> e;
      for (uint8_t i = 0; i < n; ++i) e.push_back(MakeType(in, depth - 1));
      return ValueType::Tuple(e);
    }
    case 16: {
      std::vector<Case> c;
      for (uint8_t i = 0; i < n; ++i)
        c.push_back({"c" + std::to_string(i), (b & (1 << i)) ? MakeType(in, depth - 1) : nullptr});
      return ValueType::Variant(c);
    }
    case 17: return ValueType::Enum(Labels((b & 0x80) ? 300 : n));
    case 18: return ValueType::Option(MakeType(in, depth - 1));
    case 19:
      return ValueType::Result((b & 0x40) ? MakeType(in, depth - 1) : nullptr,
                               (b & 0x80) ? MakeType(in, depth - 1) : nullptr);
    case 20: return ValueType::Flags(Labels(1 + in.Byte() % 32));
    case 21: return ValueType::Own(Res(b >> 7));
    default: return ValueType::Borrow(Res(b >> 7));
  }
}

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "canonical_abi_fuzz: %s\n", what);
    std::abort();
  }
}

void CheckTrap(const arcella::engine::Trap& t) {
  Check(t.message.rfind("canonical ABI: ", 0) == 0, t.message.c_str());
}

void Populate(ComponentInstanceState& inst, Task* task) {
  for (uint32_t i = 1; i <= 8; ++i) {
    bool own = i % 3 != 0;
    auto r = inst.handles().Add(ResourceHandle{.rt = Res(static_cast<int>(i)),
                                               .rep = 100 + i,
                                               .own = own,
                                               .borrow_task = own ? 0 : task->id,
                                               .num_lends = 0});
    Check(r.ok(), "table");
  }
}

// Stores `v` into a fresh memory in `enc`, loads it back, compares.
void RoundTrip(const Val& v, const ValueType& t, StringEncoding enc) {
  std::vector<uint8_t> mem(1 << 16);
  SpanMemory memory(mem);
  uint32_t next = 1024;
  CanonOptions opts{.encoding = enc,
                    .memory = &memory,
                    .realloc = [&](uint32_t old, uint32_t old_size, uint32_t align,
                                   uint32_t size) -> TrapOr<uint32_t> {
                      uint64_t p = (uint64_t{next} + align - 1) / align * align;
                      if (p + size > mem.size()) return static_cast<uint32_t>(mem.size());
                      next = static_cast<uint32_t>(p + size);
                      uint32_t keep = old_size < size ? old_size : size;
                      if (keep && uint64_t{old} + keep <= mem.size())
                        std::memmove(mem.data() + p, mem.data() + old, keep);
                      return static_cast<uint32_t>(p);
                    },
                    .post_return = {}};
  ComponentInstanceState inst;
  Task* task = inst.BeginTask();
  Subtask subtask;
  LiftLowerContext cx(opts, &inst);
  cx.task = task;
  cx.subtask = &subtask;
  uint32_t align = AlignOf(t);
  uint32_t at = (16 + align - 1) / align * align;
  if (uint64_t{at} + SizeOf(t) > 1024) return;  // too big for the test area
  auto st = Store(cx, v, t, at);
  if (st) {
    CheckTrap(*st);  // e.g. out of memory for a long list
    return;
  }
  auto back = Load(cx, at, t);
  if (!back.ok()) {
    CheckTrap(back.trap());
    return;
  }
  Check(ValEquals(back.value(), v), "round trip changed the value");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  TypeRef t = MakeType(in, 3);
  auto enc = static_cast<StringEncoding>(in.Byte() % 3);
  std::vector<ValType> flat_types;
  Flatten(*t, &flat_types);
  std::vector<Value> flat;
  for (ValType ft : flat_types) {
    if (flat.size() > 64) break;
    uint32_t lo = in.U32();
    switch (ft) {
      case ValType::kI64: flat.push_back(Value::I64((uint64_t{in.U32()} << 32) | lo)); break;
      case ValType::kF32: flat.push_back(Value::F32Bits(lo)); break;
      case ValType::kF64: flat.push_back(Value::F64Bits((uint64_t{in.U32()} << 32) | lo)); break;
      default: flat.push_back(Value::I32(lo % 4096)); break;
    }
  }
  std::vector<uint8_t> mem = in.Rest();
  SpanMemory memory(mem);
  CanonOptions opts{.encoding = enc, .memory = &memory, .realloc = {}, .post_return = {}};
  for (int mode = 0; mode < 2; ++mode) {
    ComponentInstanceState inst;
    Task* task = inst.BeginTask();
    Populate(inst, task);
    Subtask subtask;
    LiftLowerContext cx(opts, &inst);
    cx.subtask = &subtask;
    cx.max_lift_nodes = 100000;
    TrapOr<Val> v = Val();
    if (mode == 0) {
      FlatReader r(flat);
      v = LiftFlat(cx, r, *t);
    } else {
      v = Load(cx, 0, *t);
    }
    if (!v.ok()) {
      CheckTrap(v.trap());
      continue;
    }
    std::string why;
    Check(ValMatches(v.value(), *t, &why), why.c_str());
    RoundTrip(v.value(), *t, static_cast<StringEncoding>((static_cast<int>(enc) + 1) % 3));
  }
  return 0;
}
