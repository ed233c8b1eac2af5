// Decoder-internal state shared by the decode_*.cc files: the validation
// scopes (a component, a component type or an instance type, each with its
// index spaces) and the Decoder that walks the binary. Not a public API.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "component/ast.h"
#include "component/reader.h"

namespace arcella::component::decoding {

// Maps resources of one type to resources of another (substitution at
// instantiation, matching during subtype checks).
// Also maps value-type nodes named by `(eq T)` type imports to the types
// supplied for them.
struct ResourceMap {
  std::map<const ResourceType*, ResourceRef> res;
  std::map<const ValueType*, TypeRef> values;
  // Depth and size of value-type nodes: nodes made by substitution inherit
  // those of the node they replace (for the limits of decoder.h).
  std::unordered_map<const ValueType*, std::pair<uint32_t, uint32_t>>* metrics = nullptr;
  // Counts the steps of substitutions and subtype checks (see kMaxWork).
  uint64_t* work = nullptr;
  void Charge() const {
    if (work != nullptr) ++*work;
  }
  bool empty() const { return res.empty() && values.empty(); }
};

struct Scope {
  enum class Kind : uint8_t { kComponent, kComponentType, kInstanceType };
  Kind kind = Kind::kComponent;
  std::array<std::vector<Item>, kSortCount> spaces;
  // Per type-index flags, parallel to spaces[kType]: the index was
  // introduced by an import / an export (or an alias of one), so it is an
  // "externally visible name" (Explainer.md, External Visibility of Types).
  std::vector<uint8_t> type_named;  // bit 1: import, bit 2: export
  // The scope whose import/export names `type_named` refers to (an outer
  // alias from a component or instance type to its enclosing component
  // keeps the enclosing scope's names); null: this scope.
  std::vector<Scope*> type_owner;
  // Value-type nodes (record/variant/enum/flags, own/borrow) reached through
  // a named type index.
  std::set<const ValueType*> named_import, named_export;
  // Resources defined by `(resource ...)` in this component.
  std::set<const ResourceType*> local_resources;
  // Strong-uniqueness keys of import and export names; resource names
  // imported / exported (for [constructor]/[method]/[static]).
  std::map<std::string, std::string> import_keys, export_keys;
  std::map<std::string, ResourceRef> imported_resources, exported_resources;
  std::set<std::string> import_texts;  // exact names, for instantiate args
  // Instance indices from imports / exports (or aliases of those).
  std::set<uint32_t> imported_instances, exported_instances;
  std::vector<ExternDecl> imports, exports;
  // Instance types already marked named / found visible (import, export).
  std::set<std::pair<const void*, bool>> marked, visible;  // for component/instance types

  std::vector<Item>& space(Sort s) { return spaces[static_cast<size_t>(s)]; }
};

class Decoder {
 public:
  explicit Decoder(std::shared_ptr<const std::vector<uint8_t>> bytes) : bytes_(std::move(bytes)) {}

  // Decodes the component in [begin, end) (preamble included).
  Status DecodeComponentAt(size_t begin, size_t end, Component* out);

 private:
  std::span<const uint8_t> all() const { return {bytes_->data(), bytes_->size()}; }
  Scope& scope() { return *scopes_.back(); }

  // decoder.cc: sections of a component.
  Status Section(uint8_t id, Reader& r, Component* c);
  Status CoreInstanceSection(Reader& r, Component* c);
  Status InstanceSection(Reader& r, Component* c);
  Status AliasSection(Reader& r, Component* c);
  Status TypeSection(Reader& r, Component* c);
  Status CoreTypeSection(Reader& r, Component* c);
  Status ImportSection(Reader& r, Component* c);
  Status ExportSection(Reader& r, Component* c);
  Status StartSection(Reader& r, Component* c);
  Status CoreModuleSection(Reader& r, size_t size, Component* c);
  Status NestedComponentSection(Reader& r, size_t size, Component* c);
  Status CustomSectionRead(Reader& r, Component* c);

  // decode_names.cc: names, imports and exports (also in type scopes).
  Status ReadNameAttrs(Reader& r, ExternName* out, bool* has_attributes);
  Status CheckImport(size_t off, const ExternName& n, const ExternType& t);
  Status CheckExport(size_t off, const ExternName& n, const ExternType& t);
  Status CheckAnnotatedFunc(size_t off, const ExternName& n, const ExternType& t,
                            const std::map<std::string, ResourceRef>& resources);
  // [constructor]/[method]/[static] rules for an inline instance export;
  // `resources` collects the bag's exported resources.
  Status CheckBagExport(size_t off, const ExternName& n, const ExternType& t,
                        std::map<std::string, ResourceRef>* resources);
  // Adds the index-space entry an import or export introduces; updates the
  // named sets.
  void AddExternItem(ExternType* t, DefKind origin, uint32_t def, bool import);
  // An instance-typed import/export declaration gets fresh exported resources.
  void FreshenInstanceDecl(ExternType* t);
  std::string CheckVisible(const ExternType& t, bool import);
  void MarkNamed(const ExternType& t, bool import, int depth);

  // decode_alias.cc
  Status ReadAlias(Reader& r, Alias* a);
  Status ApplyAlias(size_t off, const Alias& a, uint32_t def, bool in_type_scope);
  Status ReadSortIdx(Reader& r, Sort* s, uint32_t* idx);
  Status ReadSort(Reader& r, Sort* s);
  Status ReadCoreSort(Reader& r, Sort* s);
  Status CheckIndex(size_t off, Sort s, uint32_t idx);
  ExternType ItemExternType(Sort s, const Item& it);

