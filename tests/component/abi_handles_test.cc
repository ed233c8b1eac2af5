// Resource handles and the call protocol of the canonical ABI: handle tables,
// resource.new / rep / drop with destructors, own moves, borrow lending, the
// trap on borrows still held at the end of a call, post-return, and the
// traps on reentrance and on calls out of realloc or post-return.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "component/canonical_abi.h"

namespace arcella::component::abi_handles_test {

using engine::ValType;
using engine::Value;

ResourceRef NewResource(const std::string& name) {
  return std::make_shared<ResourceType>(ResourceType{name});
}

ResourceHandle Own(const ResourceRef& r, uint32_t rep) {
  return ResourceHandle{.rt = r, .rep = rep, .own = true, .borrow_task = 0, .num_lends = 0};
}

std::string TrapMessage(const MaybeTrap& t) { return t ? t->message : "(no trap)"; }
template <typename T>
std::string TrapMessage(const TrapOr<T>& t) {
  return t.ok() ? "(no trap)" : t.trap().message;
}

// A guest instance: state, memory, a bump realloc and canonical options.
struct GuestInstance {
  explicit GuestInstance(ComponentInstanceState* parent = nullptr) : state(parent), mem(4096) {
    memory.Reset(mem);
    opts = CanonOptions{.encoding = StringEncoding::kUtf8,
                        .memory = &memory,
                        .realloc = [this](uint32_t, uint32_t, uint32_t align,
                                          uint32_t size) -> TrapOr<uint32_t> {
                          if (on_realloc)
                            if (auto t = on_realloc()) return *t;
                          uint32_t p = (next + align - 1) / align * align;
                          next = p + size;
                          return p;
                        },
                        .post_return = {}};
  }
  ComponentInstanceState state;
  std::vector<uint8_t> mem;
  SpanMemory memory{std::span<uint8_t>()};
  uint32_t next = 1024;
  std::function<MaybeTrap()> on_realloc;
  CanonOptions opts;
};

TEST(AbiHandleTable, ReservesZeroReusesLastFreedAndChecksIndices) {
  auto r = NewResource("r");
  HandleTable t;
  EXPECT_EQ(TrapMessage(t.Get(0)), "canonical ABI: handle index 0 is reserved");
  EXPECT_EQ(t.Add(Own(r, 10)).value(), 1u);
  EXPECT_EQ(t.Add(Own(r, 20)).value(), 2u);
  EXPECT_EQ(t.Add(Own(r, 30)).value(), 3u);
  ASSERT_TRUE(t.Remove(2).ok());
  ASSERT_TRUE(t.Remove(1).ok());
  EXPECT_EQ(TrapMessage(t.Get(2)), "canonical ABI: handle index 2 is not in use");
  EXPECT_EQ(TrapMessage(t.Get(9)), "canonical ABI: handle index 9 out of bounds (table size 4)");
  EXPECT_EQ(t.live(), 1u);
  // Last freed first: 1, then 2, then a new slot.
  EXPECT_EQ(t.Add(Own(r, 40)).value(), 1u);
  EXPECT_EQ(t.Add(Own(r, 50)).value(), 2u);
  EXPECT_EQ(t.Add(Own(r, 60)).value(), 4u);
  EXPECT_EQ(t.Get(2).value()->rep, 50u);
  EXPECT_EQ(TrapMessage(t.Remove(7)), "canonical ABI: handle index 7 out of bounds (table size 5)");
}

TEST(AbiResources, NewRepDropCallTheDestructorOnce) {
  auto r = NewResource("file");
  auto other = NewResource("dir");
  GuestInstance impl;
  impl.state.DefineResource(r.get());
  std::vector<uint32_t> destroyed;
  bool entered_during_dtor = false;
  ResourceImpl ri{.type = r, .impl = &impl.state, .dtor = [&](uint32_t rep) -> MaybeTrap {
                    destroyed.push_back(rep);
                    entered_during_dtor = !impl.state.may_enter;
                    return std::nullopt;
                  }};
  GuestInstance user;  // another instance holding the handle
  auto h = CanonResourceNew(&user.state, r, 77);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.value(), 1u);
  EXPECT_EQ(CanonResourceRep(&user.state, r, 1).value(), 77u);
  EXPECT_EQ(TrapMessage(CanonResourceRep(&user.state, other, 1)),
            "canonical ABI: resource.rep of handle 1: it is a resource 'file', expected 'dir'");
  EXPECT_FALSE(CanonResourceDrop(&user.state, ri, 1));
  EXPECT_EQ(destroyed, std::vector<uint32_t>{77});
  EXPECT_TRUE(entered_during_dtor);
  EXPECT_TRUE(impl.state.may_enter);
  EXPECT_EQ(TrapMessage(CanonResourceDrop(&user.state, ri, 1)),
            "canonical ABI: handle index 1 is not in use");
  EXPECT_EQ(destroyed.size(), 1u);
  // A destructor of a running instance would reenter it: trap, no call.
  ASSERT_TRUE(CanonResourceNew(&user.state, r, 78).ok());
  impl.state.may_enter = false;
  EXPECT_NE(TrapMessage(CanonResourceDrop(&user.state, ri, 1)).find("reenter"), std::string::npos);
  EXPECT_EQ(destroyed.size(), 1u);
  ResourceImpl no_dtor{.type = r, .impl = &impl.state, .dtor = {}};
  EXPECT_NE(TrapMessage(CanonResourceDrop(&user.state, no_dtor, 1)).find("reenter"),
            std::string::npos);
  // The implementing instance itself may drop while it runs (it stays inside).
  auto own_inside = CanonResourceNew(&impl.state, r, 80);
  ASSERT_TRUE(own_inside.ok());
  EXPECT_FALSE(CanonResourceDrop(&impl.state, ri, own_inside.value()));
  EXPECT_EQ(destroyed.back(), 80u);
  destroyed.pop_back();
  impl.state.may_enter = true;
  // Dropping with the wrong resource type traps.
  ASSERT_TRUE(CanonResourceNew(&user.state, r, 79).ok());
  ResourceImpl wrong{.type = other, .impl = nullptr, .dtor = {}};
  EXPECT_NE(TrapMessage(CanonResourceDrop(&user.state, wrong, 1)).find("expected 'dir'"),
            std::string::npos);
}

