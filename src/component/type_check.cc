// Subtyping of extern types (Explainer.md "Type Checking"), substitution of
// resource types at instantiation, and small type predicates.
#include <unordered_map>

#include "component/decoder_internal.h"

namespace arcella::component::decoding {

namespace {

bool SameResource(const ResourceRef& actual, const ResourceRef& expected, const ResourceMap& m) {
  if (actual == expected) return true;
  auto it = m.res.find(expected.get());
  if (it != m.res.end() && it->second == actual) return true;
  it = m.res.find(actual.get());
  return it != m.res.end() && it->second == expected;
}

std::string What(const ValueType& t) {
  if (IsPrimitive(t.kind)) return std::string("primitive `") + TypeKindName(t.kind) + "`";
  return TypeKindName(t.kind);
}

std::string ValueMismatch(const ValueType& a, const ValueType& e, ResourceMap* m);

std::string Sub(const TypeRef& a, const TypeRef& e, ResourceMap* m, const std::string& where) {
  std::string why = ValueMismatch(*a, *e, m);
  return why.empty() ? "" : "type mismatch in " + where + ": " + why;
}

std::string ValueMismatch(const ValueType& a, const ValueType& e, ResourceMap* m) {
  m->Charge();
  if (&a == &e) return "";
  if (a.kind != e.kind) {
    if (IsPrimitive(a.kind) && IsPrimitive(e.kind)) {
      return "expected " + What(e) + " found " + What(a);
    }
    return std::string("expected ") + TypeKindName(e.kind) + ", found " + TypeKindName(a.kind);
  }
  switch (e.kind) {
    case TypeKind::kList:
      if (a.length != e.length) return "mismatch in list length";
      return Sub(a.elem, e.elem, m, "list element");
    case TypeKind::kOption: return Sub(a.elem, e.elem, m, "option");
    case TypeKind::kMap: {
      std::string why = Sub(a.map_key(), e.map_key(), m, "map key");
      return why.empty() ? Sub(a.map_value(), e.map_value(), m, "map value") : why;
    }
    case TypeKind::kRecord:
    case TypeKind::kTuple: {
      bool rec = e.kind == TypeKind::kRecord;
      if (a.fields.size() != e.fields.size()) {
        return "expected " + std::to_string(e.fields.size()) + (rec ? " fields" : " types") +
               ", found " + std::to_string(a.fields.size());
      }
      for (size_t i = 0; i < e.fields.size(); ++i) {
        if (a.fields[i].name != e.fields[i].name) {
          return "expected field name `" + e.fields[i].name + "`, found `" + a.fields[i].name + "`";
        }
        std::string why = Sub(a.fields[i].type, e.fields[i].type, m,
                              rec ? "record field `" + e.fields[i].name + "`"
                                  : "tuple field " + std::to_string(i));
        if (!why.empty()) return why;
      }
      return "";
    }
    case TypeKind::kVariant: {
      if (a.cases.size() != e.cases.size()) {
        return "expected " + std::to_string(e.cases.size()) + " cases, found " +
               std::to_string(a.cases.size());
      }
      for (size_t i = 0; i < e.cases.size(); ++i) {
        const Case& ac = a.cases[i];
        const Case& ec = e.cases[i];
        if (ac.name != ec.name)
          return "expected case named `" + ec.name + "`, found `" + ac.name + "`";
        if (!ec.type && ac.type) return "expected case `" + ec.name + "` to have no type";
        if (ec.type && !ac.type)
          return "expected case `" + ec.name + "` to have a type, found none";
        if (ec.type) {
          std::string why = Sub(ac.type, ec.type, m, "variant case `" + ec.name + "`");
          if (!why.empty()) return why;
        }
      }
      return "";
    }
    case TypeKind::kEnum:
    case TypeKind::kFlags:
      if (a.labels != e.labels) {
        return std::string("mismatch in ") + (e.kind == TypeKind::kEnum ? "enum" : "flags") +
               " elements";
      }
      return "";
    case TypeKind::kResult: {
      if (e.ok && !a.ok) return "expected ok type, but found none";
      if (!e.ok && a.ok) return "expected ok type to not be present";
      if (e.ok) {
        std::string why = Sub(a.ok, e.ok, m, "ok variant");
        if (!why.empty()) return why;
      }
      if (e.err && !a.err) return "expected err type, but found none";
      if (!e.err && a.err) return "expected err type to not be present";
      if (e.err) return Sub(a.err, e.err, m, "err variant");
      return "";
    }
    case TypeKind::kOwn:
    case TypeKind::kBorrow:
      return SameResource(a.resource, e.resource, *m) ? "" : "resource types are not the same";
    default: return "";
  }
}

std::string FuncMismatch(const FuncType& a, const FuncType& e, ResourceMap* m) {
  if (a.params.size() != e.params.size()) {
    return "expected " + std::to_string(e.params.size()) + " parameters, found " +
           std::to_string(a.params.size());
  }
  for (size_t i = 0; i < e.params.size(); ++i) {
    if (a.params[i].name != e.params[i].name) {
      return "expected parameter named `" + e.params[i].name + "`, found `" + a.params[i].name +
             "`";
    }
    std::string why = Sub(a.params[i].type, e.params[i].type, m,
                          "function parameter `" + e.params[i].name + "`");
    if (!why.empty()) return why;
  }
  if (e.result && !a.result) return "expected a result, found none";
  if (!e.result && a.result) return "expected no result, found one";
  if (e.result) {
    std::string why = ValueMismatch(*a.result, *e.result, m);
    if (!why.empty()) return "type mismatch with result type: " + why;
  }
  return "";
}

std::unordered_map<std::string, const ExternDecl*> ByName(const std::vector<ExternDecl>& decls) {
  std::unordered_map<std::string, const ExternDecl*> m;
  for (const auto& d : decls) m.emplace(d.name.text, &d);
  return m;
}

std::string LimitsMismatch(const engine::Limits& a, const engine::Limits& e) {
  if (a.min < e.min) return "minimum too small";
  if (e.has_max && (!a.has_max || a.max > e.max)) return "maximum too large";
  return "";
}

}  // namespace

bool ValueTypeMatches(const ValueType& actual, const ValueType& expected, ResourceMap* m) {
  return ValueMismatch(actual, expected, m).empty();
}

bool FuncTypeMatches(const FuncType& actual, const FuncType& expected, ResourceMap* m) {
  return FuncMismatch(actual, expected, m).empty();
}

std::string CoreExternSubtype(const engine::ExternDesc& a, const engine::ExternDesc& e) {
  if (a.kind != e.kind) {
    return std::string("expected ") + engine::ExternKindName(e.kind) + ", found " +
           engine::ExternKindName(a.kind);
  }
  switch (e.kind) {
    case engine::ExternKind::kFunc:
    case engine::ExternKind::kTag:
      if (!(a.func == e.func)) {
        return "expected: (func " + e.func.ToString() + "), found (func " + a.func.ToString() + ")";
      }
      return "";
    case engine::ExternKind::kTable:
      if (a.value_type != e.value_type) {
        return std::string("expected table element type ") + engine::ValTypeName(e.value_type) +
               ", found " + engine::ValTypeName(a.value_type);
      }
      return LimitsMismatch(a.limits, e.limits).empty() ? "" : "mismatch in table limits";
    case engine::ExternKind::kMemory:
      return LimitsMismatch(a.limits, e.limits).empty() ? "" : "mismatch in memory limits";
    case engine::ExternKind::kGlobal:
      if (a.value_type != e.value_type) {
        return std::string("expected global type ") + engine::ValTypeName(e.value_type) +
               ", found " + engine::ValTypeName(a.value_type);
      }
      if (a.mut != e.mut) return "mismatch in global mutability";
      return "";
  }
  return "";
}

std::string ModuleSubtype(const ModuleType& a, const ModuleType& e) {
  std::map<std::pair<std::string, std::string>, const engine::ImportDesc*> e_imports;
  for (const auto& x : e.imports) e_imports.emplace(std::make_pair(x.module, x.name), &x);
  std::unordered_map<std::string, const engine::ExportDesc*> a_exports;
  for (const auto& x : a.exports) a_exports.emplace(x.name, &x);
  for (const auto& ai : a.imports) {
    auto found = e_imports.find({ai.module, ai.name});
    const engine::ImportDesc* ei = found == e_imports.end() ? nullptr : found->second;
    if (ei == nullptr) return "missing expected import `" + ai.module + "::" + ai.name + "`";
    std::string why = CoreExternSubtype(ei->desc, ai.desc);
    if (!why.empty()) return "type mismatch in import `" + ai.module + "::" + ai.name + "`: " + why;
  }
  for (const auto& ee : e.exports) {
    auto found = a_exports.find(ee.name);
    const engine::ExportDesc* ae = found == a_exports.end() ? nullptr : found->second;
    if (ae == nullptr) return "missing expected export `" + ee.name + "`";
    std::string why = CoreExternSubtype(ae->desc, ee.desc);
    if (!why.empty()) return "type mismatch in export `" + ee.name + "`: " + why;
  }
  return "";
}

std::string ExternSubtype(const ExternType& a, const ExternType& e, ResourceMap* m) {
  m->Charge();
  if (a.sort != e.sort) {
    return std::string("expected ") + SortName(e.sort) + ", found " + SortName(a.sort);
  }
  switch (e.sort) {
    case Sort::kCoreModule: return ModuleSubtype(*a.module, *e.module);
    case Sort::kFunc: return FuncMismatch(*a.func, *e.func, m);
    case Sort::kValue: return ValueMismatch(*a.value, *e.value, m);
    case Sort::kType: {
      const TypeDef& at = *a.type;
      const TypeDef& et = *e.type;
      if (e.sub_resource) {
        if (at.kind != TypeDef::Kind::kResource) return "expected resource, found defined type";
        m->res[et.resource.get()] = at.resource;
        return "";
      }
      if (et.kind == TypeDef::Kind::kResource) {
        if (at.kind != TypeDef::Kind::kResource) return "expected resource, found defined type";
        return SameResource(at.resource, et.resource, *m) ? "" : "resource types are not the same";
      }
      if (at.kind == TypeDef::Kind::kResource) return "expected defined type, found resource";
      if (at.kind != et.kind) return "type mismatch";
      switch (et.kind) {
        case TypeDef::Kind::kValue: {
          std::string why = ValueMismatch(*at.value, *et.value, m);
          if (why.empty()) m->values[et.value.get()] = at.value;
          return why;
        }
        case TypeDef::Kind::kFunc: return FuncMismatch(*at.func, *et.func, m);
        case TypeDef::Kind::kInstance: {
          ExternType ai{Sort::kInstance, nullptr, nullptr, nullptr,
                        nullptr,         false,   nullptr, at.instance};
          ExternType ei{Sort::kInstance, nullptr, nullptr, nullptr,
                        nullptr,         false,   nullptr, et.instance};
          return ExternSubtype(ai, ei, m);
        }
        case TypeDef::Kind::kComponent: {
          ExternType ac{Sort::kComponent, nullptr, nullptr,      nullptr,
                        nullptr,          false,   at.component, nullptr};
          ExternType ec{Sort::kComponent, nullptr, nullptr,      nullptr,
                        nullptr,          false,   et.component, nullptr};
          return ExternSubtype(ac, ec, m);
        }
        default: return "";
      }
    }
    case Sort::kInstance: {
      auto actual = ByName(a.instance->exports);
      for (const auto& ee : e.instance->exports) {
        auto found = actual.find(ee.name.text);
        const ExternDecl* ae = found == actual.end() ? nullptr : found->second;
        if (ae == nullptr) return "missing expected export `" + ee.name.text + "`";
        std::string why = ExternSubtype(ae->type, ee.type, m);
        if (!why.empty()) return "type mismatch in instance export `" + ee.name.text + "`: " + why;
      }
      return "";
    }
    case Sort::kComponent: {
      // Contravariant imports: everything the actual component imports must
      // be provided by what the expected type imports.
      auto e_imports = ByName(e.component->imports);
      auto a_exports = ByName(a.component->exports);
      for (const auto& ai : a.component->imports) {
        auto found = e_imports.find(ai.name.text);
        const ExternDecl* ei = found == e_imports.end() ? nullptr : found->second;
        if (ei == nullptr) return "missing expected import `" + ai.name.text + "`";
        std::string why = ExternSubtype(ei->type, ai.type, m);
        if (!why.empty()) return "type mismatch in import `" + ai.name.text + "`: " + why;
      }
      for (const auto& ee : e.component->exports) {
        auto found = a_exports.find(ee.name.text);
        const ExternDecl* ae = found == a_exports.end() ? nullptr : found->second;
        if (ae == nullptr) return "missing expected export `" + ee.name.text + "`";
        std::string why = ExternSubtype(ae->type, ee.type, m);
        if (!why.empty()) return "type mismatch in export `" + ee.name.text + "`: " + why;
      }
      return "";
    }
    default: return "";
  }
}

namespace {

struct Substituter {
  const ResourceMap& m;
  std::unordered_map<const ValueType*, TypeRef> memo;

