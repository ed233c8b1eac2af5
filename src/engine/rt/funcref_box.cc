// Funcref boxes: a wasm2c funcref (type, code, instance) is 24 bytes; the
// engine passes references around as 64-bit handles. A box is interned per
// (instance, code) and lives until its instance is freed.
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "arcella_rt.h"

namespace {

struct Boxes {
  std::mutex mu;
  std::map<std::pair<uintptr_t, uintptr_t>, std::unique_ptr<wasm_rt_funcref_t>> by_key;
};

Boxes& boxes() {
  static Boxes* b = new Boxes;  // never destroyed: used until process exit
  return *b;
}

}  // namespace

extern "C" uint64_t arcella_funcref_box(wasm_rt_funcref_t f) {
  if (f.func == nullptr) return 0;
  Boxes& b = boxes();
  std::lock_guard<std::mutex> lock(b.mu);
  auto key = std::make_pair(reinterpret_cast<uintptr_t>(f.module_instance),
                            reinterpret_cast<uintptr_t>(f.func));
  auto& slot = b.by_key[key];
  if (!slot) slot = std::make_unique<wasm_rt_funcref_t>(f);
  return reinterpret_cast<uint64_t>(slot.get());
}

extern "C" wasm_rt_funcref_t arcella_funcref_unbox(uint64_t slot) {
  if (slot == 0) return wasm_rt_funcref_null_value;
  return *reinterpret_cast<const wasm_rt_funcref_t*>(slot);
}

extern "C" void arcella_funcref_release(const void* base, size_t size) {
  Boxes& b = boxes();
  std::lock_guard<std::mutex> lock(b.mu);
  uintptr_t lo = reinterpret_cast<uintptr_t>(base);
  auto it = b.by_key.lower_bound({lo, 0});
  while (it != b.by_key.end() && it->first.first < lo + size) it = b.by_key.erase(it);
}
