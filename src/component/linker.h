// The component linker: where an embedder defines the host interfaces a
// component imports, by name, before instantiating it (instance.h).
//
//   Linker linker;
//   auto log_t = FuncType{{{"msg", ValueType::String()}}, nullptr};
//   linker.DefineFunc("my:app/log@1.2.0", "write", log_t,
//                     [](std::vector<Val> args) -> TrapOr<std::vector<Val>> {
//                       puts(args[0].str.c_str());
//                       return std::vector<Val>{};
//                     });
//   auto inst = ComponentInstance::Create(engine, component, linker, {});
//
// Names. An interface is named as in a component import ("ns:pkg/iface" with
// an optional "@version"); the empty interface name holds functions imported
// at the top level of the component ("(import "greet" (func ...))").
// Matching is semver-compatible like wasmtime's: an import of
// "wasi:io/streams@0.2.3" takes the exact name if defined, else the highest
// defined version of the same interface with the same compatibility track
// (same major for >= 1.0.0: "@1" covers 1.x.y; same 0.minor below 1.0.0:
// "@0.2" covers 0.2.x). The provider must offer every function and resource
// the importer's instance type names, and each function's type must be
// identical after the importer's imported resources are bound to the
// provider's resources of the same name.
//
// Resources. A host resource type is a ResourceRef the host makes
// (std::make_shared<ResourceType>) and uses in its function types; handles
// of it travel as Val::Own / Val::Borrow whose `u` is the host's rep (an
// index the host chooses). The destructor, if any, runs when a guest drops
// the last own handle (resource.drop) with that rep.
//
// Ownership: a Linker is a value: copying it copies the definitions (the
// HostFns are shared). Host functions run on the thread calling into the
// component and must not throw; they report guest-visible failures as a trap
// (engine::Trap; TrapKind::kExit for an exit).
//
// Errors: Define* return InvalidArgument for a malformed name or a duplicate
// definition (naming it); a Linker never aborts.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/abi_result.h"
#include "component/types.h"
#include "component/value.h"

namespace arcella::component {

class ComponentInstance;

// A host implementation of a component function: takes the lifted
// arguments (in parameter order), returns the results (none or one).
using HostFn = std::function<TrapOr<std::vector<Val>>(std::vector<Val> args)>;
// Called with the host's rep when a guest drops its last own handle.
using HostResourceDtor = std::function<void(uint32_t rep)>;

class Linker {
 public:
  // Function `name` ("get", "[method]input-stream.read", "[constructor]file",
  // "[static]file.open") of interface `iface` ("" for a top-level import).
  Status DefineFunc(std::string_view iface, std::string_view name, FuncType type, HostFn fn);
  // Resource type `name` exported by `iface`. `type` identifies it in the
  // host's function types.
  Status DefineResource(std::string_view iface, std::string_view name, ResourceRef type,
                        HostResourceDtor dtor = {});
  // Every function and resource exported by `instance` under its export
  // `export_name` (an exported interface instance, e.g.
  // "my:lib/strings@1.0.0"; or "" for the instance's top-level function
  // exports) becomes interface `iface` of this linker. The instance must
  // outlive every component instantiated with this linker.
  Status DefineComponentInstance(std::string_view iface,
                                 std::shared_ptr<ComponentInstance> instance,
                                 std::string_view export_name);

  struct FuncEntry {
    FuncType type;
    HostFn fn;
    // Set when the function is an export of another component instance.
    std::shared_ptr<ComponentInstance> instance;
    std::string export_name;  // "iface#name" in `instance`
  };
  struct ResourceEntry {
    ResourceRef type;
    HostResourceDtor dtor;
  };
  struct Interface {
    std::map<std::string, FuncEntry, std::less<>> funcs;
    std::map<std::string, ResourceEntry, std::less<>> resources;
  };

  // The interface an import named `iface` resolves to under the semver rule
  // above (nullptr if none); *matched (if given) receives the provider's name.
  const Interface* FindInterface(std::string_view iface, std::string* matched = nullptr) const;
  const std::map<std::string, Interface, std::less<>>& interfaces() const { return interfaces_; }

 private:
  std::map<std::string, Interface, std::less<>> interfaces_;
};

// `f` with every own/borrow of a resource in `bind` naming the resource it
// is bound to instead: how a host that defines an import's resources itself
// (DefineResource) types that import's functions for DefineFunc.
FuncType BindResources(const FuncType& f, const std::map<const ResourceType*, ResourceRef>& bind);

}  // namespace arcella::component
