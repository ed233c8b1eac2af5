// Import resolution against a Linker, before compiling (preflight.h).
// Separate from preflight.cc, which reads bytes only and links with the
// loader alone (fuzz/loader_fuzz).
#include "engine/backend.h"
#include "engine/preflight.h"

namespace arcella::engine {
namespace {

std::string ValList(const char* keyword, const std::vector<ValType>& v) {
  if (v.empty()) return "";
  std::string s = std::string(" (") + keyword;
  for (ValType t : v) s += std::string(" ") + ValTypeName(t);
  return s + ")";
}

std::string LimitsText(const Limits& l) {
  std::string s = std::to_string(l.min);
  if (l.has_max) s += " " + std::to_string(l.max);
  return s;
}

}  // namespace

std::string DescribeImportType(const ExternDesc& d) {
  switch (d.kind) {
    case ExternKind::kFunc:
      return "(func" + ValList("param", d.func.params) + ValList("result", d.func.results) + ")";
    case ExternKind::kTable:
      return "(table " + LimitsText(d.limits) + " " + ValTypeName(d.value_type) + ")";
    case ExternKind::kMemory: return "(memory " + LimitsText(d.limits) + ")";
    case ExternKind::kGlobal:
      return d.mut ? std::string("(global (mut ") + ValTypeName(d.value_type) + "))"
                   : std::string("(global ") + ValTypeName(d.value_type) + ")";
    case ExternKind::kTag: return "(tag" + ValList("param", d.func.params) + ")";
  }
  return "(?)";
}

Status CheckImports(const Preflight& pf, const Linker& linker) {
  std::vector<std::string> problems;
  for (size_t i = 0; i < pf.imports.size(); ++i) {
    const ImportDesc& imp = pf.imports[i];
    if (imp.module == kMeterModule) continue;  // refused by Module::Compile
    std::string what = imp.module + "." + imp.name + " " + DescribeImportType(imp.desc);
    const Linker::HostEntry* host = nullptr;
    for (size_t k = linker.funcs().size(); k-- > 0;) {  // the last definition wins
      const auto& f = linker.funcs()[k];
      if (f.name == imp.name && f.module == imp.module) {
        host = &f;
        break;
      }
    }
    if (host) {
      if (imp.desc.kind != ExternKind::kFunc) {
        problems.push_back(what + ": the host defines a function");
      } else if (i < pf.typed.size() && pf.typed[i] && !(host->type == imp.desc.func)) {
        ExternDesc has;
        has.func = host->type;
        problems.push_back(what + ": the host's function is " + DescribeImportType(has));
      }
      continue;
    }
    const Instance* from = nullptr;
    for (size_t k = linker.instances().size(); k-- > 0;) {
      if (linker.instances()[k].module == imp.module) {
        from = linker.instances()[k].instance.get();
        break;
      }
    }
    const ExportDesc* exp = from ? from->module().FindExport(imp.name) : nullptr;
    if (!exp) {
      problems.push_back(what + ": not provided");
      continue;
    }
    if (exp->desc.kind != imp.desc.kind) {
      problems.push_back(what + ": " + imp.module + " exports a " + ExternKindName(exp->desc.kind));
    } else if (imp.desc.kind == ExternKind::kFunc && i < pf.typed.size() && pf.typed[i] &&
               !(exp->desc.func == imp.desc.func)) {
      problems.push_back(what + ": the export is " + DescribeImportType(exp->desc));
    }
    // Limits and global types are checked by Instance::Create against the
    // live instance (a memory may have grown).
  }
  if (problems.empty()) return Status::Ok();
  std::string msg = std::to_string(problems.size()) +
                    (problems.size() == 1 ? " import cannot" : " imports cannot") + " be resolved:";
  for (const auto& p : problems) msg += "\n  " + p;
  return Status::FailedPrecondition(std::move(msg));
}

}  // namespace arcella::engine
