// The WASI 0.2 WIT packages compiled into the binary, and how the host
// defines an interface of them in a Linker with the WIT's own types.
//
//   HostImpls impls;
//   impls.emplace_back("get-random-u64", [st](std::vector<Val>) -> TrapOr<std::vector<Val>> {
//     return std::vector<Val>{Val::U64(st->NextRandom())};
//   });
//   DefineWitInterface(linker, "wasi:random/random@0.2.12", std::move(impls));
//
// The WIT text (src/component/wasip2/wit/*.wit) is our transcription of the
// WASI 0.2.12 interfaces (types and functions, no docs), embedded at build
// time and parsed with wit_parser.h on first use (thread-safe, once).
//
// Errors: an unknown interface, or an implementation named for a function
// the interface does not declare, is an InvalidArgument naming it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "component/linker.h"
#include "component/wit_parser.h"

namespace arcella::component {

// The version every WASI interface is defined at.
inline constexpr std::string_view kWasiP2Version = "0.2.12";

// The parsed packages (wasi:io, clocks, random, cli, filesystem, sockets).
Result<const std::vector<WitPackage>*> WasiWitPackages();
// Interface "wasi:io/streams@0.2.12" of them.
Result<const WitInterface*> WasiInterface(std::string_view qualified);

using HostImpls = std::vector<std::pair<std::string, HostFn>>;  // WIT function name, impl

// Defines interface `qualified` in `linker`: every resource it declares
// (with the destructor from `dtors` by resource name, if any) and each
// function of `impls` with its WIT type. Functions left out stay undefined
// (an importer using them is refused at instantiation).
Status DefineWitInterface(Linker& linker, std::string_view qualified, HostImpls impls,
                          std::map<std::string, HostResourceDtor> dtors = {});

}  // namespace arcella::component
