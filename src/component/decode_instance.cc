// Instantiation of a component (index) with arguments: every import of the
// component type must be supplied by a `with` argument of a subtype; the
// resulting instance type is the component's exports with the imported
// resources substituted and the exported resources made fresh.
#include "component/decoder.h"
#include "component/decoder_internal.h"

namespace arcella::component::decoding {

Status Decoder::CheckWork(size_t off) {
  if (work_ <= kMaxWork) return Status::Ok();
  return OffsetError(off, "component too complex to validate: type checking exceeded " +
                              std::to_string(kMaxWork) + " steps");
}

Status Decoder::Instantiate(size_t off, const InstanceDef& d,
                            std::shared_ptr<const InstanceType>* out) {
  ARCELLA_RETURN_IF_ERROR(CheckWork(off));
  Scope& s = scope();
  const ComponentType& ct = *s.space(Sort::kComponent)[d.component].type.component;
  ResourceMap m;
  m.metrics = &type_metrics_;
  m.work = &work_;
  std::unordered_map<std::string, const InstanceDef::Arg*> by_name;
  for (const auto& a : d.args) by_name.emplace(a.name, &a);
  for (const auto& im : ct.imports) {
    auto found = by_name.find(im.name.text);
    const InstanceDef::Arg* arg = found == by_name.end() ? nullptr : found->second;
    if (arg == nullptr) return OffsetError(off, "missing import named `" + im.name.text + "`");
    ExternType actual = ItemExternType(arg->sort, s.space(arg->sort)[arg->index]);
    ExternType expected = SubstExtern(im.type, m);
    std::string why = ExternSubtype(actual, expected, &m);
    if (!why.empty()) {
      return OffsetError(off, "type mismatch for component instantiation argument `" +
                                  im.name.text + "`: " + why);
    }
  }
  auto it = std::make_shared<InstanceType>();
  for (const auto& ex : ct.exports) {
    ExternType t = ex.type;
    if (t.sort == Sort::kType && t.sub_resource && m.res.count(t.type->resource.get()) == 0) {
      m.res[t.type->resource.get()] = std::make_shared<ResourceType>(
          ResourceType{t.type->resource->name});
    } else if (t.sort == Sort::kInstance) {
      FreshenExports(t, &m);
    }
  }
  it->exports = SubstDecls(ct.exports, m);
  ARCELLA_RETURN_IF_ERROR(CheckWork(off));
  *out = std::move(it);
  return Status::Ok();
}

}  // namespace arcella::component::decoding