  TypeRef Value(const TypeRef& t) {
    if (!t || IsPrimitive(t->kind)) return t;
    auto hit = memo.find(t.get());
    if (hit != memo.end()) return hit->second;
    m.Charge();
    TypeRef out = t;
    auto named = m.values.find(t.get());
    if (named != m.values.end()) {
      out = named->second;
    } else if (t->kind == TypeKind::kOwn || t->kind == TypeKind::kBorrow) {
      auto it = m.res.find(t->resource.get());
      if (it != m.res.end()) {
        out = t->kind == TypeKind::kOwn ? ValueType::Own(it->second)
                                        : ValueType::Borrow(it->second);
      }
    } else {
      auto copy = std::make_shared<ValueType>(*t);
      bool changed = false;
      auto sub = [&](TypeRef& c) {
        TypeRef n = Value(c);
        if (n != c) {
          c = std::move(n);
          changed = true;
        }
      };
      sub(copy->elem);
      sub(copy->ok);
      sub(copy->err);
      for (auto& f : copy->fields) sub(f.type);
      for (auto& c : copy->cases) sub(c.type);
      if (changed) out = std::move(copy);
    }
    if (out != t && m.metrics != nullptr) {
      auto it = m.metrics->find(t.get());
      if (it != m.metrics->end()) (*m.metrics)[out.get()] = it->second;
    }
    memo[t.get()] = out;
    return out;
  }