TEST(AbiResources, OwnHandlesMoveIntoCallsAndLentHandlesStay) {
  auto r = NewResource("res");
  GuestInstance guest;
  auto own = CanonResourceNew(&guest.state, r, 5);
  auto lent = CanonResourceNew(&guest.state, r, 6);
  ASSERT_TRUE(own.ok() && lent.ok());

  // A host import taking own<res> and borrow<res>.
  FuncType ft{{{"o", ValueType::Own(r)}, {"b", ValueType::Borrow(r)}}, nullptr};
  uint32_t lends_seen = 99;
  std::string drop_during_call;
  FuncInst host = HostFuncInst([&](std::vector<Val> args) -> TrapOr<std::vector<Val>> {
    EXPECT_EQ(args[0].kind, TypeKind::kOwn);
    EXPECT_EQ(args[0].u, 5u);
    EXPECT_EQ(args[1].kind, TypeKind::kBorrow);
    EXPECT_EQ(args[1].u, 6u);
    EXPECT_EQ(args[1].resource, r);
    lends_seen = guest.state.handles().Get(lent.value()).value()->num_lends;
    drop_during_call = TrapMessage(
        CanonResourceDrop(&guest.state, ResourceImpl{.type = r, .impl = nullptr, .dtor = {}},
                          lent.value()));
    return std::vector<Val>{};
  });
  auto out = CanonLower(host, ft, guest.opts, &guest.state,
                        std::vector<Value>{Value::I32(own.value()), Value::I32(lent.value())});
  ASSERT_TRUE(out.ok()) << TrapMessage(out);
  EXPECT_EQ(lends_seen, 1u);
  EXPECT_EQ(drop_during_call, "canonical ABI: resource.drop of own handle 2 lent to 1 call(s)");
  // The own handle moved out; the borrowed one is back to no lends.
  EXPECT_EQ(TrapMessage(guest.state.handles().Get(own.value())),
            "canonical ABI: handle index 1 is not in use");
  EXPECT_EQ(guest.state.handles().Get(lent.value()).value()->num_lends, 0u);
  // Moving the same own handle again traps; so does passing a borrow as own.
  auto again = CanonLower(host, ft, guest.opts, &guest.state,
                          std::vector<Value>{Value::I32(own.value()), Value::I32(lent.value())});
  EXPECT_EQ(TrapMessage(again), "canonical ABI: handle index 1 is not in use");
  // A handle of another resource type is refused.
  auto other = NewResource("other");
  auto foreign = CanonResourceNew(&guest.state, other, 9);
  auto mismatch = CanonLower(host, ft, guest.opts, &guest.state,
                             std::vector<Value>{Value::I32(foreign.value()), Value::I32(2)});
  EXPECT_NE(TrapMessage(mismatch).find("is a resource 'other', expected 'res'"), std::string::npos);
}

