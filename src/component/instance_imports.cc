// Resolution of a component's top-level imports against a Linker, before
// anything is compiled: every problem is listed in one error.
#include <string>
#include <utility>

#include "component/instance_internal.h"

namespace arcella::component {

using inst::CompFunc;
using inst::ResourceMap;
using inst::RtInstance;
using inst::RtItem;

namespace {

bool IsResourceDecl(const ExternType& t) {
  return t.sort == Sort::kType && t.type && t.type->kind == TypeDef::Kind::kResource &&
         t.type->resource;
}

}  // namespace

Status ComponentInstance::Impl::ResolveImports(const Linker& linker) {
  std::vector<std::string> problems;
  ResourceMap bound;  // import resource nodes -> provider resources

  auto add_resource_impl = [this](const std::string& /*iface*/, const Linker::ResourceEntry& r) {
    if (resource_impls.count(r.type.get())) return;
    ResourceImpl ri;
    ri.type = r.type;
    // A resource another component instance implements: its own record.
    if (r.dtor) {
      HostResourceDtor d = r.dtor;
      ri.dtor = [d](uint32_t rep) -> MaybeTrap {
        d(rep);
        return std::nullopt;
      };
    }
    resource_impls.emplace(r.type.get(), std::move(ri));
  };
  auto func_item = [](const Linker::FuncEntry& e) -> std::shared_ptr<CompFunc> {
    auto f = std::make_shared<CompFunc>();
    f->type = e.type;
    if (e.instance) {
      ComponentInstance::Impl& other = e.instance->impl();
      auto it = other.funcs.find(e.export_name);
      if (it == other.funcs.end()) return nullptr;
      f->fn = it->second->fn;
    } else {
      f->fn = HostFuncInst(e.fn);
    }
    return f;
  };
  auto check_func = [&](const std::string& what, const FuncType& want_ast,
                        const Linker::FuncEntry& have) {
    FuncType want = inst::SubstFunc(want_ast, bound);
    if (!FuncTypeEquals(want, have.type)) {
      problems.push_back(what + " (type " + have.type.ToString() + " expected " + want.ToString() +
                         ")");
      return false;
    }
    return true;
  };
  // Resources of other component instances: their implementation records.
  auto import_provider_resources = [this](const Linker::Interface& i) {
    for (const auto& [n, f] : i.funcs) {
      if (!f.instance) continue;
      for (const auto& [rt, ri] : f.instance->impl().resource_impls) resource_impls.emplace(rt, ri);
    }
  };

  for (const Import& im : component->imports) {
    const std::string& name = im.name.text;
    const ExternType& t = im.type;
    if (t.sort == Sort::kFunc) {
      const Linker::Interface* i = linker.FindInterface("");
      auto f = i ? i->funcs.find(name) : decltype(i->funcs.end()){};
      if (!i || f == i->funcs.end()) {
        problems.push_back(name + " (no provider)");
        continue;
      }
      if (!check_func(name, *t.func, f->second)) continue;
      RtItem item;
      item.sort = Sort::kFunc;
      item.func = func_item(f->second);
      if (!item.func) {
        problems.push_back(name + " (the providing instance lost it)");
        continue;
      }
      import_provider_resources(*i);
      imports[name] = std::move(item);
    } else if (IsResourceDecl(t)) {
      const Linker::Interface* i = linker.FindInterface("");
      auto r = i ? i->resources.find(name) : decltype(i->resources.end()){};
      if (!i || r == i->resources.end()) {
        problems.push_back(name + " (no provider)");
        continue;
      }
      bound[t.type->resource.get()] = r->second.type;
      add_resource_impl("", r->second);
      RtItem item;
      item.sort = Sort::kType;
      item.type = t.type;
      item.resource = r->second.type;
      imports[name] = std::move(item);
    } else if (t.sort == Sort::kInstance && t.instance) {
      std::string matched;
      const Linker::Interface* i = linker.FindInterface(name, &matched);
      if (!i) {
        problems.push_back(name + " (no provider)");
        continue;
      }
      import_provider_resources(*i);
      auto rt = std::make_shared<RtInstance>();
      bool ok = true;
      // Resources first: function types refer to them.
      for (const ExternDecl& d : t.instance->exports) {
        if (!IsResourceDecl(d.type) || !d.type.sub_resource) continue;
        auto r = i->resources.find(d.name.text);
        if (r == i->resources.end()) {
          problems.push_back(name + "#" + d.name.text + " (no provider)");
          ok = false;
          continue;
        }
        bound[d.type.type->resource.get()] = r->second.type;
        add_resource_impl(matched, r->second);
      }
      for (const ExternDecl& d : t.instance->exports) {
        std::string what = name + "#" + d.name.text;
        RtItem item;
        item.sort = d.type.sort;
        if (d.type.sort == Sort::kFunc) {
          auto f = i->funcs.find(d.name.text);
          if (f == i->funcs.end()) {
            problems.push_back(what + " (no provider)");
            ok = false;
            continue;
          }
          if (!check_func(what, *d.type.func, f->second)) {
            ok = false;
            continue;
          }
          item.func = func_item(f->second);
          if (!item.func) {
            problems.push_back(what + " (the providing instance lost it)");
            ok = false;
            continue;
          }
        } else if (d.type.sort == Sort::kType) {
          item.type = d.type.type;
          if (IsResourceDecl(d.type)) {
            auto b = bound.find(d.type.type->resource.get());
            item.resource = b != bound.end() ? b->second : d.type.type->resource;
          }
        } else {
          problems.push_back(what + " (cannot import a " + std::string(SortName(d.type.sort)) +
                             " from the host)");
          ok = false;
          continue;
        }
        rt->items.emplace_back(d.name.text, std::move(item));
      }
      if (!ok) continue;
      RtItem item;
      item.sort = Sort::kInstance;
      item.instance = std::move(rt);
      imports[name] = std::move(item);
    } else {
      problems.push_back(name + " (cannot import a " + std::string(SortName(t.sort)) +
                         " from the host)");
    }
  }
  if (problems.empty()) return Status::Ok();
  std::string msg = "unresolved imports: ";
  for (size_t k = 0; k < problems.size(); ++k) msg += (k ? ", " : "") + problems[k];
  return Status::FailedPrecondition(msg);
}

}  // namespace arcella::component
