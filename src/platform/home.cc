#include "platform/home.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace arcella::platform {
namespace {

std::string Errno(int e) { return std::strerror(e); }

std::string Octal(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

// `what` ("home", "home subdirectory") names the directory in messages.
Status CheckPrivateDir(const std::string& path, const char* what) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return Status::IoError("cannot stat " + path + ": " + Errno(errno));
  if (!S_ISDIR(st.st_mode))
    return Status::FailedPrecondition(path + " exists and is not a directory");
  const std::string fix = "; use a private directory (owned by you, mode 0700)";
  if (st.st_uid != ::geteuid())
    return Status::FailedPrecondition(std::string(what) + " " + path + " is owned by uid " +
                                      std::to_string(st.st_uid) + ", not by this user (uid " +
                                      std::to_string(::geteuid()) + ")" + fix);
  if (st.st_mode & S_IWOTH)
    return Status::FailedPrecondition(std::string(what) + " " + path +
                                      " is writable by others (mode " + Octal(st.st_mode) + ")" +
                                      fix);
  if (st.st_mode & S_IWGRP)
    return Status::FailedPrecondition(std::string(what) + " " + path +
                                      " is writable by its group (mode " + Octal(st.st_mode) + ")" +
                                      fix);
  return Status::Ok();
}

// Creates `path` 0700 if missing; an existing directory is checked, never
// changed (its mode is its owner's choice; an unsafe one is refused).
Status MakeOrCheckDir(const std::string& path, const char* what) {
  if (::mkdir(path.c_str(), 0700) == 0) return Status::Ok();
  if (errno != EEXIST)
    return Status::IoError("cannot create directory " + path + ": " + Errno(errno));
  return CheckPrivateDir(path, what);
}

}  // namespace

Result<std::string> Home::ResolvePath(const std::string& explicit_path) {
  std::string p = explicit_path;
  if (p.empty()) {
    const char* env = std::getenv("ARCELLA_HOME");
    if (env && *env) p = env;
  }
  if (p.empty()) {
    const char* h = std::getenv("HOME");
    if (!h || !*h)
      return Status::InvalidArgument(
          "cannot locate the Arcella home: set ARCELLA_HOME or HOME, or pass --home");
    p = std::string(h) + "/.arcella";
  }
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p[0] != '/') {
    char cwd[4096];
    if (!::getcwd(cwd, sizeof cwd)) return Status::IoError("getcwd: " + Errno(errno));
    p = std::string(cwd) + "/" + p;
  }
  return p;
}

Home::Home(std::string root) : root_(std::move(root)) {}

Status Home::Create() const {
  // Parents of the home are created with the umask's mode (like mkdir -p).
  for (size_t i = 1; i < root_.size(); ++i) {
    if (root_[i] != '/') continue;
    std::string parent = root_.substr(0, i);
    if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::IoError("cannot create directory " + parent + ": " + Errno(errno));
  }
  ARCELLA_RETURN_IF_ERROR(MakeOrCheckDir(root_, "home"));
  for (const std::string& d : {config_dir(), modules_dir(), cache_dir(), deploy_dir(), log_dir()})
    ARCELLA_RETURN_IF_ERROR(MakeOrCheckDir(d, "home directory"));
  return Status::Ok();
}

Result<HomeLock> HomeLock::Acquire(const Home& home) {
  const std::string path = home.lock_file();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + Errno(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e != EWOULDBLOCK) {
      ::close(fd);
      return Status::IoError("cannot lock " + path + ": " + Errno(e));
    }
    char buf[32] = {0};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    std::string pid = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status::FailedPrecondition("another arcella daemon (pid " + pid + ") is using " +
                                      home.root());
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int e = errno;
    ::close(fd);
    return Status::IoError("cannot write " + path + ": " + Errno(e));
  }
  return HomeLock(fd);
}

HomeLock::HomeLock(HomeLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

HomeLock& HomeLock::operator=(HomeLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

HomeLock::~HomeLock() { Release(); }

void HomeLock::Release() {
  if (fd_ < 0) return;
  ::close(fd_);  // drops the flock; the file stays (a stale pid is harmless)
  fd_ = -1;
}

}  // namespace arcella::platform
