// The decoded and validated form of a component binary (Binary.md), as
// DecodeComponent() (decoder.h) returns it: what instantiation replays and
// what the WIT printer walks.
//
//   auto c = DecodeComponent(bytes);          // shared_ptr<const Component>
//   for (const Def& d : (*c)->defs) ...       // every definition, binary order
//   (*c)->space(Sort::kFunc)[i].type.func     // the type of component func i
//
// Ownership: a Component owns a copy of the input bytes (`bytes`); core
// modules are spans into it, nested components share it. Everything is
// immutable after decoding; safe to share across threads.
//
// Types: component value types are the structural model of types.h
// (TypeRef); resource types are ResourceType nodes compared by identity.
// Each `(resource ...)` definition and each `(sub resource)` import makes a
// fresh ResourceType; instantiating a nested component makes fresh resources
// for the resource types it exports. Core types use engine/types.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "component/names.h"
#include "component/types.h"
#include "engine/types.h"

namespace arcella::component {

// The index spaces. Core sorts first, in core:sort order.
enum class Sort : uint8_t {
  kCoreFunc,
  kCoreTable,
  kCoreMemory,
  kCoreGlobal,
  kCoreTag,
  kCoreType,
  kCoreModule,
  kCoreInstance,
  kFunc,
  kValue,
  kType,
  kComponent,
  kInstance,
};
inline constexpr size_t kSortCount = 13;
const char* SortName(Sort s);  // "core func", "core module", "func", "type", ...

// ---- Core types ----------------------------------------------------------

struct ModuleType {  // imports and exports of a core module (or module type)
  std::vector<engine::ImportDesc> imports;
  std::vector<engine::ExportDesc> exports;
};
struct CoreInstanceType {  // exports of a core instance, in order
  std::vector<engine::ExportDesc> exports;
  const engine::ExportDesc* Find(std::string_view name) const;
};
struct CoreType {  // an entry of the core type index space
  bool is_module = false;
  engine::FuncType func;                     // !is_module
  std::shared_ptr<const ModuleType> module;  // is_module
};

// ---- Component types -----------------------------------------------------

struct TypeDef;
using TypeDefRef = std::shared_ptr<const TypeDef>;
struct ComponentType;
struct InstanceType;

// The type of an import, export or index-space entry.
struct ExternType {
  Sort sort = Sort::kFunc;  // kCoreModule, kFunc, kValue, kType, kComponent, kInstance
  std::shared_ptr<const ModuleType> module;  // kCoreModule
  std::shared_ptr<const FuncType> func;      // kFunc
  TypeRef value;                             // kValue
  TypeDefRef type;            // kType: the type (for (sub resource): a fresh resource)
  bool sub_resource = false;  // kType declared as (sub resource)
  std::shared_ptr<const ComponentType> component;  // kComponent
  std::shared_ptr<const InstanceType> instance;    // kInstance
};

struct ExternDecl {  // a named import or export in a type
  ExternName name;
  ExternType type;
};

struct InstanceType {
  std::vector<ExternDecl> exports;
  const ExternDecl* Find(std::string_view name) const;
};

struct ComponentType {
  std::vector<ExternDecl> imports;
  std::vector<ExternDecl> exports;
};

// An entry of the type index space.
struct TypeDef {
  enum class Kind : uint8_t { kValue, kFunc, kComponent, kInstance, kResource };
  Kind kind = Kind::kValue;
  TypeRef value;                                   // kValue
  std::shared_ptr<const FuncType> func;            // kFunc
  std::shared_ptr<const ComponentType> component;  // kComponent
  std::shared_ptr<const InstanceType> instance;    // kInstance
  ResourceRef resource;                            // kResource
  // kResource defined by `(type (resource (rep i32) (dtor f)?))` in this
  // component: `local` true, rep is i32, `dtor` the core func index.
  bool local = false;
  std::optional<uint32_t> dtor;
  // kValue introduced by an import/export `(type (eq T))` of a record,
  // variant, enum or flags: the value is a node of its own (so that uses of
  // this name can be told from uses of T) and `named_from` is T's node (the
  // WIT printer turns it into `use iface.{t}` or `type name = t`).
  TypeRef named_from;
};

// ---- Definitions, in binary order ----------------------------------------

enum class DefKind : uint8_t {
  kCoreModule,    // Component::core_modules
  kCoreInstance,  // Component::core_instances
  kCoreType,      // Component::core_types
  kComponent,     // Component::components
  kInstance,      // Component::instances
  kAlias,         // Component::aliases
  kType,          // Component::types
  kCanon,         // Component::canons
  kStart,         // Component::starts
  kImport,        // Component::imports
  kExport,        // Component::exports
};

struct Def {
  DefKind kind;
  uint32_t index;  // into the vector named by `kind`
  size_t offset;   // of the definition in Component::bytes
};

struct CoreModule {
  std::span<const uint8_t> bytes;  // the whole core module, into Component::bytes
  size_t offset = 0;
  std::shared_ptr<const ModuleType> type;
};

struct CoreInstanceDef {
  bool instantiate = true;  // (instantiate module args) or inline exports
  uint32_t module = 0;
  struct Arg {
    std::string name;
    uint32_t instance;  // core instance index
  };
  std::vector<Arg> args;
  struct InlineExport {
    std::string name;
    Sort sort;  // a core sort
    uint32_t index;
  };
  std::vector<InlineExport> exports;
};

struct InstanceDef {
  bool instantiate = true;  // (instantiate component args) or inline exports
  uint32_t component = 0;
  struct Arg {
    std::string name;
    Sort sort;
    uint32_t index;
  };
  std::vector<Arg> args;
  struct InlineExport {
    ExternName name;
    Sort sort;
    uint32_t index;
  };
  std::vector<InlineExport> exports;
};

struct Alias {
  enum class Kind : uint8_t { kInstanceExport, kCoreInstanceExport, kOuter };
  Kind kind = Kind::kInstanceExport;
  Sort sort = Sort::kFunc;
  uint32_t instance = 0;     // k(Core)InstanceExport: the (core) instance
  std::string name;          // k(Core)InstanceExport: the export name
  uint32_t outer_count = 0;  // kOuter: enclosing scopes to walk out
  uint32_t outer_index = 0;  // kOuter: index in that scope's `sort` space
};

// The canonical options of a `canon` definition, as core indices (the
// run-time form is canonical_abi.h's CanonOptions).
struct CanonOptionIndices {
  StringEncoding string_encoding = StringEncoding::kUtf8;
  std::optional<uint32_t> memory;       // core memory index
  std::optional<uint32_t> realloc;      // core func index
  std::optional<uint32_t> post_return;  // core func index
};

struct Canon {
  enum class Kind : uint8_t { kLift, kLower, kResourceNew, kResourceDrop, kResourceRep };
  Kind kind = Kind::kLift;
  // kLift: the core func lifted; kLower: the component func lowered.
  uint32_t func = 0;
  // kLift: the func type index; kResource*: the resource type index.
  uint32_t type = 0;
  CanonOptionIndices opts;
  std::shared_ptr<const FuncType> func_type;  // kLift, kLower
  ResourceRef resource;                       // kResource*
  engine::FuncType core_type;  // the core signature (of the lifted callee / produced func)
};

struct Start {
  uint32_t func = 0;
  std::vector<uint32_t> args;  // value indices
  uint32_t results = 0;
};

struct Import {
  ExternName name;
  ExternType type;
};

struct Export {
  ExternName name;
  Sort sort = Sort::kFunc;
  uint32_t index = 0;  // of the exported definition in `sort`
  ExternType type;     // the ascribed type if given, else the definition's
  bool ascribed = false;
};

// One entry of an index space and where it came from.
struct Item {
  DefKind origin = DefKind::kImport;
  uint32_t def = 0;                           // index into the vector of `origin`
  ExternType type;                            // component sorts and core modules (type.module)
  engine::ExternDesc core;                    // core func/table/memory/global/tag
  std::shared_ptr<const CoreType> core_type;  // core type
  std::shared_ptr<const CoreInstanceType> core_instance;  // core instance
};

struct CustomSection {
  std::string name;
  std::span<const uint8_t> payload;  // after the name, into Component::bytes
  size_t offset = 0;
};

struct Component {
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // the whole input
  size_t begin = 0, end = 0;  // this component's bytes (a nested one is a part)

  std::vector<Def> defs;  // every definition in binary order
  std::vector<CoreModule> core_modules;
  std::vector<CoreInstanceDef> core_instances;
  std::vector<std::shared_ptr<const CoreType>> core_types;
  std::vector<std::shared_ptr<const Component>> components;
  std::vector<InstanceDef> instances;
  std::vector<Alias> aliases;
  std::vector<TypeDefRef> types;
  std::vector<Canon> canons;
  std::vector<Start> starts;
  std::vector<Import> imports;
  std::vector<Export> exports;
  std::vector<CustomSection> customs;  // e.g. "component-name" (not validated)

  std::array<std::vector<Item>, kSortCount> spaces;
  const std::vector<Item>& space(Sort s) const { return spaces[static_cast<size_t>(s)]; }

  ComponentType type;  // its imports and exports as a component type
};

}  // namespace arcella::component
