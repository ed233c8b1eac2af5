#include "worker/sandbox.h"

namespace arcella::worker {

Result<SandboxReport> EnterSandbox(const SandboxOptions& options) {
  (void)options;
  return Status::Unsupported("sandbox: not implemented yet");
}

std::string DescribeSandbox(const SandboxReport& report) { return ""; }

int LandlockAbiVersion() { return 0; }

}  // namespace arcella::worker