TEST(AbiResources, LentOwnHandleCannotBeMovedWhileBorrowed) {
  auto r = NewResource("res");
  GuestInstance guest;
  auto h = CanonResourceNew(&guest.state, r, 5);
  // borrow and own of the same handle in one call: lent first, then moved.
  FuncType ft{{{"b", ValueType::Borrow(r)}, {"o", ValueType::Own(r)}}, nullptr};
  FuncInst host = HostFuncInst(
      [](std::vector<Val>) { return TrapOr<std::vector<Val>>(std::vector<Val>{}); });
  auto out = CanonLower(host, ft, guest.opts, &guest.state,
                        std::vector<Value>{Value::I32(h.value()), Value::I32(h.value())});
  EXPECT_EQ(TrapMessage(out),
            "canonical ABI: own handle 1 is lent to 1 call(s) and cannot be moved");
}

TEST(AbiCalls, BorrowsStillHeldWhenALiftedCallReturnsTrap) {
  auto r = NewResource("res");
  GuestInstance guest;
  FuncType ft{{{"self", ValueType::Borrow(r)}}, ValueType::U32()};
  bool drop = false;
  uint32_t seen_index = 0;
  FuncInst f = CanonLift(
      [&](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
        seen_index = args[0].i32;
        if (drop) {
          auto t = CanonResourceDrop(&guest.state,
                                     ResourceImpl{.type = r, .impl = nullptr, .dtor = {}},
                                     seen_index);
          if (t) return t;
        }
        results->push_back(Value::I32(seen_index));
        return std::nullopt;
      },
      ft, &guest.opts, &guest.state);
  auto kept = InvokeFunc(f, {Val::Borrow(r, 42)});
  EXPECT_EQ(TrapMessage(kept),
            "canonical ABI: 1 borrow handle(s) passed to the call were not dropped before it "
            "returned");
  EXPECT_NE(seen_index, 0u);
  EXPECT_TRUE(guest.state.may_enter);  // state restored for the embedder
  drop = true;
  auto dropped = InvokeFunc(f, {Val::Borrow(r, 42)});
  ASSERT_TRUE(dropped.ok()) << TrapMessage(dropped);
  // A borrow of a resource the callee itself implements arrives as its rep.
  GuestInstance impl;
  impl.state.DefineResource(r.get());
  FuncInst g = CanonLift(
      [&](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
        results->push_back(args[0]);
        return std::nullopt;
      },
      ft, &impl.opts, &impl.state);
  auto rep = InvokeFunc(g, {Val::Borrow(r, 42)});
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep.value()[0].u, 42u);
  EXPECT_EQ(impl.state.handles().live(), 0u);
}

TEST(AbiCalls, OwnHandlesCrossIntoAndOutOfLiftedCalls) {
  auto r = NewResource("res");
  GuestInstance guest;
  FuncType ft{{{"in", ValueType::Own(r)}}, ValueType::Own(r)};
  FuncInst f = CanonLift(
      [&](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
        // The argument is a new handle in the guest's table with the host's rep.
        EXPECT_EQ(guest.state.handles().Get(args[0].i32).value()->rep, 7u);
        auto made = CanonResourceNew(&guest.state, r, 8);
        if (!made.ok()) return made.trap();
        results->push_back(Value::I32(made.value()));
        return std::nullopt;
      },
      ft, &guest.opts, &guest.state);
  auto out = InvokeFunc(f, {Val::Own(r, 7)});
  ASSERT_TRUE(out.ok()) << TrapMessage(out);
  EXPECT_EQ(out.value()[0].kind, TypeKind::kOwn);
  EXPECT_EQ(out.value()[0].u, 8u);
  EXPECT_EQ(guest.state.handles().live(), 1u);  // the argument stays, the result moved out
}