  // decode_types.cc
  Status ReadDefType(Reader& r, TypeDefRef* out);
  Status ReadValType(Reader& r, TypeRef* out);
  Status ReadDefValType(Reader& r, uint8_t op, size_t off, TypeRef* out);
  Status ReadFuncType(Reader& r, bool async, std::shared_ptr<const FuncType>* out);
  Status ReadComponentOrInstanceType(Reader& r, bool component, TypeDefRef* out);
  Status ReadExternType(Reader& r, const std::string& name, ExternType* out);
  // A label of `what` ("record field", "flag", ...), kebab-case and
  // strongly unique in `seen` (lowercased label -> label).
  Status ReadLabel(Reader& r, const char* what, std::string* out,
                   std::map<std::string, std::string>* seen);
  Status CheckTypeLimits(size_t off, const TypeRef& t);
  Status ResourceOf(size_t off, uint32_t idx, ResourceRef* out);
  void AddType(TypeDefRef t, DefKind origin, uint32_t def, uint8_t named, Scope* owner = nullptr);

  // decode_core.cc
  Status ReadCoreType(Reader& r, std::shared_ptr<const CoreType>* out);
  Status ReadCoreFuncType(Reader& r, engine::FuncType* out);
  Status ReadCoreValType(Reader& r, engine::ValType* out);
  Status ReadCoreExternType(Reader& r, engine::ExternDesc* out);
  Status ReadLimits(Reader& r, engine::Limits* out, bool memory);
  Status CheckCoreInstantiate(size_t off, const ModuleType& m,
                              const std::vector<CoreInstanceDef::Arg>& args);

  // decode_canon.cc
  Status ReadCanon(Reader& r, uint32_t def, Canon* out);
  Status ReadCanonOpts(Reader& r, CanonOptionIndices* out);
  Status CheckCanonOpts(size_t off, const Canon& c, const FuncType& ft, bool lift);

  // decode_instance.cc
  Status Instantiate(size_t off, const InstanceDef& d, std::shared_ptr<const InstanceType>* out);

  // Export lookups by name through an index built once per instance type
  // (aliases and instantiations would otherwise be quadratic).
  const ExternDecl* FindExport(const std::shared_ptr<const InstanceType>& t,
                               const std::string& name);
  const engine::ExportDesc* FindCoreExport(const std::shared_ptr<const CoreInstanceType>& t,
                                           const std::string& name);
  struct ExportIndex {
    std::shared_ptr<const void> keep;  // the indexed type stays alive (and its address unique)
    std::unordered_map<std::string, size_t> pos;
  };
  std::unordered_map<const void*, ExportIndex> export_index_;

  // Refuses a component whose type checking has done more than kMaxWork
  // steps (substitutions and subtype checks of big types, many times).
  Status CheckWork(size_t off);
  static constexpr uint64_t kMaxWork = 5'000'000;
  uint64_t work_ = 0;

  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  std::vector<Scope*> scopes_;
  uint32_t nesting_ = 0;
  // Depth and size of every value-type node built (for the limits).
  std::unordered_map<const ValueType*, std::pair<uint32_t, uint32_t>> type_metrics_;
};

// type_check.cc: subtyping and substitution of extern types.
bool ValueTypeMatches(const ValueType& actual, const ValueType& expected, ResourceMap* m);
bool FuncTypeMatches(const FuncType& actual, const FuncType& expected, ResourceMap* m);
// "" if `actual` is a subtype of `expected`, else why not.
std::string ExternSubtype(const ExternType& actual, const ExternType& expected, ResourceMap* m);
std::string CoreExternSubtype(const engine::ExternDesc& actual, const engine::ExternDesc& expected);
std::string ModuleSubtype(const ModuleType& actual, const ModuleType& expected);
TypeRef SubstValue(const TypeRef& t, const ResourceMap& m);
std::shared_ptr<const FuncType> SubstFunc(const std::shared_ptr<const FuncType>& f,
                                          const ResourceMap& m);
ExternType SubstExtern(const ExternType& t, const ResourceMap& m);
// One substitution over all of `decls`, so that a node shared by several
// declarations stays shared (the WIT printer names types by node).
std::vector<ExternDecl> SubstDecls(const std::vector<ExternDecl>& decls, const ResourceMap& m);
// Maps every resource exported as (sub resource) by `t` (transitively through
// instance exports) to a fresh ResourceType; adds the pairs to `m`.
void FreshenExports(const ExternType& t, ResourceMap* m);
// True if `t` mentions a resource (own/borrow or a resource type).
bool MentionsResource(const ExternType& t);
bool ValueMentionsResource(const ValueType& t);
bool ValueHasBorrow(const ValueType& t);

// flatten.cc: the core signature of a lifted or lowered function
// (CanonicalABI.md flatten_functype).
struct FlatSig {
  engine::FuncType type;
  bool params_need_memory = false;   // a string or list in the parameters
  bool result_needs_memory = false;  // a string or list in the result
  bool params_spilled = false;       // more than 16 flat parameters
  bool result_spilled = false;       // more than 1 flat result
};
FlatSig FlattenFuncType(const FuncType& ft, bool lift);

}  // namespace arcella::component::decoding