  std::shared_ptr<const FuncType> Func(const std::shared_ptr<const FuncType>& f) {
    auto copy = std::make_shared<FuncType>(*f);
    bool changed = false;
    for (auto& p : copy->params) {
      TypeRef n = Value(p.type);
      changed |= n != p.type;
      p.type = std::move(n);
    }
    if (copy->result) {
      TypeRef n = Value(copy->result);
      changed |= n != copy->result;
      copy->result = std::move(n);
    }
    return changed ? copy : f;
  }

  TypeDefRef Def(const TypeDefRef& t) {
    auto copy = std::make_shared<TypeDef>(*t);
    switch (t->kind) {
      case TypeDef::Kind::kValue:
        copy->value = Value(t->value);
        if (t->named_from) copy->named_from = Value(t->named_from);
        break;
      case TypeDef::Kind::kFunc: copy->func = Func(t->func); break;
      case TypeDef::Kind::kResource: {
        auto it = m.res.find(t->resource.get());
        if (it == m.res.end()) return t;
        copy->resource = it->second;
        copy->local = false;
        copy->dtor.reset();
        break;
      }
      case TypeDef::Kind::kInstance: {
        auto it = std::make_shared<InstanceType>(*t->instance);
        for (auto& e : it->exports) e.type = Extern(e.type);
        copy->instance = std::move(it);
        break;
      }
      case TypeDef::Kind::kComponent: {
        auto ct = std::make_shared<ComponentType>(*t->component);
        for (auto& e : ct->imports) e.type = Extern(e.type);
        for (auto& e : ct->exports) e.type = Extern(e.type);
        copy->component = std::move(ct);
        break;
      }
    }
    return copy;
  }