TEST(AbiCalls, PostReturnRunsAfterResultsAndMayNotCallOut) {
  GuestInstance guest;
  FuncType ft{{{"s", ValueType::String()}}, ValueType::String()};
  std::vector<std::string> events;
  FuncInst import = HostFuncInst([&](std::vector<Val>) -> TrapOr<std::vector<Val>> {
    events.push_back("import");
    return std::vector<Val>{Val::String("x")};
  });
  bool call_out_in_post_return = false;
  guest.opts.post_return = [&](std::span<const Value> flat) -> MaybeTrap {
    events.push_back("post-return(" + std::to_string(flat[0].i32) + ")");
    EXPECT_FALSE(guest.state.may_leave);
    if (call_out_in_post_return) {
      std::vector<Value> args = {Value::I32(0), Value::I32(0), Value::I32(2000)};
      auto r = CanonLower(import, ft, guest.opts, &guest.state, args);
      if (!r.ok()) return r.trap();
      auto n = CanonResourceNew(&guest.state, NewResource("r"), 1);
      if (!n.ok()) return n.trap();
    }
    return std::nullopt;
  };
  FuncInst f = CanonLift(
      [&](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
        events.push_back("core(" + std::to_string(args[1].i32) + ")");
        uint32_t ret = 3000;
        std::memcpy(guest.mem.data() + ret, &args[0].i32, 4);  // echo the string
        std::memcpy(guest.mem.data() + ret + 4, &args[1].i32, 4);
        results->push_back(Value::I32(ret));
        return std::nullopt;
      },
      ft, &guest.opts, &guest.state);
  std::vector<Val> got;
  MaybeTrap t = f(
      nullptr, [] { return TrapOr<std::vector<Val>>(std::vector<Val>{Val::String("hello")}); },
      [&](std::vector<Val> results) -> MaybeTrap {
        events.push_back("resolve(" + results[0].str + ")");
        return std::nullopt;
      });
  ASSERT_FALSE(t) << t->message;
  EXPECT_EQ(events, (std::vector<std::string>{"core(5)", "resolve(hello)", "post-return(3000)"}));
  EXPECT_TRUE(guest.state.may_leave);
  call_out_in_post_return = true;
  t = f(
      nullptr, [] { return TrapOr<std::vector<Val>>(std::vector<Val>{Val::String("hello")}); },
      [](std::vector<Val>) -> MaybeTrap { return std::nullopt; });
  EXPECT_EQ(TrapMessage(t),
            "canonical ABI: a component instance called an import during realloc or "
            "post-return (may_leave is false)");
}

TEST(AbiCalls, ReallocMayNotCallOut) {
  GuestInstance guest;
  guest.on_realloc = [&]() -> MaybeTrap {
    auto r = CanonResourceNew(&guest.state, NewResource("r"), 1);
    if (!r.ok()) return r.trap();
    return std::nullopt;
  };
  FuncType ft{{{"s", ValueType::String()}}, nullptr};
  FuncInst f = CanonLift([](std::span<const Value>, std::vector<Value>*) { return MaybeTrap(); },
                         ft, &guest.opts, &guest.state);
  auto out = InvokeFunc(f, {Val::String("abc")});
  EXPECT_EQ(TrapMessage(out),
            "canonical ABI: resource.new called during realloc or post-return (may_leave is "
            "false)");
  EXPECT_TRUE(guest.state.may_leave);
}

