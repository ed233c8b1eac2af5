// TrapOr<T> and MaybeTrap: how the canonical ABI reports a trap (a
// guest-visible failure, engine/trap.h) instead of a value.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "engine/trap.h"

namespace arcella::component {

// A value or the trap that stopped producing it.
template <typename T>
class [[nodiscard]] TrapOr {
 public:
  TrapOr(T&& v) : v_(std::move(v)) {}           // NOLINT: implicit by design
  TrapOr(const T& v) : v_(v) {}                 // NOLINT
  TrapOr(engine::Trap t) : v_(std::move(t)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const engine::Trap& trap() const { return std::get<1>(v_); }
  engine::Trap&& take_trap() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, engine::Trap> v_;
};

// Nullopt on success.
using MaybeTrap = std::optional<engine::Trap>;

// A kHostError trap whose message is "canonical ABI: <rule>".
engine::Trap AbiTrap(std::string rule);

}  // namespace arcella::component
