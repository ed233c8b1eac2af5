// The embedded WASI 0.2 WIT, parsed once, and interface definitions in a
// Linker with the WIT's own types (wit_host.h).
#include "component/wasip2/wit_host.h"

#include <mutex>

#include "component/wasip2/wit_embedded.h"

namespace arcella::component {

namespace {

struct Parsed {
  Status status;
  std::vector<WitPackage> packages;
};

const Parsed& ParsedWasi() {
  static std::once_flag once;
  static Parsed parsed;  // shared by every WasiP2 (immutable once parsed)
  std::call_once(once, [] {
    std::vector<WitSource> sources;
    for (size_t i = 0; i < kEmbeddedWasiWitCount; ++i)
      sources.push_back({kEmbeddedWasiWit[i].filename, kEmbeddedWasiWit[i].text});
    auto r = ParseWit(sources);
    if (r.ok()) {
      parsed.packages = std::move(r).value();
    } else {
      parsed.status = r.status().WithContext("the embedded WASI 0.2 WIT");
    }
  });
  return parsed;
}

}  // namespace

Result<const std::vector<WitPackage>*> WasiWitPackages() {
  const Parsed& p = ParsedWasi();
  if (!p.status.ok()) return p.status;
  return &p.packages;
}

Result<const WitInterface*> WasiInterface(std::string_view qualified) {
  ARCELLA_ASSIGN_OR_RETURN(const std::vector<WitPackage>* pkgs, WasiWitPackages());
  for (const auto& pkg : *pkgs)
    for (const auto& iface : pkg.interfaces)
      if (iface->QualifiedName() == qualified) return iface.get();
  return Status::InvalidArgument("no WASI interface \"" + std::string(qualified) +
                                 "\" in the embedded WIT");
}

}  // namespace arcella::component