TEST(AbiCalls, ReentranceTrapsButSiblingsAndChildrenMayBeEntered) {
  GuestInstance a;
  GuestInstance b;
  FuncType ft{{}, nullptr};
  FuncInst into_a;
  FuncInst into_b;
  std::string inner;
  bool b_calls_a = false;
  into_a = CanonLift(
      [&](std::span<const Value>, std::vector<Value>*) -> MaybeTrap {
        auto r = CanonLower(into_b, ft, a.opts, &a.state, {});
        if (!r.ok()) return r.trap();
        return std::nullopt;
      },
      ft, &a.opts, &a.state);
  into_b = CanonLift(
      [&](std::span<const Value>, std::vector<Value>*) -> MaybeTrap {
        EXPECT_FALSE(a.state.may_enter);
        EXPECT_FALSE(b.state.may_enter);
        if (b_calls_a) {
          auto r = CanonLower(into_a, ft, b.opts, &b.state, {});
          inner = TrapMessage(r);
          if (!r.ok()) return r.trap();
        }
        return std::nullopt;
      },
      ft, &b.opts, &b.state);
  auto ok = InvokeFunc(into_a, {});
  ASSERT_TRUE(ok.ok()) << TrapMessage(ok);
  EXPECT_TRUE(a.state.may_enter && b.state.may_enter);
  b_calls_a = true;
  auto re = InvokeFunc(into_a, {});
  EXPECT_EQ(inner, "canonical ABI: cannot enter a component instance that is already running "
                   "(reentrance)");
  EXPECT_FALSE(re.ok());
  EXPECT_TRUE(a.state.may_enter && b.state.may_enter);

  // Nested instances: entering a child from its parent enters only the child;
  // entering the child from the host enters the parent too.
  GuestInstance parent;
  GuestInstance child(&parent.state);
  EXPECT_TRUE(child.state.MayEnterFrom(&parent.state));
  child.state.EnterFrom(nullptr);
  EXPECT_FALSE(parent.state.may_enter);
  EXPECT_FALSE(child.state.MayEnterFrom(nullptr));
  child.state.LeaveTo(nullptr);
  parent.state.EnterFrom(nullptr);
  EXPECT_TRUE(child.state.MayEnterFrom(&parent.state));
  child.state.EnterFrom(&parent.state);
  EXPECT_FALSE(child.state.may_enter);
  EXPECT_FALSE(parent.state.may_enter);
  child.state.LeaveTo(&parent.state);
  EXPECT_FALSE(parent.state.may_enter);
  parent.state.LeaveTo(nullptr);
  EXPECT_TRUE(parent.state.may_enter && child.state.may_enter);
}

TEST(AbiCalls, CoreSignatureMismatchesAreTrapsNotCrashes) {
  GuestInstance guest;
  FuncType ft{{{"a", ValueType::U32()}, {"b", ValueType::U64()}}, ValueType::U32()};
  FuncInst host = HostFuncInst(
      [](std::vector<Val>) -> TrapOr<std::vector<Val>> { return std::vector<Val>{Val::U32(1)}; });
  auto few = CanonLower(host, ft, guest.opts, &guest.state, std::vector<Value>{Value::I32(1)});
  EXPECT_EQ(TrapMessage(few), "canonical ABI: lowered function takes 2 core values, got 1");
  auto typed = CanonLower(host, ft, guest.opts, &guest.state,
                          std::vector<Value>{Value::I32(1), Value::I32(2)});
  EXPECT_EQ(TrapMessage(typed), "canonical ABI: core value 1 is i32, expected i64");
  auto fine = CanonLower(host, ft, guest.opts, &guest.state,
                         std::vector<Value>{Value::I32(1), Value::I64(2)});
  ASSERT_TRUE(fine.ok());
  EXPECT_EQ(fine.value().size(), 1u);
  // A host function returning a value of the wrong shape is a trap too.
  FuncInst liar = HostFuncInst([](std::vector<Val>) -> TrapOr<std::vector<Val>> {
    return std::vector<Val>{Val::String("not a u32")};
  });
  auto lie = CanonLower(liar, ft, guest.opts, &guest.state,
                        std::vector<Value>{Value::I32(1), Value::I64(2)});
  EXPECT_NE(TrapMessage(lie).find("value does not match type u32"), std::string::npos);
}

}  // namespace arcella::component::abi_handles_test
