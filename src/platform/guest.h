// Guest: one instantiated copy of a deployment's code, as a Replica runs
// it — a core module (engine::Instance with WASI preview 1) or a component
// (component::ComponentInstance with WASI 0.2). The replica does not care
// which: it initialises a reactor, runs a command, calls exports with
// arguments as text and interrupts.
//
// Arguments and results are text: a core module's values as engine value
// text ("42", "1.5", "0x2a"; engine/value_text.h), a component's as WAVE,
// one string per parameter. Export names: a core export by its name; a
// component export by its full name ("IFACE#f", or "f" at the top level), or
// by a short name when it is unambiguous ("greet", "greeter.greet").
//
// Errors: CreateGuest returns a Status naming what could not be
// instantiated (unresolved imports, start traps, limits). Call returns
// NotFound for an unknown export and InvalidArgument for arguments that do
// not parse or fit (naming the parameter); a guest trap is not an error but
// GuestResult::trap.
//
// Threads: one thread at a time calls Initialize/Run/Call/SetFuel;
// Interrupt() and InterruptPending() from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"
#include "component/value.h"
#include "engine/engine.h"
#include "platform/link_caller.h"
#include "platform/run_plan.h"

namespace arcella::platform {

struct GuestResult {
  std::vector<std::string> results;  // text of each result (none or one for components)
  std::optional<engine::Trap> trap;  // set if the guest trapped (results empty)
  // Components: the result as a value of `type` (for typed output).
  std::optional<component::Val> value;
  component::TypeRef type;
  // Components: the id of the instance that served the call (never 0), for
  // a later CallValues pinned to it (ReplicaPin::instance).
  uint64_t instance = 0;
};

// What a guest is given besides its plan.
struct GuestSetup {
  std::string program_name;  // argv[0]
  // Receive the guest's stdout/stderr bytes (may be empty: discarded).
  std::function<void(std::string_view)> stdout_sink, stderr_sink;
  // Blocking host calls (sleep, poll) end early when this returns true.
  std::function<bool()> interrupted;
  // Called with the guest as soon as it can be interrupted, before its
  // start code runs (a stop that races with instantiation reaches it).
  std::function<void(const std::shared_ptr<class Guest>&)> on_attach;
  // Where the plan's linked imports go (components; may be null: a linked
  // import then traps).
  LinkCaller* links = nullptr;
};

class Guest {
 public:
  virtual ~Guest() = default;

  // Reactor: runs the module's `_initialize` if it has one (components: nothing).
  virtual Status Initialize() = 0;
  // Command: runs `_start` (core) or `wasi:cli/run#run` (component).
  // An exit is a kExit trap with its code; run returning `err` is exit 1.
  virtual Result<GuestResult> Run() = 0;
  virtual Result<GuestResult> Call(std::string_view name, const std::vector<std::string>& args) = 0;
  // A component's export by its exact name with values (a link's call): the
  // result in GuestResult::value, no text. Unsupported for core modules.
  // `instance` (0: any): only that instance may serve the call (it holds the
  // resources the arguments name); Unavailable once it is gone (replaced
  // after a trap).
  virtual Result<GuestResult> CallValues(std::string_view name, std::vector<component::Val> args,
                                         uint64_t instance = 0) {
    (void)name;
    (void)args;
    (void)instance;
    return Status::Unsupported("calls with component values");
  }
  // Drops an own handle of exported resource `resource` ("IFACE#name") that a
  // CallValues result gave, if `instance` is still the live one (else the
  // resource went with it: Ok).
  virtual Status DropResource(std::string_view resource, uint32_t rep, uint64_t instance) {
    (void)resource;
    (void)rep;
    (void)instance;
    return Status::Unsupported("resource handles");
  }
  // Refills the fuel of the next Initialize/Run/Call.
  virtual Status SetFuel(uint64_t fuel) = 0;
  virtual void Interrupt() = 0;
  virtual bool InterruptPending() const = 0;
};

// Instantiates `run` (a core module or a component).
Result<std::shared_ptr<Guest>> CreateGuest(const RunPlan& run, const GuestSetup& setup);

// The exports a caller may call, by the names Call takes (for messages).
std::vector<std::string> CallableExports(const RunPlan& run);

}  // namespace arcella::platform
