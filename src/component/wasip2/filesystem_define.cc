// DefineWasiFilesystem (filesystem.h): the wasi:filesystem interfaces in a
// Linker, with the WIT's own types (wit_host.h).
#include <map>
#include <string>
#include <utility>

#include "component/wasip2/filesystem.h"

namespace arcella::component {

Status DefineWasiFilesystem(Linker& linker, std::shared_ptr<WasiP2State> state) {
  std::map<std::string, HostResourceDtor> dtors;
  dtors["descriptor"] = [state](uint32_t rep) { state->descriptors.Remove(rep); };
  dtors["directory-entry-stream"] = [state](uint32_t rep) { state->dir_streams.Remove(rep); };
  std::string v(kWasiP2Version);
  Status s = DefineWitInterface(linker, "wasi:filesystem/types@" + v, FilesystemTypesImpls(state),
                                std::move(dtors));
  if (!s.ok()) return s;
  return DefineWitInterface(linker, "wasi:filesystem/preopens@" + v,
                            FilesystemPreopensImpls(std::move(state)));
}

}  // namespace arcella::component
