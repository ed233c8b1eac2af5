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
//
// What it reads: names ending in .wasm or .deployment.toml, not starting
// with '.'. Only regular files: a symlink is followed only when it resolves
// to a regular file (then the target's size, inode and mtime count); a
// directory, FIFO, device or socket is refused and logged. A .wasm over
// limits.max_module_bytes, or a deployment file over 1 MiB, is refused by
// its size without being read (file_read.h; the TOML bounds of
// toml_shape.h apply too).
//
// A .wasm deleted or replaced while its install compiles cancels that
// compile (the file's identity is polled while it runs): nothing is
// installed, and a replacement is picked up by the next scans. Stop()
// cancels an install in progress too.
//
// When: a file is picked up once its identity (size, mtime, inode, and the
// link's own for a symlink) is unchanged across two scans, and no process
// holds it open for writing (a read lease is refused while a writer exists:
// OpenForWritingElsewhere). A copy that pauses mid-way is therefore not
// deployed while its writer keeps it open; writing to a dot-file or another
// name and renaming it into place is always safe.
//
// Ownership: the record of what each file created (module id and hash,
// deployment id, file hash) is kept in the state database
// (StateStore::*HotDeployFile) and survives restarts. At start, files
// deleted while the daemon was down are undone; unchanged files are adopted
// as they are (stopped or scaled deployments stay so). The folder never
// replaces a module or deployment it did not create: such a file is refused,
// logged (naming the file and the module) and published as a "module"
// event with state "refused". Deployments it creates carry the origin
// "hot-deploy:<path>". Errors are logged, never fatal.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "platform/platform.h"
#include "platform/state_store.h"

namespace arcella::daemon {

class HotDeploy {
 public:
  // `state_db` is the daemon's state database (home.state_db()); the folder
  // keeps its own connection to it.
  HotDeploy(platform::Platform* platform, std::string dir, uint32_t interval_ms,
            std::string state_db);
  ~HotDeploy();  // stops the scanner thread

  // Opens the record and starts scanning; an error leaves the folder off.
  Status Start();
  void Stop();
  // One scan, synchronously (the scanner thread; after Open()).
  void ScanOnce();
  // Opens the record (Start() does this).
  Status Open();

 private:
  struct Seen {
    std::string identity;  // size, mtime, inode (of the link and the target)
    bool stable = false;   // unchanged for one scan
    bool applied = false;  // acted upon (or refused) with this identity
  };
  void ApplyWasm(const std::string& name);
  // Install() of `path`, cancelled when the file's identity stops being
  // `identity` (deleted, replaced) or Stop() is called.
  Result<platform::ModuleInfo> InstallWatched(const std::string& path, bool force,
                                              const std::string& identity);
  void ApplyDeployment(const std::string& name);
  void Forget(const std::string& name);
  void Refuse(const std::string& name, const std::string& module_id, const std::string& why);
  void Record(const platform::HotDeployFile& f);
  // Whether the folder created module `id` as it is installed now.
  bool OwnsModule(const std::string& id);
  bool OwnsDeployment(const std::string& id) const;
  std::string PathOf(const std::string& name) const { return dir_ + "/" + name; }

  platform::Platform* platform_;
  std::string dir_;
  uint32_t interval_ms_;
  std::string state_db_;
  std::unique_ptr<platform::StateStore> store_;
  std::map<std::string, Seen> seen_;                        // by file name
  std::map<std::string, platform::HotDeployFile> records_;  // by file name (persisted)
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace arcella::daemon
