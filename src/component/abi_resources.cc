// Canonical ABI handles: lifting and lowering own / borrow through the
// instance's handle table, and the resource.new / rep / drop built-ins
// (CanonicalABI.md lift_own, lift_borrow, lower_own, lower_borrow,
// canon_resource_*).
#include <string>

#include "component/abi_internal.h"

namespace arcella::component {

namespace abi {

namespace {

std::string ResName(const ResourceRef& r) { return r ? "'" + r->name + "'" : "(none)"; }

MaybeTrap CheckType(uint32_t i, const ResourceHandle& h, const ResourceRef& want) {
  if (h.rt.get() != want.get())
    return AbiTrap("handle " + std::to_string(i) + " is a resource " + ResName(h.rt) +
                   ", expected " + ResName(want));
  return std::nullopt;
}

TrapOr<uint32_t> RepOf(const Val& v, const ValueType& t) {
  if (v.kind != t.kind) return ShapeTrap(v, t);
  if (v.resource && v.resource.get() != t.resource.get())
    return ShapeTrap(v, t, "handle of resource " + ResName(v.resource));
  if (v.u > UINT32_MAX) return ShapeTrap(v, t, "representation " + Hex(v.u) + " is not 32-bit");
  return static_cast<uint32_t>(v.u);
}

}  // namespace

TrapOr<Val> LiftOwn(LiftLowerContext& cx, uint32_t i, const ValueType& t) {
  if (auto tr = CountNodes(cx, 1)) return *tr;
  // The spec removes the handle, then checks it; checking first leaves the
  // table intact after the trap (the outcome is the same trap).
  auto h = cx.inst->handles().Get(i);
  if (!h.ok()) return h.take_trap();
  if (auto tr = CheckType(i, *h.value(), t.resource)) return *tr;
  if (h.value()->num_lends != 0)
    return AbiTrap("own handle " + std::to_string(i) + " is lent to " +
                   std::to_string(h.value()->num_lends) + " call(s) and cannot be moved");
  if (!h.value()->own) return AbiTrap("handle " + std::to_string(i) + " is a borrow, expected own");
  uint32_t rep = h.value()->rep;
  (void)cx.inst->handles().Remove(i);
  return Val::Own(t.resource, rep);
}

TrapOr<Val> LiftBorrow(LiftLowerContext& cx, uint32_t i, const ValueType& t) {
  if (auto tr = CountNodes(cx, 1)) return *tr;
  if (!cx.subtask) return AbiTrap("a borrow handle is lifted outside a call's parameters");
  auto h = cx.inst->handles().Get(i);
  if (!h.ok()) return h.take_trap();
  if (auto tr = CheckType(i, *h.value(), t.resource)) return *tr;
  h.value()->num_lends++;
  cx.subtask->lenders.push_back(i);
  return Val::Borrow(t.resource, h.value()->rep);
}

TrapOr<uint32_t> LowerOwn(LiftLowerContext& cx, const Val& v, const ValueType& t) {
  auto rep = RepOf(v, t);
  if (!rep.ok()) return rep;
  return cx.inst->handles().Add(ResourceHandle{
      .rt = t.resource, .rep = rep.value(), .own = true, .borrow_task = 0, .num_lends = 0});
}

TrapOr<uint32_t> LowerBorrow(LiftLowerContext& cx, const Val& v, const ValueType& t) {
  auto rep = RepOf(v, t);
  if (!rep.ok()) return rep;
  if (!cx.task) return AbiTrap("a borrow handle is lowered outside a call's parameters");
  if (cx.inst->Implements(t.resource.get())) return rep;
  auto i = cx.inst->handles().Add(ResourceHandle{.rt = t.resource,
                                                 .rep = rep.value(),
                                                 .own = false,
                                                 .borrow_task = cx.task->id,
                                                 .num_lends = 0});
  if (i.ok()) cx.task->num_borrows++;
  return i;
}

}  // namespace abi

TrapOr<uint32_t> CanonResourceNew(ComponentInstanceState* inst, const ResourceRef& rt,
                                  uint32_t rep) {
  if (!inst->may_leave)
    return AbiTrap("resource.new called during realloc or post-return (may_leave is false)");
  return inst->handles().Add(
      ResourceHandle{.rt = rt, .rep = rep, .own = true, .borrow_task = 0, .num_lends = 0});
}

MaybeTrap CanonResourceDrop(ComponentInstanceState* inst, const ResourceImpl& rt, uint32_t index) {
  if (!inst->may_leave)
    return AbiTrap("resource.drop called during realloc or post-return (may_leave is false)");
  // Checked before the handle leaves the table (the spec removes first; the
  // trap is the same, the table stays intact).
  auto got = inst->handles().Get(index);
  if (!got.ok()) return got.take_trap();
  const ResourceHandle& h = *got.value();
  if (h.rt.get() != rt.type.get())
    return AbiTrap("resource.drop of handle " + std::to_string(index) + ": it is a resource '" +
                   (h.rt ? h.rt->name : "") + "', expected '" + (rt.type ? rt.type->name : "") +
                   "'");
  if (h.num_lends != 0)
    return AbiTrap("resource.drop of own handle " + std::to_string(index) + " lent to " +
                   std::to_string(h.num_lends) + " call(s)");
  if (!h.own) {
    Task* task = inst->FindTask(h.borrow_task);
    if (!task)
      return AbiTrap("resource.drop of borrow handle " + std::to_string(index) +
                     " whose call has ended");
    task->num_borrows--;
    (void)inst->handles().Remove(index);
    return std::nullopt;
  }
  // The destructor (even an absent one) is a call into the implementing
  // instance: the spec's reentrance check applies.
  if (rt.impl && !rt.impl->MayEnterFrom(inst))
    return AbiTrap("resource destructor of '" + (rt.type ? rt.type->name : "") +
                   "' would reenter its component instance");
  uint32_t rep = h.rep;
  (void)inst->handles().Remove(index);
  if (!rt.dtor) return std::nullopt;
  if (!rt.impl) return rt.dtor(rep);  // a host destructor
  rt.impl->EnterFrom(inst);
  MaybeTrap r = rt.dtor(rep);
  rt.impl->LeaveTo(inst);
  return r;
}

TrapOr<uint32_t> CanonResourceRep(ComponentInstanceState* inst, const ResourceRef& rt,
                                  uint32_t index) {
  auto h = inst->handles().Get(index);
  if (!h.ok()) return h.take_trap();
  if (h.value()->rt.get() != rt.get())
    return AbiTrap("resource.rep of handle " + std::to_string(index) + ": it is a resource '" +
                   (h.value()->rt ? h.value()->rt->name : "") + "', expected '" +
                   (rt ? rt->name : "") + "'");
  return h.value()->rep;
}

}  // namespace arcella::component
