// WIT syntax trees: what wit_syntax.cc reads from one source file, before
// wit_resolve.cc turns names into types (wit_parser.h). Internal to the
// component layer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "component/types.h"

namespace arcella::component::wit {

// A position for messages.
struct Pos {
  const std::string* file = nullptr;
  std::string_view text;  // the whole file
  size_t offset = 0;
};
// InvalidArgument "FILE:LINE:COL: what".
Status ErrorAt(const Pos& p, const std::string& what);

struct Type {
  enum Kind : uint8_t {
    kPrim,
    kNamed,
    kList,
    kTuple,
    kOption,
    kResult,
    kBorrow,
    kOwn,
    kMap,
    kNone
  };
  Kind kind = kPrim;
  TypeKind prim = TypeKind::kBool;
  std::string name;        // kNamed, kBorrow, kOwn
  std::vector<Type> args;  // list/option: 1; tuple: n; result: 0..2 (kNone for `_`); map: 2
  uint32_t length = 0;     // list<T, N>
  Pos pos;
};

struct NamedType {  // record field, function parameter, variant case (type optional)
  std::string name;
  bool has_type = true;
  Type type;
  Pos pos;
};

struct UsePath {  // `iface` or `ns:pkg/iface@version`
  std::string ns, pkg, iface, version;
  Pos pos;
  std::string ToString() const;
};

struct Use {  // use path.{a, b as c};
  UsePath path;
  std::vector<std::pair<std::string, std::string>> names;  // (name, local name)
  Pos pos;
};

struct Func {
  enum Kind : uint8_t { kPlain, kMethod, kStatic, kConstructor };
  Kind kind = kPlain;
  std::string name;
  std::vector<NamedType> params;
  bool has_result = false;
  Type result;
  Pos pos;
};

struct TypeDef {
  enum Kind : uint8_t { kAlias, kRecord, kVariant, kEnum, kFlags, kResource };
  Kind kind = kAlias;
  std::string name;
  Type alias;
  std::vector<NamedType> members;   // record fields, variant cases
  std::vector<std::string> labels;  // enum cases, flags
  std::vector<Func> funcs;          // resource functions
  Pos pos;
};

struct Interface {
  std::string name;
  std::vector<Use> uses;
  std::vector<TypeDef> types;
  std::vector<Func> funcs;
  Pos pos;
};

struct WorldItem {
  enum Kind : uint8_t { kFunc, kInterfacePath, kInlineInterface, kInclude };
  Kind kind = kFunc;
  bool is_import = true;
  std::string name;  // plain name (func, inline interface, `name: path`); empty for `import path;`
  Func func;
  UsePath path;  // kInterfacePath, kInclude
  Interface inline_iface;
  std::vector<std::pair<std::string, std::string>> renames;  // include ... with { a as b }
  Pos pos;
};

struct World {
  std::string name;
  std::vector<Use> uses;
  std::vector<TypeDef> types;
  std::vector<WorldItem> items;
  Pos pos;
};

struct TopUse {  // use ns:pkg/iface@v as name;
  UsePath path;
  std::string as;
};

struct Package {
  std::string ns, name, version;
  std::vector<Interface> interfaces;
  std::vector<World> worlds;
  std::vector<TopUse> uses;
  Pos pos;
};

// Parses one file into its packages (the file's own package, then nested
// ones). `file` must outlive the result.
Result<std::vector<Package>> ParseFile(const std::string& file, std::string_view text);

}  // namespace arcella::component::wit