  ExternType Extern(const ExternType& t) {
    m.Charge();
    ExternType out = t;
    switch (t.sort) {
      case Sort::kFunc: out.func = Func(t.func); break;
      case Sort::kValue: out.value = Value(t.value); break;
      case Sort::kType: out.type = Def(t.type); break;
      case Sort::kInstance: {
        auto it = std::make_shared<InstanceType>(*t.instance);
        for (auto& e : it->exports) e.type = Extern(e.type);
        out.instance = std::move(it);
        break;
      }
      case Sort::kComponent: {
        auto ct = std::make_shared<ComponentType>(*t.component);
        for (auto& e : ct->imports) e.type = Extern(e.type);
        for (auto& e : ct->exports) e.type = Extern(e.type);
        out.component = std::move(ct);
        break;
      }
      default: break;
    }
    return out;
  }
};

}  // namespace

TypeRef SubstValue(const TypeRef& t, const ResourceMap& m) {
  if (m.empty()) return t;
  Substituter s{m, {}};
  return s.Value(t);
}

std::shared_ptr<const FuncType> SubstFunc(const std::shared_ptr<const FuncType>& f,
                                          const ResourceMap& m) {
  if (m.empty()) return f;
  Substituter s{m, {}};
  return s.Func(f);
}

ExternType SubstExtern(const ExternType& t, const ResourceMap& m) {
  if (m.empty()) return t;
  Substituter s{m, {}};
  return s.Extern(t);
}

std::vector<ExternDecl> SubstDecls(const std::vector<ExternDecl>& decls, const ResourceMap& m) {
  if (m.empty()) return decls;
  Substituter s{m, {}};
  std::vector<ExternDecl> out;
  out.reserve(decls.size());
  for (const auto& d : decls) out.push_back({d.name, s.Extern(d.type)});
  return out;
}

void FreshenExports(const ExternType& t, ResourceMap* m) {
  if (t.sort != Sort::kInstance) return;
  for (const auto& e : t.instance->exports) {
    if (e.type.sort == Sort::kType && e.type.sub_resource) {
      const ResourceRef& r = e.type.type->resource;
      if (m->res.count(r.get()) == 0) {
        m->res[r.get()] = std::make_shared<ResourceType>(ResourceType{r->name});
      }
    } else if (e.type.sort == Sort::kInstance) {
      FreshenExports(e.type, m);
    }
  }
}

bool ValueMentionsResource(const ValueType& t) {
  if (t.kind == TypeKind::kOwn || t.kind == TypeKind::kBorrow) return true;
  auto sub = [](const TypeRef& c) { return c && ValueMentionsResource(*c); };
  if (sub(t.elem) || sub(t.ok) || sub(t.err)) return true;
  for (const auto& f : t.fields) {
    if (sub(f.type)) return true;
  }
  for (const auto& c : t.cases) {
    if (sub(c.type)) return true;
  }
  return false;
}

bool ValueHasBorrow(const ValueType& t) {
  if (t.kind == TypeKind::kBorrow) return true;
  auto sub = [](const TypeRef& c) { return c && ValueHasBorrow(*c); };
  if (sub(t.elem) || sub(t.ok) || sub(t.err)) return true;
  for (const auto& f : t.fields) {
    if (sub(f.type)) return true;
  }
  for (const auto& c : t.cases) {
    if (sub(c.type)) return true;
  }
  return false;
}

bool MentionsResource(const ExternType& t) {
  auto func = [](const FuncType& f) {
    for (const auto& p : f.params) {
      if (ValueMentionsResource(*p.type)) return true;
    }
    return f.result && ValueMentionsResource(*f.result);
  };
  auto decls = [](const std::vector<ExternDecl>& ds) {
    for (const auto& d : ds) {
      if (MentionsResource(d.type)) return true;
    }
    return false;
  };
  switch (t.sort) {
    case Sort::kFunc: return func(*t.func);
    case Sort::kValue: return ValueMentionsResource(*t.value);
    case Sort::kType:
      switch (t.type->kind) {
        case TypeDef::Kind::kResource: return true;
        case TypeDef::Kind::kValue: return ValueMentionsResource(*t.type->value);
        case TypeDef::Kind::kFunc: return func(*t.type->func);
        case TypeDef::Kind::kInstance: return decls(t.type->instance->exports);
        case TypeDef::Kind::kComponent:
          return decls(t.type->component->imports) || decls(t.type->component->exports);
      }
      return false;
    case Sort::kInstance: return decls(t.instance->exports);
    case Sort::kComponent: return decls(t.component->imports) || decls(t.component->exports);
    default: return false;
  }
}

}  // namespace arcella::component::decoding
