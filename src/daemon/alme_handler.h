// The daemon's ALME methods (docs/ALME.md) over a Platform: parameter
// checking, conversion to and from JSON, error-code mapping, streams.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "alme/server.h"
#include "platform/platform.h"

namespace arcella::daemon {

class AlmeHandler : public alme::Handler {
 public:
  // `request_shutdown` is called for `daemon.shutdown`.
  AlmeHandler(platform::Platform* platform, std::string home,
              std::function<void()> request_shutdown);

  void Handle(const std::string& method, const alme::Json& params,
              std::shared_ptr<alme::Responder> responder) override;
  // `ping` -> kInline, `call` -> kCall, `module.install` -> kInstall, `logs`
  // with follow and `events.watch` -> kStream, everything else kManagement.
  alme::Lane LaneOf(const std::string& method, const alme::Json& params) const override;

 private:
  using Json = alme::Json;
  using Reply = std::shared_ptr<alme::Responder>;

  void Ping(const Json& p, const Reply& r);
  void Install(const Json& p, const Reply& r);
  void ModuleList(const Json& p, const Reply& r);
  void ModuleInspect(const Json& p, const Reply& r);
  void ModuleRemove(const Json& p, const Reply& r);
  void DeploymentCreate(const Json& p, const Reply& r);
  void Lifecycle(const std::string& method, const Json& p, const Reply& r);
  void Link(const std::string& method, const Json& p, const Reply& r);
  void DeploymentRemove(const Json& p, const Reply& r);
  void StatusMethod(const Json& p, const Reply& r);
  void Call(const Json& p, const Reply& r);
  void Logs(const Json& p, const Reply& r);
  void Watch(const Json& p, const Reply& r);

  platform::Platform* platform_;
  std::string home_;
  std::function<void()> request_shutdown_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace arcella::daemon
