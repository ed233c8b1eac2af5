// Canonical ABI runtime state and checks: traps, memory bounds, realloc,
// and the per-instance flags of the spec's ComponentInstance.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "component/abi_internal.h"
#include "component/canonical_abi.h"

namespace arcella::component {

engine::Trap AbiTrap(std::string rule) {
  engine::Trap t;
  t.kind = engine::TrapKind::kHostError;
  t.message = "canonical ABI: " + std::move(rule);
  return t;
}

const char* StringEncodingName(StringEncoding e) {
  switch (e) {
    case StringEncoding::kUtf8: return "utf8";
    case StringEncoding::kUtf16: return "utf16";
    case StringEncoding::kLatin1Utf16: return "latin1+utf16";
  }
  return "?";
}

namespace abi {

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

engine::Trap ShapeTrap(const Val& v, const ValueType& t, const std::string& problem) {
  std::string msg = "value does not match type " + TypeToString(t);
  if (v.kind != ValKindOf(t)) msg += std::string(" (got a ") + TypeKindName(v.kind) + ")";
  if (!problem.empty()) msg += ": " + problem;
  return AbiTrap(msg);
}

float CanonF32(float f) { return std::isnan(f) ? BitsF32(0x7fc00000u) : f; }
double CanonF64(double d) { return std::isnan(d) ? BitsF64(0x7ff8000000000000ull) : d; }

MaybeTrap CheckChar(uint32_t c) {
  if (c >= 0x110000 || (c >= 0xD800 && c <= 0xDFFF))
    return AbiTrap("char " + Hex(c) + " is not a Unicode scalar value");
  return std::nullopt;
}

TrapOr<std::span<uint8_t>> Memory(LiftLowerContext& cx) {
  if (!cx.opts->memory)
    return AbiTrap(
        "a string, list or spilled value needs memory but the canonical options have none");
  return cx.opts->memory->Bytes();
}

MaybeTrap CheckBounds(LiftLowerContext& cx, uint64_t ptr, uint64_t len, const char* what) {
  auto mem = Memory(cx);
  if (!mem.ok()) return mem.take_trap();
  if (ptr + len > mem.value().size())
    return AbiTrap(std::string(what) + " at " + Hex(ptr) + " of " + std::to_string(len) +
                   " bytes is out of bounds of memory (" + std::to_string(mem.value().size()) +
                   " bytes)");
  return std::nullopt;
}

MaybeTrap CheckAlign(uint64_t ptr, uint32_t align, const char* what) {
  if (ptr % align != 0)
    return AbiTrap(std::string(what) + " pointer " + Hex(ptr) + " is not " + std::to_string(align) +
                   "-byte aligned");
  return std::nullopt;
}

MaybeTrap CheckReallocResult(LiftLowerContext& cx, uint32_t ptr, uint32_t align, uint64_t len) {
  if (align > 1 && ptr % align != 0)
    return AbiTrap("realloc returned misaligned pointer " + Hex(ptr) + " (alignment " +
                   std::to_string(align) + ")");
  auto mem = Memory(cx);
  if (!mem.ok()) return mem.take_trap();
  if (uint64_t{ptr} + len > mem.value().size())
    return AbiTrap("realloc returned pointer " + Hex(ptr) + " for " + std::to_string(len) +
                   " bytes, past the end of memory (" + std::to_string(mem.value().size()) +
                   " bytes)");
  return std::nullopt;
}

TrapOr<uint32_t> Reallocate(LiftLowerContext& cx, uint32_t old_ptr, uint32_t old_size,
                            uint32_t align, uint32_t new_size) {
  if (!cx.opts->realloc)
    return AbiTrap("a string or list must be allocated but the canonical options have no realloc");
  if (!cx.inst->may_leave) return AbiTrap("realloc called while the instance may not leave");
  cx.inst->may_leave = false;
  auto r = cx.opts->realloc(old_ptr, old_size, align, new_size);
  cx.inst->may_leave = true;
  return r;
}

MaybeTrap CountNodes(LiftLowerContext& cx, uint64_t n) {
  cx.lift_nodes += n;
  if (cx.lift_nodes > cx.max_lift_nodes)
    return AbiTrap("lifted value has more than " + std::to_string(cx.max_lift_nodes) +
                   " parts (max_lift_nodes)");
  return std::nullopt;
}

}  // namespace abi

// ---------------------------------------------------------------- instance state

namespace {

bool IsAncestorOrSelf(const ComponentInstanceState* a, const ComponentInstanceState* of) {
  for (const ComponentInstanceState* p = of; p; p = p->parent())
    if (p == a) return true;
  return false;
}

}  // namespace

// The entering set: self and ancestors that are not the caller or its ancestors.
bool ComponentInstanceState::MayEnterFrom(const ComponentInstanceState* caller) const {
  for (const ComponentInstanceState* p = this; p; p = p->parent())
    if (!IsAncestorOrSelf(p, caller) && !p->may_enter) return false;
  return true;
}

void ComponentInstanceState::EnterFrom(const ComponentInstanceState* caller) {
  for (ComponentInstanceState* p = this; p; p = p->parent())
    if (!IsAncestorOrSelf(p, caller)) p->may_enter = false;
}

void ComponentInstanceState::LeaveTo(const ComponentInstanceState* caller) {
  for (ComponentInstanceState* p = this; p; p = p->parent())
    if (!IsAncestorOrSelf(p, caller)) p->may_enter = true;
}

bool ComponentInstanceState::Implements(const ResourceType* rt) const {
  return std::find(defined_.begin(), defined_.end(), rt) != defined_.end();
}

Task* ComponentInstanceState::BeginTask() {
  auto t = std::make_unique<Task>();
  t->id = next_task_id_++;
  tasks_.push_back(std::move(t));
  return tasks_.back().get();
}

void ComponentInstanceState::EndTask(Task* task) {
  auto it = std::find_if(tasks_.begin(), tasks_.end(),
                         [&](const std::unique_ptr<Task>& t) { return t.get() == task; });
  if (it != tasks_.end()) tasks_.erase(it);
}

Task* ComponentInstanceState::FindTask(uint64_t id) {
  for (auto& t : tasks_)
    if (t->id == id) return t.get();
  return nullptr;
}

}  // namespace arcella::component
