// Replaying a component's definitions (Component::defs, in binary order)
// into run-time index spaces: core modules and instances on the engine,
// canon lift/lower, resources, aliases, nested components, exports.
#include <string>
#include <utility>

#include "component/instance_internal.h"

namespace arcella::component {

using engine::ExternKind;
using engine::Value;
using inst::CompFunc;
using inst::CoreInst;
using inst::CoreItem;
using inst::Frame;
using inst::HostCore;
using inst::RtComponent;
using inst::RtInstance;
using inst::RtItem;

namespace {

std::string At(const Def& d) { return " (at byte " + std::to_string(d.offset) + ")"; }

std::vector<CoreItem>* CoreSpace(Frame* f, Sort s) {
  switch (s) {
    case Sort::kCoreFunc: return &f->core_funcs;
    case Sort::kCoreTable: return &f->core_tables;
    case Sort::kCoreMemory: return &f->core_memories;
    case Sort::kCoreGlobal: return &f->core_globals;
    default: return nullptr;
  }
}

std::vector<RtItem>* CompSpace(Frame* f, Sort s) {
  switch (s) {
    case Sort::kFunc: return &f->funcs;
    case Sort::kType: return &f->types;
    case Sort::kComponent: return &f->components;
    case Sort::kInstance: return &f->instances;
    case Sort::kCoreModule: return &f->modules;
    default: return nullptr;
  }
}

ExternKind KindOf(Sort s) {
  switch (s) {
    case Sort::kCoreTable: return ExternKind::kTable;
    case Sort::kCoreMemory: return ExternKind::kMemory;
    case Sort::kCoreGlobal: return ExternKind::kGlobal;
    case Sort::kCoreTag: return ExternKind::kTag;
    default: return ExternKind::kFunc;
  }
}

// Maps the decoded resource nodes an item's type names to the run-time
// resources of `item` (resources of instances by export name).
void MapResources(Frame* f, const ExternType& t, const RtItem& item) {
  if (t.sort == Sort::kType) {
    if (t.type && t.type->kind == TypeDef::Kind::kResource && t.type->resource && item.resource &&
        t.type->resource != item.resource)
      f->rmap[t.type->resource.get()] = item.resource;
    return;
  }
  if (t.sort == Sort::kInstance && t.instance && item.instance) {
    for (const ExternDecl& d : t.instance->exports) {
      const RtItem* sub = item.instance->Find(d.name.text);
      if (sub) MapResources(f, d.type, *sub);
    }
  }
}

// The item of sort `s` at `index` of `f`, for an inline instance export or a
// nested component's argument.
Result<RtItem> ItemOf(Frame* f, Sort s, uint32_t index) {
  std::vector<RtItem>* space = CompSpace(f, s);
  if (!space) return Status::Unsupported(std::string("a ") + SortName(s) + " as an item");
  if (index >= space->size())
    return Status::Internal(std::string(SortName(s)) + " index " + std::to_string(index) +
                            " out of range");
  return (*space)[index];
}

}  // namespace

Status ComponentInstance::Impl::Replay(Frame* f) {
  const Component& c = *f->c;
  auto core_fn = [](const CoreItem& it) -> Result<CoreFn> {
    if (it.host) {
      std::shared_ptr<HostCore> h = it.host;
      return CoreFn([h](std::span<const Value> args, std::vector<Value>* results) -> MaybeTrap {
        results->assign(h->type.results.size(), Value());
        for (size_t i = 0; i < results->size(); ++i) (*results)[i].type = h->type.results[i];
        return h->fn(args, *results);
      });
    }
    return CoreFnFromExport(it.inst.get(), it.name);
  };
  // Canon options -> CanonOptions kept alive by this instance.
  auto make_opts = [&](const CanonOptionIndices& o,
                       const engine::FuncType* lifted) -> Result<const CanonOptions*> {
    auto opts = std::make_unique<CanonOptions>();
    opts->encoding = o.string_encoding;
    if (o.memory) {
      const CoreItem& m = f->core_memories.at(*o.memory);
      if (!m.inst) return Status::Unsupported("a canonical option memory that is not exported");
      memories.push_back(std::make_unique<InstanceMemory>(m.inst.get(), m.name));
      opts->memory = memories.back().get();
    }
    if (o.realloc) {
      const CoreItem& r = f->core_funcs.at(*o.realloc);
      if (r.host) {
        std::shared_ptr<HostCore> h = r.host;
        opts->realloc = [h](uint32_t a, uint32_t b, uint32_t cc, uint32_t d) -> TrapOr<uint32_t> {
          Value args[4] = {Value::I32(a), Value::I32(b), Value::I32(cc), Value::I32(d)};
          Value res[1] = {Value::I32(0)};
          if (auto t = h->fn(args, res)) return *t;
          return res[0].i32;
        };
      } else {
        ARCELLA_ASSIGN_OR_RETURN(opts->realloc, ReallocFromExport(r.inst.get(), r.name));
      }
    }
    if (o.post_return && lifted) {
      const CoreItem& p = f->core_funcs.at(*o.post_return);
      if (p.host) return Status::Unsupported("a post-return function that is not exported");
      ARCELLA_ASSIGN_OR_RETURN(opts->post_return,
                               PostReturnFromExport(p.inst.get(), p.name, lifted->results));
    }
    canon_opts.push_back(std::move(opts));
    return static_cast<const CanonOptions*>(canon_opts.back().get());
  };

  for (const Def& d : c.defs) {
    switch (d.kind) {
      case DefKind::kCoreModule: {
        RtItem it;
        it.sort = Sort::kCoreModule;
        it.module_owner = &c;
        it.module_index = d.index;
        f->modules.push_back(std::move(it));
        break;
      }
      case DefKind::kCoreType: f->core_types++; break;
      case DefKind::kCoreInstance: {
        const CoreInstanceDef& ci = c.core_instances[d.index];
        auto out = std::make_shared<CoreInst>();
        if (ci.instantiate) {
          ARCELLA_RETURN_IF_ERROR(CountInstance("core instance" + At(d)));
          RtItem& mod = f->modules.at(ci.module);
          if (!mod.module) {
            ARCELLA_ASSIGN_OR_RETURN(mod.module,
                                     CompileModule(*mod.module_owner, mod.module_index));
          }
          engine::Linker linker;
          for (const CoreInstanceDef::Arg& a : ci.args) {
            const CoreInst& from = *f->core_instances.at(a.instance);
            if (from.inst) {
              linker.DefineInstance(a.name, from.inst);
              continue;
            }
            for (const auto& [n, item] : from.bag) {
              if (item.host) {
                std::shared_ptr<HostCore> h = item.host;
                linker.DefineFunc(a.name, n, h->type,
                                  [h](engine::Caller&, std::span<const Value> args,
                                      std::span<Value> results) { return h->fn(args, results); });
              } else {
                linker.DefineExport(a.name, n, item.inst, item.name);
              }
            }
          }
          auto r = Instantiate(mod.module, linker);
          if (!r.ok())
            return Status(r.status().code(), "core instance " +
                                                 std::to_string(f->core_instances.size()) + At(d) +
                                                 ": " + r.status().message());
          out->inst = std::move(r).value();
        } else {
          for (const CoreInstanceDef::InlineExport& e : ci.exports) {
            std::vector<CoreItem>* space = CoreSpace(f, e.sort);
            if (!space)
              return Status::Unsupported(std::string("a core instance exporting a ") +
                                         SortName(e.sort) + At(d));
            out->bag.emplace_back(e.name, space->at(e.index));
          }
        }
        f->core_instances.push_back(std::move(out));
        break;
      }
      case DefKind::kComponent: {
        RtItem it;
        it.sort = Sort::kComponent;
        it.component = std::make_shared<RtComponent>();
        it.component->c = c.components[d.index];
        it.component->outer = f;
        f->components.push_back(std::move(it));
        break;
      }
      case DefKind::kInstance: {
        const InstanceDef& id = c.instances[d.index];
        RtItem out;
        out.sort = Sort::kInstance;
        if (id.instantiate) {
          ARCELLA_RETURN_IF_ERROR(CountInstance("component instance" + At(d)));
          const RtItem& comp = f->components.at(id.component);
          auto args = std::make_unique<std::map<std::string, RtItem>>();
          for (const InstanceDef::Arg& a : id.args) {
            ARCELLA_ASSIGN_OR_RETURN(RtItem item, ItemOf(f, a.sort, a.index));
            (*args)[a.name] = std::move(item);
          }
          auto state = std::make_unique<ComponentInstanceState>(f->state);
          auto child = std::make_unique<Frame>();
          child->c = comp.component->c.get();
          child->outer = comp.component->outer;
          child->rmap = comp.component->outer->rmap;
          child->state = state.get();
          child->args = args.get();
          states.push_back(std::move(state));
          Frame* cf = child.get();
          frames.push_back(std::move(child));
          Status s = Replay(cf);
          if (!s.ok())
            return Status(s.code(), "component instance " + std::to_string(f->instances.size()) +
                                        At(d) + ": " + s.message());
          out.instance = cf->exports;
          // The arguments are only needed while replaying.
          cf->args = nullptr;
        } else {
          out.instance = std::make_shared<RtInstance>();
          for (const InstanceDef::InlineExport& e : id.exports) {
            ARCELLA_ASSIGN_OR_RETURN(RtItem item, ItemOf(f, e.sort, e.index));
            out.instance->items.emplace_back(e.name.text, std::move(item));
          }
        }
        MapResources(f, c.space(Sort::kInstance).at(f->instances.size()).type, out);
        f->instances.push_back(std::move(out));
        break;
      }
      case DefKind::kAlias: {
        const Alias& a = c.aliases[d.index];
        if (a.kind == Alias::Kind::kCoreInstanceExport) {
          std::vector<CoreItem>* space = CoreSpace(f, a.sort);
          if (!space)
            return Status::Unsupported(std::string("an alias of a core ") + SortName(a.sort) +
                                       At(d));
          const CoreInst& from = *f->core_instances.at(a.instance);
          CoreItem item;
          if (from.inst) {
            item.kind = KindOf(a.sort);
            item.inst = from.inst;
            item.name = a.name;
          } else {
            bool found = false;
            for (const auto& [n, it] : from.bag) {
              if (n == a.name) {
                item = it;
                found = true;
                break;
              }
            }
            if (!found) return Status::Internal("core instance has no export " + a.name + At(d));
          }
          space->push_back(std::move(item));
        } else if (a.kind == Alias::Kind::kInstanceExport) {
          std::vector<RtItem>* space = CompSpace(f, a.sort);
          if (!space)
            return Status::Unsupported(std::string("an alias of a ") + SortName(a.sort) + At(d));
          const RtItem& from = f->instances.at(a.instance);
          const RtItem* item = from.instance ? from.instance->Find(a.name) : nullptr;
          if (!item) return Status::Internal("instance has no export " + a.name + At(d));
          size_t idx = space->size();
          space->push_back(*item);
          if (a.sort == Sort::kType || a.sort == Sort::kInstance)
            MapResources(f, c.space(a.sort).at(idx).type, *item);
        } else {
          Frame* o = f;
          for (uint32_t k = 0; k < a.outer_count && o; ++k) o = o->outer;
          if (!o) return Status::Internal("outer alias past the outermost component" + At(d));
          if (a.sort == Sort::kCoreType) {
            f->core_types++;
            break;
          }
          std::vector<RtItem>* from = CompSpace(o, a.sort);
          std::vector<RtItem>* space = CompSpace(f, a.sort);
          if (!from || !space)
            return Status::Unsupported(std::string("an outer alias of a ") + SortName(a.sort) +
                                       At(d));
          size_t idx = space->size();
          space->push_back(from->at(a.outer_index));
          if (a.sort == Sort::kType) MapResources(f, c.space(a.sort).at(idx).type, space->back());
        }
        break;
      }
      case DefKind::kType: {
        const TypeDefRef& t = c.types[d.index];
        RtItem it;
        it.sort = Sort::kType;
        it.type = t;
        if (t->kind == TypeDef::Kind::kResource && t->local) {
          auto rt = std::make_shared<ResourceType>(*t->resource);  // fresh per instantiation
          f->rmap[t->resource.get()] = rt;
          f->state->DefineResource(rt.get());
          ResourceImpl ri;
          ri.type = rt;
          ri.impl = f->state;
          if (t->dtor) {
            ARCELLA_ASSIGN_OR_RETURN(CoreFn dtor, core_fn(f->core_funcs.at(*t->dtor)));
            ri.dtor = [dtor](uint32_t rep) -> MaybeTrap {
              Value arg = Value::I32(rep);
              std::vector<Value> res;
              return dtor(std::span<const Value>(&arg, 1), &res);
            };
          }
          resource_impls[rt.get()] = std::move(ri);
          it.resource = rt;
        } else if (t->kind == TypeDef::Kind::kResource) {
          auto m = f->rmap.find(t->resource.get());
          it.resource = m != f->rmap.end() ? m->second : t->resource;
        }
        f->types.push_back(std::move(it));
        break;
      }
      case DefKind::kCanon: {
        const Canon& cn = c.canons[d.index];
        switch (cn.kind) {
          case Canon::Kind::kLift: {
            FuncType ft = inst::SubstFunc(*cn.func_type, f->rmap);
            ARCELLA_ASSIGN_OR_RETURN(CoreFn callee, core_fn(f->core_funcs.at(cn.func)));
            engine::FuncType flat = FlattenFuncType(ft, FlattenContext::kLift);
            ARCELLA_ASSIGN_OR_RETURN(const CanonOptions* opts, make_opts(cn.opts, &flat));
            RtItem it;
            it.sort = Sort::kFunc;
            it.func = std::make_shared<CompFunc>();
            it.func->fn = CanonLift(std::move(callee), ft, opts, f->state);
            it.func->type = std::move(ft);
            f->funcs.push_back(std::move(it));
            break;
          }
          case Canon::Kind::kLower: {
            const RtItem& callee = f->funcs.at(cn.func);
            ARCELLA_ASSIGN_OR_RETURN(const CanonOptions* opts, make_opts(cn.opts, nullptr));
            auto h = std::make_shared<HostCore>();
            h->type = cn.core_type;
            std::shared_ptr<CompFunc> fn = callee.func;
            ComponentInstanceState* state = f->state;
            h->fn = [fn, opts, state](std::span<const Value> args,
                                      std::span<Value> results) -> MaybeTrap {
              auto out = CanonLower(fn->fn, fn->type, *opts, state, args);
              if (!out.ok()) return out.take_trap();
              const std::vector<Value>& v = out.value();
              for (size_t i = 0; i < results.size() && i < v.size(); ++i) results[i] = v[i];
              return std::nullopt;
            };
            CoreItem item;
            item.host = std::move(h);
            f->core_funcs.push_back(std::move(item));
            break;
          }
          case Canon::Kind::kResourceNew:
          case Canon::Kind::kResourceDrop:
          case Canon::Kind::kResourceRep: {
            auto m = f->rmap.find(cn.resource.get());
            ResourceRef rt = m != f->rmap.end() ? m->second : cn.resource;
            auto h = std::make_shared<HostCore>();
            h->type = cn.core_type;
            ComponentInstanceState* state = f->state;
            if (cn.kind == Canon::Kind::kResourceNew) {
              h->fn = [state, rt](std::span<const Value> args,
                                  std::span<Value> results) -> MaybeTrap {
                auto r = CanonResourceNew(state, rt, args[0].i32);
                if (!r.ok()) return r.take_trap();
                results[0] = Value::I32(r.value());
                return std::nullopt;
              };
            } else if (cn.kind == Canon::Kind::kResourceRep) {
              h->fn = [state, rt](std::span<const Value> args,
                                  std::span<Value> results) -> MaybeTrap {
                auto r = CanonResourceRep(state, rt, args[0].i32);
                if (!r.ok()) return r.take_trap();
                results[0] = Value::I32(r.value());
                return std::nullopt;
              };
            } else {
              h->fn = [this, state, rt](std::span<const Value> args,
                                        std::span<Value>) -> MaybeTrap {
                auto it = resource_impls.find(rt.get());
                ResourceImpl ri = it != resource_impls.end() ? it->second : ResourceImpl{rt};
                return CanonResourceDrop(state, ri, args[0].i32);
              };
            }
            CoreItem item;
            item.host = std::move(h);
            f->core_funcs.push_back(std::move(item));
            break;
          }
        }
        break;
      }
      case DefKind::kStart: {
        // Only the simple form: a function without value arguments or results.
        const Start& st = c.starts[d.index];
        if (!st.args.empty() || st.results > 0)
          return Status::Unsupported("a component start function with values" + At(d));
        const RtItem& fn = f->funcs.at(st.func);
        auto r = InvokeFunc(fn.func->fn, {});
        if (!r.ok())
          return Status::FailedPrecondition("component start function " + std::to_string(st.func) +
                                            At(d) + " trapped: " + r.trap().ToString());
        break;
      }
      case DefKind::kImport: {
        const Import& im = c.imports[d.index];
        const RtItem* item = nullptr;
        if (f->args) {
          auto it = f->args->find(im.name.text);
          if (it != f->args->end()) item = &it->second;
        }
        if (!item) return Status::FailedPrecondition("import " + im.name.text + " not supplied");
        std::vector<RtItem>* space = CompSpace(f, im.type.sort);
        if (!space)
          return Status::Unsupported(std::string("an import of a ") + SortName(im.type.sort) +
                                     At(d));
        if (item->sort != im.type.sort)
          return Status::FailedPrecondition("import " + im.name.text + " is a " +
                                            SortName(im.type.sort) + ", given a " +
                                            SortName(item->sort));
        MapResources(f, im.type, *item);
        space->push_back(*item);
        break;
      }
      case DefKind::kExport: {
        const Export& ex = c.exports[d.index];
        std::vector<RtItem>* space = CompSpace(f, ex.sort);
        if (!space)
          return Status::Unsupported(std::string("an export of a ") + SortName(ex.sort) + At(d));
        RtItem item = space->at(ex.index);
        // An ascribed export names the same run-time items; its own
        // (sub resource) nodes stand for the exported resources.
        MapResources(f, ex.type, item);
        space->push_back(item);
        f->exports->items.emplace_back(ex.name.text, std::move(item));
        break;
      }
    }
  }
  return Status::Ok();
}

}  // namespace arcella::component
