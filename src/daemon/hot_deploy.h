// The hot-deploy folder ($ARCELLA_HOME/deploy), like Karaf's deploy/:
//   - dropping x.wasm (manifest from x.component.toml beside it, or the file
//     name name@version.wasm) installs it; if no *.deployment.toml in the
//     folder names the module, it is deployed (group "default", 1 replica)
//     and started;
//   - dropping y.deployment.toml deploys (or redeploys, when it changes) and
//     starts it;
//   - deleting a file undoes what it did: a deployment file's deployment is
//     undeployed; a .wasm's default deployment is undeployed and the module
//     removed, unless other deployments still use it (then it stays).
// After a daemon restart the first scan keeps deployments that already exist
// with the same spec as they were (stopped, scaled): files are re-applied only
// when they change.
// Files are picked up once their size and mtime are stable across two scans,
// so half-copied files are never read. Errors are logged, never fatal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "platform/platform.h"

namespace arcella::daemon {

class HotDeploy {
 public:
  HotDeploy(platform::Platform* platform, std::string dir, uint32_t interval_ms);
  ~HotDeploy();  // stops the scanner thread

  void Start();
  void Stop();
  // One scan, synchronously (tests, and the scanner thread).
  void ScanOnce();

 private:
  struct Seen {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    bool stable = false;    // unchanged for one scan
    bool applied = false;   // acted upon with this size/mtime
  };
  void ApplyWasm(const std::string& path);
  void ApplyDeployment(const std::string& path);
  void Forget(const std::string& path);

  platform::Platform* platform_;
  std::string dir_;
  uint32_t interval_ms_;
  std::map<std::string, Seen> seen_;
  // What each file did: wasm path -> module id; toml path -> deployment id.
  std::map<std::string, std::string> modules_;
  std::map<std::string, std::string> deployments_;
  std::map<std::string, std::string> implicit_;  // wasm path -> deployment it created
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace arcella::daemon
