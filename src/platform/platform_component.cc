// The platform's side of components: compiling them at install, keeping
// them while installed, checking their imports at deploy.
#include <spdlog/spdlog.h>

#include "component/core_modules.h"
#include "component/decoder.h"
#include "component/linker.h"
#include "component/wasip2/wasi_p2.h"
#include "platform/blob_store.h"
#include "platform/link_check.h"
#include "platform/platform.h"

namespace arcella::platform {
namespace {

namespace comp = arcella::component;

// The interfaces WASI 0.2 provides (defined once; only names are asked).
const comp::Linker& WasiLinker() {
  static const comp::Linker* linker = [] {
    auto* l = new comp::Linker();
    auto p2 = comp::WasiP2::Create(wasi::WasiConfig{});
    if (p2.ok()) (void)(*p2)->AddToLinker(*l);
    return l;
  }();
  return *linker;
}

}  // namespace

Result<std::shared_ptr<const LoadedComponent>> Platform::CompileComponent(
    const std::shared_ptr<const std::vector<uint8_t>>& bytes, const std::string& what,
    const CompileHooks& hooks, const Progress& progress) {
  ARCELLA_ASSIGN_OR_RETURN(auto decoded, comp::DecodeComponent(*bytes));
  auto out = std::make_shared<LoadedComponent>();
  out->component = decoded;
  out->engine = engine_;
  std::vector<std::span<const uint8_t>> mods = component::CoreModuleBytes(*decoded);
  engine::Tier tier = hooks.tier;
  for (size_t i = 0; i < mods.size(); ++i) {
    engine::CompileOptions co;
    co.tier = tier;
    co.on_progress = hooks.on_progress;
    if (progress)
      progress(mods.size() == 1 ? std::string("compile")
                                : "compile core module " + std::to_string(i + 1) + "/" +
                                      std::to_string(mods.size()));
    auto mod = CompileCancellable(mods[i], co, hooks.cancel);
    if (!mod.ok())
      return mod.status().WithContext(what + " (core module " + std::to_string(i + 1) + "/" +
                                      std::to_string(mods.size()) + ")");
    tier = (*mod)->tier();
    out->metering = (*mod)->metering();
    out->modules.push_back(*mod);
  }
  out->tier = tier == engine::Tier::kAuto ? engine::Tier::kAot : tier;
  if (mods.empty()) out->metering = engine_->config().metering;
  return std::shared_ptr<const LoadedComponent>(std::move(out));
}

Result<std::shared_ptr<const LoadedComponent>> Platform::CompiledComponent(const ModuleRecord& m) {
  if (m.kind != "component") return Status::InvalidArgument(m.id + " is not a component");
  {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (auto it = components_.find(m.hash); it != components_.end()) return it->second;
  }
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, blobs_->Get(m.hash));
  auto shared = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  CompileHooks hooks;
  hooks.tier = InstalledTier(m);
  auto c = CompileComponent(shared, "compiling " + m.id, hooks, {});
  if (!c.ok()) return c.status();
  std::lock_guard<std::recursive_mutex> lock(mu_);
  components_[m.hash] = *c;
  return *c;
}

Result<std::shared_ptr<const LoadedComponent>> Platform::LoadComponent(const CodeRef& code) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto it = components_.find(code.module_hash);
  if (it == components_.end() || it->second->tier != code.tier ||
      it->second->metering != code.metering)
    return Status::NotFound("no installed component has the compiled code " + code.module_hash +
                            "/" + engine::TierName(code.tier));
  return it->second;
}

Status Platform::CheckComponentImports(const std::string& deployment, const LoadedComponent& c,
                                       const std::map<std::string, std::string>& links) {
  std::vector<std::string> unresolved;
  for (const comp::ExternDecl& imp : c.component->type.imports) {
    if (imp.type.sort == comp::Sort::kType) continue;  // types come with their instance
    bool wasi = imp.type.sort == comp::Sort::kInstance &&
                WasiLinker().FindInterface(imp.name.text) != nullptr;
    bool linked = false;
    for (const auto& [name, provider] : links)
      linked = linked || LinkedImport(*c.component, name) == imp.name.text;
    if (!wasi && !linked) unresolved.push_back(imp.name.text);
  }
  if (unresolved.empty()) return Status::Ok();
  std::string list;
  for (const auto& u : unresolved) list += (list.empty() ? "" : ", ") + u;
  return Status::FailedPrecondition(
      "deployment " + deployment + ": unresolved imports: " + list +
      " (only the WASI 0.2 interfaces and imports linked to other deployments are provided: "
      "link them with [deployment.links], `deploy --link IMPORT=DEPLOYMENT` or `arcella-cli "
      "link`)");
}

}  // namespace arcella::platform
