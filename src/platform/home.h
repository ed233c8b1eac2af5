// $ARCELLA_HOME: the directory a daemon owns (default ~/.arcella).
//
//   <home>/               0700
//     config/arcella.toml  layered configuration (config.h)
//     modules/             content-addressed module blobs (blob_store.h)
//     cache/               AOT cache
//     deploy/              hot-deploy folder
//     log/                 daemon and replica logs
//     state.db             desired state (state_store.h)
//     alme                 the management socket
//     daemon.lock          flock held by the running daemon; contains its pid
#pragma once

#include <string>

#include "common/status.h"

namespace arcella::platform {

class Home {
 public:
  // `explicit_path` if non-empty, else $ARCELLA_HOME, else $HOME/.arcella.
  static Result<std::string> ResolvePath(const std::string& explicit_path = "");

  // Paths only; nothing is created.
  explicit Home(std::string root);

  // Creates the home and its subdirectories, 0700, where missing. Never
  // changes the mode of an existing directory: one not owned by the
  // effective user, or writable by its group or others, is refused
  // (FailedPrecondition "home /tmp/x is writable by others (mode 1777); use
  // a private directory ..."), as is a path that is not a directory.
  Status Create() const;

  const std::string& root() const { return root_; }
  std::string config_dir() const { return root_ + "/config"; }
  std::string config_file() const { return root_ + "/config/arcella.toml"; }
  std::string modules_dir() const { return root_ + "/modules"; }
  std::string cache_dir() const { return root_ + "/cache"; }
  std::string deploy_dir() const { return root_ + "/deploy"; }
  std::string log_dir() const { return root_ + "/log"; }
  std::string state_db() const { return root_ + "/state.db"; }
  std::string alme_socket() const { return root_ + "/alme"; }
  std::string lock_file() const { return root_ + "/daemon.lock"; }

 private:
  std::string root_;
};

// An exclusive flock on <home>/daemon.lock, held for the object's lifetime
// (and released by the kernel if the process dies). The file holds the pid.
class HomeLock {
 public:
  // FailedPrecondition "another arcella daemon (pid N) is using <home>" when
  // held by someone else.
  static Result<HomeLock> Acquire(const Home& home);

  HomeLock(HomeLock&& other) noexcept;
  HomeLock& operator=(HomeLock&& other) noexcept;
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;
  ~HomeLock();

  // Releases early (idempotent).
  void Release();

 private:
  explicit HomeLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace arcella::platform
