// WASI 0.2 for components, on the same capability layer as preview 1
// (wasi/wasi.h): the same WasiConfig, the same deny-by-default rules and the
// same escape-proof path resolution beneath preopened directories.
//
//   wasi::WasiConfig cfg;  // args, env, preopens, stdio, clock granularity
//   auto p2 = WasiP2::Create(std::move(cfg));
//   Linker linker;
//   (*p2)->AddToLinker(linker);  // wasi:io, clocks, random, cli, filesystem, sockets
//   auto inst = ComponentInstance::Create(engine, component, linker, opts);
//   auto r = (*inst)->Call("wasi:cli/run@0.2.3#run", {});
//   // a TrapKind::kExit trap carries the exit code; (*p2)->exit_code() too
//
// Interfaces are defined at version 0.2.12; the linker's semver rule gives
// them to imports of any 0.2.x (0.2.0 .. 0.2.12), mixed in one component.
// The types come from WIT text compiled into the binary (our own
// transcription of the WASI 0.2 interfaces, parsed by wit_parser.h once).
// wasi:sockets is present and refuses everything (access-denied).
//
// A WasiP2 belongs to one component instance; used by one thread at a time.
#pragma once

#include <memory>
#include <optional>

#include "common/status.h"
#include "component/linker.h"
#include "component/value.h"
#include "component/wasip2/http_message.h"
#include "wasi/wasi.h"

namespace arcella::component {

class WasiP2State;  // internal: the resource tables and the preview-1 context

class WasiP2 : public std::enable_shared_from_this<WasiP2> {
 public:
  // Opens the preopens (errors name the offending entry).
  static Result<std::shared_ptr<WasiP2>> Create(wasi::WasiConfig config);
  ~WasiP2();

  // Defines every implemented function and resource of WASI 0.2.12 in
  // `linker`; the functions keep this object alive.
  Status AddToLinker(Linker& linker);

  // Serving one HTTP request (wasi:http/incoming-handler.handle): the
  // request's own<incoming-request> and a fresh own<response-outparam>, to
  // pass to `handle`; then TakeResponse(outparam) gives what the guest set
  // (FailedPrecondition naming what is missing: no response set, an
  // error-code set, a body not finished or over `max_body` bytes). Only
  // after AddToLinker.
  Result<std::vector<Val>> NewIncomingRequest(HttpRequest request, size_t max_body);
  Result<HttpResponse> TakeResponse(const Val& outparam);

  // The code given to wasi:cli/exit once the guest called it (ok: 0, err: 1).
  std::optional<int32_t> exit_code() const;

  WasiP2State& state() { return *state_; }

 private:
  explicit WasiP2(std::unique_ptr<WasiP2State> state);
  std::unique_ptr<WasiP2State> state_;
};

}  // namespace arcella::component
