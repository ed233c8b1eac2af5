// Shared by the wasip2_*_test.cc files: a WASI 0.2 host state over a
// WasiConfig, and calls of its host functions by interface and name, as the
// component instance makes them (lifted values in, results out).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "component/wasip2/host.h"
#include "component/wasip2/state.h"
#include "wasi/wasi.h"

namespace arcella::component {

class P2Host {
 public:
  explicit P2Host(wasi::WasiConfig cfg = {}) {
    auto p1 = wasi::WasiCtx::Create(std::move(cfg));
    EXPECT_TRUE(p1.ok()) << p1.status().ToString();
    st = std::make_shared<WasiP2State>(*p1);
    defs = AllWasiDefs(st);
  }

  // `iface` without a version ("wasi:io/streams").
  TrapOr<std::vector<Val>> Call(std::string_view iface, std::string_view fn,
                                std::vector<Val> args = {}) {
    std::string q = std::string(iface) + "@0.2.12";
    for (auto& d : defs)
      if (d.name == q)
        for (auto& [name, impl] : d.impls)
          if (name == fn) return impl(std::move(args));
    ADD_FAILURE() << "no host function " << q << " " << fn;
    return WasiTrap("test: no such function");
  }
  // The single result of a call that must not trap.
  Val Get(std::string_view iface, std::string_view fn, std::vector<Val> args = {}) {
    auto r = Call(iface, fn, std::move(args));
    if (!r.ok()) {
      ADD_FAILURE() << fn << " trapped: " << r.trap().ToString();
      return Val{};
    }
    if (r.value().size() != 1) {
      ADD_FAILURE() << fn << " gave " << r.value().size() << " results";
      return Val{};
    }
    return r.value()[0];
  }
  void Drop(std::string_view iface, const std::string& resource, uint32_t rep) {
    std::string q = std::string(iface) + "@0.2.12";
    for (auto& d : defs)
      if (d.name == q && d.dtors.count(resource)) return d.dtors[resource](rep);
    ADD_FAILURE() << "no destructor for " << q << " " << resource;
  }

  std::shared_ptr<WasiP2State> st;
  WasiDefs defs;
};

inline Val Bytes(std::string_view s) {
  std::vector<Val> v;
  for (unsigned char c : s) v.push_back(Val::U8(c));
  return Val::List(std::move(v));
}
inline std::string Str(const Val& list) {
  std::string s;
  for (const Val& b : list.items) s.push_back(static_cast<char>(b.u));
  return s;
}
// A handle given as an own becomes a borrow argument.
inline Val Borrow(const Val& own) { return Val::Borrow(own.resource, own.u); }

}  // namespace arcella::component
