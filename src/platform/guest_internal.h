// Internal to the guest implementations (guest_*.cc).
#pragma once

#include <memory>

#include "platform/guest.h"
#include "wasi/wasi.h"

namespace arcella::platform {

// The WASI configuration both kinds of guest start from: argv[0], the
// plan's environment and directories, the setup's sinks and interruption.
wasi::WasiConfig WasiConfigFor(const RunPlan& run, const GuestSetup& setup);

Result<std::shared_ptr<Guest>> CreateCoreGuest(const RunPlan& run, const GuestSetup& setup);
Result<std::shared_ptr<Guest>> CreateComponentGuest(const RunPlan& run, const GuestSetup& setup);

}  // namespace arcella::platform
